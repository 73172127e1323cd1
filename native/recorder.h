// The recorder: what the supervisor saw, streamed to the caller in order.
// The tracer thread pushes; the binding drains in batches on the JS thread.
#pragma once
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <vector>

namespace catbox {

struct Event {
  enum class Type { Start, Violation, ChildInitialized, ChildDied, Exec };
  Type type;
  pid_t pid = 0;
  pid_t ppid = 0;
  int signal = 0;
  int err = 0;
  bool denied = false;
  std::string operation;  // syscall name
  std::string path;       // as given (or the address)
  std::string canonical;  // as resolved ("" for network)
  std::string program;    // comm
};

class Recorder {
 public:
  // `wake` is called (from the tracer thread) when the queue becomes non-empty.
  void set_wake(std::function<void()> wake) { wake_ = std::move(wake); }
  // `sync` returns once the caller has taken every queued event.
  void set_sync(std::function<void()> sync) { sync_ = std::move(sync); }
  void sync() {
    if (sync_) sync_();
  }
  // Queues e. When kMaxQueued events wait already (the caller is slower than
  // the build), waits until they are taken, so memory stays bounded however
  // many events a run makes; after kFullWait it queues anyway, never hangs.
  void push(Event e);
  // Moves all queued events out (any thread).
  std::vector<Event> drain();

  static constexpr size_t kMaxQueued = 1024;

 private:
  std::mutex mu_;
  std::condition_variable taken_;
  std::vector<Event> queue_;
  std::function<void()> wake_;
  std::function<void()> sync_;
};

}  // namespace catbox
