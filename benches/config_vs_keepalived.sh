#!/usr/bin/env bash
# Side-by-side: lvstop check vs keepalived --config-test on the same generated
# configurations (2,300 × 16 real servers with TCP_CHECK, and 2×, 4×).
# Both are whole-process timings (start-up, file read, parse, validate), the
# best of N runs. Usage: benches/config_vs_keepalived.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --quiet --example gen_config
cargo build --release --quiet
release=${CARGO_TARGET_DIR:-target}/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
best() { # best wall time in ms of "$@" over $runs runs
    local best=999999999 t0 t1 ms
    for _ in $(seq "$runs"); do
        t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
        ms=$(( (t1 - t0) / 1000000 ))
        (( ms < best )) && best=$ms
    done
    echo "$best"
}
printf '%-8s %10s %12s %14s %8s\n' scale checkers "lvstop ms" "keepalived ms" ratio
for scale in 1 2 4; do
    f="$dir/big$scale.conf"
    "$release/examples/gen_config" $((2300 * scale)) 16 > "$f"
    l=$(best "$release/lvstop" check -f "$f")
    if command -v keepalived >/dev/null; then
        k=$(best keepalived --config-test -f "$f")
        ratio=$(awk -v l="$l" -v k="$k" 'BEGIN { if (l > 0) printf "%.1fx", k / l; else print "-" }')
    else
        k="n/a"; ratio="-"
    fi
    printf '%-8s %10d %12s %14s %8s\n' "${scale}x" $((2300 * scale * 16)) "$l" "$k" "$ratio"
done
