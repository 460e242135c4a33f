#!/usr/bin/env bash
# gpu_session.sh - what a lent GPU is for, in one prepared call (docs/gpu-lease.md).
#
#   tools/gpu_session.sh [--dry-run] [first|second]
#
# first (the default; about 8 minutes at most, BUDGET seconds): the stages below in priority
# order, each under a time guard taken from what is left of the budget, so that the most
# important results exist even when the call is cut:
#   probe      tools/wgmma-probe ($PROBE, built here by tools/gpu_build.sh; else built there):
#              one wgmma per descriptor, swizzle and transpose mode, compared with the
#              emulator's answers (tools/wgmma-probe/expected.txt); a mode that differs is named
#              in the summary and the wgmma variants' check rows are marked UNTRUSTED there
#   binary     the carried sm_90 binary ($BIN, built here by tools/gpu_build.sh) starts and finds
#              its libraries (ldd); else a fallback build on the machine
#   facts      nvidia-smi -q (clocks, power, ECC), versions, and attnbench --calibrate
#   check      every GPU variant of every suite, --check at its default case and at every check
#              shape of the registry (--check-shapes), isolated, a timeout per case
#   floors     timing at the speed floors' cases (attnbench floors --cases), with the PyTorch
#              peers at the same cases (bench/peers/peers.py) where a floor compares with one
#   sanitizer  compute-sanitizer memcheck on every suite, racecheck and synccheck on the
#              kernels that use shared memory, at each suite's first check shape
# second (only when device time remains): the GPU sweeps in priority order (SWEEP_ORDER),
#   sharded (SWEEP_SHARDS) so that each shard fits what is left of the budget.
#
# After every stage everything is packed again into ONE archive,
#   $OUT/session-<device>-<call>.tar.gz   (results/<device>/*.csv, logs/, facts/, sanitizer/,
#                                          probe/)
# and $OUT/summary.txt is rewritten: a stage table and tools/summarize.py's verdicts. Those two
# are all that is left under $OUT (the device tool brings back at most 8 files). Import with
# tools/import_session.sh ARCHIVE.
#
# --dry-run runs the same stages on a machine without a GPU: the probe on the emulator
# ($PROBE: build/tests/wgmma-probe-emu), check on the emulator at the same shapes, timing
# stages as --plan rows, the sanitizer stage as the commands it would run; the archive has the
# same shape (a CSV per suite). CI runs it (tests/gpu_session_dry_run.sh).
#
# Exit status: 0 when every stage passed, 1 when one failed or ran out of time, 2 bad usage.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
dry=0
call=first
for a in "$@"; do
    case $a in
    --dry-run) dry=1 ;;
    first|second) call=$a ;;
    -h|--help) sed -n 2,37p "$0"; exit 0 ;;
    *) echo "gpu_session.sh: unknown argument '$a' (see tools/gpu_session.sh --help)" >&2; exit 2 ;;
    esac
done
OUT=${OUT:-$here/gpu-session}
BIN=${BIN:-build-gpu/attnbench}
PROBE=${PROBE:-$([ $dry = 1 ] && echo build/tests/wgmma-probe-emu || echo build-gpu/wgmma-probe)}
PROBE_EXPECTED=${PROBE_EXPECTED:-tools/wgmma-probe/expected.txt}  # the emulator's answers
# A dry run checks on the emulator, several times slower than a GPU: its guards and budget are
# DRY_SCALE times the lease's, so that the stages' shape is tested, not the emulator's speed.
SCALE=$([ $dry = 1 ] && echo "${DRY_SCALE:-4}" || echo 1)
BUDGET=${BUDGET:-$(( ($([ $call = first ] && echo 480 || echo 540)) * SCALE ))}
RESERVE=${RESERVE:-20}        # seconds kept back for the last pack
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
SWEEP_ARGS=${SWEEP_ARGS:---warmup-ms 100 --min-samples 5 --max-time 0.5}
SWEEP_ORDER=${SWEEP_ORDER:-}  # empty: mhsa, halo, then the rest in --list order
SWEEP_SHARDS=${SWEEP_SHARDS:-4}
t_start=$(date +%s)

