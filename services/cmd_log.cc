// `voronka log`: look into an event log and exercise it.
//
//   voronka log stats --data DIR            partitions, end offsets, size
//   voronka log tail  --data DIR [-n 10] [--from-start] [--follow] [--json]
//                                            [--skip-corrupt]
//   voronka log load  --data DIR --events N [--batch B] [--print-acks]
//
// `tail` stops with exit code 4 at a record that does not decode, naming its
// position; with --skip-corrupt it reports such records on stderr and goes
// on. `load` appends synthetic call.logged events (source "voronka/log-load")
// and, with --print-acks, prints "acked P/O" for the last event of every
// batch only after Append() returned it as durable: the kill -9 test of the
// embedded log relies on exactly that line.
#include <atomic>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "events/cloudevents.h"
#include "events/embedded_log.h"
#include "events/status.h"
#include "events/timestamp.h"
#include "fmt/format.h"
#include "services/commands.h"
#include "services/log_flags.h"

namespace voronka {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop = true; }

struct TailFlags {
  LogFlags log;
  int64_t last = 10;
  bool from_start = false;
  bool follow = false;
  bool json = false;
  bool skip_corrupt = false;
};

struct LoadFlags {
  LogFlags log;
  int64_t events = 100000;
  int64_t batch = 1000;
  bool print_acks = false;
};

absl::Status Stats(const LogFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags));
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log->EndOffsets());
  int64_t total = 0;
  std::cout << DescribeLog(flags) << "\n"
            << "partitions: " << log->partition_count() << "\n";
  for (size_t p = 0; p < ends.size(); ++p) {
    std::cout << fmt::format("partition {}: end offset {}\n", p, ends[p]);
    total += ends[p];
  }
  std::cout << "records: " << total << "\n";
  if (auto* embedded = dynamic_cast<EmbeddedLog*>(log.get())) {
    std::cout << fmt::format("size on disk: {:.1f} MiB\n",
                             embedded->SizeOnDisk() / 1048576.0);
  }
  return absl::OkStatus();
}

void PrintRecord(const LogRecord& r, bool json) {
  if (json) {
    std::cout << fmt::format(R"({{"partition":{},"offset":{},"event":{}}})",
                             r.position.partition, r.position.offset,
                             ToStructuredJson(r.event))
              << "\n";
    return;
  }
  std::cout << fmt::format(
      "{}/{}  {}  {:<22} {}#{}  key={}\n", r.position.partition,
      r.position.offset, FormatRfc3339(r.event.time), r.event.type_name(),
      r.event.source.value(), r.event.id.value(), r.event.key());
}

absl::Status Tail(const TailFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags.log));
  VORONKA_ASSIGN_OR_RETURN(std::vector<int64_t> ends, log->EndOffsets());
  ReaderOptions options;
  for (int64_t end : ends) {
    options.start_offsets.push_back(
        flags.from_start ? 0 : std::max<int64_t>(0, end - flags.last));
  }
  if (flags.skip_corrupt) {
    options.dead_letter = [](const CorruptRecord& r) {
      std::cerr << fmt::format(
          "voronka: skipped corrupt record at partition {} offset {} ({} "
          "bytes): {}\n",
          r.position.partition, r.position.offset, r.bytes.size(),
          r.error.message());
    };
  }
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<LogReader> reader,
                           log->OpenReader(std::move(options)));
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  auto caught_up = [&] {
    std::vector<int64_t> at = reader->positions();
    for (size_t p = 0; p < ends.size(); ++p) {
      if (p < at.size() && at[p] < ends[p]) return false;
    }
    return true;
  };
  while (!g_stop && (flags.follow || !caught_up())) {
    VORONKA_ASSIGN_OR_RETURN(std::vector<LogRecord> records,
                             reader->Next(1000, absl::Milliseconds(200)));
    for (const LogRecord& r : records) PrintRecord(r, flags.json);
    std::cout.flush();
  }
  return absl::OkStatus();
}

