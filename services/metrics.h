// Metrics: one process's Prometheus metrics (prometheus-cpp) and the
// GET /metrics route that serves them in the text exposition format
// (docs/observability.md lists every metric).
//
// Each module owns its metrics in one place and hangs them on this object:
//  * what is counted as it happens (ingest requests, HTTP requests, batch
//    latencies) lives in prometheus-cpp families in registry();
//  * what is read when Prometheus scrapes (projector lag, log size, the
//    read-model gauges) is a collector added with AddCollector(), called
//    on every scrape. A collector that fails is logged (rate-limited),
//    counted in voronka_metrics_collector_errors_total{collector} and
//    contributes what it had collected before the error.
//
//   Metrics metrics("serve");
//   IngestMetrics ingest(metrics);            // counters in the registry
//   AddProjectorMetrics(metrics, runners);    // a collector
//   metrics.RegisterRoute(server);            // GET /metrics
//
// Thread-safe: collectors run on the scraping request's thread, possibly
// concurrently with each other's next scrape.
#ifndef VORONKA_SERVICES_METRICS_H_
#define VORONKA_SERVICES_METRICS_H_

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "prometheus/client_metric.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/metric_family.h"
#include "prometheus/registry.h"
#include "services/http_server.h"
#include "services/log_limiter.h"

namespace voronka {

// The version voronka_build_info reports.
inline constexpr std::string_view kVoronkaVersion = "0.5.0";

// One metric family being filled by a collector.
class FamilyWriter {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;

  explicit FamilyWriter(prometheus::MetricFamily& family) : family_(family) {}

  void Gauge(const Labels& labels, double value);
  void Counter(const Labels& labels, double value);
  // `cumulative[i]` samples are <= `bounds[i]`; `count` includes those
  // above the last bound (the +Inf bucket).
  void Histogram(const Labels& labels, const std::vector<double>& bounds,
                 const std::vector<uint64_t>& cumulative, uint64_t count,
                 double sum);

 private:
  prometheus::ClientMetric& Add(const Labels& labels);
  prometheus::MetricFamily& family_;
};

// What a collector writes into: AddFamily once per metric name, then its
// series.
class MetricSink {
 public:
  FamilyWriter AddFamily(std::string name, std::string help,
                         prometheus::MetricType type);
  std::deque<prometheus::MetricFamily>& families() { return families_; }

 private:
  // A deque: FamilyWriters keep referring to earlier families while more
  // are added.
  std::deque<prometheus::MetricFamily> families_;
};

using Collector = std::function<absl::Status(MetricSink&)>;

// Exponential latency buckets from 0.5 ms to ~16 s, for request and batch
// durations.
const prometheus::Histogram::BucketBoundaries& LatencyBuckets();

class Metrics {
 public:
  // `service`: "serve", "ingest", "project" (voronka_build_info's label).
  explicit Metrics(std::string service);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  prometheus::Registry& registry() { return *registry_; }
  const std::string& service() const { return service_; }

  // `name` identifies the collector in errors.
  void AddCollector(std::string name, Collector collector);

  // Everything, in the text exposition format 0.0.4.
  std::string Render();

  // GET /metrics (no authentication: it carries no secrets and no
  // per-deal data; restrict it at the network level if needed).
  absl::Status RegisterRoute(HttpServer& server);

  // For HttpServerOptions::on_request: voronka_http_requests_total and
  // voronka_http_request_duration_seconds.
  void ObserveHttp(const HttpRequestRecord& record);

 private:
  struct NamedCollector {
    std::string name;
    Collector collect;
  };

  std::string service_;
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Counter>& collector_errors_;
  std::mutex mu_;
  std::vector<NamedCollector> collectors_;  // Guarded by mu_.
  LogLimiter error_log_{5};
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_METRICS_H_
