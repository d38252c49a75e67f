// `voronka topics create|check` and CheckEventTopicKeepsHistory end to end
// over the real Kafka protocol, against a broker that implements
// CreateTopics and DescribeConfigs (testing/fake_kafka_broker.h): topics
// are created with the settings an event store needs, checked as verified,
// never altered when they exist, and every setting that could delete
// history is refused with exit code 4.
#include <string>
#include <vector>

#include "events/kafka_topics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_kafka_broker.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using testing::CommandResult;
using testing::FakeKafkaBroker;
using ::testing::HasSubstr;
using ::testing::Not;

// `voronka args...` with stderr in the output; `env` ("NAME=value ")
// goes before it.
CommandResult Voronka(const std::vector<std::string>& args,
                      const std::string& env = "") {
  return testing::RunWithStderr(VORONKA_BINARY, args, env);
}

std::unique_ptr<FakeKafkaBroker> StartBroker(int brokers) {
  auto broker = FakeKafkaBroker::Start(brokers);
  EXPECT_TRUE(broker.ok()) << broker.status();
  return broker.ok() ? std::move(*broker) : nullptr;
}

// A topic as an event store needs it, set on the topic.
FakeKafkaBroker::Topic Keeping(int partitions) {
  return {.partitions = partitions,
          .replication_factor = 3,
          .config = {{"cleanup.policy", "delete"},
                     {"retention.ms", "-1"},
                     {"retention.bytes", "-1"},
                     {"min.insync.replicas", "2"},
                     {"unclean.leader.election.enable", "false"}}};
}

