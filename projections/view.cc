#include "projections/view.h"

#include "absl/time/civil_time.h"

namespace voronka {

void Changes::Add(const View& view, int sign) {
  for (const auto& [key, row] : view.rows) rows[key].AddAll(row, sign);
  for (const auto& [key, value] : view.entries) {
    if (sign > 0) {
      entries[key] = value;
    } else {
      entries[key] = std::nullopt;
    }
  }
}

void Changes::AddDiff(const View& before, const View& after) {
  for (const auto& [key, row] : before.rows) rows[key].AddAll(row, -1);
  for (const auto& [key, row] : after.rows) rows[key].AddAll(row, +1);
  for (const auto& [key, value] : before.entries) {
    if (!after.entries.contains(key)) entries[key] = std::nullopt;
  }
  for (const auto& [key, value] : after.entries) {
    auto old = before.entries.find(key);
    if (old == before.entries.end() || old->second != value) {
      entries[key] = value;
    }
  }
}

int64_t DayOf(Timestamp t, const absl::TimeZone& tz) {
  static const absl::CivilDay kEpoch(1970, 1, 1);
  return absl::ToCivilDay(t.ToAbsl(), tz) - kEpoch;
}

}  // namespace voronka
