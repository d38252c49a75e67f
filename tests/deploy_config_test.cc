// The deployment in deploy/ against the binary it deploys, without a
// container engine: every YAML file parses; every voronka container of the
// compose file and of the Kubernetes manifests runs a subcommand that exists
// with flags, VORONKA_* variables and settings-file keys that its `--help`
// lists; it listens where its ports, probes, health checks, Services and
// scrape targets point, keeps its stores on a persistent volume, and runs
// the image deploy/Dockerfile builds. The Dockerfile's runtime stage
// installs exactly the packages of the shared libraries the built binary
// loads (ldd, dpkg -S) and no -dev package, and runs as a non-root user.
// The Ingress sends every route the binary registers to the process that
// serves it; the Prometheus configurations pass `promtool check config`.
// What cannot be checked here (images pull, containers start, Kafka forms a
// quorum) is listed in deploy/README.md.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "yaml-cpp/yaml.h"

namespace voronka {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = VORONKA_SOURCE_DIR;
const fs::path kDeploy = kSource / "deploy";
const fs::path kDockerfile = kDeploy / "Dockerfile";
const fs::path kComposeDir = kDeploy / "compose";
const fs::path kCompose = kComposeDir / "docker-compose.yml";
const fs::path kK8s = kDeploy / "k8s";
const fs::path kRulesDir = kDeploy / "prometheus/rules";

// Variables a container may set that are not an option's (services/
// settings.h, services/logging.cc, services/cmd_simulate.cc).
const std::set<std::string> kOtherVariables = {
    "VORONKA_SETTINGS", "VORONKA_TOKEN", "VORONKA_LOG_FORMAT",
    "VORONKA_LOG_LEVEL"};
// Images that are not ours: pinned, never :latest.
const std::set<std::string> kThirdPartyImages = {
    "apache/kafka", "prom/prometheus", "grafana/grafana-oss"};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Str(const YAML::Node& n) {
  return n && n.IsScalar() ? n.as<std::string>() : "";
}

// `/bin/sh -c script` with stdout and stderr together.
testing::CommandResult Sh(const std::string& script) {
  auto r = testing::RunCommand("/bin/sh", {"-c", script + " 2>&1"}, "",
                               absl::Seconds(60));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : testing::CommandResult{};
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The project version (CMakeLists.txt): the image tag.
std::string Version() {
  std::smatch m;
  const std::string text = ReadFile(kSource / "CMakeLists.txt");
  EXPECT_TRUE(std::regex_search(
      text, m, std::regex(R"(project\(voronka VERSION (\S+))")));
  return m.size() > 1 ? m[1].str() : "?";
}

// ---- the binary's own description of its commands -------------------------

struct CommandHelp {
  bool exists = false;
  std::set<std::string> flags;  // "--listen", "-X"
  std::set<std::string> variables;
  std::map<std::string, std::string> defaults;  // "listen" -> "127.0.0.1:8480"
  std::set<std::string> subcommands;
};

// `voronka PATH... --help`, parsed; cached. PATH {} is voronka itself.
const CommandHelp& Help(const std::vector<std::string>& path) {
  static auto* cache = new std::map<std::vector<std::string>, CommandHelp>;
  auto it = cache->find(path);
  if (it != cache->end()) return it->second;
  CommandHelp help;
  help.exists = path.empty();
  if (!path.empty()) {
    std::vector<std::string> parent(path.begin(), path.end() - 1);
    const CommandHelp& p = Help(parent);
    help.exists = p.exists && p.subcommands.count(path.back()) > 0;
  }
  if (help.exists) {
    std::vector<std::string> args = path;
    args.push_back("--help");
    auto r = testing::RunCommand(VORONKA_BINARY, args, "", absl::Seconds(20));
    EXPECT_TRUE(r.ok() && r->exit_code == 0)
        << "voronka " << absl::StrJoin(args, " ");
    // Options are indented by two spaces, those of an option group by four.
    const std::regex option(
        R"(^ {2,4}(-[A-Za-z0-9],)?(--?[A-Za-z0-9][A-Za-z0-9-]*))");
    const std::regex def(R"(^\S+ [A-Z]+[^=\s]*=(\S+))");
    const std::regex env(R"((?:Env:|Env: )(VORONKA_[A-Z0-9_]+))");
    bool in_subcommands = false;
    for (absl::string_view l : absl::StrSplit(r.ok() ? r->out : "", '\n')) {
      const std::string line(l);
      if (line == "Subcommands:") {
        in_subcommands = true;
        continue;
      }
      if (!line.empty() && line[0] != ' ') in_subcommands = false;
      std::smatch m;
      if (in_subcommands &&
          std::regex_search(line, m, std::regex(R"(^  ([a-z][a-z0-9-]*))"))) {
        help.subcommands.insert(m[1].str());
        continue;
      }
      if (std::regex_search(line, m, option)) {
        if (m[1].matched) help.flags.insert(m[1].str().substr(0, 2));
        const std::string flag = m[2].str();
        help.flags.insert(flag);
        const std::string rest(absl::StripLeadingAsciiWhitespace(line));
        std::smatch d;
        if (std::regex_search(rest, d, def)) {
          help.defaults[std::string(absl::StripLeadingAsciiWhitespace(
              absl::string_view(flag).substr(flag[1] == '-' ? 2 : 1)))] =
              d[1].str();
        }
      }
      for (std::sregex_iterator e(line.begin(), line.end(), env), end; e != end;
           ++e) {
        help.variables.insert((*e)[1].str());
      }
    }
  }
  return cache->emplace(path, std::move(help)).first->second;
}

// Every command of the binary (two levels): what a settings key may name.
std::set<std::string> AllLongOptions() {
  std::set<std::string> out;
  auto add = [&](const CommandHelp& h) {
    for (const std::string& f : h.flags) {
      if (absl::StartsWith(f, "--")) out.insert(f.substr(2));
    }
  };
  add(Help({}));
  for (const std::string& a : Help({}).subcommands) {
    add(Help({a}));
    for (const std::string& b : Help({a}).subcommands) add(Help({a, b}));
  }
  return out;
}

// ---- one voronka invocation -------------------------------------------------

struct Invocation {
  std::vector<std::string> path;  // {"project"}, {"topics", "create"}
  std::vector<std::string> positionals;
  std::map<std::string, std::string> flags;  // "--listen" -> "0.0.0.0:8480"
};

// argv after the program name.
Invocation Parse(const std::vector<std::string>& argv) {
  Invocation inv;
  size_t i = 0;
  while (i < argv.size() && Help(inv.path).subcommands.count(argv[i]) > 0) {
    inv.path.push_back(argv[i++]);
  }
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a.size() > 1 && a[0] == '-') {
      const size_t eq = a.find('=');
      if (eq != std::string::npos) {
        inv.flags[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (i + 1 < argv.size() && argv[i + 1][0] != '-') {
        inv.flags[a] = argv[++i];
      } else {
        inv.flags[a] = "";
      }
    } else {
      inv.positionals.push_back(a);
    }
  }
  return inv;
}

// The voronka commands of a shell script: each `voronka ...` up to the end
// of its line or a shell operator, quotes removed.
std::vector<std::vector<std::string>> VoronkaCommandsIn(
    const std::string& script) {
  std::vector<std::vector<std::string>> out;
  for (absl::string_view line : absl::StrSplit(script, '\n')) {
    std::vector<std::string> words;
    for (absl::string_view w : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      words.emplace_back(w);
    }
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] != "voronka") continue;
      std::vector<std::string> argv;
      for (size_t j = i + 1; j < words.size(); ++j) {
        const std::string& w = words[j];
        if (w == "&&" || w == "||" || w == ";" || w == "|" || w == ">" ||
            w == "2>&1" || w == "}" || w == ")") {
          break;
        }
        std::string unquoted;
        for (char c : w) {
          if (c != '"' && c != '\'') unquoted += c;
        }
        argv.push_back(unquoted);
      }
      out.push_back(argv);
    }
  }
  return out;
}

