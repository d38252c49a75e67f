// KafkaAdmin: the few Kafka Admin API calls topic management needs
// (metadata, DescribeConfigs, CreateTopics), through librdkafka. The rules
// of what to create and what to accept are events/topic_policy.h; this is
// only the broker side.
//
// Admin requests go to one broker chosen from the metadata: the controller
// the cluster names if it is one of the listed brokers, else the first
// listed broker (a KRaft broker forwards CreateTopics to the controller; any
// broker answers DescribeConfigs of a topic). Choosing the broker ourselves
// means a broker that does not implement a request (librdkafka's mock
// cluster, `voronka dev-broker`, implements neither DescribeConfigs nor
// CreateTopics) answers at once with Unimplemented instead of the request
// waiting for a controller that never comes.
//
// Errors:
//   InvalidArgument   a -X setting librdkafka refuses; a topic the broker
//                     refuses to create as asked (bad config, replication
//                     factor above the broker count, policy violation)
//   Unavailable       no broker answered within the timeout; the message
//                     names the brokers and what librdkafka last saw of them
//                     ("Connection refused", "SSL handshake failed", ...)
//   Unimplemented     the broker does not support the request
//   PermissionDenied  the broker refused it (ACLs)
//   AlreadyExists     CreateTopic of an existing topic
//
// Thread-compatible: one thread at a time.
//
//   auto admin = KafkaAdmin::Connect({.brokers = "kafka-1:9092"});
//   absl::StatusOr<ClusterTopics> topics = (*admin)->DescribeTopics();
//   absl::StatusOr<std::map<std::string, ConfigValue>> config =
//       (*admin)->DescribeTopicConfig("voronka.events");
#ifndef VORONKA_EVENTS_KAFKA_ADMIN_H_
#define VORONKA_EVENTS_KAFKA_ADMIN_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/topic_policy.h"

namespace voronka {

struct KafkaAdminOptions {
  std::string brokers;  // bootstrap.servers
  // librdkafka settings (TLS, SASL) as the -X flags give them.
  std::vector<std::pair<std::string, std::string>> client_config;
  // Bound on each request (metadata, each admin call).
  absl::Duration timeout = absl::Seconds(10);
};

// The cluster's view of its topics from one Metadata request.
struct ClusterTopics {
  int broker_count = 0;
  // Topic -> replica count of each partition.
  std::map<std::string, std::vector<int>> replicas;
};

class KafkaAdmin {
 public:
  // Creates the client and waits for the first metadata answer (so a wrong
  // address or a TLS problem is reported here, Unavailable).
  static absl::StatusOr<std::unique_ptr<KafkaAdmin>> Connect(
      KafkaAdminOptions options);
  ~KafkaAdmin();
  KafkaAdmin(const KafkaAdmin&) = delete;
  KafkaAdmin& operator=(const KafkaAdmin&) = delete;

  // Every topic the cluster lists, with its partitions' replica counts.
  absl::StatusOr<ClusterTopics> DescribeTopics();

  // The topic's configuration (DescribeConfigs). Unimplemented when the
  // broker does not support DescribeConfigs, PermissionDenied when it
  // refuses, NotFound for an unknown topic.
  absl::StatusOr<std::map<std::string, ConfigValue>> DescribeTopicConfig(
      const std::string& topic);

  // Creates `topic` with `config` (CreateTopics). AlreadyExists if it
  // exists (it is left untouched).
  absl::Status CreateTopic(
      const std::string& topic, int partitions, int replication_factor,
      const std::vector<std::pair<std::string, std::string>>& config);

  // The bootstrap list, for messages.
  const std::string& brokers() const;
  // KafkaAdminOptions::timeout.
  absl::Duration timeout() const;

  struct Impl;

 private:
  explicit KafkaAdmin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_KAFKA_ADMIN_H_
