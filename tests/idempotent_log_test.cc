// IdempotentLog's contract (events/idempotent_log.h) against both backends:
// the embedded log, and Kafka (librdkafka's mock cluster) with its local
// index. Every test reads the log back and counts copies per (source, id).
#include "events/idempotent_log.h"

#include <thread>

#include "absl/time/clock.h"
#include "events/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/testing/log_contents.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::CopiesPerKey;
using ::testing::Each;
using ::testing::Eq;
using testing::ReadToEnd;
using testing::TempDir;

enum class Backend { kEmbedded, kKafka };

std::vector<Event> Story(size_t n, uint64_t seed = 5) {
  Simulator sim(FunnelConfig::Default(),
                {.seed = seed, .late_fraction = 0, .duplicate_fraction = 0});
  std::vector<Event> events = sim.Next(n);
  for (Event& e : events) e.recorded_time = Timestamp::Now();
  return events;
}

class IdempotentLogTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kKafka) {
      auto broker = DevBroker::Start({.brokers = 1, .partitions = 3});
      ASSERT_TRUE(broker.ok()) << broker.status();
      broker_ = std::move(*broker);
    }
    Reopen();
  }

  // Closes and opens the log and its index again (a restart).
  void Reopen(const std::string& dedup_name = "dedup") {
    once_.reset();
    embedded_ = nullptr;
    log_.reset();
    if (GetParam() == Backend::kEmbedded) {
      auto log = EmbeddedLog::Open({.path = dir_.Sub("log")});
      ASSERT_TRUE(log.ok()) << log.status();
      embedded_ = log->get();
      once_ = MakeIdempotent(embedded_);
      log_ = std::move(*log);
      return;
    }
    auto log = KafkaLog::Open({.brokers = broker_->bootstrap(),
                               .topic = "voronka.events",
                               .append_timeout = absl::Seconds(3)});
    ASSERT_TRUE(log.ok()) << log.status();
    auto once = OpenKafkaIdempotent(
        log->get(),
        {.dedup_dir = dir_.Sub(dedup_name), .poll = absl::Milliseconds(50)});
    ASSERT_TRUE(once.ok()) << once.status();
    log_ = std::move(*log);
    once_ = std::move(*once);
  }

  std::map<std::string, int> Copies() {
    auto records = ReadToEnd(*log_);
    EXPECT_TRUE(records.ok()) << records.status();
    return records.ok() ? CopiesPerKey(*records) : std::map<std::string, int>{};
  }

  TempDir dir_;
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<EventLog> log_;
  EmbeddedLog* embedded_ = nullptr;
  std::unique_ptr<IdempotentLog> once_;
};

TEST_P(IdempotentLogTest, ARetriedBatchIsAcknowledgedAgainAndAppendedOnce) {
  const std::vector<Event> events = Story(200);
  auto first = once_->AppendOnce(events);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->appended, 200);
  EXPECT_EQ(first->duplicates, 0);
  EXPECT_THAT(first->outcomes, Each(Eq(AppendOutcome::kAppended)));

  auto again = once_->AppendOnce(events);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->appended, 0);
  EXPECT_EQ(again->duplicates, 200);
  EXPECT_THAT(again->outcomes, Each(Eq(AppendOutcome::kDuplicate)));
  EXPECT_EQ(again->positions, first->positions);

  std::map<std::string, int> copies = Copies();
  EXPECT_EQ(copies.size(), 200u);
  for (const auto& [key, n] : copies) EXPECT_EQ(n, 1) << key;
}

TEST_P(IdempotentLogTest, RecordedTimeIsNotPartOfTheContent) {
  std::vector<Event> events = Story(3);
  ASSERT_TRUE(once_->AppendOnce(events).ok());
  for (Event& e : events) {
    e.recorded_time =
        Timestamp::FromUnixMicros(e.recorded_time.unix_micros() + 5'000'000);
  }
  auto again = once_->AppendOnce(events);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicates, 3);
}

TEST_P(IdempotentLogTest, ACopyInsideOneBatchGetsTheFirstCopysPosition) {
  std::vector<Event> events = Story(3);
  events.push_back(events[1]);
  auto r = once_->AppendOnce(events);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->appended, 3);
  EXPECT_EQ(r->duplicates, 1);
  EXPECT_EQ(r->outcomes[3], AppendOutcome::kDuplicate);
  EXPECT_EQ(r->positions[3], r->positions[1]);
  EXPECT_EQ(Copies().size(), 3u);
}

