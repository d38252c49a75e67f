#include "projections/indicator_projection.h"

#include "events/status.h"
#include "fmt/format.h"
#include "projections/indicators.h"
#include "projections/keys.h"

namespace voronka {

IndicatorProjection::IndicatorProjection(const FunnelConfig& config)
    : config_(config),
      version_(fmt::format("indicators/{}/{:016x}", kVersion,
                           ConfigFingerprint(config))) {
  absl::LoadTimeZone(config.timezone(), &tz_);
}

absl::Status IndicatorProjection::Apply(const Event& event, Txn& txn) {
  AddIndicatorView(event, config_, tz_, txn.changes());
  if (!TouchesInvoiceState(event)) return absl::OkStatus();

  std::string key;
  if (const auto* i = event.get_if<InvoiceIssued>()) {
    key = Key("inv").Str(i->deal.value()).Str(i->invoice.value()).str();
  } else {
    const auto& p = std::get<InvoicePaid>(event.data);
    key = Key("inv").Str(p.deal.value()).Str(p.invoice.value()).str();
  }
  VORONKA_ASSIGN_OR_RETURN(std::optional<std::string> bytes, txn.Get(key));
  InvoiceState state;
  if (bytes) {
    VORONKA_ASSIGN_OR_RETURN(state, DecodeInvoiceState(*bytes));
  }
  const View before = InvoiceView(state, tz_);
  if (!state.Add(event)) return absl::OkStatus();
  txn.changes().AddDiff(before, InvoiceView(state, tz_));
  txn.Put(key, EncodeInvoiceState(state));
  return absl::OkStatus();
}

}  // namespace voronka
