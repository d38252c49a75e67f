// Topic management on a Kafka cluster: create the topics an event store
// needs, check them against events/topic_policy.h, and the startup check a
// service runs before it appends to or reads from the events topic.
//
// Nothing here ever alters an existing topic: a topic that exists is only
// checked, and a check that finds a problem says what to change.
//
//   auto admin = KafkaAdmin::Connect({.brokers = brokers});
//   absl::StatusOr<std::vector<std::string>> created =
//       CreateMissingTopics(**admin, options);
//   absl::StatusOr<std::vector<TopicFinding>> findings =
//       CheckTopics(**admin, options);
//   absl::Status verdict = TopicCheckStatus(*findings, allow_unverified);
//
// At a service's start (the events topic only):
//
//   absl::StatusOr<HistoryVerification> v = CheckEventTopicKeepsHistory(
//       {.brokers = brokers, .client_config = config}, "voronka.events");
//   if (!v.ok()) return v.status();          // DataLoss: refuse to run
//   if (!v->verified) LOG_WARN(v->message);  // the broker could not say
#ifndef VORONKA_EVENTS_KAFKA_TOPICS_H_
#define VORONKA_EVENTS_KAFKA_TOPICS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/kafka_admin.h"
#include "events/topic_policy.h"

namespace voronka {

// Creates each topic of RequiredTopics(options) that the cluster does not
// list, with CreationConfig(); returns the names created (existing topics
// are left alone). InvalidArgument when the replication factor exceeds the
// cluster's brokers or the broker refuses the topic; Unimplemented when the
// broker does not support CreateTopics (the message gives the equivalent
// kafka-topics.sh command); Unavailable as KafkaAdmin.
// Precondition: ValidateTopicPolicyOptions(options) is OK.
absl::StatusOr<std::vector<std::string>> CreateMissingTopics(
    KafkaAdmin& admin, const TopicPolicyOptions& options);

// Describes every topic of RequiredTopics(options) (metadata and
// DescribeConfigs) and checks it: the findings of every topic in order. A
// broker that does not answer DescribeConfigs (Unimplemented,
// PermissionDenied) gives kUnverified findings, not an error; Unavailable
// when the cluster stops answering.
absl::StatusOr<std::vector<TopicFinding>> CheckTopics(
    KafkaAdmin& admin, const TopicPolicyOptions& options);

// Result of CheckEventTopicKeepsHistory when nothing endangers history.
struct HistoryVerification {
  // True when the broker's configuration was read and keeps history; false
  // when the broker would not say (DescribeConfigs unsupported or denied).
  bool verified = false;
  std::string message;  // What was verified, or why it could not be.
};

// Whether the events topic `topic` keeps every event forever as far as the
// broker's configuration says: infinite retention by time and size,
// cleanup.policy=delete, no unclean leader election. DataLoss naming each
// setting that could delete history; NotFound if the topic does not exist;
// Unavailable when no broker answers within `options.timeout`. Partitions
// and replication are `voronka topics check`'s business, not this one's.
absl::StatusOr<HistoryVerification> CheckEventTopicKeepsHistory(
    const KafkaAdminOptions& options, const std::string& topic);

}  // namespace voronka

#endif  // VORONKA_EVENTS_KAFKA_TOPICS_H_
