// The simulated sales organisation: reproducible, valid for the decoder, and
// faithful to DOMAIN.md's rules (stage order, ownership and handoffs,
// key-account routing, departures), checked by replaying what it sends.
#include "services/simulator.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/cloudevents.h"
#include "events/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using ::testing::IsEmpty;
using ::testing::SizeIs;
using voronka::testing::CommandResult;
using voronka::testing::RunCommand;
using voronka::testing::TempDir;

const FunnelConfig& Config() { return FunnelConfig::Default(); }

std::vector<Event> Generate(const SimulatorOptions& options, size_t n) {
  Simulator simulator(Config(), options);
  return simulator.Next(n);
}

using SourceAndId = std::pair<std::string, std::string>;
SourceAndId KeyOf(const Event& e) { return {e.source.value(), e.id.value()}; }

// The events without their repeated copies, in time order: since generated
// times strictly increase, this is the order in which things happened.
std::vector<Event> HappenedOrder(const std::vector<Event>& sent) {
  std::set<SourceAndId> seen;
  std::vector<Event> out;
  for (const Event& e : sent) {
    if (seen.insert(KeyOf(e)).second) out.push_back(e);
  }
  std::stable_sort(out.begin(), out.end(), [](const Event& a, const Event& b) {
    return a.time < b.time;
  });
  return out;
}

// Replays events in the order they happened and records every break of
// DOMAIN.md's rules, by category: "order" (stages), "owner" (who works a
// deal), "routing" (which department), "departed" (departed managers).
class Replay {
 public:
  explicit Replay(const std::vector<Event>& happened) {
    for (const Event& e : happened) Apply(e);
  }

  const std::vector<std::string>& violations(const std::string& category) {
    return violations_[category];
  }
  int64_t key_account_work() const { return key_account_work_; }
  int64_t key_account_entries() const { return key_account_entries_; }
  int64_t reassignments_after_departure() const { return reassigned_; }
  const std::map<std::string, std::set<int>>& stages_reached() const {
    return stages_reached_;
  }

 private:
  struct DealState {
    const Funnel* funnel = nullptr;
    int stage = -1;
    std::optional<Money> amount;
    std::optional<std::string> owner;
    std::string department;  // Working the current stage.
    bool closed = false;
  };

  void Violation(const std::string& category, const Event& e,
                 const std::string& what) {
    violations_[category].push_back(
        fmt::format("{} {} {}: {}", FormatRfc3339(e.time), e.type_name(),
                    e.id.value(), what));
  }

  std::string EffectiveDepartment(const DealState& d) const {
    const Stage& stage = d.funnel->stages[d.stage];
    if (!stage.owner) return "";
    const auto& routed = Config().key_account_routed();
    if (d.amount &&
        std::find(routed.begin(), routed.end(), *stage.owner) != routed.end()) {
      auto it = Config().key_account_threshold().find(d.amount->currency);
      if (it != Config().key_account_threshold().end() &&
          d.amount->minor >= it->second) {
        return Config().key_accounts_department().value();
      }
    }
    return stage.owner->value();
  }

  // A manager named by an event must have joined and not departed.
  void CheckActive(const Event& e, const ManagerId& m) {
    if (!joined_.contains(m.value()))
      Violation("departed", e, m.value() + " never joined");
    auto it = departed_.find(m.value());
    if (it != departed_.end() && e.time > it->second) {
      Violation("departed", e, m.value() + " acts after departing");
    }
  }

  // Work on a deal (call, proposal, application, invoice) is done by its
  // owner, in the department working its current stage.
  void CheckWork(const Event& e, const DealId& deal, const ManagerId& m,
                 const DepartmentId& department) {
    CheckActive(e, m);
    auto it = deals_.find(deal.value());
    if (it == deals_.end() || it->second.closed) {
      Violation("order", e, "work on a deal that is not open");
      return;
    }
    const DealState& d = it->second;
    if (d.owner != m.value()) Violation("owner", e, "not by the owner");
    if (department.value() != d.department) {
      Violation("routing", e,
                fmt::format("department {} in a stage of {}",
                            department.value(), d.department));
    }
    if (d.department == Config().key_accounts_department().value()) {
      ++key_account_work_;
    }
  }

