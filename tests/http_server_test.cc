// HttpServer over real loopback sockets, with a small Beast client: routing,
// keep-alive, the server's own errors, blocking handlers, graceful Stop and
// the connection limit.
#include "services/http_server.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace voronka {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using ::testing::HasSubstr;
using Response = http::response<http::string_body>;

// One keep-alive client connection, synchronous.
class Client {
 public:
  explicit Client(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }

  // Sends a request and reads the response; throws on socket errors.
  Response Send(
      http::verb method, const std::string& target, std::string body = "",
      const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "localhost");
    for (const auto& [k, v] : headers) req.set(k, v);
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(socket_, req);
    return Read();
  }

  Response Read() {
    Response res;
    http::read(socket_, buffer_, res);
    return res;
  }

  void WriteRaw(const std::string& bytes) {
    net::write(socket_, net::buffer(bytes));
  }

  // True if the server closed the connection (EOF or reset) within 5 s.
  bool ClosedByServer() {
    socket_.non_blocking(false);
    timeval tv{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
               sizeof(tv));
    char c;
    beast::error_code ec;
    socket_.read_some(net::buffer(&c, 1), ec);
    return ec == net::error::eof || ec == net::error::connection_reset;
  }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

nlohmann::json Problem(const Response& r) {
  EXPECT_EQ(r[http::field::content_type], "application/problem+json");
  return nlohmann::json::parse(r.body());
}

bool CanConnect(uint16_t port) {
  net::io_context ioc;
  tcp::socket s(ioc);
  beast::error_code ec;
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
  return !ec;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    ASSERT_TRUE(server_.Start(std::move(options)).ok());
    ASSERT_NE(server_.port(), 0);
  }
  HttpServer server_;
};

TEST_F(HttpServerTest, RoutesWithPathParamsAndDecodedQuery) {
  ASSERT_TRUE(
      server_
          .Route("GET", "/v1/deals/{deal}/events/{seq}",
                 [](const HttpRequest& r) {
                   nlohmann::json q = nlohmann::json::array();
                   for (const auto& [k, v] : r.query) q.push_back({k, v});
                   return HttpResponse::Json(
                       200, {{"deal", r.PathParam("deal")},
                             {"seq", r.PathParam("seq")},
                             {"path", r.path},
                             {"query", q},
                             {"xs", r.QueryAll("x")},
                             {"agent", r.Header("USER-agent").value_or("")}});
                 })
          .ok());
  ASSERT_TRUE(server_
                  .Route("GET", "/v1/deals/special/events/{seq}",
                         [](const HttpRequest&) {
                           return HttpResponse{.body = "literal wins"};
                         })
                  .ok());
  StartServer();
  Client client(server_.port());
  Response r = client.Send(http::verb::get,
                           "/v1/deals/d%2F1/events/7?x=a%20b&x=c+d&empty=&flag",
                           "", {{"User-Agent", "test/1"}});
  ASSERT_EQ(r.result_int(), 200);
  EXPECT_EQ(r[http::field::content_type], "application/json");
  auto j = nlohmann::json::parse(r.body());
  EXPECT_EQ(j["deal"], "d/1");
  EXPECT_EQ(j["seq"], "7");
  EXPECT_EQ(j["path"], "/v1/deals/d/1/events/7");
  EXPECT_EQ(j["xs"], nlohmann::json::array({"a b", "c d"}));
  EXPECT_EQ(j["query"],
            nlohmann::json::parse(
                R"([["x","a b"],["x","c d"],["empty",""],["flag",""]])"));
  EXPECT_EQ(j["agent"], "test/1");

  EXPECT_EQ(client.Send(http::verb::get, "/v1/deals/special/events/1").body(),
            "literal wins");
  // An empty segment does not match a parameter.
  EXPECT_EQ(client.Send(http::verb::get, "/v1/deals//events/1").result_int(),
            404);
  Response bad = client.Send(http::verb::get, "/v1/deals/%zz/events/1");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_THAT(Problem(bad)["detail"].get<std::string>(),
              HasSubstr("percent-encoding"));
}

