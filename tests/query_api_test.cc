// The query API over real HTTP: stores built from a small hand-checked event
// stream, a server on an ephemeral port, and the exact JSON of every route
// (docs/api.md), its errors, auth and the 503 of a store not open yet. The
// last test runs the real `voronka serve --demo` and queries it.
#include "services/query_api.h"

#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/child_process.h"
#include "tests/testing/event_factory.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/sample_events.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

namespace http = boost::beast::http;
namespace net = boost::asio;
using json = nlohmann::json;
using net::ip::tcp;
using testing::EventFactory;
using ::testing::HasSubstr;
using testing::ProjectionHarness;
using testing::Rub;
using testing::T;

struct Reply {
  int status = 0;
  std::string content_type;
  std::string retry_after;
  json body;
};

// One GET on a new connection.
Reply Get(uint16_t port, const std::string& target,
          const std::string& token = "") {
  net::io_context ioc;
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "localhost");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  Reply r;
  r.status = res.result_int();
  r.content_type = std::string(res[http::field::content_type]);
  r.retry_after = std::string(res["Retry-After"]);
  r.body = json::parse(res.body(), nullptr, /*allow_exceptions=*/false);
  return r;
}

// Shares a store the harness owns.
StoreGetter Borrow(ProjectionStore& store) {
  return [&store] {
    return std::shared_ptr<const ProjectionStore>(std::shared_ptr<void>(),
                                                  &store);
  };
}

// The stream (UTC; 2026-11-02 is a Monday):
//  calls: ann 11-02 org-1, org-2; 11-03 org-1 (no answer); 11-09 org-3;
//         bea 12-01 org-1; ann one general proposal 11-02.
//  deals (acquisition; ann lead_generation, bob/carl sales):
//   d1 new 11-02 09:00 (RUB 10,000.00) -> development 11-03 09:00 (queued
//      in sales) -> claimed by bob 11-03 11:00 (wait 2 h)
//   d2 new 11-02 10:00 -> development 11-04 10:00 -> carl 10:30 (30 min)
//   d3 new 11-05 09:00 (RUB 5,000.00) -> development 11-05 12:00, queued
//   d4 development 11-06 09:00 (first stage, actor not in sales), queued
//   d5 new 11-02 09:30 -> worked_out 11-10 09:00 (lost)
//   d6 development 11-06 12:00 -> bob 11-07 12:00 (1 day)
//   d7 new 11-02 08:00, untouched since
std::vector<Event> Stream() {
  EventFactory f;
  const std::string lg = "lead_generation";
  return {
      f.Call("2026-11-02T09:00:00Z", "org-1", "ann", lg, CallOutcome::kAnswered,
             120),
      f.Call("2026-11-02T10:00:00Z", "org-2", "ann", lg, CallOutcome::kAnswered,
             60),
      f.Call("2026-11-03T09:00:00Z", "org-1", "ann", lg, CallOutcome::kNoAnswer,
             0),
      f.Call("2026-11-09T09:00:00Z", "org-3", "ann", lg, CallOutcome::kAnswered,
             30),
      f.Call("2026-12-01T09:00:00Z", "org-1", "bea", lg, CallOutcome::kAnswered,
             90),
      f.GeneralProposal("2026-11-02T11:00:00Z", "org-1", "ann", lg),
      f.Stage("2026-11-02T09:00:00Z", "d1", "new", "ann", lg, Rub(1000000)),
      f.Stage("2026-11-03T09:00:00Z", "d1", "development", "ann", lg),
      f.Claim("2026-11-03T11:00:00Z", "d1", "bob", "sales"),
      f.Stage("2026-11-02T10:00:00Z", "d2", "new", "ann", lg),
      f.Stage("2026-11-04T10:00:00Z", "d2", "development", "ann", lg),
      f.Claim("2026-11-04T10:30:00Z", "d2", "carl", "sales"),
      f.Stage("2026-11-05T09:00:00Z", "d3", "new", "ann", lg, Rub(500000)),
      f.Stage("2026-11-05T12:00:00Z", "d3", "development", "ann", lg),
      f.Stage("2026-11-06T09:00:00Z", "d4", "development", "ann", lg),
      f.Stage("2026-11-02T09:30:00Z", "d5", "new", "ann", lg),
      f.Stage("2026-11-10T09:00:00Z", "d5", "worked_out", "ann", lg),
      f.Stage("2026-11-06T12:00:00Z", "d6", "development", "ann", lg),
      f.Claim("2026-11-07T12:00:00Z", "d6", "bob", "sales"),
      f.Stage("2026-11-02T08:00:00Z", "d7", "new", "ann", lg),
  };
}

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    h_.Append(Stream());
    h_.CatchUp();
  }

  // Starts a server with the harness's stores (or null ones), `tokens`.
  uint16_t Start(const TokenStore* tokens = nullptr, bool null_stores = false) {
    QueryApiOptions o{.config = &FunnelConfig::Default(),
                      .indicators = Borrow(h_.indicators()),
                      .funnel = Borrow(h_.funnel()),
                      .tokens = tokens,
                      .clock = [] { return T("2026-11-10T12:00:00Z"); }};
    if (null_stores) {
      o.indicators = [] { return std::shared_ptr<const ProjectionStore>(); };
      o.funnel = o.indicators;
    }
    EXPECT_TRUE(RegisterQueryApi(server_, std::move(o)).ok());
    EXPECT_TRUE(server_.Start({.port = 0}).ok());
    return server_.port();
  }

  json Ok(const std::string& target) {
    Reply r = Get(port_, target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body.dump();
    EXPECT_EQ(r.content_type, "application/json");
    return r.body;
  }
  // The problem answered for `target`, checking status and detail.
  json Problem(const std::string& target, int status,
               const std::string& detail) {
    Reply r = Get(port_, target);
    EXPECT_EQ(r.status, status) << target << ": " << r.body.dump();
    EXPECT_EQ(r.content_type, "application/problem+json");
    EXPECT_EQ(r.body.value("detail", ""), detail) << target;
    return r.body;
  }

  testing::TempDir dir_;
  ProjectionHarness h_{dir_.path()};
  HttpServer server_;
  uint16_t port_ = 0;
};

