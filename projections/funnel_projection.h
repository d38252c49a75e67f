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

#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "projections/deal.h"
#include "projections/projection.h"

namespace voronka {

class FunnelProjection : public Projection {
 public:
  static constexpr int kVersion = 1;
  explicit FunnelProjection(const FunnelConfig& config);

  std::string_view name() const override { return "funnel"; }
  int version() const override { return kVersion; }
  absl::Status Load(const ProjectionStore& store) override;
  absl::Status Apply(const Event& event, Txn& txn) override;

  const Roster& roster() const { return roster_; }

 private:
  absl::Status ApplyToDeal(const Event& event, const DealId& deal, Txn& txn);
  absl::Status Refold(const DealId& deal, Txn& txn);
  absl::Status WriteState(const std::optional<DealState>& before,
                          const DealState& after, Txn& txn);

  const FunnelConfig& config_;
  absl::TimeZone tz_;
  Roster roster_;
  DealFolder folder_;
};

// Reads a deal's state from a store; nullopt if the deal is unknown.
absl::StatusOr<std::optional<DealState>> ReadDeal(const ProjectionStore& store,
                                                  const DealId& deal);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_FUNNEL_PROJECTION_H_
