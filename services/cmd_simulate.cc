// `voronka simulate`: runs the simulated sales organisation (simulator.h) and
// sends its events, in batches, to exactly one target:
//
//   --out -          CloudEvents JSON Lines on stdout, one structured event
//                    per line (pipe it to a file, kcat, curl...)
//   --data DIR       the embedded log at DIR (EmbeddedLog)
//   --kafka BROKERS  a Kafka topic (KafkaLog; --topic, default voronka.events)
//   --url URL        HTTP ingest, POST /v1/events (IngestClient's retry
//                    rules), over --connections N keep-alive connections;
//                    bearer token from --token-file or $VORONKA_TOKEN
//   --inbox BROKERS  a Kafka inbox topic (--inbox-topic, default
//                    voronka.inbox) as `kcat -P` users write it: structured
//                    CloudEvents JSON values, keyed by Event::key()
//
// It stops after --events N, or at SIGINT / SIGTERM (after the batch in
// flight), and prints a summary to stderr: the events the target
// acknowledged (an HTTP 202, a Kafka delivery report, an append). --rate
// paces the sending in events per second of wall-clock time (0: as fast as
// the target takes them). A target error is printed and gives a non-zero
// exit code (commands.h); stdout closed by the reader (`| head`) ends the
// run normally.
//
// Written straight into a log (--data, --kafka), events get recorded_time =
// the moment of the append: here the simulator stands in for ingest. Sent
// to stdout, HTTP ingest or an inbox they carry no recordedtime, like any
// sender's events.
//
//   voronka simulate --seed 7 --events 500 --out - > events.jsonl
//   voronka simulate --data /var/lib/voronka/log --rate 50
//   voronka simulate --url http://127.0.0.1:8480/v1/events --connections 4
#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "events/cloudevents.h"
#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/status.h"
#include "fmt/format.h"
#include "services/commands.h"
#include "services/ingest_sender.h"
#include "services/simulator.h"
#include "services/stop_signals.h"

namespace voronka {
namespace {

struct SimulateFlags {
  SimulatorOptions sim;
  std::string start = FormatRfc3339(SimulatorOptions{}.start);
  std::string tick =
      fmt::format("{}s", absl::ToInt64Seconds(SimulatorOptions{}.tick));
  bool around_the_clock = false;
  std::string config_path;
  int64_t events = 0;  // 0: until a signal.
  double rate = 0;
  size_t batch = 500;
  std::string out;
  std::string data;
  std::string kafka;
  std::string topic = "voronka.events";
  int32_t partitions = 0;
  std::string url;
  std::string token_file;
  int connections = 1;
  std::string inbox;
  std::string inbox_topic = "voronka.inbox";
};

// Where the events go. Write() gets each batch once; Cancelled means the
// reader went away (or a stop signal came) and the run should end quietly.
// Finish() waits for what Write() handed over; `stopped`: after a signal.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual absl::Status Write(std::span<const Event> events) = 0;
  virtual absl::Status Finish(bool /*stopped*/) { return absl::OkStatus(); }
  // Events the target acknowledged so far.
  virtual int64_t sent() const = 0;
  // "stdout", "embedded log DIR", ...; after Finish, with any details.
  virtual std::string Describe() const = 0;
};

class StdoutSink : public Sink {
 public:
  StdoutSink() { std::signal(SIGPIPE, SIG_IGN); }

  absl::Status Write(std::span<const Event> events) override {
    VORONKA_RETURN_IF_ERROR(WriteJsonLines(events));
    sent_ += static_cast<int64_t>(events.size());
    return absl::OkStatus();
  }
  int64_t sent() const override { return sent_; }
  std::string Describe() const override { return "stdout"; }

 private:
  int64_t sent_ = 0;
};

// An EventLog; `stamp`: set recorded_time (the simulator acts as ingest).
class LogSink : public Sink {
 public:
  LogSink(std::unique_ptr<EventLog> log, std::string name, bool stamp)
      : log_(std::move(log)), name_(std::move(name)), stamp_(stamp) {}

