#include "projections/funnel_projection.h"

#include <vector>

#include "events/codec.h"
#include "events/status.h"
#include "fmt/format.h"
#include "projections/deal_view.h"
#include "projections/keys.h"

namespace voronka {
namespace {

std::string StateKey(const DealId& deal) {
  return Key("s").Str(deal.value()).str();
}

Key EventSuffix(Key key, const Event& e) {
  key.Int(e.time.unix_micros()).Str(e.source.value()).Str(e.id.value());
  return key;
}

// The managers an event names as a possible owner of its deal.
const ManagerId* OwnerCandidate(const Event& e) {
  if (const auto* c = e.get_if<DealClaimed>()) return &c->manager;
  if (const auto* r = e.get_if<DealReassigned>()) return &r->manager;
  if (const auto* s = e.get_if<DealStageChanged>()) {
    return s->manager ? &*s->manager : nullptr;
  }
  return nullptr;
}

}  // namespace

FunnelProjection::FunnelProjection(const FunnelConfig& config)
    : config_(config),
      version_(fmt::format("funnel/{}/{:016x}", kVersion,
                           ConfigFingerprint(config))),
      folder_(config, roster_) {
  absl::LoadTimeZone(config.timezone(), &tz_);
}

absl::Status FunnelProjection::Load(const ProjectionStore& store) {
  roster_ = Roster();
  working_.clear();
  absl::Status decode_error;
  VORONKA_RETURN_IF_ERROR(store.ScanEntries(
      Key("r").str(), "", [&](std::string_view, std::string_view value) {
        absl::StatusOr<Event> event = DecodeEvent(value);
        if (!event.ok()) {
          decode_error = event.status();
          return false;
        }
        roster_.Add(*event);
        return true;
      }));
  return decode_error;
}

absl::Status FunnelProjection::Apply(const Event& event, Txn& txn) {
  if (event.get_if<ManagerJoined>() || event.get_if<ManagerDeparted>()) {
    if (!roster_.Add(event)) return absl::OkStatus();
    const ManagerId& manager = event.get_if<ManagerJoined>()
                                   ? event.get_if<ManagerJoined>()->manager
                                   : event.get_if<ManagerDeparted>()->manager;
    txn.Put(EventSuffix(Key("r").Str(manager.value()), event).str(),
            EncodeEvent(event));
    std::vector<DealId> deals;
    VORONKA_RETURN_IF_ERROR(
        txn.ScanEntries(Key("tm").Str(manager.value()).str(),
                        [&](std::string_view key, std::string_view) {
                          KeyReader r(key);
                          r.Str();
                          r.Str();
                          deals.emplace_back(r.Str());
                        }));
    for (const DealId& deal : deals) {
      ++counts_.roster_refolds;
      VORONKA_RETURN_IF_ERROR(Refold(deal, txn));
    }
    return absl::OkStatus();
  }
  const DealId* deal = event.deal();
  if (deal == nullptr) return absl::OkStatus();
  return ApplyToDeal(event, *deal, txn);
}

absl::StatusOr<FunnelProjection::Working*> FunnelProjection::Touch(
    const DealId& deal, Txn& txn) {
  auto it = working_.find(deal);
  if (it != working_.end()) return &it->second;
  VORONKA_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           txn.Get(StateKey(deal)));
  Working w;
  if (bytes) {
    VORONKA_ASSIGN_OR_RETURN(w.before, DecodeDealState(*bytes));
    w.now = *w.before;
  } else {
    w.now.deal = deal;
  }
  return &working_.emplace(deal, std::move(w)).first->second;
}

absl::Status FunnelProjection::ApplyToDeal(const Event& event,
                                           const DealId& deal, Txn& txn) {
  txn.Put(EventSuffix(Key("h").Str(deal.value()), event).str(),
          EncodeEvent(event));
  if (const ManagerId* m = OwnerCandidate(event)) {
    txn.Put(Key("tm").Str(m->value()).Str(deal.value()).str(), "");
  }
  VORONKA_ASSIGN_OR_RETURN(Working * w, Touch(deal, txn));
  if (w->now.events > 0 && EventKey::Of(event) < w->now.last) {
    ++counts_.late_refolds;
    return Refold(deal, txn);  // Late: re-decide everything after it.
  }
  folder_.Apply(w->now, event);
  folder_.Settle(w->now);
  return absl::OkStatus();
}

absl::Status FunnelProjection::Refold(const DealId& deal, Txn& txn) {
  std::vector<Event> history;
  absl::Status decode_error;
  VORONKA_RETURN_IF_ERROR(
      txn.ScanEntries(Key("h").Str(deal.value()).str(),
                      [&](std::string_view, std::string_view value) {
                        absl::StatusOr<Event> event = DecodeEvent(value);
                        if (!event.ok()) {
                          decode_error = event.status();
                        } else {
                          history.push_back(std::move(*event));
                        }
                      }));
  VORONKA_RETURN_IF_ERROR(decode_error);
  counts_.refolded_events += static_cast<int64_t>(history.size());
  // Keys sort by (time, source, id): the history is already in fold order.
  VORONKA_ASSIGN_OR_RETURN(Working * w, Touch(deal, txn));
  w->now = folder_.Fold(deal, history);
  return absl::OkStatus();
}

absl::Status FunnelProjection::Flush(Txn& txn) {
  for (auto& [deal, w] : working_) {
    if (w.before && *w.before == w.now) continue;
    txn.changes().AddDiff(w.before ? DealView(*w.before, config_, tz_) : View(),
                          DealView(w.now, config_, tz_));
    txn.Put(StateKey(deal), EncodeDealState(w.now));
  }
  working_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<DealState>> ReadDeal(const ProjectionStore& store,
                                                  const DealId& deal) {
  VORONKA_ASSIGN_OR_RETURN(std::optional<std::string> bytes,
                           store.Get(StateKey(deal)));
  if (!bytes) return std::nullopt;
  VORONKA_ASSIGN_OR_RETURN(DealState state, DecodeDealState(*bytes));
  return state;
}

}  // namespace voronka
