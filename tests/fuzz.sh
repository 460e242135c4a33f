#!/usr/bin/env bash
# Runs the libFuzzer target tests/fuzz_cli.c for a bounded time (meson test --suite fuzz):
#   fuzz.sh FUZZER SECONDS SEEDS_DIR DICT ARTIFACTS_DIR
# New corpus entries go to a temporary directory (the seeds in the source tree are only read);
# a crashing, leaking or hanging input is kept in ARTIFACTS_DIR and printed, with the command
# that replays it. Exit status: the fuzzer's (0: nothing found).
set -euo pipefail
fuzzer=$1 seconds=$2 seeds=$3 dict=$4 artifacts=$5
corpus=$(mktemp -d "${TMPDIR:-/tmp}/attnbench-fuzz.XXXXXX")
trap 'rm -rf -- "$corpus"' EXIT
rm -rf -- "$artifacts"
mkdir -p "$artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
# libFuzzer's own failure status is 77, which meson reads as "skipped": ask for 1.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -error_exitcode=1 -timeout_exitcode=1 \
  -rss_limit_mb=2048 -dict="$dict" \
  -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds" || status=$?
if [ "$status" -ne 0 ]; then
  for f in "$artifacts"/*; do
    [ -f "$f" ] || continue
    echo "fuzz: failing input $f (replay: $fuzzer $f):"
    od -c "$f" | head -20
  done
fi
exit "$status"
