#!/usr/bin/env bash
# Every side-by-side benchmark of the project in one run, each against its
# reference tool, written to benches/RESULTS.md: the machine, then a table
# per benchmark (figure, lvstop min/median/max, reference min/median/max,
# the ratio of the medians, the command that reproduces it). A benchmark
# that fails or cannot run (a missing tool) is reported as such, never left
# out. Each benchmark's own script stays usable alone; this one only runs
# them and reads what they print.
#
# Usage: benches/run-all.sh [--quick] [--runs N] [--only NAME[,NAME...]]
#   --quick   3 repetitions and shorter windows (the whole run takes
#             roughly 20-30 min on 2 cores; without it, about an hour)
#   --runs N  repetitions of every figure (default 5, or 3 with --quick)
#   --only    run only these benchmarks (names as in the list below);
#             the others are reported as not run
# Benchmarks: config vrrp console userspace apply checks kernel_read
# Needs root (namespaces, the VM). Honours CARGO_TARGET_DIR.
set -euo pipefail
trap 'echo "run-all.sh: stopped by a failing command at line $LINENO" >&2' ERR
cd "$(dirname "$0")/.."

quick=0 runs="" only=""
while (($#)); do
    case $1 in
        --quick) quick=1 ;;
        --runs) runs=$2; shift ;;
        --only) only=$2; shift ;;
        -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[[ -n $runs ]] || runs=$((quick ? 3 : 5))
all=(config vrrp console userspace apply checks kernel_read)

# Sizes: the target sizes (10k x 10 for the kernel read) in both modes; shorter
# windows and smaller check/apply tables with --quick.
if ((quick)); then
    console_secs=10 wrk_secs=5 apply_services=500 checkers=1000 check_window=10 check_warmup=10
else
    console_secs=30 wrk_secs=10 apply_services=1000 checkers=2000 check_window=10 check_warmup=15
fi

work=$(mktemp -d /tmp/lvstop-run-all.XXXXXX)
trap 'rm -rf "$work"' EXIT
rows=$work/rows     # bench \t figure \t better \t side \t value
status=$work/status # bench \t ok|failed|skipped|not run \t note
: >"$rows" >"$status"
results=benches/RESULTS.md
started_at=$(date -u '+%Y-%m-%d %H:%M UTC')
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$rows"; }
set_status() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$status"; }
declare -A title reference command loadavg
title[config]="Config parse + validate: \`lvstop check\` vs \`keepalived --config-test\`"
title[vrrp]="VRRP failover: an lvstop pair vs a keepalived pair (network namespaces)"
title[console]="Console vs htop: CPU and terminal bytes at a 1 s refresh (tmux 160×48)"
title[userspace]="Userspace dataplane vs HAProxy (loopback, nginx backends, wrk)"
title[apply]="Apply vs keepalived reload: one weight changed, t0 → the new weight in the kernel (VM)"
title[checks]="Health checks/s: lvstop vs keepalived's TCP_CHECK on the same real servers (VM)"
title[kernel_read]="Kernel table read: \`lvstop --once --ipvs-only -n\` vs \`ipvsadm -Ln\` at 10,000 × 10 (VM)"
wanted() { [[ -z $only ]] || [[ ,$only, == *,$1,* ]]; }

# Runs one benchmark script, its output kept in $work/NAME.N.log; exit 2
# (the scripts' "missing tool / not root") counts as skipped.
run_script() { # name log command...
    local name=$1 log=$2 rc=0
    shift 2
    echo "==> $name: $*" >&2
    "$@" >"$log" 2>"$log.err" || rc=$?
    if ((rc == 2)); then
        set_status "$name" skipped "$(tr -cd '\11\12\40-\176' <"$log.err" | grep -v '^\s*$' | tail -1)"
        return 1
    elif ((rc != 0)); then
        set_status "$name" failed "exit $rc: $(tr -cd '\11\12\40-\176' <"$log.err" | sed 's/^ *//' | grep -v '^\s*$' | tail -3 | tr '\n' ' ')"
        return 1
    fi
}

# --- the benchmarks --------------------------------------------------------

bench_config() {
    reference[config]="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 { print $2 }') --config-test, same generated files (2,300/4,600/9,200 virtual servers × 16 real servers with TCP_CHECK), whole process"
    command[config]="benches/config_vs_keepalived.sh 1   # run $runs times"
    local i
    for i in $(seq "$runs"); do
        run_script config "$work/config.$i.log" benches/config_vs_keepalived.sh 1 || return 0
        awk -v b=config '$1 ~ /^[0-9]+x$/ {
            f = "whole-process check, " $1 " (" $2 " checkers), ms"
            printf "%s\t%s\tlower\tlvstop\t%s\n", b, f, $3
            if ($4 != "n/a") printf "%s\t%s\tlower\tref\t%s\n", b, f, $4
        }' "$work/config.$i.log" >>"$rows"
    done
    set_status config ok ""
}

