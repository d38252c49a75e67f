// STUB: replaced by the rdkafka_mock.h implementation.
#include "services/dev_broker.h"

namespace voronka {
struct DevBroker::Impl {};
DevBroker::DevBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DevBroker::~DevBroker() = default;
absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(DevBrokerOptions) {
  return absl::UnimplementedError("stub");
}
std::string DevBroker::bootstrap() const { return ""; }
absl::Status DevBroker::CreateTopic(const std::string&, int, int) {
  return absl::UnimplementedError("stub");
}
absl::Status DevBroker::SetBrokerDown(int32_t) { return absl::UnimplementedError("stub"); }
absl::Status DevBroker::SetBrokerUp(int32_t) { return absl::UnimplementedError("stub"); }
absl::Status DevBroker::SetAllDown() { return absl::UnimplementedError("stub"); }
absl::Status DevBroker::SetAllUp() { return absl::UnimplementedError("stub"); }
void DevBroker::InjectProduceErrors(int, int) {}
}  // namespace voronka
