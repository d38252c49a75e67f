// IngestClient: sends batches of events to Voronka's HTTP ingest
// (POST /v1/events, docs/api.md) with its retry rules, over one HttpClient.
//
//   absl::StatusOr<std::unique_ptr<IngestClient>> client =
//   IngestClient::Create(
//       {.url = "http://127.0.0.1:8480/v1/events", .token = token});
//   absl::StatusOr<IngestResult> r = (*client)->Send(events);
//   if (r.ok()) ... r->appended, r->duplicates ...
//
// The request: Content-Type application/cloudevents-batch+json, the body
// ToBatchJson(events), `Authorization: Bearer <token>` if a token is set.
// Ingest is idempotent on (source, id), so the same body may be sent again:
//
//   202 (any 2xx)  durable; the body {"accepted", "appended", "duplicates",
//                  "positions"} is returned. A 2xx without that body is
//                  Internal (the events may well be stored: send again).
//   503, 429       retried after Retry-After seconds (delta-seconds; an
//                  HTTP-date or none: the backoff below).
//   502, 504       (a proxy in front) and network errors and timeouts:
//                  retried after an exponential backoff, initial_backoff
//                  doubling up to max_backoff.
//   other 4xx      permanent, not retried: 400, 413, 415, 422 ->
//                  InvalidArgument; 401 -> Unauthenticated; 403 ->
//                  PermissionDenied; 409 -> FailedPrecondition; others ->
//                  FailedPrecondition. The message names the status, the
//                  problem's title and detail, and its first errors[].
//   other 5xx      Internal, not retried.
//
// Retries stop after max_attempts attempts or once the next one would
// start after `deadline` (from the first attempt); the last error is then
// returned as Unavailable naming the attempts. The token is never part of
// an error message.
//
// Thread-compatible: one IngestClient per thread.
#ifndef VORONKA_SERVICES_INGEST_CLIENT_H_
#define VORONKA_SERVICES_INGEST_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "events/log.h"
#include "services/http_client.h"

namespace voronka {

struct IngestClientOptions {
  std::string url;    // http://host:port/v1/events
  std::string token;  // Bearer token; empty: no Authorization header.
  HttpClientOptions http;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  int max_attempts = 20;  // Attempts per batch, the first included (>= 1).
  absl::Duration deadline = absl::Minutes(2);  // Per batch.
  // Waits between attempts; returns false to give up now (a stop signal):
  // Send then returns Cancelled. Default: sleeps and returns true.
  std::function<bool(absl::Duration)> wait;
};

// What ingest acknowledged for one batch.
struct IngestResult {
  int64_t accepted = 0;    // Events in the batch.
  int64_t appended = 0;    // Newly appended to the log.
  int64_t duplicates = 0;  // Already in the log (same source and id).
  std::vector<LogPosition> positions;
  int attempts = 0;  // Requests made, 1 if there was no retry.
};

class IngestClient {
 public:
  // InvalidArgument for a bad URL or option.
  static absl::StatusOr<std::unique_ptr<IngestClient>> Create(
      IngestClientOptions options);

  // Sends `events` (non-empty) as one batch, with retries; see the top of
  // the file for the outcomes.
  [[nodiscard]] absl::StatusOr<IngestResult> Send(
      std::span<const Event> events);
  // The same for a body already encoded with ToBatchJson().
  [[nodiscard]] absl::StatusOr<IngestResult> SendBody(const std::string& body);

  const HttpUrl& url() const { return url_; }
  int64_t connections_opened() const { return http_.connections_opened(); }

 private:
  IngestClient(IngestClientOptions options, HttpUrl url);

  IngestClientOptions options_;
  HttpUrl url_;
  HttpFields headers_;
  HttpClient http_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_INGEST_CLIENT_H_
