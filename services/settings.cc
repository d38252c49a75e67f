#include "services/settings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>

#include "fmt/format.h"
#include "yaml-cpp/yaml.h"

extern char** environ;

namespace voronka {
namespace {

constexpr char kLibrdkafkaSection[] = "librdkafka";
constexpr char kLibrdkafkaEnvPrefix[] = "VORONKA_LIBRDKAFKA_";
// Every subcommand, parsed or not.
const auto kAll = [](CLI::App*) { return true; };

// The long option `--name` of `app` itself, or null.
CLI::Option* OwnOption(CLI::App* app, const std::string& name) {
  for (CLI::Option* opt : app->get_options()) {
    for (const std::string& l : opt->get_lnames()) {
      if (l == name) return opt;
    }
  }
  return nullptr;
}

bool AnyCommandHas(CLI::App* app, const std::string& name) {
  if (OwnOption(app, name) != nullptr) return true;
  for (CLI::App* sub : app->get_subcommands(kAll)) {
    if (AnyCommandHas(sub, name)) return true;
  }
  return false;
}

bool EnvSet(const std::string& name) {
  const char* v = name.empty() ? nullptr : std::getenv(name.c_str());
  return v != nullptr && *v != '\0';
}

std::map<std::string, std::string>& FileLibrdkafka() {
  static auto* settings = new std::map<std::string, std::string>();
  return *settings;
}

// Reads the settings YAML for the command being run (root -> ... -> the
// subcommand parsed last): every key becomes a CLI11 ConfigItem addressed to
// the deepest command of that chain that has the option.
class SettingsFile : public CLI::Config {
 public:
  explicit SettingsFile(CLI::App* root) : root_(root) {}

  std::string to_config(const CLI::App*, bool, bool,
                        std::string) const override {
    return "";  // Not used: settings are written by people.
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    FileLibrdkafka().clear();
    std::stringstream text;
    text << input.rdbuf();
    YAML::Node doc;
    try {
      doc = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
      throw CLI::ConfigError(Where() + e.what());
    }
    std::vector<CLI::ConfigItem> items;
    if (doc.IsNull()) return items;
    if (!doc.IsMap()) {
      throw CLI::ConfigError(Where() + "expected a map of setting: value");
    }
    std::vector<CLI::App*> chain = {root_};
    while (true) {
      std::vector<CLI::App*> parsed = chain.back()->get_subcommands();
      if (parsed.empty()) break;
      chain.push_back(parsed.front());
    }
    try {
      Collect(doc, chain, /*depth=*/0, items);
    } catch (const YAML::Exception& e) {
      throw CLI::ConfigError(Where() + e.what());
    }
    return items;
  }

 private:
  std::string Where() const {
    std::string file;
    try {
      file = root_->get_config_ptr()->as<std::string>();
    } catch (const CLI::Error&) {
    }
    return fmt::format("settings file {}: ", file);
  }

  // A plain value; an empty one (`key:`), a map or a list is an error
  // naming the key, never the text "null" or a crash.
  std::string Scalar(const std::string& key, const YAML::Node& value) const {
    if (!value.IsScalar()) {
      throw CLI::ConfigError(
          Where() + fmt::format("{}: expected a value, got {}", key,
                                value.IsNull() ? "nothing" : "a map or list"));
    }
    return value.Scalar();
  }

  static std::vector<std::string> Path(const std::vector<CLI::App*>& chain,
                                       size_t upto) {
    std::vector<std::string> out;
    for (size_t i = 1; i <= upto; ++i) out.push_back(chain[i]->get_name());
    return out;
  }

  // Settings of `map`, which applies to chain[depth..]: a key is looked up
  // from the deepest command up to chain[depth].
  // The first item for an option wins, so a command's section is read
  // before the settings around it.
  void Collect(const YAML::Node& map, const std::vector<CLI::App*>& chain,
               size_t depth, std::vector<CLI::ConfigItem>& items) const {
    for (const auto& entry : map) {
      if (entry.second.IsMap() &&
          entry.first.as<std::string>() != kLibrdkafkaSection) {
        CollectSection(entry.first.as<std::string>(), entry.second, chain,
                       depth, items);
      }
    }
    for (const auto& entry : map) {
      const std::string key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      if (key == kLibrdkafkaSection) {
        CollectLibrdkafka(value);
        continue;
      }
      if (value.IsMap()) continue;  // A section, read above.

      size_t target = chain.size();
      CLI::Option* option = nullptr;
      for (size_t i = chain.size(); i-- > depth;) {
        option = OwnOption(chain[i], key);
        if (option != nullptr) {
          target = i;
          break;
        }
      }
      if (option == nullptr) {
        if (AnyCommandHas(root_, key)) continue;  // Another command's.
        throw CLI::ConfigError(
            Where() +
            fmt::format("unknown setting \"{}\": no voronka command has --{}",
                        key, key));
      }
      if (EnvSet(option->get_envname())) continue;  // The environment wins.
      CLI::ConfigItem item;
      item.parents = Path(chain, target);
      item.name = key;
      if (value.IsSequence()) {
        for (const auto& v : value) item.inputs.push_back(Scalar(key, v));
      } else {
        item.inputs.push_back(Scalar(key, value));
      }
      items.push_back(std::move(item));
    }
  }

