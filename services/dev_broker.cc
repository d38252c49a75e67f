// DevBroker on librdkafka's mock cluster. See dev_broker.h.
#include "services/dev_broker.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>

#include "absl/status/status.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

// The Kafka protocol's ApiKey of Produce requests (not in rdkafka.h).
constexpr int16_t kProduceApiKey = 0;

absl::Status MockStatus(rd_kafka_resp_err_t err, std::string_view what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InvalidArgumentError(
      fmt::format("dev broker: {}: {}", what, rd_kafka_err2str(err)));
}

}  // namespace

struct DevBroker::Impl {
  int brokers = 0;
  // The mock cluster needs a client instance to live in; this one never
  // produces anything.
  rd_kafka_t* host = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;

  ~Impl() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
    if (host != nullptr) rd_kafka_destroy(host);
  }
};

DevBroker::DevBroker(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DevBroker::~DevBroker() = default;

absl::StatusOr<std::unique_ptr<DevBroker>> DevBroker::Start(
    DevBrokerOptions options) {
  if (options.brokers < 1) {
    return absl::InvalidArgumentError("dev broker: brokers must be >= 1");
  }
  if (options.partitions < 1) {
    return absl::InvalidArgumentError("dev broker: partitions must be >= 1");
  }
  auto impl = std::make_unique<Impl>();
  impl->brokers = options.brokers;

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  // The host client has nothing to connect to; keep it from complaining.
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(fmt::format("dev broker: {}", errstr));
  }
  impl->host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (impl->host == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(fmt::format("dev broker: {}", errstr));
  }
  impl->cluster = rd_kafka_mock_cluster_new(impl->host, options.brokers);
  if (impl->cluster == nullptr) {
    return absl::InternalError("dev broker: could not start the mock cluster");
  }
  auto broker = std::unique_ptr<DevBroker>(new DevBroker(std::move(impl)));
  for (const std::string& topic : options.topics) {
    VORONKA_RETURN_IF_ERROR(broker->CreateTopic(topic, options.partitions,
                                                std::min(3, options.brokers)));
  }
  return broker;
}

std::string DevBroker::bootstrap() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

absl::Status DevBroker::CreateTopic(const std::string& name, int partitions,
                                    int replication) {
  return MockStatus(rd_kafka_mock_topic_create(impl_->cluster, name.c_str(),
                                               partitions, replication),
                    fmt::format("create topic {}", name));
}

absl::Status DevBroker::SetBrokerDown(int32_t broker_id) {
  return MockStatus(rd_kafka_mock_broker_set_down(impl_->cluster, broker_id),
                    fmt::format("broker {} down", broker_id));
}

absl::Status DevBroker::SetBrokerUp(int32_t broker_id) {
  return MockStatus(rd_kafka_mock_broker_set_up(impl_->cluster, broker_id),
                    fmt::format("broker {} up", broker_id));
}

absl::Status DevBroker::SetAllDown() {
  for (int32_t id = 1; id <= impl_->brokers; ++id) {
    VORONKA_RETURN_IF_ERROR(SetBrokerDown(id));
  }
  return absl::OkStatus();
}

absl::Status DevBroker::SetAllUp() {
  for (int32_t id = 1; id <= impl_->brokers; ++id) {
    VORONKA_RETURN_IF_ERROR(SetBrokerUp(id));
  }
  return absl::OkStatus();
}

void DevBroker::InjectProduceErrors(int count, int error) {
  if (count <= 0) return;
  std::vector<rd_kafka_resp_err_t> errors(
      count, static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, kProduceApiKey,
                                          errors.size(), errors.data());
}

}  // namespace voronka
