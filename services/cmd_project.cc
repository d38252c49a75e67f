// `voronka project`: one projector as its own process (production topology:
// one process per projection, reading every partition of the event topic,
// so replicas are plain full copies).
//
//   voronka project NAME --data DIR --kafka BROKERS [--topic T] [-X k=v]
//   voronka project NAME --data DIR --log LOGDIR      (an embedded log)
//   voronka project rebuild NAME --data DIR (--kafka ... | --log LOGDIR)
//   voronka project backup NAME --data DIR --to BACKUP_ROOT [--log ...]
//   voronka project restore NAME --from BACKUP --data DIR [--config F] [--log
//   ...]
//
// `voronka project NAME` also serves the query API routes of its projection
// (docs/api.md) on --listen, with --tokens FILE or --insecure-dev.
//
// NAME is `indicators`, `funnel` or `audit`; the store generations live in
// DIR/NAME (projections/generations.h). The projector resumes from its store's
// positions, rebuilds by itself when its store was built by another version
// of the logic, prints a status line every --status-every seconds and stops
// cleanly on SIGTERM/SIGINT (the batch in flight is committed or not at all).
//
// `rebuild` fills a new generation from position 0 up to the log's current
// end, printing progress, then promotes it; a running `voronka project` (or
// `voronka serve`) on the same DIR swaps to it within a second and carries
// on from there. An embedded log is read as a snapshot, so this works while
// `voronka serve` holds it.
//
// `backup` copies the store in service of DIR/NAME into a new directory
// under BACKUP_ROOT with a manifest (positions, version, file checksums),
// also while a projector holds the store; with a log it records the log and
// its end. `restore` checks a backup (projection, version under --config,
// checksums, not ahead of the log when one is given) and promotes it as a
// new generation of DIR/NAME: a running projector swaps to it, a new one
// resumes from its positions and catches up (services/store_backup.h,
// docs/backup.md).
#include <signal.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "events/status.h"
#include "fmt/format.h"
#include "projections/audit_projection.h"
#include "projections/funnel_projection.h"
#include "projections/generations.h"
#include "projections/indicator_projection.h"
#include "services/audit_api.h"
#include "services/business_metrics.h"
#include "services/commands.h"
#include "services/health.h"
#include "services/log_flags.h"
#include "services/log_metrics.h"
#include "services/metrics.h"
#include "services/projector_metrics.h"
#include "services/projector_runner.h"
#include "services/query_api.h"
#include "services/stop_signals.h"
#include "services/store_backup.h"

namespace voronka {
namespace {

struct ProjectFlags {
  std::string name;
  std::string data_dir;
  std::string backup_root;  // backup --to
  std::string backup_dir;   // restore --from
  std::string config_path;
  LogFlags log;
  double status_every_s = 5;
  ApiListenFlags api;
};

absl::StatusOr<std::unique_ptr<Projection>> MakeProjection(
    const std::string& name, const FunnelConfig& config) {
  if (name == "indicators") {
    return std::unique_ptr<Projection>(new IndicatorProjection(config));
  }
  if (name == "audit") {
    return std::unique_ptr<Projection>(new AuditProjection(config));
  }
  if (name == "funnel") {
    return std::unique_ptr<Projection>(new FunnelProjection(config));
  }
  return absl::InvalidArgumentError(fmt::format(
      "\"{}\" is not a projection (indicators, funnel, audit)", name));
}

absl::Status RunProject(const ProjectFlags& flags) {
  if (flags.name.empty() || flags.data_dir.empty()) {
    return absl::InvalidArgumentError(
        "usage: voronka project NAME --data DIR (--kafka BROKERS | --log DIR)");
  }
  VORONKA_RETURN_IF_ERROR(CheckApiListenFlags(flags.api));
  StopSignals stop_signals;  // Before any thread starts.

  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Projection> projection,
                           MakeProjection(flags.name, config));
  VORONKA_RETURN_IF_ERROR(CheckTopicKeepsHistory(flags.log));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags.log));
  const std::string dir = fmt::format("{}/{}", flags.data_dir, flags.name);
  std::cout << fmt::format("voronka project {}: {} -> {}\n", flags.name,
                           DescribeLog(flags.log), dir)
            << std::flush;
  Metrics metrics("project");
  AuditAccessLog audit_access(flags.data_dir + "/audit-access.jsonl");
  ProjectorMetrics projector_metrics(metrics);
  ProjectorRunner runner(*log, *projection, dir, 4096,
                         projector_metrics.BatchObserver(flags.name));
  projector_metrics.Watch(*log, {&runner});
  // Only this projection's routes: the other's answer 404 saying so.
  QueryApiOptions api_options{.config = &config};
  StoreGetter getter = [&runner] { return runner.store(); };
  if (flags.name == "indicators") api_options.indicators = getter;
  if (flags.name == "funnel") api_options.funnel = getter;
  AddLogMetrics(metrics, *log, flags.log.data_dir);
  AddBusinessMetrics(metrics, {.config = &config,
                               .funnel = api_options.funnel,
                               .indicators = api_options.indicators,
                               .per_manager = flags.api.metrics_per_manager});
  const int64_t max_lag = flags.api.ready_max_lag;
  EventLog* event_log = log.get();
  const ProjectorRunner* runner_ptr = &runner;
  api_options.readiness = [event_log, runner_ptr, max_lag] {
    const ProjectorRunner* runners[] = {runner_ptr};
    return CheckReadiness(*event_log, runners, max_lag);
  };
  api_options.metrics = &metrics;
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<QueryApiServer> api,
      QueryApiServer::Start(
          flags.api, std::move(api_options), std::cout,
          [&](HttpServer& http, const TokenStore* tokens) -> absl::Status {
            if (flags.name != "audit") return absl::OkStatus();
            return RegisterAuditApi(http, {.config = &config,
                                           .audit = getter,
                                           .log = log.get(),
                                           .access = &audit_access,
                                           .tokens = tokens});
          }));
  const absl::Duration tick = absl::Seconds(flags.status_every_s);
  while (!stop_signals.Wait(tick)) {
    const ProjectorStatus s = runner.status();
    auto end = log->EndOffsets();
    std::string line = fmt::format(
        "log {} | {} at {} (applied {}, dup {}, conflicts {})",
        end.ok() ? RecordsUpTo(*end) : -1, s.name, RecordsUpTo(s.positions),
        s.stats.applied, s.stats.duplicates, s.stats.conflicts);
    line += fmt::format(
        " [{}]", std::filesystem::path(s.generation).filename().string());
    if (s.rebuilding) {
      line += fmt::format(" rebuilding {}/{}", s.rebuild_done, s.rebuild_total);
    }
    if (!s.last_error.ok()) line += " ERROR: " + s.last_error.ToString();
    std::cout << line << std::endl;
  }
  api->Stop();
  runner.Stop();
  std::cout << fmt::format("voronka project {}: stopped at {}\n", flags.name,
                           RecordsUpTo(runner.status().positions));
  return absl::OkStatus();
}

