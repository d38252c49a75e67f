#include "tests/testing/voronka_process.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "services/http_client.h"

namespace voronka::testing {

absl::StatusOr<Listening> StartListening(const std::string& program,
                                         const std::vector<std::string>& args) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> child =
      ChildProcess::Start(program, args);
  if (!child.ok()) return child.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> line = (*child)->ReadLine(absl::Seconds(5));
    if (absl::IsDeadlineExceeded(line.status())) continue;
    if (!line.ok()) {
      return absl::FailedPreconditionError(
          fmt::format("voronka {} ended before listening (its stderr is in "
                      "the test log)",
                      absl::StrJoin(args, " ")));
    }
    absl::string_view rest = *line;
    if (absl::ConsumePrefix(&rest, "listening on ")) {
      return Listening{std::move(*child), std::string(rest)};
    }
  }
  return absl::DeadlineExceededError(
      fmt::format("voronka {}: no \"listening on\" line within 60 s",
                  absl::StrJoin(args, " ")));
}

absl::StatusOr<std::string> HttpGetBody(const std::string& url_text) {
  absl::StatusOr<HttpUrl> url = ParseHttpUrl(url_text);
  if (!url.ok()) return url.status();
  HttpClient client(*url, {.request_timeout = absl::Seconds(10)});
  absl::StatusOr<HttpClientResponse> r = client.Get(url->target);
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::FailedPreconditionError(
        fmt::format("GET {} answered {}: {}", url_text, r->status, r->body));
  }
  return r->body;
}

absl::StatusOr<nlohmann::json> HttpGetJson(const std::string& url) {
  absl::StatusOr<std::string> body = HttpGetBody(url);
  if (!body.ok()) return body.status();
  nlohmann::json j = nlohmann::json::parse(*body, nullptr, false);
  if (j.is_discarded()) {
    return absl::DataLossError(fmt::format("GET {}: not JSON: {}", url, *body));
  }
  return j;
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

CommandResult RunWithStderr(const std::string& program,
                            const std::vector<std::string>& args,
                            const std::string& env) {
  std::string command = env + " exec '" + program + "'";
  for (const std::string& a : args) command += " '" + a + "'";
  command += " 2>&1";
  auto result = RunCommand("/bin/sh", {"-c", command}, "", absl::Seconds(60));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : CommandResult{};
}

}  // namespace voronka::testing
