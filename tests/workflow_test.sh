#!/usr/bin/env bash
# The GitHub Actions workflow's structure (tests/workflow_check.py), with no network: the real
# .github/workflows/ci.yml passes, with PyYAML and with the built-in parser (which must read it
# as PyYAML does, where PyYAML is installed); planted broken copies fail with both, each naming
# its fault: a job key typo (runs_on), a step key typo (use), a tab in the indentation, the
# tests/run step gone, the CI sweep upload failing on missing files, the GPU job without its gate.
# Usage: workflow_test.sh PYTHON3 SOURCE_ROOT
set -euo pipefail
py="$1" root="$2"
wf="$root/.github/workflows/ci.yml" chk="$root/tests/workflow_check.py"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
parsers=(builtin)
if "$py" -c 'import yaml' 2>/dev/null; then
  parsers+=(yaml)
  "$py" "$chk" "$wf" --parsers-agree || fail "the built-in parser disagrees with PyYAML"
else
  echo "PyYAML not installed: the built-in parser only"
fi
for p in "${parsers[@]}"; do
  "$py" "$chk" "$wf" --parser "$p" || fail "$wf fails its check ($p parser)"
done

# plant NAME 'python expression on s' 'expected message'
plant() {
  "$py" -c "import sys; s = open(sys.argv[1]).read(); t = $2; assert t != s, 'plant $1 changed nothing'; open(sys.argv[2], 'w').write(t)" \
    "$wf" "$tmp/$1.yml" || fail "cannot plant $1"
  for p in "${parsers[@]}"; do
    rc=0; "$py" "$chk" "$tmp/$1.yml" --parser "$p" >"$tmp/$1.$p.out" 2>&1 || rc=$?
    [ "$rc" = 1 ] || fail "planted $1 ($p parser): exit $rc, want 1: $(cat "$tmp/$1.$p.out")"
    grep -qF -- "$3" "$tmp/$1.$p.out" || fail "planted $1 ($p parser): no '$3' in: $(cat "$tmp/$1.$p.out")"
  done
}
plant runs_on "s.replace('runs-on: ubuntu', 'runs_on: ubuntu', 1)" "job cpu: unknown key 'runs_on'"
plant use "s.replace('- uses: actions/checkout', '- use: actions/checkout', 1)" "unknown key 'use'"
plant tab "s.replace('\n      - name: tests/run', '\n\t      - name: tests/run', 1)" "line"
plant no_tests_run "s.replace('GITHUB_ACTIONS tests/run', 'GITHUB_ACTIONS true', 1)" "no job runs tests/run"
plant upload_error "s.replace('if-no-files-found: warn', 'if-no-files-found: error', 1)" \
  "if-no-files-found: warn"
plant no_gate "s.replace('--fail-above \"\$FAIL_ABOVE\"', '', 1)" "the GPU job lacks the compare gate"
echo "workflow structure: ok, and 6 planted faults caught (${parsers[*]})"