class QueryApiRoutesTest : public QueryApiTest {
 protected:
  void SetUp() override {
    QueryApiTest::SetUp();
    port_ = Start();
  }
};

json Indicators(int calls, int answered, int talk, int orgs, double b,
                int proposals, const std::string& from, const std::string& to) {
  return {{"from", from},         {"to", to},
          {"calls", calls},       {"calls_answered", answered},
          {"talk_seconds", talk}, {"organisations_called", orgs},
          {"calls_per_org", b},   {"proposals_general", proposals},
          {"applications", 0},    {"applications_amount", json::object()},
          {"invoices_issued", 0}, {"invoices_issued_amount", json::object()},
          {"invoices_paid", 0},   {"invoices_paid_amount", json::object()},
          {"deals_won", 0},       {"deals_lost", 0}};
}

TEST_F(QueryApiRoutesTest, HealthzIsOpenAndSaysWhichModelsAreOpen) {
  EXPECT_EQ(
      Ok("/healthz"),
      json({{"status", "ok"},
            {"read_models", {{"indicators", "open"}, {"funnel", "open"}}}}));
}

TEST_F(QueryApiRoutesTest, CallsPerOrgOverARangeIsNotAnAverageOfDays) {
  // Over both days: 3 calls to 2 organisations = 1.5; each day alone: 1.0.
  json whole =
      Ok("/v1/indicators?scope=manager&id=ann&from=2026-11-02&to=2026-11-03");
  EXPECT_EQ(
      whole,
      json({{"scope", "manager"},
            {"id", "ann"},
            {"from", "2026-11-02"},
            {"to", "2026-11-03"},
            {"group", "none"},
            {"timezone", "UTC"},
            {"periods",
             {Indicators(3, 2, 180, 2, 1.5, 1, "2026-11-02", "2026-11-03")}}}));
  json daily =
      Ok("/v1/indicators?scope=manager&id=ann&from=2026-11-02&to=2026-11-03&"
         "group=day");
  EXPECT_EQ(daily["periods"],
            json({Indicators(2, 2, 180, 2, 1.0, 1, "2026-11-02", "2026-11-02"),
                  Indicators(1, 0, 0, 1, 1.0, 0, "2026-11-03", "2026-11-03")}));
}

TEST_F(QueryApiRoutesTest, WeekRollupSplitsAtMondaysAndClipsTheEnds) {
  // 2026-11-01 is a Sunday: the first "week" is that day alone; the last
  // is clipped to Mon..Tue. d5 was lost (by ann) on 11-10.
  json r =
      Ok("/v1/indicators?scope=department&id=lead_generation&from=2026-11-01&"
         "to=2026-11-10&group=week");
  json last = Indicators(1, 1, 30, 1, 1.0, 0, "2026-11-09", "2026-11-10");
  last["deals_lost"] = 1;
  EXPECT_EQ(r["periods"],
            json({Indicators(0, 0, 0, 0, 0.0, 0, "2026-11-01", "2026-11-01"),
                  Indicators(3, 2, 180, 2, 1.5, 1, "2026-11-02", "2026-11-08"),
                  last}));
}

