// `voronka topics create|check` end to end against the dev broker
// (librdkafka's mock cluster), and CheckEventTopicKeepsHistory, the check a
// service runs at startup.
//
// The mock cluster answers Metadata (partitions, replicas) but implements
// neither DescribeConfigs nor CreateTopics, so these tests pin down what an
// operator sees then: partitions and replication are verified, retention
// and cleanup policy are reported UNVERIFIED and the check fails unless
// --allow-unverified, and `create` says the broker cannot create topics and
// how to create them instead.
#include <string>
#include <vector>

#include "events/kafka_topics.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"
#include "tests/testing/child_process.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using ::testing::Not;

// `voronka args...` with stderr in the output; `env` ("NAME=value ")
// goes before it.
CommandResult Voronka(const std::vector<std::string>& args,
                      const std::string& env = "") {
  return testing::RunWithStderr(VORONKA_BINARY, args, env);
}

std::unique_ptr<DevBroker> StartBroker(int brokers, int partitions,
                                       std::vector<std::string> topics) {
  auto broker = DevBroker::Start({.brokers = brokers,
                                  .topics = std::move(topics),
                                  .partitions = partitions});
  EXPECT_TRUE(broker.ok()) << broker.status();
  return broker.ok() ? std::move(*broker) : nullptr;
}

TEST(TopicsCommandTest, CheckVerifiesLayoutAndRefusesUnverifiedRetention) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  CommandResult r = Voronka({"topics", "check", "--kafka", broker->bootstrap(),
                             "--no-inbox", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out,
              HasSubstr("voronka.events partitions = 12 (required 12): ok"));
  EXPECT_THAT(r.out, HasSubstr("voronka.events replication.factor = 3 "
                               "(required >= 3): ok"));
  EXPECT_THAT(r.out, HasSubstr("voronka.events retention.ms = unknown "
                               "(required -1 (infinite)): UNVERIFIED"));
  EXPECT_THAT(r.out, HasSubstr("DescribeConfigs (KIP-133) not supported"));
  EXPECT_THAT(r.out, HasSubstr("could not verify 5 settings (retention, "
                               "cleanup policy)"));
  EXPECT_THAT(r.out, HasSubstr("unverified is not verified"));
  EXPECT_THAT(r.out, HasSubstr("(FAILED_PRECONDITION)"));
}

TEST(TopicsCommandTest, AllowUnverifiedPassesAndSaysSo) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  CommandResult r =
      Voronka({"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox",
               "--allow-unverified", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out,
              HasSubstr("ok: 1 topic keeps history on " + broker->bootstrap()));
  EXPECT_THAT(r.out, HasSubstr("5 NOT verified, allowed by "
                               "--allow-unverified"));
}

