// STUB: temporary until the commands land.
#include "services/commands.h"

namespace voronka {
void RegisterServeCommand(CLI::App& app) { app.add_subcommand("serve", "Run"); }
void RegisterSimulateCommand(CLI::App& app) { app.add_subcommand("simulate", "Sim"); }
void RegisterLogCommand(CLI::App& app) { app.add_subcommand("log", "Log"); }
}  // namespace voronka
