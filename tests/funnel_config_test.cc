// Specification of the funnel configuration: the built-in default is
// DOMAIN.md §1 plus retention and reactivation, and every broken file is
// rejected with the file, the key path and the reason.
#include "events/funnel_config.h"

#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;

// A small valid configuration; the rejection tests break one thing in it.
constexpr std::string_view kValid = R"(
timezone: UTC
departments: [lead_generation, sales, account_management, key_accounts]
key_accounts:
  department: key_accounts
  routes: [sales, account_management]
  threshold: {RUB: 100000000, USD: 1000000}
funnels:
  acquisition:
    kind: acquisition
    stages:
      - {name: new, owner: lead_generation, probability: 0.05, sla: 90m, idle_limit: 48h}
      - {name: development, owner: sales, probability: 0.4}
      - {name: customer, owner: account_management, probability: 1.0, outcome: won}
      - {name: worked_out, probability: 0, outcome: lost}
)";

std::string Replace(std::string_view text, std::string_view from,
                    std::string_view to) {
  std::string s(text);
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

// The error message for `yaml`, or "OK".
std::string ErrorOf(std::string_view yaml) {
  absl::StatusOr<FunnelConfig> c = FunnelConfig::Parse(yaml, "funnels.yaml");
  if (c.ok()) return "OK";
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(c.status().message());
}

TEST(FunnelConfigTest, DefaultAcquisitionIsTheStageTableOfDomainMd) {
  const FunnelConfig& c = FunnelConfig::Default();
  const Funnel* f = c.FindFunnel("acquisition");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, "acquisition");
  struct Row {
    const char* name;
    const char* owner;  // nullptr: none.
    int32_t bp;
    StageOutcome outcome;
  };
  const Row want[] = {
      {"new", "lead_generation", 500, StageOutcome::kOpen},
      {"active", "lead_generation", 1000, StageOutcome::kOpen},
      {"development", "sales", 4000, StageOutcome::kOpen},
      {"shipment", "account_management", 9000, StageOutcome::kOpen},
      {"customer", "account_management", 10000, StageOutcome::kWon},
      {"worked_out", nullptr, 0, StageOutcome::kLost},
  };
  ASSERT_EQ(f->stages.size(), std::size(want));
  for (size_t i = 0; i < std::size(want); ++i) {
    const Stage& s = f->stages[i];
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(s.name.value(), want[i].name);
    if (want[i].owner == nullptr) {
      EXPECT_FALSE(s.owner.has_value());
    } else {
      ASSERT_TRUE(s.owner.has_value());
      EXPECT_EQ(s.owner->value(), want[i].owner);
    }
    EXPECT_EQ(s.probability_bp, want[i].bp);
    EXPECT_EQ(s.outcome, want[i].outcome);
    EXPECT_EQ(f->IndexOf(s.name), static_cast<int>(i));
  }
  EXPECT_EQ(f->stages[0].sla, absl::Hours(72));
  EXPECT_EQ(f->stages[0].idle_limit, absl::Hours(48));
  EXPECT_EQ(f->stages[4].sla, absl::InfiniteDuration());
  EXPECT_TRUE(f->stages[5].closed());
  EXPECT_FALSE(f->stages[3].closed());
}

