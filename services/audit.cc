#include "services/audit.h"

#include <algorithm>
#include <map>
#include <queue>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "events/codec.h"
#include "events/status.h"
#include "fmt/format.h"
#include "projections/deal.h"
#include "projections/drain.h"
#include "projections/keys.h"
#include "projections/view.h"

namespace voronka {
namespace {

int64_t Big64(std::string_view v) {
  uint64_t u = 0;
  for (size_t i = 0; i < 8 && i < v.size(); ++i) {
    u = (u << 8) | static_cast<uint8_t>(v[i]);
  }
  return static_cast<int64_t>(u);
}

bool Names(const Event& event, const std::string& manager) {
  for (const ManagerId& m : ManagersNamed(event)) {
    if (m.value() == manager) return true;
  }
  return false;
}

std::string OutcomeOf(const DealState& s) {
  if (s.stage < 0) return "no stage";
  switch (s.outcome) {
    case StageOutcome::kWon:
      return "won";
    case StageOutcome::kLost:
      return "lost";
    case StageOutcome::kOpen:
      break;
  }
  return "open";
}

std::string StageName(const FunnelConfig& config, const DealState& s) {
  const Funnel* f = config.FindFunnel(s.funnel.value());
  if (f == nullptr || s.stage < 0 ||
      static_cast<size_t>(s.stage) >= f->stages.size()) {
    return "";
  }
  return f->stages[static_cast<size_t>(s.stage)].name.value();
}

// A position of the history with what orders it.
struct Placed {
  LogPosition position;
  int64_t recorded_us = 0;
  AuditRelation relation = AuditRelation::kNamed;
};

// Offset order within a partition, partitions merged by recorded time.
std::vector<Placed> LogOrder(std::vector<Placed> all) {
  std::map<int32_t, std::vector<Placed>> by_partition;
  for (Placed& p : all) by_partition[p.position.partition].push_back(p);
  std::vector<std::vector<Placed>> lanes;
  for (auto& [partition, lane] : by_partition) {
    std::sort(lane.begin(), lane.end(), [](const Placed& a, const Placed& b) {
      return a.position.offset < b.position.offset;
    });
    lanes.push_back(std::move(lane));
  }
  using Head = std::pair<std::pair<int64_t, LogPosition>, size_t>;
  std::priority_queue<Head, std::vector<Head>, std::greater<>> heads;
  std::vector<size_t> next(lanes.size(), 0);
  for (size_t i = 0; i < lanes.size(); ++i) {
    heads.push({{lanes[i][0].recorded_us, lanes[i][0].position}, i});
  }
  std::vector<Placed> out;
  out.reserve(all.size());
  while (!heads.empty()) {
    const size_t i = heads.top().second;
    heads.pop();
    out.push_back(lanes[i][next[i]++]);
    if (next[i] < lanes[i].size()) {
      const Placed& p = lanes[i][next[i]];
      heads.push({{p.recorded_us, p.position}, i});
    }
  }
  return out;
}

// Calls `fn` with every history entry of `manager`, in key order
// (partition, then offset). DataLoss for an entry that does not decode.
absl::Status ScanHistory(
    const ProjectionStore& audit, const std::string& manager,
    const std::function<void(LogPosition, const HistoryEntry&)>& fn) {
  absl::Status bad;
  const std::string prefix = HistoryPrefix(manager);
  VORONKA_RETURN_IF_ERROR(audit.ScanEntries(
      prefix, "", [&](std::string_view key, std::string_view value) {
        absl::StatusOr<HistoryEntry> e = DecodeHistoryEntry(value);
        if (!e.ok()) {
          bad = e.status();
          return false;
        }
        fn(PositionOfKey(key, 2), *e);
        return true;
      }));
  return bad;
}

}  // namespace

std::string_view ToString(AuditRelation relation) {
  return relation == AuditRelation::kNamed ? "named" : "lost_deal";
}

struct AuditReader::Folded {
  DealState state;
  // Records (position, recorded time) that took the deal from the manager.
  std::vector<std::pair<LogPosition, int64_t>> lost;
  // Re-queued when the manager left, and who took it since.
  std::optional<HandoverEntry> handover;
};

namespace {

// The time of the manager's last departure before `key` (any, if null).
std::optional<Timestamp> DepartureBefore(const Roster& roster,
                                         const std::string& manager,
                                         const EventKey* key) {
  const std::vector<Roster::Entry>* entries =
      roster.EntriesOf(ManagerId(manager));
  std::optional<Timestamp> out;
  if (entries == nullptr) return out;
  for (const Roster::Entry& e : *entries) {
    if (key != nullptr && !(e.key < *key)) break;
    if (e.departed) out = e.key.time;
  }
  return out;
}

}  // namespace

AuditReader::AuditReader(const ProjectionStore& audit, EventLog& log,
                         const FunnelConfig& config,
                         const ProjectionStore* indicators)
    : audit_(audit), log_(log), config_(config), indicators_(indicators) {}

absl::StatusOr<std::vector<std::string>> AuditReader::Managers() const {
  std::vector<std::string> out;
  const std::string prefix = Key("ac");
  VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
      prefix, "", [&](std::string_view key, std::string_view) {
        KeyReader r(key.substr(prefix.size()));
        const std::string m(r.Str());
        if (out.empty() || out.back() != m) out.push_back(m);
        return true;
      }));
  return out;
}

