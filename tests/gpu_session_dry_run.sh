#!/usr/bin/env bash
# tools/gpu_session.sh --dry-run, as CI runs it so that the GPU script cannot rot between
# leases: the first call's stages on a machine without a GPU (check on the emulator, timing as
# plans) must pass and leave 1 to 8 files under $OUT, one of them the archive, holding a check
# CSV for every suite, the summary and the wgmma probe's output, which must equal its stored
# answers; then, with a planted difference in those answers (a copy of expected.txt with one
# mode's hash changed), the probe stage must fail and the summary name that mode and mark the
# wgmma variants UNTRUSTED.
#   usage: gpu_session_dry_run.sh SOURCE_ROOT ATTNBENCH [EMU_MODULE [WGMMA_PROBE_EMU]]
set -u
root=$1 bin=$(realpath "$2") mod=${3:-} probe=${4:-}
[ -n "$mod" ] && [ -f "$mod" ] || { echo "gpu_session_dry_run: no emulator in this build: skipped"; exit 77; }
mod=$(realpath "$mod") # the script runs from the repository root
[ -n "$probe" ] && probe=$(realpath "$probe")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpu-session-dry.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "gpu_session_dry_run: FAIL: $*" >&2; exit 1; }

OUT=$tmp/out BIN=$bin PROBE=$probe ATTNBENCH_EMU_LIB=$mod bash "$root/tools/gpu_session.sh" --dry-run \
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
grep -q "^probe  *ok" "$tmp/out/summary.txt" || fail "probe stage not ok: $(cat "$tmp/out/summary.txt")"
grep -q "^wgmma probe: OK ([0-9]* modes)" "$tmp/out/summary.txt" || fail "the summary has no probe verdict"
grep -q "^layout-map [0-9a-f]*" "$tmp/x/probe/wgmma-probe.txt" || fail "no probe output in the archive"

# The planted difference: the probe stage alone (the budget spent after it), one mode changed.
m=ss.bf16.n64.128b.a-k.b-k.d1.koff32
sed "s/^$m [0-9a-f]*/$m 0123456789abcdef/" "$root/tools/wgmma-probe/expected.txt" >"$tmp/planted.txt"
OUT=$tmp/out2 BIN=$bin PROBE=$probe PROBE_EXPECTED=$tmp/planted.txt BUDGET=31 RESERVE=20 \
    ATTNBENCH_EMU_LIB=$mod bash "$root/tools/gpu_session.sh" --dry-run >"$tmp/log2" 2>&1
rc=$?
[ $rc = 1 ] || fail "a planted probe difference: exit $rc, want 1: $(tail -n 20 "$tmp/log2")"
grep -q "^probe  *FAIL" "$tmp/out2/summary.txt" || fail "probe stage not FAIL: $(cat "$tmp/out2/summary.txt")"
grep -q "^  DIFFERS $m (expected 0123456789abcdef" "$tmp/out2/summary.txt" ||
    fail "the summary does not name the planted mode: $(cat "$tmp/out2/summary.txt")"
grep -q "^UNTRUSTED: the check results of the wgmma variants" "$tmp/out2/summary.txt" ||
    fail "the summary does not mark the wgmma variants untrusted: $(cat "$tmp/out2/summary.txt")"
echo "gpu_session_dry_run: ok ($n files, $(du -k "$archives" | cut -f1) KiB archive)"
