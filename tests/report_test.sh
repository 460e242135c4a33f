#!/usr/bin/env bash
# --json, --md, compare --json and attnbench report (bench/json.c, outputs.c, summary.c,
# report.c, compare.c), in two parts:
#   report_test.sh outputs ATTNBENCH ATTNBENCH_TEST       the files and exit statuses (python3)
#   report_test.sh browser ATTNBENCH ARTIFACT_DIR         the page in headless Chromium: loads
#       without a console message or an external reference, every section there, a screenshot
#       kept in ARTIFACT_DIR; exits 77 (skipped) without chromium
# Each checker is also run on a planted bad file, which it must reject.
set -u
# absolute paths: the test works in a directory of its own
mode=$1 bin=$(readlink -f "$2") arg3=$(readlink -m "${3:-.}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/report-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "report_test: FAIL: $*" >&2; exit 1; }
# a small CPU run: two cases, the two CPU variants timed (few samples), GPU variants skipped
small_run() {
    "$bin" --suite mhsa --variant '^(reference|cpu-f32|naive)$' --shape B=1,H=2,N=64,d=16 \
        --shape B=1,H=2,N=96,d=16 --min-samples 5 --max-samples 5 --max-time 0.05 "$@"
}

# The CSV with cpu-f32's N = 96 row turned into a failure (columns found by name: the suite's
# axes come between dtype and status).
plant_failure() {
    awk -F, -v OFS=, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; print; next}
        $c["variant"] == "cpu-f32" && $c["N"] == 96 && $c["status"] == "ok" {
            $c["status"] = "fail"; $c["reason"] = "planted wrong values"} {print}' "$1"
}

# ------------------------------------------------------------------ checkers
# The JSON Lines file holds the CSV's rows: one object per row, keys schema_version, the header's
# columns in order, then samples_ms (tests/json_samples_test.sh checks its values), every value the CSV field (a number where the field is one, null
# where it is empty). A row missing, a key missing, a value changed: rejected.
json_matches_csv() { # JSONL CSV
    python3 - "$1" "$2" <<'PY'
import csv, json, re, sys
number = re.compile(r'-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?')
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
with open(sys.argv[2], newline='') as f:
    table = list(csv.reader(f))
head, body = table[0], table[1:]
assert len(rows) == len(body), f"{len(rows)} JSON rows, {len(body)} CSV rows"
text = {'suite', 'variant', 'backend', 'dtype', 'status', 'reason', 'device', 'clock_events',
        'git_commit', 'timestamp'}
for i, (o, r) in enumerate(zip(rows, body)):
    assert list(o) == ['schema_version'] + head + ['samples_ms'], f"row {i}: keys {list(o)}"
    assert o['schema_version'] == 1, f"row {i}: schema_version {o['schema_version']}"
    for k, v in zip(head, r):
        j = o[k]
        if v == '':
            assert j is None, f"row {i} {k}: {j!r} for an empty field"
        elif isinstance(j, str):  # the known text columns, or text that is no number
            assert j == v and (k in text or not number.fullmatch(v)), f"row {i} {k}: {j!r} != {v!r}"
        else:
            assert k not in text and isinstance(j, (int, float)) and float(j) == float(v), \
                f"row {i} {k}: {j!r} != {v!r}"
PY
}
# The Markdown summary: the failures section before the best-per-case table, the failing
# variant listed in it.
md_failures_first() { # MD VARIANT
    awk -v v="$2" '/^## Failures/ {f = NR} /^## Best variant/ {b = NR}
        f && !b && index($0, "| " v " |") {listed = 1}
        END {exit !(f && b && f < b && listed)}' "$1"
}

