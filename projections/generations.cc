#include "projections/generations.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "fmt/format.h"

namespace voronka {
namespace {

namespace fs = std::filesystem;

int GenerationNumber(const std::string& name) {
  if (name.rfind("gen-", 0) != 0) return -1;
  try {
    return std::stoi(name.substr(4));
  } catch (...) {
    return -1;
  }
}

absl::Status WriteFileSynced(const std::string& path,
                             const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("create {}: errno {}", path, errno));
  }
  const bool ok = ::write(fd, content.data(), content.size()) ==
                      static_cast<ssize_t>(content.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return absl::UnavailableError(fmt::format("write {}", path));
  return absl::OkStatus();
}

// Holds an exclusive flock on DIR/LOCK: creating and promoting
// generations is serialised between the processes sharing DIR (a serving
// projector and `voronka project rebuild`).
class DirLock {
 public:
  explicit DirLock(const std::string& dir)
      : fd_(::open((dir + "/LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC,
                   0644)) {
    if (fd_ >= 0) ::flock(fd_, LOCK_EX);
  }
  ~DirLock() {
    if (fd_ >= 0) ::close(fd_);  // Releases the lock.
  }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::string> Generations::Current() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("create {}: {}", dir_, ec.message()));
  }
  const std::string current = dir_ + "/CURRENT";
  if (fs::exists(current, ec)) {
    // Never replace a generation in service because its name could not be
    // read: that would put an empty store in its place.
    std::ifstream in(current);
    std::string name;
    if (!in || !std::getline(in, name) || GenerationNumber(name) <= 0 ||
        !fs::is_directory(dir_ + "/" + name, ec)) {
      return absl::DataLossError(fmt::format(
          "{} does not name a generation directory (\"{}\")", current, name));
    }
    return dir_ + "/" + name;
  }
  if (ec) {
    return absl::UnavailableError(
        fmt::format("stat {}: {}", current, ec.message()));
  }
  DirLock lock(dir_);
  if (!lock.ok()) {
    return absl::UnavailableError(fmt::format("lock {}/LOCK", dir_));
  }
  if (fs::exists(current, ec)) return Current();  // Another got there first.
  absl::StatusOr<std::string> first = CreateLocked();
  if (!first.ok()) return first.status();
  if (absl::Status s = Promote(*first); !s.ok()) return s;
  return *first;
}

absl::StatusOr<std::string> Generations::Create() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  DirLock lock(dir_);
  if (!lock.ok()) {
    return absl::UnavailableError(fmt::format("lock {}/LOCK", dir_));
  }
  return CreateLocked();
}

absl::StatusOr<std::string> Generations::CreateLocked() const {
  std::error_code ec;
  int highest = 0;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    highest = std::max(highest, GenerationNumber(entry.path().filename()));
  }
  if (ec) {
    return absl::UnavailableError(
        fmt::format("list {}: {}", dir_, ec.message()));
  }
  const std::string path = fmt::format("{}/gen-{:06}", dir_, highest + 1);
  if (::mkdir(path.c_str(), 0755) != 0) {
    return absl::UnavailableError(
        fmt::format("create {}: errno {}", path, errno));
  }
  return path;
}

absl::Status Generations::Promote(const std::string& generation) const {
  const std::string name = fs::path(generation).filename();
  if (GenerationNumber(name) <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("{} is not a generation of {}", generation, dir_));
  }
  const std::string tmp = dir_ + "/CURRENT.tmp";
  if (absl::Status s = WriteFileSynced(tmp, name + "\n"); !s.ok()) return s;
  if (std::rename(tmp.c_str(), (dir_ + "/CURRENT").c_str()) != 0) {
    return absl::UnavailableError(
        fmt::format("rename {}: errno {}", tmp, errno));
  }
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return absl::OkStatus();
}

absl::Status Generations::RemoveOlder(int keep) const {
  absl::StatusOr<std::string> current = Current();
  if (!current.ok()) return current.status();
  const int in_service = GenerationNumber(fs::path(*current).filename());
  std::vector<int> older;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const int n = GenerationNumber(entry.path().filename());
    if (n > 0 && n < in_service) older.push_back(n);
  }
  std::sort(older.begin(), older.end());
  for (size_t i = 0; i + keep < older.size(); ++i) {
    fs::remove_all(fmt::format("{}/gen-{:06}", dir_, older[i]), ec);
    if (ec) {
      return absl::UnavailableError(
          fmt::format("remove {}/gen-{:06}: {}", dir_, older[i], ec.message()));
    }
  }
  return absl::OkStatus();
}

absl::Status Generations::Discard(const std::string& generation) const {
  absl::StatusOr<std::string> current = Current();
  if (!current.ok()) return current.status();
  if (generation == *current) {
    return absl::FailedPreconditionError(
        fmt::format("{} is in service", generation));
  }
  std::error_code ec;
  fs::remove_all(generation, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("remove {}: {}", generation, ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace voronka