absl::Status RunRebuild(ProjectFlags flags) {
  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Projection> projection,
                           MakeProjection(flags.name, config));
  flags.log.read_only = true;
  VORONKA_RETURN_IF_ERROR(CheckTopicKeepsHistory(flags.log));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags.log));
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log->EndOffsets());
  Generations generations(fmt::format("{}/{}", flags.data_dir, flags.name));
  VORONKA_RETURN_IF_ERROR(generations.Current().status());
  VORONKA_ASSIGN_OR_RETURN(std::string generation, generations.Create());
  const int64_t total = RecordsUpTo(end);
  std::cout << fmt::format("rebuild {}: {} records from {} into {}\n",
                           flags.name, total, DescribeLog(flags.log),
                           generation)
            << std::flush;
  const absl::Time start = absl::Now();
  {
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> store,
                             ProjectionStore::Open({.path = generation}));
    VORONKA_ASSIGN_OR_RETURN(
        std::unique_ptr<Projector> projector,
        Projector::Open(*log, *store, *projection, {.batch_records = 16384}));
    absl::Time next_report = absl::Now() + absl::Seconds(1);
    while (!ReachedEnd(projector->positions(), end)) {
      VORONKA_RETURN_IF_ERROR(
          projector->Step(absl::Milliseconds(500)).status());
      if (absl::Now() >= next_report) {
        next_report = absl::Now() + absl::Seconds(1);
        const int64_t n = RecordsUpTo(projector->positions());
        const double s = absl::ToDoubleSeconds(absl::Now() - start);
        std::cout << fmt::format(
                         "rebuild {}: {}/{} records ({:.0f}%), {:.0f}/s\n",
                         flags.name, n, total,
                         total > 0 ? 100.0 * n / total : 100.0, n / s)
                  << std::flush;
      }
    }
    std::cout << fmt::format("rebuild {}: compacting the rows\n", flags.name)
              << std::flush;
    VORONKA_RETURN_IF_ERROR(store->CompactRows());
  }
  VORONKA_RETURN_IF_ERROR(generations.Promote(generation));
  std::cout << fmt::format(
      "rebuild {}: done in {:.1f} s; {} is in service (running projectors "
      "switch to it and continue from its positions)\n",
      flags.name, absl::ToDoubleSeconds(absl::Now() - start), generation);
  return absl::OkStatus();
}

bool HasLog(const LogFlags& flags) {
  return !flags.data_dir.empty() || !flags.kafka_brokers.empty();
}

std::string FormatPositions(const std::vector<int64_t>& v) {
  return fmt::format("[{}]", fmt::join(v, ", "));
}

