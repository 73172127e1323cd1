// What the units of the guest view (overlay/*.cc) share: guest path
// arithmetic, and the name a copy-up is made under before it is renamed.
#pragma once
#include <string>

namespace catbox {

constexpr const char kCopyTemp[] = ".catbox-copyup-";

// s is p or lies below it.
inline bool under(const std::string& s, const std::string& p) {
  if (p == "/") return !s.empty() && s[0] == '/';
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0 && (s.size() == p.size() || s[p.size()] == '/');
}

// base + the part of s below p (s under p).
inline std::string rebase(const std::string& s, const std::string& p, const std::string& base) {
  std::string rest = p == "/" ? s : s.substr(p.size());
  if (rest.empty() || rest == "/") return base;
  return base == "/" ? rest : base + rest;
}

inline std::string child_path(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

inline std::string parent_of(const std::string& g) {
  size_t i = g.rfind('/');
  return i == 0 || i == std::string::npos ? "/" : g.substr(0, i);
}

}  // namespace catbox
