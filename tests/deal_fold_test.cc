// Golden tests of the deal fold: one DOMAIN.md §4 rule per test, each a
// small hand-checked history and the state it must produce.
#include "projections/deal.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/sample_events.h"

namespace voronka {
namespace {

using testing::EventFactory;
using testing::Rub;
using testing::T;

class DealFoldTest : public ::testing::Test {
 protected:
  // Adds `events` to those of earlier calls and folds `deal`'s history in
  // EventKey order, with every manager.* event in the roster.
  DealState Fold(std::vector<Event> events, const std::string& deal = "d1") {
    for (Event& e : events) {
      roster_.Add(e);
      all_.push_back(std::move(e));
    }
    std::vector<Event> history;
    for (const Event& e : all_) {
      if (e.deal() != nullptr && e.deal()->value() == deal) {
        history.push_back(e);
      }
    }
    std::sort(history.begin(), history.end(),
              [](const Event& a, const Event& b) {
                return EventKey::Of(a) < EventKey::Of(b);
              });
    return folder_.Fold(DealId(deal), history);
  }

  EventFactory f_;
  std::vector<Event> all_;
  Roster roster_;
  DealFolder folder_{FunnelConfig::Default(), roster_};
};

TEST_F(DealFoldTest, FirstStageIsOwnedByAnActorOfItsDepartment) {
  DealState s = Fold({f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann",
                               "lead_generation")});
  ASSERT_TRUE(s.owner.has_value());
  EXPECT_EQ(s.owner->value(), "ann");
  EXPECT_FALSE(s.queue.has_value());
  EXPECT_EQ(s.stage_department.value(), "lead_generation");
}

TEST_F(DealFoldTest, FirstStageWithoutSuchActorIsQueued) {
  DealState s = Fold({f_.Stage("2026-11-02T09:00:00Z", "d1", "new")});
  EXPECT_FALSE(s.owner.has_value());
  ASSERT_TRUE(s.queue.has_value());
  EXPECT_EQ(s.queue->department.value(), "lead_generation");
  EXPECT_EQ(s.queue->since, T("2026-11-02T09:00:00Z"));
  EXPECT_EQ(s.queue->reason, QueueReason::kStageHandoff);
}

TEST_F(DealFoldTest, HandoffToAnotherDepartmentQueuesUntilClaimed) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "active", "ann",
               "lead_generation"),
      f_.Stage("2026-11-04T09:00:00Z", "d1", "development", "ann",
               "lead_generation"),
      f_.Claim("2026-11-04T13:00:00Z", "d1", "bob", "sales"),
  });
  ASSERT_TRUE(s.owner.has_value());
  EXPECT_EQ(s.owner->value(), "bob");
  EXPECT_FALSE(s.queue.has_value());
  ASSERT_EQ(s.claims.size(), 1u);
  EXPECT_EQ(s.claims[0].department.value(), "sales");
  EXPECT_EQ(s.claims[0].claimed - s.claims[0].enqueued, absl::Hours(4));
}

TEST_F(DealFoldTest, SameDepartmentKeepsTheOwner) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "active", "carl",
               "lead_generation"),
  });
  ASSERT_TRUE(s.owner.has_value());
  EXPECT_EQ(s.owner->value(), "ann");  // Not the actor of the second move.
  EXPECT_EQ(s.stage_entered, T("2026-11-03T09:00:00Z"));
}

TEST_F(DealFoldTest, KeyAccountsTakeSalesAndAccountStagesWithoutAHandoff) {
  const Money big = Rub(150'000'000);  // Over RUB 1,000,000.00.
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "active", "ann",
               "lead_generation"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "development", "ann",
               "lead_generation", big),
  });
  EXPECT_EQ(s.stage_department.value(), "key_accounts");
  ASSERT_TRUE(s.queue.has_value());
  EXPECT_EQ(s.queue->department.value(), "key_accounts");
  EXPECT_EQ(s.queue->reason, QueueReason::kKeyAccount);

  EventFactory more("crm/more");
  DealState t = Fold({
      more.Claim("2026-11-03T10:00:00Z", "d1", "kate", "key_accounts"),
      more.Stage("2026-11-10T09:00:00Z", "d1", "shipment", "kate",
                 "key_accounts"),
  });
  // Onboarding stays with key accounts: no handoff, same owner.
  EXPECT_EQ(t.stage_department.value(), "key_accounts");
  ASSERT_TRUE(t.owner.has_value());
  EXPECT_EQ(t.owner->value(), "kate");
  EXPECT_FALSE(t.queue.has_value());
}

