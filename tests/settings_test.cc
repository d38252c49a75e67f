// Settings (services/settings.h): command line over environment over the
// settings file over defaults, per-command sections, the librdkafka section
// and the errors a typo gets. Parses a small command tree shaped like
// voronka's; the real binary's --help is checked by deploy_config_test.
#include "services/settings.h"

#include <stdlib.h>

#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct Parsed {
  std::string log_format = "text";
  std::string kafka;
  std::string topic = "voronka.events";
  std::string listen = "127.0.0.1:8480";
  bool insecure = false;
  std::vector<std::string> x;
  std::string rebuild_kafka;
  std::string error;  // What CLI11 threw, if anything.
};

class SettingsTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const char* name :
         {"VORONKA_KAFKA", "VORONKA_LISTEN", "VORONKA_SETTINGS",
          "VORONKA_LIBRDKAFKA_SASL_PASSWORD",
          "VORONKA_LIBRDKAFKA_SSL_CA_LOCATION"}) {
      unsetenv(name);
    }
  }

  std::string File(const std::string& yaml) {
    const std::string path = dir_.Sub("settings.yaml");
    std::ofstream(path) << yaml;
    return path;
  }

  // voronka [--log-format] {ingest [--kafka --topic --listen --insecure-dev
  // -X], project [--listen] {rebuild [--kafka]}}
  Parsed Parse(std::vector<std::string> args) {
    Parsed p;
    CLI::App app("test");
    app.add_option("--log-format", p.log_format);
    CLI::App* ingest = app.add_subcommand("ingest");
    ingest->add_option("--kafka", p.kafka);
    ingest->add_option("--topic", p.topic);
    ingest->add_option("--listen", p.listen);
    ingest->add_flag("--insecure-dev", p.insecure);
    ingest->add_option("-X", p.x);
    CLI::App* project = app.add_subcommand("project");
    std::string project_listen;
    project->add_option("--listen", project_listen);
    double rate = 1;
    project->add_option("--rate", rate)->check(CLI::PositiveNumber);
    CLI::App* rebuild = project->add_subcommand("rebuild");
    rebuild->add_option("--kafka", p.rebuild_kafka);
    AddSettings(app);
    args.insert(args.begin(), "voronka");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
      p.error = e.what();
    }
    return p;
  }

  testing::TempDir dir_;
};

TEST_F(SettingsTest, EnvironmentNamesFollowTheOptionNames) {
  EXPECT_EQ(SettingEnvName("dead-letter-topic"), "VORONKA_DEAD_LETTER_TOPIC");
  EXPECT_EQ(SettingEnvName("kafka"), "VORONKA_KAFKA");
}

TEST_F(SettingsTest, CommandLineOverEnvironmentOverFileOverDefault) {
  const std::string file = File("kafka: from-file:9092\ntopic: t-file\n");
  Parsed p = Parse({"ingest", "--settings", file});
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.kafka, "from-file:9092");
  EXPECT_EQ(p.topic, "t-file");
  EXPECT_EQ(p.listen, "127.0.0.1:8480");  // Nobody set it: the default.

  setenv("VORONKA_KAFKA", "from-env:9092", 1);
  setenv("VORONKA_LISTEN", "0.0.0.0:9000", 1);
  p = Parse({"ingest", "--settings", file});
  EXPECT_EQ(p.kafka, "from-env:9092");
  EXPECT_EQ(p.topic, "t-file");
  EXPECT_EQ(p.listen, "0.0.0.0:9000");

  p = Parse({"ingest", "--settings", file, "--kafka", "from-cli:9092"});
  EXPECT_EQ(p.kafka, "from-cli:9092");
}

TEST_F(SettingsTest, SettingsFileFromTheEnvironment) {
  setenv("VORONKA_SETTINGS", File("kafka: k:1\n").c_str(), 1);
  EXPECT_EQ(Parse({"ingest"}).kafka, "k:1");
  setenv("VORONKA_SETTINGS", dir_.Sub("missing.yaml").c_str(), 1);
  EXPECT_THAT(Parse({"ingest"}).error, HasSubstr("missing.yaml"));
}

