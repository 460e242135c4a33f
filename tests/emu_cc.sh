#!/usr/bin/env bash
# tools/emu-cc: its usage errors (exit 2, naming what is wrong); the example CUDA plugin it
# builds is checked ok under --backend emu and skipped, saying why, by the other backends; and a
# .emu.so whose build id is not this program's (as one compiled before the tree changed would
# carry) is refused with exit 2, naming the file and telling to compile it again.
#   usage: emu_cc.sh SOURCE_ROOT BUILD_DIR
set -u
root=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
bin=$build/attnbench emucc=$root/tools/emu-cc
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emu-cc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "emu_cc: FAIL: $*" >&2; exit 1; }
export ATTNBENCH_BUILD=$build

usage() { # WORD ARGS...
    local word=$1 rc=0
    shift
    "$emucc" "$@" >out 2>&1 || rc=$?
    [ $rc = 2 ] || fail "emu-cc $*: exit $rc, want 2: $(cat out)"
    grep -qF -- "$word" out || fail "emu-cc $*: message lacks '$word': $(cat out)"
}
usage "no output (-o OUT.emu.so)" "$root/examples/plugin/mhsa_tiled.cu"
usage "no such source file: nothere.cu" nothere.cu -o x.so
usage "no source file" -o x.so
ATTNBENCH_BUILD=$tmp/nobuild usage "has no emulator runtime" "$root/examples/plugin/mhsa_tiled.cu" -o x.so

"$emucc" "$root/examples/plugin/mhsa_tiled.cu" -o tiled.emu.so >build.out 2>&1 ||
    fail "emu-cc of the example: exit $?: $(cat build.out)"
args=(--suite mhsa --variant '^my-tiled$' --check --shape N=40,B=1,H=2,d=32,causal=1)
"$bin" --plugin ./tiled.emu.so --backend emu "${args[@]}" >ok.out 2>&1 ||
    fail "the example under --backend emu: exit $?: $(cat ok.out)"
grep -E "my-tiled +f32 +ok" ok.out >/dev/null || fail "no ok row: $(cat ok.out)"
"$bin" --plugin ./tiled.emu.so "${args[@]}" >cpu.out 2>&1
rc=$?
[ $rc = 3 ] || fail "the .emu.so outside --backend emu: exit $rc, want 3: $(cat cpu.out)"
grep -q "skip .*compiled for the host emulator (tools/emu-cc): runs under --backend emu only" \
    cpu.out || fail "no skip row saying why: $(cat cpu.out)"

old=$("$bin" --version | sed -n 's/.* build-id \([0-9a-f]*\).*/\1/p')
[ -n "$old" ] && grep -qa "$old" tiled.emu.so || fail "tiled.emu.so does not carry the build id '$old'"
new=$(printf '%s' "$old" | tr '0-9a-f' '1-9a-f0')
LC_ALL=C sed "s/$old/$new/" tiled.emu.so >stale.emu.so
"$bin" --plugin ./stale.emu.so --backend emu "${args[@]}" >stale.out 2>&1
rc=$?
[ $rc = 2 ] || fail "a stale .emu.so: exit $rc, want 2: $(cat stale.out)"
grep -q "plugin ./stale.emu.so: compiled for the emulator of other sources (build id $new, this program $old): compile it again with tools/emu-cc" stale.out ||
    fail "the message must name the file, both ids and the fix: $(cat stale.out)"
echo "emu_cc: ok"
