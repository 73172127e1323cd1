// Catbox's own stand-in folders in /tmp (catbox-exec-*: links that name an
// interpreter after its script; catbox-sock-*: short paths for unix sockets
// whose path is too long for sun_path). /tmp is shared with every build, so
// the supervisor works in a folder only through the O_DIRECTORY fd it opened
// when it made the folder, never by following a path the build may have
// changed; and no build may write below any such folder (is_stand_in_path).
#pragma once
#include <string>

namespace catbox {

// Whether host path p (canonical) is one of catbox's stand-in folders in /tmp
// or below one, this run's or another's: no build may change it.
bool is_stand_in_path(const std::string& p);

class StandInDir {
 public:
  StandInDir() = default;
  StandInDir(const StandInDir&) = delete;
  StandInDir& operator=(const StandInDir&) = delete;
  ~StandInDir();

  // Makes the folder from a mkdtemp template ("/tmp/catbox-exec-XXXXXX") once; false if it cannot.
  bool make(const char* templ, unsigned mode);
  bool made() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // Whether the folder's path still leads to the folder catbox made (not a
  // replacement or a symlink): only then is a path below it handed to the kernel.
  bool intact() const;

  // exec: sub-folder sub with a symlink name -> target in it; false if not made.
  bool add_link(const std::string& sub, const std::string& name, const std::string& target);
  // Whether sub/name is still catbox's symlink to target, reached without following links.
  bool link_intact(const std::string& sub, const std::string& name, const std::string& target) const;
  // Removes sub/name and sub (never through a link), as far as they are catbox's.
  void remove_link(const std::string& sub, const std::string& name);

  // sockets: a symlink named name to target directly in the folder.
  bool add_symlink(const std::string& name, const std::string& target);
  // Moves entry name to canonical host path to (not below the folder), through
  // no symlink and over nothing: 0, or the errno.
  int move_out(const std::string& name, const std::string& to);
  // Removes entry name of the folder (not a directory).
  void remove(const std::string& name);

  // Removes the folder itself, if its path still leads to it and it is empty; closes the fd.
  void finish();

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace catbox
