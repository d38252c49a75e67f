// DealView: what one deal contributes to the funnel read models, computed
// from its DealState alone (pure; "now" is never needed — ages are computed
// at query time from the stored times).
//
// Rows (Counters, summed over deals):
//   w/funnel/stage/department/owner   deals, open, amount.<CUR>,
//                                     forecast_bp.<CUR> (amount x bp, open),
//                                     entered_s (stage entry times of the
//                                     open deals, unix seconds, summed)
//   ql/department                     deals        (queue length)
//   g/funnel/stage/day                reached      (geometry, by reach day)
//   c/funnel/stage/cohort_day         entered, to_next, to_won, moved_on,
//                                     next_wait_s  (conversion per cohort)
//   cw/department/day                 claims, wait_s (claim waits, claim day)
// Entries (index keys, values as noted):
//   q/department/since/deal           queue reason        (open, queued)
//   st/funnel/stage/entered/deal      ""                  (open, for stale)
//   id/funnel/stage/last_activity/deal ""                 (open, for idle)
//   ob/owner/deal                     ""                  (open, owner's book)
//   cl/department/day/wait_us/deal/n  manager             (every claim)
// Keys are built with keys.h; department "" and owner "" mean none.
#ifndef VORONKA_PROJECTIONS_DEAL_VIEW_H_
#define VORONKA_PROJECTIONS_DEAL_VIEW_H_

#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "projections/deal.h"
#include "projections/view.h"

namespace voronka {

View DealView(const DealState& state, const FunnelConfig& config,
              const absl::TimeZone& tz);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_DEAL_VIEW_H_
