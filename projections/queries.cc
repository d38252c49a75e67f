#include "projections/queries.h"

#include <algorithm>
#include <thread>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "events/status.h"
#include "projections/funnel_projection.h"
#include "projections/indicators.h"
#include "projections/keys.h"

namespace voronka {

absl::StatusOr<IndicatorTotals> QueryIndicators(const ProjectionStore& store,
                                                std::string_view scope,
                                                std::string_view id,
                                                int64_t from_day,
                                                int64_t to_day) {
  VORONKA_ASSIGN_OR_RETURN(
      std::vector<IndicatorPeriod> periods,
      QueryIndicatorPeriods(store, scope, id, from_day, to_day, Rollup::kNone));
  return periods.empty() ? IndicatorTotals() : std::move(periods[0].totals);
}

absl::StatusOr<std::vector<std::string>> IndicatorIds(
    const ProjectionStore& store, std::string_view scope) {
  std::vector<std::string> ids;
  const std::string prefix = Key("i").Str(scope).str();
  std::string next = prefix;
  while (true) {
    std::optional<std::string> found;
    VORONKA_RETURN_IF_ERROR(store.ScanRows(
        prefix, next, [&](std::string_view key, const Counters&) {
          KeyReader r(key.substr(prefix.size()));
          found = std::string(r.Str());
          return false;
        }));
    if (!found) break;
    // Past every row of this id: its keys continue with '\0' and a day whose
    // first byte is below 0xff.
    next = Key("i").Str(scope).Str(*found).str() + "\xff";
    ids.push_back(std::move(*found));
  }
  return ids;
}

absl::StatusOr<std::vector<WorkloadRow>> QueryWorkloads(
    const ProjectionStore& store, std::string_view funnel) {
  std::vector<WorkloadRow> rows;
  const std::string prefix =
      funnel.empty() ? Key("w").str() : Key("w").Str(funnel).str();
  VORONKA_RETURN_IF_ERROR(store.ScanRows(
      prefix, "", [&](std::string_view key, const Counters& row) {
        KeyReader r(key);
        r.Str();
        WorkloadRow w;
        w.funnel = std::string(r.Str());
        w.stage = std::string(r.Str());
        w.department = std::string(r.Str());
        w.owner = std::string(r.Str());
        w.counters = row;
        rows.push_back(std::move(w));
        return true;
      }));
  return rows;
}

absl::StatusOr<std::vector<QueueEntry>> QueryQueue(const ProjectionStore& store,
                                                   std::string_view department,
                                                   size_t offset, size_t limit,
                                                   size_t* total) {
  if (total != nullptr) {
    VORONKA_ASSIGN_OR_RETURN(Counters length,
                             store.GetRow(Key("ql").Str(department).str()));
    *total = static_cast<size_t>(length.Get("deals"));
  }
  std::vector<QueueEntry> out;
  if (limit == 0) return out;
  size_t seen = 0;
  const std::string prefix = Key("q").Str(department).str();
  VORONKA_RETURN_IF_ERROR(store.ScanEntries(
      prefix, "", [&](std::string_view key, std::string_view value) {
        if (++seen <= offset) return true;
        KeyReader r(key.substr(prefix.size()));
        QueueEntry e;
        e.department = std::string(department);
        e.since = Timestamp::FromUnixMicros(r.Int());
        e.deal = std::string(r.Str());
        e.reason = std::string(value);
        out.push_back(std::move(e));
        return out.size() < limit;
      }));
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> QueueLengths(
    const ProjectionStore& store) {
  std::map<std::string, int64_t> lengths;
  const std::string prefix = Key("ql").str();
  VORONKA_RETURN_IF_ERROR(store.ScanRows(
      prefix, "", [&](std::string_view key, const Counters& row) {
        lengths[std::string(KeyReader(key.substr(prefix.size())).Str())] =
            row.Get("deals");
        return true;
      }));
  return lengths;
}

namespace {

int64_t FloorMod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

const absl::CivilDay kEpochDay(1970, 1, 1);

// The period of `periods` (sorted, contiguous) holding `day`; -1 if none.
int PeriodOf(const std::vector<DayRange>& periods, int64_t day) {
  auto it = std::upper_bound(
      periods.begin(), periods.end(), day,
      [](int64_t d, const DayRange& r) { return d < r.from_day; });
  if (it == periods.begin()) return -1;
  --it;
  return day <= it->to_day ? static_cast<int>(it - periods.begin()) : -1;
}

}  // namespace

std::vector<DayRange> SplitRange(int64_t from_day, int64_t to_day,
                                 Rollup rollup) {
  std::vector<DayRange> out;
  if (from_day > to_day) return out;
  if (rollup == Rollup::kNone) return {{from_day, to_day}};
  for (int64_t d = from_day; d <= to_day;) {
    int64_t end = d;
    if (rollup == Rollup::kWeek) {
      // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays.
      end = d - FloorMod(d + 3, 7) + 6;
    } else if (rollup == Rollup::kMonth) {
      const absl::CivilMonth month(kEpochDay + d);
      end = (absl::CivilDay(month + 1) - kEpochDay) - 1;
    }
    end = std::min(end, to_day);
    out.push_back({d, end});
    d = end + 1;
  }
  return out;
}

absl::StatusOr<std::vector<IndicatorPeriod>> QueryIndicatorPeriods(
    const ProjectionStore& store, std::string_view scope, std::string_view id,
    int64_t from_day, int64_t to_day, Rollup rollup) {
  const std::vector<DayRange> ranges = SplitRange(from_day, to_day, rollup);
  std::vector<IndicatorPeriod> periods(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) periods[i].range = ranges[i];
  if (ranges.empty()) return periods;

  // Summed in small flat vectors (a row has a handful of fields), turned
  // into Counters once: cheaper than a map insert per field and row.
  std::vector<std::vector<std::pair<std::string, int64_t>>> sums(ranges.size());
  const std::string prefix = Key("i").Str(scope).Str(id).str();
  VORONKA_RETURN_IF_ERROR(store.ScanRows(
      prefix, Key("i").Str(scope).Str(id).Int(from_day).str(),
      [&](std::string_view key, const Counters& row) {
        const int64_t day = KeyReader(key.substr(prefix.size())).Int();
        if (day > to_day) return false;
        const int p = PeriodOf(ranges, day);
        if (p < 0) return true;
        auto& sum = sums[p];
        for (const auto& [name, value] : row.fields()) {
          auto it = std::find_if(sum.begin(), sum.end(), [&](const auto& f) {
            return f.first == name;
          });
          if (it == sum.end()) {
            sum.emplace_back(name, value);
          } else {
            it->second += value;
          }
        }
        return true;
      }));
  for (size_t i = 0; i < sums.size(); ++i) {
    for (const auto& [name, value] : sums[i]) {
      periods[i].totals.counters.Add(name, value);
    }
  }

  // One o/ row per day, one field per organisation called that day: read
  // the names from the encoded rows, without decoding them into Counters.
  std::vector<absl::flat_hash_set<std::string>> orgs(ranges.size());
  const std::string org_prefix = Key("o").Str(scope).Str(id).str();
  absl::Status decode_error;
  VORONKA_RETURN_IF_ERROR(store.ScanRowBytes(
      org_prefix, Key("o").Str(scope).Str(id).Int(from_day).str(),
      [&](std::string_view key, std::string_view bytes) {
        const int64_t day = KeyReader(key.substr(org_prefix.size())).Int();
        if (day > to_day) return false;
        const int p = PeriodOf(ranges, day);
        if (p < 0) return true;
        auto& set = orgs[p];
        decode_error =
            Counters::ForEachField(bytes, [&](std::string_view org, int64_t) {
              // absl's own string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0):
              // looks up without building a std::string.
              if (!set.contains(absl::string_view(org.data(), org.size()))) {
                set.emplace(org);
              }
            });
        return decode_error.ok();
      }));
  VORONKA_RETURN_IF_ERROR(decode_error);
  for (size_t i = 0; i < periods.size(); ++i) {
    periods[i].totals.organisations_called =
        static_cast<int64_t>(orgs[i].size());
  }
  return periods;
}

absl::StatusOr<std::vector<DrainWeek>> QueryDrainWeeks(
    const ProjectionStore& indicators, std::string_view manager,
    int64_t last_week_start_day, int weeks, const DrainRule& rule) {
  if (weeks < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("weeks must be >= 0, not ", weeks));
  }
  std::vector<DrainWeek> out;
  if (weeks == 0) return out;
  const int baseline = std::max(rule.baseline_weeks, 0);
  const int64_t last = WeekStart(last_week_start_day);
  const int64_t from = last - 7 * int64_t{weeks - 1 + baseline};
  VORONKA_ASSIGN_OR_RETURN(
      std::vector<IndicatorPeriod> periods,
      QueryIndicatorPeriods(indicators, kIndicatorScopeManager, manager, from,
                            last + 6, Rollup::kWeek));
  // From a Monday to a Sunday: whole weeks, one period each.
  std::vector<WeekActivity> activity;
  activity.reserve(periods.size());
  for (const IndicatorPeriod& p : periods) {
    const Counters& c = p.totals.counters;
    activity.push_back(
        {.top_of_funnel = c.Get("calls") + c.Get("proposals_general"),
         .closings = c.Get("deals_won")});
  }
  const std::span<const WeekActivity> all(activity);
  out.reserve(static_cast<size_t>(weeks));
  for (size_t i = static_cast<size_t>(baseline); i < activity.size(); ++i) {
    out.push_back(
        {.week_start_day = periods[i].range.from_day,
         .top_of_funnel = activity[i].top_of_funnel,
         .closings = activity[i].closings,
         .flagged = IsDraining(all.subspan(i - static_cast<size_t>(baseline),
                                           static_cast<size_t>(baseline) + 1),
                               rule)});
  }
  return out;
}

absl::StatusOr<std::vector<IndicatorTotals>> QueryIndicatorsOfMany(
    const ProjectionStore& store, std::string_view scope,
    std::span<const std::string> ids, int64_t from_day, int64_t to_day,
    int threads) {
  std::vector<IndicatorTotals> out(ids.size());
  std::vector<absl::Status> errors(ids.size());
  auto run = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      absl::StatusOr<IndicatorTotals> t =
          QueryIndicators(store, scope, ids[i], from_day, to_day);
      if (t.ok()) {
        out[i] = std::move(*t);
      } else {
        errors[i] = t.status();
      }
    }
  };
  const size_t n = std::max<size_t>(
      1, std::min<size_t>(static_cast<size_t>(std::max(threads, 1)),
                          ids.size() / 8));
  std::vector<std::thread> workers;
  const size_t chunk = (ids.size() + n - 1) / n;
  for (size_t t = 1; t < n; ++t) {
    workers.emplace_back(run, std::min(ids.size(), t * chunk),
                         std::min(ids.size(), (t + 1) * chunk));
  }
  run(0, std::min(ids.size(), chunk));
  for (std::thread& w : workers) w.join();
  for (const absl::Status& e : errors) VORONKA_RETURN_IF_ERROR(e);
  return out;
}