# ------------------------------------------------------------------ outputs
if [ "$mode" = outputs ]; then
    tbin=$arg3
    command -v python3 >/dev/null || { echo "report_test: python3 not found" >&2; exit 77; }
    small_run --csv a.csv --json a.jsonl --md a.md >out 2>err || fail "small run: $(cat err)"
    json_matches_csv a.jsonl a.csv 2>err || fail "--json differs from the CSV: $(cat err)"
    # the checker rejects a changed value and a dropped key
    sed '1s/"status":"ok"/"status":"fail"/' a.jsonl >bad.jsonl
    json_matches_csv bad.jsonl a.csv 2>/dev/null && fail "planted changed JSON value not caught"
    sed '2s/"seed":42,//' a.jsonl >bad.jsonl
    json_matches_csv bad.jsonl a.csv 2>/dev/null && fail "planted dropped JSON key not caught"
    # every skipped variant (without CUDA: naive) in the summary's skip table, with its reason
    awk -F, 'NR == 1 {for (i = 1; i <= NF; i++) c[$i] = i; next}
             $c["status"] == "skip" {print $c["variant"] "|" $c["reason"]}' a.csv | sort -u >skipped
    while IFS='|' read -r v why; do
        awk '/^## Skipped/ {p = 1} /^## Provenance/ {p = 0} p' a.md |
            grep -qF "| mhsa | $v | gpu | $why |" || fail "--md lacks the skip of $v ($why): $(cat a.md)"
    done <skipped
    grep -q '^| mhsa | B=1,H=2,N=64,.* | cpu | ' a.md || fail "--md has no best variant: $(cat a.md)"

    # isolated cases (rows arrive from children) and a crash: the JSON has every row, the
    # summary lists the failure first
    "$tbin" --suite planted --variant '^(before|segv|after)$' --isolate --min-samples 5 \
        --max-samples 5 --max-time 0.05 --csv p.csv --json p.jsonl --md p.md >out 2>err
    [ $? = 1 ] || fail "planted crash: want exit 1: $(cat err)"
    json_matches_csv p.jsonl p.csv 2>err || fail "isolated --json differs from the CSV: $(cat err)"
    grep -q '"variant":"segv",.*"status":"fail","reason":"crashed' p.jsonl || fail "no crash row: $(cat p.jsonl)"
    md_failures_first p.md segv || fail "--md: failures not first: $(cat p.md)"
    awk '/^## Best/ {p = 1} /^## Failures/ {p = 0} p' p.md >bad.md
    awk '/^## Failures/ {p = 1} /^## Best/ {p = 0} p' p.md >>bad.md
    md_failures_first bad.md segv && fail "planted failures-last Markdown not caught"

    # --check without --csv: the rows still reach --json, no CSV is made
    small_run --check --json c.jsonl >out 2>err || fail "--check --json: $(cat err)"
    [ "$(wc -l <c.jsonl)" = 6 ] || fail "--check --json: want 6 rows: $(cat c.jsonl)"
    [ ! -e results ] || fail "--check --json made a CSV under results/"
    # a line cut short by a crash is ended before new rows, never merged with one
    printf '{"schema_version":1,"suite":"mh' >cut.jsonl
    small_run --check --json cut.jsonl >out 2>err || fail "append after a cut line: $(cat err)"
    [ "$(wc -l <cut.jsonl)" = 7 ] && [ "$(head -c 31 cut.jsonl | tail -c 2)" = mh ] &&
        sed -n 2p cut.jsonl | python3 -c 'import json,sys; json.load(sys.stdin)' ||
        fail "a cut line was not ended: $(cat cut.jsonl)"

    # bad paths: exit 2, naming them
    small_run --check --json - >out 2>err; [ $? = 2 ] && grep -q -- '--json -' err ||
        fail "--json -: want exit 2: $(cat err)"
    mkdir adir
    small_run --check --json adir >out 2>err; [ $? = 2 ] && grep -q "'adir'" err ||
        fail "--json DIR: want exit 2 naming it: $(cat err)"
    small_run --check --md a.csv/x.md >out 2>err; [ $? = 2 ] && grep -q "a.csv/x.md" err ||
        fail "--md under a file: want exit 2 naming it: $(cat err)"

    # compare --json: one document, every verdict, the exit status compare gives
    plant_failure a.csv >new.csv
    grep -q 'planted wrong values' new.csv || fail "could not plant a failing row"
    "$bin" compare a.csv new.csv --fail-above 5 --json cmp.json >out 2>err
    st=$?
    [ $st = 1 ] || fail "compare with a failing row: want exit 1, got $st: $(cat out err)"
    python3 - cmp.json <<'PY' || fail "compare --json: $(cat cmp.json)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d['schema'] == 'attnbench-compare' and d['schema_version'] == 1
assert d['exit_status'] == 1 and d['summary']['fails'] == 1, d['summary']
v = {(r['variant'], r['case'].split(',')[2]): r['verdict'] for r in d['rows']}
assert v[('cpu-f32', 'N=96')] == 'FAILS', v
assert v[('reference', 'N=96')] in ('same', 'ambiguous'), v
assert all(r['ratio'] is None for r in d['rows'] if r['verdict'] not in
           ('same', 'faster', 'slower', 'ambiguous'))
