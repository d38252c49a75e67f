// EmbeddedLog specifics beyond the conformance suite: reopening, corrupt
// records (reported with their position, skipped only by explicit choice),
// exclusive access.
#include "events/embedded_log.h"

#include "events/codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using testing::Calls;
using ::testing::HasSubstr;

std::unique_ptr<EmbeddedLog> OpenOrDie(const std::string& path) {
  auto log = EmbeddedLog::Open({.path = path});
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

TEST(EmbeddedLogTest, ReopenKeepsRecordsAndContinuesOffsets) {
  testing::TempDir dir;
  {
    auto log = OpenOrDie(dir.Sub("log"));
    ASSERT_TRUE(log->Append(Calls(10)).ok());
  }
  auto log = OpenOrDie(dir.Sub("log"));
  EXPECT_EQ(*log->EndOffsets(), std::vector<int64_t>{10});
  auto pos = log->Append(Calls(2));
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ((*pos)[0].offset, 10);
  EXPECT_EQ((*pos)[1].offset, 11);
}

TEST(EmbeddedLogTest, SecondOpenOfTheSameDirectoryIsUnavailable) {
  testing::TempDir dir;
  auto first = OpenOrDie(dir.Sub("log"));
  auto second = EmbeddedLog::Open({.path = dir.Sub("log")});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("lock"));
}

TEST(EmbeddedLogTest, CorruptRecordStopsTheReaderWithItsPosition) {
  testing::TempDir dir;
  auto log = OpenOrDie(dir.Sub("log"));
  ASSERT_TRUE(log->Append(Calls(3)).ok());
  std::vector<std::string> garbage = {"\x01not-cereal"};
  ASSERT_TRUE(log->AppendRaw(garbage).ok());  // offset 3
  ASSERT_TRUE(log->Append(Calls(2)).ok());

  auto reader = log->OpenReader({});
  ASSERT_TRUE(reader.ok());
  auto first = (*reader)->Next(100, absl::ZeroDuration());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 3u);  // Everything before the bad record.
  for (int attempt = 0; attempt < 2; ++attempt) {  // It stays there.
    auto bad = (*reader)->Next(100, absl::ZeroDuration());
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(bad.status().message(), HasSubstr("partition 0 offset 3"));
  }
  EXPECT_EQ((*reader)->positions(), std::vector<int64_t>{3});
}

TEST(EmbeddedLogTest, DeadLetterHandlerReceivesCorruptRecordAndReadingGoesOn) {
  testing::TempDir dir;
  auto log = OpenOrDie(dir.Sub("log"));
  ASSERT_TRUE(log->Append(Calls(2)).ok());
  std::vector<std::string> garbage = {std::string("\x02whatever")};
  ASSERT_TRUE(log->AppendRaw(garbage).ok());
  ASSERT_TRUE(log->Append(Calls(2)).ok());

  std::vector<CorruptRecord> dead;
  auto reader = log->OpenReader(
      {.dead_letter = [&](const CorruptRecord& r) { dead.push_back(r); }});
  ASSERT_TRUE(reader.ok());
  auto got = (*reader)->Next(100, absl::ZeroDuration());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->size(), 4u);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].position, (LogPosition{0, 2}));
  EXPECT_EQ(dead[0].bytes, garbage[0]);
  EXPECT_EQ(dead[0].error.code(), absl::StatusCode::kDataLoss);
}

TEST(EmbeddedLogTest, StartOffsetsForMoreThanOnePartitionAreRejected) {
  testing::TempDir dir;
  auto log = OpenOrDie(dir.Sub("log"));
  auto reader = log->OpenReader({.start_offsets = {0, 0}});
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(EmbeddedLogTest, ReadAtOnAReadOnlyLogSeesTheLogAsOfItsOpen) {
  testing::TempDir dir;
  auto log = OpenOrDie(dir.Sub("log"));
  std::vector<Event> events = Calls(10);
  auto pos = log->Append(events);
  ASSERT_TRUE(pos.ok());
  auto secondary =
      EmbeddedLog::Open({.path = dir.Sub("log"), .read_only = true});
  ASSERT_TRUE(secondary.ok()) << secondary.status();
  auto later = log->Append(Calls(2));
  ASSERT_TRUE(later.ok());

  std::vector<LogPosition> positions = {(*pos)[9], (*pos)[0], (*pos)[4]};
  std::vector<Event> got;
  auto collect = [&](const LogRecord& r) {
    got.push_back(r.event);
    return absl::OkStatus();
  };
  absl::Status status = (*secondary)->ReadAt(positions, collect);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(got, (std::vector<Event>{events[9], events[0], events[4]}));
  // Appended after the open: beyond its end.
  absl::Status beyond = (*secondary)->ReadAt(*later, collect);
  EXPECT_EQ(beyond.code(), absl::StatusCode::kNotFound) << beyond;
  EXPECT_THAT(beyond.message(), HasSubstr("partition 0 offset 10"));
}

}  // namespace
}  // namespace voronka
