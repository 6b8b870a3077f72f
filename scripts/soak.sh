#!/usr/bin/env bash
# Soak: a release visitord (sync durability) on a preloaded store, first driven flat out for
# CAPACITY_S seconds to measure its capacity on this machine, then for SOAK_S seconds (default
# 600) at about half of that, with requests, errors, latency and the server's RSS sampled every
# 10 s (examples/loadgen.rs). Everything stays on 127.0.0.1 and stops by itself.
# Usage: scripts/soak.sh [SOAK_S] [PRELOAD_VISITORS]
#
# GROW=1 scripts/soak.sh 600 50000: the growth soak of issue #11 instead. Flat out for SOAK_S
# seconds with a registration-heavy mix (MIX, default get=35,register=45,visit=15,find=5; `find`
# is a selective search, one match: see examples/loadgen.rs), so that the store grows (from
# 50,000 to several hundred thousand visitors on a 2-core machine); one line a minute; the
# verdict is the last minute's req/s ÷ the first minute's (target >= 0.90) and no request errors.
# The visitors at the end come from the server's store_visitors gauge.
set -euo pipefail
cd "$(dirname "$0")/.."
soak_s="${1:-600}"
preload="${2:-50000}"
capacity_s="${CAPACITY_S:-30}"
work="$(mktemp -d)"
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release --locked --bin visitord --example loadgen >/dev/null
bin=target/release/visitord
loadgen=target/release/examples/loadgen
echo "== preload: $preload demo visitors"
"$bin" --data-dir "$work/data" demo-data --visitors "$preload" --seed 7 | tail -1

export VISITORD_RATE_LIMIT_ENABLED=false VISITORD_ADMIN_PASSWORD="soak-$RANDOM$RANDOM" RUST_LOG=warn
"$bin" --bind 127.0.0.1:0 --data-dir "$work/data" >"$work/out.log" 2>"$work/err.log" &
pid=$!
for _ in $(seq 100); do
  addr=$(grep -o '127.0.0.1:[0-9]*' "$work/out.log" || true)
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$work/err.log"; exit 1; }

if [ "${GROW:-0}" = 1 ]; then
  mix="${MIX:-get=35,register=45,visit=15,find=5}"
  echo "== grow: ${soak_s}s flat out, 8 connections, mix $mix, from $preload visitors"
  "$loadgen" --addr "$addr" --seconds "$soak_s" --every 60 --connections 8 --mix "$mix" \
    --password "$VISITORD_ADMIN_PASSWORD" --pid "$pid" | tee "$work/grow.txt"
  # The store gauges are sampled every minute; the one after the run counts every registration.
  sleep 61
  visitors=$(curl -s "http://$addr/metrics" | awk '$1 == "visitord_store_visitors" {print $2}')
  echo "== visitors at the end: ${visitors:-unknown} (from $preload)"
  verdict=0
  awk 'BEGIN {n = 0} NF==7 && $1 ~ /^[0-9]+$/ {r[n]=$3; e+=$4; n++}
       END {if (n < 2) {print "no samples"; exit 1}
            ratio=r[n-1]/r[0]
            printf "first minute %.0f req/s, last minute %.0f req/s: last/first %.2f (target >= 0.90); errors %d\n", r[0], r[n-1], ratio, e
            if (e > 0) {print "FAIL: request errors"; exit 1}
            if (ratio < 0.90) {print "MISSED: capacity fell as the store grew"; exit 1}}' "$work/grow.txt" || verdict=1
  kill -TERM "$pid"; wait "$pid" || verdict=1
  logged=$(grep -c ERROR "$work/err.log" || true)
  echo "== server errors logged: $logged"
  if [ "$logged" != 0 ]; then echo "FAIL: the server logged errors"; verdict=1; fi
  exit "$verdict"
fi

echo "== capacity: ${capacity_s}s flat out, 8 connections"
"$loadgen" --addr "$addr" --seconds "$capacity_s" --every 10 --connections 8 \
  --password "$VISITORD_ADMIN_PASSWORD" --pid "$pid" | tee "$work/capacity.txt"
capacity=$(awk '/^total/ {print int($8)}' "$work/capacity.txt")
rate=$((capacity / 2))
echo "== soak: ${soak_s}s at $rate req/s (half of $capacity)"
"$loadgen" --addr "$addr" --seconds "$soak_s" --every 10 --connections 8 --rate "$rate" \
  --password "$VISITORD_ADMIN_PASSWORD" --pid "$pid" | tee "$work/soak.txt"
logged=$(grep -c ERROR "$work/err.log" || true)
echo "== server errors logged: $logged"
# RSS over the second half of the soak, against its mean (flat = within 10 %), and the request
# errors: the awk exits 1 when either target is missed.
verdict=0
awk 'NF==7 && $1 ~ /^[0-9]+$/ {t[n]=$1; r[n]=$7; e+=$4; n++}
     END {if (n < 2) {print "no samples"; exit 1}
          h=int(n/2); for(i=h;i<n;i++){s+=r[i]; if(r[i]>mx)mx=r[i]; if(mn==""||r[i]<mn)mn=r[i]}
          m=s/(n-h); spread=(mx-mn)/m*100
          printf "rss second half: min %.1f max %.1f mean %.1f MB (spread %.1f%% of mean); errors %d\n", mn, mx, m, spread, e
          if (e > 0) {print "FAIL: request errors"; exit 1}
          if (spread > 10) {print "FAIL: RSS grew (spread over 10 %)"; exit 1}}' "$work/soak.txt" || verdict=1
kill -TERM "$pid"; wait "$pid" || verdict=1
if [ "$logged" != 0 ]; then echo "FAIL: the server logged errors"; verdict=1; fi
exit "$verdict"
