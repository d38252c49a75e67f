// `voronka serve` as a process: the demo runs and reads its models back, and
// a serve killed with SIGKILL mid-stream resumes to read models
// byte-identical to a rebuild from the same log (exactly once, for real).
#include <signal.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/generations.h"
#include "services/simulator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::ChildProcess;
using ::testing::HasSubstr;

TEST(ServeTest, DemoStreamsAndReadsTheModelsBack) {
  testing::TempDir dir;
  auto result = testing::RunCommand(
      VORONKA_BINARY,
      {"serve", "--data", dir.Sub("data"), "--demo", "--demo-events", "3000",
       "--rate", "50000", "--status-every", "0.2", "--insecure-dev", "--listen",
       "127.0.0.1:0"},
      "", absl::Seconds(120));
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->out;
  // The demo POSTs to ingest, which appends the simulator's deliberate
  // duplicates (same source and id) once.
  Simulator sim(FunnelConfig::Default(), {.seed = 1, .organisations = 5000});
  sim.Next(3000);
  ASSERT_GT(sim.stats().duplicates, 0);
  EXPECT_THAT(result->out,
              HasSubstr(fmt::format("log {} events | ingest ",
                                    3000 - sim.stats().duplicates)));
  EXPECT_THAT(result->out,
              HasSubstr(fmt::format("3000 events ({} dup, 0 rejected)",
                                    sim.stats().duplicates)));
  EXPECT_THAT(result->out, HasSubstr("Read back from the read models"));
  EXPECT_THAT(result->out, HasSubstr("acquisition/new"));
}

// Reads status lines until the log and both projectors agree on one offset.
void WaitUntilCaughtUp(ChildProcess& serve) {
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  while (absl::Now() < deadline) {
    auto line = serve.ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    // "log N events | indicators at N (dup d) | funnel at N (dup d)"
    std::vector<std::string> parts = absl::StrSplit(*line, " | ");
    if (parts.size() < 3 || parts[0].rfind("log ", 0) != 0) continue;
    const std::string end =
        std::vector<std::string>(absl::StrSplit(parts[0], ' '))[1];
    bool caught_up = std::stoll(end) > 0;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::vector<std::string> words = absl::StrSplit(parts[i], ' ');
      if (words.size() < 3 || words[1] != "at") continue;  // Not a projector.
      if (words[2] != end) caught_up = false;
    }
    if (caught_up) return;
  }
  FAIL() << "serve did not catch up";
}

TEST(ServeTest, KilledMidStreamResumesToTheSameModelsAsARebuild) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  {
    auto serve = ChildProcess::Start(
        VORONKA_BINARY,
        {"serve", "--data", data, "--demo", "--rate", "20000", "--status-every",
         "0.1", "--insecure-dev", "--listen", "127.0.0.1:0"});
    ASSERT_TRUE(serve.ok()) << serve.status();
    // Let it stream and project for a while (until its status lines show
    // events in the log, then five more), then kill it mid-batch.
    int status_lines_with_events = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (status_lines_with_events < 5 && absl::Now() < deadline) {
      absl::StatusOr<std::string> line = (*serve)->ReadLine(absl::Seconds(30));
      ASSERT_TRUE(line.ok()) << line.status();
      if (line->rfind("log ", 0) == 0 && line->rfind("log 0 ", 0) != 0) {
        ++status_lines_with_events;
      }
    }
    ASSERT_EQ(status_lines_with_events, 5) << "the demo appended nothing";
    ASSERT_TRUE((*serve)->Signal(SIGKILL).ok());
    auto code = (*serve)->Wait(absl::Seconds(10));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 128 + SIGKILL);
  }
  {
    auto serve = ChildProcess::Start(
        VORONKA_BINARY, {"serve", "--data", data, "--status-every", "0.1",
                         "--insecure-dev", "--listen", "127.0.0.1:0"});
    ASSERT_TRUE(serve.ok()) << serve.status();
    WaitUntilCaughtUp(**serve);
    ASSERT_TRUE((*serve)->Signal(SIGTERM).ok());
    auto code = (*serve)->Wait(absl::Seconds(30));
    ASSERT_TRUE(code.ok());
    EXPECT_EQ(*code, 0);
  }
  // A rebuild from position 0 of the same log, into fresh stores.
  auto log = EmbeddedLog::Open({.path = data + "/log"});
  ASSERT_TRUE(log.ok()) << log.status();
  testing::ProjectionHarness rebuild(dir.Sub("rebuild"), log->get());
  rebuild.CatchUp();
  auto indicators_dir = Generations(data + "/indicators").Current();
  auto funnel_dir = Generations(data + "/funnel").Current();
  ASSERT_TRUE(indicators_dir.ok() && funnel_dir.ok());
  auto resumed_indicators = ProjectionStore::Open({.path = *indicators_dir});
  auto resumed_funnel = ProjectionStore::Open({.path = *funnel_dir});
  ASSERT_TRUE(resumed_indicators.ok()) << resumed_indicators.status();
  ASSERT_TRUE(resumed_funnel.ok()) << resumed_funnel.status();
  const std::string want_i = rebuild.Dump(rebuild.indicators());
  const std::string want_f = rebuild.Dump(rebuild.funnel());
  EXPECT_GT(want_f.size(), 1000u);
  EXPECT_TRUE(want_i == rebuild.Dump(**resumed_indicators))
      << "indicators differ from the rebuild";
  EXPECT_TRUE(want_f == rebuild.Dump(**resumed_funnel))
      << "funnel differs from the rebuild";
}

}  // namespace
}  // namespace voronka

