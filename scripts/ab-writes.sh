#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # config, password: read by load-common.sh; pid, addr, pids: set by it
# A/B of durable writes: two (or more) visitord builds, alternating, each round on a fresh store
# in `sync` mode, wrk -t2 -c64 of new registrations (and, with PAGE_VISITS=1, of room-less page
# visits); per run: req/s, p99, the server's CPU (user + system, /proc) per request, writes per
# group-commit flush (from /metrics) and bytes written per request (/proc/PID/io `write_bytes`:
# page-cache pages dirtied, so a page dirtied again after a flush synced it counts again; sled's
# own log bytes are a third to a seventh of it under group commit). For a change of the write
# path, where the machine's noise is as large as the change: alternating builds round by round,
# the ratio of medians and the CPU per request say more than one long run each.
#
# Usage: scripts/ab-writes.sh BIN_A BIN_B [BIN…]
#   ROUNDS=3 DURATION=10 CONNECTIONS=64 PAGE_VISITS=0
# Prints one line per run and the medians per build; also written to target/load/ab-writes.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib/load-common.sh
. scripts/lib/load-common.sh

[ $# -ge 2 ] || die "usage: $0 BIN_A BIN_B [BIN…]"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10}"
conns="${CONNECTIONS:-64}"
config=/dev/null
password="ab-$RANDOM$RANDOM"
mkdir -p target/load
work="$(mktemp -d target/load/ab.XXXXXX)"
results="$work/results"
cpu="$work/cpu"
: >"$results"
: >"$cpu"
cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p"; done
  rm -rf "$work"
}
setup_run
export VISITORD_RATE_LIMIT_ENABLED=false VISITORD_STORAGE_DURABILITY=sync RUST_LOG=warn

# Room-less page visits go to tokens nobody registered (a fresh store has none).
python3 -c 'import sys; [print(f"ab-visit-{i}") for i in range(2000)]' >"$work/tokens.txt"

# measure ROUND NAME BIN KIND: one build, one kind of write, on a fresh store.
measure() {
  local round="$1" name="$2" kind="$3" before after requests flushes wrote
  start_server "$name" "$work/data-$name"
  wait_healthy "$addr"
  before=$(cpu_ticks "$pid")
  wrote=$(written_bytes "$pid")
  case "$kind" in
    register) run "$round" "$name-$kind" "http://$addr" register.lua "ab-$round-$RANDOM" ;;
    visit) run "$round" "$name-$kind" "http://$addr" page_visited.lua "$work/tokens.txt" ;;
  esac
  after=$(cpu_ticks "$pid")
  wrote=$(($(written_bytes "$pid") - wrote))
  flushes=$(curl -s "http://$addr/metrics" |
    awk '$1 == "visitord_store_commit_flush_duration_seconds_count" {print $2}')
  requests=$(tail -n 1 "$results" | awk '{print $8}')
  # Clock ticks are 1/100 s: ms per request = ticks × 10 / requests.
  awk -v r="$round" -v n="$name-$kind" -v t=$((after - before)) -v q="$requests" -v f="${flushes:-0}" \
    -v w="$wrote" 'BEGIN {printf "%s %s %.3f %.1f %.0f\n", r, n, t * 10 / q, (f > 0) ? q / f : 0, w / q}' |
    tee -a "$cpu" |
    awk '{printf "           %-13s CPU %.3f ms/request, %.1f writes/flush, %d bytes written/request\n", $2, $3, $4, $5}'
  stop_server "$pid"
  rm -rf "$work/data-$name"
}

kinds=(register)
[ "${PAGE_VISITS:-0}" = 1 ] && kinds+=(visit)
for round in $(seq "$rounds"); do
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    for kind in "${kinds[@]}"; do
      measure "$round" "b$i" "$kind"
    done
  done
done

{
  echo "A/B of durable writes, $(date -u +%FT%TZ), $rounds round(s) of wrk -t2 -c$conns -d${duration}s, $(nproc) cores"
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    echo "b$i = $bin"
  done
  printf '%-14s %9s %9s %14s %13s %14s\n' run req/s p99_ms cpu_ms/request writes/flush bytes/request
  i=0
  for bin in "$@"; do
    i=$((i + 1))
    for kind in "${kinds[@]}"; do
      n="b$i-$kind"
      c=$(awk -v n="$n" '$2 == n {print $3}' "$cpu" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
      w=$(awk -v n="$n" '$2 == n {print $4}' "$cpu" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
      b=$(awk -v n="$n" '$2 == n {print $5}' "$cpu" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
      printf '%-14s %9.0f %9.1f %14s %13s %14s\n' "$n" "$(median "$n" 3)" "$(median "$n" 5)" "$c" "$w" "$b"
    done
  done
  for kind in "${kinds[@]}"; do
    echo "b2 ÷ b1, $kind req/s (medians): $(ratio "$(median "b2-$kind" 3)" "$(median "b1-$kind" 3)")"
  done
} | tee target/load/ab-writes.txt
