#include "services/ingest_api.h"

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "events/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "services/log_limiter.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

enum class Mode { kStructured, kBatch, kBinary };

std::string Lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The media type without parameters, lowercased: "application/json".
std::string MediaType(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) {
    type.remove_prefix(1);
  }
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) {
    type.remove_suffix(1);
  }
  return Lowercase(type);
}

nlohmann::json ErrorsJson(const std::vector<FieldError>& errors) {
  nlohmann::json out = nlohmann::json::array();
  for (const FieldError& e : errors) {
    nlohmann::json item = {{"path", e.path}, {"reason", e.reason}};
    if (e.index >= 0) item["index"] = e.index;
    out.push_back(std::move(item));
  }
  return out;
}

std::string Plural(size_t n, std::string_view one) {
  return fmt::format("{} {}{}", n, one, n == 1 ? "" : "s");
}

class Api : public std::enable_shared_from_this<Api> {
 public:
  explicit Api(IngestApiOptions options) : options_(std::move(options)) {}

  absl::Status Register(HttpServer& server) {
    return server.Route("POST", "/v1/events",
                        [self = shared_from_this()](const HttpRequest& r) {
                          return self->Observed(r);
                        });
  }

 private:
  // Decoders keep parser buffers; one per concurrent request, reused.
  class DecoderLease {
   public:
    explicit DecoderLease(Api* api) : api_(api) {
      std::lock_guard<std::mutex> lock(api_->mu_);
      if (!api_->decoders_.empty()) {
        decoder_ = std::move(api_->decoders_.back());
        api_->decoders_.pop_back();
      }
      if (decoder_ == nullptr) {
        decoder_ = std::make_unique<CloudEventsDecoder>(*api_->options_.config);
      }
    }
    ~DecoderLease() {
      std::lock_guard<std::mutex> lock(api_->mu_);
      api_->decoders_.push_back(std::move(decoder_));
    }
    CloudEventsDecoder& operator*() { return *decoder_; }

   private:
    Api* api_;
    std::unique_ptr<CloudEventsDecoder> decoder_;
  };

  // Handle, counted in the metrics.
  HttpResponse Observed(const HttpRequest& request) {
    IngestMetrics* m = options_.metrics;
    IngestMetrics::InFlight in_flight(m);
    const absl::Time start = absl::Now();
    HttpResponse response = Handle(request);
    if (m != nullptr) {
      if (response.status == 401 || response.status == 403) {
        m->Rejected(RejectReason::kUnauthorized, 1);
      }
      m->Request(response.status);
      m->RequestDuration(absl::Now() - start);
    }
    return response;
  }

  static RejectReason ReasonOf(int status) {
    switch (status) {
      case 400:
        return RejectReason::kMalformed;
      case 409:
        return RejectReason::kConflict;
      case 413:
        return RejectReason::kTooLarge;
      case 415:
        return RejectReason::kUnsupportedMedia;
      default:
        break;
    }
    return RejectReason::kInvalid;
  }

  // A 4xx answer. Every problem is logged once with the sender's address,
  // at most kRejectLogsPerSecond lines a second.
  HttpResponse Reject(const HttpRequest& request, int status,
                      std::string_view title, std::string_view detail,
                      const std::vector<FieldError>& errors, size_t events) {
    if (options_.metrics != nullptr) {
      // Requests whose events could not be read count once.
      options_.metrics->Rejected(ReasonOf(status),
                                 std::max<int64_t>(1, events));
    }
    auto log = [&](std::string_view what) {
      if (std::optional<int64_t> dropped = reject_log_.Allow()) {
        spdlog::warn("ingest: {} from {}: {}{}", status, request.peer, what,
                     LogLimiter::Note(*dropped));
      }
    };
    if (errors.empty()) log(detail);
    for (const FieldError& e : errors) log(e.ToString());
    nlohmann::json ext = nlohmann::json::object();
    if (!errors.empty()) ext["errors"] = ErrorsJson(errors);
    return ProblemResponse(status, title, detail, ext);
  }

