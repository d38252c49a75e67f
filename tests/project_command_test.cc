// `voronka project` as separate processes, as in production: a projector on
// a Kafka topic of the dev broker (itself a separate `voronka dev-broker`
// process) killed with SIGKILL mid-stream and restarted, a rebuild swapped in
// while a projector runs, and a store of another version rebuilt by itself.
// Every time the read model must equal a rebuild from position 0.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/generations.h"
#include "projections/indicator_projection.h"
#include "services/projector_runner.h"
#include "services/simulator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::ChildProcess;

std::vector<Event> Stream(uint64_t seed, size_t n) {
  Simulator sim(FunnelConfig::Default(), {.seed = seed,
                                          .organisations = 500,
                                          .late_fraction = 0.05,
                                          .duplicate_fraction = 0.03,
                                          .departure_rate = 5});
  return sim.Next(n);
}

// Reads "log N | NAME at M ... [gen-...]" lines until M == N == `want` (in
// generation `generation`, if given).
void WaitAt(ChildProcess& p, int64_t want, const std::string& generation = "") {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    auto line = p.ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    std::vector<std::string> words = absl::StrSplit(*line, ' ');
    if (words.size() > 5 && words[0] == "log" &&
        words[1] == std::to_string(want) && words[5] == std::to_string(want) &&
        line->find("[" + generation) != std::string::npos) {
      return;
    }
  }
  FAIL() << "projector did not reach " << want;
}

std::string DumpOfCurrent(testing::ProjectionHarness& h,
                          const std::string& dir) {
  auto current = Generations(dir).Current();
  EXPECT_TRUE(current.ok());
  auto store = ProjectionStore::Open({.path = *current});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? h.Dump(**store) : "";
}

class ProjectCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = ChildProcess::Start(
        VORONKA_BINARY, {"dev-broker", "--brokers", "1", "--partitions", "4"});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto line = broker_->ReadLine(absl::Seconds(10));
    ASSERT_TRUE(line.ok()) << line.status();
    bootstrap_ = line->substr(std::string("bootstrap=").size());
    auto log = KafkaLog::Open({.brokers = bootstrap_});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }

  std::unique_ptr<ChildProcess> Project(const std::string& name,
                                        const std::string& data) {
    auto p = ChildProcess::Start(
        VORONKA_BINARY,
        {"project", name, "--data", data, "--kafka", bootstrap_,
         "--status-every", "0.1", "--insecure-dev", "--listen", "127.0.0.1:0"});
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }

  testing::TempDir dir_;
  std::unique_ptr<ChildProcess> broker_;
  std::string bootstrap_;
  std::unique_ptr<KafkaLog> log_;
};

TEST_F(ProjectCommandTest, Kill9MidStreamThenResumeEqualsARebuild) {
  const std::string data = dir_.Sub("data");
  std::vector<Event> first = Stream(5, 20000);
  ASSERT_TRUE(log_->Append(first).ok());
  {
    auto p = Project("funnel", data);
    ASSERT_NE(p, nullptr);
    ASSERT_TRUE(p->ReadLine(absl::Seconds(30)).ok());  // Banner.
    ASSERT_TRUE(p->ReadLine(absl::Seconds(30)).ok());  // First status.
    ASSERT_TRUE(p->Signal(SIGKILL).ok());
    ASSERT_TRUE(p->Wait(absl::Seconds(10)).ok());
  }
  std::vector<Event> more = Stream(6, 3000);
  ASSERT_TRUE(log_->Append(more).ok());
  {
    auto p = Project("funnel", data);
    ASSERT_NE(p, nullptr);
    WaitAt(*p, 23000);
    ASSERT_TRUE(p->Signal(SIGTERM).ok());
    auto code = p->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0);
  }
  testing::ProjectionHarness rebuild(dir_.Sub("rebuild"), log_.get());
  rebuild.CatchUp();
  const std::string want = rebuild.Dump(rebuild.funnel());
  EXPECT_GT(want.size(), 1000u);
  EXPECT_TRUE(want == DumpOfCurrent(rebuild, data + "/funnel"))
      << "resumed funnel differs from a rebuild";
}

TEST_F(ProjectCommandTest, RebuildIsSwappedIntoARunningProjector) {
  const std::string data = dir_.Sub("data");
  ASSERT_TRUE(log_->Append(Stream(7, 5000)).ok());
  auto p = Project("indicators", data);
  ASSERT_NE(p, nullptr);
  WaitAt(*p, 5000);

  auto rebuild = testing::RunCommand(VORONKA_BINARY,
                                     {"project", "rebuild", "indicators",
                                      "--data", data, "--kafka", bootstrap_},
                                     "", absl::Seconds(120));
  ASSERT_TRUE(rebuild.ok()) << rebuild.status();
  ASSERT_EQ(rebuild->exit_code, 0) << rebuild->out;
  EXPECT_THAT(rebuild->out, ::testing::HasSubstr("gen-000002 is in service"));

  // The running projector swaps to the new store and keeps projecting.
  ASSERT_TRUE(log_->Append(Stream(8, 1000)).ok());
  WaitAt(*p, 6000, "gen-000002");
  ASSERT_TRUE(p->Signal(SIGTERM).ok());
  ASSERT_TRUE(p->Wait(absl::Seconds(30)).ok());
  EXPECT_EQ(*Generations(data + "/indicators").Current(),
            data + "/indicators/gen-000002");

  testing::ProjectionHarness fresh(dir_.Sub("fresh"), log_.get());
  fresh.CatchUp();
  EXPECT_TRUE(fresh.Dump(fresh.indicators()) ==
              DumpOfCurrent(fresh, data + "/indicators"));
}