absl::StatusOr<std::map<std::string, std::vector<Timestamp>>>
AuditReader::Departures() {
  std::vector<LogPosition> positions;
  VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
      RosterPrefix(), "", [&](std::string_view key, std::string_view) {
        positions.push_back(PositionOfKey(key, 1));
        return true;
      }));
  std::map<std::string, std::vector<Timestamp>> out;
  VORONKA_RETURN_IF_ERROR(log_.ReadAt(positions, [&](const LogRecord& r) {
    if (const auto* d = r.event.get_if<ManagerDeparted>()) {
      out[d->manager.value()].push_back(r.event.time);
    }
    return absl::OkStatus();
  }));
  for (auto& [m, times] : out) std::sort(times.begin(), times.end());
  return out;
}

absl::Status AuditReader::FoldDeals(
    const std::string& manager, std::optional<Timestamp> until,
    const std::function<absl::Status(const Folded&)>& each) {
  auto in_range = [&](int64_t time_us) {
    return !until || time_us <= until->unix_micros();
  };
  // The roster: every manager.joined / departed (ownership depends on who
  // was on staff when).
  std::vector<LogPosition> roster_positions;
  VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
      RosterPrefix(), "", [&](std::string_view key, std::string_view value) {
        if (in_range(Big64(value))) {
          roster_positions.push_back(PositionOfKey(key, 1));
        }
        return true;
      }));
  Roster roster;
  VORONKA_RETURN_IF_ERROR(
      log_.ReadAt(roster_positions, [&](const LogRecord& r) {
        roster.Add(r.event);
        return absl::OkStatus();
      }));
  DealFolder folder(config_, roster);

  std::vector<std::string> deals;
  const std::string deal_prefix = ManagerDealPrefix(manager);
  VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
      deal_prefix, "", [&](std::string_view key, std::string_view) {
        KeyReader r(key.substr(deal_prefix.size()));
        deals.emplace_back(r.Str());
        return true;
      }));

  for (size_t d = 0; d < deals.size(); ++d) {
    // The deal's records from the index (ad/ keeps their canonical bytes).
    std::vector<LogRecord> history;
    absl::Status bad;
    const std::string prefix = DealPositionPrefix(deals[d]);
    VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
        prefix, "", [&](std::string_view key, std::string_view value) {
          absl::StatusOr<Event> event = DecodeEvent(value);
          if (!event.ok()) {
            bad = absl::DataLossError(
                fmt::format("audit index: deal {} record: {}", deals[d],
                            event.status().message()));
            return false;
          }
          if (in_range(event->time.unix_micros())) {
            history.push_back({.position = PositionOfKey(key, 2),
                               .event = std::move(*event)});
          }
          return true;
        }));
    VORONKA_RETURN_IF_ERROR(bad);
    {
      std::sort(history.begin(), history.end(),
                [](const LogRecord& a, const LogRecord& b) {
                  return EventKey::Of(a.event) < EventKey::Of(b.event);
                });
      Folded folded;
      folded.state.deal = DealId(deals[d]);
      // Notes a re-queue at the manager's departure (the fold applies it
      // before the next record, or in Settle after the last).
      auto note_departure = [&](const EventKey* key) {
        if (folded.handover) return;
        std::optional<Timestamp> left = DepartureBefore(roster, manager, key);
        if (!left || !folded.state.open()) return;
        folded.handover = HandoverEntry{
            .deal = deals[d],
            .department = folded.state.queue
                              ? folded.state.queue->department.value()
                              : folded.state.stage_department.value(),
            .requeued = *left};
      };
      for (const LogRecord& r : history) {
        const bool owned =
            folded.state.owner && folded.state.owner->value() == manager;
        folder.Apply(folded.state, r.event);
        const bool owns =
            folded.state.owner && folded.state.owner->value() == manager;
        const EventKey key = EventKey::Of(r.event);
        if (owned && !owns && roster.DepartedBefore(ManagerId(manager), key)) {
          note_departure(&key);
        }
        if (folded.handover && folded.handover->claimed_by.empty() &&
            folded.state.owner && !owns &&
            (r.event.get_if<DealClaimed>() != nullptr ||
             r.event.get_if<DealReassigned>() != nullptr)) {
          folded.handover->claimed_by = folded.state.owner->value();
          folded.handover->claimed_at = r.event.time;
          folded.handover->how = r.event.get_if<DealClaimed>() != nullptr
                                     ? "claimed"
                                     : "reassigned";
        }
        // A departure of the manager also ends ownership (applied before
        // the next record of the deal); that record is in the history
        // already (it names the manager).
        if (owned && !owns && !Names(r.event, manager) &&
            !roster.DepartedBefore(ManagerId(manager), EventKey::Of(r.event)) &&
            (r.event.get_if<DealReassigned>() != nullptr ||
             r.event.get_if<DealStageChanged>() != nullptr ||
             r.event.get_if<DealClaimed>() != nullptr)) {
          folded.lost.emplace_back(r.position,
                                   r.event.recorded_time.unix_micros());
        }
      }
      const bool owned_at_end =
          folded.state.owner && folded.state.owner->value() == manager;
      folder.Settle(folded.state);
      if (owned_at_end && !folded.state.owner) note_departure(nullptr);
      if (folded.handover) folded.handover->outcome = OutcomeOf(folded.state);
      VORONKA_RETURN_IF_ERROR(each(folded));
    }
  }
  return absl::OkStatus();
}

