// The production topology on the dev broker, every service its own process
// (issue 6): `voronka dev-broker`, `voronka ingest` (HTTP and the Kafka
// inbox), `voronka project` for each read model with two replicas of the
// funnel, fed by two simulators at once (one over HTTP, one producing to the
// inbox). Mid-stream, projectors are killed with SIGKILL or stopped with
// SIGTERM and restarted, and ingest is killed and restarted on its port
// while the HTTP sender keeps sending (it retries). At the end:
//
//   - the log holds every (source, id) once;
//   - every service answers /healthz, /readyz (caught up) and /metrics;
//   - both funnel replicas and a single-process `voronka serve --kafka` over
//     the same log answer the same /v1/stages and /v1/queues;
//   - after SIGTERM (exit 0), every store equals what the single process
//     built: indicators, both funnel replicas and the audit index.
#include <signal.h>

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "events/kafka_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/generations.h"
#include "projections/store.h"
#include "tests/testing/child_process.h"
#include "tests/testing/log_contents.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/temp_dir.h"
#include "tests/testing/voronka_process.h"

namespace voronka {
namespace {

using testing::ChildProcess;
using testing::HttpGetBody;
using testing::HttpGetJson;
using testing::Listening;
using testing::StartListening;

// The store in service under `dir`, dumped for comparison. The audit
// index's departure seals record how far the projector had read each
// partition when it met the departure, which depends on the reading pace:
// they are left out (docs/audit.md says so).
std::string DumpOf(const std::string& dir) {
  auto current = Generations(dir).Current();
  EXPECT_TRUE(current.ok()) << current.status();
  if (!current.ok()) return "";
  auto store = ProjectionStore::Open({.path = *current, .read_only = true});
  EXPECT_TRUE(store.ok()) << dir << ": " << store.status();
  if (!store.ok()) return "";
  std::string dump = testing::ComparableDump(**store);
  std::string out;
  size_t begin = 0;
  while (begin < dump.size()) {
    size_t end = dump.find('\n', begin);
    if (end == std::string::npos) end = dump.size();
    const std::string line = dump.substr(begin, end - begin);
    if (!line.starts_with("E as\\x00")) out += line + "\n";
    begin = end + 1;
  }
  return out;
}

class TopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = ChildProcess::Start(
        VORONKA_BINARY, {"dev-broker", "--brokers", "3", "--partitions", "4",
                         "--topic", "voronka.events", "--topic",
                         "voronka.inbox", "--topic", "voronka.inbox.dlq"});
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = std::move(*broker);
    auto line = broker_->ReadLine(absl::Seconds(10));
    while (line.ok() && !line->starts_with("bootstrap=")) {
      line = broker_->ReadLine(absl::Seconds(10));
    }
    ASSERT_TRUE(line.ok()) << line.status();
    bootstrap_ = line->substr(std::string("bootstrap=").size());
    auto log = KafkaLog::Open({.brokers = bootstrap_});
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = std::move(*log);
    ingest_port_ = testing::FreePort();
  }

  Listening Start(const std::vector<std::string>& args) {
    absl::StatusOr<Listening> p = StartListening(VORONKA_BINARY, args);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : Listening{};
  }

  Listening Ingest() {
    return Start({"ingest", "--kafka", bootstrap_, "--listen",
                  "127.0.0.1:" + std::to_string(ingest_port_), "--insecure-dev",
                  "--dedup-dir", dir_.Sub("ingest-dedup"), "--from-topic",
                  "voronka.inbox", "--status-every", "1", "-X",
                  "session.timeout.ms=6000"});
  }

  Listening Project(const std::string& name, const std::string& replica) {
    return Start({"project", name, "--data", dir_.Sub(replica), "--kafka",
                  bootstrap_, "--listen", "127.0.0.1:0", "--insecure-dev",
                  "--ready-max-lag", "0", "--status-every", "1"});
  }

  // SIGTERM, and the process must exit 0 within 60 s.
  static void StopCleanly(Listening& p, const std::string& what) {
    ASSERT_NE(p.process, nullptr) << what;
    ASSERT_TRUE(p.process->Signal(SIGTERM).ok()) << what;
    absl::StatusOr<int> code = p.process->Wait(absl::Seconds(60));
    ASSERT_TRUE(code.ok()) << what << ": " << code.status();
    EXPECT_EQ(*code, 0) << what;
  }

