// Query API latency over HTTP (keep-alive, one client) on stores built from a
// simulated stream of VORONKA_BENCH_EVENTS events (default 300,000) with a
// 100-manager lead-generation department, plus 1,200 deals handed to sales
// that nobody claims (a queue longer than one 1,000-deal page).
//
// Each benchmark times every call itself and reports p50/p99 in
// microseconds as counters. Target (issue 3): p99 <= 5 ms for one month of
// a 100-manager department's per-manager indicators and for a 1,000-deal
// queue page. The *_Direct variants call the queries without HTTP.
// BM_MetricsScrape* time a /metrics render of the business gauges.
// By default the stores are measured as a rebuild leaves them (rows
// compacted, ProjectionStore::CompactRows); VORONKA_BENCH_COMPACT=1 after a
// full compaction (no tombstones either), VORONKA_BENCH_COMPACT=0 as filled,
// with every merge operand still pending.
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "benchmark/benchmark.h"
#include "events/embedded_log.h"
#include "fmt/format.h"
#include "projections/funnel_projection.h"
#include "projections/indicator_projection.h"
#include "projections/projector.h"
#include "projections/queries.h"
#include "rocksdb/db.h"
#include "services/business_metrics.h"
#include "services/http_server.h"
#include "services/metrics.h"
#include "services/query_api.h"
#include "services/simulator.h"
#include "tests/bench/bench_util.h"

namespace voronka::bench {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;

constexpr int kQueuedDeals = 1200;
// The simulated stream starts on 2026-11-02 (SimulatorOptions::start).
constexpr char kMonth[] = "from=2026-11-01&to=2026-11-30";

size_t StreamSize() {
  const char* env = std::getenv("VORONKA_BENCH_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 300'000;
}

int SettleSeconds() {
  const char* env = std::getenv("VORONKA_BENCH_SETTLE_S");
  return env != nullptr ? std::atoi(env) : 10;
}

// Deals that enter `development` (sales) from lead generation and wait.
std::vector<Event> QueuedDeals(Timestamp start) {
  std::vector<Event> events;
  for (int i = 0; i < kQueuedDeals; ++i) {
    const Timestamp t = start + absl::Minutes(i);
    events.push_back(Event{.id = EventId(fmt::format("q-{}", i)),
                           .source = SourceId("bench/queue"),
                           .time = t,
                           .recorded_time = t,
                           .data = DealStageChanged{
                               .org = OrgId(fmt::format("qorg-{}", i)),
                               .deal = DealId(fmt::format("qdeal-{}", i)),
                               .funnel = FunnelId("acquisition"),
                               .stage = StageId("development"),
                               .manager = ManagerId("bench-lg"),
                               .department = DepartmentId("lead_generation")}});
  }
  return events;
}

// The stores and a server over them, built once.
struct Fixture {
  ScratchDir dir;
  std::unique_ptr<EmbeddedLog> log;
  std::shared_ptr<ProjectionStore> indicators, funnel;
  HttpServer server;
  std::string department_with_most_managers;
  size_t managers = 0;

  Fixture() {
    auto opened = EmbeddedLog::Open({.path = dir.path() + "/log"});
    if (!opened.ok()) std::abort();
    log = std::move(*opened);
    SimulatorOptions options{.seed = 5,
                             .lead_gen_managers = 100,
                             .closers = 20,
                             .account_managers = 10,
                             .key_account_managers = 3,
                             .organisations = 50000};
    Simulator sim(FunnelConfig::Default(), options);
    for (size_t done = 0; done < StreamSize();) {
      const size_t batch = std::min<size_t>(10000, StreamSize() - done);
      if (!log->Append(sim.Next(batch)).ok()) std::abort();
      done += batch;
    }
    if (!log->Append(QueuedDeals(options.start + absl::Hours(1))).ok()) {
      std::abort();
    }
    indicators = Project<IndicatorProjection>("indicators");
    funnel = Project<FunnelProjection>("funnel");
    if (const char* compact = std::getenv("VORONKA_BENCH_COMPACT");
        compact != nullptr && std::string(compact) == "1") {
      indicators = Compacted(std::move(indicators));
      funnel = Compacted(std::move(funnel));
    }
    // Let RocksDB finish the flushes and compactions that building the
    // stores started, so that they do not compete with the measurements
    // (a serving store is mostly in that steady state).
    std::this_thread::sleep_for(std::chrono::seconds(SettleSeconds()));
    auto managers_of = DepartmentManagers(*indicators, "lead_generation");
    if (!managers_of.ok()) std::abort();
    managers = managers_of->size();
    if (!RegisterQueryApi(server, {.config = &FunnelConfig::Default(),
                                   .indicators = [this] { return indicators; },
                                   .funnel = [this] { return funnel; }})
             .ok() ||
        !server.Start({.port = 0}).ok()) {
      std::abort();
    }
  }

  // The store after a full manual compaction (what RocksDB's background
  // compactions tend to over time: tombstones and merge operands gone).
  static std::shared_ptr<ProjectionStore> Compacted(
      std::shared_ptr<ProjectionStore> store) {
    const std::string path = store->path();
    store.reset();
    rocksdb::ColumnFamilyOptions rows;
    rows.merge_operator = NewCountersMergeOperator();
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"rows", rows}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    if (!rocksdb::DB::Open(rocksdb::DBOptions(), path, families, &handles, &db)
             .ok()) {
      std::abort();
    }
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      if (!db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr)
               .ok()) {
        std::abort();
      }
      db->DestroyColumnFamilyHandle(h);
    }
    delete db;
    auto reopened = ProjectionStore::Open({.path = path});
    if (!reopened.ok()) std::abort();
    return std::shared_ptr<ProjectionStore>(std::move(*reopened));
  }

  template <typename P>
  std::shared_ptr<ProjectionStore> Project(const std::string& name) {
    auto store = ProjectionStore::Open({.path = dir.path() + "/" + name});
    if (!store.ok()) std::abort();
    P projection(FunnelConfig::Default());
    auto projector =
        Projector::Open(*log, **store, projection, {.batch_records = 16384});
    auto end = log->EndOffsets();
    if (!projector.ok() || !end.ok() || !(*projector)->CatchUp(*end).ok()) {
      std::abort();
    }
    const char* compact = std::getenv("VORONKA_BENCH_COMPACT");
    if ((compact == nullptr || std::string(compact) != "0") &&
        !(*store)->CompactRows().ok()) {
      std::abort();
    }
    return std::shared_ptr<ProjectionStore>(std::move(*store));
  }
};

