// EmbeddedLog: the event log on a local RocksDB database, for one machine
// (`voronka serve`, the default). One partition; offsets are dense from 0.
//
// Durability: Append() returns only after the RocksDB write-ahead log holding
// the records is fsync'ed (WriteOptions::sync), so every acknowledged event
// survives kill -9 and power loss. Concurrent appends are group-committed:
// one thread writes the pending batches of all waiting callers as a single
// WriteBatch with a single fsync, and each caller gets its own positions.
//
// Record layout (docs/events.md): key = 8-byte big-endian offset, value = the
// codec.h record. Thread-safe. A reader sees records as soon as they are
// durable.
//
// ReadAt (log.h) seeks one iterator through each chunk's offsets in order
// and decodes as readers do; positions at or past the durable end as of the
// call (on a read-only log: as of its open) are NotFound.
//
// Idempotent appends (AppendOnce, events/idempotent_log.h): the (source, id)
// index (events/dedup.h) is the column family "dedup" of the same database;
// a group commit looks every key up, appends only new events and writes
// their index entries in the same WriteBatch as the records.
//
//   absl::StatusOr<std::unique_ptr<EmbeddedLog>> log =
//       EmbeddedLog::Open({.path = "/var/lib/voronka/log"});
#ifndef VORONKA_EVENTS_EMBEDDED_LOG_H_
#define VORONKA_EVENTS_EMBEDDED_LOG_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/dedup.h"
#include "events/log.h"

namespace voronka {

struct EmbeddedLogOptions {
  std::string path;  // Directory of the RocksDB database; created if missing.
  // fsync the WAL before acknowledging. Only benchmarks that compare against
  // the durable path turn this off.
  bool sync = true;
  // Open the log as it is now, without taking the lock, while another
  // process may hold and write it (for rebuilds): a RocksDB secondary
  // instance. Append() then fails with FailedPrecondition and readers stop
  // at the end as of the open.
  bool read_only = false;
  // How long AppendOnce remembers a (source, id), at least (events/dedup.h).
  absl::Duration dedup_window = absl::Hours(24 * 30);
};

class EmbeddedLog : public EventLog {
 public:
  // Opens (or creates) the log. Unavailable if the directory cannot be
  // opened (locked by another process, unwritable disk).
  static absl::StatusOr<std::unique_ptr<EmbeddedLog>> Open(
      EmbeddedLogOptions options);
  ~EmbeddedLog() override;

  absl::StatusOr<std::vector<LogPosition>> Append(
      std::span<const Event> events) override;
  int32_t partition_count() const override { return 1; }
  absl::StatusOr<std::vector<int64_t>> EndOffsets() override;
  absl::StatusOr<std::unique_ptr<LogReader>> OpenReader(
      ReaderOptions options) override;
  absl::Status ReadAt(std::span<const LogPosition> positions,
                      const RecordVisitor& visit) override;

  // Appends the events whose (source, id) the log has not appended before
  // (events/idempotent_log.h has the contract). FailedPrecondition on a
  // read-only log.
  absl::StatusOr<AppendOnceResult> AppendOnce(std::span<const Event> events);

  // Appends already-encoded records (codec.h format) as they are. Used by
  // tests that need to plant a corrupt record, and by restore tools.
  absl::StatusOr<std::vector<LogPosition>> AppendRaw(
      std::span<const std::string> records);

  // Bytes on disk (SST files + WAL), for metrics and benchmarks.
  uint64_t SizeOnDisk() const;

  struct Impl;

 private:
  explicit EmbeddedLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_EMBEDDED_LOG_H_
