// Golden tests of the stored read models: small hand-checked streams in,
// the exact rows and entries out (DOMAIN.md §4, one rule per test).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "projections/funnel_projection.h"
#include "projections/keys.h"
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
using testing::Usd;

int64_t Day(const std::string& date) {
  return DayOf(T(date + "T12:00:00Z"), absl::UTCTimeZone());
}

Counters Row(ProjectionStore& store, const std::string& key) {
  auto row = store.GetRow(key);
  EXPECT_TRUE(row.ok()) << row.status();
  return row.ok() ? *row : Counters();
}

Counters Indicators(ProjectionStore& s, std::string_view scope,
                    const std::string& id, const std::string& date) {
  return Row(s, Key("i").Str(scope).Str(id).Int(Day(date)));
}

bool Has(ProjectionStore& store, const std::string& key) {
  auto v = store.Get(key);
  EXPECT_TRUE(v.ok());
  return v.ok() && v->has_value();
}

class ProjectionGoldenTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  ProjectionHarness h_{dir_.path()};
  EventFactory f_;
};

TEST_F(ProjectionGoldenTest, CallsCountPerManagerDepartmentAndDay) {
  h_.Append({
      f_.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation",
              CallOutcome::kAnswered, 120),
      f_.Call("2026-11-02T09:10:00Z", "org-1", "ann", "lead_generation",
              CallOutcome::kNoAnswer, 0),
      f_.Call("2026-11-02T09:20:00Z", "org-2", "ann", "lead_generation",
              CallOutcome::kAnswered, 60),
      f_.Call("2026-11-03T09:00:00Z", "org-1", "bea", "lead_generation",
              CallOutcome::kBusy, 0),
  });
  h_.CatchUp();
  Counters ann = Indicators(h_.indicators(), "m", "ann", "2026-11-02");
  EXPECT_EQ(ann.Get("calls"), 3);
  EXPECT_EQ(ann.Get("calls_answered"), 2);
  EXPECT_EQ(ann.Get("talk_seconds"), 180);
  EXPECT_EQ(Indicators(h_.indicators(), "d", "lead_generation", "2026-11-02")
                .Get("calls"),
            3);
  EXPECT_EQ(Indicators(h_.indicators(), "d", "lead_generation", "2026-11-03")
                .Get("calls"),
            1);
  EXPECT_EQ(Indicators(h_.indicators(), "t", "", "2026-11-03").Get("calls"), 1);
  // B: the calls to each organisation, per manager and day.
  const Counters ann_orgs =
      Row(h_.indicators(), Key("o").Str("m").Str("ann").Int(Day("2026-11-02")));
  EXPECT_EQ(ann_orgs.fields(), (Counters::Map{{"org-1", 2}, {"org-2", 1}}));
  EXPECT_TRUE(
      Row(h_.indicators(), Key("o").Str("m").Str("bea").Int(Day("2026-11-02")))
          .empty());
  EXPECT_EQ(
      Row(h_.indicators(), Key("o").Str("m").Str("bea").Int(Day("2026-11-03")))
          .fields(),
      (Counters::Map{{"org-1", 1}}));
  EXPECT_EQ(
      Row(h_.indicators(), Key("o").Str("t").Str("").Int(Day("2026-11-02")))
          .Get("org-1"),
      2);
}

TEST_F(ProjectionGoldenTest, RetriedDuplicateCountsOnce) {
  Event call =
      f_.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation");
  Event retry = call;
  retry.recorded_time = T("2026-11-02T09:05:00Z");  // Accepted again later.
  h_.Append({call, retry});
  h_.CatchUp();
  EXPECT_EQ(Indicators(h_.indicators(), "m", "ann", "2026-11-02").Get("calls"),
            1);
  EXPECT_EQ(h_.indicator_stats().duplicates, 1);
  EXPECT_EQ(h_.indicator_stats().conflicts, 0);
}

