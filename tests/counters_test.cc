// Counters rows: canonical encoding, field-by-field reading, and the RocksDB
// merge operator summing deltas however RocksDB groups them (at read time,
// in flushes, in compactions).
#include "projections/counters.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "projections/store.h"
#include "rocksdb/db.h"
#include "rocksdb/merge_operator.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

TEST(CountersTest, EncodingDependsOnlyOnTheValues) {
  Counters a;
  a.Add("calls", 3);
  a.Add("org-2", 1);
  a.Add("org-1", 5);
  a.Add("org-1", -5);  // Sums to zero: gone.
  Counters b;
  b.Add("org-2", 1);
  b.Add("calls", 1);
  b.Add("calls", 2);
  EXPECT_EQ(a.Encode(), b.Encode());
  EXPECT_EQ(a.fields(), (Counters::Map{{"calls", 3}, {"org-2", 1}}));
  auto decoded = Counters::Decode(a.Encode());
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, a);
}

TEST(CountersTest, ForEachFieldReadsTheEncodingInNameOrder) {
  Counters row;
  row.Add("talk_seconds", -70000000000);
  row.Add("calls", 1);
  row.AddMoney("applications_amount",
               Money{125000, *Currency::FromCode("RUB")});
  std::vector<std::pair<std::string, int64_t>> seen;
  ASSERT_TRUE(Counters::ForEachField(row.Encode(), [&](std::string_view name,
                                                       int64_t v) {
                seen.emplace_back(name, v);
              }).ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, int64_t>>{
                      {"applications_amount.RUB", 125000},
                      {"calls", 1},
                      {"talk_seconds", -70000000000}}));
}

TEST(CountersTest, TruncatedBytesAreDataLoss) {
  Counters row;
  row.Add("calls_answered", 300);
  const std::string bytes = row.Encode();
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    absl::Status s = Counters::ForEachField(bytes.substr(0, cut),
                                            [](std::string_view, int64_t) {});
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << "cut at " << cut;
    EXPECT_EQ(Counters::Decode(bytes.substr(0, cut)).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

// Random deltas merged into a few keys, with flushes and compactions in
// between: every key reads as the plain sum, and a fully compacted key holds
// exactly the canonical encoding of that sum.
TEST(CountersMergeTest, MergedRowsAreTheSumWhateverRocksDbGroups) {
  testing::TempDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.merge_operator = NewCountersMergeOperator();
  options.write_buffer_size = 64 << 10;  // Many small flushes.
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.Sub("db"), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);

  std::mt19937_64 rng(17);
  std::map<std::string, Counters> expected;
  for (int i = 0; i < 4000; ++i) {
    const std::string key = fmt::format("o/m/{}", rng() % 5);
    Counters delta;
    for (int f = 0; f < 1 + static_cast<int>(rng() % 4); ++f) {
      delta.Add(fmt::format("org-{}", rng() % 300),
                static_cast<int64_t>(rng() % 7) - 2);
    }
    expected[key].AddAll(delta);
    ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), key, delta.Encode()).ok());
    if (i % 997 == 0) {
      ASSERT_TRUE(db->Flush(rocksdb::FlushOptions()).ok());
    }
    if (i == 2500) {
      ASSERT_TRUE(
          db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr)
              .ok());
    }
  }
  auto check = [&](const std::string& when) {
    for (const auto& [key, sum] : expected) {
      std::string value;
      ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), key, &value).ok()) << key;
      EXPECT_EQ(value, sum.Encode()) << key << " " << when;
    }
  };
  check("with pending operands");
  ASSERT_TRUE(
      db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  check("after a full compaction");
}

TEST(CountersMergeTest, AMalformedOperandFailsTheMergeInsteadOfGuessing) {
  testing::TempDir dir;
  rocksdb::Options options;
  options.create_if_missing = true;
  options.merge_operator = NewCountersMergeOperator();
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.Sub("db"), &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  Counters good;
  good.Add("calls", 1);
  ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), "k", good.Encode()).ok());
  ASSERT_TRUE(db->Merge(rocksdb::WriteOptions(), "k", "\x7f").ok());
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), "k", &value);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

// A store filled by many commits, then compacted as a rebuild does before it
// goes into service: the same model, row for row.
TEST(CountersMergeTest, CompactingAStoresRowsKeepsItsModel) {
  testing::TempDir dir;
  auto store = ProjectionStore::Open({.path = dir.Sub("store")});
  ASSERT_TRUE(store.ok()) << store.status();
  std::mt19937_64 rng(5);
  std::map<std::string, Counters> expected;
  for (int64_t batch = 1; batch <= 300; ++batch) {
    Changes changes;
    for (int i = 0; i < 20; ++i) {
      const std::string key = fmt::format("w/acquisition/{}", rng() % 9);
      const std::string field = fmt::format("f{}", rng() % 4);
      const int64_t delta = static_cast<int64_t>(rng() % 5) - 2;
      changes.rows[key].Add(field, delta);
      expected[key].Add(field, delta);
    }
    ASSERT_TRUE((*store)->Commit(changes, {batch}).ok());
  }
  auto before = (*store)->CanonicalDump();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE((*store)->CompactRows().ok());
  auto after = (*store)->CanonicalDump();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*before, *after);
  for (const auto& [key, sum] : expected) {
    auto row = (*store)->GetRow(key);
    ASSERT_TRUE(row.ok());
    EXPECT_EQ(*row, sum) << key;
  }
}

}  // namespace
}  // namespace voronka
