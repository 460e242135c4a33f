#!/usr/bin/env bash
# render.sh - draw the pictures of an attnbench results CSV by hand (see plots/README.md).
#
#   plots/render.sh CSV OUTDIR XAXIS PANELS [BASELINE]
#
# A shorthand for `attnbench plots --out OUTDIR --x XAXIS --panels PANELS [--baseline BASELINE]
# CSV`, which reads the
# CSV (with the one rule for repeated rows, bench/results.h), writes the gnuplot data files and
# scripts and runs gnuplot. The binary is $ATTNBENCH_BIN, else the source tree's ./attnbench
# (which builds it when needed). RENDER_KEEP_TMP=1 keeps the scripts and data files.
set -euo pipefail

if [ $# -lt 4 ] || [ $# -gt 5 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    cat >&2 <<EOF2
usage: ${0##*/} CSV OUTDIR XAXIS PANELS [BASELINE]
  CSV     attnbench results file (header line, then rows; runs may be appended)
  OUTDIR  directory for the pictures (created if missing)
  XAXIS   axis column put on x, log scale (e.g. N)
  PANELS  comma-separated axis columns, one panel per value combination (e.g. "d,causal");
          "" for a single panel
  BASELINE the speedup picture's baseline variant (default: our cuBLAS variants)
writes OUTDIR/S-{throughput,bandwidth,speedup,error,error-ratio}.{png,svg} for each suite S
in CSV (one set per value of an axis off x and the panels) and prints their paths:
attnbench plots --out OUTDIR --x XAXIS --panels PANELS [--baseline BASELINE] CSV
EOF2
    [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && exit 0
    exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${ATTNBENCH_BIN:-$root/attnbench}
if [ -n "${RENDER_KEEP_TMP:-}" ]; then export ATTNBENCH_PLOTS_KEEP=1; fi
exec "$bin" plots --out "$2" --x "$3" --panels "$4" ${5:+--baseline "$5"} -- "$1"
