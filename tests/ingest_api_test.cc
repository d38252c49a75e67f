// POST /v1/events over real HTTP (services/ingest_api.h): every mode, every
// answer, on the embedded log, and the broker outage on Kafka (the mock
// cluster): 503 with Retry-After, then every acknowledged event in the log
// exactly once.
#include "services/ingest_api.h"

#include <set>
#include <thread>

#include "events/embedded_log.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/dev_broker.h"
#include "services/http_client.h"
#include "services/ingest_client.h"
#include "services/simulator.h"
#include "tests/testing/log_contents.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::CopiesPerKey;
using ::testing::HasSubstr;
using testing::ReadToEnd;

constexpr std::string_view kBatch = "application/cloudevents-batch+json";
constexpr std::string_view kOne = "application/cloudevents+json";

std::vector<Event> Story(size_t n, uint64_t seed = 9) {
  Simulator sim(FunnelConfig::Default(),
                {.seed = seed, .late_fraction = 0, .duplicate_fraction = 0});
  return sim.Next(n);
}

class IngestApiTest : public ::testing::Test {
 protected:
  void Start(const TokenStore* tokens = nullptr, size_t max_body = 1 << 20) {
    auto log = EmbeddedLog::Open({.path = dir_.Sub("log")});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    once_ = MakeIdempotent(log_.get());
    ASSERT_TRUE(RegisterIngestApi(server_, {.config = &config_,
                                            .log = once_.get(),
                                            .tokens = tokens,
                                            .max_batch_events = 50,
                                            .metrics = &counters_})
                    .ok());
    ASSERT_TRUE(server_.Start({.max_body_bytes = max_body}).ok());
    client_ = std::make_unique<HttpClient>(
        HttpUrl{.host = "127.0.0.1", .port = server_.port()});
  }

  HttpClientResponse Post(std::string_view content_type,
                          const std::string& body, HttpFields headers = {}) {
    auto r = client_->Post("/v1/events", content_type, body, headers);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : HttpClientResponse{};
  }

  static nlohmann::json Json(const HttpClientResponse& r) {
    return nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  }

  // A problem+json answer with `status` whose detail contains `detail`.
  static nlohmann::json ExpectProblem(const HttpClientResponse& r, int status,
                                      std::string_view detail) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("content-type").value_or(""),
              "application/problem+json");
    nlohmann::json j = Json(r);
    EXPECT_EQ(j.value("status", 0), status);
    EXPECT_THAT(j.value("detail", ""), HasSubstr(detail)) << r.body;
    return j;
  }

  int64_t LogEnd() { return (*log_->EndOffsets())[0]; }

  testing::TempDir dir_;
  FunnelConfig config_ = FunnelConfig::Default();
  std::unique_ptr<EmbeddedLog> log_;
  std::unique_ptr<IdempotentLog> once_;
  prometheus::Registry registry_;
  IngestMetrics counters_{registry_};
  HttpServer server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(IngestApiTest, StructuredEventIsAcknowledgedWithItsPositionOnce) {
  Start();
  const std::vector<Event> events = Story(2);
  HttpClientResponse r = Post(kOne, ToStructuredJson(events[0]));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(Json(r), nlohmann::json::parse(
                         R"({"accepted":1,"appended":1,"duplicates":0,
                             "positions":[{"partition":0,"offset":0}]})"));
  // The retry (same source and id) is acknowledged again, not appended.
  HttpClientResponse again = Post(kOne, ToStructuredJson(events[0]));
  ASSERT_EQ(again.status, 202);
  EXPECT_EQ(Json(again)["duplicates"], 1);
  EXPECT_EQ(Json(again)["positions"], Json(r)["positions"]);
  EXPECT_EQ(LogEnd(), 1);

  auto records = ReadToEnd(*log_);
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE((*records)[0].event.recorded_time.is_set());
  Event stored = (*records)[0].event;
  stored.recorded_time = Timestamp();
  EXPECT_EQ(stored, events[0]);
  EXPECT_EQ(counters_.accepted(), 2);
  EXPECT_EQ(counters_.duplicates(), 1);
}

TEST_F(IngestApiTest, BatchAnswersOnePositionPerEventInOrder) {
  Start();
  const std::vector<Event> events = Story(30);
  ASSERT_EQ(Post(kBatch, ToBatchJson(std::span(events).first(10))).status, 202);
  HttpClientResponse r = Post(kBatch, ToBatchJson(events));
  ASSERT_EQ(r.status, 202) << r.body;
  nlohmann::json j = Json(r);
  EXPECT_EQ(j["accepted"], 30);
  EXPECT_EQ(j["appended"], 20);
  EXPECT_EQ(j["duplicates"], 10);
  ASSERT_EQ(j["positions"].size(), 30u);
  for (int i = 0; i < 30; ++i) EXPECT_EQ(j["positions"][i]["offset"], i);
  EXPECT_EQ(LogEnd(), 30);
}

