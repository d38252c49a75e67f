// Business gauges (docs/observability.md, "The business"): what the read
// models say about the funnel, read from the stores in service when
// Prometheus scrapes, with the scrape's clock as "now":
//
//   funnel store      open deals and amount per funnel/stage/department,
//                     weighted forecast, stale and idle deals per stage,
//                     handoff-queue length, oldest wait and SLA, a
//                     histogram of today's claim waits
//   indicators store  today's calls, proposals, applications (and amount)
//                     per department; managers flagged for pipeline drain
//                     last week (projections/drain.h)
//
//   AddBusinessMetrics(metrics, {.config = &config,
//                                .funnel = [&] { return s->funnel(); },
//                                .indicators = [&] { return s->indicators();
//                                }});
//
// Label values come from the configuration and the read models: funnels,
// stages, departments and currencies (bounded); managers only with
// `per_manager`. An empty getter (projection not served here) or a null
// store (not open yet) exports nothing for that store.
#ifndef VORONKA_SERVICES_BUSINESS_METRICS_H_
#define VORONKA_SERVICES_BUSINESS_METRICS_H_

#include <functional>

#include "events/funnel_config.h"
#include "events/timestamp.h"
#include "projections/drain.h"
#include "services/metrics.h"
#include "services/query_api.h"

namespace voronka {

struct BusinessMetricsOptions {
  const FunnelConfig* config = nullptr;  // Required; must outlive `metrics`.
  StoreGetter funnel;
  StoreGetter indicators;
  // --metrics-per-manager: voronka_manager_* series, one per manager.
  bool per_manager = false;
  DrainRule drain;
  std::function<Timestamp()> clock;  // Timestamp::Now if empty.
};

void AddBusinessMetrics(Metrics& metrics, BusinessMetricsOptions options);

// Upper bounds of voronka_claim_wait_today_seconds: 1 minute to 2 days.
const std::vector<double>& ClaimWaitBuckets();

}  // namespace voronka

#endif  // VORONKA_SERVICES_BUSINESS_METRICS_H_
