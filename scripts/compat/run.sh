#!/usr/bin/env bash
# Compatibility check with Rocket.Chat's published clients: the Livechat client of
# @rocket.chat/sdk (visitor side) and @rocket.chat/sdk login + @rocket.chat/api-client RestClient
# (agent side). Builds the release binary, starts it on a free loopback port over a temporary
# store, installs the clients into a temporary folder (npm registry needed), runs both scripts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --manifest-path "$repo/Cargo.toml" >/dev/null
(
  cd "$work"
  npm init -y >/dev/null
  npm install --silent @rocket.chat/sdk@1.0.0-alpha.42 query-string@7.1.3 >/dev/null
  # npm refuses to resolve api-client's typing-only dependencies here; its runtime needs only
  # query-string, so unpack the published tarball beside it.
  npm pack --silent @rocket.chat/api-client@0.2.57 >/dev/null
  mkdir -p node_modules/@rocket.chat/api-client
  tar xzf rocket.chat-api-client-0.2.57.tgz -C node_modules/@rocket.chat/api-client --strip-components 1
)
cp "$here/sdk-livechat.js" "$here/agent-clients.js" "$work/"

password="compat-$RANDOM-$RANDOM"
VISITORD_ADMIN_PASSWORD="$password" "$repo/target/release/visitord" --bind 127.0.0.1:0 --data-dir "$work/data" >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 50); do
  addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/out.log" || true)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "server did not start"; cat "$work/err.log"; exit 1; }
(cd "$work" && node sdk-livechat.js "$addr" && node agent-clients.js "$addr" "$password")
