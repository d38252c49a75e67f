// STUB: replaced by the real CloudEvents codec.
#include "events/cloudevents.h"

namespace voronka {
struct CloudEventsDecoder::Impl {};
CloudEventsDecoder::CloudEventsDecoder(const FunnelConfig&) {}
CloudEventsDecoder::~CloudEventsDecoder() = default;
DecodeResult CloudEventsDecoder::DecodeStructured(std::string_view) {
  return {.errors = {{-1, "$", "unimplemented"}}};
}
DecodeResult CloudEventsDecoder::DecodeBatch(std::string_view) {
  return {.errors = {{-1, "$", "unimplemented"}}};
}
DecodeResult CloudEventsDecoder::DecodeBinary(const Headers&, std::string_view,
                                              Binding) {
  return {.errors = {{-1, "$", "unimplemented"}}};
}
std::string ToStructuredJson(const Event&) { return "{}"; }
std::string ToBatchJson(std::span<const Event>) { return "[]"; }
std::pair<Headers, std::string> ToBinary(const Event&, Binding) { return {}; }
}  // namespace voronka