  void CollectSection(const std::string& key, const YAML::Node& value,
                      const std::vector<CLI::App*>& chain, size_t depth,
                      std::vector<CLI::ConfigItem>& items) const {
    CLI::App* section = nullptr;
    for (CLI::App* sub : chain[depth]->get_subcommands(kAll)) {
      if (sub->get_name() == key) section = sub;
    }
    if (section == nullptr) {
      throw CLI::ConfigError(Where() +
                             fmt::format("{}: a map, but {} has no "
                                         "command \"{}\"",
                                         key,
                                         depth == 0 ? std::string("voronka")
                                                    : chain[depth]->get_name(),
                                         key));
    }
    // Another command's section: not for this process.
    if (depth + 1 < chain.size() && chain[depth + 1] == section) {
      Collect(value, chain, depth + 1, items);
    }
  }

  void CollectLibrdkafka(const YAML::Node& value) const {
    if (!value.IsMap()) {
      throw CLI::ConfigError(
          Where() + fmt::format("{}: expected a map of librdkafka settings "
                                "(key: value)",
                                kLibrdkafkaSection));
    }
    // A command's own section is read first and wins, key by key.
    for (const auto& entry : value) {
      const std::string key = Scalar(kLibrdkafkaSection, entry.first);
      std::string v =
          Scalar(std::string(kLibrdkafkaSection) + "." + key, entry.second);
      FileLibrdkafka().emplace(key, std::move(v));
    }
  }

  CLI::App* root_;
};

void NameEnv(CLI::App* app) {
  for (CLI::Option* opt : app->get_options()) {
    if (!opt->get_envname().empty() || opt->get_lnames().empty()) continue;
    if (opt == app->get_help_ptr() || opt == app->get_help_all_ptr() ||
        opt == app->get_config_ptr()) {
      continue;
    }
    opt->envname(SettingEnvName(opt->get_lnames().front()));
  }
}

// CLI11 reads the environment for the options of every subcommand, run or
// not, and validates them: VORONKA_FORMAT meant for `audit history` would
// then fail `token list`. So a command's options get their variables only
// when the command is the one being run (its pre-parse callback fires as
// its name is met, before the environment is read and before --help).
void AddEnvNames(CLI::App* app) {
  for (CLI::App* sub : app->get_subcommands(kAll)) {
    sub->fallthrough();
    sub->preparse_callback([sub](size_t) { NameEnv(sub); });
    AddEnvNames(sub);
  }
}

}  // namespace

std::string SettingEnvName(const std::string& option) {
  std::string out = "VORONKA_";
  for (char c : option) {
    out += c == '-' || c == '.' ? '_' : static_cast<char>(std::toupper(c));
  }
  return out;
}

void AddSettings(CLI::App& app) {
  FileLibrdkafka().clear();
  NameEnv(&app);
  AddEnvNames(&app);
  const char* env = std::getenv("VORONKA_SETTINGS");
  const bool from_env = env != nullptr && *env != '\0';
  app.set_config("--settings", from_env ? env : "",
                 "Settings file (YAML; docs/configuration.md): option: value "
                 "per line, a section per command, librdkafka: for Kafka "
                 "client settings. Env: VORONKA_SETTINGS",
                 /*config_required=*/from_env);
  app.config_formatter(std::make_shared<SettingsFile>(&app));
}

std::vector<std::pair<std::string, std::string>> LibrdkafkaFileSettings() {
  const auto& settings = FileLibrdkafka();
  return {settings.begin(), settings.end()};
}

std::vector<std::pair<std::string, std::string>> LibrdkafkaEnvSettings() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string prefix = kLibrdkafkaEnvPrefix;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    if (entry.compare(0, prefix.size(), prefix) != 0) continue;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == prefix.size()) continue;
    std::string key = entry.substr(prefix.size(), eq - prefix.size());
    for (char& c : key) {
      c = c == '_' ? '.' : static_cast<char>(std::tolower(c));
    }
    out.emplace_back(std::move(key), entry.substr(eq + 1));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace voronka
