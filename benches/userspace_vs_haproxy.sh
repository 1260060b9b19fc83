#!/usr/bin/env bash
# Side-by-side: lvstop's userspace dataplane vs HAProxy `mode tcp`, both in
# front of the same nginx on loopback, measured by the same wrk runs:
#   conn/s  — a new connection per request (Connection: close, tiny page)
#   bulk    — keep-alive downloads of a large file (throughput)
# plus nginx direct as the ceiling. Everything shares this machine's cores,
# so read the ratio, not the absolute numbers.
# Each figure is the best of N interleaved rounds.
# Usage: benches/userspace_vs_haproxy.sh [seconds] [threads] [rounds] [proxy args]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
threads=${2:-2}
rounds=${3:-3}
extra=${4:-}
for tool in nginx haproxy wrk; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --example userspace_proxy
proxy="$CARGO_TARGET_DIR/release/examples/userspace_proxy"

dir=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

origin=127.0.0.61:18080 hap=127.0.0.62:18080 lvs=127.0.0.63:18080
mkdir -p "$dir/www"
head -c 100 /dev/zero | tr '\0' 'x' > "$dir/www/small.html"
head -c $((64 << 20)) /dev/urandom > "$dir/www/big.bin"
cat > "$dir/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    server { listen $origin reuseport backlog=4096; root $dir/www; }
}
EOF
nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' & pids+=($!)
cat > "$dir/haproxy.cfg" <<EOF
global
    nbthread $threads
    maxconn 8000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen bench
    bind $hap
    server origin $origin
EOF
haproxy -f "$dir/haproxy.cfg" -q & pids+=($!)
"$proxy" --threads "$threads" $extra "$lvs" "$origin" 2>/dev/null & pids+=($!)
sleep 1

# wrk's summary lines: "Requests/sec: N" and "Transfer/sec: N[KMG]B"
run() { # url extra-args... -> "req/s MB/s"
    local url=$1; shift
    wrk -t1 -d"${secs}s" --latency "$@" "$url" 2>/dev/null | awk '
        /^Requests\/sec/ { rps = $2 }
        /^Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = v + 0
            if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024; else if (u ~ /B$/ && u !~ /[KMG]B/) n /= 1048576
            mbs = n }
        END { printf "%.0f %.1f\n", rps, mbs }'
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }
ratio() { awk -v l="$1" -v h="$2" 'BEGIN { printf "%.2f", (h > 0 ? l / h : 0) }'; }

printf '%-6s %14s %14s %14s %11s\n' test "nginx direct" haproxy lvstop "lvstop/hap"
# Targets alternate inside each round so background load hits them alike.
small=(-c50 -H "Connection: close")
d=0 h=0 l=0
for _ in $(seq "$rounds"); do
    d=$(max "$d" "$(run "http://$origin/small.html" "${small[@]}" | cut -d' ' -f1)")
    h=$(max "$h" "$(run "http://$hap/small.html" "${small[@]}" | cut -d' ' -f1)")
    l=$(max "$l" "$(run "http://$lvs/small.html" "${small[@]}" | cut -d' ' -f1)")
done
printf '%-6s %12s/s %12s/s %12s/s %10sx\n' conn "$d" "$h" "$l" "$(ratio "$l" "$h")"
d=0 h=0 l=0
for _ in $(seq "$rounds"); do
    d=$(max "$d" "$(run "http://$origin/big.bin" -c4 | cut -d' ' -f2)")
    h=$(max "$h" "$(run "http://$hap/big.bin" -c4 | cut -d' ' -f2)")
    l=$(max "$l" "$(run "http://$lvs/big.bin" -c4 | cut -d' ' -f2)")
done
printf '%-6s %9s MB/s %9s MB/s %9s MB/s %10sx\n' bulk "$d" "$h" "$l" "$(ratio "$l" "$h")"
