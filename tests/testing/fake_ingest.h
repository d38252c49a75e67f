// FakeIngest: an in-process stand-in for HTTP ingest's POST /v1/events on
// a real HttpServer (loopback, ephemeral port), for tests of senders.
//
// It follows ingest's contract (ingest_client.h): the body must be a
// CloudEvents batch (CloudEventsDecoder::DecodeBatch; 400 if not JSON, 422
// with errors[] if invalid); events are deduplicated on (source, id) and
// answered 202 {"accepted", "appended", "duplicates", "positions"}. It keeps
// what it appended, in order. Failures can be scripted: the next N requests
// answered with a status (and Retry-After), a required bearer token (401
// otherwise), a delay before each answer.
//
//   FakeIngest ingest;
//   ASSERT_TRUE(ingest.Start().ok());
//   ingest.FailNext(2, 503, /*retry_after_s=*/1);
//   ... POST to ingest.url() ...
//   EXPECT_THAT(ingest.appended(), SizeIs(100));
//
// Thread-safe: setters and getters from any thread while requests run.
#ifndef VORONKA_TESTS_TESTING_FAKE_INGEST_H_
#define VORONKA_TESTS_TESTING_FAKE_INGEST_H_

#include <cstdint>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "services/http_server.h"

namespace voronka::testing {

class FakeIngest {
 public:
  FakeIngest() = default;
  ~FakeIngest() { server_.Stop(absl::ZeroDuration()); }

  absl::Status Start(HttpServerOptions options = {});
  // "http://127.0.0.1:PORT/v1/events"
  std::string url() const;
  HttpServer& server() { return server_; }

  // The next `count` requests are answered `status` (a problem+json body),
  // with `Retry-After: retry_after_s` if that is >= 0.
  void FailNext(int count, int status, int retry_after_s = -1);
  // Requests without `Authorization: Bearer <token>` get 401.
  void RequireToken(std::string token);
  // Each request waits this long before it is answered.
  void SetDelay(absl::Duration delay);

  int64_t requests() const;             // Requests answered, of any status.
  std::set<std::string> peers() const;  // Distinct client "address:port".
  std::vector<Event> appended() const;  // In append order.
  int64_t duplicates() const;
  std::vector<std::string> content_types() const;  // One per request.

 private:
  HttpResponse Handle(const HttpRequest& request);

  HttpServer server_;
  mutable std::mutex mu_;
  int fail_count_ = 0;
  int fail_status_ = 0;
  int fail_retry_after_s_ = -1;
  std::optional<std::string> token_;
  absl::Duration delay_ = absl::ZeroDuration();
  int64_t requests_ = 0;
  std::set<std::string> peers_;
  std::vector<Event> appended_;
  std::set<std::pair<std::string, std::string>> seen_;
  int64_t duplicates_ = 0;
  std::vector<std::string> content_types_;
};

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_FAKE_INGEST_H_
