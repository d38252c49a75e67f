// One test suite for every EventLog backend (events/log.h): what a caller of
// Append / OpenReader / EndOffsets may rely on, whatever is underneath.
// Backends: EmbeddedLog on a temporary RocksDB, KafkaLog on an in-process
// DevBroker (librdkafka's mock cluster, real Kafka protocol, 4 partitions).
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "fmt/format.h"

#include "absl/strings/match.h"
#include "events/codec.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/dev_broker.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::Calls;
using ::testing::HasSubstr;

// Owns a log and whatever it runs on.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual EventLog& log() = 0;
  // Stores `bytes` as a record, bypassing the codec, and returns where.
  virtual absl::StatusOr<LogPosition> AppendCorrupt(
      const std::string& bytes) = 0;
  // A second handle on the same log whose waits for the log are bounded by
  // `timeout`, and a way to make the log unreachable (Unimplemented where
  // nothing can be down).
  virtual absl::StatusOr<std::unique_ptr<EventLog>> OpenAnother(
      absl::Duration timeout) = 0;
  virtual absl::Status SetDown(bool down) = 0;
};

class EmbeddedBackend : public Backend {
 public:
  EmbeddedBackend() {
    auto log = EmbeddedLog::Open({.path = dir_.Sub("log")});
    EXPECT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
  }
  EventLog& log() override { return *log_; }
  absl::StatusOr<LogPosition> AppendCorrupt(const std::string& bytes) override {
    std::vector<std::string> records = {bytes};
    absl::StatusOr<std::vector<LogPosition>> pos = log_->AppendRaw(records);
    if (!pos.ok()) return pos.status();
    return pos->front();
  }
  absl::StatusOr<std::unique_ptr<EventLog>> OpenAnother(
      absl::Duration) override {
    absl::StatusOr<std::unique_ptr<EmbeddedLog>> log =
        EmbeddedLog::Open({.path = dir_.Sub("log"), .read_only = true});
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  absl::Status SetDown(bool) override {
    return absl::UnimplementedError("an embedded log is never unreachable");
  }

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
  // A codec-format record with garbage in it, from a plain producer, to
  // partition 0.
  absl::StatusOr<LogPosition> AppendCorrupt(const std::string& bytes) override {
    absl::StatusOr<std::vector<int64_t>> end = log_->EndOffsets();
    if (!end.ok()) return end.status();
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "bootstrap.servers", broker_->bootstrap().c_str(),
                      err, sizeof(err));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    if (rk == nullptr) return absl::InternalError(err);
    rd_kafka_headers_t* headers = rd_kafka_headers_new(1);
    rd_kafka_header_add(headers, "content-type", -1, kRecordContentType.data(),
                        kRecordContentType.size());
    absl::Status status;
    const rd_kafka_resp_err_t produced = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC("voronka.events"), RD_KAFKA_V_PARTITION(0),
        RD_KAFKA_V_VALUE(const_cast<char*>(bytes.data()), bytes.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_END);
    if (produced != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::InternalError(rd_kafka_err2str(produced));
      rd_kafka_headers_destroy(headers);
    } else if (rd_kafka_flush(rk, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::InternalError("raw record not flushed");
    }
    rd_kafka_destroy(rk);
    if (!status.ok()) return status;
    return LogPosition{0, (*end)[0]};
  }
  absl::StatusOr<std::unique_ptr<EventLog>> OpenAnother(
      absl::Duration timeout) override {
    absl::StatusOr<std::unique_ptr<KafkaLog>> log =
        KafkaLog::Open({.brokers = broker_->bootstrap(),
                        .topic = "voronka.events",
                        .append_timeout = timeout});
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  absl::Status SetDown(bool down) override {
    return down ? broker_->SetAllDown() : broker_->SetAllUp();
  }

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

  // Reads until `n` records arrived (or `timeout` passed).
  std::vector<LogRecord> ReadAll(LogReader& reader, size_t n,
                                 absl::Duration timeout = absl::Seconds(10)) {
    std::vector<LogRecord> out;
    absl::Time deadline = absl::Now() + timeout;
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

// ReadAt: the positions of `events` once appended, and what a reader
// returns at every position of the log.
struct Appended {
  std::vector<Event> events;
  std::vector<LogPosition> positions;
  std::map<LogPosition, LogRecord> read;  // By a reader, to compare with.
};

class ReadAtTest : public LogConformanceTest {
 protected:
  // Appends `events` in batches of up to 5,000 and reads the whole log back
  // with a reader.
  Appended AppendAndRead(std::vector<Event> events) {
    Appended out;
    out.events = std::move(events);
    for (size_t i = 0; i < out.events.size(); i += 5000) {
      std::span<const Event> batch(
          out.events.data() + i, std::min<size_t>(5000, out.events.size() - i));
      auto pos = log().Append(batch);
      EXPECT_TRUE(pos.ok()) << pos.status();
      if (!pos.ok()) return out;
      out.positions.insert(out.positions.end(), pos->begin(), pos->end());
    }
    auto reader = log().OpenReader({});
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    for (LogRecord& r :
         ReadAll(**reader, out.events.size(), absl::Seconds(120))) {
      LogPosition p = r.position;
      out.read.emplace(p, std::move(r));
    }
    EXPECT_EQ(out.read.size(), out.events.size());
    return out;
  }

  // ReadAt(positions), collecting what it visits.
  absl::Status Collect(EventLog& log, std::span<const LogPosition> positions,
                       std::vector<LogRecord>& got) {
    return log.ReadAt(positions, [&](const LogRecord& r) {
      got.push_back(r);
      return absl::OkStatus();
    });
  }
};

TEST_P(ReadAtTest, ScatteredPositionsComeBackInTheGivenOrder) {
  std::vector<Event> events = testing::SampleEventsOfEveryType();
  for (Event& e : Calls(300, /*orgs=*/11)) events.push_back(std::move(e));
  Appended a = AppendAndRead(std::move(events));
  ASSERT_EQ(a.positions.size(), a.events.size());
  // Every 7th event and every sample one, shuffled: several partitions,
  // offsets out of order.
  std::vector<size_t> picked;
  for (size_t i = 0; i < a.events.size(); ++i) {
    if (i < 20 || i % 7 == 3) picked.push_back(i);
  }
  std::shuffle(picked.begin(), picked.end(), std::mt19937(7));
  std::vector<LogPosition> positions;
  std::set<int32_t> partitions;
  for (size_t i : picked) {
    positions.push_back(a.positions[i]);
    partitions.insert(a.positions[i].partition);
  }
  EXPECT_EQ(partitions.size(), static_cast<size_t>(log().partition_count()));
  ASSERT_FALSE(std::is_sorted(positions.begin(), positions.end()));

  std::vector<LogRecord> got;
  absl::Status status = Collect(log(), positions, got);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(got.size(), picked.size());
  for (size_t k = 0; k < picked.size(); ++k) {
    const Event& want = a.events[picked[k]];
    EXPECT_EQ(got[k].position, positions[k]);
    EXPECT_EQ(got[k].event, want) << want.id.value();
    // The bytes a reader gives: codec bytes of the same event.
    EXPECT_EQ(got[k].bytes, a.read.at(positions[k]).bytes);
    ASSERT_FALSE(got[k].bytes.empty());
    auto decoded = DecodeEvent(got[k].bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, want);
  }
}

TEST_P(ReadAtTest, RepeatedPositionsAreVisitedEachTime) {
  Appended a = AppendAndRead(Calls(40));
  ASSERT_EQ(a.positions.size(), 40u);
  const std::vector<LogPosition> positions = {a.positions[5], a.positions[30],
                                              a.positions[5], a.positions[5],
                                              a.positions[0], a.positions[30]};
  std::vector<LogRecord> got;
  absl::Status status = Collect(log(), positions, got);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(got.size(), positions.size());
  const size_t want[] = {5, 30, 5, 5, 0, 30};
  for (size_t k = 0; k < positions.size(); ++k) {
    EXPECT_EQ(got[k].position, positions[k]);
    EXPECT_EQ(got[k].event, a.events[want[k]]);
  }
}

TEST_P(ReadAtTest, EmptySpanIsOkWithoutCalls) {
  ASSERT_TRUE(log().Append(Calls(3)).ok());
  int calls = 0;
  absl::Status status = log().ReadAt({}, [&](const LogRecord&) {
    ++calls;
    return absl::OkStatus();
  });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(calls, 0);
}

TEST_P(ReadAtTest, PositionBeyondTheEndIsNotFoundNamingIt) {
  Appended a = AppendAndRead(Calls(30));
  auto end = log().EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  const LogPosition beyond{a.positions[3].partition,
                           (*end)[a.positions[3].partition] + 5};
  const std::vector<LogPosition> positions = {a.positions[3], a.positions[1],
                                              beyond, a.positions[2]};
  std::vector<LogRecord> got;
  absl::Status status = Collect(log(), positions, got);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(fmt::format("partition {} offset {}", beyond.partition,
                                    beyond.offset)));
  // Exactly the positions before it were visited.
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].event, a.events[3]);
  EXPECT_EQ(got[1].event, a.events[1]);

  // The end itself, a partition the log does not have, a negative offset.
  for (const LogPosition& bad :
       {LogPosition{0, (*end)[0]}, LogPosition{log().partition_count(), 0},
        LogPosition{-1, 0}, LogPosition{0, -1}}) {
    std::vector<LogRecord> none;
    const std::vector<LogPosition> one = {bad};
    absl::Status s = Collect(log(), one, none);
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
    EXPECT_THAT(s.message(), HasSubstr(fmt::format("partition {} offset {}",
                                                   bad.partition, bad.offset)));
    EXPECT_TRUE(none.empty());
  }
}

TEST_P(ReadAtTest, VisitorErrorStopsTheReadAndIsReturned) {
  Appended a = AppendAndRead(Calls(50));
  int calls = 0;
  absl::Status status = log().ReadAt(a.positions, [&](const LogRecord&) {
    return ++calls == 3 ? absl::CancelledError("auditor had enough")
                        : absl::OkStatus();
  });
  EXPECT_EQ(status, absl::CancelledError("auditor had enough"));
  EXPECT_EQ(calls, 3);
}

TEST_P(ReadAtTest, CorruptRecordIsDataLossNamingItsPosition) {
  Appended a = AppendAndRead(Calls(20));
  auto bad = backend_->AppendCorrupt("\x01not-cereal");
  ASSERT_TRUE(bad.ok()) << bad.status();
  std::vector<Event> later = Calls(5, 7, testing::T("2026-11-03T09:00:00Z"));
  for (Event& e : later) e.id = EventId("later-" + e.id.value());
  auto after = log().Append(later);
  ASSERT_TRUE(after.ok()) << after.status();

  const std::vector<LogPosition> positions = {a.positions[4], (*after)[0], *bad,
                                              a.positions[5]};
  std::vector<LogRecord> got;
  absl::Status status = Collect(log(), positions, got);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(status.message(),
              HasSubstr(fmt::format("partition {} offset {}", bad->partition,
                                    bad->offset)));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].event, a.events[4]);
  EXPECT_EQ(got[1].event, later[0]);
}

