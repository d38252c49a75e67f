// Server: the one-machine Voronka of `voronka serve` — the embedded event log
// and a ProjectorRunner per projection, over one data directory:
//
//   DIR/log          the event log (events/embedded_log.h)
//   DIR/indicators   IndicatorProjection's store generations
//   DIR/funnel       FunnelProjection's store generations
//   DIR/audit        AuditProjection's store generations (the audit index)
//
// Runners resume from their stores' positions, rebuild outdated stores and
// pick up rebuilt ones (services/projector_runner.h). Thread-safe. Stop()
// (or the destructor) lets each projector finish the batch in flight.
#ifndef VORONKA_SERVICES_SERVER_H_
#define VORONKA_SERVICES_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/embedded_log.h"
#include "events/funnel_config.h"
#include "projections/projection.h"
#include "services/projector_runner.h"

namespace voronka {

struct ServerOptions {
  std::string data_dir;
  const FunnelConfig* config = nullptr;  // Default() if null.
  size_t batch_records = 4096;
  // Gives each projection's runner its batch observer (metrics); optional.
  std::function<ProjectorRunner::BatchObserver(const std::string& projection)>
      observe_batches;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();

  EventLog& log() { return *log_; }
  EmbeddedLog& embedded_log() { return *log_; }
  const FunnelConfig& config() const { return *config_; }
  // The stores in service; null until a runner opened its first one.
  std::shared_ptr<const ProjectionStore> indicators() const {
    return runners_[0]->store();
  }
  std::shared_ptr<const ProjectionStore> funnel() const {
    return runners_[1]->store();
  }
  std::shared_ptr<const ProjectionStore> audit() const {
    return runners_[2]->store();
  }
  ProjectorRunner& runner(size_t i) { return *runners_[i]; }
  std::vector<const ProjectorRunner*> runners() const {
    std::vector<const ProjectorRunner*> out;
    for (const auto& r : runners_) out.push_back(r.get());
    return out;
  }
  size_t runner_count() const { return runners_.size(); }

  std::vector<ProjectorStatus> status() const;
  // Waits until every projector has consumed the log up to its end as of
  // the call (and no rebuild runs); DeadlineExceeded after `timeout`.
  absl::Status WaitCaughtUp(absl::Duration timeout);
  void Stop();

 private:
  Server() = default;

  const FunnelConfig* config_ = nullptr;
  std::unique_ptr<EmbeddedLog> log_;
  std::vector<std::unique_ptr<Projection>> projections_;
  std::vector<std::unique_ptr<ProjectorRunner>> runners_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_SERVER_H_
