// IngestMetrics: everything POST /v1/events counts, as Prometheus metrics in a
// process's registry and as totals for status lines. docs/observability.md
// describes each metric.
//
//   IngestMetrics m(metrics.registry());
//   m.Request(202);            // per answered request
//   m.Accepted(events);        // voronka_ingest_events_total{type,source}
//
// Label values are bounded: `source` takes the first kMaxSources distinct
// sources, later ones count as "other"; `type` is one of the event types
// the decoder accepted.
//
// Thread-safe.
#ifndef VORONKA_SERVICES_INGEST_METRICS_H_
#define VORONKA_SERVICES_INGEST_METRICS_H_

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "services/inbox.h"
#include "services/metrics.h"

namespace voronka {

// Why events were refused (voronka_ingest_rejected_events_total{reason}).
enum class RejectReason {
  kInvalid,           // 422, per event.
  kConflict,          // 409, per event.
  kMalformed,         // 400, per request.
  kTooLarge,          // 413, per request.
  kUnsupportedMedia,  // 415, per request.
  kUnauthorized,      // 401/403, per request.
};

class IngestMetrics {
 public:
  static constexpr size_t kMaxSources = 100;

  explicit IngestMetrics(prometheus::Registry& registry);

  void Request(int status);
  // Acknowledged events: counted by type and source.
  void Accepted(std::span<const Event> events, int64_t duplicates);
  void Rejected(RejectReason reason, int64_t events);
  void LogUnavailable();
  void RequestDuration(absl::Duration d);
  void AppendDuration(absl::Duration d);

  // Counts a request in flight for its lifetime.
  class InFlight {
   public:
    explicit InFlight(IngestMetrics* m);
    ~InFlight();
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

   private:
    IngestMetrics* m_;
  };

  // Totals since start, for status lines.
  int64_t requests() const { return requests_; }
  int64_t accepted() const { return accepted_; }
  int64_t duplicates() const { return duplicates_; }
  int64_t rejected() const { return rejected_; }
  int64_t unavailable() const { return unavailable_; }

 private:
  std::string SourceLabel(std::string_view source);

  prometheus::Family<prometheus::Counter>& requests_by_code_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Counter& duplicate_events_;
  prometheus::Family<prometheus::Counter>& rejected_by_reason_;
  prometheus::Counter& log_unavailable_;
  prometheus::Histogram& request_duration_;
  prometheus::Histogram& append_duration_;
  prometheus::Gauge& in_flight_;

  std::mutex mu_;
  absl::flat_hash_set<std::string> sources_;  // Guarded by mu_.

  std::atomic<int64_t> requests_{0};
  std::atomic<int64_t> accepted_{0};
  std::atomic<int64_t> duplicates_{0};
  std::atomic<int64_t> rejected_{0};
  std::atomic<int64_t> unavailable_{0};
};

// The Kafka inbox's totals as voronka_inbox_* counters (read at scrape).
// `inbox` must outlive the metrics' route.
void AddInboxMetrics(Metrics& metrics, const Inbox& inbox);

}  // namespace voronka

#endif  // VORONKA_SERVICES_INGEST_METRICS_H_
