#!/usr/bin/env bash
# bench/peers/peers.py without PyTorch: the script compiles, --help works, every bad argument
# exits 2 with a message naming the bad value, and a CSV with another header is refused (exit 2,
# file unchanged) before PyTorch is even needed.
#
#   usage: peers_cli.sh PYTHON PEERS_PY ATTNBENCH   (ATTNBENCH_PYTHON, when set, replaces PYTHON)
set -euo pipefail

fail() { echo "peers_cli: FAIL: $*" >&2; exit 1; }
[ $# -eq 3 ] || fail "usage: $0 PYTHON PEERS_PY ATTNBENCH"
py=${ATTNBENCH_PYTHON:-$1} peers=$2 ab=$3  # ATTNBENCH_PYTHON: e.g. a venv with torch
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peers-cli.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
export PYTHONPYCACHEPREFIX=$tmp/pycache   # py_compile writes no __pycache__ into the sources

"$py" -m py_compile "$peers" || fail "py_compile $peers"

"$py" "$peers" --help >"$tmp/help" 2>&1 || fail "--help exited $?"
for w in --attnbench --suite --sweep --shape --peers --csv --calibration --device --self-test; do
    grep -q -- "$w" "$tmp/help" || fail "--help does not mention $w"
done

# expect_usage WORD ARGS...: exit status 2 and WORD in the message
expect_usage() {
    local word=$1 rc=0
    shift
    "$py" "$peers" "$@" >"$tmp/out" 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "$* exited $rc, want 2: $(cat "$tmp/out")"
    grep -qF -- "$word" "$tmp/out" || fail "$*: message does not name '$word': $(cat "$tmp/out")"
}
ok=(--attnbench "$ab" --suite halo --shape B=1,C=8,H=8,block=4,halo=1,heads=2,d=4 --csv "$tmp/o.csv")
expect_usage nope --suite nope
expect_usage xyz "${ok[@]}" --warmup xyz
expect_usage -3 "${ok[@]}" --min-samples -3
expect_usage gpu0 "${ok[@]}" --device gpu0
expect_usage 0.0 "${ok[@]}" --max-time 0.0
expect_usage "below --min-samples" "${ok[@]}" --min-samples 5 --max-samples 2
expect_usage "([a" "${ok[@]}" --peers "([a"
expect_usage zzz "${ok[@]}" --peers zzz
expect_usage /no/such/attnbench --attnbench /no/such/attnbench --suite halo --sweep --csv x.csv
expect_usage "--csv" --attnbench "$ab" --suite halo --sweep
expect_usage "--sweep or --shape" --attnbench "$ab" --suite halo --csv x.csv
expect_usage "not allowed with" "${ok[@]}" --sweep
expect_usage "--suite" --attnbench "$ab" --sweep --csv x.csv
expect_usage "$tmp/none.txt" "${ok[@]}" --calibration "$tmp/none.txt"
printf 'peak_gbps=3000\n' >"$tmp/cal1"
expect_usage "peak_tflops" "${ok[@]}" --calibration "$tmp/cal1"
printf 'peak_gbps=fast\npeak_tflops=900\n' >"$tmp/cal2"
expect_usage "fast" "${ok[@]}" --calibration "$tmp/cal2"
expect_usage "--self-test" --self-test --suite mhsa --sweep
# a shape attnbench refuses: its message (naming the value) comes through, exit 2
expect_usage "H=12" --attnbench "$ab" --suite halo --shape H=12,block=8 --csv "$tmp/o.csv"
[ ! -e "$tmp/o.csv" ] || fail "a refused run created $tmp/o.csv"

# another header: refused, naming the file; nothing is written to it
printf 'suite,variant,something\nhalo,x,1\n' >"$tmp/other.csv"
cp "$tmp/other.csv" "$tmp/other.orig"
expect_usage "$tmp/other.csv" --attnbench "$ab" --suite halo \
    --shape B=1,C=8,H=8,block=4,halo=1,heads=2,d=4 --csv "$tmp/other.csv"
cmp -s "$tmp/other.csv" "$tmp/other.orig" || fail "the refused CSV was modified"

echo "peers_cli: ok"