TEST_P(IdempotentLogTest, AReusedIdWithOtherContentRefusesTheWholeBatch) {
  std::vector<Event> events = Story(4);
  ASSERT_TRUE(once_->AppendOnce(std::span(events).first(2)).ok());
  Event changed = events[0];
  changed.time = Timestamp::FromUnixMicros(changed.time.unix_micros() + 1);
  std::vector<Event> batch = {events[2], changed, events[3]};
  auto r = once_->AppendOnce(batch);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->conflicts, 1);
  EXPECT_EQ(r->outcomes[1], AppendOutcome::kConflict);
  auto first = once_->AppendOnce(std::span(events).first(1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(r->positions[1], first->positions[0]);  // The earlier event's.
  // Nothing of the refused batch reached the log.
  EXPECT_EQ(Copies().size(), 2u);

  // Two different events with one id inside a batch conflict as well.
  std::vector<Event> twins = {events[2], events[2]};
  twins[1].time = Timestamp::FromUnixMicros(twins[1].time.unix_micros() + 1);
  auto t = once_->AppendOnce(twins);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->conflicts, 1);
  EXPECT_EQ(Copies().size(), 2u);
}

TEST_P(IdempotentLogTest, ConcurrentOverlappingRetriesAppendEachEventOnce) {
  const std::vector<Event> events = Story(400);
  std::vector<std::thread> senders;
  std::atomic<int64_t> appended{0};
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      // Each sender sends every event, in batches cut differently.
      const size_t step = 25 + 10 * t;
      for (size_t at = 0; at < events.size(); at += step) {
        size_t n = std::min(step, events.size() - at);
        auto r = once_->AppendOnce(std::span(events).subspan(at, n));
        ASSERT_TRUE(r.ok()) << r.status();
        appended += r->appended;
      }
    });
  }
  for (std::thread& t : senders) t.join();
  EXPECT_EQ(appended.load(), 400);
  std::map<std::string, int> copies = Copies();
  EXPECT_EQ(copies.size(), 400u);
  for (const auto& [key, n] : copies) EXPECT_EQ(n, 1) << key;
}

TEST_P(IdempotentLogTest, TheIndexSurvivesARestart) {
  const std::vector<Event> events = Story(100);
  auto first = once_->AppendOnce(events);
  ASSERT_TRUE(first.ok());
  Reopen();
  auto again = once_->AppendOnce(events);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->duplicates, 100);
  EXPECT_EQ(again->positions, first->positions);
  EXPECT_EQ(Copies().size(), 100u);
}

TEST(KafkaIdempotentLogTest, ANewIndexLearnsTheTopicBeforeAcceptingAnything) {
  TempDir dir;
  auto broker = DevBroker::Start({.brokers = 1, .partitions = 3});
  ASSERT_TRUE(broker.ok());
  auto log = KafkaLog::Open({.brokers = (*broker)->bootstrap()});
  ASSERT_TRUE(log.ok());
  const std::vector<Event> events = Story(150);
  // Another ingest process (its own index) appended these.
  {
    auto other = OpenKafkaIdempotent(log->get(), {.dedup_dir = dir.Sub("a")});
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->AppendOnce(events).ok());
  }
  auto once = OpenKafkaIdempotent(log->get(), {.dedup_dir = dir.Sub("b")});
  ASSERT_TRUE(once.ok()) << once.status();
  auto r = (*once)->AppendOnce(events);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 150);
  auto records = ReadToEnd(**log);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 150u);
}

TEST(KafkaIdempotentLogTest, ANewIndexStartsWhereTheTopicStillHasRecords) {
  TempDir dir;
  auto broker = DevBroker::Start({.brokers = 1, .partitions = 1});
  ASSERT_TRUE(broker.ok());
  auto log = KafkaLog::Open({.brokers = (*broker)->bootstrap()});
  ASSERT_TRUE(log.ok());
  // The dev broker keeps the newest 5 MiB of a partition: push the oldest
  // records out, as a retention limit would.
  const std::vector<Event> events = Story(40000);
  for (size_t at = 0; at < events.size(); at += 5000) {
    ASSERT_TRUE((*log)->Append(std::span(events).subspan(at, 5000)).ok());
  }
  auto oldest = (*log)->StartOffsets();
  ASSERT_TRUE(oldest.ok()) << oldest.status();
  ASSERT_GT((*oldest)[0], 0);

  auto once = OpenKafkaIdempotent(log->get(), {.dedup_dir = dir.Sub("new")});
  ASSERT_TRUE(once.ok()) << once.status();
  auto r = (*once)->AppendOnce(std::span(events).last(100));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->duplicates, 100);
}

