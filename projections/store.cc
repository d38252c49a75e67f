#include "projections/store.h"

#include <filesystem>

#include "events/status.h"
#include "fmt/format.h"
#include "projections/keys.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/utilities/options_util.h"
#include "rocksdb/utilities/table_properties_collectors.h"
#include "rocksdb/write_batch.h"

namespace voronka {
namespace {

constexpr char kRowsFamily[] = "rows";

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg =
      fmt::format("read-model store: {}: {}", what, s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut()) {
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

std::string PositionsKey() { return Key("meta").Str("positions").str(); }
std::string VersionKey() { return Key("meta").Str("version").str(); }

std::string EncodePositions(const std::vector<int64_t>& positions) {
  Key k("p");
  for (int64_t p : positions) k.Int(p);
  return k.str();
}

std::vector<int64_t> DecodePositions(std::string_view bytes) {
  std::vector<int64_t> out;
  KeyReader r(bytes);
  r.Str();
  while (!r.done()) out.push_back(r.Int());
  return out;
}

void AppendEscaped(std::string& out, std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (c >= 0x21 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("\\x{:02x}", c);
    }
  }
}

}  // namespace

ProjectionStore::~ProjectionStore() {
  for (auto* h : handles_) {
    if (db_) db_->DestroyColumnFamilyHandle(h);
  }
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(secondary_dir_, ignored);
  }
}

namespace {

// The options every store is opened with: both families and their options.
struct StoreRocksOptions {
  rocksdb::DBOptions db;
  rocksdb::ColumnFamilyOptions entries, rows;
};

StoreRocksOptions MakeOptions() {
  StoreRocksOptions o;
  o.db.create_if_missing = true;
  o.db.create_missing_column_families = true;
  o.db.max_background_jobs = 2;
  o.db.keep_log_file_num = 4;
  // Both families are flushed together and recorded in the MANIFEST as one
  // change, so every MANIFEST state holds the same batches in both: a
  // secondary instance (read-only opens, backups of a running projector)
  // that misses a WAL the primary just retired sees an older store, never
  // one with a batch's positions but not its rows.
  o.db.atomic_flush = true;

  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  o.entries.write_buffer_size = 64 << 20;
  o.entries.compression = rocksdb::kLZ4Compression;
  o.entries.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  o.rows = o.entries;
  o.rows.merge_operator = NewCountersMergeOperator();
  // Index entries (queues, stale/idle lists) are deleted as deals move on;
  // compact files dense with tombstones early, so that oldest-first scans do
  // not wade through them.
  o.entries.table_properties_collector_factories.push_back(
      rocksdb::NewCompactOnDeletionCollectorFactory(/*sliding_window_size=*/
                                                    4096,
                                                    /*deletion_trigger=*/1024));
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(
    StoreOptions options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("read-model store: no path given");
  }
  std::error_code ec;
  if (!options.read_only) std::filesystem::create_directories(options.path, ec);
  StoreRocksOptions o = MakeOptions();
  rocksdb::DBOptions& db_options = o.db;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, o.entries}, {kRowsFamily, o.rows}};
  auto store = std::unique_ptr<ProjectionStore>(new ProjectionStore());
  store->path_ = options.path;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    char scratch[] = "/tmp/voronka-store-secondary-XXXXXX";
    if (mkdtemp(scratch) == nullptr) {
      return absl::UnavailableError("read-model store: no scratch directory");
    }
    store->secondary_dir_ = scratch;
    db_options.create_if_missing = false;
    db_options.max_open_files = -1;  // Required for secondary instances.
    s = rocksdb::DB::OpenAsSecondary(db_options, options.path,
                                     store->secondary_dir_, families,
                                     &store->handles_, &db);
    if (s.ok()) s = db->TryCatchUpWithPrimary();
  } else {
    s = rocksdb::DB::Open(db_options, options.path, families, &store->handles_,
                          &db);
  }
  if (!s.ok()) return FromRocks(s, fmt::format("open {}", options.path));
  store->db_.reset(db);
  return store;
}

absl::StatusOr<std::optional<std::string>> ProjectionStore::Get(
    std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[0],
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "get");
  return value;
}

absl::StatusOr<Counters> ProjectionStore::GetRow(std::string_view key) const {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), handles_[1],
                               rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return Counters();
  if (!s.ok()) return FromRocks(s, "get row");
  return Counters::Decode(value);
}

