#include "projections/audit.h"

#include <openssl/evp.h>

#include <algorithm>

#include "events/codec.h"
#include "fmt/format.h"
#include "projections/keys.h"

namespace voronka {
namespace {

void PutBig64(std::string& out, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((u >> shift) & 0xff));
  }
}

int64_t GetBig64(std::string_view in) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<uint8_t>(in[i]);
  return static_cast<int64_t>(u);
}

void PutDigest(std::string& out, const AuditDigest& d) {
  out.append(reinterpret_cast<const char*>(d.data()), d.size());
}

AuditDigest GetDigest(std::string_view in) {
  AuditDigest d;
  std::copy_n(in.data(), d.size(), reinterpret_cast<char*>(d.data()));
  return d;
}

constexpr size_t kChainStateBytes = 8 + 8 + 32;
constexpr size_t kHistoryEntryBytes = 8 + 8 + 32;
constexpr size_t kSealedChainBytes = 8 + kChainStateBytes;

void Append(std::vector<ManagerId>& out, const ManagerId& m) {
  if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
}

}  // namespace

std::string DigestHex(const AuditDigest& digest) {
  std::string out;
  out.reserve(64);
  for (uint8_t b : digest) out += fmt::format("{:02x}", b);
  return out;
}

std::vector<ManagerId> ManagersNamed(const Event& event) {
  std::vector<ManagerId> out;
  if (const auto* c = event.get_if<CallLogged>()) Append(out, c->manager);
  if (const auto* p = event.get_if<ProposalSent>()) Append(out, p->manager);
  if (const auto* a = event.get_if<ApplicationReceived>()) {
    Append(out, a->manager);
  }
  if (const auto* i = event.get_if<InvoiceIssued>()) Append(out, i->manager);
  if (const auto* p = event.get_if<InvoicePaid>(); p && p->manager) {
    Append(out, *p->manager);
  }
  if (const auto* s = event.get_if<DealStageChanged>(); s && s->manager) {
    Append(out, *s->manager);
  }
  if (const auto* c = event.get_if<DealClaimed>()) Append(out, c->manager);
  if (const auto* r = event.get_if<DealReassigned>()) {
    Append(out, r->manager);
    if (r->by) Append(out, *r->by);
  }
  if (const auto* j = event.get_if<ManagerJoined>()) Append(out, j->manager);
  if (const auto* d = event.get_if<ManagerDeparted>()) Append(out, d->manager);
  return out;
}

AuditDigest ChainStep(const AuditDigest& previous, LogPosition position,
                      const Event& event) {
  return ChainStep(previous, position, EncodeEvent(event));
}

AuditDigest ChainStep(const AuditDigest& previous, LogPosition position,
                      std::string_view canonical) {
  std::string header;
  PutDigest(header, previous);
  PutBig64(header, position.partition);
  PutBig64(header, position.offset);
  header += canonical;
  AuditDigest out;
  unsigned int n = 0;
  EVP_Digest(header.data(), header.size(), out.data(), &n, EVP_sha256(),
             nullptr);
  return out;
}

std::string EncodeChainState(const ChainState& state) {
  std::string out;
  PutBig64(out, state.count);
  PutBig64(out, state.last_offset);
  PutDigest(out, state.digest);
  return out;
}

absl::StatusOr<ChainState> DecodeChainState(std::string_view bytes) {
  if (bytes.size() != kChainStateBytes) {
    return absl::DataLossError(
        fmt::format("audit chain state: {} bytes, want {}", bytes.size(),
                    kChainStateBytes));
  }
  return ChainState{.count = GetBig64(bytes),
                    .last_offset = GetBig64(bytes.substr(8)),
                    .digest = GetDigest(bytes.substr(16))};
}

std::string EncodeHistoryEntry(const HistoryEntry& entry) {
  std::string out;
  PutBig64(out, entry.time_us);
  PutBig64(out, entry.recorded_us);
  PutDigest(out, entry.digest);
  return out;
}

absl::StatusOr<HistoryEntry> DecodeHistoryEntry(std::string_view bytes) {
  if (bytes.size() != kHistoryEntryBytes) {
    return absl::DataLossError(
        fmt::format("audit history entry: {} bytes, want {}", bytes.size(),
                    kHistoryEntryBytes));
  }
  return HistoryEntry{.time_us = GetBig64(bytes),
                      .recorded_us = GetBig64(bytes.substr(8)),
                      .digest = GetDigest(bytes.substr(16))};
}

std::string EncodeSeal(const std::vector<SealedChain>& seal) {
  std::string out;
  for (const SealedChain& s : seal) {
    PutBig64(out, s.partition);
    out += EncodeChainState(s.chain);
  }
  return out;
}

absl::StatusOr<std::vector<SealedChain>> DecodeSeal(std::string_view bytes) {
  if (bytes.size() % kSealedChainBytes != 0) {
    return absl::DataLossError(fmt::format(
        "audit seal: {} bytes is not a whole number of chains", bytes.size()));
  }
  std::vector<SealedChain> out;
  for (size_t at = 0; at < bytes.size(); at += kSealedChainBytes) {
    absl::StatusOr<ChainState> chain =
        DecodeChainState(bytes.substr(at + 8, kChainStateBytes));
    if (!chain.ok()) return chain.status();
    out.push_back(
        {.partition = static_cast<int32_t>(GetBig64(bytes.substr(at))),
         .chain = *chain});
  }
  return out;
}

std::string HistoryKey(std::string_view manager, LogPosition position) {
  return Key("am").Str(manager).Int(position.partition).Int(position.offset);
}
std::string HistoryPrefix(std::string_view manager) {
  return Key("am").Str(manager);
}
std::string HistoryPartitionPrefix(std::string_view manager,
                                   int32_t partition) {
  return Key("am").Str(manager).Int(partition);
}
std::string DealPositionKey(std::string_view deal, LogPosition position) {
  return Key("ad").Str(deal).Int(position.partition).Int(position.offset);
}
std::string DealPositionPrefix(std::string_view deal) {
  return Key("ad").Str(deal);
}
std::string ManagerDealKey(std::string_view manager, std::string_view deal) {
  return Key("amd").Str(manager).Str(deal);
}
std::string ManagerDealPrefix(std::string_view manager) {
  return Key("amd").Str(manager);
}
std::string RosterKey(LogPosition position) {
  return Key("ar").Int(position.partition).Int(position.offset);
}
std::string RosterPrefix() { return Key("ar"); }
std::string ChainKey(std::string_view manager, int32_t partition) {
  return Key("ac").Str(manager).Int(partition);
}
std::string ChainPrefix(std::string_view manager) {
  return Key("ac").Str(manager);
}
std::string SealKey(std::string_view manager, LogPosition position) {
  return Key("as").Str(manager).Int(position.partition).Int(position.offset);
}
std::string SealPrefix(std::string_view manager) {
  return Key("as").Str(manager);
}

LogPosition PositionOfKey(std::string_view key, int prefix_parts) {
  KeyReader r(key);
  for (int i = 0; i < prefix_parts; ++i) r.Str();
  const int64_t partition = r.Int();
  return LogPosition{.partition = static_cast<int32_t>(partition),
                     .offset = r.Int()};
}

}  // namespace voronka
