#!/usr/bin/env bash
# SASS budgets: every GPU kernel's sm_90 code keeps the limits its registry row declares
# (attn_variant_t.sass_budget) and spills nothing unless its budget says otherwise; the report
# (tools/sass_report.py: registers, occupancy, main-loop instruction mix) is printed either way.
#
#   usage: sass_budgets.sh LIST_KERNELS KERNELS_LIB [REPORT.md]
#     LIST_KERNELS  tests/list_kernels (--budgets prints "kernel_file<TAB>budget" per GPU row)
#     KERNELS_LIB   the attn_kernels static library, or an object file
#     REPORT.md     also write the report here (`ninja -C build sass-report` -> build/sass-report.md)
# Exit: 0 all budgets hold, 1 a budget is exceeded or a listed kernel file has no kernels,
# 77 (skipped) without python3 or cuobjdump/nvdisasm (found as tests/sass_check.sh finds them).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LIST_KERNELS KERNELS_LIB [REPORT.md]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "sass_budgets: SKIP: no python3" >&2; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sass_budgets.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$1" --budgets >"$tmp/budgets.tsv" || { echo "sass_budgets: FAIL: $1 --budgets failed" >&2; exit 1; }
rc=0
python3 "$here/../tools/sass_report.py" "$2" --budgets "$tmp/budgets.tsv" --default 'spills=0' \
    -o "$tmp/report.md" || rc=$?
[ -f "$tmp/report.md" ] && cat "$tmp/report.md"
[ $# -ge 3 ] && [ -f "$tmp/report.md" ] && cp "$tmp/report.md" "$3" && echo "sass_budgets: wrote $3" >&2
exit $rc