TEST_F(DealFoldTest, SmallDealGoesToSales) {
  DealState s = Fold({f_.Stage("2026-11-03T09:00:00Z", "d1", "development", "",
                               "", Rub(99'999'999))});
  EXPECT_EQ(s.stage_department.value(), "sales");
}

TEST_F(DealFoldTest, DepartureQueuesOpenDealsOfTheManager) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Departed("2026-11-05T18:00:00Z", "ann", "lead_generation"),
  });
  EXPECT_FALSE(s.owner.has_value());
  ASSERT_TRUE(s.queue.has_value());
  EXPECT_EQ(s.queue->reason, QueueReason::kDeparture);
  EXPECT_EQ(s.queue->since, T("2026-11-05T18:00:00Z"));
  EXPECT_EQ(s.queue->department.value(), "lead_generation");
}

TEST_F(DealFoldTest, DepartureDoesNotTouchClosedDeals) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "worked_out", "ann",
               "lead_generation"),
      f_.Departed("2026-11-05T18:00:00Z", "ann", "lead_generation"),
  });
  EXPECT_FALSE(s.open());
  EXPECT_EQ(s.owner->value(), "ann");
  EXPECT_FALSE(s.queue.has_value());
}

TEST_F(DealFoldTest, ClaimByADepartedManagerIsIgnoredUntilRejoined) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new"),
      f_.Departed("2026-11-02T10:00:00Z", "ann", "lead_generation"),
      f_.Claim("2026-11-02T11:00:00Z", "d1", "ann", "lead_generation"),
  });
  EXPECT_FALSE(s.owner.has_value());
  EXPECT_TRUE(s.queue.has_value());
  EXPECT_TRUE(s.claims.empty());

  EventFactory more("crm/more");
  DealState t = Fold({
      more.Joined("2026-11-03T09:00:00Z", "ann", "lead_generation"),
      more.Claim("2026-11-03T10:00:00Z", "d1", "ann", "lead_generation"),
  });
  ASSERT_TRUE(t.owner.has_value());
  EXPECT_EQ(t.owner->value(), "ann");
}

TEST_F(DealFoldTest, ClaimsOnAClosedDealKeepTheOwnerOfRecord) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "shipment", "amy",
               "account_management"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "customer", "amy",
               "account_management"),
      f_.Claim("2026-11-04T09:00:00Z", "d1", "zed", "account_management"),
      f_.Reassign("2026-11-05T09:00:00Z", "d1", "yan", "account_management"),
  });
  EXPECT_EQ(s.outcome, StageOutcome::kWon);
  ASSERT_TRUE(s.owner.has_value());
  EXPECT_EQ(s.owner->value(), "amy");
  EXPECT_TRUE(s.claims.empty());
  EXPECT_EQ(s.last_activity, T("2026-11-05T09:00:00Z"));
}

TEST_F(DealFoldTest, ReassignmentLeavesTheQueueWithoutAClaimWait) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new"),
      f_.Reassign("2026-11-02T12:00:00Z", "d1", "dan", "lead_generation"),
  });
  EXPECT_EQ(s.owner->value(), "dan");
  EXPECT_FALSE(s.queue.has_value());
  EXPECT_TRUE(s.claims.empty());
}

