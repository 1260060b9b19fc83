#!/usr/bin/env bash
# Side-by-side on loopback: lvstop's userspace dataplane vs HAProxy
# (`mode tcp`, Debian package), same nginx backends, same wrk load, the
# balancer pinned to the same core in both runs, measured in one run.
#
#   new connections/s  wrk, 'Connection: close' on a small response: every
#                      request is a new TCP connection through the balancer
#   bulk throughput    wrk keep-alive on a 1 MiB response
#   latency added      wrk p50/p99 through the balancer minus direct access
#   CPU per 1,000 new connections
#                      the balancer's user+system time (all its threads,
#                      /proc/PID/stat) over a run, per 1,000 requests: the
#                      efficiency the throughput figures follow from
#
# Each figure is the best of ROUNDS interleaved rounds (the machine is
# shared; best-of is the least noisy estimate of what each can do).
#
# Usage: benches/userspace_vs_haproxy.sh [seconds-per-run] [rounds]   (default 10 3)
#
# LB_CPU_PERCENT=N puts each balancer in its own CPU cgroup capped at N% of
# a core (cgroup v1 cpu controller or cgroup v2 cpu.max). On a 2-core
# machine the load generator and nginx otherwise cap the new-connection
# figure (direct access is barely faster than either balancer); capped,
# the balancer is the bottleneck and the figure measures its efficiency.
# Needs: nginx, haproxy, wrk (apt-get install nginx-light haproxy wrk).
# Layout on a 2-core machine: balancer on CPU 1; nginx and wrk on CPU 0.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
rounds=${2:-3}
for tool in nginx haproxy wrk taskset; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nginx-light haproxy wrk)" >&2; exit 2; }
done
cargo build --release --quiet
lvstop=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/lvstop

cores=$(nproc)
lb_cpu=$(( cores > 1 ? 1 : 0 ))
load_cpu=0
dir=$(mktemp -d)
pids=()
cgroups=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for g in "${cgroups[@]}"; do rmdir "$g" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

backend1=127.0.81.1 backend2=127.0.81.2 port=18081
haproxy_vip=127.0.82.1 lvstop_vip=127.0.82.2 vport=18080

# --- backends: nginx, one worker, a small and a 1 MiB response ------------
mkdir -p "$dir/www" "$dir/nginx"
printf 'ok\n' > "$dir/www/small"
head -c 1048576 /dev/zero > "$dir/www/large"
cat > "$dir/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    keepalive_requests 1000000;
    client_body_temp_path $dir/nginx;
    proxy_temp_path $dir/nginx;
    fastcgi_temp_path $dir/nginx;
    uwsgi_temp_path $dir/nginx;
    scgi_temp_path $dir/nginx;
    server { listen $backend1:$port reuseport; root $dir/www; }
    server { listen $backend2:$port reuseport; root $dir/www; }
}
EOF
taskset -c "$load_cpu" nginx -c "$dir/nginx.conf" -e "$dir/nginx/error.log" & pids+=($!)

# --- HAProxy, one thread, mode tcp, round robin ----------------------------
cat > "$dir/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 8000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend bench
    bind $haproxy_vip:$vport
    default_backend servers
backend servers
    balance roundrobin
    server s1 $backend1:$port
    server s2 $backend2:$port
EOF
taskset -c "$lb_cpu" haproxy -f "$dir/haproxy.cfg" -db & pids+=($!)
haproxy_pid=$!

# --- lvstop, the same service from a keepalived.conf -----------------------
cat > "$dir/keepalived.conf" <<EOF
virtual_server $lvstop_vip $vport {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server $backend1 $port {
        weight 1
    }
    real_server $backend2 $port {
        weight 1
    }
}
EOF
LVSTOP_LOG=warn taskset -c "$lb_cpu" "$lvstop" daemon -f "$dir/keepalived.conf" \
    --dataplane userspace --socket "$dir/lvstop.sock" & pids+=($!)
lvstop_pid=$!

cap() { # name pid: cap the process at LB_CPU_PERCENT of one core
    local name=$1 pid=$2 percent=${LB_CPU_PERCENT:-}
    [[ -n $percent ]] || return 0
    local quota=$(( percent * 1000 )) group
    if [[ -d /sys/fs/cgroup/cpu && -f /sys/fs/cgroup/cpu/cgroup.procs ]]; then
        group=/sys/fs/cgroup/cpu/lvstop-bench-$name-$$
        mkdir "$group"
        echo 100000 > "$group/cpu.cfs_period_us"
        echo "$quota" > "$group/cpu.cfs_quota_us"
    else
        group=/sys/fs/cgroup/lvstop-bench-$name-$$
        mkdir "$group"
        echo "$quota 100000" > "$group/cpu.max"
    fi
    cgroups+=("$group")
    # Every thread: lvstop's runtime has several.
    for task in /proc/"$pid"/task/*; do echo "${task##*/}" > "$group/tasks" 2>/dev/null || echo "${task##*/}" > "$group/cgroup.threads" 2>/dev/null || echo "$pid" > "$group/cgroup.procs"; done
}

wait_port() { # host port
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on $1:$2" >&2; exit 1
}
wait_port "$backend1" "$port"; wait_port "$backend2" "$port"
wait_port "$haproxy_vip" "$vport"; wait_port "$lvstop_vip" "$vport"
cap haproxy "$haproxy_pid"
cap lvstop "$lvstop_pid"

