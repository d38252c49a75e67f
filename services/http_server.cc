// HttpServer on Boost.Beast. See http_server.h for the contract and the
// concurrency model; this file has three parts: HandlerPool (the threads
// handlers run on), Connection (one keep-alive connection, a small state
// machine on its strand) and HttpServer::Impl (accept loop, registry, Stop).
#include "services/http_server.h"

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "events/status.h"
#include "fmt/format.h"
#include "services/http_route.h"
#include "spdlog/spdlog.h"

namespace voronka {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kHeaderLimit = 64 << 10;
// How long a connection closed after an error answer keeps reading (and
// discarding) what the client still sends, so that the client sees the
// answer instead of a reset.
constexpr auto kLingerTime = std::chrono::seconds(2);
// Rejected (503) connections lingering at once; beyond that, plain close.
constexpr size_t kMaxRejecting = 64;

Clock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<Clock::duration>(
      absl::ToChronoNanoseconds(d));
}

// Runs tasks on threads started on demand: a task never waits while fewer
// than `max_threads` tasks run. Threads are kept until Join().
class HandlerPool {
 public:
  explicit HandlerPool(size_t max_threads) : max_threads_(max_threads) {}
  ~HandlerPool() { Join(); }

  void Submit(std::function<void()> task) {
    std::unique_lock lock(mu_);
    if (shutdown_) return;
    queue_.push_back(std::move(task));
    if (idle_ < queue_.size() && threads_.size() < max_threads_) {
      threads_.emplace_back([this] { Work(); });
    }
    lock.unlock();
    cv_.notify_one();
  }

  // Drops queued tasks and waits for running ones.
  void Join() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lock(mu_);
      shutdown_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Work() {
    std::unique_lock lock(mu_);
    while (true) {
      ++idle_;
      cv_.wait(lock, [this] { return shutdown_ || !queue_.empty(); });
      --idle_;
      if (shutdown_) return;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // Destroy captures outside the lock.
      lock.lock();
    }
  }

  const size_t max_threads_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

class Connection;

}  // namespace

class HttpServer::Impl {
 public:
  ~Impl() { Stop(absl::ZeroDuration()); }

  absl::Status Start(HttpServerOptions options);
  void Stop(absl::Duration grace);

  HttpServerOptions options;
  RouteTable routes;
  bool started = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> port{0};

  // Registry of accepted connections. Declared before io_context so that it
  // outlives connections destroyed with the io_context's pending handlers.
  std::mutex mu;
  std::condition_variable drained;
  std::unordered_map<uint64_t, std::weak_ptr<Connection>> connections;
  uint64_t next_id = 1;
  std::atomic<size_t> active{0};
  std::atomic<size_t> rejecting{0};

  std::unique_ptr<HandlerPool> pool;
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::optional<tcp::acceptor> acceptor;
  std::optional<net::steady_timer> accept_retry;
  std::vector<std::thread> io_threads;

 private:
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  std::vector<std::shared_ptr<Connection>> Snapshot();
  // Waits until no connection is open or `deadline`; true if none is.
  bool WaitDrained(Clock::time_point deadline);
};

