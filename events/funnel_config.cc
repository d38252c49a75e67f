// The YAML loader of the funnel configuration (docs/configuration.md).
//
// yaml-cpp builds the document tree; everything after that walks the tree
// with non-throwing accessors (YAML::convert<T>::decode) and collects every
// problem as "<origin>: <key path>: <reason>". Exceptions from yaml-cpp are
// caught in Parse, at the edge.
#include "events/funnel_config.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <set>
#include <sstream>
#include <utility>

#include "absl/time/time.h"
#include "events/status.h"
#include "events/yaml_reader.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "yaml-cpp/yaml.h"

namespace voronka {
namespace {

constexpr std::string_view kStageKeys[] = {"name", "probability", "owner",
                                           "sla",  "idle_limit",  "outcome"};
constexpr std::string_view kFunnelKeys[] = {"kind", "stages"};
constexpr std::string_view kRootKeys[] = {
    "timezone", "departments", "key_accounts", "handoff_sla", "funnels"};
constexpr std::string_view kKeyAccountKeys[] = {"department", "routes",
                                                "threshold"};
constexpr std::string_view kFunnelKinds[] = {"acquisition", "retention",
                                             "reactivation"};

// absl::string_view is not std::string_view in Debian's absl.
std::string Message(const absl::Status& s) { return std::string(s.message()); }

// The configuration while it is being loaded.
struct Draft {
  std::vector<DepartmentId> departments;
  std::vector<Funnel> funnels;
  DepartmentId key_accounts_department;
  std::vector<DepartmentId> key_account_routed;
  std::map<Currency, int64_t> key_account_threshold;
  std::string timezone = "UTC";
  std::map<std::string, absl::Duration> handoff_sla;
};

// Walks one YAML document and collects errors. One Loader per Parse call.
class Loader : public YamlReader {
 public:
  using YamlReader::YamlReader;

  void Load(const YAML::Node& root, Draft& out);

