#!/usr/bin/env bash
# The integration suite on the postgres backend: installs Debian's PostgreSQL when it is missing,
# starts a throwaway cluster listening on 127.0.0.1 only (a few seconds), runs
# `cargo test --test integration` with VISITORD_TEST_BACKEND=postgres (each test on its own
# database cloned from a migrated template), prints the tests skipped there and why, and removes
# the cluster. Extra arguments go to cargo test (e.g. a test name filter).
#
# The cluster also serves TLS (ssl = on) with a certificate for 127.0.0.1 and localhost from a
# throwaway CA made here (openssl), for the tests of `storage.postgres_tls = "require"`:
# VISITORD_TEST_PG_CA_FILE is that CA, VISITORD_TEST_PG_OTHER_CA_FILE a CA that signed nothing
# the cluster shows, and VISITORD_TEST_PG_TLS_ONLY_URL a role that pg_hba admits over TLS only
# (`hostnossl … reject`). Every other role connects with or without TLS, as before.
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
if ! command -v openssl >/dev/null 2>&1; then
  echo "-- installing openssl (apt-get), for the cluster's throwaway TLS certificates"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq openssl >/dev/null
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

# A throwaway CA, the server's certificate (SAN 127.0.0.1 and localhost) signed by it, and a
# second CA that signed nothing here. The key is the server's alone (0600, the postgres user's).
tls="$cluster/tls"
mkdir "$tls"
# openssl's chatter only when it fails.
quiet() {
  local out
  out=$("$@" 2>&1) || { echo "$out" >&2; return 1; }
}
make_ca() {
  quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=$1" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign -keyout "$tls/$2.key" -out "$tls/$2.crt"
}
make_ca "visitord test CA" ca
make_ca "visitord other CA" other-ca
quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=127.0.0.1" -keyout "$tls/server.key" -out "$tls/server.csr"
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
  "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
quiet openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
  -CAcreateserial -days 2 -extfile "$tls/server.ext" -out "$tls/server.crt"
rm -f "$tls/ca.key" "$tls/other-ca.key" "$tls/ca.srl" "$tls/server.csr" "$tls/server.ext"
chmod 600 "$tls/server.key"
chmod 644 "$tls/ca.crt" "$tls/other-ca.crt" "$tls/server.crt"
chmod 755 "$tls"
[ "$(id -u)" = 0 ] && chown postgres "$tls/server.key" "$tls/server.crt"

echo "-- starting PostgreSQL ($("$bin/postgres" --version)) on 127.0.0.1:$port in $cluster"
admin_pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$admin_pw" >"$cluster/admin-password"
[ "$(id -u)" = 0 ] && chown postgres "$cluster/admin-password"
"${run_as[@]}" "$bin/initdb" -D "$cluster/data" -A scram-sha-256 -U postgres \
  --pwfile="$cluster/admin-password" >/dev/null
rm -f "$cluster/admin-password"
# The role visitord_tls is admitted over TLS only; every other rule (initdb's `host`, which
# matches connections with and without TLS) stays as it was.
hba="$cluster/data/pg_hba.conf"
{ echo "hostnossl all visitord_tls all reject"; cat "$hba"; } >"$hba.new"
mv "$hba.new" "$hba"
[ "$(id -u)" = 0 ] && chown postgres "$hba"
"${run_as[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/log" -w \
  -o "-k $cluster -c listen_addresses=127.0.0.1 -p $port -c max_connections=200 -c fsync=off \
      -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" \
  start >/dev/null
pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
PGPASSWORD="$admin_pw" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Xq -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE visitord_ci LOGIN CREATEDB PASSWORD '$pw'"
tls_pw=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
# A member of visitord_ci: it may use the test databases visitord_ci owns.
PGPASSWORD="$admin_pw" "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -Xq -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE visitord_tls LOGIN PASSWORD '$tls_pw' IN ROLE visitord_ci"

skips="$cluster/skipped.txt"
: >"$skips"
chmod 666 "$skips"
status=0
VISITORD_TEST_BACKEND=postgres \
  VISITORD_TEST_PG_URL="postgres://visitord_ci:$pw@127.0.0.1:$port/postgres" \
  VISITORD_TEST_PG_CA_FILE="$tls/ca.crt" \
  VISITORD_TEST_PG_OTHER_CA_FILE="$tls/other-ca.crt" \
  VISITORD_TEST_PG_TLS_ONLY_URL="postgres://visitord_tls:$tls_pw@127.0.0.1:$port/postgres" \
  VISITORD_TEST_SKIP_LOG="$skips" \
  cargo test --locked --test integration -- --skip cli:: --skip store::search_props "$@" \
  || status=$?
echo "-- skipped on postgres (sled-only by nature, or what the server lacks): $(sort -u "$skips" | wc -l)"
sort -u "$skips" | sed 's/^/   /'
exit "$status"