TEST_F(QueryApiRoutesTest, MonthRollupOfTheTotal) {
  json r =
      Ok("/v1/indicators?scope=total&from=2026-11-15&to=2026-12-31&"
         "group=month");
  EXPECT_EQ(r["id"], nullptr);
  EXPECT_EQ(
      r["periods"],
      json({Indicators(0, 0, 0, 0, 0.0, 0, "2026-11-15", "2026-11-30"),
            Indicators(1, 1, 90, 1, 1.0, 0, "2026-12-01", "2026-12-31")}));
  json all = Ok("/v1/indicators?scope=total&from=2026-11-01&to=2026-12-31");
  EXPECT_EQ(all["periods"][0]["calls"], 5);
  EXPECT_EQ(all["periods"][0]["organisations_called"], 3);
}

TEST_F(QueryApiRoutesTest, DepartmentManagersWithTheirTotalsAndPages) {
  json r = Ok(
      "/v1/departments/lead_generation/managers?from=2026-11-01&to=2026-12-31");
  ASSERT_EQ(r["managers"].size(), 2u);
  EXPECT_EQ(r["total"], 2);
  EXPECT_EQ(r["next_offset"], nullptr);
  json ann = Indicators(4, 3, 210, 3, 4.0 / 3, 1, "", "");
  ann.erase("from");
  ann.erase("to");
  ann["manager"] = "ann";
  ann["deals_lost"] = 1;  // d5, 11-10.
  EXPECT_EQ(r["managers"][0], ann);
  EXPECT_EQ(r["managers"][1]["manager"], "bea");
  json page =
      Ok("/v1/departments/lead_generation/managers?from=2026-11-01&"
         "to=2026-12-31&limit=1");
  EXPECT_EQ(page["managers"].size(), 1u);
  EXPECT_EQ(page["next_offset"], 1);
  json sales =
      Ok("/v1/departments/sales/managers?from=2026-11-01&to=2026-11-30");
  EXPECT_EQ(sales["managers"], json::array());
}

TEST_F(QueryApiRoutesTest, StageWorkloadsByDepartmentAndOwner) {
  json r = Ok("/v1/stages?funnel=acquisition&now=2026-11-10T12:00:00Z");
  EXPECT_EQ(r["now"], "2026-11-10T12:00:00Z");
  ASSERT_EQ(r["stages"].size(), 6u);
  // new: d7 (ann, open, entered 11-02 08:00: 8 d 4 h = 705600 s).
  EXPECT_EQ(r["stages"][0], json({{"funnel", "acquisition"},
                                  {"stage", "new"},
                                  {"deals", 1},
                                  {"open", 1},
                                  {"amount", json::object()},
                                  {"forecast", json::object()},
                                  {"avg_time_in_stage_s", 705600},
                                  {"by_department",
                                   {{{"department", "lead_generation"},
                                     {"deals", 1},
                                     {"open", 1},
                                     {"amount", json::object()},
                                     {"forecast", json::object()}}}},
                                  {"by_owner",
                                   {{{"owner", "ann"},
                                     {"deals", 1},
                                     {"open", 1},
                                     {"amount", json::object()},
                                     {"forecast", json::object()}}}}}));
  // development: d1 bob (RUB 10,000.00), d6 bob, d2 carl, d3 (RUB 5,000.00)
  // and d4 unowned; forecast 40 %.
  const json& dev = r["stages"][2];
  EXPECT_EQ(dev["stage"], "development");
  EXPECT_EQ(dev["open"], 5);
  EXPECT_EQ(dev["amount"], json({{"RUB", 1500000}}));
  EXPECT_EQ(dev["forecast"], json({{"RUB", 600000}}));
  // Entered 11-03 09:00, 11-04 10:00, 11-05 12:00, 11-06 09:00, 11-06 12:00.
  EXPECT_EQ(dev["avg_time_in_stage_s"],
            (615600 + 525600 + 432000 + 356400 + 345600) / 5);
  EXPECT_EQ(dev["by_owner"], json({{{"owner", nullptr},
                                    {"deals", 2},
                                    {"open", 2},
                                    {"amount", {{"RUB", 500000}}},
                                    {"forecast", {{"RUB", 200000}}}},
                                   {{"owner", "bob"},
                                    {"deals", 2},
                                    {"open", 2},
                                    {"amount", {{"RUB", 1000000}}},
                                    {"forecast", {{"RUB", 400000}}}},
                                   {{"owner", "carl"},
                                    {"deals", 1},
                                    {"open", 1},
                                    {"amount", json::object()},
                                    {"forecast", json::object()}}}));
  // worked_out: d5, closed: counted in the stage, not open.
  EXPECT_EQ(r["stages"][5]["deals"], 1);
  EXPECT_EQ(r["stages"][5]["open"], 0);
  EXPECT_EQ(r["stages"][5]["avg_time_in_stage_s"], nullptr);
  // The filters apply to the time in stage too: bob holds d1 and d6, the
  // unowned ones are d3 and d4.
  json bob_aged =
      Ok("/v1/stages?funnel=acquisition&owner=bob"
         "&now=2026-11-10T12:00:00Z");
  EXPECT_EQ(bob_aged["stages"][2]["open"], 2);
  EXPECT_EQ(bob_aged["stages"][2]["avg_time_in_stage_s"],
            (615600 + 345600) / 2);
  EXPECT_EQ(bob_aged["stages"][0]["avg_time_in_stage_s"], nullptr);
  json unowned_aged =
      Ok("/v1/stages?funnel=acquisition&owner="
         "&now=2026-11-10T12:00:00Z");
  EXPECT_EQ(unowned_aged["stages"][2]["avg_time_in_stage_s"],
            (432000 + 356400) / 2);

  json bob = Ok("/v1/stages?funnel=acquisition&owner=bob");
  EXPECT_EQ(bob["stages"][2]["open"], 2);
  EXPECT_EQ(bob["stages"][0]["open"], 0);
  json unowned = Ok("/v1/stages?funnel=acquisition&owner=");
  EXPECT_EQ(unowned["stages"][2]["open"], 2);
  json sales = Ok("/v1/stages?department=sales");
  EXPECT_EQ(sales["stages"].size(), 16u);  // Every stage of every funnel.
  EXPECT_EQ(sales["stages"][2]["open"], 5);
  EXPECT_EQ(sales["stages"][0]["open"], 0);
}

