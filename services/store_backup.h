// Backups of projector stores and their restore: a new replica starts from a
// backup and catches up on the events after it instead of replaying the
// whole log (docs/backup.md).
//
// A store holds its read model and the log positions it reflects, written
// together (projections/store.h), so any consistent copy of it is a valid
// starting point. BackupStore() copies the store in service of DIR/NAME
// (projections/generations.h) into a new directory under a backup root:
//
//   ROOT/funnel-20260301T101500Z-812345/   NAME-<UTC time>-<positions sum>
//     store/          a RocksDB store, openable by ProjectionStore::Open
//     manifest.json   projection, version, positions, files and checksums
//
// It works whether or not a projector process holds the store: a store that
// is free is checkpointed (hard links); a held one is checkpointed by the
// projector that holds it, between two batches (services/
// checkpoint_request.h), or, if no projector claims the request within
// `holder_timeout`, exported through a read-only secondary instance
// (ProjectionStore::CopyTo), which has a small window (docs/backup.md). The
// backup is written under ROOT/.NAME-...partial, fsync'ed, and renamed into
// place, so a directory with a manifest.json is always a complete backup.
//
// RestoreStore() checks the manifest (projection name, the version of the
// logic and configuration: another version is refused, since a projector
// would throw the store away and rebuild from position 0), the size and
// SHA-256 of every file, and, when the log's end is known, that the backup
// is not ahead of the log. It then copies the store into a new generation,
// opens it to check its version and positions against the manifest, and
// promotes it. A running `voronka project` on DIR swaps to it within a
// second; one started later resumes from its positions. On any error the
// new generation is discarded and DIR's generation in service is untouched.
//
// Errors name the path and why: NotFound (no store in service, no
// manifest), InvalidArgument (another projection), FailedPrecondition
// (another version, ahead of the log), DataLoss (a file missing or with
// other content, a manifest that does not parse, a restored store that does
// not match its manifest), Unavailable (I/O).
//
//   auto backup = BackupStore({.projection = "funnel", .data_dir = "data",
//                              .backup_root = "/backups"});
//   auto restored = RestoreStore({.projection = "funnel",
//                                 .version = projection.version(),
//                                 .backup_dir = backup->dir,
//                                 .data_dir = "replica"});
#ifndef VORONKA_SERVICES_STORE_BACKUP_H_
#define VORONKA_SERVICES_STORE_BACKUP_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace voronka {

struct BackupManifest {
  struct File {
    std::string name;  // Relative to the backup directory ("store/...").
    uint64_t size = 0;
    std::string sha256;  // Hex.
  };
  int format = 1;
  std::string projection;          // "funnel"
  std::string version;             // Projection::version() of the store.
  std::vector<int64_t> positions;  // Per partition.
  // "checkpoint", "checkpoint by the projector" or "export".
  std::string method;
  std::string source;            // The generation directory copied.
  std::string created;           // RFC 3339, UTC.
  std::string log;               // The log, when the backup was told.
  std::vector<int64_t> log_end;  // Its end at the backup, if known.
  std::vector<File> files;

  int64_t records() const;  // Sum of the positions.
  uint64_t bytes() const;   // Sum of the file sizes.
};

struct BackupOptions {
  std::string projection;   // NAME
  std::string data_dir;     // DIR: the store in service is DIR/NAME's.
  std::string backup_root;  // Created if missing.
  // Recorded in the manifest when given (`--log`/`--kafka` on the command).
  std::string log_description;
  std::vector<int64_t> log_end;
  // How long a projector holding the store has to claim the checkpoint
  // request before the store is exported through a secondary instance.
  absl::Duration holder_timeout = absl::Seconds(10);
};

struct BackupResult {
  std::string dir;  // The backup written.
  BackupManifest manifest;
  absl::Duration took;
};

// Backs up the store in service of DIR/NAME into a new directory under the
// backup root (see the top). NotFound if DIR/NAME has no store in service.
absl::StatusOr<BackupResult> BackupStore(const BackupOptions& options);

// The manifest of the backup in `backup_dir`. NotFound if it has none (not
// a backup, or an incomplete one), DataLoss if it does not parse.
absl::StatusOr<BackupManifest> ReadBackupManifest(
    const std::string& backup_dir);

// Checks every file of `manifest` in `backup_dir`: DataLoss naming the
// first one missing or with another size or SHA-256.
absl::Status VerifyBackupFiles(const std::string& backup_dir,
                               const BackupManifest& manifest);

struct RestoreOptions {
  std::string projection;  // NAME
  std::string version;     // This voronka's Projection::version() for NAME.
  std::string backup_dir;
  std::string data_dir;  // DIR: restored into a new generation of DIR/NAME.
  // The log's end offsets, when known: a backup ahead of them (made from
  // another log) is refused.
  std::optional<std::vector<int64_t>> log_end;
};

struct RestoreResult {
  std::string generation;  // In service now.
  BackupManifest manifest;
  absl::Duration took;
};

// Restores a backup into DIR/NAME and puts it in service (see the top).
absl::StatusOr<RestoreResult> RestoreStore(const RestoreOptions& options);

}  // namespace voronka

#endif  // VORONKA_SERVICES_STORE_BACKUP_H_
