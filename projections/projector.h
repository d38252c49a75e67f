// Projector: runs one Projection over an EventLog into its ProjectionStore,
// exactly once.
//
// Each Step() reads up to `batch_records` records from the positions stored
// in the store, skips events whose (source, id) it has already applied,
// applies the rest to one Txn, and commits the Txn together with the reader's
// new positions (store.h). A crash anywhere leaves the store at the last
// commit; the next run resumes from its positions. Nothing is committed to
// Kafka (no consumer group): the store is the only record of progress.
//
// De-duplication (seen_set.h): the first copy of a (source, id) applied
// wins. A later copy with the same content apart from recorded_time (a
// retry) is counted as a duplicate; one with other content as a conflict,
// reported in stats() and not applied.
//
// A store built by another version of the projection is refused
// (FailedPrecondition) until it is rebuilt. Not thread-safe.
//
//   auto projector = Projector::Open(log, *store, projection, {});
//   while (running) projector->Step(absl::Seconds(1));
#ifndef VORONKA_PROJECTIONS_PROJECTOR_H_
#define VORONKA_PROJECTIONS_PROJECTOR_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/log.h"
#include "events/timestamp.h"
#include "projections/projection.h"
#include "projections/seen_set.h"
#include "projections/store.h"

namespace voronka {

struct ProjectorOptions {
  size_t batch_records = 4096;
  // Receives records that do not decode (with their position); without it
  // the projector stops at such a record with DataLoss.
  std::function<void(const CorruptRecord&)> dead_letter;
};

struct ProjectorStats {
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t conflicts = 0;
  int64_t batches = 0;
  // Per partition, the times of the last record committed (consumed: applied
  // or skipped); unset until one was. For lag in seconds.
  struct Last {
    Timestamp event_time;
    Timestamp recorded_time;
  };
  std::vector<std::optional<Last>> last;
  // How long the last batch with records took from read to commit.
  absl::Duration last_batch_duration;
};

class Projector {
 public:
  static absl::StatusOr<std::unique_ptr<Projector>> Open(
      EventLog& log, ProjectionStore& store, Projection& projection,
      ProjectorOptions options);

  // Applies at most one batch, waiting up to `wait` for the first record.
  // Returns the number of records consumed (0: nothing new). Records handed
  // to the dead-letter handler count as consumed: their positions are
  // committed. After an error the projector refuses further steps
  // (FailedPrecondition): open a new one, which resumes at the store's
  // positions.
  absl::StatusOr<size_t> Step(absl::Duration wait);
  // Steps until every partition reaches `end` (the log's end offsets).
  absl::Status CatchUp(const std::vector<int64_t>& end);

  std::vector<int64_t> positions() const { return reader_->positions(); }
  const ProjectorStats& stats() const { return stats_; }

 private:
  Projector(ProjectionStore& store, Projection& projection,
            std::unique_ptr<LogReader> reader, ProjectorOptions options)
      : store_(store),
        projection_(projection),
        reader_(std::move(reader)),
        options_(std::move(options)) {}

  ProjectionStore& store_;
  Projection& projection_;
  std::unique_ptr<LogReader> reader_;
  ProjectorOptions options_;
  ProjectorStats stats_;
  std::unique_ptr<SeenSet> seen_;
  std::vector<int64_t> committed_;  // Positions of the last commit.
  absl::Status failed_;             // Set once a batch failed.
};

// True if `at` (positions per partition) is at or past `end` in every
// partition of `end`.
bool ReachedEnd(const std::vector<int64_t>& at,
                const std::vector<int64_t>& end);

// Records up to `positions` over all partitions (their sum).
int64_t RecordsUpTo(const std::vector<int64_t>& positions);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_PROJECTOR_H_
