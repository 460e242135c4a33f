#!/usr/bin/env bash
# SASS check: the built sm_90 code of each GPU variant's kernel file uses tensor cores exactly
# when the registry says it must.
#
#   usage: sass_check.sh LIST_KERNELS KERNELS_LIB [ARCH]
#     LIST_KERNELS  tests/list_kernels: prints "kernel_file tensor_cores" per GPU variant
#                   (1: must contain tensor-core instructions, 0: must contain none, -1: unchecked)
#     KERNELS_LIB   the attn_kernels static library (thin or regular archive) or an object file
#     ARCH          the SASS to inspect (default sm_90)
#
# A tensor-core instruction is any SASS opcode whose base name ends in MMA (HMMA, HGMMA, IMMA,
# IGMMA, QGMMA, BMMA, DMMA, OMMA, UTC*MMA, ...). Suffixes are not opcodes: HFMA2.MMA is an
# ordinary half-precision FMA that the scheduler may issue on the MMA pipe, not a tensor-core op.
#
# Each object is mapped to its source by the fatbin's "identifier" (the path nvcc compiled),
# else by Meson's object name (kernels/mhsa/naive.cu -> mhsa_naive.cu.o). Every checked kernel
# file must map to exactly one object with at least one function in ARCH code; a check that
# finds nothing fails. cuobjdump and nvdisasm are looked up in PATH, /usr/local/cuda/bin,
# $CUDA_HOME/bin and $ATTNBENCH_TOOLS/nvidia/*/bin (pip packages nvidia-cuda-cuobjdump and
# nvidia-cuda-nvdisasm installed with --target $ATTNBENCH_TOOLS, as tests/run does into
# build/.tools); when they are missing the check cannot run: exit 77 (skipped) with the reason.
set -euo pipefail

fail() { echo "sass_check: FAIL: $*" >&2; exit 1; }
[ $# -ge 2 ] || fail "usage: $0 LIST_KERNELS KERNELS_LIB [ARCH]"
list_kernels=$1 lib=$2 arch=${3:-sm_90}
[ -x "$list_kernels" ] || fail "$list_kernels is not an executable"
[ -r "$lib" ] || fail "cannot read $lib"

find_tool() {
    local name=$1 d dirs=(/usr/local/cuda/bin)
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    [ -n "${CUDA_HOME:-}" ] && dirs+=("$CUDA_HOME/bin")
    if [ -n "${ATTNBENCH_TOOLS:-}" ]; then
        for d in "$ATTNBENCH_TOOLS"/nvidia/*/bin; do dirs+=("$d"); done
    fi
    for d in "${dirs[@]}"; do
        if [ -x "$d/$name" ]; then echo "$d/$name"; return 0; fi
    done
    return 1
}
hint="install with: python3 -m pip install --target \"\$ATTNBENCH_TOOLS\" nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm (ATTNBENCH_TOOLS=${ATTNBENCH_TOOLS-unset})"
skip() { echo "sass_check: SKIP: $*" >&2; exit 77; }
cuobjdump=$(find_tool cuobjdump) || skip "cuobjdump not found in PATH, /usr/local/cuda/bin, \$CUDA_HOME/bin or \$ATTNBENCH_TOOLS/nvidia/*/bin; $hint"
nvdisasm=$(find_tool nvdisasm) || skip "nvdisasm (needed by cuobjdump -sass) not found; $hint"
export PATH="$(dirname "$nvdisasm"):$PATH"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sass_check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The objects: members of a thin archive are files already; a regular archive is extracted.
objs=()
case "$(head -c 8 "$lib")" in
'!<thin>'*)
    while IFS= read -r m; do
        [ -f "$m" ] || m="$(dirname "$lib")/$m"
        [ -f "$m" ] || fail "thin archive $lib: member $m not found"
        objs+=("$m")
    done < <(ar t "$lib")
    ;;
'!<arch>'*)
    mkdir "$tmp/x"
    lib_abs=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
    (cd "$tmp/x" && ar x "$lib_abs") || fail "ar x $lib failed"
    for m in "$tmp"/x/*; do objs+=("$m"); done
    ;;
*) objs=("$lib") ;;
esac
[ ${#objs[@]} -gt 0 ] || fail "$lib has no members"

# Per object: "object<TAB>source<TAB>functions<TAB>tensor-core ops<TAB>functions using them".
summary=$tmp/summary
: >"$summary"
for o in "${objs[@]}"; do
    sass=$tmp/$(basename "$o").sass
    if ! "$cuobjdump" -sass -arch "$arch" "$o" >"$sass" 2>"$tmp/err"; then
        # objects without device code are fine; anything else is an error
        grep -qi 'does not contain device code' "$tmp/err" && continue
        fail "cuobjdump -sass -arch $arch $o: $(cat "$tmp/err")"
    fi
    awk -v obj="$(basename "$o")" '
        /^identifier = / && src == "" { src = $3 }
        /Function : / { fn = $3; nfn++ }
        match($0, /^[ \t]*\/\*[0-9a-f]+\*\/[ \t]+/) {
            n = split(substr($0, RLENGTH + 1), t, /[ \t]+/)
            op = t[1]; if (op ~ /^@/) op = t[2]
            sub(/\..*$/, "", op); sub(/;$/, "", op)
            if (op ~ /MMA$/) { ntc++; if (!(fn in used)) { used[fn] = 1; list = list " " fn "(" op ")" } }
        }
        END { printf "%s\t%s\t%d\t%d\t%s\n", obj, src == "" ? "-" : src, nfn, ntc, list == "" ? "-" : list }
    ' "$sass" >>"$summary"
done

# The objects that kernel file f (relative to the repository root) was compiled into.
objects_of() {
    local f=$1 flat=${1//\//_} obj src rest
    flat=${flat#kernels_}
    while IFS=$'\t' read -r obj src rest; do
        if [ "$src" != "-" ]; then
            case "$src" in "$f" | */"$f") echo "$obj" ;; esac
        else
            case "$obj" in "$flat.o" | "$(basename "$f").o") echo "$obj" ;; esac
        fi
    done <"$summary"
}

