// HttpClient, IngestClient and IngestSender against a real HttpServer on
// loopback: URL parsing, keep-alive reuse, reconnecting after the server
// closed an idle connection, timeouts, and ingest's retry rules (503/429
// with Retry-After retried, 4xx not, connection errors until the budget).
#include "services/http_client.h"

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "events/cloudevents.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/http_server.h"
#include "services/ingest_client.h"
#include "services/ingest_sender.h"
#include "tests/testing/fake_ingest.h"
#include "tests/testing/sample_events.h"

namespace voronka {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::SizeIs;
using voronka::testing::Calls;
using voronka::testing::FakeIngest;

HttpUrl Local(uint16_t port) { return {.host = "127.0.0.1", .port = port}; }

// A loopback port nothing listens on (bound, then closed).
uint16_t UnusedPort() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor acceptor(
      ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

// IngestClient options whose retry waits are recorded instead of slept.
struct RecordedWaits {
  std::mutex mu;
  std::vector<absl::Duration> waits;

  std::function<bool(absl::Duration)> Hook() {
    return [this](absl::Duration d) {
      std::lock_guard<std::mutex> lock(mu);
      waits.push_back(d);
      return true;
    };
  }
};

TEST(ParseHttpUrlTest, SplitsHostPortAndTarget) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl("http://127.0.0.1:8480/v1/events");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8480);
  EXPECT_EQ(url->target, "/v1/events");

  url = ParseHttpUrl("http://ingest.example");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->port, 80);
  EXPECT_EQ(url->target, "/");

  url = ParseHttpUrl("http://[::1]:9000/x?y=1");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->target, "/x?y=1");
  EXPECT_EQ(url->ToString(), "http://[::1]:9000/x?y=1");
}

