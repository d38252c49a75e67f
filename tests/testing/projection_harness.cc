#include "tests/testing/projection_harness.h"

#include <sstream>

#include "gtest/gtest.h"

namespace voronka::testing {

ProjectionHarness::ProjectionHarness(const std::string& dir, EventLog* log,
                                     const FunnelConfig& config)
    : dir_(dir),
      config_(config),
      log_(log),
      indicator_projection_(config),
      funnel_projection_(config) {
  if (log_ == nullptr) {
    auto opened = EmbeddedLog::Open({.path = dir + "/log"});
    EXPECT_TRUE(opened.ok()) << opened.status();
    own_log_ = std::move(*opened);
    log_ = own_log_.get();
  }
}

void ProjectionHarness::Append(const std::vector<Event>& events) {
  auto positions = log_->Append(events);
  ASSERT_TRUE(positions.ok()) << positions.status();
}

void ProjectionHarness::Open() {
  if (indicators_ != nullptr) return;
  auto i = ProjectionStore::Open({.path = dir_ + "/indicators"});
  auto f = ProjectionStore::Open({.path = dir_ + "/funnel"});
  ASSERT_TRUE(i.ok()) << i.status();
  ASSERT_TRUE(f.ok()) << f.status();
  indicators_ = std::move(*i);
  funnel_ = std::move(*f);
}

void ProjectionHarness::CatchUp(size_t batch) {
  Open();
  auto end = log_->EndOffsets();
  ASSERT_TRUE(end.ok()) << end.status();
  if (indicator_projector_ == nullptr) {
    auto ip = Projector::Open(*log_, *indicators_, indicator_projection_,
                              {.batch_records = batch});
    auto fp = Projector::Open(*log_, *funnel_, funnel_projection_,
                              {.batch_records = batch});
    ASSERT_TRUE(ip.ok()) << ip.status();
    ASSERT_TRUE(fp.ok()) << fp.status();
    indicator_projector_ = std::move(*ip);
    funnel_projector_ = std::move(*fp);
    indicator_stats_ = &indicator_projector_->stats();
  }
  absl::Status s = indicator_projector_->CatchUp(*end);
  ASSERT_TRUE(s.ok()) << s;
  s = funnel_projector_->CatchUp(*end);
  ASSERT_TRUE(s.ok()) << s;
}

void ProjectionHarness::Close() {
  indicator_projector_.reset();
  funnel_projector_.reset();
  indicators_.reset();
  funnel_.reset();
}

ProjectionStore& ProjectionHarness::indicators() {
  Open();
  return *indicators_;
}
ProjectionStore& ProjectionHarness::funnel() {
  Open();
  return *funnel_;
}

std::string ComparableDump(ProjectionStore& store) {
  auto dump = store.CanonicalDump();
  EXPECT_TRUE(dump.ok()) << dump.status();
  if (!dump.ok()) return "";
  std::istringstream in(*dump);
  std::string line, out;
  while (std::getline(in, line)) {
    // Bookkeeping that depends on how the stream was cut into batches.
    if (line.rfind("E meta\\x00positions", 0) == 0) continue;
    if (line.rfind("E sn\\x00", 0) == 0) continue;
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace voronka::testing
