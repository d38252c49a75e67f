// The live funnel page (services/funnel_page.h) in a real browser: a
// `voronka serve` with a finished demo's data, Debian's headless Chromium
// running the page's scripts, and every number the page shows (its data-k /
// data-v attributes) checked against what the query API answers for the
// same parameters. Also: the page's files are embedded byte for byte and
// need no token; without a token, with a token lacking the viewer role and
// while the read models are not open, the page says so.
//
// A screenshot of the page goes to test-artifacts/funnel.png in the build
// tree (the path is printed).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "fmt/format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/funnel_page.h"
#include "services/http_client.h"
#include "services/query_api.h"
#include "tests/testing/child_process.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

using json = nlohmann::json;
using testing::ChildProcess;
using ::testing::HasSubstr;

constexpr char kChromium[] = "/usr/bin/chromium";
// The demo's organisation starts on 2026-11-02; the page and the test ask
// for the same fixed period and "now", so the numbers do not depend on the
// clock.
constexpr char kFrom[] = "2026-11-01";
constexpr char kTo[] = "2026-12-31";
constexpr char kNow[] = "2026-12-31T18:00:00Z";

// ---- The browser ----------------------------------------------------------

// Fails the test (with what to install) when there is no Chromium.
#define REQUIRE_CHROMIUM()                                                 \
  ASSERT_TRUE(std::filesystem::exists(kChromium))                          \
      << kChromium                                                         \
      << " is missing: this test runs the page in headless Chromium. "     \
         "Install the Debian package `chromium` (scripts/install-deps.sh " \
         "does)."

// Runs headless Chromium on `url` with `extra` arguments (--dump-dom,
// --screenshot=...) and returns its stdout. Chromium's own log (D-Bus
// complaints and the like) goes to a file that is shown only on failure.
absl::StatusOr<std::string> RunChromium(const std::string& url,
                                        std::vector<std::string> extra) {
  testing::TempDir profile;
  const std::string log = profile.Sub("chromium.log");
  std::vector<std::string> args = {
      "-c", "log=$1; shift; exec \"$@\" 2>\"$log\"", "sh", log, kChromium,
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
      "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--user-data-dir=" + profile.Sub("profile"),
      // Runs the page's timers and fetches for 10 s of virtual time: the
      // first load and a few refreshes.
      "--virtual-time-budget=10000"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(url);
  absl::StatusOr<testing::CommandResult> r =
      testing::RunCommand("/bin/sh", args, "", absl::Seconds(120));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    return absl::InternalError(
        fmt::format("chromium exited with {}: {}", r->exit_code, text.str()));
  }
  return r->out;
}

absl::StatusOr<std::string> DumpDom(const std::string& url) {
  return RunChromium(url, {"--dump-dom"});
}

// What the page shows: data-k -> data-v of every element that has both,
// and data-k -> text for the leaf elements among them.
struct PageNumbers {
  std::map<std::string, std::string> value;
  std::map<std::string, std::string> text;
  std::vector<std::string> duplicates;

  bool Has(const std::string& k) const { return value.count(k) > 0; }
  std::string operator[](const std::string& k) const {
    auto it = value.find(k);
    return it == value.end() ? "<missing " + k + ">" : it->second;
  }
  // {"RUB": 100} from "prefix.RUB" -> "100".
  std::map<std::string, int64_t> Money(const std::string& prefix) const {
    std::map<std::string, int64_t> out;
    for (auto it = value.lower_bound(prefix + ".");
         it != value.end() && absl::StartsWith(it->first, prefix + "."); ++it) {
      const std::string currency = it->first.substr(prefix.size() + 1);
      if (currency.find('.') != std::string::npos) continue;
      out[currency] = std::stoll(it->second);
    }
    return out;
  }
};

