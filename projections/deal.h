// The life of one deal, folded from its events (DOMAIN.md §4).
//
// A deal's events apply in EventKey order — (time, source, id) — whatever
// order they arrived in. DealFolder::Fold() folds a sorted history from
// scratch; Apply() adds one event that sorts after everything already
// applied (the common, in-order case) and must give the same state as
// folding the whole history again. A late event (one that sorts before
// state.last) is handled by the caller re-folding the history with it.
//
// Rules (written out with examples in docs/read-models.md):
//  * Stage: a deal.stage_changed enters `stage` of `funnel`; the stage's
//    department is its owner department, or the key-accounts department when
//    that owner is routed (sales, account_management) and the expected
//    amount at entry is at or above the threshold for its currency.
//  * Ownership: deal.claimed / deal.reassigned set the owner (ignored when
//    the manager had departed at that time: the deal stays queued). A stage
//    change within the same department keeps the owner; into another
//    department (or a deal's first stage) it clears the owner and queues the
//    deal there — except that a first stage is owned by its actor when the
//    actor belongs to the stage's department. Entering a closed (won/lost)
//    stage closes the deal and empties its queue slot.
//  * Departures: at a manager.departed's key, every open deal the manager
//    owns loses its owner and is queued for its stage's department. The
//    Roster holds those events; Apply() applies the departures that fall
//    between the previous event and this one, Settle() those after the last.
//  * Queue: a deal leaves its queue when claimed or reassigned, when it moves
//    to another stage (and re-enters the new department's queue if it
//    arrives unowned), and when it closes. Claim waits are recorded.
//  * Expected amount: the latest amount from a stage change, an application
//    or an individual proposal. Activity: any event naming the deal.
//  * Reached stages (funnel geometry): entering stage i marks i and, for a
//    non-lost stage, every earlier non-lost stage not reached yet (a skipped
//    stage counts as passed), each with the time it was first reached.
//
// Pure: no clock, no I/O. Not thread-safe per state; a DealFolder is
// immutable and may be shared.
#ifndef VORONKA_PROJECTIONS_DEAL_H_
#define VORONKA_PROJECTIONS_DEAL_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "events/event.h"
#include "events/funnel_config.h"

namespace voronka {

// The order in which a deal's events apply.
struct EventKey {
  Timestamp time;
  std::string source;
  std::string id;

  static EventKey Of(const Event& e) {
    return {e.time, e.source.value(), e.id.value()};
  }
  friend auto operator<=>(const EventKey&, const EventKey&) = default;
  friend bool operator==(const EventKey&, const EventKey&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(time, source, id);
  }
};

// Who was on staff when: manager.joined and manager.departed events by
// manager, in EventKey order.
class Roster {
 public:
  struct Entry {
    EventKey key;
    bool departed = false;
    DepartmentId department;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  // Adds a manager.* event; false if it was already there (same key).
  bool Add(const Event& event);
  // True if the latest roster entry of `manager` before `at` is a departure.
  bool DepartedBefore(const ManagerId& manager, const EventKey& at) const;
  // The first departure of `manager` with after < key < before, if any.
  const Entry* FirstDepartureBetween(const ManagerId& manager,
                                     const EventKey& after,
                                     const EventKey* before) const;
  const std::vector<Entry>* EntriesOf(const ManagerId& manager) const;

 private:
  absl::flat_hash_map<ManagerId, std::vector<Entry>> entries_;
};

enum class QueueReason : uint8_t {
  kStageHandoff = 0,  // Entered a stage of another department.
  kKeyAccount = 1,    // Routed to key accounts by its amount.
  kDeparture = 2,     // Its owner left.
  kUnowned = 3,       // Entered a stage with nobody to own it.
};
std::string_view ToString(QueueReason reason);

struct QueueSlot {
  DepartmentId department;
  Timestamp since;
  QueueReason reason = QueueReason::kStageHandoff;
  friend bool operator==(const QueueSlot&, const QueueSlot&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(department, since, reason);
  }
};

struct StageVisit {
  StageId stage;
  DepartmentId department;  // After key-account routing; empty if none.
  Timestamp entered;
  std::optional<ManagerId> actor;
  friend bool operator==(const StageVisit&, const StageVisit&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(stage, department, entered, actor);
  }
};

struct ClaimWait {
  DepartmentId department;  // The queue it waited in.
  ManagerId manager;        // Who claimed it.
  Timestamp enqueued;
  Timestamp claimed;
  QueueReason reason = QueueReason::kStageHandoff;
  friend bool operator==(const ClaimWait&, const ClaimWait&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(department, manager, enqueued, claimed, reason);
  }
};

struct DealState {
  DealId deal;
  OrgId org;
  FunnelId funnel;  // Empty until the first stage change.
  int stage = -1;   // Index into the funnel's stages; -1: no stage yet.
  DepartmentId stage_department;
  StageOutcome outcome = StageOutcome::kOpen;
  Timestamp opened;  // Time of its first event.
  Timestamp stage_entered;
  Timestamp last_activity;
  std::optional<ManagerId> owner;
  DepartmentId owner_department;
  EventKey owner_since;  // Key of the event that made `owner` the owner.
  std::optional<QueueSlot> queue;
  std::optional<Money> amount;
  std::vector<Timestamp> reached;  // Per stage index; unset = not reached.
  std::vector<StageVisit> visits;
  std::vector<ClaimWait> claims;
  EventKey last;  // The last event applied.
  int64_t events = 0;

  bool open() const { return outcome == StageOutcome::kOpen; }
  friend bool operator==(const DealState&, const DealState&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(deal, org, funnel, stage, stage_department, outcome, opened,
       stage_entered, last_activity, owner, owner_department, owner_since,
       queue, amount, reached, visits, claims, last, events);
  }
};

// Codec for the store; DataLoss if `bytes` does not decode.
std::string EncodeDealState(const DealState& state);
absl::StatusOr<DealState> DecodeDealState(std::string_view bytes);

class DealFolder {
 public:
  DealFolder(const FunnelConfig& config, const Roster& roster)
      : config_(config), roster_(roster) {}

  // Applies `event` (it names state.deal and sorts after state.last).
  void Apply(DealState& state, const Event& event) const;
  // Applies the departures that follow the last event.
  void Settle(DealState& state) const;
  // Folds a history sorted by EventKey, then settles it.
  DealState Fold(const DealId& deal, std::span<const Event> sorted) const;

  // The department that works `stage` for a deal expected to bring `amount`.
  DepartmentId StageDepartment(const Stage& stage,
                               const std::optional<Money>& amount) const;

 private:
  void ApplyDepartures(DealState& state, const EventKey* before) const;
  void EnterStage(DealState& state, const Event& event,
                  const DealStageChanged& change) const;
  void TakeOwner(DealState& state, const Event& event, const ManagerId& who,
                 const DepartmentId& department, bool is_claim) const;
  void Enqueue(DealState& state, Timestamp since, QueueReason reason) const;

  const FunnelConfig& config_;
  const Roster& roster_;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_DEAL_H_
