// Asterisk CDR import logic (cdr.h): the CSV state machine, the map file
// loader (yaml-cpp, exceptions caught in Parse) and the row rules.
#include "services/cdr.h"

#include <array>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/time/civil_time.h"
#include "events/cloudevents.h"
#include "events/status.h"
#include "events/yaml_reader.h"
#include "fmt/format.h"
#include "fmt/ranges.h"
#include "simdjson.h"
#include "yaml-cpp/yaml.h"

namespace voronka {

// ---------------------------------------------------------------------------
// CSV.

void CsvParser::Feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (c != '\n') Consume('\r');  // A lone '\r' is data; CRLF a line end.
    }
    if (c == '\r' && state_ != State::kQuoted && state_ != State::kSkip) {
      pending_cr_ = true;
      continue;
    }
    Consume(c);
  }
}

void CsvParser::Consume(char c) {
  if (c == '\n') {
    switch (state_) {
      case State::kQuoted:
        field_ += c;
        break;
      case State::kSkip:
        state_ = State::kFieldStart;
        break;
      default:
        EndField();
        EndRecord();
        state_ = State::kFieldStart;
        break;
    }
    ++line_;
    if (state_ != State::kQuoted) record_line_ = line_;
    return;
  }
  switch (state_) {
    case State::kFieldStart:
      if (c == '"') {
        state_ = State::kQuoted;
      } else if (c == ',') {
        EndField();
      } else {
        field_ += c;
        state_ = State::kUnquoted;
      }
      break;
    case State::kUnquoted:
      if (c == ',') {
        EndField();
        state_ = State::kFieldStart;
      } else if (c == '"') {
        Fail(fmt::format(
            "column {}: a quote inside an unquoted field (quote the whole "
            "field and double the quote)",
            fields_.size() + 1));
      } else {
        field_ += c;
      }
      break;
    case State::kQuoted:
      if (c == '"') {
        state_ = State::kQuoteInQuoted;
      } else {
        field_ += c;
      }
      break;
    case State::kQuoteInQuoted:
      if (c == '"') {
        field_ += '"';
        state_ = State::kQuoted;
      } else if (c == ',') {
        EndField();
        state_ = State::kFieldStart;
      } else {
        Fail(fmt::format(
            "column {}: text after the closing quote (a quote inside a "
            "quoted field must be doubled)",
            fields_.size() + 1));
      }
      break;
    case State::kSkip:
      break;
  }
}

void CsvParser::Finish() {
  if (pending_cr_) {
    pending_cr_ = false;
    Consume('\n');
  }
  switch (state_) {
    case State::kQuoted:
      Fail(fmt::format(
          "column {}: the quoted field never ends (unterminated quote)",
          fields_.size() + 1));
      break;
    case State::kSkip:
      break;
    case State::kFieldStart:
      if (fields_.empty()) break;  // The input ended with a line end.
      [[fallthrough]];
    default:
      EndField();
      EndRecord();
      break;
  }
  state_ = State::kFieldStart;
}

std::optional<absl::StatusOr<CsvRecord>> CsvParser::Next() {
  if (ready_.empty()) return std::nullopt;
  absl::StatusOr<CsvRecord> r = std::move(ready_.front());
  ready_.pop_front();
  return r;
}

void CsvParser::EndField() {
  fields_.push_back(std::move(field_));
  field_.clear();
}

void CsvParser::EndRecord() {
  // A blank line is one empty field: not a record.
  if (!(fields_.size() == 1 && fields_[0].empty())) {
    ready_.push_back(CsvRecord{.line = record_line_, .fields = fields_});
  }
  fields_.clear();
}

void CsvParser::Fail(std::string reason) {
  ready_.push_back(absl::InvalidArgumentError(
      fmt::format("line {}: {}", record_line_, reason)));
  fields_.clear();
  field_.clear();
  state_ = State::kSkip;
}

