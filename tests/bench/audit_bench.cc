// Audit reads (issue 7): one manager's full history (about 1 % of the
// events), their book as of the last event, and verify, from an embedded
// log of VORONKA_BENCH_AUDIT_EVENTS simulated events (default 10,000,000,
// about 100 managers) and from the dev broker (at most 50,000 events: the
// mock cluster keeps only a few MiB per partition). Targets: history <= 1 s
// and book <= 1 s on 10M events.
//
// Building the 10M-event log and its audit index takes minutes; set
// VORONKA_BENCH_AUDIT_DIR to keep them between runs (filled once).
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "benchmark/benchmark.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "fmt/format.h"
#include "projections/audit.h"
#include "projections/audit_projection.h"
#include "projections/keys.h"
#include "projections/projector.h"
#include "services/audit.h"
#include "services/dev_broker.h"
#include "services/simulator.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

size_t EmbeddedEvents() {
  const char* env = std::getenv("VORONKA_BENCH_AUDIT_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 10'000'000;
}

SimulatorOptions Organisation() {
  return {.seed = 7,
          .lead_gen_managers = 60,
          .closers = 25,
          .account_managers = 10,
          .key_account_managers = 5,
          .organisations = 200000};
}

void Fill(EventLog& log, size_t n) {
  Simulator sim(FunnelConfig::Default(), Organisation());
  for (size_t done = 0; done < n;) {
    const size_t batch = std::min<size_t>(10000, n - done);
    if (!log.Append(sim.Next(batch)).ok()) std::abort();
    done += batch;
  }
}

struct Setup {
  std::unique_ptr<ScratchDir> scratch;
  std::string dir;
  std::unique_ptr<DevBroker> broker;
  std::unique_ptr<EventLog> log;
  std::unique_ptr<ProjectionStore> audit;
  std::string manager;  // The one whose share is nearest 1 %.
  int64_t manager_records = 0;
  int64_t events = 0;
  Timestamp last;
};

void Index(Setup& s) {
  AuditProjection projection(FunnelConfig::Default());
  auto projector = Projector::Open(*s.log, *s.audit, projection, {});
  auto end = s.log->EndOffsets();
  if (!projector.ok() || !end.ok() || !(*projector)->CatchUp(*end).ok()) {
    std::abort();
  }
}

// Picks the manager nearest 1 % of the records, and the last event time.
void Choose(Setup& s) {
  std::map<std::string, int64_t> counts;
  const std::string prefix = Key("am");
  s.audit
      ->ScanEntries(prefix, "",
                    [&](std::string_view key, std::string_view value) {
                      KeyReader r(key.substr(prefix.size()));
                      ++counts[std::string(r.Str())];
                      auto e = DecodeHistoryEntry(value);
                      if (e.ok() && e->time_us > s.last.unix_micros()) {
                        s.last = Timestamp::FromUnixMicros(e->time_us);
                      }
                      return true;
                    })
      .IgnoreError();
  auto end = s.log->EndOffsets();
  for (int64_t e : *end) s.events += e;
  const double target = static_cast<double>(s.events) / 100;
  double best = 1e18;
  for (const auto& [m, n] : counts) {
    if (std::abs(static_cast<double>(n) - target) < best) {
      best = std::abs(static_cast<double>(n) - target);
      s.manager = m;
      s.manager_records = n;
    }
  }
}

Setup& Embedded() {
  static Setup* s = [] {
    auto* s = new Setup();
    if (const char* keep = std::getenv("VORONKA_BENCH_AUDIT_DIR")) {
      s->dir = keep;
    } else {
      s->scratch = std::make_unique<ScratchDir>();
      s->dir = s->scratch->path();
    }
    const bool fresh = !std::filesystem::exists(s->dir + "/log");
    // Delete DIR/audit to index a kept log again (a new index version).
    const bool fresh_index = !std::filesystem::exists(s->dir + "/audit");
    auto log = EmbeddedLog::Open({.path = s->dir + "/log"});
    auto audit = ProjectionStore::Open({.path = s->dir + "/audit"});
    if (!log.ok() || !audit.ok()) std::abort();
    s->log = std::move(*log);
    s->audit = std::move(*audit);
    if (fresh || fresh_index) {
      const auto t0 = std::chrono::steady_clock::now();
      if (fresh) Fill(*s->log, EmbeddedEvents());
      const auto t1 = std::chrono::steady_clock::now();
      Index(*s);
      const auto t2 = std::chrono::steady_clock::now();
      fmt::print(stderr,
                 "audit bench: appended {} events in {:.1f} s, "
                 "indexed in {:.1f} s\n",
                 EmbeddedEvents(),
                 std::chrono::duration<double>(t1 - t0).count(),
                 std::chrono::duration<double>(t2 - t1).count());
    }
    Choose(*s);
    return s;
  }();
  return *s;
}

Setup& Kafka() {
  static Setup* s = [] {
    auto* s = new Setup();
    auto broker = DevBroker::Start(
        {.brokers = 1, .topics = {"voronka.events"}, .partitions = 4});
    if (!broker.ok()) std::abort();
    s->broker = std::move(*broker);
    s->scratch = std::make_unique<ScratchDir>();
    auto log = KafkaLog::Open(
        {.brokers = s->broker->bootstrap(), .topic = "voronka.events"});
    auto audit = ProjectionStore::Open({.path = s->scratch->path() + "/audit"});
    if (!log.ok() || !audit.ok()) std::abort();
    s->log = std::move(*log);
    s->audit = std::move(*audit);
    Fill(*s->log, std::min<size_t>(EmbeddedEvents(), 50'000));
    Index(*s);
    Choose(*s);
    return s;
  }();
  return *s;
}

// The deals the manager was named in and their records: what Book() and
// the lost-deal part of History() fold.
std::pair<int64_t, int64_t> DealWork(const Setup& s) {
  int64_t deals = 0, records = 0;
  const std::string prefix = ManagerDealPrefix(s.manager);
  s.audit
      ->ScanEntries(prefix, "",
                    [&](std::string_view key, std::string_view) {
                      ++deals;
                      KeyReader r(key.substr(prefix.size()));
                      s.audit
                          ->ScanEntries(
                              DealPositionPrefix(r.Str()), "",
                              [&](std::string_view, std::string_view) {
                                ++records;
                                return true;
                              })
                          .IgnoreError();
                      return true;
                    })
      .IgnoreError();
  return {deals, records};
}

void Report(benchmark::State& state, const Setup& s, int64_t rows) {
  static std::map<const Setup*, std::pair<int64_t, int64_t>> work;
  if (!work.contains(&s)) work[&s] = DealWork(s);
  state.counters["deals"] = static_cast<double>(work[&s].first);
  state.counters["deal_records"] = static_cast<double>(work[&s].second);
  state.counters["log_events"] = static_cast<double>(s.events);
  state.counters["manager_records"] = static_cast<double>(s.manager_records);
  state.counters["rows"] = static_cast<double>(rows);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_MiB"] = usage.ru_maxrss / 1024.0;
}

void History(benchmark::State& state, Setup& s) {
  int64_t rows = 0;
  for (auto _ : state) {
    AuditReader reader(*s.audit, *s.log, FunnelConfig::Default());
    rows = 0;
    absl::Status st =
        reader.History({.manager = s.manager}, [&](const HistoryRow&) {
          ++rows;
          return absl::OkStatus();
        });
    if (!st.ok()) state.SkipWithError(std::string(st.message()).c_str());
  }
  Report(state, s, rows);
}

void Book(benchmark::State& state, Setup& s) {
  int64_t rows = 0;
  for (auto _ : state) {
    AuditReader reader(*s.audit, *s.log, FunnelConfig::Default());
    auto book = reader.Book(s.manager, s.last);
    if (!book.ok())
      state.SkipWithError(std::string(book.status().message()).c_str());
    rows = book.ok() ? static_cast<int64_t>(book->size()) : 0;
  }
  Report(state, s, rows);
}

void Verify(benchmark::State& state, Setup& s) {
  int64_t rows = 0;
  for (auto _ : state) {
    AuditReader reader(*s.audit, *s.log, FunnelConfig::Default());
    auto v = reader.Verify(s.manager);
    if (!v.ok() || !v->match) state.SkipWithError("verify failed");
    rows = v.ok() ? v->records : 0;
  }
  Report(state, s, rows);
}

void BM_AuditHistoryEmbedded(benchmark::State& st) { History(st, Embedded()); }
void BM_AuditBookEmbedded(benchmark::State& st) { Book(st, Embedded()); }
void BM_AuditVerifyEmbedded(benchmark::State& st) { Verify(st, Embedded()); }
void BM_AuditHistoryKafka(benchmark::State& st) { History(st, Kafka()); }
void BM_AuditBookKafka(benchmark::State& st) { Book(st, Kafka()); }
void BM_AuditVerifyKafka(benchmark::State& st) { Verify(st, Kafka()); }

BENCHMARK(BM_AuditHistoryEmbedded)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_AuditBookEmbedded)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_AuditVerifyEmbedded)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_AuditHistoryKafka)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_AuditBookKafka)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();
BENCHMARK(BM_AuditVerifyKafka)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3)
    ->UseRealTime();

}  // namespace
}  // namespace voronka::bench