TEST_F(SettingsTest, SectionsApplyToTheirCommandOnly) {
  const std::string file = File(
      "log-format: json\n"
      "kafka: shared:9092\n"
      "ingest:\n  listen: 0.0.0.0:8480\n  insecure-dev: true\n"
      "project:\n  listen: 0.0.0.0:8481\n  rebuild:\n    kafka: r:1\n");
  Parsed p = Parse({"--settings", file, "ingest"});
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.log_format, "json");
  EXPECT_EQ(p.kafka, "shared:9092");
  EXPECT_EQ(p.listen, "0.0.0.0:8480");
  EXPECT_TRUE(p.insecure);
  EXPECT_EQ(p.rebuild_kafka, "");

  p = Parse({"project", "rebuild", "--settings", file});
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.rebuild_kafka, "r:1");
  EXPECT_EQ(p.kafka, "");
}

TEST_F(SettingsTest, LibrdkafkaSectionIsReadAsideKeyByKey) {
  const std::string file = File(
      "librdkafka:\n  security.protocol: SASL_SSL\n  sasl.username: v\n"
      "ingest:\n  librdkafka:\n    sasl.username: w\n");
  Parsed p = Parse({"ingest", "--settings", file, "-X", "acks=all"});
  EXPECT_EQ(p.error, "");
  EXPECT_THAT(p.x, ElementsAre("acks=all"));  // -X stays the command line's.
  using Pair = std::pair<std::string, std::string>;
  EXPECT_THAT(LibrdkafkaFileSettings(),
              ElementsAre(Pair("sasl.username", "w"),
                          Pair("security.protocol", "SASL_SSL")));
}

TEST_F(SettingsTest, AnEnvironmentVariableConcernsOnlyTheCommandRun) {
  // `project --rate` must be positive; its variable does not touch ingest.
  setenv("VORONKA_RATE", "0", 1);
  EXPECT_EQ(Parse({"ingest"}).error, "");
  EXPECT_THAT(Parse({"project"}).error, HasSubstr("--rate"));
  unsetenv("VORONKA_RATE");
}

TEST_F(SettingsTest, AMalformedValueIsAnErrorNotACrash) {
  EXPECT_THAT(
      Parse({"ingest", "--settings",
             File("librdkafka:\n  security:\n    protocol: SSL\n")})
          .error,
      HasSubstr("librdkafka.security: expected a value, got a map or list"));
  EXPECT_THAT(
      Parse({"ingest", "--settings", File("librdkafka:\n  sasl.password:\n")})
          .error,
      HasSubstr("librdkafka.sasl.password: expected a value, got "
                "nothing"));
  EXPECT_THAT(Parse({"ingest", "--settings", File("kafka:\n")}).error,
              HasSubstr("kafka: expected a value, got nothing"));
  EXPECT_THAT(Parse({"ingest", "--settings", File("kafka: [[a]]\n")}).error,
              HasSubstr("kafka: expected a value"));
}

TEST_F(SettingsTest, LibrdkafkaSecretsFromTheEnvironment) {
  EXPECT_THAT(LibrdkafkaEnvSettings(), IsEmpty());
  setenv("VORONKA_LIBRDKAFKA_SASL_PASSWORD", "s3cret", 1);
  setenv("VORONKA_LIBRDKAFKA_SSL_CA_LOCATION", "/etc/ca.pem", 1);
  EXPECT_THAT(LibrdkafkaEnvSettings(),
              ElementsAre(std::pair<std::string, std::string>("sasl.password",
                                                              "s3cret"),
                          std::pair<std::string, std::string>("ssl.ca.location",
                                                              "/etc/ca.pem")));
}

TEST_F(SettingsTest, ATypoIsAnErrorNamingTheFileAndKey) {
  const std::string file = File("kafak: k:1\n");
  const Parsed p = Parse({"ingest", "--settings", file});
  EXPECT_THAT(p.error, HasSubstr(file));
  EXPECT_THAT(p.error, HasSubstr("\"kafak\""));
  EXPECT_THAT(
      Parse({"ingest", "--settings", File("serve:\n  data: x\n")}).error,
      HasSubstr("no command \"serve\""));
  EXPECT_THAT(Parse({"ingest", "--settings", File("kafka: [unclosed\n")}).error,
              HasSubstr(file));
}

TEST_F(SettingsTest, AnotherCommandsSettingIsIgnored) {
  // --listen is project's and ingest's; rebuild has neither: a shared file
  // still works for `project rebuild`.
  const Parsed p =
      Parse({"project", "rebuild", "--settings", File("listen: 0.0.0.0:1\n")});
  EXPECT_EQ(p.error, "");
}

}  // namespace
}  // namespace voronka