TEST_P(ReadAtTest, MoreThanOneChunkStreams) {
  // The dev broker keeps 5 MiB per partition: ~30,000 such records in its 4.
  constexpr int kRecords = 24'000;
  Appended a = AppendAndRead(Calls(kRecords, /*orgs=*/97));
  ASSERT_EQ(a.positions.size(), static_cast<size_t>(kRecords));
  // 10,000 positions (more than two chunks), shuffled, and a second time in
  // log order.
  std::vector<size_t> picked;
  for (size_t i = 0; i < a.positions.size(); ++i) {
    if (i % 12 < 5) picked.push_back(i);
  }
  ASSERT_EQ(picked.size(), 10'000u);
  ASSERT_GT(picked.size(), 2 * EventLog::kReadAtChunk);
  std::shuffle(picked.begin(), picked.end(), std::mt19937(11));
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<LogPosition> positions;
    for (size_t i : picked) positions.push_back(a.positions[i]);
    if (pass == 1) std::sort(positions.begin(), positions.end());
    size_t k = 0;
    int mismatches = 0;
    absl::Status status = log().ReadAt(positions, [&](const LogRecord& r) {
      if (k >= positions.size()) return absl::InternalError("too many calls");
      if (r.position != positions[k] ||
          r.bytes != a.read.at(positions[k]).bytes) {
        ++mismatches;
      }
      ++k;
      return absl::OkStatus();
    });
    ASSERT_TRUE(status.ok()) << status;
    EXPECT_EQ(k, positions.size());
    EXPECT_EQ(mismatches, 0) << "pass " << pass;
  }
}

