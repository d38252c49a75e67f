// HttpServer: the HTTP/1.1 server that Voronka's query API and HTTP ingest
// sit on. Routes map (method, pattern) to a handler; the server owns
// sockets, keep-alive, limits, timeouts and the errors that no handler sees.
//
//   HttpServer server;
//   server.Route("GET", "/v1/deals/{deal}", [](const HttpRequest& r) {
//     return HttpResponse::Json(200, {{"deal", r.PathParam("deal")}});
//   });
//   absl::Status started = server.Start({.port = 0});
//   ... server.port() ...
//   server.Stop(absl::Seconds(10));
//
// Concurrency model. `io_threads` threads run Boost.Asio: they accept,
// read and parse requests and write responses, with every connection on its
// own strand (one request at a time per connection; no pipelining). A
// routed request's handler runs on a separate handler pool that grows on
// demand up to `max_handler_threads` (default: max_connections), so a
// handler may BLOCK (an fsync'd append, a store read) without stalling any
// other connection: each connection has at most one request in a handler,
// hence never waits for another connection's handler while the pool is
// sized to max_connections. Idle keep-alive connections hold no thread.
// Answers the server makes itself (404, 405, 400, 413, 503) never reach
// the pool.
//
// Errors the server answers itself, as RFC 9457 application/problem+json:
//   400 malformed HTTP or request target (connection closed afterwards)
//   404 no route matches the path
//   405 a route matches the path but not the method (with `Allow`)
//   413 body larger than max_body_bytes, decided from Content-Length before
//       the body is read, or as soon as a chunked body passes the limit
//   431 header section larger than 64 KiB
//   503 max_connections reached (with `Retry-After: 1`, then closed)
//   500 a handler threw; the exception's message is logged, never sent
//
// Thread-safety: Route() only before Start(). Start(), Stop() and the
// destructor from one controlling thread; port() and active_connections()
// from any thread. Handlers and `on_request` are called concurrently from
// many threads.
#ifndef VORONKA_SERVICES_HTTP_SERVER_H_
#define VORONKA_SERVICES_HTTP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace voronka {

using HttpFields = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // As sent: "GET", "POST" (methods are case-sensitive).
  std::string path;    // Percent-decoded, without the query.
  HttpFields query;    // Percent-decoded ('+' is a space), in order; repeated
                       // keys are kept.
  HttpFields headers;  // As received; look up with Header().
  std::string body;
  HttpFields path_params;  // From the route pattern: {deal} -> ("deal", ...).
  std::string peer;        // "address:port" of the client.

  // The first header named `name`, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
  // The first value of query key `key`.
  std::optional<std::string_view> Query(std::string_view key) const;
  // All values of query key `key`, in order.
  std::vector<std::string_view> QueryAll(std::string_view key) const;
  // The value of {name} in the matched pattern; "" if the pattern has none.
  std::string_view PathParam(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  HttpFields headers;  // Extra headers. Content-Length and Connection are
                       // set by the server.
  std::string body;

  static HttpResponse Json(int status, const nlohmann::json& body);
};

// An RFC 9457 problem: {"type": "about:blank", "title", "status", "detail"}
// plus the members of `extensions` (an object, e.g. {"errors": [...]}).
HttpResponse ProblemResponse(
    int status, std::string_view title, std::string_view detail,
    const nlohmann::json& extensions = nlohmann::json::object());

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// What the metrics hook sees once per answered request (also for the
// server's own 4xx answers; not for 503 rejections or dropped connections).
struct HttpRequestRecord {
  std::string_view method;
  std::string_view route;  // The pattern, e.g. "/v1/deals/{deal}"; "" if none.
  int status = 0;
  absl::Duration duration;  // From the complete header to the written response.
  size_t request_body_bytes = 0;
  size_t response_body_bytes = 0;
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see port().
  size_t max_body_bytes = 16 << 20;
  size_t max_connections = 1024;
  // How long a keep-alive connection may wait for (the header of) its next
  // request before the server closes it.
  absl::Duration idle_timeout = absl::Seconds(60);
  // Bound on reading a body and on writing a response.
  absl::Duration request_timeout = absl::Seconds(30);
  int io_threads = 2;
  size_t max_handler_threads = 0;  // 0: max_connections.
  // Called on an I/O thread after each response is written; keep it cheap.
  std::function<void(const HttpRequestRecord&)> on_request;
};

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();  // Stop(absl::ZeroDuration()) if still running.
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route. `pattern` is a path of '/'-separated segments, each a
  // literal or a {name} that matches one whole non-empty segment (decoded,
  // so %2F inside a segment does not split it). InvalidArgument for a bad
  // pattern, AlreadyExists for a repeated (method, pattern),
  // FailedPrecondition after Start().
  absl::Status Route(std::string method, std::string pattern,
                     HttpHandler handler);

  // Binds, listens and starts the threads. Unavailable if the address can
  // not be bound; FailedPrecondition if already started (a stopped server
  // is not restarted: make a new one).
  absl::Status Start(HttpServerOptions options);

  // The bound port (the real one when options.port was 0); 0 before Start.
  uint16_t port() const;

  // Accepted connections not yet closed (503 rejections not counted).
  size_t active_connections() const;

  // Graceful stop: closes the listening socket (new connections are
  // refused), closes idle keep-alive connections, and lets requests in
  // flight finish; their responses carry `Connection: close`. Connections
  // still open after `grace` are closed. A handler that is still running
  // then cannot be interrupted: Stop waits for it to return and drops its
  // response. Idempotent. Never call it from a handler (it waits for them).
  void Stop(absl::Duration grace);

  class Impl;  // Public only so that http_server.cc's helpers can name it.

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_HTTP_SERVER_H_
