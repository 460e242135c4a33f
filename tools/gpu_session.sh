#!/usr/bin/env bash
# gpu_session.sh - what a lent GPU is for, in as few calls as possible.
#
#   tools/gpu_session.sh STAGE...
#
# Stages (run in the order given; a failing stage is recorded and the next one runs):
#   build        configure and build build-gpu/ (sm_90 only, no tests: no Criterion there)
#   info         device, driver, toolkit, PyTorch versions -> logs/info.txt
#   calibrate    attnbench --calibrate -> results/<device>/calibration.txt
#   check        every GPU variant of every suite, --check at the default case and at the
#                suite's check shapes (--check-shapes) -> results/<device>/check-<suite>.csv
#   sweep:S,...  the GPU sweep of each suite S (checked, then timed) -> results/<device>/<S>.csv;
#                S@I/N runs shard I of N of it (--shard), for a sweep longer than one call
#   peers:S,...  bench/peers/peers.py on suite S's sweep -> results/<device>/peers-<S>.csv
#   floors       attnbench floors over results/<device>/*.csv -> results/<device>/floors.md
#   summary      tools/summarize.py over results/<device>/*.csv (ok/fail/skip per variant)
#   ncu          Nsight Compute on the fused kernels at the floors' shapes, and the cuBLAS
#                baseline's GEMM share of the measured peak -> ncu/*.txt
#
# Everything lands under $OUT (the device tool's output folder; default gpu-session/), with one
# log per stage in $OUT/logs/. Each stage runs under its own time limit (STAGE_LIMIT seconds,
# default 480) so that one call of the device tool (10 minutes) always comes back with what was
# done. The last lines printed are a summary table: stage, status, seconds.
#
# Timing settings for sweeps are lighter than attnbench's defaults, to fit a 30-minute lease:
# SWEEP_ARGS (default: --warmup 2 --min-samples 5 --max-time 0.5). Plots are rendered here
# afterwards (the GPU machine has no gnuplot): plots/render.sh, see results/README.md.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
OUT=${OUT:-$here/gpu-session}
BUILD=${BUILD:-build-gpu}
BIN=$BUILD/attnbench
STAGE_LIMIT=${STAGE_LIMIT:-480}
SWEEP_ARGS=${SWEEP_ARGS:---warmup 2 --min-samples 5 --max-time 0.5}
# every suite the binary knows, in its --list order (known once the build stage has run)
suites_all() { "$BIN" --list-suites; }
mkdir -p "$OUT/logs"

device_dir() {
    local name
    name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
    [ -n "$name" ] || name=no-gpu
    printf '%s' "$name" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g'
}
DEV=$(device_dir)
R=$OUT/results/$DEV
mkdir -p "$R"

summary=()
record() { summary+=("$(printf '%-22s %-6s %6ss  %s' "$1" "$2" "$3" "$4")"); }

stage_build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" -Dtests=disabled -Demu=disabled -Dgpu_archs=90 || return 1
    fi
    ninja -C "$BUILD" attnbench
}

stage_info() {
    {
        date -u +%Y-%m-%dT%H:%M:%SZ
        nvidia-smi || true
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.sm,power.limit \
            --format=csv || true
        nvcc --version | tail -n 2 || true
        git rev-parse --short=12 HEAD 2>/dev/null || true
        python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))' || true
        command -v ncu && ncu --version | tail -n 1 || true
    } >"$OUT/logs/info.txt" 2>&1
    head -n 40 "$OUT/logs/info.txt"
}

stage_calibrate() {
    "$BIN" --calibrate | tee "$R/calibration.txt"
    [ -s "$R/calibration.txt" ]
}

stage_check() {
    local s rc=0
    for s in $(suites_all); do
        # the default case first, then the awkward shapes
        "$BIN" --suite "$s" --backend gpu --check --csv "$R/check-$s.csv" || rc=1
        "$BIN" --suite "$s" --backend gpu --check --check-shapes --isolate \
            --csv "$R/check-$s.csv" || rc=1
    done
    # every GPU variant must have passed somewhere, and none failed anywhere
    python3 tools/summarize.py "$R"/check-*.csv || rc=1
    return $rc
}

