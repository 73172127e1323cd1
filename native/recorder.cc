#include "recorder.h"

namespace catbox {

void Recorder::push(Event e) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = queue_.empty();
    queue_.push_back(std::move(e));
  }
  // One wake-up per batch: the drain takes everything queued until then.
  if (was_empty && wake_) wake_();
}

std::vector<Event> Recorder::drain() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Event> out;
  out.swap(queue_);
  return out;
}

}  // namespace catbox