  absl::Status Write(std::span<const Event> events) override {
    std::vector<Event> stamped(events.begin(), events.end());
    const Timestamp now = Timestamp::Now();
    if (stamp_) {
      for (Event& e : stamped) e.recorded_time = now;
    }
    absl::StatusOr<std::vector<LogPosition>> positions = log_->Append(stamped);
    if (!positions.ok()) {
      return absl::Status(positions.status().code(),
                          fmt::format("appending to {}: {}", name_,
                                      MessageOf(positions.status())));
    }
    sent_ += static_cast<int64_t>(events.size());
    return absl::OkStatus();
  }
  int64_t sent() const override { return sent_; }
  std::string Describe() const override { return name_; }

 private:
  std::unique_ptr<EventLog> log_;
  std::string name_;
  bool stamp_;
  int64_t sent_ = 0;
};

// HTTP ingest through an IngestSender; `interrupted` tells whether a stop
// signal came while Write() waits for room in the queue.
class HttpSink : public Sink {
 public:
  HttpSink(std::unique_ptr<IngestSender> sender, std::string url,
           std::function<bool()> interrupted)
      : sender_(std::move(sender)),
        url_(std::move(url)),
        interrupted_(std::move(interrupted)) {}

  absl::Status Write(std::span<const Event> events) override {
    absl::Status status = sender_->Submit(
        std::vector<Event>(events.begin(), events.end()), interrupted_);
    if (!status.ok()) not_submitted_ += static_cast<int64_t>(events.size());
    return status;
  }
  absl::Status Finish(bool stopped) override {
    return sender_->Finish(stopped);
  }
  int64_t sent() const override { return sender_->stats().acknowledged; }
  std::string Describe() const override {
    const IngestSenderStats s = sender_->stats();
    std::string out =
        fmt::format("{} ({} appended, {} duplicates, {} retried requests", url_,
                    s.appended, s.duplicates, s.retries);
    const int64_t not_sent = s.dropped + not_submitted_;
    if (not_sent > 0) out += fmt::format(", {} events not sent", not_sent);
    return out + ")";
  }

 private:
  std::unique_ptr<IngestSender> sender_;
  std::string url_;
  std::function<bool()> interrupted_;
  int64_t not_submitted_ = 0;
};

// The bearer token: the file's content (surrounding whitespace removed), or
// $VORONKA_TOKEN, or none. Never printed.
absl::StatusOr<std::string> ReadToken(const std::string& token_file) {
  if (token_file.empty()) {
    const char* env = std::getenv("VORONKA_TOKEN");
    return std::string(env == nullptr ? "" : absl::StripAsciiWhitespace(env));
  }
  std::ifstream in(token_file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(
        fmt::format("--token-file {}: cannot read it", token_file));
  }
  std::string token(absl::StripAsciiWhitespace(text));
  if (token.empty() || token.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(fmt::format(
        "--token-file {}: empty, or more than one line", token_file));
  }
  return token;
}

absl::StatusOr<std::unique_ptr<Sink>> OpenSink(
    const SimulateFlags& flags, const FunnelConfig& config,
    std::function<bool()> interrupted) {
  if (!flags.out.empty()) return std::make_unique<StdoutSink>();
  if (!flags.data.empty()) {
    VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<EmbeddedLog> log,
                             EmbeddedLog::Open({.path = flags.data}));
    return std::make_unique<LogSink>(
        std::move(log), fmt::format("embedded log {}", flags.data), true);
  }
  if (!flags.url.empty()) {
    VORONKA_ASSIGN_OR_RETURN(std::string token, ReadToken(flags.token_file));
    VORONKA_ASSIGN_OR_RETURN(
        std::unique_ptr<IngestSender> sender,
        IngestSender::Start({.client = {.url = flags.url, .token = token},
                             .connections = flags.connections}));
    return std::make_unique<HttpSink>(std::move(sender), flags.url,
                                      std::move(interrupted));
  }
  const bool inbox = !flags.inbox.empty();
  const std::string& brokers = inbox ? flags.inbox : flags.kafka;
  const std::string& topic = inbox ? flags.inbox_topic : flags.topic;
  using Format = KafkaLogOptions::RecordFormat;
  VORONKA_ASSIGN_OR_RETURN(
      std::unique_ptr<KafkaLog> log,
      KafkaLog::Open(
          {.brokers = brokers,
           .topic = topic,
           .create_partitions = flags.partitions,
           .record_format = inbox ? Format::kCloudEventsJson : Format::kCodec,
           .config = &config}));
  return std::make_unique<LogSink>(
      std::move(log),
      fmt::format("kafka {} {}topic {}", brokers, inbox ? "inbox " : "", topic),
      /*stamp=*/!inbox);
}

