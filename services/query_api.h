// The query API: the read models (projections/queries.h) over HTTP/JSON,
// under /v1, plus GET /healthz, GET /readyz and GET /metrics. docs/api.md lists
// every route, its parameters, a request/response example and its errors.
//
//   HttpServer server;
//   RegisterQueryApi(server, {.config = &config,
//                             .indicators = [&] { return s->indicators(); },
//                             .funnel = [&] { return s->funnel(); },
//                             .tokens = &tokens});
//   server.Start({.address = "127.0.0.1", .port = 8480});
//
// Handlers are pure reads of committed data; the only clock read is
// `options.clock` when a request gives no `now` (or no date range).
//
// Errors are application/problem+json: 400 for a bad parameter (the detail
// names it and why; unknown names list the valid ones under "valid"), 404
// for an unknown deal or department in the path, 401/403 from the token
// store, 503 with Retry-After while a read model is not open yet, and 404
// for the routes of a projection this process does not serve (its getter
// is empty).
//
// Thread-safety: the handlers may run concurrently; `options` (config,
// tokens, getters) must outlive the server and be safe to call from many
// threads.
#ifndef VORONKA_SERVICES_QUERY_API_H_
#define VORONKA_SERVICES_QUERY_API_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "events/funnel_config.h"
#include "events/timestamp.h"
#include "projections/store.h"
#include "services/auth.h"
#include "services/health.h"
#include "services/http_server.h"
#include "services/metrics.h"

namespace voronka {

using StoreGetter = std::function<std::shared_ptr<const ProjectionStore>()>;

struct QueryApiOptions {
  const FunnelConfig* config = nullptr;  // Required.
  // The stores in service (null while not open: 503). An empty getter means
  // this process does not serve that projection: its routes answer 404.
  StoreGetter indicators;
  StoreGetter funnel;
  // Every route but /healthz needs the viewer role. Null: no auth
  // (--insecure-dev).
  const TokenStore* tokens = nullptr;
  // "Now" when a request does not say; Timestamp::Now if empty.
  std::function<Timestamp()> clock;
  // GET /readyz: 200 when it says ready, else 503 (services/health.h).
  // Empty: ready whenever the process answers.
  ReadinessCheck readiness;
  // The process's metrics: served on GET /metrics (no auth), and every
  // answered request counted in them. Null: no /metrics.
  Metrics* metrics = nullptr;
};

// Query-range limits (also in docs/api.md).
inline constexpr int64_t kMaxRangeDays = 3660;      // Any range: ~10 years.
inline constexpr int64_t kMaxDailyRangeDays = 400;  // group=day.
inline constexpr int64_t kMaxPageLimit = 1000;
inline constexpr int64_t kDefaultPageLimit = 100;

// The HTTP listener of `voronka serve` and `voronka project`: the flags
// --listen ADDR:PORT, --tokens FILE and --insecure-dev.
struct ApiListenFlags {
  std::string listen = "127.0.0.1:8480";
  std::string tokens_path;
  bool insecure_dev = false;
  size_t max_body_bytes = 16 << 20;  // --max-body: larger requests get 413.
  // --ready-max-lag: /readyz fails while a projector is further behind.
  int64_t ready_max_lag = 10000;
  // --metrics-per-manager: per-manager series (voronka_manager_*).
  bool metrics_per_manager = false;
  // Not a flag: the listener serves only /metrics, /healthz and /readyz
  // (`ingest --no-http`), which need no token; no warning then.
  bool health_only = false;
};
void AddApiListenFlags(CLI::App& cmd, ApiListenFlags& flags);

// InvalidArgument (saying why) with neither --tokens nor --insecure-dev, or
// both, or a bad --listen.
absl::Status CheckApiListenFlags(const ApiListenFlags& flags);

// Registers more routes on the API's server (e.g. ingest), with the token
// store the server checks (null under --insecure-dev).
using MoreRoutes =
    std::function<absl::Status(HttpServer& server, const TokenStore* tokens)>;

// The query API on its own HttpServer, with the token store it checks.
class QueryApiServer {
 public:
  // Loads the tokens, registers the routes (options.tokens is set here),
  // the funnel page (services/funnel_page.h; if a read model is served) and
  // `more_routes`, and starts listening; prints "listening on
  // http://ADDR:PORT" (the real port when 0 was asked), a line of URLs to
  // try (the page's among them) and, with --insecure-dev, a loud warning to
  // `out`. Unavailable if the address can not be bound.
  static absl::StatusOr<std::unique_ptr<QueryApiServer>> Start(
      const ApiListenFlags& flags, QueryApiOptions options, std::ostream& out,
      const MoreRoutes& more_routes = nullptr);
  ~QueryApiServer() { Stop(); }

  uint16_t port() const { return http_.port(); }
  // "http://ADDR:PORT" with the real port.
  const std::string& url() const { return url_; }
  // Stops accepting, lets requests in flight finish (up to 10 s).
  void Stop() { http_.Stop(absl::Seconds(10)); }

 private:
  QueryApiServer() = default;
  std::unique_ptr<TokenStore> tokens_;
  HttpServer http_;
  std::string url_;
};

// Adds the routes. InvalidArgument without a config; the server's errors
// if a route is already taken or the server already started.
absl::Status RegisterQueryApi(HttpServer& server, QueryApiOptions options);

}  // namespace voronka

#endif  // VORONKA_SERVICES_QUERY_API_H_
