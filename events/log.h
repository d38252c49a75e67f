// The event log: the one source of truth every read model is folded from.
//
// Two backends implement it: EmbeddedLog (RocksDB, one partition, one
// machine) and KafkaLog (librdkafka, a topic with N partitions). The same test
// suite (tests/log_conformance_test.cc) runs against both.
//
// Contract:
//  * Append() returns one position per event, in order, only once every event
//    is durable (RocksDB: WAL synced; Kafka: acks=all delivery report). If it
//    returns an error, the caller must treat every event of the batch as not
//    acknowledged; some of them may nevertheless have been stored (Kafka has
//    no atomic multi-partition batch without transactions), which is why
//    events carry (source, id) and read models de-duplicate on it.
//    Unavailable: the broker or disk did not take the events within the
//    configured bound. The caller may retry the same events.
//  * Within a partition, records are read back in position order; records
//    with the same key always land in the same partition.
//  * A record that does not decode is never skipped silently: the reader
//    stops at it with DataLoss naming its position, unless the reader was
//    opened with a dead-letter handler, which then receives it explicitly.
//  * ReadAt() reads records by position, in any order (an index of positions
//    read back, e.g. one manager's history for an audit); it returns exactly
//    the records a reader returns at those positions.
//
// Thread-safety: EventLog methods, ReadAt included, may be called from many
// threads at once (concurrent appends are group-committed). A LogReader is
// used by one thread.
//
//   std::unique_ptr<EventLog> log = ...;
//   absl::StatusOr<std::vector<LogPosition>> pos = log->Append(events);
//   auto reader = log->OpenReader({});
//   while (...) { auto batch = (*reader)->Next(1000, absl::Seconds(1)); ... }
//   absl::Status s = log->ReadAt(positions, [&](const LogRecord& r) {
//     return audit.Add(r);  // An error stops the read.
//   });
#ifndef VORONKA_EVENTS_LOG_H_
#define VORONKA_EVENTS_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "events/ids.h"

namespace voronka {

struct LogRecord {
  LogPosition position;
  Event event;
  // The record as stored, when it is in the codec.h format (empty for
  // records that arrived as JSON); lets consumers fingerprint content
  // without re-encoding.
  std::string bytes;
};

// A record the reader could not decode, handed to a dead-letter handler.
struct CorruptRecord {
  LogPosition position;
  std::string bytes;
  absl::Status error;
};

struct ReaderOptions {
  // Offset to start at, per partition (index = partition). Missing entries
  // (or an empty vector) start at offset 0.
  std::vector<int64_t> start_offsets;
  // If set, undecodable records go here and reading continues past them. If
  // not set, Next() returns DataLoss at the first such record.
  std::function<void(const CorruptRecord&)> dead_letter;
};

class LogReader {
 public:
  virtual ~LogReader() = default;

  // Returns up to `max_records` records, waiting up to `wait` for the first
  // one; an empty vector means nothing new arrived in time. Records of one
  // partition come in offset order; partitions may interleave arbitrarily.
  // Errors: DataLoss naming the position of an undecodable record (the reader
  // stays before it; records before it were returned by earlier calls),
  // Unavailable if the log cannot be read.
  virtual absl::StatusOr<std::vector<LogRecord>> Next(size_t max_records,
                                                      absl::Duration wait) = 0;

  // Per partition, the offset of the next record Next() would return.
  virtual std::vector<int64_t> positions() const = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Appends the events, returning their positions once all are durable.
  // An empty batch returns an empty vector.
  virtual absl::StatusOr<std::vector<LogPosition>> Append(
      std::span<const Event> events) = 0;

  virtual int32_t partition_count() const = 0;

  // Per partition, the offset the next appended record will get (the "high
  // watermark": everything below it is readable).
  virtual absl::StatusOr<std::vector<int64_t>> EndOffsets() = 0;

  virtual absl::StatusOr<std::unique_ptr<LogReader>> OpenReader(
      ReaderOptions options) = 0;

  // Called with each record ReadAt() reads; an error stops the read and is
  // returned by ReadAt(). The record is valid only during the call.
  using RecordVisitor = std::function<absl::Status(const LogRecord&)>;

  // Reads the records at `positions` and calls `visit` for each, in the
  // order given (a position may repeat: it is visited each time). The
  // records, including LogRecord::bytes, are what a reader returns at those
  // positions. Works through `positions` in chunks of kReadAtChunk, reading
  // each chunk in log order and visiting it in the given order, so memory is
  // bounded by a chunk, not by positions.size(): a 100,000-position history
  // streams. Positions at or past the end as of the call are not waited for.
  // An empty span returns OK without calling `visit`.
  //
  // Errors stop the read; `visit` has then been called for a prefix of
  // `positions` (for NotFound and DataLoss: exactly the positions before the
  // one the error names):
  //  * NotFound naming a position that holds no record: at or past the end,
  //    a partition the log does not have, deleted by retention (below the
  //    start offset).
  //  * DataLoss naming the position of a record that does not decode (the
  //    record is not skipped: an auditor must see it).
  //  * Unavailable when the log cannot be read (Kafka: no broker answered
  //    within the log's append_timeout).
  //  * Whatever `visit` returned.
  virtual absl::Status ReadAt(std::span<const LogPosition> positions,
                              const RecordVisitor& visit) = 0;

  // How many positions ReadAt() reads at a time.
  static constexpr size_t kReadAtChunk = 4096;
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_LOG_H_