rules=$("$list_kernels") || fail "$list_kernels failed"
[ -n "$rules" ] || fail "$list_kernels listed no GPU variants"
declare -A want=()
while read -r f tc; do
    [ -n "$f" ] || continue
    case "$tc" in 0 | 1 | -1) ;; *) fail "bad line from $list_kernels: '$f $tc'" ;; esac
    [ "$tc" = -1 ] && continue
    if [ -n "${want[$f]:-}" ] && [ "${want[$f]}" != "$tc" ]; then
        fail "$f is listed both as tensor_cores=${want[$f]} and $tc"
    fi
    want[$f]=$tc
done <<<"$rules"
[ ${#want[@]} -gt 0 ] || fail "no kernel file has a tensor-core rule to check"

errors=0
for f in $(printf '%s\n' "${!want[@]}" | sort); do
    found=$(objects_of "$f")
    if [ "$(printf '%s' "$found" | grep -c .)" -ne 1 ]; then
        echo "FAIL $f: want exactly one object compiled from it in $lib, found: ${found:-none}" >&2
        errors=$((errors + 1))
        continue
    fi
    obj=$found
    IFS=$'\t' read -r _ _ nfn ntc used < <(awk -F'\t' -v o="$obj" '$1 == o' "$summary")
    if [ "$nfn" -eq 0 ]; then
        echo "FAIL $f ($obj): no $arch functions found" >&2; errors=$((errors + 1))
    elif [ "${want[$f]}" = 1 ] && [ "$ntc" -eq 0 ]; then
        echo "FAIL $f ($obj): must use tensor cores, but its $nfn $arch functions contain no *MMA instruction" >&2
        errors=$((errors + 1))
    elif [ "${want[$f]}" = 0 ] && [ "$ntc" -gt 0 ]; then
        echo "FAIL $f ($obj): must not use tensor cores, but has $ntc *MMA instructions in:$used" >&2
        errors=$((errors + 1))
    else
        echo "ok   $f ($obj): tensor_cores=${want[$f]}, $nfn functions, $ntc tensor-core instructions"
    fi
done
[ "$errors" -eq 0 ] || fail "$errors kernel file(s) failed the $arch SASS check (cuobjdump: $cuobjdump)"
echo "sass_check: all ${#want[@]} checked kernel files pass ($arch)"
