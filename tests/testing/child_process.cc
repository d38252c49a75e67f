#include "tests/testing/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace voronka::testing {
namespace {

struct Spawned {
  pid_t pid = -1;
  int stdin_fd = -1;  // -1 if stdin is /dev/null.
  int stdout_fd = -1;
};

absl::Status ErrnoStatus(std::string_view what) {
  return absl::InternalError(
      fmt::format("{}: {}", std::string(what), std::strerror(errno)));
}

int PollMs(absl::Time deadline) {
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(deadline - absl::Now()), 0, 1 << 30));
}

// fork + exec with stdout (and optionally stdin) as pipes. An exec failure is
// reported through a close-on-exec pipe, so it is an error here, not a child
// that exits 127.
absl::StatusOr<Spawned> Spawn(const std::string& program,
                              const std::vector<std::string>& args,
                              bool pipe_stdin) {
  int out[2];
  int in[2] = {-1, -1};
  int exec_error[2];
  if (pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  if (pipe_stdin && pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  if (pipe2(exec_error, O_CLOEXEC) != 0) return ErrnoStatus("pipe");

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const std::string& arg : args) {
    argv.push_back(const_cast<char*>(arg.c_str()));
  }
  argv.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    // Child: only async-signal-safe calls from here on.
    dup2(out[1], STDOUT_FILENO);
    if (pipe_stdin) {
      dup2(in[0], STDIN_FILENO);
    } else {
      int null_fd = open("/dev/null", O_RDONLY);
      if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    }
    execvp(argv[0], argv.data());
    int err = errno;
    ssize_t ignored = write(exec_error[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  close(out[1]);
  if (pipe_stdin) close(in[0]);
  close(exec_error[1]);
  int err = 0;
  ssize_t n;
  do {
    n = read(exec_error[0], &err, sizeof(err));
  } while (n < 0 && errno == EINTR);
  close(exec_error[0]);
  if (n == sizeof(err)) {
    waitpid(pid, nullptr, 0);
    close(out[0]);
    if (pipe_stdin) close(in[1]);
    return absl::InternalError(
        fmt::format("exec {}: {}", program, std::strerror(err)));
  }
  return Spawned{.pid = pid, .stdin_fd = in[1], .stdout_fd = out[0]};
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

// Reaps `pid` if it has exited by `deadline`.
absl::StatusOr<int> WaitFor(pid_t pid, absl::Time deadline) {
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return ExitCodeOf(status);
    if (r < 0 && errno != EINTR) return ErrnoStatus("waitpid");
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          fmt::format("process {} still running", pid));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<ChildProcess>> ChildProcess::Start(
    const std::string& program, const std::vector<std::string>& args) {
  absl::StatusOr<Spawned> spawned = Spawn(program, args, /*pipe_stdin=*/false);
  if (!spawned.ok()) return spawned.status();
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(spawned->pid, spawned->stdout_fd));
}

ChildProcess::~ChildProcess() {
  if (!exit_code_.has_value()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(stdout_fd_);
}

absl::StatusOr<std::string> ChildProcess::ReadLine(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    if (eof_) {
      if (buffer_.empty()) return absl::OutOfRangeError("stdout closed");
      return std::exchange(buffer_, std::string());
    }
    pollfd pfd{.fd = stdout_fd_, .events = POLLIN, .revents = 0};
    int ready = poll(&pfd, 1, PollMs(deadline));
    if (ready < 0 && errno != EINTR) return ErrnoStatus("poll");
    if (ready == 0) {
      return absl::DeadlineExceededError(
          fmt::format("no line from process {} within {}", pid_,
                      absl::FormatDuration(timeout)));
    }
    if (ready < 0) continue;
    char chunk[4096];
    ssize_t n = read(stdout_fd_, chunk, sizeof(chunk));
    if (n < 0 && errno != EINTR) return ErrnoStatus("read");
    if (n == 0) eof_ = true;
    if (n > 0) buffer_.append(chunk, n);
  }
}

absl::Status ChildProcess::Signal(int signal_number) {
  if (exit_code_.has_value()) {
    return absl::FailedPreconditionError("process already exited");
  }
  if (kill(pid_, signal_number) != 0) return ErrnoStatus("kill");
  return absl::OkStatus();
}

absl::StatusOr<int> ChildProcess::Wait(absl::Duration timeout) {
  if (exit_code_.has_value()) return *exit_code_;
  absl::StatusOr<int> code = WaitFor(pid_, absl::Now() + timeout);
  if (code.ok()) exit_code_ = *code;
  return code;
}

absl::StatusOr<CommandResult> RunCommand(const std::string& program,
                                         const std::vector<std::string>& args,
                                         const std::string& input,
                                         absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::StatusOr<Spawned> spawned = Spawn(program, args, /*pipe_stdin=*/true);
  if (!spawned.ok()) return spawned.status();
  // Writing to a child that exited must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  CommandResult result;
  int in_fd = spawned->stdin_fd;
  int out_fd = spawned->stdout_fd;
  size_t written = 0;
  if (input.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  absl::Status status;
  while (out_fd >= 0) {
    pollfd fds[2];
    nfds_t count = 0;
    fds[count++] = {.fd = out_fd, .events = POLLIN, .revents = 0};
    if (in_fd >= 0)
      fds[count++] = {.fd = in_fd, .events = POLLOUT, .revents = 0};
    int ready = poll(fds, count, PollMs(deadline));
    if (ready == 0) {
      status = absl::DeadlineExceededError(
          fmt::format("{} did not finish within {}", program,
                      absl::FormatDuration(timeout)));
      break;
    }
    if (ready < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus("poll");
      break;
    }
    if (count > 1 && fds[1].revents != 0) {
      ssize_t n = write(in_fd, input.data() + written, input.size() - written);
      if (n > 0) written += n;
      if (n < 0 || written == input.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    if (fds[0].revents != 0) {
      char chunk[4096];
      ssize_t n = read(out_fd, chunk, sizeof(chunk));
      if (n > 0) {
        result.out.append(chunk, n);
      } else if (n == 0 || errno != EINTR) {
        close(out_fd);
        out_fd = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (!status.ok()) {
    kill(spawned->pid, SIGKILL);
    waitpid(spawned->pid, nullptr, 0);
    return status;
  }
  absl::StatusOr<int> code = WaitFor(spawned->pid, deadline);
  if (!code.ok()) {
    kill(spawned->pid, SIGKILL);
    waitpid(spawned->pid, nullptr, 0);
    return code.status();
  }
  result.exit_code = *code;
  return result;
}

}  // namespace voronka::testing