std::vector<absl::StatusOr<CsvRecord>> ParseCsv(std::string_view text) {
  CsvParser parser;
  parser.Feed(text);
  parser.Finish();
  std::vector<absl::StatusOr<CsvRecord>> out;
  while (std::optional<absl::StatusOr<CsvRecord>> r = parser.Next()) {
    out.push_back(*std::move(r));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Columns, numbers, caller ids.

namespace {

constexpr std::array<std::string_view, kCdrColumnCount> kColumnNames = {
    "accountcode", "src",        "dst",      "dcontext", "clid",
    "channel",     "dstchannel", "lastapp",  "lastdata", "start",
    "answer",      "end",        "duration", "billsec",  "disposition",
    "amaflags",    "userfield",  "uniqueid"};

// Columns a `columns:` override must name: the ones the rules read.
constexpr CdrColumn kRequiredColumns[] = {
    CdrColumn::kSrc,         CdrColumn::kDst,        CdrColumn::kClid,
    CdrColumn::kChannel,     CdrColumn::kDstchannel, CdrColumn::kLastapp,
    CdrColumn::kStart,       CdrColumn::kDuration,   CdrColumn::kBillsec,
    CdrColumn::kDisposition, CdrColumn::kUniqueid};

const std::vector<CdrColumn>& DefaultLayout(bool with_userfield) {
  static const std::vector<CdrColumn>* const kLayouts = [] {
    auto* layouts = new std::vector<CdrColumn>[2];
    for (int i = 0; i < kCdrColumnCount; ++i) {
      const auto c = static_cast<CdrColumn>(i);
      layouts[1].push_back(c);
      if (c != CdrColumn::kUserfield) layouts[0].push_back(c);
    }
    return layouts;
  }();
  return kLayouts[with_userfield ? 1 : 0];
}

std::optional<CdrColumn> ColumnFromName(std::string_view name) {
  if (name == "ignore") return CdrColumn::kIgnore;
  for (int i = 0; i < kCdrColumnCount; ++i) {
    if (kColumnNames[i] == name) return static_cast<CdrColumn>(i);
  }
  return std::nullopt;
}

// Ids: 1-128 printable characters, as the CloudEvents decoder requires.
std::string IdProblem(std::string_view s) {
  size_t chars = 0;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) return "contains a control character";
    chars += (c & 0xC0) != 0x80;
  }
  if (chars == 0 || chars > 128) {
    return fmt::format("must be 1-128 printable characters (got {})", chars);
  }
  if (!simdjson::validate_utf8(s.data(), s.size())) return "is not UTF-8";
  return {};
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Whether `channel` ("SIP/101-0000002a") is on the device `prefix`
// ("SIP/101"): the prefix, then the end or a non-alphanumeric separator.
bool ChannelMatches(std::string_view channel, std::string_view prefix) {
  if (prefix.empty() || !channel.starts_with(prefix)) return false;
  if (channel.size() == prefix.size()) return true;
  return !std::isalnum(static_cast<unsigned char>(channel[prefix.size()]));
}

bool Contains(const std::vector<std::string>& list, std::string_view s) {
  for (const std::string& x : list) {
    if (x == s) return true;
  }
  return false;
}

// "+03:00" / "-05:30" as a fixed zone; nullopt if `text` is not of that form.
std::optional<absl::TimeZone> FixedOffsetZone(std::string_view text) {
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') ||
      text[3] != ':') {
    return std::nullopt;
  }
  for (int i : {1, 2, 4, 5}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int hours = (text[1] - '0') * 10 + (text[2] - '0');
  const int minutes = (text[4] - '0') * 10 + (text[5] - '0');
  if (hours > 14 || minutes > 59) return std::nullopt;
  const int seconds = (hours * 60 + minutes) * 60;
  return absl::FixedTimeZone(text[0] == '-' ? -seconds : seconds);
}

}  // namespace

std::string_view CdrColumnName(CdrColumn c) {
  if (c == CdrColumn::kIgnore) return "ignore";
  return kColumnNames[static_cast<int>(c)];
}

std::string NormalizePhone(std::string_view number) {
  std::string digits;
  for (const char c : number) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() == 11 && digits[0] == '8') digits[0] = '7';
  return digits;
}

