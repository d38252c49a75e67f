// Golden tests of the business gauges (services/business_metrics.h): a
// hand-made stream folded into real funnel and indicators stores, the
// gauges rendered at a fixed "now", every value checked by hand.
#include "services/business_metrics.h"

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/metrics.h"
#include "tests/testing/child_process.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/metric_samples.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::EventFactory;
using testing::MetricLabels;
using testing::MetricSamples;
using testing::ProjectionHarness;
using testing::Rub;
using testing::T;
using testing::Usd;

// The harness owns its stores; the metrics only borrow them.
StoreGetter Borrow(ProjectionStore& store) {
  return [&store] {
    return std::shared_ptr<const ProjectionStore>(std::shared_ptr<void>(),
                                                  &store);
  };
}

MetricSamples Scrape(Metrics& metrics) {
  absl::StatusOr<MetricSamples> samples =
      MetricSamples::Parse(metrics.Render());
  EXPECT_TRUE(samples.ok()) << samples.status();
  return samples.ok() ? *samples : MetricSamples();
}

MetricLabels Dept(const std::string& department) {
  return {{"department", department}};
}
MetricLabels InStage(const std::string& funnel, const std::string& stage) {
  return {{"funnel", funnel}, {"stage", stage}};
}
MetricLabels Open(const std::string& funnel, const std::string& stage,
                  const std::string& department) {
  return {{"funnel", funnel}, {"stage", stage}, {"department", department}};
}
MetricLabels WithLabel(MetricLabels labels, const std::string& name,
                       const std::string& value) {
  labels[name] = value;
  return labels;
}

const std::vector<std::string> kDepartments = {
    "lead_generation", "sales", "account_management", "key_accounts"};

// The stream, with "now" = Tuesday 2026-11-10 12:00 UTC (the default
// configuration's time zone). Amounts in kopecks.
//
//  deal  what happened                                   now
//  d1    new by ann, 11-08 12:00 (exactly 48 h ago)      new, ann; not idle
//  d2    new by ann, 11-06 09:00                         new; stale + idle
//  d3    new 11-08, active 11-09 09:00 by ann            active, ann
//  d4    development 11-01 09:00, claimed 11-01 10:00    development, bob; idle
//  d5    development 11-10 06:00 (handoff)               sales queue, 6 h
//  d6    development 11-10 10:00 (handoff)               sales queue, 2 h
//  d7    handoff 11-10 07:00, claimed 07:00:30           bob; waited 30 s today
//  d8    handoff 11-09 23:00, claimed 11-10 01:00        bob; waited 2 h today
//  d9    handoff 11-09 11:00, claimed 11-09 12:00        bob; waited yesterday
//  d10   development, RUB 1.5 M (key account)            key_accounts queue, 3
//  h d11   shipment by amy 10-20 (USD); amy left at 11:00  account_management
//                                                        queue, 1 h; stale+idle
//  d12   shipment, then customer (won) by amy            closed
//  d13   new, then worked_out (lost) by ann              closed
std::vector<Event> FunnelStream(EventFactory& f) {
  const std::string lg = "lead_generation";
  return {
      f.Stage("2026-11-08T12:00:00Z", "d1", "new", "ann", lg, Rub(100000)),
      f.Stage("2026-11-06T09:00:00Z", "d2", "new", "ann", lg, Rub(50050)),
      f.Stage("2026-11-08T09:00:00Z", "d3", "new", "ann", lg),
      f.Stage("2026-11-09T09:00:00Z", "d3", "active", "ann", lg, Rub(1234)),
      f.Stage("2026-11-01T09:00:00Z", "d4", "development", "ann", lg,
              Rub(100000)),
      f.Claim("2026-11-01T10:00:00Z", "d4", "bob", "sales"),
      f.Stage("2026-11-10T06:00:00Z", "d5", "development", "ann", lg,
              Rub(200000)),
      f.Stage("2026-11-10T10:00:00Z", "d6", "development", "ann", lg,
              Rub(300000)),
      f.Stage("2026-11-10T07:00:00Z", "d7", "development", "ann", lg,
              Rub(400000)),
      f.Claim("2026-11-10T07:00:30Z", "d7", "bob", "sales"),
      f.Stage("2026-11-09T23:00:00Z", "d8", "development", "ann", lg,
              Rub(500000)),
      f.Claim("2026-11-10T01:00:00Z", "d8", "bob", "sales"),
      f.Stage("2026-11-09T11:00:00Z", "d9", "development", "ann", lg,
              Rub(600000)),
      f.Claim("2026-11-09T12:00:00Z", "d9", "bob", "sales"),
      f.Stage("2026-11-10T09:00:00Z", "d10", "development", "ann", lg,
              Rub(150000000)),
      f.Stage("2026-10-20T09:00:00Z", "d11", "shipment", "amy",
              "account_management", Usd(250000)),
      f.Stage("2026-11-02T09:00:00Z", "d12", "shipment", "amy",
              "account_management", Rub(70000)),
      f.Stage("2026-11-05T09:00:00Z", "d12", "customer", "amy",
              "account_management", Rub(70000)),
      f.Stage("2026-11-03T09:00:00Z", "d13", "new", "ann", lg),
      f.Stage("2026-11-04T09:00:00Z", "d13", "worked_out", "ann", lg),
      f.Departed("2026-11-10T11:00:00Z", "amy", "account_management"),
  };
}

