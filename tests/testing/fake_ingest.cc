#include "tests/testing/fake_ingest.h"

#include "events/cloudevents.h"
#include "fmt/format.h"

namespace voronka::testing {

absl::Status FakeIngest::Start(HttpServerOptions options) {
  absl::Status routed = server_.Route(
      "POST", "/v1/events", [this](const HttpRequest& r) { return Handle(r); });
  if (!routed.ok()) return routed;
  return server_.Start(std::move(options));
}

std::string FakeIngest::url() const {
  return fmt::format("http://127.0.0.1:{}/v1/events", server_.port());
}

void FakeIngest::FailNext(int count, int status, int retry_after_s) {
  std::lock_guard<std::mutex> lock(mu_);
  fail_count_ = count;
  fail_status_ = status;
  fail_retry_after_s_ = retry_after_s;
}

void FakeIngest::RequireToken(std::string token) {
  std::lock_guard<std::mutex> lock(mu_);
  token_ = std::move(token);
}

void FakeIngest::SetDelay(absl::Duration delay) {
  std::lock_guard<std::mutex> lock(mu_);
  delay_ = delay;
}

int64_t FakeIngest::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::set<std::string> FakeIngest::peers() const {
  std::lock_guard<std::mutex> lock(mu_);
  return peers_;
}

std::vector<Event> FakeIngest::appended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return appended_;
}

int64_t FakeIngest::duplicates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return duplicates_;
}

std::vector<std::string> FakeIngest::content_types() const {
  std::lock_guard<std::mutex> lock(mu_);
  return content_types_;
}

HttpResponse FakeIngest::Handle(const HttpRequest& request) {
  absl::Duration delay;
  {
    std::lock_guard<std::mutex> lock(mu_);
    delay = delay_;
  }
  absl::SleepFor(delay);
  // Decoding outside the lock: senders with several connections overlap.
  CloudEventsDecoder decoder(FunnelConfig::Default());
  DecodeResult decoded = decoder.DecodeBatch(request.body);

  std::lock_guard<std::mutex> lock(mu_);
  ++requests_;
  peers_.insert(request.peer);
  content_types_.emplace_back(request.Header("Content-Type").value_or(""));
  if (fail_count_ > 0) {
    --fail_count_;
    HttpResponse r = ProblemResponse(fail_status_, "Scripted failure",
                                     "FakeIngest::FailNext");
    if (fail_retry_after_s_ >= 0) {
      r.headers.emplace_back("Retry-After",
                             std::to_string(fail_retry_after_s_));
    }
    return r;
  }
  if (token_ && request.Header("Authorization") != "Bearer " + *token_) {
    return ProblemResponse(401, "Unauthorized", "missing or unknown token");
  }
  if (decoded.malformed) {
    return ProblemResponse(400, "Malformed body", "the body is not JSON");
  }
  if (!decoded.ok()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const FieldError& e : decoded.errors) {
      errors.push_back({{"path", e.path}, {"reason", e.reason}});
    }
    return ProblemResponse(
        422, "Invalid events",
        fmt::format("{} problems in the batch", decoded.errors.size()),
        {{"errors", errors}});
  }
  int64_t appended = 0;
  int64_t duplicates = 0;
  nlohmann::json positions = nlohmann::json::array();
  for (Event& e : decoded.events) {
    if (seen_.emplace(e.source.value(), e.id.value()).second) {
      ++appended;
      appended_.push_back(std::move(e));
    } else {
      ++duplicates;
    }
    positions.push_back(
        {{"partition", 0}, {"offset", static_cast<int64_t>(appended_.size())}});
  }
  duplicates_ += duplicates;
  return HttpResponse::Json(
      202, {{"accepted", static_cast<int64_t>(decoded.events.size())},
            {"appended", appended},
            {"duplicates", duplicates},
            {"positions", positions}});
}

}  // namespace voronka::testing
