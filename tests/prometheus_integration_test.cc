// A real Prometheus (Debian's `prometheus` server) scrapes a running
// `voronka serve` and a separate `voronka project funnel` on the dev broker
// while simulators stream events into both; the numbers Prometheus stores
// must agree with what the query APIs say (queue lengths, open deals per
// stage), the alert rules of deploy/prometheus evaluate against live data,
// and `promtool check metrics` accepts the live /metrics.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "events/funnel_config.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/dev_broker.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using json = nlohmann::json;
using testing::ChildProcess;
using testing::HttpGetJson;
using testing::Listening;
using testing::StartListening;

constexpr char kPrometheus[] = "/usr/bin/prometheus";

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// "host:port" of "http://host:port".
std::string HostPort(const std::string& url) {
  return url.substr(url.find("//") + 2);
}

// The instant vector of `query` as label-set -> value, with the labels in
// `keys` joined by '/'.
absl::StatusOr<std::map<std::string, double>> Query(
    const std::string& prometheus, const std::string& query,
    const std::vector<std::string>& keys) {
  absl::StatusOr<json> r =
      HttpGetJson(prometheus + "/api/v1/query?query=" + PercentEncode(query));
  if (!r.ok()) return r.status();
  if ((*r)["status"] != "success") {
    return absl::InternalError(fmt::format("{}: {}", query, r->dump()));
  }
  std::map<std::string, double> out;
  for (const json& sample : (*r)["data"]["result"]) {
    std::vector<std::string> parts;
    for (const std::string& k : keys) {
      parts.push_back(sample["metric"].value(k, ""));
    }
    out[absl::StrJoin(parts, "/")] =
        std::stod(sample["value"][1].get<std::string>());
  }
  return out;
}

// Open deals per "funnel/stage" of the open stages, from GET /v1/stages.
absl::StatusOr<std::map<std::string, double>> ApiOpenDeals(
    const std::string& url) {
  absl::StatusOr<json> r = HttpGetJson(url + "/v1/stages");
  if (!r.ok()) return r.status();
  const FunnelConfig& config = FunnelConfig::Default();
  std::map<std::string, double> out;
  for (const json& s : (*r)["stages"]) {
    const std::string funnel = s["funnel"], stage = s["stage"];
    const Stage* st = config.FindStage(funnel, stage);
    if (st == nullptr || st->closed() || !st->owner) continue;
    out[funnel + "/" + stage] = s["open"].get<double>();
  }
  return out;
}

absl::StatusOr<std::map<std::string, double>> ApiQueueLengths(
    const std::string& url) {
  absl::StatusOr<json> r = HttpGetJson(url + "/v1/queues");
  if (!r.ok()) return r.status();
  std::map<std::string, double> out;
  for (const json& q : (*r)["queues"]) {
    out[q["department"].get<std::string>()] = q["length"].get<double>();
  }
  return out;
}

std::string Show(const absl::StatusOr<std::map<std::string, double>>& m) {
  if (!m.ok()) return m.status().ToString();
  std::vector<std::string> parts;
  for (const auto& [k, v] : *m) parts.push_back(fmt::format("{}={}", k, v));
  return "{" + absl::StrJoin(parts, ", ") + "}";
}

