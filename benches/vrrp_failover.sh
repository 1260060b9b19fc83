#!/usr/bin/env bash
# VRRP failover time, lvstop pair vs keepalived 2.2.7 pair, same topology,
# same run. Root only (network namespaces).
#
# Topology: directors A (priority 150, state MASTER) and B (priority 100)
# and an observer O, each in a namespace, plugged into one bridge in a
# fourth namespace; VIP 198.51.100.100/24. For each repetition a fresh
# pair is started, allowed to settle (B has heard A), then A dies:
#
#   crash   SIGKILL to every process of A (keepalived's children too)
#   stop    SIGTERM to A's main process (clean stop: priority 0 adverts)
#
# t0 is taken with bash's $EPOCHREALTIME just before the kill. Measured:
#
#   vip     t0 → the VIP appears on B  (`ip -ts monitor address` in B)
#   garp    t0 → B's first gratuitous ARP for the VIP seen by O (tcpdump)
#   adv     for crashes, the VIP time counted from A's last advert before
#           t0 instead (that advert restarted B's Master_Down timer, so
#           this is the figure RFC 3768/5798 predicts)
#   prio0   for clean stops, t0 → A's priority-0 advert on the wire (the
#           stopping director's own reaction time)
#
# Theory (RFC 3768 §6.1 / RFC 5798 §6.1): a crash takes
# Master_Down_Interval = 3 × Advertisement_Interval + Skew_Time after the
# last advert; a clean stop takes Skew_Time after the priority-0 advert.
# Skew for priority 100: v2 (256 − 100)/256 s = 609 ms; v3
# (256 − 100) × interval/256 = 61 ms at 0.1 s.
#
# Usage: benches/vrrp_failover.sh [reps] [v2-crash-reps]   (default 20 20)
# Needs: keepalived, tcpdump, iproute2 (apt-get install keepalived tcpdump).
# LVSTOP=path uses that binary instead of building target/release/lvstop.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-20}
v2_crash_reps=${2:-$reps}
for tool in keepalived tcpdump ip; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install keepalived tcpdump iproute2)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 2; }
if [ -z "${LVSTOP:-}" ]; then
    cargo build --release --quiet
    LVSTOP=${CARGO_TARGET_DIR:-$PWD/target}/release/lvstop
fi