std::string CallerIdName(std::string_view clid) {
  std::string_view name;
  if (clid.starts_with('"')) {
    const size_t close = clid.find('"', 1);
    if (close == std::string_view::npos) return {};
    name = clid.substr(1, close - 1);
  } else {
    const size_t lt = clid.find('<');
    if (lt == std::string_view::npos) return {};
    name = clid.substr(0, lt);
  }
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  return std::string(name);
}

// ---------------------------------------------------------------------------
// The map file.

namespace {

constexpr std::string_view kRootKeys[] = {"source",          "timezone",
                                          "agents",          "organisations",
                                          "unknown_numbers", "columns"};
constexpr std::string_view kAgentKeys[] = {"manager", "department", "extension",
                                           "channel", "accountcode"};
constexpr std::string_view kOrganisationKeys[] = {"number", "org"};

// Walks one map document and collects errors, like funnel_config.cc's.
class MappingLoader : public YamlReader {
 public:
  MappingLoader(std::string_view origin, const FunnelConfig& config)
      : YamlReader(origin), config_(config) {}

  void Load(const YAML::Node& root, CdrMapping& out);

 private:
  // A string or a list of strings.
  std::vector<std::string> StringList(const YAML::Node& map,
                                      std::string_view key,
                                      const std::string& path) {
    std::vector<std::string> out;
    std::optional<YAML::Node> v = Get(map, key);
    if (!v) return out;
    if (v->IsSequence()) {
      for (size_t i = 0; i < v->size(); ++i) {
        if (auto s = String((*v)[i], fmt::format("{}[{}]", path, i))) {
          out.push_back(*s);
        }
      }
      if (v->size() == 0) Error(path, "must not be an empty list");
    } else if (auto s = String(*v, path)) {
      out.push_back(*s);
    }
    return out;
  }

  void LoadTimezone(const YAML::Node& root, CdrMapping& out);
  void LoadAgents(const YAML::Node& root, CdrMapping& out);
  void LoadOrganisations(const YAML::Node& root, CdrMapping& out);
  void LoadColumns(const YAML::Node& node, CdrMapping& out);

