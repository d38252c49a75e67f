// HTTP ingest: POST /v1/events, how call-centre and CRM software send events
// (docs/ingest.md has the wire format, examples and every error).
//
//   HttpServer server;
//   RegisterIngestApi(server, {.config = &config, .log = idempotent.get(),
//                              .tokens = &tokens});
//
// A request carries CloudEvents in one of three modes, chosen by its
// Content-Type (parameters such as charset are ignored):
//   application/cloudevents+json        structured: one event
//   application/cloudevents-batch+json  batch: a JSON array of events
//   application/json + ce-* headers     binary: attributes in headers, the
//                                       body is `data`
// Answers:
//   202  every event is durable in the log (or was already: a retry). Body:
//        {"accepted": N, "appended": K, "duplicates": D,
//         "positions": [{"partition": P, "offset": O}, ...]} one per event,
//        in request order; a duplicate gets its first copy's position.
//   400  the body is not JSON                         } application/problem+
//   401/403  no valid token / no `ingest` role        } json (RFC 9457);
//   409  an (source, id) was accepted before with     } "errors" lists every
//        different content                            } problem: index, JSON
//   413  body over the server's limit, or more than   } path, reason
//        max_batch_events events
//   415  no or another content type
//   422  invalid events (DOMAIN.md §3, the funnel configuration)
//   503  the log is unavailable (Retry-After): nothing was acknowledged
// A batch is all or nothing: one invalid or conflicting event and nothing
// of the request is appended. Ingest sets each event's recorded_time to the
// moment it accepts the request.
//
// Thread-safety: handlers run concurrently; `options` members must outlive
// the server and be thread-safe (IdempotentLog and TokenStore are).
#ifndef VORONKA_SERVICES_INGEST_API_H_
#define VORONKA_SERVICES_INGEST_API_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "events/cloudevents.h"
#include "events/funnel_config.h"
#include "events/idempotent_log.h"
#include "events/timestamp.h"
#include "services/auth.h"
#include "services/http_server.h"
#include "services/ingest_metrics.h"

namespace voronka {

struct IngestApiOptions {
  const FunnelConfig* config = nullptr;  // Required.
  IdempotentLog* log = nullptr;          // Required.
  // POST /v1/events needs the ingest role. Null: no auth (--insecure-dev).
  const TokenStore* tokens = nullptr;
  // recorded_time of accepted events; Timestamp::Now if empty.
  std::function<Timestamp()> clock;
  size_t max_batch_events = 10000;
  absl::Duration retry_after = absl::Seconds(1);  // On 503.
  IngestMetrics* metrics = nullptr;               // Optional.
};

// Adds POST /v1/events. InvalidArgument without a config or log.
absl::Status RegisterIngestApi(HttpServer& server, IngestApiOptions options);

// The events of an AppendOnceResult with conflicts, as errors naming the
// event (`id_path(i)`, e.g. "events[3].id") and the earlier copy.
std::vector<FieldError> ConflictErrors(
    const AppendOnceResult& result, std::span<const Event> events,
    const std::function<std::string(size_t)>& id_path);

}  // namespace voronka

#endif  // VORONKA_SERVICES_INGEST_API_H_