TEST_F(ProjectionGoldenTest, SameIdWithOtherContentIsAConflictNotApplied) {
  Event call =
      f_.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation");
  Event other = call;
  std::get<CallLogged>(other.data).manager = ManagerId("bea");
  h_.Append({call, other});
  h_.CatchUp();
  EXPECT_EQ(Indicators(h_.indicators(), "m", "ann", "2026-11-02").Get("calls"),
            1);
  EXPECT_TRUE(Indicators(h_.indicators(), "m", "bea", "2026-11-02").empty());
  EXPECT_EQ(h_.indicator_stats().conflicts, 1);
}

TEST_F(ProjectionGoldenTest, ApplicationsAndIndividualProposalsKeepCurrencies) {
  h_.Append({
      f_.GeneralProposal("2026-11-02T10:00:00Z", "org-1", "ann",
                         "lead_generation"),
      f_.IndividualProposal("2026-11-02T11:00:00Z", "d1", "bob", "sales",
                            Rub(500000)),
      f_.Application("2026-11-02T12:00:00Z", "d2", "bob", "sales", Usd(9900)),
  });
  h_.CatchUp();
  EXPECT_EQ(Indicators(h_.indicators(), "m", "ann", "2026-11-02")
                .Get("proposals_general"),
            1);
  Counters bob = Indicators(h_.indicators(), "m", "bob", "2026-11-02");
  EXPECT_EQ(bob.Get("applications"), 2);
  EXPECT_EQ(bob.Get("applications_amount.RUB"), 500000);
  EXPECT_EQ(bob.Get("applications_amount.USD"), 9900);
}

// invoice.paid without a manager goes to the issuer — also when the payment
// is in the log before the invoice.
TEST_F(ProjectionGoldenTest, PaymentWithoutManagerIsCreditedToTheIssuer) {
  Event issued = f_.Invoice("2026-11-02T10:00:00Z", "d1", "inv-1", "bob",
                            "sales", Rub(100000));
  Event paid = f_.Paid("2026-11-05T10:00:00Z", "d1", "inv-1", Rub(100000));
  h_.Append({paid});
  h_.CatchUp();
  EXPECT_EQ(
      Indicators(h_.indicators(), "t", "", "2026-11-05").Get("invoices_paid"),
      1);
  EXPECT_TRUE(Indicators(h_.indicators(), "m", "bob", "2026-11-05").empty());
  h_.Append({issued});
  h_.CatchUp();
  Counters bob = Indicators(h_.indicators(), "m", "bob", "2026-11-05");
  EXPECT_EQ(bob.Get("invoices_paid"), 1);
  EXPECT_EQ(bob.Get("invoices_paid_amount.RUB"), 100000);
  EXPECT_EQ(Indicators(h_.indicators(), "d", "sales", "2026-11-05")
                .Get("invoices_paid"),
            1);
  EXPECT_EQ(
      Indicators(h_.indicators(), "t", "", "2026-11-05").Get("invoices_paid"),
      1);  // Moved, not added.
  EXPECT_EQ(Indicators(h_.indicators(), "m", "bob", "2026-11-02")
                .Get("invoices_issued_amount.RUB"),
            100000);
}

TEST_F(ProjectionGoldenTest, WonAndLostCountForTheActor) {
  h_.Append({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "shipment", "amy",
               "account_management"),
      f_.Stage("2026-11-04T09:00:00Z", "d1", "customer", "amy",
               "account_management"),
      f_.Stage("2026-11-04T10:00:00Z", "d2", "worked_out", "ann",
               "lead_generation"),
  });
  h_.CatchUp();
  EXPECT_EQ(
      Indicators(h_.indicators(), "m", "amy", "2026-11-04").Get("deals_won"),
      1);
  EXPECT_EQ(
      Indicators(h_.indicators(), "m", "ann", "2026-11-04").Get("deals_lost"),
      1);
}

