#include "services/store_backup.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "events/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "projections/generations.h"
#include "projections/projector.h"
#include "projections/store.h"
#include "services/checkpoint_request.h"

namespace voronka {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kManifest[] = "manifest.json";
constexpr char kStore[] = "store";

absl::Status IoError(std::string_view what, const std::string& path,
                     const std::error_code& ec) {
  return absl::UnavailableError(
      fmt::format("{} {}: {}", std::string(what), path, ec.message()));
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return IoError(what, path, std::error_code(errno, std::generic_category()));
}

// fsync of a file or a directory.
absl::Status SyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(),
                        O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return Errno("open", path);
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok ? absl::OkStatus() : Errno("fsync", path);
}

absl::StatusOr<std::string> FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("read", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), buffer.size());
    EVP_DigestUpdate(ctx.get(), buffer.data(), in.gcount());
  }
  if (in.bad()) return Errno("read", path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &n);
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// The regular files under `dir`, as paths relative to it, sorted.
absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file()) {
      out.push_back(fs::relative(entry.path(), dir).string());
    }
  }
  if (ec) return IoError("list", dir, ec);
  std::sort(out.begin(), out.end());
  return out;
}

// Files and directories under `dir`, and `dir` itself, fsync'ed.
absl::Status SyncTree(const std::string& dir) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> files, ListFiles(dir));
  for (const std::string& f : files) {
    VORONKA_RETURN_IF_ERROR(SyncPath(dir + "/" + f, /*directory=*/false));
  }
  return SyncPath(dir, /*directory=*/true);
}

json ToJson(const BackupManifest& m) {
  json files = json::array();
  for (const BackupManifest::File& f : m.files) {
    files.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  }
  json j = {{"format", m.format},     {"projection", m.projection},
            {"version", m.version},   {"positions", m.positions},
            {"records", m.records()}, {"method", m.method},
            {"source", m.source},     {"created", m.created},
            {"bytes", m.bytes()},     {"files", files}};
  if (!m.log.empty()) j["log"] = m.log;
  if (!m.log_end.empty()) j["log_end"] = m.log_end;
  return j;
}

absl::StatusOr<BackupManifest> FromJson(const json& j) {
  BackupManifest m;
  try {
    m.format = j.at("format").get<int>();
    if (m.format != 1) {
      return absl::DataLossError(
          fmt::format("manifest format {} is not known (1)", m.format));
    }
    m.projection = j.at("projection").get<std::string>();
    m.version = j.at("version").get<std::string>();
    m.positions = j.at("positions").get<std::vector<int64_t>>();
    m.method = j.value("method", "");
    m.source = j.value("source", "");
    m.created = j.value("created", "");
    m.log = j.value("log", "");
    m.log_end = j.value("log_end", std::vector<int64_t>());
    for (const json& f : j.at("files")) {
      m.files.push_back({.name = f.at("name").get<std::string>(),
                         .size = f.at("size").get<uint64_t>(),
                         .sha256 = f.at("sha256").get<std::string>()});
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(e.what());
  }
  return m;
}

absl::Status WriteManifest(const std::string& path, const BackupManifest& m) {
  {
    std::ofstream out(path, std::ios::trunc);
    out << ToJson(m).dump(2) << "\n";
    out.close();
    if (!out) return Errno("write", path);
  }
  return SyncPath(path, /*directory=*/false);
}

// Copies `from` (a store directory) into the new directory `to`: table files
// hard-linked when both are on one file system (RocksDB never changes a
// table file), everything else copied.
absl::Status CopyStoreFiles(const std::string& from, const std::string& to) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> files, ListFiles(from));
  std::error_code ec;
  for (const std::string& f : files) {
    const std::string src = from + "/" + f, dst = to + "/" + f;
    fs::create_directories(fs::path(dst).parent_path(), ec);
    if (f.ends_with(".sst")) {
      fs::create_hard_link(src, dst, ec);
      if (!ec) continue;
      ec.clear();  // Another file system: copy.
    }
    fs::copy_file(src, dst, ec);
    if (ec) return IoError("copy " + src + " to", dst, ec);
  }
  return SyncTree(to);
}

std::string FormatPositions(const std::vector<int64_t>& v) {
  return fmt::format("[{}]", fmt::join(v, ", "));
}

}  // namespace

int64_t BackupManifest::records() const { return RecordsUpTo(positions); }

uint64_t BackupManifest::bytes() const {
  uint64_t total = 0;
  for (const File& f : files) total += f.size;
  return total;
}