// Today's work (and yesterday's, which must not count).
std::vector<Event> IndicatorStream(EventFactory& f) {
  const std::string lg = "lead_generation";
  return {
      f.Call("2026-11-10T08:00:00Z", "org-1", "ann", lg),
      f.Call("2026-11-10T09:00:00Z", "org-2", "ann", lg),
      f.Call("2026-11-10T10:00:00Z", "org-1", "ann", lg, CallOutcome::kNoAnswer,
             0),
      f.Call("2026-11-09T15:00:00Z", "org-3", "ann", lg),
      f.GeneralProposal("2026-11-10T09:30:00Z", "org-2", "ann", lg),
      f.GeneralProposal("2026-11-09T10:00:00Z", "org-3", "ann", lg),
      f.Call("2026-11-10T08:30:00Z", "org-4", "bob", "sales"),
      f.Call("2026-11-10T09:15:00Z", "org-5", "bob", "sales"),
      f.Application("2026-11-10T11:00:00Z", "d7", "bob", "sales", Rub(400000)),
      f.IndividualProposal("2026-11-10T11:30:00Z", "d8", "bob", "sales",
                           Rub(500000)),
  };
}

class BusinessMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Event> events = FunnelStream(f_);
    for (Event& e : IndicatorStream(f_)) events.push_back(std::move(e));
    h_.Append(events);
    h_.CatchUp();
  }

  // A Metrics with the business gauges over the harness's stores.
  std::unique_ptr<Metrics> Make(bool per_manager,
                                const std::string& now = kNow) {
    auto metrics = std::make_unique<Metrics>("serve");
    AddBusinessMetrics(*metrics, {.config = &FunnelConfig::Default(),
                                  .funnel = Borrow(h_.funnel()),
                                  .indicators = Borrow(h_.indicators()),
                                  .per_manager = per_manager,
                                  .clock = [now] { return T(now); }});
    return metrics;
  }

  static constexpr const char* kNow = "2026-11-10T12:00:00Z";
  testing::TempDir dir_;
  ProjectionHarness h_{dir_.path()};
  EventFactory f_;
};