absl::Status AuditReader::History(const HistoryQuery& query,
                                  const HistoryVisitor& visit) {
  auto in_range = [&](int64_t time_us) {
    return (!query.from || time_us >= query.from->unix_micros()) &&
           (!query.to || time_us <= query.to->unix_micros());
  };
  std::vector<Placed> placed;
  VORONKA_RETURN_IF_ERROR(ScanHistory(
      audit_, query.manager, [&](LogPosition p, const HistoryEntry& e) {
        if (in_range(e.time_us)) {
          placed.push_back({.position = p, .recorded_us = e.recorded_us});
        }
      }));
  if (placed.empty()) {
    // Distinguish "nothing in range" from "no such manager".
    bool any = false;
    VORONKA_RETURN_IF_ERROR(
        audit_.ScanEntries(ChainPrefix(query.manager), "",
                           [&](std::string_view, std::string_view) {
                             any = true;
                             return false;
                           }));
    if (!any) {
      return absl::NotFoundError(fmt::format(
          "the audit index knows no manager \"{}\"", query.manager));
    }
  }
  // Records that took the manager's deals away: found by folding the deals.
  auto add_lost =
      [&](const std::vector<std::pair<LogPosition, int64_t>>& lost) {
        for (const auto& [position, recorded_us] : lost) {
          placed.push_back({.position = position,
                            .recorded_us = recorded_us,
                            .relation = AuditRelation::kLostDeal});
        }
      };
  if (query.deals != nullptr) {
    add_lost(query.deals->lost);
  } else {
    VORONKA_RETURN_IF_ERROR(
        FoldDeals(query.manager, std::nullopt, [&](const Folded& f) {
          add_lost(f.lost);
          return absl::OkStatus();
        }));
  }
  std::vector<Placed> ordered = LogOrder(std::move(placed));
  size_t start = 0;
  if (query.after) {
    while (start < ordered.size() && ordered[start].position != *query.after) {
      ++start;
    }
    if (start < ordered.size()) ++start;
  }
  size_t end = ordered.size();
  if (query.limit > 0) end = std::min(end, start + query.limit);
  if (query.next_after != nullptr) {
    *query.next_after = end < ordered.size() && end > start
                            ? std::optional(ordered[end - 1].position)
                            : std::nullopt;
  }
  // Read back from the log in chunks; rows keep log order.
  constexpr size_t kChunk = 4096;
  for (size_t at = start; at < end; at += kChunk) {
    const size_t stop = std::min(end, at + kChunk);
    std::vector<LogPosition> positions;
    for (size_t i = at; i < stop; ++i) positions.push_back(ordered[i].position);
    size_t i = at;
    VORONKA_RETURN_IF_ERROR(log_.ReadAt(positions, [&](const LogRecord& r) {
      const Placed& p = ordered[i++];
      // A lost-deal record's time filter applies here (its time comes from
      // the log).
      if (p.relation == AuditRelation::kLostDeal &&
          !in_range(r.event.time.unix_micros())) {
        return absl::OkStatus();
      }
      return visit(
          {.position = r.position, .event = r.event, .relation = p.relation});
    }));
  }
  return absl::OkStatus();
}

