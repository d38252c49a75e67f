#include "services/log_metrics.h"

#include <utility>

#include "events/kafka_log.h"
#include "services/projector_metrics.h"

namespace voronka {

void AddLogMetrics(Metrics& metrics, EventLog& log, std::string embedded_dir) {
  metrics.AddCollector(
      "log", [&log, dir = std::move(embedded_dir)](MetricSink& sink) {
        using prometheus::MetricType;
        if (auto* kafka = dynamic_cast<KafkaLog*>(&log)) {
          const KafkaLog::ProducerStats stats = kafka->producer_stats();
          sink.AddFamily("voronka_kafka_delivery_errors_total",
                         "Kafka delivery reports with an error.",
                         MetricType::Counter)
              .Counter({}, static_cast<double>(stats.delivery_errors));
          sink.AddFamily("voronka_kafka_producer_queue_messages",
                         "Messages waiting in the producer queue.",
                         MetricType::Gauge)
              .Gauge({}, static_cast<double>(stats.queued));
        } else if (!dir.empty()) {
          sink.AddFamily("voronka_embedded_log_size_bytes",
                         "On-disk size of the embedded log.", MetricType::Gauge)
              .Gauge({}, static_cast<double>(DiskUsage(dir)));
        }
        absl::StatusOr<std::vector<int64_t>> end = log.EndOffsets();
        if (!end.ok()) return end.status();
        FamilyWriter offsets = sink.AddFamily(
            "voronka_log_end_offset",
            "The log's end (the next record's offset) per partition.",
            MetricType::Gauge);
        for (size_t p = 0; p < end->size(); ++p) {
          offsets.Gauge({{"partition", std::to_string(p)}},
                        static_cast<double>((*end)[p]));
        }
        return absl::OkStatus();
      });
}

}  // namespace voronka
