#include "services/commands.h"

#include <iostream>

namespace voronka {

absl::StatusOr<FunnelConfig> LoadConfigFlag(const std::string& path) {
  if (path.empty()) return FunnelConfig::Default();
  return FunnelConfig::LoadFile(path);
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
