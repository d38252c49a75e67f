#include "services/log_flags.h"

#include <utility>

#include "events/embedded_log.h"
#include "events/kafka_log.h"
#include "events/kafka_topics.h"
#include "events/status.h"
#include "fmt/format.h"
#include "services/settings.h"
#include "spdlog/spdlog.h"

namespace voronka {

void AddLogFlags(CLI::App& cmd, LogFlags& flags, const std::string& data_flag) {
  cmd.add_option(data_flag, flags.data_dir,
                 "Directory of the embedded event log (created if missing)");
  AddKafkaFlags(cmd, flags, "instead of " + data_flag);
}

void AddKafkaFlags(CLI::App& cmd, LogFlags& flags, const std::string& note) {
  cmd.add_option("--kafka", flags.kafka_brokers,
                 "Kafka bootstrap servers host:port,... (" + note + ")");
  cmd.add_option("--topic", flags.topic, "Kafka topic of the event log")
      ->capture_default_str();
  cmd.add_option("-X", flags.kafka_config,
                 "librdkafka setting key=value (repeatable; also a "
                 "librdkafka: section in --settings, and "
                 "VORONKA_LIBRDKAFKA_<KEY> in the environment)");
}

absl::StatusOr<std::unique_ptr<EventLog>> OpenLog(const LogFlags& flags) {
  if (flags.data_dir.empty() == flags.kafka_brokers.empty()) {
    return absl::InvalidArgumentError(
        flags.data_dir.empty()
            ? "no event log given: pass the embedded log's directory or "
              "--kafka BROKERS"
            : "an embedded log and --kafka both given: choose one event log");
  }
  if (!flags.data_dir.empty()) {
    if (!flags.kafka_config.empty()) {
      return absl::InvalidArgumentError("-X applies to --kafka only");
    }
    auto log = EmbeddedLog::Open({.path = flags.data_dir,
                                  .read_only = flags.read_only,
                                  .dedup_window = flags.dedup_window});
    if (!log.ok()) return log.status();
    return std::unique_ptr<EventLog>(std::move(*log));
  }
  KafkaLogOptions options{.brokers = flags.kafka_brokers,
                          .topic = flags.topic,
                          .create_partitions = flags.create_partitions,
                          .append_timeout = flags.append_timeout};
  VORONKA_ASSIGN_OR_RETURN(options.client_config, KafkaClientConfig(flags));
  auto log = KafkaLog::Open(std::move(options));
  if (!log.ok()) return log.status();
  return std::unique_ptr<EventLog>(std::move(*log));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
KafkaClientConfig(const LogFlags& flags) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& entry : flags.kafka_config) {
    const size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      // Not the entry itself: it may hold a password.
      return absl::InvalidArgumentError(fmt::format(
          "-X: an entry of {} characters without '=': expected key=value",
          entry.size()));
    }
    out.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
  }
  // Key by key: -X, then the environment, then the settings file
  // (services/settings.h). librdkafka applies them in this order, so each
  // key is set once, by its first source.
  for (auto source : {LibrdkafkaEnvSettings(), LibrdkafkaFileSettings()}) {
    for (auto& [key, value] : source) {
      bool set = false;
      for (const auto& [k, v] : out) set = set || k == key;
      if (!set) out.emplace_back(std::move(key), std::move(value));
    }
  }
  return out;
}

absl::StatusOr<IngestLog> OpenIngestLog(const LogFlags& flags,
                                        const std::string& kafka_dedup_dir) {
  IngestLog out;
  VORONKA_ASSIGN_OR_RETURN(out.log, OpenLog(flags));
  if (auto* embedded = dynamic_cast<EmbeddedLog*>(out.log.get())) {
    out.once = MakeIdempotent(embedded);
    return out;
  }
  auto* kafka = dynamic_cast<KafkaLog*>(out.log.get());
  if (kafka == nullptr) return absl::InternalError("unknown log backend");
  VORONKA_ASSIGN_OR_RETURN(
      out.once, OpenKafkaIdempotent(kafka, {.dedup_dir = kafka_dedup_dir,
                                            .window = flags.dedup_window,
                                            .settle = flags.append_timeout +
                                                      absl::Seconds(5)}));
  return out;
}

absl::Status CheckTopicKeepsHistory(const LogFlags& flags) {
  if (flags.kafka_brokers.empty()) return absl::OkStatus();
  VORONKA_ASSIGN_OR_RETURN(auto client_config, KafkaClientConfig(flags));
  absl::StatusOr<HistoryVerification> verified = CheckEventTopicKeepsHistory(
      {.brokers = flags.kafka_brokers,
       .client_config = std::move(client_config),
       .timeout = std::min(flags.append_timeout, absl::Seconds(10))},
      flags.topic);
  if (!verified.ok()) {
    if (absl::IsDataLoss(verified.status())) {
      return absl::DataLossError(fmt::format(
          "refusing to run on Kafka topic {}: {} (fix the topic's "
          "configuration; `voronka topics check` lists every setting, "
          "docs/topics.md)",
          flags.topic, verified.status().message()));
    }
    // NotFound, Unavailable: opening the log says so with more context.
    spdlog::warn("Kafka topic {}: retention not verified: {}", flags.topic,
                 verified.status().message());
    return absl::OkStatus();
  }
  if (!verified->verified) {
    spdlog::warn("Kafka topic {}: retention not verified: {}", flags.topic,
                 verified->message);
  }
  return absl::OkStatus();
}

std::string DescribeLog(const LogFlags& flags) {
  if (!flags.data_dir.empty()) {
    return fmt::format("embedded log at {}", flags.data_dir);
  }
  return fmt::format("Kafka topic {} on {}", flags.topic, flags.kafka_brokers);
}

}  // namespace voronka
