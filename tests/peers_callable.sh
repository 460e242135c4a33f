#!/usr/bin/env bash
# bench/peers/peers.py --callable: its usage errors (exit 2, naming the bad value) without
# PyTorch; with PyTorch, examples/plugin/mhsa_torch.py's correct function gets an ok row (timed,
# within attnbench's tolerance, its source named) and its planted bug (no 1/sqrt(d) scale) a
# fail row that is never timed, exit 1; with a PyTorch older than the SDPA peers need, one line
# naming the version, no traceback. Without PyTorch: exit 77 (skipped), saying why.
#   usage: peers_callable.sh PYTHON PEERS_PY ATTNBENCH SOURCE_ROOT  (ATTNBENCH_PYTHON overrides)
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
py=${ATTNBENCH_PYTHON:-$1} peers=$(abs "$2") ab=$(abs "$3") root=$(cd "$4" && pwd)
fail() { echo "peers_callable: FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peers-callable.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
export PYTHONPYCACHEPREFIX=$tmp/pycache
cd "$tmp" || exit 1

"$py" "$peers" --help >help 2>&1 || fail "--help exited $?"
grep -q -- "--callable" help || fail "--help does not mention --callable"
usage() { # WORD ARGS...: exit 2 and WORD in the message
    local word=$1 rc=0
    shift
    "$py" "$peers" "$@" >out 2>&1 || rc=$?
    [ "$rc" -eq 2 ] || fail "$* exited $rc, want 2: $(cat out)"
    grep -qF -- "$word" out || fail "$*: message lacks '$word': $(cat out)"
}
usage "'nomodule': expected MODULE:FUNCTION" --attnbench "$ab" --suite mhsa --shape N=8 \
    --csv o.csv --callable nomodule
usage "'a:b:c': expected MODULE:FUNCTION" --attnbench "$ab" --suite mhsa --shape N=8 \
    --csv o.csv --callable a:b:c
usage "--suite 'sge': peers exist for" --attnbench "$ab" --suite sge --shape C=64 --csv o.csv
usage "--callable" --self-test --suite mhsa --callable m:f
usage "--sweep or --shape" --attnbench "$ab" --suite sge --csv o.csv --callable m:f

if ! "$py" -c "import torch" 2>/dev/null; then
    echo "peers_callable: PyTorch is not importable by $py: the ok/fail rows are not checked (skipped)"
    exit 77
fi
cp "$root/examples/plugin/mhsa_torch.py" .
# an unimportable module, once torch is there: exit 2 naming it
usage "cannot import no_such_module" --attnbench "$ab" --suite mhsa --shape N=8,B=1,H=1,d=4 \
    --csv o.csv --callable no_such_module:f --device cpu
"$py" "$peers" --attnbench "$ab" --suite mhsa --shape N=40,B=2,H=2,d=16,causal=1,kvpad=1 \
    --callable mhsa_torch:attention --callable mhsa_torch:attention_unscaled --device cpu \
    --max-time 0.05 --min-samples 3 --csv rows.csv >run.out 2>&1
rc=$?
[ $rc = 1 ] || fail "a wrong callable: exit $rc, want 1: $(cat run.out)"
"$py" - <<'PY' || exit 1
import csv, sys
rows = {r["variant"]: r for r in csv.DictReader(open("rows.csv"))}
def need(ok, what):
    if not ok:
        sys.exit("peers_callable: FAIL: %s: %s" % (what, rows))
g, b = rows.get("attention"), rows.get("attention_unscaled")
need(g and b and len(rows) == 2, "one row per callable")
need(g["status"] == "ok" and int(g["samples"]) >= 3, "the correct one is ok and timed")
need(float(g["max_abs_err"]) <= float(g["tolerance_abs"]), "within the tolerance")
need(g["source"] == "callable mhsa_torch:attention" and g["dtype"] == "f32", "source and dtype")
need(b["status"] == "fail" and not b["samples"] and "tolerance" in b["reason"],
     "the planted bug fails, untimed, with error and tolerance")
need(float(b["max_abs_err"]) > float(b["tolerance_abs"]), "its error is above the tolerance")
PY
# a PyTorch too old for the SDPA peers (no torch.nn.attention): one line naming the version
# needed, skip rows, never a traceback; the mhsa self-test says it did not run
if ! "$py" -c "import torch.nn.attention" 2>/dev/null; then
    "$py" "$peers" --attnbench "$ab" --suite mhsa --shape N=16,B=1,H=1,d=8 --device cpu \
        --csv old.csv >old.out 2>&1 || fail "an old PyTorch: exit $?: $(cat old.out)"
    grep -q "^peers.py: sdpa-flash, sdpa-efficient, sdpa-cudnn, sdpa-math need PyTorch >= 2.3 (torch.nn.attention.sdpa_kernel); this is PyTorch .*; their rows are skipped$" old.out ||
        fail "no one-line requirement: $(cat old.out)"
    "$py" "$peers" --self-test --suite mhsa --device cpu >st.out 2>&1
    grep -q "self-test of mhsa not run: sdpa-math needs PyTorch >= 2.3" st.out ||
        fail "the self-test: $(cat st.out)"
    ! grep -q Traceback old.out st.out || fail "a traceback: $(cat old.out st.out)"
fi
echo "peers_callable: ok"
