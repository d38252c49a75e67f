// Prometheus text for tests: which metric names a PromQL expression reads,
// which metric families a `GET /metrics` answer exposes, and which metrics
// the catalog of docs/observability.md lists. Used by
// tests/monitoring_config_test.cc to check that dashboards and alerts only
// use metrics Voronka exports.
//
//   MetricNamesInPromQL(
//       "sum by (le) (rate(voronka_claim_wait_seconds_bucket[5m]))")
//     == {"voronka_claim_wait_seconds_bucket"}
//   MetricFamily("voronka_claim_wait_seconds_bucket", catalog)
//     == "voronka_claim_wait_seconds"   (a histogram in the catalog)
#ifndef VORONKA_TESTS_TESTING_PROMETHEUS_TEXT_H_
#define VORONKA_TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <map>
#include <set>
#include <string>
#include <string_view>

namespace voronka::testing {

// The metric names `expr` selects. A small lexer, not a parser (a query
// that does not parse gives some answer, not an error): it drops quoted
// strings, label matchers {...}, ranges and subqueries [...], numbers and
// durations, Grafana variables ($var, ${var}), comments, keywords (and, or,
// unless, bool, offset, ...), aggregation operators, function names (a name
// followed by "("), and the label lists after by, without, on, ignoring,
// group_left and group_right. What is left is a metric name.
std::set<std::string> MetricNamesInPromQL(std::string_view expr);

// Metric name -> type ("counter", "gauge", "histogram", ...; "" when
// unknown).
using MetricTypes = std::map<std::string, std::string>;

// The families of an exposition text (`GET /metrics`, text format 0.0.4):
// every name of a "# TYPE" line with its type, and every sample's name
// (x_bucket, x_sum, ... included) with type "" unless a TYPE line names it.
MetricTypes ExposedMetrics(std::string_view text);

// The metric catalog of docs/observability.md: every table row whose first
// cell is a backticked `voronka_...` name, with the type of its second
// cell, plus the names of the paragraph that starts "With
// `--metrics-per-manager`:" (gauges).
MetricTypes MetricCatalog(std::string_view markdown);

// The family a selected name belongs to: without its _bucket, _sum or
// _count suffix when the rest is a histogram or summary in `types`, else
// `name` itself.
std::string MetricFamily(const std::string& name, const MetricTypes& types);

// GitHub's anchors of the Markdown headings in `markdown` ("### Foo Bar" ->
// "foo-bar").
std::set<std::string> MarkdownAnchors(std::string_view markdown);

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_PROMETHEUS_TEXT_H_
