// The audit index and what auditors read from it (docs/audit.md), against
// both logs: golden histories with deals lost and handed over, the book as
// of a moment (and at "now" equal to the live funnel read model), the hash
// chains and their verification against a copy of the log with one record
// altered, order independence of the index, and the access log.
#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/audit.h"
#include "projections/audit_projection.h"
#include "projections/funnel_projection.h"
#include "projections/projector.h"
#include "services/audit.h"
#include "services/audit_access.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/log_contents.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// A log of either kind, and the audit and funnel stores built from it.
class Fixture {
 public:
  explicit Fixture(bool kafka, int partitions = 2) {
    if (kafka) {
      auto broker = DevBroker::Start({.brokers = 1,
                                      .topics = {"events", "copy"},
                                      .partitions = partitions});
      EXPECT_TRUE(broker.ok()) << broker.status();
      broker_ = std::move(*broker);
      log_ = OpenKafka("events");
    } else {
      auto log = EmbeddedLog::Open({.path = dir_.Sub("log")});
      EXPECT_TRUE(log.ok()) << log.status();
      log_ = std::move(*log);
    }
  }

  std::unique_ptr<EventLog> OpenKafka(const std::string& topic) {
    auto log =
        KafkaLog::Open({.brokers = broker_->bootstrap(), .topic = topic});
    EXPECT_TRUE(log.ok()) << log.status();
    return log.ok() ? std::move(*log) : nullptr;
  }

  // A second log with the same records, `alter` applied to the one at
  // `position`: appended in the same order, each to its partition, so that
  // every record keeps its position.
  std::unique_ptr<EventLog> CopyAltering(
      LogPosition position, const std::function<void(Event&)>& alter) {
    std::unique_ptr<EventLog> copy;
    if (broker_ != nullptr) {
      copy = OpenKafka("copy");
    } else {
      auto log = EmbeddedLog::Open({.path = dir_.Sub("copy")});
      EXPECT_TRUE(log.ok());
      copy = std::move(*log);
    }
    auto records = testing::ReadToEnd(*log_);
    EXPECT_TRUE(records.ok());
    std::sort(records->begin(), records->end(),
              [](const LogRecord& a, const LogRecord& b) {
                return a.position < b.position;
              });
    for (LogRecord& r : *records) {
      if (r.position == position) alter(r.event);
      auto at = copy->Append({&r.event, 1});
      EXPECT_TRUE(at.ok()) << at.status();
      EXPECT_EQ((*at)[0], r.position) << "the copy must keep positions";
    }
    return copy;
  }

  // Appends one by one (positions in order), each recorded a millisecond
  // after the one before, as ingest would stamp them.
  std::vector<LogPosition> Append(std::vector<Event> events) {
    std::vector<LogPosition> out;
    Timestamp recorded = ParseRfc3339("2026-12-01T00:00:00Z").value();
    for (Event& e : events) {
      recorded = recorded + absl::Milliseconds(1);
      e.recorded_time = recorded;
      auto at = log_->Append({&e, 1});
      EXPECT_TRUE(at.ok()) << at.status();
      out.push_back((*at)[0]);
    }
    return out;
  }

  void Project(size_t batch = 4096) {
    if (audit_ == nullptr) {
      audit_ = Open("audit");
      funnel_ = Open("funnel");
    }
    auto end = log_->EndOffsets();
    ASSERT_TRUE(end.ok());
    for (auto [store, projection] :
         {std::pair<ProjectionStore*, Projection*>(audit_.get(), &audit_p_),
          std::pair<ProjectionStore*, Projection*>(funnel_.get(),
                                                   &funnel_p_)}) {
      auto projector =
          Projector::Open(*log_, *store, *projection, {.batch_records = batch});
      ASSERT_TRUE(projector.ok()) << projector.status();
      ASSERT_TRUE((*projector)->CatchUp(*end).ok());
    }
  }

  std::unique_ptr<ProjectionStore> Open(const std::string& name) {
    auto s = ProjectionStore::Open(
        {.path = dir_.Sub(name + std::to_string(generation_++))});
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }

  AuditReader Reader() {
    return AuditReader(*audit_, *log_, FunnelConfig::Default());
  }
  AuditReader ReaderOver(EventLog& log) {
    return AuditReader(*audit_, log, FunnelConfig::Default());
  }

