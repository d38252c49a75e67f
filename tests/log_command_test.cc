// `voronka log` end to end, as an operator runs it: load, stats, tail (text
// and JSON), and a corrupt record that stops tail with its position unless
// --skip-corrupt is given.
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/embedded_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;

CommandResult Voronka(const std::vector<std::string>& args) {
  auto result = RunCommand(VORONKA_BINARY, args, "", absl::Seconds(60));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : CommandResult{};
}

std::vector<std::string> Lines(const std::string& out) {
  return absl::StrSplit(out, '\n', absl::SkipEmpty());
}

TEST(LogCommandTest, LoadThenStatsAndTail) {
  testing::TempDir dir;
  const std::string log = dir.Sub("log");
  CommandResult load = Voronka({"log", "load", "--data", log, "--events",
                                "2500", "--batch", "1000", "--print-acks"});
  ASSERT_EQ(load.exit_code, 0);
  EXPECT_EQ(Lines(load.out),
            (std::vector<std::string>{"acked 0/999", "acked 0/1999",
                                      "acked 0/2499"}));

  CommandResult stats = Voronka({"log", "stats", "--data", log});
  ASSERT_EQ(stats.exit_code, 0);
  EXPECT_THAT(stats.out, HasSubstr("partition 0: end offset 2500"));
  EXPECT_THAT(stats.out, HasSubstr("records: 2500"));

  CommandResult tail = Voronka({"log", "tail", "--data", log, "-n", "3"});
  ASSERT_EQ(tail.exit_code, 0);
  std::vector<std::string> lines = Lines(tail.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], ::testing::StartsWith("0/2497  "));
  EXPECT_THAT(lines[2], HasSubstr("call.logged"));

  CommandResult json =
      Voronka({"log", "tail", "--data", log, "--from-start", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  lines = Lines(json.out);
  ASSERT_EQ(lines.size(), 2500u);
  for (size_t i = 0; i < lines.size(); ++i) {
    auto j = nlohmann::json::parse(lines[i]);
    EXPECT_EQ(j["offset"], i);
    EXPECT_EQ(j["event"]["type"], "call.logged");
    EXPECT_EQ(j["event"]["source"], "voronka/log-load");
  }
}

TEST(LogCommandTest, CorruptRecordStopsTailWithItsPositionUnlessSkipped) {
  testing::TempDir dir;
  const std::string log = dir.Sub("log");
  ASSERT_EQ(Voronka({"log", "load", "--data", log, "--events", "3"}).exit_code,
            0);
  {
    auto opened = EmbeddedLog::Open({.path = log});
    ASSERT_TRUE(opened.ok());
    ASSERT_TRUE((*opened)->AppendRaw({{std::string("\x01garbage")}}).ok());
  }
  ASSERT_EQ(Voronka({"log", "load", "--data", log, "--events", "2"}).exit_code,
            0);

  CommandResult stopped =
      Voronka({"log", "tail", "--data", log, "--from-start"});
  EXPECT_EQ(stopped.exit_code, 4);           // DataLoss
  EXPECT_EQ(Lines(stopped.out).size(), 3u);  // Up to the corrupt record.

  CommandResult skipped =
      Voronka({"log", "tail", "--data", log, "--from-start", "--skip-corrupt"});
  EXPECT_EQ(skipped.exit_code, 0);
  std::vector<std::string> lines = Lines(skipped.out);
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_THAT(lines[3], ::testing::StartsWith("0/4  "));
}

TEST(LogCommandTest, MissingOrConflictingLogIsAUsageError) {
  EXPECT_EQ(Voronka({"log", "stats"}).exit_code, 2);
  EXPECT_EQ(
      Voronka({"log", "stats", "--data", "/tmp/x", "--kafka", "h:1"}).exit_code,
      2);
}

}  // namespace
}  // namespace voronka