stage_summary() {
    python3 tools/summarize.py "$R"/*.csv
}

stage_sweep() {
    local s rc=0 shard
    for s in ${1//,/ }; do
        shard=()
        case $s in *@*) shard=(--shard "${s#*@}"); s=${s%@*} ;; esac
        # shellcheck disable=SC2086
        "$BIN" --suite "$s" --sweep --backend gpu --no-plots $SWEEP_ARGS "${shard[@]}" \
            --csv "$R/$s.csv" || rc=1
    done
    return $rc
}

stage_peers() {
    local s rc=0 cal=()
    [ -s "$R/calibration.txt" ] && cal=(--calibration "$R/calibration.txt")
    # the peers proven equal to our definitions first (torch-halo against our reference)
    python3 bench/peers/peers.py --attnbench "$BIN" --self-test || return 1
    for s in ${1//,/ }; do
        # shellcheck disable=SC2086
        python3 bench/peers/peers.py --attnbench "$BIN" --suite "$s" --sweep \
            --csv "$R/peers-$s.csv" "${cal[@]}" $SWEEP_ARGS || rc=1
    done
    return $rc
}

stage_floors() {
    "$BIN" floors --markdown "$R/floors.md" "$R"/*.csv
}

# Nsight Compute: one profile of each fused kernel at the floors' shapes (text report), and the
# per-kernel durations of the cuBLAS baseline at N = 4096, d = 128, whose GEMM kernels must reach
# 70% of the measured bf16 peak (the floor that keeps the baseline honest).
stage_ncu() {
    command -v ncu >/dev/null || { echo "ncu not found"; return 1; }
    mkdir -p "$OUT/ncu"
    local rc=0 one=(--check --no-isolate --no-calibrate)
    local mhsa_shape=N=4096,d=128,tokens=16384,D=2048
    local halo_shape=B=8,C=512,H=64,W=64,block=8,halo=3,heads=8,d=64
    prof() { # name, kernel regex, attnbench args...
        local name=$1 kre=$2
        shift 2
        ncu --clock-control none --set detailed -k "regex:$kre" --launch-count 1 \
            -o "$OUT/ncu/$name" -f "$BIN" "$@" "${one[@]}" >"$OUT/ncu/$name.log" 2>&1 || return 1
        ncu --import "$OUT/ncu/$name.ncu-rep" --page details >"$OUT/ncu/$name.txt" 2>&1
        grep -E "Duration|Throughput|Registers|Achieved Occupancy|Bank|Warp Cycles|Eligible" \
            "$OUT/ncu/$name.txt" | head -n 40
    }
    prof mhsa-fused mhsa_fused --suite mhsa --variant '^fused$' --shape "$mhsa_shape" || rc=1
    prof halo-fused halo_fused --suite halo --variant '^fused$' --shape "$halo_shape" || rc=1
    prof sge-fused sge_fused --suite sge --variant '^fused$' --shape B=64,C=2048,G=64,H=28 || rc=1
    prof shuffle-fused shuffle --suite shuffle --variant '^fused$' --shape B=64,C=2048,G=64,H=28 || rc=1
    # The baseline's GEMM share: every kernel's duration in one run of cublas-bf16.
    ncu --clock-control none --metrics gpu__time_duration.sum --csv "$BIN" --suite mhsa \
        --variant '^cublas-bf16$' --shape "$mhsa_shape" "${one[@]}" >"$OUT/ncu/mhsa-cublas.csv" \
        2>"$OUT/ncu/mhsa-cublas.log" || rc=1
    python3 tools/gemm_share.py "$OUT/ncu/mhsa-cublas.csv" "$R/calibration.txt" \
        "$mhsa_shape" | tee "$R/cublas-gemm-share.txt" || rc=1
    return $rc
}

run_stage() {
    local name=$1 fn=$2 arg=${3:-} t0 rc
    t0=$(date +%s)
    echo "=== $name ($(date -u +%H:%M:%S))"
    timeout --signal=TERM --kill-after=20 "$STAGE_LIMIT" bash -c "$fn \"\$1\"" _ "$arg" \
        >"$OUT/logs/$name.log" 2>&1
    rc=$?
    tail -n 15 "$OUT/logs/$name.log"
    local st=ok
    [ $rc -eq 0 ] || st=FAIL
    [ $rc -eq 124 ] && st=TIME
    record "$name" "$st" "$(($(date +%s) - t0))" "log: logs/$name.log"
}

export -f stage_build stage_info stage_calibrate stage_check stage_sweep stage_peers stage_floors \
    stage_ncu stage_summary suites_all
export BIN R OUT BUILD SWEEP_ARGS
[ $# -gt 0 ] || { sed -n 2,26p "$0"; exit 2; }
for st in "$@"; do
    case $st in
    build) run_stage build stage_build ;;
    info) run_stage info stage_info ;;
    calibrate) run_stage calibrate stage_calibrate ;;
    check) run_stage check stage_check ;;
    sweep:*) run_stage "sweep-$(printf '%s' "${st#sweep:}" | tr '@/' '__')" stage_sweep "${st#sweep:}" ;;
    peers:*) run_stage "peers-${st#peers:}" stage_peers "${st#peers:}" ;;
    floors) run_stage floors stage_floors ;;
    ncu) run_stage ncu stage_ncu ;;
    summary) run_stage summary stage_summary ;;
    *) echo "gpu_session.sh: unknown stage '$st' (see tools/gpu_session.sh without arguments)" >&2
       exit 2 ;;
    esac
done
echo
echo "device folder: results/$DEV"
printf '%s\n' "${summary[@]}"
