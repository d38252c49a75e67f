// IngestClient. See ingest_client.h for the contract.
#include "services/ingest_client.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "absl/strings/ascii.h"
#include "events/cloudevents.h"
#include "events/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace voronka {
namespace {

using json = nlohmann::json;

bool SleepFor(absl::Duration d) {
  absl::SleepFor(d);
  return true;
}

// Retry-After as delta-seconds; nullopt for an HTTP-date or garbage.
std::optional<absl::Duration> RetryAfter(const HttpClientResponse& r) {
  std::optional<std::string_view> value = r.Header("Retry-After");
  if (!value) return std::nullopt;
  const absl::string_view text = absl::StripAsciiWhitespace(
      absl::string_view(value->data(), value->size()));
  int64_t seconds = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc() || end != text.data() + text.size() || seconds < 0) {
    return std::nullopt;
  }
  return absl::Seconds(seconds);
}

std::string StringMember(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// "title: detail (errors[0]; and N more)" from an RFC 9457 problem body, or
// the start of the body if it is not one.
std::string DescribeProblem(const std::string& body) {
  json problem = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!problem.is_object()) {
    std::string text = body.substr(0, 200);
    return text.empty() ? "no body" : text;
  }
  std::string out = StringMember(problem, "title");
  const std::string detail = StringMember(problem, "detail");
  if (!detail.empty()) out += (out.empty() ? "" : ": ") + detail;
  auto errors = problem.find("errors");
  if (errors != problem.end() && errors->is_array() && !errors->empty()) {
    const json& first = errors->front();
    std::string what;
    if (first.is_string()) {
      what = first.get<std::string>();
    } else if (first.is_object() && first.contains("reason")) {
      const std::string path = StringMember(first, "path");
      what = (path.empty() ? "" : path + ": ") + StringMember(first, "reason");
    } else {
      what = first.dump();
    }
    out += fmt::format(" ({}", what);
    if (errors->size() > 1)
      out += fmt::format("; and {} more", errors->size() - 1);
    out += ")";
  }
  return out;
}

absl::StatusCode PermanentCode(int status) {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    default:
      return status >= 500 ? absl::StatusCode::kInternal
                           : absl::StatusCode::kFailedPrecondition;
  }
}

bool IsRetriedStatus(int status) {
  return status == 429 || status == 502 || status == 503 || status == 504;
}

std::optional<int64_t> IntMember(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

absl::StatusOr<IngestResult> ParseAccepted(const std::string& body,
                                           const std::string& url) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](std::string_view why) {
    return absl::InternalError(
        fmt::format("HTTP ingest {}: unexpected 2xx body ({}): {}", url, why,
                    body.substr(0, 200)));
  };
  if (!doc.is_object()) return bad("not a JSON object");
  IngestResult out;
  std::optional<int64_t> accepted = IntMember(doc, "accepted");
  std::optional<int64_t> appended = IntMember(doc, "appended");
  std::optional<int64_t> duplicates = IntMember(doc, "duplicates");
  if (!accepted || !appended || !duplicates) {
    return bad("accepted, appended and duplicates must be integers");
  }
  out.accepted = *accepted;
  out.appended = *appended;
  out.duplicates = *duplicates;
  auto positions = doc.find("positions");
  if (positions != doc.end()) {
    if (!positions->is_array()) return bad("positions is not an array");
    for (const json& p : *positions) {
      std::optional<int64_t> partition =
          p.is_object() ? IntMember(p, "partition") : std::nullopt;
      std::optional<int64_t> offset =
          p.is_object() ? IntMember(p, "offset") : std::nullopt;
      if (!partition || !offset)
        return bad("a position is not {partition, offset}");
      out.positions.push_back(LogPosition{
          .partition = static_cast<int32_t>(*partition), .offset = *offset});
    }
  }
  return out;
}

}  // namespace

IngestClient::IngestClient(IngestClientOptions options, HttpUrl url)
    : options_(std::move(options)),
      url_(std::move(url)),
      http_(url_, options_.http) {
  if (!options_.token.empty()) {
    headers_.emplace_back("Authorization", "Bearer " + options_.token);
  }
  if (!options_.wait) options_.wait = SleepFor;
}

absl::StatusOr<std::unique_ptr<IngestClient>> IngestClient::Create(
    IngestClientOptions options) {
  VORONKA_ASSIGN_OR_RETURN(HttpUrl url, ParseHttpUrl(options.url));
  if (options.max_attempts < 1) {
    return absl::InvalidArgumentError(
        "ingest client: max_attempts must be >= 1");
  }
  if (options.initial_backoff <= absl::ZeroDuration() ||
      options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(
        "ingest client: need 0 < initial_backoff <= max_backoff");
  }
  if (options.token.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError("ingest client: token has a line break");
  }
  return std::unique_ptr<IngestClient>(
      new IngestClient(std::move(options), std::move(url)));
}

absl::StatusOr<IngestResult> IngestClient::Send(std::span<const Event> events) {
  if (events.empty()) {
    return absl::InvalidArgumentError("ingest client: empty batch");
  }
  return SendBody(ToBatchJson(events));
}

absl::StatusOr<IngestResult> IngestClient::SendBody(const std::string& body) {
  const std::string url = url_.ToString();
  const absl::Time deadline = absl::Now() + options_.deadline;
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last;
  for (int attempt = 1;; ++attempt) {
    absl::StatusOr<HttpClientResponse> response =
        http_.Post(url_.target, kBatchContentType, body, headers_);
    std::optional<absl::Duration> retry_after;
    if (!response.ok()) {
      if (!absl::IsUnavailable(response.status())) return response.status();
      last = response.status();
    } else if (response->status >= 200 && response->status < 300) {
      VORONKA_ASSIGN_OR_RETURN(IngestResult result,
                               ParseAccepted(response->body, url));
      result.attempts = attempt;
      return result;
    } else if (IsRetriedStatus(response->status)) {
      last = absl::UnavailableError(
          fmt::format("HTTP ingest {}: {} {}", url, response->status,
                      DescribeProblem(response->body)));
      if (response->status == 429 || response->status == 503) {
        retry_after = RetryAfter(*response);
      }
    } else {
      return absl::Status(
          PermanentCode(response->status),
          fmt::format("HTTP ingest {}: {} {}", url, response->status,
                      DescribeProblem(response->body)));
    }

    const absl::Duration pause = retry_after.value_or(backoff);
    if (!retry_after) backoff = std::min(backoff * 2, options_.max_backoff);
    if (attempt >= options_.max_attempts || absl::Now() + pause > deadline) {
      return absl::UnavailableError(
          fmt::format("{} (gave up after {} attempt{})", MessageOf(last),
                      attempt, attempt == 1 ? "" : "s"));
    }
    if (!options_.wait(pause)) {
      return absl::CancelledError(
          fmt::format("{} (stopped while waiting to retry)", MessageOf(last)));
    }
  }
}

}  // namespace voronka
