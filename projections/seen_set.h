// SeenSet: the (source, id) pairs a projector has applied, for exactly-once
// de-duplication without a store read per event.
//
// In memory: a hash map from a 128-bit hash of (source, id) to a 64-bit
// fingerprint of the event's content (recorded_time excluded), about 40
// bytes per event applied. On disk: one entry per committed batch,
// sn/<chunk number> = the batch's new (hash, fingerprint) pairs, written in
// the same WriteBatch as the read-model changes, so the set and the read
// model never disagree after a crash. Load() reads the chunks back.
//
// A 128-bit hash makes a false "already seen" (two different pairs with the
// same hash) practically impossible: about 1e-24 for 10^7 events.
#ifndef VORONKA_PROJECTIONS_SEEN_SET_H_
#define VORONKA_PROJECTIONS_SEEN_SET_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "events/event.h"
#include "projections/store.h"

namespace voronka {

// A stable (process- and platform-independent) 128-bit hash.
std::pair<uint64_t, uint64_t> StableHash128(std::string_view bytes,
                                            uint64_t seed = 0);

class SeenSet {
 public:
  enum class Verdict { kNew, kDuplicate, kConflict };

  // Replaces the set with the chunks stored in `store`.
  absl::Status Load(const ProjectionStore& store);
  // Looks `event` up; a new one is added (to the set and to the pending
  // chunk). `record`, if not empty, is the event's codec.h record: the
  // fingerprint is then taken from it instead of re-encoding (same value).
  Verdict Check(const Event& event, std::string_view record = {});
  // Moves the pending chunk into `txn` (nothing if empty).
  void Flush(Txn& txn);

  size_t size() const { return seen_.size(); }

 private:
  absl::flat_hash_map<std::pair<uint64_t, uint64_t>, uint64_t> seen_;
  std::string pending_;
  int64_t next_chunk_ = 0;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_SEEN_SET_H_
