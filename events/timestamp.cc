#include "events/timestamp.h"

#include <cctype>

#include "fmt/format.h"

namespace voronka {
namespace {

absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// absl's %Ez accepts a missing offset in some spellings; RFC 3339 does not,
// so the offset is checked by hand before parsing: the text must end in "Z",
// "z" or "+hh:mm" / "-hh:mm".
bool HasOffset(std::string_view s) {
  if (s.empty()) return false;
  if (s.back() == 'Z' || s.back() == 'z') return true;
  if (s.size() < 6) return false;
  std::string_view tail = s.substr(s.size() - 6);
  return (tail[0] == '+' || tail[0] == '-') && std::isdigit(tail[1]) &&
         std::isdigit(tail[2]) && tail[3] == ':' && std::isdigit(tail[4]) &&
         std::isdigit(tail[5]);
}

}  // namespace

absl::StatusOr<Timestamp> ParseRfc3339(std::string_view text) {
  if (text.size() < 19 || (text[10] != 'T' && text[10] != 't')) {
    return absl::InvalidArgumentError(fmt::format(
        "\"{}\" is not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ssZ)", text));
  }
  if (!HasOffset(text)) {
    return absl::InvalidArgumentError(fmt::format(
        "\"{}\" has no UTC offset (end it with Z or +hh:mm)", text));
  }
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, AbslView(text), &t, &err)) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" is not an RFC 3339 date-time: {}", text, err));
  }
  return Timestamp::FromAbsl(t);
}

absl::StatusOr<Timestamp> ParseRfc3339Date(std::string_view text) {
  absl::Time t;
  std::string err;
  if (text.size() != 10 || !absl::ParseTime("%Y-%m-%d", AbslView(text),
                                            absl::UTCTimeZone(), &t, &err)) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" is not an RFC 3339 full-date (YYYY-MM-DD)", text));
  }
  return Timestamp::FromAbsl(t);
}

std::string FormatRfc3339(Timestamp t) {
  // Not absl::RFC3339_full: its %Ez writes "+00:00" where we promise "Z".
  return absl::FormatTime("%Y-%m-%d%ET%H:%M:%E*SZ", t.ToAbsl(),
                          absl::UTCTimeZone());
}

}  // namespace voronka
