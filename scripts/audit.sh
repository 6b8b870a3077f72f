#!/usr/bin/env bash
# Supply chain: RustSec advisories (cargo audit; offline against a snapshot when one is at
# $ADVISORY_DB or ../shared/advisory-db, as in CI) and licenses, banned crates and sources
# (cargo deny, deny.toml).
# Any advisory, "unmaintained" and "unsound" notices included, fails unless it is accepted in
# .cargo/audit.toml (and deny.toml), each with its justification in docs/security.md.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo-audit cargo-deny; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "installing $tool (cargo install --locked)"
    cargo install --locked "$tool"
  fi
done

# The advisory database: $ADVISORY_DB, else the snapshot CI keeps beside the repository
# (../shared/advisory-db), read offline; with neither, cargo audit fetches it from GitHub.
db="${ADVISORY_DB:-$(cd .. && pwd)/shared/advisory-db}"
if [ -d "$db/crates" ]; then
  echo "-- cargo audit --db $db --no-fetch --deny warnings"
  cargo audit --db "$db" --no-fetch --deny warnings
elif [ -n "${CI_REQUIRE_ADVISORY_DB:-}" ]; then
  echo "no RustSec advisory database at $db (CI provides a snapshot there)" >&2
  exit 1
else
  echo "-- cargo audit --deny warnings (no local snapshot: fetching the database)"
  cargo audit --deny warnings
fi

echo "-- cargo deny check licenses bans sources"
cargo deny check licenses bans sources
