// Backups of projector stores and their restore (services/store_backup.h,
// `voronka project backup | restore`): a replica restored from a backup
// applies only the events after it and ends equal to a rebuild from
// position 0; a store held by a running `voronka project` is backed up
// through a secondary instance; a running projector swaps to a restored
// generation; a damaged, incomplete or foreign backup is refused and leaves
// the store in service alone. Prints backup, restore and catch-up figures.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "events/embedded_log.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "projections/funnel_projection.h"
#include "projections/generations.h"
#include "services/projector_runner.h"
#include "services/simulator.h"
#include "services/store_backup.h"
#include "tests/testing/child_process.h"
#include "tests/testing/projection_harness.h"
#include "tests/testing/temp_dir.h"

namespace voronka {
namespace {

namespace fs = std::filesystem;
using testing::ChildProcess;
using ::testing::HasSubstr;

Simulator MakeSimulator(uint64_t seed) {
  return Simulator(FunnelConfig::Default(), {.seed = seed,
                                             .organisations = 500,
                                             .late_fraction = 0.05,
                                             .duplicate_fraction = 0.03,
                                             .departure_rate = 5});
}

std::unique_ptr<EmbeddedLog> OpenLog(const std::string& dir) {
  auto log = EmbeddedLog::Open({.path = dir});
  EXPECT_TRUE(log.ok()) << log.status();
  return log.ok() ? std::move(*log) : nullptr;
}

double Seconds(absl::Time since) {
  return absl::ToDoubleSeconds(absl::Now() - since);
}

// Projects `log` to its end into the store in service of DATA/funnel, as a
// `voronka project funnel --data DATA` would.
void ProjectFunnel(EventLog& log, const std::string& data) {
  auto generation = Generations(data + "/funnel").Current();
  ASSERT_TRUE(generation.ok()) << generation.status();
  auto store = ProjectionStore::Open({.path = *generation});
  ASSERT_TRUE(store.ok()) << store.status();
  FunnelProjection projection(FunnelConfig::Default());
  auto projector = Projector::Open(log, **store, projection, {});
  ASSERT_TRUE(projector.ok()) << projector.status();
  auto end = log.EndOffsets();
  ASSERT_TRUE(end.ok());
  ASSERT_TRUE((*projector)->CatchUp(*end).ok());
}

// The canonical dump of the funnel store in service of DATA (no positions,
// no de-duplication chunks: testing::ProjectionHarness::Dump).
std::string DumpOfCurrent(testing::ProjectionHarness& h,
                          const std::string& data) {
  auto current = Generations(data + "/funnel").Current();
  EXPECT_TRUE(current.ok());
  auto store = ProjectionStore::Open({.path = *current});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? h.Dump(**store) : "";
}

std::string FunnelVersion() {
  return FunnelProjection(FunnelConfig::Default()).version();
}

std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(StoreBackupTest, RestoredReplicaAppliesOnlyLaterEventsAndEqualsARebuild) {
  testing::TempDir tmp;
  auto log = OpenLog(tmp.Sub("log"));
  ASSERT_NE(log, nullptr);
  Simulator sim = MakeSimulator(1);
  ASSERT_TRUE(log->Append(sim.Next(20000)).ok());
  ProjectFunnel(*log, tmp.Sub("data"));

  auto backup = BackupStore({.projection = "funnel",
                             .data_dir = tmp.Sub("data"),
                             .backup_root = tmp.Sub("backups")});
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->manifest.method, "checkpoint");  // Nobody holds it.
  EXPECT_EQ(backup->manifest.positions, std::vector<int64_t>{20000});
  EXPECT_EQ(backup->manifest.version, FunnelVersion());
  EXPECT_THAT(fs::path(backup->dir).filename().string(),
              ::testing::MatchesRegex("funnel-[0-9]{8}T[0-9]{6}Z-20000"));
  EXPECT_EQ(Entries(tmp.Sub("backups")),
            std::vector<std::string>{fs::path(backup->dir).filename()});

  ASSERT_TRUE(log->Append(sim.Next(5000)).ok());
  auto restored = RestoreStore({.projection = "funnel",
                                .version = FunnelVersion(),
                                .backup_dir = backup->dir,
                                .data_dir = tmp.Sub("replica"),
                                .log_end = *log->EndOffsets()});
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_EQ(restored->generation, tmp.Sub("replica") + "/funnel/gen-000002");
  EXPECT_EQ(*Generations(tmp.Sub("replica/funnel")).Current(),
            restored->generation);

