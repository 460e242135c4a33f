#!/usr/bin/env bash
# tools/gpu_session.sh --dry-run, as CI runs it so that the GPU script cannot rot between
# leases: the first call's stages on a machine without a GPU (check on the emulator, timing as
# plans) must pass and leave 1 to 8 files under $OUT, one of them the archive, holding a check
# CSV for every suite and the summary.
#   usage: gpu_session_dry_run.sh SOURCE_ROOT ATTNBENCH [EMU_MODULE]
set -u
root=$1 bin=$(realpath "$2") mod=${3:-}
[ -n "$mod" ] && [ -f "$mod" ] || { echo "gpu_session_dry_run: no emulator in this build: skipped"; exit 77; }
mod=$(realpath "$mod") # the script runs from the repository root
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpu-session-dry.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "gpu_session_dry_run: FAIL: $*" >&2; exit 1; }

OUT=$tmp/out BIN=$bin ATTNBENCH_EMU_LIB=$mod bash "$root/tools/gpu_session.sh" --dry-run \
    >"$tmp/log" 2>&1
rc=$?
[ $rc = 0 ] || fail "exit $rc:
$(tail -n 40 "$tmp/log")"
n=$(find "$tmp/out" -type f | wc -l)
[ "$n" -ge 1 ] && [ "$n" -le 8 ] || fail "$n files under \$OUT (the device tool brings back 8)"
archives=$(find "$tmp/out" -name '*.tar.gz')
[ "$(echo "$archives" | grep -c .)" = 1 ] || fail "want one archive, found: $archives"
mkdir "$tmp/x" && tar -xzf "$archives" -C "$tmp/x" || fail "cannot unpack $archives"
[ -f "$tmp/x/summary.txt" ] || fail "no summary.txt in the archive"
for s in $("$bin" --list-suites); do
    f=$tmp/x/results/dry-run/check-$s.csv
    [ -s "$f" ] || fail "no check CSV for suite $s in the archive"
    grep -q ",emu," "$f" || fail "check-$s.csv has no emulated row"
done
ls "$tmp/x/results/dry-run"/floors-*.csv >/dev/null 2>&1 || fail "no floors plan rows"
grep -q "^check  *ok" "$tmp/out/summary.txt" || fail "check stage not ok: $(cat "$tmp/out/summary.txt")"
echo "gpu_session_dry_run: ok ($n files, $(du -k "$archives" | cut -f1) KiB archive)"
