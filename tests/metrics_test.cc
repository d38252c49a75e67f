// The metrics registry (services/metrics.h) and ingest's metrics
// (services/ingest_metrics.h), read back from the text exposition that
// GET /metrics serves: build info, promtool's lint, collector failures,
// bounded labels (HTTP methods, ingest sources), rejections by reason, the
// in-flight gauge. Also the JSON log lines (services/logging.h).
#include "services/metrics.h"

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "events/embedded_log.h"
#include "events/event.h"
#include "events/funnel_config.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "projections/indicator_projection.h"
#include "services/health.h"
#include "services/ingest_metrics.h"
#include "services/logging.h"
#include "services/projector_metrics.h"
#include "services/projector_runner.h"
#include "tests/testing/child_process.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/metric_samples.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::EventFactory;
using ::testing::HasSubstr;
using testing::MetricSamples;

MetricSamples Scrape(Metrics& metrics) {
  absl::StatusOr<MetricSamples> samples =
      MetricSamples::Parse(metrics.Render());
  EXPECT_TRUE(samples.ok()) << samples.status();
  return samples.ok() ? *samples : MetricSamples();
}

// `promtool check metrics` on `text`: its exit code and what it said.
testing::CommandResult PromtoolCheck(const std::string& text) {
  auto result = testing::RunCommand(
      "/bin/sh", {"-c", "exec /usr/bin/promtool check metrics 2>&1"}, text,
      absl::Seconds(60));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : testing::CommandResult{};
}

// ---- The registry ---------------------------------------------------------

TEST(MetricsTest, RenderNamesTheBinaryAndTheService) {
  Metrics metrics("ingest");
  const MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.TypeOf("voronka_build_info"), "gauge");
  EXPECT_EQ(
      s.Get("voronka_build_info",
            {{"version", std::string(kVoronkaVersion)}, {"service", "ingest"}}),
      1.0);
  EXPECT_EQ(s.Series("voronka_build_info").size(), 1u);
}

// Everything one process can export, filled with values, passes promtool's
// lint (names, HELP, TYPE, counter suffixes, histogram buckets).
TEST(MetricsTest, EveryFamilyPassesPromtool) {
  Metrics metrics("serve");
  IngestMetrics ingest(metrics.registry());
  EventFactory f("crm/a");
  const std::vector<Event> events = {
      f.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation"),
      f.Claim("2026-11-02T09:01:00Z", "d1", "bob", "sales")};
  ingest.Request(202);
  ingest.Accepted(events, 1);
  ingest.Rejected(RejectReason::kInvalid, 3);
  ingest.LogUnavailable();
  ingest.RequestDuration(absl::Milliseconds(3));
  ingest.AppendDuration(absl::Milliseconds(1));
  metrics.ObserveHttp({.method = "GET",
                       .route = "/v1/deals/{deal}",
                       .status = 200,
                       .duration = absl::Milliseconds(2)});
  metrics.AddCollector("sample", [](MetricSink& sink) {
    using prometheus::MetricType;
    sink.AddFamily("voronka_sample_value", "A gauge.", MetricType::Gauge)
        .Gauge({{"department", "sales"}}, 2.5);
    sink.AddFamily("voronka_sample_total", "A counter.", MetricType::Counter)
        .Counter({}, 7);
    sink.AddFamily("voronka_sample_seconds", "A histogram.",
                   MetricType::Histogram)
        .Histogram({{"department", "sales"}}, {1, 10}, {1, 2}, 3, 25.5);
    // A family without series keeps its HELP and TYPE.
    sink.AddFamily("voronka_sample_empty", "Nothing yet.", MetricType::Gauge);
    return absl::OkStatus();
  });
  const std::string text = metrics.Render();
  EXPECT_THAT(text, HasSubstr("voronka_build_info{"));
  EXPECT_THAT(text, HasSubstr("# TYPE voronka_sample_empty gauge"));
  const testing::CommandResult lint = PromtoolCheck(text);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << "\n" << text;

  // The collector's histogram, as written.
  const MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_sample_seconds_bucket",
                  {{"department", "sales"}, {"le", "1"}}),
            1.0);
  EXPECT_EQ(s.Get("voronka_sample_seconds_bucket",
                  {{"department", "sales"}, {"le", "10"}}),
            2.0);
  EXPECT_EQ(s.Get("voronka_sample_seconds_bucket",
                  {{"department", "sales"}, {"le", "+Inf"}}),
            3.0);
  EXPECT_EQ(s.Get("voronka_sample_seconds_count", {{"department", "sales"}}),
            3.0);
  EXPECT_EQ(s.Get("voronka_sample_seconds_sum", {{"department", "sales"}}),
            25.5);
  EXPECT_EQ(s.Get("voronka_sample_total"), 7.0);
}