// ---- one container of a deployment ------------------------------------------

struct Container {
  std::string where;  // "compose service ingest"
  std::string image;
  std::vector<std::vector<std::string>> commands;  // voronka argv each
  std::map<std::string, std::string> env;          // valueFrom: "<from NAME>"
  std::string settings;        // the settings file's text, if one is read
  std::string settings_where;  // and where it comes from
  std::set<int> ports;         // ports the deployment sends traffic to
  std::vector<std::pair<std::string, int>> probes;  // (path, port)
  std::vector<std::string> liveness, readiness;     // k8s probe paths
  std::set<std::string> mounts;                     // every mount point
  std::set<std::string> persistent_mounts;  // volumes that outlive the pod
  bool Voronka() const { return !commands.empty(); }
};

// The first subcommand, "" if none.
std::string Top(const Invocation& inv) {
  return inv.path.empty() ? "" : inv.path.front();
}

bool Serves(const Invocation& inv) {
  return inv.path == std::vector<std::string>{"ingest"} ||
         inv.path == std::vector<std::string>{"serve"} ||
         inv.path == std::vector<std::string>{"project"};
}

bool Under(const std::string& path, const std::set<std::string>& mounts) {
  for (const std::string& m : mounts) {
    if (path == m || absl::StartsWith(path, m + "/")) return true;
  }
  return false;
}

// The value an option takes: command line, then VORONKA_*, then the
// settings file (the command's section, then the top level), then the
// default `--help` shows; nullopt if none.
std::optional<std::string> Effective(const Container& c, const Invocation& inv,
                                     const std::string& option) {
  auto flag = inv.flags.find("--" + option);
  if (flag != inv.flags.end()) return flag->second;
  std::string var = "VORONKA_";
  for (char ch : option)
    var += ch == '-' ? '_' : static_cast<char>(toupper(ch));
  auto e = c.env.find(var);
  if (e != c.env.end()) return e->second;
  if (!c.settings.empty()) {
    YAML::Node doc = YAML::Load(c.settings);
    YAML::Node node = doc;
    std::optional<std::string> found;
    if (doc[option] && doc[option].IsScalar()) found = Str(doc[option]);
    for (const std::string& p : inv.path) {
      node = node[p];
      if (!node || !node.IsMap()) break;
      if (node[option] && node[option].IsScalar()) found = Str(node[option]);
    }
    if (found) return found;
  }
  const CommandHelp& h = Help(inv.path);
  auto d = h.defaults.find(option);
  if (d != h.defaults.end()) return d->second;
  return std::nullopt;
}

// Keys of a settings file: a section names a command (and holds that
// command's options), every other key is an option of some command, as
// services/settings.cc requires at start.
void CheckSettingsKeys(const YAML::Node& map,
                       const std::vector<std::string>& path,
                       const std::string& where) {
  static const std::set<std::string> all = AllLongOptions();
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>();
    if (key == "librdkafka") {
      EXPECT_TRUE(entry.second.IsMap()) << where << ": librdkafka: not a map";
      continue;
    }
    if (entry.second.IsMap()) {
      std::vector<std::string> sub = path;
      sub.push_back(key);
      EXPECT_TRUE(Help(sub).exists)
          << where << ": section \"" << key << "\": no command voronka "
          << absl::StrJoin(sub, " ");
      if (Help(sub).exists) CheckSettingsKeys(entry.second, sub, where);
      continue;
    }
    if (path.empty()) {
      EXPECT_TRUE(all.count(key) > 0)
          << where << ": \"" << key << "\" is no voronka command's option";
      continue;
    }
    // In a section: an option of that command or of its subcommands.
    bool known = Help(path).flags.count("--" + key) > 0;
    for (const std::string& s : Help(path).subcommands) {
      std::vector<std::string> sub = path;
      sub.push_back(s);
      known = known || Help(sub).flags.count("--" + key) > 0;
    }
    EXPECT_TRUE(known) << where << ": \"" << key << "\" in section "
                       << absl::StrJoin(path, ".")
                       << " is no option of voronka "
                       << absl::StrJoin(path, " ");
  }
}

// What every voronka container must satisfy; returns the listen port of a
// serving one (0 otherwise).
int CheckVoronkaContainer(const Container& c) {
  SCOPED_TRACE(c.where);
  if (!c.settings.empty()) {
    YAML::Node doc;
    EXPECT_NO_THROW(doc = YAML::Load(c.settings)) << c.settings_where;
    EXPECT_TRUE(doc.IsMap()) << c.settings_where;
    if (doc.IsMap()) CheckSettingsKeys(doc, {}, c.settings_where);
  }
  if (c.env.count("VORONKA_SETTINGS") > 0) {
    EXPECT_FALSE(c.settings.empty())
        << "VORONKA_SETTINGS=" << c.env.at("VORONKA_SETTINGS")
        << " names no mounted file";
  }
  int port = 0;
  for (const std::vector<std::string>& argv : c.commands) {
    const Invocation inv = Parse(argv);
    const std::string cmd = "voronka " + absl::StrJoin(argv, " ");
    if (inv.path.empty()) {
      ADD_FAILURE() << cmd << ": no subcommand";
      continue;
    }
    EXPECT_TRUE(Help(inv.path).exists) << cmd;
    // Options of the command and of every command above it.
    std::set<std::string> flags, variables;
    for (size_t n = 0; n <= inv.path.size(); ++n) {
      const CommandHelp& h =
          Help({inv.path.begin(), inv.path.begin() + static_cast<long>(n)});
      flags.insert(h.flags.begin(), h.flags.end());
      variables.insert(h.variables.begin(), h.variables.end());
    }
    if (!c.settings.empty()) {
      // The binary's own reading of the file: `--help` parses it first.
      testing::TempDir dir;
      std::ofstream(dir.Sub("voronka.yaml")) << c.settings;
      std::string help = std::string("exec ") + VORONKA_BINARY;
      for (const std::string& p : inv.path) help += " " + p;
      testing::CommandResult r = Sh(help + " --settings " +
                                    Quote(dir.Sub("voronka.yaml")) + " --help");
      EXPECT_EQ(r.exit_code, 0)
          << cmd << " refuses " << c.settings_where << ":\n"
          << r.out;
    }
    for (const auto& [flag, value] : inv.flags) {
      EXPECT_TRUE(flags.count(flag) > 0)
          << cmd << ": " << flag << " is not in `voronka "
          << absl::StrJoin(inv.path, " ") << " --help`";
    }
    for (const auto& [var, value] : c.env) {
      if (!absl::StartsWith(var, "VORONKA_")) continue;
      EXPECT_TRUE(variables.count(var) > 0 || kOtherVariables.count(var) > 0 ||
                  absl::StartsWith(var, "VORONKA_LIBRDKAFKA_"))
          << cmd << ": " << var << " is not in `voronka "
          << absl::StrJoin(inv.path, " ") << " --help`";
    }
    const std::string top = Top(inv);
    if (top == "ingest" || top == "project" || top == "topics") {
      EXPECT_TRUE(Effective(c, inv, "kafka").value_or("") != "")
          << cmd << ": no --kafka (flag, VORONKA_KAFKA or settings)";
    }
    if (top == "project" && inv.path.size() == 1) {
      EXPECT_EQ(inv.positionals.size(), 1u) << cmd << ": the projection";
      const std::string data = Effective(c, inv, "data").value_or("");
      EXPECT_TRUE(Under(data, c.persistent_mounts))
          << cmd << ": --data " << data << " is not on a persistent volume";
    }
    if (top == "ingest") {
      const std::string dedup = Effective(c, inv, "dedup-dir").value_or("");
      EXPECT_TRUE(Under(dedup, c.persistent_mounts))
          << cmd << ": --dedup-dir " << dedup
          << " is not on a persistent volume";
    }
    if (!Serves(inv)) continue;
    const std::string listen = Effective(c, inv, "listen").value_or("");
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) {
      ADD_FAILURE() << cmd << ": --listen '" << listen << "' is not ADDR:PORT";
      continue;
    }
    const std::string host = listen.substr(0, colon);
    EXPECT_TRUE(host == "0.0.0.0" || host == "" || host == "[::]")
        << cmd << ": --listen " << listen
        << " is not reachable from outside the container";
    port = std::stoi(listen.substr(colon + 1));
    for (int p : c.ports) {
      EXPECT_EQ(p, port) << cmd << ": a port points at " << p
                         << " but it listens on " << listen;
    }
    EXPECT_FALSE(c.probes.empty()) << cmd << ": no health check or probe";
    for (const auto& [path, p] : c.probes) {
      EXPECT_TRUE(path == "/healthz" || path == "/readyz")
          << cmd << ": probe of " << path;
      EXPECT_EQ(p, port) << cmd << ": probe of port " << p
                         << " but it listens on " << listen;
    }
    const std::string tokens = Effective(c, inv, "tokens").value_or("");
    EXPECT_TRUE(!tokens.empty() && Under(tokens, c.mounts))
        << cmd << ": --tokens '" << tokens << "' is not a mounted file";
    EXPECT_EQ(Effective(c, inv, "log-format").value_or(""), "json")
        << cmd << ": containers log JSON Lines";
  }
  return port;
}