TEST(ParseHttpUrlTest, RejectsHttpsAndMalformedUrls) {
  absl::StatusOr<HttpUrl> https = ParseHttpUrl("https://h:443/v1/events");
  EXPECT_EQ(https.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(https.status().message(), HasSubstr("put TLS in front"));
  for (const char* bad :
       {"", "127.0.0.1:80/x", "ftp://h/x", "http://", "http://:80/x",
        "http://h:0/x", "http://h:65536/x", "http://h:x/", "http://h:/x",
        "http://u@h/x", "http://[::1/x", "http://h/a b"}) {
    EXPECT_EQ(ParseHttpUrl(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

class HttpClientTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    ASSERT_TRUE(
        server_
            .Route("POST", "/echo",
                   [](const HttpRequest& r) {
                     HttpResponse res;
                     res.body =
                         r.peer + "|" + r.body + "|" +
                         std::string(r.Header("X-Test").value_or("")) + "|" +
                         std::string(r.Header("Content-Type").value_or(""));
                     res.headers.emplace_back("X-Answer", "42");
                     return res;
                   })
            .ok());
    ASSERT_TRUE(server_
                    .Route("GET", "/slow",
                           [](const HttpRequest&) {
                             absl::SleepFor(absl::Seconds(2));
                             return HttpResponse{.body = "late"};
                           })
                    .ok());
    ASSERT_TRUE(server_.Start(std::move(options)).ok());
  }

  HttpServer server_;
};

TEST_F(HttpClientTest, PostSendsBodyHeadersAndReadsTheResponse) {
  StartServer();
  HttpClient client(Local(server_.port()));
  absl::StatusOr<HttpClientResponse> r =
      client.Post("/echo", "text/x-test", "hello", {{"X-Test", "yes"}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_THAT(r->body, HasSubstr("|hello|yes|text/x-test"));
  EXPECT_EQ(r->Header("x-answer"), "42");
  EXPECT_EQ(r->Header("X-Missing"), std::nullopt);
}

TEST_F(HttpClientTest, KeepAliveReusesOneConnection) {
  StartServer();
  HttpClient client(Local(server_.port()));
  std::set<std::string> peers;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<HttpClientResponse> r = client.Post("/echo", "a/b", "x");
    ASSERT_TRUE(r.ok()) << r.status();
    peers.insert(r->body.substr(0, r->body.find('|')));
    EXPECT_EQ(server_.active_connections(), 1u);
  }
  EXPECT_THAT(peers, SizeIs(1));
  EXPECT_EQ(client.connections_opened(), 1);
  // A 404 is a response like any other and keeps the connection.
  absl::StatusOr<HttpClientResponse> missing = client.Post("/nope", "a/b", "");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(client.connections_opened(), 1);
}

TEST_F(HttpClientTest, ReconnectsAfterTheServerClosedAnIdleConnection) {
  StartServer({.idle_timeout = absl::Milliseconds(100)});
  HttpClient client(Local(server_.port()));
  absl::StatusOr<HttpClientResponse> first = client.Post("/echo", "a/b", "1");
  ASSERT_TRUE(first.ok()) << first.status();
  // The server closes the idle connection; the client notices only when it
  // sends the next request, and sends it again on a new connection.
  for (int i = 0; i < 100 && server_.active_connections() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_EQ(server_.active_connections(), 0u);
  absl::StatusOr<HttpClientResponse> second = client.Post("/echo", "a/b", "2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->status, 200);
  EXPECT_THAT(second->body, HasSubstr("|2|"));
  EXPECT_EQ(client.connections_opened(), 2);
  EXPECT_NE(first->body.substr(0, first->body.find('|')),
            second->body.substr(0, second->body.find('|')));
}

TEST_F(HttpClientTest, RequestTimeoutIsUnavailableAndTheNextRequestReconnects) {
  StartServer();
  HttpClient client(Local(server_.port()),
                    {.request_timeout = absl::Milliseconds(200)});
  const absl::Time start = absl::Now();
  absl::StatusOr<HttpClientResponse> r = client.Get("/slow");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("timed out"));
  EXPECT_LT(absl::Now() - start, absl::Milliseconds(1500));
  absl::StatusOr<HttpClientResponse> next = client.Post("/echo", "a/b", "x");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(client.connections_opened(), 2);
}

TEST(HttpClientErrorsTest, ConnectionRefusedIsUnavailable) {
  HttpClient client(Local(UnusedPort()));
  absl::StatusOr<HttpClientResponse> r = client.Post("/x", "a/b", "");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("connecting to"));
  EXPECT_EQ(client.connections_opened(), 0);
}

TEST(HttpClientErrorsTest, HeaderInjectionIsInvalidArgument) {
  HttpClient client(Local(UnusedPort()));
  EXPECT_EQ(
      client.Post("/x", "a/b", "", {{"X-A", "1\r\nX-B: 2"}}).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Get("no-slash").status().code(),
            absl::StatusCode::kInvalidArgument);
}

class IngestClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(ingest_.Start().ok()); }

  std::unique_ptr<IngestClient> Client(IngestClientOptions options = {}) {
    if (options.url.empty()) options.url = ingest_.url();
    options.wait = waits_.Hook();
    absl::StatusOr<std::unique_ptr<IngestClient>> client =
        IngestClient::Create(std::move(options));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  FakeIngest ingest_;
  RecordedWaits waits_;
};

TEST_F(IngestClientTest, SendsABatchAndReturnsWhatIngestAcknowledged) {
  std::unique_ptr<IngestClient> client = Client();
  const std::vector<Event> events = Calls(10);
  absl::StatusOr<IngestResult> r = client->Send(events);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->accepted, 10);
  EXPECT_EQ(r->appended, 10);
  EXPECT_EQ(r->duplicates, 0);
  EXPECT_THAT(r->positions, SizeIs(10));
  EXPECT_EQ(r->attempts, 1);
  EXPECT_EQ(ingest_.appended(), events);
  EXPECT_THAT(ingest_.content_types(),
              ElementsAre("application/cloudevents-batch+json"));

  // The same batch again: idempotent, all duplicates.
  r = client->Send(events);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->appended, 0);
  EXPECT_EQ(r->duplicates, 10);
  EXPECT_EQ(client->connections_opened(), 1);
}

TEST_F(IngestClientTest, RetriesTheSameBatchAfter503WithRetryAfter) {
  ingest_.FailNext(2, 503, /*retry_after_s=*/3);
  std::unique_ptr<IngestClient> client = Client();
  absl::StatusOr<IngestResult> r = client->Send(Calls(5));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(r->appended, 5);
  EXPECT_EQ(ingest_.requests(), 3);
  EXPECT_THAT(waits_.waits, ElementsAre(absl::Seconds(3), absl::Seconds(3)));
}

TEST_F(IngestClientTest, RetriesAfter429AndBacksOffWithoutRetryAfter) {
  ingest_.FailNext(1, 429, /*retry_after_s=*/1);
  std::unique_ptr<IngestClient> client = Client();
  ASSERT_TRUE(client->Send(Calls(1)).ok());
  ingest_.FailNext(3, 503);  // No Retry-After: exponential backoff.
  absl::StatusOr<IngestResult> r = client->Send(Calls(2));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->attempts, 4);
  EXPECT_THAT(waits_.waits,
              ElementsAre(absl::Seconds(1), absl::Milliseconds(100),
                          absl::Milliseconds(200), absl::Milliseconds(400)));
}