  static void Kill(Listening& p) {
    ASSERT_NE(p.process, nullptr);
    ASSERT_TRUE(p.process->Signal(SIGKILL).ok());
    ASSERT_TRUE(p.process->Wait(absl::Seconds(10)).ok());
  }

  // Until the event log holds every (source, id) produced to the inbox
  // (the HTTP sender is done when it exits: each of its batches was
  // acknowledged, so durable). Returns the log's records.
  int64_t WaitForInboxDrained() {
    auto inbox =
        KafkaLog::Open({.brokers = bootstrap_, .topic = "voronka.inbox"});
    EXPECT_TRUE(inbox.ok()) << inbox.status();
    if (!inbox.ok()) return -1;
    auto produced = testing::ReadToEnd(**inbox);
    EXPECT_TRUE(produced.ok()) << produced.status();
    if (!produced.ok()) return -1;
    const std::map<std::string, int> want = testing::CopiesPerKey(*produced);
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    size_t missing = want.size();
    while (absl::Now() < deadline) {
      auto all = testing::ReadToEnd(*log_);
      EXPECT_TRUE(all.ok()) << all.status();
      if (!all.ok()) return -1;
      const std::map<std::string, int> have = testing::CopiesPerKey(*all);
      missing = 0;
      for (const auto& [key, n] : want) missing += !have.contains(key);
      if (missing == 0) return static_cast<int64_t>(all->size());
      absl::SleepFor(absl::Milliseconds(500));
    }
    ADD_FAILURE() << missing << " of " << want.size()
                  << " inbox events never reached the log";
    return -1;
  }

  static void WaitReady(const Listening& p, const std::string& what) {
    const absl::Time deadline = absl::Now() + absl::Seconds(120);
    absl::StatusOr<std::string> ready;
    while (absl::Now() < deadline) {
      ready = HttpGetBody(p.url + "/readyz");
      if (ready.ok()) return;
      absl::SleepFor(absl::Milliseconds(200));
    }
    ADD_FAILURE() << what << " never became ready: " << ready.status();
  }

  testing::TempDir dir_;
  std::unique_ptr<ChildProcess> broker_;
  std::string bootstrap_;
  std::unique_ptr<KafkaLog> log_;
  int ingest_port_ = 0;
};

