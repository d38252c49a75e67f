#include "projections/seen_set.h"

#include <cstring>

#include "events/codec.h"
#include "fmt/format.h"
#include "projections/keys.h"

namespace voronka {
namespace {

inline uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline uint64_t Mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);  // Little-endian hosts only (x86-64, arm64).
  return v;
}

void PutFixed64(std::string& out, uint64_t v) {
  char buf[8];
  std::memcpy(buf, &v, 8);
  out.append(buf, 8);
}

constexpr size_t kEntryBytes = 24;

}  // namespace

// Two 64-bit lanes over 16-byte blocks, multiply-rotate mixing and a final
// avalanche: the structure of MurmurHash3's x64 128-bit variant.
std::pair<uint64_t, uint64_t> StableHash128(std::string_view bytes,
                                            uint64_t seed) {
  constexpr uint64_t c1 = 0x87c37b91114253d5ULL;
  constexpr uint64_t c2 = 0x4cf5ad432745937fULL;
  uint64_t h1 = seed, h2 = seed;
  const size_t blocks = bytes.size() / 16;
  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = Load64(bytes.data() + 16 * i);
    uint64_t k2 = Load64(bytes.data() + 16 * i + 8);
    k1 *= c1, k1 = Rotl(k1, 31), k1 *= c2, h1 ^= k1;
    h1 = Rotl(h1, 27) + h2, h1 = h1 * 5 + 0x52dce729;
    k2 *= c2, k2 = Rotl(k2, 33), k2 *= c1, h2 ^= k2;
    h2 = Rotl(h2, 31) + h1, h2 = h2 * 5 + 0x38495ab5;
  }
  uint64_t k1 = 0, k2 = 0;
  const char* tail = bytes.data() + 16 * blocks;
  const size_t rest = bytes.size() & 15;
  for (size_t i = rest; i > 8; --i) {
    k2 ^= static_cast<uint64_t>(static_cast<uint8_t>(tail[i - 1]))
          << ((i - 9) * 8);
  }
  for (size_t i = std::min<size_t>(rest, 8); i > 0; --i) {
    k1 ^= static_cast<uint64_t>(static_cast<uint8_t>(tail[i - 1]))
          << ((i - 1) * 8);
  }
  if (rest > 8) k2 *= c2, k2 = Rotl(k2, 33), k2 *= c1, h2 ^= k2;
  if (rest > 0) k1 *= c1, k1 = Rotl(k1, 31), k1 *= c2, h1 ^= k1;
  h1 ^= bytes.size(), h2 ^= bytes.size();
  h1 += h2, h2 += h1;
  h1 = Mix(h1), h2 = Mix(h2);
  h1 += h2, h2 += h1;
  return {h1, h2};
}

absl::Status SeenSet::Load(const ProjectionStore& store) {
  seen_.clear();
  pending_.clear();
  next_chunk_ = 0;
  absl::Status bad;
  const std::string prefix = Key("sn").str();
  absl::Status scan = store.ScanEntries(
      prefix, "", [&](std::string_view key, std::string_view value) {
        KeyReader r(key.substr(prefix.size()));
        next_chunk_ = r.Int() + 1;
        if (value.size() % kEntryBytes != 0) {
          bad = absl::DataLossError(
              fmt::format("de-duplication chunk {} has {} bytes",
                          next_chunk_ - 1, value.size()));
          return false;
        }
        for (size_t i = 0; i < value.size(); i += kEntryBytes) {
          seen_[{Load64(value.data() + i), Load64(value.data() + i + 8)}] =
              Load64(value.data() + i + 16);
        }
        return true;
      });
  if (!scan.ok()) return scan;
  return bad;
}

namespace {

// StableHash128 (seed 1) of the event's encoding with recorded_time unset.
uint64_t ContentFingerprint(const Event& event, std::string_view record) {
  if (std::optional<size_t> at = RecordedTimeOffset(record)) {
    std::string content(record);
    std::memset(content.data() + *at, 0, 8);
    return StableHash128(content, 1).first;
  }
  Event content = event;
  content.recorded_time = Timestamp();
  return StableHash128(EncodeEvent(content), 1).first;
}

}  // namespace

SeenSet::Verdict SeenSet::Check(const Event& event, std::string_view record) {
  std::string id = event.source.value();
  id.push_back('\0');
  id += event.id.value();
  const std::pair<uint64_t, uint64_t> key = StableHash128(id);
  const uint64_t fingerprint = ContentFingerprint(event, record);
  auto [it, inserted] = seen_.try_emplace(key, fingerprint);
  if (!inserted) {
    return it->second == fingerprint ? Verdict::kDuplicate : Verdict::kConflict;
  }
  PutFixed64(pending_, key.first);
  PutFixed64(pending_, key.second);
  PutFixed64(pending_, fingerprint);
  return Verdict::kNew;
}

void SeenSet::Flush(Txn& txn) {
  if (pending_.empty()) return;
  txn.Put(Key("sn").Int(next_chunk_++).str(), std::move(pending_));
  pending_.clear();
}

}  // namespace voronka
