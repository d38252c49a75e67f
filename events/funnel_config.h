// The funnel configuration: departments, funnels and their stages, and the
// key-account threshold. Loaded from YAML (docs/configuration.md); the
// built-in default reproduces DOMAIN.md §1 (the acquisition funnel of seed
// 001) plus the retention and reactivation funnels of seed 003.
//
// A configuration is immutable once loaded and safe to share between threads.
// A broken file is rejected with InvalidArgument naming the file, the key
// path and the reason, e.g.
//   funnels.yaml: funnels.acquisition.stages[2].probability: 1.4 is not in [0,
//   1]
// Every problem found is reported, one per line. Unknown keys are errors (a
// typo must not silently drop a limit). YAML syntax errors name the line and
// column: "funnels.yaml: line 4, column 7: <yaml-cpp message>".
//
//   absl::StatusOr<FunnelConfig> cfg = FunnelConfig::LoadFile("funnels.yaml");
//   const Stage* s = cfg->FindStage(FunnelId("acquisition"), StageId("new"));
#ifndef VORONKA_EVENTS_FUNNEL_CONFIG_H_
#define VORONKA_EVENTS_FUNNEL_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/ids.h"
#include "events/money.h"

namespace voronka {

enum class StageOutcome : uint8_t { kOpen = 0, kWon = 1, kLost = 2 };

struct Stage {
  StageId name;
  // The department that works deals in this stage; unset for a terminal lost
  // stage that nobody works.
  std::optional<DepartmentId> owner;
  // Win probability in basis points (0..10000): 40 % is 4000. Integer so that
  // forecasts (amount x probability) stay exact.
  int32_t probability_bp = 0;
  absl::Duration sla = absl::InfiniteDuration();         // Max time in stage.
  absl::Duration idle_limit = absl::InfiniteDuration();  // Max time idle.
  StageOutcome outcome = StageOutcome::kOpen;

  bool closed() const { return outcome != StageOutcome::kOpen; }
};

struct Funnel {
  FunnelId name;
  std::string kind;           // "acquisition", "retention" or "reactivation".
  std::vector<Stage> stages;  // In funnel order.

  // Index of `stage` in `stages`, or -1.
  int IndexOf(const StageId& stage) const;
};

// Parses a configuration duration: one or more <integer><unit> groups, unit
// s, m, h or d ("90m", "72h", "14d", "1d12h"). The result must be positive.
// InvalidArgument explains what is wrong with `text`.
absl::StatusOr<absl::Duration> ParseConfigDuration(std::string_view text);

class FunnelConfig {
 public:
  // Parses YAML text; `origin` (a file name) prefixes every error.
  static absl::StatusOr<FunnelConfig> Parse(std::string_view yaml,
                                            std::string_view origin);
  // Reads and parses a file; NotFound / InvalidArgument name the file.
  static absl::StatusOr<FunnelConfig> LoadFile(const std::string& path);
  // The built-in configuration (DefaultYaml() parsed; the same text as
  // deploy/config/funnels.yaml). Never fails: tests keep it valid.
  static const FunnelConfig& Default();
  static std::string_view DefaultYaml();

  const std::vector<DepartmentId>& departments() const { return departments_; }
  const std::vector<Funnel>& funnels() const { return funnels_; }
  // The department that takes sales and account-management stages of deals
  // at or above the key-account threshold ("key_accounts" by default).
  const DepartmentId& key_accounts_department() const {
    return key_accounts_department_;
  }
  // Minimum expected amount, per currency, that makes a deal a key account.
  // A currency without an entry never routes to key accounts.
  const std::map<Currency, int64_t>& key_account_threshold() const {
    return key_account_threshold_;
  }
  // Departments whose stages are re-routed to key accounts (sales and
  // account_management by default).
  const std::vector<DepartmentId>& key_account_routed() const {
    return key_account_routed_;
  }
  // The time zone that indicator days are bucketed in ("UTC" by default);
  // Parse has checked that absl::LoadTimeZone accepts it.
  const std::string& timezone() const { return timezone_; }
  // How long a deal may wait in each department's handoff queue before it
  // is claimed (`handoff_sla`); departments without an entry have no limit.
  // Used by metrics and alerts only, not by the read models.
  const std::map<std::string, absl::Duration>& handoff_sla() const {
    return handoff_sla_;
  }

  bool HasDepartment(std::string_view name) const;
  // nullptr if there is no such funnel / stage.
  const Funnel* FindFunnel(std::string_view name) const;
  const Stage* FindStage(std::string_view funnel, std::string_view stage) const;

 private:
  std::vector<DepartmentId> departments_;
  std::vector<Funnel> funnels_;
  DepartmentId key_accounts_department_;
  std::vector<DepartmentId> key_account_routed_;
  std::map<Currency, int64_t> key_account_threshold_;
  std::string timezone_ = "UTC";
  std::map<std::string, absl::Duration> handoff_sla_;
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_FUNNEL_CONFIG_H_