TEST_F(BusinessMetricsTest, OpenDealsAndAmountPerFunnelStageDepartment) {
  auto metrics = Make(false);
  const MetricSamples s = Scrape(*metrics);
  EXPECT_EQ(s.Get("voronka_metrics_collector_errors_total",
                  {{"collector", "funnel"}}),
            0.0);
  EXPECT_EQ(s.Get("voronka_metrics_collector_errors_total",
                  {{"collector", "indicators"}}),
            0.0);

  const std::string acq = "acquisition";
  EXPECT_EQ(s.Get("voronka_deals_open", Open(acq, "new", "lead_generation")),
            2.0);
  EXPECT_EQ(s.Get("voronka_deals_open", Open(acq, "active", "lead_generation")),
            1.0);
  EXPECT_EQ(s.Get("voronka_deals_open", Open(acq, "development", "sales")),
            6.0);
  // RUB 1.5 M is over the key-account threshold: key accounts work it.
  EXPECT_EQ(
      s.Get("voronka_deals_open", Open(acq, "development", "key_accounts")),
      1.0);
  EXPECT_EQ(
      s.Get("voronka_deals_open", Open(acq, "shipment", "account_management")),
      1.0);
  // Every open stage shows, empty ones at 0; closed stages never.
  EXPECT_EQ(s.Get("voronka_deals_open",
                  Open("retention", "review", "account_management")),
            0.0);
  EXPECT_EQ(s.Get("voronka_deals_open",
                  Open("reactivation", "dormant", "lead_generation")),
            0.0);
  std::set<std::string> stages;
  for (const MetricLabels& l : s.Series("voronka_deals_open")) {
    stages.insert(l.at("funnel") + "/" + l.at("stage") + "/" +
                  l.at("department"));
  }
  EXPECT_EQ(stages, (std::set<std::string>{
                        "acquisition/new/lead_generation",
                        "acquisition/active/lead_generation",
                        "acquisition/development/sales",
                        "acquisition/development/key_accounts",
                        "acquisition/shipment/account_management",
                        "retention/review/account_management",
                        "retention/offer/sales",
                        "retention/contract/sales",
                        "reactivation/dormant/lead_generation",
                        "reactivation/contacted/lead_generation",
                        "reactivation/offer/sales",
                    }));

  // Currency units: kopecks / 100.
  auto amount = [&](const std::string& stage, const std::string& department,
                    const std::string& currency) {
    return s.Get("voronka_deals_open_amount",
                 WithLabel(Open(acq, stage, department), "currency", currency));
  };
  EXPECT_EQ(amount("new", "lead_generation", "RUB"), 1500.50);
  EXPECT_EQ(amount("active", "lead_generation", "RUB"), 12.34);
  EXPECT_EQ(amount("development", "sales", "RUB"), 21000.0);
  EXPECT_EQ(amount("development", "key_accounts", "RUB"), 1500000.0);
  EXPECT_EQ(amount("shipment", "account_management", "USD"), 2500.0);
  EXPECT_EQ(s.Series("voronka_deals_open_amount").size(), 5u);
}

TEST_F(BusinessMetricsTest, ForecastIsAmountTimesProbability) {
  auto metrics = Make(false);
  const MetricSamples s = Scrape(*metrics);
  auto forecast = [&](const std::string& department,
                      const std::string& currency) {
    std::optional<double> v =
        s.Get("voronka_forecast_weighted_amount", {{"funnel", "acquisition"},
                                                   {"department", department},
                                                   {"currency", currency}});
    return v.value_or(-1);
  };
  // 1500.50 x 5 % + 12.34 x 10 %.
  EXPECT_DOUBLE_EQ(forecast("lead_generation", "RUB"), 76.259);
  EXPECT_DOUBLE_EQ(forecast("sales", "RUB"), 8400.0);           // 21000 x 40 %
  EXPECT_DOUBLE_EQ(forecast("key_accounts", "RUB"), 600000.0);  // 1.5 M x 40 %
  EXPECT_DOUBLE_EQ(forecast("account_management", "USD"), 2250.0);  // x 90 %
  EXPECT_EQ(s.Series("voronka_forecast_weighted_amount").size(), 4u);
}

