#!/usr/bin/env bash
# Installs Voronka's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are left alone and apt is only asked
# for what is missing. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev librocksdb-dev libcereal-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libabsl-dev libsimdjson-dev nlohmann-json3-dev libcli11-dev
  libyaml-cpp-dev libspdlog-dev libfmt-dev libssl-dev libboost-dev
  libjemalloc-dev
  kcat
  wrk
  prometheus  # prometheus and promtool: deploy/prometheus, monitoring_config_test
  chromium   # headless, for tests/funnel_page_test.cc
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
    missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then sudo=(sudo); fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