  const FunnelConfig& config_;
};

void MappingLoader::Load(const YAML::Node& root, CdrMapping& out) {
  if (!root.IsMap()) {
    Error("$",
          "the document must be a mapping with keys source, timezone, "
          "agents, organisations, unknown_numbers, columns");
    return;
  }
  CheckKeys(root, "", kRootKeys);
  if (auto s = RequiredString(root, "source", "source")) {
    if (std::string problem = IdProblem(*s); !problem.empty()) {
      Error("source", problem);
    } else {
      out.source = SourceId(*s);
    }
  }
  LoadTimezone(root, out);
  LoadAgents(root, out);
  LoadOrganisations(root, out);
  if (std::optional<YAML::Node> u = Get(root, "unknown_numbers")) {
    if (auto s = String(*u, "unknown_numbers")) {
      if (*s == "skip") {
        out.unknown_numbers = UnknownNumbers::kSkip;
      } else if (*s == "error") {
        out.unknown_numbers = UnknownNumbers::kError;
      } else if (*s == "org_from_number") {
        out.unknown_numbers = UnknownNumbers::kOrgFromNumber;
      } else {
        Error("unknown_numbers",
              fmt::format("\"{}\" is not one of skip, error, org_from_number",
                          *s));
      }
    }
  }
  if (std::optional<YAML::Node> c = Get(root, "columns")) LoadColumns(*c, out);
}

void MappingLoader::LoadTimezone(const YAML::Node& root, CdrMapping& out) {
  std::optional<std::string> name =
      RequiredString(root, "timezone", "timezone");
  if (!name) return;
  if (std::optional<absl::TimeZone> fixed = FixedOffsetZone(*name)) {
    out.zone = *fixed;
  } else if (!absl::LoadTimeZone(*name, &out.zone)) {
    Error("timezone",
          fmt::format("\"{}\" is not a loadable time zone (an IANA name like "
                      "Europe/Moscow, or a fixed offset like +03:00)",
                      *name));
    return;
  }
  out.timezone = *name;
}

void MappingLoader::LoadAgents(const YAML::Node& root, CdrMapping& out) {
  std::optional<YAML::Node> agents = Get(root, "agents");
  if (!agents) {
    Error("agents", "required (a list of manager, department, extension...)");
    return;
  }
  if (!agents->IsSequence() || agents->size() == 0) {
    Error("agents", "must be a non-empty list");
    return;
  }
  // Who already claimed an extension / channel / accountcode.
  std::map<std::string, std::string> owners[3];
  for (size_t i = 0; i < agents->size(); ++i) {
    const YAML::Node node = (*agents)[i];
    const std::string path = fmt::format("agents[{}]", i);
    if (!node.IsMap()) {
      Error(path, "must be a mapping (manager, department, extension...)");
      continue;
    }
    CheckKeys(node, path, kAgentKeys);
    CdrAgent agent;
    if (auto m = RequiredString(node, "manager", path + ".manager")) {
      if (std::string problem = IdProblem(*m); !problem.empty()) {
        Error(path + ".manager", problem);
      }
      agent.manager = ManagerId(*m);
    }
    if (auto d = RequiredString(node, "department", path + ".department")) {
      if (!config_.HasDepartment(*d)) {
        std::vector<std::string> names;
        for (const DepartmentId& dep : config_.departments()) {
          names.push_back(dep.value());
        }
        Error(path + ".department",
              fmt::format("\"{}\" is not a department of the funnel "
                          "configuration ({})",
                          *d, fmt::join(names, ", ")));
      }
      agent.department = DepartmentId(*d);
    }
    constexpr std::string_view kKinds[] = {"extension", "channel",
                                           "accountcode"};
    std::vector<std::string>* lists[] = {&agent.extensions, &agent.channels,
                                         &agent.accountcodes};
    for (int k = 0; k < 3; ++k) {
      const std::string kpath = fmt::format("{}.{}", path, kKinds[k]);
      *lists[k] = StringList(node, kKinds[k], kpath);
      for (const std::string& v : *lists[k]) {
        auto [it, inserted] = owners[k].emplace(v, path);
        if (!inserted) {
          Error(kpath, fmt::format("{} \"{}\" is already {}'s", kKinds[k], v,
                                   it->second));
        }
      }
    }
    if (agent.extensions.empty() && agent.channels.empty() &&
        agent.accountcodes.empty()) {
      Error(path,
            "needs at least one of extension, channel, accountcode to "
            "recognise the agent's calls");
    }
    out.agents.push_back(std::move(agent));
  }
}

void MappingLoader::LoadOrganisations(const YAML::Node& root, CdrMapping& out) {
  std::optional<YAML::Node> orgs = Get(root, "organisations");
  if (!orgs) return;
  if (!orgs->IsSequence()) {
    Error("organisations", "must be a list of number, org");
    return;
  }
  std::map<std::string, std::string> where;
  for (size_t i = 0; i < orgs->size(); ++i) {
    const YAML::Node node = (*orgs)[i];
    const std::string path = fmt::format("organisations[{}]", i);
    if (!node.IsMap()) {
      Error(path, "must be a mapping (number, org)");
      continue;
    }
    CheckKeys(node, path, kOrganisationKeys);
    std::optional<std::string> number =
        RequiredString(node, "number", path + ".number");
    std::optional<std::string> org = RequiredString(node, "org", path + ".org");
    if (org) {
      if (std::string problem = IdProblem(*org); !problem.empty()) {
        Error(path + ".org", problem);
        org.reset();
      }
    }
    if (!number) continue;
    const std::string digits = NormalizePhone(*number);
    if (digits.empty()) {
      Error(path + ".number", fmt::format("\"{}\" has no digits", *number));
      continue;
    }
    auto [it, inserted] = where.emplace(digits, path);
    if (!inserted) {
      Error(path + ".number",
            fmt::format("\"{}\" is the same number as {} ({})", *number,
                        it->second, digits));
      continue;
    }
    if (org) out.organisations.emplace(digits, OrgId(*org));
  }
}

void MappingLoader::LoadColumns(const YAML::Node& node, CdrMapping& out) {
  if (!node.IsSequence() || node.size() == 0) {
    Error("columns", "must be a non-empty list of column names");
    return;
  }
  std::set<CdrColumn> seen;
  for (size_t i = 0; i < node.size(); ++i) {
    const std::string path = fmt::format("columns[{}]", i);
    std::optional<std::string> name = String(node[i], path);
    if (!name) continue;
    std::optional<CdrColumn> c = ColumnFromName(*name);
    if (!c) {
      Error(path, fmt::format("\"{}\" is not a cdr_csv column ({}, or ignore)",
                              *name, fmt::join(kColumnNames, ", ")));
      continue;
    }
    if (*c != CdrColumn::kIgnore && !seen.insert(*c).second) {
      Error(path, fmt::format("\"{}\" given twice", *name));
    }
    out.columns.push_back(*c);
  }
  for (CdrColumn c : kRequiredColumns) {
    if (!seen.contains(c)) {
      Error("columns", fmt::format("must include {} (the import reads it)",
                                   CdrColumnName(c)));
    }
  }
}

}  // namespace