absl::StatusOr<ManagerDeals> AuditReader::Deals(const std::string& manager) {
  ManagerDeals out;
  // The manager's departures, from the roster entries that name them.
  std::vector<LogPosition> roster_positions;
  VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
      RosterPrefix(), "", [&](std::string_view key, std::string_view) {
        roster_positions.push_back(PositionOfKey(key, 1));
        return true;
      }));
  VORONKA_RETURN_IF_ERROR(
      log_.ReadAt(roster_positions, [&](const LogRecord& r) {
        const auto* d = r.event.get_if<ManagerDeparted>();
        if (d != nullptr && d->manager.value() == manager) {
          out.departures.push_back(r.event.time);
        }
        return absl::OkStatus();
      }));
  std::sort(out.departures.begin(), out.departures.end());
  if (indicators_ != nullptr) {
    absl::TimeZone tz;
    if (!absl::LoadTimeZone(config_.timezone(), &tz)) tz = absl::UTCTimeZone();
    // The weeks that end with the last full week before the departure (a
    // squeeze shows there), or before today for a manager still on staff.
    const Timestamp until =
        out.departures.empty() ? Timestamp::Now() : out.departures.back();
    const int64_t last_week = WeekStart(DayOf(until, tz)) - 7;
    VORONKA_ASSIGN_OR_RETURN(out.drain,
                             QueryDrainWeeks(*indicators_, manager, last_week,
                                             kDrainWeeks, DrainRule()));
  }
  VORONKA_RETURN_IF_ERROR(
      FoldDeals(manager, std::nullopt, [&](const Folded& f) {
        const DealState& s = f.state;
        out.deals.push_back({.deal = s.deal.value(),
                             .org = s.org.value(),
                             .funnel = s.funnel.value(),
                             .stage = StageName(config_, s),
                             .outcome = OutcomeOf(s),
                             .owner = s.owner ? s.owner->value() : "",
                             .amount = s.amount,
                             .last_activity = s.last_activity});
        out.lost.insert(out.lost.end(), f.lost.begin(), f.lost.end());
        if (f.handover) out.handover.push_back(*f.handover);
        return absl::OkStatus();
      }));
  return out;
}

