// The pipeline-drain signal on a simulated organisation: managers who
// squeeze before they leave (SimulatorOptions::squeeze_weeks) against
// everyone else, judged week by week with QueryDrainWeeks and the default
// rule (projections/drain.h), as the gauge judges them.
//
// A year of seed 7 with three departures a month, each leaver chosen two
// weeks ahead. The simulated organisation starts with empty books and
// settles after about two months (docs/simulator.md), so weeks are judged
// from its eleventh, 2027-01-11, to Sunday 2027-10-31 (43 weeks).
#include <algorithm>
#include <cstdint>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "projections/drain.h"
#include "projections/queries.h"
#include "projections/view.h"
#include "services/simulator.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::ProjectionHarness;
using testing::T;
using testing::TempDir;

constexpr int kSqueezeWeeks = 2;

int64_t Day(const std::string& date) {
  return DayOf(T(date + "T12:00:00Z"), absl::UTCTimeZone());
}

struct Staff {
  std::string department;
  int64_t first_full_week = 0;    // The Monday of the first whole week.
  std::optional<int64_t> leaves;  // Day of manager.departed.
};

struct Tally {
  // Leavers of departments that close deals (not lead generation) whose
  // squeeze weeks are judged: a full baseline before them, busy enough for
  // the rule (min_baseline_top), inside the judged range.
  std::vector<std::string> squeezers, squeezers_flagged;
  int64_t squeeze_weeks = 0, squeeze_flagged_weeks = 0;  // Theirs.
  std::vector<std::string> agents, agents_flagged;       // Lead generation.
  // Every other judged week of the closing departments: managers before
  // their squeeze, and those who stay.
  int64_t steady_weeks = 0, steady_flagged_weeks = 0;
  int64_t steady_managers = 0;                // With at least one steady week.
  std::map<std::string, int> steady_flagged;  // Manager -> flagged weeks.
};

class DrainSimulationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    harness_ = new ProjectionHarness(dir_->Sub("p"));
    Simulator simulator(
        FunnelConfig::Default(),
        {.seed = 7, .departure_rate = 3, .squeeze_weeks = kSqueezeWeeks});
    // Three weeks past the judged range: whoever squeezes in a judged week
    // has left by then.
    const Timestamp until = T("2027-11-15T00:00:00Z");
    std::vector<Event> events;
    while (!simulator.stats().last_time.is_set() ||
           simulator.stats().last_time < until) {
      for (Event& e : simulator.Next(5'000)) events.push_back(std::move(e));
    }
    for (const Event& e : events) {
      const int64_t day = DayOf(e.time, absl::UTCTimeZone());
      if (const auto* j = e.get_if<ManagerJoined>()) {
        Staff& s = staff_[j->manager.value()];
        s.department = j->department.value();
        s.first_full_week = WeekStart(day) == day ? day : WeekStart(day) + 7;
      } else if (const auto* d = e.get_if<ManagerDeparted>()) {
        staff_[d->manager.value()].leaves = day;
      }
    }
    harness_->Append(events);
    harness_->CatchUp();
    Judge();
  }

  static void TearDownTestSuite() {
    delete harness_;
    delete dir_;
  }

  static void Judge() {
    const DrainRule rule;
    const int64_t first = Day("2027-01-11"), last = Day("2027-10-25");
    ProjectionStore& store = harness_->indicators();
    for (const auto& [manager, s] : staff_) {
      const bool closes = s.department != "lead_generation";
      // The first week with rule.baseline_weeks whole weeks before it.
      const int64_t ready =
          std::max(first, s.first_full_week + 7 * rule.baseline_weeks);
      // The weeks that overlap the squeeze and end before the departure:
      // from `squeeze` to the week before the departure's.
      std::optional<int64_t> squeeze;
      if (s.leaves) squeeze = WeekStart(*s.leaves - 7 * kSqueezeWeeks);
      const int64_t squeeze_end = squeeze ? WeekStart(*s.leaves) - 7 : 0;
      if (squeeze && *squeeze >= ready && squeeze_end <= last) {
        ASSERT_EQ(squeeze_end, *squeeze + 7 * (kSqueezeWeeks - 1));
        absl::StatusOr<std::vector<DrainWeek>> weeks =
            QueryDrainWeeks(store, manager, squeeze_end,
                            rule.baseline_weeks + kSqueezeWeeks, rule);
        ASSERT_TRUE(weeks.ok()) << weeks.status();
        double baseline_top = 0;
        for (int i = 0; i < rule.baseline_weeks; ++i) {
          baseline_top += static_cast<double>((*weeks)[i].top_of_funnel);
        }
        baseline_top /= rule.baseline_weeks;
        bool flagged = false;
        int flagged_weeks = 0;
        std::string line = manager;
        for (size_t i = 0; i < weeks->size(); ++i) {
          const DrainWeek& w = (*weeks)[i];
          const bool squeezed = i >= static_cast<size_t>(rule.baseline_weeks);
          flagged |= squeezed && w.flagged;
          flagged_weeks += squeezed && w.flagged ? 1 : 0;
          line +=
              fmt::format("{}{}/{}{}", squeezed ? " | " : " ", w.top_of_funnel,
                          w.closings, w.flagged ? "*" : "");
        }
        std::cout << "leaver " << line << "\n";
        if (!closes) {
          tally_.agents.push_back(manager);
          if (flagged) tally_.agents_flagged.push_back(manager);
        } else if (baseline_top >= static_cast<double>(rule.min_baseline_top)) {
          tally_.squeezers.push_back(manager);
          if (flagged) tally_.squeezers_flagged.push_back(manager);
          tally_.squeeze_weeks += kSqueezeWeeks;
          tally_.squeeze_flagged_weeks += flagged_weeks;
        }
      }
      if (!closes || ready > last) continue;
      // Steady weeks: from `ready` to the last judged week, or to the week
      // before the squeeze.
      int64_t end = last;
      if (squeeze) end = std::min(end, *squeeze - 7);
      if (end < ready) continue;
      const int n = static_cast<int>((end - ready) / 7 + 1);
      absl::StatusOr<std::vector<DrainWeek>> weeks =
          QueryDrainWeeks(store, manager, end, n, rule);
      ASSERT_TRUE(weeks.ok()) << weeks.status();
      ++tally_.steady_managers;
      for (const DrainWeek& w : *weeks) {
        ++tally_.steady_weeks;
        if (!w.flagged) continue;
        ++tally_.steady_flagged_weeks;
        ++tally_.steady_flagged[manager];
      }
    }
    std::cout << fmt::format(
        "squeezing leavers flagged {} of {} (their weeks {} of {}; lead "
        "generation {} of {}); steady weeks flagged {} of {}, of {} managers "
        "{}\n",
        tally_.squeezers_flagged.size(), tally_.squeezers.size(),
        tally_.squeeze_flagged_weeks, tally_.squeeze_weeks,
        tally_.agents_flagged.size(), tally_.agents.size(),
        tally_.steady_flagged_weeks, tally_.steady_weeks,
        tally_.steady_managers, tally_.steady_flagged.size());
  }

  static TempDir* dir_;
  static ProjectionHarness* harness_;
  static std::map<std::string, Staff> staff_;
  static Tally tally_;
};

