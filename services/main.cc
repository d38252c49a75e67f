// voronka: one binary, one subcommand per service. `voronka --help` lists them.
#include "CLI/CLI.hpp"
#include "services/commands.h"
#include "services/logging.h"
#include "services/settings.h"

int main(int argc, char** argv) {
  CLI::App app{
      "Voronka: an event-sourced sales-funnel engine.\n"
      "Events in, leading indicators, stage workloads and handoff queues out."};
  app.require_subcommand(1);
  voronka::LoggingFlags logging;
  voronka::AddLoggingFlags(app, logging);
  app.parse_complete_callback([&logging] {
    absl::Status s = voronka::ConfigureLogging(logging);
    if (!s.ok()) throw CLI::ValidationError(std::string(s.message()));
  });
  voronka::RegisterServeCommand(app);
  voronka::RegisterIngestCommand(app);
  voronka::RegisterDevBrokerCommand(app);
  voronka::RegisterSimulateCommand(app);
  voronka::RegisterLogCommand(app);
  voronka::RegisterProjectCommand(app);
  voronka::RegisterTokenCommand(app);
  voronka::RegisterImportCommand(app);
  voronka::RegisterAuditCommand(app);
  voronka::RegisterTopicsCommand(app);
  voronka::AddSettings(app);  // After every command: it walks them.
  CLI11_PARSE(app, argc, argv);
  return 0;
}