TEST_F(IngestClientTest, DoesNotRetryA422AndNamesTheProblem) {
  std::unique_ptr<IngestClient> client = Client();
  // A call without an org: the decoder rejects it.
  const std::string body =
      R"([{"specversion":"1.0","id":"c1","source":"pbx/x",)"
      R"("type":"call.logged","time":"2026-11-23T09:30:00Z",)"
      R"("data":{"manager":"m-1","department":"lead_generation",)"
      R"("direction":"inbound","outcome":"answered","duration_s":1}}])";
  absl::StatusOr<IngestResult> r = client->SendBody(body);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
      << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("422"));
  EXPECT_THAT(r.status().message(), HasSubstr("1 problems in the batch"));
  EXPECT_THAT(r.status().message(), HasSubstr("events[0].data.org"));
  EXPECT_EQ(ingest_.requests(), 1);
  EXPECT_THAT(waits_.waits, SizeIs(0));
}

TEST_F(IngestClientTest, SendsTheTokenAndReports401WithoutIt) {
  ingest_.RequireToken("s3cret-token");
  std::unique_ptr<IngestClient> anonymous = Client();
  absl::StatusOr<IngestResult> r = anonymous->Send(Calls(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated)
      << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("401"));
  EXPECT_EQ(ingest_.requests(), 1);

  std::unique_ptr<IngestClient> wrong = Client({.token = "wrong-token"});
  r = wrong->Send(Calls(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), Not(HasSubstr("wrong-token")));

  std::unique_ptr<IngestClient> client = Client({.token = "s3cret-token"});
  r = client->Send(Calls(1));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->appended, 1);
}

TEST_F(IngestClientTest, ConnectionRefusedIsUnavailableAfterTheRetryBudget) {
  std::unique_ptr<IngestClient> client =
      Client({.url = fmt::format("http://127.0.0.1:{}/v1/events", UnusedPort()),
              .max_attempts = 4});
  absl::StatusOr<IngestResult> r = client->Send(Calls(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("gave up after 4 attempts"));
  EXPECT_THAT(waits_.waits,
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                          absl::Milliseconds(400)));
}

