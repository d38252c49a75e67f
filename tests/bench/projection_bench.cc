// Rebuild throughput of each projection from the embedded log and from the
// dev broker: a simulated stream (VORONKA_BENCH_EVENTS events, default
// 1,000,000; at most 200,000 on the dev broker, whose mock cluster keeps
// only 5 MiB per partition) is appended once, then each projection folds it
// from position 0 into a fresh store. Prints events/s, peak RSS and the store's
// size. Target (issue 3): >= 1M events/s/core for indicators and stages.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "projections/funnel_projection.h"
#include "projections/indicator_projection.h"
#include "projections/projector.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

size_t StreamSize() {
  const char* env = std::getenv("VORONKA_BENCH_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 1'000'000;
}

// VORONKA_BENCH_BATCH overrides the projector's batch size.
size_t BatchRecords() {
  const char* env = std::getenv("VORONKA_BENCH_BATCH");
  return env != nullptr ? std::strtoull(env, nullptr, 10)
                        : ProjectorOptions().batch_records;
}

double PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Appends the simulated stream to `log` in batches.
void Fill(EventLog& log, size_t n) {
  Simulator sim(FunnelConfig::Default(), {.seed = 3,
                                          .lead_gen_managers = 60,
                                          .closers = 25,
                                          .account_managers = 15,
                                          .key_account_managers = 5,
                                          .organisations = 100000});
  for (size_t done = 0; done < n;) {
    const size_t batch = std::min<size_t>(10000, n - done);
    if (!log.Append(sim.Next(batch)).ok()) std::abort();
    done += batch;
  }
}

// VORONKA_BENCH_LOG names a log directory to keep between runs (filled only
// while it holds fewer events than asked for); otherwise a scratch one.
EventLog& EmbeddedStream() {
  static ScratchDir dir;  // Removed at exit.
  static EventLog* log = [] {
    const char* keep = std::getenv("VORONKA_BENCH_LOG");
    auto opened = EmbeddedLog::Open(
        {.path = keep != nullptr ? std::string(keep) : dir.path() + "/log"});
    if (!opened.ok()) std::abort();
    auto end = (*opened)->EndOffsets();
    if (!end.ok()) std::abort();
    if (static_cast<size_t>((*end)[0]) < StreamSize()) {
      Fill(**opened, StreamSize() - (*end)[0]);
    }
    return opened->release();
  }();
  return *log;
}

// What the mock cluster keeps whole in 16 partitions (about 300 bytes per
// record with headers).
constexpr size_t kMaxKafkaStream = 200'000;

EventLog& KafkaStream() {
  static DevBroker* broker = [] {
    // The mock cluster keeps at most 5 MiB (and 100k message sets) per
    // partition and drops older records: spread the stream over 16.
    auto started = DevBroker::Start({.brokers = 1, .partitions = 16});
    if (!started.ok()) std::abort();
    return started->release();
  }();
  static EventLog* log = [] {
    auto opened = KafkaLog::Open({.brokers = broker->bootstrap()});
    if (!opened.ok()) std::abort();
    Fill(**opened, std::min<size_t>(StreamSize(), kMaxKafkaStream));
    return opened->release();
  }();
  return *log;
}

template <typename P>
void Rebuild(benchmark::State& state, EventLog& log) {
  auto end = log.EndOffsets();
  int64_t records = 0;
  for (int64_t e : *end) records += e;
  uint64_t size = 0;
  int64_t refolded_events = 0;
  double compact_s = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ScratchDir dir;
    auto store = ProjectionStore::Open({.path = dir.path() + "/store"});
    P projection(FunnelConfig::Default());
    auto projector = Projector::Open(log, **store, projection,
                                     {.batch_records = BatchRecords()});
    if (!projector.ok()) return state.SkipWithError("open");
    state.ResumeTiming();
    if (absl::Status s = (*projector)->CatchUp(*end); !s.ok()) {
      return state.SkipWithError(std::string(s.message()).c_str());
    }
    state.PauseTiming();
    // What a rebuild does before it goes into service, timed apart.
    const auto compact_start = std::chrono::steady_clock::now();
    if (!(*store)->CompactRows().ok()) return state.SkipWithError("compact");
    compact_s = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                              compact_start)
                    .count();
    if (!(*store)->Flush().ok()) return state.SkipWithError("flush");
    size = (*store)->SizeOnDisk();
    if constexpr (std::is_same_v<P, FunnelProjection>) {
      refolded_events = projection.counts().refolded_events;
    }
    projector->reset();
    store->reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * records);
  state.counters["events"] = static_cast<double>(records);
  state.counters["peak_rss_MiB"] = PeakRssMiB();
  state.counters["store_MiB"] = size / 1048576.0;
  state.counters["compact_rows_s"] = compact_s;
  if (refolded_events > 0) {
    state.counters["refolded_events"] = static_cast<double>(refolded_events);
  }
}

void BM_RebuildIndicatorsEmbedded(benchmark::State& state) {
  Rebuild<IndicatorProjection>(state, EmbeddedStream());
}
void BM_RebuildFunnelEmbedded(benchmark::State& state) {
  Rebuild<FunnelProjection>(state, EmbeddedStream());
}
void BM_RebuildIndicatorsKafka(benchmark::State& state) {
  Rebuild<IndicatorProjection>(state, KafkaStream());
}
void BM_RebuildFunnelKafka(benchmark::State& state) {
  Rebuild<FunnelProjection>(state, KafkaStream());
}
BENCHMARK(BM_RebuildIndicatorsEmbedded)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_RebuildFunnelEmbedded)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_RebuildIndicatorsKafka)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();
BENCHMARK(BM_RebuildFunnelKafka)
    ->Unit(benchmark::kSecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
}  // namespace voronka::bench
