#include "recorder.h"

#include <chrono>

namespace catbox {

namespace {
constexpr auto kFullWait = std::chrono::seconds(1);
}

void Recorder::push(Event e) {
  bool was_empty;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) taken_.wait_for(lock, kFullWait, [this] { return queue_.size() < kMaxQueued; });
    was_empty = queue_.empty();
    queue_.push_back(std::move(e));
  }
  // One wake-up per batch: the drain takes everything queued until then.
  if (was_empty && wake_) wake_();
}

std::vector<Event> Recorder::drain() {
  std::vector<Event> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.swap(queue_);
  }
  taken_.notify_all();
  return out;
}

}  // namespace catbox