absl::StatusOr<SimulatorOptions> OptionsFrom(const SimulateFlags& flags) {
  SimulatorOptions options = flags.sim;
  if (flags.start == "now") {
    options.start = Timestamp::Now();
  } else {
    absl::StatusOr<Timestamp> start = ParseRfc3339(flags.start);
    if (!start.ok()) {
      return absl::InvalidArgumentError(fmt::format(
          "--start {}: {}", flags.start, MessageOf(start.status())));
    }
    options.start = *start;
  }
  absl::StatusOr<absl::Duration> tick = ParseConfigDuration(flags.tick);
  if (!tick.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("--tick {}: {}", flags.tick, MessageOf(tick.status())));
  }
  options.tick = *tick;
  options.office_hours = !flags.around_the_clock;
  return options;
}

absl::Status RunSimulate(const SimulateFlags& flags) {
  StopSignals stop;  // Before the sink's threads start.
  VORONKA_ASSIGN_OR_RETURN(const FunnelConfig config,
                           LoadConfigFlag(flags.config_path));
  if (flags.partitions > 0 && flags.kafka.empty() && flags.inbox.empty()) {
    return absl::InvalidArgumentError("--partitions needs --kafka or --inbox");
  }
  VORONKA_ASSIGN_OR_RETURN(SimulatorOptions options, OptionsFrom(flags));
  VORONKA_RETURN_IF_ERROR(Simulator::Check(config, options));
  bool stopped = false;
  // Looks for a signal without waiting (from this thread only).
  auto stop_requested = [&] {
    if (!stopped) stopped = stop.Wait(absl::ZeroDuration());
    return stopped;
  };
  VORONKA_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink,
                           OpenSink(flags, config, stop_requested));

  Simulator simulator(config, options);
  // With a rate, send about ten batches a second so the pace looks smooth.
  size_t batch = std::max<size_t>(flags.batch, 1);
  if (flags.rate > 0) {
    batch = std::clamp<size_t>(static_cast<size_t>(flags.rate / 10), 1, batch);
  }
  const auto begin = std::chrono::steady_clock::now();
  int64_t written = 0;
  absl::Status status;
  while (!stopped && (flags.events == 0 || written < flags.events)) {
    size_t n = batch;
    if (flags.events > 0) {
      n = std::min<size_t>(n, static_cast<size_t>(flags.events - written));
    }
    status = sink->Write(simulator.Next(n));
    if (!status.ok()) break;
    written += static_cast<int64_t>(n);
    // Wait for the pace (or just look for a signal without a rate).
    const auto due =
        flags.rate > 0
            ? begin + std::chrono::duration_cast<
                          std::chrono::steady_clock::duration>(
                          std::chrono::duration<double>(
                              static_cast<double>(written) / flags.rate))
            : std::chrono::steady_clock::now();
    stopped = stopped || stop.Wait(absl::FromChrono(std::max(
                             due - std::chrono::steady_clock::now(),
                             std::chrono::steady_clock::duration::zero())));
  }
  absl::Status finished = sink->Finish(stopped);
  if (status.ok() || absl::IsCancelled(status)) status = finished;
  fmt::print(stderr, "voronka simulate: seed {}, wrote {} events to {}{}\n{}",
             options.seed, sink->sent(), sink->Describe(),
             stopped ? " (stopped by signal)" : "",
             FormatStats(simulator.stats()));
  if (absl::IsCancelled(status)) return absl::OkStatus();
  return status;
}

void AddOrganisationOptions(CLI::App* cmd, SimulateFlags& flags) {
  SimulatorOptions& s = flags.sim;
  cmd->add_option("--lead-gen", s.lead_gen_managers,
                  "Lead-generation agents at the start")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--closers", s.closers, "Closers (sales) at the start")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--account-managers", s.account_managers,
                  "Account managers at the start")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--key-account-managers", s.key_account_managers,
                  "Key-account managers at the start")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--organisations", s.organisations,
                  "Organisations in the market")
      ->check(CLI::Range(1, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--client-fraction", s.client_fraction,
                  "Share of organisations that are clients at the start")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--sleeping-fraction", s.sleeping_fraction,
                  "Share of organisations that are sleeping clients")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--foreign-fraction", s.foreign_currency_fraction,
                  "Share of organisations paying in USD or EUR")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--departure-rate", s.departure_rate,
                  "Expected manager departures per 30 simulated days")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_option("--squeeze-weeks", s.squeeze_weeks,
                  "Weeks before leaving in which a departing manager squeezes "
                  "the pipeline (less prospecting, more closing); 0: off")
      ->check(CLI::Range(0, 52))
      ->capture_default_str();
}

