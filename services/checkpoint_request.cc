#include "services/checkpoint_request.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/time/clock.h"
#include "fmt/format.h"

namespace voronka {
namespace {

namespace fs = std::filesystem;

constexpr char kPrefix[] = "checkpoint-request-";

// Writes `text` to `path` whole: a temporary file renamed into place.
absl::Status WriteWhole(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
      return absl::UnavailableError(
          fmt::format("checkpoint request: cannot write {}", tmp));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format(
        "checkpoint request: rename {} to {}: {}", tmp, path, ec.message()));
  }
  return absl::OkStatus();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

absl::Status RequestCheckpoint(const std::string& projection_dir,
                               const std::string& target,
                               absl::Duration claim_timeout,
                               absl::Duration serve_timeout) {
  static std::atomic<int> counter{0};
  const std::string request =
      fmt::format("{}/{}{}-{}", projection_dir, kPrefix, ::getpid(), counter++);
  const std::string done = request + ".done";
  if (absl::Status s = WriteWhole(request, target + "\n"); !s.ok()) return s;
  const absl::Time start = absl::Now();
  bool claimed = false;
  while (true) {
    std::error_code ec;
    if (fs::exists(done, ec)) {
      const std::string answer = ReadAll(done);
      fs::remove(done, ec);
      if (answer == "ok") return absl::OkStatus();
      return absl::InternalError(
          fmt::format("checkpoint by the projector holding {}: {}",
                      projection_dir, answer));
    }
    if (!claimed && absl::Now() - start > claim_timeout) {
      // Deleting the request before the projector claims it withdraws it;
      // if it is gone, the projector has it.
      if (fs::remove(request, ec)) {
        return absl::DeadlineExceededError(fmt::format(
            "no projector holding {} answered a checkpoint request within {}",
            projection_dir, absl::FormatDuration(claim_timeout)));
      }
      claimed = true;
    }
    if (absl::Now() - start > serve_timeout) {
      return absl::DeadlineExceededError(fmt::format(
          "the projector holding {} took the checkpoint request but did not "
          "answer within {}",
          projection_dir, absl::FormatDuration(serve_timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::StatusOr<int> ServeCheckpointRequests(const std::string& projection_dir,
                                            ProjectionStore& store) {
  std::error_code ec;
  fs::directory_iterator it(projection_dir, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format(
        "checkpoint requests: list {}: {}", projection_dir, ec.message()));
  }
  int served = 0;
  for (const fs::directory_entry& entry : it) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0 || EndsWith(name, ".done") ||
        EndsWith(name, ".taken") || EndsWith(name, ".tmp")) {
      continue;
    }
    const std::string request = entry.path().string();
    const std::string taken = request + ".taken";
    std::error_code rename_ec;
    fs::rename(request, taken, rename_ec);
    if (rename_ec) continue;  // Withdrawn meanwhile.
    std::string target = ReadAll(taken);
    while (!target.empty() && target.back() == '\n') target.pop_back();
    const absl::Status copied =
        target.empty() ? absl::InvalidArgumentError("empty request")
                       : store.CopyTo(target);
    const absl::Status answered =
        WriteWhole(request + ".done", copied.ok() ? "ok" : copied.ToString());
    fs::remove(taken, ec);
    if (!answered.ok()) return answered;
    ++served;
  }
  return served;
}

}  // namespace voronka
