// AuditAccessLog: who looked at which manager's history, when, and what
// range — every audit access, recorded durably before the answer is given
// (docs/audit.md). An append-only JSON Lines file next to the audit index
// (DIR/audit-access.jsonl), written with O_APPEND and fsync so that several
// processes (`voronka serve`, `voronka audit ...` on the same machine) add
// whole lines; a line that cannot be made durable refuses the access.
//
//   AuditAccessLog log("voronka-data/audit-access.jsonl");
//   VORONKA_RETURN_IF_ERROR(log.Record({.who = "token:ann", .what = "history",
//                                       .manager = "ivanov"}));
//
// Thread-safe.
#ifndef VORONKA_SERVICES_AUDIT_ACCESS_H_
#define VORONKA_SERVICES_AUDIT_ACCESS_H_

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/timestamp.h"

namespace voronka {

struct AuditAccess {
  Timestamp time;    // Set by Record() when unset.
  std::string who;   // "token:<name>" (API) or "user:<login>" (CLI).
  std::string via;   // "api" or "cli".
  std::string what;  // "history", "book", "verify", "deals".
  std::string manager;
  std::string range;  // "from..to", "as of T", "" for all.
};

class AuditAccessLog {
 public:
  explicit AuditAccessLog(std::string path) : path_(std::move(path)) {}

  // Appends one line and fsyncs it; Unavailable if that fails.
  absl::Status Record(AuditAccess access);
  // Every access recorded, oldest first. A line that does not parse is
  // DataLoss naming its line number.
  absl::StatusOr<std::vector<AuditAccess>> List() const;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
};

}  // namespace voronka

#endif  // VORONKA_SERVICES_AUDIT_ACCESS_H_
