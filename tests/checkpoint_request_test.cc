// Checkpoint requests (services/checkpoint_request.h): a projector serving
// them answers with an exact copy of its store; nobody serving is a quick
// DeadlineExceeded that leaves nothing behind; a withdrawn request is never
// served.
#include "services/checkpoint_request.h"

#include <filesystem>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "projections/store.h"
#include "projections/view.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

std::unique_ptr<ProjectionStore> StoreWithOneEntry(const std::string& path) {
  auto store = ProjectionStore::Open({.path = path});
  EXPECT_TRUE(store.ok()) << store.status();
  Changes changes;
  changes.entries["k"] = "v";
  EXPECT_TRUE((*store)->Commit(changes, {7}).ok());
  return std::move(*store);
}

TEST(CheckpointRequestTest, AServingProjectorAnswersWithACopy) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("funnel"));
  std::unique_ptr<ProjectionStore> store = StoreWithOneEntry(dir.Sub("store"));
  std::atomic<bool> stop{false};
  std::thread projector([&] {
    while (!stop) {
      EXPECT_TRUE(ServeCheckpointRequests(dir.Sub("funnel"), *store).ok());
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  const absl::Status asked =
      RequestCheckpoint(dir.Sub("funnel"), dir.Sub("copy"), absl::Seconds(10));
  stop = true;
  projector.join();
  ASSERT_TRUE(asked.ok()) << asked;
  store.reset();
  auto copy = ProjectionStore::Open({.path = dir.Sub("copy")});
  ASSERT_TRUE(copy.ok()) << copy.status();
  auto value = (*copy)->Get("k");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(value->value_or(""), "v");
  EXPECT_EQ((*copy)->Positions().value_or(std::vector<int64_t>{}),
            std::vector<int64_t>{7});
  // Nothing of the exchange is left behind.
  EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("funnel")));
}

TEST(CheckpointRequestTest, NobodyServingIsDeadlineExceededAndWithdrawn) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("funnel"));
  const absl::Time start = absl::Now();
  const absl::Status asked = RequestCheckpoint(
      dir.Sub("funnel"), dir.Sub("copy"), absl::Milliseconds(200));
  EXPECT_TRUE(absl::IsDeadlineExceeded(asked)) << asked;
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_TRUE(std::filesystem::is_empty(dir.Sub("funnel")));
  // A projector coming later finds nothing to serve and writes nothing.
  std::unique_ptr<ProjectionStore> store = StoreWithOneEntry(dir.Sub("store"));
  auto served = ServeCheckpointRequests(dir.Sub("funnel"), *store);
  ASSERT_TRUE(served.ok());
  EXPECT_EQ(*served, 0);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("copy")));
}

TEST(CheckpointRequestTest, AFailedCheckpointIsTheRequestersError) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.Sub("funnel"));
  std::filesystem::create_directories(dir.Sub("copy"));  // Target exists.
  std::unique_ptr<ProjectionStore> store = StoreWithOneEntry(dir.Sub("store"));
  std::thread projector([&] {
    absl::SleepFor(absl::Milliseconds(100));
    EXPECT_TRUE(ServeCheckpointRequests(dir.Sub("funnel"), *store).ok());
  });
  const absl::Status asked =
      RequestCheckpoint(dir.Sub("funnel"), dir.Sub("copy"), absl::Seconds(10));
  projector.join();
  EXPECT_FALSE(asked.ok());
  EXPECT_NE(asked.message().find("exists"), absl::string_view::npos) << asked;
}

}  // namespace
}  // namespace voronka
