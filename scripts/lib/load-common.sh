# shellcheck shell=bash disable=SC2154,SC2034 # the variables below are the caller's, and it reads the ones set here
# Shared by scripts/load.sh and scripts/load-replicas.sh (sourced): processes, servers, wrk runs
# and the arithmetic of their summaries. Callers set before use:
#   work      a scratch directory (server logs, wrk output)
#   bin       the visitord binary; config: its config file (/dev/null: built-in defaults)
#   password  the admin password servers start with (VISITORD_ADMIN_PASSWORD)
#   conns, duration   wrk connections and seconds per run
#   results   the file run() appends its lines to:
#             round name req/s p50_ms p99_ms non200 socket_errors requests
# and keep `pids` (the processes to stop on exit) and `errors` (non-200 + socket errors so far).

pids=()
errors=0

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
mb() { awk -v b="$1" 'BEGIN {printf "%.0f", b / 1e6}'; }

# setup_run: the caller's `cleanup` runs on exit (and on INT/TERM), and wrk (installed when
# missing) and curl are there.
setup_run() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  command -v wrk >/dev/null || {
    echo "== installing wrk"
    apt-get install -y wrk >/dev/null || die "cannot install wrk (apt-get install -y wrk)"
  }
  command -v curl >/dev/null || die "curl is needed"
}

# Stops a process we started: SIGTERM, up to 10 s, then SIGKILL.
stop() {
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_server NAME DATA_DIR [ENV=VALUE…]: starts visitord, sets $pid and $addr (once it has
# printed its address). Its output goes to $work/NAME.out and $work/NAME.err.
start_server() {
  local name="$1" dir="$2"
  shift 2
  rm -f "$work/$name.out" "$work/$name.err"
  env VISITORD_ADMIN_PASSWORD="$password" "$@" \
    "$bin" --config "$config" --bind 127.0.0.1:0 --data-dir "$dir" \
    >"$work/$name.out" 2>"$work/$name.err" &
  pid=$!
  pids+=("$pid")
  addr=""
  for _ in $(seq 6000); do
    # The "listening:" line (a postgres replica's summary also names the database's address).
    addr=$(sed -n 's#^ *listening: *http://\(127\.0\.0\.1:[0-9]*\).*#\1#p' "$work/$name.out" 2>/dev/null | head -n 1)
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.005
  done
  cat "$work/$name.err" >&2
  die "visitord ($name) did not start"
}

# stop_server PID: stops it and forgets it.
stop_server() {
  stop "$1"
  local p kept=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# wait_healthy ADDR: until GET /health answers 200 (a minute at most).
wait_healthy() {
  for _ in $(seq 60000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$1/health")" = 200 ] && return 0
    sleep 0.001
  done
  die "http://$1/health never answered 200"
}

# login ADDR: logs in as admin; sets $auth_token and $user_id.
login() {
  local answer
  answer=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"user\":\"admin\",\"password\":\"$password\"}" "http://$1/api/v1/login") ||
    die "login as admin at $1 failed"
  read -r auth_token user_id < <(python3 -c \
    'import json,sys; d=json.load(sys.stdin)["data"]; print(d["authToken"], d["userId"])' <<<"$answer")
  [ -n "${user_id:-}" ] || die "unexpected login response: $answer"
}

# load_field NAME LINE: the value of NAME=value in a LOAD line of scripts/wrk/common.lua.
load_field() { awk -v k="$1" '{for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)}' <<<"$2"; }

# run ROUND NAME URL SCRIPT [ARGS…]: one wrk run (scripts/wrk/SCRIPT), one result line.
# WRK_ADDRS in the environment spreads wrk's threads over several servers (scripts/wrk/common.lua).
run() {
  local round="$1" name="$2" url="$3" script="$4" out="$work/wrk.out"
  shift 4
  wrk -t2 -c"$conns" -d"${duration}s" -s "scripts/wrk/$script" "$url" -- "$@" >"$out" 2>&1 ||
    { cat "$out" >&2; die "wrk failed ($name)"; }
  local rps line requests p50 p99 non200 sockerr
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  line=$(grep '^LOAD requests=' "$out") || { cat "$out" >&2; die "no result from wrk ($name)"; }
  requests=$(load_field requests "$line") p50=$(load_field p50_ms "$line")
  p99=$(load_field p99_ms "$line") non200=$(load_field non200 "$line")
  sockerr=$(load_field socket_errors "$line")
  echo "$round $name $rps $p50 $p99 $non200 $sockerr $requests" >>"$results"
  printf '  round %s  %-13s %10.0f req/s  p50 %7.2f ms  p99 %7.2f ms  non-200 %s  socket errors %s\n' \
    "$round" "$name" "$rps" "$p50" "$p99" "$non200" "$sockerr"
  if [ "$non200" != 0 ] || [ "$sockerr" != 0 ]; then
    errors=$((errors + non200 + sockerr))
    grep '^LOAD first_non200=' "$out" | sed 's/^LOAD first_non200=/    first non-200: /' || true
    grep -i 'error' "$out" | grep -v '^LOAD' | sed 's/^/    /' || true
  fi
}

# median NAME COLUMN: the median of column COLUMN of the result lines of run NAME.
median() {
  awk -v n="$1" -v c="$2" '$2 == n {print $c}' "$results" | sort -g |
    awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# verdict VALUE OP TARGET: PASS or MISS.
verdict() {
  awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "PASS" : "MISS"}'
}

# ratio A B: A / B with two decimals (0 when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}'; }

# written_bytes PID: the bytes the process has caused to be written to disk so far (its
# `write_bytes` in /proc/PID/io; 0 when the kernel does not account I/O).
written_bytes() {
  awk '$1 == "write_bytes:" {print $2; found=1} END {if (!found) print 0}' "/proc/$1/io" 2>/dev/null || echo 0
}

# cpu_ticks PID…: the CPU time (user + system, clock ticks) the processes used so far, with
# their children that are still running (PostgreSQL's backends are the postmaster's children).
cpu_ticks() {
  local p all=()
  for p in "$@"; do
    all+=("$p")
    while read -r c; do all+=("$c"); done < <(pgrep -P "$p" 2>/dev/null || true)
  done
  for p in "${all[@]}"; do
    # Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis;
    # a process that ended since pgrep listed it (an autovacuum worker) counts nothing.
    { cat "/proc/$p/stat" 2>/dev/null || true; } | sed 's/.*) //' | awk '{print $12 + $13}'
  done | awk '{s += $1} END {print s + 0}'
}

# generate_data VISITORS NAV_ENTRIES JSONL NAV_JSONL: the generated visitors and navigation
# entries (seed 7), made when missing and kept for later runs.
generate_data() {
  local n="$1" nav_n="$2" jsonl="$3" nav_jsonl="$4"
  if [ ! -f "$jsonl" ]; then
    echo "== generate $n visitors into $jsonl"
    mkdir -p "$(dirname "$jsonl")"
    python3 scripts/gen_visitors.py "$n" 7 "$jsonl.tmp"
    mv "$jsonl.tmp" "$jsonl"
  fi
  if [ ! -f "$nav_jsonl" ]; then
    echo "== generate $nav_n navigation entries into $nav_jsonl"
    mkdir -p "$(dirname "$nav_jsonl")"
    python3 scripts/gen_navigation.py "$n" "$nav_n" 7 "$nav_jsonl.tmp"
    mv "$nav_jsonl.tmp" "$nav_jsonl"
  fi
}
