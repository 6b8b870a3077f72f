#!/usr/bin/env bash
# Load: visitord's throughput and latency under wrk on this machine, against an HTTP ceiling
# and against a PostgreSQL peer loaded with the same data, with a 1,000,000-visitor store that
# also holds 10,000,000 navigation entries; plus startup time, peak RSS and sizes on disk.
#
# Usage: scripts/load.sh
#   RUNS=3          rounds; every figure below is the median over the rounds
#   DURATION=10     seconds per wrk / pgbench run
#   CONNECTIONS=64  wrk connections (wrk -t2 -c$CONNECTIONS), pgbench clients (-c, -j2)
#   VISITORS=1000000                how many visitors to generate (scripts/gen_visitors.py)
#   NAV_ENTRIES=10*VISITORS         how many navigation entries (scripts/gen_navigation.py)
#   STORE_1M=target/load/store-<VISITORS>-<NAV_ENTRIES>   the big store; imported (visitors,
#                   then navigation) when the directory does not exist
#   JSONL=target/load/visitors-<VISITORS>.jsonl  the generated visitors (kept; made when missing)
#   NAV_JSONL=target/load/navigation-<VISITORS>-<NAV_ENTRIES>.jsonl  the generated entries (same)
#   PEER=postgres   the PostgreSQL peer (scripts/pg/peer.sh); PEER=none skips it
#   BIN=path        a prebuilt visitord (skips `cargo build` of visitord)
#   CEILING=path    a prebuilt examples/ceiling (skips its `cargo build`)
#   CONFIG=/dev/null  visitord config file (default: none, i.e. built-in defaults + env)
#   BASE_BIN=path   another visitord build (the baseline of a change): every round then also
#                   runs get, search, post-sync, pv-room and pv-roomless against it, each
#                   right after this build's (rows base-*; it serves a copy of the big store)
#                   and the summary prints candidate ÷ baseline
# A quick check of the script itself: VISITORS=20000 RUNS=1 DURATION=3
#
# What is measured (wrk, its threads and the server under test share this machine; every run
# is a separate wrk invocation; a run's line gives req/s, p50/p99 latency, responses that
# were not 200, and socket errors/timeouts):
#   a. ceiling      GET /ceiling on examples/ceiling.rs: a fixed visitor-sized JSON body, no
#                   store; the most this machine + actix-web + wrk can do.
#   b. get          GET /api/v1/livechat/visitor/<token>, a random one of 20,000 existing tokens.
#   c. search       GET /api/v1/livechat/visitors.search?term=<term> as admin, a random one of
#                   the selective terms (email, email local part, phone, name, username taken
#                   from random visitors; kept only if the server answers 1 <= total <= 100).
#   d. search-all   the same with term= (empty): the first page of everyone, default order.
#   e. post-sync / post-periodic   POST /api/v1/livechat/visitor of new visitors (unique
#                   tokens) into a fresh empty store, VISITORD_STORAGE_DURABILITY=sync resp.
#                   periodic; each of these two servers runs alone (the other servers are idle).
#   f. pv-room / pv-roomless   POST /api/v1/livechat/page.visited on the big store (which runs
#                   in `sync` mode): a page view of a random one of 2,000 (token, room) pairs
#                   taken from the navigation entries, resp. of a random sampled token, no room.
#   pg-*            the PostgreSQL peer (PEER=postgres): a throwaway cluster on 127.0.0.1 in a
#                   temp dir, the same visitors and entries COPYed in, indexes built after
#                   (btree token/email/phone/ts, GIN gin_trgm_ops on the searchable text;
#                   navigation by id, room+ts, token+ts, ts), then pgbench -M prepared (the
#                   search: -M simple, its term a literal, see scripts/pg/search.sql) with the
#                   same clients and duration: pg-get (same tokens), pg-search (same terms, page
#                   of 50 newest first + count(*)), pg-insert (a new visitor per transaction into
#                   an empty table with the same indexes), pg-nav-room / pg-nav-roomless (a
#                   navigation entry per transaction into the big table; synchronous_commit=on).
#                   Its load time is COPY + index builds, its size pg_total_relation_size.
#   two-letter      the term "an" (page of 50 + exact total) on the big store, one client,
#                   mean of 5 after a warm-up, against the same query on the peer.
#   startup ms      from launching visitord on the big store (files in the OS cache: it is
#                   started and stopped once before) to its first 200 on GET /health.
#   peak RSS        VmHWM of the big-store server at the end of all rounds.
#   disk            du -sb of the big store (this run's copy of it, before any load) after the
#                   server has opened and closed it once. Split against the peer's two tables:
#                   visitors = a store of the visitors file alone (imported once, time and size
#                   kept next to the big store in STORE.visitors-only), navigation = the whole
#                   store minus that.
#   MB = 10^6 bytes. Targets (issue #11 for the peer ratios): get/ceiling >= 0.75,
#   sync/periodic >= 0.50, search/get >= 0.50, post-sync/pg-insert >= 1.0, pv/get >= 0.30,
#   pv/pg-nav >= 1.0, two-letter visitord/peer <= 1.0, import/peer load <= 1.0, disk/peer <= 1.0,
#   RSS <= 300 MB, startup <= 1000 ms; search-all/get is informational.
# The summary also goes to target/load/summary.txt. Only the CLI and the HTTP API are used.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${RUNS:-3}"
duration="${DURATION:-10}"
conns="${CONNECTIONS:-64}"
visitors="${VISITORS:-1000000}"
nav_entries="${NAV_ENTRIES:-$((visitors * 10))}"
store="${STORE_1M:-target/load/store-$visitors-$nav_entries}"
jsonl="${JSONL:-target/load/visitors-$visitors.jsonl}"
nav_jsonl="${NAV_JSONL:-target/load/navigation-$visitors-$nav_entries.jsonl}"
peer="${PEER:-postgres}"
config="${CONFIG:-/dev/null}"
tokens_n=20000
terms_n=1000

