#include "events/kafka_topics.h"

#include <utility>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

// The kafka-topics.sh command that creates `t` as CreationConfig() says.
std::string KafkaTopicsCommand(const TopicRequirements& t,
                               const std::string& brokers) {
  std::string command = fmt::format(
      "kafka-topics.sh --bootstrap-server {} --create --topic {} "
      "--partitions {} --replication-factor {}",
      brokers, t.topic, t.partitions, t.replication_factor);
  for (const auto& [key, value] : CreationConfig(t)) {
    command += fmt::format(" --config {}={}", key, value);
  }
  return command;
}

// What the broker says about `t`; Unavailable passes through.
absl::StatusOr<DescribedTopic> Describe(KafkaAdmin& admin,
                                        const ClusterTopics& cluster,
                                        const std::string& topic) {
  DescribedTopic out;
  auto it = cluster.replicas.find(topic);
  if (it == cluster.replicas.end()) return out;
  out.exists = true;
  out.replicas = it->second;
  absl::StatusOr<std::map<std::string, ConfigValue>> config =
      admin.DescribeTopicConfig(topic);
  if (config.ok()) {
    out.config = std::move(*config);
  } else if (config.status().code() == absl::StatusCode::kUnimplemented ||
             config.status().code() == absl::StatusCode::kPermissionDenied) {
    out.config_error =
        fmt::format("the broker did not answer DescribeConfigs ({})",
                    MessageOf(config.status()));
  } else if (config.status().code() == absl::StatusCode::kNotFound) {
    out = DescribedTopic{};  // Deleted since the metadata.
  } else {
    return config.status();
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CreateMissingTopics(
    KafkaAdmin& admin, const TopicPolicyOptions& options) {
  VORONKA_ASSIGN_OR_RETURN(ClusterTopics cluster, admin.DescribeTopics());
  std::vector<std::string> created;
  for (const TopicRequirements& t : RequiredTopics(options)) {
    if (cluster.replicas.contains(t.topic)) continue;
    if (t.replication_factor > cluster.broker_count) {
      return absl::InvalidArgumentError(fmt::format(
          "cannot create topic {} with replication factor {}: the cluster "
          "on {} lists {} broker{} (--replication-factor)",
          t.topic, t.replication_factor, admin.brokers(), cluster.broker_count,
          cluster.broker_count == 1 ? "" : "s"));
    }
    absl::Status s = admin.CreateTopic(t.topic, t.partitions,
                                       t.replication_factor, CreationConfig(t));
    if (s.code() == absl::StatusCode::kAlreadyExists) continue;  // A race.
    if (s.code() == absl::StatusCode::kUnimplemented) {
      return absl::UnimplementedError(
          fmt::format("{}; create it by other means, e.g. {}", MessageOf(s),
                      KafkaTopicsCommand(t, admin.brokers())));
    }
    VORONKA_RETURN_IF_ERROR(s);
    created.push_back(t.topic);
  }
  // Wait until the metadata lists what was created, so that a check right
  // after sees it.
  const absl::Time deadline = absl::Now() + admin.timeout();
  for (const std::string& topic : created) {
    while (!cluster.replicas.contains(topic)) {
      if (absl::Now() >= deadline) {
        return absl::UnavailableError(fmt::format(
            "Kafka topic {} created on {} but not in the metadata after {}",
            topic, admin.brokers(), absl::FormatDuration(admin.timeout())));
      }
      absl::SleepFor(absl::Milliseconds(100));
      VORONKA_ASSIGN_OR_RETURN(cluster, admin.DescribeTopics());
    }
  }
  return created;
}

absl::StatusOr<std::vector<TopicFinding>> CheckTopics(
    KafkaAdmin& admin, const TopicPolicyOptions& options) {
  VORONKA_ASSIGN_OR_RETURN(ClusterTopics cluster, admin.DescribeTopics());
  std::vector<TopicFinding> findings;
  for (const TopicRequirements& t : RequiredTopics(options)) {
    VORONKA_ASSIGN_OR_RETURN(DescribedTopic found,
                             Describe(admin, cluster, t.topic));
    for (TopicFinding& f : CheckTopic(t, found)) {
      findings.push_back(std::move(f));
    }
  }
  return findings;
}

absl::StatusOr<HistoryVerification> CheckEventTopicKeepsHistory(
    const KafkaAdminOptions& options, const std::string& topic) {
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<KafkaAdmin> admin,
                           KafkaAdmin::Connect(options));
  VORONKA_ASSIGN_OR_RETURN(ClusterTopics cluster, admin->DescribeTopics());
  VORONKA_ASSIGN_OR_RETURN(DescribedTopic found,
                           Describe(*admin, cluster, topic));
  if (!found.exists) {
    return absl::NotFoundError(fmt::format(
        "Kafka topic {} does not exist on {}", topic, options.brokers));
  }
  // Only the settings that decide whether the broker deletes records: the
  // partition count and replication the topic has are taken as required.
  TopicRequirements t{.topic = topic,
                      .role = TopicRole::kEvents,
                      .partitions = static_cast<int>(found.replicas.size()),
                      .replication_factor = 1,
                      .min_insync_replicas = 1};
  std::vector<TopicFinding> dangers;
  bool unverified = false;
  for (TopicFinding& f : CheckTopic(t, found)) {
    if (f.level == FindingLevel::kLosesHistory) dangers.push_back(f);
    if (f.level == FindingLevel::kUnverified) unverified = true;
  }
  if (!dangers.empty()) {
    absl::Status s = TopicCheckStatus(dangers, /*allow_unverified=*/true);
    return absl::DataLossError(
        fmt::format("Kafka topic {} on {} could delete history: {}", topic,
                    options.brokers, MessageOf(s)));
  }
  if (unverified) {
    return HistoryVerification{
        .verified = false,
        .message = fmt::format(
            "could not verify that Kafka topic {} keeps history (retention, "
            "cleanup.policy): {}",
            topic,
            found.config.has_value()
                ? std::string("the broker did not report every setting")
                : found.config_error)};
  }
  return HistoryVerification{
      .verified = true,
      .message =
          fmt::format("Kafka topic {} keeps history: infinite retention, "
                      "cleanup.policy=delete, no unclean leader election",
                      topic)};
}

}  // namespace voronka
