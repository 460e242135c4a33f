#!/usr/bin/env bash
# tests/sass_limits.sh on constructed cuobjdump text (no CUDA needed): kernels within the limits
# pass; one over 48 KiB of static shared memory, one whose registers x __launch_bounds__ threads
# exceed 65536, one with no bound (1024 threads assumed), and a dump with no kernel fail, each
# naming the function and the numbers.
#   usage: sass_limits_test.sh SASS_LIMITS_SH
set -euo pipefail
script=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sass_limits_test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0

# kernel NAME REG SHARED [MAX_THREADS x y z]: both dumps' lines for one function
kernel() {
    printf ' Function %s:\n  REG:%s STACK:0 SHARED:%s LOCAL:0 CONSTANT[0]:412 TEXTURE:0\n' "$1" "$2" "$3"
    [ $# -gt 3 ] || return 0
    printf '.nv.info.%s\n\t<0x1>\n\tAttribute:\tEIATTR_MAX_THREADS\n\tFormat:\tEIFMT_SVAL\n\tValue:\t%s %s %s \n' \
        "$1" "$4" "$5" "$6"
}

# expect RC WANT_TEXT NAME: run the check on $tmp/dump
expect() {
    local rc=0 out
    out=$(bash "$script" --dump "$tmp/dump" 2>&1) || rc=$?
    if [ "$rc" -ne "$1" ] || ! grep -qF -- "$2" <<<"$out"; then
        echo "FAIL $3: exit $rc (want $1), want '$2' in:" >&2
        echo "$out" >&2
        failures=$((failures + 1))
    else
        echo "ok   $3"
    fi
}

# sm_90 counts the system's 1 KiB in SHARED, sm_80 does not
{ echo 'arch = sm_90'; kernel _Z3fitv 255 50176 0x100 0x1 0x1; kernel _Z5smallv 32 0 0x80 0x1 0x1
  echo 'arch = sm_80'; kernel _Z4fit8v 255 49152 0x100 0x1 0x1; } >"$tmp/dump"
expect 0 "all 3 kernel functions within the limits" "at the limits (48 KiB, 256 x 256 registers)"

{ echo 'arch = sm_90'; kernel _Z3fitv 32 0 0x100 0x1 0x1; kernel _Z6bigsmemv 40 50180 0x80 0x1 0x1; } >"$tmp/dump"
expect 1 "_Z6bigsmemv: REG 40, static shared 49156 B, threads 128 (__launch_bounds__); static shared memory 49156 B > 48 KiB" \
    "sm_90: static shared memory one word over 48 KiB"

{ echo 'arch = sm_80'; kernel _Z6bigsmemv 40 49156 0x80 0x1 0x1; } >"$tmp/dump"
expect 1 "static shared memory 49156 B > 48 KiB" "sm_80: static shared memory one word over 48 KiB"

kernel _Z4regsv 129 0 0x200 0x1 0x1 >"$tmp/dump" # 129 registers: allocated as 136
expect 1 "136 registers x 512 threads = 69632 > 65536" "registers x __launch_bounds__ over 65536"

kernel _Z7unboundv 72 0 >"$tmp/dump"
expect 1 "threads 1024 (no bound: 1024); 72 registers x 1024 threads = 73728 > 65536" \
    "no __launch_bounds__: 1024 threads"

kernel _Z7unboundv 64 0 >"$tmp/dump"
expect 0 "within the limits" "no __launch_bounds__, 64 registers"

printf 'Fatbin elf code:\n================\narch = sm_90\n' >"$tmp/dump"
expect 1 "no kernel function found" "a dump with no kernel"

rc=0
bash "$script" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || { echo "FAIL no arguments: exit $rc, want 2" >&2; failures=$((failures + 1)); }

# without cuobjdump the check cannot run: skipped (77), where the toolkit does not have it either
if [ ! -x /usr/local/cuda/bin/cuobjdump ]; then
    rc=0
    env -u CUDA_HOME -u ATTNBENCH_TOOLS PATH=/usr/bin:/bin bash "$script" "$script" >/dev/null 2>&1 || rc=$?
    [ "$rc" -eq 77 ] || { echo "FAIL no cuobjdump: exit $rc, want 77" >&2; failures=$((failures + 1)); }
fi

[ "$failures" -eq 0 ] || { echo "sass_limits_test: $failures case(s) failed" >&2; exit 1; }
echo "sass_limits_test: all cases pass"