 private:
  std::optional<absl::Duration> Duration(const YAML::Node& map,
                                         std::string_view key,
                                         const std::string& path);
  void LoadDepartments(const YAML::Node& root, Draft& out);
  void LoadKeyAccounts(const YAML::Node& node, Draft& out);
  void LoadHandoffSla(const YAML::Node& node, Draft& out);
  void LoadFunnel(const std::string& name, const YAML::Node& node,
                  const std::string& path, Draft& out);
  void LoadStage(const YAML::Node& node, const std::string& path,
                 const Draft& out, Stage& stage);
};

std::optional<absl::Duration> Loader::Duration(const YAML::Node& map,
                                               std::string_view key,
                                               const std::string& path) {
  std::optional<YAML::Node> v = Get(map, key);
  if (!v) return absl::InfiniteDuration();
  std::optional<std::string> s = String(*v, path);
  if (!s) return std::nullopt;
  absl::StatusOr<absl::Duration> d = ParseConfigDuration(*s);
  if (!d.ok()) {
    Error(path, Message(d.status()));
    return std::nullopt;
  }
  return *d;
}

void Loader::Load(const YAML::Node& root, Draft& out) {
  if (!root.IsMap()) {
    Error("$",
          "the document must be a mapping with keys timezone, "
          "departments, key_accounts, funnels");
    return;
  }
  CheckKeys(root, "", kRootKeys);

  if (std::optional<YAML::Node> tz = Get(root, "timezone")) {
    if (std::optional<std::string> name = String(*tz, "timezone")) {
      absl::TimeZone zone;
      if (!absl::LoadTimeZone(*name, &zone)) {
        Error("timezone",
              fmt::format("\"{}\" is not a loadable time zone (IANA names "
                          "like UTC or Europe/Moscow)",
                          *name));
      } else {
        out.timezone = *name;
      }
    }
  }

  LoadDepartments(root, out);

  if (std::optional<YAML::Node> ka = Get(root, "key_accounts")) {
    LoadKeyAccounts(*ka, out);
  }

  if (std::optional<YAML::Node> sla = Get(root, "handoff_sla")) {
    LoadHandoffSla(*sla, out);
  }

  std::optional<YAML::Node> funnels = Get(root, "funnels");
  if (!funnels) {
    Error("funnels", "required");
  } else if (IsMap(*funnels, "funnels")) {
    if (funnels->size() == 0) Error("funnels", "must name at least one funnel");
    for (const auto& kv : *funnels) {
      const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string path = "funnels." + name;
      bool dup = false;
      for (const Funnel& f : out.funnels) dup = dup || f.name.value() == name;
      if (dup) {
        Error(path, fmt::format("funnel \"{}\" is defined twice", name));
        continue;
      }
      LoadFunnel(name, kv.second, path, out);
    }
  }
}

void Loader::LoadHandoffSla(const YAML::Node& node, Draft& out) {
  if (!IsMap(node, "handoff_sla")) return;
  for (const auto& kv : node) {
    const std::string name = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    const std::string path = "handoff_sla." + name;
    bool known = false;
    for (const DepartmentId& d : out.departments) {
      known = known || d.value() == name;
    }
    if (!known) {
      Error(path, fmt::format("\"{}\" is not in departments", name));
      continue;
    }
    if (std::optional<absl::Duration> d = Duration(node, name, path)) {
      out.handoff_sla[name] = *d;
    }
  }
}

void Loader::LoadDepartments(const YAML::Node& root, Draft& out) {
  std::optional<YAML::Node> deps = Get(root, "departments");
  if (!deps) {
    Error("departments", "required");
    return;
  }
  if (!IsSeq(*deps, "departments")) return;
  if (deps->size() == 0) Error("departments", "must list at least one");
  for (size_t i = 0; i < deps->size(); ++i) {
    const std::string path = fmt::format("departments[{}]", i);
    std::optional<std::string> name = String((*deps)[i], path);
    if (!name) continue;
    bool dup = false;
    for (const DepartmentId& d : out.departments)
      dup = dup || d.value() == *name;
    if (dup) {
      Error(path, fmt::format("\"{}\" is listed twice", *name));
      continue;
    }
    out.departments.emplace_back(*name);
  }
}

void Loader::LoadKeyAccounts(const YAML::Node& node, Draft& out) {
  if (!IsMap(node, "key_accounts")) return;
  CheckKeys(node, "key_accounts", kKeyAccountKeys);
  auto is_department = [&out](const std::string& name) {
    for (const DepartmentId& d : out.departments)
      if (d.value() == name) return true;
    return false;
  };

  if (std::optional<std::string> dep =
          RequiredString(node, "department", "key_accounts.department")) {
    if (!is_department(*dep)) {
      Error("key_accounts.department",
            fmt::format("\"{}\" is not one of departments", *dep));
    } else {
      out.key_accounts_department = DepartmentId(*dep);
    }
  }

  std::optional<YAML::Node> routes = Get(node, "routes");
  if (!routes) {
    Error("key_accounts.routes", "required");
  } else if (IsSeq(*routes, "key_accounts.routes")) {
    for (size_t i = 0; i < routes->size(); ++i) {
      const std::string path = fmt::format("key_accounts.routes[{}]", i);
      std::optional<std::string> dep = String((*routes)[i], path);
      if (!dep) continue;
      if (!is_department(*dep)) {
        Error(path, fmt::format("\"{}\" is not one of departments", *dep));
      } else {
        out.key_account_routed.emplace_back(*dep);
      }
    }
  }

  std::optional<YAML::Node> threshold = Get(node, "threshold");
  if (!threshold) {
    Error("key_accounts.threshold", "required");
  } else if (IsMap(*threshold, "key_accounts.threshold")) {
    for (const auto& kv : *threshold) {
      const std::string code = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      const std::string path = "key_accounts.threshold." + code;
      absl::StatusOr<Currency> currency = Currency::FromCode(code);
      if (!currency.ok()) {
        Error(path, Message(currency.status()));
        continue;
      }
      int64_t minor = 0;
      if (!kv.second.IsScalar() ||
          !YAML::convert<int64_t>::decode(kv.second, minor)) {
        Error(path, fmt::format("must be an integer number of minor units, "
                                "got {}",
                                kv.second.IsScalar() ? kv.second.Scalar()
                                                     : "a non-scalar"));
        continue;
      }
      if (minor < 0) {
        Error(path, fmt::format("must be >= 0, got {}", minor));
        continue;
      }
      if (!out.key_account_threshold.emplace(*currency, minor).second) {
        Error(path, "currency given twice");
      }
    }
  }
}

void Loader::LoadFunnel(const std::string& name, const YAML::Node& node,
                        const std::string& path, Draft& out) {
  if (!IsMap(node, path)) return;
  CheckKeys(node, path, kFunnelKeys);
  Funnel funnel;
  funnel.name = FunnelId(name);
  if (std::optional<std::string> kind =
          RequiredString(node, "kind", path + ".kind")) {
    bool known = false;
    for (std::string_view k : kFunnelKinds) known = known || k == *kind;
    if (!known) {
      Error(path + ".kind", fmt::format("\"{}\" is not one of: {}", *kind,
                                        fmt::join(kFunnelKinds, ", ")));
    }
    funnel.kind = *kind;
  }
  std::optional<YAML::Node> stages = Get(node, "stages");
  if (!stages) {
    Error(path + ".stages", "required");
    return;
  }
  if (!IsSeq(*stages, path + ".stages")) return;
  bool has_won = false;
  for (size_t i = 0; i < stages->size(); ++i) {
    const std::string stage_path = fmt::format("{}.stages[{}]", path, i);
    Stage stage;
    LoadStage((*stages)[i], stage_path, out, stage);
    if (stage.name.empty()) continue;
    int prev = funnel.IndexOf(stage.name);
    if (prev >= 0) {
      Error(stage_path + ".name",
            fmt::format("\"{}\" is already stage {} of this funnel",
                        stage.name.value(), prev));
      continue;
    }
    has_won = has_won || stage.outcome == StageOutcome::kWon;
    funnel.stages.push_back(std::move(stage));
  }
  if (stages->size() > 0 && !has_won) {
    Error(path + ".stages",
          "the funnel has no won stage (mark one stage outcome: won)");
  }
  out.funnels.push_back(std::move(funnel));
}

void Loader::LoadStage(const YAML::Node& node, const std::string& path,
                       const Draft& out, Stage& stage) {
  if (!IsMap(node, path)) return;
  CheckKeys(node, path, kStageKeys);

  std::optional<std::string> name =
      RequiredString(node, "name", path + ".name");

  std::string outcome_text = "open";
  if (std::optional<YAML::Node> o = Get(node, "outcome")) {
    if (std::optional<std::string> s = String(*o, path + ".outcome")) {
      outcome_text = *s;
      if (*s == "open") {
        stage.outcome = StageOutcome::kOpen;
      } else if (*s == "won") {
        stage.outcome = StageOutcome::kWon;
      } else if (*s == "lost") {
        stage.outcome = StageOutcome::kLost;
      } else {
        Error(path + ".outcome",
              fmt::format("\"{}\" is not one of: open, won, lost", *s));
      }
    }
  }

  if (std::optional<YAML::Node> owner = Get(node, "owner")) {
    if (std::optional<std::string> s = String(*owner, path + ".owner")) {
      bool known = false;
      for (const DepartmentId& d : out.departments)
        known = known || d.value() == *s;
      if (!known) {
        Error(path + ".owner",
              fmt::format("\"{}\" is not one of departments", *s));
      }
      stage.owner = DepartmentId(*s);
    }
  } else if (stage.outcome == StageOutcome::kOpen) {
    Error(path + ".owner", "required for an open stage");
  }

  std::optional<YAML::Node> p = Get(node, "probability");
  if (!p) {
    Error(path + ".probability", "required");
  } else {
    double value = 0;
    if (!p->IsScalar() || !YAML::convert<double>::decode(*p, value)) {
      Error(path + ".probability",
            fmt::format("must be a number in [0, 1], got {}",
                        p->IsScalar() ? p->Scalar() : "a non-scalar"));
    } else if (!(value >= 0.0 && value <= 1.0)) {
      Error(path + ".probability",
            fmt::format("{} is not in [0, 1]", p->Scalar()));
    } else {
      stage.probability_bp = static_cast<int32_t>(std::lround(value * 10000));
      if (stage.outcome == StageOutcome::kWon &&
          stage.probability_bp != 10000) {
        Error(path + ".probability",
              fmt::format("a won stage must have probability 1, got {}",
                          p->Scalar()));
      } else if (stage.outcome == StageOutcome::kLost &&
                 stage.probability_bp != 0) {
        Error(path + ".probability",
              fmt::format("a lost stage must have probability 0, got {}",
                          p->Scalar()));
      }
    }
  }

  if (std::optional<absl::Duration> d = Duration(node, "sla", path + ".sla")) {
    stage.sla = *d;
  }
  if (std::optional<absl::Duration> d =
          Duration(node, "idle_limit", path + ".idle_limit")) {
    stage.idle_limit = *d;
  }
  if (name) stage.name = StageId(*name);
}

}  // namespace

absl::StatusOr<absl::Duration> ParseConfigDuration(std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "empty duration (use e.g. 90m, 72h, 14d)");
  }
  absl::Duration total = absl::ZeroDuration();
  size_t i = 0;
  while (i < text.size()) {
    int64_t n = 0;
    size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      if (n > 1'000'000'000) {
        return absl::InvalidArgumentError(
            fmt::format("\"{}\" is too long a duration", text));
      }
      n = n * 10 + (text[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || i == text.size()) {
      return absl::InvalidArgumentError(fmt::format(
          "\"{}\" is not a duration (an integer and a unit s, m, h or d, "
          "e.g. 90m, 72h, 14d)",
          text));
    }
    switch (text[i]) {
      case 's':
        total += absl::Seconds(n);
        break;
      case 'm':
        total += absl::Minutes(n);
        break;
      case 'h':
        total += absl::Hours(n);
        break;
      case 'd':
        total += absl::Hours(24 * n);
        break;
      default:
        return absl::InvalidArgumentError(fmt::format(
            "\"{}\" is not a duration: unknown unit '{}' (use s, m, h or "
            "d, e.g. 90m, 72h, 14d)",
            text, text[i]));
    }
    ++i;
  }
  if (total <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(fmt::format(
        "\"{}\" must be positive (omit the key for no limit)", text));
  }
  return total;
}

