// STUB: `voronka simulate` lands with services/simulator.h.
#include "services/commands.h"

namespace voronka {
void RegisterSimulateCommand(CLI::App& app) {
  app.add_subcommand("simulate", "Simulated sales organisation (not yet)");
}
}  // namespace voronka