TEST_F(QueryApiRoutesTest, StaleAndIdleDealsGivenNowOldestFirst) {
  // At 11-10 12:00: d7 has been in `new` (SLA 72 h) for 8 d 4 h.
  EXPECT_EQ(Ok("/v1/stale?now=2026-11-10T12:00:00Z"),
            json({{"now", "2026-11-10T12:00:00Z"},
                  {"total", 1},
                  {"offset", 0},
                  {"limit", 100},
                  {"next_offset", nullptr},
                  {"deals",
                   {{{"deal", "d7"},
                     {"funnel", "acquisition"},
                     {"stage", "new"},
                     {"department", "lead_generation"},
                     {"owner", "ann"},
                     {"entered", "2026-11-02T08:00:00Z"},
                     {"age_s", 705600},
                     {"sla_s", 259200}}}}}));
  // Idle: d7 (new, 48 h) and d1 (development, 7 d; last activity the claim
  // at 11-03 11:00); d2's claim at 11-04 10:30 is 6 d 1.5 h ago.
  json idle = Ok("/v1/idle?now=2026-11-10T12:00:00Z");
  EXPECT_EQ(idle["total"], 2);
  EXPECT_EQ(idle["deals"], json({{{"deal", "d7"},
                                  {"funnel", "acquisition"},
                                  {"stage", "new"},
                                  {"department", "lead_generation"},
                                  {"owner", "ann"},
                                  {"last_activity", "2026-11-02T08:00:00Z"},
                                  {"idle_s", 705600},
                                  {"idle_limit_s", 172800}},
                                 {{"deal", "d1"},
                                  {"funnel", "acquisition"},
                                  {"stage", "development"},
                                  {"department", "sales"},
                                  {"owner", "bob"},
                                  {"last_activity", "2026-11-03T11:00:00Z"},
                                  {"idle_s", 608400},
                                  {"idle_limit_s", 604800}}}));
  // A month later every open development deal is stale (SLA 30 d), oldest
  // first; paged two at a time.
  json p1 = Ok("/v1/stale?now=2026-12-10T12:00:00Z&stage=development&limit=2");
  EXPECT_EQ(p1["total"], 5);
  EXPECT_EQ(p1["next_offset"], 2);
  ASSERT_EQ(p1["deals"].size(), 2u);
  EXPECT_EQ(p1["deals"][0]["deal"], "d1");
  EXPECT_EQ(p1["deals"][1]["deal"], "d2");
  json p3 = Ok(
      "/v1/stale?now=2026-12-10T12:00:00Z&stage=development&limit=2&offset=4");
  EXPECT_EQ(p3["next_offset"], nullptr);
  ASSERT_EQ(p3["deals"].size(), 1u);
  EXPECT_EQ(p3["deals"][0]["deal"], "d6");
  // Filtered by department and owner (from each deal's state): bob's are
  // d1 and d6; the unowned ones d3 and d4.
  json bob =
      Ok("/v1/stale?now=2026-12-10T12:00:00Z&department=sales&owner=bob");
  EXPECT_EQ(bob["total"], 2);
  EXPECT_EQ(bob["deals"][0]["deal"], "d1");
  EXPECT_EQ(bob["deals"][1]["deal"], "d6");
  json unowned = Ok("/v1/stale?now=2026-12-10T12:00:00Z&owner=");
  EXPECT_EQ(unowned["total"], 2);
  EXPECT_EQ(unowned["deals"][0]["deal"], "d3");
  EXPECT_EQ(unowned["deals"][0]["owner"], nullptr);
  EXPECT_EQ(unowned["deals"][1]["deal"], "d4");
  json lg = Ok("/v1/stale?now=2026-12-10T12:00:00Z&department=lead_generation");
  EXPECT_EQ(lg["total"], 1);  // d7, still in `new`.
  // The default `now` is the server's clock (11-10 12:00 here).
  EXPECT_EQ(Ok("/v1/stale")["total"], 1);
}