TEST_F(HttpServerTest, RejectsBadRoutePatterns) {
  auto h = [](const HttpRequest&) { return HttpResponse{}; };
  EXPECT_EQ(server_.Route("GET", "v1/x", h).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server_.Route("GET", "/v1/x{id}", h).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(server_.Route("GET", "/v1/{}", h).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(server_.Route("GET", "/v1/{id}", h).ok());
  EXPECT_EQ(server_.Route("GET", "/v1/{id}", h).code(),
            absl::StatusCode::kAlreadyExists);
  StartServer();
  EXPECT_EQ(server_.Route("GET", "/v2", h).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  std::mutex mu;
  std::vector<HttpRequestRecord> records;
  std::vector<std::string> routes;  // The records' views die with the call.
  std::vector<std::string> methods;
  ASSERT_TRUE(server_
                  .Route("POST", "/v1/echo",
                         [](const HttpRequest& r) {
                           return HttpResponse{.body = r.body};
                         })
                  .ok());
  StartServer({.on_request = [&](const HttpRequestRecord& r) {
    std::lock_guard lock(mu);
    records.push_back(r);
    routes.emplace_back(r.route);
    methods.emplace_back(r.method);
  }});
  Client client(server_.port());
  for (int i = 0; i < 500; ++i) {
    std::string body = "event-" + std::to_string(i);
    Response r = client.Send(http::verb::post, "/v1/echo", body);
    ASSERT_EQ(r.result_int(), 200);
    ASSERT_EQ(r.body(), body);
    ASSERT_TRUE(r.keep_alive());
  }
  EXPECT_EQ(server_.active_connections(), 1u);
  EXPECT_EQ(client.Send(http::verb::get, "/nope").result_int(), 404);
  server_.Stop(absl::Seconds(5));  // The hook runs after the write: wait.
  std::lock_guard lock(mu);
  ASSERT_EQ(records.size(), 501u);
  EXPECT_EQ(records[0].status, 200);
  EXPECT_EQ(methods[0], "POST");
  EXPECT_EQ(routes[0], "/v1/echo");
  EXPECT_EQ(records[0].request_body_bytes, 7u);
  EXPECT_EQ(records[0].response_body_bytes, 7u);
  EXPECT_EQ(records[500].status, 404);
  EXPECT_EQ(routes[500], "");
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAfterIdleTimeout) {
  StartServer({.idle_timeout = absl::Milliseconds(200)});
  Client client(server_.port());
  EXPECT_EQ(client.Send(http::verb::get, "/x").result_int(), 404);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST_F(HttpServerTest, UnknownPathIs404Problem) {
  StartServer();
  Client client(server_.port());
  Response r = client.Send(http::verb::get, "/v1/missing");
  EXPECT_EQ(r.result_int(), 404);
  auto p = Problem(r);
  EXPECT_EQ(p["status"], 404);
  EXPECT_EQ(p["title"], "Not Found");
  EXPECT_EQ(p["type"], "about:blank");
  EXPECT_THAT(p["detail"].get<std::string>(), HasSubstr("/v1/missing"));
  // The connection stays usable.
  EXPECT_EQ(client.Send(http::verb::get, "/v1/missing").result_int(), 404);
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllow) {
  auto h = [](const HttpRequest&) { return HttpResponse{}; };
  ASSERT_TRUE(server_.Route("POST", "/v1/events", h).ok());
  ASSERT_TRUE(server_.Route("GET", "/v1/events", h).ok());
  StartServer();
  Client client(server_.port());
  Response r = client.Send(http::verb::delete_, "/v1/events");
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "GET, POST");
  EXPECT_EQ(Problem(r)["status"], 405);
}

TEST_F(HttpServerTest, BodyOverLimitIs413BeforeTheBodyIsRead) {
  std::atomic<int> calls{0};
  ASSERT_TRUE(server_
                  .Route("POST", "/v1/events",
                         [&](const HttpRequest&) {
                           ++calls;
                           return HttpResponse{};
                         })
                  .ok());
  StartServer({.max_body_bytes = 1024});
  {
    // Announces 100 MB and sends only the header: the answer comes anyway.
    Client client(server_.port());
    client.WriteRaw(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
        "\r\n");
    Response r = client.Read();
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_THAT(Problem(r)["detail"].get<std::string>(), HasSubstr("1024"));
  }
  {
    // Chunked: stopped as soon as the chunks pass the limit.
    Client client(server_.port());
    client.WriteRaw(
        "POST /v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "\r\n400\r\n" +
        std::string(1024, 'a') + "\r\n10\r\n" + std::string(16, 'b') + "\r\n");
    EXPECT_EQ(client.Read().result_int(), 413);
  }
  {
    // Exactly at the limit is fine.
    Client client(server_.port());
    EXPECT_EQ(
        client.Send(http::verb::post, "/v1/events", std::string(1024, 'x'))
            .result_int(),
        200);
  }
  server_.Stop(absl::Seconds(5));  // Before `calls` goes away.
  EXPECT_EQ(calls, 1);
}

TEST_F(HttpServerTest, SixteenMebibyteBodyWithExpectContinue) {
  ASSERT_TRUE(server_
                  .Route("POST", "/v1/batch",
                         [](const HttpRequest& r) {
                           return HttpResponse{
                               .body = std::to_string(r.body.size())};
                         })
                  .ok());
  StartServer();
  Client client(server_.port());
  const size_t size = 16 << 20;
  client.WriteRaw(
      fmt::format("POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n"
                  "Expect: 100-continue\r\n\r\n",
                  size));
  Response interim = client.Read();
  EXPECT_EQ(interim.result_int(), 100);
  client.WriteRaw(std::string(size, 'e'));
  Response r = client.Read();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), std::to_string(size));
}

TEST_F(HttpServerTest, MalformedRequestIs400AndCloses) {
  StartServer();
  Client client(server_.port());
  client.WriteRaw("THIS IS NOT HTTP\r\n\r\n");
  Response r = client.Read();
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(Problem(r)["title"], "Bad Request");
  EXPECT_TRUE(client.ClosedByServer());
}

TEST_F(HttpServerTest, BlockedHandlerDoesNotStallOtherConnections) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  absl::Notification entered;
  ASSERT_TRUE(server_
                  .Route("POST", "/v1/block",
                         [&](const HttpRequest&) {
                           entered.Notify();
                           released.wait();
                           return HttpResponse{.body = "unblocked"};
                         })
                  .ok());
  ASSERT_TRUE(server_
                  .Route("GET", "/v1/fast",
                         [](const HttpRequest&) {
                           return HttpResponse{.body = "fast"};
                         })
                  .ok());
  // One I/O thread, to show that the wait is not on it.
  StartServer({.io_threads = 1});
  auto blocked = std::async(std::launch::async, [&] {
    Client client(server_.port());
    return client.Send(http::verb::post, "/v1/block", "x").body();
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  for (int i = 0; i < 3; ++i) {
    Client other(server_.port());
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(other.Send(http::verb::get, "/v1/fast").body(), "fast");
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(1));
  }
  release.set_value();
  EXPECT_EQ(blocked.get(), "unblocked");
  server_.Stop(absl::Seconds(5));
}

TEST_F(HttpServerTest, GracefulStopFinishesInFlightRequestAndRefusesNew) {
  absl::Notification entered;
  ASSERT_TRUE(server_
                  .Route("POST", "/v1/slow",
                         [&](const HttpRequest& r) {
                           entered.Notify();
                           std::this_thread::sleep_for(
                               std::chrono::milliseconds(700));
                           return HttpResponse{.body = "done " + r.body};
                         })
                  .ok());
  ASSERT_TRUE(server_
                  .Route("GET", "/v1/ping",
                         [](const HttpRequest&) { return HttpResponse{}; })
                  .ok());
  StartServer();
  const uint16_t port = server_.port();
  Client idle(port);  // Keep-alive, between requests.
  EXPECT_EQ(idle.Send(http::verb::get, "/v1/ping").result_int(), 200);

  auto slow = std::async(std::launch::async, [&] {
    Client client(port);
    return client.Send(http::verb::post, "/v1/slow", "2");
  });
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  auto start = std::chrono::steady_clock::now();
  auto stopped =
      std::async(std::launch::async, [&] { server_.Stop(absl::Seconds(10)); });
  // New connections are refused while the slow request is still running.
  bool refused = false;
  for (int i = 0; i < 100 && !refused; ++i) {
    refused = !CanConnect(port);
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(refused);
  EXPECT_TRUE(idle.ClosedByServer());

  Response r = slow.get();
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "done 2");
  EXPECT_FALSE(r.keep_alive());  // Connection: close
  stopped.get();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(server_.active_connections(), 0u);
}

TEST_F(HttpServerTest, StopIsBoundedByGrace) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  absl::Notification entered;
  ASSERT_TRUE(server_
                  .Route("GET", "/v1/hang",
                         [&](const HttpRequest&) {
                           entered.Notify();
                           released.wait();
                           return HttpResponse{};
                         })
                  .ok());
  StartServer();
  Client client(server_.port());
  client.WriteRaw("GET /v1/hang HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(entered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // The client sees its connection closed once the grace period is over,
  // even though the handler still runs.
  auto start = std::chrono::steady_clock::now();
  auto stopped = std::async(std::launch::async,
                            [&] { server_.Stop(absl::Milliseconds(300)); });
  EXPECT_TRUE(client.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  release.set_value();
  stopped.get();
}

TEST_F(HttpServerTest, OverMaxConnectionsIs503WithRetryAfter) {
  ASSERT_TRUE(server_
                  .Route("GET", "/v1/ping",
                         [](const HttpRequest&) {
                           return HttpResponse{.body = "pong"};
                         })
                  .ok());
  StartServer({.max_connections = 2});
  auto first = std::make_unique<Client>(server_.port());
  Client second(server_.port());
  EXPECT_EQ(first->Send(http::verb::get, "/v1/ping").body(), "pong");
  EXPECT_EQ(second.Send(http::verb::get, "/v1/ping").body(), "pong");
  EXPECT_EQ(server_.active_connections(), 2u);

  Client third(server_.port());
  Response r = third.Send(http::verb::get, "/v1/ping");
  EXPECT_EQ(r.result_int(), 503);
  EXPECT_EQ(r[http::field::retry_after], "1");
  EXPECT_EQ(Problem(r)["status"], 503);
  EXPECT_FALSE(r.keep_alive());

  first.reset();  // A slot frees up.
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    Client next(server_.port());
    served = next.Send(http::verb::get, "/v1/ping").result_int() == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(served);
}

TEST_F(HttpServerTest, HandlerExceptionIs500WithoutItsMessage) {
  ASSERT_TRUE(server_
                  .Route("GET", "/v1/boom",
                         [](const HttpRequest&) -> HttpResponse {
                           throw std::runtime_error(
                               "secret-db-password-in-here");
                         })
                  .ok());
  StartServer();
  Client client(server_.port());
  Response r = client.Send(http::verb::get, "/v1/boom");
  EXPECT_EQ(r.result_int(), 500);
  EXPECT_EQ(Problem(r)["status"], 500);
  EXPECT_THAT(r.body(), ::testing::Not(HasSubstr("secret")));
  // The connection survives.
  EXPECT_EQ(client.Send(http::verb::get, "/v1/boom").result_int(), 500);
}

TEST(ProblemResponseTest, CarriesExtensionMembers) {
  HttpResponse r = ProblemResponse(
      422, "Unprocessable Content", "2 events are invalid",
      {{"errors", {{{"index", 0}, {"reason", "no id"}}}}, {"status", 999}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/problem+json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["status"], 422);  // Extensions do not override the core members.
  EXPECT_EQ(j["errors"][0]["reason"], "no id");
  EXPECT_EQ(j["detail"], "2 events are invalid");
}

}  // namespace
}  // namespace voronka
