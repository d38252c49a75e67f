// Order independence and restarts, as properties: the same events must give
// byte-identical read models (canonical dumps) however Kafka's partitions
// interleave, however the stream is cut into batches, and however often the
// projectors stop and resume. The stream comes from the simulator, with its
// late events and retried duplicates.
#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "absl/hash/hash.h"
#include "events/kafka_log.h"
#include "gtest/gtest.h"
#include "projections/deal.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::ProjectionHarness;

constexpr int kPartitions = 4;

std::vector<Event> SimulatedStream(size_t n) {
  Simulator sim(FunnelConfig::Default(), {.seed = 42,
                                          .lead_gen_managers = 4,
                                          .closers = 2,
                                          .account_managers = 2,
                                          .organisations = 300,
                                          .tick = absl::Minutes(2),
                                          .late_fraction = 0.05,
                                          .duplicate_fraction = 0.03,
                                          .departure_rate = 6.0});
  return sim.Next(n);
}

// One order Kafka could deliver: events split by key into partitions (order
// kept within each), partitions interleaved at random.
std::vector<Event> Interleave(const std::vector<Event>& events,
                              std::mt19937_64& rng) {
  std::vector<std::vector<const Event*>> parts(kPartitions);
  for (const Event& e : events) {
    parts[absl::HashOf(std::string(e.key())) % kPartitions].push_back(&e);
  }
  std::vector<size_t> next(kPartitions, 0);
  std::vector<Event> out;
  while (out.size() < events.size()) {
    const size_t p = rng() % kPartitions;
    if (next[p] < parts[p].size()) out.push_back(*parts[p][next[p]++]);
  }
  return out;
}

struct Dumps {
  std::string indicators, funnel;
};

Dumps DumpsOf(ProjectionHarness& h) {
  return {h.Dump(h.indicators()), h.Dump(h.funnel())};
}

// Points at the first differing line, so a failure is readable.
void ExpectSameDump(const std::string& want, const std::string& got,
                    const std::string& what) {
  if (want == got) return;
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t line =
      want.rfind('\n', i) == std::string::npos ? 0 : want.rfind('\n', i) + 1;
  ADD_FAILURE() << what << " differs at byte " << i
                << ":\n want: " << want.substr(line, 300)
                << "\n  got: " << got.substr(line, 300);
}

class ProjectionDeterminismTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    events_ = new std::vector<Event>(SimulatedStream(6000));
    reference_dir_ = new testing::TempDir();
    ProjectionHarness h(reference_dir_->path());
    h.Append(*events_);
    h.CatchUp(/*batch=*/100000);
    reference_ = new Dumps(DumpsOf(h));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete reference_dir_;
    delete events_;
  }

  void ExpectReference(ProjectionHarness& h, const std::string& what) {
    Dumps d = DumpsOf(h);
    ExpectSameDump(reference_->indicators, d.indicators, what + " indicators");
    ExpectSameDump(reference_->funnel, d.funnel, what + " funnel");
  }

  static std::vector<Event>* events_;
  static testing::TempDir* reference_dir_;
  static Dumps* reference_;
};
std::vector<Event>* ProjectionDeterminismTest::events_ = nullptr;
testing::TempDir* ProjectionDeterminismTest::reference_dir_ = nullptr;
Dumps* ProjectionDeterminismTest::reference_ = nullptr;

TEST_F(ProjectionDeterminismTest, TheStreamHasLateEventsAndDuplicates) {
  EXPECT_GT(reference_->funnel.size(), 10000u);
  size_t late = 0;
  for (size_t i = 1; i < events_->size(); ++i) {
    if ((*events_)[i].time < (*events_)[i - 1].time) ++late;
  }
  EXPECT_GT(late, 50u);
}

TEST_F(ProjectionDeterminismTest, AnyPartitionInterleavingGivesTheSameModels) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 6; ++round) {
    testing::TempDir dir;
    ProjectionHarness h(dir.path());
    h.Append(Interleave(*events_, rng));
    h.CatchUp(/*batch=*/1 + rng() % 700);
    ExpectReference(h, "interleaving " + std::to_string(round));
  }
}

// Stronger than Kafka needs: any order at all, a deal's own events included
// (so late events hit every deal), and the order of event time itself.
TEST_F(ProjectionDeterminismTest, AnyOrderAtAllGivesTheSameModels) {
  std::mt19937_64 rng(13);
  for (int round = 0; round < 3; ++round) {
    std::vector<Event> order = *events_;
    std::shuffle(order.begin(), order.end(), rng);
    testing::TempDir dir;
    ProjectionHarness h(dir.path());
    h.Append(order);
    h.CatchUp(/*batch=*/1 + rng() % 2000);
    ExpectReference(h, "shuffle " + std::to_string(round));
  }
  std::vector<Event> sorted = *events_;
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event& a, const Event& b) {
                     return EventKey::Of(a) < EventKey::Of(b);
                   });
  testing::TempDir dir;
  ProjectionHarness h(dir.path());
  h.Append(sorted);
  h.CatchUp();
  ExpectReference(h, "event-time order");
}

TEST_F(ProjectionDeterminismTest, RestartsAtRandomPointsGiveTheSameModels) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 3; ++round) {
    testing::TempDir dir;
    ProjectionHarness h(dir.path());
    std::vector<Event> order = Interleave(*events_, rng);
    // Append in random slices; after each, project part or all of it with
    // a random batch size, then stop (close the stores) and resume.
    size_t at = 0;
    while (at < order.size()) {
      const size_t n = std::min(order.size() - at, 1 + rng() % 1500);
      h.Append(std::vector<Event>(order.begin() + at, order.begin() + at + n));
      at += n;
      h.CatchUp(/*batch=*/1 + rng() % 300);
      h.Close();
    }
    h.CatchUp();
    ExpectReference(h, "restarts " + std::to_string(round));
  }
}

// The real thing: a Kafka topic of 4 partitions on the mock cluster, read
// by KafkaLog, which interleaves partitions as fetches complete.
TEST_F(ProjectionDeterminismTest, KafkaTopicGivesTheSameModels) {
  auto broker = DevBroker::Start({.brokers = 1, .partitions = kPartitions});
  ASSERT_TRUE(broker.ok()) << broker.status();
  auto log = KafkaLog::Open({.brokers = (*broker)->bootstrap()});
  ASSERT_TRUE(log.ok()) << log.status();
  testing::TempDir dir;
  ProjectionHarness h(dir.path(), log->get());
  h.Append(*events_);
  h.CatchUp(/*batch=*/500);
  ExpectReference(h, "kafka");
}

}  // namespace
}  // namespace voronka
