#!/usr/bin/env bash
# tools/wgmma-probe on the emulator: its answers equal the stored ones (expected.txt, which the
# GPU session compares the hardware's with) and those of model.py, the PTX ISA read a second
# time in Python; every mode agrees with the probe's own host reading (--verbose); a planted
# difference (an edited copy of expected.txt) is named by mode and exits 1; each misreading
# planted in model.py (WGMMA_MODEL_PLANT: of wgmma's operands or of TMA's boxes) differs in
# exactly the modes that can see it, so the probe's modes catch it on a GPU; bad usage exits 2.
#   usage: wgmma_probe.sh SOURCE_ROOT WGMMA_PROBE_EMU
set -u
root=$(cd "$1" && pwd) probe=$2
dir=$root/tools/wgmma-probe
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wgmma-probe.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "wgmma_probe: FAIL: $*" >&2; exit 1; }

"$probe" --verbose >"$tmp/emu.txt" 2>"$tmp/emu.err"
rc=$?
[ $rc = 0 ] || fail "the emulated probe: exit $rc: $(tail -n 5 "$tmp/emu.txt" "$tmp/emu.err")"
bash "$dir/compare.sh" "$dir/expected.txt" "$tmp/emu.txt" >"$tmp/cmp.txt" ||
    fail "the emulator differs from expected.txt:
$(cat "$tmp/cmp.txt")"
grep -q '^OK ([0-9]* modes)' "$tmp/cmp.txt" || fail "compare.sh did not say OK: $(cat "$tmp/cmp.txt")"
n=$(grep -vc '^#' "$tmp/emu.txt")
[ "$(grep -c '  as the ISA reads$' "$tmp/emu.txt")" = "$n" ] ||
    fail "modes the probe's own ISA reading disagrees with: $(grep -v 'as the ISA reads$' "$tmp/emu.txt" | grep -v '^#' | head -n 5)"

"$probe" --list >"$tmp/list.txt" || fail "wgmma-probe --list: exit $?"
python3 "$dir/model.py" <"$tmp/list.txt" >"$tmp/model.txt" || fail "model.py: exit $?"
bash "$dir/compare.sh" "$dir/expected.txt" "$tmp/model.txt" >"$tmp/cmp-model.txt" ||
    fail "model.py's reading of the ISA differs from the emulator's (expected.txt):
$(cat "$tmp/cmp-model.txt")"

# A planted difference, in two modes fused-wgmma relies on, is named mode by mode.
planted="rs.bf16.n128.128b.a-reg.b-mn.d1 ss.bf16.n64.128b.a-k.b-k.d1.koff32"
cp "$dir/expected.txt" "$tmp/planted.txt"
for m in $planted; do
    grep -q "^$m " "$tmp/planted.txt" || fail "expected.txt has no mode $m"
    sed -i "s/^$m [0-9a-f]*/$m 0123456789abcdef/" "$tmp/planted.txt"
done
bash "$dir/compare.sh" "$tmp/planted.txt" "$tmp/emu.txt" >"$tmp/cmp-planted.txt"
rc=$?
[ $rc = 1 ] || fail "a planted difference: compare.sh exit $rc, want 1: $(cat "$tmp/cmp-planted.txt")"
for m in $planted; do
    grep -q "^DIFFERS $m (expected 0123456789abcdef, got " "$tmp/cmp-planted.txt" ||
        fail "the planted mode $m is not named: $(cat "$tmp/cmp-planted.txt")"
done
[ "$(grep -c '^DIFFERS' "$tmp/cmp-planted.txt")" = 2 ] || fail "more than the planted modes named: $(cat "$tmp/cmp-planted.txt")"

# Misreadings of the ISA, planted in the model: the modes that differ are exactly those meant to.
# A TMA plant (tma-*) lives in model.py's TMA reading alone, which no wgmma mode goes through:
# it is run over the TMA modes only (a tenth of a second, where every mode takes seconds).
grep -E '^(#|tma\.)' "$tmp/list.txt" >"$tmp/list-tma.txt"
grep -E '^(#|tma\.)' "$dir/expected.txt" >"$tmp/expected-tma.txt"
plant() { # NAME ERE-OF-THE-MODES-IT-MUST-CHANGE
    local list=$tmp/list.txt exp=$dir/expected.txt
    case $1 in tma-*) list=$tmp/list-tma.txt exp=$tmp/expected-tma.txt ;; esac
    WGMMA_MODEL_PLANT=$1 python3 "$dir/model.py" <"$list" >"$tmp/model-$1.txt" ||
        fail "model.py with plant $1: exit $?"
    bash "$dir/compare.sh" "$exp" "$tmp/model-$1.txt" >"$tmp/cmp-$1.txt"
    local rc=$?
    [ $rc = 1 ] || fail "plant $1: compare.sh exit $rc, want 1"
    sed -n 's/^DIFFERS \([^ ]*\) .*/\1/p' "$tmp/cmp-$1.txt" | sort >"$tmp/got-$1.txt"
    grep -v '^#' "$exp" | cut -d' ' -f1 | grep -E "$2" | sort >"$tmp/want-$1.txt"
    [ -s "$tmp/want-$1.txt" ] || fail "plant $1: no mode matches $2"
    cmp -s "$tmp/got-$1.txt" "$tmp/want-$1.txt" ||
        fail "plant $1 changes other modes than $2: $(diff "$tmp/want-$1.txt" "$tmp/got-$1.txt" | head -n 6)"
}
plant swizzle-from-start '\.koff[0-9]+$'                         # K steps inside a swizzled row
plant mn-lbo-sbo-swapped '\.(32b|64b|128b)\.(a-mn|.*b-mn)'        # MN-major swizzled, A or B
plant d-rows-first '^layout-map$'                                 # the accumulator layout
plant tma-swizzle-span-rows '^tma\..*\.(32b|64b)\.'                # TMA: every 32B and 64B box
plant tma-oob-next-row '^tma\..*\.inner-past-end$'                  # TMA: zeros past a row's end
plant tma-rows-unchecked '^tma\..*\.(rows-past-end|rows-heads-past-end|mhsa-.*)$' # ... past the last row
plant tma-negative-clamped '^tma\..*\.negative$'                    # TMA: zeros before the start

"$probe" --bogus >"$tmp/usage.txt" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "unknown argument '--bogus'" "$tmp/usage.txt" || fail "probe --bogus: exit $rc: $(cat "$tmp/usage.txt")"
echo "not a listing" | python3 "$dir/model.py" >/dev/null 2>&1
rc=$?
[ $rc = 2 ] || fail "model.py on a bad listing: exit $rc, want 2"
echo "tma.2d.none.x tma 2 none 72 50 1 160 8000 40 16 1" | python3 "$dir/model.py" >"$tmp/bad-tma.txt" 2>&1
rc=$?
[ $rc = 2 ] && grep -q "not a line of .*tma.2d.none.x" "$tmp/bad-tma.txt" ||
    fail "model.py on a short TMA line: exit $rc, want 2 naming it: $(cat "$tmp/bad-tma.txt")"
echo "wgmma_probe: ok ($n modes: emulator = expected.txt = model.py; planted differences named, planted misreadings seen by their modes)"