// ---- the Dockerfile ---------------------------------------------------------

struct Stage {
  std::string from;
  std::vector<std::pair<std::string, std::string>> instructions;
};

std::vector<Stage> LoadDockerfile() {
  std::vector<Stage> stages;
  std::string joined;
  for (absl::string_view line : absl::StrSplit(ReadFile(kDockerfile), '\n')) {
    absl::string_view t = absl::StripLeadingAsciiWhitespace(line);
    if (absl::StartsWith(t, "#")) continue;
    joined += std::string(line);
    if (absl::EndsWith(absl::StripTrailingAsciiWhitespace(line), "\\")) {
      joined.erase(joined.find_last_of('\\'));
      joined += ' ';
      continue;
    }
    absl::string_view inst = absl::StripAsciiWhitespace(joined);
    if (!inst.empty()) {
      const size_t sp = inst.find(' ');
      const std::string op(inst.substr(0, sp));
      const std::string arg(absl::StripAsciiWhitespace(
          sp == absl::string_view::npos ? "" : inst.substr(sp)));
      if (op == "FROM") stages.push_back({arg, {}});
      if (!stages.empty()) stages.back().instructions.push_back({op, arg});
    }
    joined.clear();
  }
  return stages;
}

// The packages `apt-get install` installs in a stage.
std::set<std::string> AptInstalled(const Stage& stage) {
  std::set<std::string> out;
  for (const auto& [op, arg] : stage.instructions) {
    if (op != "RUN") continue;
    for (absl::string_view cmd : absl::StrSplit(arg, "&&")) {
      std::vector<std::string> words =
          absl::StrSplit(cmd, ' ', absl::SkipEmpty());
      auto install = std::find(words.begin(), words.end(), "install");
      if (install == words.end() || words.front() != "apt-get") continue;
      for (auto w = install + 1; w != words.end(); ++w) {
        if ((*w)[0] != '-') out.insert(*w);
      }
    }
  }
  return out;
}

std::string Last(const Stage& stage, const std::string& op) {
  std::string value;
  for (const auto& [o, arg] : stage.instructions) {
    if (o == op) value = arg;
  }
  return value;
}

// The Debian packages of the shared libraries the binary loads.
std::set<std::string> LibraryPackages() {
  testing::CommandResult ldd = Sh(std::string("ldd ") + VORONKA_BINARY);
  EXPECT_EQ(ldd.exit_code, 0) << ldd.out;
  std::vector<std::string> libs;
  std::string candidates;
  for (absl::string_view line : absl::StrSplit(ldd.out, '\n')) {
    std::vector<std::string> w = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (w.size() < 3 || w[1] != "=>" || w[2][0] != '/') continue;
    libs.push_back(w[2]);
    std::error_code ec;
    const std::string real = fs::canonical(w[2], ec).string();
    for (const std::string& p : {w[2], real}) {
      candidates += " " + Quote(p);
      if (absl::StartsWith(p, "/lib/")) candidates += " " + Quote("/usr" + p);
      if (absl::StartsWith(p, "/usr/lib/"))
        candidates += " " + Quote(p.substr(4));
    }
  }
  EXPECT_FALSE(libs.empty()) << ldd.out;
  testing::CommandResult dpkg = Sh("dpkg -S" + candidates);
  std::map<std::string, std::string> owner;  // path -> package
  for (absl::string_view line : absl::StrSplit(dpkg.out, '\n')) {
    const size_t sep = line.find(": /");
    if (sep == absl::string_view::npos) continue;
    std::string pkg(line.substr(0, sep));
    pkg = pkg.substr(0, pkg.find(':'));  // Without :amd64.
    owner[std::string(line.substr(sep + 2))] = pkg;
  }
  std::set<std::string> packages;
  for (const std::string& lib : libs) {
    std::error_code ec;
    std::string pkg;
    for (const std::string& p :
         {lib, fs::canonical(lib, ec).string(), "/usr" + lib,
          absl::StartsWith(lib, "/usr/") ? lib.substr(4) : lib}) {
      if (owner.count(p) > 0) pkg = owner[p];
    }
    EXPECT_FALSE(pkg.empty()) << "dpkg -S knows no package of " << lib;
    if (!pkg.empty()) packages.insert(pkg);
  }
  return packages;
}

TEST(DockerfileTest, BuildsTheBinaryOnDebian12) {
  std::vector<Stage> stages = LoadDockerfile();
  ASSERT_GE(stages.size(), 2u);
  for (const Stage& s : stages) {
    EXPECT_TRUE(absl::StartsWith(s.from, "debian:12")) << "FROM " << s.from;
  }
  const Stage& build = stages.front();
  // The build stage installs every build dependency of install-deps.sh
  // except the test tools.
  const std::set<std::string> installed = AptInstalled(build);
  const std::string deps = ReadFile(kSource / "scripts/install-deps.sh");
  const std::regex dev(R"(\b([a-z0-9.+-]+-dev)\b)");
  for (std::sregex_iterator it(deps.begin(), deps.end(), dev), end; it != end;
       ++it) {
    const std::string pkg = (*it)[1].str();
    if (pkg == "libgtest-dev" || pkg == "libgmock-dev" ||
        pkg == "libbenchmark-dev") {
      continue;
    }
    EXPECT_TRUE(installed.count(pkg) > 0)
        << pkg
        << " (scripts/install-deps.sh) is not installed by the build "
           "stage";
  }
  bool builds_voronka = false;
  for (const auto& [op, arg] : build.instructions) {
    builds_voronka =
        builds_voronka ||
        (op == "RUN" &&
         std::regex_search(arg, std::regex(R"(ninja .* voronka\b)")));
  }
  EXPECT_TRUE(builds_voronka) << "no `ninja ... voronka` in the build stage";
}