// The lint is not vacuous: promtool refuses what breaks the conventions.
TEST(MetricsTest, PromtoolRefusesACounterWithoutTotal) {
  Metrics metrics("serve");
  metrics.AddCollector("bad", [](MetricSink& sink) {
    sink.AddFamily("voronka_bad_counter", "No _total.",
                   prometheus::MetricType::Counter)
        .Counter({}, 1);
    return absl::OkStatus();
  });
  const testing::CommandResult lint = PromtoolCheck(metrics.Render());
  EXPECT_NE(lint.exit_code, 0) << lint.out;
  EXPECT_THAT(lint.out, HasSubstr("voronka_bad_counter"));
}

// A collector that fails is counted (in the scrape in which it failed) and
// keeps what it wrote before the error; other collectors are unaffected.
TEST(MetricsTest, FailingCollectorIsCountedAndOthersStay) {
  Metrics metrics("serve");
  bool fail = true;
  metrics.AddCollector("x", [&fail](MetricSink& sink) {
    sink.AddFamily("voronka_x_partial", "Written before the error.",
                   prometheus::MetricType::Gauge)
        .Gauge({}, 1);
    if (fail) return absl::UnavailableError("store closed");
    sink.AddFamily("voronka_x_rest", "Written after.",
                   prometheus::MetricType::Gauge)
        .Gauge({}, 2);
    return absl::OkStatus();
  });
  metrics.AddCollector("y", [](MetricSink& sink) {
    sink.AddFamily("voronka_y_value", "The other collector.",
                   prometheus::MetricType::Gauge)
        .Gauge({}, 42);
    return absl::OkStatus();
  });

  // The scrape in which x fails already counts the failure.
  MetricSamples s = Scrape(metrics);
  EXPECT_EQ(
      s.Get("voronka_metrics_collector_errors_total", {{"collector", "x"}}),
      1.0);
  EXPECT_EQ(
      s.Get("voronka_metrics_collector_errors_total", {{"collector", "y"}}),
      0.0);
  EXPECT_EQ(s.Get("voronka_x_partial"), 1.0);
  EXPECT_FALSE(s.Get("voronka_x_rest").has_value());
  EXPECT_EQ(s.Get("voronka_y_value"), 42.0);
  EXPECT_EQ(
      s.Get("voronka_build_info",
            {{"version", std::string(kVoronkaVersion)}, {"service", "serve"}}),
      1.0);

  s = Scrape(metrics);
  EXPECT_EQ(
      s.Get("voronka_metrics_collector_errors_total", {{"collector", "x"}}),
      2.0);

  fail = false;
  s = Scrape(metrics);
  EXPECT_EQ(
      s.Get("voronka_metrics_collector_errors_total", {{"collector", "x"}}),
      2.0);
  EXPECT_EQ(s.Get("voronka_x_rest"), 2.0);
  EXPECT_EQ(
      s.Get("voronka_metrics_collector_errors_total", {{"collector", "y"}}),
      0.0);
}

TEST(MetricsTest, CollectorSeriesShowFromTheStartAtZero) {
  Metrics metrics("serve");
  metrics.AddCollector("quiet", [](MetricSink&) { return absl::OkStatus(); });
  const MetricSamples s = Scrape(metrics);
  EXPECT_EQ(
      s.Get("voronka_metrics_collector_errors_total", {{"collector", "quiet"}}),
      0.0);
}

