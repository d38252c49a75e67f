// `voronka import cdr` end to end, as an operator runs it: the example
// Master.csv into an embedded log and back, a file with bad rows (the good
// ones imported, the bad ones on stderr by line, exit code 2), a uniqueid
// seen twice, and `--out -` from stdin decoding as CloudEvents.
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/cloudevents.h"
#include "events/embedded_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::CommandResult;
using ::testing::HasSubstr;
using testing::RunCommand;

const std::string kExamples = VORONKA_SOURCE_DIR "/deploy/examples/";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct ImportRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs voronka with `args` (stdin `input`), capturing stderr into a file of
// `dir` so the test can read it.
ImportRun Voronka(const testing::TempDir& dir,
                  const std::vector<std::string>& args,
                  const std::string& input = "") {
  std::string command = "exec \"$0\"";
  for (size_t i = 0; i < args.size(); ++i) {
    command += " \"$" + std::to_string(i + 1) + "\"";
  }
  const std::string err = dir.Sub("stderr.txt");
  command += " 2>" + err;
  std::vector<std::string> sh_args = {"-c", command, VORONKA_BINARY};
  sh_args.insert(sh_args.end(), args.begin(), args.end());
  absl::StatusOr<CommandResult> r =
      RunCommand("/bin/sh", sh_args, input, absl::Seconds(60));
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  return {r->exit_code, r->out, ReadFile(err)};
}

std::vector<Event> ReadLog(const std::string& path) {
  std::vector<Event> events;
  auto log = EmbeddedLog::Open({.path = path});
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return events;
  auto reader = (*log)->OpenReader({});
  EXPECT_TRUE(reader.ok());
  while (true) {
    auto batch = (*reader)->Next(1000, absl::Milliseconds(10));
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || batch->empty()) break;
    for (LogRecord& r : *batch) events.push_back(std::move(r.event));
  }
  return events;
}

TEST(ImportCommandTest, ExampleFileIntoEmbeddedLog) {
  testing::TempDir dir;
  const std::string log = dir.Sub("log");
  const Timestamp before = Timestamp::Now();
  ImportRun run =
      Voronka(dir, {"import", "cdr", kExamples + "Master.csv", "--map",
                    kExamples + "agents.yaml", "--data", log});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err,
              HasSubstr("Master.csv: 7 rows read, 7 imported, 0 rejected, 0 "
                        "skipped -> embedded log at " +
                        log));

  std::vector<Event> events = ReadLog(log);
  ASSERT_EQ(events.size(), 7u);
  std::vector<std::string> ids;
  for (const Event& e : events) {
    ids.push_back(e.id.value());
    EXPECT_EQ(e.source, SourceId("pbx/asterisk-1"));
    EXPECT_GE(e.recorded_time, before);
  }
  EXPECT_THAT(ids, ::testing::ElementsAre("1795415400.42", "1795416070.44",
                                          "1795417320.46", "1795418130.48",
                                          "1795420800.50", "1795449900.52",
                                          "1795500600.54"));
  const CallLogged* queue_call = events[4].get_if<CallLogged>();
  ASSERT_NE(queue_call, nullptr);
  EXPECT_EQ(FormatRfc3339(events[4].time), "2026-11-23T08:00:00Z");
  EXPECT_EQ(*queue_call, (CallLogged{.org = OrgId("org-romashka"),
                                     .manager = ManagerId("petrov"),
                                     .department = DepartmentId("sales"),
                                     .direction = CallDirection::kInbound,
                                     .outcome = CallOutcome::kAnswered,
                                     .duration_s = 400,
                                     .contact = "OOO Romashka, reception",
                                     .call_id = "1795420800.50",
                                     .billsec_s = 388}));
}

TEST(ImportCommandTest, ImportingAFileAgainAppendsNothingTwice) {
  testing::TempDir dir;
  const std::string log = dir.Sub("log");
  const std::vector<std::string> args = {"import",
                                         "cdr",
                                         kExamples + "Master.csv",
                                         "--map",
                                         kExamples + "agents.yaml",
                                         "--data",
                                         log};
  ASSERT_EQ(Voronka(dir, args).exit_code, 0);
  ImportRun again = Voronka(dir, args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, HasSubstr("7 rows read, 7 imported, 0 rejected"));
  EXPECT_THAT(again.err,
              HasSubstr("(7 of the imported were in the log already)"));
  EXPECT_EQ(ReadLog(log).size(), 7u);

  // The same calls mapped to another manager are different events under
  // the same uniqueids: refused by line, never appended as a second copy.
  std::string map = ReadFile(kExamples + "agents.yaml");
  const size_t at = map.find("manager: petrov");
  ASSERT_NE(at, std::string::npos);
  map.replace(at, 15, "manager: kuznetsov");
  WriteFile(dir.Sub("agents2.yaml"), map);
  ImportRun changed =
      Voronka(dir, {"import", "cdr", kExamples + "Master.csv", "--map",
                    dir.Sub("agents2.yaml"), "--data", log});
  EXPECT_EQ(changed.exit_code, 2) << changed.err;
  EXPECT_THAT(changed.err,
              HasSubstr("was already used by the event at partition 0 offset "
                        "4 with different content"));
  EXPECT_THAT(changed.err, HasSubstr(": line 5: uniqueid 1795420800.50"));
  EXPECT_EQ(ReadLog(log).size(), 7u);
}

