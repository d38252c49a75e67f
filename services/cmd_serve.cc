// `voronka serve`: one process for a small installation — ingest, every
// projector and the query API (services/server.h) over a data directory, on
// the embedded event log (the default) or a Kafka topic.
//
//   voronka serve --data ./voronka-data
//   voronka serve --data ./voronka-data --kafka BROKERS [--topic T] [-X k=v]
//   voronka serve --data ./voronka-data --demo [--demo-events N] [--rate R]
//   ... [--listen ADDR:PORT] (--tokens FILE | --insecure-dev)
//
// The query API (services/query_api.h, docs/api.md) listens on --listen
// (127.0.0.1:8480 by default) and needs --tokens, or --insecure-dev on a
// development machine.
//
// POST /v1/events (services/ingest_api.h, docs/ingest.md) on the same
// listener takes events from call-centre and CRM software; appends are
// idempotent on (source, id) (events/idempotent_log.h).
//
// With --demo, a simulated sales organisation (services/simulator.h) streams
// over HTTP into that endpoint at --rate events/s, as any client would
// (VORONKA_TOKEN holds its ingest token when --tokens is given). A status line
// every few seconds shows the log and each projector; at the end
// (SIGINT/SIGTERM, or after
// --demo-events once the projectors caught up) a summary read back from the
// read models shows what the organisation did.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/time/clock.h"
#include "events/idempotent_log.h"
#include "events/status.h"
#include "fmt/format.h"
#include "projections/queries.h"
#include "services/audit_api.h"
#include "services/business_metrics.h"
#include "services/commands.h"
#include "services/ingest_api.h"
#include "services/ingest_client.h"
#include "services/log_flags.h"
#include "services/log_metrics.h"
#include "services/projector_metrics.h"
#include "services/query_api.h"
#include "services/server.h"
#include "services/simulator.h"
#include "services/stop_signals.h"

namespace voronka {
namespace {

struct ServeFlags {
  std::string data_dir = "./voronka-data";
  std::string config_path;
  bool demo = false;
  int64_t demo_events = 0;
  double rate = 2000;
  uint64_t seed = 1;
  bool seed_given = false;
  int organisations = 5000;
  double status_every_s = 3;
  LogFlags log;  // Kafka only: the embedded log is always DATA/log.
  std::string append_timeout = "30s";
  ApiListenFlags api;
};

std::string Money2(int64_t minor) {
  return fmt::format("{}{}.{:02}", minor < 0 ? "-" : "", std::abs(minor) / 100,
                     std::abs(minor) % 100);
}

std::string MoneyList(const absl::btree_map<std::string, int64_t>& amounts) {
  std::string out;
  for (const auto& [currency, minor] : amounts) {
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", currency,
                       Money2(minor));
  }
  return out.empty() ? "-" : out;
}

// What the demo did, read back from the read models.
absl::Status PrintSummary(const Server& server, std::ostream& out) {
  constexpr int64_t kAllDays = 1'000'000;
  std::shared_ptr<const ProjectionStore> indicators = server.indicators();
  std::shared_ptr<const ProjectionStore> funnel = server.funnel();
  if (indicators == nullptr || funnel == nullptr) {
    return absl::UnavailableError("read models are not open");
  }
  VORONKA_ASSIGN_OR_RETURN(
      IndicatorTotals total,
      QueryIndicators(*indicators, "t", "", -kAllDays, kAllDays));
  const Counters& c = total.counters;
  out << "\nRead back from the read models:\n";
  out << fmt::format(
      "  whole organisation: {} calls ({} answered, {:.1f} per organisation "
      "called), {} general proposals,\n    {} applications ({}), {} invoices "
      "issued, {} paid ({}), {} deals won, {} lost\n",
      c.Get("calls"), c.Get("calls_answered"), total.calls_per_org(),
      c.Get("proposals_general"), c.Get("applications"),
      MoneyList(c.MoneyOf("applications_amount")), c.Get("invoices_issued"),
      c.Get("invoices_paid"), MoneyList(c.MoneyOf("invoices_paid_amount")),
      c.Get("deals_won"), c.Get("deals_lost"));

  VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> departments,
                           IndicatorIds(*indicators, "d"));
  out << "  per department (calls / proposals / applications / won):\n";
  for (const std::string& d : departments) {
    VORONKA_ASSIGN_OR_RETURN(
        IndicatorTotals t,
        QueryIndicators(*indicators, "d", d, -kAllDays, kAllDays));
    out << fmt::format(
        "    {:<20} {:>7} {:>6} {:>6} {:>5}\n", d, t.counters.Get("calls"),
        t.counters.Get("proposals_general"), t.counters.Get("applications"),
        t.counters.Get("deals_won"));
  }