TEST(DockerfileTest, FinalStageHasOnlyTheRuntimeLibraries) {
  std::vector<Stage> stages = LoadDockerfile();
  ASSERT_FALSE(stages.empty());
  const std::set<std::string> installed = AptInstalled(stages.back());
  for (const std::string& p : installed) {
    EXPECT_FALSE(absl::EndsWith(p, "-dev")) << p << " in the final image";
  }
  std::set<std::string> needed = LibraryPackages();
  needed.insert("ca-certificates");  // Kafka over TLS.
  for (const std::string& p : needed) {
    EXPECT_TRUE(installed.count(p) > 0)
        << "the binary loads a library of " << p
        << " (ldd, dpkg -S): add it to the final stage of deploy/Dockerfile";
  }
  for (const std::string& p : installed) {
    EXPECT_TRUE(needed.count(p) > 0)
        << p
        << " is installed in the final stage but the binary loads "
           "nothing of it";
  }
}

TEST(DockerfileTest, FinalStageRunsVoronkaAsNonRoot) {
  std::vector<Stage> stages = LoadDockerfile();
  ASSERT_FALSE(stages.empty());
  const Stage& final = stages.back();
  const std::string user = Last(final, "USER");
  EXPECT_TRUE(std::regex_match(user, std::regex(R"([1-9][0-9]*(:[0-9]+)?)")))
      << "USER '" << user
      << "': a numeric non-root uid (Kubernetes runAsNonRoot checks it)";
  EXPECT_EQ(Last(final, "ENTRYPOINT"), R"(["voronka"])");
  EXPECT_TRUE(absl::StrContains(Last(final, "COPY"),
                                "/services/voronka /usr/local/bin/voronka"))
      << Last(final, "COPY");
  const int port = std::stoi(
      Help({"ingest"})
          .defaults.at("listen")
          .substr(Help({"ingest"}).defaults.at("listen").rfind(':') + 1));
  EXPECT_EQ(Last(final, "EXPOSE"), std::to_string(port))
      << "the default --listen port";
}

std::string DockerUid() {
  std::vector<Stage> stages = LoadDockerfile();
  if (stages.empty()) return "";
  const std::string user = Last(stages.back(), "USER");
  return user.substr(0, user.find(':'));
}

// ---- promtool ---------------------------------------------------------------

// `promtool check config` on `config` placed in a directory with the rules
// beside it (as rules/), as the deployments mount them. Debian's promtool is
// built without Kubernetes service discovery: there the kubernetes_sd_configs
// are swapped for static targets, so everything else is still checked.
void PromtoolCheckConfig(const fs::path& config) {
  testing::TempDir dir;
  fs::copy(kRulesDir, dir.path() / "rules", fs::copy_options::recursive);
  fs::copy_file(config, dir.path() / "prometheus.yml");
  testing::CommandResult r =
      Sh("promtool check config " + Quote(dir.Sub("prometheus.yml")));
  if (r.exit_code != 0 &&
      absl::StrContains(r.out, "field kubernetes_sd_configs not found")) {
    YAML::Node doc = YAML::LoadFile(config.string());
    for (YAML::Node job : doc["scrape_configs"]) {
      if (!job["kubernetes_sd_configs"]) continue;
      for (const YAML::Node& sd : job["kubernetes_sd_configs"]) {
        EXPECT_TRUE(Str(sd["role"]) == "pod" || Str(sd["role"]) == "endpoints")
            << Str(job["job_name"]);
      }
      job.remove("kubernetes_sd_configs");
      job["static_configs"].push_back(YAML::Load("{targets: ['pod:8480']}"));
    }
    std::ofstream(dir.path() / "prometheus.yml") << YAML::Dump(doc);
    r = Sh("promtool check config " + Quote(dir.Sub("prometheus.yml")));
  }
  EXPECT_EQ(r.exit_code, 0) << config << "\n" << r.out;
}

// ---- YAML everywhere --------------------------------------------------------

TEST(DeployYamlTest, EveryFileParses) {
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(kDeploy)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".yml" && ext != ".yaml") continue;
    ++files;
    EXPECT_NO_THROW(YAML::LoadAllFromFile(e.path().string())) << e.path();
  }
  EXPECT_GT(files, 20);
}

// ---- docker compose ---------------------------------------------------------

struct Compose {
  YAML::Node doc;
  std::map<std::string, Container> containers;  // by service name
};

// "src:dst[:ro]" -> (src, dst).
std::pair<std::string, std::string> VolumeSpec(const std::string& spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  return {parts[0], parts.size() > 1 ? parts[1] : parts[0]};
}

bool NamedVolume(const std::string& src) {
  return !src.empty() && src[0] != '.' && src[0] != '/' && src[0] != '~';
}

Compose LoadCompose() {
  Compose c;
  c.doc = YAML::LoadFile(kCompose.string());
  for (const auto& s : c.doc["services"]) {
    const std::string name = s.first.as<std::string>();
    const YAML::Node& svc = s.second;
    Container k;
    k.where = "compose service " + name;
    k.image = Str(svc["image"]);
    if (svc["environment"]) {
      for (const auto& e : svc["environment"])
        k.env[e.first.as<std::string>()] = Str(e.second);
    }
    std::map<std::string, std::string> binds;  // dst -> src
    for (const YAML::Node& v : svc["volumes"]) {
      auto [src, dst] = VolumeSpec(v.as<std::string>());
      k.mounts.insert(dst);
      if (NamedVolume(src)) {
        k.persistent_mounts.insert(dst);
      } else {
        binds[dst] = src;
      }
    }
    for (const YAML::Node& p : svc["ports"]) {
      std::vector<std::string> parts = absl::StrSplit(p.as<std::string>(), ':');
      k.ports.insert(std::stoi(parts.back()));
    }
    if (svc["healthcheck"]) {
      std::string test;
      for (const YAML::Node& t : svc["healthcheck"]["test"])
        test += Str(t) + " ";
      std::smatch port, path;
      if (std::regex_search(test, port,
                            std::regex(R"(/dev/tcp/[^/]+/(\d+))")) &&
          std::regex_search(test, path, std::regex(R"(GET (/\S+) HTTP)"))) {
        k.probes.push_back({path[1].str(), std::stoi(port[1].str())});
      }
    }
    if (absl::StrContains(k.image, "voronka")) {
      std::vector<std::string> entrypoint, command;
      for (const YAML::Node& w : svc["entrypoint"])
        entrypoint.push_back(Str(w));
      for (const YAML::Node& w : svc["command"]) command.push_back(Str(w));
      if (entrypoint.empty()) {
        k.commands.push_back(command);
      } else if (entrypoint.size() == 2 && entrypoint[1] == "-c") {
        k.commands = VoronkaCommandsIn(command.empty() ? "" : command[0]);
      } else {
        ADD_FAILURE() << k.where << ": entrypoint "
                      << absl::StrJoin(entrypoint, " ");
      }
      auto settings = k.env.find("VORONKA_SETTINGS");
      if (settings != k.env.end() && binds.count(settings->second) > 0) {
        const fs::path file = kComposeDir / binds[settings->second];
        k.settings = ReadFile(file);
        k.settings_where = fs::relative(file, kSource).string();
      }
    }
    c.containers[name] = k;
  }
  return c;
}