TEST(ImportCommandTest, BadRowsAreReportedByLineAndTheOthersImported) {
  testing::TempDir dir;
  const std::string log = dir.Sub("log");
  std::vector<std::string> lines =
      absl::StrSplit(ReadFile(kExamples + "Master.csv"), '\n');
  // Line 2: billsec not a number; line 4: a quote left open to the end.
  lines[1].replace(lines[1].find(",60,0,"), 6, ",60,x,");
  lines[3] = "\"sidorova\",\"1200";
  const std::string csv = dir.Sub("bad.csv");
  WriteFile(csv, lines[0] + "\n" + lines[1] + "\n" + lines[2] + "\n" +
                     lines[3] + "\n");
  ImportRun run = Voronka(dir, {"import", "cdr", csv, "--map",
                                kExamples + "agents.yaml", "--data", log});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err,
              HasSubstr(csv + ": line 2: column billsec: \"x\" is not a "
                              "non-negative integer\n"));
  EXPECT_THAT(run.err, HasSubstr(csv + ": line 4: column 2: the quoted "
                                       "field never ends"));
  EXPECT_THAT(run.err, HasSubstr("4 rows read, 2 imported, 2 rejected, 0 "
                                 "skipped"));
  EXPECT_THAT(run.err, HasSubstr("2 of 4 rows rejected"));
  std::vector<Event> events = ReadLog(log);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, EventId("1795415400.42"));
  EXPECT_EQ(events[1].id, EventId("1795417320.46"));
}

TEST(ImportCommandTest, RepeatedUniqueidIsSkippedNotImportedTwice) {
  testing::TempDir dir;
  const std::vector<std::string> lines =
      absl::StrSplit(ReadFile(kExamples + "Master.csv"), '\n');
  const std::string& first_line = lines[0];
  const std::string csv = dir.Sub("twice.csv");
  WriteFile(csv, first_line + "\r\n" + first_line + "\r\n");
  ImportRun run =
      Voronka(dir, {"import", "cdr", csv, "--map", kExamples + "agents.yaml",
                    "--data", dir.Sub("log"), "--verbose"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("line 2: skipped: uniqueid 1795415400.42 "
                                 "already imported from line 1"));
  EXPECT_THAT(run.err, HasSubstr("2 rows read, 1 imported, 0 rejected, 1 "
                                 "skipped"));
  EXPECT_EQ(ReadLog(dir.Sub("log")).size(), 1u);
}

TEST(ImportCommandTest, StdinToStdoutDecodesAsCloudEvents) {
  testing::TempDir dir;
  ImportRun run = Voronka(
      dir,
      {"import", "cdr", "-", "--map", kExamples + "agents.yaml", "--out", "-"},
      ReadFile(kExamples + "Master.csv"));
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, HasSubstr("<stdin>: 7 rows read, 7 imported"));
  std::vector<std::string> lines =
      absl::StrSplit(run.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 7u);
  CloudEventsDecoder decoder(FunnelConfig::Default());
  for (const std::string& line : lines) {
    DecodeResult r = decoder.DecodeStructured(line);
    ASSERT_TRUE(r.ok()) << line << ": " << r.errors[0].ToString();
    EXPECT_EQ(r.events[0].type(), EventType::kCallLogged);
    EXPECT_FALSE(r.events[0].recorded_time.is_set());
  }
  EXPECT_THAT(lines[5], HasSubstr("\"outcome\":\"voicemail\""));
}

TEST(ImportCommandTest, BadMapFileImportsNothing) {
  testing::TempDir dir;
  WriteFile(dir.Sub("agents.yaml"),
            "source: pbx/1\ntimezone: UTC\nagents:\n  - {manager: a, "
            "department: marketing, extension: \"1\"}\n");
  ImportRun run = Voronka(dir, {"import", "cdr", kExamples + "Master.csv",
                                "--map", dir.Sub("agents.yaml"), "--out", "-"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("agents.yaml: agents[0].department: "
                                 "\"marketing\" is not a department"));
  EXPECT_EQ(run.out, "");
}

}  // namespace
}  // namespace voronka
