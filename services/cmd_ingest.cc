// `voronka ingest`: the ingest service on its own — POST /v1/events
// (services/ingest_api.h) and, with --from-topic, the Kafka inbox
// (services/inbox.h) — appending to Kafka (production) or to an embedded log.
//
//   voronka ingest --kafka BROKERS [--topic voronka.events] [-X key=value]
//       [--dedup-dir ./voronka-ingest-dedup] [--dedup-window 30d]
//       [--append-timeout 30s] [--listen ADDR:PORT] (--tokens FILE |
//       --insecure-dev) [--max-body BYTES]
//       [--from-topic voronka.inbox [--dead-letter-topic voronka.inbox.dlq]
//        [--group voronka-ingest] [--inbox-kafka BROKERS]] [--no-http]
//
// Every ingest listens on --listen for /metrics, /healthz and /readyz; with
// --no-http that is all it serves there (no token needed).
//
// Appends are idempotent on (source, id) (events/idempotent_log.h): on
// Kafka through the index in --dedup-dir, which one ingest process owns. On
// SIGINT/SIGTERM the HTTP listener stops accepting, requests in flight
// finish, the inbox settles its batch, and the Kafka producer flushes.
#include <iostream>
#include <memory>
#include <string>

#include "events/status.h"
#include "fmt/format.h"
#include "services/commands.h"
#include "services/health.h"
#include "services/inbox.h"
#include "services/ingest_api.h"
#include "services/ingest_metrics.h"
#include "services/log_flags.h"
#include "services/log_metrics.h"
#include "services/metrics.h"
#include "services/query_api.h"
#include "services/stop_signals.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

struct IngestFlags {
  LogFlags log;
  std::string config_path;
  std::string dedup_dir = "./voronka-ingest-dedup";
  std::string dedup_window = "30d";
  std::string append_timeout = "30s";
  ApiListenFlags api;
  bool no_http = false;
  std::string inbox_topic;
  std::string dead_letter_topic = "voronka.inbox.dlq";
  std::string group = "voronka-ingest";
  std::string inbox_brokers;
  double status_every_s = 10;
};