  std::vector<HistoryRow> History(const std::string& manager,
                                  std::optional<Timestamp> from = {},
                                  std::optional<Timestamp> to = {}) {
    std::vector<HistoryRow> rows;
    absl::Status s = Reader().History(
        {.manager = manager, .from = from, .to = to}, [&](const HistoryRow& r) {
          rows.push_back(r);
          return absl::OkStatus();
        });
    EXPECT_TRUE(s.ok()) << s;
    return rows;
  }

  EventLog& log() { return *log_; }
  ProjectionStore& audit() { return *audit_; }
  ProjectionStore& funnel() { return *funnel_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<EventLog> log_;
  AuditProjection audit_p_{FunnelConfig::Default()};
  FunnelProjection funnel_p_{FunnelConfig::Default()};
  std::unique_ptr<ProjectionStore> audit_, funnel_;
  int generation_ = 0;
};

// ann (lead generation, then a closer) works deals d1..d4 and leaves:
//  d1: ann opens it, a manager reassigns it to bob         -> lost deal
//  d2: ann owns it; carl moves it into sales              -> lost deal
//  d3: ann owns it; at her departure it is re-queued; dan claims it
//  d4: ann owns it; re-queued at her departure, nobody claims it
std::vector<Event> AnnsStory(testing::EventFactory& f) {
  return {
      f.Joined("2026-11-02T08:00:00Z", "ann", "lead_generation"),
      f.Joined("2026-11-02T08:00:01Z", "bob", "lead_generation"),
      f.Joined("2026-11-02T08:00:02Z", "carl", "sales"),
      f.Joined("2026-11-02T08:00:03Z", "dan", "lead_generation"),
      f.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation"),
      f.Stage("2026-11-02T09:05:00Z", "d1", "new", "ann", "lead_generation"),
      f.Reassign("2026-11-02T10:00:00Z", "d1", "bob", "lead_generation"),
      f.Stage("2026-11-02T11:00:00Z", "d2", "new", "ann", "lead_generation"),
      f.Stage("2026-11-03T09:00:00Z", "d2", "development", "carl", "sales"),
      f.Stage("2026-11-03T10:00:00Z", "d3", "new", "ann", "lead_generation"),
      f.Stage("2026-11-03T10:05:00Z", "d4", "new", "ann", "lead_generation"),
      f.GeneralProposal("2026-11-03T11:00:00Z", "org-2", "ann",
                        "lead_generation"),
      f.Departed("2026-11-04T18:00:00Z", "ann", "lead_generation"),
      f.Claim("2026-11-05T09:00:00Z", "d3", "dan", "lead_generation"),
      f.Call("2026-11-05T09:30:00Z", "org-3", "bob", "lead_generation"),
      // Arrives late: ann opened d5 before she left; it is reassigned after.
      f.Stage("2026-11-03T10:10:00Z", "d5", "new", "ann", "lead_generation"),
      f.Reassign("2026-11-06T09:00:00Z", "d5", "bob", "lead_generation"),
  };
}

class AuditTest : public ::testing::TestWithParam<bool> {};

TEST_P(AuditTest, HistoryHasWhatTheManagerDidAndWhatTookTheirDeals) {
  Fixture fx(GetParam());
  testing::EventFactory f;
  const std::vector<Event> events = AnnsStory(f);
  const std::vector<LogPosition> at = fx.Append(events);
  fx.Project();

  std::vector<HistoryRow> rows = fx.History("ann");
  std::vector<std::pair<std::string, std::string>> got;
  for (const HistoryRow& r : rows) {
    got.emplace_back(r.event.id.value(), std::string(ToString(r.relation)));
  }
  // Log order; bob's reassignment and carl's stage change took ann's deals.
  EXPECT_THAT(got, ElementsAre(Pair("e-1", "named"), Pair("e-5", "named"),
                               Pair("e-6", "named"), Pair("e-7", "lost_deal"),
                               Pair("e-8", "named"), Pair("e-9", "lost_deal"),
                               Pair("e-10", "named"), Pair("e-11", "named"),
                               Pair("e-12", "named"), Pair("e-13", "named"),
                               Pair("e-16", "named")));
  for (const HistoryRow& r : rows) {
    const auto it = std::find_if(events.begin(), events.end(),
                                 [&](auto& e) { return e.id == r.event.id; });
    ASSERT_NE(it, events.end());
    EXPECT_EQ(r.position, at[static_cast<size_t>(it - events.begin())]);
  }
  // A time range cuts on event time.
  rows = fx.History("ann", ParseRfc3339("2026-11-03T00:00:00Z").value(),
                    ParseRfc3339("2026-11-03T23:59:59Z").value());
  std::vector<std::string> ids;
  for (const HistoryRow& r : rows) ids.push_back(r.event.id.value());
  EXPECT_THAT(ids, ElementsAre("e-9", "e-10", "e-11", "e-12", "e-16"));
  // Pages of 2 with the same range give the same rows, however many a page
  // loses to the range.
  std::vector<std::string> paged;
  std::optional<LogPosition> after;
  for (int page = 0; page < 20; ++page) {
    std::optional<LogPosition> next;
    ASSERT_TRUE(
        fx.Reader()
            .History({.manager = "ann",
                      .from = ParseRfc3339("2026-11-03T00:00:00Z").value(),
                      .to = ParseRfc3339("2026-11-03T23:59:59Z").value(),
                      .after = after,
                      .limit = 2,
                      .next_after = &next},
                     [&](const HistoryRow& r) {
                       paged.push_back(r.event.id.value());
                       return absl::OkStatus();
                     })
            .ok());
    if (!next) break;
    after = next;
  }
  EXPECT_EQ(paged, ids);

  absl::StatusOr<ManagerDeals> deals = fx.Reader().Deals("ann");
  ASSERT_TRUE(deals.ok()) << deals.status();
  ASSERT_EQ(deals->deals.size(), 5u);
  EXPECT_EQ(deals->deals[0].owner, "bob");
  EXPECT_EQ(deals->deals[1].stage, "development");
  ASSERT_EQ(deals->handover.size(), 3u);
  EXPECT_EQ(deals->handover[0].deal, "d3");
  EXPECT_EQ(deals->handover[0].claimed_by, "dan");
  EXPECT_EQ(deals->handover[0].how, "claimed");
  EXPECT_EQ(deals->handover[0].requeued,
            ParseRfc3339("2026-11-04T18:00:00Z").value());
  EXPECT_EQ(deals->handover[1].deal, "d4");
  EXPECT_EQ(deals->handover[1].claimed_by, "");
  EXPECT_EQ(deals->handover[1].department, "lead_generation");
  EXPECT_EQ(deals->handover[2].deal, "d5");
  EXPECT_EQ(deals->handover[2].claimed_by, "bob");
  EXPECT_EQ(deals->handover[2].how, "reassigned");

  EXPECT_TRUE(absl::IsNotFound(
      fx.Reader().History({.manager = "nobody"},
                          [](const HistoryRow&) { return absl::OkStatus(); })));
}

TEST_P(AuditTest, BookAsOfAMomentFoldsTheDealsUpToIt) {
  Fixture fx(GetParam());
  testing::EventFactory f;
  fx.Append(AnnsStory(f));
  fx.Project();
  auto book = [&](const std::string& manager, const std::string& at) {
    auto b = fx.Reader().Book(manager, ParseRfc3339(at).value());
    EXPECT_TRUE(b.ok()) << b.status();
    std::vector<std::string> deals;
    for (const BookEntry& e : *b) deals.push_back(e.deal);
    return deals;
  };
  EXPECT_THAT(book("ann", "2026-11-02T09:30:00Z"), ElementsAre("d1"));
  EXPECT_THAT(book("ann", "2026-11-02T12:00:00Z"), ElementsAre("d2"));
  EXPECT_THAT(book("ann", "2026-11-04T12:00:00Z"),
              ElementsAre("d3", "d4", "d5"));
  EXPECT_THAT(book("ann", "2026-11-05T00:00:00Z"), ElementsAre());
  EXPECT_THAT(book("dan", "2026-11-06T00:00:00Z"), ElementsAre("d3"));
  auto b =
      fx.Reader().Book("ann", ParseRfc3339("2026-11-04T12:00:00Z").value());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ((*b)[0].stage, "new");
  EXPECT_EQ((*b)[0].time_in_stage, absl::Hours(26) - absl::Minutes(0));
}

// The book as of the last moment equals the live funnel read model's deals
// of each manager, on a simulated organisation with departures.
TEST_P(AuditTest, BookAtNowEqualsTheLiveReadModel) {
  Fixture fx(GetParam());
  Simulator sim(FunnelConfig::Default(),
                {.seed = 11, .duplicate_fraction = 0.02, .departure_rate = 6});
  std::vector<Event> events = sim.Next(6000);
  for (size_t i = 0; i < events.size(); i += 500) {
    std::vector<Event> batch(
        events.begin() + static_cast<long>(i),
        events.begin() + static_cast<long>(std::min(events.size(), i + 500)));
    ASSERT_TRUE(fx.log().Append(batch).ok());
  }
  fx.Project(/*batch=*/333);
  Timestamp last;
  for (const Event& e : events) last = std::max(last, e.time);
  absl::StatusOr<std::vector<std::string>> managers = fx.Reader().Managers();
  ASSERT_TRUE(managers.ok());
  ASSERT_GT(managers->size(), 10u);
  int compared = 0;
  for (const std::string& m : *managers) {
    absl::StatusOr<std::vector<BookEntry>> book = fx.Reader().Book(m, last);
    ASSERT_TRUE(book.ok()) << book.status();
    // The live model: every deal the manager was named in, owned now.
    absl::StatusOr<ManagerDeals> deals = fx.Reader().Deals(m);
    ASSERT_TRUE(deals.ok());
    std::set<std::string> live;
    for (const DealOutcome& d : deals->deals) {
      auto state = ReadDeal(fx.funnel(), DealId(d.deal));
      ASSERT_TRUE(state.ok() && state->has_value());
      if ((*state)->open() && (*state)->owner &&
          (*state)->owner->value() == m) {
        live.insert(d.deal);
      }
    }
    std::set<std::string> from_book;
    for (const BookEntry& e : *book) from_book.insert(e.deal);
    EXPECT_EQ(from_book, live) << m;
    compared += static_cast<int>(live.size());
  }
  EXPECT_GT(compared, 20) << "too few owned deals to compare";
}

TEST_P(AuditTest, VerifyMatchesAndFindsTheAlteredRecord) {
  Fixture fx(GetParam());
  testing::EventFactory f;
  const std::vector<Event> events = AnnsStory(f);
  const std::vector<LogPosition> at = fx.Append(events);
  fx.Project();

  absl::StatusOr<VerifyReport> ok = fx.Reader().Verify("ann");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->match) << ok->detail;
  EXPECT_EQ(ok->records, 9);  // The records that name ann.
  EXPECT_EQ(ok->seals, 1);