absl::Status RunBackup(ProjectFlags flags) {
  VORONKA_RETURN_IF_ERROR(MakeProjection(flags.name, FunnelConfig::Default())
                              .status());  // A known NAME.
  BackupOptions options{.projection = flags.name,
                        .data_dir = flags.data_dir,
                        .backup_root = flags.backup_root};
  if (HasLog(flags.log)) {
    flags.log.read_only = true;
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags.log));
    VORONKA_ASSIGN_OR_RETURN(options.log_end, log->EndOffsets());
    options.log_description = DescribeLog(flags.log);
  }
  VORONKA_ASSIGN_OR_RETURN(BackupResult backup, BackupStore(options));
  const BackupManifest& m = backup.manifest;
  std::cout << fmt::format(
      "backup {}: {} ({} of {}), {} files, {:.1f} MiB, positions {} ({} "
      "records), {} in {:.2f} s\n",
      flags.name, backup.dir, m.method, m.source, m.files.size(),
      m.bytes() / 1048576.0, FormatPositions(m.positions), m.records(),
      m.version, absl::ToDoubleSeconds(backup.took));
  return absl::OkStatus();
}

absl::Status RunRestore(ProjectFlags flags) {
  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Projection> projection,
                           MakeProjection(flags.name, config));
  RestoreOptions options{.projection = flags.name,
                         .version = projection->version(),
                         .backup_dir = flags.backup_dir,
                         .data_dir = flags.data_dir};
  if (HasLog(flags.log)) {
    flags.log.read_only = true;
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags.log));
    VORONKA_ASSIGN_OR_RETURN(options.log_end, log->EndOffsets());
  }
  VORONKA_ASSIGN_OR_RETURN(RestoreResult restored, RestoreStore(options));
  const BackupManifest& m = restored.manifest;
  std::cout << fmt::format(
      "restore {}: {} ({:.1f} MiB, made {}) is in service as {} at positions "
      "{} ({} records), in {:.2f} s; projectors continue from there\n",
      flags.name, flags.backup_dir, m.bytes() / 1048576.0, m.created,
      restored.generation, FormatPositions(m.positions), m.records(),
      absl::ToDoubleSeconds(restored.took));
  return absl::OkStatus();
}

// `required`: false on `project` itself, whose subcommand `rebuild` would
// otherwise be taken for a NAME; RunProject checks them instead.
void AddCommon(CLI::App* cmd, ProjectFlags& flags, bool required) {
  cmd->add_option("name", flags.name, "Projection: indicators, funnel or audit")
      ->required(required);
  cmd->add_option("--data", flags.data_dir,
                  "Directory for the projection's stores")
      ->required(required);
  cmd->add_option("--config", flags.config_path,
                  "Funnel configuration YAML (default: built in)");
  AddLogFlags(*cmd, flags.log, "--log");
}

}  // namespace

void RegisterProjectCommand(CLI::App& app) {
  auto flags = std::make_shared<ProjectFlags>();
  CLI::App* cmd = app.add_subcommand(
      "project", "Run one projector (indicators, funnel or audit) over a log");
  AddCommon(cmd, *flags, /*required=*/false);
  cmd->add_option("--status-every", flags->status_every_s,
                  "Seconds between status lines")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  AddApiListenFlags(*cmd, flags->api);
  cmd->callback([flags, cmd] {
    if (cmd->got_subcommand("rebuild") || cmd->got_subcommand("backup") ||
        cmd->got_subcommand("restore")) {
      return;
    }
    FailIfError(RunProject(*flags));
  });

  auto rebuild = std::make_shared<ProjectFlags>();
  CLI::App* rebuild_cmd = cmd->add_subcommand(
      "rebuild",
      "Rebuild a projection into a new store from position 0, then swap it in");
  AddCommon(rebuild_cmd, *rebuild, /*required=*/true);
  rebuild_cmd->callback([rebuild] { FailIfError(RunRebuild(*rebuild)); });

  auto backup = std::make_shared<ProjectFlags>();
  CLI::App* backup_cmd = cmd->add_subcommand(
      "backup",
      "Copy the store in service (even while a projector runs on it) into a "
      "new backup under --to");
  AddCommon(backup_cmd, *backup, /*required=*/true);
  backup_cmd
      ->add_option("--to", backup->backup_root,
                   "Backup root: the backup is a new directory in it")
      ->required();
  backup_cmd->callback([backup] { FailIfError(RunBackup(*backup)); });

  auto restore = std::make_shared<ProjectFlags>();
  CLI::App* restore_cmd = cmd->add_subcommand(
      "restore",
      "Check a backup and put it in service as a new generation; projectors "
      "continue from its positions");
  AddCommon(restore_cmd, *restore, /*required=*/true);
  restore_cmd
      ->add_option("--from", restore->backup_dir,
                   "A backup directory written by `project backup`")
      ->required();
  restore_cmd->callback([restore] { FailIfError(RunRestore(*restore)); });
}

}  // namespace voronka
