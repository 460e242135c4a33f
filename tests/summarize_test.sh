#!/usr/bin/env bash
# tools/summarize.py's verdicts on constructed CSVs: a GPU variant whose rows are all skipped
# by its own supports() is "n/a" (exit 0), one skipped because the machine could not run it
# "NEVER RAN" (exit 1), a failed row fails (exit 1), a file that is no results CSV exits 2.
#   usage: summarize_test.sh PYTHON SUMMARIZE_PY
set -u
py=$1 sum=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/summarize-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "summarize_test: FAIL: $*" >&2; exit 1; }
h='suite,variant,backend,dtype,N,status,reason,tflops,max_abs_err,tolerance'
run() { "$py" "$sum" "$@" >"$tmp/out" 2>&1; echo $?; }

printf '%s\n%s\n%s\n%s\n' "$h" \
    'mhsa,fused,gpu,bf16,128,ok,,10.5,0.001,0.01' \
    'additive,tensor-core,gpu,bf16,32,skip,concat scores need the tanh kernel,,,' \
    'additive,tensor-core,gpu,bf16,64,skip,concat scores need the tanh kernel,,,' >"$tmp/na.csv"
[ "$(run "$tmp/na.csv")" = 0 ] || fail "n/a variant: exit $(run "$tmp/na.csv"): $(cat "$tmp/out")"
grep -q 'additive/tensor-core.*n/a (concat scores' "$tmp/out" || fail "no n/a verdict: $(cat "$tmp/out")"
grep -q 'mhsa/fused .* ok$' "$tmp/out" || fail "no ok verdict: $(cat "$tmp/out")"

printf '%s\n%s\n' "$h" 'mhsa,fused,gpu,bf16,128,skip,no CUDA device (none found),,,' >"$tmp/never.csv"
[ "$(run "$tmp/never.csv")" = 1 ] || fail "never ran: want exit 1: $(cat "$tmp/out")"
grep -q 'NEVER RAN (no CUDA device' "$tmp/out" || fail "no NEVER RAN verdict: $(cat "$tmp/out")"

printf '%s\n%s\n' "$h" 'mhsa,tiled,gpu,f32,128,fail,max |err| 3 > tolerance 0.1,,3,0.1' >"$tmp/fail.csv"
[ "$(run "$tmp/fail.csv")" = 1 ] || fail "failed row: want exit 1: $(cat "$tmp/out")"
grep -q '^FAIL mhsa/tiled' "$tmp/out" || fail "failed row not listed: $(cat "$tmp/out")"

printf '%s\n' "$h" >"$tmp/empty.csv"
[ "$(run "$tmp/empty.csv")" = 2 ] || fail "a header without rows: want exit 2: $(cat "$tmp/out")"

printf 'a,b\n1,2\n' >"$tmp/other.csv"
[ "$(run "$tmp/other.csv")" = 2 ] || fail "not a results CSV: want exit 2: $(cat "$tmp/out")"
[ "$(run "$tmp/missing.csv")" = 2 ] || fail "missing file: want exit 2: $(cat "$tmp/out")"
echo "summarize_test: ok"