TEST(MetricsTest, HttpMethodsAreBoundedAndRoutesArePatterns) {
  Metrics metrics("serve");
  auto observe = [&](std::string_view method, std::string_view route,
                     int status, absl::Duration d) {
    metrics.ObserveHttp(
        {.method = method, .route = route, .status = status, .duration = d});
  };
  observe("GET", "/v1/deals/{deal}", 200, absl::Milliseconds(1));
  observe("GET", "/v1/deals/{deal}", 200, absl::Milliseconds(3));
  observe("POST", "/v1/events", 202, absl::Seconds(2));
  observe("BREW", "", 404, absl::Milliseconds(1));
  observe("PROPFIND", "", 404, absl::Milliseconds(1));
  observe("get", "", 404, absl::Milliseconds(1));  // Methods are upper case.

  const MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_http_requests_total", {{"route", "/v1/deals/{deal}"},
                                                  {"method", "GET"},
                                                  {"code", "200"}}),
            2.0);
  EXPECT_EQ(
      s.Get("voronka_http_requests_total",
            {{"route", "/v1/events"}, {"method", "POST"}, {"code", "202"}}),
      1.0);
  EXPECT_EQ(s.Get("voronka_http_requests_total",
                  {{"route", ""}, {"method", "other"}, {"code", "404"}}),
            3.0);
  for (const auto& labels : s.Series("voronka_http_requests_total")) {
    EXPECT_THAT(labels.at("method"), ::testing::AnyOf("GET", "POST", "other"));
  }
  EXPECT_EQ(s.Get("voronka_http_request_duration_seconds_count",
                  {{"route", "/v1/deals/{deal}"}}),
            2.0);
  EXPECT_DOUBLE_EQ(*s.Get("voronka_http_request_duration_seconds_sum",
                          {{"route", "/v1/deals/{deal}"}}),
                   0.004);
  // 1 ms and 3 ms: one at or below 0.002, both at or below 0.004.
  EXPECT_EQ(s.Get("voronka_http_request_duration_seconds_bucket",
                  {{"route", "/v1/deals/{deal}"}, {"le", "0.002"}}),
            1.0);
  EXPECT_EQ(s.Get("voronka_http_request_duration_seconds_bucket",
                  {{"route", "/v1/deals/{deal}"}, {"le", "0.004"}}),
            2.0);
  EXPECT_EQ(s.Get("voronka_http_request_duration_seconds_bucket",
                  {{"route", "/v1/events"}, {"le", "1.024"}}),
            0.0);
  EXPECT_EQ(s.Get("voronka_http_request_duration_seconds_bucket",
                  {{"route", "/v1/events"}, {"le", "2.048"}}),
            1.0);
}

// ---- Ingest ---------------------------------------------------------------

class IngestMetricsTest : public ::testing::Test {
 protected:
  std::optional<double> Events(const std::string& type,
                               const std::string& source) {
    return Scrape(metrics_).Get("voronka_ingest_events_total",
                                {{"type", type}, {"source", source}});
  }
  std::optional<double> Rejected(const std::string& reason) {
    return Scrape(metrics_).Get("voronka_ingest_rejected_events_total",
                                {{"reason", reason}});
  }

  Metrics metrics_{"ingest"};
  IngestMetrics ingest_{metrics_.registry()};
};

TEST_F(IngestMetricsTest, AcceptedCountByTypeAndSource) {
  EventFactory crm("crm/a");
  EventFactory pbx("pbx/b");
  const std::vector<Event> batch = {
      pbx.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation"),
      crm.Claim("2026-11-02T09:01:00Z", "d1", "bob", "sales"),
      pbx.Call("2026-11-02T09:02:00Z", "org-2", "ann", "lead_generation"),
      crm.Stage("2026-11-02T09:03:00Z", "d2", "new", "ann", "lead_generation"),
      crm.Claim("2026-11-02T09:04:00Z", "d2", "bob", "sales"),
      pbx.Call("2026-11-02T09:05:00Z", "org-3", "ann", "lead_generation"),
  };
  ingest_.Accepted(batch, 2);
  ingest_.Accepted(std::vector<Event>{batch[0]}, 0);
  EXPECT_EQ(Events("call.logged", "pbx/b"), 4.0);
  EXPECT_EQ(Events("deal.claimed", "crm/a"), 2.0);
  EXPECT_EQ(Events("deal.stage_changed", "crm/a"), 1.0);
  EXPECT_FALSE(Events("call.logged", "crm/a").has_value());
  EXPECT_EQ(Scrape(metrics_).Get("voronka_ingest_duplicate_events_total"), 2.0);
  EXPECT_EQ(ingest_.accepted(), 7);
  EXPECT_EQ(ingest_.duplicates(), 2);
}

