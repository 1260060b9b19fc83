#!/usr/bin/env bash
# TCP_CHECK throughput, lvstop vs keepalived (Debian's 2.2.7), same
# configuration, same real servers, same VM boot. keepalived's checker
# needs IPVS, which the host kernel lacks, so both run in the VM (real
# kernel, real keepalived; report a ratio, never assert a time).
#
# In the VM: CHECKERS real servers (198.51.100.1-100 on a dummy interface ×
# ports 10000…, CHECKERS/100 virtual servers of 100 real servers each),
# each with a TCP_CHECK (`connect_timeout 3`, `delay_loop 1`), and one
# Python process accepting and closing on every port. Each implementation
# runs alone in turn (`keepalived -C`; `lvstop daemon --dataplane
# kernel`): after a WARMUP s the checks are counted for ROUNDS windows of
# WINDOW s as the SYNs the kernel sees to those ports (an nftables
# counter), and the checker's CPU (utime + stime of all its processes,
# /proc/PID/stat) over the same window. Per window it prints
# `IMPL checks_per_s N cpu_ms_per_1k_checks M down D` (D: real servers
# missing from the IPVS table at the window's end; 0 means every check
# passed). The target is CHECKERS checks/s (every checker once a second);
# the guest runs under TCG emulation, so compare the ratio.
#
# Usage: benches/checks_vs_keepalived.sh [CHECKERS] [WINDOW] [ROUNDS] [WARMUP]
#        (defaults 2000 10 3 15). Needs root, vng (virtme-ng), keepalived,
#        ipvsadm, nft, python3, linux-image-amd64.
set -euo pipefail
cd "$(dirname "$0")/.."
checkers="${1:-2000}" window="${2:-10}" rounds="${3:-3}" warmup="${4:-15}"
for tool in vng keepalived ipvsadm nft; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
python=/usr/bin/python3
[ -x "$python" ] || { echo "missing /usr/bin/python3" >&2; exit 2; }
if [ -z "${LVSTOP:-}" ]; then
    cargo build --release >&2
    LVSTOP="$(cd "${CARGO_TARGET_DIR:-target}/release" && pwd)/lvstop"
fi
lvstop=$LVSTOP
kernel="${LVSTOP_VM_KERNEL:-$(ls /boot/vmlinuz-* | sort | tail -1)}"
out="$(mktemp -d /tmp/lvstop-checks-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT

ports=$(( (checkers + 99) / 100 ))
awk -v n="$checkers" 'BEGIN {
    print "global_defs {\n    router_id bench\n}"
    for (i = 0; i < n; i++) {
        if (i % 100 == 0) {
            if (i > 0) print "}"
            printf "virtual_server 198.51.100.200 %d {\n    delay_loop 1\n    lb_algo wrr\n    lb_kind DR\n    protocol TCP\n", 10000 + int(i / 100)
        }
        printf "    real_server 198.51.100.%d %d {\n        weight 1\n        TCP_CHECK {\n            connect_timeout 3\n        }\n    }\n", 1 + i % 100, 10000 + int(i / 100)
    }
    print "}"
}' > "$out/checks.conf"

cat > "$out/listen.py" <<'PY'
# Accept and close on ports 10000.. on every address: the real servers.
import selectors, socket, sys
sel = selectors.DefaultSelector()
for port in range(10000, 10000 + int(sys.argv[1])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(4096)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
open(sys.argv[2], "w").close()
while True:
    for key, _ in sel.select():
        try:
            while True:
                c, _ = key.fileobj.accept()
                c.close()
        except BlockingIOError:
            pass
PY

cat > "$out/guest.sh" <<GUEST
set -e
modprobe ip_vs; modprobe ip_vs_wrr
ip link add lvb0 type dummy; ip link set lvb0 up
for i in \$(seq 1 100); do ip addr add 198.51.100.\$i/32 dev lvb0; done
$python $out/listen.py $ports /tmp/listening &
lp=\$!
i=0; until [ -f /tmp/listening ]; do i=\$((i + 1)); [ \$i -gt 300 ] && exit 1; sleep 0.1; done
nft add table inet lvbench
nft add chain inet lvbench input '{ type filter hook input priority 0; }'
nft add rule inet lvbench input tcp dport 10000-$((10000 + ports - 1)) 'tcp flags & (syn | ack) == syn' counter
syns() { nft list chain inet lvbench input | awk '/counter/ { for (i = 1; i <= NF; i++) if (\$i == "packets") print \$(i + 1) }'; }
ms() { echo \$(( \$(date +%s%N) / 1000000 )); }
ticks() { # PIDS...: utime + stime of them all
    t=0; for p in "\$@"; do [ -r /proc/\$p/stat ] && t=\$((t + \$(awk '{ print \$14 + \$15 }' /proc/\$p/stat))); done; echo \$t
}
hz=\$(getconf CLK_TCK)
measure() { # IMPL PIDS-COMMAND
    sleep $warmup
    for r in \$(seq $rounds); do
        pids=\$(\$2)
        s0=\$(syns); c0=\$(ticks \$pids); t0=\$(ms)
        sleep $window
        s1=\$(syns); c1=\$(ticks \$pids); t1=\$(ms)
        down=\$(( $checkers - \$(ipvsadm -Ln | grep -c -- '->.*Route') ))
        awk -v i="\$1" -v s=\$((s1 - s0)) -v c=\$((c1 - c0)) -v t=\$((t1 - t0)) -v hz=\$hz -v d=\$down 'BEGIN {
            printf "%s checks_per_s %.0f cpu_ms_per_1k_checks %.1f down %d\n", i, s / (t / 1000), (s > 0 ? c * 1000 / hz / (s / 1000) : 0), d }' >> $out/result
    done
}
ipvsadm -C
keepalived -n -l -C -f $out/checks.conf -p /tmp/k.pid -c /tmp/c.pid > $out/keepalived.log 2>&1 &
k=\$!
kpids() { pgrep -x keepalived; }
measure keepalived kpids
kill \$k; wait \$k || true
ipvsadm -C
LVSTOP_LOG=warn $lvstop daemon --dataplane kernel -f $out/checks.conf --socket /tmp/l.sock > $out/lvstop.log 2>&1 &
l=\$!
lpids() { echo \$l; }
measure lvstop lpids
kill \$l; wait \$l || true
ipvsadm -C
kill \$lp || true
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
median() { awk -v i="$1" '$1 == i { print $3 }' "$out/result" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
k="$(median keepalived)" l="$(median lvstop)"
awk -v k="$k" -v l="$l" -v n="$checkers" 'BEGIN {
    printf "TCP_CHECK on %d real servers, delay_loop 1 (target %d checks/s), median window: lvstop %d checks/s, keepalived %d checks/s, ratio %.2f\n",
        n, n, l, k, (k > 0 ? l / k : 0) }'