// Compose interpolation `${VAR:-default}` -> default.
std::string Interpolated(const std::string& s) {
  std::smatch m;
  if (std::regex_match(s, m, std::regex(R"(\$\{[A-Z_]+:-([^}]*)\})"))) {
    return m[1].str();
  }
  return s;
}

TEST(ComposeTest, EveryVoronkaServiceMatchesTheBinary) {
  Compose c = LoadCompose();
  ASSERT_GE(c.containers.size(), 10u);
  std::set<std::string> serving;
  for (auto& [name, k] : c.containers) {
    if (!k.Voronka()) continue;
    // Compose sends traffic by service name to the listen port: the
    // Prometheus targets add to the ports checked.
    if (CheckVoronkaContainer(k) != 0) serving.insert(name);
  }
  EXPECT_EQ(serving,
            (std::set<std::string>{"audit", "funnel", "indicators", "ingest"}));
}

TEST(ComposeTest, ImagesAreOursOrPinned) {
  Compose c = LoadCompose();
  const std::string ours = "voronka:" + Version();
  for (const auto& s : c.doc["services"]) {
    const std::string name = s.first.as<std::string>();
    const std::string image = Interpolated(Str(s.second["image"]));
    if (c.containers[name].Voronka()) {
      EXPECT_EQ(image, ours) << name;
      const YAML::Node build = s.second["build"];
      ASSERT_TRUE(build && build.IsMap()) << name << ": no build";
      const fs::path context = kComposeDir / Str(build["context"]);
      EXPECT_EQ(fs::canonical(context), fs::canonical(kSource)) << name;
      EXPECT_EQ(fs::canonical(context / Str(build["dockerfile"])),
                fs::canonical(kDockerfile))
          << name;
      continue;
    }
    const std::string repo = image.substr(0, image.find(':'));
    EXPECT_TRUE(kThirdPartyImages.count(repo) > 0) << name << ": " << image;
    EXPECT_TRUE(image.find(':') != std::string::npos &&
                !absl::EndsWith(image, ":latest"))
        << name << ": " << image << " is not pinned";
  }
}

TEST(ComposeTest, ReferencesResolve) {
  Compose c = LoadCompose();
  std::set<std::string> volumes;
  for (const auto& v : c.doc["volumes"])
    volumes.insert(v.first.as<std::string>());
  for (const auto& s : c.doc["services"]) {
    const std::string name = s.first.as<std::string>();
    const YAML::Node deps = s.second["depends_on"];
    std::vector<std::string> names;
    if (!deps) {
    } else if (deps.IsSequence()) {
      for (const YAML::Node& d : deps) names.push_back(Str(d));
    } else if (deps.IsMap()) {
      for (const auto& d : deps) names.push_back(d.first.as<std::string>());
    }
    for (const std::string& dep : names) {
      EXPECT_TRUE(c.containers.count(dep) > 0) << name << " depends on " << dep;
    }
    for (const YAML::Node& v : s.second["volumes"]) {
      auto [src, dst] = VolumeSpec(v.as<std::string>());
      if (NamedVolume(src)) {
        EXPECT_TRUE(volumes.count(src) > 0) << name << ": volume " << src;
      } else {
        EXPECT_TRUE(fs::exists(kComposeDir / src)) << name << ": " << src;
      }
    }
  }
}

TEST(ComposeTest, KafkaIsThreeKRaftBrokers) {
  Compose c = LoadCompose();
  std::map<std::string, std::string> listeners;  // "kafka-1:9092" -> service
  std::set<std::string> ids, cluster_ids, voters;
  int brokers = 0;
  for (const auto& s : c.doc["services"]) {
    if (!absl::StartsWith(Str(s.second["image"]), "apache/kafka:")) continue;
    ++brokers;
    const YAML::Node env = s.second["environment"];
    const std::string name = s.first.as<std::string>();
    EXPECT_EQ(Str(env["KAFKA_PROCESS_ROLES"]), "broker,controller") << name;
    EXPECT_EQ(Str(env["KAFKA_DEFAULT_REPLICATION_FACTOR"]), "3") << name;
    EXPECT_EQ(Str(env["KAFKA_MIN_INSYNC_REPLICAS"]), "2") << name;
    EXPECT_EQ(Str(env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"]), "3") << name;
    ids.insert(Str(env["KAFKA_NODE_ID"]));
    cluster_ids.insert(Str(env["CLUSTER_ID"]));
    voters.insert(Str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]));
    EXPECT_TRUE(absl::StrContains(Str(env["KAFKA_CONTROLLER_QUORUM_VOTERS"]),
                                  Str(env["KAFKA_NODE_ID"]) + "@" + name + ":"))
        << name << " is not a voter";
    for (absl::string_view l :
         absl::StrSplit(Str(env["KAFKA_ADVERTISED_LISTENERS"]), ',')) {
      const size_t p = l.find("://");
      if (p != absl::string_view::npos) {
        listeners[std::string(l.substr(p + 3))] = name;
      }
    }
  }
  EXPECT_EQ(brokers, 3);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_EQ(cluster_ids.size(), 1u);
  EXPECT_EQ(voters.size(), 1u);
  // Every voronka process's --kafka names advertised listeners.
  for (auto& [name, k] : c.containers) {
    if (!k.Voronka()) continue;
    for (const auto& argv : k.commands) {
      const Invocation inv = Parse(argv);
      std::string brokers_list = Effective(k, inv, "kafka").value_or("");
      if (inv.flags.count("--inbox") > 0)
        brokers_list = inv.flags.at("--inbox");
      if (Top(inv) == "token" || Top(inv).empty()) continue;
      for (absl::string_view b : absl::StrSplit(brokers_list, ',')) {
        EXPECT_TRUE(listeners.count(std::string(b)) > 0)
            << name << ": broker " << b << " is no advertised listener";
      }
    }
  }
}

TEST(ComposeTest, PrometheusScrapesEveryProcessAndPassesPromtool) {
  Compose c = LoadCompose();
  std::string config;
  for (const auto& s : c.doc["services"]) {
    if (!absl::StartsWith(Str(s.second["image"]), "prom/prometheus:")) continue;
    for (const YAML::Node& v : s.second["volumes"]) {
      auto [src, dst] = VolumeSpec(v.as<std::string>());
      if (dst == "/etc/prometheus/prometheus.yml") config = src;
      if (dst == "/etc/prometheus/rules") {
        EXPECT_EQ(fs::canonical(kComposeDir / src), fs::canonical(kRulesDir));
      }
    }
  }
  ASSERT_FALSE(config.empty()) << "no /etc/prometheus/prometheus.yml mount";
  PromtoolCheckConfig(kComposeDir / config);
  std::set<std::string> scraped;
  YAML::Node doc = YAML::LoadFile((kComposeDir / config).string());
  for (const YAML::Node& job : doc["scrape_configs"]) {
    EXPECT_TRUE(absl::StartsWith(Str(job["job_name"]), "voronka-"));
    for (const YAML::Node& sc : job["static_configs"]) {
      for (const YAML::Node& t : sc["targets"]) {
        const std::string target = Str(t);
        const std::string host = target.substr(0, target.find(':'));
        const int port = std::stoi(target.substr(target.find(':') + 1));
        auto k = c.containers.find(host);
        ASSERT_NE(k, c.containers.end()) << "target " << target;
        Container with_target = k->second;
        with_target.ports.insert(port);
        EXPECT_EQ(CheckVoronkaContainer(with_target), port) << target;
        scraped.insert(host);
        const Invocation inv = Parse(k->second.commands.at(0));
        if (Top(inv) == "project") {
          EXPECT_EQ(Str(sc["labels"]["projection"]), inv.positionals.at(0))
              << target;
        }
      }
    }
  }
  for (auto& [name, k] : c.containers) {
    if (k.Voronka() && Serves(Parse(k.commands.at(0)))) {
      EXPECT_TRUE(scraped.count(name) > 0) << name << " is not scraped";
    }
  }
}