TEST_F(IngestMetricsTest, SourcesBeyondTheHundredthCountAsOther) {
  ASSERT_EQ(IngestMetrics::kMaxSources, 100u);
  for (size_t i = 1; i <= 100; ++i) {
    EventFactory f(fmt::format("pbx/{}", i));
    ingest_.Accepted(std::vector<Event>{f.Call("2026-11-02T09:00:00Z", "org-1",
                                               "ann", "lead_generation")},
                     0);
  }
  EventFactory late("pbx/101");
  EventFactory later("pbx/102");
  ingest_.Accepted(std::vector<Event>{late.Call("2026-11-02T09:00:00Z", "org-1",
                                                "ann", "lead_generation")},
                   0);
  ingest_.Accepted(
      std::vector<Event>{
          later.Call("2026-11-02T09:00:00Z", "org-1", "ann", "lead_generation"),
          later.Claim("2026-11-02T09:00:00Z", "d1", "bob", "sales")},
      0);
  // A source among the first hundred keeps its own series.
  EventFactory first("pbx/1");
  ingest_.Accepted(
      std::vector<Event>{first.Call("2026-11-02T09:00:00Z", "org-1", "ann",
                                    "lead_generation")},
      0);

  const MetricSamples s = Scrape(metrics_);
  EXPECT_EQ(s.Get("voronka_ingest_events_total",
                  {{"type", "call.logged"}, {"source", "pbx/100"}}),
            1.0);
  EXPECT_EQ(s.Get("voronka_ingest_events_total",
                  {{"type", "call.logged"}, {"source", "pbx/1"}}),
            2.0);
  EXPECT_EQ(s.Get("voronka_ingest_events_total",
                  {{"type", "call.logged"}, {"source", "other"}}),
            2.0);
  EXPECT_EQ(s.Get("voronka_ingest_events_total",
                  {{"type", "deal.claimed"}, {"source", "other"}}),
            1.0);
  EXPECT_FALSE(s.Get("voronka_ingest_events_total",
                     {{"type", "call.logged"}, {"source", "pbx/101"}})
                   .has_value());
  std::set<std::string> sources;
  for (const auto& labels : s.Series("voronka_ingest_events_total")) {
    sources.insert(labels.at("source"));
  }
  EXPECT_EQ(sources.size(), 101u);  // 100 sources and "other".
  EXPECT_EQ(ingest_.accepted(), 104);
}

TEST_F(IngestMetricsTest, RejectionsCountByReason) {
  // Every reason shows from the start, at zero.
  for (const char* reason : {"invalid", "conflict", "malformed", "too_large",
                             "unsupported_media_type", "unauthorized"}) {
    EXPECT_EQ(Rejected(reason), 0.0) << reason;
  }
  ingest_.Rejected(RejectReason::kInvalid, 3);
  ingest_.Rejected(RejectReason::kInvalid, 2);
  ingest_.Rejected(RejectReason::kConflict, 4);
  ingest_.Rejected(RejectReason::kMalformed, 1);
  ingest_.Rejected(RejectReason::kTooLarge, 1);
  ingest_.Rejected(RejectReason::kUnsupportedMedia, 1);
  ingest_.Rejected(RejectReason::kUnauthorized, 1);
  ingest_.Rejected(RejectReason::kUnauthorized, 1);
  EXPECT_EQ(Rejected("invalid"), 5.0);
  EXPECT_EQ(Rejected("conflict"), 4.0);
  EXPECT_EQ(Rejected("malformed"), 1.0);
  EXPECT_EQ(Rejected("too_large"), 1.0);
  EXPECT_EQ(Rejected("unsupported_media_type"), 1.0);
  EXPECT_EQ(Rejected("unauthorized"), 2.0);
  EXPECT_EQ(
      Scrape(metrics_).Series("voronka_ingest_rejected_events_total").size(),
      6u);
  EXPECT_EQ(ingest_.rejected(), 14);
}

