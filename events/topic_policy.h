// TopicPolicy: what Kafka topics an event store needs, and the check of what
// a broker describes against it. Pure: values in, values out, no I/O (the
// broker side is events/kafka_admin.h, the flows events/kafka_topics.h).
//
// Three roles, each with its own rules (docs/topics.md):
//
//   events       (voronka.events) the event log, the only source of truth.
//                Infinite retention (retention.ms = retention.bytes = -1),
//                cleanup.policy=delete (compaction keeps only the newest
//                record per key: it deletes history), no unclean leader
//                election, min.insync.replicas and replication factor at
//                least as asked, and EXACTLY the partition count asked: the
//                key -> partition mapping of an event store can never change,
//                since it would move an organisation's later events away from
//                its earlier ones.
//   inbox        (voronka.inbox) what senders produce for `voronka ingest
//                --from-topic`; ingest appends it to the event log, so its
//                retention is finite (7 days by default, the longest ingest
//                outage it survives) but must not be shorter than asked.
//   dead letter  (voronka.inbox.dlq) records ingest refused, kept for people
//                to look at: created with infinite retention; a finite one is
//                a warning, compaction is refused.
//
// A check yields one TopicFinding per setting looked at, OK ones included,
// so a command can print what was verified. TopicCheckStatus() folds them
// into one status:
//
//   DataLoss            some setting lets the broker delete history
//                       (finite retention of the events topic, compaction,
//                       unclean leader election)
//   InvalidArgument     a setting does not match what was asked (partitions,
//                       replication factor, min.insync.replicas, a too short
//                       inbox retention)
//   NotFound            a topic does not exist
//   FailedPrecondition  a setting could not be verified (the broker did not
//                       answer DescribeConfigs) and unverified was not allowed
//   OK                  everything verified; warnings do not fail
//
//   TopicPolicyOptions options{.partitions = 12};
//   for (const TopicRequirements& t : RequiredTopics(options)) {
//     DescribedTopic found = ...;  // from the broker
//     Append(findings, CheckTopic(t, found));
//   }
//   absl::Status s = TopicCheckStatus(findings, /*allow_unverified=*/false);
#ifndef VORONKA_EVENTS_TOPIC_POLICY_H_
#define VORONKA_EVENTS_TOPIC_POLICY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace voronka {

enum class TopicRole { kEvents, kInbox, kDeadLetter };
std::string_view TopicRoleName(TopicRole role);  // "events", "inbox", ...

// What the command line asks for.
struct TopicPolicyOptions {
  std::string events_topic = "voronka.events";
  std::string inbox_topic = "voronka.inbox";            // Empty: no inbox.
  std::string dead_letter_topic = "voronka.inbox.dlq";  // Empty: none.
  int partitions = 12;
  int replication_factor = 3;
  int min_insync_replicas = 2;
  absl::Duration inbox_retention = absl::Hours(24 * 7);
};

// InvalidArgument naming the flag: counts below 1, min.insync.replicas above
// the replication factor, an inbox retention under one hour, a topic name
// Kafka refuses (empty, too long, characters outside [a-zA-Z0-9._-]), the
// same topic in two roles.
absl::Status ValidateTopicPolicyOptions(const TopicPolicyOptions& options);

// One topic as the policy wants it.
struct TopicRequirements {
  std::string topic;
  TopicRole role = TopicRole::kEvents;
  int partitions = 1;  // Exact for kEvents; created with, for the others.
  int replication_factor = 1;   // Minimum.
  int min_insync_replicas = 1;  // Minimum.
  // retention.ms to create with, -1 for infinite; a check accepts -1 or
  // anything at least this long (kInbox), or only -1 (kEvents).
  int64_t retention_ms = -1;
};

// The topics `options` names, events first. Precondition: valid options.
std::vector<TopicRequirements> RequiredTopics(
    const TopicPolicyOptions& options);

// The topic-level configuration to create `t` with, in a stable order.
std::vector<std::pair<std::string, std::string>> CreationConfig(
    const TopicRequirements& t);

// One configuration entry as DescribeConfigs reports it.
struct ConfigValue {
  std::string value;
  // Where the value comes from, as the broker says: "topic" for a
  // topic-level override, "broker default" / "static broker config" /
  // "dynamic broker config" / "default" otherwise; empty if unknown.
  std::string source;
  bool is_default = false;  // Not set on the topic itself.
};

// What a broker told about one topic.
struct DescribedTopic {
  bool exists = false;
  // Replica count of each partition (its size is the partition count).
  std::vector<int> replicas;
  // The topic's configuration; nullopt when the broker did not give it
  // (`config_error` says why: not supported, not authorised).
  std::optional<std::map<std::string, ConfigValue>> config;
  std::string config_error;
};

enum class FindingLevel {
  kOk,
  kWarning,       // Worth knowing, does not fail a check.
  kUnverified,    // Could not be read from the broker.
  kMissing,       // The topic does not exist.
  kMismatch,      // Not what was asked.
  kLosesHistory,  // The broker may delete or drop acknowledged records.
};
std::string_view FindingLevelName(FindingLevel level);  // "ok", "WARNING", ...

struct TopicFinding {
  std::string topic;
  std::string setting;  // "partitions", "retention.ms", ...
  std::string found;    // As the broker said, with its source if not topic.
  std::string required;
  FindingLevel level = FindingLevel::kOk;
  std::string why;  // Empty when kOk.
};

// Checks what the broker described against `t`: one finding per setting
// (partitions, replication factor, retention.ms, retention.bytes,
// cleanup.policy, min.insync.replicas, unclean.leader.election.enable), or
// one kMissing finding if the topic does not exist. Without the topic's
// configuration a kUnverified finding of setting "configuration" gives the
// reason once, before the settings it leaves unverified.
std::vector<TopicFinding> CheckTopic(const TopicRequirements& t,
                                     const DescribedTopic& found);

// The status the findings add up to (see the top of this file). Its message
// names every failing finding, "topic setting: found X, required Y (why)".
absl::Status TopicCheckStatus(const std::vector<TopicFinding>& findings,
                              bool allow_unverified);

// "voronka.events retention.ms = -1 (required -1): ok" and so on, one line.
std::string FormatFinding(const TopicFinding& finding);

}  // namespace voronka

#endif  // VORONKA_EVENTS_TOPIC_POLICY_H_