std::string Attribute(std::string_view tag, std::string_view name) {
  const std::string key = fmt::format(" {}=\"", name);
  const size_t at = tag.find(key);
  if (at == std::string_view::npos) return "";
  const size_t begin = at + key.size();
  return std::string(tag.substr(begin, tag.find('"', begin) - begin));
}

PageNumbers ReadNumbers(const std::string& dom) {
  PageNumbers page;
  for (size_t at = dom.find(" data-k=\""); at != std::string::npos;
       at = dom.find(" data-k=\"", at + 1)) {
    const size_t open = dom.rfind('<', at);
    const size_t close = dom.find('>', at);
    const std::string_view tag(dom.data() + open, close - open + 1);
    const std::string k = Attribute(tag, "data-k");
    if (tag.find(" data-v=\"") == std::string_view::npos) continue;
    if (page.value.count(k)) page.duplicates.push_back(k);
    page.value[k] = Attribute(tag, "data-v");
    const size_t end = dom.find('<', close);
    if (end != std::string::npos) {
      page.text[k] = dom.substr(close + 1, end - close - 1);
    }
  }
  return page;
}

// The page's alert (what it says went wrong), for failure messages.
std::string AlertOf(const std::string& dom) {
  const size_t at = dom.find(" data-k=\"alert\"");
  if (at == std::string::npos) return "(no alert element)";
  return dom.substr(at, std::min<size_t>(600, dom.find("</div>", at) - at));
}

// ---- The API --------------------------------------------------------------

class Api {
 public:
  explicit Api(const std::string& url, std::string token = "")
      : client_(*ParseHttpUrl(url)), token_(std::move(token)) {}

  // The JSON body of a 200; fails the test otherwise.
  json Get(const std::string& target) {
    HttpFields headers;
    if (!token_.empty())
      headers.emplace_back("Authorization", "Bearer " + token_);
    absl::StatusOr<HttpClientResponse> r = client_.Get(target, headers);
    EXPECT_TRUE(r.ok()) << target << ": " << r.status();
    if (!r.ok()) return json();
    EXPECT_EQ(r->status, 200) << target << ": " << r->body;
    return json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  }
  int Status(const std::string& target) {
    absl::StatusOr<HttpClientResponse> r = client_.Get(target);
    return r.ok() ? r->status : -1;
  }

 private:
  HttpClient client_;
  std::string token_;
};

