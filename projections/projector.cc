#include "projections/projector.h"

#include <openssl/evp.h>

#include "events/codec.h"
#include "events/status.h"
#include "fmt/format.h"
#include "projections/keys.h"

namespace voronka {

std::string EventFingerprint(const Event& event) {
  Event copy = event;
  copy.recorded_time = Timestamp();
  const std::string bytes = EncodeEvent(copy);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(),
             nullptr);
  return std::string(reinterpret_cast<const char*>(digest), 16);
}

absl::StatusOr<std::unique_ptr<Projector>> Projector::Open(
    EventLog& log, ProjectionStore& store, Projection& projection,
    ProjectorOptions options) {
  VORONKA_ASSIGN_OR_RETURN(int version, store.Version());
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> positions, store.Positions());
  if (version == 0 && positions.empty()) {
    VORONKA_RETURN_IF_ERROR(store.SetVersion(projection.version()));
  } else if (version != projection.version()) {
    return absl::FailedPreconditionError(fmt::format(
        "projection {}: store {} was built by version {}, this is version {}; "
        "rebuild it",
        projection.name(), store.path(), version, projection.version()));
  }
  VORONKA_RETURN_IF_ERROR(projection.Load(store));
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<LogReader> reader,
      log.OpenReader(
          {.start_offsets = positions, .dead_letter = options.dead_letter}));
  return std::unique_ptr<Projector>(
      new Projector(store, projection, std::move(reader), std::move(options)));
}

absl::StatusOr<size_t> Projector::Step(absl::Duration wait) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<LogRecord> records,
                           reader_->Next(options_.batch_records, wait));
  const std::vector<int64_t> positions = reader_->positions();
  if (records.empty()) return 0;
  Txn txn(store_);
  ProjectorStats delta;
  absl::Status status;
  for (const LogRecord& record : records) {
    const Event& event = record.event;
    const std::string seen =
        Key("seen").Str(event.source.value()).Str(event.id.value()).str();
    absl::StatusOr<std::optional<std::string>> prior = txn.Get(seen);
    if (!prior.ok()) {
      status = prior.status();
      break;
    }
    const std::string fingerprint = EventFingerprint(event);
    if (prior->has_value()) {
      ++(**prior == fingerprint ? delta.duplicates : delta.conflicts);
      continue;
    }
    txn.Put(seen, fingerprint);
    status = projection_.Apply(event, txn);
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
  if (status.ok()) status = store_.Commit(txn.changes(), positions);
  if (!status.ok()) {
    // Drop in-memory effects of the failed batch; the reader is ahead of
    // the store now, so the caller must reopen the projector.
    projection_.Load(store_).IgnoreError();
    return status;
  }
  stats_.applied += delta.applied;
  stats_.duplicates += delta.duplicates;
  stats_.conflicts += delta.conflicts;
  ++stats_.batches;
  return records.size();
}

absl::Status Projector::CatchUp(const std::vector<int64_t>& end) {
  while (true) {
    const std::vector<int64_t> at = reader_->positions();
    bool done = true;
    for (size_t p = 0; p < end.size(); ++p) {
      if (p >= at.size() || at[p] < end[p]) done = false;
    }
    if (done) return absl::OkStatus();
    VORONKA_RETURN_IF_ERROR(Step(absl::Seconds(1)).status());
  }
}

}  // namespace voronka
