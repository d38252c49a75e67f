// `voronka dev-broker`: librdkafka's mock Kafka cluster on loopback, for
// development and tests only.
//
// Prints "bootstrap=127.0.0.1:PORT,..." as the first line on stdout, then
// runs until SIGTERM or SIGINT and exits 0.
//
//   voronka dev-broker --brokers 3 --partitions 4 --topic voronka.events
#include <signal.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "services/commands.h"
#include "services/dev_broker.h"
#include "services/stop_signals.h"

namespace voronka {
namespace {

struct DevBrokerFlags {
  int brokers = 3;
  int partitions = 4;
  std::vector<std::string> topics = {"voronka.events"};
};

absl::Status RunDevBroker(const DevBrokerFlags& flags) {
  StopSignals stop;  // Before librdkafka starts its threads.

  std::cerr << "voronka dev-broker: librdkafka's in-memory MOCK Kafka cluster, "
               "FOR DEVELOPMENT AND TESTS ONLY. It is not Apache Kafka: "
               "nothing is persisted, nothing is replicated, and each "
               "partition keeps only its newest 5 MiB.\n";
  absl::StatusOr<std::unique_ptr<DevBroker>> broker =
      DevBroker::Start({.brokers = flags.brokers,
                        .topics = flags.topics,
                        .partitions = flags.partitions});
  if (!broker.ok()) return broker.status();

  std::cout << "bootstrap=" << (*broker)->bootstrap() << std::endl;
  std::fflush(stdout);

  stop.Wait(absl::InfiniteDuration());
  std::cerr << "voronka dev-broker: signal " << stop.signal_number()
            << ", shutting down\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterDevBrokerCommand(CLI::App& app) {
  auto flags = std::make_shared<DevBrokerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "dev-broker",
      "Run librdkafka's mock Kafka cluster on loopback (development and tests "
      "only; not Apache Kafka)");
  cmd->add_option("--brokers", flags->brokers, "Number of mock brokers")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_option("--partitions", flags->partitions,
                  "Partitions of each topic created at start")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--topic", flags->topics, "Topic to create at start")
      ->capture_default_str();
  cmd->callback([flags] { FailIfError(RunDevBroker(*flags)); });
}

}  // namespace voronka