int Funnel::IndexOf(const StageId& stage) const {
  for (size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].name == stage) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<FunnelConfig> FunnelConfig::Parse(std::string_view yaml,
                                                 std::string_view origin) {
  Draft b;
  Loader loader(origin);
  VORONKA_RETURN_IF_ERROR(loader.LoadDocument(
      yaml, [&](const YAML::Node& root) { loader.Load(root, b); }));
  FunnelConfig cfg;
  cfg.departments_ = std::move(b.departments);
  cfg.funnels_ = std::move(b.funnels);
  cfg.key_accounts_department_ = std::move(b.key_accounts_department);
  cfg.key_account_routed_ = std::move(b.key_account_routed);
  cfg.key_account_threshold_ = std::move(b.key_account_threshold);
  cfg.timezone_ = std::move(b.timezone);
  cfg.handoff_sla_ = std::move(b.handoff_sla);
  return cfg;
}

absl::StatusOr<FunnelConfig> FunnelConfig::LoadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("{}: cannot open the file", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::NotFoundError(fmt::format("{}: cannot read the file", path));
  }
  return Parse(text.str(), path);
}

const FunnelConfig& FunnelConfig::Default() {
  static const FunnelConfig* const config = [] {
    absl::StatusOr<FunnelConfig> c = Parse(DefaultYaml(), "<built-in>");
    if (!c.ok()) {
      // A programming error caught by funnel_config_test; fail loudly.
      fmt::print(stderr, "built-in funnel configuration: {}\n",
                 Message(c.status()));
      std::abort();
    }
    return new FunnelConfig(*std::move(c));
  }();
  return *config;
}

