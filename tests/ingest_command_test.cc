// `voronka ingest` as a process on the dev broker (librdkafka's mock
// cluster, real Kafka protocol), fed as operators' systems feed it: kcat
// producing to the inbox, and `voronka simulate --url` over HTTP with a
// token. The process is killed (SIGKILL) mid-stream and restarted; every
// event must end up in the event log exactly once and every invalid record
// in the dead-letter topic with its reason.
#include <signal.h>

#include <fstream>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "events/cloudevents.h"
#include "events/kafka_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/log_contents.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::ChildProcess;
using testing::CopiesPerKey;
using ::testing::HasSubstr;
using testing::ReadToEnd;
using testing::RunCommand;

class IngestCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = DevBroker::Start(
        {.brokers = 1,
         .topics = {"voronka.events", "voronka.inbox", "voronka.inbox.dlq"},
         .partitions = 3});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto log = KafkaLog::Open({.brokers = broker_->bootstrap()});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  // kcat -P: one record per line of `lines`.
  void Produce(const std::vector<std::string>& lines) {
    std::string input;
    for (const std::string& l : lines) input += l + "\n";
    auto kcat = RunCommand(
        "kcat", {"-P", "-b", broker_->bootstrap(), "-t", "voronka.inbox"},
        input, absl::Seconds(60));
    ASSERT_TRUE(kcat.ok()) << kcat.status();
    ASSERT_EQ(kcat->exit_code, 0);
  }

  std::unique_ptr<ChildProcess> StartIngest(std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "ingest",      "--kafka",         broker_->bootstrap(),
        "--dedup-dir", dir_.Sub("dedup"), "--status-every",
        "0.2"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto child = ChildProcess::Start(VORONKA_BINARY, args);
    EXPECT_TRUE(child.ok()) << child.status();
    return child.ok() ? std::move(*child) : nullptr;
  }

  // Waits until the event log holds `distinct` different (source, id);
  // returns the copies per key.
  std::map<std::string, int> WaitForLog(size_t distinct) {
    std::map<std::string, int> copies;
    const absl::Time deadline = absl::Now() + absl::Seconds(90);
    while (absl::Now() < deadline) {
      auto records = ReadToEnd(*log_);
      EXPECT_TRUE(records.ok()) << records.status();
      if (!records.ok()) break;
      copies = CopiesPerKey(*records);
      if (copies.size() >= distinct) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    return copies;
  }

  testing::TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<KafkaLog> log_;
};

