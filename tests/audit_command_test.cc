// The audit as auditors use it: `voronka serve` with tokens takes a
// simulated organisation with departures over HTTP; the audit API (auditor
// and admin tokens) and the `voronka audit` CLI (opening the same data
// read-only while serve runs) must agree on a departed manager's history,
// book and verified digest, and every access is listed for admins.
#include <signal.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/http_client.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

std::string AddToken(const std::string& file, const std::string& name,
                     const std::string& roles) {
  auto r = testing::RunCommand(
      VORONKA_BINARY,
      {"token", "add", "--file", file, "--name", name, "--roles", roles}, "",
      absl::Seconds(30));
  EXPECT_TRUE(r.ok() && r->exit_code == 0);
  return std::string(absl::StripAsciiWhitespace(r->out));
}

struct Answer {
  int status = 0;
  json body;
};

Answer Get(const std::string& base, const std::string& target,
           const std::string& token) {
  auto url = ParseHttpUrl(base + target);
  EXPECT_TRUE(url.ok());
  HttpClient client(*url, {.request_timeout = absl::Seconds(60)});
  auto r = client.Get(url->target, {{"Authorization", "Bearer " + token}});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  return {r->status, json::parse(r->body, nullptr, false)};
}

testing::CommandResult Audit(const std::vector<std::string>& args) {
  std::vector<std::string> all = {"audit"};
  all.insert(all.end(), args.begin(), args.end());
  auto r = testing::RunCommand(VORONKA_BINARY, all, "", absl::Seconds(120));
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : testing::CommandResult{};
}

