#!/usr/bin/env bash
# Starts Debian's Prometheus beside the demo: it scrapes `voronka serve` at
# TARGET (default 127.0.0.1:8480) every 5 s and evaluates Voronka's alert
# rules (deploy/prometheus/rules). Its UI listens on 127.0.0.1:9090, or the
# next free port; data goes to ./voronka-data/prometheus. Prints the URL and
# the PID (stop it with `kill PID`; demo.sh does on exit).
#
#   bash scripts/demo-prometheus.sh [TARGET]
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-127.0.0.1:8480}
if ! command -v prometheus >/dev/null; then
  echo "demo-prometheus: no prometheus binary (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
port=9090
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
dir=./voronka-data/prometheus
mkdir -p "$dir"
cat >"$dir/prometheus.yml" <<YAML
# Written by scripts/demo-prometheus.sh for the demo.
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: ['$PWD/deploy/prometheus/rules/voronka.rules.yml']
scrape_configs:
  - job_name: voronka-serve
    static_configs: [{targets: ['$target']}]
YAML
prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn \
  >"$dir/prometheus.log" 2>&1 &
pid=$!
echo "Prometheus (pid $pid): http://127.0.0.1:$port/graph?g0.expr=voronka_handoff_queue_length&g0.tab=1 (alerts: http://127.0.0.1:$port/alerts)"
