#!/usr/bin/env bash
# Supply chain: RustSec advisories (cargo audit, offline, against the snapshot CI provides in
# ../shared/advisory-db) and licenses, banned crates and sources (cargo deny, deny.toml).
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

db="$(cd .. && pwd)/shared/advisory-db"
if [ ! -d "$db/crates" ]; then
  echo "no RustSec advisory database at $db: CI provides a snapshot there (shared/advisory-db" >&2
  echo "beside the repository); without it the advisories cannot be checked" >&2
  exit 1
fi

echo "-- cargo audit --db $db --no-fetch --deny warnings"
cargo audit --db "$db" --no-fetch --deny warnings

echo "-- cargo deny check licenses bans sources"
cargo deny check licenses bans sources
