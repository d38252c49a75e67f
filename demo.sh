#!/usr/bin/env bash
# The demo: installs what is missing, builds, then runs `voronka serve` on the
# embedded log (no Kafka needed) with a simulated sales organisation
# streaming into it, and Debian's Prometheus scraping it. Extra arguments go
# to `voronka serve`.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/build.sh voronka
listen=127.0.0.1:8480
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
    --listen) listen=${args[i + 1]:-$listen} ;;
    --listen=*) listen=${args[i]#--listen=} ;;
  esac
done
prometheus_pid=
if out=$(bash scripts/demo-prometheus.sh "$listen"); then
  echo "$out"
  prometheus_pid=$(sed -n 's/^Prometheus (pid \([0-9]*\)).*/\1/p' <<<"$out")
fi
trap '[[ -n $prometheus_pid ]] && kill "$prometheus_pid" 2>/dev/null || true' EXIT
./build/services/voronka serve --data ./voronka-data --demo --insecure-dev "$@"
