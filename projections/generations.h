// Store generations: how a read model is rebuilt while the old one keeps
// serving, then swapped in.
//
// A projection's directory holds numbered generations and a CURRENT file
// naming the one in service:
//
//   DIR/funnel/CURRENT        "gen-000002\n"
//   DIR/funnel/gen-000001/    the previous store (deleted after the swap)
//   DIR/funnel/gen-000002/    the store in service
//
// A rebuild fills a new generation from position 0 and then Promote()s it:
// CURRENT is replaced atomically (write a temporary file, fsync, rename), so
// a crash leaves either the old or the new generation in service, never a
// mix. Processes serving the projection notice the change (they poll
// Current()) and reopen. Creating generations is serialised between
// processes by an flock on DIR/LOCK, so a serving process starting up and a
// `voronka project rebuild` never create the same generation. A directory that
// is itself a store (from before generations) is not handled: the layout is
// created fresh.
#ifndef VORONKA_PROJECTIONS_GENERATIONS_H_
#define VORONKA_PROJECTIONS_GENERATIONS_H_

#include <string>

#include "absl/status/statusor.h"

namespace voronka {

class Generations {
 public:
  explicit Generations(std::string dir) : dir_(std::move(dir)) {}

  // The generation in service, creating gen-000001 (empty) if there is none
  // (no CURRENT file). DataLoss if CURRENT exists but does not name a
  // generation directory: a damaged pointer is never replaced silently.
  // Returns its directory.
  absl::StatusOr<std::string> Current() const;
  // A fresh, empty generation directory numbered after every existing one.
  absl::StatusOr<std::string> Create() const;
  // Puts `generation` (a directory returned by Create()) in service.
  absl::Status Promote(const std::string& generation) const;
  // Deletes the generations older than the one in service except the
  // newest `keep` of them (readers may still hold the one swapped out last),
  // and never a newer one: that may be a rebuild in progress elsewhere.
  absl::Status RemoveOlder(int keep = 1) const;
  // Deletes an unpromoted generation (an abandoned rebuild).
  absl::Status Discard(const std::string& generation) const;

  const std::string& dir() const { return dir_; }

 private:
  absl::StatusOr<std::string> CreateLocked() const;

  std::string dir_;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_GENERATIONS_H_
