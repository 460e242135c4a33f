#!/usr/bin/env bash
# import_session.sh - bring what tools/gpu_session.sh left (its archive, or an unpacked folder)
# into results/<device>/, and render the plots here (docs/gpu-lease.md).
#
#   tools/import_session.sh ARCHIVE|DIR...
#
# CSVs are put together with `attnbench merge` (rows already there are kept, equal rows are not
# repeated, a different header is refused), so the shards of one sweep from several calls become
# one file; calibration.txt is copied, the latest call's winning; the call's provenance (facts/,
# logs/, sanitizer/, summary.txt) goes to results/<device>/session-<call>/. Then
# `attnbench floors` is run over each device folder (its table to floors.md) and
# `attnbench plots` draws each suite with its peers into results/<device>/plots/.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
[ $# -gt 0 ] || { sed -n 2,13p "$0"; exit 2; }
bin=${ATTNBENCH:-build/attnbench}
[ -x "$bin" ] || { echo "import_session: $bin not built (run ./attnbench --help once)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
devs=()
k=0
for src in "$@"; do
    k=$((k + 1))
    if [ -f "$src" ]; then
        mkdir -p "$tmp/$k"
        tar -xzf "$src" -C "$tmp/$k" || { echo "import_session: cannot unpack '$src'" >&2; exit 2; }
        out=$tmp/$k
        call=$(basename "$src" .tar.gz); call=${call##*-}
    else
        out=$src
        call=$k
    fi
    [ -d "$out/results" ] || { echo "import_session: '$src' has no results/ folder" >&2; exit 2; }
    for d in "$out"/results/*/; do
        dev=$(basename "$d")
        mkdir -p "results/$dev"
        case " ${devs[*]-} " in *" $dev "*) ;; *) devs+=("$dev") ;; esac
        for f in "$d"*; do
            [ -f "$f" ] || continue
            case $f in
            *.csv) "$bin" merge "results/$dev/$(basename "$f")" "$f" ;;
            *) cp -- "$f" "results/$dev/" ;;
            esac
        done
        prov=results/$dev/session-$call
        mkdir -p "$prov"
        for p in facts logs sanitizer summary.txt; do
            [ -e "$out/$p" ] && cp -r -- "$out/$p" "$prov/"
        done
    done
done
for dev in "${devs[@]}"; do
    r=results/$dev
    "$bin" floors --markdown "$r/floors.md" "$r" || true   # a miss is reported, not fatal here
    for f in "$r"/*.csv; do
        s=$(basename "$f" .csv)
        case $s in check-*|peers-*|floors-*|*-combined) continue ;; esac
        if [ -f "$r/peers-$s.csv" ]; then
            "$bin" plots --out "$r/plots" "$f" "$r/peers-$s.csv"
        else
            "$bin" plots --out "$r/plots" "$f"
        fi
    done
done
