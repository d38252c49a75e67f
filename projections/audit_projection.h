// AuditProjection: the audit index (projections/audit.h, docs/audit.md).
// For every manager, the log positions of the records that name the
// manager, each with its event time, recorded time and the running SHA-256
// chain digest; for every deal, the positions of its records; the deals
// each manager was named in; the positions of manager.joined/departed
// records; and, at each departure, a seal of the manager's chains.
//
//   am/<manager>/<partition>/<offset>   HistoryEntry
//   ac/<manager>/<partition>            ChainState (where the chain stands)
//   as/<manager>/<partition>/<offset>   the seal at a departure
//   ad/<deal>/<partition>/<offset>      the record (codec.h canonical bytes)
//   amd/<manager>/<deal>                ""
//   ar/<partition>/<offset>             event time of a manager.* record
//
// Entries are keyed by position, so the index is the same for any batch
// size, restart or rebuild (a duplicate is skipped by the projector before
// it gets here; copies of one event share a partition, so the first copy
// in offset order is the one indexed). The chains follow offset order
// within a partition, which every re-read of the log reproduces. A seal
// records every chain of the manager as far as the projector had read
// each partition when the departure was applied: with several partitions
// a rebuild may seal other counts, each of them verifiable against the log.
#ifndef VORONKA_PROJECTIONS_AUDIT_PROJECTION_H_
#define VORONKA_PROJECTIONS_AUDIT_PROJECTION_H_

#include <string>

#include "projections/projection.h"

namespace voronka {

class AuditProjection : public Projection {
 public:
  // 2: deal records (ad/) hold the record's canonical bytes.
  static constexpr int kVersion = 2;
  explicit AuditProjection(const FunnelConfig& config);

  std::string_view name() const override { return "audit"; }
  std::string version() const override { return version_; }
  absl::Status Load(const ProjectionStore&) override {
    return absl::OkStatus();
  }
  // The audit index needs positions: FailedPrecondition.
  absl::Status Apply(const Event& event, Txn& txn) override;
  absl::Status ApplyRecord(const LogRecord& record, Txn& txn) override;

 private:
  std::string version_;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_AUDIT_PROJECTION_H_
