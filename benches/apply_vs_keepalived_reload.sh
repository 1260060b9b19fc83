#!/usr/bin/env bash
# A one-weight change reaching the kernel's IPVS table, lvstop vs keepalived
# (Debian's 2.2.7), same table, same VM boot (real kernel, real
# keepalived; report a ratio, never assert a time).
#
# In the VM: SERVICES virtual servers × DESTS real servers (lb_algo wrr,
# lb_kind DR, no checkers, so every real server is in the table from the
# start and only the apply itself is timed). For each run one real
# server's weight changes in the file; t0 is taken just before
#
#   keepalived  kill -HUP (keepalived -C, checker process only)
#   lvstop      kill -HUP of `lvstop daemon --dataplane kernel`
#   lvstop ctl  `lvstop ctl apply FILE` (the operator's command)
#
# and the time ends when `ipvsadm -Ln -t VIP:PORT` shows the new weight
# (polled back to back; the resolution is one ipvsadm call, a few ms in the
# VM). The guest runs under TCG emulation: compare the ratio, not the
# absolute figures.
#
# Usage: benches/apply_vs_keepalived_reload.sh [SERVICES] [DESTS] [RUNS]
#        (defaults 1000 10 5). Needs root, vng (virtme-ng), keepalived,
#        ipvsadm, linux-image-amd64. LVSTOP=path uses that binary instead of
#        building one. Prints one line per run
#        (`keepalived_hup MS`, `lvstop_hup MS`, `lvstop_apply MS`), then
#        the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
services="${1:-1000}" dests="${2:-10}" runs="${3:-5}"
for tool in vng keepalived ipvsadm; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
if [ -z "${LVSTOP:-}" ]; then
    cargo build --release >&2
    LVSTOP="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/lvstop"
fi
lvstop=$LVSTOP
kernel="${LVSTOP_VM_KERNEL:-$(ls /boot/vmlinuz-* | sort | tail -1)}"
out="$(mktemp -d /tmp/lvstop-apply-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT

# The configuration with real server 198.51.100.1 of the middle service at
# weight $1; every other weight is 1. Real servers listen on the virtual
# server's port (DR: keepalived resets any other port to it).
probe_port=$((10000 + services / 2))
config() {
    awk -v s="$services" -v d="$dests" -v w="$1" -v p="$probe_port" 'BEGIN {
        print "global_defs {\n    router_id bench\n}"
        for (i = 0; i < s; i++) {
            port = 10000 + i
            printf "virtual_server 198.51.100.200 %d {\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n", port
            for (j = 1; j <= d; j++)
                printf "    real_server 198.51.100.%d %d {\n        weight %d\n    }\n", j, port, (port == p && j == 1) ? w : 1
            print "}"
        }
    }'
}
config 1 > "$out/w1.conf"
for i in $(seq "$runs"); do config $((i + 1)) > "$out/w$((i + 1)).conf"; done
lines=$((3 + services * (dests + 1)))

cat > "$out/guest.sh" <<GUEST
set -e
modprobe ip_vs; modprobe ip_vs_wrr
ms() { echo \$(( \$(date +%s%N) / 1000000 )); }
table_lines() { ipvsadm -Ln | wc -l; }
wait_full() { # the whole table is in the kernel
    i=0; while [ "\$(table_lines)" -ne $lines ]; do i=\$((i + 1)); [ \$i -gt 3000 ] && return 1; sleep 0.1; done
}
wait_weight() { # WEIGHT: poll until the probe real server has it (60 s at most)
    end=\$((\$(ms) + 60000))
    until ipvsadm -Ln -t 198.51.100.200:$probe_port 2>/dev/null | grep -q "198.51.100.1:$probe_port *Route *\$1 "; do
        if [ \$(ms) -gt \$end ]; then
            echo "timeout waiting for weight \$1; the service is now:" >> $out/result
            ipvsadm -Ln -t 198.51.100.200:$probe_port >> $out/result 2>&1 || true
            return 1
        fi
    done
}
# keepalived: the checker process only, which owns IPVS.
ipvsadm -C
cp $out/w1.conf /tmp/k.conf
keepalived -n -l -C -f /tmp/k.conf -p /tmp/k.pid -c /tmp/c.pid > $out/keepalived.log 2>&1 &
k=\$!
t0=\$(ms); wait_full; t1=\$(ms); echo "keepalived_start \$((t1 - t0))" >> $out/result
for w in \$(seq 2 $((runs + 1))); do
  cp $out/w\$w.conf /tmp/k.conf
  t0=\$(ms); kill -HUP \$k; wait_weight \$w; t1=\$(ms); echo "keepalived_hup \$((t1 - t0))" >> $out/result
done
kill \$k; wait \$k || true
ipvsadm -C
# lvstop: the same file, SIGHUP, then the same changes through ctl apply.
cp $out/w1.conf /tmp/l.conf
LVSTOP_LOG=warn $lvstop daemon --dataplane kernel -f /tmp/l.conf --socket /tmp/l.sock > $out/lvstop.log 2>&1 &
l=\$!
t0=\$(ms); wait_full; t1=\$(ms); echo "lvstop_start \$((t1 - t0))" >> $out/result
for w in \$(seq 2 $((runs + 1))); do
  cp $out/w\$w.conf /tmp/l.conf
  t0=\$(ms); kill -HUP \$l; wait_weight \$w; t1=\$(ms); echo "lvstop_hup \$((t1 - t0))" >> $out/result
done
i=0; until [ -S /tmp/l.sock ]; do i=\$((i + 1)); [ \$i -gt 100 ] && break; sleep 0.1; done
for w in \$(seq 1 $runs); do
  t0=\$(ms); $lvstop ctl --socket /tmp/l.sock apply $out/w\$w.conf > /dev/null; wait_weight \$w; t1=\$(ms)
  echo "lvstop_apply \$((t1 - t0))" >> $out/result
done
kill \$l; wait \$l || true
ipvsadm -C
echo done >> $out/result
GUEST
vng --run "$kernel" --disable-kvm --user root --memory 2G --rwdir "$out" --exec "sh $out/guest.sh" </dev/null >&2 || true
[ -f "$out/result" ] || { echo "the guest wrote no result" >&2; exit 1; }
cat "$out/result"
grep -q '^done' "$out/result" || {
    echo "the guest did not finish; logs:" >&2
    tail -n 5 "$out/keepalived.log" "$out/lvstop.log" >&2 || true
    exit 1
}
median() { grep "^$1 " "$out/result" | awk '{ print $2 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
k="$(median keepalived_hup)" h="$(median lvstop_hup)" a="$(median lvstop_apply)"
echo "apply of one weight on $services x $dests, median of $runs runs, t0 -> new weight in ipvsadm -Ln:"
awk -v k="$k" -v h="$h" -v a="$a" 'BEGIN {
    printf "  keepalived SIGHUP %d ms, lvstop SIGHUP %d ms (ratio %.2f), lvstop ctl apply %d ms (ratio %.2f)\n",
        k, h, (k > 0 ? h / k : 0), a, (k > 0 ? a / k : 0) }'
