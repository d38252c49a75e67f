// LogFlags: the command-line options that choose an event log, shared by
// every subcommand that reads or writes one.
//
//   --data DIR                    the embedded RocksDB log in DIR (default)
//   --kafka BROKERS [--topic T]   a Kafka topic (bootstrap list host:port,...)
//   -X key=value                  librdkafka settings (TLS, SASL, tuning)
//
// Exactly one of --data and --kafka is required; OpenLog() says which is
// missing or conflicting (InvalidArgument) before touching any disk or
// broker.
#ifndef VORONKA_SERVICES_LOG_FLAGS_H_
#define VORONKA_SERVICES_LOG_FLAGS_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "events/idempotent_log.h"
#include "events/log.h"

namespace voronka {

struct LogFlags {
  std::string data_dir;
  std::string kafka_brokers;
  std::string topic = "voronka.events";
  std::vector<std::string> kafka_config;  // "key=value"
  int create_partitions = 0;  // Kafka: create a missing topic with this many.
  bool read_only = false;     // Embedded: a snapshot, see EmbeddedLogOptions.
  // Kafka: how long an append may wait for acknowledgements before it fails
  // with Unavailable (KafkaLogOptions::append_timeout).
  absl::Duration append_timeout = absl::Seconds(30);
  // How long idempotent appends remember a (source, id) (events/dedup.h).
  absl::Duration dedup_window = absl::Hours(24 * 30);
};

// Adds --data, --kafka, --topic, -X to `cmd`, storing into `flags` (which
// must outlive the parse). `data_flag` renames --data for commands whose
// --data is something else (`voronka project` calls it --log).
void AddLogFlags(CLI::App& cmd, LogFlags& flags,
                 const std::string& data_flag = "--data");

// Adds only --kafka, --topic and -X (for commands whose embedded log has a
// fixed place); `note` ends the --kafka help.
void AddKafkaFlags(CLI::App& cmd, LogFlags& flags, const std::string& note);

// Opens the log the flags name.
absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const LogFlags& flags);

// The Kafka client settings, key by key from -X key=value, else the
// environment (VORONKA_LIBRDKAFKA_*), else the settings file's librdkafka
// section (services/settings.h); InvalidArgument for a malformed -X entry
// (without repeating it: it may hold a secret).
absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
KafkaClientConfig(const LogFlags& flags);

// The log the flags name with its idempotent append (events/
// idempotent_log.h): the embedded log's own, or for Kafka a de-duplication
// index in `kafka_dedup_dir`. `once` appends into `log`.
struct IngestLog {
  std::unique_ptr<EventLog> log;
  std::unique_ptr<IdempotentLog> once;  // Destroyed before `log`.
};
absl::StatusOr<IngestLog> OpenIngestLog(const LogFlags& flags,
                                        const std::string& kafka_dedup_dir);

// For the services that run on a Kafka topic (ingest, project, serve): asks
// the brokers whether the topic keeps history (events/kafka_topics.h). The
// error (DataLoss, naming each setting: finite retention, compaction,
// unclean leader election) means refuse to run: a read model could then
// never be rebuilt. When the brokers will not say (DescribeConfigs
// unsupported or denied), logs a warning and returns OK. OK at once for
// the embedded log.
absl::Status CheckTopicKeepsHistory(const LogFlags& flags);

// "embedded log at DIR" / "Kafka topic T on BROKERS", for messages.
std::string DescribeLog(const LogFlags& flags);

}  // namespace voronka

#endif  // VORONKA_SERVICES_LOG_FLAGS_H_