bool FunnelConfig::HasDepartment(std::string_view name) const {
  for (const DepartmentId& d : departments_) {
    if (d.value() == name) return true;
  }
  return false;
}

const Funnel* FunnelConfig::FindFunnel(std::string_view name) const {
  for (const Funnel& f : funnels_) {
    if (f.name.value() == name) return &f;
  }
  return nullptr;
}

const Stage* FunnelConfig::FindStage(std::string_view funnel,
                                     std::string_view stage) const {
  const Funnel* f = FindFunnel(funnel);
  if (f == nullptr) return nullptr;
  for (const Stage& s : f->stages) {
    if (s.name.value() == stage) return &s;
  }
  return nullptr;
}

std::string_view FunnelConfig::DefaultYaml() {
  static constexpr std::string_view kYaml =
      R"yaml(# Voronka funnel configuration (docs/configuration.md). This file is the
# built-in default, FunnelConfig::DefaultYaml(); a test keeps the two equal.
#
# Durations: an integer and a unit, s/m/h/d, optionally chained ("1d12h").
# A stage without sla / idle_limit has no limit. probability is the win
# probability in [0, 1], kept as basis points.
timezone: UTC
departments: [lead_generation, sales, account_management, key_accounts]
key_accounts:
  department: key_accounts
  # Stages owned by these departments go to key_accounts for big deals.
  routes: [sales, account_management]
  # Minor units: RUB 1,000,000.00; USD and EUR 10,000.00.
  threshold: {RUB: 100000000, USD: 1000000, EUR: 1000000}
# How long a deal may wait in a department's handoff queue before someone
# claims it (the queue alert, docs/observability.md). Hot leads cool fast;
# key accounts are few and valuable. Not part of the read models: changing
# it rebuilds nothing.
handoff_sla: {lead_generation: 1d, sales: 4h, account_management: 1d, key_accounts: 2h}
funnels:
  # DOMAIN.md §1, the stage table of seed 001 (never-contacted prospects).
  # SLAs: a cold lead is worth most in its first days, so lead generation
  # gets 3 days to find the contact and send the general proposal, and two
  # weeks to get a trial going; closing a network licence and seminars
  # takes about a month; installation and go-live about two weeks. Idle
  # limits are the longest silence after which a deal is likely forgotten:
  # 2 days for fresh leads, 3-7 days once a conversation is under way.
  acquisition:
    kind: acquisition
    stages:
      - {name: new, owner: lead_generation, probability: 0.05, sla: 72h, idle_limit: 48h}
      - {name: active, owner: lead_generation, probability: 0.10, sla: 14d, idle_limit: 3d}
      - {name: development, owner: sales, probability: 0.40, sla: 30d, idle_limit: 7d}
      - {name: shipment, owner: account_management, probability: 0.90, sla: 14d, idle_limit: 3d}
      - {name: customer, owner: account_management, probability: 1.0, outcome: won}
      - {name: worked_out, probability: 0, outcome: lost}
  # Established clients (seed 003): account management reviews the account
  # ahead of the renewal, sales makes and closes the offer. Renewals run on
  # the contract calendar, so limits are in weeks, not days.
  retention:
    kind: retention
    stages:
      - {name: review, owner: account_management, probability: 0.50, sla: 14d, idle_limit: 7d}
      - {name: offer, owner: sales, probability: 0.60, sla: 14d, idle_limit: 5d}
      - {name: contract, owner: sales, probability: 0.85, sla: 21d, idle_limit: 5d}
      - {name: renewed, owner: account_management, probability: 1.0, outcome: won}
      - {name: churned, probability: 0, outcome: lost}
  # Sleeping clients who stopped buying (seed 003): lead generation wakes
  # them up, sales makes the offer. A dormant client may wait a month for
  # the first call; once contacted, follow up within days.
  reactivation:
    kind: reactivation
    stages:
      - {name: dormant, owner: lead_generation, probability: 0.05, sla: 30d, idle_limit: 14d}
      - {name: contacted, owner: lead_generation, probability: 0.15, sla: 14d, idle_limit: 5d}
      - {name: offer, owner: sales, probability: 0.40, sla: 21d, idle_limit: 7d}
      - {name: reactivated, owner: account_management, probability: 1.0, outcome: won}
      - {name: lost, probability: 0, outcome: lost}
)yaml";
  return kYaml;
}

}  // namespace voronka
