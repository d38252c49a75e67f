// STUB: replaced by the real YAML loader.
#include "events/funnel_config.h"

namespace voronka {
int Funnel::IndexOf(const StageId& stage) const {
  for (size_t i = 0; i < stages.size(); ++i)
    if (stages[i].name == stage) return static_cast<int>(i);
  return -1;
}
absl::StatusOr<FunnelConfig> FunnelConfig::Parse(std::string_view,
                                                 std::string_view) {
  return absl::UnimplementedError("stub");
}
absl::StatusOr<FunnelConfig> FunnelConfig::LoadFile(const std::string&) {
  return absl::UnimplementedError("stub");
}
const FunnelConfig& FunnelConfig::Default() {
  static const FunnelConfig* c = new FunnelConfig();
  return *c;
}
std::string_view FunnelConfig::DefaultYaml() { return ""; }
bool FunnelConfig::HasDepartment(std::string_view) const { return false; }
const Funnel* FunnelConfig::FindFunnel(std::string_view) const { return nullptr; }
const Stage* FunnelConfig::FindStage(std::string_view, std::string_view) const {
  return nullptr;
}
}  // namespace voronka
