#!/usr/bin/env bash
# Plugins (--plugin, ATTNBENCH_PLUGINS; include/attnbench/plugin.h): every bad plugin is refused
# with exit 2 and a message naming its file; a good one's rows are listed with their source,
# checked, timed into CSV rows whose `source` is the file and its SHA-256, dumped, and isolated
# (a crashing or hanging plugin row fails, the run goes on, in a child that has the plugin
# loaded); a plugin of another suite gets that suite's layout.
#   usage: plugins.sh SOURCE_ROOT ATTNBENCH
set -u
root=$(cd "$1" && pwd) bin=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
cc=${CC:-cc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/plugins.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail() { echo "plugins: FAIL: $*" >&2; exit 1; }
build() { # OUT.so SOURCE [FLAGS...]
    local out=$1 src=$2
    shift 2
    "$cc" -O1 -shared -fPIC -I "$root/include" "$@" "$src" -o "$out" -lm 2>"$out.log" ||
        fail "cannot build $out: $(cat "$out.log")"
}
build good.so "$root/examples/plugin/mhsa_cpu.c"
bad=$root/tests/plugin/bad_plugin.c
build noentry.so "$bad" -DNO_ENTRY
build abi.so "$bad" -DBAD_ABI
build suite.so "$bad" -DBAD_SUITE
build builtin.so "$bad" -DBUILTIN_NAME
build crash.so "$bad" -DCRASH
build hang.so "$bad" -DHANG
build sge.so "$bad" -DSUITE='"sge"'
build gpu.so "$bad" -DGPU_ROW
build cpubf16.so "$bad" -DCPU_BF16
build luong.so "$bad" -DSUITE='"luong"' -DLUONG_DOT
echo "not a library" >notelf.so

# refused: exit 2, and a message naming the file and what is wrong
refused() { # WHAT EXPECTED-TEXT attnbench-args...
    local what=$1 want=$2
    shift 2
    "$bin" "$@" --list >out 2>err
    local rc=$?
    [ $rc = 2 ] || fail "$what: exit $rc, want 2: $(head -n 5 err out)"
    grep -qF -- "$want" err || fail "$what: stderr lacks '$want': $(cat err)"
}
refused "a missing file" "plugin $tmp/missing.so: not loadable" --plugin "$tmp/missing.so"
refused "not a library" "plugin notelf.so: not loadable" --plugin notelf.so
refused "no entry point" "plugin noentry.so: no entry point attnbench_plugin()" --plugin noentry.so
refused "another ABI" "plugin abi.so: ABI version 999, this attnbench reads version 1" \
    --plugin abi.so
refused "an unknown suite" "plugin suite.so: variant 'zeros' names an unknown suite 'nosuch'" \
    --plugin suite.so
refused "a built-in's name" \
    "plugin builtin.so: variant 'cpu-f32' of suite mhsa collides with the built-in variant" \
    --plugin builtin.so
refused "a CPU row in bf16" \
    "plugin cpubf16.so: variant 'zeros' of suite mhsa: dtype bf16 on the CPU is not supported" \
    --plugin cpubf16.so
ATTNBENCH_PLUGINS=good.so refused "the same plugin twice" \
    "plugin ./good.so: variant 'my-cpu' of suite mhsa collides with good.so" --plugin ./good.so
ATTNBENCH_PLUGINS=good.so:abi.so refused "a bad one in ATTNBENCH_PLUGINS" \
    "plugin abi.so: ABI version 999"

# listed, from the environment, with the file and its hash
sha=$(sha256sum good.so | cut -c1-12)
src="plugin good.so sha256:$sha"
ATTNBENCH_PLUGINS=good.so "$bin" --list --suite mhsa >list.out 2>&1 ||
    fail "--list with ATTNBENCH_PLUGINS: exit $?: $(cat list.out)"
grep -E "^ +my-cpu +cpu f32 +runnable .*\[$src\]" list.out >/dev/null ||
    fail "--list lacks the plugin row with its source '$src': $(cat list.out)"

# the Markdown listing (the README's status table) does not claim CI checks it
"$bin" --plugin good.so --list --markdown --suite mhsa >md.out 2>&1 || fail "--markdown: exit $?"
grep -E "^\| mhsa \| my-cpu \| .*\[$src\] \| a plugin from outside the tree: not in CI \|$" md.out \
    >/dev/null || fail "--list --markdown: no plugin row with its source and status: $(cat md.out)"

# checked and timed: a CSV row with status ok, samples and the source; dumped like a built-in
"$bin" --plugin good.so --suite mhsa --variant '^my-cpu$' --shape N=40,Nk=33,B=2,H=1,causal=1 \
    --max-time 0.05 --min-samples 3 --csv rows.csv --dump dump >run.out 2>&1 ||
    fail "a timed run: exit $?: $(cat run.out)"
python3 - "$src" <<'EOF' || exit 1
import csv, json, sys
rows = list(csv.DictReader(open("rows.csv")))
def need(ok, what):
    if not ok:
        sys.exit("plugins: FAIL: %s: %s" % (what, rows))
need(len(rows) == 1 and rows[0]["variant"] == "my-cpu", "one row of my-cpu")
r = rows[0]
need(r["status"] == "ok" and int(r["samples"]) >= 3 and float(r["median_ms"]) > 0, "timed ok")
need(float(r["max_abs_err"]) <= float(r["tolerance_abs"]), "checked within tolerance")
need(r["source"] == sys.argv[1], "source '%s'" % sys.argv[1])
m = json.load(open("dump/manifest.json"))
need(any(f["role"] == "out-my-cpu" for f in m["files"]), "the dump has my-cpu's output")
EOF

# isolated: the crashing row fails in its child, the other plugin's row still runs
"$bin" --plugin good.so --plugin crash.so --suite mhsa --variant 'my-cpu|crashes' --check \
    --isolate --shape N=16,B=1,H=1 >iso.out 2>&1
rc=$?
[ $rc = 1 ] || fail "a crashing plugin row: exit $rc, want 1: $(cat iso.out)"
grep -E "crashes +f32 +fail .*(crash|signal)" iso.out >/dev/null ||
    fail "no failed row for the crash: $(cat iso.out)"
grep -E "my-cpu +f32 +ok" iso.out >/dev/null || fail "the run did not go on: $(cat iso.out)"
# and a hanging one is killed after --timeout, and my-cpu runs in a new child that has the
# plugins loaded too (nothing is timed against the clock here: the row must say it was killed
# for silence, however long that took)
"$bin" --plugin hang.so --plugin good.so --suite mhsa --variant 'hangs|my-cpu' --check \
    --timeout 1 --shape N=16,B=1,H=1 >hang.out 2>&1
rc=$?
[ $rc = 1 ] || fail "a hanging plugin row: exit $rc, want 1: $(cat hang.out)"
grep -E "hangs +f32 +fail .*killed after 1 s without progress" hang.out >/dev/null ||
    fail "no failed row for the hang: $(cat hang.out)"
grep -E "my-cpu +f32 +ok" hang.out >/dev/null || fail "the run did not go on: $(cat hang.out)"
# any suite: a row of sge gets sge's layout (its output written whole: zeros, so a fail row
# with an error, not a crash or NaN)
"$bin" --plugin sge.so --suite sge --variant '^zeros$' --check --shape C=64,G=4,H=7 >sge.out 2>&1
rc=$?
[ $rc = 1 ] || fail "a wrong sge plugin: exit $rc, want 1: $(cat sge.out)"
grep -E "^sge +zeros +f32 +fail .*max \|err\|" sge.out >/dev/null ||
    fail "no fail row with its error for sge: $(cat sge.out)"

# a suite with a further output (luong: the weights a): a plugin writes and is checked on the
# first (the context c) alone, so a correct one passes; a wrong c still fails
"$bin" --plugin luong.so --suite luong --variant '^dot$' --check --shape score=0,B=2,T=5,S=7,Dq=8 \
    >luong.out 2>&1 || fail "a correct luong plugin: exit $?: $(cat luong.out)"
grep -E "^luong +dot +f32 +ok" luong.out >/dev/null || fail "no ok row for luong dot: $(cat luong.out)"
"$bin" --plugin luong.so --suite luong --variant '^dot$' --check \
    --shape score=1,B=2,T=5,S=7,Dq=8 >luong1.out 2>&1
[ $? = 3 ] || fail "luong dot on the general score: want a skip (exit 3): $(cat luong1.out)"

# a GPU row of a library not compiled for the emulator: skipped under --backend emu, saying
# how to compile it (nothing checked: exit 3). Needs the emulator built (ATTNBENCH_HAVE_EMU=1).
[ "${ATTNBENCH_HAVE_EMU:-0}" = 1 ] || { echo "plugins: ok (no emulator: --backend emu not tried)"; exit 0; }
"$bin" --plugin gpu.so --suite mhsa --variant '^zeros$' --backend emu --check --shape N=8 \
    >gpu.out 2>&1
rc=$?
[ $rc = 3 ] || fail "a GPU plugin under --backend emu: exit $rc, want 3: $(cat gpu.out)"
grep -q "skip .*not compiled for the emulator: compile the plugin with tools/emu-cc" gpu.out ||
    fail "no skip row saying to use tools/emu-cc: $(cat gpu.out)"
echo "plugins: ok"