TEST(FunnelConfigTest, DefaultHasDepartmentsKeyAccountsAndThreeFunnelKinds) {
  const FunnelConfig& c = FunnelConfig::Default();
  EXPECT_EQ(c.timezone(), "UTC");
  ASSERT_EQ(c.departments().size(), 4u);
  for (const char* d :
       {"lead_generation", "sales", "account_management", "key_accounts"}) {
    EXPECT_TRUE(c.HasDepartment(d)) << d;
  }
  EXPECT_FALSE(c.HasDepartment("marketing"));
  EXPECT_EQ(c.key_accounts_department().value(), "key_accounts");
  ASSERT_EQ(c.key_account_routed().size(), 2u);
  EXPECT_EQ(c.key_account_routed()[0].value(), "sales");
  EXPECT_EQ(c.key_account_routed()[1].value(), "account_management");
  EXPECT_EQ(c.key_account_threshold().at(*Currency::FromCode("RUB")),
            100000000);
  EXPECT_EQ(c.key_account_threshold().at(*Currency::FromCode("USD")), 1000000);
  EXPECT_EQ(c.key_account_threshold().at(*Currency::FromCode("EUR")), 1000000);

  ASSERT_EQ(c.funnels().size(), 3u);
  EXPECT_EQ(c.funnels()[1].name.value(), "retention");
  EXPECT_EQ(c.funnels()[1].kind, "retention");
  EXPECT_EQ(c.funnels()[2].name.value(), "reactivation");
  EXPECT_EQ(c.funnels()[2].kind, "reactivation");
  for (const Funnel& f : c.funnels()) {
    int won = 0;
    for (const Stage& s : f.stages) won += s.outcome == StageOutcome::kWon;
    EXPECT_EQ(won, 1) << f.name.value();
  }
  ASSERT_NE(c.FindStage("retention", "renewed"), nullptr);
  EXPECT_EQ(c.FindStage("retention", "renewed")->outcome, StageOutcome::kWon);
  ASSERT_NE(c.FindStage("reactivation", "lost"), nullptr);
  EXPECT_EQ(c.FindStage("reactivation", "lost")->outcome, StageOutcome::kLost);
  EXPECT_EQ(c.FindStage("acquisition", "shipping"), nullptr);
  EXPECT_EQ(c.FindStage("nope", "new"), nullptr);
  EXPECT_EQ(c.FindFunnel("nope"), nullptr);
  EXPECT_EQ(c.handoff_sla().at("sales"), absl::Hours(4));
  EXPECT_EQ(c.handoff_sla().at("key_accounts"), absl::Hours(2));
  EXPECT_EQ(c.handoff_sla().size(), 4u);
}

TEST(FunnelConfigTest, DeployFileIsTheBuiltInDefault) {
  const std::string path =
      std::string(VORONKA_SOURCE_DIR) + "/deploy/config/funnels.yaml";
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), FunnelConfig::DefaultYaml());
  absl::StatusOr<FunnelConfig> c = FunnelConfig::LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->funnels().size(), FunnelConfig::Default().funnels().size());
}

TEST(FunnelConfigTest, LoadFileOfMissingFileIsNotFound) {
  absl::StatusOr<FunnelConfig> c = FunnelConfig::LoadFile("/nonexistent.yaml");
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("/nonexistent.yaml"));
}

