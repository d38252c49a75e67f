// HttpServer throughput: small POSTs (a CloudEvent-sized body) to a trivial
// handler over keep-alive connections, one synchronous Beast client per
// benchmark thread. Client and server share the machine's cores, so the
// figures are a floor for the server alone. BM_HttpBlockingHandler has
// handlers that sleep 1 ms (like an fsync'd append): with N connections it
// should approach N * 1000 requests/s, showing blocked handlers run side by
// side.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <string>
#include <thread>

#include "benchmark/benchmark.h"
#include "services/http_server.h"

namespace voronka::bench {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

HttpServer* StartServer() {
  auto* server = new HttpServer();  // Lives until the process exits.
  (void)server->Route("POST", "/v1/events", [](const HttpRequest& r) {
    return HttpResponse{.status = 202,
                        .content_type = "application/json",
                        .body = r.body.empty() ? "{}" : R"({"accepted":1})"};
  });
  (void)server->Route("POST", "/v1/slow-events", [](const HttpRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return HttpResponse{.status = 202, .body = "ok"};
  });
  if (!server->Start({}).ok()) std::abort();
  return server;
}

uint16_t ServerPort() {
  static HttpServer* server = StartServer();
  return server->port();
}

void RunClient(benchmark::State& state, const char* target) {
  const uint16_t port = ServerPort();
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  socket.set_option(tcp::no_delay(true));
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::content_type, "application/cloudevents+json");
  req.body() =
      std::string(
          R"({"specversion":"1.0","type":"call.logged","source":"crm","id":")") +
      std::string(160, 'x') + R"("})";
  req.prepare_payload();
  beast::flat_buffer buffer;
  for (auto _ : state) {
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    if (res.result_int() != 202) state.SkipWithError("unexpected status");
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_HttpSmallPost(benchmark::State& state) {
  RunClient(state, "/v1/events");
}
BENCHMARK(BM_HttpSmallPost)
    ->Threads(1)
    ->Threads(16)
    ->Threads(64)
    ->UseRealTime();

void BM_HttpBlockingHandler(benchmark::State& state) {
  RunClient(state, "/v1/slow-events");
}
BENCHMARK(BM_HttpBlockingHandler)->Threads(1)->Threads(16)->UseRealTime();

}  // namespace
}  // namespace voronka::bench
