// Timestamp: an instant in UTC, microsecond resolution.
//
// Events carry two: `time` (when it happened, from the sender, RFC 3339 with
// an offset) and `recorded_time` (when Voronka accepted it). Stored as
// microseconds since the Unix epoch so that ordering and arithmetic are plain
// integer operations and a projection never consults a clock.
//
//   absl::StatusOr<Timestamp> t = ParseRfc3339("2026-11-23T09:30:00+03:00");
//   FormatRfc3339(*t) == "2026-11-23T06:30:00Z"
#ifndef VORONKA_EVENTS_TIMESTAMP_H_
#define VORONKA_EVENTS_TIMESTAMP_H_

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace voronka {

class Timestamp {
 public:
  constexpr Timestamp() = default;
  static constexpr Timestamp FromUnixMicros(int64_t us) {
    return Timestamp(us);
  }
  static Timestamp FromAbsl(absl::Time t) {
    return Timestamp(absl::ToUnixMicros(t));
  }
  static Timestamp Now() { return FromAbsl(absl::Now()); }

  constexpr int64_t unix_micros() const { return micros_; }
  absl::Time ToAbsl() const { return absl::FromUnixMicros(micros_); }
  // The zero timestamp (the epoch) means "not set".
  constexpr bool is_set() const { return micros_ != 0; }

  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
  friend Timestamp operator+(Timestamp t, absl::Duration d) {
    return Timestamp(t.micros_ + absl::ToInt64Microseconds(d));
  }
  friend absl::Duration operator-(Timestamp a, Timestamp b) {
    return absl::Microseconds(a.micros_ - b.micros_);
  }
  template <typename H>
  friend H AbslHashValue(H h, Timestamp t) {
    return H::combine(std::move(h), t.micros_);
  }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(micros_);
  }

 private:
  constexpr explicit Timestamp(int64_t us) : micros_(us) {}
  int64_t micros_ = 0;
};

// Parses an RFC 3339 date-time that carries an offset ("Z" or "+03:00").
// Fractions beyond microseconds are truncated. Returns InvalidArgument with
// the reason for anything else, including a time without an offset.
absl::StatusOr<Timestamp> ParseRfc3339(std::string_view text);

// Parses an RFC 3339 full-date ("2026-12-01") as midnight UTC.
absl::StatusOr<Timestamp> ParseRfc3339Date(std::string_view text);

// Formats in UTC with "Z" and only as many fraction digits as needed.
std::string FormatRfc3339(Timestamp t);

}  // namespace voronka

#endif  // VORONKA_EVENTS_TIMESTAMP_H_
