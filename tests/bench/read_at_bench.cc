// EventLog::ReadAt: an auditor reading one manager's history back through an
// index of positions. BM_ReadAtSparse reads every k-th record (range(0) = k;
// k = 100 is 1 % of the log, like one manager's history) of a log of
// VORONKA_BENCH_READAT_RECORDS records (default 1,000,000; the audit target
// is 10M records, 100,000 positions in <= 1 s), in append order.
//
// Embedded: a RocksDB log built without fsync (the bytes are the same),
// then reopened so that the records sit in SST files, as in a long-running
// log. Kafka: the dev broker (librdkafka's mock cluster, in-process, 4
// partitions), which keeps only the newest 5 MiB of each partition: the
// Kafka log holds min(records, VORONKA_BENCH_READAT_KAFKA_RECORDS, default
// 60,000, about what fits) records, and the benchmark fails if the broker
// dropped any; compare per log record, not per run.
// BM_KafkaConsumeAll is the floor of reading the Kafka log through: plain
// librdkafka consuming every record without decoding. BM_ReadAll* read the
// whole log with a LogReader, decoding everything, for comparison.
//
// Counters: positions (per iteration), log_records, positions_per_s
// (= items_per_second) and the time per iteration (one full ReadAt).
#include <librdkafka/rdkafka.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "services/dev_broker.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

constexpr size_t kAppendBatch = 10'000;

size_t EnvSize(const char* name, size_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return static_cast<size_t>(std::strtoull(v, nullptr, 10));
}

size_t LogRecords() {
  return EnvSize("VORONKA_BENCH_READAT_RECORDS", 1'000'000);
}

// A log and the position of every record in append order.
struct BenchLog {
  std::unique_ptr<ScratchDir> dir;
  std::unique_ptr<DevBroker> broker;
  std::unique_ptr<EventLog> log;
  std::vector<LogPosition> positions;
  std::string error;  // Set if the log could not be built.
};

std::unique_ptr<BenchLog> BuildEmbedded() {
  auto b = std::make_unique<BenchLog>();
  b->dir = std::make_unique<ScratchDir>();
  const std::string path = b->dir->path() + "/log";
  const size_t n = LogRecords();
  {
    auto log = EmbeddedLog::Open({.path = path, .sync = false});
    if (!log.ok()) {
      b->error = log.status().ToString();
      return b;
    }
    for (size_t i = 0; i < n; i += kAppendBatch) {
      auto pos = (*log)->Append(EventMix(std::min(kAppendBatch, n - i), i));
      if (!pos.ok()) {
        b->error = pos.status().ToString();
        return b;
      }
      b->positions.insert(b->positions.end(), pos->begin(), pos->end());
    }
  }
  // Reopened: the memtable is flushed to an SST file on recovery.
  auto log = EmbeddedLog::Open({.path = path});
  if (!log.ok()) {
    b->error = log.status().ToString();
    return b;
  }
  b->log = std::move(*log);
  return b;
}

