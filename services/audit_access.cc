#include "services/audit_access.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace voronka {

absl::Status AuditAccessLog::Record(AuditAccess access) {
  if (!access.time.is_set()) access.time = Timestamp::Now();
  const std::string line = nlohmann::json{{"time", FormatRfc3339(access.time)},
                                          {"who", access.who},
                                          {"via", access.via},
                                          {"what", access.what},
                                          {"manager", access.manager},
                                          {"range", access.range}}
                               .dump() +
                           "\n";
  std::lock_guard<std::mutex> lock(mu_);
  const int fd =
      open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("audit access log {}: {}; the access is refused", path_,
                    std::strerror(errno)));
  }
  // One write: O_APPEND keeps lines of concurrent writers whole.
  const ssize_t n = write(fd, line.data(), line.size());
  const bool synced = n == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
  const int error = errno;
  close(fd);
  if (!synced) {
    return absl::UnavailableError(
        fmt::format("audit access log {}: {}; the access is refused", path_,
                    std::strerror(error)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditAccess>> AuditAccessLog::List() const {
  std::vector<AuditAccess> out;
  std::ifstream in(path_);
  if (!in) return out;  // Nobody has looked yet.
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    absl::StatusOr<Timestamp> time =
        j.is_object() && j.value("time", "") != ""
            ? ParseRfc3339(j.value("time", ""))
            : absl::InvalidArgumentError("no time");
    if (j.is_discarded() || !time.ok()) {
      return absl::DataLossError(
          fmt::format("audit access log {}: line {} is not an access record",
                      path_, number));
    }
    out.push_back({.time = *time,
                   .who = j.value("who", ""),
                   .via = j.value("via", ""),
                   .what = j.value("what", ""),
                   .manager = j.value("manager", ""),
                   .range = j.value("range", "")});
  }
  return out;
}

}  // namespace voronka
