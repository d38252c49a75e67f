#!/usr/bin/env bash
# Ingest throughput and latency over real HTTP, measured with wrk
# (scripts/wrk/ingest.lua: every request carries new events):
#   batch   POST of 1,000 events per request (cloudevents-batch+json)
#   single  POST of one event per request, keep-alive, many connections
# into `voronka ingest` on the embedded log, then on the dev broker (the
# mock Kafka cluster) next to librdkafka's raw produce rate (kcat -P with
# the same acks=all, idempotent settings, no validation, no de-duplication).
#
# Prints figures; never fails on speed. wrk runs on the same machine and
# takes CPU from the server: on a 2-core machine compare ratios within one
# run, not absolute numbers across machines.
#
#   scripts/bench-ingest.sh                 # ~2 minutes
#   DURATION=30 scripts/bench-ingest.sh     # seconds per measurement
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-15}
bash scripts/build.sh voronka >/dev/null
BIN=./build/services/voronka
LUA=scripts/wrk/ingest.lua
work=$(mktemp -d /tmp/voronka-bench-ingest-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a voronka command in the background; waits for `pattern` in its
# output and sets FOUND to the first match of `extract` (sed -n).
start() {
  local log=$1 pattern=$2 extract=$3
  shift 3
  "$@" >"$log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if grep -q "$pattern" "$log"; then
      FOUND=$(sed -n "$extract" "$log" | head -1)
      return
    fi
    sleep 0.1
  done
  echo "did not start: $*" >&2
  cat "$log" >&2
  exit 1
}

# run NAME URL BATCH CONNECTIONS: one wrk measurement, one result line.
run() {
  local name=$1 url=$2 batch=$3 connections=$4
  local out
  out=$(BATCH=$batch wrk -t1 -c"$connections" -d"${DURATION}s" -s "$LUA" \
        "$url" 2>&1 | grep '^RESULT')
  local requests seconds p50 p99 bad
  requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
  seconds=$(sed -n 's/.*duration_s=\([0-9.]*\).*/\1/p' <<<"$out")
  p50=$(sed -n 's/.*p50_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  p99=$(sed -n 's/.*p99_ms=\([0-9.]*\).*/\1/p' <<<"$out")
  bad=$(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' <<<"$out")
  awk -v n="$name" -v r="$requests" -v s="$seconds" -v b="$batch" \
      -v p50="$p50" -v p99="$p99" -v c="$connections" -v bad="$bad" 'BEGIN {
    printf "%-30s %8.0f req/s %10.0f events/s   p50 %7.2f ms  p99 %7.2f ms  (%d conn, %d non-202)\n",
           n, r / s, r * b / s, p50, p99, c, bad }'
  RATE=$(awk -v r="$requests" -v s="$seconds" -v b="$batch" 'BEGIN { printf "%.0f", r * b / s }')
}

echo "== embedded log (voronka ingest --data), ${DURATION}s each"
start "$work/embedded.log" "POST http" 's/.*POST \(http[^ ]*\)\/v1\/events.*/\1/p' \
      "$BIN" ingest --data "$work/log" --insecure-dev --listen 127.0.0.1:0 \
      --status-every 3600
url=$FOUND
run "embedded batch of 1000" "$url" 1000 8
run "embedded single event" "$url" 1 64
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

echo "== dev broker (voronka ingest --kafka), ${DURATION}s each"
start "$work/broker.log" "bootstrap=" 's/.*bootstrap=\([^ ]*\).*/\1/p' \
            "$BIN" dev-broker --brokers 3 --partitions 4 --topic voronka.events \
            --topic voronka.raw
bootstrap=$FOUND
start "$work/kafka.log" "POST http" 's/.*POST \(http[^ ]*\)\/v1\/events.*/\1/p' \
      "$BIN" ingest --kafka "$bootstrap" --dedup-dir "$work/dedup" \
      --insecure-dev --listen 127.0.0.1:0 --status-every 3600
url=$FOUND
run "dev broker batch of 1000" "$url" 1000 8
ingest_rate=$RATE
run "dev broker single event" "$url" 1 64

# librdkafka's raw produce rate for the same kind of records.
n=300000
"$BIN" simulate --seed 3 --events "$n" --out - 2>/dev/null >"$work/events.jsonl"
start_ns=$(date +%s%N)
kcat -P -b "$bootstrap" -t voronka.raw -X enable.idempotence=true \
     -X acks=all -X linger.ms=5 <"$work/events.jsonl"
end_ns=$(date +%s%N)
awk -v n="$n" -v t=$((end_ns - start_ns)) -v ingest="$ingest_rate" 'BEGIN {
  raw = n / (t / 1e9)
  printf "%-30s %8s       %10.0f events/s   (kcat -P, %d records)\n", "raw librdkafka produce", "", raw, n
  printf "ingest batch / raw produce:    %.2f\n", ingest / raw }'