std::string Raw(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// 1234567 -> "1,234,567" (en-US).
std::string Grouped(int64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::map<std::string, int64_t> MoneyMap(const json& v) {
  std::map<std::string, int64_t> out;
  for (const auto& [currency, minor] : v.items()) {
    out[currency] = minor.get<int64_t>();
  }
  return out;
}

// ---- voronka serve --------------------------------------------------------

// A running `voronka serve` (no demo) over `data`, and its URL.
struct Serve {
  std::unique_ptr<ChildProcess> process;
  std::string url;
};

Serve StartServe(const std::string& data, std::vector<std::string> auth) {
  std::vector<std::string> args = {"serve",    "--data",      data,
                                   "--listen", "127.0.0.1:0", "--status-every",
                                   "0.5"};
  args.insert(args.end(), auth.begin(), auth.end());
  auto child = ChildProcess::Start(VORONKA_BINARY, args);
  EXPECT_TRUE(child.ok()) << child.status();
  if (!child.ok()) return {};
  Serve serve{std::move(*child), ""};
  // "listening on http://127.0.0.1:PORT", then status lines "log N events |
  // indicators at N (dup d) | funnel at N (dup d)"; the projectors have
  // caught up when both are at the log's end.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    absl::StatusOr<std::string> line =
        serve.process->ReadLine(absl::Seconds(30));
    EXPECT_TRUE(line.ok()) << line.status();
    if (!line.ok()) return serve;
    if (absl::StartsWith(*line, "listening on ")) {
      serve.url = line->substr(std::string("listening on ").size());
      continue;
    }
    std::vector<std::string> parts = absl::StrSplit(*line, " | ");
    if (parts.size() < 3 || !absl::StartsWith(parts[0], "log ")) continue;
    const std::string end =
        std::vector<std::string>(absl::StrSplit(parts[0], ' '))[1];
    bool caught_up = true;
    for (size_t i = 1; i < parts.size(); ++i) {
      std::vector<std::string> words = absl::StrSplit(parts[i], ' ');
      if (words.size() >= 3 && words[1] == "at" && words[2] != end) {
        caught_up = false;
      }
    }
    if (caught_up && !serve.url.empty()) {
      // And both read models open.
      Api api(serve.url);
      json health = api.Get("/healthz");
      if (health["read_models"]["funnel"] == "open" &&
          health["read_models"]["indicators"] == "open") {
        return serve;
      }
    }
  }
  ADD_FAILURE() << "serve did not catch up";
  return serve;
}

// ---- The tests ------------------------------------------------------------

std::string SourceFile(const std::string& path) {
  std::ifstream in(std::string(VORONKA_SOURCE_DIR) + "/" + path,
                   std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(FunnelPageTest, ServesTheEmbeddedFilesWithoutAToken) {
  HttpServer server;
  ASSERT_TRUE(RegisterFunnelPage(server).ok());
  ASSERT_TRUE(server.Start({.port = 0}).ok());
  HttpClient client(
      *ParseHttpUrl(fmt::format("http://127.0.0.1:{}", server.port())));
  const std::vector<std::pair<std::string, std::string>> files = {
      {"/funnel", "index.html"},
      {"/funnel/index.html", "index.html"},
      {"/funnel/app.js", "app.js"},
      {"/funnel/style.css", "style.css"}};
  for (const auto& [target, file] : files) {
    absl::StatusOr<HttpClientResponse> r = client.Get(target);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->body, SourceFile("services/funnel_page/" + file)) << target;
    EXPECT_THAT(r->Header("Content-Security-Policy").value_or(""),
                HasSubstr("script-src 'self'"));
  }
  EXPECT_THAT(client.Get("/funnel")->Header("Content-Type").value_or(""),
              HasSubstr("text/html"));
  EXPECT_THAT(client.Get("/funnel/app.js")->Header("Content-Type").value_or(""),
              HasSubstr("text/javascript"));
  EXPECT_THAT(
      client.Get("/funnel/style.css")->Header("Content-Type").value_or(""),
      HasSubstr("text/css"));
  absl::StatusOr<HttpClientResponse> missing = client.Get("/funnel/nope.js");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_THAT(missing->body, HasSubstr("no file \\\"nope.js\\\""));
  server.Stop(absl::Seconds(1));
}

// The demo's numbers, as the page shows them and as the API answers.
TEST(FunnelPageTest, ShowsWhatTheQueryApiAnswers) {
  REQUIRE_CHROMIUM();
  testing::TempDir dir;
  const std::string data = dir.Sub("data");
  // --demo-events: the demo sends its events, waits for the projectors and
  // exits with a summary. Serving that data again without --demo gives
  // numbers that stay still while the browser and the test read them.
  auto demo =
      testing::RunCommand(VORONKA_BINARY,
                          {"serve", "--data", data, "--demo", "--demo-events",
                           "20000", "--rate", "100000", "--status-every", "0.2",
                           "--insecure-dev", "--listen", "127.0.0.1:0"},
                          "", absl::Seconds(240));
  ASSERT_TRUE(demo.ok()) << demo.status();
  ASSERT_EQ(demo->exit_code, 0) << demo->out;

  Serve serve = StartServe(data, {"--insecure-dev"});
  ASSERT_FALSE(serve.url.empty());
  Api api(serve.url);
  const std::string range = fmt::format("from={}&to={}", kFrom, kTo);
  const json stages_before = api.Get(fmt::format("/v1/stages?now={}", kNow));

  const std::string page_url = fmt::format(
      "{}/funnel?{}&now={}&refresh=2&lang=en-US", serve.url, range, kNow);
  absl::StatusOr<std::string> dom = DumpDom(page_url);
  ASSERT_TRUE(dom.ok()) << dom.status();
  const PageNumbers page = ReadNumbers(*dom);
  EXPECT_THAT(page.duplicates, ::testing::IsEmpty());
  ASSERT_EQ(page["status"], "ok") << AlertOf(*dom);
  EXPECT_EQ(page["range.from"], kFrom);
  EXPECT_EQ(page["range.to"], kTo);
  EXPECT_EQ(page["now"], kNow);
  size_t checked = 0;
  auto expect = [&](const std::string& k, const json& want) {
    ++checked;
    EXPECT_EQ(page[k], Raw(want)) << k;
  };
  auto expect_money = [&](const std::string& prefix, const json& want) {
    ++checked;
    EXPECT_EQ(page.Money(prefix), MoneyMap(want)) << prefix;
  };

  // What the API answers for the page's parameters. (Each answer is kept
  // in a variable: a range-for over a member of a temporary would dangle.)
  const json queues = api.Get("/v1/queues");
  const json geometry = api.Get("/v1/geometry?" + range);
  const json conversion = api.Get("/v1/conversion?" + range);
  const json forecast_by_funnel = api.Get("/v1/forecast?group=funnel");
  const json forecast_by_department = api.Get("/v1/forecast?group=department");

  // Handoff queues: length and the oldest wait.
  int64_t queued = 0;
  for (const json& q : queues["queues"]) {
    const std::string d = q["department"];
    expect(fmt::format("queue.{}.length", d), q["length"]);
    queued += q["length"].get<int64_t>();
    if (q["length"] == 0) continue;
    const json head =
        api.Get(fmt::format("/v1/queues/{}?limit=1&now={}", d, kNow));
    expect(fmt::format("queue.{}.oldest_wait_s", d),
           head["deals"][0]["wait_s"]);
    expect(fmt::format("queue.{}.oldest_deal", d), head["deals"][0]["deal"]);
  }
  EXPECT_GT(queued, 0);
  expect("kpi.queued", queued);

  // Stages now: open deals, deals, time in stage, amount and forecast.
  int64_t open = 0;
  for (const json& s : stages_before["stages"]) {
    const std::string p =
        fmt::format("stage.{}.{}", s["funnel"].get<std::string>(),
                    s["stage"].get<std::string>());
    expect(p + ".open", s["open"]);
    expect(p + ".deals", s["deals"]);
    expect(p + ".avg_time_in_stage_s", s["avg_time_in_stage_s"]);
    expect_money(p + ".amount", s["amount"]);
    expect_money(p + ".forecast", s["forecast"]);
    open += s["open"].get<int64_t>();
  }
  EXPECT_GT(open, 0);
  expect("kpi.open_deals", open);

  // Geometry and conversion of the period.
  int64_t reached = 0;
  for (const json& f : geometry["funnels"]) {
    for (const json& s : f["stages"]) {
      expect(
          fmt::format("geometry.{}.{}.reached", f["funnel"].get<std::string>(),
                      s["stage"].get<std::string>()),
          s["reached"]);
      reached += s["reached"].get<int64_t>();
    }
  }
  EXPECT_GT(reached, 0);
  int rates = 0;
  for (const json& f : conversion["funnels"]) {
    for (const json& s : f["stages"]) {
      const std::string p =
          fmt::format("conversion.{}.{}", f["funnel"].get<std::string>(),
                      s["stage"].get<std::string>());
      for (const char* field : {"to_won_rate", "avg_time_to_next_s"}) {
        ASSERT_TRUE(page.Has(p + "." + field)) << p << "." << field;
        if (s[field].is_number_float()) {
          ++checked;
          EXPECT_DOUBLE_EQ(std::stod(page[p + "." + field]),
                           s[field].get<double>())
              << p << "." << field;
        } else {
          expect(p + "." + field, s[field]);
        }
      }
      // The chart shows the share that moved on between open stages only.
      if (page.Has(p + ".to_next_rate") && !s["to_next_rate"].is_null()) {
        ++rates;
        ++checked;
        EXPECT_DOUBLE_EQ(std::stod(page[p + ".to_next_rate"]),
                         s["to_next_rate"].get<double>())
            << p;
      }
    }
  }
  EXPECT_GE(rates, 6);

  // Forecast per funnel and department, and the total.
  std::map<std::string, int64_t> total;
  for (const json& f : forecast_by_funnel["forecast"]) {
    expect_money("forecast.funnel." + f["funnel"].get<std::string>(),
                 f["forecast"]);
    for (const auto& [c, v] : MoneyMap(f["forecast"])) total[c] += v;
  }
  for (const json& f : forecast_by_department["forecast"]) {
    expect_money("forecast.department." + f["department"].get<std::string>(),
                 f["forecast"]);
  }
  ASSERT_GT(total["RUB"], 0);
  EXPECT_EQ(page.Money("forecast.total"), total);
  // Money is written with its currency, grouped, with its minor units.
  EXPECT_EQ(page.text.at("forecast.total.RUB"),
            fmt::format("RUB&nbsp;{}.{:02}", Grouped(total["RUB"] / 100),
                        total["RUB"] % 100));

  // Leading indicators per department, and in total.
  std::vector<std::string> ids = {"total"};
  for (const json& q : queues["queues"]) ids.push_back(q["department"]);
  for (const std::string& id : ids) {
    const json t = api.Get(
        id == "total" ? "/v1/indicators?scope=total&" + range
                      : fmt::format("/v1/indicators?scope=department&id={}&{}",
                                    id, range))["periods"][0];
    const std::string p = "indicators." + id;
    for (const char* field : {"calls", "calls_answered", "proposals_general",
                              "applications", "deals_won", "deals_lost"}) {
      expect(p + "." + field, t[field]);
    }
    ++checked;
    EXPECT_DOUBLE_EQ(std::stod(page[p + ".calls_per_org"]),
                     t["calls_per_org"].get<double>())
        << p;
    expect_money(p + ".applications_amount", t["applications_amount"]);
    if (id == "total") {
      EXPECT_GT(t["calls"].get<int64_t>(), 0);
      EXPECT_GT(t["applications"].get<int64_t>(), 0);
      expect("kpi.calls", t["calls"]);
      expect("kpi.applications", t["applications"]);
    }
  }
  EXPECT_GT(checked, 150u);  // 201 with the default configuration.

  // The numbers did not move while the browser read them.
  EXPECT_EQ(api.Get(fmt::format("/v1/stages?now={}", kNow)), stages_before);

  // A screenshot for people.
  const std::filesystem::path shot =
      std::filesystem::path(VORONKA_ARTIFACT_DIR) / "funnel.png";
  std::filesystem::create_directories(shot.parent_path());
  std::filesystem::remove(shot);
  absl::StatusOr<std::string> shot_run =
      RunChromium(page_url, {"--screenshot=" + shot.string(),
                             "--window-size=1400,2600", "--hide-scrollbars"});
  ASSERT_TRUE(shot_run.ok()) << shot_run.status();
  EXPECT_GT(std::filesystem::file_size(shot), 10'000u);
  std::cout << "screenshot of the funnel page: " << shot.string() << "\n";
  RecordProperty("screenshot", shot.string());
}

// Under --tokens the page asks for a viewer token in the URL fragment.
TEST(FunnelPageTest, NeedsAViewerTokenInTheFragment) {
  REQUIRE_CHROMIUM();
  testing::TempDir dir;
  const std::string tokens = dir.Sub("tokens.yaml");
  auto add_token = [&](const std::string& name, const std::string& roles) {
    auto r = testing::RunCommand(
        VORONKA_BINARY,
        {"token", "add", "--file", tokens, "--name", name, "--roles", roles},
        "", absl::Seconds(30));
    EXPECT_TRUE(r.ok() && r->exit_code == 0);
    return r.ok() ? std::string(absl::StripAsciiWhitespace(r->out)) : "";
  };
  const std::string viewer = add_token("lead", "viewer");
  const std::string sender = add_token("crm", "ingest");
  ASSERT_EQ(viewer.size(), 43u);

  Serve serve = StartServe(dir.Sub("data"), {"--tokens", tokens});
  ASSERT_FALSE(serve.url.empty());
  Api anonymous(serve.url);
  EXPECT_EQ(anonymous.Status("/funnel"), 200);  // The files hold no data.
  EXPECT_EQ(anonymous.Status("/funnel/app.js"), 200);
  EXPECT_EQ(anonymous.Status("/v1/queues"), 401);

  absl::StatusOr<std::string> dom = DumpDom(serve.url + "/funnel");
  ASSERT_TRUE(dom.ok()) << dom.status();
  PageNumbers page = ReadNumbers(*dom);
  EXPECT_EQ(page["status"], "auth");
  EXPECT_THAT(*dom, HasSubstr("This page needs a viewer token (401)"));
  EXPECT_THAT(*dom, HasSubstr("/funnel#token=YOUR_VIEWER_TOKEN"));
  EXPECT_FALSE(page.Has("queue.sales.length"));

  dom = DumpDom(serve.url + "/funnel#token=" + sender);
  ASSERT_TRUE(dom.ok()) << dom.status();
  page = ReadNumbers(*dom);
  EXPECT_EQ(page["status"], "forbidden");
  EXPECT_THAT(*dom, HasSubstr("may not read the funnel (403)"));
  EXPECT_FALSE(page.Has("queue.sales.length"));

  dom = DumpDom(serve.url + "/funnel#token=" + viewer);
  ASSERT_TRUE(dom.ok()) << dom.status();
  page = ReadNumbers(*dom);
  EXPECT_EQ(page["status"], "ok") << AlertOf(*dom);
  Api api(serve.url, viewer);
  const json queues = api.Get("/v1/queues");
  ASSERT_EQ(queues["queues"].size(), 4u);
  for (const json& q : queues["queues"]) {
    const std::string d = q["department"];
    EXPECT_EQ(page[fmt::format("queue.{}.length", d)], "0") << d;
    EXPECT_EQ(page[fmt::format("indicators.{}.calls", d)], "0") << d;
  }
  EXPECT_EQ(page["kpi.open_deals"], "0");
}

// While the read models are not open (projectors starting), the page says
// so instead of showing empty numbers.
TEST(FunnelPageTest, SaysWhenTheReadModelsAreNotOpenYet) {
  REQUIRE_CHROMIUM();
  HttpServer server;
  const StoreGetter not_open = [] {
    return std::shared_ptr<const ProjectionStore>();
  };
  ASSERT_TRUE(RegisterQueryApi(server, {.config = &FunnelConfig::Default(),
                                        .indicators = not_open,
                                        .funnel = not_open})
                  .ok());
  ASSERT_TRUE(RegisterFunnelPage(server).ok());
  ASSERT_TRUE(server.Start({.port = 0}).ok());
  absl::StatusOr<std::string> dom = DumpDom(
      fmt::format("http://127.0.0.1:{}/funnel?refresh=1", server.port()));
  ASSERT_TRUE(dom.ok()) << dom.status();
  EXPECT_EQ(ReadNumbers(*dom)["status"], "starting");
  EXPECT_THAT(*dom, HasSubstr("The read models are not open yet (503)"));
  server.Stop(absl::Seconds(1));
}

}  // namespace
}  // namespace voronka