W=$(mktemp -d "${TMPDIR:-/tmp}/gpu-session.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$OUT" "$W/logs" "$W/facts" "$W/sanitizer" "$W/probe"

device_dir() {
    local name=""
    [ $dry = 1 ] || name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
    [ -n "$name" ] || name=$([ $dry = 1 ] && echo dry-run || echo no-gpu)
    printf '%s' "$name" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g'
}
DEV=$(device_dir)
R=$W/results/$DEV
mkdir -p "$R"
ARCHIVE=$OUT/session-$DEV-$call.tar.gz

left() { echo $((BUDGET - RESERVE - ($(date +%s) - t_start))); }

rows=()
status=0
record() {
    rows+=("$(printf '%-10s %-5s %5ss  %s' "$1" "$2" "$3" "$4")")
    [ "$2" = ok ] || [ "$2" = skip ] || status=1
}

# The archive and the summary, rewritten after every stage: a cut call still leaves both.
pack() {
    {
        echo "attnbench GPU session: call $call on $DEV$([ $dry = 1 ] && echo ' (dry run)')"
        echo "stage      state  time  notes"
        printf '%s\n' "${rows[@]}"
        probe_summary
        if compgen -G "$R/*.csv" >/dev/null; then
            echo
            python3 tools/summarize.py "$R"/*.csv 2>&1 | head -n 80
        fi
    } >"$W/summary.txt"
    cp "$W/summary.txt" "$OUT/summary.txt"
    tar -czf "$ARCHIVE.part" -C "$W" results logs facts sanitizer probe summary.txt && \
        mv -f "$ARCHIVE.part" "$ARCHIVE"
}

# The probe's verdict, for the summary: every mode as the emulator computes it, or the modes
# that differ and, as their check rows then say nothing, the wgmma variants marked UNTRUSTED.
probe_summary() {
    local cmp=$W/probe/compare.txt names
    [ -f "$cmp" ] || return 0
    echo
    if grep -q '^OK' "$cmp"; then
        echo "wgmma probe: $(head -n 1 "$cmp"): the hardware reads every wgmma descriptor, swizzle and transpose mode and lands every TMA box as the emulator does"
        return 0
    fi
    echo "wgmma probe: the hardware differs from the emulator (tools/wgmma-probe/expected.txt) in:"
    grep -E '^(DIFFERS|FAILED|MISSING) ' "$cmp" | head -n 40 | sed 's/^/  /'
    names=$("$BIN" --list 2>/dev/null | grep -oE '[A-Za-z0-9_-]*wgmma[A-Za-z0-9_-]*' | sort -u | tr '\n' ' ')
    echo "UNTRUSTED: the check results of the wgmma variants (${names:-none in this binary}): they passed or failed on the emulator's reading of wgmma and TMA, which this GPU does not share"
}

# run_stage NAME CAP FUNCTION: the stage under min(CAP, what is left) seconds.
run_stage() {
    local name=$1 cap=$(($2 * SCALE)) fn=$3 t0 rc lim
    lim=$(left)
    [ "$cap" -lt "$lim" ] && lim=$cap
    if [ "$lim" -lt 10 ]; then
        record "$name" time 0 "not started: the budget is spent"
        pack
        return
    fi
    t0=$(date +%s)
    echo "=== $name (up to ${lim}s, $(date -u +%H:%M:%S))"
    timeout --signal=TERM --kill-after=10 "$lim" bash -c "$fn" >"$W/logs/$name.log" 2>&1
    rc=$?
    tail -n 8 "$W/logs/$name.log"
    local st=ok note="logs/$name.log"
    [ $rc -eq 0 ] || st=FAIL
    [ $rc -eq 124 ] || [ $rc -eq 137 ] && st=time note="cut at ${lim}s; $note"
    [ $rc -eq 77 ] && st=skip
    record "$name" "$st" "$(($(date +%s) - t0))" "$note"
    pack
}

# tools/wgmma-probe: its output and compare.sh's verdict on it (probe/). 77 (skip): no sm_90 device.
stage_probe() {
    local rc
    if [ $dry = 0 ] && ! { [ -x "$PROBE" ] && "$PROBE" --list >/dev/null 2>&1; }; then
        echo "carried probe unusable ($PROBE); building it on the machine"
        PROBE=build-gpu-local/wgmma-probe
        tools/wgmma-probe/build.sh "$PROBE" || return 1
    fi
    [ -x "$PROBE" ] || { echo "no probe $PROBE (tools/gpu_build.sh builds it)"; return 1; }
    "$PROBE" --verbose >"$W/probe/wgmma-probe.txt" 2>"$W/probe/stderr.txt"
    rc=$?
    cat "$W/probe/wgmma-probe.txt"
    [ $rc = 77 ] && return 77
    tools/wgmma-probe/compare.sh "$PROBE_EXPECTED" "$W/probe/wgmma-probe.txt" \
        >"$W/probe/compare.txt" 2>&1
    rc=$?
    cat "$W/probe/compare.txt"
    return $rc
}

stage_binary() {
    if [ $dry = 1 ]; then
        [ -x "$BIN" ] || { echo "no binary $BIN"; return 1; }
        "$BIN" --list-suites >/dev/null
        return
    fi
    if [ -x "$BIN" ] && ! ldd "$BIN" | grep -q 'not found' && "$BIN" --list-suites >/dev/null; then
        ldd "$BIN" | grep -E 'cuda|cublas'
        return 0
    fi
    echo "carried binary unusable; building on the machine (build-gpu-local/)"
    ldd "$BIN" 2>&1 | grep 'not found'
    meson setup build-gpu-local -Dcuda=enabled -Dtests=disabled -Demu=disabled -Dgpu_archs=90 \
        >/dev/null && ninja -C build-gpu-local attnbench || return 1
    echo "BIN=build-gpu-local/attnbench" >"$W/facts/bin.env"
}

stage_facts() {
    {
        date -u +%Y-%m-%dT%H:%M:%SZ
        "$BIN" --version   # the commit and build id the binary was built from
        nvcc --version 2>/dev/null | tail -n 2
        python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' 2>&1 | tail -n 1
        command -v ncu >/dev/null && ncu --version | tail -n 1
        command -v compute-sanitizer >/dev/null && compute-sanitizer --version | tail -n 1
    } >"$W/facts/versions.txt" 2>&1
    cat "$W/facts/versions.txt"
    [ $dry = 1 ] && { echo "dry run: no nvidia-smi, no calibration"; return 0; }
    nvidia-smi -q >"$W/facts/nvidia-smi-q.txt" 2>&1
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm,power.limit,ecc.mode.current \
        --format=csv | tee "$W/facts/nvidia-smi.csv"
    "$BIN" --calibrate | tee "$R/calibration.txt"
    [ -s "$R/calibration.txt" ]
}

stage_check() {
    local s rc=0 be=gpu sels=("" --check-shapes)
    # dry run: the emulator at the check shapes (a default case is sized for a GPU)
    [ $dry = 1 ] && be=emu sels=(--check-shapes)
    for s in $("$BIN" --list-suites); do
        for sel in "${sels[@]}"; do
            # shellcheck disable=SC2086
            "$BIN" --suite "$s" --backend $be --check $sel --isolate --timeout "$CASE_TIMEOUT" \
                --csv "$R/check-$s.csv" || rc=1
        done
    done
    return $rc
}

# One line per floor case from `attnbench floors --cases`: SUITE TAB SHAPE TAB VARIANT-REGEX TAB
# PEER-REGEX (empty: no peer).
stage_floors() {
    local rc=0 suite shape vre pre cal=() plan=()
    [ $dry = 1 ] && plan=(--plan)
    [ -s "$R/calibration.txt" ] && cal=(--calibration "$R/calibration.txt")
    "$BIN" floors --cases >"$W/facts/floor-cases.tsv" || return 1
    while IFS=$'\t' read -r suite shape vre pre; do
        # shellcheck disable=SC2086
        "$BIN" --suite "$suite" --backend gpu --variant "$vre" --shape "$shape" --isolate \
            --timeout "$CASE_TIMEOUT" --no-plots "${plan[@]}" $SWEEP_ARGS \
            --csv "$R/floors-$suite.csv" </dev/null || rc=1
        [ -n "$pre" ] && [ $dry = 0 ] || continue
        python3 bench/peers/peers.py --attnbench "$BIN" --suite "$suite" --shape "$shape" \
            --peers "$pre" --csv "$R/peers-$suite.csv" "${cal[@]}" </dev/null || rc=1
    done <"$W/facts/floor-cases.tsv"
    return $rc
}

# compute-sanitizer on each suite's first check shape: memcheck for every GPU variant,
# racecheck and synccheck for those whose kernels use shared memory (all but naive/cublas).
stage_sanitizer() {
    local s shape tool rc=0 vre
    for s in $("$BIN" --list-suites); do
        shape=$("$BIN" --suite "$s" --list-check-shapes | head -n 1)
        for tool in memcheck racecheck synccheck; do
            vre=.
            [ $tool = memcheck ] || vre='^(tiled|tensor-core|fused.*|local-efficient)$'
            local cmd=(compute-sanitizer --tool "$tool" --error-exitcode 86 "$BIN" --suite "$s"
                       --backend gpu --variant "$vre" --check --no-isolate --shape "$shape")
            if [ $dry = 1 ]; then
                echo "${cmd[*]}" >>"$W/sanitizer/commands.txt"
                continue
            fi
            timeout 120 "${cmd[@]}" >"$W/sanitizer/$s-$tool.txt" 2>&1 || {
                echo "$s $tool: exit $? (sanitizer/$s-$tool.txt)"
                rc=1
            }
        done
    done
    return $rc
}

stage_sweep() {
    local s i rc=0 order plan=()
    [ $dry = 1 ] && plan=(--plan)
    order=${SWEEP_ORDER:-"mhsa halo $("$BIN" --list-suites | grep -vx 'mhsa\|halo' | tr '\n' ' ')"}
    for s in $order; do
        for ((i = 0; i < SWEEP_SHARDS; i++)); do
            # shellcheck disable=SC2086
            "$BIN" --suite "$s" --sweep --backend gpu --no-plots --timeout "$CASE_TIMEOUT" \
                --shard "$i/$SWEEP_SHARDS" "${plan[@]}" $SWEEP_ARGS --csv "$R/$s.csv" \
                </dev/null || rc=1
        done
    done
    return $rc
}

export -f stage_probe stage_binary stage_facts stage_check stage_floors stage_sanitizer stage_sweep
export BIN PROBE PROBE_EXPECTED R W OUT dry CASE_TIMEOUT SWEEP_ARGS SWEEP_ORDER SWEEP_SHARDS

# The probe first: before anything else runs wgmma, whether the hardware reads it as emulated.
[ $call = first ] && run_stage probe 60 stage_probe
run_stage binary 240 stage_binary
[ -f "$W/facts/bin.env" ] && . "$W/facts/bin.env" && export BIN
if [ $call = first ]; then
    run_stage facts 60 stage_facts
    run_stage check 240 stage_check
    run_stage floors 150 stage_floors
    run_stage sanitizer 120 stage_sanitizer
else
    run_stage sweep 100000 stage_sweep
fi
pack
echo
cat "$OUT/summary.txt"
echo "archive: $ARCHIVE"
exit $status
