#include "services/business_metrics.h"

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "events/status.h"
#include "projections/queries.h"
#include "projections/view.h"

namespace voronka {
namespace {

using prometheus::MetricType;
using Labels = FamilyWriter::Labels;

// Minor units (kopecks, cents) to currency units.
double Major(int64_t minor) { return static_cast<double>(minor) / 100.0; }

class Collectors {
 public:
  explicit Collectors(BusinessMetricsOptions o) : o_(std::move(o)) {
    if (!absl::LoadTimeZone(o_.config->timezone(), &tz_)) {
      tz_ = absl::UTCTimeZone();
    }
  }

  Timestamp Now() const { return o_.clock ? o_.clock() : Timestamp::Now(); }

  absl::Status Funnel(MetricSink& sink) const {
    if (!o_.funnel) return absl::OkStatus();
    std::shared_ptr<const ProjectionStore> store = o_.funnel();
    if (store == nullptr) return absl::OkStatus();
    const Timestamp now = Now();
    VORONKA_RETURN_IF_ERROR(Workloads(*store, sink));
    VORONKA_RETURN_IF_ERROR(StaleAndIdle(*store, now, sink));
    VORONKA_RETURN_IF_ERROR(Queues(*store, now, sink));
    return ClaimWaits(*store, now, sink);
  }

  absl::Status Indicators(MetricSink& sink) {
    if (!o_.indicators) return absl::OkStatus();
    std::shared_ptr<const ProjectionStore> store = o_.indicators();
    if (store == nullptr) return absl::OkStatus();
    const int64_t today = DayOf(Now(), tz_);
    const std::vector<std::string> departments = Departments(*store);
    VORONKA_RETURN_IF_ERROR(Today(*store, departments, today, sink));
    return Drain(*store, departments, today, sink);
  }

 private:
  absl::Status Workloads(const ProjectionStore& store, MetricSink& sink) const {
    using StageKey = std::tuple<std::string, std::string, std::string>;
    std::map<StageKey, int64_t> open;
    std::map<std::pair<StageKey, std::string>, int64_t> amount;
    std::map<std::tuple<std::string, std::string, std::string>, int64_t>
        forecast_bp;
    // Every open stage shows, with its owner department, even when empty.
    for (const voronka::Funnel& f : o_.config->funnels()) {
      for (const Stage& s : f.stages) {
        if (!s.closed() && s.owner) {
          open[{f.name.value(), s.name.value(), s.owner->value()}] = 0;
        }
      }
    }
    VORONKA_ASSIGN_OR_RETURN(std::vector<WorkloadRow> rows,
                             QueryWorkloads(store, ""));
    for (const WorkloadRow& r : rows) {
      const Stage* stage = o_.config->FindStage(r.funnel, r.stage);
      if (stage == nullptr || stage->closed()) continue;
      const StageKey key{r.funnel, r.stage, r.department};
      open[key] += r.counters.Get("open");
      for (const auto& [currency, minor] : r.counters.MoneyOf("amount")) {
        amount[{key, currency}] += minor;
      }
      for (const auto& [currency, bp] : r.counters.MoneyOf("forecast_bp")) {
        forecast_bp[{r.funnel, r.department, currency}] += bp;
      }
    }
    FamilyWriter deals = sink.AddFamily(
        "voronka_deals_open",
        "Open deals per funnel, stage and the department working them.",
        MetricType::Gauge);
    for (const auto& [k, n] : open) {
      deals.Gauge({{"funnel", std::get<0>(k)},
                   {"stage", std::get<1>(k)},
                   {"department", std::get<2>(k)}},
                  static_cast<double>(n));
    }
    FamilyWriter amounts =
        sink.AddFamily("voronka_deals_open_amount",
                       "Expected amount of the open deals, in currency units.",
                       MetricType::Gauge);
    for (const auto& [k, minor] : amount) {
      amounts.Gauge({{"funnel", std::get<0>(k.first)},
                     {"stage", std::get<1>(k.first)},
                     {"department", std::get<2>(k.first)},
                     {"currency", k.second}},
                    Major(minor));
    }
    FamilyWriter forecast = sink.AddFamily(
        "voronka_forecast_weighted_amount",
        "Amount x win probability of the open deals, in currency units.",
        MetricType::Gauge);
    for (const auto& [k, bp] : forecast_bp) {
      forecast.Gauge({{"funnel", std::get<0>(k)},
                      {"department", std::get<1>(k)},
                      {"currency", std::get<2>(k)}},
                     static_cast<double>(bp) / 10000.0 / 100.0);
    }
    return absl::OkStatus();
  }