  // A replica on the restored store starts at the backup's positions and
  // consumes the 5,000 records after them, not the 25,000 of the log.
  {
    auto store = ProjectionStore::Open({.path = restored->generation});
    ASSERT_TRUE(store.ok());
    FunnelProjection projection(FunnelConfig::Default());
    auto projector = Projector::Open(*log, **store, projection, {});
    ASSERT_TRUE(projector.ok()) << projector.status();
    EXPECT_EQ((*projector)->positions(), std::vector<int64_t>{20000});
    ASSERT_TRUE((*projector)->CatchUp({25000}).ok());
    const ProjectorStats& stats = (*projector)->stats();
    EXPECT_EQ(stats.applied + stats.duplicates + stats.conflicts, 5000);
    EXPECT_GT(stats.applied, 4000);
  }
  testing::ProjectionHarness rebuild(tmp.Sub("rebuild"), log.get());
  rebuild.CatchUp();
  const std::string want = rebuild.Dump(rebuild.funnel());
  EXPECT_GT(want.size(), 100000u);
  EXPECT_TRUE(want == DumpOfCurrent(rebuild, tmp.Sub("replica")))
      << "restored and caught up differs from a rebuild";
}

// Reads "log N | NAME at M ..." status lines until M == N == `want`.
void WaitAt(ChildProcess& p, int64_t want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto line = p.ReadLine(absl::Seconds(30));
    ASSERT_TRUE(line.ok()) << line.status();
    std::vector<std::string> words = absl::StrSplit(*line, ' ');
    if (words.size() > 5 && words[0] == "log" &&
        words[1] == std::to_string(want) && words[5] == std::to_string(want)) {
      return;
    }
  }
  FAIL() << "projector did not reach " << want;
}

