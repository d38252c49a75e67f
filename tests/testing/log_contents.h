// ReadToEnd: every record of a log up to its end as of the call, for tests
// that check what a log holds (exactly once, nothing lost).
//
//   absl::StatusOr<std::vector<LogRecord>> all = ReadToEnd(log);
//   std::map<std::string, int> copies = CopiesPerKey(*all);
#ifndef VORONKA_TESTS_TESTING_LOG_CONTENTS_H_
#define VORONKA_TESTS_TESTING_LOG_CONTENTS_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "events/log.h"

namespace voronka::testing {

// DeadlineExceeded if the end is not reached within 30 s.
absl::StatusOr<std::vector<LogRecord>> ReadToEnd(EventLog& log);

// "source/id" -> how many records carry it.
std::map<std::string, int> CopiesPerKey(const std::vector<LogRecord>& records);

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_LOG_CONTENTS_H_
