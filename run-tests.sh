#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds everything, runs
# every test with CTest. Exit code 0 only if every test passed.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 600 -j "$(nproc 2>/dev/null || echo 2)"