TEST(StoreBackupTest, BacksUpAStoreHeldByARunningProjectProcess) {
  testing::TempDir tmp;
  const std::string data = tmp.Sub("data"), log_dir = tmp.Sub("log");
  {
    auto log = OpenLog(log_dir);
    ASSERT_NE(log, nullptr);
    Simulator sim = MakeSimulator(2);
    ASSERT_TRUE(log->Append(sim.Next(10000)).ok());
  }
  auto p = ChildProcess::Start(
      VORONKA_BINARY,
      {"project", "funnel", "--data", data, "--log", log_dir, "--status-every",
       "0.1", "--insecure-dev", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(p.ok()) << p.status();
  WaitAt(**p, 10000);

  auto backup =
      testing::RunCommand(VORONKA_BINARY,
                          {"project", "backup", "funnel", "--data", data,
                           "--to", tmp.Sub("backups"), "--log", log_dir},
                          "", absl::Seconds(60));
  ASSERT_TRUE(backup.ok()) << backup.status();
  ASSERT_EQ(backup->exit_code, 0) << backup->out;
  std::cout << backup->out;
  // The running projector took the checkpoint itself, between batches.
  EXPECT_THAT(backup->out,
              HasSubstr("(checkpoint by the projector of " + data));
  EXPECT_THAT(backup->out, HasSubstr("positions [10000]"));
  ASSERT_TRUE((*p)->Signal(SIGTERM).ok());
  auto code = (*p)->Wait(absl::Seconds(30));
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(*code, 0);

  const std::vector<std::string> backups = Entries(tmp.Sub("backups"));
  ASSERT_EQ(backups.size(), 1u);
  const std::string backup_dir = tmp.Sub("backups") + "/" + backups[0];
  auto manifest = ReadBackupManifest(backup_dir);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(manifest->method, "checkpoint by the projector");
  EXPECT_EQ(manifest->log_end, std::vector<int64_t>{10000});
  EXPECT_THAT(manifest->log, HasSubstr(log_dir));

  auto restore =
      testing::RunCommand(VORONKA_BINARY,
                          {"project", "restore", "funnel", "--from", backup_dir,
                           "--data", tmp.Sub("replica"), "--log", log_dir},
                          "", absl::Seconds(60));
  ASSERT_TRUE(restore.ok()) << restore.status();
  ASSERT_EQ(restore->exit_code, 0) << restore->out;
  std::cout << restore->out;
  EXPECT_THAT(restore->out, HasSubstr("gen-000002 at positions [10000]"));

  // The copy holds what the projector had committed: the same
  // read model, and (being at the log's end) the same bookkeeping.
  auto log = EmbeddedLog::Open({.path = log_dir, .read_only = true});
  ASSERT_TRUE(log.ok());
  testing::ProjectionHarness h(tmp.Sub("h"), log->get());
  const std::string original = DumpOfCurrent(h, data);
  EXPECT_GT(original.size(), 10000u);
  EXPECT_TRUE(original == DumpOfCurrent(h, tmp.Sub("replica")));
}

// Waits until `runner` serves `generation`, caught up with `records`.
void WaitServing(ProjectorRunner& runner, const std::string& generation,
                 int64_t records) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    ProjectorStatus s = runner.status();
    if (!s.rebuilding && RecordsUpTo(s.positions) == records &&
        s.generation == generation) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  FAIL() << "runner did not serve " << generation << " at " << records
         << "; it is at " << runner.status().generation << ", error "
         << runner.status().last_error;
}

TEST(StoreBackupTest, ARunningProjectorSwapsToARestoredBackup) {
  testing::TempDir tmp;
  auto log = OpenLog(tmp.Sub("log"));
  ASSERT_NE(log, nullptr);
  Simulator sim = MakeSimulator(3);
  ASSERT_TRUE(log->Append(sim.Next(4000)).ok());
  const std::string data = tmp.Sub("data");
  ProjectFunnel(*log, data);
  // Held open here: the backup goes through a secondary instance.
  auto held = ProjectionStore::Open({.path = data + "/funnel/gen-000001"});
  ASSERT_TRUE(held.ok());
  auto backup = BackupStore(
      {.projection = "funnel", .data_dir = data, .backup_root = tmp.Sub("b")});
  ASSERT_TRUE(backup.ok()) << backup.status();
  EXPECT_EQ(backup->manifest.method, "export");
  held->reset();

  ASSERT_TRUE(log->Append(sim.Next(1000)).ok());
  FunnelProjection projection(FunnelConfig::Default());
  const std::string replica = tmp.Sub("replica");
  {
    ProjectorRunner runner(*log, projection, replica + "/funnel");
    WaitServing(runner, replica + "/funnel/gen-000001", 5000);  // A replay.
    auto restored = RestoreStore({.projection = "funnel",
                                  .version = FunnelVersion(),
                                  .backup_dir = backup->dir,
                                  .data_dir = replica});
    ASSERT_TRUE(restored.ok()) << restored.status();
    WaitServing(runner, restored->generation, 5000);
    const ProjectorStats stats = runner.status().stats;  // Of this store.
    EXPECT_EQ(stats.applied + stats.duplicates + stats.conflicts, 1000);
  }  // The runner lets go of the store.

  testing::ProjectionHarness rebuild(tmp.Sub("rebuild"), log.get());
  rebuild.CatchUp();
  EXPECT_TRUE(rebuild.Dump(rebuild.funnel()) ==
              DumpOfCurrent(rebuild, replica));
}

TEST(StoreBackupTest, RefusesDamagedIncompleteOrForeignBackups) {
  testing::TempDir tmp;
  auto log = OpenLog(tmp.Sub("log"));
  ASSERT_NE(log, nullptr);
  Simulator sim = MakeSimulator(4);
  ASSERT_TRUE(log->Append(sim.Next(2000)).ok());
  ProjectFunnel(*log, tmp.Sub("data"));
  auto backup = BackupStore({.projection = "funnel",
                             .data_dir = tmp.Sub("data"),
                             .backup_root = tmp.Sub("b")});
  ASSERT_TRUE(backup.ok()) << backup.status();
  const std::string replica = tmp.Sub("replica");
  RestoreOptions good{.projection = "funnel",
                      .version = FunnelVersion(),
                      .backup_dir = backup->dir,
                      .data_dir = replica};
  ASSERT_TRUE(RestoreStore(good).ok());
  const std::vector<std::string> before = Entries(replica + "/funnel");
  const std::string in_service = *Generations(replica + "/funnel").Current();

  // Each case on its own copy of the backup.
  int copies = 0;
  auto refused =
      [&](const std::function<void(RestoreOptions&)>& spoil) -> absl::Status {
    RestoreOptions options = good;
    options.backup_dir = tmp.Sub("copy" + std::to_string(++copies));
    fs::copy(backup->dir, options.backup_dir, fs::copy_options::recursive);
    spoil(options);
    auto result = RestoreStore(options);
    EXPECT_FALSE(result.ok());
    EXPECT_EQ(Entries(replica + "/funnel"), before);
    EXPECT_EQ(*Generations(replica + "/funnel").Current(), in_service);
    return result.status();
  };
  auto sst = [](const std::string& backup_dir) {
    for (const auto& e : fs::directory_iterator(backup_dir + "/store")) {
      if (e.path().extension() == ".sst") return e.path().string();
    }
    return std::string();
  };

  absl::Status s = refused([](RestoreOptions& o) {
    fs::remove(o.backup_dir + "/manifest.json");  // As a crashed backup.
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("has no manifest.json"));

  s = refused([&](RestoreOptions& o) {
    std::fstream f(sst(o.backup_dir),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\x5a');  // One byte changed.
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("does not match its SHA-256"));

  s = refused([&](RestoreOptions& o) {
    fs::resize_file(sst(o.backup_dir), 10);  // Truncated.
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("has 10 bytes, the manifest says"));

  s = refused([&](RestoreOptions& o) { fs::remove(sst(o.backup_dir)); });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("is missing"));

  s = refused([](RestoreOptions& o) {
    std::ofstream(o.backup_dir + "/manifest.json") << "{\"format\": 1,";
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);

  s = refused([](RestoreOptions& o) { o.projection = "indicators"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is a backup of projection funnel"));

  s = refused([](RestoreOptions& o) { o.version = "funnel/99/other"; });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("would rebuild it from position 0"));

  s = refused([](RestoreOptions& o) { o.log_end = std::vector<int64_t>{10}; });
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("made from another log"));

  // The command says so and exits non-zero.
  auto cli = testing::RunCommand(VORONKA_BINARY,
                                 {"project", "restore", "indicators", "--from",
                                  backup->dir, "--data", replica},
                                 "", absl::Seconds(30));
  ASSERT_TRUE(cli.ok());
  EXPECT_NE(cli->exit_code, 0);
  EXPECT_EQ(*Generations(replica + "/funnel").Current(), in_service);

  // Nothing to back up: no store in service.
  auto none = BackupStore({.projection = "funnel",
                           .data_dir = tmp.Sub("empty"),
                           .backup_root = tmp.Sub("b")});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
}

// Figures: backup, restore and catch-up of a replica against a full
// rebuild, on a 200,000-event log (funnel).
TEST(StoreBackupTest, FiguresForABigStore) {
  testing::TempDir tmp;
  auto log = OpenLog(tmp.Sub("log"));
  ASSERT_NE(log, nullptr);
  Simulator sim = MakeSimulator(5);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(sim.Next(20000)).ok());
  const std::string data = tmp.Sub("data");
  absl::Time t = absl::Now();
  ProjectFunnel(*log, data);
  const double build_s = Seconds(t);

  auto checkpoint = BackupStore(
      {.projection = "funnel", .data_dir = data, .backup_root = tmp.Sub("b")});
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  auto held = ProjectionStore::Open({.path = data + "/funnel/gen-000001"});
  ASSERT_TRUE(held.ok());
  // Held by a process that serves no checkpoint requests: exported.
  auto exported = BackupStore({.projection = "funnel",
                               .data_dir = data,
                               .backup_root = tmp.Sub("e"),
                               .holder_timeout = absl::Milliseconds(300)});
  ASSERT_TRUE(exported.ok()) << exported.status();
  EXPECT_EQ(exported->manifest.method, "export");
  held->reset();

  ASSERT_TRUE(log->Append(sim.Next(10000)).ok());
  auto restored = RestoreStore({.projection = "funnel",
                                .version = FunnelVersion(),
                                .backup_dir = exported->dir,
                                .data_dir = tmp.Sub("replica")});
  ASSERT_TRUE(restored.ok()) << restored.status();
  t = absl::Now();
  ProjectFunnel(*log, tmp.Sub("replica"));
  const double catch_up_s = Seconds(t);
  t = absl::Now();
  ProjectFunnel(*log, tmp.Sub("scratch"));
  const double rebuild_s = Seconds(t);

  std::printf(
      "funnel store of 200,000 events (built in %.2f s):\n"
      "  backup, checkpoint: %.2f s, %.1f MiB, %zu files\n"
      "  backup, export (store held): %.2f s, %.1f MiB, %zu files\n"
      "  restore (verify + copy + open): %.2f s\n"
      "  replica catch-up on 10,000 new events: %.2f s; full rebuild of "
      "210,000: %.2f s\n",
      build_s, absl::ToDoubleSeconds(checkpoint->took),
      checkpoint->manifest.bytes() / 1048576.0,
      checkpoint->manifest.files.size(), absl::ToDoubleSeconds(exported->took),
      exported->manifest.bytes() / 1048576.0, exported->manifest.files.size(),
      absl::ToDoubleSeconds(restored->took), catch_up_s, rebuild_s);
  testing::ProjectionHarness h(tmp.Sub("h"), log.get());
  EXPECT_TRUE(DumpOfCurrent(h, tmp.Sub("replica")) ==
              DumpOfCurrent(h, tmp.Sub("scratch")));
}

}  // namespace
}  // namespace voronka
