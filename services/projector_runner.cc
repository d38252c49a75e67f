#include "services/projector_runner.h"

#include <chrono>

#include "events/status.h"
#include "fmt/format.h"
#include "services/checkpoint_request.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {}  // namespace

ProjectorRunner::ProjectorRunner(EventLog& log, Projection& projection,
                                 std::string dir, size_t batch_records,
                                 BatchObserver on_batch)
    : log_(log),
      projection_(projection),
      generations_(std::move(dir)),
      batch_records_(batch_records),
      on_batch_(std::move(on_batch)) {
  status_.name = std::string(projection.name());
  thread_ = std::thread([this] { Run(); });
}

ProjectorRunner::~ProjectorRunner() { Stop(); }

void ProjectorRunner::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::shared_ptr<const ProjectionStore> ProjectorRunner::store() const {
  std::lock_guard<std::mutex> lock(mu_);
  return store_;
}

ProjectorStatus ProjectorRunner::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

void ProjectorRunner::SetError(const absl::Status& error) {
  spdlog::error("projector {}: {}", status_.name, error.message());
  std::lock_guard<std::mutex> lock(mu_);
  status_.last_error = error;
}

absl::Status ProjectorRunner::Rebuild() {
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log_.EndOffsets());
  VORONKA_ASSIGN_OR_RETURN(std::string generation, generations_.Create());
  absl::Status status = FillAndPromote(generation, end);
  if (!status.ok() || stop_) {
    // Abandoned: its store is closed by now; nothing may use it.
    if (absl::Status s = generations_.Discard(generation); !s.ok()) {
      spdlog::warn("projector {}: {}", status_.name, s.message());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  status_.rebuilding = false;
  return status;
}

absl::Status ProjectorRunner::FillAndPromote(const std::string& generation,
                                             const std::vector<int64_t>& end) {
  spdlog::info("projector {}: rebuilding into {} up to {} records",
               status_.name, generation, RecordsUpTo(end));
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.rebuilding = true;
    status_.rebuild_done = 0;
    status_.rebuild_total = RecordsUpTo(end);
  }
  {
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> fresh,
                             ProjectionStore::Open({.path = generation}));
    VORONKA_ASSIGN_OR_RETURN(
        std::unique_ptr<Projector> projector,
        Projector::Open(log_, *fresh, projection_,
                        {.batch_records = batch_records_}));
    while (!stop_) {
      const std::vector<int64_t> at = projector->positions();
      {
        std::lock_guard<std::mutex> lock(mu_);
        status_.rebuild_done = RecordsUpTo(at);
      }
      if (ReachedEnd(at, end)) break;
      VORONKA_RETURN_IF_ERROR(
          projector->Step(absl::Milliseconds(200)).status());
    }
    if (stop_) return absl::OkStatus();  // Unpromoted; deleted next time.
    VORONKA_RETURN_IF_ERROR(fresh->CompactRows());  // store.h says why.
  }
  VORONKA_RETURN_IF_ERROR(generations_.Promote(generation));
  spdlog::info("projector {}: rebuilt store {} in service", status_.name,
               generation);
  return absl::OkStatus();
}

absl::Status ProjectorRunner::RunProjector(ProjectionStore& store,
                                           const std::string& generation) {
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Projector> projector,
                           Projector::Open(log_, store, projection_,
                                           {.batch_records = batch_records_}));
  {
    std::lock_guard<std::mutex> lock(mu_);
    status_.last_error = absl::OkStatus();
    status_.rebuilding = false;
  }
  absl::Time next_check = absl::Now() + absl::Seconds(1);
  while (!stop_ && !rebuild_requested_) {
    absl::StatusOr<size_t> step = projector->Step(absl::Milliseconds(200));
    {
      std::lock_guard<std::mutex> lock(mu_);
      status_.positions = projector->positions();
      status_.stats = projector->stats();
    }
    if (!step.ok()) return step.status();
    if (*step > 0 && on_batch_) {
      on_batch_(projector->stats().last_batch_duration);
    }
    if (absl::Now() >= next_check) {
      next_check = absl::Now() + absl::Seconds(1);
      // Between batches this thread is the store's only writer: an exact
      // checkpoint for a backup (services/checkpoint_request.h).
      absl::StatusOr<int> served =
          ServeCheckpointRequests(generations_.dir(), store);
      if (!served.ok()) {
        spdlog::warn("projector {}: {}", status_.name,
                     served.status().message());
      } else if (*served > 0) {
        spdlog::info("projector {}: checkpoint taken for a backup",
                     status_.name);
      }
      absl::StatusOr<std::string> current = generations_.Current();
      if (current.ok() && *current != generation) {
        spdlog::info("projector {}: generation {} promoted, switching",
                     status_.name, *current);
        return absl::OkStatus();
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ProjectorRunner::RunOnce(std::shared_ptr<ProjectionStore>& store,
                                      std::string& open_generation) {
  VORONKA_ASSIGN_OR_RETURN(std::string generation, generations_.Current());
  if (store == nullptr || generation != open_generation) {
    // A new generation (first start, or a rebuild promoted): open it while
    // the old store keeps answering, then swap.
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<ProjectionStore> opened,
                             ProjectionStore::Open({.path = generation}));
    store = std::move(opened);
    open_generation = generation;
    VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> stored, store->Positions());
    {
      std::lock_guard<std::mutex> lock(mu_);
      store_ = store;
      status_.generation = generation;
      status_.positions = stored;
      status_.stats = ProjectorStats();
    }
    // Readers may still hold the store swapped out just now: keep it.
    if (absl::Status s = generations_.RemoveOlder(/*keep=*/1); !s.ok()) {
      spdlog::warn("projector {}: {}", status_.name, s.message());
    }
  }
  VORONKA_ASSIGN_OR_RETURN(std::string version, store->Version());
  const bool outdated = !version.empty() && version != projection_.version();
  if (outdated) {
    spdlog::warn("projector {}: store {} was built by {}, this is {}",
                 status_.name, generation, version, projection_.version());
  }
  const bool requested = rebuild_requested_.exchange(false);
  if (outdated || requested) {
    absl::Status rebuilt = Rebuild();
    if (!rebuilt.ok() && requested) rebuild_requested_ = true;  // Again.
    return rebuilt;  // OK: the next round opens the new generation.
  }
  return RunProjector(*store, generation);
}

void ProjectorRunner::Run() {
  // The open generation is reused across retries: RocksDB refuses a second
  // open of the same directory in one process.
  std::shared_ptr<ProjectionStore> store;
  std::string open_generation;
  while (!stop_) {
    absl::Status error = RunOnce(store, open_generation);
    if (error.ok() || stop_) continue;
    SetError(error);
    for (int i = 0; i < 10 && !stop_; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace voronka