namespace {

// Calls `fn` for the keys of `family` under `prefix` from `start`, in key
// order, until it returns false; values that are empty are skipped when
// `skip_empty` (rows that summed to nothing).
absl::Status ScanFamily(
    rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
    std::string_view prefix, std::string_view start, bool skip_empty,
    const std::function<bool(std::string_view, std::string_view)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.NewIterator(rocksdb::ReadOptions(), family));
  const std::string_view from = start.empty() ? prefix : start;
  for (it->Seek(rocksdb::Slice(from.data(), from.size())); it->Valid();
       it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.substr(0, prefix.size()) != prefix) break;
    if (skip_empty && it->value().empty()) continue;
    if (!fn(key, it->value().ToStringView())) break;
  }
  return FromRocks(it->status(), skip_empty ? "scan rows" : "scan");
}

}  // namespace

absl::Status ProjectionStore::ScanEntries(
    std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanFamily(*db_, handles_[0], prefix, start, /*skip_empty=*/false, fn);
}

absl::Status ProjectionStore::ScanRowBytes(
    std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  return ScanFamily(*db_, handles_[1], prefix, start, /*skip_empty=*/true, fn);
}

absl::Status ProjectionStore::ScanRows(
    std::string_view prefix, std::string_view start,
    const std::function<bool(std::string_view, const Counters&)>& fn) const {
  absl::Status decode_error;
  absl::Status s = ScanRowBytes(
      prefix, start, [&](std::string_view key, std::string_view bytes) {
        absl::StatusOr<Counters> row = Counters::Decode(bytes);
        if (!row.ok()) {
          decode_error = row.status();
          return false;
        }
        return fn(key, *row);
      });
  return decode_error.ok() ? s : decode_error;
}

absl::StatusOr<std::vector<int64_t>> ProjectionStore::Positions() const {
  absl::StatusOr<std::optional<std::string>> v = Get(PositionsKey());
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::vector<int64_t>();
  return DecodePositions(**v);
}

absl::StatusOr<std::string> ProjectionStore::Version() const {
  absl::StatusOr<std::optional<std::string>> v = Get(VersionKey());
  if (!v.ok()) return v.status();
  return v->value_or("");
}

absl::Status ProjectionStore::SetVersion(const std::string& version) {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Put(wo, handles_[0], VersionKey(), version),
                   "set version");
}

absl::Status ProjectionStore::Commit(const Changes& changes,
                                     const std::vector<int64_t>& positions) {
  rocksdb::WriteBatch batch;
  for (const auto& [key, row] : changes.rows) {
    if (row.empty()) continue;
    batch.Merge(handles_[1], key, row.Encode());
  }
  for (const auto& [key, value] : changes.entries) {
    if (value) {
      batch.Put(handles_[0], key, *value);
    } else {
      batch.Delete(handles_[0], key);
    }
  }
  batch.Put(handles_[0], PositionsKey(), EncodePositions(positions));
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "commit");
}

absl::StatusOr<std::string> ProjectionStore::CanonicalDump() const {
  std::string out;
  for (int family = 0; family < 2; ++family) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), handles_[family]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (family == 1 && it->value().empty()) continue;
      out += family == 0 ? "E " : "R ";
      AppendEscaped(out, it->key().ToStringView());
      out += " = ";
      if (family == 1) {
        absl::StatusOr<Counters> row =
            Counters::Decode(it->value().ToStringView());
        if (!row.ok()) return row.status();
        for (const auto& [name, value] : row->fields()) {
          out += fmt::format("{}={} ", name, value);
        }
      } else {
        AppendEscaped(out, it->value().ToStringView());
      }
      out += "\n";
    }
    if (!it->status().ok()) return FromRocks(it->status(), "dump");
  }
  return out;
}

absl::Status ProjectionStore::Flush() {
  rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), handles_);
  return s.ok() ? absl::OkStatus() : FromRocks(s, "flush " + path_);
}

absl::Status ProjectionStore::CompactRows() {
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction =
      rocksdb::BottommostLevelCompaction::kForceOptimized;
  rocksdb::Status s = db_->Flush(rocksdb::FlushOptions(), handles_[1]);
  if (s.ok()) s = db_->CompactRange(options, handles_[1], nullptr, nullptr);
  return s.ok() ? absl::OkStatus() : FromRocks(s, "compact rows of " + path_);
}

uint64_t ProjectionStore::SizeOnDisk() const {
  uint64_t total = 0;
  for (auto* h : handles_) {
    uint64_t sst = 0;
    db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &sst);
    total += sst;
  }
  return total;
}

