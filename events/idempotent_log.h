// IdempotentLog: appends each (source, id) once — the log as ingest sees it.
//
// DOMAIN.md §3 lets senders retry: an event sent again with the same source
// and id is acknowledged again, with the position of its first copy, and not
// appended a second time (events/dedup.h has the index format, the content
// fingerprint and the window). An event that reuses a (source, id) with
// different content is a conflict and its whole batch is refused.
//
// Two implementations, one contract (tests/idempotent_log_test.cc runs it
// against both):
//
//  * Embedded (MakeIdempotent(EmbeddedLog*)): the index is a column family
//    of the log's own RocksDB database, written in the same WriteBatch as the
//    records, so the index and the log can never disagree, even after
//    kill -9 or power loss: exactly once, always.
//
//  * Kafka (OpenKafkaIdempotent): the index is a local RocksDB database
//    (`dedup_dir`) that a background reader folds from the topic itself, so
//    it also learns what other ingest processes appended, and it survives
//    restarts (the reader's position is committed with the entries). Events
//    this process appends are indexed as soon as their delivery reports
//    arrive. When an append fails (broker outage: Unavailable), some of its
//    records may nevertheless have reached the topic; their keys are marked
//    uncertain; a retry of an uncertain key is refused (Unavailable) until
//    the failed append's records can no longer arrive (`settle`), then waits
//    until the reader has read the topic up to its current end, so a retry
//    after an outage appends nothing twice either. The one gap: two ingest
//    processes that receive the same new event at the same moment can both
//    append it (the reader closes the gap within its poll interval); read
//    models de-duplicate again, so no read model ever counts it twice.
//
// Concurrent AppendOnce calls are safe; in both implementations a key that
// another call is appending right now waits for that call to finish.
//
//   std::unique_ptr<IdempotentLog> log = MakeIdempotent(embedded.get());
//   absl::StatusOr<AppendOnceResult> r = log->AppendOnce(events);
//   if (r.ok() && r->conflicts == 0) ... r->positions ...
#ifndef VORONKA_EVENTS_IDEMPOTENT_LOG_H_
#define VORONKA_EVENTS_IDEMPOTENT_LOG_H_

#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/dedup.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/log.h"

namespace voronka {

class IdempotentLog {
 public:
  virtual ~IdempotentLog() = default;

  // Appends the events not seen before, all or none: positions only once
  // every appended event is durable (EventLog::Append's guarantee). With
  // conflicts > 0 nothing was appended. Errors as EventLog::Append
  // (Unavailable: nothing acknowledged, retry the same events).
  virtual absl::StatusOr<AppendOnceResult> AppendOnce(
      std::span<const Event> events) = 0;

  // The log underneath (for readers and EndOffsets).
  virtual EventLog& log() = 0;
};

// The embedded log's own idempotent append (EmbeddedLog::AppendOnce);
// `log` must outlive the result.
std::unique_ptr<IdempotentLog> MakeIdempotent(EmbeddedLog* log);

struct KafkaDedupOptions {
  std::string dedup_dir;  // The index database; created if missing.
  absl::Duration window = absl::Hours(24 * 30);
  // How long the background reader waits for new records per poll.
  absl::Duration poll = absl::Milliseconds(200);
  // After a failed append, how long its records may still reach the topic
  // (the log's append timeout plus slack): a retry of one of its events
  // within this time gets Unavailable ("retry later") rather than a lookup
  // that might miss a late record.
  absl::Duration settle = absl::Seconds(35);
};

// Opens the index, catches it up with the topic (reading from where it
// stopped last time to the end), then starts the background reader. `log`
// must outlive the result. Unavailable if the index can not be opened
// (another process holds it) or the topic can not be read.
absl::StatusOr<std::unique_ptr<IdempotentLog>> OpenKafkaIdempotent(
    KafkaLog* log, KafkaDedupOptions options);

}  // namespace voronka

#endif  // VORONKA_EVENTS_IDEMPOTENT_LOG_H_
