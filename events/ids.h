// Strong types for the identifiers that events carry.
//
// An OrgId can not be passed where a DealId is expected, although both are
// strings on the wire. Values are not validated here: validation belongs to
// the decoders (events/cloudevents.h), which enforce DOMAIN.md's rule of
// 1-128 printable characters. Cheap to copy for short ids (SSO).
//
//   OrgId org("org-17");
//   absl::flat_hash_map<DealId, DealState> deals;   // hashable, ordered
#ifndef VORONKA_EVENTS_IDS_H_
#define VORONKA_EVENTS_IDS_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace voronka {

template <typename Tag>
class StringId {
 public:
  StringId() = default;
  explicit StringId(std::string value) : value_(std::move(value)) {}
  explicit StringId(std::string_view value) : value_(value) {}
  explicit StringId(const char* value) : value_(value) {}

  const std::string& value() const { return value_; }
  bool empty() const { return value_.empty(); }

  friend auto operator<=>(const StringId&, const StringId&) = default;
  friend bool operator==(const StringId&, const StringId&) = default;

  template <typename H>
  friend H AbslHashValue(H h, const StringId& id) {
    return H::combine(std::move(h), id.value_);
  }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(value_);
  }

 private:
  std::string value_;
};

using EventId = StringId<struct EventIdTag>;
using SourceId = StringId<struct SourceIdTag>;
using OrgId = StringId<struct OrgIdTag>;
using DealId = StringId<struct DealIdTag>;
using ManagerId = StringId<struct ManagerIdTag>;
using InvoiceId = StringId<struct InvoiceIdTag>;
// Department, funnel and stage names must exist in the funnel configuration.
using DepartmentId = StringId<struct DepartmentIdTag>;
using FunnelId = StringId<struct FunnelIdTag>;
using StageId = StringId<struct StageIdTag>;

// Where a record sits in the log: a partition and an offset within it.
// The embedded log has a single partition 0. Offsets start at 0 and are dense
// in the embedded log; in Kafka they only increase.
struct LogPosition {
  int32_t partition = 0;
  int64_t offset = 0;

  friend auto operator<=>(const LogPosition&, const LogPosition&) = default;
  friend bool operator==(const LogPosition&, const LogPosition&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const LogPosition& p) {
    return H::combine(std::move(h), p.partition, p.offset);
  }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(partition, offset);
  }
};

}  // namespace voronka

#endif  // VORONKA_EVENTS_IDS_H_