  absl::Status StaleAndIdle(const ProjectionStore& store, Timestamp now,
                            MetricSink& sink) const {
    FamilyWriter stale =
        sink.AddFamily("voronka_deals_stale",
                       "Open deals longer in their stage than the stage's SLA.",
                       MetricType::Gauge);
    FamilyWriter idle = sink.AddFamily(
        "voronka_deals_idle",
        "Open deals without activity for longer than the stage's idle limit.",
        MetricType::Gauge);
    for (const voronka::Funnel& f : o_.config->funnels()) {
      for (const Stage& s : f.stages) {
        if (s.closed()) continue;
        const OverdueFilter filter{.funnel = f.name.value(),
                                   .stage = s.name.value()};
        const Labels labels = {{"funnel", f.name.value()},
                               {"stage", s.name.value()}};
        for (auto [kind, out, limit] :
             {std::tuple(Overdue::kStale, &stale, s.sla),
              std::tuple(Overdue::kIdle, &idle, s.idle_limit)}) {
          if (limit == absl::InfiniteDuration()) continue;
          size_t total = 0;
          VORONKA_RETURN_IF_ERROR(
              QueryOverdue(store, *o_.config, kind, filter, now, 0, 0, &total)
                  .status());
          out->Gauge(labels, static_cast<double>(total));
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status Queues(const ProjectionStore& store, Timestamp now,
                      MetricSink& sink) const {
    VORONKA_ASSIGN_OR_RETURN(auto lengths, QueueLengths(store));
    for (const DepartmentId& d : o_.config->departments()) {
      lengths.try_emplace(d.value(), 0);
    }
    FamilyWriter length = sink.AddFamily(
        "voronka_handoff_queue_length",
        "Deals waiting in the department's handoff queue.", MetricType::Gauge);
    FamilyWriter oldest = sink.AddFamily(
        "voronka_handoff_queue_oldest_wait_seconds",
        "How long the oldest deal in the queue has waited (0 when empty).",
        MetricType::Gauge);
    for (const auto& [department, n] : lengths) {
      const Labels labels = {{"department", department}};
      length.Gauge(labels, static_cast<double>(n));
      double wait = 0;
      if (n > 0) {
        VORONKA_ASSIGN_OR_RETURN(std::vector<QueueEntry> first,
                                 QueryQueue(store, department, 0, 1, nullptr));
        if (!first.empty()) {
          wait = std::max(0.0, absl::ToDoubleSeconds(now - first[0].since));
        }
      }
      oldest.Gauge(labels, wait);
    }
    FamilyWriter sla = sink.AddFamily(
        "voronka_handoff_queue_sla_seconds",
        "How long a deal may wait in the department's queue (handoff_sla).",
        MetricType::Gauge);
    for (const auto& [department, limit] : o_.config->handoff_sla()) {
      sla.Gauge({{"department", department}}, absl::ToDoubleSeconds(limit));
    }
    return absl::OkStatus();
  }

  absl::Status ClaimWaits(const ProjectionStore& store, Timestamp now,
                          MetricSink& sink) const {
    const int64_t today = DayOf(now, tz_);
    const std::vector<double>& bounds = ClaimWaitBuckets();
    FamilyWriter hist = sink.AddFamily(
        "voronka_claim_wait_today_seconds",
        "Handoff-queue waits of today's claims (starts again at midnight in "
        "the configuration's time zone).",
        MetricType::Histogram);
    for (const DepartmentId& d : o_.config->departments()) {
      VORONKA_ASSIGN_OR_RETURN(
          std::vector<absl::Duration> waits,
          QueryClaimWaitList(store, d.value(), today, today));
      std::vector<uint64_t> cumulative(bounds.size(), 0);
      double sum = 0;
      for (absl::Duration w : waits) {
        const double s = absl::ToDoubleSeconds(w);
        sum += s;
        for (size_t i = 0; i < bounds.size(); ++i) {
          if (s <= bounds[i]) ++cumulative[i];
        }
      }
      hist.Histogram({{"department", d.value()}}, bounds, cumulative,
                     waits.size(), sum);
    }
    return absl::OkStatus();
  }

  std::vector<std::string> Departments(const ProjectionStore& store) const {
    std::set<std::string> all;
    for (const DepartmentId& d : o_.config->departments())
      all.insert(d.value());
    absl::StatusOr<std::vector<std::string>> ids = IndicatorIds(store, "d");
    if (ids.ok()) all.insert(ids->begin(), ids->end());
    return {all.begin(), all.end()};
  }

  absl::Status Today(const ProjectionStore& store,
                     const std::vector<std::string>& departments, int64_t today,
                     MetricSink& sink) const {
    FamilyWriter calls = sink.AddFamily(
        "voronka_calls_today", "Calls logged today.", MetricType::Gauge);
    FamilyWriter proposals =
        sink.AddFamily("voronka_proposals_today",
                       "General proposals sent today.", MetricType::Gauge);
    FamilyWriter applications = sink.AddFamily(
        "voronka_applications_today",
        "Applications (and individual proposals) today.", MetricType::Gauge);
    FamilyWriter amount =
        sink.AddFamily("voronka_applications_amount_today",
                       "Amount of today's applications, in currency units.",
                       MetricType::Gauge);
    for (const std::string& d : departments) {
      VORONKA_ASSIGN_OR_RETURN(IndicatorTotals t,
                               QueryIndicators(store, "d", d, today, today));
      const Labels labels = {{"department", d}};
      calls.Gauge(labels, static_cast<double>(t.counters.Get("calls")));
      proposals.Gauge(labels,
                      static_cast<double>(t.counters.Get("proposals_general")));
      applications.Gauge(labels,
                         static_cast<double>(t.counters.Get("applications")));
      for (const auto& [currency, minor] :
           t.counters.MoneyOf("applications_amount")) {
        amount.Gauge({{"department", d}, {"currency", currency}}, Major(minor));
      }
    }
    if (!o_.per_manager) return absl::OkStatus();
    FamilyWriter m_calls =
        sink.AddFamily("voronka_manager_calls_today",
                       "Calls logged today, per manager.", MetricType::Gauge);
    FamilyWriter m_proposals = sink.AddFamily(
        "voronka_manager_proposals_today",
        "General proposals sent today, per manager.", MetricType::Gauge);
    FamilyWriter m_applications =
        sink.AddFamily("voronka_manager_applications_today",
                       "Applications today, per manager.", MetricType::Gauge);
    for (const std::string& d : departments) {
      VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> managers,
                               DepartmentManagers(store, d));
      VORONKA_ASSIGN_OR_RETURN(
          std::vector<IndicatorTotals> totals,
          QueryIndicatorsOfMany(store, "m", managers, today, today, 1));
      for (size_t i = 0; i < managers.size(); ++i) {
        const Labels labels = {{"department", d}, {"manager", managers[i]}};
        const Counters& c = totals[i].counters;
        m_calls.Gauge(labels, static_cast<double>(c.Get("calls")));
        m_proposals.Gauge(labels,
                          static_cast<double>(c.Get("proposals_general")));
        m_applications.Gauge(labels,
                             static_cast<double>(c.Get("applications")));
      }
    }
    return absl::OkStatus();
  }

  // Managers flagged last week, per department; recomputed when the week
  // changes or after a minute (it reads five weeks per manager).
  absl::Status Drain(const ProjectionStore& store,
                     const std::vector<std::string>& departments, int64_t today,
                     MetricSink& sink) {
    std::lock_guard<std::mutex> lock(drain_mu_);
    const absl::Time now = absl::Now();
    if (drain_day_ != today || now - drain_at_ > absl::Minutes(1) ||
        drain_store_ != &store) {
      drain_.clear();
      const int64_t last_week = WeekStart(today) - 7;
      for (const std::string& d : departments) {
        VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> managers,
                                 DepartmentManagers(store, d));
        auto& flags = drain_[d];
        for (const std::string& m : managers) {
          VORONKA_ASSIGN_OR_RETURN(
              std::vector<DrainWeek> weeks,
              QueryDrainWeeks(store, m, last_week, 1, o_.drain));
          flags.emplace_back(m, !weeks.empty() && weeks.back().flagged);
        }
      }
      drain_day_ = today;
      drain_at_ = now;
      drain_store_ = &store;
    }
    FamilyWriter count = sink.AddFamily(
        "voronka_pipeline_drain_managers",
        "Managers whose top-of-funnel fell while closings rose last week.",
        MetricType::Gauge);
    for (const auto& [d, flags] : drain_) {
      int64_t n = 0;
      for (const auto& [m, flagged] : flags) n += flagged ? 1 : 0;
      count.Gauge({{"department", d}}, static_cast<double>(n));
    }
    if (!o_.per_manager) return absl::OkStatus();
    FamilyWriter per = sink.AddFamily(
        "voronka_manager_pipeline_drain",
        "1 if the manager was flagged for pipeline drain last week.",
        MetricType::Gauge);
    for (const auto& [d, flags] : drain_) {
      for (const auto& [m, flagged] : flags) {
        per.Gauge({{"department", d}, {"manager", m}}, flagged ? 1 : 0);
      }
    }
    return absl::OkStatus();
  }

  BusinessMetricsOptions o_;
  absl::TimeZone tz_;
  std::mutex drain_mu_;
  int64_t drain_day_ = 0;                         // Guarded by drain_mu_.
  absl::Time drain_at_ = absl::InfinitePast();    // Guarded by drain_mu_.
  const ProjectionStore* drain_store_ = nullptr;  // Guarded by drain_mu_.
  // Department -> (manager, flagged). Guarded by drain_mu_.
  std::map<std::string, std::vector<std::pair<std::string, bool>>> drain_;
};

}  // namespace

const std::vector<double>& ClaimWaitBuckets() {
  static const auto* buckets = new std::vector<double>{
      60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800};
  return *buckets;
}

void AddBusinessMetrics(Metrics& metrics, BusinessMetricsOptions options) {
  auto c = std::make_shared<Collectors>(std::move(options));
  metrics.AddCollector("funnel",
                       [c](MetricSink& sink) { return c->Funnel(sink); });
  metrics.AddCollector("indicators",
                       [c](MetricSink& sink) { return c->Indicators(sink); });
}

}  // namespace voronka
