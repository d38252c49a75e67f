// Pipeline drain (seed 001): the manager who "squeezes" existing contacts
// to over-fulfil the plan and then leaves an empty pipeline. The sign is
// top-of-funnel work falling while closings rise: fewer calls and general
// proposals (the work that fills the funnel), more deals won (harvesting
// what is already there).
//
// The rule, per manager, over whole ISO weeks (Monday to Sunday):
//   baseline = the mean of the `baseline_weeks` weeks before the last week
//   flagged  = baseline top-of-funnel >= min_baseline_top
//          and last week's top-of-funnel <= (1 - top_drop) x baseline
//          and last week's closings >= min_closings
//          and last week's closings >= (1 + closing_rise) x baseline
// where top-of-funnel = calls + general proposals and closings = deals won.
// Pure; docs/observability.md documents the rule and its defaults.
#ifndef VORONKA_PROJECTIONS_DRAIN_H_
#define VORONKA_PROJECTIONS_DRAIN_H_

#include <cstdint>
#include <span>

namespace voronka {

struct WeekActivity {
  int64_t top_of_funnel = 0;  // Calls + general proposals.
  int64_t closings = 0;       // Deals won.
};

struct DrainRule {
  int baseline_weeks = 4;
  double top_drop = 0.3;          // Top-of-funnel fell by at least 30 %...
  double closing_rise = 0.3;      // ...while closings rose by at least 30 %.
  int64_t min_baseline_top = 20;  // Ignore managers who barely worked.
  int64_t min_closings = 2;
};

// `weeks`: oldest first, the last one is the week judged; it needs
// rule.baseline_weeks weeks before it (false otherwise).
bool IsDraining(std::span<const WeekActivity> weeks, const DrainRule& rule);

// The Monday (days since 1970-01-01) of the ISO week containing `day`.
int64_t WeekStart(int64_t day);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_DRAIN_H_
