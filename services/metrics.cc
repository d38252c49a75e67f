#include "services/metrics.h"

#include <sstream>
#include <utility>

#include "fmt/format.h"
#include "prometheus/gauge.h"
#include "prometheus/text_serializer.h"
#include "spdlog/spdlog.h"

namespace voronka {

prometheus::ClientMetric& FamilyWriter::Add(const Labels& labels) {
  prometheus::ClientMetric& m = family_.metric.emplace_back();
  m.label.reserve(labels.size());
  for (const auto& [name, value] : labels) {
    m.label.push_back({.name = name, .value = value});
  }
  return m;
}

void FamilyWriter::Gauge(const Labels& labels, double value) {
  Add(labels).gauge.value = value;
}

void FamilyWriter::Counter(const Labels& labels, double value) {
  Add(labels).counter.value = value;
}

void FamilyWriter::Histogram(const Labels& labels,
                             const std::vector<double>& bounds,
                             const std::vector<uint64_t>& cumulative,
                             uint64_t count, double sum) {
  prometheus::ClientMetric& m = Add(labels);
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  for (size_t i = 0; i < bounds.size() && i < cumulative.size(); ++i) {
    m.histogram.bucket.push_back(
        {.cumulative_count = cumulative[i], .upper_bound = bounds[i]});
  }
  m.histogram.bucket.push_back(
      {.cumulative_count = count,
       .upper_bound = std::numeric_limits<double>::infinity()});
}

FamilyWriter MetricSink::AddFamily(std::string name, std::string help,
                                   prometheus::MetricType type) {
  prometheus::MetricFamily& f = families_.emplace_back();
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return FamilyWriter(f);
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064,
      0.128,  0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384};
  return *buckets;
}

Metrics::Metrics(std::string service)
    : service_(std::move(service)),
      registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(prometheus::BuildCounter()
                         .Name("voronka_http_requests_total")
                         .Help("Answered HTTP requests by route pattern, "
                               "method and status code.")
                         .Register(*registry_)),
      http_duration_(prometheus::BuildHistogram()
                         .Name("voronka_http_request_duration_seconds")
                         .Help("From the complete request header to the "
                               "written response, by route pattern.")
                         .Register(*registry_)),
      collector_errors_(prometheus::BuildCounter()
                            .Name("voronka_metrics_collector_errors_total")
                            .Help("Scrapes in which a collector failed (its "
                                  "metrics are partial or missing).")
                            .Register(*registry_)) {
  prometheus::BuildGauge()
      .Name("voronka_build_info")
      .Help("Always 1: the binary's version and the service it runs.")
      .Register(*registry_)
      .Add({{"version", std::string(kVoronkaVersion)}, {"service", service_}})
      .Set(1);
}

void Metrics::AddCollector(std::string name, Collector collector) {
  collector_errors_.Add({{"collector", name}});  // Shows 0 from the start.
  std::lock_guard<std::mutex> lock(mu_);
  collectors_.push_back({std::move(name), std::move(collector)});
}

std::string Metrics::Render() {
  std::vector<NamedCollector> collectors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    collectors = collectors_;
  }
  // Collectors run first, so that a failure shows in this scrape's
  // voronka_metrics_collector_errors_total (the registry is read after).
  std::vector<prometheus::MetricFamily> collected;
  for (const NamedCollector& c : collectors) {
    MetricSink sink;
    absl::Status status = c.collect(sink);
    if (!status.ok()) {
      collector_errors_.Add({{"collector", c.name}}).Increment();
      if (std::optional<int64_t> dropped = error_log_.Allow()) {
        spdlog::warn("metrics: collector {} failed: {}{}", c.name,
                     std::string(status.message()), LogLimiter::Note(*dropped));
      }
    }
    // Families without series stay: their HELP and TYPE say the metric
    // exists (e.g. today's amounts before the first application).
    for (prometheus::MetricFamily& f : sink.families()) {
      collected.push_back(std::move(f));
    }
  }
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (prometheus::MetricFamily& f : collected) {
    families.push_back(std::move(f));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return std::move(out).str();
}

absl::Status Metrics::RegisterRoute(HttpServer& server) {
  return server.Route("GET", "/metrics", [this](const HttpRequest&) {
    return HttpResponse{
        .status = 200,
        .content_type = "text/plain; version=0.0.4; charset=utf-8",
        .body = Render()};
  });
}

void Metrics::ObserveHttp(const HttpRequestRecord& record) {
  // Label values must stay bounded whatever clients send.
  static constexpr std::string_view kMethods[] = {
      "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  std::string method = "other";
  for (std::string_view m : kMethods) {
    if (record.method == m) method = m;
  }
  const std::string route(record.route);
  http_requests_
      .Add({{"route", route},
            {"method", method},
            {"code", std::to_string(record.status)}})
      .Increment();
  http_duration_.Add({{"route", route}}, LatencyBuckets())
      .Observe(absl::ToDoubleSeconds(record.duration));
}

}  // namespace voronka
