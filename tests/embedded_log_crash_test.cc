// The embedded log survives kill -9 with every acknowledged event intact.
//
// A real child process (`voronka log load --print-acks`) appends batches and
// prints "acked 0/OFFSET" only after Append() returned them as durable. The
// test SIGKILLs it at a random moment, reads every ack line the child managed
// to print, reopens the log and checks that every acknowledged offset is
// there, decodes, and holds the event the child wrote at that offset
// (ids "<run>-<i>" with i counting from 0 in each run). Several rounds on the
// same directory also check that a crashed log opens and appends again.
#include <signal.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "events/embedded_log.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::ChildProcess;

// Runs one child until it is killed; returns the highest acknowledged offset
// (-1 if none was acknowledged).
int64_t AppendUntilKilled(const std::string& path, int batch,
                          std::mt19937& rng) {
  auto child = ChildProcess::Start(
      VORONKA_BINARY, {"log", "load", "--data", path, "--events", "100000000",
                       "--batch", std::to_string(batch), "--print-acks"});
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return -1;
  int64_t acked = -1;
  auto take = [&](const std::string& line) {
    int64_t offset = 0;
    EXPECT_EQ(line.rfind("acked 0/", 0), 0u) << line;
    EXPECT_TRUE(absl::SimpleAtoi(line.substr(8), &offset)) << line;
    EXPECT_GT(offset, acked);
    acked = offset;
  };
  // Wait for the first ack (the child is up and writing), then let it run
  // a random while longer before killing it mid-stream.
  absl::StatusOr<std::string> first = (*child)->ReadLine(absl::Seconds(30));
  EXPECT_TRUE(first.ok()) << first.status();
  if (!first.ok()) return -1;
  take(*first);
  const int delay_ms = std::uniform_int_distribution<int>(0, 400)(rng);
  const absl::Time kill_at = absl::Now() + absl::Milliseconds(delay_ms);
  while (absl::Now() < kill_at) {
    auto line = (*child)->ReadLine(kill_at - absl::Now());
    if (line.ok()) take(*line);
  }
  EXPECT_TRUE((*child)->Signal(SIGKILL).ok());
  while (true) {  // Every line printed before the kill was acknowledged.
    auto line = (*child)->ReadLine(absl::Seconds(10));
    if (!line.ok()) break;
    if (!line->empty()) take(*line);
  }
  auto code = (*child)->Wait(absl::Seconds(10));
  EXPECT_TRUE(code.ok());
  if (code.ok()) {
    EXPECT_EQ(*code, 128 + SIGKILL);
  }
  return acked;
}

class EmbeddedLogCrashTest : public ::testing::TestWithParam<int> {};

TEST_P(EmbeddedLogCrashTest, EveryAcknowledgedEventSurvivesKill9) {
  const int batch = GetParam();
  testing::TempDir dir;
  const std::string path = dir.Sub("log");
  std::mt19937 rng(20261123 + batch);
  int64_t run_start = 0;  // First offset written by the current round.
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE(::testing::Message() << "round " << round);
    const int64_t acked = AppendUntilKilled(path, batch, rng);
    ASSERT_GE(acked, run_start) << "no batch acknowledged in this round";

    auto log = EmbeddedLog::Open({.path = path});
    ASSERT_TRUE(log.ok()) << log.status();
    auto ends = (*log)->EndOffsets();
    ASSERT_TRUE(ends.ok());
    ASSERT_GT((*ends)[0], acked) << "acknowledged offsets are missing";

    // Read this round's records: all of them decode, and the record at
    // offset run_start + i is the child's i-th event.
    auto reader = (*log)->OpenReader({.start_offsets = {run_start}});
    ASSERT_TRUE(reader.ok());
    std::string run;
    int64_t next = run_start;
    while (next < (*ends)[0]) {
      auto records = (*reader)->Next(10000, absl::Seconds(5));
      ASSERT_TRUE(records.ok()) << records.status();
      ASSERT_FALSE(records->empty()) << "stalled at offset " << next;
      for (const LogRecord& r : *records) {
        ASSERT_EQ(r.position.offset, next);
        const std::string id(r.event.id.value());
        const size_t dash = id.rfind('-');
        ASSERT_NE(dash, std::string::npos) << id;
        if (run.empty()) run = id.substr(0, dash);
        EXPECT_EQ(id, run + "-" + std::to_string(next - run_start));
        ++next;
      }
    }
    run_start = (*ends)[0];
  }
}

INSTANTIATE_TEST_SUITE_P(Batches, EmbeddedLogCrashTest,
                         ::testing::Values(1, 100, 1000), [](const auto& info) {
                           return "Batch" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace voronka
