#include "services/projector_metrics.h"

#include <filesystem>
#include <system_error>

#include "events/status.h"
#include "events/timestamp.h"

namespace voronka {

int64_t DiskUsage(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  int64_t total = 0;
  for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end;
       it.increment(ec)) {
    // Files may vanish between listing and stat (compaction): skip them.
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uintmax_t size = it->file_size(size_ec);
      if (!size_ec) total += static_cast<int64_t>(size);
    }
  }
  return total;
}

ProjectorMetrics::ProjectorMetrics(Metrics& metrics)
    : apply_duration_(prometheus::BuildHistogram()
                          .Name("voronka_projector_apply_duration_seconds")
                          .Help("Applying and committing one batch of "
                                "records to the store in service.")
                          .Register(metrics.registry())) {
  metrics.AddCollector("projectors",
                       [this](MetricSink& sink) { return Collect(sink); });
}

ProjectorRunner::BatchObserver ProjectorMetrics::BatchObserver(
    const std::string& projection) {
  prometheus::Histogram* h =
      &apply_duration_.Add({{"projection", projection}}, LatencyBuckets());
  return [h](absl::Duration d) { h->Observe(absl::ToDoubleSeconds(d)); };
}

void ProjectorMetrics::Watch(EventLog& log,
                             std::vector<const ProjectorRunner*> runners) {
  log_ = &log;
  runners_ = std::move(runners);
}

absl::Status ProjectorMetrics::Collect(MetricSink& sink) const {
  using prometheus::MetricType;
  FamilyWriter applied = sink.AddFamily(
      "voronka_projector_events_applied_total",
      "Events folded into the store in service.", MetricType::Counter);
  FamilyWriter duplicates =
      sink.AddFamily("voronka_projector_duplicate_events_total",
                     "Retries skipped by (source, id).", MetricType::Counter);
  FamilyWriter conflicts = sink.AddFamily(
      "voronka_projector_conflicting_events_total",
      "Events reusing a (source, id) with other content: not applied.",
      MetricType::Counter);
  FamilyWriter healthy =
      sink.AddFamily("voronka_projector_healthy",
                     "0 while the projector retries after an error, else 1.",
                     MetricType::Gauge);
  FamilyWriter rebuilding = sink.AddFamily(
      "voronka_projector_rebuilding",
      "1 while a new store generation is being built.", MetricType::Gauge);
  FamilyWriter progress = sink.AddFamily(
      "voronka_projector_rebuild_progress_ratio",
      "Records of the running rebuild consumed / to consume (1 if none).",
      MetricType::Gauge);
  FamilyWriter store_size = sink.AddFamily(
      "voronka_projector_store_size_bytes",
      "On-disk size of the store in service.", MetricType::Gauge);
  FamilyWriter lag_events = sink.AddFamily(
      "voronka_projector_lag_events",
      "Records in the log not yet applied, per partition.", MetricType::Gauge);
  FamilyWriter lag_seconds = sink.AddFamily(
      "voronka_projector_lag_seconds",
      "Age of the last applied record while records wait (0 when caught "
      "up), by the record's event time or recorded time.",
      MetricType::Gauge);

  if (log_ == nullptr) return absl::OkStatus();
  absl::StatusOr<std::vector<int64_t>> end = log_->EndOffsets();
  const Timestamp now = Timestamp::Now();
  for (const ProjectorRunner* runner : runners_) {
    const ProjectorStatus s = runner->status();
    const FamilyWriter::Labels labels = {{"projection", s.name}};
    applied.Counter(labels, static_cast<double>(s.stats.applied));
    duplicates.Counter(labels, static_cast<double>(s.stats.duplicates));
    conflicts.Counter(labels, static_cast<double>(s.stats.conflicts));
    healthy.Gauge(labels, s.last_error.ok() ? 1 : 0);
    rebuilding.Gauge(labels, s.rebuilding ? 1 : 0);
    progress.Gauge(labels, !s.rebuilding || s.rebuild_total == 0
                               ? 1.0
                               : static_cast<double>(s.rebuild_done) /
                                     static_cast<double>(s.rebuild_total));
    if (!s.generation.empty()) {
      store_size.Gauge(labels, static_cast<double>(DiskUsage(s.generation)));
    }
    if (!end.ok()) continue;
    for (size_t p = 0; p < end->size(); ++p) {
      const int64_t at = p < s.positions.size() ? s.positions[p] : 0;
      const int64_t lag = std::max<int64_t>(0, (*end)[p] - at);
      const std::string partition = std::to_string(p);
      lag_events.Gauge({{"projection", s.name}, {"partition", partition}},
                       static_cast<double>(lag));
      const auto& last = s.stats.last;
      if (lag == 0) {
        for (const char* clock : {"event_time", "recorded_time"}) {
          lag_seconds.Gauge({{"projection", s.name},
                             {"partition", partition},
                             {"clock", clock}},
                            0);
        }
      } else if (p < last.size() && last[p].has_value()) {
        auto age = [&](Timestamp t) {
          return std::max(0.0, absl::ToDoubleSeconds(now - t));
        };
        lag_seconds.Gauge({{"projection", s.name},
                           {"partition", partition},
                           {"clock", "event_time"}},
                          age(last[p]->event_time));
        lag_seconds.Gauge({{"projection", s.name},
                           {"partition", partition},
                           {"clock", "recorded_time"}},
                          age(last[p]->recorded_time));
      }
    }
  }
  return end.status();
}

}  // namespace voronka