TEST_F(IngestMetricsTest, RequestsByCodeAndUnavailable) {
  ingest_.Request(202);
  ingest_.Request(202);
  ingest_.Request(422);
  ingest_.Request(503);
  ingest_.LogUnavailable();
  const MetricSamples s = Scrape(metrics_);
  EXPECT_EQ(s.Get("voronka_ingest_requests_total", {{"code", "202"}}), 2.0);
  EXPECT_EQ(s.Get("voronka_ingest_requests_total", {{"code", "422"}}), 1.0);
  EXPECT_EQ(s.Get("voronka_ingest_requests_total", {{"code", "503"}}), 1.0);
  EXPECT_EQ(s.Get("voronka_ingest_log_unavailable_total"), 1.0);
  EXPECT_EQ(ingest_.requests(), 4);
  EXPECT_EQ(ingest_.unavailable(), 1);
}

TEST_F(IngestMetricsTest, InFlightGoesUpAndDown) {
  auto in_flight = [&] {
    return Scrape(metrics_).Get("voronka_ingest_requests_in_flight");
  };
  EXPECT_EQ(in_flight(), 0.0);
  {
    IngestMetrics::InFlight a(&ingest_);
    EXPECT_EQ(in_flight(), 1.0);
    {
      IngestMetrics::InFlight b(&ingest_);
      EXPECT_EQ(in_flight(), 2.0);
    }
    EXPECT_EQ(in_flight(), 1.0);
    IngestMetrics::InFlight none(nullptr);  // Metrics off: counts nothing.
    EXPECT_EQ(in_flight(), 1.0);
  }
  EXPECT_EQ(in_flight(), 0.0);
}

// ---- Readiness and projector metrics over a real log and runner ----------

// `n` calls, one a minute from `start`, with ids that continue across calls
// of the same factory.
std::vector<Event> CallsFrom(EventFactory& f, absl::Time start, int n) {
  std::vector<Event> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(
        f.Call(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start + absl::Minutes(i),
                                absl::UTCTimeZone()),
               fmt::format("org-{}", i % 5), "ann", "lead_generation"));
  }
  return out;
}

int64_t Position(const ProjectorRunner& runner) {
  int64_t at = 0;
  for (int64_t x : runner.status().positions) at += x;
  return at;
}

// Waits (bounded) until `runner` has applied `records` and serves a store.
void WaitCaughtUp(const ProjectorRunner& runner, int64_t records) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    if (runner.store() != nullptr && Position(runner) == records) return;
    absl::SleepFor(absl::Milliseconds(10));
  }
  FAIL() << "runner at " << Position(runner) << " of " << records << ": "
         << runner.status().last_error;
}

class ReadinessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = EmbeddedLog::Open({.path = dir_.Sub("log")});
    ASSERT_TRUE(opened.ok()) << opened.status();
    log_ = std::move(*opened);
  }

  Readiness Check(const ProjectorRunner& runner, int64_t max_lag) {
    const ProjectorRunner* runners[] = {&runner};
    return CheckReadiness(*log_, runners, max_lag);
  }

  testing::TempDir dir_;
  std::unique_ptr<EmbeddedLog> log_;
  IndicatorProjection projection_{FunnelConfig::Default()};
  EventFactory f_{"pbx/test"};
  const absl::Time start_ = absl::FromCivil(
      absl::CivilSecond(2020, 1, 6, 9, 0, 0), absl::UTCTimeZone());
};

