// ProjectorRunner: one projection kept up to date in a thread — the unit
// that `voronka serve` runs for every projection and `voronka project` for
// one.
//
// The store lives in a Generations directory (projections/generations.h).
// The runner:
//  * opens the generation in service and projects the log into it, resuming
//    from its stored positions;
//  * rebuilds into a new generation when the store was built by another
//    version of the projection, or when asked (RequestRebuild()), while the
//    old store keeps answering queries; when the new one has caught up with
//    the log's end it is promoted and swapped in;
//  * notices a generation promoted by another process (`voronka project
//    rebuild`) and swaps to it;
//  * on an error (store, corrupt record) records it in status() and retries
//    from its last commit every second; nothing is skipped silently.
//
// Thread-safe. store() hands out the store in service; a swapped-out store
// stays open until its last reader lets go.
#ifndef VORONKA_SERVICES_PROJECTOR_RUNNER_H_
#define VORONKA_SERVICES_PROJECTOR_RUNNER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "events/log.h"
#include "projections/generations.h"
#include "projections/projection.h"
#include "projections/projector.h"
#include "projections/store.h"

namespace voronka {

struct ProjectorStatus {
  std::string name;
  std::string generation;          // Directory of the store in service.
  std::vector<int64_t> positions;  // Where the store in service stands.
  ProjectorStats stats;            // Since the runner started (this store).
  absl::Status last_error;
  bool rebuilding = false;
  int64_t rebuild_done = 0;   // Records the rebuild consumed so far...
  int64_t rebuild_total = 0;  // ...of this many (the log's end at its start).
};

class ProjectorRunner {
 public:
  // Called on the runner's thread after each batch with records committed
  // to the store in service, with how long it took (metrics).
  using BatchObserver = std::function<void(absl::Duration)>;

  ProjectorRunner(EventLog& log, Projection& projection, std::string dir,
                  size_t batch_records = 4096,
                  BatchObserver on_batch = nullptr);
  ~ProjectorRunner();  // Stop()

  void Stop();
  void RequestRebuild() { rebuild_requested_ = true; }
  std::shared_ptr<const ProjectionStore> store() const;
  ProjectorStatus status() const;

 private:
  void Run();
  // Opens the generation in service if it is not `open_generation` yet,
  // then rebuilds (outdated store or request) or projects until something
  // changes. OK means "go round again".
  absl::Status RunOnce(std::shared_ptr<ProjectionStore>& store,
                       std::string& open_generation);
  // Fills a new generation from position 0 up to the log's current end and
  // promotes it; an abandoned one (error, Stop) is discarded. The store in
  // service keeps answering queries meanwhile, but does not advance.
  absl::Status Rebuild();
  absl::Status FillAndPromote(const std::string& generation,
                              const std::vector<int64_t>& end);
  // Projects into `store` until stopped, a rebuild is requested or another
  // generation is promoted (OK), or an error.
  absl::Status RunProjector(ProjectionStore& store,
                            const std::string& generation);
  void SetError(const absl::Status& error);

  EventLog& log_;
  Projection& projection_;
  Generations generations_;
  size_t batch_records_;
  BatchObserver on_batch_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> rebuild_requested_{false};
  mutable std::mutex mu_;
  std::shared_ptr<ProjectionStore> store_;  // Guarded by mu_.
  ProjectorStatus status_;                  // Guarded by mu_.
  std::thread thread_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_PROJECTOR_RUNNER_H_
