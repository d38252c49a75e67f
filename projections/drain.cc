#include "projections/drain.h"

namespace voronka {

bool IsDraining(std::span<const WeekActivity> weeks, const DrainRule& rule) {
  const size_t n = static_cast<size_t>(rule.baseline_weeks);
  if (rule.baseline_weeks < 1 || weeks.size() < n + 1) return false;
  const WeekActivity& last = weeks.back();
  double top = 0, closings = 0;
  for (const WeekActivity& w : weeks.subspan(weeks.size() - n - 1, n)) {
    top += static_cast<double>(w.top_of_funnel);
    closings += static_cast<double>(w.closings);
  }
  top /= static_cast<double>(n);
  closings /= static_cast<double>(n);
  // The thresholds are products of decimal fractions: 0.7 x 90 is
  // 62.99999... in binary, which must not turn "exactly 30 % less" (63)
  // into "not enough". Compare with a margin far below one event.
  constexpr double kMargin = 1e-9;
  return top >= static_cast<double>(rule.min_baseline_top) &&
         static_cast<double>(last.top_of_funnel) <=
             (1 - rule.top_drop) * top + kMargin &&
         last.closings >= rule.min_closings &&
         static_cast<double>(last.closings) >=
             (1 + rule.closing_rise) * closings - kMargin;
}

int64_t WeekStart(int64_t day) {
  // 1970-01-01 was a Thursday: day 0 is weekday 3 counting from Monday = 0.
  const int64_t weekday = ((day + 3) % 7 + 7) % 7;
  return day - weekday;
}

}  // namespace voronka
