#!/usr/bin/env bash
# Long form of the crash test (tests/crash): TRIALS (default 50) kill -9 trials in sync mode and
# half as many in periodic mode, against the release binary. Prints, per trial, the acknowledged
# writes and how many were lost (sync must lose none).
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-50}"
cargo build --release --locked
VISITORD_TEST_BIN="$PWD/target/release/visitord" VISITORD_CRASH_TRIALS="$trials" \
  cargo test --release --locked --test integration crash:: -- --nocapture --test-threads 1
