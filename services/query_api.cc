#include "services/query_api.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/time/civil_time.h"
#include "events/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"
#include "projections/funnel_projection.h"
#include "projections/indicators.h"
#include "projections/queries.h"
#include "projections/view.h"
#include "services/funnel_page.h"
#include "spdlog/spdlog.h"

namespace voronka {
namespace {

using json = nlohmann::json;

constexpr char kValidPayload[] = "voronka/valid";
// Threads one manager-list request spreads its per-manager scans over.
constexpr int kManagerQueryThreads = 2;
const absl::CivilDay kEpochDay(1970, 1, 1);

// InvalidArgument (400) naming the valid values, which also go into the
// problem's "valid" member.
absl::Status Unknown(absl::StatusCode code, const std::string& what,
                     std::string_view value,
                     const std::vector<std::string>& valid) {
  std::string list;
  for (const std::string& v : valid) list += (list.empty() ? "" : ", ") + v;
  absl::Status status(
      code, fmt::format("unknown {} \"{}\" (valid: {})", what, value, list));
  status.SetPayload(kValidPayload, absl::Cord(json(valid).dump()));
  return status;
}

absl::Status Bad(const std::string& detail) {
  return absl::InvalidArgumentError(detail);
}

HttpResponse ErrorResponse(const absl::Status& status) {
  const std::string detail(status.message().data(), status.message().size());
  json ext = json::object();
  if (auto valid = status.GetPayload(kValidPayload)) {
    ext["valid"] = json::parse(std::string(*valid));
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return ProblemResponse(400, "Bad Request", detail, ext);
    case absl::StatusCode::kNotFound:
      return ProblemResponse(404, "Not Found", detail, ext);
    case absl::StatusCode::kUnavailable: {
      HttpResponse r = ProblemResponse(503, "Service Unavailable", detail);
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    default:
      spdlog::error("query failed: {}", status.ToString());
      return ProblemResponse(500, "Internal Server Error",
                             "reading the read model failed");
  }
}

std::string DayString(int64_t day) {
  return absl::FormatCivilTime(kEpochDay + day);
}

int64_t Seconds(absl::Duration d) { return d / absl::Seconds(1); }
double SecondsF(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// Counters as JSON: "<name>.<CUR>" fields become {"<name>": {"CUR": n}}.
json MoneyJson(const absl::btree_map<std::string, int64_t>& amounts) {
  json out = json::object();
  for (const auto& [currency, minor] : amounts) out[currency] = minor;
  return out;
}

// basis points of minor units -> minor units, rounded half away from zero.
int64_t BpToMinor(int64_t bp) {
  return bp >= 0 ? (bp + 5000) / 10000 : -((-bp + 5000) / 10000);
}

json ForecastJson(const absl::btree_map<std::string, int64_t>& bp) {
  json out = json::object();
  for (const auto& [currency, v] : bp) out[currency] = BpToMinor(v);
  return out;
}

json IndicatorJson(const IndicatorTotals& t) {
  const Counters& c = t.counters;
  return {
      {"calls", c.Get("calls")},
      {"calls_answered", c.Get("calls_answered")},
      {"talk_seconds", c.Get("talk_seconds")},
      {"organisations_called", t.organisations_called},
      {"calls_per_org", t.calls_per_org()},
      {"proposals_general", c.Get("proposals_general")},
      {"applications", c.Get("applications")},
      {"applications_amount", MoneyJson(c.MoneyOf("applications_amount"))},
      {"invoices_issued", c.Get("invoices_issued")},
      {"invoices_issued_amount",
       MoneyJson(c.MoneyOf("invoices_issued_amount"))},
      {"invoices_paid", c.Get("invoices_paid")},
      {"invoices_paid_amount", MoneyJson(c.MoneyOf("invoices_paid_amount"))},
      {"deals_won", c.Get("deals_won")},
      {"deals_lost", c.Get("deals_lost")}};
}

json WorkloadJson(const Counters& c) {
  return {{"deals", c.Get("deals")},
          {"open", c.Get("open")},
          {"amount", MoneyJson(c.MoneyOf("amount"))},
          {"forecast", ForecastJson(c.MoneyOf("forecast_bp"))}};
}

json OrNull(const std::string& s) { return s.empty() ? json() : json(s); }

// ---- Parameters -----------------------------------------------------------

class Api : public std::enable_shared_from_this<Api> {
 public:
  explicit Api(QueryApiOptions options) : o_(std::move(options)) {
    if (!absl::LoadTimeZone(o_.config->timezone(), &tz_)) {
      tz_ = absl::UTCTimeZone();
    }
    if (!o_.clock) o_.clock = [] { return Timestamp::Now(); };
  }

  absl::Status Register(HttpServer& server);

 private:
  enum class Model { kIndicators, kFunnel };
  using Handler = std::function<absl::StatusOr<json>(const HttpRequest&,
                                                     const ProjectionStore&)>;
  absl::Status Add(HttpServer& server, const std::string& pattern, Model model,
                   Handler handler);

  absl::StatusOr<Timestamp> Now(const HttpRequest& r) const;
  absl::StatusOr<int64_t> Day(const HttpRequest& r, std::string_view name,
                              int64_t fallback) const;
  absl::StatusOr<DayRange> Range(const HttpRequest& r, Rollup rollup) const;
  absl::StatusOr<Rollup> Group(const HttpRequest& r) const;
  absl::StatusOr<std::string> FunnelParam(const HttpRequest& r) const;
  absl::StatusOr<std::string> DepartmentParam(const HttpRequest& r,
                                              std::string_view value,
                                              absl::StatusCode code) const;

  std::vector<std::string> Departments() const {
    std::vector<std::string> out;
    for (const DepartmentId& d : o_.config->departments()) {
      out.push_back(d.value());
    }
    return out;
  }

  absl::StatusOr<json> Indicators(const HttpRequest& r,
                                  const ProjectionStore& s) const;
  absl::StatusOr<json> Managers(const HttpRequest& r,
                                const ProjectionStore& s) const;
  absl::StatusOr<json> Stages(const HttpRequest& r,
                              const ProjectionStore& s) const;
  absl::StatusOr<json> Overdue(const HttpRequest& r, const ProjectionStore& s,
                               voronka::Overdue kind) const;
  absl::StatusOr<json> Geometry(const HttpRequest& r, const ProjectionStore& s,
                                bool conversion) const;
  // Geometry or conversion of one funnel's stages over `range`.
  absl::StatusOr<json> GeometryStages(const ProjectionStore& s, const Funnel& f,
                                      DayRange range, bool conversion) const;
  absl::StatusOr<json> Forecast(const HttpRequest& r,
                                const ProjectionStore& s) const;
  absl::StatusOr<json> Queues(const HttpRequest& r,
                              const ProjectionStore& s) const;
  absl::StatusOr<json> Queue(const HttpRequest& r,
                             const ProjectionStore& s) const;
  absl::StatusOr<json> Claims(const HttpRequest& r,
                              const ProjectionStore& s) const;
  absl::StatusOr<json> Deal(const HttpRequest& r,
                            const ProjectionStore& s) const;
  HttpResponse Health() const;
  HttpResponse Ready() const;

  QueryApiOptions o_;
  absl::TimeZone tz_;
};

struct Page {
  size_t offset = 0;
  size_t limit = kDefaultPageLimit;
};

absl::StatusOr<int64_t> ParseInt(std::string_view name, std::string_view v) {
  int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
    return Bad(fmt::format("{}: \"{}\" is not an integer", name, v));
  }
  return n;
}

absl::StatusOr<Page> ParsePage(const HttpRequest& r) {
  Page page;
  if (auto v = r.Query("limit")) {
    VORONKA_ASSIGN_OR_RETURN(int64_t n, ParseInt("limit", *v));
    if (n < 1 || n > kMaxPageLimit) {
      return Bad(fmt::format("limit: {} is not in [1, {}]", n, kMaxPageLimit));
    }
    page.limit = static_cast<size_t>(n);
  }
  if (auto v = r.Query("offset")) {
    VORONKA_ASSIGN_OR_RETURN(int64_t n, ParseInt("offset", *v));
    if (n < 0) return Bad(fmt::format("offset: {} is negative", n));
    page.offset = static_cast<size_t>(n);
  }
  return page;
}

// Adds total, offset, limit and next_offset (null on the last page).
void PageJson(json& out, const Page& page, size_t total) {
  out["total"] = total;
  out["offset"] = page.offset;
  out["limit"] = page.limit;
  out["next_offset"] = page.offset + page.limit < total
                           ? json(page.offset + page.limit)
                           : json();
}

absl::StatusOr<Timestamp> Api::Now(const HttpRequest& r) const {
  auto v = r.Query("now");
  if (!v) return o_.clock();
  absl::StatusOr<Timestamp> t = ParseRfc3339(*v);
  if (!t.ok()) {
    return Bad(
        fmt::format("now: \"{}\" is not an RFC 3339 date-time with an "
                    "offset, e.g. 2026-11-23T09:30:00Z",
                    *v));
  }
  return *t;
}

absl::StatusOr<int64_t> Api::Day(const HttpRequest& r, std::string_view name,
                                 int64_t fallback) const {
  auto v = r.Query(name);
  if (!v) return fallback;
  absl::CivilDay day;
  const bool shape = v->size() == 10 && (*v)[4] == '-' && (*v)[7] == '-' &&
                     std::all_of(v->begin(), v->end(), [](char c) {
                       return c == '-' || (c >= '0' && c <= '9');
                     });
  if (!shape || !absl::ParseCivilTime(std::string(*v), &day) ||
      absl::FormatCivilTime(day) != *v) {
    return Bad(
        fmt::format("{}: \"{}\" is not a date (YYYY-MM-DD, in the time zone "
                    "{})",
                    name, *v, o_.config->timezone()));
  }
  return day - kEpochDay;
}

absl::StatusOr<DayRange> Api::Range(const HttpRequest& r, Rollup rollup) const {
  DayRange range;
  const bool need_today = !r.Query("to") || !r.Query("from");
  const int64_t today = need_today ? DayOf(o_.clock(), tz_) : 0;
  VORONKA_ASSIGN_OR_RETURN(range.to_day, Day(r, "to", today));
  VORONKA_ASSIGN_OR_RETURN(range.from_day, Day(r, "from", range.to_day - 29));
  if (range.from_day > range.to_day) {
    return Bad(fmt::format("from {} is after to {}", DayString(range.from_day),
                           DayString(range.to_day)));
  }
  const int64_t days = range.to_day - range.from_day + 1;
  const int64_t max =
      rollup == Rollup::kDay ? kMaxDailyRangeDays : kMaxRangeDays;
  if (days > max) {
    return Bad(
        fmt::format("range too large: {} days from {} to {}; at most {} days{}",
                    days, DayString(range.from_day), DayString(range.to_day),
                    max, rollup == Rollup::kDay ? " with group=day" : ""));
  }
  return range;
}

absl::StatusOr<Rollup> Api::Group(const HttpRequest& r) const {
  const std::string_view g = r.Query("group").value_or("none");
  if (g == "none") return Rollup::kNone;
  if (g == "day") return Rollup::kDay;
  if (g == "week") return Rollup::kWeek;
  if (g == "month") return Rollup::kMonth;
  return Unknown(absl::StatusCode::kInvalidArgument, "group", g,
                 {"none", "day", "week", "month"});
}

absl::StatusOr<std::string> Api::FunnelParam(const HttpRequest& r) const {
  auto v = r.Query("funnel");
  if (!v || v->empty()) return std::string();
  if (o_.config->FindFunnel(*v) == nullptr) {
    std::vector<std::string> valid;
    for (const Funnel& f : o_.config->funnels())
      valid.push_back(f.name.value());
    return Unknown(absl::StatusCode::kInvalidArgument, "funnel", *v, valid);
  }
  return std::string(*v);
}

absl::StatusOr<std::string> Api::DepartmentParam(const HttpRequest&,
                                                 std::string_view value,
                                                 absl::StatusCode code) const {
  if (value.empty() || o_.config->HasDepartment(value)) {
    return std::string(value);
  }
  return Unknown(code, "department", value, Departments());
}

// ---- Routes ---------------------------------------------------------------

absl::StatusOr<json> Api::Indicators(const HttpRequest& r,
                                     const ProjectionStore& s) const {
  const std::string_view scope_name = r.Query("scope").value_or("total");
  std::string_view scope;
  if (scope_name == "manager") {
    scope = kIndicatorScopeManager;
  } else if (scope_name == "department") {
    scope = kIndicatorScopeDepartment;
  } else if (scope_name == "total") {
    scope = kIndicatorScopeTotal;
  } else {
    return Unknown(absl::StatusCode::kInvalidArgument, "scope", scope_name,
                   {"manager", "department", "total"});
  }
  std::string id(r.Query("id").value_or(""));
  if (scope != kIndicatorScopeTotal && id.empty()) {
    return Bad(fmt::format("id: required with scope={}", scope_name));
  }
  if (scope == kIndicatorScopeTotal) id.clear();
  if (scope == kIndicatorScopeDepartment) {
    VORONKA_RETURN_IF_ERROR(
        DepartmentParam(r, id, absl::StatusCode::kInvalidArgument).status());
  }
  VORONKA_ASSIGN_OR_RETURN(Rollup rollup, Group(r));
  VORONKA_ASSIGN_OR_RETURN(DayRange range, Range(r, rollup));
  VORONKA_ASSIGN_OR_RETURN(std::vector<IndicatorPeriod> periods,
                           QueryIndicatorPeriods(s, scope, id, range.from_day,
                                                 range.to_day, rollup));
  json list = json::array();
  for (const IndicatorPeriod& p : periods) {
    json j = IndicatorJson(p.totals);
    j["from"] = DayString(p.range.from_day);
    j["to"] = DayString(p.range.to_day);
    list.push_back(std::move(j));
  }
  return json{{"scope", scope_name},
              {"id", OrNull(id)},
              {"from", DayString(range.from_day)},
              {"to", DayString(range.to_day)},
              {"group", r.Query("group").value_or("none")},
              {"timezone", o_.config->timezone()},
              {"periods", std::move(list)}};
}

absl::StatusOr<json> Api::Managers(const HttpRequest& r,
                                   const ProjectionStore& s) const {
  VORONKA_ASSIGN_OR_RETURN(std::string department,
                           DepartmentParam(r, r.PathParam("department"),
                                           absl::StatusCode::kNotFound));
  VORONKA_ASSIGN_OR_RETURN(DayRange range, Range(r, Rollup::kNone));
  VORONKA_ASSIGN_OR_RETURN(Page page, ParsePage(r));
  VORONKA_ASSIGN_OR_RETURN(std::vector<std::string> managers,
                           DepartmentManagers(s, department));
  const size_t begin = std::min(page.offset, managers.size());
  const size_t end = std::min(managers.size(), begin + page.limit);
  const std::span<const std::string> ids(managers.data() + begin, end - begin);
  VORONKA_ASSIGN_OR_RETURN(
      std::vector<IndicatorTotals> totals,
      QueryIndicatorsOfMany(s, kIndicatorScopeManager, ids, range.from_day,
                            range.to_day, kManagerQueryThreads));
  json list = json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    json j = IndicatorJson(totals[i]);
    j["manager"] = ids[i];
    list.push_back(std::move(j));
  }
  json out{{"department", department},
           {"from", DayString(range.from_day)},
           {"to", DayString(range.to_day)}};
  PageJson(out, page, managers.size());
  out["managers"] = std::move(list);
  return out;
}

absl::StatusOr<json> Api::Stages(const HttpRequest& r,
                                 const ProjectionStore& s) const {
  WorkloadFilter filter;
  VORONKA_ASSIGN_OR_RETURN(filter.funnel, FunnelParam(r));
  VORONKA_ASSIGN_OR_RETURN(
      filter.department, DepartmentParam(r, r.Query("department").value_or(""),
                                         absl::StatusCode::kInvalidArgument));
  if (auto owner = r.Query("owner")) {
    filter.owner = std::string(*owner);
    filter.has_owner = true;  // owner= (empty): unowned deals only.
  }
  VORONKA_ASSIGN_OR_RETURN(Timestamp now, Now(r));
  VORONKA_ASSIGN_OR_RETURN(std::vector<StageWorkload> stages,
                           QueryStageWorkloads(s, *o_.config, filter, now));
  json list = json::array();
  for (const StageWorkload& w : stages) {
    json j = WorkloadJson(w.totals);
    j["funnel"] = w.funnel;
    j["stage"] = w.stage;
    j["avg_time_in_stage_s"] =
        w.aged_deals == 0 ? json() : json(w.age_sum_s / w.aged_deals);
    json by_department = json::array();
    for (const auto& [d, c] : w.by_department) {
      json e = WorkloadJson(c);
      e["department"] = OrNull(d);
      by_department.push_back(std::move(e));
    }
    json by_owner = json::array();
    for (const auto& [owner, c] : w.by_owner) {
      json e = WorkloadJson(c);
      e["owner"] = OrNull(owner);
      by_owner.push_back(std::move(e));
    }
    j["by_department"] = std::move(by_department);
    j["by_owner"] = std::move(by_owner);
    list.push_back(std::move(j));
  }
  return json{{"now", FormatRfc3339(now)}, {"stages", std::move(list)}};
}

absl::StatusOr<json> Api::Overdue(const HttpRequest& r,
                                  const ProjectionStore& s,
                                  voronka::Overdue kind) const {
  OverdueFilter filter;
  VORONKA_ASSIGN_OR_RETURN(filter.funnel, FunnelParam(r));
  const std::string& funnel = filter.funnel;
  filter.stage = std::string(r.Query("stage").value_or(""));
  const std::string& stage = filter.stage;
  VORONKA_ASSIGN_OR_RETURN(
      filter.department, DepartmentParam(r, r.Query("department").value_or(""),
                                         absl::StatusCode::kInvalidArgument));
  if (auto owner = r.Query("owner")) {
    filter.owner = std::string(*owner);
    filter.has_owner = true;  // owner= (empty): unowned deals only.
  }
  if (!stage.empty()) {
    std::vector<std::string> valid;
    bool found = false;
    for (const Funnel& f : o_.config->funnels()) {
      if (!funnel.empty() && f.name.value() != funnel) continue;
      for (const Stage& st : f.stages) {
        if (std::find(valid.begin(), valid.end(), st.name.value()) ==
            valid.end()) {
          valid.push_back(st.name.value());
        }
        if (st.name.value() == stage) found = true;
      }
    }
    if (!found) {
      return Unknown(absl::StatusCode::kInvalidArgument, "stage", stage, valid);
    }
  }
  VORONKA_ASSIGN_OR_RETURN(Timestamp now, Now(r));
  VORONKA_ASSIGN_OR_RETURN(Page page, ParsePage(r));
  size_t total = 0;
  VORONKA_ASSIGN_OR_RETURN(std::vector<OverdueDeal> deals,
                           QueryOverdue(s, *o_.config, kind, filter, now,
                                        page.offset, page.limit, &total));
  const bool stale = kind == voronka::Overdue::kStale;
  json list = json::array();
  for (const OverdueDeal& d : deals) {
    list.push_back(
        {{"deal", d.deal},
         {"funnel", d.funnel},
         {"stage", d.stage},
         {"department", OrNull(d.department)},
         {"owner", OrNull(d.owner)},
         {stale ? "entered" : "last_activity", FormatRfc3339(d.since)},
         {stale ? "age_s" : "idle_s", Seconds(now - d.since)},
         {stale ? "sla_s" : "idle_limit_s", Seconds(d.limit)}});
  }
  json out{{"now", FormatRfc3339(now)}};
  PageJson(out, page, total);
  out["deals"] = std::move(list);
  return out;
}

absl::StatusOr<json> Api::GeometryStages(const ProjectionStore& s,
                                         const Funnel& f, DayRange range,
                                         bool conversion) const {
  json stages = json::array();
  if (!conversion) {
    VORONKA_ASSIGN_OR_RETURN(auto reached,
                             QueryGeometry(s, f, range.from_day, range.to_day));
    for (const auto& [stage, n] : reached) {
      stages.push_back({{"stage", stage}, {"reached", n}});
    }
    return stages;
  }
  VORONKA_ASSIGN_OR_RETURN(std::vector<StageConversion> rows,
                           QueryConversion(s, f, range.from_day, range.to_day));
  for (const StageConversion& c : rows) {
    const int64_t entered = c.counters.Get("entered");
    const int64_t to_next = c.counters.Get("to_next");
    const int64_t to_won = c.counters.Get("to_won");
    const int64_t moved_on = c.counters.Get("moved_on");
    auto rate = [&](int64_t n) {
      return entered == 0 ? json() : json(static_cast<double>(n) / entered);
    };
    stages.push_back(
        {{"stage", c.stage},
         {"entered", entered},
         {"to_next", to_next},
         {"to_won", to_won},
         {"to_next_rate", rate(to_next)},
         {"to_won_rate", rate(to_won)},
         {"avg_time_to_next_s",
          moved_on == 0 ? json()
                        : json(c.counters.Get("next_wait_s") / moved_on)}});
  }
  return stages;
}

absl::StatusOr<json> Api::Geometry(const HttpRequest& r,
                                   const ProjectionStore& s,
                                   bool conversion) const {
  VORONKA_ASSIGN_OR_RETURN(std::string funnel, FunnelParam(r));
  VORONKA_ASSIGN_OR_RETURN(Rollup rollup, Group(r));
  VORONKA_ASSIGN_OR_RETURN(DayRange range, Range(r, rollup));
  json funnels = json::array();
  for (const Funnel& f : o_.config->funnels()) {
    if (!funnel.empty() && f.name.value() != funnel) continue;
    VORONKA_ASSIGN_OR_RETURN(json stages,
                             GeometryStages(s, f, range, conversion));
    json entry{{"funnel", f.name.value()}, {"stages", std::move(stages)}};
    if (rollup != Rollup::kNone) {
      json periods = json::array();
      for (const DayRange& p :
           SplitRange(range.from_day, range.to_day, rollup)) {
        VORONKA_ASSIGN_OR_RETURN(json period,
                                 GeometryStages(s, f, p, conversion));
        periods.push_back({{"from", DayString(p.from_day)},
                           {"to", DayString(p.to_day)},
                           {"stages", std::move(period)}});
      }
      entry["periods"] = std::move(periods);
    }
    funnels.push_back(std::move(entry));
  }
  return json{{"from", DayString(range.from_day)},
              {"to", DayString(range.to_day)},
              {"group", r.Query("group").value_or("none")},
              {"funnels", std::move(funnels)}};
}

absl::StatusOr<json> Api::Forecast(const HttpRequest& r,
                                   const ProjectionStore& s) const {
  const std::string_view g = r.Query("group").value_or("funnel");
  ForecastGroup group;
  if (g == "funnel") {
    group = ForecastGroup::kFunnel;
  } else if (g == "department") {
    group = ForecastGroup::kDepartment;
  } else if (g == "owner") {
    group = ForecastGroup::kOwner;
  } else {
    return Unknown(absl::StatusCode::kInvalidArgument, "group", g,
                   {"funnel", "department", "owner"});
  }
  VORONKA_ASSIGN_OR_RETURN(std::string funnel, FunnelParam(r));
  VORONKA_ASSIGN_OR_RETURN(auto sums, QueryForecast(s, group, funnel));
  json list = json::array();
  for (const auto& [name, bp] : sums) {
    list.push_back(
        {{std::string(g), OrNull(name)}, {"forecast", ForecastJson(bp)}});
  }
  return json{{"group", g}, {"funnel", OrNull(funnel)}, {"forecast", list}};
}

absl::StatusOr<json> Api::Queues(const HttpRequest&,
                                 const ProjectionStore& s) const {
  VORONKA_ASSIGN_OR_RETURN(auto lengths, QueueLengths(s));
  for (const std::string& d : Departments()) lengths.try_emplace(d, 0);
  json list = json::array();
  for (const auto& [d, n] : lengths) {
    list.push_back({{"department", d}, {"length", n}});
  }
  return json{{"queues", std::move(list)}};
}

absl::StatusOr<json> Api::Queue(const HttpRequest& r,
                                const ProjectionStore& s) const {
  VORONKA_ASSIGN_OR_RETURN(std::string department,
                           DepartmentParam(r, r.PathParam("department"),
                                           absl::StatusCode::kNotFound));
  VORONKA_ASSIGN_OR_RETURN(Timestamp now, Now(r));
  VORONKA_ASSIGN_OR_RETURN(Page page, ParsePage(r));
  size_t total = 0;
  VORONKA_ASSIGN_OR_RETURN(
      std::vector<QueueEntry> entries,
      QueryQueue(s, department, page.offset, page.limit, &total));
  json list = json::array();
  for (const QueueEntry& e : entries) {
    list.push_back({{"deal", e.deal},
                    {"since", FormatRfc3339(e.since)},
                    {"reason", e.reason},
                    {"wait_s", Seconds(now - e.since)}});
  }
  json out{{"department", department}, {"now", FormatRfc3339(now)}};
  PageJson(out, page, total);
  out["deals"] = std::move(list);
  return out;
}

absl::StatusOr<json> Api::Claims(const HttpRequest& r,
                                 const ProjectionStore& s) const {
  VORONKA_ASSIGN_OR_RETURN(
      std::string department,
      DepartmentParam(r, r.Query("department").value_or(""),
                      absl::StatusCode::kInvalidArgument));
  VORONKA_ASSIGN_OR_RETURN(Rollup rollup, Group(r));
  VORONKA_ASSIGN_OR_RETURN(DayRange range, Range(r, rollup));
  std::vector<std::string> departments =
      department.empty() ? Departments() : std::vector{department};
  auto stats = [&](const std::string& d, DayRange p) -> absl::StatusOr<json> {
    VORONKA_ASSIGN_OR_RETURN(WaitStats w,
                             QueryClaimWaits(s, d, p.from_day, p.to_day));
    return json{{"claims", w.count},
                {"mean_s", SecondsF(w.mean)},
                {"p50_s", SecondsF(w.p50)},
                {"p90_s", SecondsF(w.p90)},
                {"max_s", SecondsF(w.max)}};
  };
  json list = json::array();
  for (const std::string& d : departments) {
    VORONKA_ASSIGN_OR_RETURN(json entry, stats(d, range));
    entry["department"] = d;
    if (rollup != Rollup::kNone) {
      json periods = json::array();
      for (const DayRange& p :
           SplitRange(range.from_day, range.to_day, rollup)) {
        VORONKA_ASSIGN_OR_RETURN(json period, stats(d, p));
        period["from"] = DayString(p.from_day);
        period["to"] = DayString(p.to_day);
        periods.push_back(std::move(period));
      }
      entry["periods"] = std::move(periods);
    }
    list.push_back(std::move(entry));
  }
  return json{{"from", DayString(range.from_day)},
              {"to", DayString(range.to_day)},
              {"group", r.Query("group").value_or("none")},
              {"departments", std::move(list)}};
}

std::string_view OutcomeName(StageOutcome o) {
  switch (o) {
    case StageOutcome::kWon:
      return "won";
    case StageOutcome::kLost:
      return "lost";
    default:
      return "open";
  }
}

json TimeOrNull(Timestamp t) {
  return t.is_set() ? json(FormatRfc3339(t)) : json();
}

absl::StatusOr<json> Api::Deal(const HttpRequest& r,
                               const ProjectionStore& s) const {
  const std::string id(r.PathParam("deal"));
  VORONKA_ASSIGN_OR_RETURN(std::optional<DealState> state,
                           ReadDeal(s, DealId(id)));
  if (!state) {
    return absl::NotFoundError(fmt::format("no deal \"{}\"", id));
  }
  std::string stage;
  if (const Funnel* f = o_.config->FindFunnel(state->funnel.value());
      f != nullptr && state->stage >= 0 &&
      state->stage < static_cast<int>(f->stages.size())) {
    stage = f->stages[state->stage].name.value();
  }
  json visits = json::array();
  for (const StageVisit& v : state->visits) {
    visits.push_back({{"stage", v.stage.value()},
                      {"department", OrNull(v.department.value())},
                      {"entered", FormatRfc3339(v.entered)},
                      {"actor", v.actor ? json(v.actor->value()) : json()}});
  }
  json claims = json::array();
  for (const ClaimWait& c : state->claims) {
    claims.push_back({{"department", c.department.value()},
                      {"manager", c.manager.value()},
                      {"enqueued", FormatRfc3339(c.enqueued)},
                      {"claimed", FormatRfc3339(c.claimed)},
                      {"wait_s", Seconds(c.claimed - c.enqueued)},
                      {"reason", ToString(c.reason)}});
  }
  json queue;
  if (state->queue) {
    queue = {{"department", state->queue->department.value()},
             {"since", FormatRfc3339(state->queue->since)},
             {"reason", ToString(state->queue->reason)}};
  }
  json amount;
  if (state->amount) {
    amount = {{"amount_minor", state->amount->minor},
              {"currency", state->amount->currency.code()}};
  }
  return json{{"deal", id},
              {"org", state->org.value()},
              {"funnel", OrNull(state->funnel.value())},
              {"stage", OrNull(stage)},
              {"stage_department", OrNull(state->stage_department.value())},
              {"outcome", OutcomeName(state->outcome)},
              {"owner", state->owner ? json(state->owner->value()) : json()},
              {"owner_department", OrNull(state->owner_department.value())},
              {"amount", amount},
              {"queue", queue},
              {"opened", TimeOrNull(state->opened)},
              {"stage_entered", TimeOrNull(state->stage_entered)},
              {"last_activity", TimeOrNull(state->last_activity)},
              {"events", state->events},
              {"visits", std::move(visits)},
              {"claims", std::move(claims)}};
}

HttpResponse Api::Health() const {
  auto state = [](const StoreGetter& g) -> std::string {
    if (!g) return "not served";
    return g() != nullptr ? "open" : "not open";
  };
  return HttpResponse::Json(
      200,
      {{"status", "ok"},
       {"read_models",
        {{"indicators", state(o_.indicators)}, {"funnel", state(o_.funnel)}}}});
}

HttpResponse Api::Ready() const {
  if (!o_.readiness) return HttpResponse::Json(200, {{"status", "ready"}});
  const Readiness r = o_.readiness();
  return HttpResponse::Json(
      r.ready ? 200 : 503,
      {{"status", r.ready ? "ready" : "not ready"}, {"checks", r.checks}});
}

absl::Status Api::Add(HttpServer& server, const std::string& pattern,
                      Model model, Handler handler) {
  return server.Route(
      "GET", pattern,
      [this, self = shared_from_this(), model,
       handler = std::move(handler)](const HttpRequest& r) {
        if (o_.tokens != nullptr) {
          absl::StatusOr<std::string> who =
              o_.tokens->Authorize(r, Role::kViewer);
          if (!who.ok()) return AuthErrorResponse(who.status());
        }
        const char* name =
            model == Model::kIndicators ? "indicators" : "funnel";
        const StoreGetter& getter =
            model == Model::kIndicators ? o_.indicators : o_.funnel;
        if (!getter) {
          return ProblemResponse(
              404, "Not Found",
              fmt::format("this process does not serve the {} read model; "
                          "ask `voronka serve` or `voronka project {}`",
                          name, name));
        }
        std::shared_ptr<const ProjectionStore> store = getter();
        if (store == nullptr) {
          return ErrorResponse(absl::UnavailableError(
              fmt::format("the {} read model is not open yet (its projector is "
                          "starting); retry shortly",
                          name)));
        }
        absl::StatusOr<json> body = handler(r, *store);
        if (!body.ok()) return ErrorResponse(body.status());
        return HttpResponse::Json(200, *body);
      });
}

absl::Status Api::Register(HttpServer& server) {
  using M = Model;
  auto bind = [this](auto method) {
    return [this, method](const HttpRequest& r, const ProjectionStore& s) {
      return (this->*method)(r, s);
    };
  };
  VORONKA_RETURN_IF_ERROR(server.Route(
      "GET", "/healthz", [self = shared_from_this()](const HttpRequest&) {
        return self->Health();
      }));
  VORONKA_RETURN_IF_ERROR(server.Route(
      "GET", "/readyz", [self = shared_from_this()](const HttpRequest&) {
        return self->Ready();
      }));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/indicators", M::kIndicators, bind(&Api::Indicators)));
  VORONKA_RETURN_IF_ERROR(Add(server, "/v1/departments/{department}/managers",
                              M::kIndicators, bind(&Api::Managers)));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/stages", M::kFunnel, bind(&Api::Stages)));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/stale", M::kFunnel,
          [this](const HttpRequest& r, const ProjectionStore& s) {
            return Overdue(r, s, voronka::Overdue::kStale);
          }));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/idle", M::kFunnel,
          [this](const HttpRequest& r, const ProjectionStore& s) {
            return Overdue(r, s, voronka::Overdue::kIdle);
          }));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/geometry", M::kFunnel,
          [this](const HttpRequest& r, const ProjectionStore& s) {
            return Geometry(r, s, /*conversion=*/false);
          }));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/conversion", M::kFunnel,
          [this](const HttpRequest& r, const ProjectionStore& s) {
            return Geometry(r, s, /*conversion=*/true);
          }));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/forecast", M::kFunnel, bind(&Api::Forecast)));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/queues", M::kFunnel, bind(&Api::Queues)));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/queues/{department}", M::kFunnel, bind(&Api::Queue)));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/claims", M::kFunnel, bind(&Api::Claims)));
  VORONKA_RETURN_IF_ERROR(
      Add(server, "/v1/deals/{deal}", M::kFunnel, bind(&Api::Deal)));
  return absl::OkStatus();
}

}  // namespace

