#!/usr/bin/env bash
# bench/peers/peers.py runs on the CPU (small --shape cases of both suites): it exits 0, writes
# rows under attnbench's own header (attnbench merge takes its CSV and attnbench's together),
# one row per (case, peer) with the plan's axes, flops and bytes, checked and timed; a second run
# appends without rewriting; planted wrong outputs give fail rows and exit 1 while the run goes
# on. Exit 77 (skipped) when PYTHON cannot import torch, or its PyTorch is older than 2.3.
#
#   usage: peers_run.sh PYTHON PEERS_PY ATTNBENCH   (ATTNBENCH_PYTHON, when set, replaces PYTHON)
set -uo pipefail

fail() { echo "peers_run: FAIL: $*" >&2; exit 1; }
[ $# -eq 3 ] || fail "usage: $0 PYTHON PEERS_PY ATTNBENCH"
py=${ATTNBENCH_PYTHON:-$1} peers=$2 ab=$3  # ATTNBENCH_PYTHON: e.g. a venv with torch
"$py" -c 'import torch' 2>/dev/null || { echo "peers_run: no torch for $py: skipped"; exit 77; }
# the mhsa peers need torch.nn.attention (PyTorch >= 2.3); an older one is peers_callable's case
"$py" -c 'import torch.nn.attention' 2>/dev/null ||
    { echo "peers_run: the PyTorch of $py is older than 2.3: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/peers-run.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
quick=(--device cpu --warmup 0 --min-samples 3 --max-samples 5 --max-time 0.05)
halo=(--shape B=2,C=16,H=8,W=16,block=4,halo=2,heads=2,d=8 --shape B=1,C=8,H=8,block=8,halo=3,heads=2,d=4)
mhsa=(--shape N=64,d=16,tokens=128,D=32 --shape B=3,H=2,N=40,Nk=50,d=16,causal=1,kvpad=1)

# ok WHAT CMD...: CMD exits 0, else its output and a failure naming WHAT
ok() {
    local what=$1 rc=0
    shift
    "$@" >"$tmp/log" 2>&1 || rc=$?
    [ $rc -eq 0 ] || { cat "$tmp/log"; fail "$what exited $rc"; }
}
ok "halo run" "$py" "$peers" --attnbench "$ab" --suite halo "${halo[@]}" --csv "$tmp/peers.csv" \
    "${quick[@]}"
ok "mhsa run" "$py" "$peers" --attnbench "$ab" --suite mhsa --peers math "${mhsa[@]}" \
    --csv "$tmp/peers-mhsa.csv" "${quick[@]}"
cp "$tmp/peers.csv" "$tmp/first.csv"
ok "second halo run" "$py" "$peers" --attnbench "$ab" --suite halo "${halo[@]}" \
    --csv "$tmp/peers.csv" "${quick[@]}"
head -c "$(stat -c %s "$tmp/first.csv")" "$tmp/peers.csv" | cmp -s - "$tmp/first.csv" ||
    fail "the second run rewrote the rows of the first"

# attnbench's own rows of the same cases; merge must accept both files (one header)
ok "attnbench --check" "$ab" --suite halo --variant '^cpu-f32$' --check "${halo[@]}" \
    --csv "$tmp/ab.csv"
ok "attnbench merge of attnbench's and the peers' CSV" \
    "$ab" merge "$tmp/merged.csv" "$tmp/ab.csv" "$tmp/peers.csv"

# the rows themselves
"$py" - "$tmp/peers.csv" "$tmp/peers-mhsa.csv" "$tmp/merged.csv" <<'PY' || fail "row checks"
import csv, sys
def rows(p):
    with open(p, newline="") as f:
        return list(csv.DictReader(f))
halo, mhsa, merged = (rows(p) for p in sys.argv[1:4])
def need(c, what):
    if not c:
        sys.exit("peers_run: " + what)
need(len(halo) == 4, "halo: %d rows, want 2 cases x 2 runs" % len(halo))
need(len(mhsa) == 2, "mhsa: %d rows, want 2 (sdpa-math x 2 cases)" % len(mhsa))
for r in halo + mhsa:
    tag = "%s/%s" % (r["variant"], r["status"])
    need(r["status"] == "ok", "%s: status %s (%s)" % (tag, r["status"], r["reason"]))
    need(r["dtype"] == "bf16" and r["backend"] == "peer", tag + ": dtype/backend")
    need(int(r["samples"]) >= 3 and float(r["median_ms"]) > 0, tag + ": not timed")
    need(float(r["flops"]) > 0 and float(r["bytes"]) > 0 and float(r["tflops"]) > 0, tag + ": flops")
    need(0 <= float(r["max_abs_err"]) <= float(r["tolerance_abs"]), tag + ": error above tolerance")
    k, n = int(r["rows_checked"]), int(r["rows"])
    need(0 < k <= n, tag + ": rows_checked %d of %d" % (k, n))
    need(r["seed"] == "42" and r["git_commit"] and r["timestamp"].endswith("Z"), tag + ": provenance")
need({r["variant"] for r in halo} == {"torch-halo"}, "halo variants")
need({r["variant"] for r in mhsa} == {"sdpa-math"}, "mhsa variants")
# the merge keeps both, and the peer rows carry attnbench's axis values for the same cases
v = {r["variant"] for r in merged}
need({"cpu-f32", "torch-halo"} <= v, "merged variants: %s" % sorted(v))
ax = ("B", "C", "H", "W", "block", "halo", "heads", "d")
a = sorted(tuple(r[x] for x in ax) for r in merged if r["variant"] == "cpu-f32")
p = sorted({tuple(r[x] for x in ax) for r in halo})
need(a == p, "peer cases %s != attnbench cases %s" % (p, a))
b = [r for r in mhsa if r["kvpad"] == "1"]
need(len(b) == 1 and (b[0]["B"], b[0]["N"], b[0]["Nk"], b[0]["causal"]) == ("3", "40", "50", "1"),
     "mhsa axes from the plan")
PY

# planted wrong outputs: fail rows with the reason, exit 1, every case still gets its row
rc=0
ATTNBENCH_PEERS_PLANT=halo-nan "$py" "$peers" --attnbench "$ab" --suite halo "${halo[@]}" \
    --csv "$tmp/plant.csv" "${quick[@]}" >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$tmp/log"; fail "plant halo-nan: exit $rc, want 1"; }
[ "$(grep -c ',torch-halo,peer,bf16,.*,fail,"\?[0-9]* non-finite outputs' "$tmp/plant.csv")" -eq 2 ] ||
    { cat "$tmp/plant.csv"; fail "plant halo-nan: want 2 fail rows naming the non-finite output"; }
rc=0
ATTNBENCH_PEERS_PLANT=mhsa-out "$py" "$peers" --attnbench "$ab" --suite mhsa --peers math \
    "${mhsa[@]}" --csv "$tmp/plant2.csv" "${quick[@]}" >"$tmp/log" 2>&1 || rc=$?
[ $rc -eq 1 ] || { cat "$tmp/log"; fail "plant mhsa-out: exit $rc, want 1"; }
[ "$(grep -c ',sdpa-math,peer,bf16,.*,fail,"\?max |err|' "$tmp/plant2.csv")" -eq 2 ] ||
    { cat "$tmp/plant2.csv"; fail "plant mhsa-out: want 2 fail rows naming the error"; }
echo "peers_run: ok"
