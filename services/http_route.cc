#include "services/http_route.h"

#include <algorithm>
#include <utility>

#include "events/status.h"
#include "fmt/format.h"

namespace voronka {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    if (end == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
}

bool IsParamName(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(std::string_view s,
                                          bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(
            fmt::format("bad percent-encoding at byte {}", i));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
      continue;
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

absl::StatusOr<ParsedTarget> ParseTarget(std::string_view target) {
  if (target.empty() || target[0] != '/') {
    return absl::InvalidArgumentError("the request target must be a path");
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  std::string_view raw_path = target;
  std::string_view raw_query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    raw_path = target.substr(0, q);
    raw_query = target.substr(q + 1);
  }
  ParsedTarget parsed;
  VORONKA_ASSIGN_OR_RETURN(parsed.path, PercentDecode(raw_path, false));
  std::vector<std::string_view> raw_segments = Split(raw_path.substr(1), '/');
  for (std::string_view raw : raw_segments) {
    VORONKA_ASSIGN_OR_RETURN(std::string segment, PercentDecode(raw, false));
    parsed.segments.push_back(std::move(segment));
  }
  if (!raw_query.empty()) {
    for (std::string_view pair : Split(raw_query, '&')) {
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string_view key = pair.substr(0, eq);
      std::string_view value = eq == std::string_view::npos
                                   ? std::string_view()
                                   : pair.substr(eq + 1);
      VORONKA_ASSIGN_OR_RETURN(std::string k, PercentDecode(key, true));
      VORONKA_ASSIGN_OR_RETURN(std::string v, PercentDecode(value, true));
      parsed.query.emplace_back(std::move(k), std::move(v));
    }
  }
  return parsed;
}

absl::Status RouteTable::Add(std::string method, std::string pattern,
                             HttpHandler handler) {
  if (method.empty() || !handler) {
    return absl::InvalidArgumentError("a route needs a method and a handler");
  }
  if (pattern.empty() || pattern[0] != '/') {
    return absl::InvalidArgumentError(
        fmt::format("route pattern '{}' must start with '/'", pattern));
  }
  Entry entry{.method = method, .pattern = pattern};
  for (std::string_view s : Split(std::string_view(pattern).substr(1), '/')) {
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
      std::string_view name = s.substr(1, s.size() - 2);
      if (!IsParamName(name)) {
        return absl::InvalidArgumentError(fmt::format(
            "route pattern '{}': bad parameter name '{}'", pattern, name));
      }
      entry.segments.push_back({std::string(name), true});
    } else if (s.find_first_of("{}") != std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format(
          "route pattern '{}': a parameter must be a whole segment", pattern));
    } else {
      entry.segments.push_back({std::string(s), false});
      ++entry.literal_count;
    }
  }
  for (const Entry& e : entries_) {
    if (e.method == method && e.pattern == pattern) {
      return absl::AlreadyExistsError(
          fmt::format("route {} {} is already defined", method, pattern));
    }
  }
  entry.handler = std::move(handler);
  entries_.push_back(std::move(entry));
  return absl::OkStatus();
}

bool RouteTable::Matches(const Entry& e,
                         const std::vector<std::string>& segments,
                         HttpFields* params) {
  if (e.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = e.segments[i];
    if (s.is_param ? segments[i].empty() : s.text != segments[i]) return false;
  }
  if (params != nullptr) {
    for (size_t i = 0; i < segments.size(); ++i) {
      if (e.segments[i].is_param) {
        params->emplace_back(e.segments[i].text, segments[i]);
      }
    }
  }
  return true;
}

RouteTable::Match RouteTable::Find(
    std::string_view method, const std::vector<std::string>& segments) const {
  Match match;
  const Entry* best = nullptr;
  for (const Entry& e : entries_) {
    if (!Matches(e, segments, nullptr)) continue;
    if (e.method != method) {
      match.allowed.push_back(e.method);
      continue;
    }
    if (best == nullptr || e.literal_count > best->literal_count) best = &e;
  }
  if (best != nullptr) {
    match.allowed.clear();
    match.handler = &best->handler;
    match.pattern = best->pattern;
    Matches(*best, segments, &match.params);
    return match;
  }
  std::sort(match.allowed.begin(), match.allowed.end());
  match.allowed.erase(std::unique(match.allowed.begin(), match.allowed.end()),
                      match.allowed.end());
  return match;
}

}  // namespace voronka