namespace {

absl::StatusOr<std::pair<std::string, uint16_t>> ParseListen(
    const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int64_t port = -1;
  if (colon != std::string::npos && colon > 0) {
    absl::StatusOr<int64_t> p = ParseInt("port", listen.substr(colon + 1));
    if (p.ok()) port = *p;
  }
  if (port < 0 || port > 65535) {
    return absl::InvalidArgumentError(fmt::format(
        "--listen \"{}\": expected ADDR:PORT, e.g. 127.0.0.1:8480 (port 0: "
        "any free port)",
        listen));
  }
  return std::pair{listen.substr(0, colon), static_cast<uint16_t>(port)};
}

}  // namespace

void AddApiListenFlags(CLI::App& cmd, ApiListenFlags& flags) {
  cmd.add_option("--listen", flags.listen,
                 "Query API address ADDR:PORT (port 0: any free port)")
      ->capture_default_str();
  cmd.add_option("--tokens", flags.tokens_path,
                 "Bearer-token file of the query API (docs/auth.md)");
  cmd.add_flag("--insecure-dev", flags.insecure_dev,
               "Serve the HTTP API WITHOUT authentication (development only)");
  cmd.add_option("--max-body", flags.max_body_bytes,
                 "Largest request body in bytes (larger: 413)")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  cmd.add_option("--ready-max-lag", flags.ready_max_lag,
                 "GET /readyz answers 503 while a projector is more than "
                 "this many records behind the log")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd.add_flag("--metrics-per-manager", flags.metrics_per_manager,
               "Export per-manager series (voronka_manager_*; one series per "
               "manager and metric: mind Prometheus's memory)");
}

