#!/usr/bin/env bash
# Side-by-side: lvstop's userspace dataplane vs HAProxy `mode tcp`, both in
# front of the same nginx on loopback, measured by the same wrk runs:
#   conn/s  — a new connection per request (Connection: close, tiny page)
#   bulk    — keep-alive downloads of a large file (throughput)
# plus nginx direct as the ceiling. Everything shares this machine's cores,
# so read the ratio, not the absolute numbers.
# Each figure is the best of N interleaved rounds.
# Also reports each proxy's CPU time per request / per MB (from
# /proc/PID/stat), the figure least disturbed by other load.
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
haproxy -f "$dir/haproxy.cfg" -q & hap_pid=$!; pids+=($hap_pid)
"$proxy" --threads "$threads" $extra "$lvs" "$origin" 2>/dev/null & lvs_pid=$!; pids+=($lvs_pid)
sleep 1

cpu_ticks() { # user + system clock ticks a process has used so far
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# One wrk run against url; prints "req/s MB/s cpu-ticks-of-pid".
# wrk's summary lines: "Requests/sec: N" and "Transfer/sec: N[KMG]B".
run() { # pid url wrk-args...
    local pid=$1 url=$2 before after; shift 2
    before=$(cpu_ticks "$pid")
    wrk -t1 -d"${secs}s" "$@" "$url" 2>/dev/null > "$dir/wrk.out"
    after=$(cpu_ticks "$pid")
    awk -v ticks=$((after - before)) '
        /^Requests\/sec/ { rps = $2 }
        /^Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = v + 0
            if (u == "GB") n *= 1024; else if (u == "KB") n /= 1024; else if (u !~ /[KMG]B/) n /= 1048576
            mbs = n }
        END { printf "%.0f %.1f %d\n", rps, mbs, ticks }' "$dir/wrk.out"
}

hz=$(getconf CLK_TCK)
# Throughput: best of the rounds. CPU cost: total CPU time of the proxy
# over total work, which background load on a shared machine barely moves.
measure() { # label field(1 = req/s, 2 = MB/s) path wrk-args...
    local label=$1 field=$2 path=$3; shift 3
    local best_d=0 best_h=0 best_l=0 work_h=0 work_l=0 ticks_h=0 ticks_l=0 d h l
    for _ in $(seq "$rounds"); do
        read -r -a d < <(run "$lvs_pid" "http://$origin$path" "$@")
        read -r -a h < <(run "$hap_pid" "http://$hap$path" "$@")
        read -r -a l < <(run "$lvs_pid" "http://$lvs$path" "$@")
        best_d=$(max "$best_d" "${d[$((field - 1))]}")
        best_h=$(max "$best_h" "${h[$((field - 1))]}")
        best_l=$(max "$best_l" "${l[$((field - 1))]}")
        work_h=$(awk -v a="$work_h" -v b="${h[$((field - 1))]}" 'BEGIN { print a + b }')
        work_l=$(awk -v a="$work_l" -v b="${l[$((field - 1))]}" 'BEGIN { print a + b }')
        ticks_h=$((ticks_h + h[2])) ticks_l=$((ticks_l + l[2]))
    done
    # CPU seconds per unit of work (per request, or per MB), in µs.
    cost_h=$(awk -v t="$ticks_h" -v w="$work_h" -v s="$secs" -v hz="$hz" 'BEGIN { printf "%.1f", (w > 0 ? t / hz / (w * s) * 1e6 : 0) }')
    cost_l=$(awk -v t="$ticks_l" -v w="$work_l" -v s="$secs" -v hz="$hz" 'BEGIN { printf "%.1f", (w > 0 ? t / hz / (w * s) * 1e6 : 0) }')
    printf '%-6s %14s %14s %14s %11s %12s %12s %9s\n' "$label" "$best_d" "$best_h" "$best_l" \
        "$(ratio "$best_l" "$best_h")" "$cost_h" "$cost_l" "$(ratio "$cost_h" "$cost_l")"
}

max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }
ratio() { awk -v l="$1" -v h="$2" 'BEGIN { printf "%.2fx", (h > 0 ? l / h : 0) }'; }

echo "conn: requests/s with a new connection each (cpu: µs per request)"
echo "bulk: MB/s over keep-alive downloads (cpu: µs per MB)"
printf '%-6s %14s %14s %14s %11s %12s %12s %9s\n' test "nginx direct" haproxy lvstop "lvstop/hap" \
    "hap cpu" "lvstop cpu" "hap/lvs"
measure conn 1 /small.html -c50 -H "Connection: close"
measure bulk 2 /big.bin -c4
