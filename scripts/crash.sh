#!/usr/bin/env bash
# Long form of the crash test (tests/crash): kill -9 trials against the release binary until at
# least MIN_ACKED (default 20000) acknowledged writes per mode were killed under (and at least 20
# trials), in sync mode (must lose nothing) and periodic mode (must stay consistent), plus the test
# of the harness (with storage.unsafe_ack_before_flush it must report a loss). Exits non-zero on
# any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
min_acked="${1:-20000}"
cargo build --release --locked
VISITORD_TEST_BIN="$PWD/target/release/visitord" VISITORD_CRASH_MIN_ACKED="$min_acked" \
  VISITORD_CRASH_TRIALS="${TRIALS:-20}" \
  cargo test --release --locked --test integration crash:: -- --nocapture --test-threads 1