TEST_F(BusinessMetricsTest, StaleAndIdleAtNow) {
  auto metrics = Make(false);
  const MetricSamples s = Scrape(*metrics);
  // new: SLA 72 h, idle 48 h. d2 is over both; d1 is exactly at 48 h.
  EXPECT_EQ(s.Get("voronka_deals_stale", InStage("acquisition", "new")), 1.0);
  EXPECT_EQ(s.Get("voronka_deals_idle", InStage("acquisition", "new")), 1.0);
  EXPECT_EQ(s.Get("voronka_deals_stale", InStage("acquisition", "active")),
            0.0);
  EXPECT_EQ(s.Get("voronka_deals_idle", InStage("acquisition", "active")), 0.0);
  // development: SLA 30 d, idle 7 d. d4 has been quiet since its claim.
  EXPECT_EQ(s.Get("voronka_deals_stale", InStage("acquisition", "development")),
            0.0);
  EXPECT_EQ(s.Get("voronka_deals_idle", InStage("acquisition", "development")),
            1.0);
  // shipment: SLA 14 d, idle 3 d; d11 entered 21 days ago. Its manager's
  // departure re-queues it but is no activity on it.
  EXPECT_EQ(s.Get("voronka_deals_stale", InStage("acquisition", "shipment")),
            1.0);
  EXPECT_EQ(s.Get("voronka_deals_idle", InStage("acquisition", "shipment")),
            1.0);
  EXPECT_EQ(s.Get("voronka_deals_stale", InStage("retention", "review")), 0.0);
  // Open stages only: 4 + 3 + 3.
  EXPECT_EQ(s.Series("voronka_deals_stale").size(), 10u);
  EXPECT_EQ(s.Series("voronka_deals_idle").size(), 10u);
  EXPECT_FALSE(s.Get("voronka_deals_stale", InStage("acquisition", "customer"))
                   .has_value());

  // A day later d1 is idle (and d3, quiet since 11-09 09:00, is not yet:
  // 3 d is exactly reached at 11-12 09:00).
  auto later = Make(false, "2026-11-11T12:00:00Z");
  const MetricSamples t = Scrape(*later);
  EXPECT_EQ(t.Get("voronka_deals_idle", InStage("acquisition", "new")), 2.0);
  // d1 is now exactly 72 h in new: at its SLA, not over it.
  EXPECT_EQ(t.Get("voronka_deals_stale", InStage("acquisition", "new")), 1.0);
  EXPECT_EQ(t.Get("voronka_deals_idle", InStage("acquisition", "active")), 0.0);
}

TEST_F(BusinessMetricsTest, HandoffQueuesAndTheirSla) {
  auto metrics = Make(false);
  const MetricSamples s = Scrape(*metrics);
  EXPECT_EQ(s.Get("voronka_handoff_queue_length", Dept("lead_generation")),
            0.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_length", Dept("sales")), 2.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_length", Dept("account_management")),
            1.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_length", Dept("key_accounts")), 1.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_oldest_wait_seconds",
                  Dept("lead_generation")),
            0.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_oldest_wait_seconds", Dept("sales")),
            21600.0);  // d5, since 06:00.
  EXPECT_EQ(s.Get("voronka_handoff_queue_oldest_wait_seconds",
                  Dept("account_management")),
            3600.0);  // d11, since amy left at 11:00.
  EXPECT_EQ(
      s.Get("voronka_handoff_queue_oldest_wait_seconds", Dept("key_accounts")),
      10800.0);
  // handoff_sla of the default configuration.
  EXPECT_EQ(s.Get("voronka_handoff_queue_sla_seconds", Dept("lead_generation")),
            86400.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_sla_seconds", Dept("sales")), 14400.0);
  EXPECT_EQ(
      s.Get("voronka_handoff_queue_sla_seconds", Dept("account_management")),
      86400.0);
  EXPECT_EQ(s.Get("voronka_handoff_queue_sla_seconds", Dept("key_accounts")),
            7200.0);
  EXPECT_EQ(s.Series("voronka_handoff_queue_length").size(), 4u);
}

TEST_F(BusinessMetricsTest, ClaimWaitHistogramOfTodaysClaims) {
  auto metrics = Make(false);
  const MetricSamples s = Scrape(*metrics);
  EXPECT_EQ(s.TypeOf("voronka_claim_wait_today_seconds"), "histogram");
  // Sales claimed d7 after 30 s and d8 after 7200 s today; d9's claim was
  // yesterday.
  const std::vector<std::pair<std::string, double>> sales = {
      {"60", 1},    {"300", 1},    {"900", 1},   {"1800", 1},
      {"3600", 1},  {"7200", 2},   {"14400", 2}, {"28800", 2},
      {"86400", 2}, {"172800", 2}, {"+Inf", 2}};
  for (const auto& [le, n] : sales) {
    EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_bucket",
                    WithLabel(Dept("sales"), "le", le)),
              n)
        << "le=" << le;
  }
  EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_count", Dept("sales")),
            2.0);
  EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_sum", Dept("sales")),
            7230.0);
  for (const char* d :
       {"lead_generation", "account_management", "key_accounts"}) {
    EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_count", Dept(d)), 0.0)
        << d;
    EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_bucket",
                    WithLabel(Dept(d), "le", "+Inf")),
              0.0)
        << d;
  }

  // Yesterday (as "today"): only d9's hour, while d8 waited from 23:00 and
  // was claimed after midnight, so it is not yesterday's.
  auto yesterday = Make(false, "2026-11-09T23:59:59Z");
  const MetricSamples y = Scrape(*yesterday);
  EXPECT_EQ(y.Get("voronka_claim_wait_today_seconds_count", Dept("sales")),
            1.0);
  EXPECT_EQ(y.Get("voronka_claim_wait_today_seconds_sum", Dept("sales")),
            3600.0);
  EXPECT_EQ(y.Get("voronka_claim_wait_today_seconds_bucket",
                  WithLabel(Dept("sales"), "le", "1800")),
            0.0);
  EXPECT_EQ(y.Get("voronka_claim_wait_today_seconds_bucket",
                  WithLabel(Dept("sales"), "le", "3600")),
            1.0);
}

