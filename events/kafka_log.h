// KafkaLog: the event log on an Apache Kafka topic, through librdkafka.
//
// Producer: idempotent (enable.idempotence=true, which implies acks=all and
// bounded in-flight requests), the record key is Event::key() (data.org, or
// data.manager for manager.* events) and the partitioner is murmur2_random,
// as Java clients use, so one organisation's events share a partition. Each
// record carries the CloudEvents Kafka-binding headers ce_specversion, ce_id,
// ce_type, ce_source, ce_time, content-type, and the codec.h bytes as value.
// (With RecordFormat::kCloudEventsJson: the structured JSON as value and only
// the content-type header, for an inbox topic.)
//
// Append() completes only from delivery reports: it returns positions when
// every record was acknowledged by all in-sync replicas, or Unavailable once
// `append_timeout` (librdkafka's message.timeout.ms) passes with any record
// not acknowledged, naming the broker error. Nothing is silently dropped.
//
// Readers assign partitions explicitly (no consumer group, no auto-commit):
// the projector stores its own offsets next to its read model. Records whose
// content-type is application/cloudevents+json (or that have none, as kcat
// -P produces them), or that are binary-mode JSON (ce_* headers), are decoded
// as CloudEvents JSON with validation; other records as codec.h bytes.
//
// ReadAt (log.h) uses a consumer of its own per call, configured as the
// readers' (client_config included, so the same isolation.level), with no
// group joined and nothing committed. Per chunk it assigns each partition at
// its first wanted offset and consumes forward, seeking when the next wanted
// offset is more than 2,000 records ahead, and unassigns a partition once its
// last wanted offset is read; records are decoded exactly as by readers.
// Positions below a partition's start offset (deleted by retention) or at or
// past its end as of the call are NotFound; Unavailable when the watermarks
// cannot be read or no record arrives for append_timeout.
//
// Thread-safe; a background thread serves librdkafka's delivery callbacks.
#ifndef VORONKA_EVENTS_KAFKA_LOG_H_
#define VORONKA_EVENTS_KAFKA_LOG_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "events/log.h"

namespace voronka {

struct KafkaLogOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic = "voronka.events";
  // Create the topic with this many partitions if it does not exist (0: the
  // topic must exist; Open returns NotFound otherwise), with infinite
  // retention and cleanup.policy=delete. For production topics use
  // `voronka topics create` (docs/topics.md), which also sets replication
  // and min.insync.replicas.
  int32_t create_partitions = 0;
  absl::Duration append_timeout = absl::Seconds(30);
  // How Append() writes records. kCloudEventsJson writes what `kcat -P`
  // users write to an inbox topic: the value is the structured CloudEvents
  // JSON (ToStructuredJson), the key Event::key(), and the only header
  // content-type: application/cloudevents+json. Readers decode both.
  enum class RecordFormat { kCodec, kCloudEventsJson };
  RecordFormat record_format = RecordFormat::kCodec;
  // Passed through to librdkafka (-X key=value): TLS, SASL, tuning.
  std::vector<std::pair<std::string, std::string>> client_config;
  // Validates JSON records that readers decode; Default() if null.
  const FunnelConfig* config = nullptr;
};

class KafkaLog : public EventLog {
 public:
  // Connects, checks (or creates) the topic and learns its partition count.
  // Unavailable if no broker answers within append_timeout; InvalidArgument
  // for a bad client_config entry.
  static absl::StatusOr<std::unique_ptr<KafkaLog>> Open(
      KafkaLogOptions options);
  ~KafkaLog() override;  // Flushes pending deliveries (bounded).

  absl::StatusOr<std::vector<LogPosition>> Append(
      std::span<const Event> events) override;
  int32_t partition_count() const override;
  absl::StatusOr<std::vector<int64_t>> EndOffsets() override;
  // Per partition, the oldest offset still in the topic (the low
  // watermark: retention may have deleted what came before).
  absl::StatusOr<std::vector<int64_t>> StartOffsets();

  // The producer's state, for metrics.
  struct ProducerStats {
    int64_t delivery_errors = 0;  // Delivery reports with an error, in total.
    int64_t queued = 0;           // Messages not yet delivered (outq_len).
  };
  ProducerStats producer_stats() const;
  absl::StatusOr<std::unique_ptr<LogReader>> OpenReader(
      ReaderOptions options) override;
  absl::Status ReadAt(std::span<const LogPosition> positions,
                      const RecordVisitor& visit) override;

  struct Impl;

 private:
  absl::StatusOr<std::vector<int64_t>> Watermarks(bool high_side);
  explicit KafkaLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_KAFKA_LOG_H_
