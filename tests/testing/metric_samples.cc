#include "tests/testing/metric_samples.h"

#include <cctype>
#include <cstdlib>
#include <set>
#include <utility>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "fmt/format.h"

namespace voronka::testing {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}

// Reads a name at `i` (metric or label); empty if none.
std::string ReadName(absl::string_view line, size_t& i) {
  const size_t start = i;
  while (i < line.size() && IsNameChar(line[i])) ++i;
  return std::string(line.substr(start, i - start));
}

// Reads a quoted label value at `i` (at the opening quote), unescaping
// \\, \" and \n. False if it is not one.
bool ReadQuoted(absl::string_view line, size_t& i, std::string& out) {
  if (i >= line.size() || line[i] != '"') return false;
  for (++i; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      ++i;
      return true;
    }
    if (c == '\\') {
      if (++i >= line.size()) return false;
      switch (line[i]) {
        case '\\':
          out += '\\';
          break;
        case '"':
          out += '"';
          break;
        case 'n':
          out += '\n';
          break;
        default:
          return false;
      }
    } else {
      out += c;
    }
  }
  return false;
}

absl::StatusOr<MetricSample> ParseSample(absl::string_view line) {
  MetricSample sample;
  size_t i = 0;
  sample.name = ReadName(line, i);
  if (sample.name.empty()) {
    return absl::InvalidArgumentError("no metric name");
  }
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      std::string label = ReadName(line, i);
      if (label.empty() || i >= line.size() || line[i] != '=') {
        return absl::InvalidArgumentError("bad label name");
      }
      ++i;
      std::string value;
      if (!ReadQuoted(line, i, value)) {
        return absl::InvalidArgumentError("bad label value");
      }
      if (!sample.labels.emplace(label, std::move(value)).second) {
        return absl::InvalidArgumentError("label " + label + " twice");
      }
      if (i < line.size() && line[i] == ',') ++i;
    }
  }
  std::vector<absl::string_view> rest =
      absl::StrSplit(line.substr(i), ' ', absl::SkipEmpty());
  if (rest.empty() || rest.size() > 2) {
    return absl::InvalidArgumentError("expected a value (and a timestamp)");
  }
  const std::string value(rest[0]);
  char* end = nullptr;
  sample.value = std::strtod(value.c_str(), &end);
  if (end != value.c_str() + value.size()) {
    return absl::InvalidArgumentError("bad value " + value);
  }
  return sample;
}

}  // namespace

absl::StatusOr<MetricSamples> MetricSamples::Parse(std::string_view in) {
  const absl::string_view text(in.data(), in.size());
  MetricSamples out;
  std::set<std::pair<std::string, MetricLabels>> seen;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "#")) {
      std::vector<absl::string_view> words =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (words.size() >= 3 && words[0] == "TYPE") {
        out.types_[std::string(words[1])] = std::string(words[2]);
      }
      continue;
    }
    absl::StatusOr<MetricSample> sample = ParseSample(line);
    if (!sample.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "line {}: {}: {}", number, std::string(sample.status().message()),
          std::string(line)));
    }
    if (!seen.emplace(sample->name, sample->labels).second) {
      return absl::InvalidArgumentError(fmt::format(
          "line {}: the same series twice: {}", number, std::string(line)));
    }
    out.samples_.push_back(std::move(*sample));
  }
  return out;
}

std::optional<double> MetricSamples::Get(const std::string& name,
                                         const MetricLabels& labels) const {
  for (const MetricSample& s : samples_) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  return std::nullopt;
}

std::vector<MetricLabels> MetricSamples::Series(const std::string& name) const {
  std::vector<MetricLabels> out;
  for (const MetricSample& s : samples_) {
    if (s.name == name) out.push_back(s.labels);
  }
  return out;
}

bool MetricSamples::HasFamily(const std::string& name) const {
  return types_.count(name) > 0;
}

std::string MetricSamples::TypeOf(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? "" : it->second;
}

}  // namespace voronka::testing