TEST(KafkaIdempotentLogTest, AfterAnOutageEveryEventIsInTheLogExactlyOnce) {
  TempDir dir;
  auto broker = DevBroker::Start({.brokers = 1, .partitions = 3});
  ASSERT_TRUE(broker.ok());
  auto log = KafkaLog::Open(
      {.brokers = (*broker)->bootstrap(), .append_timeout = absl::Seconds(2)});
  ASSERT_TRUE(log.ok());
  auto once = OpenKafkaIdempotent(log->get(), {.dedup_dir = dir.Sub("dedup"),
                                               .poll = absl::Milliseconds(50),
                                               .settle = absl::Seconds(5)});
  ASSERT_TRUE(once.ok());
  const std::vector<Event> events = Story(300);
  ASSERT_TRUE((*once)->AppendOnce(std::span(events).first(100)).ok());

  ASSERT_TRUE((*broker)->SetAllDown().ok());
  auto failed = (*once)->AppendOnce(std::span(events).subspan(100, 100));
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  ASSERT_TRUE((*broker)->SetAllUp().ok());

  // The sender retries everything from the first unacknowledged event,
  // and (as senders do) some acknowledged ones too.
  absl::StatusOr<AppendOnceResult> retried;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    retried = (*once)->AppendOnce(std::span(events).subspan(50, 250));
  } while (!retried.ok() && absl::Now() < deadline);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->appended + retried->duplicates, 250);

  auto records = ReadToEnd(**log);
  ASSERT_TRUE(records.ok());
  std::map<std::string, int> copies = CopiesPerKey(*records);
  EXPECT_EQ(copies.size(), 300u);
  for (const auto& [key, n] : copies) EXPECT_EQ(n, 1) << key;
}

TEST(DedupTest, TheWindowFilterDropsOnlyOldEntries) {
  auto factory = DedupWindowFilterFactory(absl::Hours(1));
  rocksdb::CompactionFilter::Context context{};
  std::unique_ptr<rocksdb::CompactionFilter> filter =
      factory->CreateCompactionFilter(context);
  ASSERT_NE(filter, nullptr);
  const int64_t now = absl::ToUnixMicros(absl::Now());
  auto drops = [&](int64_t recorded_us) {
    std::string value = EncodeDedupEntry({.recorded_us = recorded_us});
    std::string unused;
    bool changed = false;
    return filter->Filter(0, "k", value, &unused, &changed);
  };
  EXPECT_TRUE(drops(now - 2LL * 3600 * 1'000'000));
  EXPECT_FALSE(drops(now - 10LL * 60 * 1'000'000));
  std::string unused;
  bool changed = false;
  EXPECT_FALSE(filter->Filter(0, "checkpoint", "12345678", &unused, &changed));
  EXPECT_EQ(DedupWindowFilterFactory(absl::ZeroDuration())
                ->CreateCompactionFilter(context),
            nullptr);
}

TEST(DedupTest, EntriesRoundTripAndFingerprintsIgnoreRecordedTime) {
  DedupEntry e{.position = {7, 123456789012},
               .fingerprint = 0xfedcba9876543210ull,
               .recorded_us = 1'790'000'000'000'000};
  EXPECT_EQ(DecodeDedupEntry(EncodeDedupEntry(e)), e);
  EXPECT_EQ(DecodeDedupEntry("short"), std::nullopt);

  Event a = Story(1)[0];
  Event b = a;
  b.recorded_time = Timestamp::FromUnixMicros(42);
  EXPECT_EQ(RecordFingerprint(EncodeEvent(a)),
            RecordFingerprint(EncodeEvent(b)));
  b.id = EventId(a.id.value() + "x");
  EXPECT_NE(RecordFingerprint(EncodeEvent(a)),
            RecordFingerprint(EncodeEvent(b)));
}

INSTANTIATE_TEST_SUITE_P(Backends, IdempotentLogTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kKafka),
                         [](const auto& info) {
                           return info.param == Backend::kEmbedded ? "Embedded"
                                                                   : "Kafka";
                         });

}  // namespace
}  // namespace voronka