TempDir* DrainSimulationTest::dir_ = nullptr;
ProjectionHarness* DrainSimulationTest::harness_ = nullptr;
std::map<std::string, Staff> DrainSimulationTest::staff_;
Tally DrainSimulationTest::tally_;

TEST_F(DrainSimulationTest, SqueezingLeaversAreFlaggedBeforeTheyLeave) {
  // Several leavers to judge; at least four in five flagged in one of their
  // last two weeks (a squeeze that starts late in a week after a busy month
  // can stay under the 30 % rise). Seed 7: all 10 (one more, an account
  // manager with 16 calls a week, is under min_baseline_top).
  EXPECT_GE(tally_.squeezers.size(), 8u);
  EXPECT_GE(tally_.squeezers_flagged.size() * 5, tally_.squeezers.size() * 4)
      << fmt::format("{} of {}", tally_.squeezers_flagged.size(),
                     tally_.squeezers.size());
}

TEST_F(DrainSimulationTest, SteadyManagersAreRarelyFlagged) {
  // At most 3 % of the steady weeks, and never twice for one manager.
  // Seed 7: 6 of 244 weeks, 6 of 16 managers once each, every one within
  // three weeks of a colleague's departure: the squeezer took the queue
  // (fewer calls for the others), then left them deals pushed to close.
  // Without squeezing (squeeze_weeks 0) it is 1 of 228.
  EXPECT_GE(tally_.steady_weeks, 150);
  EXPECT_LE(tally_.steady_flagged_weeks * 100, tally_.steady_weeks * 3);
  EXPECT_LE(tally_.steady_flagged.size() * 2, tally_.steady_managers);
  for (const auto& [manager, weeks] : tally_.steady_flagged) {
    EXPECT_EQ(weeks, 1) << manager;
  }
}

TEST_F(DrainSimulationTest, LeadGenerationIsOutOfReach) {
  // The rule counts deals won; lead generation hands deals over and wins
  // none, so its squeezing agents are never flagged (docs/observability.md).
  EXPECT_GE(tally_.agents.size(), 3u);
  EXPECT_TRUE(tally_.agents_flagged.empty());
}

}  // namespace
}  // namespace voronka
