// Projection: the fold logic of one read model, applied event by event to a
// Txn of its store. Projector (projector.h) feeds it from a log, de-duplicates
// on (source, id) and commits each batch with its positions.
//
// Implementations keep the rule of view.h: they compute an entity's view
// before and after the event and write the difference, so the store comes
// out the same for any order of the same events.
#ifndef VORONKA_PROJECTIONS_PROJECTION_H_
#define VORONKA_PROJECTIONS_PROJECTION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "events/event.h"
#include "events/funnel_config.h"
#include "events/log.h"
#include "projections/store.h"

namespace voronka {

class Projection {
 public:
  virtual ~Projection() = default;
  virtual std::string_view name() const = 0;
  // Identifies the logic and the configuration the store is built with:
  // "<name>/<logic version>/<configuration fingerprint>". A store built with
  // another version must be rebuilt (a new stage, probability, threshold or
  // time zone changes the models just as new code does).
  virtual std::string version() const = 0;
  // Loads in-memory state from the store; called before the first Apply and
  // again after a failed commit (to drop what the failed batch changed).
  virtual absl::Status Load(const ProjectionStore& store) = 0;
  // Applies one event that is not a duplicate.
  virtual absl::Status Apply(const Event& event, Txn& txn) = 0;
  // The same, for projections that index log positions (the audit index):
  // the record with its position and bytes. Records of one partition come
  // in offset order. By default: Apply(record.event, txn).
  virtual absl::Status ApplyRecord(const LogRecord& record, Txn& txn) {
    return Apply(record.event, txn);
  }
  // Writes what Apply() kept in memory during the batch into `txn`; called
  // once per batch, before the commit.
  virtual absl::Status Flush(Txn& txn) {
    (void)txn;
    return absl::OkStatus();
  }
};

// A stable fingerprint of everything in `config` that projections fold
// with: departments, funnels and their stages, key-account routing and
// thresholds, the time zone.
uint64_t ConfigFingerprint(const FunnelConfig& config);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_PROJECTION_H_
