// A `voronka` service started by a test as a process, found by the
// "listening on URL" line it prints, and plain HTTP GETs against it.
//
//   absl::StatusOr<Listening> serve = StartListening(
//       {"serve", "--data", dir.Sub("data"), "--insecure-dev",
//        "--listen", "127.0.0.1:0"});
//   absl::StatusOr<std::string> text = HttpGetBody(serve->url + "/metrics");
#ifndef VORONKA_TESTS_TESTING_VORONKA_PROCESS_H_
#define VORONKA_TESTS_TESTING_VORONKA_PROCESS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"

namespace voronka::testing {

struct Listening {
  std::unique_ptr<ChildProcess> process;
  std::string url;  // "http://127.0.0.1:PORT".
};

// Starts VORONKA_BINARY-style `program` with `args` and waits (up to 60 s)
// for its "listening on URL" line. FailedPrecondition if it ends first.
absl::StatusOr<Listening> StartListening(const std::string& program,
                                         const std::vector<std::string>& args);

// The body of GET `url` when it answers 200. Unavailable when nothing
// answers, FailedPrecondition (with the status) for another answer.
absl::StatusOr<std::string> HttpGetBody(const std::string& url);
// The same, parsed as JSON.
absl::StatusOr<nlohmann::json> HttpGetJson(const std::string& url);

// Runs `program args...` through /bin/sh with `env` ("NAME=value ...")
// before it and stderr folded into the output (so tests can check error
// messages); waits up to 60 s. Adds a test failure if it cannot run.
CommandResult RunWithStderr(const std::string& program,
                            const std::vector<std::string>& args,
                            const std::string& env = "");

// A TCP port on 127.0.0.1 that was free a moment ago (for programs that
// cannot take port 0 and report the real one).
int FreePort();

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_VORONKA_PROCESS_H_
