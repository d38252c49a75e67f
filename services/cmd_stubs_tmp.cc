// STUB: temporary until the commands land.
#include "services/commands.h"

namespace voronka {
void RegisterServeCommand(CLI::App& app) { app.add_subcommand("serve", "Run"); }
}  // namespace voronka
