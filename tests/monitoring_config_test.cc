// The monitoring configuration in deploy/: Prometheus's scrape configuration
// and rules pass promtool (its checks and the rules' unit tests), every
// alert says how bad it is and where its runbook is and is tested firing and
// quiet, every Grafana dashboard is well-formed with valid PromQL, and every
// metric a dashboard or a rule reads is one Voronka exports: listed in the
// catalog of docs/observability.md, and served on /metrics by a running
// `voronka serve` (or, for the Kafka metrics, `voronka ingest --kafka`).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "events/cloudevents.h"
#include "events/funnel_config.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/dev_broker.h"
#include "services/http_client.h"
#include "services/simulator.h"
#include "tests/testing/child_process.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"
#include "yaml-cpp/yaml.h"

namespace voronka {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::ChildProcess;
using testing::Listening;
using testing::MetricTypes;
using testing::StartListening;

const fs::path kSource = VORONKA_SOURCE_DIR;
const fs::path kPrometheusConfig = kSource / "deploy/prometheus/prometheus.yml";
const fs::path kRules = kSource / "deploy/prometheus/rules/voronka.rules.yml";
const fs::path kRuleTests =
    kSource / "deploy/prometheus/rules/voronka.rules.test.yml";
const fs::path kPrometheusReadme = kSource / "deploy/prometheus/README.md";
const fs::path kDashboards = kSource / "deploy/grafana/dashboards";
const fs::path kDatasources =
    kSource / "deploy/grafana/provisioning/datasources/prometheus.yml";
const fs::path kCatalog = kSource / "docs/observability.md";

// Prometheus's own series, not Voronka's.
const std::set<std::string> kPrometheusOwn = {"up"};

std::string Relative(const fs::path& p) {
  return fs::relative(p, kSource).string();
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `promtool args...` with its stdout and stderr together.
testing::CommandResult Promtool(const std::vector<std::string>& args) {
  std::vector<std::string> sh = {"-c", "exec promtool \"$@\" 2>&1", "promtool"};
  sh.insert(sh.end(), args.begin(), args.end());
  auto result = testing::RunCommand("/bin/sh", sh, "", absl::Seconds(120));
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return {};
  if (result->exit_code == 127) {
    result->out +=
        "\n(promtool is in the Debian package prometheus: "
        "scripts/install-deps.sh)";
  }
  return *result;
}

// ---- what the configuration reads -------------------------------------------

// One metric name used somewhere, and where.
struct Reference {
  std::string name;
  std::string where;
};

struct Rule {
  std::string name;  // The alert or the recorded series.
  bool alert = false;
  YAML::Node node;
};

std::vector<Rule> LoadRules() {
  std::vector<Rule> rules;
  YAML::Node root = YAML::LoadFile(kRules.string());
  for (const YAML::Node& group : root["groups"]) {
    for (const YAML::Node& rule : group["rules"]) {
      const bool alert = static_cast<bool>(rule["alert"]);
      rules.push_back(
          {.name = rule[alert ? "alert" : "record"].as<std::string>(),
           .alert = alert,
           .node = rule});
    }
  }
  return rules;
}

struct Dashboard {
  fs::path path;
  json doc;
};

std::vector<Dashboard> LoadDashboards() {
  std::vector<Dashboard> dashboards;
  for (const fs::directory_entry& e : fs::directory_iterator(kDashboards)) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    // No exceptions: a file that does not parse is reported by the
    // well-formedness test.
    dashboards.push_back(
        {e.path(), json::parse(in, nullptr, /*allow_exceptions=*/false)});
  }
  std::sort(
      dashboards.begin(), dashboards.end(),
      [](const Dashboard& a, const Dashboard& b) { return a.path < b.path; });
  return dashboards;
}

// Every panel, those nested in (collapsed) rows included.
void ForEachPanel(const json& panels,
                  const std::function<void(const json&)>& fn) {
  if (!panels.is_array()) return;
  for (const json& panel : panels) {
    fn(panel);
    if (panel.contains("panels")) ForEachPanel(panel["panels"], fn);
  }
}

std::string StringOr(const json& j, const char* key, std::string fallback) {
  return j.is_object() && j.contains(key) && j[key].is_string()
             ? j[key].get<std::string>()
             : fallback;
}

// A PromQL query with where it is, from a dashboard.
struct Query {
  std::string expr;
  std::string where;
  std::string id;  // For a recording rule name: letters, digits, _.
};

// The PromQL of a template variable's query ("label_values(sel, label)" ->
// "sel"); "" if it reads no metric.
std::string VariablePromQL(std::string q) {
  q = std::string(absl::StripAsciiWhitespace(q));
  absl::string_view inner = q;
  if (absl::ConsumePrefix(&inner, "query_result(")) {
    absl::ConsumeSuffix(&inner, ")");
    return std::string(inner);
  }
  if (absl::ConsumePrefix(&inner, "label_values(")) {
    absl::ConsumeSuffix(&inner, ")");
    // label_values(label) reads no metric; label_values(selector, label).
    int depth = 0;
    size_t comma = absl::string_view::npos;
    for (size_t i = 0; i < inner.size(); ++i) {
      if (inner[i] == '{' || inner[i] == '(') ++depth;
      if (inner[i] == '}' || inner[i] == ')') --depth;
      if (inner[i] == ',' && depth == 0) comma = i;
    }
    return comma == absl::string_view::npos
               ? ""
               : std::string(inner.substr(0, comma));
  }
  if (absl::StartsWith(q, "label_names(") || absl::StartsWith(q, "metrics(")) {
    return "";
  }
  return q;
}

std::vector<Query> DashboardQueries(const Dashboard& d) {
  std::vector<Query> queries;
  const std::string file = Relative(d.path);
  std::string stem = d.path.stem().string();
  std::replace(stem.begin(), stem.end(), '-', '_');
  ForEachPanel(d.doc.value("panels", json::array()), [&](const json& panel) {
    if (!panel.contains("targets") || !panel["targets"].is_array()) return;
    const int id = panel.value("id", 0);
    for (const json& target : panel["targets"]) {
      const std::string ref = StringOr(target, "refId", "?");
      queries.push_back({StringOr(target, "expr", ""),
                         fmt::format("{}: panel {} \"{}\" query {}", file, id,
                                     StringOr(panel, "title", ""), ref),
                         fmt::format("{}:panel_{}_{}", stem, id, ref)});
    }
  });
  const json vars = d.doc.contains("templating")
                        ? d.doc["templating"].value("list", json::array())
                        : json::array();
  for (const json& var : vars) {
    if (StringOr(var, "type", "") != "query") continue;
    const json& q = var.contains("query") ? var["query"] : json();
    const std::string text =
        q.is_string() ? q.get<std::string>() : StringOr(q, "query", "");
    const std::string expr = VariablePromQL(text);
    if (expr.empty()) continue;
    const std::string name = StringOr(var, "name", "?");
    queries.push_back({expr, fmt::format("{}: variable ${}", file, name),
                       fmt::format("{}:variable_{}", stem, name)});
  }
  return queries;
}

// Every metric name the rules and dashboards read, and the recording rules
// (which count as known).
struct References {
  std::vector<Reference> refs;
  std::set<std::string> recorded;
};

References AllReferences() {
  References all;
  const std::string rules_file = Relative(kRules);
  for (const Rule& rule : LoadRules()) {
    if (!rule.alert) all.recorded.insert(rule.name);
    for (const std::string& name :
         testing::MetricNamesInPromQL(rule.node["expr"].as<std::string>())) {
      all.refs.push_back(
          {name, fmt::format("{}: {} {}", rules_file,
                             rule.alert ? "alert" : "record", rule.name)});
    }
  }
  for (const Dashboard& d : LoadDashboards()) {
    for (const Query& q : DashboardQueries(d)) {
      for (const std::string& name : testing::MetricNamesInPromQL(q.expr)) {
        all.refs.push_back({name, q.where});
      }
    }
  }
  return all;
}

// "name: where; where" for every reference `known` rejects, one per line;
// "" when all are known.
std::string Unknown(const References& all,
                    const std::function<bool(const std::string&)>& known) {
  std::map<std::string, std::vector<std::string>> unknown;
  for (const Reference& r : all.refs) {
    if (kPrometheusOwn.count(r.name) > 0 || all.recorded.count(r.name) > 0 ||
        known(r.name)) {
      continue;
    }
    unknown[r.name].push_back(r.where);
  }
  std::string out;
  for (const auto& [name, places] : unknown) {
    out +=
        fmt::format("  {}  used in: {}\n", name, absl::StrJoin(places, "; "));
  }
  return out;
}

// ---- the lexer -------------------------------------------------------------

TEST(MetricNamesTest, SkipsFunctionsKeywordsLabelsStringsAndDurations) {
  using ::testing::ElementsAre;
  EXPECT_THAT(
      testing::MetricNamesInPromQL(
          "histogram_quantile(0.9, sum by (le, department) "
          "(rate(voronka_claim_wait_today_seconds_bucket{job=~\"$job\", "
          "le!=\"+Inf\"}[$__rate_interval])))"),
      ElementsAre("voronka_claim_wait_today_seconds_bucket"));
  EXPECT_THAT(testing::MetricNamesInPromQL(
                  "max by (department) (a_wait > on (job, instance, "
                  "department) group_left (x) b_sla) and ignoring(y) c "
                  "unless d offset 1h or sum(e) without (f) > bool 1e-3"),
              ElementsAre("a_wait", "b_sla", "c", "d", "e"));
  EXPECT_THAT(testing::MetricNamesInPromQL(
                  "label_replace(up{a=\"}\"}, \"dst\", \"$1\", 'src', "
                  "\"(.*)\") # comment_name\n + job:ratio:rate5m[1h:5m] @ "
                  "start() + ${var:csv} + topk(3, x)"),
              ElementsAre("job:ratio:rate5m", "up", "x"));
}

TEST(MetricNamesTest, MapsHistogramSeriesToTheirFamily) {
  const MetricTypes types = {{"voronka_claim_wait_today_seconds", "histogram"},
                             {"voronka_calls_count", "gauge"}};
  EXPECT_EQ(
      testing::MetricFamily("voronka_claim_wait_today_seconds_bucket", types),
      "voronka_claim_wait_today_seconds");
  EXPECT_EQ(
      testing::MetricFamily("voronka_claim_wait_today_seconds_count", types),
      "voronka_claim_wait_today_seconds");
  EXPECT_EQ(testing::MetricFamily("voronka_calls_count", types),
            "voronka_calls_count");
  EXPECT_EQ(testing::MetricFamily("voronka_calls_sum", types),
            "voronka_calls_sum");
}

TEST(MetricNamesTest, ReadsTheCatalogTablesAndTheExpositionFormat) {
  const MetricTypes catalog = testing::MetricCatalog(
      "| metric | type | labels | meaning |\n"
      "|---|---|---|---|\n"
      "| `voronka_a_total` | counter | `x` | the `voronka_not_this` |\n"
      "| `voronka_b_seconds` | histogram | | |\n"
      "| alert | `voronka_c` | |\n"
      "With `--metrics-per-manager`: `voronka_m1`,\n"
      "`voronka_m2` (1 or 0), labels `department`.\n"
      "\n"
      "Not `voronka_d`.\n");
  EXPECT_EQ(catalog, (MetricTypes{{"voronka_a_total", "counter"},
                                  {"voronka_b_seconds", "histogram"},
                                  {"voronka_m1", "gauge"},
                                  {"voronka_m2", "gauge"}}));
  EXPECT_EQ(testing::ExposedMetrics("# HELP voronka_h Help.\n"
                                    "# TYPE voronka_h histogram\n"
                                    "voronka_h_bucket{le=\"1\"} 3\n"
                                    "voronka_g{a=\"b c\"} 1.5\n"
                                    "voronka_u 2 1700000000\n"),
            (MetricTypes{{"voronka_h", "histogram"},
                         {"voronka_h_bucket", ""},
                         {"voronka_g", ""},
                         {"voronka_u", ""}}));
}

// ---- Prometheus ------------------------------------------------------------

TEST(PrometheusConfigTest, PromtoolAcceptsTheScrapeConfiguration) {
  testing::CommandResult r =
      Promtool({"check", "config", kPrometheusConfig.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(PrometheusConfigTest, PromtoolAcceptsTheRules) {
  testing::CommandResult r = Promtool({"check", "rules", kRules.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(PrometheusConfigTest, RuleUnitTestsPass) {
  testing::CommandResult r = Promtool({"test", "rules", kRuleTests.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(PrometheusConfigTest, EveryAlertHasASeverityAnnotationsAndARunbook) {
  // Runbooks are written in deploy/prometheus/README.md and will move to
  // docs/observability.md; the anchor must be in one of them.
  std::set<std::string> anchors =
      testing::MarkdownAnchors(ReadFile(kPrometheusReadme));
  anchors.merge(testing::MarkdownAnchors(ReadFile(kCatalog)));
  const std::set<std::string> severities = {"critical", "warning", "info"};
  int alerts = 0;
  for (const Rule& rule : LoadRules()) {
    if (!rule.alert) continue;
    ++alerts;
    SCOPED_TRACE(rule.name);
    const YAML::Node labels = rule.node["labels"];
    const YAML::Node annotations = rule.node["annotations"];
    EXPECT_TRUE(labels && labels["severity"] &&
                severities.count(labels["severity"].as<std::string>()) > 0)
        << "needs labels.severity: critical, warning or info";
    for (const char* key : {"summary", "description", "runbook"}) {
      EXPECT_TRUE(annotations && annotations[key] &&
                  !annotations[key].as<std::string>().empty())
          << "needs annotations." << key;
    }
    if (!annotations || !annotations["runbook"]) continue;
    const std::string anchor = absl::AsciiStrToLower(rule.name);
    EXPECT_EQ(annotations["runbook"].as<std::string>(),
              "docs/observability.md#" + anchor);
    EXPECT_TRUE(anchors.count(anchor) > 0)
        << "no heading \"### " << rule.name << "\" (the runbook) in "
        << Relative(kPrometheusReadme) << " or " << Relative(kCatalog);
  }
  EXPECT_GT(alerts, 0);
}

TEST(PrometheusConfigTest, EveryAlertIsTestedFiringAndQuiet) {
  std::set<std::string> alerts;
  for (const Rule& rule : LoadRules()) {
    if (rule.alert) alerts.insert(rule.name);
  }
  std::set<std::string> fires, quiet;
  YAML::Node root = YAML::LoadFile(kRuleTests.string());
  for (const YAML::Node& test : root["tests"]) {
    for (const YAML::Node& case_ : test["alert_rule_test"]) {
      const std::string name = case_["alertname"].as<std::string>();
      // promtool passes a test of an alert that does not exist, if it
      // expects nothing.
      EXPECT_TRUE(alerts.count(name) > 0)
          << Relative(kRuleTests) << ": test \""
          << test["name"].as<std::string>("") << "\" names alert " << name
          << ", which " << Relative(kRules) << " does not define";
      const YAML::Node expected = case_["exp_alerts"];
      (expected && expected.size() > 0 ? fires : quiet).insert(name);
    }
  }
  for (const std::string& alert : alerts) {
    EXPECT_TRUE(fires.count(alert) > 0)
        << Relative(kRuleTests) << " has no case where " << alert << " fires";
    EXPECT_TRUE(quiet.count(alert) > 0)
        << Relative(kRuleTests) << " has no case where " << alert
        << " stays quiet";
  }
}

// ---- Grafana ---------------------------------------------------------------

TEST(GrafanaDashboardTest, EveryDashboardIsWellFormed) {
  const std::string uid =
      YAML::LoadFile(kDatasources.string())["datasources"][0]["uid"]
          .as<std::string>();
  const json datasource = {{"type", "prometheus"}, {"uid", "${datasource}"}};
  std::vector<Dashboard> dashboards = LoadDashboards();
  ASSERT_GE(dashboards.size(), 4u);
  std::set<std::string> uids;
  for (const Dashboard& d : dashboards) {
    SCOPED_TRACE(Relative(d.path));
    ASSERT_TRUE(d.doc.is_object()) << "not a JSON object";
    const std::string dash_uid = StringOr(d.doc, "uid", "");
    EXPECT_FALSE(dash_uid.empty()) << "no uid";
    EXPECT_TRUE(uids.insert(dash_uid).second) << "uid " << dash_uid << " twice";
    EXPECT_FALSE(StringOr(d.doc, "title", "").empty()) << "no title";
    EXPECT_TRUE(d.doc.contains("schemaVersion") &&
                d.doc["schemaVersion"].is_number_integer());
    // The data source variable, defaulting to the provisioned one.
    bool has_datasource_var = false;
    if (d.doc.contains("templating")) {
      for (const json& var : d.doc["templating"].value("list", json::array())) {
        if (StringOr(var, "type", "") != "datasource") continue;
        has_datasource_var = StringOr(var, "name", "") == "datasource" &&
                             StringOr(var, "query", "") == "prometheus" &&
                             var.contains("current") &&
                             StringOr(var["current"], "value", "") == uid;
      }
    }
    EXPECT_TRUE(has_datasource_var)
        << "needs a variable \"datasource\" of type datasource (prometheus) "
           "defaulting to uid "
        << uid << " (" << Relative(kDatasources) << ")";
    ASSERT_TRUE(d.doc.contains("panels") && d.doc["panels"].is_array() &&
                !d.doc["panels"].empty())
        << "no panels";
    std::set<int> ids;
    ForEachPanel(d.doc["panels"], [&](const json& panel) {
      const std::string where =
          fmt::format("panel {} \"{}\"", panel.value("id", 0),
                      StringOr(panel, "title", ""));
      EXPECT_TRUE(panel.contains("id") && panel["id"].is_number_integer() &&
                  ids.insert(panel["id"].get<int>()).second)
          << where << ": no id, or an id used twice";
      EXPECT_FALSE(StringOr(panel, "title", "").empty()) << where;
      EXPECT_TRUE(panel.contains("gridPos")) << where << ": no gridPos";
      if (StringOr(panel, "type", "") == "row") return;
      EXPECT_EQ(panel.value("datasource", json()), datasource) << where;
      ASSERT_TRUE(panel.contains("targets") && panel["targets"].is_array() &&
                  !panel["targets"].empty())
          << where << ": no targets";
      std::set<std::string> refs;
      for (const json& target : panel["targets"]) {
        EXPECT_FALSE(StringOr(target, "expr", "").empty())
            << where << ": a target without expr";
        EXPECT_TRUE(refs.insert(StringOr(target, "refId", "")).second)
            << where << ": refId missing or twice";
        EXPECT_EQ(target.value("datasource", datasource), datasource) << where;
      }
    });
  }
}

// Grafana's variables in a query replaced by something PromQL accepts.
std::string WithoutVariables(absl::string_view expr) {
  std::string out;
  for (size_t i = 0; i < expr.size();) {
    if (expr[i] != '$') {
      out += expr[i++];
      continue;
    }
    size_t end = i + 1;
    if (end < expr.size() && expr[end] == '{') {
      end = expr.find('}', end);
      end = end == absl::string_view::npos ? expr.size() : end + 1;
    } else {
      while (end < expr.size() &&
             (absl::ascii_isalnum(expr[end]) || expr[end] == '_')) {
        ++end;
      }
    }
    const absl::string_view var = expr.substr(i, end - i);
    // Durations ($__rate_interval, $__interval, $__range); any other
    // variable stands in a label matcher's string.
    out += absl::StartsWith(var, "$__") || absl::StartsWith(var, "${__") ? "5m"
                                                                         : "x";
    i = end;
  }
  return out;
}

TEST(GrafanaDashboardTest, EveryQueryIsValidPromQL) {
  // promtool parses every query as the expression of a recording rule
  // named after where the query is.
  YAML::Emitter rules;
  rules << YAML::BeginMap << YAML::Key << "groups" << YAML::Value
        << YAML::BeginSeq << YAML::BeginMap << YAML::Key << "name"
        << YAML::Value << "dashboards" << YAML::Key << "rules" << YAML::Value
        << YAML::BeginSeq;
  int n = 0;
  for (const Dashboard& d : LoadDashboards()) {
    for (const Query& q : DashboardQueries(d)) {
      rules << YAML::BeginMap << YAML::Key << "record" << YAML::Value
            << "check:" + q.id << YAML::Key << "expr" << YAML::Value
            << WithoutVariables(q.expr) << YAML::EndMap;
      ++n;
    }
  }
  rules << YAML::EndSeq << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  ASSERT_GT(n, 0);
  testing::TempDir dir;
  const std::string path = dir.Sub("dashboard_queries.yml");
  std::ofstream(path) << rules.c_str() << "\n";
  testing::CommandResult r = Promtool({"check", "rules", path});
  EXPECT_EQ(r.exit_code, 0)
      << "a dashboard query does not parse (rule \"check:FILE:panel_ID_REFID\" "
         "or \"check:FILE:variable_NAME\"):\n"
      << r.out;
}

// ---- the metrics -----------------------------------------------------------

TEST(MonitoringMetricsTest, EveryMetricUsedIsInTheCatalog) {
  ASSERT_TRUE(fs::exists(kCatalog)) << kCatalog << " is missing";
  const MetricTypes catalog = testing::MetricCatalog(ReadFile(kCatalog));
  ASSERT_GT(catalog.size(), 20u)
      << "no metric tables found in " << Relative(kCatalog);
  const References all = AllReferences();
  ASSERT_FALSE(all.refs.empty());
  const std::string unknown = Unknown(all, [&](const std::string& name) {
    return catalog.count(testing::MetricFamily(name, catalog)) > 0;
  });
  EXPECT_TRUE(unknown.empty())
      << "metrics not in the catalog of " << Relative(kCatalog) << ":\n"
      << unknown;
}

absl::StatusOr<std::string> GetMetrics(const std::string& base_url) {
  return testing::HttpGetBody(base_url + "/metrics");
}

// What a process exposes: the families of its last successful scrape.
struct Scraped {
  MetricTypes metrics;
  std::string error;  // Why the last scrape failed, if it did.
};

bool Exposes(const Scraped& s, const std::string& name) {
  return s.metrics.count(testing::MetricFamily(name, s.metrics)) > 0;
}

// The live check: every metric the dashboards and rules read is on the
// /metrics of a running `voronka serve` (the demo with per-manager metrics,
// so that every business gauge has data), or, for the Kafka metrics that a
// process on the embedded log does not have, of `voronka ingest --kafka`
// with its Kafka inbox (on the dev broker).
TEST(MonitoringMetricsTest, EveryMetricUsedIsServedByVoronka) {
  const References all = AllReferences();
  ASSERT_FALSE(all.refs.empty());
  testing::TempDir dir;

  auto broker = DevBroker::Start(
      {.brokers = 1,
       .topics = {"voronka.events", "voronka.inbox", "voronka.inbox.dlq"},
       .partitions = 2});
  ASSERT_TRUE(broker.ok()) << broker.status();
  // One valid record and one dead letter, so that the inbox has counted
  // both kinds.
  Simulator sim(FunnelConfig::Default(), {.seed = 5});
  auto kcat = testing::RunCommand(
      "kcat", {"-P", "-b", (*broker)->bootstrap(), "-t", "voronka.inbox"},
      ToStructuredJson(sim.Next(1)[0]) + "\nthis is not json\n",
      absl::Seconds(60));
  ASSERT_TRUE(kcat.ok() && kcat->exit_code == 0) << "kcat -P failed";
  absl::StatusOr<Listening> ingest = StartListening(
      VORONKA_BINARY,
      {"ingest", "--kafka", (*broker)->bootstrap(), "--dedup-dir",
       dir.Sub("dedup"), "--from-topic", "voronka.inbox", "--insecure-dev",
       "--listen", "127.0.0.1:0", "--status-every", "5"});
  ASSERT_TRUE(ingest.ok()) << ingest.status();

  // The demo sends 3000 events at 100 a second: serve runs for 30 s, then
  // exits by itself.
  absl::StatusOr<Listening> serve = StartListening(
      VORONKA_BINARY,
      {"serve", "--data", dir.Sub("data"), "--demo", "--demo-events", "3000",
       "--rate", "100", "--insecure-dev", "--metrics-per-manager", "--listen",
       "127.0.0.1:0", "--status-every", "5"});
  ASSERT_TRUE(serve.ok()) << serve.status();

  Scraped from_serve, from_ingest;
  auto missing = [&] {
    return Unknown(all, [&](const std::string& name) {
      return Exposes(from_serve, name) || Exposes(from_ingest, name);
    });
  };
  // Scrape until the projectors have applied events and every name is
  // there, or serve has ended (the demo is over), or 60 s have passed.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  bool serve_answered = false;
  bool serve_projected = false;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> text = GetMetrics(serve->url);
    if (!text.ok()) {
      from_serve.error = std::string(text.status().message());
      if (absl::IsUnavailable(text.status()) && serve_answered) break;
    } else {
      from_serve.metrics = testing::ExposedMetrics(*text);
      from_serve.error.clear();
      serve_projected =
          serve_projected ||
          absl::StrContains(*text, "voronka_projector_events_applied_total{");
    }
    serve_answered = serve_answered || !absl::IsUnavailable(text.status());
    text = GetMetrics(ingest->url);
    if (text.ok()) {
      from_ingest.metrics = testing::ExposedMetrics(*text);
      from_ingest.error.clear();
    } else {
      from_ingest.error = std::string(text.status().message());
    }
    if (serve_projected && missing().empty()) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(serve_projected)
      << "serve's /metrics never showed voronka_projector_events_applied_total"
      << (from_serve.error.empty() ? "" : "; last error: " + from_serve.error);
  EXPECT_FALSE(from_ingest.metrics.empty())
      << "no /metrics from voronka ingest: " << from_ingest.error;
  const std::string unknown = missing();
  EXPECT_TRUE(unknown.empty())
      << "metrics neither `voronka serve --demo --metrics-per-manager` nor "
         "`voronka ingest --kafka` (with its inbox) serves on /metrics:\n"
      << unknown;
}

}  // namespace
}  // namespace voronka