absl::StatusOr<std::vector<std::string>> DepartmentManagers(
    const ProjectionStore& store, std::string_view department) {
  std::vector<std::string> managers;
  const std::string prefix = Key("md").Str(department).str();
  VORONKA_RETURN_IF_ERROR(store.ScanEntries(
      prefix, "", [&](std::string_view key, std::string_view) {
        managers.emplace_back(KeyReader(key.substr(prefix.size())).Str());
        return true;
      }));
  return managers;
}

absl::StatusOr<std::vector<StageWorkload>> QueryStageWorkloads(
    const ProjectionStore& store, const FunnelConfig& config,
    const WorkloadFilter& filter, Timestamp now) {
  std::vector<StageWorkload> out;
  for (const Funnel& funnel : config.funnels()) {
    const std::string& f = funnel.name.value();
    if (!filter.funnel.empty() && filter.funnel != f) continue;
    for (const Stage& stage : funnel.stages) {
      StageWorkload w;
      w.funnel = f;
      w.stage = stage.name.value();
      const std::string prefix = Key("w").Str(f).Str(w.stage).str();
      VORONKA_RETURN_IF_ERROR(store.ScanRows(
          prefix, "", [&](std::string_view key, const Counters& row) {
            KeyReader r(key.substr(prefix.size()));
            const std::string_view department = r.Str();
            const std::string_view owner = r.Str();
            if (!filter.department.empty() && department != filter.department) {
              return true;
            }
            if ((filter.has_owner || !filter.owner.empty()) &&
                owner != filter.owner) {
              return true;
            }
            w.totals.AddAll(row);
            w.by_department[std::string(department)].AddAll(row);
            w.by_owner[std::string(owner)].AddAll(row);
            return true;
          }));
      w.aged_deals = w.totals.Get("open");
      w.age_sum_s = w.aged_deals * (now.unix_micros() / 1'000'000) -
                    w.totals.Get("entered_s");
      out.push_back(std::move(w));
    }
  }
  return out;
}

