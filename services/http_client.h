// HttpClient: a small synchronous HTTP/1.1 client (Boost.Beast) over one
// persistent keep-alive connection to one server, for senders such as
// `voronka simulate --url`. http:// only: put TLS in a proxy in front.
//
//   absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://127.0.0.1:8480/v1/x");
//   HttpClient client(*url, {.request_timeout = absl::Seconds(10)});
//   absl::StatusOr<HttpClientResponse> r =
//       client.Post(url->target, "application/json", "{}", {});
//   if (r.ok() && r->status == 202) ...
//
// Connection. The first request connects; later requests reuse the
// connection until the server closes it (Connection: close, or an idle
// timeout). A request that fails on a REUSED connection before any byte of
// the response arrived (the server closed it while idle) is sent once more
// on a fresh connection; a request that fails on a fresh connection is not.
// So a POST may reach the server twice: send only idempotent requests (as
// ingest's POST /v1/events is, on (source, id)).
//
// Errors: Unavailable for anything on the network side (name resolution,
// connection refused or reset, connect_timeout or request_timeout passed,
// a malformed or oversized response) - the request may or may not have
// been processed. Any HTTP status, 4xx and 5xx included, is a response,
// not an error. InvalidArgument for a bad URL (https included).
//
// Thread-compatible: one HttpClient per thread, no shared state.
#ifndef VORONKA_SERVICES_HTTP_CLIENT_H_
#define VORONKA_SERVICES_HTTP_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/http_server.h"

namespace voronka {

// The parts of "http://host[:port][/path][?query]" (port 80 if absent;
// target "/" if there is no path). IPv6 literals in brackets are accepted.
struct HttpUrl {
  std::string host;
  uint16_t port = 80;
  std::string target;  // Path and query, as written.

  std::string ToString() const;  // "http://host:port/target".
};

// InvalidArgument for anything that is not an absolute http:// URL with a
// host, and for https:// ("not supported, put TLS in front").
absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url);

struct HttpClientOptions {
  // Name resolution plus TCP connect.
  absl::Duration connect_timeout = absl::Seconds(5);
  // Writing the request plus reading the whole response.
  absl::Duration request_timeout = absl::Seconds(30);
  size_t max_response_body_bytes = 16 << 20;
};

struct HttpClientResponse {
  int status = 0;
  HttpFields headers;
  std::string body;

  // The first header named `name`, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
};

class HttpClient {
 public:
  // Does not connect yet; `url.target` is not used (each request names its
  // own target).
  explicit HttpClient(HttpUrl url, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // POSTs `body` to `target` ("/v1/events") with Content-Type
  // `content_type` and the extra `headers` (Host, Content-Length and
  // Connection are set by the client). See the top of the file for errors
  // and the one retry on a stale connection.
  [[nodiscard]] absl::StatusOr<HttpClientResponse> Post(
      std::string_view target, std::string_view content_type,
      std::string_view body, const HttpFields& headers = {});

  // The same for a GET without a body.
  [[nodiscard]] absl::StatusOr<HttpClientResponse> Get(
      std::string_view target, const HttpFields& headers = {});

  // Closes the connection, if any; the next request reconnects.
  void Close();

  // TCP connections opened so far (diagnostics and tests).
  int64_t connections_opened() const;

  class Impl;  // Public only so that http_client.cc's helpers can name it.

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_HTTP_CLIENT_H_