TEST_F(IngestApiTest, BinaryModeTakesAttributesFromHeaders) {
  Start();
  const Event event = Story(1)[0];
  auto [headers, body] = ToBinary(event, Binding::kHttp);
  HttpFields fields;
  std::string content_type;
  for (auto& [k, v] : headers) {
    if (k == "content-type") {
      content_type = v;
    } else {
      fields.emplace_back(k, v);
    }
  }
  ASSERT_EQ(content_type, "application/json");
  HttpClientResponse r = Post(content_type, body, fields);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(LogEnd(), 1);
  // application/json without ce-* headers is not an event.
  ExpectProblem(Post("application/json", body), 415, "binary mode");
}

TEST_F(IngestApiTest, MalformedJsonIs400) {
  Start();
  nlohmann::json j =
      ExpectProblem(Post(kBatch, "[{\"id\": "), 400, "not valid JSON");
  EXPECT_EQ(j["errors"][0]["path"], "$");
  EXPECT_EQ(LogEnd(), 0);
}

TEST_F(IngestApiTest, InvalidEventsAre422ListingEveryProblemAndNothingIsKept) {
  Start();
  std::vector<Event> events = Story(3);
  nlohmann::json batch = nlohmann::json::parse(ToBatchJson(events));
  batch[0]["data"]["department"] = "marketing";
  batch[2].erase("time");
  batch[2]["specversion"] = "0.3";
  nlohmann::json j =
      ExpectProblem(Post(kBatch, batch.dump()), 422, "3 problems found");
  ASSERT_EQ(j["errors"].size(), 3u);
  EXPECT_EQ(j["errors"][0]["index"], 0);
  EXPECT_EQ(j["errors"][0]["path"], "events[0].data.department");
  EXPECT_THAT(j["errors"][0]["reason"].get<std::string>(),
              HasSubstr("marketing"));
  EXPECT_EQ(j["errors"][1]["index"], 2);
  EXPECT_EQ(j["errors"][2]["index"], 2);
  std::vector<std::string> paths = {j["errors"][1]["path"],
                                    j["errors"][2]["path"]};
  EXPECT_THAT(paths, ::testing::UnorderedElementsAre("events[2].specversion",
                                                     "events[2].time"));
  // All or nothing: the valid event 1 was not appended either.
  EXPECT_EQ(LogEnd(), 0);
  EXPECT_EQ(counters_.rejected(), 2);
}

TEST_F(IngestApiTest, AnIdReusedWithOtherContentIs409) {
  Start();
  const std::vector<Event> events = Story(3);
  ASSERT_EQ(Post(kOne, ToStructuredJson(events[0])).status, 202);
  Event changed = events[0];
  changed.time = Timestamp::FromUnixMicros(changed.time.unix_micros() + 1000);
  std::vector<Event> batch = {events[1], changed, events[2]};
  nlohmann::json j =
      ExpectProblem(Post(kBatch, ToBatchJson(batch)), 409, "1 event reused");
  EXPECT_EQ(j["errors"][0]["index"], 1);
  EXPECT_EQ(j["errors"][0]["path"], "events[1].id");
  EXPECT_THAT(j["errors"][0]["reason"].get<std::string>(),
              HasSubstr("partition 0 offset 0"));
  EXPECT_EQ(LogEnd(), 1);
}

TEST_F(IngestApiTest, TooLargeBodiesAndBatchesAre413) {
  Start(nullptr, /*max_body=*/4096);
  const std::vector<Event> events = Story(60);
  std::string big = ToBatchJson(events);
  ASSERT_GT(big.size(), 4096u);
  ExpectProblem(Post(kBatch, big), 413, "");
  EXPECT_EQ(LogEnd(), 0);
}

TEST_F(IngestApiTest, MoreEventsThanTheBatchLimitAre413) {
  Start();
  ExpectProblem(Post(kBatch, ToBatchJson(Story(51))), 413,
                "51 events in one request; the limit is 50");
  EXPECT_EQ(LogEnd(), 0);
}

TEST_F(IngestApiTest, OtherContentTypesAre415) {
  Start();
  const std::string body = ToStructuredJson(Story(1)[0]);
  ExpectProblem(Post("text/plain", body), 415, "\"text/plain\"");
  ExpectProblem(Post("", body), 415, "(none)");
  // Parameters and case do not matter.
  EXPECT_EQ(Post("Application/CloudEvents+JSON; charset=utf-8", body).status,
            202);
}