bench_vrrp() {
    reference[vrrp]="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 { print $2 }') pair, same namespaces and bridge, interleaved repetitions"
    command[vrrp]="benches/vrrp_failover.sh $runs $runs"
    RESULTS_OUT=$work/vrrp.raw run_script vrrp "$work/vrrp.log" benches/vrrp_failover.sh "$runs" "$runs" || return 0
    # impl version interval mode vip_ms garp_ms adv_ms prio0_ms
    awk -v b=vrrp '{
        side = ($1 == "lvstop") ? "lvstop" : "ref"
        s = "v" $2 " advert_int " $3 "s " $4
        printf "%s\t%s: kill -> VIP on backup, ms\tlower\t%s\t%s\n", b, s, side, $5
        if ($6 >= 0) printf "%s\t%s: kill -> first GARP seen, ms\tlower\t%s\t%s\n", b, s, side, $6
    }' "$work/vrrp.raw" >>"$rows"
    set_status vrrp ok "theory (RFC 3768/5798, backup priority 100): v2 1 s crash <= 3609 ms from the kill, clean stop 609 ms; v3 0.1 s crash <= 361 ms, clean stop 61 ms"
}

bench_console() {
    reference[console]="htop $(htop --version 2>/dev/null | awk 'NR == 1 { print $2 }') -d 10 in the same tmux; lvstop shows 100 × 10 real servers from a userspace daemon"
    command[console]="benches/console_vs_htop.sh $console_secs   # run $runs times"
    local i
    for i in $(seq "$runs"); do
        run_script console "$work/console.$i.log" benches/console_vs_htop.sh "$console_secs" || return 0
        awk -v b=console '$2 == "CPU" {
            side = ($1 == "lvstop") ? "lvstop" : "ref"
            printf "%s\tCPU, %% of one core\tlower\t%s\t%s\n", b, side, $3
            printf "%s\tbytes written to the terminal per s\tlower\t%s\t%s\n", b, side, $9
        }' "$work/console.$i.log" >>"$rows"
    done
    set_status console ok "${console_secs} s window after 5 s; htop redraws a process list, lvstop a 1,000-row table: same refresh, different screens"
}

bench_userspace() {
    reference[userspace]="HAProxy $(haproxy -v 2>/dev/null | awk 'NR == 1 { print $3 }') mode tcp, one thread, pinned to the same core as lvstop; nginx and wrk on the other"
    command[userspace]="benches/userspace_vs_haproxy.sh $wrk_secs 1   # run $runs times"
    local i
    for i in $(seq "$runs"); do
        run_script userspace "$work/userspace.$i.log" benches/userspace_vs_haproxy.sh "$wrk_secs" 1 || return 0
        awk -v b=userspace -F'  +' '
            /^new connections\/s/ { f = "new connections/s (Connection: close)"; better = "higher" }
            /^bulk throughput/ { f = "bulk throughput, MiB/s (1 MiB responses)"; better = "higher" }
            /^CPU ms per 1k/ { f = "balancer CPU ms per 1,000 new connections"; better = "lower" }
            /^(new connections|bulk throughput|CPU ms per 1k)/ {
                split($0, w, " +"); n = length(w)
                printf "%s\t%s\t%s\tlvstop\t%s\n%s\t%s\t%s\tref\t%s\n", b, f, better, w[n - 2], b, f, better, w[n - 1]
            }
            /added latency/ {
                split($0, w, " +"); split(w[length(w)], l, "/")
                side = ($1 ~ /^lvstop/) ? "lvstop" : "ref"
                printf "%s\tlatency added over direct, p50, us\tlower\t%s\t%s\n", b, side, l[1]
                printf "%s\tlatency added over direct, p99, us\tlower\t%s\t%s\n", b, side, l[2]
            }' "$work/userspace.$i.log" >>"$rows"
    done
    set_status userspace ok "${wrk_secs} s per wrk run, one round per repetition, balancers not CPU-capped (LB_CPU_PERCENT unset)"
}

