#include "projections/projector.h"

#include "events/codec.h"
#include "events/status.h"
#include "fmt/format.h"
#include "projections/keys.h"

namespace voronka {

absl::StatusOr<std::unique_ptr<Projector>> Projector::Open(
    EventLog& log, ProjectionStore& store, Projection& projection,
    ProjectorOptions options) {
  VORONKA_ASSIGN_OR_RETURN(std::string version, store.Version());
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> positions, store.Positions());
  if (version.empty() && positions.empty()) {
    VORONKA_RETURN_IF_ERROR(store.SetVersion(projection.version()));
  } else if (version != projection.version()) {
    return absl::FailedPreconditionError(fmt::format(
        "projection {}: store {} was built by {}, this is {}; rebuild it",
        projection.name(), store.path(), version, projection.version()));
  }
  VORONKA_RETURN_IF_ERROR(projection.Load(store));
  auto seen = std::make_unique<SeenSet>();
  VORONKA_RETURN_IF_ERROR(seen->Load(store));
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<LogReader> reader,
      log.OpenReader(
          {.start_offsets = positions, .dead_letter = options.dead_letter}));
  auto projector = std::unique_ptr<Projector>(
      new Projector(store, projection, std::move(reader), std::move(options)));
  projector->seen_ = std::move(seen);
  projector->committed_ = positions;
  return projector;
}

absl::StatusOr<size_t> Projector::Step(absl::Duration wait) {
  if (!failed_.ok()) {
    return absl::FailedPreconditionError(
        fmt::format("projector {} failed earlier ({}); open a new one",
                    projection_.name(), failed_.message()));
  }
  VORONKA_ASSIGN_OR_RETURN(std::vector<LogRecord> records,
                           reader_->Next(options_.batch_records, wait));
  const std::vector<int64_t> positions = reader_->positions();
  if (records.empty() && positions == committed_) return 0;
  const absl::Time start = absl::Now();
  Txn txn(store_);
  ProjectorStats delta;
  absl::Status status;
  for (const LogRecord& record : records) {
    const Event& event = record.event;
    const SeenSet::Verdict verdict = seen_->Check(event, record.bytes);
    if (verdict != SeenSet::Verdict::kNew) {
      ++(verdict == SeenSet::Verdict::kDuplicate ? delta.duplicates
                                                 : delta.conflicts);
      continue;
    }
    status = projection_.ApplyRecord(record, txn);
    if (!status.ok()) {
      status = absl::Status(
          status.code(),
          fmt::format("projection {} at partition {} offset {}: {}",
                      projection_.name(), record.position.partition,
                      record.position.offset, status.message()));
      break;
    }
    ++delta.applied;
  }
  if (status.ok()) status = projection_.Flush(txn);
  if (status.ok()) seen_->Flush(txn);
  if (status.ok()) status = store_.Commit(txn.changes(), positions);
  if (!status.ok()) {
    // The reader is past the failed batch and the in-memory state holds
    // part of it: this projector is done. A new one resumes at the store's
    // positions.
    failed_ = status;
    return status;
  }
  committed_ = positions;
  stats_.applied += delta.applied;
  stats_.duplicates += delta.duplicates;
  stats_.conflicts += delta.conflicts;
  ++stats_.batches;
  for (const LogRecord& record : records) {
    const size_t p = static_cast<size_t>(record.position.partition);
    if (stats_.last.size() <= p) stats_.last.resize(p + 1);
    stats_.last[p] =
        ProjectorStats::Last{.event_time = record.event.time,
                             .recorded_time = record.event.recorded_time};
  }
  if (!records.empty()) stats_.last_batch_duration = absl::Now() - start;
  return records.size();
}

int64_t RecordsUpTo(const std::vector<int64_t>& positions) {
  int64_t total = 0;
  for (int64_t p : positions) total += p;
  return total;
}

bool ReachedEnd(const std::vector<int64_t>& at,
                const std::vector<int64_t>& end) {
  for (size_t p = 0; p < end.size(); ++p) {
    if (p >= at.size() || at[p] < end[p]) return false;
  }
  return true;
}

absl::Status Projector::CatchUp(const std::vector<int64_t>& end) {
  while (true) {
    if (ReachedEnd(reader_->positions(), end)) return absl::OkStatus();
    VORONKA_RETURN_IF_ERROR(Step(absl::Seconds(1)).status());
  }
}

}  // namespace voronka