namespace {

// One accepted connection: reads a request, answers it (inline for the
// server's own errors, through the HandlerPool for routes), and loops while
// keep-alive holds. All members are touched only on the strand, except
// request_ and route_, which the handler reads while the strand waits.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // id 0: a connection over max_connections, to be Reject()ed.
  Connection(HttpServer::Impl& server, tcp::socket socket, uint64_t id)
      : server_(server), stream_(std::move(socket)), id_(id) {
    beast::error_code ec;
    tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec)
      peer_ = fmt::format("{}:{}", peer.address().to_string(), peer.port());
  }

  ~Connection() {
    if (id_ == 0) {
      --server_.rejecting;
      return;
    }
    std::lock_guard lock(server_.mu);
    server_.connections.erase(id_);
    --server_.active;
    server_.drained.notify_all();
  }

  net::any_io_executor executor() { return stream_.get_executor(); }

  void Start() { ReadHeader(); }

  void Reject() {
    HttpResponse r = ProblemResponse(
        503, "Service Unavailable",
        "the server has reached its connection limit; retry later");
    r.headers.emplace_back("Retry-After", "1");
    Send(std::move(r), /*close=*/true);
  }

  // Stop(): close now if waiting for a request, else answer and close.
  void OnStop() {
    stop_requested_ = true;
    if (state_ == State::kIdle) Close();
  }

  void ForceClose() { Close(); }

 private:
  enum class State { kIdle, kBusy, kClosed };

  void ReadHeader() {
    state_ = State::kIdle;
    if (stop_requested_ || server_.stopping) return Close();
    method_.clear();
    route_ = {};
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(ToChrono(server_.options.idle_timeout));
    http::async_read_header(
        stream_, buffer_, *parser_,
        beast::bind_front_handler(&Connection::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t) {
    if (ec) return OnReadError(ec);
    state_ = State::kBusy;
    started_ = Clock::now();
    const auto& header = parser_->get();
    method_ = std::string(header.method_string());
    request_bytes_ = 0;
    route_ = {};
    if (auto length = parser_->content_length();
        length && *length > server_.options.max_body_bytes) {
      return OnReadError(http::error::body_limit);
    }
    auto expect = header.find(http::field::expect);
    if (expect != header.end() &&
        beast::iequals(expect->value(), "100-continue") &&
        !parser_->is_done()) {
      continue_.emplace(http::status::continue_, header.version());
      stream_.expires_after(ToChrono(server_.options.request_timeout));
      http::async_write(
          stream_, *continue_,
          [self = shared_from_this()](beast::error_code ec, size_t) {
            if (ec) return self->Close();
            self->ReadBody();
          });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return OnRequest();
    stream_.expires_after(ToChrono(server_.options.request_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->OnRequest();
                     });
  }

  void OnReadError(beast::error_code ec) {
    static const auto& http_category =
        beast::http::make_error_code(http::error::bad_target).category();
    if (ec == http::error::body_limit) {
      return SendError(413, "Content Too Large",
                       fmt::format("the body is larger than the limit of {} "
                                   "bytes",
                                   server_.options.max_body_bytes));
    }
    if (ec == http::error::header_limit) {
      return SendError(431, "Request Header Fields Too Large",
                       fmt::format("the header section is larger than {} "
                                   "bytes",
                                   kHeaderLimit));
    }
    if (ec.category() == http_category && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return SendError(400, "Bad Request",
                       fmt::format("malformed HTTP request: {}", ec.message()));
    }
    Close();  // EOF, timeout, reset, or closed by Stop().
  }

  // An answer after which the connection is closed (the rest of the
  // request may be unread).
  void SendError(int status, std::string_view title, std::string detail) {
    state_ = State::kBusy;
    if (started_ == Clock::time_point()) started_ = Clock::now();
    Send(ProblemResponse(status, title, detail), /*close=*/true);
  }

  void OnRequest() {
    http::request<http::string_body> message = parser_->release();
    keep_alive_ = message.keep_alive();
    request_bytes_ = message.body().size();
    std::string_view target(message.target().data(), message.target().size());
    absl::StatusOr<ParsedTarget> parsed = ParseTarget(target);
    if (!parsed.ok()) {
      return Send(ProblemResponse(400, "Bad Request",
                                  std::string(MessageOf(parsed.status()))),
                  false);
    }
    RouteTable::Match match = server_.routes.Find(method_, parsed->segments);
    if (match.handler == nullptr) {
      if (match.allowed.empty()) {
        return Send(
            ProblemResponse(404, "Not Found",
                            fmt::format("no resource at {}", parsed->path)),
            false);
      }
      std::string allow = fmt::format("{}", fmt::join(match.allowed, ", "));
      HttpResponse r =
          ProblemResponse(405, "Method Not Allowed",
                          fmt::format("{} does not allow {}; it allows {}",
                                      parsed->path, method_, allow));
      r.headers.emplace_back("Allow", std::move(allow));
      return Send(std::move(r), false);
    }
    request_ = HttpRequest{};
    request_.method = method_;
    request_.path = std::move(parsed->path);
    request_.query = std::move(parsed->query);
    request_.path_params = std::move(match.params);
    request_.peer = peer_;
    request_.headers.reserve(std::distance(message.begin(), message.end()));
    for (const auto& field : message) {
      request_.headers.emplace_back(std::string(field.name_string()),
                                    std::string(field.value()));
    }
    request_.body = std::move(message.body());
    route_ = match.pattern;
    const HttpHandler* handler = match.handler;
    server_.pool->Submit([self = shared_from_this(), handler] {
      HttpResponse response = self->RunHandler(*handler);
      net::post(self->executor(),
                [self, response = std::move(response)]() mutable {
                  self->Send(std::move(response), false);
                });
    });
  }

  // On a pool thread.
  HttpResponse RunHandler(const HttpHandler& handler) {
    try {
      return handler(request_);
    } catch (const std::exception& e) {
      spdlog::error("http: handler for {} {} threw: {}", method_, route_,
                    e.what());
    } catch (...) {
      spdlog::error("http: handler for {} {} threw a non-exception", method_,
                    route_);
    }
    return ProblemResponse(500, "Internal Server Error",
                           "the request could not be completed; the error "
                           "was logged");
  }

  void Send(HttpResponse r, bool close) {
    if (state_ == State::kClosed) return;
    state_ = State::kBusy;
    response_bytes_ = r.body.size();
    status_ = r.status;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) response_.insert(name, value);
    response_.body() = std::move(r.body);
    close_after_ = close || !keep_alive_ || stop_requested_ || server_.stopping;
    linger_ = close;
    response_.keep_alive(!close_after_);
    response_.prepare_payload();
    stream_.expires_after(ToChrono(server_.options.request_timeout));
    http::async_write(
        stream_, response_,
        beast::bind_front_handler(&Connection::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, size_t) {
    if (id_ != 0 && server_.options.on_request) {
      server_.options.on_request(HttpRequestRecord{
          .method = method_,
          .route = route_,
          .status = status_,
          .duration = absl::FromChrono(Clock::now() - started_),
          .request_body_bytes = request_bytes_,
          .response_body_bytes = response_bytes_});
    }
    started_ = {};
    if (ec) return Close();
    if (!close_after_) return ReadHeader();
    if (linger_) return Linger();
    Close();
  }

  // Half-closes and discards input until the client closes or kLingerTime.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    drain_.resize(16 << 10);
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(
        net::buffer(drain_),
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return self->Close();
          self->DrainSome();
        });
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  const uint64_t id_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> response_;
  std::vector<char> drain_;
  State state_ = State::kIdle;
  bool keep_alive_ = false;
  bool close_after_ = false;
  bool linger_ = false;
  bool stop_requested_ = false;

  // The request in flight, and what the metrics hook is told about it.
  HttpRequest request_;
  std::string method_;
  std::string_view route_;  // Points into the RouteTable.
  int status_ = 0;
  Clock::time_point started_;
  size_t request_bytes_ = 0;
  size_t response_bytes_ = 0;
};

}  // namespace

absl::Status HttpServer::Impl::Start(HttpServerOptions opts) {
  if (started) return absl::FailedPreconditionError("already started");
  options = std::move(opts);
  if (options.max_handler_threads == 0) {
    options.max_handler_threads = options.max_connections;
  }
  options.io_threads = std::max(options.io_threads, 1);
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(options.address, ec);
  if (ec) {
    return absl::InvalidArgumentError(fmt::format(
        "bad listen address '{}': {}", options.address, ec.message()));
  }
  tcp::endpoint endpoint(address, options.port);
  acceptor.emplace(net::make_strand(ioc));
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor.reset();
    return absl::UnavailableError(fmt::format("cannot listen on {}:{}: {}",
                                              options.address, options.port,
                                              ec.message()));
  }
  port = acceptor->local_endpoint().port();
  started = true;
  pool = std::make_unique<HandlerPool>(options.max_handler_threads);
  accept_retry.emplace(acceptor->get_executor());
  work.emplace(ioc.get_executor());
  DoAccept();
  for (int i = 0; i < options.io_threads; ++i) {
    io_threads.emplace_back([this] { ioc.run(); });
  }
  return absl::OkStatus();
}

