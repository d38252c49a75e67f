// IndicatorProjection: the leading indicators of indicators.h in a store.
// Rows per event are stateless; invoices without a named payer manager keep
// an InvoiceState under inv/<deal>/<invoice>.
#ifndef VORONKA_PROJECTIONS_INDICATOR_PROJECTION_H_
#define VORONKA_PROJECTIONS_INDICATOR_PROJECTION_H_

#include "absl/time/time.h"
#include "events/funnel_config.h"
#include "projections/projection.h"

namespace voronka {

class IndicatorProjection : public Projection {
 public:
  // 2: organisations called per day as counter rows (o/...), not entries.
  static constexpr int kVersion = 2;
  explicit IndicatorProjection(const FunnelConfig& config);

  std::string_view name() const override { return "indicators"; }
  std::string version() const override { return version_; }
  absl::Status Load(const ProjectionStore&) override {
    return absl::OkStatus();
  }
  absl::Status Apply(const Event& event, Txn& txn) override;

 private:
  const FunnelConfig& config_;
  std::string version_;
  absl::TimeZone tz_;
};

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_INDICATOR_PROJECTION_H_
