#include "services/server.h"

#include <chrono>
#include <thread>

#include "events/status.h"
#include "fmt/format.h"
#include "projections/audit_projection.h"
#include "projections/funnel_projection.h"
#include "projections/indicator_projection.h"

namespace voronka {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("serve: no data directory given");
  }
  auto server = std::unique_ptr<Server>(new Server());
  server->config_ =
      options.config != nullptr ? options.config : &FunnelConfig::Default();
  LogFlags log_flags = options.log;
  if (log_flags.kafka_brokers.empty()) {
    log_flags.data_dir = options.data_dir + "/log";
  }
  VORONKA_ASSIGN_OR_RETURN(
      IngestLog log,
      OpenIngestLog(log_flags, options.data_dir + "/ingest-dedup"));
  server->log_ = std::move(log.log);
  server->once_ = std::move(log.once);
  server->projections_.push_back(
      std::make_unique<IndicatorProjection>(*server->config_));
  server->projections_.push_back(
      std::make_unique<FunnelProjection>(*server->config_));
  server->projections_.push_back(
      std::make_unique<AuditProjection>(*server->config_));
  for (auto& projection : server->projections_) {
    server->runners_.push_back(std::make_unique<ProjectorRunner>(
        *server->log_, *projection,
        fmt::format("{}/{}", options.data_dir, projection->name()),
        options.batch_records,
        options.observe_batches
            ? options.observe_batches(std::string(projection->name()))
            : nullptr));
  }
  return server;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  for (auto& runner : runners_) runner->Stop();
}

std::vector<ProjectorStatus> Server::status() const {
  std::vector<ProjectorStatus> out;
  for (const auto& runner : runners_) out.push_back(runner->status());
  return out;
}

absl::Status Server::WaitCaughtUp(absl::Duration timeout) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log_->EndOffsets());
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool caught_up = true;
    for (const ProjectorStatus& s : status()) {
      if (s.rebuilding || !ReachedEnd(s.positions, end)) caught_up = false;
    }
    if (caught_up) return absl::OkStatus();
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          "projectors did not catch up with the log in time");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace voronka