  VORONKA_ASSIGN_OR_RETURN(std::vector<WorkloadRow> rows,
                           QueryWorkloads(*funnel, ""));
  std::map<std::pair<std::string, std::string>, Counters> by_stage;
  for (const WorkloadRow& r : rows) {
    by_stage[{r.funnel, r.stage}].AddAll(r.counters);
  }
  out << "  stage workloads (deals in stage, open, forecast):\n";
  for (const Funnel& funnel : server.config().funnels()) {
    for (const Stage& stage : funnel.stages) {
      auto it = by_stage.find({funnel.name.value(), stage.name.value()});
      if (it == by_stage.end()) continue;
      absl::btree_map<std::string, int64_t> forecast;
      for (const auto& [cur, bp] : it->second.MoneyOf("forecast_bp")) {
        forecast[cur] = bp / 10000;
      }
      out << fmt::format("    {:<26} {:>6} {:>6}  {}\n",
                         funnel.name.value() + "/" + stage.name.value(),
                         it->second.Get("deals"), it->second.Get("open"),
                         MoneyList(forecast));
    }
  }
  VORONKA_ASSIGN_OR_RETURN(auto queues, QueueLengths(*funnel));
  out << "  handoff queues (deals waiting to be claimed):";
  if (queues.empty()) out << " none";
  for (const auto& [department, n] : queues) {
    out << fmt::format(" {} {};", department, n);
  }
  out << "\n";
  return absl::OkStatus();
}

std::string StatusLine(const Server& server, int64_t log_end, int64_t demo_sent,
                       const IngestMetrics& ingest) {
  std::string line = fmt::format("log {} events", log_end);
  if (ingest.requests() > 0) {
    line += fmt::format(" | ingest {} req, {} events ({} dup, {} rejected)",
                        ingest.requests(), ingest.accepted(),
                        ingest.duplicates(), ingest.rejected());
  }
  for (const ProjectorStatus& s : server.status()) {
    int64_t at = 0;
    for (int64_t p : s.positions) at += p;
    line += fmt::format(" | {} at {} (dup {})", s.name, at, s.stats.duplicates);
    if (s.rebuilding) {
      line += fmt::format(" rebuilding {}/{}", s.rebuild_done, s.rebuild_total);
    }
    if (!s.last_error.ok())
      line += " ERROR: " + std::string(s.last_error.message());
  }
  if (demo_sent >= 0) line += fmt::format(" | demo sent {}", demo_sent);
  return line;
}

