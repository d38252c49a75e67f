#include "projections/audit_projection.h"

#include <vector>

#include "events/codec.h"
#include "events/status.h"
#include "fmt/format.h"
#include "projections/audit.h"
#include "projections/keys.h"

namespace voronka {
namespace {

std::string TimeValue(Timestamp t) {
  std::string v;
  const uint64_t u = static_cast<uint64_t>(t.unix_micros());
  for (int shift = 56; shift >= 0; shift -= 8) {
    v.push_back(static_cast<char>((u >> shift) & 0xff));
  }
  return v;
}

absl::StatusOr<ChainState> ReadChain(const Txn& txn, const std::string& key) {
  VORONKA_ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn.Get(key));
  if (!bytes) return ChainState{};
  return DecodeChainState(*bytes);
}

}  // namespace

AuditProjection::AuditProjection(const FunnelConfig& config)
    // The index does not depend on the funnel configuration.
    : version_(fmt::format("audit/{}", kVersion)) {
  (void)config;
}

absl::Status AuditProjection::Apply(const Event&, Txn&) {
  return absl::FailedPreconditionError(
      "the audit index is built from log records (ApplyRecord): it needs "
      "their positions");
}

absl::Status AuditProjection::ApplyRecord(const LogRecord& record, Txn& txn) {
  const Event& event = record.event;
  const LogPosition at = record.position;
  const DealId* deal = event.deal();
  // Encoded once: the deal copy and every chain step use the same bytes.
  const std::string canonical = EncodeEvent(event);
  if (deal != nullptr) {
    // The deal's records themselves (canonical bytes), as the funnel store
    // keeps deal histories: folding a manager's deals for the book and the
    // lost deals then reads the index sequentially instead of scattered
    // log positions. The history rows are still read from the log.
    txn.Put(DealPositionKey(deal->value(), at), canonical);
  }
  const bool roster = event.get_if<ManagerJoined>() != nullptr ||
                      event.get_if<ManagerDeparted>() != nullptr;
  if (roster) txn.Put(RosterKey(at), TimeValue(event.time));

  for (const ManagerId& manager : ManagersNamed(event)) {
    const std::string& m = manager.value();
    const std::string chain_key = ChainKey(m, at.partition);
    VORONKA_ASSIGN_OR_RETURN(ChainState chain, ReadChain(txn, chain_key));
    if (at.offset <= chain.last_offset) {
      return absl::InternalError(
          fmt::format("audit chain of {} in partition {}: offset {} after {}",
                      m, at.partition, at.offset, chain.last_offset));
    }
    chain.digest = ChainStep(chain.digest, at, canonical);
    ++chain.count;
    chain.last_offset = at.offset;
    txn.Put(chain_key, EncodeChainState(chain));
    txn.Put(
        HistoryKey(m, at),
        EncodeHistoryEntry({.time_us = event.time.unix_micros(),
                            .recorded_us = event.recorded_time.unix_micros(),
                            .digest = chain.digest}));
    if (deal != nullptr) txn.Put(ManagerDealKey(m, deal->value()), "");

    const auto* departed = event.get_if<ManagerDeparted>();
    if (departed != nullptr && departed->manager == manager) {
      std::vector<SealedChain> seal;
      absl::Status bad;
      const std::string prefix = ChainPrefix(m);
      VORONKA_RETURN_IF_ERROR(txn.ScanEntries(
          prefix, [&](std::string_view key, std::string_view value) {
            KeyReader r(key.substr(prefix.size()));
            absl::StatusOr<ChainState> state = DecodeChainState(value);
            if (!state.ok()) {
              bad = state.status();
              return;
            }
            seal.push_back(
                {.partition = static_cast<int32_t>(r.Int()), .chain = *state});
          }));
      VORONKA_RETURN_IF_ERROR(bad);
      txn.Put(SealKey(m, at), EncodeSeal(seal));
    }
  }
  return absl::OkStatus();
}

}  // namespace voronka
