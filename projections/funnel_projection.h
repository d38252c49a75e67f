// FunnelProjection: deals and everything derived from them — stage
// workloads, forecast, handoff queues, stale and idle lists, funnel
// geometry, conversion and claim waits (deal_view.h) — in one store.
//
// Store layout (default family, besides deal_view.h's entries):
//   s/<deal>                         DealState (deal.h codec)
//   h/<deal>/<time>/<source>/<id>    the deal's events (codec.h), its history
//   r/<manager>/<time>/<source>/<id> manager.joined / manager.departed
//   tm/<manager>/<deal>              deals that name the manager as owner
//                                    candidate (claim, reassignment, actor)
//
// An event that sorts after everything its deal has seen is applied
// incrementally; a late one re-folds the deal's history. A roster change
// (manager.departed / joined) re-folds every deal the manager touched, so a
// late departure re-decides ownership and queues exactly as if it had come
// in order.
#ifndef VORONKA_PROJECTIONS_FUNNEL_PROJECTION_H_
#define VORONKA_PROJECTIONS_FUNNEL_PROJECTION_H_

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "projections/deal.h"
#include "projections/projection.h"

namespace voronka {

class FunnelProjection : public Projection {
 public:
  // 2: queue lengths (ql/) and summed stage entry times (entered_s) in rows.
  static constexpr int kVersion = 2;
  explicit FunnelProjection(const FunnelConfig& config);

  std::string_view name() const override { return "funnel"; }
  std::string version() const override { return version_; }
  absl::Status Load(const ProjectionStore& store) override;
  absl::Status Apply(const Event& event, Txn& txn) override;
  absl::Status Flush(Txn& txn) override;

  const Roster& roster() const { return roster_; }

  // Work done beyond in-order application, for metrics and benchmarks.
  struct Counts {
    int64_t late_refolds = 0;     // Deals re-folded for a late event.
    int64_t roster_refolds = 0;   // Deals re-folded for a roster change.
    int64_t refolded_events = 0;  // Events those re-folds went through.
  };
  const Counts& counts() const { return counts_; }

 private:
  // A deal touched in the current batch: its state when the batch began
  // and now. Views are diffed and states written once per batch (Flush).
  struct Working {
    std::optional<DealState> before;
    DealState now;
  };
  absl::StatusOr<Working*> Touch(const DealId& deal, Txn& txn);
  absl::Status ApplyToDeal(const Event& event, const DealId& deal, Txn& txn);
  absl::Status Refold(const DealId& deal, Txn& txn);

  const FunnelConfig& config_;
  std::string version_;
  absl::TimeZone tz_;
  Roster roster_;
  DealFolder folder_;
  absl::flat_hash_map<DealId, Working> working_;
  Counts counts_;
};

// Reads a deal's state from a store; nullopt if the deal is unknown.
absl::StatusOr<std::optional<DealState>> ReadDeal(const ProjectionStore& store,
                                                  const DealId& deal);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_FUNNEL_PROJECTION_H_
