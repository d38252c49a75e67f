// LogLimiter: lets at most `per_second` log lines through per second and
// counts the rest, so a sender that floods ingest with bad events cannot
// flood the log. The first line allowed after a suppressed stretch reports
// how many were dropped.
//
//   LogLimiter limiter(20);
//   if (auto dropped = limiter.Allow()) {
//     spdlog::warn("rejected {}{}", what, LogLimiter::Note(*dropped));
//   }
//
// Thread-safe.
#ifndef VORONKA_SERVICES_LOG_LIMITER_H_
#define VORONKA_SERVICES_LOG_LIMITER_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace voronka {

class LogLimiter {
 public:
  explicit LogLimiter(int per_second) : per_second_(per_second) {}

  // nullopt: drop this line. Otherwise log it; the value is the number of
  // lines dropped since the last one allowed.
  std::optional<int64_t> Allow() {
    std::lock_guard<std::mutex> lock(mu_);
    const absl::Time now = absl::Now();
    if (now - window_start_ >= absl::Seconds(1)) {
      window_start_ = now;
      used_ = 0;
    }
    if (used_ >= per_second_) {
      ++dropped_;
      return std::nullopt;
    }
    ++used_;
    const int64_t dropped = dropped_;
    dropped_ = 0;
    return dropped;
  }

  // " (N similar lines dropped)" or "".
  static std::string Note(int64_t dropped) {
    return dropped == 0
               ? std::string()
               : " (" + std::to_string(dropped) + " similar lines dropped)";
  }

 private:
  const int per_second_;
  std::mutex mu_;
  absl::Time window_start_ = absl::InfinitePast();  // Guarded by mu_.
  int used_ = 0;                                    // Guarded by mu_.
  int64_t dropped_ = 0;                             // Guarded by mu_.
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_LOG_LIMITER_H_