TEST_F(BusinessMetricsTest, TodaysWorkPerDepartment) {
  auto metrics = Make(false);
  const MetricSamples s = Scrape(*metrics);
  EXPECT_EQ(s.Get("voronka_calls_today", Dept("lead_generation")), 3.0);
  EXPECT_EQ(s.Get("voronka_calls_today", Dept("sales")), 2.0);
  EXPECT_EQ(s.Get("voronka_calls_today", Dept("account_management")), 0.0);
  EXPECT_EQ(s.Get("voronka_calls_today", Dept("key_accounts")), 0.0);
  EXPECT_EQ(s.Get("voronka_proposals_today", Dept("lead_generation")), 1.0);
  EXPECT_EQ(s.Get("voronka_proposals_today", Dept("sales")), 0.0);
  // An application and an individual proposal.
  EXPECT_EQ(s.Get("voronka_applications_today", Dept("sales")), 2.0);
  EXPECT_EQ(s.Get("voronka_applications_today", Dept("lead_generation")), 0.0);
  EXPECT_EQ(s.Get("voronka_applications_amount_today",
                  {{"department", "sales"}, {"currency", "RUB"}}),
            9000.0);
  EXPECT_EQ(s.Series("voronka_applications_amount_today").size(), 1u);
  for (const std::string& d : kDepartments) {
    EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept(d)), 0.0) << d;
  }
  // Per-manager series only with per_manager.
  for (const char* family :
       {"voronka_manager_calls_today", "voronka_manager_proposals_today",
        "voronka_manager_applications_today",
        "voronka_manager_pipeline_drain"}) {
    EXPECT_FALSE(s.HasFamily(family)) << family;
    EXPECT_TRUE(s.Series(family).empty()) << family;
  }
}

TEST_F(BusinessMetricsTest, PerManagerSeriesWhenAskedFor) {
  auto metrics = Make(true);
  const MetricSamples s = Scrape(*metrics);
  auto m = [](const std::string& department, const std::string& manager) {
    return MetricLabels{{"department", department}, {"manager", manager}};
  };
  EXPECT_EQ(s.Get("voronka_manager_calls_today", m("lead_generation", "ann")),
            3.0);
  EXPECT_EQ(
      s.Get("voronka_manager_proposals_today", m("lead_generation", "ann")),
      1.0);
  EXPECT_EQ(
      s.Get("voronka_manager_applications_today", m("lead_generation", "ann")),
      0.0);
  EXPECT_EQ(s.Get("voronka_manager_calls_today", m("sales", "bob")), 2.0);
  EXPECT_EQ(s.Get("voronka_manager_applications_today", m("sales", "bob")),
            2.0);
  // amy won d12 last week: credited in account_management, nothing today.
  EXPECT_EQ(
      s.Get("voronka_manager_calls_today", m("account_management", "amy")),
      0.0);
  EXPECT_EQ(s.Series("voronka_manager_calls_today").size(), 3u);
  const std::vector<std::pair<std::string, std::string>> managers = {
      {"lead_generation", "ann"},
      {"sales", "bob"},
      {"account_management", "amy"}};
  for (const auto& [d, who] : managers) {
    EXPECT_EQ(s.Get("voronka_manager_pipeline_drain", m(d, who)), 0.0) << who;
  }
  // The department totals are the same as without per-manager series.
  EXPECT_EQ(s.Get("voronka_calls_today", Dept("lead_generation")), 3.0);

  // Everything the business collectors write passes promtool's lint.
  auto lint = testing::RunCommand(
      "/bin/sh", {"-c", "exec /usr/bin/promtool check metrics 2>&1"},
      metrics->Render(), absl::Seconds(60));
  ASSERT_TRUE(lint.ok()) << lint.status();
  EXPECT_EQ(lint->exit_code, 0) << lint->out;
}