TEST_F(QueryApiRoutesTest, GeometryCountsSkippedStagesAsPassed) {
  json r = Ok("/v1/geometry?funnel=acquisition&from=2026-11-01&to=2026-11-30");
  // d4 and d6 start in development: they pass new and active too; d5's
  // lost stage passes nothing.
  EXPECT_EQ(r, json({{"from", "2026-11-01"},
                     {"to", "2026-11-30"},
                     {"group", "none"},
                     {"funnels",
                      {{{"funnel", "acquisition"},
                        {"stages",
                         {{{"stage", "new"}, {"reached", 7}},
                          {{"stage", "active"}, {"reached", 5}},
                          {{"stage", "development"}, {"reached", 5}},
                          {{"stage", "shipment"}, {"reached", 0}},
                          {{"stage", "customer"}, {"reached", 0}},
                          {{"stage", "worked_out"}, {"reached", 1}}}}}}}}));
  json all = Ok("/v1/geometry?from=2026-11-01&to=2026-11-30");
  EXPECT_EQ(all["funnels"].size(), 3u);
  // Per ISO week: d1, d2, d5, d7 reached `new` in the week of 11-02, d3,
  // d4, d6 in that week too (11-05, 11-06); nothing in the next.
  json weekly =
      Ok("/v1/geometry?funnel=acquisition&from=2026-11-02&to=2026-11-15&"
         "group=week");
  const json& periods = weekly["funnels"][0]["periods"];
  ASSERT_EQ(periods.size(), 2u);
  EXPECT_EQ(periods[0]["from"], "2026-11-02");
  EXPECT_EQ(periods[0]["to"], "2026-11-08");
  EXPECT_EQ(periods[0]["stages"][0], json({{"stage", "new"}, {"reached", 7}}));
  EXPECT_EQ(periods[1]["stages"][0], json({{"stage", "new"}, {"reached", 0}}));
  // d5's loss on 11-10 is in the second week.
  EXPECT_EQ(periods[1]["stages"][5],
            json({{"stage", "worked_out"}, {"reached", 1}}));
}

TEST_F(QueryApiRoutesTest, ConversionPerEntryCohort) {
  json r =
      Ok("/v1/conversion?funnel=acquisition&from=2026-11-01&"
         "to=2026-11-30");
  const json& stages = r["funnels"][0]["stages"];
  EXPECT_EQ(stages[0]["stage"], "new");
  EXPECT_EQ(stages[0]["entered"], 7);
  EXPECT_EQ(stages[0]["to_next"], 5);
  EXPECT_EQ(stages[0]["to_won"], 0);
  EXPECT_EQ(stages[0]["to_next_rate"], 5.0 / 7);
  EXPECT_EQ(stages[0]["to_won_rate"], 0.0);
  // To `active` (reached when skipped): d1 1 d, d2 2 d, d3 3 h, d4 and d6
  // at once: 270000 s / 5.
  EXPECT_EQ(stages[0]["avg_time_to_next_s"], 54000);
  // Cohorts per day: the 11-02 cohort of `new` is d1, d2, d5, d7; d1 and
  // d2 moved on (to `active`, by skipping it).
  json daily =
      Ok("/v1/conversion?funnel=acquisition&from=2026-11-02&to=2026-11-03&"
         "group=day");
  const json& day1 = daily["funnels"][0]["periods"][0];
  EXPECT_EQ(day1["from"], "2026-11-02");
  EXPECT_EQ(day1["stages"][0]["entered"], 4);
  EXPECT_EQ(day1["stages"][0]["to_next"], 2);
  EXPECT_EQ(day1["stages"][0]["to_next_rate"], 0.5);
  EXPECT_EQ(day1["stages"][0]["avg_time_to_next_s"], (86400 + 172800) / 2);
  EXPECT_EQ(stages[3]["entered"], 0);
  EXPECT_EQ(stages[3]["to_next_rate"], nullptr);
  EXPECT_EQ(stages[3]["avg_time_to_next_s"], nullptr);
}

