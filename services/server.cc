#include "services/server.h"

#include "events/status.h"
#include "fmt/format.h"
#include "projections/funnel_projection.h"
#include "projections/indicator_projection.h"
#include "spdlog/spdlog.h"

namespace voronka {

struct Server::Runner {
  Projection* projection = nullptr;
  ProjectionStore* store = nullptr;
  std::thread thread;
  mutable std::mutex mu;
  ProjectorStatus status;  // Guarded by mu.
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("serve: no data directory given");
  }
  auto server = std::unique_ptr<Server>(new Server());
  server->options_ = options;
  server->config_ =
      options.config != nullptr ? options.config : &FunnelConfig::Default();
  VORONKA_ASSIGN_OR_RETURN(
      server->log_, EmbeddedLog::Open({.path = options.data_dir + "/log"}));
  server->projections_.push_back(
      std::make_unique<IndicatorProjection>(*server->config_));
  server->projections_.push_back(
      std::make_unique<FunnelProjection>(*server->config_));
  for (auto& projection : server->projections_) {
    VORONKA_ASSIGN_OR_RETURN(
        std::unique_ptr<ProjectionStore> store,
        ProjectionStore::Open({.path = fmt::format("{}/{}", options.data_dir,
                                                   projection->name())}));
    server->stores_.push_back(std::move(store));
  }
  for (size_t i = 0; i < server->projections_.size(); ++i) {
    auto runner = std::make_unique<Runner>();
    runner->projection = server->projections_[i].get();
    runner->store = server->stores_[i].get();
    runner->status.name = std::string(runner->projection->name());
    server->runners_.push_back(std::move(runner));
  }
  for (auto& runner : server->runners_) {
    Runner* r = runner.get();
    Server* s = server.get();
    r->thread = std::thread([s, r] { s->Run(*r); });
  }
  return server;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  stop_ = true;
  for (auto& runner : runners_) {
    if (runner->thread.joinable()) runner->thread.join();
  }
}

void Server::Run(Runner& runner) {
  while (!stop_) {
    absl::StatusOr<std::unique_ptr<Projector>> projector =
        Projector::Open(*log_, *runner.store, *runner.projection,
                        {.batch_records = options_.batch_records});
    absl::Status error = projector.status();
    while (error.ok() && !stop_) {
      absl::StatusOr<size_t> step = (*projector)->Step(absl::Milliseconds(200));
      std::lock_guard<std::mutex> lock(runner.mu);
      runner.status.positions = (*projector)->positions();
      runner.status.stats = (*projector)->stats();
      if (!step.ok()) error = step.status();
    }
    if (error.ok()) break;
    spdlog::error("projector {}: {}", runner.status.name, error.message());
    {
      std::lock_guard<std::mutex> lock(runner.mu);
      runner.status.last_error = error;
    }
    for (int i = 0; i < 10 && !stop_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

std::vector<ProjectorStatus> Server::status() const {
  std::vector<ProjectorStatus> out;
  for (const auto& runner : runners_) {
    std::lock_guard<std::mutex> lock(runner->mu);
    out.push_back(runner->status);
  }
  return out;
}

absl::Status Server::WaitCaughtUp(absl::Duration timeout) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log_->EndOffsets());
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    bool caught_up = true;
    for (const ProjectorStatus& s : status()) {
      for (size_t p = 0; p < end.size(); ++p) {
        if (p >= s.positions.size() || s.positions[p] < end[p]) {
          caught_up = false;
        }
      }
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