TEST(AuditCommandTest, ApiAndCliAgreeOnADepartedManager) {
  testing::TempDir dir;
  const std::string tokens = dir.Sub("tokens.yaml");
  const std::string ingest = AddToken(tokens, "sim", "ingest");
  const std::string viewer = AddToken(tokens, "lead", "viewer");
  const std::string auditor = AddToken(tokens, "aud", "auditor");
  const std::string admin = AddToken(tokens, "root", "admin");
  const std::string data = dir.Sub("data");

  absl::StatusOr<testing::Listening> serve = testing::StartListening(
      VORONKA_BINARY, {"serve", "--data", data, "--tokens", tokens, "--listen",
                       "127.0.0.1:0", "--status-every", "1"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  const std::string token_file = dir.Sub("ingest-token");
  { std::ofstream(token_file) << ingest; }
  auto sim =
      testing::RunCommand(VORONKA_BINARY,
                          {"simulate", "--url", serve->url + "/v1/events",
                           "--token-file", token_file, "--events", "8000",
                           "--departure-rate", "30", "--seed", "21"},
                          "", absl::Seconds(180));
  ASSERT_TRUE(sim.ok() && sim->exit_code == 0);
  // Caught up: /readyz reports no lag for the three projectors.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  bool ready = false;
  while (!ready && absl::Now() < deadline) {
    auto r = testing::HttpGetJson(serve->url + "/readyz");
    ready = r.ok();
    if (r.ok()) {
      for (const auto& [name, check] : (*r)["checks"].items()) {
        if (check.contains("lag") && check["lag"] != 0) ready = false;
      }
      ready = ready && (*r)["checks"].contains("audit");
    }
    if (!ready) absl::SleepFor(absl::Milliseconds(200));
  }
  ASSERT_TRUE(ready);

  EXPECT_EQ(Get(serve->url, "/v1/audit/managers", viewer).status, 403);
  Answer managers = Get(serve->url, "/v1/audit/managers", auditor);
  ASSERT_EQ(managers.status, 200);
  std::string departed;
  for (const json& m : managers.body["managers"]) {
    Answer deals =
        Get(serve->url, "/v1/audit/managers/" + m.get<std::string>() + "/deals",
            auditor);
    ASSERT_EQ(deals.status, 200);
    if (!deals.body["departures"].empty() && !deals.body["handover"].empty()) {
      departed = m;
      break;
    }
  }
  ASSERT_FALSE(departed.empty()) << "nobody left with deals to hand over";
  // The CLI's list marks who left.
  testing::CommandResult list = Audit({"managers", "--data", data});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_THAT(list.out, HasSubstr(departed + "  departed "));

  // The API's history, page by page.
  std::vector<json> api_rows;
  std::string after;
  for (int pages = 0; pages < 1000; ++pages) {
    Answer page = Get(serve->url,
                      "/v1/audit/managers/" + departed + "/history?limit=10" +
                          (after.empty() ? "" : "&after=" + after),
                      auditor);
    ASSERT_EQ(page.status, 200) << page.body.dump();
    for (const json& r : page.body["rows"]) api_rows.push_back(r);
    if (page.body["next_after"].is_null()) break;
    after = page.body["next_after"];
  }
  ASSERT_GT(api_rows.size(), 10u) << "want more than one page";

  // The CLI, on the same data while serve runs.
  testing::CommandResult cli = Audit(
      {"history", departed, "--data", data, "--format", "json", "--as", "eve"});
  ASSERT_EQ(cli.exit_code, 0) << cli.out;
  std::vector<std::string> lines =
      absl::StrSplit(cli.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), api_rows.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    const json row = json::parse(lines[i]);
    EXPECT_EQ(row["position"], api_rows[i]["position"]) << i;
    EXPECT_EQ(row["event"]["id"], api_rows[i]["event"]["id"]) << i;
    EXPECT_EQ(row["relation"], api_rows[i]["relation"]) << i;
  }
  // CSV: a header and one line per row, every line with the same number of
  // cells (quoted commas do not count).
  testing::CommandResult csv =
      Audit({"history", departed, "--data", data, "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0);
  std::vector<std::string> csv_lines =
      absl::StrSplit(csv.out, "\r\n", absl::SkipEmpty());
  ASSERT_EQ(csv_lines.size(), api_rows.size() + 1);
  EXPECT_THAT(csv_lines[0], HasSubstr("partition,offset,relation,time"));
  // The table names the handover.
  testing::CommandResult table = Audit({"history", departed, "--data", data});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.out, HasSubstr("Handover: deals re-queued"));
  EXPECT_THAT(table.out, HasSubstr("departed "));
  EXPECT_THAT(table.out, HasSubstr("Pipeline drain: top of funnel"));

  // Verify: both say match with the same digests.
  Answer verify =
      Get(serve->url, "/v1/audit/managers/" + departed + "/verify", auditor);
  ASSERT_EQ(verify.status, 200);
  EXPECT_EQ(verify.body["match"], true) << verify.body.dump();
  EXPECT_GE(verify.body["seals"].get<int>(), 1);
  testing::CommandResult v =
      Audit({"verify", departed, "--data", data, "--format", "json"});
  ASSERT_EQ(v.exit_code, 0) << v.out;
  const json cli_verify = json::parse(v.out.substr(0, v.out.rfind("}") + 1));
  EXPECT_EQ(cli_verify["chains"], verify.body["chains"]);

  // The book before the departure, both ways.
  Answer deals =
      Get(serve->url, "/v1/audit/managers/" + departed + "/deals", auditor);
  const std::string before =
      deals.body["handover"][0]["requeued"].get<std::string>();
  // The drain weeks before the departure, from serve's indicators.
  EXPECT_EQ(deals.body["pipeline_drain"]["weeks"].size(), 8u)
      << deals.body["pipeline_drain"].dump();
  Answer book =
      Get(serve->url,
          "/v1/audit/managers/" + departed + "/book?as_of=" + before, auditor);
  ASSERT_EQ(book.status, 200);
  testing::CommandResult cli_book =
      Audit({"book", departed, "--data", data, "--as-of", before, "--format",
             "json"});
  ASSERT_EQ(cli_book.exit_code, 0) << cli_book.out;
  EXPECT_EQ(json::parse(cli_book.out)["deals"], book.body["deals"]);

  // Every access above is listed for admins, and only for admins.
  EXPECT_EQ(Get(serve->url, "/v1/audit/access", auditor).status, 403);
  Answer access = Get(serve->url, "/v1/audit/access", admin);
  ASSERT_EQ(access.status, 200);
  int api_history = 0, cli_history = 0;
  for (const json& a : access.body["accesses"]) {
    if (a["what"] == "history" && a["manager"] == departed) {
      if (a["who"] == "token:aud" && a["via"] == "api") ++api_history;
      if (a["who"] == "user:eve" && a["via"] == "cli") ++cli_history;
    }
  }
  EXPECT_GE(api_history, 2);
  EXPECT_EQ(cli_history, 1);

  // Clear refusals: a directory without an index, a manager it does not
  // know (exit code 2, the reason on stderr).
  EXPECT_EQ(Audit({"history", departed, "--data", dir.Sub("empty")}).exit_code,
            2);
  EXPECT_EQ(Audit({"verify", "nobody-at-all", "--data", data}).exit_code, 2);

  ASSERT_TRUE(serve->process->Signal(SIGTERM).ok());
  auto code = serve->process->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok() && *code == 0);
}

}  // namespace
}  // namespace voronka