absl::StatusOr<CdrMapping> CdrMapping::Parse(std::string_view yaml,
                                             std::string_view origin,
                                             const FunnelConfig& config) {
  CdrMapping mapping;
  mapping.origin = std::string(origin);
  MappingLoader loader(origin, config);
  VORONKA_RETURN_IF_ERROR(loader.LoadDocument(
      yaml, [&](const YAML::Node& root) { loader.Load(root, mapping); }));
  return mapping;
}

absl::StatusOr<CdrMapping> CdrMapping::LoadFile(const std::string& path,
                                                const FunnelConfig& config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(fmt::format("{}: cannot open the file", path));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::NotFoundError(fmt::format("{}: cannot read the file", path));
  }
  return Parse(text.str(), path, config);
}

// ---------------------------------------------------------------------------
// Rows to events.

namespace {

// One record seen through a column layout.
class Row {
 public:
  Row(const CsvRecord& record, const std::vector<CdrColumn>& layout)
      : record_(record) {
    index_.fill(-1);
    for (size_t i = 0; i < layout.size(); ++i) {
      if (layout[i] != CdrColumn::kIgnore) {
        index_[static_cast<int>(layout[i])] = static_cast<int>(i);
      }
    }
  }

  // The field, or "" for a column the layout does not have.
  std::string_view operator[](CdrColumn c) const {
    const int i = index_[static_cast<int>(c)];
    return i < 0 ? std::string_view() : std::string_view(record_.fields[i]);
  }

  absl::Status Bad(CdrColumn c, std::string_view reason) const {
    return absl::InvalidArgumentError(fmt::format(
        "line {}: column {}: {}", record_.line, CdrColumnName(c), reason));
  }
  absl::Status Bad(std::string_view reason) const {
    return absl::InvalidArgumentError(
        fmt::format("line {}: {}", record_.line, reason));
  }
  absl::Status Skip(std::string_view reason) const {
    return absl::NotFoundError(
        fmt::format("line {}: skipped: {}", record_.line, reason));
  }

 private:
  const CsvRecord& record_;
  std::array<int, kCdrColumnCount> index_;
};

absl::StatusOr<absl::Time> ParseLocalTime(const Row& row, CdrColumn c,
                                          const absl::TimeZone& zone) {
  const std::string_view text = row[c];
  absl::Time t;
  std::string err;
  if (text.size() != 19 ||
      !absl::ParseTime("%Y-%m-%d %H:%M:%S",
                       absl::string_view(text.data(), text.size()), zone, &t,
                       &err)) {
    return row.Bad(
        c, fmt::format("\"{}\" is not a time YYYY-MM-DD HH:MM:SS", text));
  }
  return t;
}

absl::StatusOr<int64_t> ParseSeconds(const Row& row, CdrColumn c) {
  const std::string_view text = row[c];
  int64_t v = 0;
  if (!AllDigits(text) ||
      !absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &v)) {
    return row.Bad(c,
                   fmt::format("\"{}\" is not a non-negative integer", text));
  }
  return v;
}