absl::StatusOr<std::vector<BookEntry>> AuditReader::Book(
    const std::string& manager, Timestamp as_of) {
  std::vector<BookEntry> out;
  VORONKA_RETURN_IF_ERROR(FoldDeals(manager, as_of, [&](const Folded& f) {
    const DealState& s = f.state;
    if (!s.open() || s.stage < 0 || !s.owner || s.owner->value() != manager) {
      return absl::OkStatus();
    }
    out.push_back({.deal = s.deal.value(),
                   .org = s.org.value(),
                   .funnel = s.funnel.value(),
                   .stage = StageName(config_, s),
                   .department = s.stage_department.value(),
                   .amount = s.amount,
                   .stage_entered = s.stage_entered,
                   .time_in_stage = as_of - s.stage_entered});
    return absl::OkStatus();
  }));
  std::sort(out.begin(), out.end(), [](const BookEntry& a, const BookEntry& b) {
    return a.deal < b.deal;
  });
  return out;
}

absl::StatusOr<VerifyReport> AuditReader::Verify(const std::string& manager) {
  VerifyReport report;
  // Per partition: the index's entries in offset order.
  std::map<int32_t, std::vector<std::pair<LogPosition, AuditDigest>>> lanes;
  VORONKA_RETURN_IF_ERROR(
      ScanHistory(audit_, manager, [&](LogPosition p, const HistoryEntry& e) {
        lanes[p.partition].emplace_back(p, e.digest);
      }));
  absl::Status bad;
  if (lanes.empty()) {
    return absl::NotFoundError(
        fmt::format("the audit index knows no manager \"{}\"", manager));
  }
  // Seals: partition -> (count -> digest) to check on the way.
  std::map<int32_t, std::map<int64_t, AuditDigest>> sealed;
  VORONKA_RETURN_IF_ERROR(audit_.ScanEntries(
      SealPrefix(manager), "", [&](std::string_view, std::string_view value) {
        absl::StatusOr<std::vector<SealedChain>> seal = DecodeSeal(value);
        if (!seal.ok()) {
          bad = seal.status();
          return false;
        }
        for (const SealedChain& s : *seal) {
          sealed[s.partition][s.chain.count] = s.chain.digest;
        }
        ++report.seals;
        return true;
      }));
  VORONKA_RETURN_IF_ERROR(bad);

  for (auto& [partition, lane] : lanes) {
    AuditDigest digest{};
    int64_t count = 0;
    constexpr size_t kChunk = 4096;
    for (size_t at = 0; at < lane.size() && report.match; at += kChunk) {
      const size_t stop = std::min(lane.size(), at + kChunk);
      std::vector<LogPosition> positions;
      for (size_t i = at; i < stop; ++i) positions.push_back(lane[i].first);
      size_t i = at;
      absl::Status read = log_.ReadAt(positions, [&](const LogRecord& r) {
        const auto& [position, stored] = lane[i++];
        digest = ChainStep(digest, position, r.event);
        ++count;
        ++report.records;
        std::string why;
        if (!Names(r.event, manager)) {
          why = "the record there no longer names the manager";
        } else if (digest != stored) {
          why = fmt::format("chain digest {} where the index has {}",
                            DigestHex(digest), DigestHex(stored));
        } else if (auto s = sealed[partition].find(count);
                   s != sealed[partition].end() && s->second != digest) {
          why = fmt::format("the seal at departure says {}, the log gives {}",
                            DigestHex(s->second), DigestHex(digest));
        }
        if (!why.empty()) {
          report.match = false;
          report.diverges_at = position;
          report.detail =
              fmt::format("history record {} of partition {} (offset {}): {}",
                          count, position.partition, position.offset, why);
          return absl::CancelledError("diverged");
        }
        return absl::OkStatus();
      });
      if (absl::IsNotFound(read) || absl::IsDataLoss(read)) {
        report.match = false;
        report.diverges_at = lane[i < lane.size() ? i : lane.size() - 1].first;
        report.detail = std::string(read.message());
      } else if (!read.ok() && !absl::IsCancelled(read)) {
        return read;
      }
    }
    report.chains.push_back(
        {.partition = partition, .count = count, .digest = digest});
    if (!report.match) break;
  }
  return report;
}

}  // namespace voronka
