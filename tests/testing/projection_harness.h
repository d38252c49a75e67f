// Runs the projections over a log into fresh stores, for tests.
//
//   ProjectionHarness h(dir.Sub("p"));
//   h.Append(events);                 // into an embedded log
//   h.CatchUp();                      // both projections, to the log's end
//   h.funnel().Get(...);  h.Dump("funnel");
#ifndef VORONKA_TESTS_TESTING_PROJECTION_HARNESS_H_
#define VORONKA_TESTS_TESTING_PROJECTION_HARNESS_H_

#include <memory>
#include <string>
#include <vector>

#include "events/embedded_log.h"
#include "events/funnel_config.h"
#include "projections/funnel_projection.h"
#include "projections/indicator_projection.h"
#include "projections/projector.h"
#include "projections/store.h"

namespace voronka::testing {

// `store`'s canonical dump without the positions line and the seen set
// (bookkeeping that depends on how the stream was cut into batches), so
// that stores fed from logs with different partitioning, or in other
// batches, compare equal.
std::string ComparableDump(ProjectionStore& store);

class ProjectionHarness {
 public:
  // An embedded log and two stores under `dir`; `log` replaces the embedded
  // log when given (it must outlive the harness).
  explicit ProjectionHarness(
      const std::string& dir, EventLog* log = nullptr,
      const FunnelConfig& config = FunnelConfig::Default());

  void Append(const std::vector<Event>& events);
  // Opens the projectors (if closed) and applies everything up to the
  // log's end, `batch` records at a time.
  void CatchUp(size_t batch = 4096);
  // Closes projectors and stores (as a crash would, minus the crash).
  void Close();

  ProjectionStore& indicators();
  ProjectionStore& funnel();
  const ProjectorStats& indicator_stats() const { return *indicator_stats_; }
  // ComparableDump(store).
  std::string Dump(ProjectionStore& store) { return ComparableDump(store); }

  EventLog& log() { return *log_; }

 private:
  void Open();

  std::string dir_;
  const FunnelConfig& config_;
  std::unique_ptr<EmbeddedLog> own_log_;
  EventLog* log_;
  IndicatorProjection indicator_projection_;
  FunnelProjection funnel_projection_;
  std::unique_ptr<ProjectionStore> indicators_, funnel_;
  std::unique_ptr<Projector> indicator_projector_, funnel_projector_;
  const ProjectorStats* indicator_stats_ = nullptr;
};

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_PROJECTION_HARNESS_H_
