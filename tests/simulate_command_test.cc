// `voronka simulate` with its network targets, the real binary against
// real servers: --url against an in-process ingest stand-in (FakeIngest,
// which decodes every body with CloudEventsDecoder::DecodeBatch), and
// --inbox against the in-process mock Kafka cluster, read back with kcat.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/cloudevents.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/fake_ingest.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using voronka::testing::CommandResult;
using voronka::testing::FakeIngest;
using voronka::testing::RunCommand;
using voronka::testing::TempDir;

constexpr absl::Duration kRunTimeout = absl::Seconds(120);

std::vector<Event> Generate(uint64_t seed, size_t n) {
  Simulator simulator(FunnelConfig::Default(), {.seed = seed});
  return simulator.Next(n);
}

// The events once each (a repeated copy is identical), first copy's order.
std::vector<Event> WithoutRepeats(const std::vector<Event>& events) {
  std::set<std::pair<std::string, std::string>> seen;
  std::vector<Event> out;
  for (const Event& e : events) {
    if (seen.emplace(e.source.value(), e.id.value()).second) out.push_back(e);
  }
  return out;
}

void SortBySourceAndId(std::vector<Event>& events) {
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.source.value(), a.id.value()) <
           std::tie(b.source.value(), b.id.value());
  });
}

class SimulateUrlTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ingest_.Start().ok()); }
  FakeIngest ingest_;
};

TEST_F(SimulateUrlTest, PostsTheSeededEventsInOrderOverOneConnection) {
  ingest_.FailNext(2, 503, /*retry_after_s=*/0);
  absl::StatusOr<CommandResult> run =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--url", ingest_.url(), "--events", "700",
                  "--batch", "100", "--seed", "5"},
                 "", kRunTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0);

  const std::vector<Event> sent = Generate(5, 700);
  const std::vector<Event> once = WithoutRepeats(sent);
  // One connection: batches arrive in order, each decodes, and ingest
  // stored exactly the simulator's events; repeats came back as duplicates.
  EXPECT_EQ(ingest_.appended(), once);
  EXPECT_EQ(ingest_.duplicates(),
            static_cast<int64_t>(sent.size() - once.size()));
  EXPECT_EQ(ingest_.requests(), 7 + 2);  // 2 answered 503, then retried.
  EXPECT_THAT(ingest_.peers(), SizeIs(1));
  for (const std::string& type : ingest_.content_types()) {
    EXPECT_EQ(type, "application/cloudevents-batch+json");
  }
}

TEST_F(SimulateUrlTest, SendsEveryEventOverSeveralConnections) {
  ingest_.FailNext(3, 429, /*retry_after_s=*/0);
  absl::StatusOr<CommandResult> run =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--url", ingest_.url(), "--events", "2000",
                  "--batch", "50", "--seed", "8", "--connections", "4"},
                 "", kRunTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0);

  std::vector<Event> want = WithoutRepeats(Generate(8, 2000));
  std::vector<Event> got = ingest_.appended();
  ASSERT_THAT(got, SizeIs(want.size()));
  SortBySourceAndId(want);
  SortBySourceAndId(got);
  EXPECT_EQ(got, want);
  EXPECT_EQ(ingest_.requests(), 40 + 3);
  EXPECT_GE(ingest_.peers().size(), 2u);
  EXPECT_LE(ingest_.peers().size(), 4u);
}

TEST_F(SimulateUrlTest, SendsTheBearerTokenFromAFile) {
  ingest_.RequireToken("tok-123");
  TempDir dir;
  const std::string token_file = dir.Sub("token");
  std::ofstream(token_file) << "tok-123\n";
  absl::StatusOr<CommandResult> run =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--url", ingest_.url(), "--events", "10",
                  "--token-file", token_file},
                 "", kRunTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0);
  EXPECT_THAT(ingest_.appended(), Not(SizeIs(0)));
}

TEST_F(SimulateUrlTest, APermanentRejectionFailsTheRunWithoutRetries) {
  ingest_.RequireToken("tok-123");
  absl::StatusOr<CommandResult> run =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--url", ingest_.url(), "--events", "1000",
                  "--batch", "100"},
                 "", kRunTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0);
  EXPECT_THAT(ingest_.appended(), SizeIs(0));
  EXPECT_LE(ingest_.requests(), 3);  // The queue is dropped on the error.
}