TEST_F(ReadinessTest, NotReadyWhileBehindReadyAfterCatchingUp) {
  ASSERT_TRUE(log_->Append(CallsFrom(f_, start_, 100)).ok());
  Metrics metrics("project");
  ProjectorMetrics pm(metrics);
  {
    ProjectorRunner runner(*log_, projection_, dir_.Sub("indicators"), 4096,
                           pm.BatchObserver("indicators"));
    pm.Watch(*log_, {&runner});
    WaitCaughtUp(runner, 100);

    Readiness r = Check(runner, 10);
    EXPECT_TRUE(r.ready) << r.checks.dump();
    EXPECT_EQ(r.checks["log"]["ok"], true);
    EXPECT_EQ(r.checks["indicators"]["ok"], true);
    EXPECT_EQ(r.checks["indicators"]["lag"], 0);
    EXPECT_FALSE(r.checks["indicators"].contains("reason"));

    MetricSamples s = Scrape(metrics);
    const testing::MetricLabels p0 = {{"projection", "indicators"},
                                      {"partition", "0"}};
    EXPECT_EQ(s.Get("voronka_projector_lag_events", p0), 0.0);
    for (const char* clock : {"event_time", "recorded_time"}) {
      testing::MetricLabels l = p0;
      l["clock"] = clock;
      EXPECT_EQ(s.Get("voronka_projector_lag_seconds", l), 0.0) << clock;
    }
    EXPECT_EQ(
        s.Get("voronka_projector_healthy", {{"projection", "indicators"}}),
        1.0);
    EXPECT_EQ(s.Get("voronka_projector_events_applied_total",
                    {{"projection", "indicators"}}),
              100.0);
    EXPECT_GT(s.Get("voronka_projector_store_size_bytes",
                    {{"projection", "indicators"}})
                  .value_or(0),
              0.0);
    EXPECT_GE(s.Get("voronka_projector_apply_duration_seconds_count",
                    {{"projection", "indicators"}})
                  .value_or(0),
              1.0);
    EXPECT_EQ(s.Get("voronka_metrics_collector_errors_total",
                    {{"collector", "projectors"}}),
              0.0);

    // The projector stops; 25 more records arrive.
    runner.Stop();
    const absl::Time later = start_ + absl::Hours(1);
    ASSERT_TRUE(log_->Append(CallsFrom(f_, later, 25)).ok());
    r = Check(runner, 10);
    EXPECT_FALSE(r.ready) << r.checks.dump();
    EXPECT_EQ(r.checks["log"]["ok"], true);
    EXPECT_EQ(r.checks["indicators"]["ok"], false);
    EXPECT_EQ(r.checks["indicators"]["lag"], 25);
    EXPECT_EQ(r.checks["indicators"]["reason"],
              "25 records behind the log (the limit is 10)");
    // At the limit is still ready.
    EXPECT_TRUE(Check(runner, 25).ready);
    EXPECT_FALSE(Check(runner, 24).ready);

    const absl::Time before = absl::Now();
    s = Scrape(metrics);
    const absl::Time after = absl::Now();
    EXPECT_EQ(s.Get("voronka_projector_lag_events", p0), 25.0);
    // The age of the last applied record (the 100th, at 10:39).
    testing::MetricLabels event_time = p0;
    event_time["clock"] = "event_time";
    const double age =
        s.Get("voronka_projector_lag_seconds", event_time).value_or(-1);
    const absl::Time last_applied = start_ + absl::Minutes(99);
    EXPECT_GE(age, absl::ToDoubleSeconds(before - last_applied));
    EXPECT_LE(age, absl::ToDoubleSeconds(after - last_applied));
    testing::MetricLabels recorded_time = p0;
    recorded_time["clock"] = "recorded_time";
    EXPECT_GE(
        s.Get("voronka_projector_lag_seconds", recorded_time).value_or(-1),
        0.0);
  }

  // A new runner on the same store resumes and catches up.
  ProjectorRunner runner(*log_, projection_, dir_.Sub("indicators"));
  WaitCaughtUp(runner, 125);
  const Readiness r = Check(runner, 10);
  EXPECT_TRUE(r.ready) << r.checks.dump();
  EXPECT_EQ(r.checks["indicators"]["lag"], 0);
  EXPECT_EQ(r.checks["indicators"]["ok"], true);
}

