// Specification of the topic policy (events/topic_policy.h): what the
// events, inbox and dead-letter topics are created with, and which
// described topics a check accepts, warns about, or refuses and why.
#include "events/topic_policy.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voronka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

// A topic as `voronka topics create` leaves it: every setting on the topic.
DescribedTopic Healthy(int partitions, int replicas, int64_t retention_ms) {
  DescribedTopic d;
  d.exists = true;
  d.replicas.assign(partitions, replicas);
  d.config.emplace();
  auto set = [&](const std::string& k, const std::string& v) {
    (*d.config)[k] = ConfigValue{.value = v, .source = "topic"};
  };
  set("retention.ms", std::to_string(retention_ms));
  set("retention.bytes", "-1");
  set("cleanup.policy", "delete");
  set("min.insync.replicas", "2");
  set("unclean.leader.election.enable", "false");
  return d;
}

TopicRequirements Events() {
  return RequiredTopics({.inbox_topic = "", .dead_letter_topic = ""})[0];
}

// "setting LEVEL" of every finding, for golden comparisons.
std::vector<std::string> Summary(const std::vector<TopicFinding>& findings) {
  std::vector<std::string> out;
  for (const TopicFinding& f : findings) {
    out.push_back(f.setting + " " + std::string(FindingLevelName(f.level)));
  }
  return out;
}

TEST(TopicPolicyTest, DefaultsNameThreeTopicsWithTheirRoles) {
  std::vector<TopicRequirements> topics = RequiredTopics({});
  ASSERT_EQ(topics.size(), 3u);
  EXPECT_EQ(topics[0].topic, "voronka.events");
  EXPECT_EQ(topics[0].role, TopicRole::kEvents);
  EXPECT_EQ(topics[0].partitions, 12);
  EXPECT_EQ(topics[0].replication_factor, 3);
  EXPECT_EQ(topics[0].min_insync_replicas, 2);
  EXPECT_EQ(topics[0].retention_ms, -1);
  EXPECT_EQ(topics[1].topic, "voronka.inbox");
  EXPECT_EQ(topics[1].retention_ms, 7 * 24 * 3600 * 1000LL);
  EXPECT_EQ(topics[2].topic, "voronka.inbox.dlq");
  EXPECT_EQ(topics[2].role, TopicRole::kDeadLetter);
  EXPECT_EQ(topics[2].retention_ms, -1);
}

TEST(TopicPolicyTest, NoInboxMeansOnlyTheEventsTopic) {
  EXPECT_EQ(RequiredTopics({.inbox_topic = "", .dead_letter_topic = ""}).size(),
            1u);
}

TEST(TopicPolicyTest, EventsTopicIsCreatedToKeepHistoryForever) {
  EXPECT_THAT(
      CreationConfig(Events()),
      ElementsAre(Pair("cleanup.policy", "delete"), Pair("retention.ms", "-1"),
                  Pair("retention.bytes", "-1"),
                  Pair("min.insync.replicas", "2"),
                  Pair("unclean.leader.election.enable", "false")));
}

TEST(TopicPolicyTest, InboxIsCreatedWithFiniteRetention) {
  TopicRequirements inbox =
      RequiredTopics({.inbox_retention = absl::Hours(48)})[1];
  EXPECT_THAT(CreationConfig(inbox),
              ::testing::Contains(Pair("retention.ms", "172800000")));
}

TEST(TopicPolicyTest, OptionsAreValidated) {
  EXPECT_TRUE(ValidateTopicPolicyOptions({}).ok());
  EXPECT_THAT(ValidateTopicPolicyOptions({.partitions = 0}).message(),
              HasSubstr("--partitions"));
  EXPECT_THAT(ValidateTopicPolicyOptions(
                  {.replication_factor = 2, .min_insync_replicas = 3})
                  .message(),
              HasSubstr("--min-insync-replicas 3 is more than"));
  EXPECT_THAT(
      ValidateTopicPolicyOptions({.events_topic = "voronka events"}).message(),
      HasSubstr("--topic \"voronka events\""));
  EXPECT_THAT(
      ValidateTopicPolicyOptions({.inbox_topic = "voronka.events"}).message(),
      HasSubstr("three different topics"));
}