TEST_F(IngestCommandTest, KcatInboxAcrossAKillAppendsEachEventOnce) {
  Simulator sim(FunnelConfig::Default(), {.seed = 21});
  std::vector<std::string> lines;
  std::set<std::string> keys;
  for (const Event& e : sim.Next(600)) {
    lines.push_back(ToStructuredJson(e));
    keys.insert(e.source.value() + "/" + e.id.value());
  }
  ASSERT_GT(sim.stats().duplicates, 0);  // Retries are part of the stream.
  const std::vector<std::string> first(lines.begin(), lines.begin() + 300);
  Produce(first);
  Produce({R"({"specversion":"1.0","id":"x-1","source":"crm/web",)"
           R"("type":"deal.claimed","time":"2026-11-23T10:00:00Z",)"
           R"("data":{"org":"o1","deal":"d1","manager":"m1",)"
           R"("department":"marketing"}})",
           "this is not json"});

  auto ingest =
      StartIngest({"--no-http", "--listen", "127.0.0.1:0", "--from-topic",
                   "voronka.inbox", "-X", "session.timeout.ms=6000"});
  ASSERT_NE(ingest, nullptr);
  // Let it take part of the stream, then kill it without warning.
  Produce(std::vector<std::string>(lines.begin() + 300, lines.end()));
  for (int status_lines = 0; status_lines < 3;) {
    absl::StatusOr<std::string> line = ingest->ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    if (line->starts_with("http ")) ++status_lines;
  }
  ASSERT_TRUE(ingest->Signal(SIGKILL).ok());
  ASSERT_TRUE(ingest->Wait(absl::Seconds(10)).ok());

  // A sender that was not sure re-sends its first half, and ingest restarts.
  Produce(first);
  ingest = StartIngest({"--no-http", "--listen", "127.0.0.1:0", "--from-topic",
                        "voronka.inbox", "-X", "session.timeout.ms=6000"});
  ASSERT_NE(ingest, nullptr);
  std::map<std::string, int> copies = WaitForLog(keys.size());
  // Give a straggling second copy the chance to show up.
  absl::SleepFor(absl::Seconds(1));
  copies = WaitForLog(keys.size());
  EXPECT_EQ(copies.size(), keys.size());
  for (const auto& [key, n] : copies) {
    EXPECT_EQ(n, 1) << key;
    EXPECT_TRUE(keys.contains(key)) << key;
  }
  ASSERT_TRUE(ingest->Signal(SIGTERM).ok());
  auto code = ingest->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);

  // The two invalid records are in the dead-letter topic with the reason
  // (each may appear twice: a record dead-lettered just before the kill is
  // read again; the topic is at-least-once).
  auto dlq = RunCommand("kcat",
                        {"-C", "-b", broker_->bootstrap(), "-t",
                         "voronka.inbox.dlq", "-e", "-q", "-f", "%h\t%s\n"},
                        "", absl::Seconds(60));
  ASSERT_TRUE(dlq.ok());
  EXPECT_THAT(dlq->out,
              HasSubstr("voronka-error=event.data.department: \"marketing\""));
  EXPECT_THAT(dlq->out, HasSubstr("voronka-error=$: not valid JSON"));
  EXPECT_THAT(dlq->out, HasSubstr("voronka-origin=voronka.inbox/"));
  EXPECT_THAT(dlq->out, HasSubstr("\tthis is not json"));
}

TEST_F(IngestCommandTest, HttpWithATokenFromTheSimulator) {
  auto token = RunCommand(VORONKA_BINARY,
                          {"token", "add", "--file", dir_.Sub("tokens.yaml"),
                           "--name", "crm", "--roles", "ingest"},
                          "", absl::Seconds(30));
  ASSERT_TRUE(token.ok());
  ASSERT_EQ(token->exit_code, 0);
  std::string secret = token->out;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == ' ')) {
    secret.pop_back();
  }
  secret = secret.substr(secret.rfind('\n') + 1);
  std::ofstream(dir_.Sub("token")) << secret << "\n";

  auto ingest = StartIngest(
      {"--tokens", dir_.Sub("tokens.yaml"), "--listen", "127.0.0.1:0"});
  ASSERT_NE(ingest, nullptr);
  std::string url;
  while (url.empty()) {
    auto line = ingest->ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    const size_t at = line->find("POST http://");
    if (at != std::string::npos) url = line->substr(at + 5);
  }
  auto sim = RunCommand(
      VORONKA_BINARY,
      {"simulate", "--seed", "22", "--events", "800", "--batch", "100",
       "--connections", "2", "--url", url, "--token-file", dir_.Sub("token")},
      "", absl::Seconds(120));
  ASSERT_TRUE(sim.ok());
  EXPECT_EQ(sim->exit_code, 0);

  Simulator expected(FunnelConfig::Default(), {.seed = 22});
  std::set<std::string> keys;
  for (const Event& e : expected.Next(800)) {
    keys.insert(e.source.value() + "/" + e.id.value());
  }
  std::map<std::string, int> copies = WaitForLog(keys.size());
  EXPECT_EQ(copies.size(), keys.size());
  for (const auto& [key, n] : copies) EXPECT_EQ(n, 1) << key;

  ASSERT_TRUE(ingest->Signal(SIGTERM).ok());
  bool stopped = false;
  while (true) {
    absl::StatusOr<std::string> line = ingest->ReadLine(absl::Seconds(30));
    if (!line.ok()) break;
    if (absl::StrContains(*line, "voronka ingest: stopped")) stopped = true;
    // The token never appears in the output.
    EXPECT_THAT(*line, ::testing::Not(HasSubstr(secret)));
  }
  EXPECT_TRUE(stopped);
  auto code = ingest->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace voronka