// Synthetic calls spread over 1,000 organisations and 20 managers.
std::vector<Event> LoadBatch(const std::string& run, int64_t first,
                             int64_t count) {
  std::vector<Event> events;
  events.reserve(count);
  const Timestamp now = Timestamp::Now();
  for (int64_t i = first; i < first + count; ++i) {
    events.push_back(Event{
        .id = EventId(fmt::format("{}-{}", run, i)),
        .source = SourceId("voronka/log-load"),
        .time = now,
        .recorded_time = now,
        .data = CallLogged{.org = OrgId(fmt::format("org-{}", i % 1000)),
                           .manager = ManagerId(fmt::format("load-{}", i % 20)),
                           .department = DepartmentId("lead_generation"),
                           .outcome = i % 3 == 0 ? CallOutcome::kNoAnswer
                                                 : CallOutcome::kAnswered,
                           .duration_s = i % 600}});
  }
  return events;
}

absl::Status Load(const LoadFlags& flags) {
  if (flags.events < 0 || flags.batch < 1) {
    return absl::InvalidArgumentError("--events must be >= 0, --batch >= 1");
  }
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EventLog> log, OpenLog(flags.log));
  const std::string run =
      fmt::format("load-{}", absl::ToUnixMicros(absl::Now()));
  const absl::Time start = absl::Now();
  int64_t appended = 0;
  while (appended < flags.events) {
    const int64_t n = std::min(flags.batch, flags.events - appended);
    std::vector<Event> batch = LoadBatch(run, appended, n);
    VORONKA_ASSIGN_OR_RETURN(std::vector<LogPosition> positions,
                             log->Append(batch));
    appended += n;
    if (flags.print_acks) {
      std::cout << fmt::format("acked {}/{}\n", positions.back().partition,
                               positions.back().offset)
                << std::flush;
    }
  }
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::cerr << fmt::format(
      "voronka: appended {} events to {} in {:.2f} s ({:.0f} events/s, "
      "batches of {})\n",
      appended, DescribeLog(flags.log), seconds,
      seconds > 0 ? appended / seconds : 0.0, flags.batch);
  return absl::OkStatus();
}

}  // namespace

void RegisterLogCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("log", "Inspect or exercise an event log");
  cmd->require_subcommand(1);

  auto stats = std::make_shared<LogFlags>();
  CLI::App* stats_cmd =
      cmd->add_subcommand("stats", "Partitions, end offsets and size");
  AddLogFlags(*stats_cmd, *stats);
  stats_cmd->callback([stats] { FailIfError(Stats(*stats)); });

  auto tail = std::make_shared<TailFlags>();
  CLI::App* tail_cmd = cmd->add_subcommand("tail", "Print the last records");
  AddLogFlags(*tail_cmd, tail->log);
  tail_cmd->add_option("-n,--last", tail->last, "Records per partition")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  tail_cmd->add_flag("--from-start", tail->from_start, "Print from offset 0");
  tail_cmd->add_flag("-f,--follow", tail->follow,
                     "Keep printing new records until SIGINT/SIGTERM");
  tail_cmd->add_flag("--json", tail->json,
                     "One JSON object per line: partition, offset, event");
  tail_cmd->add_flag("--skip-corrupt", tail->skip_corrupt,
                     "Report undecodable records on stderr and go on");
  tail_cmd->callback([tail] { FailIfError(Tail(*tail)); });

  auto load = std::make_shared<LoadFlags>();
  CLI::App* load_cmd = cmd->add_subcommand(
      "load", "Append synthetic call.logged events (testing, benchmarks)");
  AddLogFlags(*load_cmd, load->log);
  load_cmd->add_option("--events", load->events, "How many")
      ->capture_default_str();
  load_cmd->add_option("--batch", load->batch, "Events per Append()")
      ->capture_default_str();
  load_cmd->add_flag("--print-acks", load->print_acks,
                     "Print \"acked P/O\" after each durable batch");
  load_cmd->callback([load] { FailIfError(Load(*load)); });
}

}  // namespace voronka