TEST_F(QueryApiRoutesTest, ForecastByFunnelDepartmentAndOwner) {
  EXPECT_EQ(
      Ok("/v1/forecast"),
      json({{"group", "funnel"},
            {"funnel", nullptr},
            {"forecast",
             {{{"funnel", "acquisition"}, {"forecast", {{"RUB", 600000}}}}}}}));
  EXPECT_EQ(Ok("/v1/forecast?group=owner")["forecast"],
            json({{{"owner", nullptr}, {"forecast", {{"RUB", 200000}}}},
                  {{"owner", "bob"}, {"forecast", {{"RUB", 400000}}}}}));
  EXPECT_EQ(Ok("/v1/forecast?group=department&funnel=retention")["forecast"],
            json::array());
}

TEST_F(QueryApiRoutesTest, QueuesAndOneQueuePaged) {
  EXPECT_EQ(Ok("/v1/queues"),
            json({{"queues",
                   {{{"department", "account_management"}, {"length", 0}},
                    {{"department", "key_accounts"}, {"length", 0}},
                    {{"department", "lead_generation"}, {"length", 0}},
                    {{"department", "sales"}, {"length", 2}}}}}));
  EXPECT_EQ(Ok("/v1/queues/sales?limit=1&now=2026-11-06T12:00:00Z"),
            json({{"department", "sales"},
                  {"now", "2026-11-06T12:00:00Z"},
                  {"total", 2},
                  {"offset", 0},
                  {"limit", 1},
                  {"next_offset", 1},
                  {"deals",
                   {{{"deal", "d3"},
                     {"since", "2026-11-05T12:00:00Z"},
                     {"reason", "stage_handoff"},
                     {"wait_s", 86400}}}}}));
  json second = Ok("/v1/queues/sales?limit=1&offset=1");
  EXPECT_EQ(second["deals"][0]["deal"], "d4");
  EXPECT_EQ(second["next_offset"], nullptr);
}

TEST_F(QueryApiRoutesTest, ClaimWaitPercentilesAreExact) {
  // Waits in sales: 2 h (claimed 11-03), 30 min (11-04), 1 d (11-07).
  EXPECT_EQ(Ok("/v1/claims?department=sales&from=2026-11-01&to=2026-11-30"),
            json({{"from", "2026-11-01"},
                  {"to", "2026-11-30"},
                  {"group", "none"},
                  {"departments",
                   {{{"department", "sales"},
                     {"claims", 3},
                     {"mean_s", 31800.0},
                     {"p50_s", 7200.0},
                     {"p90_s", 86400.0},
                     {"max_s", 86400.0}}}}}));
  json two = Ok("/v1/claims?department=sales&from=2026-11-03&to=2026-11-04");
  EXPECT_EQ(two["departments"][0]["claims"], 2);
  EXPECT_EQ(two["departments"][0]["mean_s"], 4500.0);
  EXPECT_EQ(two["departments"][0]["p50_s"], 1800.0);
  EXPECT_EQ(two["departments"][0]["p90_s"], 7200.0);
  // Per ISO week: 2 h and 30 min (claimed 11-03, 11-04) and 1 d (11-07)
  // are all in the week of 11-02; none in the next.
  json weekly = Ok(
      "/v1/claims?department=sales&from=2026-11-02&to=2026-11-15&group=week");
  const json& periods = weekly["departments"][0]["periods"];
  ASSERT_EQ(periods.size(), 2u);
  EXPECT_EQ(periods[0]["claims"], 3);
  EXPECT_EQ(periods[0]["p50_s"], 7200.0);
  EXPECT_EQ(periods[1], json({{"from", "2026-11-09"},
                              {"to", "2026-11-15"},
                              {"claims", 0},
                              {"mean_s", 0.0},
                              {"p50_s", 0.0},
                              {"p90_s", 0.0},
                              {"max_s", 0.0}}));
  json all = Ok("/v1/claims?from=2026-11-01&to=2026-11-30");
  EXPECT_EQ(all["departments"].size(), 4u);
}

