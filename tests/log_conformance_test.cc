// One test suite for every EventLog backend (events/log.h): what a caller of
// Append / OpenReader / EndOffsets may rely on, whatever is underneath.
// Backends: EmbeddedLog on a temporary RocksDB, KafkaLog on an in-process
// DevBroker (librdkafka's mock cluster, real Kafka protocol, 4 partitions).
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>

#include "fmt/format.h"

#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::Calls;

// Owns a log and whatever it runs on.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual EventLog& log() = 0;
};

class EmbeddedBackend : public Backend {
 public:
  EmbeddedBackend() {
    auto log = EmbeddedLog::Open({.path = dir_.Sub("log")});
    EXPECT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  EventLog& log() override { return *log_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<EmbeddedLog> log_;
};

class KafkaBackend : public Backend {
 public:
  KafkaBackend() {
    auto broker = DevBroker::Start({.brokers = 3, .partitions = 4});
    EXPECT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto log = KafkaLog::Open({.brokers = broker_->bootstrap(),
                               .topic = "voronka.events",
                               .append_timeout = absl::Seconds(10)});
    EXPECT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  EventLog& log() override { return *log_; }

 private:
  std::unique_ptr<DevBroker> broker_;
  std::unique_ptr<KafkaLog> log_;
};

// A backend under test: its name (printed by gtest) and how to start it.
struct BackendParam {
  std::string name;
  std::function<std::unique_ptr<Backend>()> start;
  friend void PrintTo(const BackendParam& param, std::ostream* os) {
    *os << param.name;
  }
};

class LogConformanceTest : public ::testing::TestWithParam<BackendParam> {
 protected:
  void SetUp() override {
    backend_ = GetParam().start();
    if (HasFailure()) GTEST_SKIP() << "backend did not start";
  }
  EventLog& log() { return backend_->log(); }

  // Reads until `n` records arrived (or 10 s passed).
  std::vector<LogRecord> ReadAll(LogReader& reader, size_t n) {
    std::vector<LogRecord> out;
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (out.size() < n && absl::Now() < deadline) {
      auto batch = reader.Next(n - out.size(), absl::Milliseconds(200));
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok()) break;
      for (auto& r : *batch) out.push_back(std::move(r));
    }
    return out;
  }

  std::unique_ptr<Backend> backend_;
};

TEST_P(LogConformanceTest, EmptyAppendReturnsNoPositions) {
  auto pos = log().Append({});
  ASSERT_TRUE(pos.ok()) << pos.status();
  EXPECT_TRUE(pos->empty());
}

TEST_P(LogConformanceTest, AppendReturnsOnePositionPerEventInOrder) {
  std::vector<Event> events = Calls(50);
  auto pos = log().Append(events);
  ASSERT_TRUE(pos.ok()) << pos.status();
  ASSERT_EQ(pos->size(), events.size());
  std::map<int32_t, int64_t> last;
  for (const LogPosition& p : *pos) {
    ASSERT_GE(p.partition, 0);
    ASSERT_LT(p.partition, log().partition_count());
    if (last.count(p.partition)) {
      EXPECT_GT(p.offset, last[p.partition]);
    }
    last[p.partition] = p.offset;
  }
}

TEST_P(LogConformanceTest, ReaderReturnsEveryAppendedEventAtItsPosition) {
  std::vector<Event> events = testing::SampleEventsOfEveryType();
  auto pos = log().Append(events);
  ASSERT_TRUE(pos.ok()) << pos.status();
  auto reader = log().OpenReader({});
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::vector<LogRecord> got = ReadAll(**reader, events.size());
  ASSERT_EQ(got.size(), events.size());
  std::map<LogPosition, const Event*> by_pos;
  for (size_t i = 0; i < events.size(); ++i) by_pos[(*pos)[i]] = &events[i];
  for (const LogRecord& r : got) {
    ASSERT_TRUE(by_pos.count(r.position));
    EXPECT_EQ(r.event, *by_pos[r.position]);
  }
}

TEST_P(LogConformanceTest, SameKeyKeepsItsOrder) {
  std::vector<Event> events = Calls(200, /*orgs=*/5);
  ASSERT_TRUE(log().Append(events).ok());
  auto reader = log().OpenReader({});
  ASSERT_TRUE(reader.ok());
  std::vector<LogRecord> got = ReadAll(**reader, events.size());
  ASSERT_EQ(got.size(), events.size());
  std::map<std::string, std::pair<int32_t, Timestamp>> last;  // key -> seen
  for (const LogRecord& r : got) {
    std::string key(r.event.key());
    auto it = last.find(key);
    if (it != last.end()) {
      EXPECT_EQ(it->second.first, r.position.partition) << key;
      EXPECT_GT(r.event.time, it->second.second) << key;
    }
    last[key] = {r.position.partition, r.event.time};
  }
}

TEST_P(LogConformanceTest, EndOffsetsCoverEveryAppendedPosition) {
  auto before = log().EndOffsets();
  ASSERT_TRUE(before.ok()) << before.status();
  ASSERT_EQ(before->size(), static_cast<size_t>(log().partition_count()));
  auto pos = log().Append(Calls(40));
  ASSERT_TRUE(pos.ok());
  auto after = log().EndOffsets();
  ASSERT_TRUE(after.ok());
  for (const LogPosition& p : *pos) EXPECT_LT(p.offset, (*after)[p.partition]);
}

TEST_P(LogConformanceTest, ReaderResumesFromItsPositions) {
  std::vector<Event> events = Calls(60);
  ASSERT_TRUE(log().Append(events).ok());
  auto first = log().OpenReader({});
  ASSERT_TRUE(first.ok());
  std::vector<LogRecord> head = ReadAll(**first, 25);
  ASSERT_EQ(head.size(), 25u);
  auto second = log().OpenReader({.start_offsets = (*first)->positions()});
  ASSERT_TRUE(second.ok());
  std::vector<LogRecord> tail = ReadAll(**second, 35);
  ASSERT_EQ(tail.size(), 35u);
  std::set<std::string> ids;
  for (const auto& r : head) ids.insert(r.event.id.value());
  for (const auto& r : tail) ids.insert(r.event.id.value());
  EXPECT_EQ(ids.size(), 60u);  // Nothing twice, nothing missing.
}

TEST_P(LogConformanceTest, ReaderWaitsForRecordsAppendedLater) {
  auto reader = log().OpenReader({});
  ASSERT_TRUE(reader.ok());
  auto nothing = (*reader)->Next(10, absl::Milliseconds(50));
  ASSERT_TRUE(nothing.ok()) << nothing.status();
  EXPECT_TRUE(nothing->empty());
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_TRUE(log().Append(Calls(3)).ok());
  });
  std::vector<LogRecord> got = ReadAll(**reader, 3);
  writer.join();
  EXPECT_EQ(got.size(), 3u);
}

TEST_P(LogConformanceTest, ConcurrentAppendsGetDistinctPositions) {
  constexpr int kThreads = 4, kBatches = 25, kPerBatch = 8;
  std::mutex mu;
  std::set<LogPosition> seen;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Event> events = Calls(kPerBatch);
        for (auto& e : events) {
          e.id = EventId(fmt::format("t{}-b{}-{}", t, b, e.id.value()));
        }
        auto pos = log().Append(events);
        if (!pos.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (const auto& p : *pos) EXPECT_TRUE(seen.insert(p).second);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kThreads * kBatches * kPerBatch));
  auto reader = log().OpenReader({});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(ReadAll(**reader, seen.size()).size(), seen.size());
}

INSTANTIATE_TEST_SUITE_P(
    Backends, LogConformanceTest,
    ::testing::Values(
        BackendParam{"Embedded",
                     [] { return std::make_unique<EmbeddedBackend>(); }},
        BackendParam{"Kafka", [] { return std::make_unique<KafkaBackend>(); }}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace voronka
