// De-duplication of ingested events on (source, id): the pieces both log
// backends share (events/idempotent_log.h puts them together).
//
// DOMAIN.md §3: a retried event with the same `source` and `id` counts once.
// Ingest keeps, per (source, id) it has appended, an index entry:
//
//   key    DedupKey(event) = source, a 0x00 byte, id (ids are printable, so
//          the key is unambiguous)
//   value  28 bytes, big-endian: partition (4), offset (8) of the record in
//          the log, the content fingerprint (8), recorded time in Unix
//          microseconds (8)
//
// The fingerprint is a stable 64-bit hash of the codec.h record with its
// recorded_time bytes skipped: the same event sent twice has the same
// fingerprint whenever it was accepted; an event that reuses a (source, id)
// with different content (a sender's bug) does not, and ingest refuses it.
//
// The window: entries whose recorded time is older than the window are
// dropped when RocksDB compacts them (DedupWindowFilterFactory), so a retry
// is recognised for at least the window, and the index holds about one entry
// per event of the window. Projections de-duplicate on (source, id) again
// (projections/seen_set.h), forever, so a retry after the window changes no
// read model; it only takes log space.
//
// Thread-safe: pure functions; the filter factory is stateless but for the
// window.
#ifndef VORONKA_EVENTS_DEDUP_H_
#define VORONKA_EVENTS_DEDUP_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "events/event.h"
#include "events/ids.h"
#include "rocksdb/compaction_filter.h"

namespace voronka {

struct DedupEntry {
  LogPosition position;
  uint64_t fingerprint = 0;
  int64_t recorded_us = 0;
  friend bool operator==(const DedupEntry&, const DedupEntry&) = default;
};

inline constexpr size_t kDedupValueSize = 28;

std::string DedupKey(const Event& event);
std::string EncodeDedupEntry(const DedupEntry& entry);
// nullopt unless `value` is exactly kDedupValueSize bytes.
std::optional<DedupEntry> DecodeDedupEntry(std::string_view value);

// Fingerprint of a codec.h record (EncodeEvent), independent of its
// recorded_time.
uint64_t RecordFingerprint(std::string_view record);

// What happened to one event of an AppendOnce call.
enum class AppendOutcome : uint8_t {
  kAppended,   // New: appended at `positions[i]`.
  kDuplicate,  // Seen before (or earlier in the same batch) with the same
               // content: not appended; `positions[i]` is the first copy's.
  kConflict,   // Seen before with different content: the batch was refused;
               // `positions[i]` is the earlier event's.
};

struct AppendOnceResult {
  std::vector<LogPosition> positions;   // One per event, in order.
  std::vector<AppendOutcome> outcomes;  // One per event, in order.
  int64_t appended = 0;
  int64_t duplicates = 0;
  int64_t conflicts = 0;  // > 0: nothing of the batch was appended.
};

// Classifies `keys`/`fingerprints` of one batch against what is known:
// `known[i]` is the index entry of keys[i] if any. Fills outcomes and
// positions for duplicates and conflicts (including repeats inside the
// batch, which refer to the first copy's slot: `first_of[i]` = index of the
// first event with that key, i itself for the first copy), and counts them.
// Appended events get their positions from the caller.
void ClassifyBatch(const std::vector<std::string>& keys,
                   const std::vector<uint64_t>& fingerprints,
                   const std::vector<std::optional<DedupEntry>>& known,
                   AppendOnceResult* result, std::vector<size_t>* first_of);

// Drops index entries recorded more than `window` before the compaction
// (never, for a zero or infinite window). Keys that are not index entries
// (values of another size) are kept.
std::shared_ptr<rocksdb::CompactionFilterFactory> DedupWindowFilterFactory(
    absl::Duration window);

}  // namespace voronka

#endif  // VORONKA_EVENTS_DEDUP_H_
