// ChildProcess: runs a program (usually the `voronka` binary) as a child of a
// test, reads its stdout line by line, signals it and waits for it with a
// bound. RunCommand: runs a program to completion, feeding stdin and
// capturing stdout.
//
// The child's stdout is a pipe owned by the ChildProcess; its stderr is the
// test's stderr, so its diagnostics show up in the test log. The destructor
// kills (SIGKILL) and reaps a child that is still running, so a failing test
// never leaves processes behind. Not thread-safe: one thread per object.
//
//   auto broker = ChildProcess::Start(VORONKA_BINARY, {"dev-broker"});
//   absl::StatusOr<std::string> line = (*broker)->ReadLine(absl::Seconds(10));
//   (*broker)->Signal(SIGTERM);
//   absl::StatusOr<int> code = (*broker)->Wait(absl::Seconds(10));  // 0
#ifndef VORONKA_TESTS_TESTING_CHILD_PROCESS_H_
#define VORONKA_TESTS_TESTING_CHILD_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace voronka::testing {

class ChildProcess {
 public:
  // Starts `program` (a path, or a name looked up in PATH) with `args`
  // (argv[1..]). Internal if the program can not be started.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Start(
      const std::string& program, const std::vector<std::string>& args);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // The next line of the child's stdout, without its '\n'. DeadlineExceeded
  // if none is complete within `timeout`; OutOfRange once stdout is closed
  // (the remainder without a newline, if any, is returned first).
  absl::StatusOr<std::string> ReadLine(absl::Duration timeout);

  absl::Status Signal(int signal_number);

  // Waits for the child to exit: its exit code, or 128 + the signal that
  // killed it. DeadlineExceeded if it is still running after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  pid_t pid() const { return pid_; }

 private:
  ChildProcess(pid_t pid, int stdout_fd) : pid_(pid), stdout_fd_(stdout_fd) {}

  pid_t pid_;
  int stdout_fd_;
  std::string buffer_;  // Read from stdout, not yet returned.
  bool eof_ = false;
  std::optional<int> exit_code_;
};

struct CommandResult {
  int exit_code = -1;  // As ChildProcess::Wait.
  std::string out;     // Everything written to stdout.
};

// Runs `program args...` with `input` on its stdin and returns its stdout and
// exit code. DeadlineExceeded (and the child is killed) after `timeout`.
absl::StatusOr<CommandResult> RunCommand(const std::string& program,
                                         const std::vector<std::string>& args,
                                         const std::string& input,
                                         absl::Duration timeout);

}  // namespace voronka::testing

#endif  // VORONKA_TESTS_TESTING_CHILD_PROCESS_H_