std::unique_ptr<BenchLog> BuildKafka() {
  auto b = std::make_unique<BenchLog>();
  const size_t n = std::min(
      LogRecords(), EnvSize("VORONKA_BENCH_READAT_KAFKA_RECORDS", 60'000));
  auto broker = DevBroker::Start({.brokers = 3, .partitions = 4});
  if (!broker.ok()) {
    b->error = broker.status().ToString();
    return b;
  }
  b->broker = std::move(*broker);
  auto log = KafkaLog::Open(
      {.brokers = b->broker->bootstrap(), .append_timeout = absl::Seconds(60)});
  if (!log.ok()) {
    b->error = log.status().ToString();
    return b;
  }
  for (size_t i = 0; i < n; i += kAppendBatch) {
    auto pos = (*log)->Append(EventMix(std::min(kAppendBatch, n - i), i));
    if (!pos.ok()) {
      b->error = pos.status().ToString();
      return b;
    }
    b->positions.insert(b->positions.end(), pos->begin(), pos->end());
  }
  auto start = (*log)->StartOffsets();
  if (!start.ok()) {
    b->error = start.status().ToString();
    return b;
  }
  for (int64_t s : *start) {
    if (s > 0) {
      b->error =
          "the dev broker dropped records (5 MiB per partition): lower "
          "VORONKA_BENCH_READAT_KAFKA_RECORDS";
    }
  }
  b->log = std::move(*log);
  return b;
}

enum class Backend { kEmbedded, kKafka };

// Built on first use, kept for every benchmark of the run. Initialized by
// the build so that it is destroyed (the scratch directory removed) before
// the statics RocksDB created while building it.
BenchLog& GetLog(Backend backend) {
  if (backend == Backend::kEmbedded) {
    static std::unique_ptr<BenchLog> embedded = BuildEmbedded();
    return *embedded;
  }
  static std::unique_ptr<BenchLog> kafka = BuildKafka();
  return *kafka;
}

void BM_ReadAtSparse(benchmark::State& state, Backend backend) {
  BenchLog& b = GetLog(backend);
  if (!b.error.empty()) return state.SkipWithError(b.error.c_str());
  const size_t every = static_cast<size_t>(state.range(0));
  std::vector<LogPosition> positions;
  for (size_t i = 0; i < b.positions.size(); i += every) {
    positions.push_back(b.positions[i]);
  }
  size_t bytes = 0;
  for (auto _ : state) {
    absl::Status status = b.log->ReadAt(positions, [&](const LogRecord& r) {
      bytes += r.bytes.size();
      return absl::OkStatus();
    });
    if (!status.ok()) return state.SkipWithError(status.ToString().c_str());
  }
  benchmark::DoNotOptimize(bytes);
  state.SetItemsProcessed(state.iterations() * positions.size());
  state.counters["positions"] = static_cast<double>(positions.size());
  state.counters["log_records"] = static_cast<double>(b.positions.size());
}
BENCHMARK_CAPTURE(BM_ReadAtSparse, embedded, Backend::kEmbedded)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReadAtSparse, kafka, Backend::kKafka)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Every record with a LogReader (decoding all of them).
void BM_ReadAll(benchmark::State& state, Backend backend) {
  BenchLog& b = GetLog(backend);
  if (!b.error.empty()) return state.SkipWithError(b.error.c_str());
  for (auto _ : state) {
    auto reader = b.log->OpenReader({});
    if (!reader.ok()) return state.SkipWithError("reader");
    size_t got = 0;
    while (got < b.positions.size()) {
      auto batch = (*reader)->Next(10'000, absl::Seconds(10));
      if (!batch.ok() || batch->empty()) return state.SkipWithError("read");
      got += batch->size();
    }
  }
  state.SetItemsProcessed(state.iterations() * b.positions.size());
}
BENCHMARK_CAPTURE(BM_ReadAll, embedded, Backend::kEmbedded)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReadAll, kafka, Backend::kKafka)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Plain librdkafka: every record of the Kafka log consumed, not decoded.
void BM_KafkaConsumeAll(benchmark::State& state) {
  BenchLog& b = GetLog(Backend::kKafka);
  if (!b.error.empty()) return state.SkipWithError(b.error.c_str());
  for (auto _ : state) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char err[512];
    rd_kafka_conf_set(conf, "bootstrap.servers", b.broker->bootstrap().c_str(),
                      err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "bench-consume-all", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    // As ReadAt's consumer: no long poll at a partition's end.
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", err, sizeof(err));
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list =
        rd_kafka_topic_partition_list_new(4);
    for (int32_t p = 0; p < b.log->partition_count(); ++p) {
      rd_kafka_topic_partition_list_add(list, "voronka.events", p)->offset = 0;
    }
    rd_kafka_assign(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    rd_kafka_queue_t* queue = rd_kafka_queue_get_consumer(rk);
    std::vector<rd_kafka_message_t*> msgs(1024);
    size_t got = 0;
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    while (got < b.positions.size() && absl::Now() < deadline) {
      ssize_t n =
          rd_kafka_consume_batch_queue(queue, 100, msgs.data(), msgs.size());
      for (ssize_t i = 0; i < n; ++i) {
        if (msgs[i]->err == RD_KAFKA_RESP_ERR_NO_ERROR) ++got;
        rd_kafka_message_destroy(msgs[i]);
      }
    }
    rd_kafka_queue_destroy(queue);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (got < b.positions.size()) return state.SkipWithError("consume");
  }
  state.SetItemsProcessed(state.iterations() * b.positions.size());
}
BENCHMARK(BM_KafkaConsumeAll)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace voronka::bench