TEST_P(ReadAtTest, PositionsFarApartAreReachedBySeeking) {
  // Gaps of thousands of records within one partition (one organisation):
  // Kafka seeks instead of reading through, the embedded log seeks its
  // iterator.
  Appended a = AppendAndRead(Calls(7'000, /*orgs=*/1));
  ASSERT_EQ(a.positions.size(), 7'000u);
  std::vector<size_t> picked = {7, 2'507, 2'508, 5'007, 6'999};
  std::reverse(picked.begin(), picked.end());
  std::vector<LogPosition> positions;
  for (size_t i : picked) positions.push_back(a.positions[i]);
  std::vector<LogRecord> got;
  absl::Status status = Collect(log(), positions, got);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(got.size(), picked.size());
  for (size_t k = 0; k < picked.size(); ++k) {
    EXPECT_EQ(got[k].position, positions[k]);
    EXPECT_EQ(got[k].event, a.events[picked[k]]);
  }
}

TEST_P(ReadAtTest, SecondHandleReadsTheSamePositions) {
  // Kafka: another client of the topic; embedded: the read-only (secondary)
  // open a rebuild uses.
  Appended a = AppendAndRead(Calls(30));
  auto other = backend_->OpenAnother(absl::Seconds(5));
  ASSERT_TRUE(other.ok()) << other.status();
  std::vector<LogPosition> positions = {a.positions[29], a.positions[0],
                                        a.positions[17]};
  std::vector<LogRecord> got;
  absl::Status status = Collect(**other, positions, got);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].event, a.events[29]);
  EXPECT_EQ(got[1].event, a.events[0]);
  EXPECT_EQ(got[2].event, a.events[17]);
}

TEST_P(ReadAtTest, UnreachableLogIsUnavailableWithinTheBound) {
  Appended a = AppendAndRead(Calls(30));
  auto other = backend_->OpenAnother(absl::Seconds(2));
  ASSERT_TRUE(other.ok()) << other.status();
  absl::Status down = backend_->SetDown(true);
  if (absl::IsUnimplemented(down)) GTEST_SKIP() << down;
  ASSERT_TRUE(down.ok()) << down;
  std::vector<LogRecord> got;
  const absl::Time start = absl::Now();
  absl::Status status = Collect(**other, a.positions, got);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_TRUE(got.empty());

  // Back up, the same handle reads again.
  ASSERT_TRUE(backend_->SetDown(false).ok());
  got.clear();
  status = Collect(**other, a.positions, got);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(got.size(), a.positions.size());
}

std::vector<BackendParam> AllBackends() {
  return {
      BackendParam{"Embedded",
                   [] { return std::make_unique<EmbeddedBackend>(); }},
      BackendParam{"Kafka", [] { return std::make_unique<KafkaBackend>(); }}};
}

std::string BackendName(const ::testing::TestParamInfo<BackendParam>& info) {
  return info.param.name;
}

INSTANTIATE_TEST_SUITE_P(Backends, LogConformanceTest,
                         ::testing::ValuesIn(AllBackends()), BackendName);
INSTANTIATE_TEST_SUITE_P(Backends, ReadAtTest,
                         ::testing::ValuesIn(AllBackends()), BackendName);

}  // namespace
}  // namespace voronka
