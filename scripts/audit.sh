#!/usr/bin/env bash
# Dependency advisories: cargo audit against the RustSec database, with the accepted advisories
# of .cargo/audit.toml (justified in docs/security.md). The database is fetched from GitHub, so
# this needs a network that reaches github.com.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-audit >/dev/null 2>&1 || cargo install --locked cargo-audit
cargo audit
