// CloudEvents 1.0 JSON: how the outside world sends events to Voronka and
// reads them back.
//
// Decoding validates every field against DOMAIN.md §3 and the funnel
// configuration, and reports every problem it finds, each with the index of
// the event, the JSON path of the field and the reason:
//   events[3].data.stage: "shipping" is not a stage of funnel "acquisition"
// An event with any error is not returned; nothing invalid reaches the log.
//
// Modes (CloudEvents HTTP and Kafka protocol bindings):
//   structured  one JSON object, content type application/cloudevents+json
//   batch       a JSON array of them, application/cloudevents-batch+json
//   binary      context attributes in headers (HTTP "ce-id", Kafka "ce_id"),
//               the `data` object as the body, content type application/json
//
// Rules beyond DOMAIN.md §3 (docs/events.md is the full wire format):
//   - unknown `data` fields and unknown context attributes (CloudEvents
//     extensions) are ignored, for forward compatibility; "recordedtime" is
//     our extension and must be an RFC 3339 date-time;
//   - a JSON null counts as an absent field; a key given twice in one object
//     is an error;
//   - amounts and durations are non-negative int64 JSON integers (12.5, 60.0
//     and "1250" are errors);
//   - ids are 1-128 printable characters counted as Unicode code points.
// A body that is not JSON sets `malformed` and yields one error at "$"
// (simdjson's DOM parser reports no byte offset). Decoding never throws.
//
// Thread-safety: a CloudEventsDecoder is immutable after construction except
// for its internal parser buffers (reused between calls); use one per thread.
// The FunnelConfig passed to the constructor must outlive the decoder.
//
//   CloudEventsDecoder decoder(FunnelConfig::Default());
//   DecodeResult r = decoder.DecodeBatch(body);
//   if (!r.ok()) for (auto& e : r.errors) LOG(e.ToString());
#ifndef VORONKA_EVENTS_CLOUDEVENTS_H_
#define VORONKA_EVENTS_CLOUDEVENTS_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "events/event.h"
#include "events/funnel_config.h"

namespace voronka {

inline constexpr std::string_view kStructuredContentType =
    "application/cloudevents+json";
inline constexpr std::string_view kBatchContentType =
    "application/cloudevents-batch+json";

// One problem with one field of one event.
struct FieldError {
  int index = -1;    // Index of the event in the batch; -1 for the document.
  std::string path;  // JSON path: "events[3].data.stage", "event.time", "$".
  std::string reason;

  std::string ToString() const { return path + ": " + reason; }
};

struct DecodeResult {
  std::vector<Event> events;       // Empty unless errors is empty.
  std::vector<FieldError> errors;  // Every problem found, in input order.
  bool malformed = false;          // The body is not JSON (HTTP 400, not 422).

  bool ok() const { return errors.empty(); }
};

// Header name/value pairs, names compared case-insensitively by the decoder.
using Headers = std::vector<std::pair<std::string, std::string>>;

enum class Binding { kHttp, kKafka };  // "ce-" or "ce_" header prefix.

class CloudEventsDecoder {
 public:
  explicit CloudEventsDecoder(const FunnelConfig& config);
  ~CloudEventsDecoder();
  CloudEventsDecoder(const CloudEventsDecoder&) = delete;
  CloudEventsDecoder& operator=(const CloudEventsDecoder&) = delete;

  // One structured-mode event; error paths start with "event".
  DecodeResult DecodeStructured(std::string_view json);
  // A batch (JSON array); error paths start with "events[i]". An empty array
  // is an error.
  DecodeResult DecodeBatch(std::string_view json);
  // Binary mode: attributes from headers, `data` from the body; error paths
  // name the header ("header ce-time") or "data.<field>".
  DecodeResult DecodeBinary(const Headers& headers, std::string_view body,
                            Binding binding);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Encoding (for the outside world: audit exports, kcat, the Kafka inbox).
// recorded_time is emitted as the extension attribute "recordedtime".
std::string ToStructuredJson(const Event& event);
std::string ToBatchJson(std::span<const Event> events);
// Headers (with ce-/ce_ prefix, content-type application/json) and the JSON
// body holding `data`.
std::pair<Headers, std::string> ToBinary(const Event& event, Binding binding);

}  // namespace voronka

#endif  // VORONKA_EVENTS_CLOUDEVENTS_H_