namespace {

// Writes every key of `family` (empty values left out when `skip_empty`) in
// key order into table files `prefix`-N.sst of at most about 256 MiB; appends
// their paths to `files`.
absl::Status ExportFamily(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
                          const rocksdb::Options& options,
                          const std::string& prefix, bool skip_empty,
                          std::vector<std::string>& files) {
  constexpr uint64_t kFileBytes = 256ull << 20;
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  auto finish = [&]() -> absl::Status {
    if (writer == nullptr) return absl::OkStatus();
    rocksdb::Status s = writer->Finish();
    writer.reset();
    return FromRocks(s, "finish " + files.back());
  };
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read, family));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (skip_empty && it->value().empty()) continue;
    if (writer != nullptr && writer->FileSize() >= kFileBytes) {
      VORONKA_RETURN_IF_ERROR(finish());
    }
    if (writer == nullptr) {
      files.push_back(fmt::format("{}-{}.sst", prefix, files.size()));
      writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(),
                                                        options);
      VORONKA_RETURN_IF_ERROR(
          FromRocks(writer->Open(files.back()), "create " + files.back()));
    }
    VORONKA_RETURN_IF_ERROR(FromRocks(writer->Put(it->key(), it->value()),
                                      "write " + files.back()));
  }
  VORONKA_RETURN_IF_ERROR(FromRocks(it->status(), "export scan"));
  return finish();
}

}  // namespace

absl::Status ProjectionStore::CopyTo(const std::string& dir) const {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    return absl::AlreadyExistsError(
        fmt::format("read-model store copy: {} exists", dir));
  }
  if (!read_only()) {
    rocksdb::Checkpoint* raw = nullptr;
    VORONKA_RETURN_IF_ERROR(
        FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw),
                  "checkpoint of " + path_));
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // log_size_for_flush 0: flush first, so the copy needs no WAL replay.
    return FromRocks(
        checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
        fmt::format("checkpoint of {} into {}", path_, dir));
  }
  // A secondary instance: export, then ingest into a fresh store. The table
  // files are written next to `dir` and moved (linked) into it by the
  // ingestion.
  const std::string scratch = dir + ".export";
  std::filesystem::remove_all(scratch, ec);
  std::filesystem::create_directories(scratch, ec);
  if (ec) {
    return absl::UnavailableError(fmt::format(
        "read-model store copy: create {}: {}", scratch, ec.message()));
  }
  absl::Status status = [&]() -> absl::Status {
    const StoreRocksOptions o = MakeOptions();
    std::vector<std::string> entries, rows;
    VORONKA_RETURN_IF_ERROR(
        ExportFamily(*db_, handles_[0], rocksdb::Options(o.db, o.entries),
                     scratch + "/entries", /*skip_empty=*/false, entries));
    VORONKA_RETURN_IF_ERROR(ExportFamily(
        *db_, handles_[1], rocksdb::Options(o.db, o.rows), scratch + "/rows",
        /*skip_empty=*/true, rows));
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> copy,
                             Open({.path = dir}));
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    for (int family = 0; family < 2; ++family) {
      const std::vector<std::string>& files = family == 0 ? entries : rows;
      if (files.empty()) continue;
      VORONKA_RETURN_IF_ERROR(FromRocks(
          copy->db_->IngestExternalFile(copy->handles_[family], files, ingest),
          "ingest into " + dir));
    }
    return copy->Flush();
  }();
  std::filesystem::remove_all(scratch, ec);
  return status;
}

absl::StatusOr<std::optional<std::string>> Txn::Get(
    const std::string& key) const {
  auto it = changes_.entries.find(key);
  if (it != changes_.entries.end()) return it->second;
  return store_.Get(key);
}

absl::Status Txn::ScanEntries(
    const std::string& prefix,
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  // Merge the committed entries with the batch's own, the batch winning.
  absl::btree_map<std::string, std::optional<std::string>> merged;
  absl::Status s = store_.ScanEntries(
      prefix, "", [&](std::string_view k, std::string_view v) {
        merged.emplace(std::string(k), std::string(v));
        return true;
      });
  if (!s.ok()) return s;
  for (auto it = changes_.entries.lower_bound(prefix);
       it != changes_.entries.end() &&
       it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    merged[it->first] = it->second;
  }
  for (const auto& [k, v] : merged) {
    if (v) fn(k, *v);
  }
  return absl::OkStatus();
}

}  // namespace voronka