  // Someone shortened ann's call in a copy of the log (e-5, her first call).
  std::unique_ptr<EventLog> copy = fx.CopyAltering(
      at[4], [](Event& e) { std::get<CallLogged>(e.data).duration_s = 5; });
  absl::StatusOr<VerifyReport> bad = fx.ReaderOver(*copy).Verify("ann");
  ASSERT_TRUE(bad.ok()) << bad.status();
  EXPECT_FALSE(bad->match);
  ASSERT_TRUE(bad->diverges_at.has_value());
  EXPECT_EQ(*bad->diverges_at, at[4]);
  EXPECT_THAT(bad->detail, ::testing::HasSubstr("chain digest"));

  // bob's history does not include that record: it still verifies.
  absl::StatusOr<VerifyReport> bob = fx.ReaderOver(*copy).Verify("bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_TRUE(bob->match) << bob->detail;
}

INSTANTIATE_TEST_SUITE_P(Logs, AuditTest, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "Kafka" : "Embedded";
                         });

// The index is a function of the records: any batch size, restart or
// rebuild gives the same store.
TEST(AuditProjectionTest, SameIndexForAnyBatchingAndRestarts) {
  Fixture fx(/*kafka=*/false);
  Simulator sim(FunnelConfig::Default(), {.seed = 3, .departure_rate = 4});
  ASSERT_TRUE(fx.log().Append(sim.Next(3000)).ok());
  std::string first;
  for (size_t batch : {4096u, 7u, 250u}) {
    testing::TempDir dir;
    auto store = ProjectionStore::Open({.path = dir.Sub("s")});
    ASSERT_TRUE(store.ok());
    AuditProjection projection(FunnelConfig::Default());
    auto end = fx.log().EndOffsets();
    // Restart every 1,000 records: a new projector resumes from the store.
    for (int64_t upto = 1000;; upto += 1000) {
      std::vector<int64_t> stop = {std::min(upto, (*end)[0])};
      auto p = Projector::Open(fx.log(), **store, projection,
                               {.batch_records = batch});
      ASSERT_TRUE(p.ok());
      ASSERT_TRUE((*p)->CatchUp(stop).ok());
      if (stop[0] == (*end)[0]) break;
    }
    auto dump = (*store)->CanonicalDump();
    ASSERT_TRUE(dump.ok());
    // Without the bookkeeping that depends on how the stream was cut into
    // batches (the seen-set's segments).
    std::string index;
    for (absl::string_view line : absl::StrSplit(*dump, '\n')) {
      if (absl::StartsWith(line, "E sn\\x00")) continue;
      index.append(line.data(), line.size());
      index += '\n';
    }
    if (first.empty()) first = index;
    EXPECT_TRUE(index == first) << "batch " << batch;
    EXPECT_GT(index.size(), 100000u);
  }
}