bench_apply() {
    reference[apply]="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 { print $2 }') -C reloaded with SIGHUP, same file, same VM boot; polled with \`ipvsadm -Ln -t\`"
    command[apply]="benches/apply_vs_keepalived_reload.sh $apply_services 10 $runs"
    run_script apply "$work/apply.log" benches/apply_vs_keepalived_reload.sh "$apply_services" 10 "$runs" || return 0
    awk -v b=apply -v n="$apply_services" '
        $1 == "keepalived_hup" { printf "%s\tSIGHUP -> new weight in IPVS, ms (lvstop daemon vs keepalived)\tlower\tref\t%s\n", b, $2
                                 printf "%s\t`lvstop ctl apply` -> new weight in IPVS, ms (vs keepalived SIGHUP)\tlower\tref\t%s\n", b, $2 }
        $1 == "lvstop_hup" { printf "%s\tSIGHUP -> new weight in IPVS, ms (lvstop daemon vs keepalived)\tlower\tlvstop\t%s\n", b, $2 }
        $1 == "lvstop_apply" { printf "%s\t`lvstop ctl apply` -> new weight in IPVS, ms (vs keepalived SIGHUP)\tlower\tlvstop\t%s\n", b, $2 }
        $1 == "keepalived_start" { printf "%s\tstart -> whole table in IPVS, ms\tlower\tref\t%s\n", b, $2 }
        $1 == "lvstop_start" { printf "%s\tstart -> whole table in IPVS, ms\tlower\tlvstop\t%s\n", b, $2 }
    ' "$work/apply.log" >>"$rows"
    set_status apply ok "$apply_services virtual servers × 10 real servers, no checkers; the guest runs under TCG emulation (compare ratios); the start figures are one run each"
}

bench_checks() {
    reference[checks]="keepalived $(keepalived -v 2>&1 | awk 'NR == 1 { print $2 }') -C in the VM (its checker needs IPVS), same configuration and listeners, run alone in turn; checks counted as SYNs by an nftables counter"
    command[checks]="benches/checks_vs_keepalived.sh $checkers $check_window $runs $check_warmup"
    run_script checks "$work/checks.log" benches/checks_vs_keepalived.sh "$checkers" "$check_window" "$runs" "$check_warmup" || return 0
    awk -v b=checks -v n="$checkers" '$2 == "checks_per_s" {
        side = ($1 == "lvstop") ? "lvstop" : "ref"
        printf "%s\tchecks/s, %d TCP_CHECKs at delay_loop 1 (target %d)\thigher\t%s\t%s\n", b, n, n, side, $3
        printf "%s\tchecker CPU ms per 1,000 checks\tlower\t%s\t%s\n", b, side, $5
        printf "%s\treal servers out of the table at the window end\tlower\t%s\t%s\n", b, side, $7
    }' "$work/checks.log" >>"$rows"
    set_status checks ok "$checkers checkers, $runs windows of $check_window s after $check_warmup s; the guest runs under TCG emulation (compare ratios)"
}

