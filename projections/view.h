// View: what one entity (a deal, an invoice) or one event contributes to the
// read models — counter rows to add and index entries to hold — and Changes,
// the difference between two views that a projector writes.
//
// Projections never update a read model by "what happened last": they
// compute an entity's whole view before and after an event and write the
// difference. That makes the result a function of the set of events, not of
// their arrival order, which is what the determinism tests check.
//
//   View before = DealView(old_state, ...), after = DealView(new_state, ...);
//   Changes changes;
//   changes.AddDiff(before, after);   // rows: after - before; entries:
//   upsert/erase
#ifndef VORONKA_PROJECTIONS_VIEW_H_
#define VORONKA_PROJECTIONS_VIEW_H_

#include <optional>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/time/time.h"
#include "events/timestamp.h"
#include "projections/counters.h"

namespace voronka {

struct View {
  absl::btree_map<std::string, Counters> rows;
  absl::btree_map<std::string, std::string> entries;

  Counters& Row(const std::string& key) { return rows[key]; }
  void Put(const std::string& key, std::string value) {
    entries[key] = std::move(value);
  }
};

struct Changes {
  absl::btree_map<std::string, Counters> rows;  // Deltas to merge.
  // Entries to put (value) or delete (nullopt).
  absl::btree_map<std::string, std::optional<std::string>> entries;

  // A view can be written straight into the changes (it appears, sign +1)
  // through the same Row()/Put() a View has, without building it first.
  Counters& Row(const std::string& key) { return rows[key]; }
  void Put(const std::string& key, std::string value) {
    entries[key] = std::move(value);
  }

  // Adds `view` times `sign` (+1: the view appears, -1: it goes away).
  void Add(const View& view, int sign);
  // Adds after - before, touching only what differs.
  void AddDiff(const View& before, const View& after);
  bool empty() const { return rows.empty() && entries.empty(); }
};

// The day (in `tz`) that `t` falls on, as days since 1970-01-01.
int64_t DayOf(Timestamp t, const absl::TimeZone& tz);

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_VIEW_H_