  void StageChanged(const Event& e, const DealStageChanged& c) {
    DealState& d = deals_[c.deal.value()];
    const bool first = d.funnel == nullptr;
    if (first) d.funnel = Config().FindFunnel(c.funnel.value());
    if (d.funnel == nullptr || d.funnel->name != c.funnel) {
      Violation("order", e, "deal changed funnel");
      return;
    }
    const int index = d.funnel->IndexOf(c.stage);
    if (d.closed) Violation("order", e, "stage change after close");
    if (first && index != 0)
      Violation("order", e, "first stage is not the first");
    if (!first && index <= d.stage)
      Violation("order", e, "stage went backwards");
    if (c.manager) {
      CheckActive(e, *c.manager);
      if (!first && c.manager->value() != d.owner) {
        Violation("owner", e, "stage moved by someone else than the owner");
      }
    }
    if (c.amount) d.amount = c.amount;
    const std::string before = d.department;
    d.stage = index;
    stages_reached_[d.funnel->name.value()].insert(index);
    if (d.funnel->stages[index].closed()) {
      d.closed = true;
      d.owner.reset();
      return;
    }
    d.department = EffectiveDepartment(d);
    if (d.department == Config().key_accounts_department().value()) {
      ++key_account_entries_;
    }
    const bool keeps =
        first ? (c.department && c.department->value() == d.department)
              : d.department == before;
    if (!keeps) d.owner.reset();
    if (first && keeps) d.owner = c.manager->value();
  }

  void Apply(const Event& e) {
    if (const auto* c = e.get_if<CallLogged>()) {
      if (c->deal) CheckWork(e, *c->deal, c->manager, c->department);
    } else if (const auto* p = e.get_if<ProposalSent>()) {
      if (p->deal) CheckWork(e, *p->deal, p->manager, p->department);
    } else if (const auto* a = e.get_if<ApplicationReceived>()) {
      CheckWork(e, a->deal, a->manager, a->department);
    } else if (const auto* i = e.get_if<InvoiceIssued>()) {
      CheckWork(e, i->deal, i->manager, i->department);
    } else if (const auto* s = e.get_if<DealStageChanged>()) {
      StageChanged(e, *s);
    } else if (const auto* cl = e.get_if<DealClaimed>()) {
      CheckActive(e, cl->manager);
      DealState& d = deals_[cl->deal.value()];
      if (d.owner) Violation("owner", e, "claim of an owned deal");
      if (cl->department.value() != d.department) {
        Violation("routing", e, "claimed by another department");
      }
      d.owner = cl->manager.value();
    } else if (const auto* r = e.get_if<DealReassigned>()) {
      CheckActive(e, r->manager);
      DealState& d = deals_[r->deal.value()];
      if (r->department.value() != d.department) {
        Violation("routing", e, "reassigned to another department");
      }
      if (!orphans_.erase(r->deal.value())) {
        Violation("departed", e, "reassigned a deal that was not orphaned");
      }
      d.owner = r->manager.value();
      ++reassigned_;
    } else if (const auto* j = e.get_if<ManagerJoined>()) {
      if (!joined_.insert(j->manager.value()).second) {
        Violation("departed", e, "joined twice");
      }
    } else if (const auto* dep = e.get_if<ManagerDeparted>()) {
      departed_[dep->manager.value()] = e.time;
      for (auto& [id, d] : deals_) {
        if (d.owner == dep->manager.value()) {
          d.owner.reset();
          orphans_.insert(id);
        }
      }
    }
  }

  std::map<std::string, std::vector<std::string>> violations_;
  std::map<std::string, DealState> deals_;
  std::set<std::string> joined_;
  std::map<std::string, Timestamp> departed_;
  std::set<std::string> orphans_;
  std::map<std::string, std::set<int>> stages_reached_;
  int64_t key_account_work_ = 0;
  int64_t key_account_entries_ = 0;
  int64_t reassigned_ = 0;
};

std::vector<std::string> First(const std::vector<std::string>& v) {
  return {v.begin(), v.begin() + std::min<size_t>(v.size(), 5)};
}