// A late event (earlier time, later in the log) takes its place in the
// deal's order and re-decides the owner and the queue.
TEST_F(ProjectionGoldenTest, LateClaimReDecidesTheDeal) {
  Event handoff = f_.Stage("2026-11-02T09:00:00Z", "d1", "development", "ann",
                           "lead_generation", Rub(5000));
  Event claim = f_.Claim("2026-11-02T10:00:00Z", "d1", "bob", "sales");
  Event move = f_.Stage("2026-11-03T09:00:00Z", "d1", "development", "bob",
                        "sales", Rub(7000));
  h_.Append({handoff, move});
  h_.CatchUp();
  auto deal = ReadDeal(h_.funnel(), DealId("d1"));
  ASSERT_TRUE(deal.ok() && deal->has_value());
  EXPECT_FALSE((*deal)->owner.has_value());
  EXPECT_TRUE(Has(h_.funnel(), Key("q")
                                   .Str("sales")
                                   .Int(T("2026-11-02T09:00:00Z").unix_micros())
                                   .Str("d1")));
  h_.Append({claim});  // Arrives last, happened second.
  h_.CatchUp();
  deal = ReadDeal(h_.funnel(), DealId("d1"));
  ASSERT_TRUE(deal.ok() && deal->has_value());
  ASSERT_TRUE((*deal)->owner.has_value());
  EXPECT_EQ((*deal)->owner->value(), "bob");
  EXPECT_EQ((*deal)->amount, Rub(7000));
  EXPECT_FALSE(
      Has(h_.funnel(), Key("q")
                           .Str("sales")
                           .Int(T("2026-11-02T09:00:00Z").unix_micros())
                           .Str("d1")));
  EXPECT_EQ(Row(h_.funnel(), Key("cw").Str("sales").Int(Day("2026-11-02")))
                .Get("wait_s"),
            3600);
}

TEST_F(ProjectionGoldenTest, WorkloadAndForecastPerStageDepartmentOwner) {
  h_.Append({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "development", "", "", Rub(10000)),
      f_.Claim("2026-11-02T10:00:00Z", "d1", "bob", "sales"),
      f_.Stage("2026-11-02T11:00:00Z", "d2", "development", "", "", Rub(30000)),
  });
  h_.CatchUp();
  Counters bob = Row(
      h_.funnel(),
      Key("w").Str("acquisition").Str("development").Str("sales").Str("bob"));
  EXPECT_EQ(bob.Get("deals"), 1);
  EXPECT_EQ(bob.Get("open"), 1);
  EXPECT_EQ(bob.Get("amount.RUB"), 10000);
  EXPECT_EQ(bob.Get("forecast_bp.RUB"), 10000 * 4000);  // 40 %.
  Counters unowned =
      Row(h_.funnel(),
          Key("w").Str("acquisition").Str("development").Str("sales").Str(""));
  EXPECT_EQ(unowned.Get("deals"), 1);
  EXPECT_EQ(unowned.Get("amount.RUB"), 30000);
}

TEST_F(ProjectionGoldenTest, DepartureReQueuesTheDealsOfTheManager) {
  h_.Append({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-02T09:30:00Z", "d2", "new", "ann", "lead_generation"),
      f_.Departed("2026-11-06T18:00:00Z", "ann", "lead_generation"),
  });
  h_.CatchUp();
  const int64_t since = T("2026-11-06T18:00:00Z").unix_micros();
  EXPECT_TRUE(
      Has(h_.funnel(), Key("q").Str("lead_generation").Int(since).Str("d1")));
  EXPECT_TRUE(
      Has(h_.funnel(), Key("q").Str("lead_generation").Int(since).Str("d2")));
  EXPECT_FALSE(Has(h_.funnel(), Key("ob").Str("ann").Str("d1")));
}

TEST_F(ProjectionGoldenTest, GeometryCountsSkippedStagesAsPassed) {
  h_.Append({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "development"),
  });
  h_.CatchUp();
  EXPECT_EQ(
      Row(h_.funnel(),
          Key("g").Str("acquisition").Str("active").Int(Day("2026-11-03")))
          .Get("reached"),
      1);
  Counters cohort =
      Row(h_.funnel(),
          Key("c").Str("acquisition").Str("new").Int(Day("2026-11-02")));
  EXPECT_EQ(cohort.Get("entered"), 1);
  EXPECT_EQ(cohort.Get("to_next"), 1);
  EXPECT_EQ(cohort.Get("next_wait_s"), 86400);
  EXPECT_EQ(cohort.Get("to_won"), 0);
}

}  // namespace
}  // namespace voronka