// Waits until `runner` serves `generation`, caught up with `records`.
void WaitServing(ProjectorRunner& runner, const std::string& generation,
                 int64_t records) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    ProjectorStatus s = runner.status();
    int64_t at = 0;
    for (int64_t x : s.positions) at += x;
    if (!s.rebuilding && at == records && s.generation == generation) return;
    absl::SleepFor(absl::Milliseconds(20));
  }
  FAIL() << "runner did not serve " << generation << " at " << records
         << "; it is at " << runner.status().generation << ", error "
         << runner.status().last_error;
}

// A store written by another version of the logic is rebuilt, not reused.
TEST_F(ProjectCommandTest, StoreOfAnotherVersionIsRebuiltByItself) {
  const std::string dir = dir_.Sub("indicators");
  {
    auto gen = Generations(dir).Current();
    ASSERT_TRUE(gen.ok());
    auto old = ProjectionStore::Open({.path = *gen});
    ASSERT_TRUE(old.ok());
    ASSERT_TRUE((*old)->SetVersion("indicators/0/older-logic").ok());
    Changes junk;
    junk.entries["junk"] = "from the old logic";
    ASSERT_TRUE((*old)->Commit(junk, {0, 0, 0, 0}).ok());
  }
  ASSERT_TRUE(log_->Append(Stream(9, 2000)).ok());
  IndicatorProjection projection(FunnelConfig::Default());
  {
    ProjectorRunner runner(*log_, projection, dir);
    WaitServing(runner, dir + "/gen-000002", 2000);
  }
  auto store = ProjectionStore::Open({.path = dir + "/gen-000002"});
  ASSERT_TRUE(store.ok());
  EXPECT_EQ(*(*store)->Version(), projection.version());
  EXPECT_FALSE((*(*store)->Get("junk")).has_value());
}

// A new configuration (here: another time zone for the indicator days)
// changes what the store would hold, so the store is rebuilt under it.
TEST_F(ProjectCommandTest, ConfigurationChangeRebuildsTheStore) {
  const std::string dir = dir_.Sub("indicators");
  ASSERT_TRUE(log_->Append(Stream(10, 1500)).ok());
  {
    IndicatorProjection projection(FunnelConfig::Default());
    ProjectorRunner runner(*log_, projection, dir);
    WaitServing(runner, dir + "/gen-000001", 1500);
  }
  std::string yaml(FunnelConfig::DefaultYaml());
  const size_t tz = yaml.find("timezone: UTC");
  ASSERT_NE(tz, std::string::npos);
  yaml.replace(tz, 13, "timezone: Asia/Vladivostok");
  auto moved = FunnelConfig::Parse(yaml, "moved.yaml");
  ASSERT_TRUE(moved.ok()) << moved.status();
  IndicatorProjection projection(*moved);
  EXPECT_NE(projection.version(),
            IndicatorProjection(FunnelConfig::Default()).version());
  ProjectorRunner runner(*log_, projection, dir);
  WaitServing(runner, dir + "/gen-000002", 1500);
}

// A projector that meets an undecodable record reports it and retries from
// its last commit; it neither skips the record nor wedges on its own store.
TEST_F(ProjectCommandTest, RunnerReportsACorruptRecordAndKeepsTrying) {
  testing::TempDir dir;
  auto embedded = EmbeddedLog::Open({.path = dir.Sub("log")});
  ASSERT_TRUE(embedded.ok());
  ASSERT_TRUE((*embedded)->Append(Stream(11, 100)).ok());
  ASSERT_TRUE((*embedded)->AppendRaw({{std::string("\x01junk")}}).ok());
  IndicatorProjection projection(FunnelConfig::Default());
  ProjectorRunner runner(**embedded, projection, dir.Sub("indicators"));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  ProjectorStatus s;
  while (absl::Now() < deadline) {
    s = runner.status();
    if (!s.last_error.ok()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(s.last_error.code(), absl::StatusCode::kDataLoss) << s.last_error;
  EXPECT_THAT(std::string(s.last_error.message()),
              ::testing::HasSubstr("offset 100"));
  // A second round fails the same way (not with a store lock error).
  absl::SleepFor(absl::Milliseconds(1500));
  EXPECT_EQ(runner.status().last_error.code(), absl::StatusCode::kDataLoss)
      << runner.status().last_error;
  int64_t at = 0;
  for (int64_t x : runner.status().positions) at += x;
  EXPECT_EQ(at, 100);
}

}  // namespace
}  // namespace voronka
