// Write rules: a path prefix (whole components), a glob, or a PCRE2 regex.
// Rules arrive parsed and validated from TypeScript; this unit only matches.
#pragma once
#include <memory>
#include <string>
#include <vector>

namespace catbox {

class Rule {
 public:
  enum class Kind { Prefix, Glob, Pcre };
  // Throws std::runtime_error when a PCRE pattern does not compile or PCRE2 is missing.
  Rule(Kind kind, std::string pattern);
  ~Rule();
  Rule(Rule&&) noexcept;
  Rule(const Rule&) = delete;
  Rule& operator=(const Rule&) = delete;
  bool matches(const std::string& path) const;

 private:
  Kind kind_;
  std::string pattern_;
  struct Compiled;
  std::unique_ptr<Compiled> pcre_;
};

class RuleSet {
 public:
  void add(Rule rule) { rules_.push_back(std::move(rule)); }
  bool matches(const std::string& path) const;
  bool empty() const { return rules_.empty(); }

 private:
  std::vector<Rule> rules_;
};

// True when `path` is `prefix` or lies below it (whole components).
bool has_path_prefix(const std::string& path, const std::string& prefix);

// Glob over a path: `*`, `?`, `[..]` stay within a component, `**` spans
// components. Matches when the glob matches the path or one of its ancestors.
bool glob_matches(const char* pattern, const char* path);

// PCRE2 support, compiled in when libpcre2-8 was found at build time.
bool have_pcre2();
// Empty when the pattern compiles; else "message at offset N" and *offset.
std::string check_pcre(const std::string& pattern, size_t* offset);

}  // namespace catbox
