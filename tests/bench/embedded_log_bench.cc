// Append throughput of the embedded log with full durability (fsync'ed WAL
// before acknowledging), by batch size, and with concurrent appenders whose
// batches are group-committed. Target: >= 500k events/s in batches of 1000.
#include "benchmark/benchmark.h"
#include "events/embedded_log.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

void BM_EmbeddedAppend(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  static ScratchDir* dir = nullptr;
  static std::unique_ptr<EmbeddedLog> log;
  if (state.thread_index() == 0) {
    dir = new ScratchDir();
    log = std::move(*EmbeddedLog::Open({.path = dir->path() + "/log"}));
  }
  std::vector<Event> events = EventMix(batch);
  for (auto _ : state) {
    auto pos = log->Append(events);
    if (!pos.ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * batch);
  if (state.thread_index() == 0) {
    state.counters["disk_MiB"] = log->SizeOnDisk() / 1048576.0;
    log.reset();
    delete dir;
  }
}
BENCHMARK(BM_EmbeddedAppend)->Arg(1)->Arg(100)->Arg(1000)->UseRealTime();
BENCHMARK(BM_EmbeddedAppend)->Arg(1)->Arg(100)->Threads(8)->UseRealTime();

}  // namespace
}  // namespace voronka::bench
