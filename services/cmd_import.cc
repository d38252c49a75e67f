// `voronka import cdr`: Asterisk's cdr_csv Master.csv to call.logged events
// (the rules are in cdr.h, the operator's view in docs/ingest.md), sent in
// batches to exactly one target:
//
//   --out -          CloudEvents JSON Lines on stdout (like `simulate --out -`)
//   --data DIR       the embedded log at DIR
//   --kafka BROKERS  a Kafka topic (--topic, -X as everywhere, log_flags.h)
//
// FILE "-" reads stdin. Rows are converted as the file streams in; a bad row
// is reported on stderr as "FILE: line N: column C: reason" and the rest
// goes on. A row whose uniqueid already appeared earlier in the same run is
// skipped (Asterisk writes one per call; the event id is the uniqueid).
// At the end one summary line: rows read, imported, rejected, skipped.
// Written into a log, events get recorded_time = the moment of the append,
// as ingest would stamp them.
//
// Exit codes (commands.h): 0 every row imported or skipped by a rule;
// 2 some rows rejected (the others are imported), or a bad flag, map file,
// funnel configuration or unreadable FILE (nothing imported); 3 the log
// did not take a batch (the batches before it are stored: re-run the import,
// ids are uniqueids); 1 anything else.
//
// With stderr on a terminal a progress line is redrawn at most ten times a
// second: bytes read of the file size, rows, rejected, rows per second.
//
//   voronka import cdr Master.csv --map agents.yaml --data /var/lib/voronka/log
//   ssh pbx cat Master.csv | voronka import cdr - --map agents.yaml --out -
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "events/cloudevents.h"
#include "events/status.h"
#include "fmt/format.h"
#include "services/cdr.h"
#include "services/commands.h"
#include "services/ingest_api.h"
#include "services/log_flags.h"

namespace voronka {
namespace {

struct ImportFlags {
  std::string file;
  std::string map_path;
  std::string config_path;
  std::string out;
  LogFlags log;
  std::string dedup_dir = "./voronka-ingest-dedup";  // Kafka only.
  size_t batch = 1000;
  bool verbose = false;
};

// What became of one batch.
struct BatchOutcome {
  int64_t appended = 0;
  int64_t duplicates = 0;  // Already in the log (an earlier import).
  // Events whose uniqueid the log holds with other content, by index in the
  // batch, with the reason; the rest of the batch is stored.
  std::vector<std::pair<size_t, std::string>> conflicts;
};

// Where imported events go: one call per batch. An error means the batch
// must be treated as not stored (parts of it may be; ids make a retry safe).
class ImportTarget {
 public:
  virtual ~ImportTarget() = default;
  virtual absl::StatusOr<BatchOutcome> AppendBatch(
      std::span<const Event> events) = 0;
  virtual std::string Describe() const = 0;
};

class StdoutTarget : public ImportTarget {
 public:
  StdoutTarget() { std::signal(SIGPIPE, SIG_IGN); }

  absl::StatusOr<BatchOutcome> AppendBatch(
      std::span<const Event> events) override {
    VORONKA_RETURN_IF_ERROR(WriteJsonLines(events));
    return BatchOutcome{.appended = static_cast<int64_t>(events.size())};
  }
  std::string Describe() const override { return "stdout"; }
};

// The log path: idempotent appends (events/idempotent_log.h), so importing
// a file again appends nothing twice.
class LogTarget : public ImportTarget {
 public:
  LogTarget(IngestLog log, std::string name)
      : log_(std::move(log)), name_(std::move(name)) {}

  absl::StatusOr<BatchOutcome> AppendBatch(
      std::span<const Event> events) override {
    std::vector<Event> stamped(events.begin(), events.end());
    std::vector<size_t> index(events.size());
    for (size_t i = 0; i < index.size(); ++i) index[i] = i;
    const Timestamp now = Timestamp::Now();
    for (Event& e : stamped) e.recorded_time = now;
    BatchOutcome outcome;
    while (!stamped.empty()) {
      absl::StatusOr<AppendOnceResult> r = log_.once->AppendOnce(stamped);
      if (!r.ok()) {
        return absl::Status(
            r.status().code(),
            fmt::format("appending to {}: {}", name_, MessageOf(r.status())));
      }
      if (r->conflicts == 0) {
        outcome.appended += r->appended;
        outcome.duplicates += r->duplicates;
        break;
      }
      // Leave the conflicting events out and append the rest.
      std::vector<FieldError> conflicts =
          ConflictErrors(*r, stamped, [](size_t) { return "uniqueid"; });
      for (const FieldError& c : conflicts) {
        outcome.conflicts.emplace_back(
            index[c.index], fmt::format("uniqueid {}: {}; not imported again",
                                        stamped[c.index].id.value(), c.reason));
      }
      std::vector<Event> rest;
      std::vector<size_t> rest_index;
      for (size_t i = 0; i < stamped.size(); ++i) {
        if (r->outcomes[i] != AppendOutcome::kConflict) {
          rest.push_back(std::move(stamped[i]));
          rest_index.push_back(index[i]);
        }
      }
      stamped = std::move(rest);
      index = std::move(rest_index);
    }
    return outcome;
  }
  std::string Describe() const override { return name_; }

