// Structured logs of a running process: `voronka --log-format json serve`
// writes one JSON object per stderr line; a rejected event is logged once
// with its reason at level warn; a bearer token never appears in the log.
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/http_client.h"
#include "services/logging.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(JsonLogLineTest, EveryLineIsOneJsonObjectWhateverTheMessage) {
  const std::string message = "say \"hi\"\\ to\nthe log\t\x01 ünïcode";
  const std::string line =
      JsonLogLine("2026-11-23T18:00:00.000000Z", "warn", 42, message);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  const json j = json::parse(line);
  EXPECT_EQ(j["msg"], message);
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["thread"], 42);
  EXPECT_EQ(j["time"], "2026-11-23T18:00:00.000000Z");
}

TEST(ConfigureLoggingTest, RejectsUnknownFormatsAndLevels) {
  EXPECT_FALSE(ConfigureLogging({.format = "xml"}).ok());
  EXPECT_FALSE(ConfigureLogging({.level = "loud"}).ok());
  EXPECT_TRUE(ConfigureLogging({.format = "json", .level = "warn"}).ok());
  EXPECT_TRUE(ConfigureLogging({}).ok());
}

TEST(LoggingCommandTest, JsonLinesWithTheRejectionAndNoSecrets) {
  testing::TempDir dir;
  const std::string tokens = dir.Sub("tokens.yaml");
  auto add = testing::RunCommand(
      VORONKA_BINARY,
      {"token", "add", "--file", tokens, "--name", "crm", "--roles", "ingest"},
      "", absl::Seconds(30));
  ASSERT_TRUE(add.ok() && add->exit_code == 0);
  const std::string token(absl::StripAsciiWhitespace(add->out));
  ASSERT_FALSE(token.empty());

  const std::string log_path = dir.Sub("stderr.log");
  absl::StatusOr<testing::Listening> serve = testing::StartListening(
      "/bin/sh",
      {"-c",
       std::string("exec \"$0\" --log-format json serve --data \"$1\" "
                   "--tokens \"$2\" --listen 127.0.0.1:0 2>\"$3\""),
       VORONKA_BINARY, dir.Sub("data"), tokens, log_path});
  ASSERT_TRUE(serve.ok()) << serve.status();

  absl::StatusOr<HttpUrl> url = ParseHttpUrl(serve->url + "/v1/events");
  ASSERT_TRUE(url.ok());
  HttpClient client(*url);
  const std::string bad_event =
      R"({"specversion":"1.0","id":"e1","source":"crm/1",)"
      R"("type":"call.logged","time":"2026-11-23T10:00:00Z",)"
      R"("data":{"org":"o1","manager":"m1","department":"sales",)"
      R"("direction":"outbound","outcome":"answered","duration_s":-5}})";
  auto rejected =
      client.Post(url->target, "application/cloudevents+json", bad_event,
                  {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->status, 422) << rejected->body;
  const std::string wrong_token = "not-a-token-" + token.substr(0, 8);
  auto unauthorized =
      client.Post(url->target, "application/cloudevents+json", bad_event,
                  {{"Authorization", "Bearer " + wrong_token}});
  ASSERT_TRUE(unauthorized.ok());
  EXPECT_EQ(unauthorized->status, 401);

  ASSERT_TRUE(serve->process->Signal(SIGTERM).ok());
  absl::StatusOr<int> code = serve->process->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok() && *code == 0);

  const std::string log = ReadFile(log_path);
  std::vector<std::string> lines = absl::StrSplit(log, '\n', absl::SkipEmpty());
  ASSERT_FALSE(lines.empty()) << "nothing logged";
  int rejections = 0;
  for (const std::string& line : lines) {
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(j.is_discarded()) << "not a JSON line: " << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg"))
        << line;
    const std::string msg = j["msg"];
    if (msg.find("422") != std::string::npos) {
      ++rejections;
      EXPECT_EQ(j["level"], "warn");
      EXPECT_THAT(msg, HasSubstr("duration_s")) << "the reason names the field";
    }
  }
  EXPECT_EQ(rejections, 1) << log;
  EXPECT_THAT(log, Not(HasSubstr(token)));
  EXPECT_THAT(log, Not(HasSubstr(wrong_token)));
}

}  // namespace
}  // namespace voronka