TEST_F(IngestClientTest, BackoffIsCappedAndTheDeadlineEndsRetries) {
  std::unique_ptr<IngestClient> client =
      Client({.url = fmt::format("http://127.0.0.1:{}/v1/events", UnusedPort()),
              .max_backoff = absl::Milliseconds(300),
              .max_attempts = 5});
  EXPECT_FALSE(client->Send(Calls(1)).ok());
  EXPECT_THAT(waits_.waits,
              ElementsAre(absl::Milliseconds(100), absl::Milliseconds(200),
                          absl::Milliseconds(300), absl::Milliseconds(300)));

  // A Retry-After beyond the deadline: give up at once rather than wait.
  ingest_.FailNext(1, 503, /*retry_after_s=*/60);
  std::unique_ptr<IngestClient> patient =
      Client({.deadline = absl::Seconds(10)});
  absl::StatusOr<IngestResult> r = patient->Send(Calls(1));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("503"));
  EXPECT_THAT(r.status().message(), HasSubstr("gave up after 1 attempt"));
}

TEST_F(IngestClientTest, ATimeoutIsRetriedWithTheSameBatch) {
  ingest_.SetDelay(absl::Milliseconds(400));
  std::unique_ptr<IngestClient> client =
      Client({.http = {.request_timeout = absl::Milliseconds(100)},
              .max_attempts = 2});
  absl::StatusOr<IngestResult> r = client->Send(Calls(3));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("timed out"));
  // The server processed both (late) requests: same ids, stored once.
  for (int i = 0; i < 50 && ingest_.requests() < 2; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(ingest_.requests(), 2);
  EXPECT_THAT(ingest_.appended(), SizeIs(3));
  EXPECT_EQ(ingest_.duplicates(), 3);
}

TEST_F(IngestClientTest, SenderSpreadsBatchesOverConnectionsAndSendsThemAll) {
  ingest_.FailNext(3, 503, /*retry_after_s=*/0);
  absl::StatusOr<std::unique_ptr<IngestSender>> sender =
      IngestSender::Start({.client = {.url = ingest_.url()}, .connections = 3});
  ASSERT_TRUE(sender.ok()) << sender.status();
  const std::vector<Event> events = Calls(1000);
  for (size_t i = 0; i < events.size(); i += 50) {
    ASSERT_TRUE((*sender)
                    ->Submit(std::vector<Event>(events.begin() + i,
                                                events.begin() + i + 50))
                    .ok());
  }
  ASSERT_TRUE((*sender)->Finish(false).ok());
  const IngestSenderStats stats = (*sender)->stats();
  EXPECT_EQ(stats.acknowledged, 1000);
  EXPECT_EQ(stats.appended, 1000);
  EXPECT_EQ(stats.dropped, 0);
  EXPECT_EQ(stats.retries, 3);
  std::vector<Event> got = ingest_.appended();
  ASSERT_THAT(got, SizeIs(1000));
  auto by_id = [](const Event& a, const Event& b) {
    return a.id.value() < b.id.value();
  };
  std::vector<Event> want = events;
  std::sort(got.begin(), got.end(), by_id);
  std::sort(want.begin(), want.end(), by_id);
  EXPECT_EQ(got, want);
  EXPECT_LE(ingest_.peers().size(), 3u);
}

TEST_F(IngestClientTest, SenderStopsOnAPermanentErrorAndReportsIt) {
  ingest_.RequireToken("t");
  absl::StatusOr<std::unique_ptr<IngestSender>> sender =
      IngestSender::Start({.client = {.url = ingest_.url()}, .connections = 2});
  ASSERT_TRUE(sender.ok()) << sender.status();
  absl::Status status;
  for (int i = 0; i < 100 && status.ok(); ++i) {
    status = (*sender)->Submit(Calls(10));
  }
  absl::Status finished = (*sender)->Finish(false);
  EXPECT_EQ(finished.code(), absl::StatusCode::kUnauthenticated) << finished;
  EXPECT_EQ((*sender)->stats().acknowledged, 0);
  EXPECT_LT(ingest_.requests(), 100);
}

}  // namespace
}  // namespace voronka