absl::Status RunIngest(IngestFlags flags) {
  StopSignals stop_signals;  // Before any thread starts.
  if (flags.no_http && flags.inbox_topic.empty()) {
    return absl::InvalidArgumentError(
        "--no-http without --from-topic leaves nothing to ingest");
  }
  // The listener then serves only /metrics, /healthz and /readyz.
  flags.api.health_only = flags.no_http;
  VORONKA_RETURN_IF_ERROR(CheckApiListenFlags(flags.api));
  const std::string inbox_brokers = flags.inbox_brokers.empty()
                                        ? flags.log.kafka_brokers
                                        : flags.inbox_brokers;
  if (!flags.inbox_topic.empty() && inbox_brokers.empty()) {
    return absl::InvalidArgumentError(
        "--from-topic needs Kafka: give --kafka BROKERS, or --inbox-kafka "
        "BROKERS with an embedded log");
  }
  VORONKA_ASSIGN_OR_RETURN(flags.log.dedup_window,
                           DurationFlag("--dedup-window", flags.dedup_window));
  VORONKA_ASSIGN_OR_RETURN(
      flags.log.append_timeout,
      DurationFlag("--append-timeout", flags.append_timeout));
  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  VORONKA_RETURN_IF_ERROR(CheckTopicKeepsHistory(flags.log));
  VORONKA_ASSIGN_OR_RETURN(IngestLog log,
                           OpenIngestLog(flags.log, flags.dedup_dir));
  std::cout << fmt::format(
      "voronka ingest: appending to {}{}\n", DescribeLog(flags.log),
      flags.log.kafka_brokers.empty()
          ? ""
          : fmt::format(" (de-duplication index in {})", flags.dedup_dir));

  Metrics metrics("ingest");
  AddLogMetrics(metrics, *log.log, flags.log.data_dir);
  IngestMetrics counters(metrics.registry());
  EventLog* event_log = log.log.get();
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<QueryApiServer> api,
      QueryApiServer::Start(
          flags.api,
          {.config = &config,
           .readiness =
               [event_log] { return CheckReadiness(*event_log, {}, 0); },
           .metrics = &metrics},
          std::cout, [&](HttpServer& http, const TokenStore* tokens) {
            if (flags.no_http) return absl::OkStatus();
            return RegisterIngestApi(http, {.config = &config,
                                            .log = log.once.get(),
                                            .tokens = tokens,
                                            .metrics = &counters});
          }));
  if (!flags.no_http) {
    std::cout << fmt::format("  ingest (docs/ingest.md): POST {}/v1/events\n",
                             api->url());
  }
  std::unique_ptr<Inbox> inbox;
  if (!flags.inbox_topic.empty()) {
    VORONKA_ASSIGN_OR_RETURN(auto client_config, KafkaClientConfig(flags.log));
    VORONKA_ASSIGN_OR_RETURN(
        inbox, Inbox::Start({.brokers = inbox_brokers,
                             .topic = flags.inbox_topic,
                             .dead_letter_topic = flags.dead_letter_topic,
                             .group = flags.group,
                             .client_config = std::move(client_config),
                             .config = &config,
                             .log = log.once.get()}));
    AddInboxMetrics(metrics, *inbox);
    std::cout << fmt::format(
        "  inbox: consuming {} on {} as group {}; invalid records go to {}\n",
        flags.inbox_topic, inbox_brokers, flags.group, flags.dead_letter_topic);
  }
  std::cout << std::flush;

  auto status_line = [&] {
    std::string line = fmt::format(
        "http {} req, {} events accepted ({} dup, {} rejected, {} x 503)",
        counters.requests(), counters.accepted(), counters.duplicates(),
        counters.rejected(), counters.unavailable());
    if (inbox != nullptr) {
      const InboxStats& s = inbox->stats();
      line += fmt::format(
          " | inbox {} records, {} appended ({} dup), {} dead-lettered",
          s.records.load(), s.appended.load(), s.duplicates.load(),
          s.dead_lettered.load());
      if (absl::Status e = inbox->last_error(); !e.ok()) {
        line += fmt::format(" ERROR: {}", e.message());
      }
    }
    return line;
  };
  while (!stop_signals.Wait(absl::Seconds(flags.status_every_s))) {
    std::cout << status_line() << std::endl;
  }
  api->Stop();
  if (inbox != nullptr) inbox->Stop();
  std::cout << status_line() << "\nvoronka ingest: stopped\n" << std::flush;
  return absl::OkStatus();
}

}  // namespace

void RegisterIngestCommand(CLI::App& app) {
  auto flags = std::make_shared<IngestFlags>();
  CLI::App* cmd = app.add_subcommand(
      "ingest",
      "Accept events over HTTP (POST /v1/events) and from a Kafka inbox, "
      "appending each (source, id) once (docs/ingest.md)");
  AddLogFlags(*cmd, flags->log);
  cmd->add_option("--config", flags->config_path,
                  "Funnel configuration YAML (default: built in)");
  cmd->add_option("--dedup-dir", flags->dedup_dir,
                  "Kafka: directory of the (source, id) index")
      ->capture_default_str();
  cmd->add_option("--dedup-window", flags->dedup_window,
                  "Remember each (source, id) at least this long")
      ->capture_default_str();
  cmd->add_option("--append-timeout", flags->append_timeout,
                  "Kafka: fail an append (503) not acknowledged in this time")
      ->capture_default_str();
  AddApiListenFlags(*cmd, flags->api);
  cmd->add_flag("--no-http", flags->no_http,
                "No POST /v1/events (the Kafka inbox only); --listen still "
                "serves /metrics, /healthz and /readyz");
  cmd->add_option("--from-topic", flags->inbox_topic,
                  "Consume CloudEvents from this Kafka topic (the inbox)");
  cmd->add_option("--dead-letter-topic", flags->dead_letter_topic,
                  "Where invalid inbox records go, with the reason")
      ->capture_default_str();
  cmd->add_option("--group", flags->group, "Consumer group of the inbox")
      ->capture_default_str();
  cmd->add_option("--inbox-kafka", flags->inbox_brokers,
                  "Brokers of the inbox (default: --kafka)");
  cmd->add_option("--status-every", flags->status_every_s,
                  "Seconds between status lines")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd->callback([flags] { FailIfError(RunIngest(*flags)); });
}

}  // namespace voronka
