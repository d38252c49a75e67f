// YamlReader: the part of a YAML configuration loader that walks nodes and
// collects errors as "file: key.path: reason", so that a loader reports
// every problem of a document at once instead of the first. The funnel
// configuration (funnel_config.cc) and the CDR map file (services/cdr.cc)
// derive their loaders from it.
//
//   class MyLoader : public YamlReader {
//     void Load(const YAML::Node& root) {
//       CheckKeys(root, "", kRootKeys);
//       if (auto s = RequiredString(root, "source", "source")) ...
//     }
//   };
//   if (!loader.ok()) return loader.status();
//
// Never throws; reading a node of the wrong type is reported, not thrown.
// Thread-compatible.
#ifndef VORONKA_EVENTS_YAML_READER_H_
#define VORONKA_EVENTS_YAML_READER_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "yaml-cpp/yaml.h"

namespace voronka {

class YamlReader {
 public:
  // `origin` names the document in every error ("funnels.yaml").
  explicit YamlReader(std::string_view origin) : origin_(origin) {}

  // Parses `yaml` and hands its root node to `load`, which reports problems
  // through Error(). A YAML syntax error (any yaml-cpp exception) becomes
  // InvalidArgument naming the origin, line and column; problems reported
  // by `load` give status().
  absl::Status LoadDocument(
      std::string_view yaml,
      const std::function<void(const YAML::Node& root)>& load);

  bool ok() const { return errors_.empty(); }
  // InvalidArgument with every error on its own line.
  absl::Status status() const {
    return absl::InvalidArgumentError(
        fmt::format("{}", fmt::join(errors_, "\n")));
  }

 protected:
  void Error(std::string_view path, std::string_view reason) {
    errors_.push_back(fmt::format("{}: {}: {}", origin_, path, reason));
  }

  // Reports keys of `map` that are not in `allowed`, and repeated keys.
  template <size_t N>
  void CheckKeys(const YAML::Node& map, const std::string& path,
                 const std::string_view (&allowed)[N]) {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string key_path = path.empty() ? key : path + "." + key;
      bool known = false;
      for (std::string_view a : allowed) known = known || a == key;
      if (!known) {
        Error(key_path, fmt::format("unknown key (allowed: {})",
                                    fmt::join(allowed, ", ")));
      } else if (!seen.insert(key).second) {
        Error(key_path, "key given twice");
      }
    }
  }

  // The node at `map[key]` if present and not null.
  static std::optional<YAML::Node> Get(const YAML::Node& map,
                                       std::string_view key);
  // The non-empty scalar string `node`; reports a type error otherwise.
  std::optional<std::string> String(const YAML::Node& node,
                                    const std::string& path);
  // As String, for `map[key]`, which must be present.
  std::optional<std::string> RequiredString(const YAML::Node& map,
                                            std::string_view key,
                                            const std::string& path);
  // True if `node` is a mapping (a list); reports it otherwise.
  bool IsMap(const YAML::Node& node, const std::string& path);
  bool IsSeq(const YAML::Node& node, const std::string& path);

 private:
  std::string origin_;
  std::vector<std::string> errors_;
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_YAML_READER_H_
