#include "projections/projection.h"

#include "absl/time/time.h"
#include "fmt/format.h"
#include "projections/seen_set.h"

namespace voronka {

uint64_t ConfigFingerprint(const FunnelConfig& config) {
  std::string text = fmt::format("tz={};ka={};", config.timezone(),
                                 config.key_accounts_department().value());
  for (const DepartmentId& d : config.departments()) text += d.value() + ",";
  text += ";routed=";
  for (const DepartmentId& d : config.key_account_routed()) {
    text += d.value() + ",";
  }
  text += ";threshold=";
  for (const auto& [currency, minor] : config.key_account_threshold()) {
    text += fmt::format("{}:{},", currency.code(), minor);
  }
  for (const Funnel& f : config.funnels()) {
    text += fmt::format(";funnel={}/{}:", f.name.value(), f.kind);
    for (const Stage& s : f.stages) {
      text += fmt::format(
          "{}|{}|{}|{}|{}|{},", s.name.value(), s.owner ? s.owner->value() : "",
          s.probability_bp, absl::FormatDuration(s.sla),
          absl::FormatDuration(s.idle_limit), static_cast<int>(s.outcome));
    }
  }
  return StableHash128(text).first;
}

}  // namespace voronka
