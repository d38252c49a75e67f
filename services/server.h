// Server: the one-machine Voronka of `voronka serve` — the event log with
// its idempotent append (for ingest) and a ProjectorRunner per projection,
// over one data directory:
//
//   DIR/log          the embedded event log (events/embedded_log.h), or
//   DIR/ingest-dedup with a Kafka log (`serve --kafka`), ingest's index of
//                    (source, id) (events/idempotent_log.h)
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
#include "events/funnel_config.h"
#include "events/idempotent_log.h"
#include "projections/projection.h"
#include "services/log_flags.h"
#include "services/projector_runner.h"

namespace voronka {

struct ServerOptions {
  std::string data_dir;
  const FunnelConfig* config = nullptr;  // Default() if null.
  // Kafka when log.kafka_brokers is set; otherwise log.data_dir is ignored
  // and the embedded log is DIR/log.
  LogFlags log;
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
  // Appends each (source, id) once: what ingest writes through.
  IdempotentLog& ingest_log() { return *once_; }
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
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<IdempotentLog> once_;  // Appends into log_.
  std::vector<std::unique_ptr<Projection>> projections_;
  std::vector<std::unique_ptr<ProjectorRunner>> runners_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_SERVER_H_
