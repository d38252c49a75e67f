// DevBroker: librdkafka's mock Kafka cluster (rdkafka_mock.h) on loopback.
//
// For development and tests only: it speaks the real Kafka protocol, so
// librdkafka clients, kcat and Voronka's KafkaLog talk to it exactly as to a
// real cluster, but it keeps everything in memory and is not Apache Kafka.
// It also keeps only the newest 5 MiB (and 100,000 message sets) of each
// partition, dropping older records as a short retention would: a reader
// starting before that gets OutOfRange. Size tests accordingly (more
// partitions hold more). `voronka dev-broker` runs one as a process; tests
// also embed it.
//
// Thread-safe (librdkafka's mock cluster runs on its own thread).
//
//   auto broker = DevBroker::Start({.brokers = 3});
//   KafkaLog::Open({.brokers = (*broker)->bootstrap(), ...});
//   (*broker)->SetBrokerDown(1);   // every broker: (*broker)->SetAllDown()
#ifndef VORONKA_SERVICES_DEV_BROKER_H_
#define VORONKA_SERVICES_DEV_BROKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace voronka {

struct DevBrokerOptions {
  int brokers = 3;
  // Topics created at start ("name" with `partitions`, replication = min(3,
  // brokers)). Others are created on first use by clients or CreateTopic().
  std::vector<std::string> topics = {"voronka.events"};
  int partitions = 4;
};

class DevBroker {
 public:
  static absl::StatusOr<std::unique_ptr<DevBroker>> Start(
      DevBrokerOptions options);
  ~DevBroker();

  // "127.0.0.1:port,127.0.0.1:port,..."
  std::string bootstrap() const;

  absl::Status CreateTopic(const std::string& name, int partitions,
                           int replication);
  // Broker ids are 1..brokers. A down broker closes its connections and
  // refuses new ones until SetBrokerUp.
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);
  absl::Status SetAllDown();
  absl::Status SetAllUp();
  // The next `count` Produce requests fail with Kafka error code `error`
  // (an rd_kafka_resp_err_t value, e.g. NOT_ENOUGH_REPLICAS = 19).
  void InjectProduceErrors(int count, int error);

  struct Impl;

 private:
  explicit DevBroker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_DEV_BROKER_H_
