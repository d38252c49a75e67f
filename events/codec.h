// The binary record format of the log and of the stores: cereal's portable
// binary archive behind a one-byte format tag.
//
//   byte 0      kRecordFormatV1 (0x01)
//   bytes 1..   cereal PortableBinary of Event, every struct with a class
//               version (docs/events.md lists them)
//
// Encoding never fails. Decoding returns DataLoss ("corruption") for bytes
// that are not a record this build understands; it never throws and never
// reads past `bytes`. Thread-safe: no shared state.
//
//   std::string bytes = EncodeEvent(e);
//   absl::StatusOr<Event> back = DecodeEvent(bytes);   // *back == e
#ifndef VORONKA_EVENTS_CODEC_H_
#define VORONKA_EVENTS_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <optional>

#include "absl/status/statusor.h"
#include "events/event.h"

namespace voronka {

inline constexpr uint8_t kRecordFormatV1 = 0x01;
// The content-type a Kafka record of this format carries.
inline constexpr std::string_view kRecordContentType =
    "application/vnd.voronka.event.v1+cereal";

std::string EncodeEvent(const Event& event);
void EncodeEventTo(const Event& event, std::string* out);  // Replaces *out.

absl::StatusOr<Event> DecodeEvent(std::string_view bytes);

// Where the 8 bytes of recorded_time sit in `record` (a record DecodeEvent
// accepted), so that content can be compared without re-encoding: zeroing
// them gives exactly EncodeEvent() of the event with recorded_time unset.
// nullopt if `record` is too short to say.
std::optional<size_t> RecordedTimeOffset(std::string_view record);

}  // namespace voronka

#endif  // VORONKA_EVENTS_CODEC_H_
