#include "services/health.h"

#include <algorithm>
#include <string>

#include "fmt/format.h"

namespace voronka {

Readiness CheckReadiness(EventLog& log,
                         std::span<const ProjectorRunner* const> runners,
                         int64_t max_lag) {
  Readiness out;
  absl::StatusOr<std::vector<int64_t>> end = log.EndOffsets();
  if (end.ok()) {
    out.checks["log"] = {{"ok", true}};
  } else {
    out.ready = false;
    out.checks["log"] = {{"ok", false},
                         {"reason", std::string(end.status().message())}};
  }
  for (const ProjectorRunner* runner : runners) {
    const ProjectorStatus s = runner->status();
    nlohmann::json check = {{"ok", true}};
    std::string reason;
    if (runner->store() == nullptr) {
      reason = "the store is not open yet";
    } else if (!s.last_error.ok()) {
      reason = fmt::format("retrying after an error: {}",
                           std::string(s.last_error.message()));
    }
    if (end.ok()) {
      int64_t lag = 0;
      for (size_t p = 0; p < end->size(); ++p) {
        const int64_t at = p < s.positions.size() ? s.positions[p] : 0;
        lag += std::max<int64_t>(0, (*end)[p] - at);
      }
      check["lag"] = lag;
      if (reason.empty() && lag > max_lag) {
        reason = fmt::format("{} records behind the log (the limit is {})", lag,
                             max_lag);
      }
    }
    if (s.rebuilding) check["rebuilding"] = true;
    if (!reason.empty()) {
      check["ok"] = false;
      check["reason"] = reason;
      out.ready = false;
    }
    out.checks[s.name] = std::move(check);
  }
  return out;
}

}  // namespace voronka