TEST(SimulateUrlErrorsTest, HttpsAndAnUnreachableServerFail) {
  absl::StatusOr<CommandResult> https = RunCommand(
      VORONKA_BINARY,
      {"simulate", "--url", "https://127.0.0.1:1/v1/events", "--events", "1"},
      "", kRunTimeout);
  ASSERT_TRUE(https.ok()) << https.status();
  EXPECT_EQ(https->exit_code, 2);  // InvalidArgument.

  absl::StatusOr<CommandResult> two_targets = RunCommand(
      VORONKA_BINARY,
      {"simulate", "--url", "http://127.0.0.1:1/v1/events", "--out", "-"}, "",
      kRunTimeout);
  ASSERT_TRUE(two_targets.ok()) << two_targets.status();
  EXPECT_NE(two_targets->exit_code, 0);
}

std::map<std::string, std::string> ParseKcatHeaders(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view pair : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    size_t eq = pair.find('=');
    if (eq == absl::string_view::npos) continue;
    out[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
  }
  return out;
}

TEST(SimulateInboxTest, ProducesStructuredCloudEventsRecordsAsKcatWould) {
  absl::StatusOr<std::unique_ptr<DevBroker>> broker =
      DevBroker::Start({.brokers = 1, .topics = {}, .partitions = 1});
  ASSERT_TRUE(broker.ok()) << broker.status();
  const std::string bootstrap = (*broker)->bootstrap();

  // Without --partitions the inbox topic must exist.
  absl::StatusOr<CommandResult> missing =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--inbox", bootstrap, "--inbox-topic",
                  "sim.inbox", "--events", "10"},
                 "", kRunTimeout);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_NE(missing->exit_code, 0);

  // librdkafka's mock cluster does not implement CreateTopics, so the test
  // creates the topic (--partitions is KafkaLog's, as for --kafka).
  ASSERT_TRUE((*broker)->CreateTopic("sim.inbox", 3, 1).ok());
  absl::StatusOr<CommandResult> run = RunCommand(
      VORONKA_BINARY,
      {"simulate", "--inbox", bootstrap, "--inbox-topic", "sim.inbox",
       "--events", "300", "--batch", "64", "--seed", "4"},
      "", kRunTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0);

  absl::StatusOr<CommandResult> kcat =
      RunCommand("kcat",
                 {"-C", "-q", "-e", "-b", bootstrap, "-t", "sim.inbox", "-f",
                  "%p|%k|%h|%s\n"},
                 "", kRunTimeout);
  ASSERT_TRUE(kcat.ok()) << kcat.status();
  ASSERT_EQ(kcat->exit_code, 0);

  const std::vector<Event> sent = Generate(4, 300);
  std::multiset<std::pair<std::string, std::string>> want;
  for (const Event& e : sent) {
    want.emplace(std::string(e.key()), ToStructuredJson(e));
  }
  std::multiset<std::pair<std::string, std::string>> got;
  std::set<std::string> partitions;
  CloudEventsDecoder decoder(FunnelConfig::Default());
  for (absl::string_view line :
       absl::StrSplit(kcat->out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields =
        absl::StrSplit(line, absl::MaxSplits('|', 3));
    ASSERT_THAT(fields, SizeIs(4)) << line;
    partitions.insert(fields[0]);
    EXPECT_EQ(ParseKcatHeaders(fields[2]),
              (std::map<std::string, std::string>{
                  {"content-type", "application/cloudevents+json"}}));
    DecodeResult decoded = decoder.DecodeStructured(fields[3]);
    ASSERT_TRUE(decoded.ok()) << decoded.errors[0].ToString();
    EXPECT_EQ(std::string(decoded.events[0].key()), fields[1]);
    EXPECT_FALSE(decoded.events[0].recorded_time.is_set());
    got.emplace(fields[1], fields[3]);
  }
  EXPECT_EQ(got, want);
  EXPECT_GE(partitions.size(), 2u);  // Keys spread over the 3 partitions.
}

}  // namespace
}  // namespace voronka
