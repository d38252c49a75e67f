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
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "projections/counters.h"
#include "projections/deal.h"
#include "projections/drain.h"
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
  Counters counters;  // deals, open, amount.<CUR>, forecast_bp.<CUR>, entered_s
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

// ---- Indicators over periods -------------------------------------------

// How a date range is split: not at all, per day, per ISO week (Monday to
// Sunday) or per calendar month. Periods at the ends are clipped to the range.
enum class Rollup { kNone, kDay, kWeek, kMonth };

struct DayRange {
  int64_t from_day = 0, to_day = 0;  // Inclusive.
  friend bool operator==(const DayRange&, const DayRange&) = default;
};

// The periods of [from_day, to_day] under `rollup`, in order.
std::vector<DayRange> SplitRange(int64_t from_day, int64_t to_day,
                                 Rollup rollup);

struct IndicatorPeriod {
  DayRange range;
  IndicatorTotals totals;  // B over this whole period.
};
// QueryIndicators for every period of the range, with one scan of the rows
// and one of the organisation entries.
absl::StatusOr<std::vector<IndicatorPeriod>> QueryIndicatorPeriods(
    const ProjectionStore& store, std::string_view scope, std::string_view id,
    int64_t from_day, int64_t to_day, Rollup rollup);

// QueryIndicators for each of `ids` (one scope, one range), in the order of
// `ids`, spread over up to `threads` threads (each id is two short scans;
// a department's manager list is many of them).
absl::StatusOr<std::vector<IndicatorTotals>> QueryIndicatorsOfMany(
    const ProjectionStore& store, std::string_view scope,
    std::span<const std::string> ids, int64_t from_day, int64_t to_day,
    int threads);

// Managers credited in `department` (entries md/), in name order.
absl::StatusOr<std::vector<std::string>> DepartmentManagers(
    const ProjectionStore& store, std::string_view department);

// ---- Pipeline drain -----------------------------------------------------

struct DrainWeek {
  int64_t week_start_day = 0;  // The Monday.
  int64_t top_of_funnel = 0;   // Calls + general proposals.
  int64_t closings = 0;        // Deals won.
  bool flagged = false;        // IsDraining against the weeks before it.
};
// One manager's pipeline-drain weeks (projections/drain.h): the `weeks` ISO
// weeks ending with the one containing `last_week_start_day` (any day of
// it; normally its Monday), oldest first. Each week is judged against the
// rule.baseline_weeks weeks before it, which are read too (one scan); a week
// without that many earlier weeks in the store is judged against zeros, as
// a manager who did not work yet. InvalidArgument if `weeks` < 0.
absl::StatusOr<std::vector<DrainWeek>> QueryDrainWeeks(
    const ProjectionStore& indicators, std::string_view manager,
    int64_t last_week_start_day, int weeks, const DrainRule& rule);

// ---- Stage workloads, stale and idle -------------------------------------

struct StageWorkload {
  std::string funnel, stage;
  // deals, open, amount.<CUR>, forecast_bp.<CUR>, entered_s.
  Counters totals;
  std::map<std::string, Counters> by_department;
  std::map<std::string, Counters> by_owner;  // "" = unowned.
  // The open deals counted in `totals` and their summed age at `now`
  // (seconds), from entered_s: the filter applies.
  int64_t aged_deals = 0;
  int64_t age_sum_s = 0;
};
struct WorkloadFilter {
  std::string funnel, department, owner;  // "" = any.
  bool has_owner = false;  // owner "" with has_owner: unowned only.
};
// One StageWorkload per configured stage of the matching funnels (stages
// with no deals included, zero), in funnel and stage order.
absl::StatusOr<std::vector<StageWorkload>> QueryStageWorkloads(
    const ProjectionStore& store, const FunnelConfig& config,
    const WorkloadFilter& filter, Timestamp now);

enum class Overdue { kStale, kIdle };
struct OverdueDeal {
  std::string deal, funnel, stage;
  Timestamp since;       // Entered the stage (stale) / last activity (idle).
  absl::Duration limit;  // The stage's SLA / idle limit.
  // From the deal's state, read for the page only (and for every candidate
  // when the filter names a department or owner).
  std::string department;  // The stage department working it.
  std::string owner;       // "" = unowned.
};
// Which overdue deals: "" = any; has_owner with owner "" = unowned only.
struct OverdueFilter {
  std::string funnel, stage, department, owner;
  bool has_owner = false;
};
// Open deals over their stage's SLA (kStale) or idle limit (kIdle) at `now`,
// oldest `since` first (ties by funnel, stage, deal), matching `filter`;
// `offset`/`limit` page; `total` gets the count.
absl::StatusOr<std::vector<OverdueDeal>> QueryOverdue(
    const ProjectionStore& store, const FunnelConfig& config, Overdue kind,
    const OverdueFilter& filter, Timestamp now, size_t offset, size_t limit,
    size_t* total);

// ---- Geometry, conversion, forecast --------------------------------------

// Deals that reached each stage of `funnel` in [from_day, to_day] (g/ rows),
// in stage order.
absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> QueryGeometry(
    const ProjectionStore& store, const Funnel& funnel, int64_t from_day,
    int64_t to_day);

struct StageConversion {
  std::string stage;
  Counters counters;  // entered, to_next, to_won, moved_on, next_wait_s
};
// Conversion of the cohorts that reached each stage of `funnel` in the
// range (c/ rows summed), in stage order.
absl::StatusOr<std::vector<StageConversion>> QueryConversion(
    const ProjectionStore& store, const Funnel& funnel, int64_t from_day,
    int64_t to_day);

enum class ForecastGroup { kFunnel, kDepartment, kOwner };
// Sum of forecast_bp per group and currency (basis points of minor units:
// divide by 10,000 for money), open deals, optionally of one funnel.
absl::StatusOr<std::map<std::string, absl::btree_map<std::string, int64_t>>>
QueryForecast(const ProjectionStore& store, ForecastGroup group,
              std::string_view funnel);

// ---- Claim waits ---------------------------------------------------------

struct WaitStats {
  int64_t count = 0;
  absl::Duration mean, p50, p90, max;  // Zero without claims.
};
// Claim waits of `department`'s queue for claims made in [from_day, to_day]
// (cl/ entries, exact). Percentiles by nearest rank: the smallest wait with
// at least p% of the waits at or below it.
// The waits themselves, in key order (day, then wait).
absl::StatusOr<std::vector<absl::Duration>> QueryClaimWaitList(
    const ProjectionStore& store, std::string_view department, int64_t from_day,
    int64_t to_day);
absl::StatusOr<WaitStats> QueryClaimWaits(const ProjectionStore& store,
                                          std::string_view department,
                                          int64_t from_day, int64_t to_day);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_QUERIES_H_