void HttpServer::Impl::DoAccept() {
  acceptor->async_accept(net::make_strand(ioc),
                         [this](beast::error_code ec, tcp::socket socket) {
                           OnAccept(ec, std::move(socket));
                         });
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (!acceptor->is_open()) return;
  if (ec) {
    // E.g. out of file descriptors: back off instead of spinning.
    spdlog::warn("http: accept failed: {}", ec.message());
    accept_retry->expires_after(std::chrono::milliseconds(100));
    accept_retry->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor->is_open()) DoAccept();
    });
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  if (active >= options.max_connections) {
    if (rejecting < kMaxRejecting) {
      ++rejecting;
      auto c = std::make_shared<Connection>(*this, std::move(socket), 0);
      net::post(c->executor(), [c] { c->Reject(); });
    }
  } else {
    std::shared_ptr<Connection> c;
    {
      std::lock_guard lock(mu);
      uint64_t id = next_id++;
      c = std::make_shared<Connection>(*this, std::move(socket), id);
      connections.emplace(id, c);
      ++active;
    }
    net::post(c->executor(), [c] { c->Start(); });
  }
  DoAccept();
}

std::vector<std::shared_ptr<Connection>> HttpServer::Impl::Snapshot() {
  std::vector<std::shared_ptr<Connection>> live;
  std::lock_guard lock(mu);
  for (auto& [id, weak] : connections) {
    if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  return live;
}

bool HttpServer::Impl::WaitDrained(Clock::time_point deadline) {
  std::unique_lock lock(mu);
  return drained.wait_until(lock, deadline, [this] { return active == 0; });
}

void HttpServer::Impl::Stop(absl::Duration grace) {
  if (!started || stopped) return;
  stopped = true;
  stopping = true;
  const Clock::time_point deadline = Clock::now() + ToChrono(grace);

  std::promise<void> closed;
  net::post(acceptor->get_executor(), [this, &closed] {
    beast::error_code ignored;
    acceptor->close(ignored);
    accept_retry->cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  // The acceptor is closed, so the snapshot holds every connection.
  for (std::shared_ptr<Connection>& c : Snapshot()) {
    net::post(c->executor(), [c] { c->OnStop(); });
  }
  if (!WaitDrained(deadline)) {
    spdlog::warn(
        "http: closing {} connection(s) still open after the grace "
        "period",
        active.load());
    for (std::shared_ptr<Connection>& c : Snapshot()) {
      net::post(c->executor(), [c] { c->ForceClose(); });
    }
    WaitDrained(Clock::now() + std::chrono::seconds(1));
  }
  work.reset();
  ioc.stop();
  for (std::thread& t : io_threads) t.join();
  io_threads.clear();
  pool->Join();
}

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {}
HttpServer::~HttpServer() = default;

absl::Status HttpServer::Route(std::string method, std::string pattern,
                               HttpHandler handler) {
  if (impl_->started) {
    return absl::FailedPreconditionError("routes are added before Start()");
  }
  return impl_->routes.Add(std::move(method), std::move(pattern),
                           std::move(handler));
}

absl::Status HttpServer::Start(HttpServerOptions options) {
  return impl_->Start(std::move(options));
}

uint16_t HttpServer::port() const { return impl_->port; }

size_t HttpServer::active_connections() const { return impl_->active; }

void HttpServer::Stop(absl::Duration grace) { impl_->Stop(grace); }

}  // namespace voronka