 private:
  IngestLog log_;
  std::string name_;
};

absl::StatusOr<std::unique_ptr<ImportTarget>> OpenTarget(
    const ImportFlags& flags) {
  const bool to_log =
      !flags.log.data_dir.empty() || !flags.log.kafka_brokers.empty();
  if (!flags.out.empty()) {
    if (to_log) {
      return absl::InvalidArgumentError(
          "--out - and a log (--data / --kafka) both given: choose one target");
    }
    return std::make_unique<StdoutTarget>();
  }
  if (!to_log) {
    return absl::InvalidArgumentError(
        "no target given: pass --out -, --data DIR or --kafka BROKERS");
  }
  VORONKA_ASSIGN_OR_RETURN(IngestLog log,
                           OpenIngestLog(flags.log, flags.dedup_dir));
  return std::make_unique<LogTarget>(std::move(log), DescribeLog(flags.log));
}

struct ImportStats {
  int64_t bytes = 0;
  int64_t rows = 0;
  int64_t imported = 0;
  int64_t already = 0;  // Of the imported, in the log before this run.
  int64_t rejected = 0;
  int64_t skipped = 0;
};

// The progress line on stderr, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(int64_t total_bytes)
      : enabled_(isatty(STDERR_FILENO) == 1),
        total_bytes_(total_bytes),
        begin_(std::chrono::steady_clock::now()) {}

  // Redraws if the last draw is at least 100 ms old.
  void Update(const ImportStats& s) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    drawn_ = true;
    const double seconds = std::chrono::duration<double>(now - begin_).count();
    const double rate = seconds > 0 ? static_cast<double>(s.rows) / seconds : 0;
    std::string bytes = fmt::format("{:.1f} MiB", Mib(s.bytes));
    if (total_bytes_ > 0) {
      bytes = fmt::format("{:5.1f}% {:.1f}/{:.1f} MiB",
                          100.0 * static_cast<double>(s.bytes) /
                              static_cast<double>(total_bytes_),
                          Mib(s.bytes), Mib(total_bytes_));
    }
    fmt::print(stderr, "\r\033[K{}  rows {}  rejected {}  {:.0f} rows/s", bytes,
               s.rows, s.rejected, rate);
    std::fflush(stderr);
  }

  // Erases the line, before other output to stderr and at the end.
  void Clear() {
    if (!enabled_ || !drawn_) return;
    std::fputs("\r\033[K", stderr);
    drawn_ = false;
  }

 private:
  static double Mib(int64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
  }

  bool enabled_;
  int64_t total_bytes_;  // 0 if unknown (a pipe).
  std::chrono::steady_clock::time_point begin_;
  std::chrono::steady_clock::time_point last_;
  bool drawn_ = false;
};

// Reads FILE, converts its rows and hands batches to the target.
class CdrImport {
 public:
  CdrImport(const ImportFlags& flags, std::string file_name,
            const CdrMapping& mapping, const FunnelConfig& config,
            ImportTarget& target, int64_t total_bytes)
      : flags_(flags),
        file_name_(std::move(file_name)),
        convert_(mapping, config),
        target_(target),
        progress_(total_bytes) {}

  absl::Status Run(std::FILE* in) {
    std::vector<char> buffer(1 << 16);
    while (true) {
      const size_t n = std::fread(buffer.data(), 1, buffer.size(), in);
      if (n > 0) {
        stats_.bytes += static_cast<int64_t>(n);
        csv_.Feed(std::string_view(buffer.data(), n));
        VORONKA_RETURN_IF_ERROR(Drain());
        progress_.Update(stats_);
      }
      if (n < buffer.size()) {
        if (std::ferror(in)) {
          return absl::UnavailableError(fmt::format(
              "{}: cannot read: {}", file_name_, std::strerror(errno)));
        }
        if (std::feof(in)) break;
      }
    }
    csv_.Finish();
    VORONKA_RETURN_IF_ERROR(Drain());
    return Flush();
  }

  const ImportStats& stats() const { return stats_; }
  void ClearProgress() { progress_.Clear(); }

 private:
  absl::Status Drain() {
    while (std::optional<absl::StatusOr<CsvRecord>> r = csv_.Next()) {
      ++stats_.rows;
      if (!r->ok()) {
        Reject(r->status());
        continue;
      }
      absl::StatusOr<Event> event = convert_.Convert(**r);
      if (absl::IsNotFound(event.status())) {
        ++stats_.skipped;
        if (flags_.verbose) Report(event.status());
        continue;
      }
      if (!event.ok()) {
        Reject(event.status());
        continue;
      }
      auto [it, inserted] = first_line_.emplace(event->id.value(), (*r)->line);
      if (!inserted) {
        ++stats_.skipped;
        if (flags_.verbose) {
          Report(absl::NotFoundError(fmt::format(
              "line {}: skipped: uniqueid {} already imported from line {}",
              (*r)->line, event->id.value(), it->second)));
        }
        continue;
      }
      batch_.push_back(*std::move(event));
      batch_lines_.push_back((*r)->line);
      if (batch_.size() >= flags_.batch) VORONKA_RETURN_IF_ERROR(Flush());
    }
    return absl::OkStatus();
  }

