// STUB: temporary until the commands land.
#include "services/commands.h"

namespace voronka {
void RegisterServeCommand(CLI::App& app) { app.add_subcommand("serve", "Run"); }
void RegisterLogCommand(CLI::App& app) { app.add_subcommand("log", "Log"); }
}  // namespace voronka
