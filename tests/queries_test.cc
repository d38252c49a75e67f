// The pure queries behind the API (projections/queries.h): period splitting
// and the exact claim-wait statistics, on hand-checked inputs.
#include "projections/queries.h"

#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::EventFactory;
using testing::ProjectionHarness;
using testing::T;

int64_t Day(const std::string& date) {
  return DayOf(T(date + "T12:00:00Z"), absl::UTCTimeZone());
}

DayRange Range(const std::string& from, const std::string& to) {
  return {Day(from), Day(to)};
}

TEST(SplitRangeTest, NoneIsTheWholeRange) {
  EXPECT_EQ(SplitRange(Day("2026-11-03"), Day("2026-12-24"), Rollup::kNone),
            std::vector<DayRange>{Range("2026-11-03", "2026-12-24")});
  EXPECT_TRUE(
      SplitRange(Day("2026-11-04"), Day("2026-11-03"), Rollup::kNone).empty());
}

TEST(SplitRangeTest, WeeksRunMondayToSundayClippedAtTheEnds) {
  // 2026-11-04 is a Wednesday, 2026-11-17 a Tuesday.
  EXPECT_EQ(SplitRange(Day("2026-11-04"), Day("2026-11-17"), Rollup::kWeek),
            (std::vector<DayRange>{Range("2026-11-04", "2026-11-08"),
                                   Range("2026-11-09", "2026-11-15"),
                                   Range("2026-11-16", "2026-11-17")}));
  // Before the epoch too: 1969-12-29 was a Monday.
  EXPECT_EQ(SplitRange(Day("1969-12-28"), Day("1970-01-05"), Rollup::kWeek),
            (std::vector<DayRange>{Range("1969-12-28", "1969-12-28"),
                                   Range("1969-12-29", "1970-01-04"),
                                   Range("1970-01-05", "1970-01-05")}));
}

TEST(SplitRangeTest, MonthsAreCalendarMonths) {
  EXPECT_EQ(SplitRange(Day("2027-01-31"), Day("2027-03-01"), Rollup::kMonth),
            (std::vector<DayRange>{Range("2027-01-31", "2027-01-31"),
                                   Range("2027-02-01", "2027-02-28"),
                                   Range("2027-03-01", "2027-03-01")}));
}

TEST(SplitRangeTest, DaysAreDays) {
  EXPECT_EQ(SplitRange(Day("2026-12-31"), Day("2027-01-01"), Rollup::kDay),
            (std::vector<DayRange>{Range("2026-12-31", "2026-12-31"),
                                   Range("2027-01-01", "2027-01-01")}));
}

TEST(ClaimWaitsTest, NearestRankPercentilesMeanAndMax) {
  testing::TempDir dir;
  ProjectionHarness h(dir.path());
  EventFactory f;
  // Ten deals handed to sales at 09:00, claimed after 1..10 minutes.
  std::vector<Event> events;
  for (int i = 1; i <= 10; ++i) {
    const std::string deal = fmt::format("d{}", i);
    events.push_back(f.Stage("2026-11-02T09:00:00Z", deal, "development", "ann",
                             "lead_generation"));
    events.push_back(f.Claim(fmt::format("2026-11-02T09:{:02}:00Z", i), deal,
                             "bob", "sales"));
  }
  h.Append(events);
  h.CatchUp();
  auto w = QueryClaimWaits(h.funnel(), "sales", Day("2026-11-02"),
                           Day("2026-11-02"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->count, 10);
  EXPECT_EQ(w->mean, absl::Seconds(330));  // 5.5 min
  EXPECT_EQ(w->p50, absl::Minutes(5));     // the 5th of 10
  EXPECT_EQ(w->p90, absl::Minutes(9));     // the 9th of 10
  EXPECT_EQ(w->max, absl::Minutes(10));
  auto none = QueryClaimWaits(h.funnel(), "sales", Day("2026-11-03"),
                              Day("2026-11-30"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->count, 0);
  EXPECT_EQ(none->p90, absl::ZeroDuration());
}

}  // namespace
}  // namespace voronka
