// Encode and decode throughput of the binary record format (events/codec.h)
// and of CloudEvents JSON (events/cloudevents.h). Target: decode >= 2M/s.
#include "benchmark/benchmark.h"
#include "events/cloudevents.h"
#include "events/codec.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

constexpr size_t kMix = 10'000;

void BM_EncodeBinary(benchmark::State& state) {
  std::vector<Event> events = EventMix(kMix);
  std::string out;
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    EncodeEventTo(events[i++ % kMix], &out);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_EncodeBinary);

void BM_DecodeBinary(benchmark::State& state) {
  std::vector<std::string> records;
  for (const Event& e : EventMix(kMix)) records.push_back(EncodeEvent(e));
  size_t i = 0, bytes = 0;
  for (auto _ : state) {
    const std::string& r = records[i++ % kMix];
    absl::StatusOr<Event> e = DecodeEvent(r);
    if (!e.ok()) state.SkipWithError("decode failed");
    bytes += r.size();
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_DecodeBinary);

void BM_EncodeCloudEventsJson(benchmark::State& state) {
  std::vector<Event> events = EventMix(kMix);
  size_t i = 0;
  for (auto _ : state) {
    std::string json = ToStructuredJson(events[i++ % kMix]);
    benchmark::DoNotOptimize(json.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeCloudEventsJson);

// Parse + full validation against the funnel configuration, 1000 per batch.
void BM_DecodeCloudEventsBatch(benchmark::State& state) {
  std::vector<Event> events = EventMix(1000);
  std::string body = ToBatchJson(events);
  CloudEventsDecoder decoder(FunnelConfig::Default());
  for (auto _ : state) {
    DecodeResult r = decoder.DecodeBatch(body);
    if (!r.ok()) state.SkipWithError(r.errors[0].ToString().c_str());
    benchmark::DoNotOptimize(r.events.data());
  }
  state.SetItemsProcessed(state.iterations() * 1000);
  state.SetBytesProcessed(state.iterations() * body.size());
}
BENCHMARK(BM_DecodeCloudEventsBatch);

}  // namespace
}  // namespace voronka::bench
