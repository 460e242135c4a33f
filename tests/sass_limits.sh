#!/usr/bin/env bash
# Static limits of the compiled kernels, read from their sm_90 code (cuobjdump): for every
# kernel function,
#   - static shared memory <= 48 KiB (49152 bytes), the most a block may declare statically:
#     SHARED of --dump-resource-usage, less the 1 KiB that sm_90 and later reserve for the
#     system at the bottom of a block's shared memory and count in SHARED (from 1024 up) for
#     every kernel that uses shared memory (sm_80 code reports the declared bytes alone);
#   - registers x threads <= 65536, the register file of one SM: registers per thread (REG)
#     rounded up to a multiple of 8 (a warp's registers are allocated 256 at a time), times the
#     kernel's maximum threads per block: its __launch_bounds__ (EIATTR_MAX_THREADS in the
#     function's .nv.info section, from `cuobjdump -elf`), or 1024, the most any launch may
#     use, for a kernel without one. A kernel over it cannot launch with that many threads.
#
#   usage: sass_limits.sh KERNELS_LIB [ARCH]   the attn_kernels library (thin or regular archive)
#                                              or an object file; ARCH defaults to sm_90
#          sass_limits.sh --dump FILE          check FILE, the text of both dumps (tests)
#
# Prints one line per function; exit 0 when every function is within the limits, 1 when one is
# not or none was found, 2 on bad usage, 77 (skipped) when cuobjdump is missing. cuobjdump is
# looked up in PATH, /usr/local/cuda/bin, $CUDA_HOME/bin and $ATTNBENCH_TOOLS/nvidia/*/bin.
set -euo pipefail

usage() { echo "usage: $0 KERNELS_LIB [ARCH] | --dump FILE" >&2; exit 2; }
[ $# -ge 1 ] || usage

# Reads both dumps from stdin, in any order: "Function NAME:" then "REG:n ... SHARED:n" lines
# (--dump-resource-usage), and ".nv.info.NAME" section headers then "Attribute: EIATTR_MAX_THREADS"
# and "Value: x y z" lines (-elf).
check() {
    awk '
        function hex(s,   v, i) {
            v = 0; s = tolower(s); sub(/^0x/, "", s)
            for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
            return v
        }
        /^arch = sm_[0-9]+/ { sm = substr($3, 4) + 0; next }
        /^[ \t]*Function [^ ]+:[ \t]*$/ { fn = $2; sub(/:$/, "", fn); next }
        fn != "" && /REG:[0-9]+/ {
            for (i = 1; i <= NF; i++) {
                split($i, kv, ":")
                if (kv[1] == "REG") reg[fn] = kv[2] + 0
                if (kv[1] == "SHARED") shared[fn] = kv[2] + 0
            }
            if (sm >= 90 && shared[fn] >= 1024) shared[fn] -= 1024 # the system reservation
            seen[fn] = 1; fn = ""; next
        }
        /^\.nv\.info\./ { info = substr($1, 10); next }
        /Attribute:[ \t]*EIATTR_MAX_THREADS/ { want_value = 1; next }
        want_value && /Value:/ {
            n = 1
            for (i = 2; i <= NF; i++) n *= hex($i)
            if (info != "") maxt[info] = n
            want_value = 0; next
        }
        END {
            bad = 0; count = 0
            for (f in seen) {
                count++
                t = (f in maxt) ? maxt[f] : 1024
                from = (f in maxt) ? "__launch_bounds__" : "no bound: 1024"
                r = int((reg[f] + 7) / 8) * 8
                why = ""
                if (shared[f] > 49152) why = why sprintf("; static shared memory %d B > 48 KiB", shared[f])
                if (r * t > 65536) why = why sprintf("; %d registers x %d threads = %d > 65536", r, t, r * t)
                printf "%s %s: REG %d, static shared %d B, threads %d (%s)%s\n", why == "" ? "ok  " : "FAIL",
                       f, reg[f], shared[f], t, from, why
                if (why != "") bad++
            }
            if (count == 0) { print "sass_limits: FAIL: no kernel function found" > "/dev/stderr"; exit 1 }
            if (bad) { printf "sass_limits: FAIL: %d of %d kernel functions over a limit\n", bad, count > "/dev/stderr"; exit 1 }
            printf "sass_limits: all %d kernel functions within the limits\n", count
        }'
}

if [ "$1" = --dump ]; then
    [ $# -eq 2 ] && [ -r "$2" ] || usage
    check <"$2"
    exit
fi
lib=$1 arch=${2:-sm_90}
[ -r "$lib" ] || { echo "sass_limits: cannot read $lib" >&2; exit 2; }

source "$(dirname "${BASH_SOURCE[0]}")/cuobjdump.sh"
[ -n "$cuobjdump" ] || { echo "sass_limits: SKIP: cuobjdump not found (PATH, /usr/local/cuda/bin, \$CUDA_HOME/bin, \$ATTNBENCH_TOOLS/nvidia/*/bin)" >&2; exit 77; }

# The objects: a thin archive names its members (cuobjdump reads regular archives itself).
objs=("$lib")
if [ "$(head -c 7 "$lib")" = '!<thin>' ]; then
    objs=()
    while IFS= read -r m; do
        [ -f "$m" ] || m="$(dirname "$lib")/$m"
        objs+=("$m")
    done < <(ar t "$lib")
fi
for o in "${objs[@]}"; do
    for what in --dump-resource-usage -elf; do
        out=$("$cuobjdump" "$what" -arch "$arch" "$o" 2>&1) ||
            { grep -qi 'does not contain device code' <<<"$out" && continue
              echo "sass_limits: cuobjdump $what -arch $arch $o: $out" >&2; exit 1; }
        printf '%s\n' "$out"
    done
done | check
