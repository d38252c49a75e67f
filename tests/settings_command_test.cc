// Kafka client settings reach librdkafka from each of their three sources
// (-X, the settings file's librdkafka section, VORONKA_LIBRDKAFKA_*), in the
// real binary: an unsupported SASL mechanism is refused by librdkafka
// itself, naming the value it was given, before any broker is contacted.
#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;

// `voronka log stats --kafka 127.0.0.1:1 ARGS` with stderr in the output.
testing::CommandResult LogStats(const std::string& args,
                                const std::string& env = "") {
  std::vector<std::string> argv = {"log", "stats", "--kafka", "127.0.0.1:1"};
  for (absl::string_view a : absl::StrSplit(args, ' ', absl::SkipEmpty())) {
    argv.emplace_back(std::string(a));
  }
  return testing::RunWithStderr(VORONKA_BINARY, argv, env);
}

TEST(SettingsCommandTest, KafkaClientSettingsReachLibrdkafka) {
  testing::TempDir dir;
  const std::string sasl = "-X security.protocol=SASL_PLAINTEXT";

  testing::CommandResult r = LogStats(sasl + " -X sasl.mechanisms=FROM-FLAG");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Unsupported SASL mechanism: FROM-FLAG"));

  r = LogStats(sasl, "VORONKA_LIBRDKAFKA_SASL_MECHANISMS=FROM-ENV");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Unsupported SASL mechanism: FROM-ENV"));

  const std::string file = dir.Sub("voronka.yaml");
  std::ofstream(file) << "librdkafka:\n"
                         "  security.protocol: SASL_PLAINTEXT\n"
                         "  sasl.mechanisms: FROM-FILE\n";
  r = LogStats("--settings " + file);
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Unsupported SASL mechanism: FROM-FILE"));

  // Key by key: -X, then the environment, then the file.
  r = LogStats("--settings " + file + " " + sasl,
               "VORONKA_LIBRDKAFKA_SASL_MECHANISMS=FROM-ENV");
  EXPECT_THAT(r.out, HasSubstr("Unsupported SASL mechanism: FROM-ENV"));
  r = LogStats("--settings " + file + " " + sasl);
  EXPECT_THAT(r.out, HasSubstr("Unsupported SASL mechanism: FROM-FILE"));
  r = LogStats(sasl + " -X sasl.mechanisms=FROM-FLAG",
               "VORONKA_LIBRDKAFKA_SASL_MECHANISMS=FROM-ENV");
  EXPECT_THAT(r.out, HasSubstr("Unsupported SASL mechanism: FROM-FLAG"));

  // A setting librdkafka does not know is refused, by name.
  r = LogStats("-X no.such.setting=1");
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_THAT(r.out, HasSubstr("no.such.setting"));
}

TEST(SettingsCommandTest, HelpNamesTheEnvironmentAndATypoIsRefused) {
  testing::TempDir dir;
  const std::string file = dir.Sub("voronka.yaml");
  auto r =
      testing::RunCommand(VORONKA_BINARY, {"--help"}, "", absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->out, HasSubstr("--settings"));
  r = testing::RunCommand(VORONKA_BINARY, {"log", "stats", "--help"}, "",
                          absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->out, HasSubstr("(Env:VORONKA_KAFKA)"));

  std::ofstream(file) << "kafak: x\n";
  r = testing::RunCommand("/bin/sh",
                          {"-c", std::string(VORONKA_BINARY) +
                                     " log stats --settings " + file + " 2>&1"},
                          "", absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_THAT(r->out, HasSubstr("unknown setting \"kafak\""));
}

}  // namespace
}  // namespace voronka