# wrk --latency prints "50%  1.23ms"; normalise to microseconds.
to_us() { awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                 if (u == "us") print v; else if (u == "ms") print v * 1000; else if (u == "s") print v * 1000000; else print v }'; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
run_wrk() { # label url conns extra-args...
    local label=$1 url=$2 conns=$3 pid="" before=0; shift 3
    case $label in lvstop_*) pid=$lvstop_pid ;; haproxy_*) pid=$haproxy_pid ;; esac
    [[ -n $pid ]] && before=$(ticks "$pid")
    taskset -c "$load_cpu" wrk -t1 -c"$conns" -d"${secs}s" --latency "$@" "$url" > "$dir/$label.out" 2>&1
    [[ -n $pid ]] && echo $(( $(ticks "$pid") - before )) > "$dir/$label.ticks"
    return 0
}
clock_tick=$(getconf CLK_TCK)
field() { # label what
    case $2 in
        rps) awk '/^Requests\/sec/ { print $2 }' "$dir/$1.out" ;;
        xfer) awk '/^Transfer\/sec/ { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v);
                  m = (u == "GB") ? 1024 : (u == "MB") ? 1 : (u == "KB") ? 1 / 1024 : 1 / 1048576; printf "%.1f", v * m }' "$dir/$1.out" ;;
        p50) awk '$1 == "50%" { print $2 }' "$dir/$1.out" | to_us ;;
        p99) awk '$1 == "99%" { print $2 }' "$dir/$1.out" | to_us ;;
        errors) awk '/Socket errors|Non-2xx/ { print }' "$dir/$1.out" | tr '\n' ' ' ;;
        cpu) awk -v t="$(cat "$dir/$1.ticks")" -v hz="$clock_tick" \
                 '/ requests in / { if ($1 > 0) printf "%.2f", t * 1000 / hz / ($1 / 1000) }' "$dir/$1.out" ;;
    esac
}
# The lowest CPU per 1,000 connections of any round of a label.
best_cpu() {
    for round in $(seq "$rounds"); do field "$1.$round" cpu; echo; done | awk 'NF { if (best == "" || $1 < best) best = $1 } END { print best }'
}

close=(-H 'Connection: close')
for round in $(seq "$rounds"); do
    run_wrk "direct_small.$round" "http://$backend1:$port/small" 32 "${close[@]}"
    run_wrk "haproxy_small.$round" "http://$haproxy_vip:$vport/small" 32 "${close[@]}"
    run_wrk "lvstop_small.$round" "http://$lvstop_vip:$vport/small" 32 "${close[@]}"
    run_wrk "direct_large.$round" "http://$backend1:$port/large" 8
    run_wrk "haproxy_large.$round" "http://$haproxy_vip:$vport/large" 8
    run_wrk "lvstop_large.$round" "http://$lvstop_vip:$vport/large" 8
done
# The best round of each label becomes "label" (its latency comes along).
for label in direct_small haproxy_small lvstop_small direct_large haproxy_large lvstop_large; do
    what=rps; [[ $label == *_large ]] && what=xfer
    best=1 best_value=0
    for round in $(seq "$rounds"); do
        v=$(field "$label.$round" "$what")
        if awk -v a="${v:-0}" -v b="$best_value" 'BEGIN { exit !(a > b) }'; then best=$round best_value=$v; fi
    done
    cp "$dir/$label.$best.out" "$dir/$label.out"
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "userspace dataplane vs HAProxy $(haproxy -v | head -1 | awk '{print $3}'), best of $rounds x ${secs}s, balancer on CPU $lb_cpu${LB_CPU_PERCENT:+, capped at ${LB_CPU_PERCENT}% of it}"
printf '%-34s %14s %14s %8s\n' measure lvstop haproxy ratio
l=$(field lvstop_small rps); h=$(field haproxy_small rps)
printf '%-34s %14s %14s %8s\n' "new connections/s (close)" "$l" "$h" "$(ratio "$l" "$h")"
l=$(field lvstop_large xfer); h=$(field haproxy_large xfer)
printf '%-34s %14s %14s %8s\n' "bulk throughput MiB/s (1 MiB)" "$l" "$h" "$(ratio "$l" "$h")"
l=$(best_cpu lvstop_small); h=$(best_cpu haproxy_small)
printf '%-34s %14s %14s %8s\n' "CPU ms per 1k new conns (lower=better)" "$l" "$h" "$(ratio "$l" "$h")"
d50=$(field direct_small p50); d99=$(field direct_small p99)
for who in lvstop haproxy; do
    p50=$(field ${who}_small p50); p99=$(field ${who}_small p99)
    printf '%-34s %14s\n' "$who added latency p50/p99 us" \
        "$(awk -v a="$p50" -v b="$d50" -v c="$p99" -v d="$d99" 'BEGIN { printf "%.0f/%.0f", a - b, c - d }')"
done
printf '%-34s %14s\n' "direct new connections/s" "$(field direct_small rps)"
printf '%-34s %14s\n' "direct bulk MiB/s" "$(field direct_large xfer)"
for label in lvstop_small haproxy_small lvstop_large haproxy_large; do
    e=$(field "$label" errors); [[ -n $e ]] && echo "$label: $e"
done
exit 0
