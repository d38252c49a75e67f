// Queries over the stored read models: the reads behind the query API and
// the demo's summary. Pure reads of committed data; "now" (for ages) is a
// parameter, never the clock.
//
// Day ranges are inclusive [from_day, to_day] in days since 1970-01-01 in the
// configuration's time zone (view.h DayOf).
#ifndef VORONKA_PROJECTIONS_QUERIES_H_
#define VORONKA_PROJECTIONS_QUERIES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "projections/counters.h"
#include "projections/deal.h"
#include "projections/store.h"

namespace voronka {

struct IndicatorTotals {
  Counters counters;                 // Summed over the range.
  int64_t organisations_called = 0;  // Distinct over the whole range (B).
  // calls / organisations_called; 0 without calls.
  double calls_per_org() const {
    return organisations_called == 0
               ? 0.0
               : static_cast<double>(counters.Get("calls")) /
                     static_cast<double>(organisations_called);
  }
};

// Indicators of one scope ("m" manager, "d" department, "t" total with
// id "") over [from_day, to_day].
absl::StatusOr<IndicatorTotals> QueryIndicators(const ProjectionStore& store,
                                                std::string_view scope,
                                                std::string_view id,
                                                int64_t from_day,
                                                int64_t to_day);

// Every id of a scope that has indicator rows (managers or departments).
absl::StatusOr<std::vector<std::string>> IndicatorIds(
    const ProjectionStore& store, std::string_view scope);

struct WorkloadRow {
  std::string funnel, stage, department, owner;  // "" owner: unowned.
  Counters counters;  // deals, open, amount.<CUR>, forecast_bp.<CUR>
};
// Stage workloads of one funnel ("" = every funnel), in key order.
absl::StatusOr<std::vector<WorkloadRow>> QueryWorkloads(
    const ProjectionStore& store, std::string_view funnel);

struct QueueEntry {
  std::string department;
  Timestamp since;
  std::string deal;
  std::string reason;
};
// One department's queue, oldest first, after `offset` entries, at most
// `limit` of them; `total` receives the queue's length when not null.
absl::StatusOr<std::vector<QueueEntry>> QueryQueue(const ProjectionStore& store,
                                                   std::string_view department,
                                                   size_t offset, size_t limit,
                                                   size_t* total);
// Queue lengths per department.
absl::StatusOr<std::map<std::string, int64_t>> QueueLengths(
    const ProjectionStore& store);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_QUERIES_H_
