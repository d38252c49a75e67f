// FakeKafkaBroker: a test-only Kafka broker that speaks exactly four
// requests of the Kafka wire protocol, in their oldest non-flexible versions:
// ApiVersions (v0-2), Metadata (v0-1), CreateTopics (v0-1) and
// DescribeConfigs (v0-1). That is what librdkafka's Admin API needs to
// create topics and describe their configuration, which librdkafka's mock
// cluster (services/dev_broker.h) does not implement. It is not a log:
// there is no Produce or Fetch, and any other request closes the
// connection.
//
// It is `brokers` nodes (ids 1..brokers, node 1 the controller), each
// listening on its own loopback port and answering for the whole cluster. Topic
// configuration follows Kafka's rules: a key set on the topic reports source
// DYNAMIC_TOPIC_CONFIG, any other the broker's value (Kafka's default, or one
// set with SetBrokerConfig, reported as STATIC_BROKER_CONFIG).
//
// Thread-safe: one thread accepts, one thread per connection.
//
//   auto broker = FakeKafkaBroker::Start(3);
//   (*broker)->AddTopic("voronka.events", {.partitions = 12,
//                                          .replication_factor = 3});
//   KafkaAdmin::Connect({.brokers = (*broker)->bootstrap()});
#ifndef VORONKA_TESTS_TESTING_FAKE_KAFKA_BROKER_H_
#define VORONKA_TESTS_TESTING_FAKE_KAFKA_BROKER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace voronka::testing {

class FakeKafkaBroker {
 public:
  struct Topic {
    int partitions = 1;
    int replication_factor = 1;
    std::map<std::string, std::string> config;  // Set on the topic.
  };

  // Listens on 127.0.0.1 (a free port). Internal if it cannot.
  static absl::StatusOr<std::unique_ptr<FakeKafkaBroker>> Start(int brokers);
  ~FakeKafkaBroker();  // Closes every connection and joins its threads.
  FakeKafkaBroker(const FakeKafkaBroker&) = delete;
  FakeKafkaBroker& operator=(const FakeKafkaBroker&) = delete;

  std::string bootstrap() const;  // "127.0.0.1:PORT,..." of every node

  void AddTopic(const std::string& name, Topic topic);
  // The topic as created or added; nullopt if it does not exist.
  std::optional<Topic> topic(const std::string& name) const;
  // A broker-level value of a topic setting (server.properties).
  void SetBrokerConfig(const std::string& key, const std::string& value);
  // From now on DescribeConfigs answers TOPIC_AUTHORIZATION_FAILED.
  void DenyDescribeConfigs();

  // How many CreateTopics requests arrived.
  int create_requests() const;

  struct Impl;

 private:
  explicit FakeKafkaBroker(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_FAKE_KAFKA_BROKER_H_
