// STUB: replaced by the librdkafka backend.
#include "events/kafka_log.h"

namespace voronka {
struct KafkaLog::Impl {};
KafkaLog::KafkaLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLog::~KafkaLog() = default;
absl::StatusOr<std::unique_ptr<KafkaLog>> KafkaLog::Open(KafkaLogOptions) {
  return absl::UnimplementedError("stub");
}
absl::StatusOr<std::vector<LogPosition>> KafkaLog::Append(
    std::span<const Event>) {
  return absl::UnimplementedError("stub");
}
int32_t KafkaLog::partition_count() const { return 0; }
absl::StatusOr<std::vector<int64_t>> KafkaLog::EndOffsets() {
  return absl::UnimplementedError("stub");
}
absl::StatusOr<std::unique_ptr<LogReader>> KafkaLog::OpenReader(ReaderOptions) {
  return absl::UnimplementedError("stub");
}
}  // namespace voronka
