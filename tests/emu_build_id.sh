#!/usr/bin/env bash
# The harness refuses an emulator module built from other sources than itself: a copy of the
# module whose build id is changed (as a module not rebuilt after a kernel edit would carry)
# must give exit 2 and a message naming both ids, never a run of stale kernels; the module as
# built must load.
#   usage: emu_build_id.sh ATTNBENCH MODULE.so
set -u
bin=$1 mod=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/emu-build-id.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "emu_build_id: FAIL: $*" >&2; exit 1; }
args=(--suite mhsa --variant '^tiled$' --backend emu --check --shape N=17,B=1,H=1)

ATTNBENCH_EMU_LIB=$mod "$bin" "${args[@]}" >"$tmp/ok.out" 2>&1 ||
    fail "the module as built: exit $?: $(tail -n 5 "$tmp/ok.out")"
grep -q ' ok ' "$tmp/ok.out" || fail "the module as built: no ok row: $(cat "$tmp/ok.out")"

old=$("$bin" --version | sed -n 's/.* build-id \([0-9a-f]*\).*/\1/p')
[ -n "$old" ] || fail "no build id in '$("$bin" --version)'"
grep -qa "$old" "$mod" || fail "the module $mod does not carry the build id $old"
new=$(printf '%s' "$old" | tr '0-9a-f' '1-9a-f0')
LC_ALL=C sed "s/$old/$new/" "$mod" >"$tmp/stale.so"
ATTNBENCH_EMU_LIB=$tmp/stale.so "$bin" "${args[@]}" >"$tmp/stale.out" 2>&1
rc=$?
[ $rc = 2 ] || fail "a module of another build id: exit $rc, want 2: $(tail -n 5 "$tmp/stale.out")"
grep -q "built from other sources.*build id $new, this program $old" "$tmp/stale.out" ||
    fail "the message must name both ids: $(cat "$tmp/stale.out")"
echo "emu_build_id: ok"
