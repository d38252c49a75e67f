#include "tests/testing/log_contents.h"

#include "absl/time/clock.h"
#include "events/status.h"

namespace voronka::testing {

absl::StatusOr<std::vector<LogRecord>> ReadToEnd(EventLog& log) {
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> end, log.EndOffsets());
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader,
                           log.OpenReader({}));
  std::vector<LogRecord> out;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (true) {
    std::vector<int64_t> at = reader->positions();
    bool done = true;
    for (size_t p = 0; p < end.size(); ++p) {
      done = done && p < at.size() && at[p] >= end[p];
    }
    if (done) return out;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError("log not read to its end in 30 s");
    }
    VORONKA_ASSIGN_OR_RETURN(std::vector<LogRecord> batch,
                             reader->Next(10000, absl::Milliseconds(500)));
    for (LogRecord& r : batch) out.push_back(std::move(r));
  }
}

std::map<std::string, int> CopiesPerKey(const std::vector<LogRecord>& records) {
  std::map<std::string, int> copies;
  for (const LogRecord& r : records) {
    ++copies[r.event.source.value() + "/" + r.event.id.value()];
  }
  return copies;
}

}  // namespace voronka::testing