  HttpResponse Handle(const HttpRequest& request) {
    if (options_.tokens != nullptr) {
      absl::StatusOr<std::string> who =
          options_.tokens->Authorize(request, Role::kIngest);
      if (!who.ok()) return AuthErrorResponse(who.status());
    }
    const std::string media =
        MediaType(request.Header("content-type").value_or(std::string_view()));
    Mode mode;
    if (media == kStructuredContentType) {
      mode = Mode::kStructured;
    } else if (media == kBatchContentType) {
      mode = Mode::kBatch;
    } else if (media == "application/json" &&
               request.Header("ce-specversion").has_value()) {
      mode = Mode::kBinary;
    } else {
      return Reject(
          request, 415, "Unsupported Media Type",
          fmt::format(
              "Content-Type {} is not accepted: send {} (one event), {} (a "
              "JSON array of events) or application/json with ce-* headers "
              "(binary mode)",
              media.empty() ? "(none)" : "\"" + media + "\"",
              kStructuredContentType, kBatchContentType),
          {}, 0);
    }

    DecodeResult decoded;
    {
      DecoderLease decoder(this);
      switch (mode) {
        case Mode::kStructured:
          decoded = (*decoder).DecodeStructured(request.body);
          break;
        case Mode::kBatch:
          decoded = (*decoder).DecodeBatch(request.body);
          break;
        case Mode::kBinary:
          decoded = (*decoder).DecodeBinary(request.headers, request.body,
                                            Binding::kHttp);
          break;
      }
    }
    if (decoded.malformed) {
      return Reject(request, 400, "Bad Request", "the body is not valid JSON",
                    decoded.errors, 0);
    }
    if (!decoded.ok()) {
      std::vector<int> bad;
      for (const FieldError& e : decoded.errors) {
        if (e.index >= 0 && (bad.empty() || bad.back() != e.index)) {
          bad.push_back(e.index);
        }
      }
      return Reject(
          request, 422, "Unprocessable Content",
          fmt::format("{} found; nothing of this request was appended. "
                      "First: {}",
                      Plural(decoded.errors.size(), "problem"),
                      decoded.errors.front().ToString()),
          decoded.errors, bad.empty() ? 1 : bad.size());
    }
    std::vector<Event>& events = decoded.events;
    if (events.size() > options_.max_batch_events) {
      return Reject(request, 413, "Content Too Large",
                    fmt::format("{} in one request; the limit is {}",
                                Plural(events.size(), "event"),
                                options_.max_batch_events),
                    {}, events.size());
    }
    const Timestamp now = options_.clock ? options_.clock() : Timestamp::Now();
    for (Event& e : events) e.recorded_time = now;

    const absl::Time append_start = absl::Now();
    absl::StatusOr<AppendOnceResult> result = options_.log->AppendOnce(events);
    if (options_.metrics != nullptr) {
      options_.metrics->AppendDuration(absl::Now() - append_start);
    }
    if (!result.ok() && absl::IsInvalidArgument(result.status())) {
      // The log refuses a record itself (Kafka: larger than the topic's
      // message.max.bytes): no retry helps.
      return Reject(request, 413, "Content Too Large",
                    fmt::format("the event log refused the events: {}; "
                                "nothing of this request was appended",
                                result.status().message()),
                    {}, events.size());
    }
    if (!result.ok() && !absl::IsUnavailable(result.status())) {
      spdlog::error("ingest: {} not accepted: {}",
                    Plural(events.size(), "event"), result.status().message());
      return ProblemResponse(
          500, "Internal Server Error",
          fmt::format("the event log failed ({}); nothing of this request is "
                      "acknowledged",
                      result.status().message()));
    }
    if (!result.ok()) {
      if (options_.metrics != nullptr) options_.metrics->LogUnavailable();
      spdlog::warn("ingest: {} not accepted: {}",
                   Plural(events.size(), "event"), result.status().message());
      HttpResponse r = ProblemResponse(
          503, "Service Unavailable",
          fmt::format("the event log did not take the events ({}); nothing "
                      "of this request is acknowledged: retry it",
                      result.status().message()));
      r.headers.emplace_back(
          "Retry-After", std::to_string(std::max<int64_t>(
                             1, absl::ToInt64Seconds(options_.retry_after))));
      return r;
    }
    if (result->conflicts > 0) {
      auto id_path = [mode](size_t i) -> std::string {
        switch (mode) {
          case Mode::kBatch:
            return fmt::format("events[{}].id", i);
          case Mode::kStructured:
            return "event.id";
          case Mode::kBinary:
            break;
        }
        return "header ce-id";
      };
      std::vector<FieldError> errors = ConflictErrors(*result, events, id_path);
      return Reject(request, 409, "Conflict",
                    fmt::format("{} reused an id of its source with "
                                "different content; nothing of this request "
                                "was appended. First: {}",
                                Plural(errors.size(), "event"),
                                errors.front().ToString()),
                    errors, errors.size());
    }
    if (options_.metrics != nullptr) {
      options_.metrics->Accepted(events, result->duplicates);
    }
    // Written by hand: a 1,000-event answer is on the hot path.
    std::string body = fmt::format(
        "{{\"accepted\":{},\"appended\":{},\"duplicates\":{},\"positions\":[",
        events.size(), result->appended, result->duplicates);
    body.reserve(body.size() + events.size() * 32);
    for (size_t i = 0; i < result->positions.size(); ++i) {
      fmt::format_to(std::back_inserter(body),
                     "{}{{\"partition\":{},\"offset\":{}}}", i == 0 ? "" : ",",
                     result->positions[i].partition,
                     result->positions[i].offset);
    }
    body += "]}";
    return HttpResponse{.status = 202,
                        .content_type = "application/json",
                        .body = std::move(body)};
  }

  static constexpr int kRejectLogsPerSecond = 20;

  IngestApiOptions options_;
  LogLimiter reject_log_{kRejectLogsPerSecond};
  std::mutex mu_;
  std::vector<std::unique_ptr<CloudEventsDecoder>> decoders_;  // Guarded.
};

}  // namespace

std::vector<FieldError> ConflictErrors(
    const AppendOnceResult& result, std::span<const Event> events,
    const std::function<std::string(size_t)>& id_path) {
  std::vector<FieldError> errors;
  for (size_t i = 0; i < result.outcomes.size(); ++i) {
    if (result.outcomes[i] != AppendOutcome::kConflict) continue;
    std::string earlier;
    for (size_t j = 0; j < i && earlier.empty(); ++j) {
      if (events[j].source == events[i].source &&
          events[j].id == events[i].id) {
        earlier = fmt::format("event {} of this request", id_path(j));
      }
    }
    if (earlier.empty()) {
      earlier = fmt::format("the event at partition {} offset {}",
                            result.positions[i].partition,
                            result.positions[i].offset);
    }
    errors.push_back(FieldError{
        .index = static_cast<int>(i),
        .path = id_path(i),
        .reason = fmt::format(
            "id \"{}\" of source \"{}\" was already used by {} with different "
            "content; a retry must resend the same event, a new event needs "
            "a new id",
            events[i].id.value(), events[i].source.value(), earlier)});
  }
  return errors;
}

absl::Status RegisterIngestApi(HttpServer& server, IngestApiOptions options) {
  if (options.config == nullptr || options.log == nullptr) {
    return absl::InvalidArgumentError(
        "RegisterIngestApi: a configuration and a log are required");
  }
  return std::make_shared<Api>(std::move(options))->Register(server);
}

}  // namespace voronka
