# shellcheck shell=bash disable=SC2154 # work, conns, duration, results: set by load.sh
# The PostgreSQL peer of scripts/load.sh (sourced by it): a throwaway PostgreSQL cluster on
# loopback in a temp dir, loaded with the same generated visitors and navigation entries as
# visitord's store, measured with pgbench in the same run. Needs: $work (load.sh's work dir),
# die, now_ms, mb, pids (load.sh's). Sets PG_PORT, pg_load_visitors_s, pg_load_nav_s,
# pg_visitor_bytes, pg_nav_bytes.
#
# Settings: PostgreSQL's defaults (shared_buffers 128 MB, synchronous_commit on, fsync on,
# full_page_writes on, GIN fastupdate on: its pending list), max_connections 200, and
# maintenance_work_mem 256 MB for the index builds.

pg_bin=""
pg_dir=""

# Finds PostgreSQL's server binaries; installs Debian's PostgreSQL when there are none.
pg_find() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && [ -x "$d/pgbench" ] && pg_bin="$d"
  done
  if [ -z "$pg_bin" ]; then
    echo "== installing PostgreSQL (Debian's postgresql package)"
    apt-get install -y postgresql >/dev/null || die "cannot install PostgreSQL (apt-get install -y postgresql)"
    for d in /usr/lib/postgresql/*/bin; do
      [ -x "$d/pg_ctl" ] && [ -x "$d/pgbench" ] && pg_bin="$d"
    done
  fi
  [ -n "$pg_bin" ] || die "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin"
}

# Runs a server-side command as the cluster's owner (PostgreSQL refuses to run as root).
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pgq() {
  "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d bench -v ON_ERROR_STOP=1 "$@"
}

pg_stop() {
  [ -n "$pg_dir" ] || return 0
  pg_as_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
  pg_dir=""
}

# Creates and starts the cluster (127.0.0.1, a free port, trust authentication).
pg_start() {
  pg_find
  pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/visitord-pg.XXXXXX")"
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (Debian's postgresql package makes it)"
    chown postgres "$pg_dir"
  fi
  PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  pg_as_owner "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$work/pg-initdb.log" 2>&1 || { cat "$work/pg-initdb.log" >&2; die "initdb failed"; }
  cat >>"$pg_dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$pg_dir'
max_connections = 200
maintenance_work_mem = 256MB
synchronous_commit = on
fsync = on
EOF
  pg_as_owner "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w start >/dev/null ||
    { cat "$pg_dir/server.log" >&2; die "PostgreSQL did not start"; }
  "$pg_bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'CREATE DATABASE bench' ||
    die "cannot create the bench database"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT, data in $pg_dir"
}

# pg_load VISITORS_JSONL NAV_JSONL TOKENS TERMS_WITH_KINDS ROOM_PAIRS: converts to CSV
# (not timed), then COPY and index builds, timed per table; sizes are table + indexes.
pg_load() {
  local vjsonl="$1" njsonl="$2" tokens="$3" terms="$4" rooms="$5" t0
  echo "== PostgreSQL peer: CSV of $vjsonl and $njsonl (not timed)"
  python3 scripts/pg/to_csv.py visitors "$vjsonl" "$work/pg-visitors.csv"
  python3 scripts/pg/to_csv.py nav "$njsonl" "$work/pg-nav.csv"
  python3 scripts/pg/to_csv.py terms "$terms" "$work/pg-terms.csv"
  awk '{print NR "," $1}' "$tokens" >"$work/pg-tokens.csv"
  awk -F'\t' '{print NR "," $1 "," $2}' "$rooms" >"$work/pg-rooms.csv"
  pgq -f scripts/pg/schema.sql
  t0=$(now_ms)
  pgq -c "\\copy visitor FROM '$work/pg-visitors.csv' (FORMAT csv)" -f scripts/pg/visitor_indexes.sql
  pg_load_visitors_s=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN {printf "%.1f", ms / 1000}')
  t0=$(now_ms)
  pgq -c "\\copy nav FROM '$work/pg-nav.csv' (FORMAT csv)" -f scripts/pg/nav_indexes.sql
  pgq -c CHECKPOINT
  pg_load_nav_s=$(awk -v ms=$(($(now_ms) - t0)) 'BEGIN {printf "%.1f", ms / 1000}')
  pgq -c "\\copy bench_tokens FROM '$work/pg-tokens.csv' (FORMAT csv)" \
    -c "\\copy bench_terms FROM '$work/pg-terms.csv' (FORMAT csv)" \
    -c "\\copy bench_rooms FROM '$work/pg-rooms.csv' (FORMAT csv)" -c 'VACUUM ANALYZE'
  rm -f "$work/pg-visitors.csv" "$work/pg-nav.csv"
  pg_visitor_bytes=$(pgq -tA -c "SELECT pg_total_relation_size('visitor')")
  pg_nav_bytes=$(pgq -tA -c "SELECT pg_total_relation_size('nav')")
  echo "PostgreSQL load: visitors $pg_load_visitors_s s ($(mb "$pg_visitor_bytes") MB table + indexes)," \
    "navigation $pg_load_nav_s s ($(mb "$pg_nav_bytes") MB)"
  echo "PostgreSQL matches per selective term (page LIMIT 50): $(pgq -tA -c \
    "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY n) || ' median, ' || max(n) || ' max'
       FROM (SELECT (SELECT count(*) FROM visitor v WHERE vsearch(v.name, v.username, v.email, v.phone) LIKE t.pat) n
               FROM bench_terms t) s")"
}

# pg_run ROUND NAME SCRIPT [MODE]: one pgbench run of $duration s at $conns clients, with
# the query mode MODE (default prepared),
# one result line like load.sh's run() (p50/p99: pgbench reports the mean latency only, in
# both columns; failed transactions in the non-200 column).
pg_run() {
  local round="$1" name="$2" script="$3" mode="${4:-prepared}" out="$work/pgbench.out"
  "$pg_bin/pgbench" -n -M "$mode" -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "$conns" -j 2 \
    -T "$duration" -f "scripts/pg/$script" \
    -D ntokens="$(wc -l <"$work/pg-tokens.csv")" -D nterms="$(wc -l <"$work/pg-terms.csv")" \
    -D nrooms="$(wc -l <"$work/pg-rooms.csv")" bench >"$out" 2>&1 ||
    { cat "$out" >&2; die "pgbench failed ($name)"; }
  local tps lat failed
  tps=$(awk '/^tps = / {print $3; exit}' "$out")
  lat=$(awk '/^latency average = / {print $4}' "$out")
  failed=$(awk '/^number of failed transactions: / {print $5}' "$out")
  echo "$round $name $tps $lat $lat ${failed:-0} 0" >>"$results"
  printf '  round %s  %-13s %10.0f tx/s   mean %7.2f ms                non-200 %s\n' \
    "$round" "$name" "$tps" "$lat" "${failed:-0}"
}

# pg_query_ms SCRIPT: mean latency in ms of SCRIPT run 5 times by one client (after one
# unmeasured run).
pg_query_ms() {
  local out="$work/pgbench-q.out"
  "$pg_bin/pgbench" -n -M prepared -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 1 -t 1 \
    -f "scripts/pg/$1" bench >/dev/null 2>&1 || die "pgbench failed ($1)"
  "$pg_bin/pgbench" -n -M prepared -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 1 -t 5 \
    -f "scripts/pg/$1" bench >"$out" 2>&1 || { cat "$out" >&2; die "pgbench failed ($1)"; }
  awk '/^latency average = / {print $4}' "$out"
}
