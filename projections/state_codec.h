// The stored form of projection entity states (DealState, InvoiceState):
// one format byte, then the state as a cereal portable binary archive. A new
// field bumps the format byte's meaning through the struct's serialize(),
// the same way events evolve (docs/events.md).
//
//   std::string bytes = EncodeState(kDealStateV1, state);
//   absl::StatusOr<DealState> back = DecodeState<DealState>(kDealStateV1,
//                                                          "deal state",
//                                                          bytes);
#ifndef VORONKA_PROJECTIONS_STATE_CODEC_H_
#define VORONKA_PROJECTIONS_STATE_CODEC_H_

#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "cereal/archives/portable_binary.hpp"
#include "fmt/format.h"

namespace voronka {

template <typename State>
std::string EncodeState(char format, const State& state) {
  std::ostringstream os;
  os.put(format);
  {
    cereal::PortableBinaryOutputArchive ar(os);
    ar(const_cast<State&>(state));
  }
  return std::move(os).str();
}

// DataLoss naming `what` if `bytes` is not a `format` record of State.
template <typename State>
absl::StatusOr<State> DecodeState(char format, std::string_view what,
                                  std::string_view bytes) {
  if (bytes.empty() || bytes[0] != format) {
    return absl::DataLossError(fmt::format("{}: unknown format", what));
  }
  std::istringstream is(std::string(bytes.substr(1)));
  State state;
  try {
    cereal::PortableBinaryInputArchive ar(is);
    ar(state);
  } catch (const std::exception& e) {
    return absl::DataLossError(
        fmt::format("{} does not decode: {}", what, e.what()));
  }
  return state;
}

}  // namespace voronka

#endif  // VORONKA_PROJECTIONS_STATE_CODEC_H_
