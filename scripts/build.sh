#!/usr/bin/env bash
# Installs the Debian packages Voronka needs (idempotent) and builds it in
# ./build (Release with debug info, Ninja). Used by demo.sh and run-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
jobs=$(nproc 2>/dev/null || echo 2)
ninja -C build -j "$jobs" "$@"