  absl::Status Flush() {
    if (batch_.empty()) return absl::OkStatus();
    VORONKA_ASSIGN_OR_RETURN(BatchOutcome outcome, target_.AppendBatch(batch_));
    stats_.imported += outcome.appended + outcome.duplicates;
    stats_.already += outcome.duplicates;
    for (const auto& [i, reason] : outcome.conflicts) {
      Reject(absl::FailedPreconditionError(
          fmt::format("line {}: {}", batch_lines_[i], reason)));
    }
    batch_.clear();
    batch_lines_.clear();
    return absl::OkStatus();
  }

  void Reject(const absl::Status& status) {
    ++stats_.rejected;
    Report(status);
  }

  void Report(const absl::Status& status) {
    progress_.Clear();
    fmt::print(stderr, "{}: {}\n", file_name_, MessageOf(status));
  }

  const ImportFlags& flags_;
  std::string file_name_;
  CsvParser csv_;
  CdrConverter convert_;
  ImportTarget& target_;
  Progress progress_;
  ImportStats stats_;
  std::vector<Event> batch_;
  std::vector<int64_t> batch_lines_;  // The line of each event in batch_.
  absl::flat_hash_map<std::string, int64_t> first_line_;  // uniqueid -> line
};

absl::Status RunImportCdr(const ImportFlags& flags) {
  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  VORONKA_ASSIGN_OR_RETURN(const CdrMapping mapping,
                           CdrMapping::LoadFile(flags.map_path, config));
  const bool from_stdin = flags.file == "-";
  const std::string file_name = from_stdin ? "<stdin>" : flags.file;
  std::FILE* in = from_stdin ? stdin : std::fopen(flags.file.c_str(), "rb");
  if (in == nullptr) {
    return absl::NotFoundError(
        fmt::format("{}: cannot open: {}", flags.file, std::strerror(errno)));
  }
  struct stat st;
  const int64_t total_bytes =
      fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : 0;
  absl::StatusOr<std::unique_ptr<ImportTarget>> target = OpenTarget(flags);
  if (!target.ok()) {
    if (!from_stdin) std::fclose(in);
    return target.status();
  }

  CdrImport import(flags, file_name, mapping, config, **target, total_bytes);
  const absl::Status status = import.Run(in);
  if (!from_stdin) std::fclose(in);
  import.ClearProgress();

  const ImportStats& s = import.stats();
  fmt::print(stderr,
             "voronka import cdr: {}: {} rows read, {} imported, {} rejected, "
             "{} skipped -> {}{}{}\n",
             file_name, s.rows, s.imported, s.rejected, s.skipped,
             (*target)->Describe(),
             s.already > 0
                 ? fmt::format(" ({} of the imported were in the log already)",
                               s.already)
                 : "",
             absl::IsCancelled(status) ? " (stopped: stdout closed)" : "");
  if (absl::IsCancelled(status)) return absl::OkStatus();
  VORONKA_RETURN_IF_ERROR(status);
  if (s.rejected > 0) {
    return absl::InvalidArgumentError(fmt::format(
        "{} of {} rows rejected (listed above by line); the others were "
        "imported",
        s.rejected, s.rows));
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterImportCommand(CLI::App& app) {
  CLI::App* import = app.add_subcommand(
      "import", "Import events from other systems' files (docs/ingest.md)");
  import->require_subcommand(1);

  auto flags = std::make_shared<ImportFlags>();
  CLI::App* cdr = import->add_subcommand(
      "cdr",
      "Asterisk cdr_csv Master.csv to call.logged events. Exit code 0: all "
      "rows imported or skipped; 2: some rows rejected (listed on stderr by "
      "line), or bad input; 3: the log is unavailable");
  cdr->add_option("FILE", flags->file, "Master.csv, or - for stdin")
      ->required();
  cdr->add_option("--map", flags->map_path,
                  "Map file: agents, organisations, time zone, source "
                  "(deploy/examples/agents.yaml)")
      ->required()
      ->check(CLI::ExistingFile);
  cdr->add_option("--config", flags->config_path,
                  "Funnel configuration YAML (default: built-in)")
      ->check(CLI::ExistingFile);
  cdr->add_option("--out", flags->out,
                  "\"-\": CloudEvents JSON Lines on stdout instead of a log")
      ->check(CLI::IsMember({"-"}));
  AddLogFlags(*cdr, flags->log);
  cdr->add_option("--dedup-dir", flags->dedup_dir,
                  "Kafka: directory of the (source, id) index (as for "
                  "`voronka ingest`)")
      ->capture_default_str();
  cdr->add_option("--batch", flags->batch, "Events per append")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cdr->add_flag("-v,--verbose", flags->verbose,
                "Also list skipped rows and why on stderr");
  cdr->callback([flags] { FailIfError(RunImportCdr(*flags)); });
}

}  // namespace voronka
