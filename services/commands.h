// The `voronka` command line: one Register*Command per subcommand, each in
// its own cmd_*.cc. main.cc adds them all to one CLI11 app.
//
// A subcommand's callback returns through CLI11; errors are printed to
// stderr and turn into a non-zero exit code (see ExitCode below).
#ifndef VORONKA_SERVICES_COMMANDS_H_
#define VORONKA_SERVICES_COMMANDS_H_

#include <span>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/event.h"
#include "events/funnel_config.h"

namespace voronka {

// `voronka serve`: the one-machine process on the embedded log (demo).
void RegisterServeCommand(CLI::App& app);
// `voronka dev-broker`: librdkafka's mock cluster on loopback.
void RegisterDevBrokerCommand(CLI::App& app);
// `voronka simulate`: the simulated sales organisation.
void RegisterSimulateCommand(CLI::App& app);
// `voronka project NAME` / `voronka project rebuild NAME`: one projector.
void RegisterProjectCommand(CLI::App& app);
// `voronka log ...`: inspect a log (tail, stats, append test records).
void RegisterLogCommand(CLI::App& app);
// `voronka ingest`: HTTP ingest and the Kafka inbox (docs/ingest.md).
void RegisterIngestCommand(CLI::App& app);
// `voronka token add|list`: bearer tokens of the HTTP API (docs/auth.md).
void RegisterTokenCommand(CLI::App& app);
// `voronka audit history|book|verify|managers|access` (docs/audit.md).
void RegisterAuditCommand(CLI::App& app);
// `voronka import cdr FILE --map agents.yaml`: Asterisk CDR CSV to
// call.logged events (cdr.h, docs/ingest.md).
void RegisterImportCommand(CLI::App& app);
// `voronka topics create|check`: the Kafka topics of the event store
// (events/topic_policy.h, docs/topics.md).
void RegisterTopicsCommand(CLI::App& app);

// The funnel configuration a --config flag names: the file, or the built-in
// default when `path` is empty. Errors name the file, key and reason.
absl::StatusOr<FunnelConfig> LoadConfigFlag(const std::string& path);

// A duration flag's value ("30s", "7d": ParseConfigDuration); the error
// names the flag and the text.
absl::StatusOr<absl::Duration> DurationFlag(std::string_view name,
                                            const std::string& text);

// Writes `events` to stdout as CloudEvents JSON Lines (one structured event
// per line) and flushes. Cancelled if the reader closed stdout (EPIPE; the
// caller ignores SIGPIPE), Unavailable for another write error.
absl::Status WriteJsonLines(std::span<const Event> events);

// Maps a failed status to a process exit code: 2 for bad input/usage
// (InvalidArgument, NotFound), 3 for Unavailable, 4 for DataLoss, 1 otherwise.
int ExitCode(const absl::Status& status);

// Throws CLI::RuntimeError with ExitCode(status) after printing the status;
// used at the end of a subcommand callback.
void FailIfError(const absl::Status& status);

}  // namespace voronka

#endif  // VORONKA_SERVICES_COMMANDS_H_