namespace {

// Fills department and owner of `d` from its stored state.
absl::Status ReadOwnership(const ProjectionStore& store, OverdueDeal& d) {
  VORONKA_ASSIGN_OR_RETURN(std::optional<DealState> state,
                           ReadDeal(store, DealId(d.deal)));
  if (state) {
    d.department = state->stage_department.value();
    d.owner = state->owner ? state->owner->value() : "";
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<OverdueDeal>> QueryOverdue(
    const ProjectionStore& store, const FunnelConfig& config, Overdue kind,
    const OverdueFilter& filter, Timestamp now, size_t offset, size_t limit,
    size_t* total) {
  std::vector<OverdueDeal> all;
  const char* table = kind == Overdue::kStale ? "st" : "id";
  for (const Funnel& fn : config.funnels()) {
    const std::string& f = fn.name.value();
    if (!filter.funnel.empty() && filter.funnel != f) continue;
    for (const Stage& s : fn.stages) {
      if (!filter.stage.empty() && filter.stage != s.name.value()) continue;
      const absl::Duration max = kind == Overdue::kStale ? s.sla : s.idle_limit;
      if (max == absl::InfiniteDuration()) continue;
      // Over the limit: now - since > max, i.e. since < now - max.
      const int64_t before = (now + (-max)).unix_micros();
      const std::string prefix = Key(table).Str(f).Str(s.name.value()).str();
      VORONKA_RETURN_IF_ERROR(store.ScanEntries(
          prefix, "", [&](std::string_view key, std::string_view) {
            KeyReader r(key.substr(prefix.size()));
            const int64_t since = r.Int();
            if (since >= before) return false;
            all.push_back({.deal = std::string(r.Str()),
                           .funnel = f,
                           .stage = s.name.value(),
                           .since = Timestamp::FromUnixMicros(since),
                           .limit = max});
            return true;
          }));
    }
  }
  std::sort(all.begin(), all.end(),
            [](const OverdueDeal& a, const OverdueDeal& b) {
              return std::tie(a.since, a.funnel, a.stage, a.deal) <
                     std::tie(b.since, b.funnel, b.stage, b.deal);
            });
  const bool by_owner = filter.has_owner || !filter.owner.empty();
  if (!filter.department.empty() || by_owner) {
    std::vector<OverdueDeal> kept;
    for (OverdueDeal& d : all) {
      VORONKA_RETURN_IF_ERROR(ReadOwnership(store, d));
      if (!filter.department.empty() && d.department != filter.department) {
        continue;
      }
      if (by_owner && d.owner != filter.owner) continue;
      kept.push_back(std::move(d));
    }
    all = std::move(kept);
  }
  if (total != nullptr) *total = all.size();
  std::vector<OverdueDeal> page;
  for (size_t i = offset; i < all.size() && page.size() < limit; ++i) {
    page.push_back(std::move(all[i]));
    if (filter.department.empty() && !by_owner) {
      VORONKA_RETURN_IF_ERROR(ReadOwnership(store, page.back()));
    }
  }
  return page;
}

namespace {

// Sums the rows table/funnel/stage/day for day in [from_day, to_day].
absl::StatusOr<Counters> SumDays(const ProjectionStore& store,
                                 std::string_view table,
                                 const std::string& funnel,
                                 const std::string& stage, int64_t from_day,
                                 int64_t to_day) {
  Counters sum;
  const std::string prefix = Key(table).Str(funnel).Str(stage).str();
  VORONKA_RETURN_IF_ERROR(store.ScanRows(
      prefix, Key(table).Str(funnel).Str(stage).Int(from_day).str(),
      [&](std::string_view key, const Counters& row) {
        if (KeyReader(key.substr(prefix.size())).Int() > to_day) return false;
        sum.AddAll(row);
        return true;
      }));
  return sum;
}

}  // namespace

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> QueryGeometry(
    const ProjectionStore& store, const Funnel& funnel, int64_t from_day,
    int64_t to_day) {
  std::vector<std::pair<std::string, int64_t>> out;
  for (const Stage& s : funnel.stages) {
    VORONKA_ASSIGN_OR_RETURN(
        Counters sum, SumDays(store, "g", funnel.name.value(), s.name.value(),
                              from_day, to_day));
    out.emplace_back(s.name.value(), sum.Get("reached"));
  }
  return out;
}

absl::StatusOr<std::vector<StageConversion>> QueryConversion(
    const ProjectionStore& store, const Funnel& funnel, int64_t from_day,
    int64_t to_day) {
  std::vector<StageConversion> out;
  for (const Stage& s : funnel.stages) {
    VORONKA_ASSIGN_OR_RETURN(
        Counters sum, SumDays(store, "c", funnel.name.value(), s.name.value(),
                              from_day, to_day));
    out.push_back({s.name.value(), std::move(sum)});
  }
  return out;
}

absl::StatusOr<std::map<std::string, absl::btree_map<std::string, int64_t>>>
QueryForecast(const ProjectionStore& store, ForecastGroup group,
              std::string_view funnel) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<WorkloadRow> rows,
                           QueryWorkloads(store, funnel));
  std::map<std::string, absl::btree_map<std::string, int64_t>> out;
  for (const WorkloadRow& w : rows) {
    const auto amounts = w.counters.MoneyOf("forecast_bp");
    if (amounts.empty()) continue;
    const std::string& name = group == ForecastGroup::kFunnel ? w.funnel
                              : group == ForecastGroup::kDepartment
                                  ? w.department
                                  : w.owner;
    auto& sums = out[name];
    for (const auto& [currency, bp] : amounts) sums[currency] += bp;
  }
  return out;
}

absl::StatusOr<std::vector<absl::Duration>> QueryClaimWaitList(
    const ProjectionStore& store, std::string_view department, int64_t from_day,
    int64_t to_day) {
  std::vector<absl::Duration> waits;
  const std::string prefix = Key("cl").Str(department).str();
  VORONKA_RETURN_IF_ERROR(
      store.ScanEntries(prefix, Key("cl").Str(department).Int(from_day).str(),
                        [&](std::string_view key, std::string_view) {
                          KeyReader r(key.substr(prefix.size()));
                          if (r.Int() > to_day) return false;
                          waits.push_back(absl::Microseconds(r.Int()));
                          return true;
                        }));
  return waits;
}

absl::StatusOr<WaitStats> QueryClaimWaits(const ProjectionStore& store,
                                          std::string_view department,
                                          int64_t from_day, int64_t to_day) {
  VORONKA_ASSIGN_OR_RETURN(
      std::vector<absl::Duration> list,
      QueryClaimWaitList(store, department, from_day, to_day));
  std::vector<int64_t> waits;
  waits.reserve(list.size());
  for (absl::Duration d : list) waits.push_back(absl::ToInt64Microseconds(d));
  WaitStats stats;
  if (waits.empty()) return stats;
  std::sort(waits.begin(), waits.end());
  const int64_t n = static_cast<int64_t>(waits.size());
  int64_t sum = 0;
  for (int64_t w : waits) sum += w;
  // Nearest rank: the ceil(p/100 * n)-th smallest.
  auto rank = [&](int64_t p) { return waits[(p * n + 99) / 100 - 1]; };
  stats.count = n;
  stats.mean = absl::Microseconds(sum / n);
  stats.p50 = absl::Microseconds(rank(50));
  stats.p90 = absl::Microseconds(rank(90));
  stats.max = absl::Microseconds(waits.back());
  return stats;
}

}  // namespace voronka