absl::StatusOr<BackupResult> BackupStore(const BackupOptions& options) {
  const absl::Time start = absl::Now();
  const std::string dir = options.data_dir + "/" + options.projection;
  std::error_code ec;
  if (!fs::exists(dir + "/CURRENT", ec)) {
    return absl::NotFoundError(fmt::format(
        "{} has no store in service (no CURRENT): nothing to back up", dir));
  }
  VORONKA_ASSIGN_OR_RETURN(const std::string generation,
                           Generations(dir).Current());
  if (!fs::exists(generation + "/CURRENT", ec)) {
    return absl::NotFoundError(fmt::format(
        "{} holds no store yet (no projector has opened it)", generation));
  }
  // A store no process holds is checkpointed here. One that a projector
  // holds (its RocksDB LOCK) is checkpointed by that projector on request
  // (services/checkpoint_request.h); if none answers (an older binary),
  // it is exported through a secondary instance.
  std::string method = "checkpoint";
  absl::StatusOr<std::unique_ptr<ProjectionStore>> source =
      ProjectionStore::Open({.path = generation});

  fs::create_directories(options.backup_root, ec);
  if (ec) return IoError("create", options.backup_root, ec);
  const absl::Time now = absl::Now();
  const std::string stamp =
      absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone());
  const std::string tmp =
      fmt::format("{}/.{}-{}-{}.partial", options.backup_root,
                  options.projection, stamp, ::getpid());
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) return IoError("create", tmp, ec);

  BackupResult result;
  absl::Status status = [&]() -> absl::Status {
    const std::string target = tmp + "/" + kStore;
    if (source.ok()) {
      VORONKA_RETURN_IF_ERROR((*source)->CopyTo(target));
      source->reset();  // Lets go of the store (and its LOCK) early.
    } else {
      method = "checkpoint by the projector";
      absl::Status asked =
          RequestCheckpoint(dir, target, options.holder_timeout);
      if (absl::IsDeadlineExceeded(asked)) {
        method = "export";
        VORONKA_ASSIGN_OR_RETURN(
            std::unique_ptr<ProjectionStore> secondary,
            ProjectionStore::Open({.path = generation, .read_only = true}));
        VORONKA_RETURN_IF_ERROR(secondary->CopyTo(target));
      } else if (!asked.ok()) {
        return asked;
      }
    }
    BackupManifest& m = result.manifest;
    {
      VORONKA_ASSIGN_OR_RETURN(
          std::unique_ptr<ProjectionStore> copy,
          ProjectionStore::Open({.path = tmp + "/" + kStore}));
      VORONKA_ASSIGN_OR_RETURN(m.version, copy->Version());
      VORONKA_ASSIGN_OR_RETURN(m.positions, copy->Positions());
    }
    m.projection = options.projection;
    m.method = method;
    m.source = generation;
    m.created =
        absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", now, absl::UTCTimeZone());
    m.log = options.log_description;
    m.log_end = options.log_end;
    VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> files,
                             ListFiles(tmp + "/" + kStore));
    for (const std::string& f : files) {
      const std::string path = tmp + "/" + kStore + "/" + f;
      VORONKA_ASSIGN_OR_RETURN(std::string sha, FileSha256(path));
      const uint64_t size = fs::file_size(path, ec);
      if (ec) return IoError("stat", path, ec);
      m.files.push_back({.name = std::string(kStore) + "/" + f,
                         .size = size,
                         .sha256 = std::move(sha)});
    }
    VORONKA_RETURN_IF_ERROR(SyncTree(tmp + "/" + kStore));
    VORONKA_RETURN_IF_ERROR(WriteManifest(tmp + "/" + kManifest, m));
    VORONKA_RETURN_IF_ERROR(SyncPath(tmp, /*directory=*/true));
    result.dir = fmt::format("{}/{}-{}-{}", options.backup_root,
                             options.projection, stamp, m.records());
    if (fs::exists(result.dir, ec)) {
      return absl::AlreadyExistsError(
          fmt::format("{} exists already", result.dir));
    }
    if (std::rename(tmp.c_str(), result.dir.c_str()) != 0) {
      return Errno("rename " + tmp + " to", result.dir);
    }
    return SyncPath(options.backup_root, /*directory=*/true);
  }();
  if (!status.ok()) {
    fs::remove_all(tmp, ec);
    return status;
  }
  result.took = absl::Now() - start;
  return result;
}

