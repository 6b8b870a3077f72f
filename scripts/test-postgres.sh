#!/usr/bin/env bash
# The integration suite on the postgres backend: installs Debian's PostgreSQL when it is missing,
# starts a throwaway cluster listening on 127.0.0.1 only (a few seconds), runs
# `cargo test --test integration` with VISITORD_TEST_BACKEND=postgres (each test on its own
# database cloned from a migrated template), prints the tests skipped there and why, and removes
# the cluster. Extra arguments go to cargo test (e.g. a test name filter).
#
# Left out of this run, with the reason: tests/cli (runs the release binary against its own sled
# data dirs) and tests/store/search_props (properties of the sled search index); both run in the
# sled pass of `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

find_bin() {
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}
bin=$(find_bin || true)
if [ -z "$bin" ]; then
  echo "-- installing Debian's postgresql (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  bin=$(find_bin)
fi
run_as=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --home /nonexistent --shell /usr/sbin/nologin postgres
  run_as=(runuser -u postgres --)
fi

cluster=$(mktemp -d /tmp/visitord-pg.XXXXXX)
chmod 755 "$cluster"
[ "$(id -u)" = 0 ] && chown postgres "$cluster"
port=${VISITORD_TEST_PG_PORT:-55439}
# A port something else listens on (another run of this script, say) is skipped.
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  port=$((port + 1))
done
stop() {
  "${run_as[@]}" "$bin/pg_ctl" -D "$cluster/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$cluster"
}
trap stop EXIT

echo "-- starting PostgreSQL ($("$bin/postgres" --version)) on 127.0.0.1:$port in $cluster"
admin_pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$admin_pw" >"$cluster/admin-password"
[ "$(id -u)" = 0 ] && chown postgres "$cluster/admin-password"
"${run_as[@]}" "$bin/initdb" -D "$cluster/data" -A scram-sha-256 -U postgres \
  --pwfile="$cluster/admin-password" >/dev/null
rm -f "$cluster/admin-password"
"${run_as[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/log" -w \
  -o "-k $cluster -c listen_addresses=127.0.0.1 -p $port -c max_connections=200 -c fsync=off" \
  start >/dev/null
pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
PGPASSWORD="$admin_pw" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Xq -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE visitord_ci LOGIN CREATEDB PASSWORD '$pw'"

skips="$cluster/skipped.txt"
: >"$skips"
chmod 666 "$skips"
status=0
VISITORD_TEST_BACKEND=postgres \
  VISITORD_TEST_PG_URL="postgres://visitord_ci:$pw@127.0.0.1:$port/postgres" \
  VISITORD_TEST_SKIP_LOG="$skips" \
  cargo test --locked --test integration -- --skip cli:: --skip store::search_props "$@" \
  || status=$?
echo "-- skipped on postgres (sled-only by nature): $(sort -u "$skips" | wc -l)"
sort -u "$skips" | sed 's/^/   /'
exit "$status"
