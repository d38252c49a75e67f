#include "projections/queries.h"

#include "absl/container/flat_hash_set.h"
#include "events/status.h"
#include "projections/keys.h"

namespace voronka {

absl::StatusOr<IndicatorTotals> QueryIndicators(const ProjectionStore& store,
                                                std::string_view scope,
                                                std::string_view id,
                                                int64_t from_day,
                                                int64_t to_day) {
  IndicatorTotals totals;
  const std::string prefix = Key("i").Str(scope).Str(id).str();
  const std::string end = Key("i").Str(scope).Str(id).Int(to_day).str();
  VORONKA_RETURN_IF_ERROR(
      store.ScanRows(prefix, Key("i").Str(scope).Str(id).Int(from_day).str(),
                     [&](std::string_view key, const Counters& row) {
                       if (key > end) return false;
                       totals.counters.AddAll(row);
                       return true;
                     }));
  absl::flat_hash_set<std::string> orgs;
  const std::string org_prefix = Key("o").Str(scope).Str(id).str();
  const int64_t org_day_end = to_day + 1;
  VORONKA_RETURN_IF_ERROR(store.ScanEntries(
      org_prefix, Key("o").Str(scope).Str(id).Int(from_day).str(),
      [&](std::string_view key, std::string_view) {
        KeyReader r(key.substr(org_prefix.size()));
        if (r.Int() >= org_day_end) return false;
        orgs.insert(std::string(r.Str()));
        return true;
      }));
  totals.organisations_called = static_cast<int64_t>(orgs.size());
  return totals;
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
  std::vector<QueueEntry> out;
  size_t seen = 0;
  const std::string prefix = Key("q").Str(department).str();
  VORONKA_RETURN_IF_ERROR(store.ScanEntries(
      prefix, "", [&](std::string_view key, std::string_view value) {
        ++seen;
        if (seen > offset && out.size() < limit) {
          KeyReader r(key.substr(prefix.size()));
          QueueEntry e;
          e.department = std::string(department);
          e.since = Timestamp::FromUnixMicros(r.Int());
          e.deal = std::string(r.Str());
          e.reason = std::string(value);
          out.push_back(std::move(e));
        }
        return total != nullptr || out.size() < limit;
      }));
  if (total != nullptr) *total = seen;
  return out;
}

absl::StatusOr<std::map<std::string, int64_t>> QueueLengths(
    const ProjectionStore& store) {
  std::map<std::string, int64_t> lengths;
  VORONKA_RETURN_IF_ERROR(store.ScanEntries(
      Key("q").str(), "", [&](std::string_view key, std::string_view) {
        KeyReader r(key);
        r.Str();
        ++lengths[std::string(r.Str())];
        return true;
      }));
  return lengths;
}

}  // namespace voronka