TEST(AuditChainTest, StepsDependOnPositionAndContent) {
  testing::EventFactory f;
  Event e = f.Call("2026-11-02T09:00:00Z", "org-1", "ann", "sales");
  const AuditDigest zero{};
  const AuditDigest a = ChainStep(zero, {0, 5}, e);
  EXPECT_EQ(a, ChainStep(zero, {0, 5}, e));
  EXPECT_NE(a, ChainStep(zero, {0, 6}, e));
  EXPECT_NE(a, ChainStep(zero, {1, 5}, e));
  Event changed = e;
  changed.recorded_time = e.recorded_time + absl::Seconds(1);
  EXPECT_NE(a, ChainStep(zero, {0, 5}, changed));
  EXPECT_EQ(DigestHex(zero), std::string(64, '0'));
  auto round = DecodeChainState(EncodeChainState({3, 7, a}));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->digest, a);
  EXPECT_FALSE(DecodeChainState("short").ok());
}

TEST(AuditChainTest, ManagersNamedCoversActorsOwnersDecidersAndRoster) {
  testing::EventFactory f;
  Event r = f.Reassign("2026-11-02T09:00:00Z", "d1", "bob", "sales");
  std::get<DealReassigned>(r.data).by = ManagerId("boss");
  std::vector<std::string> names;
  for (const ManagerId& m : ManagersNamed(r)) names.push_back(m.value());
  EXPECT_THAT(names, ElementsAre("bob", "boss"));
  EXPECT_EQ(
      ManagersNamed(f.Departed("2026-11-02T09:00:00Z", "ann", "sales")).size(),
      1u);
  EXPECT_TRUE(
      ManagersNamed(f.Stage("2026-11-02T09:00:00Z", "d1", "new")).empty());
}

TEST(AuditAccessLogTest, RecordsDurablyAndLists) {
  testing::TempDir dir;
  AuditAccessLog log(dir.Sub("access.jsonl"));
  auto empty = log.List();
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  ASSERT_TRUE(log.Record({.who = "token:ann",
                          .via = "api",
                          .what = "history",
                          .manager = "ivanov",
                          .range = "a..b"})
                  .ok());
  ASSERT_TRUE(
      log.Record({.who = "user:eve", .via = "cli", .what = "verify"}).ok());
  auto all = AuditAccessLog(dir.Sub("access.jsonl")).List();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].who, "token:ann");
  EXPECT_EQ((*all)[0].manager, "ivanov");
  EXPECT_TRUE((*all)[0].time.is_set());
  EXPECT_EQ((*all)[1].what, "verify");
  AuditAccessLog nowhere("/nonexistent-dir/access.jsonl");
  EXPECT_TRUE(absl::IsUnavailable(nowhere.Record({.who = "x"})));
}

}  // namespace
}  // namespace voronka