PY

    # report: the page and its sections, bad input
    "$bin" report --out rep --baseline a.csv new.csv >out 2>err || fail "report: $(cat err)"
    for id in failures summary skips provenance compare plots; do
        grep -q "<section id=\"$id\">" rep/index.html || fail "report: no section $id"
    done
    grep -q '<td>planted wrong values</td>' rep/index.html || fail "report: failure not listed"
    grep -q '<tr class="v-FAILS">' rep/index.html || fail "report: no FAILS verdict"
    "$bin" report --out rep2 missing.csv >out 2>err; [ $? = 2 ] && grep -q missing.csv err ||
        fail "report of a missing CSV: want exit 2 naming it: $(cat err)"
    "$bin" report --out rep2 --baseline missing.csv a.csv >out 2>err
    [ $? = 2 ] && grep -q missing.csv err && [ ! -e rep2 ] ||
        fail "report with a missing baseline: want exit 2 naming it, nothing written: $(cat err)"
    "$bin" report --out rep2 adir >out 2>err; [ $? = 2 ] && grep -q adir err ||
        fail "report of a directory: want exit 2 naming it: $(cat err)"
    # rows that are all skips: a page with their reasons and no pictures, exit 0
    { head -1 a.csv; sed -n 2p a.csv | sed 's/,ok,,/,skip,planted skip,/'; } >skips.csv
    "$bin" report --out rep3 skips.csv >out 2>err || fail "report of skips only: $(cat err)"
    grep -q '<p>No pictures' rep3/index.html && grep -q '<td>planted skip</td>' rep3/index.html ||
        fail "report of skips only: no note or no reason"
    head -1 a.csv >empty.csv
    "$bin" report --out rep2 empty.csv >out 2>err; [ $? = 3 ] && grep -q 'nothing read' err ||
        fail "report of no rows: want exit 3: $(cat err)"
    "$bin" report >out 2>err; [ $? = 2 ] || fail "report without a CSV: want exit 2"
    echo "report_test outputs: ok"
    exit 0
fi

# ------------------------------------------------------------------ browser
[ "$mode" = browser ] || fail "unknown mode '$mode'"
art=$arg3
chrome=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chrome" ] || { echo "report_test: chromium not found (apt-get install chromium): skipped" >&2; exit 77; }
command -v gnuplot >/dev/null || { echo "report_test: gnuplot not found: skipped" >&2; exit 77; }
# nothing the page loads from elsewhere: no script, stylesheet link, image or frame source,
# import or URL outside the page (SVG namespaces are names, not loads)
self_contained() { # HTML
    ! grep -Eiq '<script|<link|<iframe|<img|@import|(src|href)=["'"'"']?(https?:|//|file:)|url\((["'"'"']?)(https?:|//|file:)' "$1"
}
# chromium's DOM of the page after load, and its console on stderr
load() { # HTML DOM LOG [more chromium options]
    local page=$1 dom=$2 log=$3
    shift 3
    timeout 120 "$chrome" --headless --disable-gpu --no-sandbox --user-data-dir="$tmp/profile" \
        --enable-logging=stderr --v=0 "$@" "file://$page" >"$dom" 2>"$log"
}
no_console() { ! grep -q ':CONSOLE' "$1"; } # LOG
has_sections() { # DOM: every section, the pictures in the plots section
    for id in failures summary skips provenance compare plots; do
        grep -q "<section id=\"$id\">" "$1" || return 1
    done
    awk '/<section id="plots">/ {p = 1} p && /<svg/ {n++} END {exit !(n >= 2)}' "$1"
}

small_run --csv a.csv >out 2>err || fail "small run: $(cat err)"
plant_failure a.csv >new.csv
"$bin" report --out rep --baseline a.csv new.csv >out 2>err || fail "report: $(cat err)"
page=$tmp/rep/index.html
self_contained "$page" || fail "the page refers to something outside it"
load "$page" dom log --dump-dom || fail "chromium failed: $(tail -5 log)"
no_console log || fail "console messages: $(grep CONSOLE log)"
has_sections dom || fail "a section or the pictures missing from the loaded page"
mkdir -p "$art"
load "$page" /dev/null shot.log --screenshot="$art/report.png" --window-size=1280,900 \
    --force-device-scale-factor=0.6 --hide-scrollbars || fail "screenshot failed: $(tail -5 shot.log)"
[ -s "$art/report.png" ] || fail "no screenshot"
cp "$page" "$art/report.html"

# the checks reject planted pages: a script error, a missing section, an external image
sed 's|</body>|<script>throw new Error("planted")</script></body>|' "$page" >p1.html
load "$tmp/p1.html" dom1 log1 --dump-dom
no_console log1 && fail "planted script error not caught"
sed 's|<section id="skips">|<section id="skipped">|' "$page" >p2.html
load "$tmp/p2.html" dom2 log2 --dump-dom
has_sections dom2 && fail "planted missing section not caught"
sed 's|</body>|<img src="https://example.com/x.png"></body>|' "$page" >p3.html
self_contained p3.html && fail "planted external image not caught"
echo "report_test browser: ok (screenshot: $art/report.png)"