// "Today" is the configuration's day: in Moscow (UTC+3), 00:30 on 11-11 is
// still 11-10 21:30 UTC.
TEST(BusinessMetricsTimeZoneTest, TodayIsInTheConfigurationsTimeZone) {
  std::string yaml(FunnelConfig::DefaultYaml());
  const size_t tz = yaml.find("timezone: UTC");
  ASSERT_NE(tz, std::string::npos);
  yaml.replace(tz, 13, "timezone: Europe/Moscow");
  absl::StatusOr<FunnelConfig> moscow = FunnelConfig::Parse(yaml, "msk.yaml");
  ASSERT_TRUE(moscow.ok()) << moscow.status();

  testing::TempDir dir;
  ProjectionHarness h(dir.path(), nullptr, *moscow);
  EventFactory f;
  h.Append({
      // 23:00 and 00:10 in Moscow.
      f.Call("2026-11-10T20:00:00Z", "org-1", "ann", "lead_generation"),
      f.Call("2026-11-10T21:10:00Z", "org-1", "ann", "lead_generation"),
      // Claimed at 23:50 and 00:05 in Moscow, 10 minutes each.
      f.Stage("2026-11-10T20:40:00Z", "d1", "development", "ann",
              "lead_generation"),
      f.Claim("2026-11-10T20:50:00Z", "d1", "bob", "sales"),
      f.Stage("2026-11-10T20:55:00Z", "d2", "development", "ann",
              "lead_generation"),
      f.Claim("2026-11-10T21:05:00Z", "d2", "bob", "sales"),
  });
  h.CatchUp();
  Metrics metrics("serve");
  AddBusinessMetrics(metrics,
                     {.config = &*moscow,
                      .funnel = Borrow(h.funnel()),
                      .indicators = Borrow(h.indicators()),
                      .clock = [] { return T("2026-11-10T21:30:00Z"); }});
  const MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_calls_today", Dept("lead_generation")), 1.0);
  EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_count", Dept("sales")),
            1.0);
  EXPECT_EQ(s.Get("voronka_claim_wait_today_seconds_sum", Dept("sales")),
            600.0);
}

// Stores not served here (no getter) or not open yet (null) export nothing
// and are no error.
TEST(BusinessMetricsNoStoreTest, MissingStoresExportNothing) {
  Metrics metrics("ingest");
  AddBusinessMetrics(
      metrics,
      {.config = &FunnelConfig::Default(), .funnel = nullptr, .indicators = [] {
         return std::shared_ptr<const ProjectionStore>();
       }});
  const MetricSamples s = Scrape(metrics);
  EXPECT_FALSE(s.HasFamily("voronka_deals_open"));
  EXPECT_FALSE(s.HasFamily("voronka_calls_today"));
  EXPECT_EQ(s.Get("voronka_metrics_collector_errors_total",
                  {{"collector", "funnel"}}),
            0.0);
  EXPECT_EQ(s.Get("voronka_metrics_collector_errors_total",
                  {{"collector", "indicators"}}),
            0.0);
}

// ---- Pipeline drain -------------------------------------------------------

