// ProjectionStore: one projector's read model on RocksDB, with the log
// positions it reflects.
//
// Two column families: "rows" holds Counters rows combined by a merge
// operator (projectors add deltas without reading), "default" holds
// everything else — index entries, entity states, histories, the
// de-duplication set and the meta keys (positions, projection version).
//
// Exactly once: Commit() writes a batch's read-model changes *and* the
// positions after that batch in one WriteBatch, so after any crash the store
// holds the effect of exactly the records before its positions; the
// projector resumes reading there. The WAL is not fsync'ed per commit: a
// power loss can lose the last commits, and with them their positions, so
// they are simply applied again. Whole-machine durability belongs to the log.
//
// Reads see committed data. Thread-safe (RocksDB is); one writer at a time.
//
//   auto store = ProjectionStore::Open({.path = dir + "/indicators"});
//   Txn txn(**store);  ...  (*store)->Commit(txn, positions);
#ifndef VORONKA_PROJECTIONS_STORE_H_
#define VORONKA_PROJECTIONS_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "projections/counters.h"
#include "projections/view.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
}  // namespace rocksdb

namespace voronka {

struct StoreOptions {
  std::string path;  // Created if missing (unless read_only).
  // Read while another process (a running `voronka serve` or `project`)
  // holds and writes the store: a RocksDB secondary instance that sees the
  // store as of the open. Commit and SetVersion then fail.
  bool read_only = false;
};

class ProjectionStore {
 public:
  // Unavailable if the directory cannot be opened (locked, unwritable).
  static absl::StatusOr<std::unique_ptr<ProjectionStore>> Open(
      StoreOptions options);
  ~ProjectionStore();

  const std::string& path() const { return path_; }

  // An entry of the default family; nullopt if absent.
  absl::StatusOr<std::optional<std::string>> Get(std::string_view key) const;
  // A Counters row; empty if absent.
  absl::StatusOr<Counters> GetRow(std::string_view key) const;

  // Calls `fn(key, value)` for entries (or rows) whose key starts with
  // `prefix`, from `start` (>= prefix; "" = the prefix itself) in key order,
  // until `fn` returns false. Empty rows are skipped.
  absl::Status ScanEntries(
      std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view, std::string_view)>& fn) const;
  absl::Status ScanRows(
      std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view, const Counters&)>& fn) const;
  // ScanRows with each row's encoded bytes (Counters::ForEachField reads
  // them) rather than a decoded Counters: cheaper for rows of many fields.
  absl::Status ScanRowBytes(
      std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view, std::string_view)>& fn) const;

  // Positions stored by the last Commit (empty for a new store).
  absl::StatusOr<std::vector<int64_t>> Positions() const;
  // The projection version the store was built by ("" for a new store).
  absl::StatusOr<std::string> Version() const;
  absl::Status SetVersion(const std::string& version);

  // Applies `changes` (rows merged, entries put or deleted) and sets the
  // positions, atomically.
  absl::Status Commit(const Changes& changes,
                      const std::vector<int64_t>& positions);

  // Every key and value, rows merged and empty rows left out, as text lines
  // (hex-escaped): equal dumps mean equal read models.
  absl::StatusOr<std::string> CanonicalDump() const;

  // Writes the memtables out to table files (what SizeOnDisk() counts).
  absl::Status Flush();
  // Compacts the rows family down to one value per row. A store filled fast
  // (a rebuild) holds many merge operands per row, each merged again by
  // every read until background compaction catches up: a rebuild compacts
  // before it is put in service, so its first queries are as fast as later
  // ones. Blocks; reads and commits go on meanwhile.
  absl::Status CompactRows();
  uint64_t SizeOnDisk() const;

  // Writes a consistent copy of the store into `dir`, which must not exist
  // (its parent must), openable by Open(): the read model and its positions
  // as of one moment. A writable store makes a RocksDB checkpoint after a
  // flush (table files hard-linked when `dir` is on the same file system,
  // else copied). A read-only store (which cannot checkpoint: the primary
  // process owns its files) exports what it has seen since its open: every
  // entry and every non-empty row, merged, written as table files and
  // ingested into a new store at `dir`, all in the bottom level. Files are
  // not fsync'ed: the caller syncs what it keeps. Unavailable (naming the
  // path) on an I/O error; `dir` may then hold a partial copy.
  absl::Status CopyTo(const std::string& dir) const;
  bool read_only() const { return !secondary_dir_.empty(); }

 private:
  ProjectionStore() = default;
  std::string path_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, rows
  std::string secondary_dir_;  // Scratch of a read-only instance.
};

// A batch of changes being built, readable before it is committed: Get()
// sees the batch's own puts and deletes over the store's committed state.
class Txn {
 public:
  explicit Txn(const ProjectionStore& store) : store_(store) {}

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) const;
  void Put(const std::string& key, std::string value) {
    changes_.entries[key] = std::move(value);
  }
  void Delete(const std::string& key) { changes_.entries[key] = std::nullopt; }
  // Entries under `prefix` as the batch would leave them, in key order.
  absl::Status ScanEntries(
      const std::string& prefix,
      const std::function<void(std::string_view, std::string_view)>& fn) const;

  Changes& changes() { return changes_; }
  const Changes& changes() const { return changes_; }
  const ProjectionStore& store() const { return store_; }
  void Clear() { changes_ = Changes(); }

 private:
  const ProjectionStore& store_;
  Changes changes_;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_STORE_H_
