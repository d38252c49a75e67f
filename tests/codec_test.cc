// The binary record format (events/codec.h): round trips, a frozen v1 record
// that must keep decoding forever, and corrupt input reported as DataLoss.
#include "events/codec.h"

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sample_events.h"

namespace voronka {
namespace {

using ::testing::HasSubstr;
using testing::SampleEventsOfEveryType;

std::string Hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(
        std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(CodecTest, EveryEventTypeRoundTrips) {
  std::vector<Event> events = SampleEventsOfEveryType();
  std::set<EventType> types;
  for (const Event& e : events) {
    absl::StatusOr<Event> back = DecodeEvent(EncodeEvent(e));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, e) << e.type_name();
    types.insert(e.type());
  }
  EXPECT_EQ(types.size(), static_cast<size_t>(kEventTypeCount));
}

TEST(CodecTest, RecordStartsWithFormatTag) {
  std::string bytes = EncodeEvent(SampleEventsOfEveryType()[1]);
  ASSERT_FALSE(bytes.empty());
  EXPECT_EQ(static_cast<uint8_t>(bytes[0]), kRecordFormatV1);
}

// A v1 record written by the first release. If this test fails, the format
// changed in a way that breaks every log already on disk: add a new class
// version instead (docs/events.md, "Evolving the format").
constexpr std::string_view kFrozenV1ManagerJoined =
    "01010100000005000000000000006576742d31070000000000000063726d2f7765"
    "6200c05688465f060078945a88465f0600080000000100000006000000000000006d"
    "2d616e6e610f000000000000006c6561645f67656e65726174696f6e000c00000000"
    "000000416e6e6120506574726f7661";

TEST(CodecTest, FrozenV1RecordStillDecodes) {
  Event e = SampleEventsOfEveryType()[0];  // manager.joined
  std::string encoded = Hex(EncodeEvent(e));
  absl::StatusOr<Event> back = DecodeEvent(Unhex(kFrozenV1ManagerJoined));
  ASSERT_TRUE(back.ok()) << back.status() << "\ncurrent encoding: " << encoded;
  EXPECT_EQ(*back, e);
}

TEST(CodecTest, EmptyRecordIsDataLoss) {
  absl::StatusOr<Event> r = DecodeEvent("");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
}

TEST(CodecTest, UnknownFormatTagIsDataLoss) {
  std::string bytes = EncodeEvent(SampleEventsOfEveryType()[1]);
  bytes[0] = 0x7f;
  absl::StatusOr<Event> r = DecodeEvent(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("format tag 127"));
}

TEST(CodecTest, EveryTruncationIsDataLossNotACrash) {
  for (const Event& e : SampleEventsOfEveryType()) {
    std::string bytes = EncodeEvent(e);
    for (size_t len = 1; len < bytes.size(); ++len) {
      absl::StatusOr<Event> r =
          DecodeEvent(std::string_view(bytes).substr(0, len));
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss)
          << e.type_name() << " truncated to " << len;
    }
  }
}

TEST(CodecTest, TrailingBytesAreDataLoss) {
  std::string bytes = EncodeEvent(SampleEventsOfEveryType()[1]) + "xx";
  absl::StatusOr<Event> r = DecodeEvent(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("trailing"));
}

TEST(CodecTest, OutOfRangeEnumIsDataLoss) {
  Event e = SampleEventsOfEveryType()[1];  // call.logged
  std::get<CallLogged>(e.data).outcome = static_cast<CallOutcome>(9);
  absl::StatusOr<Event> r = DecodeEvent(EncodeEvent(e));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("outcome"));
}

TEST(CodecTest, HugeLengthFieldIsDataLossWithoutAllocating) {
  std::string bytes = EncodeEvent(SampleEventsOfEveryType()[0]);
  // Byte 0 is the tag, 1 cereal's endianness flag, 2..5 the Event class
  // version, 6..13 the length of the first string (the event id).
  for (int i = 6; i < 14; ++i) bytes[i] = static_cast<char>(0x7f);
  absl::StatusOr<Event> r = DecodeEvent(bytes);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(r.status().message(), HasSubstr("exceeds the record limit"));
}

TEST(CodecTest, RandomGarbageNeverCrashes) {
  std::mt19937 rng(7);
  std::string base = EncodeEvent(SampleEventsOfEveryType()[5]);
  int decoded = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = base;
    bytes[1 + rng() % (bytes.size() - 1)] = static_cast<char>(rng());
    absl::StatusOr<Event> r = DecodeEvent(bytes);
    if (r.ok())
      ++decoded;  // A flipped byte inside a string still decodes.
    else
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  }
  EXPECT_LT(decoded, 5000);
}

}  // namespace
}  // namespace voronka

namespace voronka {
namespace {

// Zeroing recorded_time in a stored record gives the encoding of the event
// without it: what de-duplication fingerprints rely on.
TEST(CodecTest, RecordedTimeOffsetFindsTheField) {
  for (Event e : testing::SampleEventsOfEveryType()) {
    e.recorded_time = testing::T("2026-11-23T10:00:00Z");
    std::string record = EncodeEvent(e);
    std::optional<size_t> at = RecordedTimeOffset(record);
    ASSERT_TRUE(at.has_value()) << e.type_name();
    std::memset(record.data() + *at, 0, 8);
    e.recorded_time = Timestamp();
    EXPECT_EQ(record, EncodeEvent(e)) << e.type_name();
  }
  EXPECT_FALSE(RecordedTimeOffset("").has_value());
  EXPECT_FALSE(RecordedTimeOffset("\x01\x01").has_value());
}

}  // namespace
}  // namespace voronka