// A projector retrying after an error is not ready, whatever its lag, and
// the check says why; its metrics say it is unhealthy.
TEST_F(ReadinessTest, RetryingAfterAnErrorIsNotReady) {
  ASSERT_TRUE(log_->Append(CallsFrom(f_, start_, 10)).ok());
  ASSERT_TRUE(log_->AppendRaw({{std::string("\x01junk")}}).ok());
  Metrics metrics("project");
  ProjectorMetrics pm(metrics);
  ProjectorRunner runner(*log_, projection_, dir_.Sub("indicators"));
  pm.Watch(*log_, {&runner});
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline && runner.status().last_error.ok()) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_FALSE(runner.status().last_error.ok());
  const Readiness r = Check(runner, 1000);
  EXPECT_FALSE(r.ready) << r.checks.dump();
  EXPECT_EQ(r.checks["indicators"]["ok"], false);
  EXPECT_THAT(r.checks["indicators"]["reason"].get<std::string>(),
              HasSubstr("retrying after an error"));
  EXPECT_THAT(r.checks["indicators"]["reason"].get<std::string>(),
              HasSubstr("offset 10"));
  const MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_projector_healthy", {{"projection", "indicators"}}),
            0.0);
  EXPECT_EQ(s.Get("voronka_projector_lag_events",
                  {{"projection", "indicators"}, {"partition", "0"}}),
            1.0);
}

// ---- JSON log lines -------------------------------------------------------

TEST(JsonLogLineTest, EscapesWhatJsonMustAndParses) {
  const std::string message =
      std::string("say \"hi\" to C:\\path\nnext\rline\ttab ") + '\x01' +
      '\x1f' + " bell\a and nul " + std::string(1, '\0') + " end";
  const std::string line =
      JsonLogLine("2026-11-23T18:00:00.123456Z", "warn", 1234, message);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\0'), std::string::npos);
  EXPECT_THAT(line, HasSubstr(R"(say \"hi\" to C:\\path\nnext\rline\ttab )"));
  EXPECT_THAT(line, HasSubstr(R"(\u0001\u001f bell\u0007 and nul \u0000 end)"));
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(parsed["msg"], message);
  EXPECT_EQ(parsed["time"], "2026-11-23T18:00:00.123456Z");
  EXPECT_EQ(parsed["level"], "warn");
  EXPECT_EQ(parsed["service"], "voronka");
  EXPECT_EQ(parsed["thread"], 1234);
}

TEST(JsonLogLineTest, Utf8PassesThrough) {
  const std::string message =
      "воронка: заявка на 1 000 ₽ \U0001F680";
  const std::string line = JsonLogLine("t", "info", 1, message);
  EXPECT_THAT(line, HasSubstr(message));
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
  EXPECT_EQ(parsed["msg"], message);
}

// Log messages can carry bytes from clients (a Content-Type header in a 415
// is echoed): a line must stay valid JSON even when they are not UTF-8.
TEST(JsonLogLineTest, InvalidUtf8IsReplacedNotPassedOn) {
  const std::string message =
      "ct \"text/\xff\xfe\" cut \xd0 overlong \xc0\xaf surrogate "
      "\xed\xa0\x80 ok \xd0\x96";
  const std::string line = JsonLogLine("t", "warn", 1, message);
  nlohmann::json parsed;
  ASSERT_NO_THROW(parsed = nlohmann::json::parse(line)) << line;
  const std::string msg = parsed["msg"];
  EXPECT_EQ(msg.find('\xff'), std::string::npos) << msg;
  EXPECT_THAT(msg, HasSubstr("ct \"text/\uFFFD\uFFFD\" cut \uFFFD overlong"));
  EXPECT_THAT(msg, HasSubstr("ok \u0416"));  // A valid Ж stays.
}

TEST(ConfigureLoggingTest, RejectsUnknownFormatAndLevel) {
  absl::Status s = ConfigureLogging({.format = "xml", .level = "info"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("--log-format"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("xml"));
  s = ConfigureLogging({.format = "json", .level = "loud"});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("loud"));
  EXPECT_TRUE(ConfigureLogging({.format = "json", .level = "off"}).ok());
  EXPECT_TRUE(ConfigureLogging({.format = "text", .level = "info"}).ok());
}

}  // namespace
}  // namespace voronka