TEST_F(DealFoldTest, SkippedStagesCountAsReachedButNotForALoss) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-04T09:00:00Z", "d1", "shipment"),
  });
  // new, active, development, shipment reached; customer, worked_out not.
  ASSERT_EQ(s.reached.size(), 6u);
  EXPECT_EQ(s.reached[0], T("2026-11-02T09:00:00Z"));
  EXPECT_EQ(s.reached[1], T("2026-11-04T09:00:00Z"));
  EXPECT_EQ(s.reached[2], T("2026-11-04T09:00:00Z"));
  EXPECT_EQ(s.reached[3], T("2026-11-04T09:00:00Z"));
  EXPECT_FALSE(s.reached[4].is_set());

  EventFactory more("crm/more");
  DealState lost =
      Fold({more.Stage("2026-11-02T09:00:00Z", "d2", "new"),
            more.Stage("2026-11-03T09:00:00Z", "d2", "worked_out")},
           "d2");
  EXPECT_FALSE(lost.reached[1].is_set());
  EXPECT_TRUE(lost.reached[5].is_set());
  EXPECT_EQ(lost.outcome, StageOutcome::kLost);
  EXPECT_FALSE(lost.queue.has_value());
}

TEST_F(DealFoldTest, ExpectedAmountIsTheLatestInEventOrder) {
  DealState s = Fold({
      f_.Stage("2026-11-02T09:00:00Z", "d1", "development", "", "", Rub(100)),
      f_.IndividualProposal("2026-11-03T09:00:00Z", "d1", "bob", "sales",
                            Rub(300)),
      f_.Application("2026-11-04T09:00:00Z", "d1", "bob", "sales", Rub(250)),
      f_.Call("2026-11-05T09:00:00Z", "org-1", "bob", "sales",
              CallOutcome::kAnswered, 60, "d1"),
  });
  EXPECT_EQ(s.amount, Rub(250));
  EXPECT_EQ(s.last_activity, T("2026-11-05T09:00:00Z"));
  EXPECT_EQ(s.events, 4);
}

// Apply() event by event, in order, equals Fold(); and applying a departure
// after the fact through Settle() equals folding it in.
TEST_F(DealFoldTest, IncrementalApplyEqualsFold) {
  std::vector<Event> events = {
      f_.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", "lead_generation"),
      f_.Stage("2026-11-03T09:00:00Z", "d1", "development", "ann",
               "lead_generation", Rub(5000)),
      f_.Claim("2026-11-03T11:00:00Z", "d1", "bob", "sales"),
      f_.Departed("2026-11-04T09:00:00Z", "bob", "sales"),
      f_.Claim("2026-11-04T15:00:00Z", "d1", "cid", "sales"),
  };
  const DealState folded = Fold(events);
  Roster roster;
  DealFolder folder(FunnelConfig::Default(), roster);
  DealState inc{.deal = DealId("d1")};
  for (const Event& e : events) {
    if (e.deal() == nullptr) {
      roster.Add(e);
      folder.Settle(inc);
    } else {
      folder.Apply(inc, e);
    }
  }
  EXPECT_EQ(inc, folded);
  EXPECT_EQ(folded.owner->value(), "cid");
  ASSERT_EQ(folded.claims.size(), 2u);
  EXPECT_EQ(folded.claims[1].reason, QueueReason::kDeparture);
  EXPECT_EQ(folded.claims[1].claimed - folded.claims[1].enqueued,
            absl::Hours(6));
}

TEST(DealStateCodecTest, RoundTrips) {
  EventFactory f;
  Roster roster;
  DealFolder folder(FunnelConfig::Default(), roster);
  DealState s = folder.Fold(
      DealId("d1"),
      std::vector<Event>{
          f.Stage("2026-11-02T09:00:00Z", "d1", "new"),
          f.Claim("2026-11-02T10:00:00Z", "d1", "ann", "lead_generation")});
  absl::StatusOr<DealState> back = DecodeDealState(EncodeDealState(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
  EXPECT_FALSE(DecodeDealState("\x01garbage").ok());
  EXPECT_FALSE(DecodeDealState("").ok());
}

}  // namespace
}  // namespace voronka
