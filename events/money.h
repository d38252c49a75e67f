// Money: an integer amount in minor units (kopecks, cents) and its currency.
//
// Money is never a float. Sums are kept per currency; adding two amounts of
// different currencies is a programming error, so there is no operator+ here:
// read models keep a map from Currency to int64_t instead.
//
//   absl::StatusOr<Currency> rub = Currency::FromCode("RUB");
//   Money price{1'500'00, *rub};   // 1,500.00 RUB
#ifndef VORONKA_EVENTS_MONEY_H_
#define VORONKA_EVENTS_MONEY_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace voronka {

// An active ISO 4217 alphabetic code ("RUB", "USD", "EUR"...).
class Currency {
 public:
  Currency() = default;  // Invalid until assigned; code() is "".

  // Returns the currency for an upper-case three-letter ISO 4217 code, or
  // InvalidArgument naming the code if it is not an active ISO 4217 currency.
  static absl::StatusOr<Currency> FromCode(std::string_view code);

  std::string_view code() const {
    return std::string_view(code_.data(), code_[0] ? 3 : 0);
  }
  bool valid() const { return code_[0] != 0; }

  friend auto operator<=>(const Currency&, const Currency&) = default;
  friend bool operator==(const Currency&, const Currency&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Currency& c) {
    return H::combine(std::move(h), c.code_);
  }
  template <class Archive>
  void serialize(Archive& ar) {
    ar(code_[0], code_[1], code_[2]);
  }

 private:
  std::array<char, 3> code_{0, 0, 0};
};

// True if `code` is an active ISO 4217 alphabetic code.
bool IsIso4217(std::string_view code);

// The largest amount an event may carry: 10^14 minor units (a trillion
// roubles or dollars). It keeps amount x win probability in basis points
// (at most 10^18) and sums of many such products inside int64.
inline constexpr int64_t kMaxAmountMinor = 100'000'000'000'000;

struct Money {
  int64_t minor = 0;
  Currency currency;

  friend auto operator<=>(const Money&, const Money&) = default;
  friend bool operator==(const Money&, const Money&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(minor, currency);
  }
};

// "150000 RUB" (minor units, as stored); used in logs and error messages.
std::string ToString(const Money& m);

}  // namespace voronka

#endif  // VORONKA_EVENTS_MONEY_H_
