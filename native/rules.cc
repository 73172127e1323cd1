#include "rules.h"

#include <stdexcept>

#ifdef CATBOX_HAVE_PCRE2
#include <pcre2.h>
#endif

namespace catbox {

bool has_path_prefix(const std::string& path, const std::string& prefix) {
  if (prefix == "/") return !path.empty() && path[0] == '/';
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

namespace {

// [..] at p (just after '['); sets *end past the closing ']'. A class never matches '/'.
bool class_matches(const char* p, char c, const char** end) {
  bool negate = false;
  if (*p == '!' || *p == '^') {
    negate = true;
    p++;
  }
  bool hit = false;
  bool first = true;
  while (*p && (first || *p != ']')) {
    first = false;
    char lo = *p;
    if (lo == '\\' && p[1]) lo = *++p;
    char hi = lo;
    if (p[1] == '-' && p[2] && p[2] != ']') {
      hi = p[2];
      if (hi == '\\' && p[3]) {
        hi = p[3];
        p++;
      }
      p += 2;
    }
    if (lo <= c && c <= hi) hit = true;
    p++;
  }
  *end = *p ? p + 1 : p;
  return c != '/' && hit != negate;
}

}  // namespace

bool glob_matches(const char* p, const char* s) {
  while (*p) {
    if (p[0] == '*' && p[1] == '*' && (p[2] == '/' || p[2] == '\0')) {
      // `**` as a whole component: zero or more components.
      if (p[2] == '\0') return true;
      const char* rest = p + 3;
      for (const char* t = s;; t++) {
        if ((t == s || t[-1] == '/') && glob_matches(rest, t)) return true;
        if (*t == '\0') return false;
      }
    }
    switch (*p) {
      case '*': {
        while (*p == '*') p++;
        for (const char* t = s;; t++) {
          if (glob_matches(p, t)) return true;
          if (*t == '\0' || *t == '/') return false;
        }
      }
      case '?':
        if (*s == '\0' || *s == '/') return false;
        p++;
        s++;
        break;
      case '[': {
        if (*s == '\0') return false;
        const char* end;
        if (!class_matches(p + 1, *s, &end)) return false;
        p = end;
        s++;
        break;
      }
      case '\\':
        if (p[1]) p++;
        [[fallthrough]];
      default:
        if (*p != *s) return false;
        p++;
        s++;
    }
  }
  // The pattern named this path or one of its ancestors.
  return *s == '\0' || *s == '/';
}

#ifdef CATBOX_HAVE_PCRE2
struct Rule::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_data* data = nullptr;
  ~Compiled() {
    if (data) pcre2_match_data_free(data);
    if (code) pcre2_code_free(code);
  }
};

bool have_pcre2() { return true; }

std::string check_pcre(const std::string& pattern, size_t* offset) {
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre2_code* code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), 0, &err, &off, nullptr);
  if (code) {
    pcre2_code_free(code);
    return "";
  }
  PCRE2_UCHAR msg[256];
  pcre2_get_error_message(err, msg, sizeof msg);
  *offset = off;
  return reinterpret_cast<char*>(msg);
}
#else
struct Rule::Compiled {};
bool have_pcre2() { return false; }
std::string check_pcre(const std::string&, size_t* offset) {
  *offset = 0;
  return "catbox was built without PCRE2 (install libpcre2-dev, then npm run build:native)";
}
#endif

Rule::Rule(Kind kind, std::string pattern) : kind_(kind), pattern_(std::move(pattern)) {
  if (kind_ != Kind::Pcre) return;
#ifdef CATBOX_HAVE_PCRE2
  pcre_ = std::make_unique<Compiled>();
  int err = 0;
  PCRE2_SIZE off = 0;
  pcre_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern_.c_str()), pattern_.size(), 0, &err, &off, nullptr);
  if (!pcre_->code) {
    size_t offset = 0;
    throw std::runtime_error("invalid regular expression \"" + pattern_ + "\": " + check_pcre(pattern_, &offset) +
                             " at offset " + std::to_string(offset));
  }
  pcre_->data = pcre2_match_data_create_from_pattern(pcre_->code, nullptr);
#else
  throw std::runtime_error(
      "PCRE rules need libpcre2: catbox was built without it (install libpcre2-dev, then npm run build:native)");
#endif
}

Rule::~Rule() = default;
Rule::Rule(Rule&&) noexcept = default;

bool Rule::matches(const std::string& path) const {
  switch (kind_) {
    case Kind::Prefix: return has_path_prefix(path, pattern_);
    case Kind::Glob: return glob_matches(pattern_.c_str(), path.c_str());
    case Kind::Pcre:
#ifdef CATBOX_HAVE_PCRE2
      // Anchored at the start, as the original catbox's re.match; add $ to anchor the end.
      return pcre2_match(pcre_->code, reinterpret_cast<PCRE2_SPTR>(path.c_str()), path.size(), 0, PCRE2_ANCHORED,
                         pcre_->data, nullptr) >= 0;
#else
      return false;
#endif
  }
  return false;
}

bool RuleSet::matches(const std::string& path) const {
  for (const auto& r : rules_)
    if (r.matches(path)) return true;
  return false;
}

}  // namespace catbox
