// Health and readiness, for GET /healthz and GET /readyz (used by load
// balancers, Kubernetes probes and deploy scripts):
//
//   /healthz  200 while the process serves HTTP at all (alive).
//   /readyz   200 when the process can do its job now, 503 otherwise, with
//             a JSON body naming every check and why it fails:
//               projectors: the store in service is open, the projector is
//                 not retrying after an error, and it is at most
//                 --ready-max-lag records behind the log's end;
//               log: the log answers (Kafka: a broker gives the end
//                 offsets).
//
//   {"status": "not ready",
//    "checks": {"log": {"ok": true},
//               "funnel": {"ok": false, "lag": 5000, "reason": "..."}}}
//
// Thread-safe (reads runners' status and the log's end offsets).
#ifndef VORONKA_SERVICES_HEALTH_H_
#define VORONKA_SERVICES_HEALTH_H_

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "events/log.h"
#include "nlohmann/json.hpp"
#include "services/projector_runner.h"

namespace voronka {

struct Readiness {
  bool ready = true;
  nlohmann::json checks = nlohmann::json::object();
};
using ReadinessCheck = std::function<Readiness()>;

// The log check alone (ingest), or with the projectors (serve, project).
Readiness CheckReadiness(EventLog& log,
                         std::span<const ProjectorRunner* const> runners,
                         int64_t max_lag);

}  // namespace voronka

#endif  // VORONKA_SERVICES_HEALTH_H_
