#include "events/money.h"

#include <algorithm>
#include <iterator>

#include "fmt/format.h"

namespace voronka {
namespace {

// Active ISO 4217 alphabetic codes (list published by SIX, 2024), sorted for
// binary search. Funds codes and precious metals (XAU, XDR...) are excluded:
// they are not prices a sales team quotes.
constexpr std::string_view kIso4217[] = {
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM",
    "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN",
    "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP",
    "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD",
    "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL",
    "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD", "JPY",
    "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
    "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP",
    "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT",
    "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS",
    "VES", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW",
    "ZWL",
};

}  // namespace

bool IsIso4217(std::string_view code) {
  return std::binary_search(std::begin(kIso4217), std::end(kIso4217), code);
}

absl::StatusOr<Currency> Currency::FromCode(std::string_view code) {
  if (!IsIso4217(code)) {
    return absl::InvalidArgumentError(
        fmt::format("\"{}\" is not an ISO 4217 currency code", code));
  }
  Currency c;
  std::copy(code.begin(), code.end(), c.code_.begin());
  return c;
}

std::string ToString(const Money& m) {
  return fmt::format("{} {}", m.minor, m.currency.code());
}

}  // namespace voronka
