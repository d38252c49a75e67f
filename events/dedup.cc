#include "events/dedup.h"

#include "absl/container/flat_hash_map.h"
#include "absl/time/clock.h"
#include "events/codec.h"

namespace voronka {
namespace {

void PutBigEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = bytes - 1; i >= 0; --i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

uint64_t GetBigEndian(std::string_view s, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  }
  return v;
}

// A stable 64-bit hash, 8 bytes per step (the multiply-rotate mix of
// MurmurHash's 64-bit variants; not cryptographic: it tells a sender's
// mistake from a retry, it does not resist an attacker who owns a source).
constexpr uint64_t kK1 = 0x87c37b91114253d5ull;
constexpr uint64_t kK2 = 0x4cf5ad432745937full;

uint64_t Rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t Mix(uint64_t h, std::string_view bytes) {
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t w = 0;
    for (int b = 7; b >= 0; --b) {
      w = (w << 8) | static_cast<uint8_t>(bytes[i + b]);  // Little-endian.
    }
    h ^= Rotl(w * kK1, 31) * kK2;
    h = Rotl(h, 27) * 5 + 0x52dce729;
  }
  uint64_t tail = 0;
  for (size_t b = bytes.size(); b > i; --b) {
    tail = (tail << 8) | static_cast<uint8_t>(bytes[b - 1]);
  }
  h ^= Rotl(tail * kK1, 31) * kK2;
  return h ^ bytes.size();
}

uint64_t Finish(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

class WindowFilter : public rocksdb::CompactionFilter {
 public:
  explicit WindowFilter(int64_t cutoff_us) : cutoff_us_(cutoff_us) {}
  bool Filter(int /*level*/, const rocksdb::Slice& /*key*/,
              const rocksdb::Slice& value, std::string* /*new_value*/,
              bool* /*value_changed*/) const override {
    std::optional<DedupEntry> entry =
        DecodeDedupEntry(std::string_view(value.data(), value.size()));
    return entry.has_value() && entry->recorded_us < cutoff_us_;
  }
  const char* Name() const override { return "voronka.DedupWindowFilter"; }

 private:
  int64_t cutoff_us_;
};

class WindowFilterFactory : public rocksdb::CompactionFilterFactory {
 public:
  explicit WindowFilterFactory(absl::Duration window) : window_(window) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context& /*context*/) override {
    if (window_ <= absl::ZeroDuration() ||
        window_ == absl::InfiniteDuration()) {
      return nullptr;
    }
    return std::make_unique<WindowFilter>(
        absl::ToUnixMicros(absl::Now() - window_));
  }
  const char* Name() const override {
    return "voronka.DedupWindowFilterFactory";
  }

 private:
  absl::Duration window_;
};

}  // namespace

std::string DedupKey(const Event& event) {
  std::string key;
  key.reserve(event.source.value().size() + 1 + event.id.value().size());
  key += event.source.value();
  key.push_back('\0');
  key += event.id.value();
  return key;
}

std::string EncodeDedupEntry(const DedupEntry& entry) {
  std::string out;
  out.reserve(kDedupValueSize);
  PutBigEndian(static_cast<uint32_t>(entry.position.partition), 4, &out);
  PutBigEndian(static_cast<uint64_t>(entry.position.offset), 8, &out);
  PutBigEndian(entry.fingerprint, 8, &out);
  PutBigEndian(static_cast<uint64_t>(entry.recorded_us), 8, &out);
  return out;
}

std::optional<DedupEntry> DecodeDedupEntry(std::string_view value) {
  if (value.size() != kDedupValueSize) return std::nullopt;
  DedupEntry e;
  e.position.partition = static_cast<int32_t>(GetBigEndian(value, 0, 4));
  e.position.offset = static_cast<int64_t>(GetBigEndian(value, 4, 8));
  e.fingerprint = GetBigEndian(value, 12, 8);
  e.recorded_us = static_cast<int64_t>(GetBigEndian(value, 20, 8));
  return e;
}

uint64_t RecordFingerprint(std::string_view record) {
  std::optional<size_t> at = RecordedTimeOffset(record);
  if (!at.has_value()) return Finish(Mix(0, record));
  return Finish(Mix(Mix(0, record.substr(0, *at)), record.substr(*at + 8)));
}

void ClassifyBatch(const std::vector<std::string>& keys,
                   const std::vector<uint64_t>& fingerprints,
                   const std::vector<std::optional<DedupEntry>>& known,
                   AppendOnceResult* result, std::vector<size_t>* first_of) {
  const size_t n = keys.size();
  result->positions.assign(n, LogPosition{});
  result->outcomes.assign(n, AppendOutcome::kAppended);
  result->appended = result->duplicates = result->conflicts = 0;
  first_of->assign(n, 0);
  absl::flat_hash_map<std::string_view, size_t> first;
  first.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    auto [it, inserted] = first.try_emplace(keys[i], i);
    (*first_of)[i] = it->second;
    AppendOutcome& outcome = result->outcomes[i];
    if (!inserted) {
      const size_t j = it->second;
      outcome = fingerprints[i] == fingerprints[j] ? AppendOutcome::kDuplicate
                                                   : AppendOutcome::kConflict;
      result->positions[i] = result->positions[j];  // Known ones; see below.
    } else if (known[i].has_value()) {
      outcome = known[i]->fingerprint == fingerprints[i]
                    ? AppendOutcome::kDuplicate
                    : AppendOutcome::kConflict;
      result->positions[i] = known[i]->position;
    }
    if (outcome == AppendOutcome::kDuplicate) ++result->duplicates;
    if (outcome == AppendOutcome::kConflict) ++result->conflicts;
    if (outcome == AppendOutcome::kAppended) ++result->appended;
  }
}

std::shared_ptr<rocksdb::CompactionFilterFactory> DedupWindowFilterFactory(
    absl::Duration window) {
  return std::make_shared<WindowFilterFactory>(window);
}

}  // namespace voronka
