#!/usr/bin/env bash
# /metrics at scale (report figures and ratios, never assert a time). Usage: benches/metrics_scrape.sh [SERVICES] [REAL_SERVERS_EACH]
# [SCRAPES]; defaults 100 100 20 (10,000 real servers). Needs root for the
# VM half (vng, Debian's kernel, prometheus-node-exporter);
# METRICS_BENCH_VM=0 runs the host half only.
#
# 1. Host: `lvstop daemon --metrics` (userspace dataplane on loopback) with
#    SERVICES x EACH real servers, each with a TCP_CHECK against a local
#    listener. Reports the series count and size of one scrape, the median
#    scrape time of SCRAPES back-to-back scrapes (OpenMetrics, as
#    Prometheus asks), and the daemon's CPU over 60 s unscraped against
#    60 s scraped every 15 s.
# 2. VM (real kernel IPVS, same table size): `lvstop exporter` against
#    node_exporter's IPVS collector (`--collector.disable-defaults
#    --collector.ipvs`): median scrape time and CPU over 60 s scraped every
#    15 s, each alone on the table. The exporter refreshes every 15 s in
#    the background, so its CPU holds the kernel reads and its scrape
#    time the rendering; node_exporter reads on each scrape.
set -euo pipefail
cd "$(dirname "$0")/.."
services="${1:-100}" each="${2:-100}" scrapes="${3:-20}"
cargo build --release --bin lvstop --example ipvs_kernel_bench >&2
target="${CARGO_TARGET_DIR:-target}"
lvstop="$(cd "$target/release" && pwd)/lvstop"
bench="$(cd "$target/release/examples" && pwd)/ipvs_kernel_bench"
out="$(mktemp -d /tmp/lvstop-metrics-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$out"; }
trap cleanup EXIT
accept='Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'
hz="$(getconf CLK_TCK)"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- 1. the daemon on the host ----------------------------------------
backend_port=39080
python3 - "$backend_port" > /dev/null 2>&1 <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(4096)
while True:
    c, _ = s.accept(); c.close()
PY
pids+=($!)
{
  echo "global_defs { router_id METRICS_BENCH }"
  for ((s = 0; s < services; s++)); do
    echo "virtual_server 127.0.0.1 $((20000 + s)) {"
    echo "  lb_algo wlc"; echo "  lb_kind NAT"; echo "  protocol TCP"; echo "  delay_loop 60"
    for ((r = 0; r < each; r++)); do
      echo "  real_server 127.2.$((s % 250)).$((r % 250 + 1)) $backend_port {"
      echo "    weight $((r % 5 + 1))"
      echo "    TCP_CHECK { connect_timeout 5 }"
      echo "  }"
    done
    echo "}"
  done
} > "$out/keepalived.conf"
"$lvstop" daemon -f "$out/keepalived.conf" --socket "$out/sock" --dataplane userspace \
  --metrics 127.0.0.1:39469 > "$out/daemon.log" 2>&1 &
daemon=$!
pids+=($daemon)
want=$((services * each))
for _ in $(seq 120); do
  up=$(curl -sf http://127.0.0.1:39469/metrics 2>/dev/null | grep -c '^lvstop_real_server_up{.* 1$' || true)
  [ "$up" -ge "$want" ] && break
  sleep 1
done
echo "daemon: $up of $want real servers up"
curl -sf -H "$accept" -o "$out/scrape.txt" http://127.0.0.1:39469/metrics
series=$(grep -vc '^#' "$out/scrape.txt")
bytes=$(stat -c %s "$out/scrape.txt")
for _ in $(seq "$scrapes"); do
  curl -sf -H "$accept" -o /dev/null -w '%{time_total}\n' http://127.0.0.1:39469/metrics
done | awk '{ print $1 * 1000 }' > "$out/daemon_times"
daemon_ms=$(median < "$out/daemon_times")
# Settle: the first wave of checks and the scrapes above are done.
sleep 60
c0=$(cpu_ticks "$daemon"); sleep 60; c1=$(cpu_ticks "$daemon")
idle_pct=$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / 60 }')
c0=$(cpu_ticks "$daemon")
for _ in 1 2 3 4; do
  curl -sf -H "$accept" -o /dev/null http://127.0.0.1:39469/metrics; sleep 15
done
c1=$(cpu_ticks "$daemon")
scraped_pct=$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / 60 }')
kill "$daemon"; wait "$daemon" 2>/dev/null || true
echo "daemon, $want real servers: $series series, $bytes bytes per scrape;" \
  "median scrape ${daemon_ms} ms over $scrapes; CPU ${scraped_pct} % scraped every 15 s," \
  "${idle_pct} % unscraped (of one core)"

# ---- 2. exporter against node_exporter in the VM -----------------------
[ "${METRICS_BENCH_VM:-1}" = 0 ] && exit 0
kernel="${LVSTOP_VM_KERNEL:-$(ls /boot/vmlinuz-* | sort | tail -1)}"
node_exporter="$(command -v prometheus-node-exporter)"
cat > "$out/guest.sh" <<GUEST
set -e
modprobe ip_vs; modprobe ip_vs_wlc
$bench populate $((want / 10)) 10
cpu() { awk '{ print \$14 + \$15 }' /proc/\$1/stat; }
# One exporter at a time on the table: NAME, URL, command.
measure() {
  name=\$1 url=\$2; shift 2
  "\$@" > $out/\$name.log 2>&1 &
  pid=\$!
  for i in \$(seq 60); do curl -sf -o /dev/null "\$url" && break; sleep 1; done
  sleep 16
  curl -sf -H "$accept" -o $out/\$name.scrape "\$url"
  for i in \$(seq $scrapes); do
    curl -sf -H "$accept" -o /dev/null -w '%{time_total}\n' "\$url"
  done | awk '{ print \$1 * 1000 }' > $out/\$name.times
  c0=\$(cpu \$pid)
  for i in 1 2 3 4; do curl -sf -H "$accept" -o /dev/null "\$url"; sleep 15; done
  c1=\$(cpu \$pid)
  echo "\$name \$((c1 - c0))" >> $out/vm_cpu
  kill \$pid; wait \$pid 2>/dev/null || true
}
measure exporter http://127.0.0.1:39470/metrics $lvstop exporter --listen 127.0.0.1:39470 --refresh 15 -f /nonexistent
measure node_exporter http://127.0.0.1:39100/metrics $node_exporter --collector.disable-defaults --collector.ipvs --web.listen-address=127.0.0.1:39100
GUEST
vng --run "$kernel" --disable-kvm --user root --memory 2G --rwdir "$out" --exec "sh $out/guest.sh" </dev/null >&2
for name in exporter node_exporter; do
  ms=$(median < "$out/$name.times")
  ticks=$(awk -v n="$name" '$1 == n { print $2 }' "$out/vm_cpu")
  pct=$(awk -v t="$ticks" -v hz="$hz" 'BEGIN { printf "%.1f", 100 * t / hz / 60 }')
  series=$(grep -vc '^#' "$out/$name.scrape")
  echo "VM $name, $want real servers: $series series; median scrape ${ms} ms; CPU ${pct} % scraped every 15 s"
  eval "${name}_ms=$ms ${name}_pct=$pct"
done
awk -v a="$exporter_ms" -v b="$node_exporter_ms" -v c="$exporter_pct" -v d="$node_exporter_pct" \
  'BEGIN { printf "ratio lvstop exporter / node_exporter: scrape %.2f, CPU %.2f\n", a / b, (d > 0 ? c / d : 0) }'
