#!/usr/bin/env bash
# Compatibility check with Rocket.Chat's published Livechat client (@rocket.chat/sdk).
# Builds the release binary, starts it on a free loopback port over a temporary store,
# installs the client into a temporary folder (npm registry needed), runs sdk-livechat.js.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --manifest-path "$repo/Cargo.toml" >/dev/null
(cd "$work" && npm init -y >/dev/null && npm install --silent @rocket.chat/sdk@1.0.0-alpha.42 >/dev/null)
cp "$here/sdk-livechat.js" "$work/"

"$repo/target/release/visitord" --bind 127.0.0.1:0 --data-dir "$work/data" >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 50); do
  addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/out.log" || true)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "server did not start"; cat "$work/err.log"; exit 1; }
(cd "$work" && node sdk-livechat.js "$addr")
