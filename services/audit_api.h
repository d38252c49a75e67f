// The audit API (docs/audit.md): a manager's history, deals and handover,
// book as of a moment and verified digest, for tokens with the `auditor`
// role (or admin); the access log for `admin`. Every answer to an auditor
// is preceded by a durable access record (services/audit_access.h): if it
// cannot be written, the answer is 503 and nothing is shown.
//
//   GET /v1/audit/managers
//   GET /v1/audit/managers/{manager}/history?from=&to=&after=P:O&limit=N
//   GET /v1/audit/managers/{manager}/deals   (outcomes, handover, drain)
//   GET /v1/audit/managers/{manager}/book?as_of=T
//   GET /v1/audit/managers/{manager}/verify
//   GET /v1/audit/access
//
// History pages: at most `limit` rows (default 1000, at most 10000) in log
// order, and `next_after` ("partition:offset") to ask for the rows after
// them; memory per request is one page.
#ifndef VORONKA_SERVICES_AUDIT_API_H_
#define VORONKA_SERVICES_AUDIT_API_H_

#include "events/funnel_config.h"
#include "events/log.h"
#include "services/audit_access.h"
#include "services/auth.h"
#include "services/http_server.h"
#include "services/query_api.h"

namespace voronka {

struct AuditApiOptions {
  const FunnelConfig* config = nullptr;  // Required.
  StoreGetter audit;                     // The audit index in service.
  StoreGetter indicators;   // Optional: pipeline-drain weeks in /deals.
  EventLog* log = nullptr;  // Required: history is read here.
  AuditAccessLog* access = nullptr;    // Required.
  const TokenStore* tokens = nullptr;  // Null: no auth (--insecure-dev).
};

// InvalidArgument without config, log or access log.
absl::Status RegisterAuditApi(HttpServer& server, AuditApiOptions options);

}  // namespace voronka

#endif  // VORONKA_SERVICES_AUDIT_API_H_
