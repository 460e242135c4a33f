#!/usr/bin/env bash
# wgmma_sass.sh - kernels/common/wgmma.cuh's real side assembles to the HGMMA it claims.
#
#   tests/wgmma_sass.sh OBJECT            OBJECT: tests/wgmma_forms.cu built for sm_90a
#   tests/wgmma_sass.sh --dump FILE       check FILE, the text of `cuobjdump -sass OBJECT`
#
# Every kernel wgf_<ss|rs>_<bf16|f16>_<N>_<transA>_<transB> of the object must hold exactly one
# HGMMA, of shape 64xNx16 with fp32 accumulators, .BF16 for bf16 (none for f16), .tnspA /
# .tnspB exactly for a transpose of 1, and A from a register (RS) or a descriptor (SS): a wrong
# operand order, a swapped transpose immediate or the wrong type string fails here, without a
# GPU. Exit 0 ok, 1 a mismatch (or no kernel found), 2 bad usage, 77 (skipped) without cuobjdump.
set -euo pipefail

usage() { echo "usage: $0 OBJECT | --dump FILE" >&2; exit 2; }
[ $# -ge 1 ] || usage

check() {
    awk '
        /Function : wgf_/ { fn = $3; funcs[fn] = 1; n[fn] = 0; next }
        /Function : / { fn = ""; next }
        fn != "" && /HGMMA\./ { n[fn]++; line[fn] = $0 }
        END {
            bad = 0; count = 0
            for (f in funcs) {
                count++
                split(f, p, "_")   # wgf ss bf16 64 0 1
                want = "HGMMA\\.64x" p[4] "x16\\.F32" (p[3] == "bf16" ? "\\.BF16" : "") " "
                desc = "gdesc\\[UR[0-9]+\\]" (p[5] == "1" ? "\\.tnspA" : "") (p[6] == "1" ? "\\.tnspB" : "") "[ ,]"
                ops = p[2] == "rs" ? "R[0-9]+, R[0-9]+, " desc : "R[0-9]+, " desc
                why = ""
                if (n[f] != 1) why = sprintf("%d HGMMA, want 1", n[f])
                else if (line[f] !~ want) why = "shape or type: want " want
                else if (line[f] !~ ops) why = "operands or transposes: want " ops
                if (why != "") { bad++; printf "FAIL %s: %s\n    %s\n", f, why, line[f] }
                else printf "ok   %s\n", f
            }
            if (count == 0) { print "wgmma_sass: FAIL: no wgf_ kernel found" > "/dev/stderr"; exit 1 }
            if (bad) { printf "wgmma_sass: FAIL: %d of %d forms\n", bad, count > "/dev/stderr"; exit 1 }
            printf "wgmma_sass: all %d forms assemble as declared\n", count
        }'
}

if [ "$1" = --dump ]; then
    [ $# -eq 2 ] && [ -r "$2" ] || usage
    check <"$2"
    exit
fi
[ $# -eq 1 ] && [ -r "$1" ] || usage
source "$(dirname "${BASH_SOURCE[0]}")/cuobjdump.sh"
[ -n "$cuobjdump" ] || { echo "wgmma_sass: SKIP: cuobjdump not found" >&2; exit 77; }
out=$("$cuobjdump" -sass "$1" 2>&1) || { echo "wgmma_sass: cuobjdump -sass $1: $out" >&2; exit 1; }
printf '%s\n' "$out" | check
