#!/usr/bin/env bash
# Full-table read of the kernel's IPVS, same table, same VM boot (report a
# ratio, never assert a time): the headline is the command an
# operator runs, `lvstop --once --ipvs-only -n` against `ipvsadm -Ln` (and
# whether their outputs are identical); the library paths behind it (the
# pipelined full netlink read, the listing fast path and its phases) are
# reported beside it. Usage: benches/kernel_read_vs_ipvsadm.sh
# [SERVICES] [DESTS] [RUNS]; defaults 10000 10 5. Needs root, vng, ipvsadm.
set -euo pipefail
cd "$(dirname "$0")/.."
services="${1:-10000}" dests="${2:-10}" runs="${3:-5}"
cargo build --release --example ipvs_kernel_bench >&2
cargo build --release >&2
target="${CARGO_TARGET_DIR:-target}"
bench="$(cd "$target/release/examples" && pwd)/ipvs_kernel_bench"
lvstop="$(cd "$target/release" && pwd)/lvstop"
kernel="${LVSTOP_VM_KERNEL:-$(ls /boot/vmlinuz-* | sort | tail -1)}"
out="$(mktemp -d /tmp/lvstop-bench.XXXXXX)"
trap 'rm -rf "$out"' EXIT
cat > "$out/guest.sh" <<GUEST
set -e
modprobe ip_vs; modprobe ip_vs_wlc
ms() { echo \$(( \$(date +%s%N) / 1000000 )); }
t0=\$(ms); $bench populate $services $dests; t1=\$(ms)
echo "populate \$((t1 - t0)) ms" > $out/result
ipvsadm -Ln | wc -l >> $out/result
for i in \$(seq $runs); do
  t0=\$(ms); ipvsadm -Ln > $out/ipvsadm.out; t1=\$(ms); echo "ipvsadm \$((t1 - t0))" >> $out/result
  # The command an operator runs (no daemon: the kernel source).
  t0=\$(ms); LVSTOP_SOCKET=/nonexistent $lvstop --once --ipvs-only -n > $out/lvstop.out; t1=\$(ms); echo "once \$((t1 - t0))" >> $out/result
  cmp -s $out/ipvsadm.out $out/lvstop.out && echo "identical 1" >> $out/result || echo "identical 0" >> $out/result
  $bench phases 2>> $out/detail
  t0=\$(ms); $bench read 2>> $out/detail; t1=\$(ms); echo "lvstop \$((t1 - t0))" >> $out/result
  t0=\$(ms); $bench listing 2>> $out/detail; t1=\$(ms); echo "listing \$((t1 - t0))" >> $out/result
  # The console's refresh on a keepalived director (steady state, in ms).
  echo "observer \$($bench observer 2>> $out/detail)" >> $out/result
  # Reference only: the kernel's one-pass text listing (no thresholds,
  # tunnel settings or per-destination counters).
  t0=\$(ms); cat /proc/net/ip_vs > /dev/null; t1=\$(ms); echo "procfs \$((t1 - t0))" >> $out/result
done
# The console on the observer source at its default 1 s refresh, in a real
# terminal (tmux), on the same table: the time to its first screen of rows,
# then CPU seconds over a 60 s window, from /proc/PID/stat (utime + stime,
# in clock ticks).
t0=\$(ms)
tmux -L lvbench new-session -d -x 80 -y 24 "LVSTOP_SOCKET=/nonexistent $lvstop --source observe --delay 1"
i=0
until tmux -L lvbench capture-pane -p -t 0 | grep -q -- '-> '; do
  i=\$((i + 1)); [ \$i -lt 1200 ] || break; sleep 0.1
done
t1=\$(ms); echo "console_first_rows_ms \$((t1 - t0))" >> $out/result
pid=\$(pgrep -x lvstop | head -1)
cpu() { awk '{ print \$14 + \$15 }' /proc/\$pid/stat; }
c0=\$(cpu); t0=\$(ms); sleep 60; c1=\$(cpu); t1=\$(ms)
tmux -L lvbench capture-pane -p -t 0 > $out/console.txt || true
echo "console_cpu_ticks \$((c1 - c0)) over_ms \$((t1 - t0)) hz \$(getconf CLK_TCK)" >> $out/result
tmux -L lvbench kill-server || true
GUEST
vng --run "$kernel" --disable-kvm --user root --memory 2G --rwdir "$out" --exec "sh $out/guest.sh" </dev/null >&2
cat "$out/result" "$out/detail"
median() { grep "^$1 " "$out/result" | awk '{ print $2 }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
a="$(median ipvsadm)" b="$(median lvstop)" c="$(median procfs)" d="$(median listing)" e="$(median once)" f="$(median observer)"
grep -q "^identical 0" "$out/result" && echo "lvstop --once --ipvs-only -n differs from ipvsadm -Ln!" >&2
awk -v a="$a" -v e="$e" 'BEGIN { printf "median of runs: lvstop --once --ipvs-only -n %d ms, ipvsadm -Ln %d ms, ratio %.3f (target <= 0.333)\n", e, a, e / a }'
echo "median of runs: cat /proc/net/ip_vs $c ms (reference)"
awk -v a="$a" -v d="$d" 'BEGIN { printf "median of runs: lvstop listing (netlink services + /proc/net/ip_vs) %d ms, ratio to ipvsadm -Ln %.3f\n", d, d / a }'
awk -v a="$a" -v b="$b" 'BEGIN { printf "median of runs: ipvsadm -Ln %d ms, lvstop full read (KernelDataplane::snapshot) %d ms, ratio %.3f\n", a, b, b / a }'
awk -v a="$a" -v f="$f" 'BEGIN { printf "median of runs: the observer refresh (steady, TableReader::read) %d ms, ipvsadm -Ln %d ms, ratio %.3f (target <= 0.333)\n", f, a, f / a }'
if grep -q '^console_first_rows_ms' "$out/result"; then
    grep '^console_first_rows_ms' "$out/result" | awk '{ printf "console (observer): first screen of rows %.1f s after start\n", $2 / 1000 }'
fi
if grep -q '^console_cpu_ticks' "$out/result"; then
    grep '^console_cpu_ticks' "$out/result" | awk '{ printf "console (observer, 1 s refresh, tmux 80x24): %.1f %% of one CPU over %d ms\n", 100 * $2 / $6 / ($4 / 1000), $4 }'
    sed -n 1,8p "$out/console.txt"
fi
