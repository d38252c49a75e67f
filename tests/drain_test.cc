// The pipeline-drain rule (projections/drain.h) at its boundaries, and the
// ISO week a day belongs to.
#include "projections/drain.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "projections/view.h"
#include "tests/testing/sample_events.h"

namespace voronka {
namespace {

using testing::T;

int64_t Day(const std::string& date) {
  return DayOf(T(date + "T12:00:00Z"), absl::UTCTimeZone());
}

// Four baseline weeks of `top` and `closings` each, then the judged week.
std::vector<WeekActivity> Weeks(int64_t top, int64_t closings, int64_t last_top,
                                int64_t last_closings) {
  std::vector<WeekActivity> w(4, {.top_of_funnel = top, .closings = closings});
  w.push_back({.top_of_funnel = last_top, .closings = last_closings});
  return w;
}

const DrainRule kRule;  // The defaults: 4 weeks, 30 % / 30 %, 20, 2.

TEST(DrainRuleTest, DefaultsAreTheDocumentedOnes) {
  EXPECT_EQ(kRule.baseline_weeks, 4);
  EXPECT_DOUBLE_EQ(kRule.top_drop, 0.3);
  EXPECT_DOUBLE_EQ(kRule.closing_rise, 0.3);
  EXPECT_EQ(kRule.min_baseline_top, 20);
  EXPECT_EQ(kRule.min_closings, 2);
}

TEST(DrainRuleTest, FewerCallsAndMoreWinsIsFlagged) {
  EXPECT_TRUE(IsDraining(Weeks(40, 1, 10, 4), kRule));
  // Steady work is not.
  EXPECT_FALSE(IsDraining(Weeks(40, 1, 40, 1), kRule));
  // Fewer calls alone (a holiday) or more wins alone (a good week) is not.
  EXPECT_FALSE(IsDraining(Weeks(40, 1, 10, 1), kRule));
  EXPECT_FALSE(IsDraining(Weeks(40, 1, 40, 4), kRule));
}

TEST(DrainRuleTest, TopOfFunnelDropExactlyAtThresholdIsFlagged) {
  // 30 % below a baseline of 20 is 14: at most 14 is a drop.
  EXPECT_TRUE(IsDraining(Weeks(20, 2, 14, 3), kRule));
  EXPECT_FALSE(IsDraining(Weeks(20, 2, 15, 3), kRule));
  // 90 a week, 63 last week: exactly 30 % less. 0.7 x 90 is 62.99999... in
  // binary floating point; the rule must still hold at the boundary.
  EXPECT_TRUE(IsDraining(Weeks(90, 2, 63, 3), kRule));
  EXPECT_FALSE(IsDraining(Weeks(90, 2, 64, 3), kRule));
  EXPECT_TRUE(IsDraining(Weeks(700, 10, 490, 13), kRule));
  EXPECT_FALSE(IsDraining(Weeks(700, 10, 491, 13), kRule));
}

TEST(DrainRuleTest, ClosingRiseExactlyAtThresholdIsFlagged) {
  // 30 % above a baseline of 10 wins is 13.
  EXPECT_TRUE(IsDraining(Weeks(40, 10, 20, 13), kRule));
  EXPECT_FALSE(IsDraining(Weeks(40, 10, 20, 12), kRule));
  // Baseline 1 -> at least 1.3, so 2 (min_closings) is enough.
  EXPECT_TRUE(IsDraining(Weeks(40, 1, 20, 2), kRule));
}

TEST(DrainRuleTest, BaselineIsTheMeanOfTheWeeksBeforeTheLast) {
  // Means: top (10 + 30 + 50 + 70) / 4 = 40, closings (0 + 1 + 2 + 1) / 4 = 1.
  std::vector<WeekActivity> w = {{10, 0}, {30, 1}, {50, 2}, {70, 1}, {28, 2}};
  EXPECT_TRUE(IsDraining(w, kRule));
  w.back().top_of_funnel = 29;  // > 0.7 x 40.
  EXPECT_FALSE(IsDraining(w, kRule));
  // Only the last baseline_weeks before the judged week count: a busy
  // week further back changes nothing.
  std::vector<WeekActivity> longer = {{1000, 0}, {10, 0}, {30, 1},
                                      {50, 2},   {70, 1}, {28, 2}};
  EXPECT_TRUE(IsDraining(longer, kRule));
}

TEST(DrainRuleTest, TooFewWeeksIsNeverFlagged) {
  std::vector<WeekActivity> w = Weeks(40, 1, 10, 4);
  w.erase(w.begin());  // Three baseline weeks.
  EXPECT_FALSE(IsDraining(w, kRule));
  EXPECT_FALSE(IsDraining({}, kRule));
  EXPECT_FALSE(IsDraining(std::vector<WeekActivity>{{0, 5}}, kRule));
  DrainRule none = kRule;
  none.baseline_weeks = 0;
  EXPECT_FALSE(IsDraining(Weeks(40, 1, 10, 4), none));
  DrainRule two = kRule;
  two.baseline_weeks = 2;
  EXPECT_TRUE(
      IsDraining(std::vector<WeekActivity>{{40, 1}, {40, 1}, {10, 4}}, two));
}

TEST(DrainRuleTest, LowBaselineIsIgnored) {
  // A baseline mean of 20 is enough, 19.75 is not.
  EXPECT_TRUE(IsDraining(Weeks(20, 0, 0, 2), kRule));
  std::vector<WeekActivity> w = {{20, 0}, {20, 0}, {20, 0}, {19, 0}, {0, 2}};
  EXPECT_FALSE(IsDraining(w, kRule));
}

TEST(DrainRuleTest, FewerClosingsThanTheMinimumAreIgnored) {
  // From zero wins to one is an infinite rise but only one deal.
  EXPECT_FALSE(IsDraining(Weeks(40, 0, 10, 1), kRule));
  EXPECT_TRUE(IsDraining(Weeks(40, 0, 10, 2), kRule));
  DrainRule strict = kRule;
  strict.min_closings = 3;
  EXPECT_FALSE(IsDraining(Weeks(40, 0, 10, 2), strict));
  EXPECT_TRUE(IsDraining(Weeks(40, 0, 10, 3), strict));
}

TEST(WeekStartTest, MondayOfTheIsoWeek) {
  ASSERT_EQ(Day("2026-11-23"), 20780);  // A Monday.
  EXPECT_EQ(WeekStart(Day("2026-11-23")), 20780);
  EXPECT_EQ(WeekStart(Day("2026-11-24")), 20780);
  EXPECT_EQ(WeekStart(Day("2026-11-29")), 20780);  // Sunday.
  EXPECT_EQ(WeekStart(Day("2026-11-30")), 20787);  // The next Monday.
  EXPECT_EQ(WeekStart(Day("2026-11-22")), 20773);
  // Across a year: 2027-01-01 is a Friday of the week of 2026-12-28.
  EXPECT_EQ(WeekStart(Day("2027-01-01")), Day("2026-12-28"));
  // Around the epoch, a Thursday: 1969-12-29 was the Monday.
  EXPECT_EQ(WeekStart(0), -3);
  EXPECT_EQ(WeekStart(3), -3);  // 1970-01-04, Sunday.
  EXPECT_EQ(WeekStart(4), 4);   // 1970-01-05, Monday.
  EXPECT_EQ(WeekStart(-3), -3);
  EXPECT_EQ(WeekStart(-4), -10);  // 1969-12-28, Sunday.
}

}  // namespace
}  // namespace voronka
