#!/usr/bin/env bash
# bench/peers/peers.py --self-test on the CPU: every test passes; and each planted bug
# (ATTNBENCH_PEERS_PLANT) makes the test that should catch it fail. Exit 77 (skipped) when
# PYTHON cannot import torch, or its PyTorch is older than 2.3.
#
#   usage: peers_selftest.sh PYTHON PEERS_PY ATTNBENCH   (ATTNBENCH_PYTHON, when set, replaces PYTHON)
set -uo pipefail

fail() { echo "peers_selftest: FAIL: $*" >&2; exit 1; }
[ $# -eq 3 ] || fail "usage: $0 PYTHON PEERS_PY ATTNBENCH"
py=${ATTNBENCH_PYTHON:-$1} peers=$2 ab=$3  # ATTNBENCH_PYTHON: e.g. a venv with torch
"$py" -c 'import torch' 2>/dev/null || { echo "peers_selftest: no torch for $py: skipped"; exit 77; }
# the mhsa peers need torch.nn.attention (PyTorch >= 2.3); an older one is peers_callable's case
"$py" -c 'import torch.nn.attention' 2>/dev/null ||
    { echo "peers_selftest: the PyTorch of $py is older than 2.3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peers-selftest.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

"$py" "$peers" --self-test --device cpu --attnbench "$ab" >"$tmp/clean" 2>&1
rc=$?
cat "$tmp/clean"
[ $rc -eq 0 ] || fail "the self-test exited $rc"
grep -q '^self-test: [1-9][0-9]* passed, 0 failed$' "$tmp/clean" || fail "no clean summary line"
! grep -q '^FAIL' "$tmp/clean" || fail "a FAIL line in a passing self-test"

# plant SUITE PATTERN: exit 1, and a FAIL line matching PATTERN (the test meant to catch it)
plant() {
    local name=$1 suite=$2 pat=$3 rc
    ATTNBENCH_PEERS_PLANT=$name "$py" "$peers" --self-test --device cpu --suite "$suite" \
        --attnbench "$ab" >"$tmp/$name" 2>&1
    rc=$?
    [ $rc -eq 1 ] || { cat "$tmp/$name"; fail "plant $name: the self-test exited $rc, want 1"; }
    grep -E "^FAIL .*$pat" "$tmp/$name" >/dev/null ||
        { cat "$tmp/$name"; fail "plant $name: no FAIL line matching '$pat'"; }
    echo "plant $name: caught ($(grep -c '^FAIL' "$tmp/$name") failing tests)"
}
plant halo-mask halo 'torch-halo f64 vs attnbench reference'
plant mhsa-ref-causal mhsa 'causal=1.*sampled-row reference vs explicit'
echo "peers_selftest: ok"