absl::StatusOr<BackupManifest> ReadBackupManifest(
    const std::string& backup_dir) {
  const std::string path = backup_dir + "/" + kManifest;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    return absl::NotFoundError(
        fmt::format("{} has no {}: not a backup, or an incomplete one",
                    backup_dir, kManifest));
  }
  std::ifstream in(path);
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::DataLossError(fmt::format("{} is not valid JSON", path));
  }
  absl::StatusOr<BackupManifest> m = FromJson(j);
  if (!m.ok()) {
    return absl::DataLossError(
        fmt::format("{}: {}", path, std::string(m.status().message())));
  }
  return m;
}

absl::Status VerifyBackupFiles(const std::string& backup_dir,
                               const BackupManifest& manifest) {
  bool has_current = false;
  for (const BackupManifest::File& f : manifest.files) {
    const std::string path = backup_dir + "/" + f.name;
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    if (ec) {
      return absl::DataLossError(fmt::format(
          "backup file {} is missing or unreadable: {}", path, ec.message()));
    }
    if (size != f.size) {
      return absl::DataLossError(
          fmt::format("backup file {} has {} bytes, the manifest says {}", path,
                      size, f.size));
    }
    VORONKA_ASSIGN_OR_RETURN(std::string sha, FileSha256(path));
    if (sha != f.sha256) {
      return absl::DataLossError(fmt::format(
          "backup file {} does not match its SHA-256 in the manifest", path));
    }
    has_current |= f.name == std::string(kStore) + "/CURRENT";
  }
  if (!has_current) {
    return absl::DataLossError(fmt::format(
        "the manifest of {} lists no {}/CURRENT: not a store backup",
        backup_dir, kStore));
  }
  return absl::OkStatus();
}

absl::StatusOr<RestoreResult> RestoreStore(const RestoreOptions& options) {
  const absl::Time start = absl::Now();
  RestoreResult result;
  VORONKA_ASSIGN_OR_RETURN(result.manifest,
                           ReadBackupManifest(options.backup_dir));
  const BackupManifest& m = result.manifest;
  if (m.projection != options.projection) {
    return absl::InvalidArgumentError(
        fmt::format("{} is a backup of projection {}, not {}",
                    options.backup_dir, m.projection, options.projection));
  }
  if (m.version != options.version) {
    return absl::FailedPreconditionError(fmt::format(
        "{} was built by {}, this voronka's {} is {} (other logic or funnel "
        "configuration): a projector would rebuild it from position 0, so it "
        "is not restored; run `voronka project rebuild` instead, or restore "
        "with the --config it was built with",
        options.backup_dir, m.version, options.projection, options.version));
  }
  if (options.log_end.has_value()) {
    const std::vector<int64_t>& end = *options.log_end;
    bool ahead = !m.positions.empty() && m.positions.size() != end.size();
    for (size_t i = 0; !ahead && i < m.positions.size(); ++i) {
      ahead = m.positions[i] > end[i];
    }
    if (ahead) {
      return absl::FailedPreconditionError(fmt::format(
          "{} stands at positions {}, which the log (end {}) does not reach: "
          "it was made from another log",
          options.backup_dir, FormatPositions(m.positions),
          FormatPositions(end)));
    }
  }
  VORONKA_RETURN_IF_ERROR(VerifyBackupFiles(options.backup_dir, m));

  Generations generations(options.data_dir + "/" + options.projection);
  VORONKA_RETURN_IF_ERROR(generations.Current().status());
  VORONKA_ASSIGN_OR_RETURN(result.generation, generations.Create());
  absl::Status status = [&]() -> absl::Status {
    VORONKA_RETURN_IF_ERROR(
        CopyStoreFiles(options.backup_dir + "/" + kStore, result.generation));
    VORONKA_ASSIGN_OR_RETURN(
        std::unique_ptr<ProjectionStore> store,
        ProjectionStore::Open({.path = result.generation}));
    VORONKA_ASSIGN_OR_RETURN(std::string version, store->Version());
    VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> positions,
                             store->Positions());
    if (version != m.version || positions != m.positions) {
      return absl::DataLossError(fmt::format(
          "the store restored from {} is at {} built by {}, its manifest "
          "says {} built by {}",
          options.backup_dir, FormatPositions(positions), version,
          FormatPositions(m.positions), m.version));
    }
    return absl::OkStatus();
  }();
  if (status.ok()) status = generations.Promote(result.generation);
  if (!status.ok()) {
    (void)generations.Discard(result.generation);
    return status;
  }
  result.took = absl::Now() - start;
  return result;
}

}  // namespace voronka