TEST_F(TopologyTest, EveryServiceItsOwnProcessEqualsASingleProcessRebuild) {
  Listening ingest = Ingest();
  ASSERT_NE(ingest.process, nullptr);
  std::map<std::string, Listening> projectors;
  for (const auto& [name, replica] :
       std::vector<std::pair<std::string, std::string>>{
           {"indicators", "indicators-1"},
           {"funnel", "funnel-1"},
           {"funnel", "funnel-2"},
           {"audit", "audit-1"}}) {
    projectors[replica] = Project(name, replica);
    ASSERT_NE(projectors[replica].process, nullptr) << replica;
  }

  // Two senders at once: HTTP (retrying through the ingest restart) and
  // producers to the inbox.
  const std::string events_url = ingest.url + "/v1/events";
  auto http_sender = ChildProcess::Start(
      VORONKA_BINARY, {"simulate", "--url", events_url, "--seed", "11",
                       "--events", "9000", "--rate", "1500", "--batch", "100",
                       "--organisations", "800", "--departure-rate", "6"});
  ASSERT_TRUE(http_sender.ok()) << http_sender.status();
  auto inbox_sender = ChildProcess::Start(
      VORONKA_BINARY,
      {"simulate", "--inbox", bootstrap_, "--seed", "12", "--events", "4000",
       "--rate", "700", "--batch", "50", "--organisations", "300"});
  ASSERT_TRUE(inbox_sender.ok()) << inbox_sender.status();

  // Mid-stream: crash and restart.
  absl::SleepFor(absl::Seconds(2));
  Kill(projectors["funnel-1"]);
  StopCleanly(projectors["indicators-1"], "indicators-1 (mid-stream)");
  projectors["indicators-1"] = Project("indicators", "indicators-1");
  absl::SleepFor(absl::Seconds(1));
  Kill(ingest);
  absl::SleepFor(absl::Seconds(1));
  projectors["funnel-1"] = Project("funnel", "funnel-1");
  ingest = Ingest();  // Same port: the HTTP sender carries on.
  ASSERT_NE(ingest.process, nullptr);
  absl::SleepFor(absl::Seconds(1));
  Kill(projectors["audit-1"]);
  projectors["audit-1"] = Project("audit", "audit-1");

  for (auto* sender : {&*http_sender, &*inbox_sender}) {
    absl::StatusOr<int> code = (*sender)->Wait(absl::Seconds(120));
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0) << "a sender failed";
  }
  const int64_t records = WaitForInboxDrained();

  // Exactly once: the crashes doubled nothing.
  absl::StatusOr<std::vector<LogRecord>> all = testing::ReadToEnd(*log_);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(static_cast<int64_t>(all->size()), records);
  const std::map<std::string, int> copies = testing::CopiesPerKey(*all);
  int from_http = 0, from_inbox = 0;  // Ids are "s<seed>-...".
  for (const auto& [key, n] : copies) {
    EXPECT_EQ(n, 1) << key;
    from_http += absl::StrContains(key, "/s11-");
    from_inbox += absl::StrContains(key, "/s12-");
  }
  EXPECT_GT(from_http, 8000) << copies.begin()->first;
  EXPECT_GT(from_inbox, 3500) << copies.begin()->first;
  EXPECT_EQ(static_cast<int64_t>(copies.size()), records);
  EXPECT_GT(records, 10000);

  // The single process, over the same log.
  Listening single =
      Start({"serve", "--kafka", bootstrap_, "--data", dir_.Sub("single"),
             "--listen", "127.0.0.1:0", "--insecure-dev", "--ready-max-lag",
             "0", "--status-every", "1"});
  ASSERT_NE(single.process, nullptr);
  WaitReady(single, "serve --kafka");
  for (auto& [replica, p] : projectors) WaitReady(p, replica);
  for (const Listening* p :
       {&ingest, &single, &projectors["funnel-1"], &projectors["audit-1"]}) {
    EXPECT_TRUE(HttpGetBody(p->url + "/healthz").ok()) << p->url;
    absl::StatusOr<std::string> metrics = HttpGetBody(p->url + "/metrics");
    ASSERT_TRUE(metrics.ok()) << p->url << ": " << metrics.status();
    EXPECT_THAT(*metrics, ::testing::HasSubstr("voronka_build_info"));
  }
  // At one `now`, so that times in stage and waits are comparable.
  for (const std::string route : {"/v1/stages?now=2027-01-01T00:00:00Z",
                                  "/v1/queues?now=2027-01-01T00:00:00Z"}) {
    auto want = HttpGetJson(single.url + route);
    ASSERT_TRUE(want.ok()) << route << ": " << want.status();
    for (const std::string replica : {"funnel-1", "funnel-2"}) {
      auto got = HttpGetJson(projectors[replica].url + route);
      ASSERT_TRUE(got.ok()) << replica << route << ": " << got.status();
      EXPECT_EQ(*got, *want) << replica << route;
    }
  }

  StopCleanly(ingest, "ingest");
  StopCleanly(single, "serve --kafka");
  for (auto& [replica, p] : projectors) StopCleanly(p, replica);

  for (const auto& [name, replicas] :
       std::map<std::string, std::vector<std::string>>{
           {"indicators", {"indicators-1"}},
           {"funnel", {"funnel-1", "funnel-2"}},
           {"audit", {"audit-1"}}}) {
    const std::string want = DumpOf(dir_.Sub("single/" + name));
    EXPECT_GT(want.size(), 1000u) << name;
    for (const std::string& replica : replicas) {
      EXPECT_TRUE(DumpOf(dir_.Sub(replica + "/" + name)) == want)
          << replica << " differs from the single-process " << name;
    }
  }
}

}  // namespace
}  // namespace voronka
