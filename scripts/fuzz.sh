#!/usr/bin/env bash
# Bounded fuzzing of the whole HTTP app (fuzz/fuzz_targets/http_request.rs) with cargo-fuzz
# (libFuzzer). Installs cargo-fuzz if missing. Usage: scripts/fuzz.sh [SECONDS]  (default 120)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-120}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
mkdir -p fuzz/corpus/http_request
# Seeds: one valid request per route shape (selector byte, then tail 0xFF query 0xFF body).
seed() { printf "$2" > "fuzz/corpus/http_request/$1"; }
seed register '\x00\xff\xff{"visitor":{"token":"t1","name":"N","email":"a@b.c","phone":"+1 555","customFields":[{"key":"k","value":"v","overwrite":true}]}}'
seed page '\x03\xff\xff{"token":"t1","rid":null,"pageInfo":{"change":"url","title":"T","location":{"href":"h"}}}'
seed room '\x04\xfftoken=t1\xff'
seed search '\x0b\xffterm=ab&count=5&sort={"ts":1}\xff'
seed login '\x0d\xff\xff{"user":"fuzzer","password":"x"}'
seed create '\x0f\xff\xff{"username":"u1","password":"p","roles":["livechat-agent"]}'
# The stable toolchain runs cargo-fuzz's nightly-only flags with RUSTC_BOOTSTRAP; no sanitizer
# is needed to find panics, 5xx answers and store changes on refused requests.
RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none http_request fuzz/corpus/http_request -- \
  -max_total_time="$seconds" -max_len=65536 -timeout=10