TEST(TopicsProtocolTest, CreateMakesAllThreeTopicsThenVerifiesThem) {
  auto broker = StartBroker(3);
  CommandResult r = Voronka(
      {"topics", "create", "--kafka", broker->bootstrap(), "--timeout", "5s"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events (events topic): created, 12 "
                               "partitions, replication factor 3"));
  EXPECT_THAT(r.out, HasSubstr("voronka.events retention.ms = -1 (infinite) "
                               "(required -1 (infinite)): ok"));
  EXPECT_THAT(r.out,
              HasSubstr("voronka.events cleanup.policy = delete (required "
                        "delete): ok"));
  EXPECT_THAT(r.out,
              HasSubstr("ok: 3 topics keep history on " + broker->bootstrap() +
                        " (21 settings checked, 0 warnings)"));
  EXPECT_THAT(r.out, Not(HasSubstr("UNVERIFIED")));

  std::optional<FakeKafkaBroker::Topic> events =
      broker->topic("voronka.events");
  ASSERT_TRUE(events.has_value());
  EXPECT_EQ(events->partitions, 12);
  EXPECT_EQ(events->replication_factor, 3);
  EXPECT_EQ(events->config, (std::map<std::string, std::string>{
                                {"cleanup.policy", "delete"},
                                {"retention.ms", "-1"},
                                {"retention.bytes", "-1"},
                                {"min.insync.replicas", "2"},
                                {"unclean.leader.election.enable", "false"}}));
  EXPECT_EQ(broker->topic("voronka.inbox")->config.at("retention.ms"),
            "604800000");
  EXPECT_EQ(broker->topic("voronka.inbox.dlq")->config.at("retention.ms"),
            "-1");

  // A second create creates nothing and passes.
  const int creates = broker->create_requests();
  r = Voronka({"topics", "create", "--kafka", broker->bootstrap()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(broker->create_requests(), creates);
  EXPECT_THAT(r.out, HasSubstr("exists, checking (never altered)"));
}

TEST(TopicsProtocolTest, CreateHonoursTheFlags) {
  auto broker = StartBroker(2);
  CommandResult r =
      Voronka({"topics", "create", "--kafka", broker->bootstrap(), "--topic",
               "ev", "--no-inbox", "--partitions", "6", "--replication-factor",
               "2", "--min-insync-replicas", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(broker->topic("ev")->partitions, 6);
  EXPECT_EQ(broker->topic("ev")->config.at("min.insync.replicas"), "1");
  EXPECT_FALSE(broker->topic("voronka.inbox").has_value());
}

TEST(TopicsProtocolTest, ReplicationAboveTheBrokerCountIsRefused) {
  auto broker = StartBroker(1);
  CommandResult r = Voronka(
      {"topics", "create", "--kafka", broker->bootstrap(), "--no-inbox"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("cannot create topic voronka.events with "
                               "replication factor 3: the cluster on " +
                               broker->bootstrap() + " lists 1 broker"));
  EXPECT_EQ(broker->create_requests(), 0);
}

TEST(TopicsProtocolTest, CompactedEventsTopicLosesHistoryAndIsNotAltered) {
  auto broker = StartBroker(3);
  FakeKafkaBroker::Topic compacted = Keeping(12);
  compacted.config["cleanup.policy"] = "compact,delete";
  broker->AddTopic("voronka.events", compacted);
  CommandResult r = Voronka(
      {"topics", "create", "--kafka", broker->bootstrap(), "--no-inbox"});
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events cleanup.policy = "
                               "compact,delete (required delete): LOSES "
                               "HISTORY"));
  EXPECT_THAT(r.out, HasSubstr("(DATA_LOSS)"));
  EXPECT_EQ(broker->topic("voronka.events")->config.at("cleanup.policy"),
            "compact,delete");
}

TEST(TopicsProtocolTest, CreateNeverAddsPartitionsToAnExistingTopic) {
  auto broker = StartBroker(3);
  broker->AddTopic("voronka.events", Keeping(4));
  CommandResult r = Voronka({"topics", "create", "--kafka", broker->bootstrap(),
                             "--no-inbox", "--partitions", "12"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events partitions = 4 (required 12): "
                               "MISMATCH"));
  EXPECT_EQ(broker->topic("voronka.events")->partitions, 4);
  EXPECT_EQ(broker->create_requests(), 0);
}

TEST(TopicsProtocolTest, BrokerDefaultRetentionLosesHistory) {
  auto broker = StartBroker(3);
  FakeKafkaBroker::Topic t = Keeping(12);
  t.config.erase("retention.ms");  // Kafka's default: 7 days.
  broker->AddTopic("voronka.events", t);
  CommandResult r = Voronka(
      {"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox"});
  EXPECT_EQ(r.exit_code, 4) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events retention.ms = 604800000 "
                               "(168h) (default) (required -1 (infinite)): "
                               "LOSES HISTORY"));
}

TEST(TopicsProtocolTest, InheritedInfiniteRetentionIsAWarning) {
  auto broker = StartBroker(3);
  broker->SetBrokerConfig("retention.ms", "-1");
  FakeKafkaBroker::Topic t = Keeping(12);
  t.config.erase("retention.ms");
  broker->AddTopic("voronka.events", t);
  CommandResult r = Voronka(
      {"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("retention.ms = -1 (infinite) (static broker "
                               "config) (required -1 (infinite)): WARNING"));
  EXPECT_THAT(r.out, HasSubstr("1 warning)"));
}

TEST(TopicsProtocolTest, DeniedDescribeConfigsIsUnverified) {
  auto broker = StartBroker(3);
  broker->AddTopic("voronka.events", Keeping(12));
  broker->DenyDescribeConfigs();
  CommandResult r = Voronka(
      {"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_THAT(r.out, HasSubstr("could not verify 5 settings"));
}

TEST(EventTopicKeepsHistoryTest, VerifiedOnAKeepingTopic) {
  auto broker = StartBroker(3);
  broker->AddTopic("voronka.events", Keeping(12));
  absl::StatusOr<HistoryVerification> v = CheckEventTopicKeepsHistory(
      {.brokers = broker->bootstrap()}, "voronka.events");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(v->verified);
  EXPECT_THAT(v->message, HasSubstr("keeps history"));
}

TEST(EventTopicKeepsHistoryTest, DataLossNamesEveryDanger) {
  auto broker = StartBroker(3);
  FakeKafkaBroker::Topic t = Keeping(4);
  t.replication_factor = 1;  // Not this check's business.
  t.config["retention.bytes"] = "1073741824";
  t.config["unclean.leader.election.enable"] = "true";
  broker->AddTopic("voronka.events", t);
  absl::StatusOr<HistoryVerification> v = CheckEventTopicKeepsHistory(
      {.brokers = broker->bootstrap()}, "voronka.events");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss) << v.status();
  EXPECT_THAT(v.status().message(),
              HasSubstr("Kafka topic voronka.events on " + broker->bootstrap() +
                        " could delete history: 2 "
                        "problems"));
  EXPECT_THAT(v.status().message(), HasSubstr("retention.bytes"));
  EXPECT_THAT(v.status().message(),
              HasSubstr("unclean.leader.election.enable"));
  EXPECT_THAT(v.status().message(), Not(HasSubstr("replication")));
}

// The services themselves refuse a topic that could delete history, before
// they append or project anything (services/log_flags.h).
TEST(EventTopicKeepsHistoryTest, ServicesRefuseATopicThatDeletesHistory) {
  auto broker = StartBroker(3);
  FakeKafkaBroker::Topic t = Keeping(4);
  t.config["cleanup.policy"] = "compact";
  broker->AddTopic("voronka.events", t);
  testing::TempDir dir;
  for (const std::vector<std::string>& service :
       std::vector<std::vector<std::string>>{
           {"ingest", "--insecure-dev", "--listen", "127.0.0.1:0",
            "--dedup-dir", dir.Sub("dedup")},
           {"project", "funnel", "--data", dir.Sub("p"), "--insecure-dev",
            "--listen", "127.0.0.1:0"},
           {"project", "rebuild", "funnel", "--data", dir.Sub("p")},
           {"serve", "--data", dir.Sub("s"), "--insecure-dev", "--listen",
            "127.0.0.1:0"}}) {
    std::vector<std::string> args = service;
    args.insert(args.end(), {"--kafka", broker->bootstrap()});
    CommandResult r = Voronka(args);
    EXPECT_EQ(r.exit_code, 4) << service[0] << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr("refusing to run on Kafka topic "
                                 "voronka.events"))
        << service[0];
    EXPECT_THAT(r.out, HasSubstr("cleanup.policy")) << service[0];
  }
}

}  // namespace
}  // namespace voronka
