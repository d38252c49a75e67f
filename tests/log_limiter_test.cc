// LogLimiter (services/log_limiter.h): at most N lines a second, and the
// next line allowed says how many were dropped.
#include "services/log_limiter.h"

#include "gtest/gtest.h"

namespace voronka {
namespace {

TEST(LogLimiterTest, AllowsNPerSecondAndCountsTheRest) {
  LogLimiter limiter(3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Allow(), 0) << i;
  EXPECT_EQ(limiter.Allow(), std::nullopt);
  EXPECT_EQ(limiter.Allow(), std::nullopt);
  absl::SleepFor(absl::Milliseconds(1050));
  EXPECT_EQ(limiter.Allow(), 2);  // A new second; two were dropped.
  EXPECT_EQ(limiter.Allow(), 0);
}

TEST(LogLimiterTest, NoteNamesTheDroppedLines) {
  EXPECT_EQ(LogLimiter::Note(0), "");
  EXPECT_EQ(LogLimiter::Note(7), " (7 similar lines dropped)");
}

}  // namespace
}  // namespace voronka