TEST_F(QueryApiRoutesTest, OneDealWithHistoryAndClaims) {
  EXPECT_EQ(Ok("/v1/deals/d1"),
            json({{"deal", "d1"},
                  {"org", "org-1"},
                  {"funnel", "acquisition"},
                  {"stage", "development"},
                  {"stage_department", "sales"},
                  {"outcome", "open"},
                  {"owner", "bob"},
                  {"owner_department", "sales"},
                  {"amount", {{"amount_minor", 1000000}, {"currency", "RUB"}}},
                  {"queue", nullptr},
                  {"opened", "2026-11-02T09:00:00Z"},
                  {"stage_entered", "2026-11-03T09:00:00Z"},
                  {"last_activity", "2026-11-03T11:00:00Z"},
                  {"events", 3},
                  {"visits",
                   {{{"stage", "new"},
                     {"department", "lead_generation"},
                     {"entered", "2026-11-02T09:00:00Z"},
                     {"actor", "ann"}},
                    {{"stage", "development"},
                     {"department", "sales"},
                     {"entered", "2026-11-03T09:00:00Z"},
                     {"actor", "ann"}}}},
                  {"claims",
                   {{{"department", "sales"},
                     {"manager", "bob"},
                     {"enqueued", "2026-11-03T09:00:00Z"},
                     {"claimed", "2026-11-03T11:00:00Z"},
                     {"wait_s", 7200},
                     {"reason", "stage_handoff"}}}}}));
  EXPECT_EQ(Ok("/v1/deals/d3")["queue"],
            json({{"department", "sales"},
                  {"since", "2026-11-05T12:00:00Z"},
                  {"reason", "stage_handoff"}}));
}

TEST_F(QueryApiRoutesTest, ErrorsNameTheReason) {
  Problem("/v1/indicators?from=2026-13-01&to=2026-12-01", 400,
          "from: \"2026-13-01\" is not a date (YYYY-MM-DD, in the time zone "
          "UTC)");
  Problem("/v1/indicators?from=2026-02-30", 400,
          "from: \"2026-02-30\" is not a date (YYYY-MM-DD, in the time zone "
          "UTC)");
  Problem("/v1/indicators?from=2026-11-10&to=2026-11-02", 400,
          "from 2026-11-10 is after to 2026-11-02");
  Problem("/v1/indicators?from=2025-01-01&to=2026-12-31&group=day", 400,
          "range too large: 730 days from 2025-01-01 to 2026-12-31; at most "
          "400 days with group=day");
  Problem("/v1/indicators?from=2000-01-01&to=2026-12-31", 400,
          "range too large: 9862 days from 2000-01-01 to 2026-12-31; at most "
          "3660 days");
  Problem("/v1/indicators?group=year", 400,
          "unknown group \"year\" (valid: none, day, week, month)");
  Problem("/v1/indicators?scope=manager", 400,
          "id: required with scope=manager");
  json dept = Problem(
      "/v1/indicators?scope=department&id=marketing", 400,
      "unknown department \"marketing\" (valid: lead_generation, sales, "
      "account_management, key_accounts)");
  EXPECT_EQ(dept["valid"], json({"lead_generation", "sales",
                                 "account_management", "key_accounts"}));
  Problem("/v1/departments/marketing/managers", 404,
          "unknown department \"marketing\" (valid: lead_generation, sales, "
          "account_management, key_accounts)");
  Problem("/v1/queues/marketing", 404,
          "unknown department \"marketing\" (valid: lead_generation, sales, "
          "account_management, key_accounts)");
  json funnel =
      Problem("/v1/stages?funnel=upsell", 400,
              "unknown funnel \"upsell\" (valid: acquisition, retention, "
              "reactivation)");
  EXPECT_EQ(funnel["valid"].size(), 3u);
  Problem("/v1/stale?funnel=retention&stage=new", 400,
          "unknown stage \"new\" (valid: review, offer, contract, renewed, "
          "churned)");
  Problem("/v1/queues/sales?limit=0", 400, "limit: 0 is not in [1, 1000]");
  Problem("/v1/queues/sales?limit=5000", 400,
          "limit: 5000 is not in [1, 1000]");
  Problem("/v1/queues/sales?limit=ten", 400,
          "limit: \"ten\" is not an integer");
  Problem("/v1/idle?offset=-1", 400, "offset: -1 is negative");
  Problem("/v1/idle?now=yesterday", 400,
          "now: \"yesterday\" is not an RFC 3339 date-time with an offset, "
          "e.g. 2026-11-23T09:30:00Z");
  Problem("/v1/forecast?group=stage", 400,
          "unknown group \"stage\" (valid: funnel, department, owner)");
  Problem("/v1/deals/nope", 404, "no deal \"nope\"");
}

