#!/usr/bin/env bash
# Fuzz the configuration pipeline, seeded with keepalived's sample configs and
# lvstop's own fixtures, then the VRRP packet codec, seeded with adverts
# captured from keepalived. Usage: fuzz/run.sh [SECONDS] (default 60, per
# target).
# Needs cargo-fuzz (`cargo install cargo-fuzz`); on a stable toolchain the
# sanitizer flags are enabled with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
corpus=corpus/config_load
mkdir -p "$corpus"
# keepalived's samples as Debian installs them (some may be gzipped);
# LVSTOP_KEEPALIVED_SAMPLES names another folder.
samples=${LVSTOP_KEEPALIVED_SAMPLES:-/usr/share/doc/keepalived/samples}
for sample in "$samples"/keepalived.conf* "$samples"/../keepalived.conf.SYNOPSIS*; do
    [ -f "$sample" ] || continue
    case "$sample" in
        *.gz) gzip -dc "$sample" >"$corpus/$(basename "$sample" .gz)" ;;
        *) cp "$sample" "$corpus/" ;;
    esac
done
cp ../examples/seed/*.conf "$corpus/"
find ../tests/fixtures -name '*.conf' -exec cp {} "$corpus/" \; 2>/dev/null || true
RUSTC_BOOTSTRAP=1 cargo fuzz run config_load "$corpus" -- -max_total_time="$seconds" -max_len=65536 -timeout=10

vrrp_corpus=corpus/vrrp_packet
mkdir -p "$vrrp_corpus"
# Seeds: adverts captured from keepalived (JSONL, hex payloads); the
# target's first byte picks the address family (even: IPv4, odd: IPv6).
python3 - "$vrrp_corpus" ../tests/fixtures/vrrp/captured/*.jsonl <<'PY'
import json, pathlib, sys
out = pathlib.Path(sys.argv[1])
for path in sys.argv[2:]:
    for n, line in enumerate(open(path)):
        advert = json.loads(line)
        family = b"\x01" if ":" in advert["source"] else b"\x00"
        (out / f"{pathlib.Path(path).stem}-{n}").write_bytes(family + bytes.fromhex(advert["payload"]))
PY
RUSTC_BOOTSTRAP=1 cargo fuzz run vrrp_packet "$vrrp_corpus" -- -max_total_time="$seconds" -max_len=1024 -timeout=10
