// STUB: replaced by the real command.
#include "services/commands.h"

namespace voronka {
void RegisterDevBrokerCommand(CLI::App& app) {
  app.add_subcommand("dev-broker", "Run librdkafka's mock Kafka cluster");
}
}  // namespace voronka