TEST_F(QueryApiTest, NotOpenStoresAnswer503WithRetryAfter) {
  port_ = Start(nullptr, /*null_stores=*/true);
  Reply r = Get(port_, "/v1/stages");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after, "1");
  EXPECT_EQ(r.body["detail"],
            "the funnel read model is not open yet (its projector is "
            "starting); retry shortly");
  EXPECT_EQ(Get(port_, "/v1/indicators").status, 503);
  EXPECT_EQ(Get(port_, "/healthz").body["read_models"]["funnel"], "not open");
}

TEST_F(QueryApiTest, AProjectionNotServedHereAnswers404SayingSo) {
  ASSERT_TRUE(RegisterQueryApi(server_, {.config = &FunnelConfig::Default(),
                                         .indicators = Borrow(h_.indicators())})
                  .ok());
  ASSERT_TRUE(server_.Start({.port = 0}).ok());
  port_ = server_.port();
  Problem("/v1/queues", 404,
          "this process does not serve the funnel read model; ask `voronka "
          "serve` or `voronka project funnel`");
  EXPECT_EQ(Get(port_, "/v1/indicators?scope=total").status, 200);
  EXPECT_EQ(Get(port_, "/healthz").body["read_models"]["funnel"], "not served");
}

TEST_F(QueryApiTest, EveryRouteButHealthzNeedsTheViewerRole) {
  auto tokens = TokenStore::Parse(
      "tokens:\n"
      "  - name: dash\n"
      "    sha256: " +
          Sha256Hex("viewer-token") +
          "\n"
          "    roles: [viewer]\n"
          "  - name: crm\n"
          "    sha256: " +
          Sha256Hex("ingest-token") +
          "\n"
          "    roles: [ingest]\n",
      "tokens.yaml");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  port_ = Start(&*tokens);
  for (const char* route :
       {"/v1/indicators", "/v1/departments/sales/managers", "/v1/stages",
        "/v1/stale", "/v1/idle", "/v1/geometry", "/v1/conversion",
        "/v1/forecast", "/v1/queues", "/v1/queues/sales", "/v1/claims",
        "/v1/deals/d1"}) {
    EXPECT_EQ(Get(port_, route).status, 401) << route;
    EXPECT_EQ(Get(port_, route, "wrong").status, 401) << route;
    EXPECT_EQ(Get(port_, route, "ingest-token").status, 403) << route;
    EXPECT_EQ(Get(port_, route, "viewer-token").status, 200) << route;
  }
  EXPECT_EQ(Get(port_, "/healthz").status, 200);
}

TEST(QueryApiFlagsTest, ServeRefusesToStartWithoutTokensOrInsecureDev) {
  testing::TempDir dir;
  auto r =
      testing::RunCommand(VORONKA_BINARY, {"serve", "--data", dir.Sub("data")},
                          "", absl::Seconds(30));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 2);
}

TEST(QueryApiServeTest, TheRealServeAnswersQueries) {
  testing::TempDir dir;
  auto serve = testing::ChildProcess::Start(
      VORONKA_BINARY,
      {"serve", "--data", dir.Sub("data"), "--demo", "--demo-events", "2000",
       "--rate", "20000", "--status-every", "60", "--insecure-dev", "--listen",
       "127.0.0.1:0"});
  ASSERT_TRUE(serve.ok()) << serve.status();
  uint16_t port = 0;
  bool warned = false;
  while (port == 0) {
    auto line = (*serve)->ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    if (line->find("NO AUTHENTICATION") != std::string::npos) warned = true;
    const std::string prefix = "listening on http://127.0.0.1:";
    if (line->rfind(prefix, 0) == 0) {
      port = static_cast<uint16_t>(std::stoi(line->substr(prefix.size())));
    }
  }
  EXPECT_TRUE(warned);
  // The simulated organisation starts on 2026-11-02; wait for its calls.
  json calls;
  for (int i = 0; i < 300; ++i) {
    Reply r =
        Get(port, "/v1/indicators?scope=total&from=2026-11-01&to=2026-12-31");
    if (r.status == 200 && r.body["periods"][0]["calls"].get<int>() > 0) {
      calls = r.body["periods"][0]["calls"];
      break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_GT(calls.get<int>(), 0);
  Reply stages = Get(port, "/v1/stages?funnel=acquisition");
  EXPECT_EQ(stages.status, 200);
  EXPECT_EQ(stages.body["stages"].size(), 6u);
  EXPECT_EQ(Get(port, "/v1/queues").status, 200);
  EXPECT_EQ(Get(port, "/healthz").body["status"], "ok");
  ASSERT_TRUE((*serve)->Signal(SIGTERM).ok());
  auto code = (*serve)->Wait(absl::Seconds(60));
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace voronka
