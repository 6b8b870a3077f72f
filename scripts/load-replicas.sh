#!/usr/bin/env bash
# Scale-out load (issue #13): the same requests, in one run, against
#   sled     the embedded backend, one process (sync durability);
#   pg-1     the postgres backend, one replica;
#   pg-2     the postgres backend, two replicas (two processes on this machine, one database),
#            wrk's two threads each on one replica (WRK_ADDRS, scripts/wrk/common.lua);
# with what each costs: CPU milliseconds per request of the visitord process(es) and of the
# PostgreSQL server (the postmaster and its backends, /proc), measured around every run.
#
# On one 2-core machine two replicas cannot be faster than one: wrk, both replicas and the
# database share the same two cores. What this shows is that replicas serve correctly under
# load (every answer 200) and what a request costs on each backend.
#
# Usage: scripts/load-replicas.sh
#   RUNS=3          rounds; every figure is the median over the rounds
#   DURATION=10     seconds per wrk run
#   CONNECTIONS=64  wrk connections (wrk -t2)
#   VISITORS=100000               visitors (scripts/gen_visitors.py, seed 7)
#   NAV_ENTRIES=2*VISITORS        navigation entries (scripts/gen_navigation.py, seed 7)
#   POOL=16         storage.postgres_pool_size of each replica
#   BIN=path        a prebuilt visitord (skips `cargo build`)
#
# Data path: the generated files are imported into a sled store (`visitord import`), which
# `visitord copy` then copies into the database; both backends serve the same records. Each
# round runs, per configuration: get (GET livechat/visitor/<token>, 20,000 sampled tokens),
# search (selective terms, 1–100 matches, as admin), register (POST livechat/visitor, a new
# token per request), pv-room / pv-roomless (POST livechat/page.visited). Writes go into the
# loaded stores (sled in `sync` mode; PostgreSQL with synchronous_commit = on, fsync on).
# The PostgreSQL cluster is a throwaway one on 127.0.0.1 (scripts/pg/peer.sh's, Debian's
# postgresql installed when missing). Only the CLI and the HTTP API are used. The summary also
# goes to target/load/replicas-summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-3}"
duration="${DURATION:-10}"
conns="${CONNECTIONS:-64}"
visitors="${VISITORS:-100000}"
nav_entries="${NAV_ENTRIES:-$((visitors * 2))}"
pool="${POOL:-16}"
jsonl="target/load/visitors-$visitors.jsonl"
nav_jsonl="target/load/navigation-$visitors-$nav_entries.jsonl"
config=/dev/null
tokens_n=20000
terms_n=1000

mkdir -p target/load
work="$(mktemp -d target/load/replicas.XXXXXX)"
# shellcheck source=scripts/lib/load-common.sh
. scripts/lib/load-common.sh
# shellcheck source=scripts/pg/peer.sh
. scripts/pg/peer.sh

cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p"; done
  pg_stop
  rm -rf "$work"
}
setup_run

echo "== build"
bin="${BIN:-target/release/visitord}"
[ -n "${BIN:-}" ] || cargo build --release --locked --bin visitord
[ -x "$bin" ] || die "no visitord binary at $bin"

# ---- data -----------------------------------------------------------------------------------
generate_data "$visitors" "$nav_entries" "$jsonl" "$nav_jsonl"
export VISITORD_RATE_LIMIT_ENABLED=false RUST_LOG=warn
password="load-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

sled_store="$work/sled"
echo "== import $jsonl and $nav_jsonl into a sled store"
t0=$(now_ms)
"$bin" --config "$config" import --rocketchat "$jsonl" --navigation "$nav_jsonl" \
  --data-dir "$sled_store" 2>&1 | tail -n 2
import_s=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN {printf "%.1f", ms / 1000}')
# The first start creates "admin" with this run's password; copy carries it to the database.
start_server first "$sled_store"
wait_healthy "$addr"
stop_server "$pid"