TEST(FunnelConfigTest, ValidConfigurationParses) {
  absl::StatusOr<FunnelConfig> c = FunnelConfig::Parse(kValid, "funnels.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  const Stage* s = c->FindStage("acquisition", "new");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->sla, absl::Minutes(90));
  EXPECT_EQ(c->FindStage("acquisition", "development")->idle_limit,
            absl::InfiniteDuration());
}

TEST(FunnelConfigTest, TimezoneIsOptionalAndDefaultsToUtc) {
  absl::StatusOr<FunnelConfig> c = FunnelConfig::Parse(
      Replace(kValid, "timezone: UTC\n", ""), "funnels.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->timezone(), "UTC");
}

TEST(FunnelConfigTest, DurationsParse) {
  EXPECT_EQ(*ParseConfigDuration("90m"), absl::Minutes(90));
  EXPECT_EQ(*ParseConfigDuration("72h"), absl::Hours(72));
  EXPECT_EQ(*ParseConfigDuration("14d"), absl::Hours(14 * 24));
  EXPECT_EQ(*ParseConfigDuration("30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseConfigDuration("1d12h"), absl::Hours(36));
  for (const char* bad : {"", "5", "h", "5w", "0h", "-5h", "1.5h", "5 h"}) {
    EXPECT_FALSE(ParseConfigDuration(bad).ok()) << bad;
  }
}

TEST(FunnelConfigTest, ProbabilityIsRoundedToBasisPoints) {
  absl::StatusOr<FunnelConfig> c = FunnelConfig::Parse(
      Replace(kValid, "probability: 0.4}", "probability: 0.123456}"),
      "funnels.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->FindStage("acquisition", "development")->probability_bp, 1235);
}

struct RejectCase {
  const char* name;
  const char* from;
  const char* to;
  const char* want;  // "funnels.yaml: <path>: <reason>" or a part of it.
};

class FunnelConfigRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(FunnelConfigRejectTest, NamesFilePathAndReason) {
  const RejectCase& c = GetParam();
  EXPECT_THAT(ErrorOf(Replace(kValid, c.from, c.to)), HasSubstr(c.want));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, FunnelConfigRejectTest,
    ::testing::Values(
        RejectCase{"ProbabilityOutOfRange", "probability: 0.4}",
                   "probability: 1.4}",
                   "funnels.yaml: funnels.acquisition.stages[1].probability: "
                   "1.4 is not in [0, 1]"},
        RejectCase{"ProbabilityNotANumber", "probability: 0.4}",
                   "probability: high}",
                   "funnels.acquisition.stages[1].probability: must be a "
                   "number in [0, 1], got high"},
        RejectCase{"UnknownStageKey", "probability: 0.4}", "probabilty: 0.4}",
                   "funnels.yaml: funnels.acquisition.stages[1].probabilty: "
                   "unknown key"},
        RejectCase{"UnknownRootKey", "timezone: UTC", "timezon: UTC",
                   "funnels.yaml: timezon: unknown key (allowed: timezone, "
                   "departments, key_accounts, handoff_sla, funnels)"},
        RejectCase{"HandoffSlaUnknownDepartment", "timezone: UTC",
                   "timezone: UTC\nhandoff_sla: {marketing: 4h}",
                   "funnels.yaml: handoff_sla.marketing: \"marketing\" is not "
                   "in departments"},
        RejectCase{"HandoffSlaBadDuration", "timezone: UTC",
                   "timezone: UTC\nhandoff_sla: {sales: soon}",
                   "funnels.yaml: handoff_sla.sales: "},
        RejectCase{"UnknownFunnelKey", "kind: acquisition",
                   "kind: acquisition\n    colour: red",
                   "funnels.acquisition.colour: unknown key"},
        RejectCase{
            "MissingStageName", "{name: development, ", "{",
            "funnels.yaml: funnels.acquisition.stages[1].name: required"},
        RejectCase{"MissingProbability", ", probability: 0.4}", "}",
                   "funnels.acquisition.stages[1].probability: required"},
        RejectCase{"MissingDepartments",
                   "departments: [lead_generation, sales, account_management, "
                   "key_accounts]\n",
                   "", "funnels.yaml: departments: required"},
        RejectCase{"MissingFunnels",
                   "funnels:", "funnelz:", "funnels.yaml: funnels: required"},
        RejectCase{"MissingKind", "kind: acquisition", "",
                   "funnels.acquisition.kind: required"},
        RejectCase{"DuplicateDepartment", "[lead_generation, sales,",
                   "[lead_generation, sales, sales,",
                   "funnels.yaml: departments[2]: \"sales\" is listed twice"},
        RejectCase{"DuplicateStage", "{name: development,", "{name: new,",
                   "funnels.acquisition.stages[1].name: \"new\" is already "
                   "stage 0 of this funnel"},
        RejectCase{"DuplicateFunnel", "funnels:\n",
                   "funnels:\n  acquisition: {kind: retention, stages: "
                   "[{name: x, probability: 1, outcome: won}]}\n",
                   "funnels.acquisition: funnel \"acquisition\" is defined "
                   "twice"},
        RejectCase{"OwnerNotADepartment", "owner: sales,", "owner: marketing,",
                   "funnels.acquisition.stages[1].owner: \"marketing\" is not "
                   "one of departments"},
        RejectCase{"OpenStageWithoutOwner", "owner: sales, ", "",
                   "funnels.acquisition.stages[1].owner: required for an open "
                   "stage"},
        RejectCase{"UnknownCurrency", "RUB: 100000000", "RUR: 100000000",
                   "funnels.yaml: key_accounts.threshold.RUR: \"RUR\" is not "
                   "an ISO 4217 currency code"},
        RejectCase{"NegativeThreshold", "USD: 1000000", "USD: -5",
                   "key_accounts.threshold.USD: must be >= 0, got -5"},
        RejectCase{"FractionalThreshold", "USD: 1000000", "USD: 10.5",
                   "key_accounts.threshold.USD: must be an integer number of "
                   "minor units, got 10.5"},
        RejectCase{"BadTimezone", "timezone: UTC", "timezone: Mars/Olympus",
                   "funnels.yaml: timezone: \"Mars/Olympus\" is not a loadable "
                   "time zone"},
        RejectCase{"NoWonStage", "outcome: won}", "outcome: open}",
                   "funnels.yaml: funnels.acquisition.stages: the funnel has "
                   "no won stage"},
        RejectCase{"WonStageNotCertain", "probability: 1.0, outcome: won",
                   "probability: 0.9, outcome: won",
                   "funnels.acquisition.stages[2].probability: a won stage "
                   "must have probability 1, got 0.9"},
        RejectCase{"LostStageNotZero", "probability: 0, outcome: lost",
                   "probability: 0.1, outcome: lost",
                   "funnels.acquisition.stages[3].probability: a lost stage "
                   "must have probability 0, got 0.1"},
        RejectCase{"UnknownOutcome", "outcome: lost", "outcome: dead",
                   "funnels.acquisition.stages[3].outcome: \"dead\" is not one "
                   "of: open, won, lost"},
        RejectCase{"UnknownKind", "kind: acquisition", "kind: upsell",
                   "funnels.acquisition.kind: \"upsell\" is not one of: "
                   "acquisition, retention, reactivation"},
        RejectCase{"KeyAccountsDepartmentUnknown", "department: key_accounts",
                   "department: vip",
                   "funnels.yaml: key_accounts.department: \"vip\" is not one "
                   "of departments"},
        RejectCase{"RouteNotADepartment", "routes: [sales,", "routes: [salez,",
                   "key_accounts.routes[0]: \"salez\" is not one of "
                   "departments"},
        RejectCase{"BadDuration", "sla: 90m", "sla: 3 weeks",
                   "funnels.acquisition.stages[0].sla: \"3 weeks\" is not a "
                   "duration"},
        RejectCase{"BadDurationUnit", "idle_limit: 48h", "idle_limit: 2w",
                   "funnels.acquisition.stages[0].idle_limit: \"2w\" is not "
                   "a duration: unknown unit 'w'"},
        RejectCase{"StagesNotAList", "stages:\n", "stages: 5\n    x:\n",
                   "funnels.acquisition"},
        RejectCase{"YamlSyntaxError", "{name: new,", "{name: [new,",
                   "funnels.yaml: line 12, column "}),
    [](const ::testing::TestParamInfo<RejectCase>& info) {
      return std::string(info.param.name);
    });

TEST(FunnelConfigTest, ReportsEveryProblemOnItsOwnLine) {
  std::string yaml = Replace(kValid, "probability: 0.4}", "probability: 1.4}");
  yaml = Replace(yaml, "owner: lead_generation,", "owner: marketing,");
  const std::string err = ErrorOf(yaml);
  EXPECT_THAT(err, HasSubstr("stages[1].probability: 1.4 is not in [0, 1]"));
  EXPECT_THAT(err, HasSubstr("\nfunnels.yaml: "));
  EXPECT_THAT(err, HasSubstr("stages[0].owner: \"marketing\""));
}

TEST(FunnelConfigTest, DocumentThatIsNotAMappingIsRejected) {
  EXPECT_THAT(ErrorOf("- just\n- a list\n"),
              HasSubstr("funnels.yaml: $: the document must be a mapping"));
  EXPECT_THAT(ErrorOf(""), HasSubstr("funnels.yaml: $:"));
}

}  // namespace
}  // namespace voronka
