#include "services/commands.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>

#include "events/cloudevents.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {

absl::Status WriteJsonLines(std::span<const Event> events) {
  std::string lines;
  for (const Event& e : events) {
    lines += ToStructuredJson(e);
    lines += '\n';
  }
  if (std::fwrite(lines.data(), 1, lines.size(), stdout) == lines.size() &&
      std::fflush(stdout) == 0) {
    return absl::OkStatus();
  }
  if (errno == EPIPE) return absl::CancelledError("stdout closed");
  return absl::UnavailableError(
      fmt::format("writing to stdout: {}", std::strerror(errno)));
}

absl::StatusOr<FunnelConfig> LoadConfigFlag(const std::string& path) {
  if (path.empty()) return FunnelConfig::Default();
  return FunnelConfig::LoadFile(path);
}

absl::StatusOr<absl::Duration> DurationFlag(std::string_view name,
                                            const std::string& text) {
  absl::StatusOr<absl::Duration> d = ParseConfigDuration(text);
  if (!d.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{} {}: {}", name, text, MessageOf(d.status())));
  }
  return d;
}

int ExitCode(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
      return 2;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 3;
    case absl::StatusCode::kDataLoss:
      return 4;
    default:
      return 1;
  }
}

void FailIfError(const absl::Status& status) {
  if (status.ok()) return;
  std::cerr << "voronka: " << status.message() << " ("
            << absl::StatusCodeToString(status.code()) << ")\n";
  throw CLI::RuntimeError(ExitCode(status));
}

}  // namespace voronka