VIP=198.51.100.100
tag=vfb$$
NS_SW=${tag}sw NS_A=${tag}A NS_B=${tag}B NS_O=${tag}O
IF_A=${tag}a IF_B=${tag}b IF_O=${tag}o
dir=$(mktemp -d)
bg=()
cleanup() {
    for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
    for ns in "$NS_A" "$NS_B"; do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    done
    for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for ns in "$NS_A" "$NS_B" "$NS_O" "$NS_SW"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

# --- topology -------------------------------------------------------------
for ns in "$NS_SW" "$NS_A" "$NS_B" "$NS_O"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
done
ip -n "$NS_SW" link add br0 type bridge mcast_snooping 0
ip -n "$NS_SW" link set br0 up
i=1
for pair in "$NS_A:$IF_A" "$NS_B:$IF_B" "$NS_O:$IF_O"; do
    ns=${pair%%:*} ifname=${pair##*:}
    ip link add "$ifname" netns "$ns" type veth peer name "${ifname}p" netns "$NS_SW"
    ip -n "$NS_SW" link set "${ifname}p" master br0
    ip -n "$NS_SW" link set "${ifname}p" up
    ip -n "$ns" addr add "198.51.100.$i/24" dev "$ifname"
    ip -n "$ns" link set "$ifname" up
    i=$((i + 1))
done
sleep 1
MAC_B=$(ip netns exec "$NS_B" cat "/sys/class/net/$IF_B/address")

# One capture and one address monitor for the whole run; each repetition
# reads what was appended after its t0.
ip netns exec "$NS_O" tcpdump -i "$IF_O" -n -l -e -tt --time-stamp-precision=nano \
    'arp or ip proto 112' >"$dir/wire" 2>"$dir/tcpdump.err" &
bg+=($!)
ip -n "$NS_B" -ts monitor address >"$dir/addr" 2>&1 &
MONITOR=$!
bg+=($MONITOR)
for _ in $(seq 100); do grep -q listening "$dir/tcpdump.err" && break; sleep 0.05; done

# The directors' processes in a namespace (the address monitor lives in
# B's namespace too and must survive every repetition).
directors() { ip netns pids "$1" | grep -vx "$MONITOR" || true; }

# --- one repetition -------------------------------------------------------
config() { # ifname priority state version interval
    cat <<EOF
global_defs {
  router_id bench
  vrrp_version $4
}
vrrp_instance VI_1 {
  state $3
  interface $1
  virtual_router_id 51
  priority $2
  advert_int $5
  virtual_ipaddress {
    $VIP/24
  }
}
EOF
}

start() { # impl ns ifname priority state version interval → pid on stdout
    local impl=$1 ns=$2 rundir
    rundir=$(mktemp -d -p "$dir")
    config "$3" "$4" "$5" "$6" "$7" >"$rundir/conf"
    if [ "$impl" = lvstop ]; then
        ip netns exec "$ns" "$LVSTOP" daemon -f "$rundir/conf" --socket "$rundir/sock" \
            >"$rundir/log" 2>&1 </dev/null &
    else
        ip netns exec "$ns" keepalived -n -l -P -f "$rundir/conf" -p "$rundir/k.pid" \
            -r "$rundir/v.pid" -c "$rundir/c.pid" >"$rundir/log" 2>&1 </dev/null &
    fi
    echo $!
}

has_vip() { ip -n "$1" -o addr show | grep -q " $VIP/"; }

wait_until() { # seconds command...
    local limit=$1; shift
    local end=$((SECONDS + limit))
    until "$@"; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.01
    done
}

# ISO local time "[2026-11-25T17:49:02.123456]" → epoch seconds.
iso_epoch() { date -d "$(echo "$1" | tr -d '[]' | sed 's/T/ /')" +%s.%N; }

run_one() { # impl version interval mode → "vip_ms garp_ms adv_ms" on stdout
    local impl=$1 version=$2 interval=$3 mode=$4
    local pid_a settle
    pid_a=$(start "$impl" "$NS_A" "$IF_A" 150 MASTER "$version" "$interval")
    wait_until 20 has_vip "$NS_A" || { echo "A never took the VIP" >&2; return 1; }
    start "$impl" "$NS_B" "$IF_B" 100 BACKUP "$version" "$interval" >/dev/null
    # B must have heard A at least once: an interval and a half, plus a margin.
    settle=$(awk -v i="$interval" 'BEGIN { print 1.5 * i + 0.5 }')
    sleep "$settle"
    has_vip "$NS_B" && { echo "B holds the VIP before the failover" >&2; return 1; }
    local wire_off addr_off pids t0
    wire_off=$(stat -c %s "$dir/wire")
    addr_off=$(stat -c %s "$dir/addr")
    pids=$(directors "$NS_A")
    if [ "$mode" = crash ]; then
        t0=$EPOCHREALTIME
        kill -KILL $pids
    else
        t0=$EPOCHREALTIME
        kill -TERM "$pid_a"
    fi
    wait_until 20 has_vip "$NS_B" || { echo "B never took the VIP" >&2; return 1; }
    local garp_line=""
    for _ in $(seq 1000); do
        garp_line=$(tail -c +"$((wire_off + 1))" "$dir/wire" | grep -i "^[0-9.]* $MAC_B > .*ARP.*who-has $VIP .*tell $VIP" | head -1 || true)
        [ -n "$garp_line" ] && break
        sleep 0.01
    done
    local vip_line t_vip t_garp t_adv
    vip_line=$(tail -c +"$((addr_off + 1))" "$dir/addr" | grep -v Deleted | grep " inet $VIP/" | head -1 || true)
    t_vip=$(iso_epoch "$(echo "$vip_line" | awk '{print $1}')")
    t_garp=$(echo "$garp_line" | awk '{print $1}')
    # tcpdump may write a frame after t0 that arrived before it: choose by
    # the kernel timestamps, not by file position.
    t_adv=$(grep "198.51.100.1 > 224.0.0.18" "$dir/wire" | grep -v "prio 0," |
        awk -v t0="$t0" '$1 < t0 { last = $1 } END { print last }')
    t_zero=$(grep "198.51.100.1 > 224.0.0.18.*prio 0," "$dir/wire" |
        awk -v t0="$t0" '$1 >= t0 { print $1; exit }')
    # Tear down: both directors, and the VIP a crashed A left behind.
    local all
    all=$(directors "$NS_A"; directors "$NS_B")
    [ -n "$all" ] && kill -KILL $all 2>/dev/null || true
    gone() { [ -z "$(directors "$NS_A"; directors "$NS_B")" ]; }
    wait_until 5 gone || true
    ip -n "$NS_A" addr del "$VIP/24" dev "$IF_A" 2>/dev/null || true
    ip -n "$NS_B" addr del "$VIP/24" dev "$IF_B" 2>/dev/null || true
    awk -v t0="$t0" -v v="$t_vip" -v g="${t_garp:-0}" -v a="${t_adv:-0}" -v z="${t_zero:-0}" 'BEGIN {
        printf "%.1f %.1f %.1f %.1f\n", (v - t0) * 1000, (g > 0 ? (g - t0) * 1000 : -1),
            (a > 0 ? (v - a) * 1000 : -1), (z > 0 ? (z - t0) * 1000 : -1)
    }'
}

# --- the run --------------------------------------------------------------
results=$dir/results
: >"$results"
scenarios=(
    "2 1 crash $v2_crash_reps"
    "2 1 stop $reps"
    "3 0.1 crash $reps"
    "3 0.1 stop $reps"
)
started=$SECONDS
for s in "${scenarios[@]}"; do
    read -r version interval mode n <<<"$s"
    for rep in $(seq "$n"); do
        # Interleave the implementations so drift on the shared machine
        # hits both alike.
        for impl in lvstop keepalived; do
            if out=$(run_one "$impl" "$version" "$interval" "$mode"); then
                echo "$impl $version $interval $mode $out" >>"$results"
            else
                echo "warning: $impl v$version $mode repetition $rep failed" >&2
            fi
        done
    done
    echo "v$version advert_int $interval $mode: done ($((SECONDS - started)) s so far)" >&2
done

# --- report ---------------------------------------------------------------
pct() { # p column impl version mode → value
    awk -v impl="$3" -v ver="$4" -v mode="$5" -v col="$2" \
        '$1 == impl && $2 == ver && $4 == mode && $col >= 0 { print $col }' "$results" |
        sort -n | awk -v p="$1" '{ v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            i = int(p * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR
            printf "%.0f", v[i] }'
}
count() { awk -v impl="$1" -v ver="$2" -v mode="$3" '$1 == impl && $2 == ver && $4 == mode' "$results" | wc -l; }
theory() { # version interval mode → ms
    awk -v v="$1" -v i="$2" -v m="$3" 'BEGIN {
        skew = (v == 2) ? (256 - 100) / 256 : (256 - 100) * i / 256
        printf "%.0f", (m == "crash" ? 3 * i + skew : skew) * 1000 }'
}
echo
echo "VRRP failover, priority 150 master → priority 100 backup; p50/p95 in ms (n = repetitions)"
echo "(crash from t0 is at most the theory: the backup's timer restarted at A's last advert)"
printf "%-18s %-20s %7s | %-22s | %-22s\n" "scenario" "measured" "theory" "lvstop p50/p95" "keepalived p50/p95"
for s in "${scenarios[@]}"; do
    read -r version interval mode _ <<<"$s"
    th=$(theory "$version" "$interval" "$mode")
    name="v$version int ${interval}s $mode"
    rows=("5:t0 -> VIP on B" "6:t0 -> first GARP")
    if [ "$mode" = crash ]; then rows+=("7:last advert -> VIP"); else rows+=("8:t0 -> A's priority 0"); fi
    for row in "${rows[@]}"; do
        col=${row%%:*} label=${row#*:}
        case "$col" in
            5|6) t=$([ "$mode" = crash ] && echo "<=$th" || echo "$th") ;;
            7) t=$th ;;
            8) t=- ;;
        esac
        l="$(pct 0.5 "$col" lvstop "$version" "$mode")/$(pct 0.95 "$col" lvstop "$version" "$mode") (n=$(count lvstop "$version" "$mode"))"
        k="$(pct 0.5 "$col" keepalived "$version" "$mode")/$(pct 0.95 "$col" keepalived "$version" "$mode") (n=$(count keepalived "$version" "$mode"))"
        printf "%-18s %-20s %7s | %-22s | %-22s\n" "$name" "$label" "$t" "$l" "$k"
        name=""
    done
done
echo
echo "raw rows (impl version interval mode vip_ms garp_ms adv_ms prio0_ms): $results copied to ${RESULTS_OUT:-/tmp/vrrp_failover.results}"
cp "$results" "${RESULTS_OUT:-/tmp/vrrp_failover.results}"
echo "total $((SECONDS - started)) s"
