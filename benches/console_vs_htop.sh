#!/bin/sh
# The console's cost in steady state, side by side with htop: CPU at a
# 1 s refresh with 1,000 real servers, and the bytes written to the
# terminal per second.
#
#   benches/console_vs_htop.sh [SECONDS]      (default 60)
#
# A daemon (userspace dataplane, 100 virtual servers x 10 real servers on
# loopback) feeds `lvstop --socket … -d 1` in a 160x48 tmux pane; htop -d 10
# (1 s) runs in another. Each pane's output is counted with tmux pipe-pane,
# each process's CPU read from /proc/PID/stat (utime + stime). Targets:
# console under 0.5 % of a core and under 2 KB/s.
set -eu
SECONDS_WINDOW=${1:-60}
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 2; }
if ! command -v htop >/dev/null; then
    apt-get install -y -qq htop >/dev/null 2>&1 || echo "htop not available: console only" >&2
fi
cargo build --release -q
BIN=$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/lvstop
dir=$(mktemp -d)
sock=$dir/lvstop.sock
cleanup() {
    tmux -L lvstop-bench kill-server 2>/dev/null || true
    [ -n "${daemon:-}" ] && kill "$daemon" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

{
    s=0
    while [ $s -lt 100 ]; do
        echo "virtual_server 127.3.0.$((s + 1)) 8080 {"
        echo "    lb_algo wrr"
        echo "    lb_kind NAT"
        echo "    protocol TCP"
        d=0
        while [ $d -lt 10 ]; do
            echo "    real_server 127.4.$s.$((d + 1)) 9000 {"
            echo "        weight 1"
            echo "    }"
            d=$((d + 1))
        done
        echo "}"
        s=$((s + 1))
    done
} > "$dir/keepalived.conf"

"$BIN" daemon --dataplane userspace -f "$dir/keepalived.conf" --socket "$sock" 2> "$dir/daemon.log" &
daemon=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done

ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

measure() { # name command
    name=$1
    shift
    tmux -L lvstop-bench new-session -d -s "$name" -x 160 -y 48 "$@"
    tmux -L lvstop-bench pipe-pane -t "$name" "cat >> $dir/$name.out"
    pid=$(tmux -L lvstop-bench list-panes -t "$name" -F '#{pane_pid}')
    sleep 5
    c0=$(cpu "$pid")
    b0=$(stat -c %s "$dir/$name.out")
    sleep "$SECONDS_WINDOW"
    c1=$(cpu "$pid")
    b1=$(stat -c %s "$dir/$name.out")
    awk -v n="$name" -v c="$((c1 - c0))" -v t="$ticks" -v s="$SECONDS_WINDOW" -v b="$((b1 - b0))" \
        'BEGIN { printf "%-8s CPU %.3f %% of a core   terminal %.0f B/s\n", n, c / t / s * 100, b / s }'
    tmux -L lvstop-bench kill-session -t "$name"
}

echo "console_vs_htop: 1,000 real servers, 1 s refresh, 160x48, ${SECONDS_WINDOW} s window"
measure lvstop env TERM=xterm-256color "$BIN" --socket "$sock" -d 1
if command -v htop >/dev/null; then
    measure htop env TERM=xterm-256color htop -d 10
fi
