// Logging: every process logs to stderr through spdlog, as text for people
// or as JSON Lines for log pipelines (Loki, Elasticsearch, CloudWatch).
//
//   voronka --log-format json --log-level debug serve ...
//   VORONKA_LOG_FORMAT=json VORONKA_LOG_LEVEL=warn voronka ingest ...
//
// A JSON line: {"time":"2026-11-23T18:00:00.123456Z","level":"warn",
// "service":"voronka","thread":1234,"msg":"ingest: 422 from ...: ..."}.
// Messages are escaped so that every line is one valid JSON object (bytes
// that are not UTF-8 become U+FFFD).
//
// What is logged, at which level, is in docs/observability.md. Secrets are
// never logged: tokens are compared hashed and never printed, Kafka -X
// values are not echoed.
#ifndef VORONKA_SERVICES_LOGGING_H_
#define VORONKA_SERVICES_LOGGING_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace voronka {

struct LoggingFlags {
  std::string format = "text";  // text | json
  std::string level = "info";   // trace | debug | info | warn | error | off
};

// Adds --log-format and --log-level (with VORONKA_LOG_FORMAT and
// VORONKA_LOG_LEVEL) to the top-level app.
void AddLoggingFlags(CLI::App& app, LoggingFlags& flags);

// Points spdlog's default logger at stderr in the chosen format and level.
// InvalidArgument for an unknown format or level.
absl::Status ConfigureLogging(const LoggingFlags& flags);

// One JSON line for a log message (exposed for tests).
std::string JsonLogLine(std::string_view time, std::string_view level,
                        int64_t thread, std::string_view message);

}  // namespace voronka

#endif  // VORONKA_SERVICES_LOGGING_H_
