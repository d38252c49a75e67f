#include "projections/generations.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

}  // namespace

absl::StatusOr<std::string> Generations::Current() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("create {}: {}", dir_, ec.message()));
  }
  std::ifstream in(dir_ + "/CURRENT");
  std::string name;
  if (in && std::getline(in, name) && GenerationNumber(name) > 0) {
    return dir_ + "/" + name;
  }
  absl::StatusOr<std::string> first = Create();
  if (!first.ok()) return first.status();
  if (absl::Status s = Promote(*first); !s.ok()) return s;
  return *first;
}

absl::StatusOr<std::string> Generations::Create() const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  int highest = 0;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    highest = std::max(highest, GenerationNumber(entry.path().filename()));
  }
  const std::string path = fmt::format("{}/gen-{:06}", dir_, highest + 1);
  fs::create_directories(path, ec);
  if (ec) {
    return absl::UnavailableError(
        fmt::format("create {}: {}", path, ec.message()));
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

absl::Status Generations::RemoveOlder() const {
  absl::StatusOr<std::string> current = Current();
  if (!current.ok()) return current.status();
  const int in_service = GenerationNumber(fs::path(*current).filename());
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const int n = GenerationNumber(entry.path().filename());
    if (n > 0 && n < in_service) fs::remove_all(entry.path(), ec);
  }
  return absl::OkStatus();
}

}  // namespace voronka
