// MetricSamples: the samples of a Prometheus text exposition (format 0.0.4,
// what `GET /metrics` and Metrics::Render() answer), looked up by metric
// name and exact label set. For tests that assert metric values.
//
//   auto s = MetricSamples::Parse(metrics.Render());
//   s->Get("voronka_deals_open", {{"funnel", "acquisition"},
//                                 {"stage", "new"},
//                                 {"department", "lead_generation"}})
//     == 2.0
//   s->Get("voronka_claim_wait_today_seconds_bucket",
//          {{"department", "sales"}, {"le", "+Inf"}})
//
// Label order does not matter; a lookup matches only a sample with exactly
// those labels (no more, no fewer). `le` values are compared as written by
// the exposition ("60", "0.5", "+Inf").
#ifndef VORONKA_TESTS_TESTING_METRIC_SAMPLES_H_
#define VORONKA_TESTS_TESTING_METRIC_SAMPLES_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace voronka::testing {

using MetricLabels = std::map<std::string, std::string>;

struct MetricSample {
  std::string name;
  MetricLabels labels;
  double value = 0;
};

class MetricSamples {
 public:
  // InvalidArgument naming the line for a sample line that does not parse,
  // or for two samples with the same name and labels.
  static absl::StatusOr<MetricSamples> Parse(std::string_view text);

  // The value of the sample with this name and exactly these labels.
  std::optional<double> Get(const std::string& name,
                            const MetricLabels& labels = {}) const;
  // The label sets of every sample named `name`, in exposition order.
  std::vector<MetricLabels> Series(const std::string& name) const;
  // Whether a "# TYPE name ..." line declares the family.
  bool HasFamily(const std::string& name) const;
  // The family's type from its TYPE line ("" if none).
  std::string TypeOf(const std::string& name) const;

  const std::vector<MetricSample>& samples() const { return samples_; }

 private:
  std::vector<MetricSample> samples_;
  std::map<std::string, std::string> types_;
};

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_METRIC_SAMPLES_H_
