// `voronka topics create|check`: the Kafka topics of an event store
// (events/topic_policy.h, docs/topics.md).
//
//   voronka topics create --kafka BROKERS [-X key=value]...
//       [--topic voronka.events] [--inbox-topic voronka.inbox]
//       [--dead-letter-topic voronka.inbox.dlq] [--no-inbox]
//       [--partitions 12] [--replication-factor 3] [--min-insync-replicas 2]
//       [--inbox-retention 7d] [--allow-unverified] [--timeout 10s]
//   voronka topics check ...the same flags...
//
// `create` creates the missing topics, then checks all of them; it never
// alters a topic that exists. `check` only checks. Both print one line per
// setting checked to stdout and end with a verdict; the exit code is 0 when
// everything was verified (warnings allowed), 4 when a setting could delete
// history (DataLoss), 2 for a mismatch, a missing topic or a bad flag, 3 when
// no broker answers, 1 when a setting could not be verified (the broker does
// not answer DescribeConfigs; --allow-unverified accepts that) or the broker
// cannot create topics.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include "events/funnel_config.h"
#include "events/kafka_topics.h"
#include "events/status.h"
#include "fmt/format.h"
#include "services/commands.h"
#include "services/log_flags.h"

namespace voronka {
namespace {

struct TopicsFlags {
  LogFlags log;  // --kafka, -X, --topic.
  std::string inbox_topic = "voronka.inbox";
  std::string dead_letter_topic = "voronka.inbox.dlq";
  bool no_inbox = false;
  int partitions = 12;
  int replication_factor = 3;
  int min_insync_replicas = 2;
  std::string inbox_retention = "7d";
  std::string timeout = "10s";
  bool allow_unverified = false;
};

absl::StatusOr<TopicPolicyOptions> PolicyOptions(const TopicsFlags& flags) {
  TopicPolicyOptions o{.events_topic = flags.log.topic,
                       .inbox_topic = flags.inbox_topic,
                       .dead_letter_topic = flags.dead_letter_topic,
                       .partitions = flags.partitions,
                       .replication_factor = flags.replication_factor,
                       .min_insync_replicas = flags.min_insync_replicas};
  if (flags.no_inbox) {
    o.inbox_topic.clear();
    o.dead_letter_topic.clear();
  }
  VORONKA_ASSIGN_OR_RETURN(
      o.inbox_retention,
      DurationFlag("--inbox-retention", flags.inbox_retention));
  VORONKA_RETURN_IF_ERROR(ValidateTopicPolicyOptions(o));
  return o;
}

absl::Status RunTopics(const TopicsFlags& flags, bool create) {
  if (flags.log.kafka_brokers.empty()) {
    return absl::InvalidArgumentError("--kafka BROKERS is required");
  }
  VORONKA_ASSIGN_OR_RETURN(TopicPolicyOptions options, PolicyOptions(flags));
  KafkaAdminOptions admin_options{.brokers = flags.log.kafka_brokers};
  VORONKA_ASSIGN_OR_RETURN(admin_options.client_config,
                           KafkaClientConfig(flags.log));
  VORONKA_ASSIGN_OR_RETURN(admin_options.timeout,
                           DurationFlag("--timeout", flags.timeout));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<KafkaAdmin> admin,
                           KafkaAdmin::Connect(admin_options));

  if (create) {
    VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> created,
                             CreateMissingTopics(*admin, options));
    for (const TopicRequirements& t : RequiredTopics(options)) {
      const bool made =
          std::find(created.begin(), created.end(), t.topic) != created.end();
      std::cout << fmt::format(
          "{} ({} topic): {}\n", t.topic, TopicRoleName(t.role),
          made ? fmt::format("created, {} partitions, replication factor {}",
                             t.partitions, t.replication_factor)
               : std::string("exists, checking (never altered)"));
    }
  }

