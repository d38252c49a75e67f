// Counters: a row of named int64 counters, the value type of every aggregate
// read model (indicators per day, stage workloads, geometry, conversion).
//
// Names are short strings; money is kept per currency under "<name>.<ISO>"
// ("applications_amount.RUB"), never mixed. Rows add field by field, and a
// field that sums to zero disappears, so a row's encoding depends only on its
// values, not on the order of the additions that produced it: the property
// that makes rebuilds and incremental runs byte-identical.
//
// In the store, rows are combined by CountersMergeOperator (a RocksDB
// associative merge operator), so projectors add deltas without reading.
//
//   Counters row;
//   row.Add("calls", 1);
//   row.AddMoney("applications_amount", Money{125000, rub});
//   std::string bytes = row.Encode();
#ifndef VORONKA_PROJECTIONS_COUNTERS_H_
#define VORONKA_PROJECTIONS_COUNTERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/container/btree_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "events/money.h"

namespace rocksdb {
class MergeOperator;
}

namespace voronka {

class Counters {
 public:
  using Map = absl::btree_map<std::string, int64_t, std::less<>>;

  void Add(std::string_view name, int64_t delta);
  void AddMoney(std::string_view name, const Money& amount, int64_t sign = 1);
  // Adds every field of `other` times `sign` (+1 or -1).
  void AddAll(const Counters& other, int64_t sign = 1);

  int64_t Get(std::string_view name) const;
  // Every "<name>.<ISO>" field as ISO -> amount.
  absl::btree_map<std::string, int64_t> MoneyOf(std::string_view name) const;
  const Map& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

  // Canonical bytes: fields in name order, zero fields omitted.
  std::string Encode() const;
  // DataLoss if `bytes` is not an Encode() result.
  static absl::StatusOr<Counters> Decode(std::string_view bytes);
  // Calls `fn(name, value)` for each field of encoded `bytes`, in name
  // order, without building a Counters; DataLoss as Decode().
  static absl::Status ForEachField(
      std::string_view bytes,
      absl::FunctionRef<void(std::string_view, int64_t)> fn);

  friend bool operator==(const Counters&, const Counters&) = default;

 private:
  Map fields_;
};

// RocksDB merge operator adding Counters rows (all operands of a key in one
// pass); a malformed operand is logged by RocksDB as a merge failure (the
// key then reads as Corruption).
std::shared_ptr<rocksdb::MergeOperator> NewCountersMergeOperator();

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_COUNTERS_H_
