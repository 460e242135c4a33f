#!/usr/bin/env bash
# The progress line of a run of several cases (bench/progress.c), through the binary:
#  - stderr to a file: one plain line per finished case, counts 1/N .. N/N in order, no \r;
#  - stderr on a pseudo-terminal (python3's pty module): the line rewritten in place with \r, its
#    final count N/N, and no plain progress line;
#  - a run of one case: no progress line.
# Usage: progress_test.sh ATTNBENCH PYTHON3
set -euo pipefail
bin="$1" py="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
# Four small cases of the isolated sweep path (the default), and the in-process path.
args=(--suite mhsa --variant cpu-f32 --check --backend cpu --axis N=16,24,32,40 --axis d=16
      --shape B=1,H=2)

for iso in "" --no-isolate; do
  "$bin" "${args[@]}" $iso >"$tmp/out" 2>"$tmp/err" || fail "run exited $? ${iso}: $(cat "$tmp/err")"
  grep -q $'\r' "$tmp/err" && fail "plain form wrote a carriage return ($iso)"
  got="$(grep -o '^progress: [0-9]*/[0-9]* cases' "$tmp/err" | tr '\n' ';')"
  want="progress: 1/4 cases;progress: 2/4 cases;progress: 3/4 cases;progress: 4/4 cases;"
  [ "$got" = "$want" ] || fail "plain lines ${iso}: got '$got', want '$want'"
  grep -Eq '^progress: 4/4 cases, [0-9]+:[0-9]{2} elapsed, ETA 0:00$' "$tmp/err" ||
    fail "last line lacks elapsed/ETA: $(grep progress "$tmp/err" | tail -1)"
  [ "$(grep -c ' ok ' "$tmp/out")" = 4 ] || fail "expected 4 ok rows ($iso)"
done

"$bin" --suite mhsa --variant cpu-f32 --check --backend cpu --shape N=16,d=16,B=1,H=2 \
  >"$tmp/out" 2>"$tmp/err" || fail "one-case run failed"
grep -q progress: "$tmp/err" && fail "a run of one case printed a progress line"

# On a terminal: stderr (and stdout) on a pty; the \r form, never a plain line.
"$py" - "$bin" "${args[@]}" >"$tmp/tty" <<'PY'
import os, pty, sys
status = pty.spawn(sys.argv[1:])   # copies the terminal's bytes to our stdout
sys.exit(os.waitstatus_to_exitcode(status))
PY
grep -q $'\rprogress: 4/4 cases' "$tmp/tty" || fail "terminal form: no '\\rprogress: 4/4 cases'"
# every progress text follows a \r (rewritten in place), none starts a fresh line
if tr -d '\r' <"$tmp/tty" | grep -q '^progress:' && ! grep -q $'\rprogress' "$tmp/tty"; then
  fail "terminal form printed plain lines"
fi
n_cr="$(grep -o $'\rprogress: [0-9]/4' "$tmp/tty" | wc -l)"
n_all="$(grep -o 'progress: [0-9]/4' "$tmp/tty" | wc -l)"
[ "$n_cr" = "$n_all" ] || fail "terminal form: $n_all progress texts, only $n_cr after \\r"
[ "$(grep -c ' ok ' "$tmp/tty")" = 4 ] || fail "terminal form lost rows"
echo "progress: plain and terminal forms ok"