namespace voronka {
namespace {

// `voronka project rebuild` reads the embedded log that a running serve
// holds (as a RocksDB secondary), and the serve swaps the rebuilt store in.
TEST(ServeTest, RebuildWhileServingIsSwappedIn) {
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  auto serve = testing::ChildProcess::Start(
      VORONKA_BINARY,
      {"serve", "--data", data, "--demo", "--rate", "3000", "--status-every",
       "0.2", "--insecure-dev", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  // Let the demo stream for a while (its status lines read "log N events |
  // ..."), then rebuild while it goes on.
  int64_t logged = 0;
  while (logged < 1000) {
    auto line = (*serve)->ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    if (!absl::StartsWith(*line, "log ")) continue;
    ASSERT_TRUE(absl::SimpleAtoi(
        absl::string_view(*line).substr(4, line->find(' ', 4) - 4), &logged))
        << *line;
  }
  auto rebuild = testing::RunCommand(
      VORONKA_BINARY,
      {"project", "rebuild", "funnel", "--data", data, "--log", data + "/log"},
      "", absl::Seconds(120));
  ASSERT_TRUE(rebuild.ok()) << rebuild.status();
  ASSERT_EQ(rebuild->exit_code, 0) << rebuild->out;
  EXPECT_THAT(rebuild->out, ::testing::Not(::testing::HasSubstr(": 0 records")))
      << "the rebuild did not see what serve had written";
  absl::SleepFor(absl::Seconds(2));  // The runner looks once a second.
  ASSERT_TRUE((*serve)->Signal(SIGTERM).ok());
  std::string serve_log;  // What serve said, for a failure message.
  while (true) {
    auto line = (*serve)->ReadLine(absl::Seconds(30));
    if (!line.ok()) break;
    if (line->find(" | ") == std::string::npos) serve_log += *line + "\n";
  }
  auto code = (*serve)->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(*Generations(data + "/funnel").Current(),
            data + "/funnel/gen-000002")
      << "rebuild said:\n"
      << rebuild->out << "serve said:\n"
      << serve_log;

  auto log = EmbeddedLog::Open({.path = data + "/log"});
  ASSERT_TRUE(log.ok()) << log.status();
  testing::ProjectionHarness fresh(dir.Sub("fresh"), log->get());
  fresh.CatchUp();
  auto store = ProjectionStore::Open({.path = data + "/funnel/gen-000002"});
  ASSERT_TRUE(store.ok()) << store.status();
  // The serve kept projecting into the rebuilt store after the swap: it
  // holds the whole log, not just what the rebuild saw.
  EXPECT_EQ(*(*store)->Positions(), *(*log)->EndOffsets());
  EXPECT_TRUE(fresh.Dump(fresh.funnel()) == fresh.Dump(**store));
}

}  // namespace
}  // namespace voronka
