#include "tests/testing/prometheus_text.h"

#include <cctype>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace voronka::testing {
namespace {

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c));
}
bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

// Followed by a label list: "by (a, b)".
const std::set<std::string>& GroupingKeywords() {
  static const auto* words = new std::set<std::string>{
      "by", "without", "on", "ignoring", "group_left", "group_right"};
  return *words;
}

// Never metric names where they stand.
const std::set<std::string>& OtherKeywords() {
  static const auto* words = new std::set<std::string>{
      // Operators and modifiers.
      "and", "or", "unless", "bool", "offset", "atan2", "inf", "nan",
      // Aggregation operators: "sum by (x) (...)" has no "(" after "sum".
      "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
      "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"};
  return *words;
}

// The index just past the bracket that closes the one at `i`, skipping
// quoted strings inside (a label value may hold "}").
size_t SkipBracketed(absl::string_view s, size_t i, char open, char close);

// The index just past the string literal that starts at `i`.
size_t SkipString(absl::string_view s, size_t i) {
  const char quote = s[i++];
  while (i < s.size() && s[i] != quote) {
    if (s[i] == '\\' && quote != '`') ++i;
    ++i;
  }
  return std::min(i + 1, s.size());
}

size_t SkipBracketed(absl::string_view s, size_t i, char open, char close) {
  int depth = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(s, i);
      continue;
    }
    if (c == open) ++depth;
    if (c == close && --depth == 0) return i + 1;
    ++i;
  }
  return i;
}

size_t SkipSpaces(absl::string_view s, size_t i) {
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return i;
}

}  // namespace

std::set<std::string> MetricNamesInPromQL(std::string_view expr) {
  const absl::string_view s(expr.data(), expr.size());
  std::set<std::string> names;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"' || c == '\'' || c == '`') {
      i = SkipString(s, i);
    } else if (c == '{') {
      i = SkipBracketed(s, i, '{', '}');
    } else if (c == '[') {
      i = SkipBracketed(s, i, '[', ']');
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '$') {  // Grafana: $var, ${var}, ${var:format}.
      ++i;
      if (i < s.size() && s[i] == '{') {
        i = SkipBracketed(s, i, '{', '}');
      } else {
        while (i < s.size() && IsNameChar(s[i])) ++i;
      }
    } else if (IsDigit(c) ||
               (c == '.' && i + 1 < s.size() && IsDigit(s[i + 1]))) {
      // 42, 0.5, 1e-3, 0x1f, 5m, 1h30m.
      ++i;
      while (i < s.size() && (IsNameChar(s[i]) || s[i] == '.' ||
                              ((s[i] == '-' || s[i] == '+') &&
                               (s[i - 1] == 'e' || s[i - 1] == 'E')))) {
        ++i;
      }
    } else if (IsNameStart(c)) {
      const size_t start = i;
      while (i < s.size() && IsNameChar(s[i])) ++i;
      const std::string word(s.substr(start, i - start));
      const std::string lower = absl::AsciiStrToLower(word);
      const size_t next = SkipSpaces(s, i);
      if (GroupingKeywords().count(lower) > 0) {
        if (next < s.size() && s[next] == '(') {
          i = SkipBracketed(s, next, '(', ')');
        }
      } else if (OtherKeywords().count(lower) > 0) {
        // Not a name.
      } else if (next < s.size() && s[next] == '(') {
        // A function: rate(, histogram_quantile(, label_replace(, ...
      } else {
        names.insert(word);
      }
    } else {
      ++i;
    }
  }
  return names;
}

MetricTypes ExposedMetrics(std::string_view in) {
  const absl::string_view text(in.data(), in.size());
  MetricTypes types;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "#")) {
      std::vector<absl::string_view> words =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (words.size() >= 3 && words[0] == "TYPE") {
        types[std::string(words[1])] = std::string(words[2]);
      }
      continue;
    }
    size_t end = 0;
    while (end < line.size() && IsNameChar(line[end])) ++end;
    if (end > 0) types.emplace(std::string(line.substr(0, end)), "");
  }
  return types;
}

MetricTypes MetricCatalog(std::string_view in) {
  const absl::string_view markdown(in.data(), in.size());
  MetricTypes types;
  bool in_per_manager = false;
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::StartsWith(line, "With `--metrics-per-manager`")) {
      in_per_manager = true;
    } else if (line.empty()) {
      in_per_manager = false;
    }
    if (in_per_manager) {
      std::vector<absl::string_view> parts = absl::StrSplit(line, '`');
      for (size_t k = 1; k < parts.size(); k += 2) {  // Inside backticks.
        if (absl::StartsWith(parts[k], "voronka_")) {
          types[std::string(parts[k])] = "gauge";
        }
      }
      continue;
    }
    if (!absl::StartsWith(line, "|")) continue;
    std::vector<absl::string_view> cells = absl::StrSplit(line, '|');
    // "| `name` | type | labels | meaning |" -> "", " `name` ", " type ", ...
    if (cells.size() < 3) continue;
    absl::string_view name = absl::StripAsciiWhitespace(cells[1]);
    if (!absl::ConsumePrefix(&name, "`") || !absl::ConsumeSuffix(&name, "`") ||
        !absl::StartsWith(name, "voronka_")) {
      continue;
    }
    types[std::string(name)] =
        std::string(absl::StripAsciiWhitespace(cells[2]));
  }
  return types;
}

std::string MetricFamily(const std::string& name, const MetricTypes& types) {
  if (types.count(name) > 0) return name;
  for (absl::string_view suffix : {"_bucket", "_sum", "_count"}) {
    absl::string_view base = name;
    if (!absl::ConsumeSuffix(&base, suffix)) continue;
    auto it = types.find(std::string(base));
    if (it != types.end() &&
        (it->second == "histogram" || it->second == "summary")) {
      return it->first;
    }
  }
  return name;
}

std::set<std::string> MarkdownAnchors(std::string_view in) {
  const absl::string_view markdown(in.data(), in.size());
  std::set<std::string> anchors;
  bool in_code = false;
  for (absl::string_view line : absl::StrSplit(markdown, '\n')) {
    if (absl::StartsWith(line, "```")) in_code = !in_code;
    if (in_code || !absl::StartsWith(line, "#")) continue;
    line = absl::StripLeadingAsciiWhitespace(line.substr(line.find(' ') + 1));
    std::string anchor;
    for (char c : absl::StripTrailingAsciiWhitespace(line)) {
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
        anchor += absl::ascii_tolower(static_cast<unsigned char>(c));
      } else if (c == ' ') {
        anchor += '-';
      }
    }
    anchors.insert(anchor);
  }
  return anchors;
}

}  // namespace voronka::testing
