#!/usr/bin/env bash
# --json's timing samples (docs/json.md): every timed row's "samples_ms" holds its samples in
# the order taken, in process and from isolated children; rows not timed hold [].
#   json_samples_test.sh ATTNBENCH ATTNBENCH_TEST
# attnbench-test (tests/planted.c) makes the order known: under PLANTED_FALLING its correct
# variants take 10 ms less on each call, so their first sample is the largest; under
# PLANTED_SAMPLES=drop-last|sorted|lost a case's child sends a row's samples without the last
# one, sorted, or none, and the checker must reject each. Needs python3 (exit 77 without).
set -u
bin=$(readlink -f "$1") tbin=$(readlink -f "$2")
command -v python3 >/dev/null || { echo "json_samples_test: python3 not found" >&2; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/json-samples-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "json_samples_test: FAIL: $*" >&2; exit 1; }

# JSONL CSV [FALLING_VARIANT...]: row by row, samples_ms is the last key; a timed row (the CSV's
# samples not empty) has that many samples, whose median, min, max and IQR (type 7, as
# bench/stats.c) print as the CSV's 6 digits; a row not timed has []. The rows of the variants
# named have their first sample above their last (taken falling). Exit 1, saying why, otherwise.
check() {
    python3 - "$@" <<'PY'
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], newline='') as f:
    table = list(csv.reader(f))
head, body, falling = table[0], table[1:], set(sys.argv[3:])
assert len(rows) == len(body), f"{len(rows)} JSON rows, {len(body)} CSV rows"
def quantile(s, p):  # bench/stats.c's, in the same double arithmetic
    h = (len(s) - 1) * p
    lo = int(h)
    hi = lo + 1 if lo + 1 < len(s) else lo
    return s[lo] + (h - lo) * (s[hi] - s[lo])
timed = 0
for i, (o, r) in enumerate(zip(rows, body)):
    c = dict(zip(head, r))
    what = f"row {i + 1} ({c['variant']}, {c['status']})"
    assert list(o)[-1] == 'samples_ms', f"{what}: samples_ms is not the last key: {list(o)}"
    ms = o['samples_ms']
    assert isinstance(ms, list) and all(type(x) in (int, float) for x in ms), f"{what}: {ms!r}"
    if c['samples'] == '':
        assert ms == [], f"{what}: not timed, but samples_ms holds {len(ms)}"
        continue
    timed += 1
    assert ms, f"{what}: timed ({c['samples']} samples) but samples_ms is empty"
    assert len(ms) == int(c['samples']), f"{what}: {len(ms)} in samples_ms, samples {c['samples']}"
    s = sorted(ms)
    for k, v in (('median_ms', quantile(s, 0.5)), ('min_ms', s[0]), ('max_ms', s[-1]),
                 ('iqr_ms', quantile(s, 0.75) - quantile(s, 0.25))):
        assert '%.6g' % v == c[k], f"{what}: {k} of samples_ms {v!r} ({'%.6g' % v}), CSV {c[k]}"
    if c['variant'] in falling:
        assert ms[0] > ms[-1], f"{what}: taken falling, but not in the order taken: {ms}"
assert timed, "no timed row: nothing checked"
PY
}
small() { # a real suite's CPU variants, timed, and a GPU variant (skipped here)
    "$bin" --suite mhsa --variant '^(reference|cpu-f32|naive)$' --shape B=1,H=2,N=64,d=16 \
        --shape B=1,H=2,N=96,d=16 --min-samples 5 --max-samples 9 --max-time 0.05 "$@"
}
falling() { # the planted suite's correct variants, their samples falling
    PLANTED_FALLING=1 "$tbin" --suite planted --shape n=1 --warmup 0 --min-samples 5 \
        --max-samples 5 "$@"
}

for iso in --no-isolate --isolate; do
    small "$iso" --csv "m$iso.csv" --json "m$iso.jsonl" >out 2>err || fail "mhsa $iso: $(cat err)"
    check "m$iso.jsonl" "m$iso.csv" 2>err || fail "mhsa $iso: $(cat err)"
done
small --check --csv c.csv --json c.jsonl >out 2>err || fail "mhsa --check: $(cat err)"
! check c.jsonl c.csv 2>err && grep -q 'no timed row' err && ! grep -q '"samples_ms":\[[^]]' c.jsonl ||
    fail "--check: want every samples_ms [] and the checker to say nothing was timed: $(cat err)"
small --plan --json plan.jsonl >out 2>err || fail "--plan --json: $(cat err)"
[ "$(grep -c '"status":"planned",.*"samples_ms":\[\]}$' plan.jsonl)" = 6 ] ||
    fail "--plan: want 6 planned rows with samples_ms []: $(cat plan.jsonl)"

falling --variant '^(before|after)$' --no-isolate --csv f.csv --json f.jsonl >out 2>err ||
    fail "falling in process: $(cat err)"
check f.jsonl f.csv before after 2>err || fail "falling in process: $(cat err)"
# isolated, a crash between (its failed row: []), and the faults planted in the child's message
falling --variant '^(before|segv|after)$' --isolate --csv p.csv --json p.jsonl >out 2>err
[ $? = 1 ] || fail "falling isolated with a crash: want exit 1: $(cat err)"
grep -q '"variant":"segv",.*"status":"fail",.*"samples_ms":\[\]' p.jsonl || fail "no crash row with []"
check p.jsonl p.csv before after 2>err || fail "falling isolated: $(cat err)"
for plant in drop-last:'4 in samples_ms, samples 5' sorted:'not in the order taken' \
             lost:'samples_ms is empty'; do
    PLANTED_SAMPLES=${plant%%:*} falling --variant '^(before|after)$' --isolate \
        --csv "$plant.csv" --json "$plant.jsonl" >out 2>err || fail "planted ${plant%%:*}: $(cat err)"
    check "$plant.jsonl" "$plant.csv" before after 2>err &&
        fail "planted ${plant%%:*} in the child's message not caught"
    grep -qF "${plant#*:}" err || fail "planted ${plant%%:*}: caught for another reason: $(cat err)"
done

# the most samples a run takes (--max-samples' bound, 8 MB of them) cross from a child whole;
# one more is refused, naming the value
"$tbin" --suite planted --variant '^before$' --shape n=1 --warmup 0 --min-samples 1000000 \
    --max-samples 1000000 --isolate --csv h.csv --json h.jsonl >out 2>err || fail "1e6 samples: $(cat err)"
check h.jsonl h.csv 2>err || fail "1e6 samples: $(cat err)"
"$tbin" --suite planted --variant '^before$' --shape n=1 --max-samples 1000001 --json x.jsonl >out 2>err
[ $? = 2 ] && grep -q 1000001 err || fail "--max-samples 1000001: want exit 2 naming it: $(cat err)"
echo "json_samples_test: ok"