TEST(ComposeTest, GrafanaLoadsTheProvisionedDashboards) {
  Compose c = LoadCompose();
  std::map<std::string, std::string> mounts;
  for (const auto& s : c.doc["services"]) {
    if (!absl::StartsWith(Str(s.second["image"]), "grafana/")) continue;
    for (const YAML::Node& v : s.second["volumes"]) {
      auto [src, dst] = VolumeSpec(v.as<std::string>());
      mounts[dst] = src;
    }
  }
  ASSERT_TRUE(mounts.count("/etc/grafana/provisioning") > 0);
  EXPECT_EQ(fs::canonical(kComposeDir / mounts["/etc/grafana/provisioning"]),
            fs::canonical(kDeploy / "grafana/provisioning"));
  YAML::Node providers = YAML::LoadFile(
      (kDeploy / "grafana/provisioning/dashboards/voronka.yml").string());
  const std::string path = Str(providers["providers"][0]["options"]["path"]);
  ASSERT_TRUE(mounts.count(path) > 0) << "dashboards path " << path;
  EXPECT_EQ(fs::canonical(kComposeDir / mounts[path]),
            fs::canonical(kDeploy / "grafana/dashboards"));
  YAML::Node ds = YAML::LoadFile(
      (kDeploy / "grafana/provisioning/datasources/prometheus.yml").string());
  std::smatch m;
  const std::string url = Str(ds["datasources"][0]["url"]);
  ASSERT_TRUE(std::regex_match(url, m, std::regex(R"(http://([^:/]+):(\d+))")))
      << url;
  EXPECT_TRUE(c.containers.count(m[1].str()) > 0) << url;
}

// ---- Kubernetes -------------------------------------------------------------

struct Object {
  std::string file;
  YAML::Node node;
  std::string kind() const { return Str(node["kind"]); }
  std::string name() const { return Str(node["metadata"]["name"]); }
};

std::vector<Object> LoadKustomization(const fs::path& dir) {
  std::vector<Object> out;
  YAML::Node k = YAML::LoadFile((dir / "kustomization.yaml").string());
  for (const YAML::Node& r : k["resources"]) {
    const fs::path p = dir / Str(r);
    if (fs::is_directory(p)) {
      for (Object& o : LoadKustomization(p)) out.push_back(o);
      continue;
    }
    for (const YAML::Node& doc : YAML::LoadAllFromFile(p.string())) {
      if (doc.IsMap()) out.push_back({fs::relative(p, kSource).string(), doc});
    }
  }
  for (const YAML::Node& r : k["components"]) {
    for (Object& o : LoadKustomization(dir / Str(r))) out.push_back(o);
  }
  return out;
}

const Object* Find(const std::vector<Object>& objects, const std::string& kind,
                   const std::string& name) {
  for (const Object& o : objects) {
    if (o.kind() == kind && o.name() == name) return &o;
  }
  return nullptr;
}

bool Selects(const YAML::Node& selector, const YAML::Node& labels) {
  if (!selector || !selector.IsMap() || selector.size() == 0) return false;
  for (const auto& s : selector) {
    if (Str(labels[s.first.as<std::string>()]) != Str(s.second)) return false;
  }
  return true;
}

// Pod templates of the workloads.
struct Workload {
  const Object* object;
  YAML::Node pod;  // spec.template
  std::vector<Container> containers;
};

std::vector<Workload> Workloads(const std::vector<Object>& objects) {
  std::vector<Workload> out;
  for (const Object& o : objects) {
    if (o.kind() != "StatefulSet" && o.kind() != "Deployment" &&
        o.kind() != "Job") {
      continue;
    }
    Workload w{&o, o.node["spec"]["template"], {}};
    const YAML::Node spec = w.pod["spec"];
    std::set<std::string> claims;
    for (const YAML::Node& t : o.node["spec"]["volumeClaimTemplates"]) {
      claims.insert(Str(t["metadata"]["name"]));
    }
    std::map<std::string, YAML::Node> volumes;
    for (const YAML::Node& v : spec["volumes"]) volumes[Str(v["name"])] = v;
    for (const char* list : {"initContainers", "containers"}) {
      for (const YAML::Node& ct : spec[list]) {
        Container k;
        k.where = o.kind() + " " + o.name() + " container " + Str(ct["name"]);
        k.image = Str(ct["image"]);
        for (const YAML::Node& e : ct["env"]) {
          k.env[Str(e["name"])] =
              e["value"] ? Str(e["value"]) : "<from " + o.name() + ">";
        }
        std::map<std::string, int> named;
        for (const YAML::Node& p : ct["ports"]) {
          const int port = p["containerPort"].as<int>();
          k.ports.insert(port);
          if (p["name"]) named[Str(p["name"])] = port;
        }
        auto probe = [&](const char* key, std::vector<std::string>* paths) {
          if (!ct[key] || !ct[key]["httpGet"]) return;
          const YAML::Node get = ct[key]["httpGet"];
          const YAML::Node port = get["port"];
          int number = 0;
          if (named.count(Str(port)) > 0) {
            number = named[Str(port)];
          } else {
            EXPECT_TRUE(std::regex_match(Str(port), std::regex("[0-9]+")))
                << k.where << ": " << key << " port " << Str(port)
                << " is no port of the container";
            number = std::atoi(Str(port).c_str());
          }
          k.probes.push_back({Str(get["path"]), number});
          if (paths != nullptr) paths->push_back(Str(get["path"]));
        };
        probe("livenessProbe", &k.liveness);
        probe("readinessProbe", &k.readiness);
        probe("startupProbe", nullptr);
        for (const YAML::Node& m : ct["volumeMounts"]) {
          const std::string path = Str(m["mountPath"]);
          const std::string name = Str(m["name"]);
          k.mounts.insert(path);
          if (claims.count(name) > 0) k.persistent_mounts.insert(path);
          EXPECT_TRUE(claims.count(name) > 0 || volumes.count(name) > 0)
              << k.where << ": mount of an unknown volume " << name;
        }
        std::vector<std::string> argv;
        for (const YAML::Node& a : ct["command"]) argv.push_back(Str(a));
        EXPECT_TRUE(argv.empty()) << k.where
                                  << ": command replaces the "
                                     "image's ENTRYPOINT voronka";
        for (const YAML::Node& a : ct["args"]) argv.push_back(Str(a));
        if (absl::StrContains(k.image, "voronka")) k.commands.push_back(argv);
        // The settings file: VORONKA_SETTINGS in a mounted ConfigMap.
        auto settings = k.env.find("VORONKA_SETTINGS");
        if (settings != k.env.end()) {
          const fs::path file = settings->second;
          for (const YAML::Node& m : ct["volumeMounts"]) {
            if (Str(m["mountPath"]) != file.parent_path().string()) continue;
            const YAML::Node cm = volumes[Str(m["name"])]["configMap"];
            const Object* map = Find(objects, "ConfigMap", Str(cm["name"]));
            if (map == nullptr) continue;
            k.settings = Str(map->node["data"][file.filename().string()]);
            k.settings_where = map->file + " (" + file.string() + ")";
          }
        }
        w.containers.push_back(k);
      }
    }
    out.push_back(w);
  }
  return out;
}