// Five weeks Monday 2026-10-19 .. Sunday 2026-11-22 and the week of
// 2026-11-23 (the current one at the clock, Wednesday 11-25):
//   mia (sales): 30 calls and 1 win a week, then last week (11-16) 5 calls
//                and 3 wins: drain.
//   sam (sales): 30 calls and 1 win every week; this week (not judged
//                yet) no calls and 5 wins.
//   lea (lead_generation): 30 calls a week, none last week, no wins: a
//                holiday, not a drain.
//   max (account_management): 40 calls and 1 win a week but a silent week
//                in the baseline (11-02), which counts as a week of 0;
//                then 5 calls and 2 wins: drain (mean 30 calls, 0.75 wins).
class PipelineDrainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<Event> events;
    int deal = 0;
    auto week = [&](const std::string& monday, const std::string& manager,
                    const std::string& department, int calls, int wins) {
      const absl::Time start = T(monday + "T08:00:00Z").ToAbsl();
      for (int i = 0; i < calls; ++i) {
        // Spread over Monday to Friday, 6 a day.
        const absl::Time at =
            start + absl::Hours(24 * (i % 5)) + absl::Minutes(10 * (i / 5));
        events.push_back(f_.Call(Rfc3339(at), fmt::format("org-{}", i % 7),
                                 manager, department));
      }
      for (int i = 0; i < wins; ++i) {
        const absl::Time at = start + absl::Hours(24 * i + 6);
        events.push_back(f_.Stage(Rfc3339(at), fmt::format("w{}", ++deal),
                                  "customer", manager, department));
      }
    };
    for (const char* monday :
         {"2026-10-19", "2026-10-26", "2026-11-02", "2026-11-09"}) {
      week(monday, "mia", "sales", 30, 1);
      week(monday, "sam", "sales", 30, 1);
      week(monday, "lea", "lead_generation", 30, 0);
      if (std::string(monday) != "2026-11-02") {
        week(monday, "max", "account_management", 40, 1);
      }
    }
    week("2026-11-16", "max", "account_management", 5, 2);
    week("2026-11-16", "mia", "sales", 5, 3);
    week("2026-11-16", "sam", "sales", 30, 1);
    week("2026-11-16", "lea", "lead_generation", 0, 0);
    week("2026-11-23", "sam", "sales", 0, 5);
    h_.Append(events);
    h_.CatchUp();
  }

  static std::string Rfc3339(absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }

  testing::TempDir dir_;
  ProjectionHarness h_{dir_.path()};
  EventFactory f_;
};

TEST_F(PipelineDrainTest, ManagerWithFewerCallsAndMoreWinsLastWeekIsFlagged) {
  std::string now = "2026-11-25T12:00:00Z";
  Metrics metrics("serve");
  AddBusinessMetrics(metrics, {.config = &FunnelConfig::Default(),
                               .indicators = Borrow(h_.indicators()),
                               .per_manager = true,
                               .clock = [&now] { return T(now); }});
  MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept("sales")), 1.0);
  EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept("lead_generation")),
            0.0);
  EXPECT_EQ(
      s.Get("voronka_pipeline_drain_managers", Dept("account_management")),
      1.0);
  EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept("key_accounts")),
            0.0);
  auto m = [](const std::string& department, const std::string& manager) {
    return MetricLabels{{"department", department}, {"manager", manager}};
  };
  EXPECT_EQ(s.Get("voronka_manager_pipeline_drain", m("sales", "mia")), 1.0);
  EXPECT_EQ(s.Get("voronka_manager_pipeline_drain", m("sales", "sam")), 0.0);
  EXPECT_EQ(
      s.Get("voronka_manager_pipeline_drain", m("lead_generation", "lea")),
      0.0);
  EXPECT_EQ(
      s.Get("voronka_manager_pipeline_drain", m("account_management", "max")),
      1.0);
  EXPECT_EQ(s.Series("voronka_manager_pipeline_drain").size(), 4u);

  // A week later the judged week is 11-23: sam stopped calling and won 5
  // deals; mia's quiet week is now part of her baseline and she won nothing.
  now = "2026-12-02T12:00:00Z";
  s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_manager_pipeline_drain", m("sales", "mia")), 0.0);
  EXPECT_EQ(s.Get("voronka_manager_pipeline_drain", m("sales", "sam")), 1.0);
  EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept("sales")), 1.0);
  EXPECT_EQ(
      s.Get("voronka_manager_pipeline_drain", m("account_management", "max")),
      0.0);
}

TEST_F(PipelineDrainTest, DepartmentCountWithoutPerManagerSeries) {
  std::string now = "2026-11-22T23:59:59Z";
  Metrics metrics("serve");
  AddBusinessMetrics(metrics, {.config = &FunnelConfig::Default(),
                               .indicators = Borrow(h_.indicators()),
                               .clock = [&now] { return T(now); }});
  // Sunday night: last week is still the steady one of 11-09.
  MetricSamples s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept("sales")), 0.0);
  // Monday 00:00 is the next week: last week is 11-16, mia's.
  now = "2026-11-23T00:00:00Z";
  s = Scrape(metrics);
  EXPECT_EQ(s.Get("voronka_pipeline_drain_managers", Dept("sales")), 1.0);
  EXPECT_FALSE(s.HasFamily("voronka_manager_pipeline_drain"));
}

}  // namespace
}  // namespace voronka