absl::Status CheckApiListenFlags(const ApiListenFlags& flags) {
  if (flags.tokens_path.empty() && !flags.insecure_dev && !flags.health_only) {
    return absl::InvalidArgumentError(
        "the query API needs --tokens FILE (viewer tokens, see docs/auth.md; "
        "`voronka token add` makes one) or, on a development machine only, "
        "--insecure-dev to serve it without authentication");
  }
  if (!flags.tokens_path.empty() && flags.insecure_dev) {
    return absl::InvalidArgumentError(
        "--tokens and --insecure-dev contradict each other: give one");
  }
  return ParseListen(flags.listen).status();
}

absl::StatusOr<std::unique_ptr<QueryApiServer>> QueryApiServer::Start(
    const ApiListenFlags& flags, QueryApiOptions options, std::ostream& out,
    const MoreRoutes& more_routes) {
  VORONKA_RETURN_IF_ERROR(CheckApiListenFlags(flags));
  VORONKA_ASSIGN_OR_RETURN(auto address, ParseListen(flags.listen));
  std::unique_ptr<QueryApiServer> server(new QueryApiServer());
  if (!flags.insecure_dev && !flags.tokens_path.empty()) {
    VORONKA_ASSIGN_OR_RETURN(TokenStore tokens,
                             TokenStore::Load(flags.tokens_path));
    server->tokens_ = std::make_unique<TokenStore>(std::move(tokens));
  }
  options.tokens = server->tokens_.get();
  const bool serves_indicators = static_cast<bool>(options.indicators);
  const bool serves_funnel = static_cast<bool>(options.funnel);
  Metrics* metrics = options.metrics;
  if (metrics != nullptr) {
    VORONKA_RETURN_IF_ERROR(metrics->RegisterRoute(server->http_));
  }
  VORONKA_RETURN_IF_ERROR(RegisterQueryApi(server->http_, std::move(options)));
  // The page shows read models: not on a listener that serves none (ingest).
  const bool serves_page = serves_indicators || serves_funnel;
  if (serves_page) VORONKA_RETURN_IF_ERROR(RegisterFunnelPage(server->http_));
  if (more_routes) {
    VORONKA_RETURN_IF_ERROR(more_routes(server->http_, server->tokens_.get()));
  }
  VORONKA_RETURN_IF_ERROR(server->http_.Start(
      {.address = address.first,
       .port = address.second,
       .max_body_bytes = flags.max_body_bytes,
       .on_request = metrics == nullptr
                         ? std::function<void(const HttpRequestRecord&)>()
                         : [metrics](const HttpRequestRecord& r) {
                             metrics->ObserveHttp(r);
                           }}));
  server->url_ =
      fmt::format("http://{}:{}", address.first, server->http_.port());
  const std::string& url = server->url_;
  if (flags.insecure_dev) {
    out << "\n"
           "!! WARNING: --insecure-dev: the HTTP API has NO AUTHENTICATION.\n"
           "!! Anyone who can reach "
        << url << " reads every read model"
        << (more_routes ? " and can append events" : "")
        << ".\n"
           "!! Development machines only; use --tokens FILE anywhere else.\n\n";
  }
  out << "listening on " << url << "\n";
  std::string try_these = fmt::format("{}/healthz, {}/readyz", url, url);
  if (metrics != nullptr) try_these += fmt::format(", {}/metrics", url);
  if (serves_funnel) try_these += fmt::format(", {}/v1/stages", url);
  if (serves_indicators) {
    try_these += fmt::format(", {}/v1/indicators?scope=total&group=week", url);
  }
  if (serves_page) {
    // The page takes its viewer token from the URL fragment (funnel_page.h).
    try_these += fmt::format("; funnel page: {}/funnel{}", url,
                             flags.insecure_dev ? "" : "#token=VIEWER_TOKEN");
  }
  out << "  query API (docs/api.md): " << try_these << "\n" << std::flush;
  return server;
}

absl::Status RegisterQueryApi(HttpServer& server, QueryApiOptions options) {
  if (options.config == nullptr) {
    return absl::InvalidArgumentError("RegisterQueryApi: no configuration");
  }
  // Owned by its routes (each holds a shared_ptr), so it lives as long as
  // the server.
  return std::make_shared<Api>(std::move(options))->Register(server);
}

}  // namespace voronka