std::vector<Object> Base() { return LoadKustomization(kK8s / "base"); }

// Base plus the optional components: everything the overlays may add.
std::vector<Object> Everything() {
  std::vector<Object> out = Base();
  for (const auto& e : fs::directory_iterator(kK8s / "components")) {
    for (Object& o : LoadKustomization(e.path())) out.push_back(o);
  }
  return out;
}

TEST(KubernetesTest, KustomizationsReferenceExistingFiles) {
  int kustomizations = 0;
  for (const auto& e : fs::recursive_directory_iterator(kK8s)) {
    if (e.path().filename() != "kustomization.yaml") continue;
    ++kustomizations;
    const fs::path dir = e.path().parent_path();
    YAML::Node k = YAML::LoadFile(e.path().string());
    for (const char* list : {"resources", "components"}) {
      for (const YAML::Node& r : k[list]) {
        EXPECT_TRUE(fs::exists(dir / Str(r))) << e.path() << ": " << Str(r);
      }
    }
    for (const YAML::Node& p : k["patches"]) {
      if (p["path"]) {
        EXPECT_TRUE(fs::exists(dir / Str(p["path"])))
            << e.path() << ": " << Str(p["path"]);
      }
    }
  }
  EXPECT_GE(kustomizations, 3);
}

// With kubectl (its built-in kustomize) every kustomization also builds;
// without it the test says so and passes.
TEST(KubernetesTest, KustomizeBuilds) {
  if (Sh("command -v kubectl").exit_code != 0) {
    GTEST_SKIP() << "kubectl not installed: `kubectl kustomize` not run";
  }
  for (const char* dir : {"base", "overlays/production"}) {
    testing::CommandResult r =
        Sh("kubectl kustomize " + Quote((kK8s / dir).string()));
    EXPECT_EQ(r.exit_code, 0) << dir << "\n" << r.out;
    std::vector<YAML::Node> docs;
    EXPECT_NO_THROW(docs = YAML::LoadAll(r.out)) << dir;
    EXPECT_GT(docs.size(), 10u) << dir;
  }
}

TEST(KubernetesTest, EveryVoronkaContainerMatchesTheBinary) {
  const std::vector<Object> objects = Base();
  const std::string ours = "voronka:" + Version();
  int checked = 0;
  for (const Workload& w : Workloads(objects)) {
    const YAML::Node spec = w.pod["spec"];
    for (const Container& k : w.containers) {
      SCOPED_TRACE(k.where);
      ASSERT_TRUE(k.Voronka());
      EXPECT_EQ(k.image, ours);
      ++checked;
      const int port = CheckVoronkaContainer(k);
      EXPECT_EQ(Str(spec["securityContext"]["runAsNonRoot"]), "true");
      EXPECT_EQ(Str(spec["securityContext"]["runAsUser"]), DockerUid())
          << "the Dockerfile's USER";
      const YAML::Node ct = [&] {
        for (const char* list : {"initContainers", "containers"}) {
          for (const YAML::Node& c : spec[list]) {
            if (k.where.find(" container " + Str(c["name"])) !=
                std::string::npos) {
              return c;
            }
          }
        }
        return YAML::Node();
      }();
      EXPECT_EQ(Str(ct["securityContext"]["readOnlyRootFilesystem"]), "true");
      EXPECT_EQ(Str(ct["securityContext"]["allowPrivilegeEscalation"]),
                "false");
      for (const char* r : {"requests", "limits"}) {
        for (const char* what : {"cpu", "memory"}) {
          EXPECT_TRUE(ct["resources"][r][what]) << r << "." << what;
        }
      }
      if (port == 0) continue;
      // A serving process: a StatefulSet with probes on /healthz, /readyz.
      EXPECT_EQ(w.object->kind(), "StatefulSet");
      EXPECT_EQ(k.liveness, std::vector<std::string>{"/healthz"});
      EXPECT_EQ(k.readiness, std::vector<std::string>{"/readyz"});
      EXPECT_TRUE(spec["terminationGracePeriodSeconds"]);
      EXPECT_FALSE(k.persistent_mounts.empty());
    }
  }
  EXPECT_GE(checked, 6);
}

TEST(KubernetesTest, StatefulSetsAndServicesFitTogether) {
  const std::vector<Object> objects = Everything();
  const std::vector<Workload> workloads = Workloads(objects);
  for (const Workload& w : workloads) {
    const Object& o = *w.object;
    if (o.kind() != "StatefulSet") continue;
    EXPECT_TRUE(Selects(o.node["spec"]["selector"]["matchLabels"],
                        w.pod["metadata"]["labels"]))
        << o.name() << ": the selector does not select its pods";
    const Object* governing =
        Find(objects, "Service", Str(o.node["spec"]["serviceName"]));
    ASSERT_NE(governing, nullptr) << o.name() << ": serviceName";
    EXPECT_EQ(Str(governing->node["spec"]["clusterIP"]), "None");
    EXPECT_GT(o.node["spec"]["volumeClaimTemplates"].size(), 0u) << o.name();
  }
  for (const Object& s : objects) {
    if (s.kind() != "Service") continue;
    int pods = 0;
    for (const Workload& w : workloads) {
      if (!Selects(s.node["spec"]["selector"], w.pod["metadata"]["labels"])) {
        continue;
      }
      ++pods;
      for (const YAML::Node& p : s.node["spec"]["ports"]) {
        const std::string target = Str(p["targetPort"]);
        bool found = false;
        for (const YAML::Node& ct : w.pod["spec"]["containers"]) {
          for (const YAML::Node& cp : ct["ports"]) {
            found = found || Str(cp["name"]) == target ||
                    Str(cp["containerPort"]) == target;
          }
        }
        EXPECT_TRUE(found) << "Service " << s.name() << " targets port "
                           << target << " that " << w.object->name()
                           << " does not have";
      }
    }
    EXPECT_EQ(pods, 1) << "Service " << s.name() << " selects " << pods
                       << " workloads";
  }
  // Every Secret and ConfigMap a pod uses exists, with the keys it reads.
  for (const Workload& w : workloads) {
    for (const YAML::Node& v : w.pod["spec"]["volumes"]) {
      if (v["configMap"]) {
        EXPECT_NE(Find(objects, "ConfigMap", Str(v["configMap"]["name"])),
                  nullptr);
      }
      if (v["secret"]) {
        const Object* secret =
            Find(objects, "Secret", Str(v["secret"]["secretName"]));
        ASSERT_NE(secret, nullptr) << Str(v["secret"]["secretName"]);
        for (const YAML::Node& item : v["secret"]["items"]) {
          EXPECT_TRUE(secret->node["stringData"][Str(item["key"])])
              << secret->name() << " has no key " << Str(item["key"]);
        }
      }
    }
  }
}

// The routes the binary registers, each with the process that serves it.
struct Route {
  std::string path;     // "/v1/deals/{deal}"
  std::string process;  // "ingest", "indicators", "funnel", "audit"
};

