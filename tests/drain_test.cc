// The pipeline-drain rule (projections/drain.h) at its boundaries, the ISO
// week a day belongs to, and QueryDrainWeeks (projections/queries.h) over an
// indicators store folded from hand-made events.
#include "projections/drain.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/queries.h"
#include "projections/view.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::EventFactory;
using testing::ProjectionHarness;
using testing::Rub;
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

// ---- QueryDrainWeeks ------------------------------------------------------

// ann (sales), Mondays 2026-10-19 .. 11-09: 25 calls, 5 general proposals
// and 1 win a week; 11-16: 5 calls, 2 general proposals (one of them Sunday
// 23:59:59) and 3 wins: drained; 11-23: back to 30 and 1. Around it, what
// must not count: individual proposals, lost deals, calls on Monday 00:00
// of the next week, and bob's weeks (4 calls, 9 wins every week).
class QueryDrainWeeksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Event> events;
    int deal = 0;
    auto week = [&](const std::string& monday, const std::string& manager,
                    int calls, int proposals, int wins) {
      const absl::Time start = T(monday + "T08:00:00Z").ToAbsl();
      for (int i = 0; i < calls; ++i) {
        const absl::Time at =
            start + absl::Hours(24 * (i % 5)) + absl::Minutes(10 * (i / 5));
        events.push_back(f_.Call(Rfc3339(at), fmt::format("org-{}", i % 7),
                                 manager, "sales"));
      }
      for (int i = 0; i < proposals; ++i) {
        events.push_back(
            f_.GeneralProposal(Rfc3339(start + absl::Hours(24 * i + 3)),
                               "org-1", manager, "sales"));
      }
      for (int i = 0; i < wins; ++i) {
        events.push_back(f_.Stage(Rfc3339(start + absl::Hours(12 * i + 6)),
                                  fmt::format("w{}", ++deal), "customer",
                                  manager, "sales"));
      }
    };
    for (const char* monday :
         {"2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09"}) {
      week(monday, "ann", 25, 5, 1);
      week(monday, "bob", 4, 0, 9);
    }
    week("2026-11-16", "ann", 5, 1, 3);
    events.push_back(
        f_.GeneralProposal("2026-11-22T23:59:59Z", "org-2", "ann", "sales"));
    week("2026-11-16", "bob", 4, 0, 9);
    week("2026-11-23", "ann", 30, 0, 1);
    week("2026-11-23", "bob", 4, 0, 9);
    // Not top of funnel, not closings.
    events.push_back(f_.IndividualProposal("2026-11-17T10:00:00Z", "d-x", "ann",
                                           "sales", Rub(100'000)));
    events.push_back(
        f_.Stage("2026-11-18T10:00:00Z", "d-y", "worked_out", "ann", "sales"));
    // The Monday after: the week of 11-30, outside every query below.
    events.push_back(f_.Call("2026-11-30T00:00:00Z", "org-3", "ann", "sales"));
    h_.Append(events);
    h_.CatchUp();
  }

  static std::string Rfc3339(absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }

  std::vector<DrainWeek> Weeks(const std::string& manager,
                               const std::string& last, int n,
                               const DrainRule& rule = kRule) {
    absl::StatusOr<std::vector<DrainWeek>> weeks =
        QueryDrainWeeks(h_.indicators(), manager, Day(last), n, rule);
    EXPECT_TRUE(weeks.ok()) << weeks.status();
    return weeks.ok() ? *weeks : std::vector<DrainWeek>();
  }

  testing::TempDir dir_;
  ProjectionHarness h_{dir_.path()};
  EventFactory f_;
};

MATCHER_P4(IsWeek, monday, top, closings, flagged, "") {
  return arg.week_start_day == Day(monday) && arg.top_of_funnel == top &&
         arg.closings == closings && arg.flagged == flagged;
}

TEST_F(QueryDrainWeeksTest, EachWeekIsJudgedAgainstTheWeeksBeforeIt) {
  EXPECT_THAT(Weeks("ann", "2026-11-23", 3),
              ::testing::ElementsAre(IsWeek("2026-11-09", 30, 1, false),
                                     IsWeek("2026-11-16", 7, 3, true),
                                     IsWeek("2026-11-23", 30, 1, false)));
  // Any day of the last week names it.
  EXPECT_THAT(Weeks("ann", "2026-11-29", 2),
              ::testing::ElementsAre(IsWeek("2026-11-16", 7, 3, true),
                                     IsWeek("2026-11-23", 30, 1, false)));
  EXPECT_THAT(Weeks("ann", "2026-11-18", 1),
              ::testing::ElementsAre(IsWeek("2026-11-16", 7, 3, true)));
}

TEST_F(QueryDrainWeeksTest, FlagsAreIsDrainingOverTheSameWeeks) {
  // From the first week, whose baseline is four weeks of nothing, to a week
  // after the last event; for several rules.
  std::vector<WeekActivity> all(4);  // The weeks before 10-19: zeros.
  const std::vector<DrainWeek> ann = Weeks("ann", "2026-12-07", 8);
  ASSERT_EQ(ann.size(), 8u);
  for (const DrainWeek& w : ann) all.push_back({w.top_of_funnel, w.closings});
  for (DrainRule rule : {kRule, DrainRule{.baseline_weeks = 1},
                         DrainRule{.baseline_weeks = 2, .min_closings = 3},
                         DrainRule{.baseline_weeks = 3, .top_drop = 0.1}}) {
    const std::vector<DrainWeek> weeks = Weeks("ann", "2026-12-07", 8, rule);
    ASSERT_EQ(weeks.size(), 8u);
    for (size_t i = 0; i < weeks.size(); ++i) {
      const size_t end = 4 + i + 1;
      const size_t n = static_cast<size_t>(rule.baseline_weeks) + 1;
      EXPECT_EQ(weeks[i].week_start_day, Day("2026-10-19") + 7 * int64_t(i));
      EXPECT_EQ(weeks[i].flagged,
                IsDraining(std::span(all).subspan(end - n, n), rule))
          << "week " << i << ", baseline " << rule.baseline_weeks;
    }
  }
  EXPECT_THAT(ann[6], IsWeek("2026-11-30", 1, 0, false));
  EXPECT_THAT(ann[7], IsWeek("2026-12-07", 0, 0, false));
}

TEST_F(QueryDrainWeeksTest, OtherManagersAndUnknownOnesAreSeparate) {
  // bob wins more than he calls every week: never a change, never flagged.
  for (const DrainWeek& w : Weeks("bob", "2026-11-23", 6)) {
    EXPECT_EQ(w.top_of_funnel, 4);
    EXPECT_EQ(w.closings, 9);
    EXPECT_FALSE(w.flagged);
  }
  for (const DrainWeek& w : Weeks("nobody", "2026-11-23", 3)) {
    EXPECT_EQ(w.top_of_funnel, 0);
    EXPECT_EQ(w.closings, 0);
    EXPECT_FALSE(w.flagged);
  }
}

TEST_F(QueryDrainWeeksTest, NoWeeksAndNegativeCounts) {
  EXPECT_TRUE(Weeks("ann", "2026-11-16", 0).empty());
  EXPECT_EQ(
      QueryDrainWeeks(h_.indicators(), "ann", Day("2026-11-16"), -1, kRule)
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  // No baseline at all: the weeks are read, none is flagged.
  EXPECT_THAT(Weeks("ann", "2026-11-16", 1, DrainRule{.baseline_weeks = 0}),
              ::testing::ElementsAre(IsWeek("2026-11-16", 7, 3, false)));
}

}  // namespace
}  // namespace voronka