TEST_F(IngestApiTest, NeedsAnIngestToken) {
  auto tokens = TokenStore::Parse(
      "tokens:\n"
      "  - name: dash\n"
      "    sha256: " +
          Sha256Hex("viewer-secret") +
          "\n"
          "    roles: [viewer]\n"
          "  - name: pbx\n"
          "    sha256: " +
          Sha256Hex("ingest-secret") +
          "\n"
          "    roles: [ingest]\n",
      "tokens.yaml");
  ASSERT_TRUE(tokens.ok());
  Start(&*tokens);
  const std::string body = ToStructuredJson(Story(1)[0]);
  HttpClientResponse none = Post(kOne, body);
  EXPECT_EQ(none.status, 401);
  EXPECT_THAT(std::string(none.Header("www-authenticate").value_or("")),
              ::testing::StartsWith("Bearer"));
  HttpClientResponse viewer =
      Post(kOne, body, {{"Authorization", "Bearer viewer-secret"}});
  EXPECT_EQ(viewer.status, 403);
  EXPECT_THAT(viewer.body, HasSubstr("dash"));
  EXPECT_THAT(viewer.body, ::testing::Not(HasSubstr("viewer-secret")));
  EXPECT_EQ(LogEnd(), 0);
  EXPECT_EQ(
      Post(kOne, body, {{"Authorization", "Bearer ingest-secret"}}).status,
      202);
  EXPECT_EQ(LogEnd(), 1);
}

TEST_F(IngestApiTest, AGracefulStopFinishesRequestsInFlightAndLosesNothing) {
  Start();
  const std::vector<Event> events = Story(4000);
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::set<std::string> acknowledged;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t) {
    senders.emplace_back([&, t] {
      HttpClient http(HttpUrl{.host = "127.0.0.1", .port = server_.port()});
      for (size_t at = t * 25; at < events.size(); at += 100) {
        auto batch = std::span(events).subspan(at, 25);
        auto r = http.Post("/v1/events", kBatch, ToBatchJson(batch));
        if (!r.ok()) break;  // The server is gone.
        if (r->status != 202) {
          EXPECT_TRUE(stopping) << r->status << " " << r->body;
          break;
        }
        std::lock_guard<std::mutex> lock(mu);
        for (const Event& e : batch) {
          acknowledged.insert(e.source.value() + "/" + e.id.value());
        }
      }
    });
  }
  while (LogEnd() < 400) absl::SleepFor(absl::Milliseconds(1));
  stopping = true;
  server_.Stop(absl::Seconds(10));
  for (std::thread& t : senders) t.join();
  // Every acknowledged event is in the log.
  auto records = ReadToEnd(*log_);
  ASSERT_TRUE(records.ok());
  std::map<std::string, int> copies = CopiesPerKey(*records);
  EXPECT_GE(acknowledged.size(), 400u);
  for (const std::string& key : acknowledged) {
    EXPECT_EQ(copies[key], 1) << key;
  }
}

TEST(IngestKafkaOutageTest, CallersGet503ThenEveryEventIsInTheLogOnce) {
  testing::TempDir dir;
  auto broker = DevBroker::Start({.brokers = 1, .partitions = 3});
  ASSERT_TRUE(broker.ok());
  auto log = KafkaLog::Open(
      {.brokers = (*broker)->bootstrap(), .append_timeout = absl::Seconds(2)});
  ASSERT_TRUE(log.ok());
  auto once = OpenKafkaIdempotent(log->get(), {.dedup_dir = dir.Sub("dedup"),
                                               .poll = absl::Milliseconds(50),
                                               .settle = absl::Seconds(5)});
  ASSERT_TRUE(once.ok());
  const FunnelConfig config = FunnelConfig::Default();
  HttpServer server;
  ASSERT_TRUE(
      RegisterIngestApi(server, {.config = &config, .log = once->get()}).ok());
  ASSERT_TRUE(server.Start({}).ok());
  const std::vector<Event> events = Story(300);
  HttpClient http(HttpUrl{.host = "127.0.0.1", .port = server.port()});

  auto first = http.Post("/v1/events", kBatch,
                         ToBatchJson(std::span(events).first(100)));
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->status, 202) << first->body;

  ASSERT_TRUE((*broker)->SetAllDown().ok());
  auto down = http.Post("/v1/events", kBatch,
                        ToBatchJson(std::span(events).subspan(100, 100)));
  ASSERT_TRUE(down.ok()) << down.status();
  EXPECT_EQ(down->status, 503) << down->body;
  EXPECT_EQ(down->Header("retry-after").value_or(""), "1");
  EXPECT_THAT(down->body, HasSubstr("nothing of this request is acknowledged"));
  ASSERT_TRUE((*broker)->SetAllUp().ok());

  // A client with the retry rules sends the rest, and overlaps with what
  // was acknowledged and what was not.
  auto client = IngestClient::Create(
      {.url = fmt::format("http://127.0.0.1:{}/v1/events", server.port()),
       .deadline = absl::Seconds(90)});
  ASSERT_TRUE(client.ok());
  auto sent = (*client)->Send(std::span(events).subspan(50, 250));
  ASSERT_TRUE(sent.ok()) << sent.status();
  EXPECT_EQ(sent->accepted, 250);

  auto records = ReadToEnd(**log);
  ASSERT_TRUE(records.ok());
  std::map<std::string, int> copies = CopiesPerKey(*records);
  EXPECT_EQ(copies.size(), 300u);
  for (const auto& [key, n] : copies) EXPECT_EQ(n, 1) << key;
  server.Stop(absl::Seconds(1));
}

}  // namespace
}  // namespace voronka
