#!/usr/bin/env bash
# Builds and runs the benchmarks (tests/bench/). They print figures; they are
# not tests and never fail on speed. Extra arguments go to Google Benchmark,
# e.g. --benchmark_filter=Kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh voronka_bench
exec ./build/tests/voronka_bench "$@"
