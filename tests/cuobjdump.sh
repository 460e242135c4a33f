# Sourced by the SASS tests: sets `cuobjdump` to the first executable one of PATH,
# /usr/local/cuda/bin, $CUDA_HOME/bin and $ATTNBENCH_TOOLS/nvidia/*/bin (tests/run's pip
# wheels), or to the empty string.
cuobjdump=
for d in $(dirname "$(command -v cuobjdump 2>/dev/null || echo /nonexistent/x)") /usr/local/cuda/bin \
         ${CUDA_HOME:+"$CUDA_HOME/bin"} ${ATTNBENCH_TOOLS:+"$ATTNBENCH_TOOLS"/nvidia/*/bin}; do
    if [ -x "$d/cuobjdump" ]; then cuobjdump=$d/cuobjdump; break; fi
done