echo "== PostgreSQL"
pg_start
pgq -c 'CREATE DATABASE visitord'
pg_url="postgres://postgres@127.0.0.1:$PG_PORT/visitord"
echo "== visitord copy --from sled:… --to postgres:…"
t0=$(now_ms)
"$bin" --config "$config" copy --from "sled:$sled_store" --to "$pg_url" 2>&1 | tail -n 8
copy_s=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN {printf "%.1f", ms / 1000}')
# psql on the visitord database.
pgv() { "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d visitord -v ON_ERROR_STOP=1 "$@"; }
pgv -c 'VACUUM ANALYZE'
pg_bytes=$(pgv -tA -c "SELECT pg_database_size('visitord')")
sled_bytes=$(du -sb "$sled_store" | cut -f1)
echo "import into sled: $import_s s ($(mb "$sled_bytes") MB); copy into PostgreSQL: $copy_s s ($(mb "$pg_bytes") MB)"

echo "== sample $tokens_n tokens, $terms_n candidate terms and 2000 rooms"
python3 scripts/load_data.py sample "$jsonl" "$tokens_n" "$terms_n" "$work/tokens.txt" "$work/candidates.txt"
python3 scripts/load_data.py rooms "$nav_jsonl" 2000 "$work/rooms.txt"

# ---- servers --------------------------------------------------------------------------------
pg_env=(VISITORD_STORAGE_BACKEND=postgres "VISITORD_STORAGE_POSTGRES_URL=$pg_url"
  "VISITORD_STORAGE_POSTGRES_POOL_SIZE=$pool")
start_server sled "$sled_store" VISITORD_STORAGE_DURABILITY=sync
sled_pid=$pid sled_addr=$addr
start_server pg-a "$work/replica-a" "${pg_env[@]}"
pga_pid=$pid pga_addr=$addr
start_server pg-b "$work/replica-b" "${pg_env[@]}"
pgb_pid=$pid pgb_addr=$addr
for a in "$sled_addr" "$pga_addr" "$pgb_addr"; do wait_healthy "$a"; done
pg_pm=$(head -n 1 "$pg_dir/data/postmaster.pid")
echo "sled on $sled_addr; replicas on $pga_addr and $pgb_addr; PostgreSQL postmaster $pg_pm"

login "$sled_addr"
python3 scripts/load_data.py terms "$sled_addr" "$auth_token" "$user_id" "$work/candidates.txt" \
  "$work/terms.txt" "$work/tokens.txt" "$work/terms-kinds.txt"
# Agents log in once per replica set: the postgres replicas share their sessions.
sled_auth=("$auth_token" "$user_id")
login "$pga_addr"
pg_auth=("$auth_token" "$user_id")
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: ${pg_auth[0]}" -H "X-User-Id: ${pg_auth[1]}" \
  "http://$pgb_addr/api/v1/me")" = 200 ] || die "replica B does not accept replica A's login"

# ---- runs -----------------------------------------------------------------------------------
results="$work/results.txt" # see scripts/lib/load-common.sh
: >"$results"
costs="$work/costs.txt" # round name visitord_ms_per_request postgres_ms_per_request
: >"$costs"
tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN {print 1000 / t}')

# measure ROUND NAME SCRIPT [ARGS…]: one run of configuration $cfg (sled, pg-1, pg-2), with
# the CPU its visitord process(es) and PostgreSQL used per request.
measure() {
  local round="$1" name="$2" script="$3" servers=() url vd0 pg0 vd1 pg1 requests
  shift 3
  case "$cfg" in
    sled) servers=("$sled_pid") url="http://$sled_addr" ;;
    pg-1) servers=("$pga_pid") url="http://$pga_addr" ;;
    pg-2) servers=("$pga_pid" "$pgb_pid") url="http://$pga_addr" ;;
  esac
  vd0=$(cpu_ticks "${servers[@]}") pg0=$(cpu_ticks "$pg_pm")
  if [ "$cfg" = pg-2 ]; then
    WRK_ADDRS="$pga_addr,$pgb_addr" run "$round" "$cfg:$name" "$url" "$script" "$@"
  else
    run "$round" "$cfg:$name" "$url" "$script" "$@"
  fi
  vd1=$(cpu_ticks "${servers[@]}") pg1=$(cpu_ticks "$pg_pm")
  requests=$(tail -n 1 "$results" | awk '{print $8}')
  awk -v r="$round" -v n="$cfg:$name" -v v=$((vd1 - vd0)) -v p=$((pg1 - pg0)) -v q="$requests" \
    -v t="$tick_ms" 'BEGIN {printf "%s %s %.4f %.4f\n", r, n, v * t / q, p * t / q}' >>"$costs"
}