// Waits until GET url/readyz says every projector has caught up.
bool WaitReady(const std::string& url, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<json> r = HttpGetJson(url + "/readyz");
    bool caught_up = r.ok();
    if (r.ok()) {
      for (const auto& [name, check] : (*r)["checks"].items()) {
        if (check.contains("lag") && check["lag"] != 0) caught_up = false;
      }
    }
    if (caught_up) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

TEST(PrometheusIntegrationTest, PrometheusSeesWhatTheQueryApisSay) {
  ASSERT_TRUE(std::filesystem::exists(kPrometheus))
      << kPrometheus
      << " is missing: install Debian's prometheus package "
         "(scripts/install-deps.sh does)";
  testing::TempDir dir;
  auto broker = DevBroker::Start(
      {.brokers = 1, .topics = {"voronka.events"}, .partitions = 2});
  ASSERT_TRUE(broker.ok()) << broker.status();

  absl::StatusOr<Listening> serve = StartListening(
      VORONKA_BINARY, {"serve", "--data", dir.Sub("serve"), "--insecure-dev",
                       "--listen", "127.0.0.1:0", "--status-every", "5"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  absl::StatusOr<Listening> projector = StartListening(
      VORONKA_BINARY, {"project", "funnel", "--kafka", (*broker)->bootstrap(),
                       "--data", dir.Sub("projector"), "--insecure-dev",
                       "--listen", "127.0.0.1:0", "--status-every", "5"});
  ASSERT_TRUE(projector.ok()) << projector.status();

  // Prometheus scrapes both every second and evaluates Voronka's rules.
  const int port = testing::FreePort();
  const std::string config_path = dir.Sub("prometheus.yml");
  {
    std::ofstream config(config_path);
    config << fmt::format(
        "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n"
        "rule_files: ['{}/deploy/prometheus/rules/voronka.rules.yml']\n"
        "scrape_configs:\n"
        "  - job_name: voronka-serve\n"
        "    static_configs: [{{targets: ['{}']}}]\n"
        "  - job_name: voronka-projector\n"
        "    static_configs: [{{targets: ['{}']}}]\n",
        VORONKA_SOURCE_DIR, HostPort(serve->url), HostPort(projector->url));
  }
  auto prometheus = ChildProcess::Start(
      kPrometheus,
      {"--config.file=" + config_path, "--storage.tsdb.path=" + dir.Sub("tsdb"),
       fmt::format("--web.listen-address=127.0.0.1:{}", port),
       "--log.level=warn"});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();
  const std::string prom = fmt::format("http://127.0.0.1:{}", port);

  // Traffic while Prometheus scrapes: over HTTP into serve, and straight
  // into the Kafka topic the projector reads.
  auto to_serve =
      testing::RunCommand(VORONKA_BINARY,
                          {"simulate", "--url", serve->url + "/v1/events",
                           "--events", "6000", "--rate", "1000", "--seed", "3"},
                          "", absl::Seconds(120));
  ASSERT_TRUE(to_serve.ok() && to_serve->exit_code == 0)
      << "simulate --url failed";
  auto to_kafka =
      testing::RunCommand(VORONKA_BINARY,
                          {"simulate", "--kafka", (*broker)->bootstrap(),
                           "--events", "4000", "--rate", "2000", "--seed", "4"},
                          "", absl::Seconds(120));
  ASSERT_TRUE(to_kafka.ok() && to_kafka->exit_code == 0)
      << "simulate --kafka failed";
  ASSERT_TRUE(WaitReady(serve->url, absl::Seconds(60)));
  ASSERT_TRUE(WaitReady(projector->url, absl::Seconds(60)));

  // Both stay put from here on; Prometheus must come to show the same.
  auto api_queues = ApiQueueLengths(serve->url);
  auto api_serve_open = ApiOpenDeals(serve->url);
  auto api_projector_open = ApiOpenDeals(projector->url);
  ASSERT_TRUE(api_queues.ok() && api_serve_open.ok() &&
              api_projector_open.ok());
  double queued = 0, open = 0;
  for (const auto& [k, v] : *api_queues) queued += v;
  for (const auto& [k, v] : *api_projector_open) open += v;
  ASSERT_GT(queued, 0) << "the simulation left no queue to compare";
  ASSERT_GT(open, 0) << "the projector holds no open deal to compare";

  absl::StatusOr<std::map<std::string, double>> prom_queues, prom_serve_open,
      prom_projector_open, up;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  bool agreed = false;
  while (!agreed && absl::Now() < deadline) {
    up = Query(prom, "up", {"job"});
    prom_queues =
        Query(prom, "voronka_handoff_queue_length{job=\"voronka-serve\"}",
              {"department"});
    prom_serve_open = Query(
        prom,
        "sum by (funnel, stage) (voronka_deals_open{job=\"voronka-serve\"})",
        {"funnel", "stage"});
    prom_projector_open =
        Query(prom,
              "sum by (funnel, stage) "
              "(voronka_deals_open{job=\"voronka-projector\"})",
              {"funnel", "stage"});
    agreed = up.ok() && up->size() == 2 && up->at("voronka-serve") == 1 &&
             up->at("voronka-projector") == 1 && prom_queues.ok() &&
             *prom_queues == *api_queues && prom_serve_open.ok() &&
             *prom_serve_open == *api_serve_open && prom_projector_open.ok() &&
             *prom_projector_open == *api_projector_open;
    if (!agreed) absl::SleepFor(absl::Milliseconds(500));
  }
  EXPECT_TRUE(agreed) << "Prometheus and the query APIs disagree:\n"
                      << "  up: " << Show(up) << "\n"
                      << "  queues: API " << Show(api_queues)
                      << "\n          Prometheus " << Show(prom_queues) << "\n"
                      << "  serve open deals: API " << Show(api_serve_open)
                      << "\n          Prometheus " << Show(prom_serve_open)
                      << "\n"
                      << "  projector open deals: API "
                      << Show(api_projector_open) << "\n          Prometheus "
                      << Show(prom_projector_open);

  // The live exposition passes promtool's lint (names, units, help).
  for (const std::string& url : {serve->url, projector->url}) {
    absl::StatusOr<std::string> text = testing::HttpGetBody(url + "/metrics");
    ASSERT_TRUE(text.ok()) << text.status();
    auto lint = testing::RunCommand("/usr/bin/promtool", {"check", "metrics"},
                                    *text, absl::Seconds(60));
    ASSERT_TRUE(lint.ok()) << lint.status();
    EXPECT_EQ(lint->exit_code, 0)
        << "promtool check metrics on " << url << "/metrics:\n"
        << lint->out;
  }

  // Ingest counted what it took, and the rules evaluate on live data: the
  // recording rule of the ingest error share exists and is 0.
  auto events = Query(
      prom, "sum(voronka_ingest_events_total{job=\"voronka-serve\"})", {});
  ASSERT_TRUE(events.ok()) << events.status();
  EXPECT_EQ(events->size(), 1u);
  if (!events->empty()) {
    EXPECT_EQ(events->begin()->second, 6000);
  }
  absl::StatusOr<json> rules = HttpGetJson(prom + "/api/v1/rules");
  ASSERT_TRUE(rules.ok()) << rules.status();
  int evaluated = 0;
  for (const json& group : (*rules)["data"]["groups"]) {
    for (const json& rule : group["rules"]) {
      EXPECT_EQ(rule.value("health", ""), "ok")
          << rule.value("name", "") << ": " << rule.value("lastError", "");
      ++evaluated;
    }
  }
  EXPECT_GT(evaluated, 10);
}

}  // namespace
}  // namespace voronka
