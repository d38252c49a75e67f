// ProjectorMetrics: the metrics of the projectors one process runs
// (voronka_projector_*, docs/observability.md): events applied, duplicates
// and conflicts, lag in records and in seconds per partition, batch apply
// latency, health, rebuild progress and store size on disk.
//
//   ProjectorMetrics pm(metrics);
//   ProjectorRunner runner(log, projection, dir, 4096,
//                          pm.BatchObserver("funnel"));
//   pm.Watch(log, {&runner});
//
// Lag is read when Prometheus scrapes: the log's end offsets (one request
// to Kafka) minus the positions of each store in service. Lag in seconds is
// "now" minus the event / recorded time of the last record the projector
// committed in that partition, while records wait; 0 when caught up.
//
// Thread-safe; Watch() once, before the metrics are served. The log and
// the watched runners must outlive the Metrics' route.
#ifndef VORONKA_SERVICES_PROJECTOR_METRICS_H_
#define VORONKA_SERVICES_PROJECTOR_METRICS_H_

#include <memory>
#include <string>
#include <vector>

#include "events/log.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "services/metrics.h"
#include "services/projector_runner.h"

namespace voronka {

class ProjectorMetrics {
 public:
  explicit ProjectorMetrics(Metrics& metrics);

  // For the ProjectorRunner of `projection`: observes batch durations.
  ProjectorRunner::BatchObserver BatchObserver(const std::string& projection);
  void Watch(EventLog& log, std::vector<const ProjectorRunner*> runners);

 private:
  absl::Status Collect(MetricSink& sink) const;

  EventLog* log_ = nullptr;
  prometheus::Family<prometheus::Histogram>& apply_duration_;
  std::vector<const ProjectorRunner*> runners_;
};

// The total size of the files under `path` (0 if it does not exist).
int64_t DiskUsage(const std::string& path);

}  // namespace voronka

#endif  // VORONKA_SERVICES_PROJECTOR_METRICS_H_
