#include "projections/counters.h"

#include <cstring>
#include <deque>

#include "fmt/format.h"
#include "rocksdb/merge_operator.h"

namespace voronka {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

}  // namespace

void Counters::Add(std::string_view name, int64_t delta) {
  if (delta == 0) return;
  auto it = fields_.find(name);
  if (it == fields_.end()) {
    fields_.emplace(std::string(name), delta);
    return;
  }
  it->second += delta;
  if (it->second == 0) fields_.erase(it);
}

void Counters::AddMoney(std::string_view name, const Money& amount,
                        int64_t sign) {
  Add(fmt::format("{}.{}", name, amount.currency.code()), sign * amount.minor);
}

void Counters::AddAll(const Counters& other, int64_t sign) {
  for (const auto& [name, value] : other.fields_) Add(name, sign * value);
}

int64_t Counters::Get(std::string_view name) const {
  auto it = fields_.find(name);
  return it == fields_.end() ? 0 : it->second;
}

absl::btree_map<std::string, int64_t> Counters::MoneyOf(
    std::string_view name) const {
  absl::btree_map<std::string, int64_t> out;
  const std::string prefix = fmt::format("{}.", name);
  for (auto it = fields_.lower_bound(prefix);
       it != fields_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    out[it->first.substr(prefix.size())] = it->second;
  }
  return out;
}

std::string Counters::Encode() const {
  std::string out;
  for (const auto& [name, value] : fields_) {
    PutVarint(out, name.size());
    out.append(name);
    PutVarint(out, ZigZag(value));
  }
  return out;
}

absl::Status Counters::ForEachField(
    std::string_view bytes,
    absl::FunctionRef<void(std::string_view, int64_t)> fn) {
  while (!bytes.empty()) {
    uint64_t len = 0, value = 0;
    if (!GetVarint(bytes, len) || len > bytes.size()) {
      return absl::DataLossError("counters: truncated field name");
    }
    std::string_view name = bytes.substr(0, len);
    bytes.remove_prefix(len);
    if (!GetVarint(bytes, value)) {
      return absl::DataLossError(
          fmt::format("counters: truncated value of {}", name));
    }
    fn(name, UnZigZag(value));
  }
  return absl::OkStatus();
}

absl::StatusOr<Counters> Counters::Decode(std::string_view bytes) {
  Counters row;
  absl::Status s = ForEachField(
      bytes,
      [&](std::string_view name, int64_t value) { row.Add(name, value); });
  if (!s.ok()) return s;
  return row;
}

namespace {

// Sums every operand at once (one decode each, one encode), rather than
// pairwise as an AssociativeMergeOperator would: rows with many fields (the
// organisations called per day) would otherwise be re-encoded per operand.
class CountersMergeOperator : public rocksdb::MergeOperator {
 public:
  bool FullMergeV2(const MergeOperationInput& in,
                   MergeOperationOutput* out) const override {
    Counters sum;
    if (in.existing_value != nullptr &&
        !AddTo(in.existing_value->ToStringView(), sum)) {
      return false;
    }
    for (const rocksdb::Slice& operand : in.operand_list) {
      if (!AddTo(operand.ToStringView(), sum)) return false;
    }
    out->new_value = sum.Encode();
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/,
                         const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value,
                         rocksdb::Logger* /*logger*/) const override {
    Counters sum;
    for (const rocksdb::Slice& operand : operands) {
      if (!AddTo(operand.ToStringView(), sum)) return false;
    }
    *new_value = sum.Encode();
    return true;
  }

  const char* Name() const override { return "voronka.CountersMerge.v1"; }

 private:
  static bool AddTo(std::string_view bytes, Counters& sum) {
    return Counters::ForEachField(bytes,
                                  [&](std::string_view name, int64_t value) {
                                    sum.Add(name, value);
                                  })
        .ok();
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewCountersMergeOperator() {
  return std::make_shared<CountersMergeOperator>();
}

}  // namespace voronka
