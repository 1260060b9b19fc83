#!/usr/bin/env bash
# Fuzz the configuration pipeline, seeded with keepalived's sample configs and
# lvstop's own fixtures. Usage: fuzz/run.sh [SECONDS] (default 60).
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain the
# sanitizer flags are enabled with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
corpus=corpus/config_load
mkdir -p "$corpus"
cp ../../shared/corpus/keepalived-samples/keepalived.conf* "$corpus/" 2>/dev/null || true
cp ../examples/seed/*.conf "$corpus/"
find ../tests/fixtures -name '*.conf' -exec cp {} "$corpus/" \; 2>/dev/null || true
RUSTC_BOOTSTRAP=1 cargo fuzz run config_load "$corpus" -- -max_total_time="$seconds" -max_len=65536 -timeout=10