prefix="$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
measures=(get search register pv-room pv-roomless)
for round in $(seq "$runs"); do
  echo "== round $round of $runs (wrk -t2 -c$conns -d${duration}s)"
  for cfg in sled pg-1 pg-2; do
    if [ "$cfg" = sled ]; then auth=("${sled_auth[@]}"); else auth=("${pg_auth[@]}"); fi
    measure "$round" get get.lua "$work/tokens.txt"
    measure "$round" search search.lua "${auth[@]}" "$work/terms.txt"
    measure "$round" register register.lua "$prefix-$round-$cfg"
    measure "$round" pv-room page_visited.lua "$work/rooms.txt"
    measure "$round" pv-roomless page_visited.lua "$work/tokens.txt"
  done
done

# Every registration acknowledged to the replicas is in the database once.
registered=$(pgv -tA -c "SELECT count(*) FROM visitors WHERE token LIKE '$prefix-%'")
for n in sled pg-a pg-b; do
  ! grep -q ERROR "$work/$n.err" || echo "warning: visitord ($n) logged errors: $(grep ERROR "$work/$n.err" | head -n 3)" >&2
done

# ---- summary --------------------------------------------------------------------------------
cost() { # cost NAME COLUMN: median of the cost column (3 visitord, 4 postgres)
  awk -v n="$1" -v c="$2" '$2 == n {print $c}' "$costs" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
{
  echo "visitord scale-out summary, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
  echo "$(wc -l <"$jsonl") visitors, $(wc -l <"$nav_jsonl") navigation entries; $runs round(s) of wrk -t2 -c$conns -d${duration}s; $(nproc) cores;" \
    "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), pool $pool per replica"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  printf '%-12s %9s %9s %9s %7s %7s   %-23s %-23s %-23s\n' "" "sled" "pg-1" "pg-2" "pg1/sl" "pg2/pg1" \
    "p50 / p99 ms: sled" "pg-1" "pg-2"
  for m in "${measures[@]}"; do
    s=$(median "sled:$m" 3) a=$(median "pg-1:$m" 3) b=$(median "pg-2:$m" 3)
    printf '%-12s %9.0f %9.0f %9.0f %7s %7s   %-23s %-23s %-23s\n' "$m req/s" "$s" "$a" "$b" \
      "$(ratio "$a" "$s")" "$(ratio "$b" "$a")" \
      "$(median "sled:$m" 4) / $(median "sled:$m" 5)" "$(median "pg-1:$m" 4) / $(median "pg-1:$m" 5)" \
      "$(median "pg-2:$m" 4) / $(median "pg-2:$m" 5)"
  done
  echo
  echo "CPU per request (ms; medians): visitord process(es) + the PostgreSQL server"
  printf '%-12s %14s %20s %20s\n' "" "sled" "pg-1 (vd + pg)" "pg-2 (vd + pg)"
  for m in "${measures[@]}"; do
    printf '%-12s %14s %20s %20s\n' "$m" "$(cost "sled:$m" 3)" \
      "$(cost "pg-1:$m" 3) + $(cost "pg-1:$m" 4)" "$(cost "pg-2:$m" 3) + $(cost "pg-2:$m" 4)"
  done
  echo
  bad=$(awk '{s += $6 + $7} END {print s + 0}' "$results")
  echo "non-200 answers and socket errors, all runs: $bad"
  acked=$(awk '$2 ~ /^pg-.*:register$/ {s += $8 - $6} END {print s + 0}' "$results")
  echo "registrations answered 200 by the replicas: $acked; visitors of those tokens in the database: $registered" \
    "$( [ "$registered" -ge "$acked" ] && echo "(none lost)" || echo "(LOST: $((acked - registered)))")"
  echo "import into sled $import_s s, $(mb "$sled_bytes") MB; visitord copy into PostgreSQL $copy_s s, $(mb "$pg_bytes") MB (pg_database_size)"
} | tee "$work/summary.txt"
cp "$work/summary.txt" target/load/replicas-summary.txt
echo "(written to target/load/replicas-summary.txt)"
