// Ingest without the network: idempotent appends into the embedded log
// (events/idempotent_log.h) by batch size and with concurrent senders, next
// to plain appends (embedded_log_bench.cc) for the cost of de-duplication;
// and the whole handler path for one 1,000-event request (decode, validate,
// append once). scripts/bench-ingest.sh measures the same over HTTP with wrk.
// BM_IngestMetricsPerRequest: the metrics' share of a request.
#include <atomic>

#include "benchmark/benchmark.h"
#include "events/cloudevents.h"
#include "events/idempotent_log.h"
#include "fmt/format.h"
#include "services/ingest_metrics.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

std::atomic<int64_t> next_id{0};

// Gives every event a new id, so each iteration appends new events.
void Renumber(std::vector<Event>& events) {
  for (Event& e : events) {
    e.id = EventId(fmt::format("b{}", next_id.fetch_add(1)));
  }
}

void BM_EmbeddedAppendOnce(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  static ScratchDir* dir = nullptr;
  static std::unique_ptr<EmbeddedLog> log;
  if (state.thread_index() == 0) {
    dir = new ScratchDir();
    log = std::move(*EmbeddedLog::Open({.path = dir->path() + "/log"}));
  }
  std::vector<Event> events = EventMix(batch);
  for (auto _ : state) {
    Renumber(events);
    auto r = log->AppendOnce(events);
    if (!r.ok() || r->appended != static_cast<int64_t>(batch)) {
      state.SkipWithError("append failed");
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  if (state.thread_index() == 0) {
    log.reset();
    delete dir;
  }
}
BENCHMARK(BM_EmbeddedAppendOnce)->Arg(1)->Arg(1000)->UseRealTime();
BENCHMARK(BM_EmbeddedAppendOnce)->Arg(1)->Threads(16)->UseRealTime();
BENCHMARK(BM_EmbeddedAppendOnce)->Arg(1000)->Threads(4)->UseRealTime();

// What POST /v1/events does with a 1,000-event batch, minus HTTP.
void BM_DecodeAndAppendOnce(benchmark::State& state) {
  static ScratchDir* dir = nullptr;
  static std::unique_ptr<EmbeddedLog> log;
  if (state.thread_index() == 0) {
    dir = new ScratchDir();
    log = std::move(*EmbeddedLog::Open({.path = dir->path() + "/log"}));
  }
  std::vector<Event> events = EventMix(1000);
  CloudEventsDecoder decoder(FunnelConfig::Default());
  for (auto _ : state) {
    state.PauseTiming();
    Renumber(events);
    std::string body = ToBatchJson(events);
    state.ResumeTiming();
    DecodeResult decoded = decoder.DecodeBatch(body);
    auto r = log->AppendOnce(decoded.events);
    if (!r.ok()) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  if (state.thread_index() == 0) {
    log.reset();
    delete dir;
  }
}
BENCHMARK(BM_DecodeAndAppendOnce)->Threads(1)->Threads(2)->UseRealTime();

// What the metrics of one POST /v1/events cost (issue 5): in flight,
// request code and duration, append duration, events by type and source,
// for a request of Arg events, from 1 or 4 threads sharing the registry.
void BM_IngestMetricsPerRequest(benchmark::State& state) {
  static prometheus::Registry* registry = nullptr;
  static IngestMetrics* metrics = nullptr;
  if (state.thread_index() == 0) {
    registry = new prometheus::Registry();
    metrics = new IngestMetrics(*registry);
  }
  const std::vector<Event> events =
      EventMix(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    IngestMetrics::InFlight in_flight(metrics);
    metrics->AppendDuration(absl::Microseconds(50));
    metrics->Accepted(events, 0);
    metrics->Request(202);
    metrics->RequestDuration(absl::Microseconds(80));
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    delete metrics;
    delete registry;
  }
}
BENCHMARK(BM_IngestMetricsPerRequest)
    ->Arg(1)
    ->Arg(1000)
    ->Threads(1)
    ->Threads(4)
    ->UseRealTime();

}  // namespace
}  // namespace voronka::bench