  VORONKA_ASSIGN_OR_RETURN(std::vector<TopicFinding> findings,
                           CheckTopics(*admin, options));
  int warnings = 0;
  int unverified = 0;
  for (const TopicFinding& f : findings) {
    std::cout << FormatFinding(f) << "\n";
    if (f.level == FindingLevel::kWarning) ++warnings;
    if (f.level == FindingLevel::kUnverified && f.setting != "configuration") {
      ++unverified;
    }
  }
  std::cout.flush();
  absl::Status verdict = TopicCheckStatus(findings, flags.allow_unverified);
  if (!verdict.ok()) {
    if (unverified > 0 && !flags.allow_unverified) {
      std::cout << fmt::format(
          "could not verify {} setting{} (retention, cleanup policy): the "
          "broker did not answer DescribeConfigs\n",
          unverified, unverified == 1 ? "" : "s");
    }
    return verdict;
  }
  std::cout << fmt::format(
      "ok: {} on {} ({} setting{} checked, {} warning{}{})\n",
      RequiredTopics(options).size() == 1
          ? std::string("1 topic keeps history")
          : fmt::format("{} topics keep history",
                        RequiredTopics(options).size()),
      admin->brokers(), findings.size(), findings.size() == 1 ? "" : "s",
      warnings, warnings == 1 ? "" : "s",
      unverified > 0
          ? fmt::format(", {} NOT verified, allowed by --allow-unverified",
                        unverified)
          : "");
  return absl::OkStatus();
}

void AddTopicsFlags(CLI::App& cmd, TopicsFlags& flags) {
  AddKafkaFlags(cmd, flags.log, "required");
  cmd.add_option("--inbox-topic", flags.inbox_topic, "The inbox topic")
      ->capture_default_str();
  cmd.add_option("--dead-letter-topic", flags.dead_letter_topic,
                 "The inbox's dead-letter topic")
      ->capture_default_str();
  cmd.add_flag("--no-inbox", flags.no_inbox,
               "Only the events topic (no inbox, no dead-letter topic)");
  cmd.add_option("--partitions", flags.partitions,
                 "Partitions of the events topic (can never change later)")
      ->capture_default_str();
  cmd.add_option("--replication-factor", flags.replication_factor,
                 "Replicas of each partition (minimum)")
      ->capture_default_str();
  cmd.add_option("--min-insync-replicas", flags.min_insync_replicas,
                 "min.insync.replicas (minimum)")
      ->capture_default_str();
  cmd.add_option("--inbox-retention", flags.inbox_retention,
                 "retention.ms of the inbox (minimum when checking)")
      ->capture_default_str();
  cmd.add_option("--timeout", flags.timeout, "Bound on each broker request")
      ->capture_default_str();
  cmd.add_flag("--allow-unverified", flags.allow_unverified,
               "Pass when the broker cannot describe topic configuration "
               "(retention, cleanup policy then go unverified)");
}

}  // namespace

void RegisterTopicsCommand(CLI::App& app) {
  CLI::App* topics = app.add_subcommand(
      "topics",
      "Create or check the Kafka topics of the event store (docs/topics.md)");
  topics->require_subcommand(1);

  auto create_flags = std::make_shared<TopicsFlags>();
  CLI::App* create = topics->add_subcommand(
      "create",
      "Create the missing topics (events, inbox, dead letter), then check "
      "them all; existing topics are never altered");
  AddTopicsFlags(*create, *create_flags);
  create->callback(
      [create_flags] { FailIfError(RunTopics(*create_flags, true)); });

  auto check_flags = std::make_shared<TopicsFlags>();
  CLI::App* check = topics->add_subcommand(
      "check",
      "Check the topics: one line per setting; non-zero exit for anything "
      "that could delete history, differs, or could not be verified");
  AddTopicsFlags(*check, *check_flags);
  check->callback(
      [check_flags] { FailIfError(RunTopics(*check_flags, false)); });
}

}  // namespace voronka