TEST(TopicsCommandTest, PartitionCountMismatchIsRefused) {
  auto broker = StartBroker(3, 4, {"voronka.events"});
  CommandResult r =
      Voronka({"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox",
               "--allow-unverified", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events partitions = 4 (required 12): "
                               "MISMATCH — an event store's partition count "
                               "never changes"));
  EXPECT_THAT(r.out, HasSubstr("(INVALID_ARGUMENT)"));

  // Asking for the topic's real count passes.
  r = Voronka({"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox",
               "--allow-unverified", "--partitions", "4", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(TopicsCommandTest, TooFewReplicasIsRefused) {
  auto broker = StartBroker(1, 12, {"voronka.events"});
  CommandResult r =
      Voronka({"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox",
               "--allow-unverified", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events replication.factor = 1 "
                               "(required >= 3): MISMATCH"));
}

TEST(TopicsCommandTest, MissingTopicsAreListed) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  CommandResult r = Voronka({"topics", "check", "--kafka", broker->bootstrap(),
                             "--allow-unverified", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.inbox topic = missing (required "
                               "present): MISSING"));
  EXPECT_THAT(r.out, HasSubstr("voronka.inbox.dlq topic = missing"));
  EXPECT_THAT(r.out, HasSubstr("(NOT_FOUND)"));
}

TEST(TopicsCommandTest, CreateSaysTheBrokerCannotCreateAndHowElse) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  CommandResult r = Voronka(
      {"topics", "create", "--kafka", broker->bootstrap(), "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("CreateTopics of topic voronka.inbox"));
  EXPECT_THAT(r.out, HasSubstr("not supported by broker"));
  EXPECT_THAT(
      r.out,
      HasSubstr("kafka-topics.sh --bootstrap-server " + broker->bootstrap() +
                " --create --topic voronka.inbox --partitions 12 "
                "--replication-factor 3 --config cleanup.policy=delete "
                "--config retention.ms=604800000"));
  EXPECT_THAT(r.out, HasSubstr("(UNIMPLEMENTED)"));
}

TEST(TopicsCommandTest, CreateLeavesExistingTopicsAloneAndChecksThem) {
  auto broker = StartBroker(
      3, 12, {"voronka.events", "voronka.inbox", "voronka.inbox.dlq"});
  CommandResult r = Voronka({"topics", "create", "--kafka", broker->bootstrap(),
                             "--allow-unverified", "--timeout", "5s"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("voronka.events (events topic): exists, "
                               "checking (never altered)"));
  EXPECT_THAT(r.out, HasSubstr("voronka.inbox.dlq (dead letter topic): "
                               "exists"));
  EXPECT_THAT(r.out, HasSubstr("ok: 3 topics"));
}

TEST(TopicsCommandTest, NoBrokerIsUnavailableNamingWhatWasSeen) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  const std::string bootstrap = broker->bootstrap();
  broker.reset();  // Nothing listens there any more.
  CommandResult r = Voronka({"topics", "check", "--kafka", bootstrap,
                             "--no-inbox", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Kafka metadata on " + bootstrap));
  EXPECT_THAT(r.out, HasSubstr("Connection refused"));
  EXPECT_THAT(r.out, HasSubstr("(UNAVAILABLE)"));
}

TEST(TopicsCommandTest, ClientConfigPassesThrough) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  // A setting librdkafka does not know is refused by name.
  CommandResult r = Voronka({"topics", "check", "--kafka", broker->bootstrap(),
                             "--no-inbox", "-X", "no.such.setting=1"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Kafka client config \"no.such.setting\""));

  // TLS against the plaintext mock: the handshake fails, and says so.
  r = Voronka({"topics", "check", "--kafka", broker->bootstrap(), "--no-inbox",
               "-X", "security.protocol=ssl", "--timeout", "2s"});
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_THAT(r.out, HasSubstr("SSL"));

  // A malformed entry is refused without being repeated (it may hold a
  // password).
  r = Voronka({"topics", "check", "--kafka", broker->bootstrap(), "-X",
               "sasl.password:s3cret"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("expected key=value"));
  EXPECT_THAT(r.out, Not(HasSubstr("s3cret")));
}

TEST(TopicsCommandTest, SettingsComeFromTheEnvironmentToo) {
  auto broker = StartBroker(3, 12, {"voronka.events"});
  CommandResult r = Voronka(
      {"topics", "check", "--allow-unverified"},
      "VORONKA_KAFKA=" + broker->bootstrap() + " VORONKA_NO_INBOX=true ");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("ok: 1 topic keeps history"));

  // Kafka client settings (secrets) from VORONKA_LIBRDKAFKA_*.
  r = Voronka({"topics", "check", "--timeout", "2s"},
              "VORONKA_KAFKA=" + broker->bootstrap() +
                  " VORONKA_NO_INBOX=true "
                  "VORONKA_LIBRDKAFKA_SECURITY_PROTOCOL=ssl ");
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_THAT(r.out, HasSubstr("SSL"));
}

TEST(TopicsCommandTest, BadFlagsAreRefusedBeforeAnyBroker) {
  CommandResult r =
      Voronka({"topics", "check", "--kafka", "127.0.0.1:1",
               "--replication-factor", "2", "--min-insync-replicas", "3"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("--min-insync-replicas 3 is more than "
                               "--replication-factor 2"));
  r = Voronka({"topics", "check", "--kafka", "127.0.0.1:1", "--topic", "a b"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, Not(HasSubstr("metadata")));
}

TEST(EventTopicKeepsHistoryTest, UnverifiableOnABrokerWithoutDescribeConfigs) {
  auto broker = StartBroker(3, 4, {"voronka.events"});
  absl::StatusOr<HistoryVerification> v = CheckEventTopicKeepsHistory(
      {.brokers = broker->bootstrap(), .timeout = absl::Seconds(5)},
      "voronka.events");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_FALSE(v->verified);
  EXPECT_THAT(v->message,
              HasSubstr("could not verify that Kafka topic voronka.events "
                        "keeps history"));
  EXPECT_THAT(v->message, HasSubstr("DescribeConfigs"));
}

TEST(EventTopicKeepsHistoryTest, MissingTopicIsNotFound) {
  auto broker = StartBroker(3, 4, {"voronka.events"});
  absl::StatusOr<HistoryVerification> v = CheckEventTopicKeepsHistory(
      {.brokers = broker->bootstrap(), .timeout = absl::Seconds(5)},
      "voronka.other");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kNotFound) << v.status();
}

TEST(EventTopicKeepsHistoryTest, BrokersDownIsUnavailable) {
  auto broker = StartBroker(3, 4, {"voronka.events"});
  ASSERT_TRUE(broker->SetAllDown().ok());
  absl::StatusOr<HistoryVerification> v = CheckEventTopicKeepsHistory(
      {.brokers = broker->bootstrap(), .timeout = absl::Seconds(2)},
      "voronka.events");
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable) << v.status();
}

}  // namespace
}  // namespace voronka