Fixture& Stores() {
  static Fixture* f = new Fixture();
  return *f;
}

class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(
        net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  // GETs `target`; returns the body size (aborts on anything but 200).
  size_t Get(const std::string& target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    http::write(socket_, req);
    http::response<http::string_body> res;
    http::read(socket_, buffer_, res);
    if (res.result_int() != 200) {
      fmt::print(stderr, "{}: {} {}\n", target, res.result_int(), res.body());
      std::abort();
    }
    return res.body().size();
  }

 private:
  net::io_context ioc_;
  net::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

// Runs `call` once per iteration, timing each; reports p50/p99/max in us.
template <typename F>
void Timed(benchmark::State& state, F call) {
  std::vector<double> us;
  us.reserve(100000);
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(call());
    us.push_back(std::chrono::duration<double, std::micro>(
                     std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::sort(us.begin(), us.end());
  auto at = [&](double p) {
    return us[std::min(us.size() - 1, static_cast<size_t>(p * us.size()))];
  };
  state.counters["p50_us"] = at(0.50);
  state.counters["p99_us"] = at(0.99);
  state.counters["max_us"] = us.back();
  state.counters["events"] = static_cast<double>(StreamSize());
}

void BM_DepartmentMonthManagers(benchmark::State& state) {
  Fixture& f = Stores();
  Client client(f.server.port());
  const std::string target = fmt::format(
      "/v1/departments/lead_generation/managers?{}&limit=1000", kMonth);
  Timed(state, [&] { return client.Get(target); });
  state.counters["managers"] = static_cast<double>(f.managers);
}

// One page of 100 managers: the target's department size. A long simulated
// stream has more names in the department than that (managers leave and are
// replaced), which the full list above pays for.
void BM_DepartmentMonthManagersPage100(benchmark::State& state) {
  Fixture& f = Stores();
  Client client(f.server.port());
  const std::string target = fmt::format(
      "/v1/departments/lead_generation/managers?{}&limit=100", kMonth);
  Timed(state, [&] { return client.Get(target); });
}

void BM_DepartmentMonthManagers_Direct(benchmark::State& state) {
  Fixture& f = Stores();
  auto managers = DepartmentManagers(*f.indicators, "lead_generation");
  // 2026-11-01 .. 2026-11-30 in days since the epoch.
  const int64_t from = 20758, to = 20787;
  const int threads = static_cast<int>(state.range(0));
  Timed(state, [&] {
    return QueryIndicatorsOfMany(*f.indicators, "m", *managers, from, to,
                                 threads)
        ->size();
  });
}

void BM_QueuePage1000(benchmark::State& state) {
  Fixture& f = Stores();
  Client client(f.server.port());
  Timed(state, [&] { return client.Get("/v1/queues/sales?limit=1000"); });
  auto lengths = QueueLengths(*f.funnel);
  state.counters["queue_length"] = static_cast<double>((*lengths)["sales"]);
}

void BM_QueuePage1000_Direct(benchmark::State& state) {
  Fixture& f = Stores();
  Timed(state, [&] {
    size_t total = 0;
    return QueryQueue(*f.funnel, "sales", 0, 1000, &total)->size();
  });
}

void BM_DepartmentMonthByDay(benchmark::State& state) {
  Fixture& f = Stores();
  Client client(f.server.port());
  const std::string target = fmt::format(
      "/v1/indicators?scope=department&id=lead_generation&{}&group=day",
      kMonth);
  Timed(state, [&] { return client.Get(target); });
}

void BM_Stages(benchmark::State& state) {
  Fixture& f = Stores();
  Client client(f.server.port());
  Timed(state,
        [&] { return client.Get("/v1/stages?now=2026-12-01T00:00:00Z"); });
}

void BM_Stages_Direct(benchmark::State& state) {
  Fixture& f = Stores();
  const Timestamp now = Timestamp::FromUnixMicros(1'796'083'200'000'000);
  Timed(state, [&] {
    return QueryStageWorkloads(*f.funnel, FunnelConfig::Default(), {}, now)
        ->size();
  });
}

// The floor: a round trip to a route that reads nothing.
void BM_Healthz(benchmark::State& state) {
  Client client(Stores().server.port());
  Timed(state, [&] { return client.Get("/healthz"); });
}

// What a Prometheus scrape of the business gauges costs on these stores
// (issue 5): every open stage's workload, stale and idle counts, queues,
// today's claims and indicators. Arg 1: with --metrics-per-manager.
// _Drain recomputes the pipeline-drain flags (five weeks per manager) that
// a scrape otherwise reuses for a minute.
void MetricsScrape(benchmark::State& state, bool fresh_drain) {
  Fixture& f = Stores();
  const bool per_manager = state.range(0) == 1;
  auto make = [&] {
    auto m = std::make_unique<Metrics>("bench");
    AddBusinessMetrics(*m, {.config = &FunnelConfig::Default(),
                            .funnel = [&f] { return f.funnel; },
                            .indicators = [&f] { return f.indicators; },
                            .per_manager = per_manager});
    return m;
  };
  std::unique_ptr<Metrics> metrics = make();
  size_t bytes = metrics->Render().size();
  Timed(state, [&] {
    if (fresh_drain) metrics = make();
    return metrics->Render().size();
  });
  state.counters["bytes"] = static_cast<double>(bytes);
}
void BM_MetricsScrape(benchmark::State& state) { MetricsScrape(state, false); }
void BM_MetricsScrape_Drain(benchmark::State& state) {
  MetricsScrape(state, true);
}

BENCHMARK(BM_Healthz)->Iterations(1000)->UseRealTime();
BENCHMARK(BM_MetricsScrape)->Arg(0)->Arg(1)->Iterations(100)->UseRealTime();
BENCHMARK(BM_MetricsScrape_Drain)->Arg(0)->Iterations(20)->UseRealTime();
BENCHMARK(BM_DepartmentMonthManagers)->Iterations(300)->UseRealTime();
BENCHMARK(BM_DepartmentMonthManagersPage100)->Iterations(300)->UseRealTime();
BENCHMARK(BM_DepartmentMonthManagers_Direct)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(300)
    ->UseRealTime();
BENCHMARK(BM_QueuePage1000)->Iterations(1000)->UseRealTime();
BENCHMARK(BM_QueuePage1000_Direct)->Iterations(1000)->UseRealTime();
BENCHMARK(BM_DepartmentMonthByDay)->Iterations(1000)->UseRealTime();
BENCHMARK(BM_Stages)->Iterations(300)->UseRealTime();
BENCHMARK(BM_Stages_Direct)->Iterations(300)->UseRealTime();

}  // namespace
}  // namespace voronka::bench
