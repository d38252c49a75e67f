// Shared pieces of the benchmarks: a realistic event mix and scratch space.
// Benchmarks print figures; they are not timed tests and never fail on speed.
#ifndef VORONKA_TESTS_BENCH_BENCH_UTIL_H_
#define VORONKA_TESTS_BENCH_BENCH_UTIL_H_

#include <filesystem>
#include <string>
#include <vector>

#include "events/event.h"

namespace voronka::bench {

// `n` events shaped like production traffic: mostly calls, then proposals,
// stage changes, claims, applications, invoices. `first` numbers them from
// there on, so that a large log can be built in batches:
// EventMix(n, 0) followed by EventMix(n, n) equals EventMix(2 * n).
std::vector<Event> EventMix(size_t n, size_t first = 0);

// A fresh directory under $TMPDIR, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace voronka::bench

#endif  // VORONKA_TESTS_BENCH_BENCH_UTIL_H_