absl::Status RunServe(const ServeFlags& flags) {
  StopSignals stop_signals;  // Before any thread starts.

  VORONKA_RETURN_IF_ERROR(CheckApiListenFlags(flags.api));
  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  LogFlags log_flags = flags.log;
  VORONKA_ASSIGN_OR_RETURN(
      log_flags.append_timeout,
      DurationFlag("--append-timeout", flags.append_timeout));
  const bool kafka = !log_flags.kafka_brokers.empty();
  if (!kafka && !log_flags.kafka_config.empty()) {
    return absl::InvalidArgumentError("-X applies to --kafka only");
  }
  VORONKA_RETURN_IF_ERROR(CheckTopicKeepsHistory(log_flags));
  Metrics metrics("serve");
  ProjectorMetrics projector_metrics(metrics);
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<Server> server,
      Server::Start({.data_dir = flags.data_dir,
                     .config = &config,
                     .log = log_flags,
                     .observe_batches = [&](const std::string& projection) {
                       return projector_metrics.BatchObserver(projection);
                     }}));
  Server* s = server.get();
  // Collectors read the server: it outlives the API (stopped first).
  AddLogMetrics(metrics, server->log(), kafka ? "" : flags.data_dir + "/log");
  projector_metrics.Watch(server->log(), server->runners());
  AddBusinessMetrics(metrics, {.config = &config,
                               .funnel = [s] { return s->funnel(); },
                               .indicators = [s] { return s->indicators(); },
                               .per_manager = flags.api.metrics_per_manager});
  IngestMetrics ingest_counters(metrics.registry());
  AuditAccessLog audit_access(flags.data_dir + "/audit-access.jsonl");
  const int64_t max_lag = flags.api.ready_max_lag;
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<QueryApiServer> api,
      QueryApiServer::Start(
          flags.api,
          {.config = &config,
           .indicators = [s] { return s->indicators(); },
           .funnel = [s] { return s->funnel(); },
           .readiness =
               [s, max_lag] {
                 return CheckReadiness(s->log(), s->runners(), max_lag);
               },
           .metrics = &metrics},
          std::cout, [&](HttpServer& http, const TokenStore* tokens) {
            VORONKA_RETURN_IF_ERROR(RegisterAuditApi(
                http, {.config = &config,
                       .audit = [s] { return s->audit(); },
                       .indicators = [s] { return s->indicators(); },
                       .log = &s->log(),
                       .access = &audit_access,
                       .tokens = tokens}));
            return RegisterIngestApi(http, {.config = &config,
                                            .log = &s->ingest_log(),
                                            .tokens = tokens,
                                            .metrics = &ingest_counters});
          }));
  std::cout << fmt::format(
                   "  ingest (docs/ingest.md): POST {}/v1/events "
                   "(CloudEvents: structured, batch or binary mode)\n",
                   api->url())
            << std::flush;
  SimulatorOptions sim_options{.seed = flags.seed,
                               .organisations = flags.organisations};
  if (flags.demo && !flags.seed_given) {
    // A demo run again on the same data tells a new story (new ids) rather
    // than re-sending the old one, which the projectors would de-duplicate.
    VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end,
                             server->log().EndOffsets());
    const int64_t records = RecordsUpTo(end);
    if (records > 0) sim_options.seed = static_cast<uint64_t>(records) + 1;
  }
  if (flags.demo) {
    VORONKA_RETURN_IF_ERROR(Simulator::Check(config, sim_options));
  }
  std::cout << fmt::format(
                   "voronka serve: data in {} ({}; projectors: "
                   "indicators, funnel, audit). Stop with Ctrl-C.\n",
                   flags.data_dir,
                   kafka ? DescribeLog(log_flags) : "embedded log")
            << std::flush;

  std::atomic<bool> stop{false};
  std::atomic<int64_t> demo_sent{flags.demo ? 0 : -1};
  absl::Status demo_status;
  std::thread demo;
  if (flags.demo) {
    std::cout << fmt::format(
        "demo: a simulated sales organisation (seed {}, {} organisations) "
        "streams into the log at {} events/s{}.\n",
        sim_options.seed, flags.organisations, flags.rate,
        flags.demo_events > 0 ? fmt::format(", {} events", flags.demo_events)
                              : "");
    // The demo is a client like any other: it POSTs batches to ingest.
    const char* token = std::getenv("VORONKA_TOKEN");
    if (!flags.api.insecure_dev && (token == nullptr || *token == '\0')) {
      return absl::InvalidArgumentError(
          "--demo with --tokens needs an ingest token in the environment "
          "variable VORONKA_TOKEN");
    }
    VORONKA_ASSIGN_OR_RETURN(
        std::shared_ptr<IngestClient> demo_client,
        IngestClient::Create({.url = api->url() + "/v1/events",
                              .token = token == nullptr ? "" : token,
                              .wait = [&stop](absl::Duration d) {
                                const absl::Time end = absl::Now() + d;
                                while (!stop && absl::Now() < end) {
                                  absl::SleepFor(absl::Milliseconds(50));
                                }
                                return !stop;
                              }}));
    const std::string& url = api->url();
    std::cout << fmt::format(
        "demo: where to look while it runs (docs/api.md):\n"
        "  funnel stages and forecast:  curl -s {0}/v1/stages ; curl -s "
        "{0}/v1/forecast\n"
        "  handoff queues:              curl -s {0}/v1/queues\n"
        "  leading indicators per week: curl -s "
        "'{0}/v1/indicators?scope=total&group=week'\n"
        "  the live funnel page:        {0}/funnel\n"
        "  send events yourself:        voronka simulate --url "
        "{0}/v1/events --seed 99 --events 1000\n"
        "  audit a manager who left:    voronka audit managers --data {1} ; "
        "voronka audit history MANAGER --data {1} (docs/audit.md)\n"
        "  Ctrl-C ends the demo with a summary read back from the read "
        "models.\n",
        url, flags.data_dir);
    demo = std::thread([&, demo_client] {
      Simulator sim(config, sim_options);
      const size_t batch =
          std::clamp<size_t>(static_cast<size_t>(flags.rate / 10), 1, 5000);
      const auto begin = std::chrono::steady_clock::now();
      int64_t sent = 0;
      while (!stop && (flags.demo_events == 0 || sent < flags.demo_events)) {
        size_t n = batch;
        if (flags.demo_events > 0) {
          n = std::min<size_t>(n, flags.demo_events - sent);
        }
        absl::StatusOr<IngestResult> sent_batch =
            demo_client->Send(sim.Next(n));
        if (!sent_batch.ok()) {
          if (!absl::IsCancelled(sent_batch.status())) {
            demo_status = sent_batch.status();
          }
          break;
        }
        sent += static_cast<int64_t>(n);
        demo_sent = sent;
        if (flags.rate > 0) {
          std::this_thread::sleep_until(
              begin + std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::duration<double>(sent / flags.rate)));
        }
      }
    });
  }

  const absl::Duration tick = absl::Seconds(flags.status_every_s);
  bool signalled = false;
  while (true) {
    if (stop_signals.Wait(tick)) {
      signalled = true;
      break;
    }
    absl::StatusOr<std::vector<int64_t>> end = server->log().EndOffsets();
    std::cout << StatusLine(*server, end.ok() ? RecordsUpTo(*end) : -1,
                            demo_sent, ingest_counters)
              << std::endl;
    if (flags.demo && flags.demo_events > 0 && demo_sent >= flags.demo_events) {
      break;
    }
  }
  stop = true;
  if (demo.joinable()) demo.join();
  // Stop accepting; requests in flight finish (their appends are durable
  // when they are answered).
  api->Stop();
  VORONKA_RETURN_IF_ERROR(demo_status);
  if (!signalled || flags.demo) {
    absl::Status caught_up = server->WaitCaughtUp(absl::Seconds(60));
    if (!caught_up.ok() && !signalled) return caught_up;
  }
  absl::StatusOr<std::vector<int64_t>> end = server->log().EndOffsets();
  std::cout << StatusLine(*server, end.ok() ? RecordsUpTo(*end) : -1, demo_sent,
                          ingest_counters)
            << std::endl;
  if (flags.demo) VORONKA_RETURN_IF_ERROR(PrintSummary(*server, std::cout));
  server->Stop();
  std::cout << "voronka serve: stopped; every projector committed its last "
               "batch. Run it again to resume.\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* cmd = app.add_subcommand(
      "serve",
      "Run Voronka in one process: ingest, every projector and the query API, "
      "on the embedded log (default) or a Kafka topic (--kafka)");
  cmd->add_option("--data", flags->data_dir, "Data directory")
      ->capture_default_str();
  cmd->add_option("--config", flags->config_path,
                  "Funnel configuration YAML (default: built in)");
  cmd->add_flag("--demo", flags->demo,
                "Stream a simulated sales organisation into the log");
  cmd->add_option("--demo-events", flags->demo_events,
                  "Stop the demo after this many events (0: run until Ctrl-C)")
      ->capture_default_str();
  cmd->add_option("--rate", flags->rate, "Demo events per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option_function<uint64_t>(
      "--seed",
      [flags](const uint64_t& seed) {
        flags->seed = seed;
        flags->seed_given = true;
      },
      "Demo simulator seed (default: 1 on an empty log, else a new one)");
  cmd->add_option("--organisations", flags->organisations,
                  "Organisations in the simulated market")
      ->check(CLI::Range(10, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--status-every", flags->status_every_s,
                  "Seconds between status lines")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  AddKafkaFlags(*cmd, flags->log, "instead of the embedded log in --data");
  cmd->add_option("--append-timeout", flags->append_timeout,
                  "Kafka: fail an append (503) not acknowledged in this time")
      ->capture_default_str();
  AddApiListenFlags(*cmd, flags->api);
  cmd->callback([flags] { FailIfError(RunServe(*flags)); });
}

}  // namespace voronka