TEST(SimulatorTest, SameSeedGivesByteIdenticalEvents) {
  const std::vector<Event> a = Generate({.seed = 5}, 20'000);
  const std::vector<Event> b = Generate({.seed = 5}, 20'000);
  ASSERT_THAT(a, SizeIs(20'000));
  EXPECT_EQ(ToBatchJson(a), ToBatchJson(b));
}

TEST(SimulatorTest, HowNextIsCalledDoesNotChangeTheSequence) {
  const std::vector<Event> whole = Generate({.seed = 9}, 6'000);
  Simulator simulator(Config(), {.seed = 9});
  std::vector<Event> pieces;
  for (size_t n : {1, 7, 100, 892, 5'000}) {
    for (Event& e : simulator.Next(n)) pieces.push_back(std::move(e));
  }
  EXPECT_EQ(ToBatchJson(whole), ToBatchJson(pieces));
}

TEST(SimulatorTest, DifferentSeedsGiveDifferentEvents) {
  SimulatorOptions one{.seed = 1, .id_prefix = "x"};
  SimulatorOptions two{.seed = 2, .id_prefix = "x"};
  EXPECT_NE(ToBatchJson(Generate(one, 2'000)),
            ToBatchJson(Generate(two, 2'000)));
}

TEST(SimulatorTest, EveryEventPassesTheCloudEventsDecoder) {
  CloudEventsDecoder decoder(Config());
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Simulator simulator(Config(), {.seed = seed});
    for (int batch = 0; batch < 10; ++batch) {
      const std::vector<Event> events = simulator.Next(1'000);
      DecodeResult decoded = decoder.DecodeBatch(ToBatchJson(events));
      ASSERT_THAT(decoded.errors, IsEmpty())
          << "seed " << seed << ": " << decoded.errors[0].ToString();
      ASSERT_EQ(decoded.events, events) << "seed " << seed;
    }
  }
}

TEST(SimulatorTest, IdsAreUniquePerSourceExceptIdenticalDuplicates) {
  Simulator simulator(Config(), {.seed = 3});
  const std::vector<Event> events = simulator.Next(30'000);
  std::map<SourceAndId, Event> first;
  int64_t repeats = 0;
  for (const Event& e : events) {
    auto [it, inserted] = first.emplace(KeyOf(e), e);
    if (!inserted) {
      ++repeats;
      EXPECT_EQ(it->second, e)
          << "same (source, id), different event: " << e.id.value();
    }
  }
  EXPECT_EQ(repeats, simulator.stats().duplicates);
  EXPECT_GT(repeats, 0);
}

TEST(SimulatorTest, LateAndDuplicateFractionsRoughlyHold) {
  Simulator simulator(Config(), {.seed = 11});
  const std::vector<Event> events = simulator.Next(50'000);
  std::set<SourceAndId> seen;
  Timestamp latest;
  int64_t late = 0, duplicates = 0;
  for (const Event& e : events) {
    if (!seen.insert(KeyOf(e)).second) {
      ++duplicates;
    } else if (e.time < latest) {
      ++late;
    }
    latest = std::max(latest, e.time);
  }
  const SimulatorStats& stats = simulator.stats();
  EXPECT_EQ(stats.events, 50'000);
  EXPECT_EQ(stats.duplicates, duplicates);
  EXPECT_EQ(stats.late, late);
  EXPECT_NEAR(duplicates / 50'000.0, 0.01, 0.0025);
  EXPECT_NEAR(late / 50'000.0, 0.02, 0.004);
}

TEST(SimulatorTest, WithoutLateOrDuplicateEventsTimesStrictlyIncrease) {
  const std::vector<Event> events = Generate(
      {.seed = 4, .late_fraction = 0, .duplicate_fraction = 0}, 10'000);
  for (size_t i = 1; i < events.size(); ++i) {
    ASSERT_LT(events[i - 1].time, events[i].time) << "event " << i;
  }
}

TEST(SimulatorTest, EveryFunnelAndEveryStageIsExercised) {
  Simulator simulator(Config(), {.seed = 2});
  Replay replay(HappenedOrder(simulator.Next(50'000)));
  for (const Funnel& funnel : Config().funnels()) {
    EXPECT_THAT(replay.stages_reached().at(funnel.name.value()),
                SizeIs(funnel.stages.size()))
        << funnel.name.value();
    EXPECT_GT(simulator.stats().deals_won.at(funnel.name.value()), 0);
    EXPECT_GT(simulator.stats().deals_lost.at(funnel.name.value()), 0);
  }
  for (int type = 0; type < kEventTypeCount; ++type) {
    EXPECT_GT(simulator.stats().by_type[type], 0)
        << EventTypeName(static_cast<EventType>(type));
  }
}

TEST(SimulatorTest, StageChangesFollowTheFunnelOrder) {
  Replay replay(HappenedOrder(Generate({.seed = 6}, 50'000)));
  EXPECT_THAT(First(replay.violations("order")), IsEmpty());
}

TEST(SimulatorTest, DealsAreWorkedByTheirOwnersInTheStagesDepartment) {
  Replay replay(HappenedOrder(Generate({.seed = 8}, 50'000)));
  EXPECT_THAT(First(replay.violations("owner")), IsEmpty());
  EXPECT_THAT(First(replay.violations("routing")), IsEmpty());
}

TEST(SimulatorTest, BigDealsGoToKeyAccounts) {
  Simulator simulator(Config(), {.seed = 12});
  Replay replay(HappenedOrder(simulator.Next(50'000)));
  EXPECT_THAT(First(replay.violations("routing")), IsEmpty());
  EXPECT_GT(replay.key_account_entries(), 10);
  EXPECT_GT(replay.key_account_work(), 100);
  EXPECT_GT(simulator.stats().key_account_deals, 10);
}

TEST(SimulatorTest, DepartedManagersActNoMoreAndTheirDealsAreReassigned) {
  Simulator simulator(Config(), {.seed = 13, .departure_rate = 20});
  Replay replay(HappenedOrder(simulator.Next(40'000)));
  EXPECT_THAT(First(replay.violations("departed")), IsEmpty());
  EXPECT_GT(simulator.stats().managers_departed, 10);
  EXPECT_GT(replay.reassignments_after_departure(), 10);
}

// With squeeze_weeks, leavers are chosen that many weeks ahead and drain
// their pipeline meanwhile; the story stays valid and reproducible.
TEST(SimulatorTest, SqueezingLeaversKeepTheRulesAndTheSeed) {
  const SimulatorOptions options{
      .seed = 13, .departure_rate = 20, .squeeze_weeks = 2};
  Simulator simulator(Config(), options);
  const std::vector<Event> sent = simulator.Next(40'000);
  Replay replay(HappenedOrder(sent));
  for (const char* category : {"order", "owner", "routing", "departed"}) {
    EXPECT_THAT(First(replay.violations(category)), IsEmpty()) << category;
  }
  EXPECT_GT(simulator.stats().managers_departed, 10);
  EXPECT_GT(replay.reassignments_after_departure(), 10);
  EXPECT_EQ(ToBatchJson(sent), ToBatchJson(Generate(options, 40'000)));
  // The option changes the story (departures come later, leavers work
  // differently); 0 is the default.
  EXPECT_NE(ToBatchJson(sent),
            ToBatchJson(Generate({.seed = 13, .departure_rate = 20}, 40'000)));
  EXPECT_EQ(SimulatorOptions().squeeze_weeks, 0);
}

// In the two weeks before leaving, a squeezing manager prospects no more (no
// cold calls opening acquisition deals, no general proposals) and stops
// calling for closers' and account managers' work, yet keeps moving deals
// on.
TEST(SimulatorTest, SqueezingLeaversStopProspectingButKeepClosing) {
  Simulator simulator(Config(),
                      {.seed = 21, .departure_rate = 4, .squeeze_weeks = 2});
  const std::vector<Event> happened = HappenedOrder(simulator.Next(40'000));
  std::map<std::string, Timestamp> departed;
  std::map<std::string, std::string> department;
  for (const Event& e : happened) {
    if (const auto* d = e.get_if<ManagerDeparted>()) {
      departed[d->manager.value()] = e.time;
    } else if (const auto* j = e.get_if<ManagerJoined>()) {
      department[j->manager.value()] = j->department.value();
    }
  }
  ASSERT_GE(departed.size(), 5u);
  // From an hour after the choice (a turn under way then ends as it began)
  // to the departure.
  auto squeezing = [&](const std::string& manager, Timestamp t) {
    auto it = departed.find(manager);
    return it != departed.end() && t < it->second &&
           t + absl::Hours(24 * 14 - 1) >= it->second;
  };
  int64_t opened = 0, general = 0, office_calls = 0, moved = 0;
  int64_t calls_before = 0;  // Closers' and account managers', the 2 weeks
                             // before the squeeze.
  for (const Event& e : happened) {
    if (const auto* s = e.get_if<DealStageChanged>()) {
      if (!s->manager || !squeezing(s->manager->value(), e.time)) continue;
      ++moved;
      if (s->funnel.value() == "acquisition" && s->stage.value() == "new") {
        ++opened;
      }
    } else if (const auto* p = e.get_if<ProposalSent>()) {
      if (squeezing(p->manager.value(), e.time) &&
          p->kind == ProposalKind::kGeneral) {
        ++general;
      }
    } else if (const auto* c = e.get_if<CallLogged>()) {
      if (c->department.value() == "lead_generation") continue;
      if (squeezing(c->manager.value(), e.time)) ++office_calls;
      if (squeezing(c->manager.value(), e.time + absl::Hours(24 * 14))) {
        ++calls_before;
      }
    }
  }
  EXPECT_EQ(opened, 0);
  EXPECT_EQ(general, 0);
  EXPECT_EQ(office_calls, 0);
  EXPECT_GT(calls_before, 100);
  EXPECT_GT(moved, 100);
}

TEST(SimulatorTest, CheckRejectsWhatItCanNotSimulate) {
  EXPECT_TRUE(Simulator::Check(Config(), {}).ok());
  EXPECT_FALSE(Simulator::Check(Config(), {.late_fraction = 1.5}).ok());
  EXPECT_FALSE(Simulator::Check(Config(), {.closers = 0}).ok());
  EXPECT_FALSE(Simulator::Check(Config(), {.squeeze_weeks = -1}).ok());
  EXPECT_FALSE(Simulator::Check(Config(), {.squeeze_weeks = 53}).ok());
  EXPECT_TRUE(Simulator::Check(Config(), {.squeeze_weeks = 52}).ok());
  std::string yaml(FunnelConfig::DefaultYaml());
  const std::string kind = "kind: acquisition";
  yaml.replace(yaml.find(kind), kind.size(), "kind: retention");
  absl::StatusOr<FunnelConfig> config = FunnelConfig::Parse(yaml, "test");
  ASSERT_TRUE(config.ok()) << config.status();
  absl::Status status = Simulator::Check(*config, {});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
}

TEST(SimulateCommandTest, WritesDecodableJsonLinesIdenticalToTheLibrary) {
  absl::StatusOr<CommandResult> run =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--out", "-", "--events", "500", "--seed", "7"},
                 "", absl::Seconds(60));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 0);
  std::vector<std::string> lines =
      absl::StrSplit(run->out, '\n', absl::SkipEmpty());
  ASSERT_THAT(lines, SizeIs(500));
  const std::vector<Event> expected = Generate({.seed = 7}, 500);
  CloudEventsDecoder decoder(Config());
  for (size_t i = 0; i < lines.size(); ++i) {
    DecodeResult decoded = decoder.DecodeStructured(lines[i]);
    ASSERT_TRUE(decoded.ok())
        << "line " << i << ": " << decoded.errors[0].ToString();
    EXPECT_EQ(decoded.events.at(0), expected[i]) << "line " << i;
  }
}

TEST(SimulateCommandTest, AppendsToAnEmbeddedLog) {
  TempDir dir;
  const std::string path = dir.Sub("log");
  absl::StatusOr<CommandResult> run =
      RunCommand(VORONKA_BINARY,
                 {"simulate", "--data", path, "--events", "1234", "--batch",
                  "100", "--seed", "3"},
                 "", absl::Seconds(120));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0);

  absl::StatusOr<std::unique_ptr<EmbeddedLog>> log =
      EmbeddedLog::Open({.path = path});
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<std::vector<int64_t>> end = (*log)->EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  EXPECT_EQ(end->at(0), 1234);
  auto reader = (*log)->OpenReader({});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<Event> read;
  while (read.size() < 1234) {
    absl::StatusOr<std::vector<LogRecord>> records =
        (*reader)->Next(1000, absl::Seconds(1));
    ASSERT_TRUE(records.ok()) << records.status();
    if (records->empty()) break;
    for (LogRecord& r : *records) read.push_back(std::move(r.event));
  }
  const std::vector<Event> expected = Generate({.seed = 3}, 1234);
  ASSERT_THAT(read, SizeIs(1234));
  for (size_t i = 0; i < read.size(); ++i) {
    EXPECT_TRUE(read[i].recorded_time.is_set());
    read[i].recorded_time = Timestamp();
    ASSERT_EQ(read[i], expected[i]) << "record " << i;
  }
}

TEST(SimulateCommandTest, AnUnusableTargetGivesANonZeroExit) {
  absl::StatusOr<CommandResult> run = RunCommand(
      VORONKA_BINARY, {"simulate", "--data", "/dev/null/log", "--events", "10"},
      "", absl::Seconds(30));
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0);
}

}  // namespace
}  // namespace voronka
