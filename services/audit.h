// AuditReader: what an auditor asks about one manager, answered from the
// audit index (projections/audit_projection.h) and the event log itself
// (docs/audit.md):
//
//   History()  every record that names the manager, and every record that
//              took one of the manager's deals away (a reassignment to
//              someone else, a stage change into another department), in
//              log order, read back from the log through the index and
//              streamed: memory holds positions, not events.
//   Deals()    each deal the manager was named in, folded with the funnel
//              projection's own fold (projections/deal.h): its outcome now,
//              and the handover: deals re-queued at the manager's departure
//              and who has claimed them since.
//   Book()     the deals the manager owned at a moment: the deals' records
//              up to that moment folded by the same code as the live read
//              model, so the book as of "now" is the live funnel's.
//   Verify()   re-reads the history records from the log, recomputes the
//              SHA-256 chains and reports the first position where they
//              differ from the index (or that every record and seal
//              matches).
//
// "Log order": offset order within a partition; partitions merged by the
// records' recorded time. The embedded log has one partition: offset order.
//
// Thread-compatible; the store and the log must outlive the reader.
#ifndef VORONKA_SERVICES_AUDIT_H_
#define VORONKA_SERVICES_AUDIT_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/event.h"
#include "events/funnel_config.h"
#include "events/log.h"
#include "events/timestamp.h"
#include "projections/audit.h"
#include "projections/queries.h"
#include "projections/store.h"

namespace voronka {

// How a record relates to the manager.
enum class AuditRelation {
  kNamed,     // The record names the manager (actor, owner, decider, roster).
  kLostDeal,  // It took a deal the manager owned away from them.
};
std::string_view ToString(AuditRelation relation);

struct HistoryRow {
  LogPosition position;
  Event event;
  AuditRelation relation = AuditRelation::kNamed;
};
using HistoryVisitor = std::function<absl::Status(const HistoryRow&)>;

struct DealOutcome {
  std::string deal, org, funnel, stage;
  std::string outcome;  // "open", "won", "lost" or "no stage".
  std::string owner;    // "" = unowned.
  std::optional<Money> amount;
  Timestamp last_activity;
};

struct HandoverEntry {
  std::string deal, department;
  Timestamp requeued;                   // The departure's time.
  std::string claimed_by;               // "" while nobody has.
  std::optional<Timestamp> claimed_at;  // When.
  std::string how;                      // "claimed" or "reassigned".
  std::string outcome;                  // The deal now: open / won / lost.
};

struct ManagerDeals {
  std::vector<DealOutcome> deals;  // By deal id.
  std::vector<HandoverEntry> handover;
  std::vector<Timestamp> departures;  // The manager's departures.
  // Pipeline drain (projections/drain.h), per week: the kDrainWeeks weeks
  // before the last departure (or up to the last full week); empty without
  // the indicators read model.
  std::vector<DrainWeek> drain;
  // Records that took a deal away: position and recorded time (micros).
  std::vector<std::pair<LogPosition, int64_t>> lost;
};

struct HistoryQuery {
  std::string manager;
  std::optional<Timestamp> from, to;  // Event time, inclusive.
  // Rows after this position in log order (paging); none: from the start.
  std::optional<LogPosition> after;
  size_t limit = 0;  // 0: no limit.
  // Deals() of the manager, if the caller has it (saves folding again).
  const ManagerDeals* deals = nullptr;
  // Set when `limit` stopped the page before the end: the position to pass
  // as `after` for the next page (rows filtered out by time still count).
  std::optional<LogPosition>* next_after = nullptr;
};

struct BookEntry {
  std::string deal, org, funnel, stage, department;
  std::optional<Money> amount;
  Timestamp stage_entered;
  absl::Duration time_in_stage;
};

struct VerifyReport {
  bool match = true;
  int64_t records = 0;  // History records re-read.
  struct Chain {
    int32_t partition = 0;
    int64_t count = 0;
    AuditDigest digest{};
  };
  std::vector<Chain> chains;  // Recomputed, per partition.
  int64_t seals = 0;          // Seals checked.
  // The first divergence (when !match): where, and what differs.
  std::optional<LogPosition> diverges_at;
  std::string detail;
};

class AuditReader {
 public:
  // `indicators` (optional) gives the pipeline-drain weeks of Deals().
  AuditReader(const ProjectionStore& audit, EventLog& log,
              const FunnelConfig& config,
              const ProjectionStore* indicators = nullptr);

  static constexpr int kDrainWeeks = 8;

  // NotFound if the index knows no such manager.
  absl::Status History(const HistoryQuery& query, const HistoryVisitor& visit);
  absl::StatusOr<ManagerDeals> Deals(const std::string& manager);
  // Open deals owned by `manager` at `as_of`, by deal id.
  absl::StatusOr<std::vector<BookEntry>> Book(const std::string& manager,
                                              Timestamp as_of);
  absl::StatusOr<VerifyReport> Verify(const std::string& manager);

  // Every manager the index knows, in name order.
  absl::StatusOr<std::vector<std::string>> Managers() const;
  // Manager -> the times they left (manager.departed records), from the
  // roster entries of the index read back from the log.
  absl::StatusOr<std::map<std::string, std::vector<Timestamp>>> Departures();

 private:
  struct Folded;
  // Folds every deal the manager was named in, with the records up to
  // `until` (all when unset); calls `each` with the deal's final state and
  // the positions whose record took the deal from the manager.
  absl::Status FoldDeals(
      const std::string& manager, std::optional<Timestamp> until,
      const std::function<absl::Status(const Folded&)>& each);

  const ProjectionStore& audit_;
  EventLog& log_;
  const FunnelConfig& config_;
  const ProjectionStore* indicators_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_AUDIT_H_
