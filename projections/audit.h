// The audit index's pure parts (docs/audit.md): which managers an event
// names, the SHA-256 hash chain over a manager's history records, and the
// encodings of the index entries that AuditProjection writes.
//
// A manager's *history records* are the log records that name the manager:
// as the actor (`manager` of calls, proposals, applications, invoices,
// payments, stage changes, claims), as the new owner or the decider (`by`)
// of a reassignment, or in manager.joined / manager.departed. Records that
// took a deal away from the manager (a reassignment to someone else, a
// stage change into another department) do not name the manager; the
// history report finds them by folding the manager's deals.
//
// The chain: one per manager and partition, over the history records in
// offset order, so that any re-read of the log reproduces it:
//   digest_0 = 32 zero bytes
//   digest_n = SHA-256(digest_{n-1} || partition (8 bytes, big-endian)
//                      || offset (8 bytes, big-endian) || EncodeEvent(event))
// EncodeEvent (events/codec.h) is the canonical bytes of the record, its
// recorded time included.
#ifndef VORONKA_PROJECTIONS_AUDIT_H_
#define VORONKA_PROJECTIONS_AUDIT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "events/event.h"
#include "events/ids.h"

namespace voronka {

using AuditDigest = std::array<uint8_t, 32>;

// Lower-case hex of a digest.
std::string DigestHex(const AuditDigest& digest);

// The managers `event` names (each once, in field order).
std::vector<ManagerId> ManagersNamed(const Event& event);

// One step of the chain.
AuditDigest ChainStep(const AuditDigest& previous, LogPosition position,
                      const Event& event);
// The same with EncodeEvent(event) already at hand.
AuditDigest ChainStep(const AuditDigest& previous, LogPosition position,
                      std::string_view canonical);

// Where a manager's chain in one partition stands.
struct ChainState {
  int64_t count = 0;         // History records chained so far.
  int64_t last_offset = -1;  // Offset of the last one.
  AuditDigest digest{};      // digest_count.
  friend bool operator==(const ChainState&, const ChainState&) = default;
};
std::string EncodeChainState(const ChainState& state);
absl::StatusOr<ChainState> DecodeChainState(std::string_view bytes);

// The value of a history entry am/<manager>/<partition>/<offset>.
struct HistoryEntry {
  int64_t time_us = 0;      // The event's time.
  int64_t recorded_us = 0;  // When ingest accepted it.
  AuditDigest digest{};     // The chain after this record.
};
std::string EncodeHistoryEntry(const HistoryEntry& entry);
absl::StatusOr<HistoryEntry> DecodeHistoryEntry(std::string_view bytes);

// A seal as/<manager>/<partition>/<offset> (the departure's position): the
// manager's chains when the departure was indexed, one per partition.
struct SealedChain {
  int32_t partition = 0;
  ChainState chain;
};
std::string EncodeSeal(const std::vector<SealedChain>& seal);
absl::StatusOr<std::vector<SealedChain>> DecodeSeal(std::string_view bytes);

// Index keys (projections/keys.h encoding).
std::string HistoryKey(std::string_view manager, LogPosition position);
std::string HistoryPrefix(std::string_view manager);
std::string HistoryPartitionPrefix(std::string_view manager, int32_t partition);
std::string DealPositionKey(std::string_view deal, LogPosition position);
std::string DealPositionPrefix(std::string_view deal);
std::string ManagerDealKey(std::string_view manager, std::string_view deal);
std::string ManagerDealPrefix(std::string_view manager);
std::string RosterKey(LogPosition position);
std::string RosterPrefix();
std::string ChainKey(std::string_view manager, int32_t partition);
std::string ChainPrefix(std::string_view manager);
std::string SealKey(std::string_view manager, LogPosition position);
std::string SealPrefix(std::string_view manager);
// The position at the end of a key built by one of the *Key functions
// above, after `prefix_parts` string parts.
LogPosition PositionOfKey(std::string_view key, int prefix_parts);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_AUDIT_H_
