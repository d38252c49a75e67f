// Log metrics (docs/observability.md): the log's end offset per partition;
// for Kafka the producer's delivery errors and queue depth, for the
// embedded log its size on disk. Read when Prometheus scrapes.
//
//   AddLogMetrics(metrics, *log, flags.data_dir);
//
// `log` must outlive the metrics' route. `embedded_dir` is the embedded
// log's directory ("" for Kafka).
#ifndef VORONKA_SERVICES_LOG_METRICS_H_
#define VORONKA_SERVICES_LOG_METRICS_H_

#include <string>

#include "events/log.h"
#include "services/metrics.h"

namespace voronka {

void AddLogMetrics(Metrics& metrics, EventLog& log, std::string embedded_dir);

}  // namespace voronka

#endif  // VORONKA_SERVICES_LOG_METRICS_H_
