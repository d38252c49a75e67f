#include "projections/deal.h"

#include <algorithm>

#include "cereal/types/optional.hpp"
#include "cereal/types/string.hpp"
#include "cereal/types/vector.hpp"
#include "fmt/format.h"
#include "projections/state_codec.h"

namespace voronka {

// ---- Roster ---------------------------------------------------------------

bool Roster::Add(const Event& event) {
  Entry entry{.key = EventKey::Of(event)};
  const ManagerId* manager = nullptr;
  if (const auto* j = event.get_if<ManagerJoined>()) {
    manager = &j->manager;
    entry.department = j->department;
  } else if (const auto* d = event.get_if<ManagerDeparted>()) {
    manager = &d->manager;
    entry.department = d->department;
    entry.departed = true;
  } else {
    return false;
  }
  std::vector<Entry>& list = entries_[*manager];
  auto it = std::lower_bound(
      list.begin(), list.end(), entry.key,
      [](const Entry& e, const EventKey& k) { return e.key < k; });
  if (it != list.end() && it->key == entry.key) return false;
  list.insert(it, std::move(entry));
  return true;
}

bool Roster::DepartedBefore(const ManagerId& manager,
                            const EventKey& at) const {
  auto found = entries_.find(manager);
  if (found == entries_.end()) return false;
  const std::vector<Entry>& list = found->second;
  auto it = std::lower_bound(
      list.begin(), list.end(), at,
      [](const Entry& e, const EventKey& k) { return e.key < k; });
  return it != list.begin() && std::prev(it)->departed;
}

const Roster::Entry* Roster::FirstDepartureBetween(
    const ManagerId& manager, const EventKey& after,
    const EventKey* before) const {
  auto found = entries_.find(manager);
  if (found == entries_.end()) return nullptr;
  const std::vector<Entry>& list = found->second;
  auto it = std::upper_bound(
      list.begin(), list.end(), after,
      [](const EventKey& k, const Entry& e) { return k < e.key; });
  for (; it != list.end(); ++it) {
    if (before != nullptr && !(it->key < *before)) return nullptr;
    if (it->departed) return &*it;
  }
  return nullptr;
}

const std::vector<Roster::Entry>* Roster::EntriesOf(
    const ManagerId& manager) const {
  auto found = entries_.find(manager);
  return found == entries_.end() ? nullptr : &found->second;
}

std::string_view ToString(QueueReason reason) {
  switch (reason) {
    case QueueReason::kStageHandoff:
      return "stage_handoff";
    case QueueReason::kKeyAccount:
      return "key_account";
    case QueueReason::kDeparture:
      return "departure";
    case QueueReason::kUnowned:
      return "unowned";
  }
  return "unknown";
}

// ---- Codec ----------------------------------------------------------------

namespace {
constexpr char kDealStateV1 = 0x01;
}  // namespace

std::string EncodeDealState(const DealState& state) {
  return EncodeState(kDealStateV1, state);
}

absl::StatusOr<DealState> DecodeDealState(std::string_view bytes) {
  return DecodeState<DealState>(kDealStateV1, "deal state", bytes);
}

// ---- DealFolder -----------------------------------------------------------

namespace {

struct DealFields {
  const OrgId* org = nullptr;
  const std::optional<Money>* amount = nullptr;  // Optional amount field.
  const Money* required_amount = nullptr;
};

DealFields FieldsOf(const Event& event) {
  DealFields f;
  std::visit(
      [&](const auto& d) {
        using T = std::decay_t<decltype(d)>;
        if constexpr (!std::is_same_v<T, ManagerJoined> &&
                      !std::is_same_v<T, ManagerDeparted>) {
          f.org = &d.org;
        }
        if constexpr (std::is_same_v<T, DealStageChanged>) {
          f.amount = &d.amount;
        } else if constexpr (std::is_same_v<T, ProposalSent>) {
          if (d.kind == ProposalKind::kIndividual) f.amount = &d.amount;
        } else if constexpr (std::is_same_v<T, ApplicationReceived>) {
          f.required_amount = &d.amount;
        }
      },
      event.data);
  return f;
}

bool Contains(const std::vector<DepartmentId>& list, const DepartmentId& d) {
  return std::find(list.begin(), list.end(), d) != list.end();
}

}  // namespace

DepartmentId DealFolder::StageDepartment(
    const Stage& stage, const std::optional<Money>& amount) const {
  if (!stage.owner) return DepartmentId();
  if (amount && Contains(config_.key_account_routed(), *stage.owner)) {
    auto threshold = config_.key_account_threshold().find(amount->currency);
    if (threshold != config_.key_account_threshold().end() &&
        amount->minor >= threshold->second) {
      return config_.key_accounts_department();
    }
  }
  return *stage.owner;
}

void DealFolder::Enqueue(DealState& state, Timestamp since,
                         QueueReason reason) const {
  if (state.stage_department.empty()) {
    state.queue.reset();
    return;
  }
  state.queue = QueueSlot{state.stage_department, since, reason};
}

void DealFolder::ApplyDepartures(DealState& state,
                                 const EventKey* before) const {
  if (!state.owner || !state.open()) return;
  const Roster::Entry* departure =
      roster_.FirstDepartureBetween(*state.owner, state.owner_since, before);
  if (departure == nullptr) return;
  // Events that sort before an applied departure must re-fold the deal.
  if (state.last < departure->key) state.last = departure->key;
  state.owner.reset();
  state.owner_department = DepartmentId();
  if (state.stage >= 0) {
    Enqueue(state, departure->key.time, QueueReason::kDeparture);
  }
}

void DealFolder::TakeOwner(DealState& state, const Event& event,
                           const ManagerId& who, const DepartmentId& department,
                           bool is_claim) const {
  if (!state.open()) return;  // Closed: the owner stays for the record.
  const EventKey key = EventKey::Of(event);
  if (roster_.DepartedBefore(who, key)) return;  // Ignored: stays queued.
  if (is_claim && state.queue) {
    state.claims.push_back(ClaimWait{state.queue->department, who,
                                     state.queue->since, event.time,
                                     state.queue->reason});
  }
  state.queue.reset();
  state.owner = who;
  state.owner_department = department;
  state.owner_since = key;
}

void DealFolder::EnterStage(DealState& state, const Event& event,
                            const DealStageChanged& change) const {
  const Funnel* funnel = config_.FindFunnel(change.funnel.value());
  if (funnel == nullptr) return;  // Not in this configuration: ignored.
  const int index = funnel->IndexOf(change.stage);
  if (index < 0) return;
  if (state.funnel != change.funnel) {
    state.funnel = change.funnel;
    state.stage = -1;
    state.reached.assign(funnel->stages.size(), Timestamp());
    state.stage_department = DepartmentId();
  }
  if (index == state.stage) return;  // Same stage again: activity only.

  const Stage& stage = funnel->stages[index];
  const bool first_stage = state.stage < 0;
  const DepartmentId previous = state.stage_department;
  state.stage = index;
  state.stage_entered = event.time;
  state.stage_department = StageDepartment(stage, state.amount);
  state.outcome = stage.outcome;
  state.visits.push_back(StageVisit{stage.name, state.stage_department,
                                    event.time, change.manager});

  // Geometry: this stage, and for a non-lost stage every skipped one.
  auto reach = [&](int i) {
    if (!state.reached[i].is_set()) state.reached[i] = event.time;
  };
  reach(index);
  if (stage.outcome != StageOutcome::kLost) {
    for (int i = 0; i < index; ++i) {
      if (funnel->stages[i].outcome != StageOutcome::kLost) reach(i);
    }
  }

  if (stage.closed()) {
    state.queue.reset();
    return;
  }
  const bool actor_in_department =
      change.manager && change.department == state.stage_department &&
      !roster_.DepartedBefore(*change.manager, EventKey::Of(event));
  if (first_stage || previous != state.stage_department) {
    state.owner.reset();
    state.owner_department = DepartmentId();
    if (first_stage && actor_in_department) {
      state.queue.reset();
      state.owner = change.manager;
      state.owner_department = state.stage_department;
      state.owner_since = EventKey::Of(event);
      return;
    }
    const bool routed = stage.owner && *stage.owner != state.stage_department;
    Enqueue(state, event.time,
            routed ? QueueReason::kKeyAccount : QueueReason::kStageHandoff);
    return;
  }
  // Same department: the owner stays; an unowned deal gets the actor.
  if (state.owner) return;
  if (actor_in_department) {
    state.queue.reset();
    state.owner = change.manager;
    state.owner_department = state.stage_department;
    state.owner_since = EventKey::Of(event);
    return;
  }
  // Still unowned: it waits in the department's queue, from this entry.
  Enqueue(state, event.time,
          state.queue ? state.queue->reason : QueueReason::kUnowned);
}

void DealFolder::Apply(DealState& state, const Event& event) const {
  const EventKey key = EventKey::Of(event);
  ApplyDepartures(state, &key);
  if (state.events == 0) state.opened = event.time;
  ++state.events;
  state.last = key;
  state.last_activity = std::max(state.last_activity, event.time);

  const DealFields fields = FieldsOf(event);
  if (fields.org != nullptr && state.org.empty()) state.org = *fields.org;
  if (fields.amount != nullptr && fields.amount->has_value()) {
    state.amount = **fields.amount;
  }
  if (fields.required_amount != nullptr) state.amount = *fields.required_amount;

  if (const auto* change = event.get_if<DealStageChanged>()) {
    EnterStage(state, event, *change);
  } else if (const auto* claim = event.get_if<DealClaimed>()) {
    TakeOwner(state, event, claim->manager, claim->department,
              /*is_claim=*/true);
  } else if (const auto* re = event.get_if<DealReassigned>()) {
    TakeOwner(state, event, re->manager, re->department, /*is_claim=*/false);
  }
}

void DealFolder::Settle(DealState& state) const {
  ApplyDepartures(state, nullptr);
}

DealState DealFolder::Fold(const DealId& deal,
                           std::span<const Event> sorted) const {
  DealState state;
  state.deal = deal;
  for (const Event& event : sorted) Apply(state, event);
  Settle(state);
  return state;
}

}  // namespace voronka