bench_kernel_read() {
    reference[kernel_read]="ipvsadm $(dpkg-query -W -f='${Version}' ipvsadm 2>/dev/null) -Ln on the same table in the same VM boot (Debian's kernel $(basename "$(ls /boot/vmlinuz-* | sort | tail -1)" | sed 's/vmlinuz-//'))"
    command[kernel_read]="benches/kernel_read_vs_ipvsadm.sh 10000 10 $runs"
    run_script kernel_read "$work/kernel_read.log" benches/kernel_read_vs_ipvsadm.sh 10000 10 "$runs" || return 0
    awk -v b=kernel_read '
        $1 == "ipvsadm" && NF == 2 { printf "%s\tfull listing, ms (`--once --ipvs-only -n` vs `ipvsadm -Ln`)\tlower\tref\t%s\n", b, $2
                                    printf "%s\tthe observer refresh (console on a keepalived director), ms, vs `ipvsadm -Ln`\tlower\tref\t%s\n", b, $2 }
        $1 == "once" && NF == 2 { printf "%s\tfull listing, ms (`--once --ipvs-only -n` vs `ipvsadm -Ln`)\tlower\tlvstop\t%s\n", b, $2 }
        $1 == "observer" && NF == 2 { printf "%s\tthe observer refresh (console on a keepalived director), ms, vs `ipvsadm -Ln`\tlower\tlvstop\t%s\n", b, $2 }
        $1 == "identical" { printf "%s\toutput byte-identical to `ipvsadm -Ln` (1 = yes)\thigher\tlvstop\t%s\n", b, $2 }
        /^console \(observer/ { v = $0; sub(/.*: /, "", v); sub(/ %.*/, "", v)
                               printf "%s\tconsole CPU observing the table at 1 s, %% of one CPU (one 30 s window)\tlower\tlvstop\t%s\n", b, v }
    ' "$work/kernel_read.log" >>"$rows"
    set_status kernel_read ok "10,000 services × 10 destinations loaded by lvstop's netlink client; $runs runs in one VM boot under TCG emulation (compare ratios)"
}

# --- the report ------------------------------------------------------------

machine() {
    local cpu mem os
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
    mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    os=$(. /etc/os-release && echo "$PRETTY_NAME")
    echo "- CPU: $cpu, $(nproc) cores"
    echo "- RAM: $mem"
    echo "- Kernel: $(uname -r) ($os); IPVS figures come from a VM (virtme-ng, TCG, Debian's $(basename "$(ls /boot/vmlinuz-* 2>/dev/null | sort | tail -1)" | sed 's/vmlinuz-//') kernel)"
    echo "- lvstop: commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' (src modified)'), release build"
}

# stats over stdin values: min median max (median of an even count: the
# mean of the middle two)
stats() { sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) { print "–"; exit }
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%s / %s / %s (n=%d)\n", v[1], m, v[NR], NR }'; }
median_of() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

table() { # bench
    local b=$1 figure better l r lm rm ratio
    echo "| figure | lvstop min / median / max | reference min / median / max | ratio (lvstop / reference, medians) |"
    echo "|---|---|---|---|"
    awk -F'\t' -v b="$b" '$1 == b && !seen[$2]++ { print $2 "\t" $3 }' "$rows" | while IFS=$'\t' read -r figure better; do
        l=$(awk -F'\t' -v b="$b" -v f="$figure" '$1 == b && $2 == f && $4 == "lvstop" { print $5 }' "$rows" | stats)
        r=$(awk -F'\t' -v b="$b" -v f="$figure" '$1 == b && $2 == f && $4 == "ref" { print $5 }' "$rows" | stats)
        lm=$(awk -F'\t' -v b="$b" -v f="$figure" '$1 == b && $2 == f && $4 == "lvstop" { print $5 }' "$rows" | median_of)
        rm=$(awk -F'\t' -v b="$b" -v f="$figure" '$1 == b && $2 == f && $4 == "ref" { print $5 }' "$rows" | median_of)
        ratio=$(awk -v l="$lm" -v r="$rm" -v better="$better" 'BEGIN {
            if (l == "" || r == "" || r + 0 == 0) { print "–"; exit }
            printf "%.2f (%s is better)", l / r, better }')
        echo "| $figure | $l | $r | $ratio |"
    done
}

write_report() { # final: 1 at the end of the run
    local final=$1 tmp=$results.tmp b st note
    {
        echo "# Benchmark results"
        echo
        echo "Written by \`benches/run-all.sh$( ((quick)) && echo ' --quick')$( [[ -n $only ]] && echo " --only $only")\` (runs=$runs) on $started_at; do not edit by hand, re-run the script."
        echo "Every figure is measured side by side with its reference in the same run; the"
        echo "ratio is lvstop's median over the reference's (a ratio, never a timed"
        echo "assertion). Figures from the VM come from an emulated (TCG) guest:"
        echo "compare their ratios, not their absolute values."
        echo
        echo "## Machine"
        echo
        machine
        echo "- Load average (1/5/15 min) at start: $load_start; at end: $( ((final)) && cut -d' ' -f1-3 /proc/loadavg || echo '(run in progress)')"
        echo "- The machine was shared with other engineers' builds and tests during the run (see the load averages, also given before each benchmark): absolute figures are noisy; the interleaved side-by-side ratios are the result."
        echo
        for b in "${all[@]}"; do
            st=$(awk -F'\t' -v b="$b" '$1 == b { s = $2 } END { print s }' "$status")
            note=$(awk -F'\t' -v b="$b" '$1 == b { s = $3 } END { print s }' "$status")
            echo "## ${title[$b]:-$b}"
            echo
            case $st in
                ok) ;;
                skipped) echo "**Skipped**: $note"; echo ;;
                failed) echo "**Failed**: $note (figures below, if any, are from the repetitions that completed)"; echo ;;
                "") echo "**Not run**$( ((final)) && echo ' (excluded with --only)' || echo ' yet (run in progress or interrupted)')."; echo; continue ;;
            esac
            echo "- Reference: ${reference[$b]:-–}"
            echo "- Command: \`${command[$b]:-–}\`"
            echo "- Load average before it: ${loadavg[$b]:-–}"
            [[ $st == ok && -n $note ]] && echo "- Notes: $note"
            echo
            if grep -q "^$b	" "$rows"; then table "$b"; else echo "(no figures)"; fi
            echo
        done
        echo "## Not in this run"
        echo
        echo "The cargo benchmarks without an external reference are run on their own:"
        echo "\`cargo bench --bench NAME\` for config_parse, sched_pick, format_list,"
        echo "health_checks (lvstop's checks/s on host loopback; the side-by-side figure"
        echo "is the VM table above), apply_plan, apply_daemon (36,800 live checkers,"
        echo "userspace dataplane) and daemon_subscribers."
    } >"$tmp"
    mv "$tmp" "$results"
}

cargo build --release --quiet
for b in "${all[@]}"; do
    wanted "$b" || continue
    loadavg[$b]=$(cut -d' ' -f1-3 /proc/loadavg)
    "bench_$b"
    write_report 0
done
write_report 1
echo "wrote $results" >&2
