#!/usr/bin/env bash
# ptxas on the wgmma kernel: it must compile for sm_90a with no "wgmma ... serialized" warning
# (ptxas then issues each wgmma alone, waiting for the previous: the overlap the kernel is built
# for is gone, silently but for this line of `-Xptxas -v`), for each of its instantiations.
#
#   usage: wgmma_ptxas.sh NVCC SOURCE INCDIR... [-- NVCC_ARGS...]
# Exit 0 when the build log names every `mhsa_fused_wgmma_kernel` and `mhsa_fused_wgmma_tma_kernel`
# instantiation compiled (6) and no serialized
# wgmma; 1 otherwise (the log's lines printed); 2 bad usage. With -DATTN_PLANT_WGMMA_SERIAL among
# NVCC_ARGS the kernel holds an extern call that makes ptxas serialize: the test inverts the
# verdict (it must see the warning).
set -uo pipefail
[ $# -ge 3 ] || { echo "usage: $0 NVCC SOURCE INCDIR... [-- NVCC_ARGS...]" >&2; exit 2; }
nvcc=$1 src=$2
shift 2
inc=() extra=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do inc+=("-I$1"); shift; done
[ "${1:-}" = -- ] && shift && extra=("$@")
planted=0
for a in "${extra[@]}"; do [ "$a" = -DATTN_PLANT_WGMMA_SERIAL ] && planted=1; done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wgmma_ptxas.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! "$nvcc" -std=c++17 -O3 --expt-relaxed-constexpr -gencode=arch=compute_90a,code=sm_90a \
        "${inc[@]}" "${extra[@]}" -Xptxas -v -c "$src" -o "$tmp/k.o" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2
    echo "wgmma_ptxas: FAIL: nvcc failed on $src" >&2
    exit 1
fi
compiled=$(grep -c "Compiling entry function '[^']*mhsa_fused_wgmma_\(tma_\)\?kernel" "$tmp/log")
serial=$(grep -i 'wgmma[^ ]* instructions are serialized' "$tmp/log")
grep -i 'wgmma\|entry function\|registers\|spill' "$tmp/log"
if [ "$compiled" -lt 6 ]; then
    echo "wgmma_ptxas: FAIL: $compiled wgmma kernel instantiations compiled, want 6" >&2
    exit 1
fi
if [ "$planted" = 1 ]; then
    [ -n "$serial" ] && { echo "wgmma_ptxas: the planted extern call is caught"; exit 0; }
    echo "wgmma_ptxas: FAIL: the planted extern call did not show a serialized wgmma" >&2
    exit 1
fi
[ -z "$serial" ] || { echo "wgmma_ptxas: FAIL: ptxas serializes wgmma:" >&2; echo "$serial" >&2; exit 1; }
echo "wgmma_ptxas: ok, $compiled instantiations, no serialized wgmma"