absl::StatusOr<CallOutcome> Outcome(const Row& row) {
  std::string lastapp(row[CdrColumn::kLastapp]);
  for (char& ch : lastapp) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  if (lastapp == "voicemail") return CallOutcome::kVoicemail;
  const std::string_view d = row[CdrColumn::kDisposition];
  if (d == "ANSWERED") return CallOutcome::kAnswered;
  if (d == "NO ANSWER") return CallOutcome::kNoAnswer;
  if (d == "BUSY") return CallOutcome::kBusy;
  if (d == "FAILED" || d == "CONGESTION") return CallOutcome::kFailed;
  return row.Bad(CdrColumn::kDisposition,
                 fmt::format("\"{}\" is not one of ANSWERED, NO ANSWER, BUSY, "
                             "FAILED, CONGESTION",
                             d));
}

const CdrAgent* CallerAgent(const Row& row, const CdrMapping& m) {
  for (const CdrAgent& a : m.agents) {
    if (Contains(a.extensions, row[CdrColumn::kSrc]) ||
        Contains(a.accountcodes, row[CdrColumn::kAccountcode])) {
      return &a;
    }
    for (const std::string& p : a.channels) {
      if (ChannelMatches(row[CdrColumn::kChannel], p)) return &a;
    }
  }
  return nullptr;
}