std::vector<Route> BinaryRoutes() {
  std::vector<Route> routes;
  auto scan = [&](const char* file, const std::string& pattern,
                  const std::function<std::string(const std::smatch&)>& who) {
    const std::string text = ReadFile(kSource / file);
    const std::regex re(pattern);
    for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end;
         ++it) {
      routes.push_back({(*it)[1].str(), who(*it)});
    }
  };
  scan("services/query_api.cc", R"re(Add\(server,\s*"([^"]+)",\s*M::k(\w+))re",
       [](const std::smatch& m) {
         return m[2].str() == "Indicators" ? std::string("indicators")
                                           : std::string("funnel");
       });
  scan("services/audit_api.cc", R"re(Add\(server,\s*"([^"]+)")re",
       [](const std::smatch&) { return std::string("audit"); });
  scan("services/ingest_api.cc", R"re(Route\("POST",\s*"([^"]+)")re",
       [](const std::smatch&) { return std::string("ingest"); });
  scan("services/funnel_page.cc", R"re(Route\(\s*"GET",\s*"([^"]+)")re",
       [](const std::smatch&) { return std::string("funnel"); });
  return routes;
}

// Which Ingress path takes `path` (Kubernetes' rules: an Exact match, else
// the longest Prefix match by path elements); its Service, "" if none.
std::string IngressBackend(const YAML::Node& ingress, const std::string& path) {
  std::string best;
  size_t best_len = 0;
  bool exact = false;
  for (const YAML::Node& rule : ingress["spec"]["rules"]) {
    for (const YAML::Node& p : rule["http"]["paths"]) {
      const std::string prefix = Str(p["path"]);
      const std::string service = Str(p["backend"]["service"]["name"]);
      if (Str(p["pathType"]) == "Exact") {
        if (prefix == path) {
          best = service;
          exact = true;
        }
        continue;
      }
      if (exact) continue;
      const bool match = path == prefix ||
                         absl::StartsWith(path, prefix + "/") || prefix == "/";
      if (match && prefix.size() > best_len) {
        best = service;
        best_len = prefix.size();
      }
    }
  }
  return best;
}

TEST(KubernetesTest, IngressRoutesEveryRouteToItsProcess) {
  const std::vector<Object> objects = Base();
  const std::vector<Workload> workloads = Workloads(objects);
  const Object* ingress = nullptr;
  for (const Object& o : objects) {
    if (o.kind() == "Ingress") ingress = &o;
  }
  ASSERT_NE(ingress, nullptr);
  // Backends exist, with the port they name.
  for (const YAML::Node& rule : ingress->node["spec"]["rules"]) {
    for (const YAML::Node& p : rule["http"]["paths"]) {
      const YAML::Node backend = p["backend"]["service"];
      const Object* s = Find(objects, "Service", Str(backend["name"]));
      ASSERT_NE(s, nullptr) << Str(p["path"]) << ": " << Str(backend["name"]);
      bool port = false;
      for (const YAML::Node& sp : s->node["spec"]["ports"]) {
        port = port || Str(sp["name"]) == Str(backend["port"]["name"]) ||
               Str(sp["port"]) == Str(backend["port"]["number"]);
      }
      EXPECT_TRUE(port) << Str(p["path"]) << ": no such port on " << s->name();
    }
  }
  // The process behind each Service.
  std::map<std::string, std::string> process;  // Service -> process
  for (const Object& s : objects) {
    if (s.kind() != "Service") continue;
    for (const Workload& w : workloads) {
      if (!Selects(s.node["spec"]["selector"], w.pod["metadata"]["labels"])) {
        continue;
      }
      const Invocation inv = Parse(w.containers.back().commands.at(0));
      process[s.name()] =
          Top(inv) == "project" ? inv.positionals.at(0) : Top(inv);
    }
  }
  const std::vector<Route> routes = BinaryRoutes();
  EXPECT_GT(routes.size(), 20u);
  for (const Route& r : routes) {
    const std::string path =
        std::regex_replace(r.path, std::regex(R"(\{[a-z]+\})"), "x");
    const std::string service = IngressBackend(ingress->node, path);
    EXPECT_EQ(process[service], r.process)
        << r.path << " goes to Service '" << service << "' ("
        << process[service] << "); " << r.process << " serves it";
  }
}

TEST(KubernetesTest, ServiceMonitorScrapesEveryServingService) {
  const std::vector<Object> objects = Everything();
  const Object* monitor = nullptr;
  for (const Object& o : objects) {
    if (o.kind() == "ServiceMonitor") monitor = &o;
  }
  ASSERT_NE(monitor, nullptr);
  EXPECT_EQ(Str(monitor->node["apiVersion"]), "monitoring.coreos.com/v1");
  const std::string job_label = Str(monitor->node["spec"]["jobLabel"]);
  std::set<std::string> selected;
  for (const Object& s : objects) {
    if (s.kind() != "Service" ||
        !Selects(monitor->node["spec"]["selector"]["matchLabels"],
                 s.node["metadata"]["labels"])) {
      continue;
    }
    selected.insert(s.name());
    EXPECT_TRUE(absl::StartsWith(Str(s.node["metadata"]["labels"][job_label]),
                                 "voronka-"))
        << s.name() << ": the job label " << job_label;
    for (const YAML::Node& e : monitor->node["spec"]["endpoints"]) {
      bool port = false;
      for (const YAML::Node& sp : s.node["spec"]["ports"]) {
        port = port || Str(sp["name"]) == Str(e["port"]);
      }
      EXPECT_TRUE(port) << s.name() << " has no port " << Str(e["port"]);
    }
  }
  EXPECT_EQ(selected,
            (std::set<std::string>{"voronka-audit", "voronka-funnel",
                                   "voronka-indicators", "voronka-ingest"}));
}

TEST(KubernetesTest, PrometheusConfigFindsThePodsAndPassesPromtool) {
  const fs::path config = kK8s / "prometheus/prometheus.yml";
  PromtoolCheckConfig(config);
  const std::vector<Workload> workloads = Workloads(Base());
  YAML::Node doc = YAML::LoadFile(config.string());
  std::set<std::string> scraped;
  for (const YAML::Node& job : doc["scrape_configs"]) {
    for (const YAML::Node& sd : job["kubernetes_sd_configs"]) {
      for (const YAML::Node& sel : sd["selectors"]) {
        YAML::Node labels;
        for (absl::string_view kv : absl::StrSplit(Str(sel["label"]), ',')) {
          std::vector<std::string> p = absl::StrSplit(kv, '=');
          labels[p[0]] = p.size() > 1 ? p[1] : "";
        }
        int pods = 0;
        for (const Workload& w : workloads) {
          if (!Selects(labels, w.pod["metadata"]["labels"])) continue;
          ++pods;
          scraped.insert(w.object->name());
          bool http = false;
          for (const YAML::Node& ct : w.pod["spec"]["containers"]) {
            for (const YAML::Node& cp : ct["ports"]) {
              http = http || Str(cp["name"]) == "http";
            }
          }
          EXPECT_TRUE(http) << w.object->name() << ": no port named http";
        }
        EXPECT_GT(pods, 0) << Str(job["job_name"]) << " selects no pods";
      }
    }
  }
  EXPECT_EQ(scraped,
            (std::set<std::string>{"voronka-audit", "voronka-funnel",
                                   "voronka-indicators", "voronka-ingest"}));
}

}  // namespace
}  // namespace voronka