TEST(TopicPolicyTest, HealthyEventsTopicPassesEverySetting) {
  std::vector<TopicFinding> f = CheckTopic(Events(), Healthy(12, 3, -1));
  EXPECT_THAT(Summary(f),
              ElementsAre("partitions ok", "replication.factor ok",
                          "retention.ms ok", "retention.bytes ok",
                          "cleanup.policy ok", "min.insync.replicas ok",
                          "unclean.leader.election.enable ok"));
  EXPECT_TRUE(TopicCheckStatus(f, false).ok());
  EXPECT_EQ(FormatFinding(f[2]),
            "voronka.events retention.ms = -1 (infinite) (required -1 "
            "(infinite)): ok");
}

TEST(TopicPolicyTest, FiniteRetentionOfEventsLosesHistory) {
  DescribedTopic d = Healthy(12, 3, 604800000);
  std::vector<TopicFinding> f = CheckTopic(Events(), d);
  EXPECT_EQ(f[2].level, FindingLevel::kLosesHistory);
  EXPECT_EQ(f[2].found, "604800000 (168h)");
  absl::Status s = TopicCheckStatus(f, false);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(),
              HasSubstr("voronka.events retention.ms: found 604800000 (168h), "
                        "required -1 (infinite) (the broker deletes events"));
}

TEST(TopicPolicyTest, RetentionBytesOfEventsLosesHistory) {
  DescribedTopic d = Healthy(12, 3, -1);
  (*d.config)["retention.bytes"].value = "1073741824";
  EXPECT_EQ(TopicCheckStatus(CheckTopic(Events(), d), false).code(),
            absl::StatusCode::kDataLoss);
}

TEST(TopicPolicyTest, CompactionLosesHistoryInEveryRole) {
  for (const TopicRequirements& t : RequiredTopics({})) {
    for (std::string policy :
         {"compact", "compact,delete", "delete, compact"}) {
      DescribedTopic d = Healthy(12, 3, -1);
      (*d.config)["cleanup.policy"].value = policy;
      std::vector<TopicFinding> f = CheckTopic(t, d);
      EXPECT_EQ(f[4].level, FindingLevel::kLosesHistory)
          << t.topic << " " << policy;
      EXPECT_THAT(f[4].why, HasSubstr("compaction keeps only the newest"));
    }
  }
}

TEST(TopicPolicyTest, UncleanLeaderElectionLosesHistory) {
  DescribedTopic d = Healthy(12, 3, -1);
  (*d.config)["unclean.leader.election.enable"].value = "true";
  EXPECT_EQ(TopicCheckStatus(CheckTopic(Events(), d), false).code(),
            absl::StatusCode::kDataLoss);
}

TEST(TopicPolicyTest, PartitionCountOfEventsMustMatchExactly) {
  for (int partitions : {4, 24}) {
    std::vector<TopicFinding> f =
        CheckTopic(Events(), Healthy(partitions, 3, -1));
    EXPECT_EQ(f[0].level, FindingLevel::kMismatch);
    EXPECT_THAT(f[0].why, HasSubstr("never changes"));
    absl::Status s = TopicCheckStatus(f, false);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(),
                HasSubstr("voronka.events partitions: found " +
                          std::to_string(partitions) + ", required 12"));
  }
}

TEST(TopicPolicyTest, PartitionCountOfInboxIsOnlyAdvice) {
  TopicRequirements inbox = RequiredTopics({})[1];
  std::vector<TopicFinding> f =
      CheckTopic(inbox, Healthy(4, 3, inbox.retention_ms));
  EXPECT_EQ(f[0].level, FindingLevel::kWarning);
  EXPECT_TRUE(TopicCheckStatus(f, false).ok());
}

TEST(TopicPolicyTest, TooFewReplicasIsAMismatch) {
  DescribedTopic d = Healthy(12, 3, -1);
  d.replicas[5] = 1;
  std::vector<TopicFinding> f = CheckTopic(Events(), d);
  EXPECT_EQ(f[1].found, "1 to 3 (uneven)");
  EXPECT_EQ(f[1].level, FindingLevel::kMismatch);
}