mkdir -p target/load
work="$(mktemp -d target/load/run.XXXXXX)"
# shellcheck source=scripts/lib/load-common.sh
. scripts/lib/load-common.sh

cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop "$pid"; done
  [ "$peer" != postgres ] || pg_stop
  rm -rf "$work"
}
setup_run
case "$peer" in
  postgres)
    # shellcheck source=scripts/pg/peer.sh
    . scripts/pg/peer.sh
    ;;
  none) ;;
  *) die "PEER must be postgres or none" ;;
esac

echo "== build"
target_dir="${CARGO_TARGET_DIR:-target}"
bin="${BIN:-$target_dir/release/visitord}"
base_bin="${BASE_BIN:-}"
[ -z "$base_bin" ] || [ -x "$base_bin" ] || die "no baseline visitord at $base_bin"
ceiling_bin="${CEILING:-$target_dir/release/examples/ceiling}"
build=()
[ -n "${BIN:-}" ] || build+=(--bin visitord)
[ -n "${CEILING:-}" ] || build+=(--example ceiling)
[ ${#build[@]} = 0 ] || cargo build --release --locked "${build[@]}"
[ -x "$ceiling_bin" ] || die "no ceiling binary at $ceiling_bin"
[ -x "$bin" ] || die "no visitord binary at $bin"

# ---- data -----------------------------------------------------------------------------------
generate_data "$visitors" "$nav_entries" "$jsonl" "$nav_jsonl"
# The import's time (visitors, navigation, each written by a fresh copy of the store) is kept
# next to the store, so that a later run against the same store still prints it.
import_file="$store.import-seconds"
if [ ! -d "$store" ]; then
  lines=$(wc -l <"$jsonl")
  [ "$lines" -eq "$visitors" ] ||
    echo "warning: $jsonl has $lines lines, not VISITORS=$visitors; importing it as it is" >&2
  echo "== import $jsonl and $nav_jsonl into $store"
  t0=$(now_ms)
  "$bin" --config "$config" import --rocketchat "$jsonl" --navigation "$nav_jsonl" \
    --data-dir "$store" 2>&1 | tail -n 5
  awk -v ms=$(($(now_ms) - t0)) 'BEGIN {printf "%.1f\n", ms / 1000}' >"$import_file"
  echo "import took $(cat "$import_file") s"
fi
import_s=$(cat "$import_file" 2>/dev/null || echo "n/a")
# The visitors alone, for the split of the load time and the disk against the peer's tables:
# "seconds bytes" of an import of the visitors file into an empty store (a compact copy, as every
# import writes), kept next to the big store; the store itself is deleted.
visitors_only_file="$store.visitors-only"
if [ ! -s "$visitors_only_file" ]; then
  echo "== import $jsonl alone (the visitors' share of the load time and the disk)"
  t0=$(now_ms)
  "$bin" --config "$config" import --rocketchat "$jsonl" --data-dir "$work/visitors-only" 2>&1 |
    tail -n 2
  echo "$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN {printf "%.1f", ms / 1000}') $(du -sb "$work/visitors-only" | cut -f1)" \
    >"$visitors_only_file"
  rm -rf "$work/visitors-only"
fi
read -r visitors_only_s visitors_only_bytes <"$visitors_only_file"

# Every run works on a copy: page visits write into the store they measure, and the imported
# store must stay as imported for the next run (its size on disk is one of the figures).
echo "== a copy of $store for this run"
cp -a "$store" "$work/store"
run_store="$work/store"

# A reproducible random sample of the visitors: tokens for run b, candidate terms for run c.
echo "== sample $tokens_n tokens and $terms_n candidate search terms from $jsonl"
python3 scripts/load_data.py sample "$jsonl" "$tokens_n" "$terms_n" "$work/tokens.txt" "$work/candidates.txt"
# (token, room) pairs of entries in rooms, for run f.
python3 scripts/load_data.py rooms "$nav_jsonl" 2000 "$work/rooms.txt"
echo "$(wc -l <"$work/tokens.txt") tokens, $(wc -l <"$work/candidates.txt") candidate terms, $(wc -l <"$work/rooms.txt") rooms"

# ---- servers --------------------------------------------------------------------------------
export VISITORD_RATE_LIMIT_ENABLED=false RUST_LOG=warn
password="load-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

# The baseline serves a copy of the store made before this build opens it (a newer build may
# upgrade the store's schema when it opens it, which the baseline would refuse).
if [ -n "$base_bin" ]; then
  echo "== a copy of $store for the baseline"
  cp -a "$store" "$work/base-store"
fi
# The first start of a store creates "admin" with VISITORD_ADMIN_PASSWORD; a store from an
# earlier run has it already, with that run's password: set this run's.
# set_password BIN STORE
set_password() {
  if "$1" --config "$config" user list --data-dir "$2" | awk '$1 == "admin" {f = 1} END {exit !f}'; then
    "$1" --config "$config" user passwd admin --password-stdin --data-dir "$2" <<<"$password" >/dev/null
  fi
}
set_password "$bin" "$run_store"
[ -z "$base_bin" ] || set_password "$base_bin" "$work/base-store"

# A store imported by an older build is upgraded when this build opens it; compacting the copy
# first upgrades it and returns the space of the trees the upgrade replaced, as a user would
# after an upgrade (the size on disk is one of the figures). A store of this schema is already
# compact (an import writes a compact copy), so this only costs one rewrite.
"$bin" --config "$config" compact --data-dir "$run_store" | tail -n 1

echo "== visitord on $run_store: first start (fills the OS cache), then a measured start"
t0=$(now_ms)
start_server big "$run_store"
wait_healthy "$addr"
first_start_ms=$(($(now_ms) - t0))
stop_server "$pid"
disk_bytes=$(du -sb "$run_store" | cut -f1)
disk_mb=$(mb "$disk_bytes")
echo "store on disk: $disk_mb MB ($disk_bytes bytes); first start: $first_start_ms ms"

t0=$(now_ms)
start_server big "$run_store" VISITORD_STORAGE_DURABILITY=sync
wait_healthy "$addr"
startup_ms=$(($(now_ms) - t0))
big_pid=$pid big_addr=$addr
echo "startup (warm OS cache): $startup_ms ms; listening on $big_addr"

login "$big_addr"

# Every candidate term against the server: keep those with 1 <= total <= 100; a sample of the
# tokens must be found (else the store is not the one of $jsonl).
echo "== check the terms' selectivity and the tokens against the server"
python3 scripts/load_data.py terms "$big_addr" "$auth_token" "$user_id" "$work/candidates.txt" "$work/terms.txt" "$work/tokens.txt" "$work/terms-kinds.txt"

# Peak resident memory of the big-store server so far (VmHWM), in MB.
hwm_mb() { mb $(($(awk '/^VmHWM:/ {print $2}' "/proc/$big_pid/status") * 1024)); }
echo "peak RSS of the big-store server after start and the term check: $(hwm_mb) MB"

"$ceiling_bin" --bind 127.0.0.1:0 >"$work/ceiling.out" 2>"$work/ceiling.err" &
ceiling_pid=$!
pids+=("$ceiling_pid")
for _ in $(seq 1000); do
  ceiling_addr=$(grep -o '127.0.0.1:[0-9]*' "$work/ceiling.out" || true)
  [ -n "$ceiling_addr" ] && break
  sleep 0.01
done
[ -n "$ceiling_addr" ] || { cat "$work/ceiling.err" >&2; die "the ceiling server did not start"; }

if [ -n "$base_bin" ]; then
  bin_now="$bin" bin="$base_bin"
  start_server base "$work/base-store" VISITORD_STORAGE_DURABILITY=sync
  bin="$bin_now" base_addr="$addr"
  wait_healthy "$base_addr"
  echo "baseline $base_bin on a copy of the store: $base_addr"
  big_auth_token="$auth_token" big_user_id="$user_id"
  login "$base_addr"
  base_auth_token="$auth_token" base_user_id="$user_id"
  auth_token="$big_auth_token" user_id="$big_user_id"
fi

if [ "$peer" = postgres ]; then
  echo "== PostgreSQL peer"
  pg_start
  pg_load "$jsonl" "$nav_jsonl" "$work/tokens.txt" "$work/terms-kinds.txt" "$work/rooms.txt"
fi

# ---- runs -----------------------------------------------------------------------------------
results="$work/results.txt" # see scripts/lib/load-common.sh
: >"$results"

prefix="$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
for round in $(seq "$runs"); do
  echo "== round $round of $runs (wrk -t2 -c$conns -d${duration}s)"
  run "$round" ceiling "http://$ceiling_addr" ceiling.lua
  run "$round" get "http://$big_addr" get.lua "$work/tokens.txt"
  [ -z "$base_bin" ] || run "$round" base-get "http://$base_addr" get.lua "$work/tokens.txt"
  run "$round" search "http://$big_addr" search.lua "$auth_token" "$user_id" "$work/terms.txt"
  [ -z "$base_bin" ] ||
    run "$round" base-search "http://$base_addr" search.lua "$base_auth_token" "$base_user_id" "$work/terms.txt"
  run "$round" search-all "http://$big_addr" search.lua "$auth_token" "$user_id"
  run "$round" pv-room "http://$big_addr" page_visited.lua "$work/rooms.txt"
  run "$round" pv-roomless "http://$big_addr" page_visited.lua "$work/tokens.txt"
  if [ -n "$base_bin" ]; then
    run "$round" base-pv-room "http://$base_addr" page_visited.lua "$work/rooms.txt"
    run "$round" base-pv-roomless "http://$base_addr" page_visited.lua "$work/tokens.txt"
  fi
  echo "  round $round  peak RSS of the big-store server so far: $(hwm_mb) MB"
  if [ "$peer" = postgres ]; then
    pg_run "$round" pg-get get.sql
    pg_run "$round" pg-search search.sql simple
    pgq -c 'TRUNCATE visitor_new'
    pg_run "$round" pg-insert insert_visitor.sql
    pg_run "$round" pg-nav-room nav_room.sql
    pg_run "$round" pg-nav-roomless nav_roomless.sql
  fi
  for mode in sync periodic; do
    start_server "post-$mode" "$work/post-$mode-$round" VISITORD_STORAGE_DURABILITY="$mode"
    wait_healthy "$addr"
    run "$round" "post-$mode" "http://$addr" register.lua "$prefix-$round-$mode"
    stop_server "$pid"
    rm -rf "$work/post-$mode-$round"
  done
  if [ -n "$base_bin" ]; then
    bin_now="$bin" bin="$base_bin"
    start_server "base-post-sync" "$work/base-post-$round" VISITORD_STORAGE_DURABILITY=sync
    bin="$bin_now"
    wait_healthy "$addr"
    run "$round" base-post-sync "http://$addr" register.lua "$prefix-$round-base"
    stop_server "$pid"
    rm -rf "$work/base-post-$round"
  fi
done

# The two-letter term: page of 50 + exact total, one client, mean of 5 after a warm-up.
two_url="http://$big_addr/api/v1/livechat/visitors.search?term=an&count=50"
curl -sf -o /dev/null -H "X-Auth-Token: $auth_token" -H "X-User-Id: $user_id" "$two_url" ||
  die "search for 'an' failed"
two_ms=$(for _ in 1 2 3 4 5; do
  curl -sf -o /dev/null -w '%{time_total}\n' -H "X-Auth-Token: $auth_token" -H "X-User-Id: $user_id" "$two_url"
done | awk '{s += $1} END {printf "%.1f", s / NR * 1000}')
two_total=$(curl -sf -H "X-Auth-Token: $auth_token" -H "X-User-Id: $user_id" "$two_url" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["total"])')
echo "two-letter term 'an': $two_ms ms (total $two_total)"
pg_two_ms="n/a"
if [ "$peer" = postgres ]; then
  pg_two_ms=$(pg_query_ms two_letter.sql)
  echo "PostgreSQL, the same query: $pg_two_ms ms (total $(pgq -tA -c \
    "SELECT count(*) FROM visitor v WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE '%an%'"))"
fi

rss_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$big_pid/status")
rss_mb=$(mb $((rss_kb * 1024)))
if grep -q ERROR "$work/big.err"; then
  echo "errors logged by the big-store server ($(grep -c ERROR "$work/big.err")), the first ones:"
  grep ERROR "$work/big.err" | head -5
fi

# ---- summary --------------------------------------------------------------------------------

{
  echo "visitord load summary, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (dirty tree)')"
  echo "store $store ($(wc -l <"$jsonl") visitors, $(wc -l <"$nav_jsonl") navigation entries), $runs round(s) of wrk -t2 -c$conns -d${duration}s, $(nproc) cores"
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  printf '%-15s %12s %10s %10s %9s %9s\n' run "req/s" "p50 ms" "p99 ms" "non-200" "sock err"
  names=(ceiling get search search-all post-sync post-periodic pv-room pv-roomless)
  [ "$peer" != postgres ] || names+=(pg-get pg-search pg-insert pg-nav-room pg-nav-roomless)
  [ -z "$base_bin" ] || names+=(base-get base-search base-post-sync base-pv-room base-pv-roomless)
  for name in "${names[@]}"; do
    total_bad=$(awk -v n="$name" '$2 == n {s += $6} END {print s + 0}' "$results")
    total_sock=$(awk -v n="$name" '$2 == n {s += $7} END {print s + 0}' "$results")
    printf '%-15s %12.0f %10.2f %10.2f %9s %9s\n' "$name" "$(median "$name" 3)" \
      "$(median "$name" 4)" "$(median "$name" 5)" "$total_bad" "$total_sock"
  done
  echo "(medians over the rounds; non-200 and socket errors are totals; pg-* rows are pgbench"
  echo " transactions/s with the mean latency in both latency columns)"
  echo
  get=$(median get 3)
  r_get=$(ratio "$get" "$(median ceiling 3)")
  r_post=$(ratio "$(median post-sync 3)" "$(median post-periodic 3)")
  r_search=$(ratio "$(median search 3)" "$get")
  r_all=$(ratio "$(median search-all 3)" "$get")
  printf '%-32s %10s   %-10s %s\n' measure value target result
  printf '%-32s %10s   %-10s %s\n' "get / ceiling" "$r_get" ">= 0.75" "$(verdict "$r_get" ">=" 0.75)"
  printf '%-32s %10s   %-10s %s\n' "post sync / post periodic" "$r_post" ">= 0.50" "$(verdict "$r_post" ">=" 0.50)"
  printf '%-32s %10s   %-10s %s\n' "selective search / get" "$r_search" ">= 0.50" "$(verdict "$r_search" ">=" 0.50)"
  printf '%-32s %10s   %-10s %s\n' "empty-term search / get" "$r_all" "-" "(informational)"
  r_pv_room=$(ratio "$(median pv-room 3)" "$get")
  r_pv_roomless=$(ratio "$(median pv-roomless 3)" "$get")
  printf '%-32s %10s   %-10s %s\n' "page.visited room / get" "$r_pv_room" ">= 0.30" "$(verdict "$r_pv_room" ">=" 0.30)"
  printf '%-32s %10s   %-10s %s\n' "page.visited room-less / get" "$r_pv_roomless" ">= 0.30" "$(verdict "$r_pv_roomless" ">=" 0.30)"
  printf '%-32s %10s   %-10s %s\n' "peak RSS, big store (MB)" "$rss_mb" "<= 300" "$(verdict "$rss_mb" "<=" 300)"
  printf '%-32s %10s   %-10s %s\n' "disk size, big store (MB)" "$disk_mb" "<= 1000" "$(verdict "$disk_mb" "<=" 1000)"
  printf '%-32s %10s   %-10s %s\n' "startup, warm OS cache (ms)" "$startup_ms" "<= 1000" "$(verdict "$startup_ms" "<=" 1000)"
  printf '%-32s %10s   %-10s %s\n' "first start (ms)" "$first_start_ms" "-" "(informational)"
  printf '%-32s %10s   %-10s %s\n' "import, both files (s)" "$import_s" "-" "(informational)"
  printf '%-32s %10s   %-10s %s\n' "two-letter term 'an' (ms)" "$two_ms" "-" "(total $two_total)"
  if [ "$peer" = postgres ]; then
    echo
    echo "against PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') (same data, same run; visitord through HTTP, the peer through pgbench)"
    printf '%-32s %12s %12s %8s   %-8s %s\n' measure visitord postgres ratio target result
    peer_row() { # peer_row LABEL VISITORD POSTGRES OP TARGET
      local r a b
      r=$(ratio "$2" "$3")
      a=$(awk -v x="$2" 'BEGIN {printf (x + 0 < 100 && x != int(x)) ? "%.1f" : "%.0f", x}')
      b=$(awk -v x="$3" 'BEGIN {printf (x + 0 < 100 && x != int(x)) ? "%.1f" : "%.0f", x}')
      set -- "$1" "$a" "$b" "$4" "$5"
      if [ "$4" = "-" ]; then
        printf '%-32s %12s %12s %8s   %-8s %s\n' "$1" "$2" "$3" "$r" "-" "(informational)"
      else
        printf '%-32s %12s %12s %8s   %-8s %s\n' "$1" "$2" "$3" "$r" "$4 $5" "$(verdict "$r" "$4" "$5")"
      fi
    }
    peer_row "token lookups/s" "$(median get 3)" "$(median pg-get 3)" - -
    peer_row "selective searches/s" "$(median search 3)" "$(median pg-search 3)" - -
    peer_row "new visitors/s, durable" "$(median post-sync 3)" "$(median pg-insert 3)" ">=" 1.0
    peer_row "page visits/s room, durable" "$(median pv-room 3)" "$(median pg-nav-room 3)" ">=" 1.0
    peer_row "page visits/s room-less" "$(median pv-roomless 3)" "$(median pg-nav-roomless 3)" ">=" 1.0
    peer_row "two-letter term (ms)" "$two_ms" "$pg_two_ms" "<=" 1.0
    peer_row "load incl. indexes (s)" "$import_s" \
      "$(awk -v a="$pg_load_visitors_s" -v b="$pg_load_nav_s" 'BEGIN {printf "%.1f", a + b}')" "<=" 1.0
    peer_row "disk, visitors+navigation (MB)" "$disk_mb" "$(mb $((pg_visitor_bytes + pg_nav_bytes)))" "<=" 1.0
    peer_row "load of the visitors alone (s)" "$visitors_only_s" "$pg_load_visitors_s" "<=" 1.0
    peer_row "disk, visitors (MB)" "$(mb "$visitors_only_bytes")" "$(mb "$pg_visitor_bytes")" "<=" 1.0
    peer_row "disk, navigation (MB)" "$(mb $((disk_bytes - visitors_only_bytes)))" "$(mb "$pg_nav_bytes")" "<=" 1.0
    echo "(PostgreSQL: visitors $pg_load_visitors_s s / $(mb "$pg_visitor_bytes") MB, navigation $pg_load_nav_s s / $(mb "$pg_nav_bytes") MB;"
    echo " visitord's disk is the whole store, its load time the import of both files;"
    echo " its visitors a store of the visitors file alone, its navigation the whole store minus that)"
  fi
  if [ -n "$base_bin" ]; then
    echo
    echo "this build against the baseline $base_bin (same run, same store contents)"
    for name in get search post-sync pv-room pv-roomless; do
      printf '%-32s %10.0f %10.0f   ratio %s\n' "$name req/s" "$(median "$name" 3)" \
        "$(median "base-$name" 3)" "$(ratio "$(median "$name" 3)" "$(median "base-$name" 3)")"
    done
  fi
  [ "$errors" = 0 ] || echo "WARNING: $errors non-200 responses or socket errors in total (see above)"
} | tee "$work/summary.txt"
cp "$work/summary.txt" target/load/summary.txt
echo "(written to target/load/summary.txt)"
