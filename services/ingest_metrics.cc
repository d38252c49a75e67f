#include "services/ingest_metrics.h"

#include <map>
#include <utility>

#include "services/metrics.h"

namespace voronka {
namespace {

std::string_view ReasonLabel(RejectReason reason) {
  switch (reason) {
    case RejectReason::kInvalid:
      return "invalid";
    case RejectReason::kConflict:
      return "conflict";
    case RejectReason::kMalformed:
      return "malformed";
    case RejectReason::kTooLarge:
      return "too_large";
    case RejectReason::kUnsupportedMedia:
      return "unsupported_media_type";
    case RejectReason::kUnauthorized:
      break;
  }
  return "unauthorized";
}

}  // namespace

IngestMetrics::IngestMetrics(prometheus::Registry& registry)
    : requests_by_code_(
          prometheus::BuildCounter()
              .Name("voronka_ingest_requests_total")
              .Help("POST /v1/events answers by HTTP status code.")
              .Register(registry)),
      events_(prometheus::BuildCounter()
                  .Name("voronka_ingest_events_total")
                  .Help("Events acknowledged (retries included) by type and "
                        "CloudEvents source (the first 100 sources, then "
                        "\"other\").")
                  .Register(registry)),
      duplicate_events_(
          prometheus::BuildCounter()
              .Name("voronka_ingest_duplicate_events_total")
              .Help("Acknowledged retries: (source, id) already in the log, "
                    "not appended again.")
              .Register(registry)
              .Add({})),
      rejected_by_reason_(
          prometheus::BuildCounter()
              .Name("voronka_ingest_rejected_events_total")
              .Help("Refused events by reason (per event for invalid and "
                    "conflict, per request otherwise).")
              .Register(registry)),
      log_unavailable_(prometheus::BuildCounter()
                           .Name("voronka_ingest_log_unavailable_total")
                           .Help("Appends refused because the event log was "
                                 "unavailable (answered 503).")
                           .Register(registry)
                           .Add({})),
      request_duration_(prometheus::BuildHistogram()
                            .Name("voronka_ingest_request_duration_seconds")
                            .Help("POST /v1/events handling, decode to answer.")
                            .Register(registry)
                            .Add({}, LatencyBuckets())),
      append_duration_(
          prometheus::BuildHistogram()
              .Name("voronka_ingest_append_duration_seconds")
              .Help("The durable idempotent append of one request's (or "
                    "inbox batch's) events.")
              .Register(registry)
              .Add({}, LatencyBuckets())),
      in_flight_(prometheus::BuildGauge()
                     .Name("voronka_ingest_requests_in_flight")
                     .Help("POST /v1/events requests being handled.")
                     .Register(registry)
                     .Add({})) {
  // Series that alerts divide by exist from the start.
  for (RejectReason r :
       {RejectReason::kInvalid, RejectReason::kConflict,
        RejectReason::kMalformed, RejectReason::kTooLarge,
        RejectReason::kUnsupportedMedia, RejectReason::kUnauthorized}) {
    rejected_by_reason_.Add({{"reason", std::string(ReasonLabel(r))}});
  }
}

void IngestMetrics::Request(int status) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  requests_by_code_.Add({{"code", std::to_string(status)}}).Increment();
}

std::string IngestMetrics::SourceLabel(std::string_view source) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string name(source);
  if (sources_.contains(name)) return name;
  if (sources_.size() >= kMaxSources) return "other";
  sources_.insert(name);
  return name;
}

void IngestMetrics::Accepted(std::span<const Event> events,
                             int64_t duplicates) {
  accepted_.fetch_add(static_cast<int64_t>(events.size()),
                      std::memory_order_relaxed);
  duplicates_.fetch_add(duplicates, std::memory_order_relaxed);
  duplicate_events_.Increment(static_cast<double>(duplicates));
  // Batches come mostly from one source with a few types: count locally,
  // then touch each series once.
  std::map<std::pair<std::string_view, EventType>, int64_t> counts;
  for (const Event& e : events) ++counts[{e.source.value(), e.type()}];
  for (const auto& [key, n] : counts) {
    events_
        .Add({{"type", std::string(EventTypeName(key.second))},
              {"source", SourceLabel(key.first)}})
        .Increment(static_cast<double>(n));
  }
}

void IngestMetrics::Rejected(RejectReason reason, int64_t events) {
  rejected_.fetch_add(events, std::memory_order_relaxed);
  rejected_by_reason_.Add({{"reason", std::string(ReasonLabel(reason))}})
      .Increment(static_cast<double>(events));
}

void IngestMetrics::LogUnavailable() {
  unavailable_.fetch_add(1, std::memory_order_relaxed);
  log_unavailable_.Increment();
}

void IngestMetrics::RequestDuration(absl::Duration d) {
  request_duration_.Observe(absl::ToDoubleSeconds(d));
}

void IngestMetrics::AppendDuration(absl::Duration d) {
  append_duration_.Observe(absl::ToDoubleSeconds(d));
}

void AddInboxMetrics(Metrics& metrics, const Inbox& inbox) {
  metrics.AddCollector("inbox", [&inbox](MetricSink& sink) {
    using prometheus::MetricType;
    const InboxStats& s = inbox.stats();
    FamilyWriter events = sink.AddFamily(
        "voronka_inbox_events_total",
        "Events from the Kafka inbox: appended (new) or duplicate.",
        MetricType::Counter);
    events.Counter({{"result", "appended"}},
                   static_cast<double>(s.appended.load()));
    events.Counter({{"result", "duplicate"}},
                   static_cast<double>(s.duplicates.load()));
    sink.AddFamily("voronka_inbox_dead_letters_total",
                   "Inbox records sent to the dead-letter topic.",
                   MetricType::Counter)
        .Counter({}, static_cast<double>(s.dead_lettered.load()));
    sink.AddFamily("voronka_inbox_batch_retries_total",
                   "Inbox batches retried after an error.", MetricType::Counter)
        .Counter({}, static_cast<double>(s.retries.load()));
    return absl::OkStatus();
  });
}

IngestMetrics::InFlight::InFlight(IngestMetrics* m) : m_(m) {
  if (m_ != nullptr) m_->in_flight_.Increment();
}

IngestMetrics::InFlight::~InFlight() {
  if (m_ != nullptr) m_->in_flight_.Decrement();
}

}  // namespace voronka
