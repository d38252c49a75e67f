// HttpClient on Boost.Beast. See http_client.h for the contract.
//
// Every network operation is asynchronous on a private io_context that the
// calling thread runs until the operation completes: that is how
// beast::tcp_stream's deadlines (expires_after) apply, which they do not to
// Beast's synchronous calls. Name resolution is synchronous (the system
// resolver's own timeouts apply; a numeric address resolves at once).
#include "services/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <exception>
#include <optional>

#include "absl/strings/match.h"
#include "events/status.h"
#include "fmt/format.h"

namespace voronka {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

namespace {

constexpr size_t kHeaderLimit = 64 << 10;

std::chrono::steady_clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      absl::ToChronoNanoseconds(std::max(d, absl::Milliseconds(1))));
}

// Debian's absl::string_view is not std::string_view.
absl::string_view Absl(std::string_view s) { return {s.data(), s.size()}; }

bool HasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// The errors that say "the server had closed this connection" when they
// come before any byte of a response.
bool IsStaleConnectionError(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset ||
         ec == net::error::connection_aborted || ec == net::error::broken_pipe;
}

}  // namespace

std::string HttpUrl::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", host, v6 ? "]" : "",
                     port, target);
}

absl::StatusOr<HttpUrl> ParseHttpUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(fmt::format("URL \"{}\": {}", url, why));
  };
  constexpr std::string_view kScheme = "http://";
  if (absl::StartsWithIgnoreCase(Absl(url), "https://")) {
    return bad("https is not supported, put TLS in front (a proxy)");
  }
  if (!absl::StartsWithIgnoreCase(Absl(url), Absl(kScheme))) {
    return bad("not an http:// URL");
  }
  if (HasLineBreak(url) || url.find(' ') != std::string_view::npos) {
    return bad("contains a space or line break");
  }
  std::string_view rest = url.substr(kScheme.size());
  const size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  HttpUrl out;
  out.target = path_start == std::string_view::npos
                   ? "/"
                   : std::string(rest.substr(path_start));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    return bad("user information is not supported");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("junk after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (out.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(),
                                     port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return bad(fmt::format("bad port \"{}\"", port_text));
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

std::optional<std::string_view> HttpClientResponse::Header(
    std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, Absl(name))) return value;
  }
  return std::nullopt;
}

class HttpClient::Impl {
 public:
  Impl(HttpUrl url, HttpClientOptions options)
      : url_(std::move(url)), options_(options) {
    const bool v6 = url_.host.find(':') != std::string::npos;
    host_header_ = fmt::format("{}{}{}:{}", v6 ? "[" : "", url_.host,
                               v6 ? "]" : "", url_.port);
  }

