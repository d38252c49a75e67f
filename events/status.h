// Errors as values.
//
// Voronka returns absl::Status / absl::StatusOr<T> from every operation that
// can fail; exceptions thrown by libraries (cereal, yaml-cpp, librdkafka's C++
// parts, RocksDB never throws) are caught at the adapter's edge and turned into
// one of these codes:
//
//   InvalidArgument  bad input from outside (an event, a configuration, a flag)
//   Unavailable      the log (broker, disk) cannot take or give data right now;
//                    the caller may retry later, nothing was acknowledged
//   DataLoss         "Corruption": a stored record that does not decode; the
//                    message names its position
//   NotFound, FailedPrecondition, Internal  as in absl
//
// Usage:
//   absl::StatusOr<Event> DecodeOne(std::string_view bytes);
//   absl::Status Apply(...) {
//     VORONKA_ASSIGN_OR_RETURN(Event e, DecodeOne(bytes));
//     VORONKA_RETURN_IF_ERROR(Store(e));
//     return absl::OkStatus();
//   }
#ifndef VORONKA_EVENTS_STATUS_H_
#define VORONKA_EVENTS_STATUS_H_

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

// Debian's absl keeps its own string_view type (not std::string_view), so
// Status::message() needs a formatter to be used with fmt::format.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  auto format(absl::string_view s, fmt::format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(
        std::string_view(s.data(), s.size()), ctx);
  }
};

namespace voronka {
// The std::string_view of a Status message (absl::string_view in Debian).
inline std::string_view MessageOf(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}
}  // namespace voronka

#define VORONKA_CONCAT_INNER_(a, b) a##b
#define VORONKA_CONCAT_(a, b) VORONKA_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` is not OK.
#define VORONKA_RETURN_IF_ERROR(expr)                                   \
  do {                                                                  \
    if (absl::Status voronka_status_ = (expr); !voronka_status_.ok()) { \
      return voronka_status_;                                           \
    }                                                                   \
  } while (false)

// Declares `lhs` from the value of a StatusOr, or returns its error.
#define VORONKA_ASSIGN_OR_RETURN(lhs, expr)                                   \
  VORONKA_ASSIGN_OR_RETURN_IMPL_(VORONKA_CONCAT_(voronka_or_, __LINE__), lhs, \
                                 expr)
#define VORONKA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).status();       \
  lhs = std::move(tmp).value()

#endif  // VORONKA_EVENTS_STATUS_H_
