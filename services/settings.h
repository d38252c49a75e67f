// Settings: how every `voronka` command is configured, twelve-factor style.
//
// Each long option of each command can be given three ways; the first that
// is present wins:
//
//   1. the command line:   voronka ingest --kafka k0:9092 --listen :8480
//   2. the environment:    VORONKA_KAFKA=k0:9092 VORONKA_LISTEN=:8480
//                          (VORONKA_ + the option's name in upper case,
//                          '-' as '_'; `voronka CMD --help` shows each one)
//   3. a settings file:    voronka ingest --settings /etc/voronka.yaml
//                          (or VORONKA_SETTINGS=/etc/voronka.yaml)
//
// The settings file is YAML. Top-level keys are option names without the
// dashes and apply to the command being run; a key that is a command's name
// holds settings for that command only, so one file can configure every
// service of an installation. `librdkafka` holds Kafka client settings (what
// -X key=value sets: TLS, SASL, tuning):
//
//   kafka: kafka-0:9092,kafka-1:9092,kafka-2:9092
//   topic: voronka.events
//   log-format: json
//   librdkafka:
//     security.protocol: SASL_SSL
//     sasl.mechanisms: SCRAM-SHA-512
//     sasl.username: voronka
//   ingest:
//     listen: 0.0.0.0:8480
//     tokens: /etc/voronka/tokens.yaml
//   project:
//     listen: 0.0.0.0:8481
//
// Kafka client settings also come from the environment as
// VORONKA_LIBRDKAFKA_<KEY> (the key in upper case, '.' as '_'), e.g.
// VORONKA_LIBRDKAFKA_SASL_PASSWORD for sasl.password: where secrets belong.
// Key by key, -X on the command line wins over the environment, which wins
// over the file's librdkafka section (a command's section over the
// top-level one); services/log_flags.h KafkaClientConfig merges them.
//
// Environment variables name only the options of the command being run, so
// VORONKA_FORMAT for `audit history` is no concern of `token list`.
//
// A key no voronka command knows is an error naming the file and the key (a
// typo must not silently fall back to a default); a key that belongs to
// another command is ignored, so a shared file works for every service.
#ifndef VORONKA_SERVICES_SETTINGS_H_
#define VORONKA_SERVICES_SETTINGS_H_

#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"

namespace voronka {

// Call once every command is registered: gives each long option of every
// command its VORONKA_* environment variable (unless it has one) and adds
// --settings FILE (VORONKA_SETTINGS) to `app`. Options of `app` itself may
// then also follow the subcommand (`voronka ingest --settings F`).
void AddSettings(CLI::App& app);

// VORONKA_ + `option` (without dashes) in upper case, '-' as '_'.
std::string SettingEnvName(const std::string& option);

// The settings file's librdkafka section(s) as read by the last parse, the
// command's own section winning. Sorted by key.
std::vector<std::pair<std::string, std::string>> LibrdkafkaFileSettings();

// The Kafka client settings of the environment: VORONKA_LIBRDKAFKA_SASL_
// PASSWORD=x gives {"sasl.password", "x"}. Sorted by key.
std::vector<std::pair<std::string, std::string>> LibrdkafkaEnvSettings();

}  // namespace voronka

#endif  // VORONKA_SERVICES_SETTINGS_H_