  absl::StatusOr<HttpClientResponse> Send(http::verb method,
                                          std::string_view target,
                                          std::string_view content_type,
                                          std::string_view body,
                                          const HttpFields& headers) {
    if (target.empty() || target.front() != '/' || HasLineBreak(target) ||
        target.find(' ') != std::string_view::npos) {
      return absl::InvalidArgumentError(
          fmt::format("HTTP request target \"{}\" is not a path", target));
    }
    for (const auto& [name, value] : headers) {
      if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) {
        return absl::InvalidArgumentError(fmt::format(
            "HTTP header \"{}\" is empty or has a line break", name));
      }
    }
    try {
      http::request<http::string_body> req{
          method, beast::string_view(target.data(), target.size()), 11};
      req.set(http::field::host, host_header_);
      req.keep_alive(true);
      for (const auto& [name, value] : headers) req.set(name, value);
      if (method != http::verb::get) {
        req.set(http::field::content_type,
                beast::string_view(content_type.data(), content_type.size()));
        req.body() = std::string(body);
        req.prepare_payload();
      }
      const bool reused = stream_.has_value();
      bool response_started = false;
      absl::StatusOr<HttpClientResponse> response =
          Exchange(req, &response_started);
      if (!response.ok() && reused && !response_started &&
          stale_error_) {  // The server had closed the idle connection.
        response = Exchange(req, &response_started);
      }
      return response;
    } catch (const std::exception& e) {
      Close();
      return absl::InternalError(fmt::format("HTTP client: {}", e.what()));
    }
  }

  void Close() {
    if (!stream_) return;
    beast::error_code ignored;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_->socket().close(ignored);
    stream_.reset();
    buffer_.clear();
  }

  int64_t connections_opened() const { return connections_opened_; }

 private:
  // Runs the I/O started on ioc_ until it completes (each operation has a
  // deadline, so this returns).
  void Run() {
    ioc_.restart();
    ioc_.run();
  }

  absl::Status Unavailable(std::string_view what, const beast::error_code& ec) {
    const std::string reason =
        ec == beast::error::timeout ? std::string("timed out") : ec.message();
    return absl::UnavailableError(
        fmt::format("HTTP {} {}: {}", what, url_.ToString(), reason));
  }

  absl::Status Connect() {
    Close();
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type endpoints =
        resolver.resolve(url_.host, std::to_string(url_.port), ec);
    if (ec) return Unavailable("resolving", ec);
    stream_.emplace(ioc_);
    stream_->expires_after(ToChrono(options_.connect_timeout));
    stream_->async_connect(
        endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    Run();
    if (ec) {
      Close();
      return Unavailable("connecting to", ec);
    }
    ++connections_opened_;
    beast::error_code ignored;
    stream_->socket().set_option(tcp::no_delay(true), ignored);
    return absl::OkStatus();
  }

  // Sends `req` on the current connection (a new one if there is none) and
  // reads the response. On error the connection is closed, and
  // *response_started / stale_error_ tell whether any response byte came
  // and whether the error looks like a connection the server had closed.
  absl::StatusOr<HttpClientResponse> Exchange(
      const http::request<http::string_body>& req, bool* response_started) {
    stale_error_ = false;
    *response_started = false;
    if (!stream_) VORONKA_RETURN_IF_ERROR(Connect());
    beast::error_code ec;
    stream_->expires_after(ToChrono(options_.request_timeout));
    http::async_write(*stream_, req,
                      [&](beast::error_code e, size_t) { ec = e; });
    Run();
    if (ec) {
      stale_error_ = IsStaleConnectionError(ec);
      Close();
      return Unavailable("sending to", ec);
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(options_.max_response_body_bytes);
    http::async_read(*stream_, buffer_, parser,
                     [&](beast::error_code e, size_t) { ec = e; });
    Run();
    if (ec) {
      *response_started = parser.got_some();
      stale_error_ = !*response_started && IsStaleConnectionError(ec);
      Close();
      return Unavailable("reading the response from", ec);
    }
    http::response<http::string_body> res = parser.release();
    HttpClientResponse out;
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers.emplace_back(std::string(field.name_string()),
                               std::string(field.value()));
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) Close();
    return out;
  }

  const HttpUrl url_;
  const HttpClientOptions options_;
  std::string host_header_;
  net::io_context ioc_;
  std::optional<beast::tcp_stream> stream_;  // Connected, or empty.
  beast::flat_buffer buffer_;
  bool stale_error_ = false;
  int64_t connections_opened_ = 0;
};

HttpClient::HttpClient(HttpUrl url, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(url), options)) {}
HttpClient::~HttpClient() = default;

absl::StatusOr<HttpClientResponse> HttpClient::Post(
    std::string_view target, std::string_view content_type,
    std::string_view body, const HttpFields& headers) {
  return impl_->Send(http::verb::post, target, content_type, body, headers);
}

absl::StatusOr<HttpClientResponse> HttpClient::Get(std::string_view target,
                                                   const HttpFields& headers) {
  return impl_->Send(http::verb::get, target, "", "", headers);
}

void HttpClient::Close() { impl_->Close(); }

int64_t HttpClient::connections_opened() const {
  return impl_->connections_opened();
}

}  // namespace voronka
