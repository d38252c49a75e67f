// Server: the one-machine Voronka of `voronka serve` — the embedded log and
// every projector, each in its own thread, over stores in one data
// directory:
//
//   DIR/log          the event log (events/embedded_log.h)
//   DIR/indicators   IndicatorProjection's store
//   DIR/funnel       FunnelProjection's store
//
// Projector threads read from their stores' positions, so a restart resumes
// exactly where the last commit left off. A projector that fails (store
// error, corrupt record) reports the error in status() and retries from its
// last commit every second; it never skips a record silently.
//
// Thread-safe. Stop() (or the destructor) lets each projector finish the
// batch in flight and commit it.
#ifndef VORONKA_SERVICES_SERVER_H_
#define VORONKA_SERVICES_SERVER_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "events/embedded_log.h"
#include "events/funnel_config.h"
#include "projections/projection.h"
#include "projections/projector.h"
#include "projections/store.h"

namespace voronka {

struct ServerOptions {
  std::string data_dir;
  const FunnelConfig* config = nullptr;  // Default() if null.
  size_t batch_records = 4096;
};

struct ProjectorStatus {
  std::string name;
  std::vector<int64_t> positions;
  ProjectorStats stats;
  absl::Status last_error;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options);
  ~Server();

  EventLog& log() { return *log_; }
  const FunnelConfig& config() const { return *config_; }
  const ProjectionStore& indicators() const { return *stores_[0]; }
  const ProjectionStore& funnel() const { return *stores_[1]; }

  std::vector<ProjectorStatus> status() const;
  // Waits until every projector has consumed the log up to its end as of
  // the call; DeadlineExceeded after `timeout`.
  absl::Status WaitCaughtUp(absl::Duration timeout);
  void Stop();

 private:
  struct Runner;
  Server() = default;
  void Run(Runner& runner);

  ServerOptions options_;
  const FunnelConfig* config_ = nullptr;
  std::unique_ptr<EmbeddedLog> log_;
  std::vector<std::unique_ptr<Projection>> projections_;
  std::vector<std::unique_ptr<ProjectionStore>> stores_;
  std::vector<std::unique_ptr<Runner>> runners_;
  std::atomic<bool> stop_{false};
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_SERVER_H_
