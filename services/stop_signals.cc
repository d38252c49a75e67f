#include "services/stop_signals.h"

#include <pthread.h>

#include <cerrno>

namespace voronka {

StopSignals::StopSignals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

bool StopSignals::Wait(absl::Duration timeout) {
  int sig = -1;
  if (timeout == absl::InfiniteDuration()) {
    if (sigwait(&set_, &sig) != 0) return false;
  } else {
    const timespec ts = absl::ToTimespec(timeout);
    sig = sigtimedwait(&set_, nullptr, &ts);
  }
  if (sig == SIGINT || sig == SIGTERM) {
    signal_number_ = sig;
    return true;
  }
  return false;
}

}  // namespace voronka
