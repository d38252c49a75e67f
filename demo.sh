#!/usr/bin/env bash
# The demo: installs what is missing, builds, then runs `voronka serve` on the
# embedded log (no Kafka needed) with a simulated sales organisation
# streaming into it. Extra arguments go to `voronka serve`.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/build.sh voronka
exec ./build/services/voronka serve --data ./voronka-data --demo --insecure-dev "$@"
