// Inbox: the Kafka inbox of `voronka ingest --from-topic`, for senders that
// prefer producing to Kafka over HTTP (docs/ingest.md).
//
// A consumer in group `group` reads CloudEvents records from `topic` as any
// Kafka producer writes them (`kcat -P`): structured JSON values (one event,
// or a JSON array of them), or binary mode with ce_* headers. Each poll
// takes up to `max_batch` records and
//   1. decodes and validates them (cloudevents.h);
//   2. appends the valid events through the IdempotentLog, so a record read
//      twice (after a crash or a rebalance) appends nothing twice;
//   3. produces every invalid record (and every event that reuses an id with
//      different content) to `dead_letter_topic`, unchanged, with headers
//      `voronka-error` (every problem: "events[0].data.stage: ...") and
//      `voronka-origin` ("topic/partition/offset"), and waits for its
//      delivery report;
//   4. only then commits the batch's offsets to the group.
// While the log or the dead-letter topic is unavailable, the batch is
// retried (every `retry_backoff`) and nothing is committed; a crash at any
// point re-reads uncommitted records, which step 2 makes harmless. A
// consumer error is logged and reading continues.
//
// Thread-safety: Start() starts one consuming thread; Stop() and stats()
// from any thread.
//
//   auto inbox = Inbox::Start({.brokers = "localhost:9092",
//                              .config = &config, .log = once.get()});
//   ... inbox->Stop();
#ifndef VORONKA_SERVICES_INBOX_H_
#define VORONKA_SERVICES_INBOX_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "events/idempotent_log.h"
#include "events/timestamp.h"

namespace voronka {

struct InboxOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic = "voronka.inbox";
  std::string dead_letter_topic = "voronka.inbox.dlq";
  std::string group = "voronka-ingest";
  // librdkafka settings for the consumer and the dead-letter producer.
  std::vector<std::pair<std::string, std::string>> client_config;
  const FunnelConfig* config = nullptr;  // Required.
  IdempotentLog* log = nullptr;          // Required.
  size_t max_batch = 1000;
  absl::Duration retry_backoff = absl::Seconds(1);
  // recorded_time of appended events; Timestamp::Now if empty.
  std::function<Timestamp()> clock;
};

struct InboxStats {
  std::atomic<int64_t> records{0};        // Read and settled (committed).
  std::atomic<int64_t> appended{0};       // Events new in the log.
  std::atomic<int64_t> duplicates{0};     // Events the log had already.
  std::atomic<int64_t> dead_lettered{0};  // Records sent to the DLQ.
  std::atomic<int64_t> retries{0};        // Batches retried after an error.
};

class Inbox {
 public:
  // Creates the consumer and the dead-letter producer, subscribes and starts
  // consuming. InvalidArgument for bad options or client settings.
  static absl::StatusOr<std::unique_ptr<Inbox>> Start(InboxOptions options);
  ~Inbox();  // Stop().

  // Finishes the batch in flight (commits it if it became durable; leaves
  // it uncommitted otherwise), leaves the group and stops. Idempotent.
  void Stop();

  const InboxStats& stats() const;
  // The error of the latest failed attempt (OK once a batch settles).
  absl::Status last_error() const;

  struct Impl;

 private:
  explicit Inbox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_INBOX_H_
