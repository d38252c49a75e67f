#include "events/yaml_reader.h"

namespace voronka {

absl::Status YamlReader::LoadDocument(
    std::string_view yaml,
    const std::function<void(const YAML::Node& root)>& load) {
  try {
    load(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) {
      return absl::InvalidArgumentError(fmt::format("{}: {}", origin_, e.msg));
    }
    return absl::InvalidArgumentError(fmt::format("{}: line {}, column {}: {}",
                                                  origin_, e.mark.line + 1,
                                                  e.mark.column + 1, e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(fmt::format("{}: {}", origin_, e.what()));
  }
  return ok() ? absl::OkStatus() : status();
}

std::optional<YAML::Node> YamlReader::Get(const YAML::Node& map,
                                          std::string_view key) {
  const YAML::Node& cmap = map;
  YAML::Node v = cmap[std::string(key)];
  if (!v.IsDefined() || v.IsNull()) return std::nullopt;
  return v;
}

bool YamlReader::IsMap(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) return true;
  Error(path, "must be a mapping (key: value)");
  return false;
}

bool YamlReader::IsSeq(const YAML::Node& node, const std::string& path) {
  if (node.IsSequence()) return true;
  Error(path, "must be a list");
  return false;
}

std::optional<std::string> YamlReader::String(const YAML::Node& node,
                                              const std::string& path) {
  if (!node.IsScalar()) {
    Error(path, "must be a string");
    return std::nullopt;
  }
  if (node.Scalar().empty()) {
    Error(path, "must not be empty");
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> YamlReader::RequiredString(const YAML::Node& map,
                                                      std::string_view key,
                                                      const std::string& path) {
  std::optional<YAML::Node> v = Get(map, key);
  if (!v) {
    Error(path, "required");
    return std::nullopt;
  }
  return String(*v, path);
}

}  // namespace voronka