TEST(TopicPolicyTest, MinInsyncReplicas) {
  DescribedTopic d = Healthy(12, 3, -1);
  (*d.config)["min.insync.replicas"].value = "1";
  EXPECT_EQ(CheckTopic(Events(), d)[5].level, FindingLevel::kMismatch);
  (*d.config)["min.insync.replicas"].value = "3";
  EXPECT_EQ(CheckTopic(Events(), d)[5].level, FindingLevel::kWarning);
  (*d.config)["min.insync.replicas"].value = "4";
  EXPECT_THAT(CheckTopic(Events(), d)[5].why,
              HasSubstr("every append is refused"));
}

TEST(TopicPolicyTest, InboxRetentionMayBeFiniteButNotShorterThanAsked) {
  TopicRequirements inbox = RequiredTopics({})[1];
  EXPECT_TRUE(TopicCheckStatus(
                  CheckTopic(inbox, Healthy(12, 3, inbox.retention_ms)), false)
                  .ok());
  EXPECT_TRUE(
      TopicCheckStatus(CheckTopic(inbox, Healthy(12, 3, -1)), false).ok());
  std::vector<TopicFinding> f = CheckTopic(inbox, Healthy(12, 3, 3600000));
  EXPECT_EQ(f[2].level, FindingLevel::kMismatch);
  EXPECT_EQ(f[2].required, "-1 or >= 604800000 (168h)");
}

TEST(TopicPolicyTest, FiniteDeadLetterRetentionIsAWarning) {
  TopicRequirements dlq = RequiredTopics({})[2];
  std::vector<TopicFinding> f = CheckTopic(dlq, Healthy(12, 3, 604800000));
  EXPECT_EQ(f[2].level, FindingLevel::kWarning);
  EXPECT_TRUE(TopicCheckStatus(f, false).ok());
}

TEST(TopicPolicyTest, InheritedRetentionOfEventsIsAWarning) {
  DescribedTopic d = Healthy(12, 3, -1);
  (*d.config)["retention.ms"] = {
      .value = "-1", .source = "static broker config", .is_default = true};
  std::vector<TopicFinding> f = CheckTopic(Events(), d);
  EXPECT_EQ(f[2].level, FindingLevel::kWarning);
  EXPECT_EQ(f[2].found, "-1 (infinite) (static broker config)");
  EXPECT_THAT(f[2].why, HasSubstr("set it on the topic"));
}

TEST(TopicPolicyTest, MissingTopicIsOneNotFoundFinding) {
  std::vector<TopicFinding> f = CheckTopic(Events(), DescribedTopic{});
  EXPECT_THAT(Summary(f), ElementsAre("topic MISSING"));
  EXPECT_EQ(TopicCheckStatus(f, false).code(), absl::StatusCode::kNotFound);
}

TEST(TopicPolicyTest, UnreadableConfigIsUnverifiedNotVerified) {
  DescribedTopic d = Healthy(12, 3, -1);
  d.config.reset();
  d.config_error = "the broker does not support DescribeConfigs";
  std::vector<TopicFinding> f = CheckTopic(Events(), d);
  EXPECT_THAT(
      Summary(f),
      ElementsAre("partitions ok", "replication.factor ok",
                  "configuration UNVERIFIED", "retention.ms UNVERIFIED",
                  "retention.bytes UNVERIFIED", "cleanup.policy UNVERIFIED",
                  "min.insync.replicas UNVERIFIED",
                  "unclean.leader.election.enable UNVERIFIED"));
  absl::Status s = TopicCheckStatus(f, false);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("does not support DescribeConfigs"));
  EXPECT_THAT(s.message(), HasSubstr("unverified is not verified"));
  EXPECT_THAT(s.message(),
              HasSubstr("1 problem: could not verify voronka.events "
                        "retention.ms, voronka.events retention.bytes, "));
  EXPECT_TRUE(TopicCheckStatus(f, /*allow_unverified=*/true).ok());
}

TEST(TopicPolicyTest, WorstProblemDecidesTheCodeAndAllAreListed) {
  DescribedTopic d = Healthy(4, 1, 86400000);
  absl::Status s = TopicCheckStatus(CheckTopic(Events(), d), false);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("4 problems"));
  EXPECT_THAT(s.message(), HasSubstr("partitions"));
  EXPECT_THAT(s.message(), HasSubstr("replication.factor"));
  EXPECT_THAT(s.message(), HasSubstr("retention.ms"));
}

}  // namespace
}  // namespace voronka