void AddStoryOptions(CLI::App* cmd, SimulateFlags& flags) {
  SimulatorOptions& s = flags.sim;
  cmd->add_option("--seed", s.seed, "Random seed: same seed, same events")
      ->capture_default_str();
  cmd->add_option("--start", flags.start,
                  "Simulated time of the first event (RFC 3339, or \"now\")")
      ->capture_default_str();
  cmd->add_option("--tick", flags.tick,
                  "Mean pause between two actions of one manager (\"6m\")")
      ->capture_default_str();
  cmd->add_flag("--around-the-clock", flags.around_the_clock,
                "Work 24/7 instead of Mon-Fri 09:00-18:00 Moscow time");
  cmd->add_option("--late-fraction", s.late_fraction,
                  "Share of events sent after later events")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--duplicate-fraction", s.duplicate_fraction,
                  "Share of events sent twice (same source and id)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--id-prefix", s.id_prefix,
                  "Prefix of event, deal, invoice and manager ids "
                  "(default s<seed>)");
  cmd->add_option("--config", flags.config_path,
                  "Funnel configuration YAML (default: built-in)")
      ->check(CLI::ExistingFile);
}

void AddRunOptions(CLI::App* cmd, SimulateFlags& flags) {
  cmd->add_option("--events", flags.events,
                  "Stop after this many events (0: until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--rate", flags.rate,
                  "Events per second of wall-clock time (0: as fast as "
                  "possible)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch", flags.batch, "Events per append / write")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  CLI::Option_group* target =
      cmd->add_option_group("target", "Where the events go (exactly one)");
  target
      ->add_option("--out", flags.out,
                   "\"-\": CloudEvents JSON Lines on stdout")
      ->check(CLI::IsMember({"-"}));
  target->add_option("--data", flags.data,
                     "Append to the embedded log in this directory");
  CLI::Option* kafka = target->add_option(
      "--kafka", flags.kafka, "Append to Kafka at these bootstrap brokers");
  CLI::Option* url =
      target->add_option("--url", flags.url,
                         "POST batches to HTTP ingest at this URL "
                         "(http://HOST:PORT/v1/events)");
  CLI::Option* inbox = target->add_option(
      "--inbox", flags.inbox,
      "Produce CloudEvents JSON records to a Kafka inbox topic at these "
      "bootstrap brokers");
  target->require_option(1);
  cmd->add_option("--topic", flags.topic, "Kafka topic (--kafka)")
      ->needs(kafka)
      ->capture_default_str();
  cmd->add_option("--inbox-topic", flags.inbox_topic,
                  "Kafka inbox topic (--inbox)")
      ->needs(inbox)
      ->capture_default_str();
  cmd->add_option("--partitions", flags.partitions,
                  "Create the Kafka topic (--kafka, --inbox) with this many "
                  "partitions if it is missing (0: it must exist)")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  cmd->add_option("--token-file", flags.token_file,
                  "Bearer token for --url, from this file (default: "
                  "$VORONKA_TOKEN, if set)")
      ->needs(url)
      ->check(CLI::ExistingFile);
  cmd->add_option("--connections", flags.connections,
                  "Parallel HTTP connections for --url")
      ->needs(url)
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
}

}  // namespace

void RegisterSimulateCommand(CLI::App& app) {
  auto flags = std::make_shared<SimulateFlags>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "Run a simulated sales organisation and send its events to stdout, the "
      "embedded log, Kafka, HTTP ingest or a Kafka inbox "
      "(docs/simulator.md)");
  AddStoryOptions(cmd, *flags);
  AddOrganisationOptions(cmd, *flags);
  AddRunOptions(cmd, *flags);
  cmd->callback([flags] { FailIfError(RunSimulate(*flags)); });
}

}  // namespace voronka
