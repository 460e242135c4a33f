#!/usr/bin/env bash
# build.sh OUT: the probe for sm_90a with nvcc (the real wgmma; CUDA runtime linked statically, so
# OUT needs only the driver), rebuilt only when a source is newer than OUT. Used by
# tools/gpu_build.sh (here, before a lease) and tools/gpu_session.sh (there, when none was carried).
set -euo pipefail
[ $# = 1 ] || { echo "usage: tools/wgmma-probe/build.sh OUT" >&2; exit 2; }
cd "$(dirname "$0")/../.."
out=$1
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
for f in tools/wgmma-probe/probe.cu kernels/common/wgmma.cuh kernels/common/tma.cuh \
         kernels/common/launch.cuh; do
    [ "$out" -nt "$f" ] || {
        mkdir -p "$(dirname "$out")"
        exec nvcc -std=c++17 -O2 -gencode arch=compute_90a,code=sm_90a -I kernels/common \
            tools/wgmma-probe/probe.cu -o "$out"
    }
done
