#!/usr/bin/env bash
# gpu_build.sh - build the binary a lent GPU runs, here, before the lease (docs/gpu-lease.md).
#
#   tools/gpu_build.sh [BUILD_DIR]      (default build-gpu/)
#
# sm_90 code only (the lent GPUs are H100/H200), CUDA required (-Dcuda=enabled: a machine
# without nvcc fails here instead of giving a CPU-only binary), no tests and no emulator (the
# GPU machine has no Criterion). The binary carries an RPATH to this toolkit's libraries; the
# device tool carries BUILD_DIR/attnbench with the tree (`carry: ["build-gpu"]`).
# Beside it, BUILD_DIR/wgmma-probe: tools/wgmma-probe/probe.cu for sm_90a (the real wgmma; the
# CUDA runtime linked statically), which tools/gpu_session.sh runs first.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-gpu}
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dcuda=enabled -Dtests=disabled -Demu=disabled -Dgpu_archs=90 >/dev/null
fi
ninja -C "$dir" attnbench >/dev/null
tools/wgmma-probe/build.sh "$dir/wgmma-probe"
size=$(du -m "$dir/attnbench" | cut -f1)
echo "gpu_build: $dir/attnbench (${size} MiB), $(readelf -d "$dir/attnbench" | grep -o 'R.*PATH.*' | head -n 1)"
echo "gpu_build: $dir/wgmma-probe (sm_90a)"