const CdrAgent* CalledAgent(const Row& row, const CdrMapping& m) {
  for (const CdrAgent& a : m.agents) {
    if (Contains(a.extensions, row[CdrColumn::kDst])) return &a;
    for (const std::string& p : a.channels) {
      if (ChannelMatches(row[CdrColumn::kDstchannel], p)) return &a;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<Event> CdrToEvent(const CsvRecord& record,
                                 const CdrMapping& mapping) {
  const std::vector<CdrColumn>* layout = &mapping.columns;
  if (layout->empty()) {
    if (record.fields.size() != 17 && record.fields.size() != 18) {
      return absl::InvalidArgumentError(fmt::format(
          "line {}: {} columns, expected 17 or 18 (accountcode ... "
          "amaflags, [userfield], uniqueid; set columns: in {} for another "
          "layout)",
          record.line, record.fields.size(), mapping.origin));
    }
    layout = &DefaultLayout(record.fields.size() == 18);
  } else if (record.fields.size() != layout->size()) {
    return absl::InvalidArgumentError(fmt::format(
        "line {}: {} columns, expected {} (columns: in {})", record.line,
        record.fields.size(), layout->size(), mapping.origin));
  }
  const Row row(record, *layout);

  const std::string_view uniqueid = row[CdrColumn::kUniqueid];
  if (uniqueid.empty()) {
    return row.Bad(CdrColumn::kUniqueid,
                   "empty (the import needs Asterisk's uniqueid as the event "
                   "id; enable loguniqueid in cdr.conf)");
  }
  if (std::string problem = IdProblem(uniqueid); !problem.empty()) {
    return row.Bad(CdrColumn::kUniqueid,
                   fmt::format("\"{}\" {}", uniqueid, problem));
  }
  VORONKA_ASSIGN_OR_RETURN(
      absl::Time start, ParseLocalTime(row, CdrColumn::kStart, mapping.zone));
  for (CdrColumn c : {CdrColumn::kAnswer, CdrColumn::kEnd}) {
    if (!row[c].empty()) {
      VORONKA_RETURN_IF_ERROR(ParseLocalTime(row, c, mapping.zone).status());
    }
  }
  VORONKA_ASSIGN_OR_RETURN(int64_t duration,
                           ParseSeconds(row, CdrColumn::kDuration));
  VORONKA_ASSIGN_OR_RETURN(int64_t billsec,
                           ParseSeconds(row, CdrColumn::kBillsec));
  if (billsec > duration) {
    return row.Bad(
        CdrColumn::kBillsec,
        fmt::format("{} is more than duration {}", billsec, duration));
  }
  VORONKA_ASSIGN_OR_RETURN(CallOutcome outcome, Outcome(row));

  const CdrAgent* caller = CallerAgent(row, mapping);
  const CdrAgent* called = CalledAgent(row, mapping);
  if (caller != nullptr && called != nullptr) {
    return row.Skip(fmt::format("internal call from {} to {}",
                                caller->manager.value(),
                                called->manager.value()));
  }
  if (caller == nullptr && called == nullptr) {
    return row.Bad(fmt::format(
        "no agent for src {} / dst {} (channel {}, dstchannel {}; see "
        "extension, channel, accountcode in {})",
        row[CdrColumn::kSrc], row[CdrColumn::kDst], row[CdrColumn::kChannel],
        row[CdrColumn::kDstchannel], mapping.origin));
  }
  const bool outbound = caller != nullptr;
  const CdrAgent& agent = outbound ? *caller : *called;
  const CdrColumn other = outbound ? CdrColumn::kDst : CdrColumn::kSrc;
  const std::string digits = NormalizePhone(row[other]);

  OrgId org;
  if (auto it = mapping.organisations.find(digits);
      !digits.empty() && it != mapping.organisations.end()) {
    org = it->second;
  } else {
    switch (mapping.unknown_numbers) {
      case UnknownNumbers::kSkip:
        return row.Skip(fmt::format(
            "{} \"{}\" is not in organisations (unknown_numbers: skip)",
            CdrColumnName(other), row[other]));
      case UnknownNumbers::kError:
        return row.Bad(other, fmt::format("no organisation for number \"{}\" "
                                          "(organisations in {})",
                                          row[other], mapping.origin));
      case UnknownNumbers::kOrgFromNumber:
        if (digits.empty()) {
          return row.Bad(other, fmt::format("\"{}\" has no digits to make an "
                                            "org id from",
                                            row[other]));
        }
        org = OrgId("tel:+" + digits);
        break;
    }
  }

  CallLogged call{.org = std::move(org),
                  .manager = agent.manager,
                  .department = agent.department,
                  .direction = outbound ? CallDirection::kOutbound
                                        : CallDirection::kInbound,
                  .outcome = outcome,
                  .duration_s = duration,
                  .call_id = std::string(uniqueid),
                  .billsec_s = billsec};
  if (!outbound) {
    std::string name = CallerIdName(row[CdrColumn::kClid]);
    if (!simdjson::validate_utf8(name.data(), name.size())) {
      return row.Bad(CdrColumn::kClid,
                     "the name is not UTF-8 (convert the file, e.g. iconv -f "
                     "cp1251 -t utf-8)");
    }
    if (!name.empty()) call.contact = std::move(name);
  }
  return Event{.id = EventId(uniqueid),
               .source = mapping.source,
               .time = Timestamp::FromAbsl(start),
               .data = std::move(call)};
}

CdrConverter::CdrConverter(const CdrMapping& mapping,
                           const FunnelConfig& config)
    : mapping_(mapping),
      decoder_(std::make_unique<CloudEventsDecoder>(config)) {}

CdrConverter::~CdrConverter() = default;

absl::StatusOr<Event> CdrConverter::Convert(const CsvRecord& record) {
  VORONKA_ASSIGN_OR_RETURN(Event event, CdrToEvent(record, mapping_));
  DecodeResult decoded = decoder_->DecodeStructured(ToStructuredJson(event));
  if (!decoded.ok()) {
    std::vector<std::string> errors;
    for (const FieldError& e : decoded.errors) errors.push_back(e.ToString());
    return absl::InvalidArgumentError(
        fmt::format("line {}: {}", record.line, fmt::join(errors, "; ")));
  }
  return event;
}

}  // namespace voronka
