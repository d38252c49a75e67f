// Checkpoint requests: how `voronka project backup` gets an exact copy of a
// store that a running projector holds (its RocksDB LOCK keeps every other
// process out of writing, and a read-only secondary instance can miss
// batches while the projector flushes; docs/backup.md).
//
// The backup leaves a request in the projection's directory (DIR/NAME):
//
//   DIR/NAME/checkpoint-request-<pid>-<n>        the target path, one line
//   DIR/NAME/checkpoint-request-<pid>-<n>.taken  claimed by the projector
//   DIR/NAME/checkpoint-request-<pid>-<n>.done   "ok", or the error
//
// The projector (ProjectorRunner, every second between batches, on the
// thread that is the store's only writer) claims a request by renaming it
// to .taken, checkpoints its store into the target (ProjectionStore::
// CopyTo: RocksDB's Checkpoint, exact as of the last committed batch), and
// writes .done. Every file is written whole (temporary file, rename).
//
// The requester waits for .done. If nobody claimed the request in time, it
// deletes it (a request deleted before the claim can never be served), and
// the caller may fall back to another way; once claimed, it waits for the
// answer however long the checkpoint takes (up to `serve_timeout`).
#ifndef VORONKA_SERVICES_CHECKPOINT_REQUEST_H_
#define VORONKA_SERVICES_CHECKPOINT_REQUEST_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "projections/store.h"

namespace voronka {

// Asks the process serving requests in `projection_dir` to checkpoint its
// store into `target` (which must not exist). DeadlineExceeded when no
// process claimed the request within `claim_timeout` (the request is
// withdrawn, nothing was written); the checkpoint's own error otherwise;
// Unavailable for I/O errors.
absl::Status RequestCheckpoint(const std::string& projection_dir,
                               const std::string& target,
                               absl::Duration claim_timeout,
                               absl::Duration serve_timeout = absl::Hours(1));

// Serves every pending request in `projection_dir` with `store`. Returns
// how many it served; an error only for the directory itself (a failed
// checkpoint is the requester's answer, not the projector's problem).
absl::StatusOr<int> ServeCheckpointRequests(const std::string& projection_dir,
                                            ProjectionStore& store);

}  // namespace voronka

#endif  // VORONKA_SERVICES_CHECKPOINT_REQUEST_H_
