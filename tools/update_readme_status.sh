#!/usr/bin/env bash
# update_readme_status.sh - regenerate README.md's status table from a built attnbench.
#
#   tools/update_readme_status.sh [--check] BIN [README]
#
# Replaces the lines between
#   <!-- status table: attnbench --list --markdown -->
#   <!-- end status table -->
# in README (default: README.md at the repository root) with the table that `BIN --list
# --markdown` prints (its lines that start with '|'), so the table has one source: the suites'
# variant rows. With --check nothing is written: exit 1 when README's block differs from what
# BIN prints, naming the first line that differs. Exit 2 on bad usage, a missing or repeated
# marker, or a BIN that fails or prints no table.
set -euo pipefail

begin='<!-- status table: attnbench --list --markdown -->'
end='<!-- end status table -->'

usage() { sed -n 4,13p "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "update_readme_status: $*" >&2; exit 2; }

check=0
if [ "${1:-}" = --check ]; then check=1; shift; fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then usage; fi
bin=$1
readme=${2:-$(cd "$(dirname "$0")/.." && pwd)/README.md}
[ -x "$bin" ] || die "$bin is not an executable (build it first: ./attnbench --help)"
[ -r "$readme" ] || die "cannot read $readme"

nb=$(grep -cxF -- "$begin" "$readme" || true)
ne=$(grep -cxF -- "$end" "$readme" || true)
[ "$nb" -eq 1 ] || die "$readme: the line '$begin' appears $nb times, expected once"
[ "$ne" -eq 1 ] || die "$readme: the line '$end' appears $ne times, expected once"
lb=$(grep -nxF -- "$begin" "$readme" | cut -d: -f1)
le=$(grep -nxF -- "$end" "$readme" | cut -d: -f1)
[ "$lb" -lt "$le" ] || die "$readme: '$end' (line $le) comes before '$begin' (line $lb)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/update_readme_status.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$bin" --list --markdown >"$tmp/out" 2>"$tmp/err" ||
    die "'$bin --list --markdown' failed: $(head -n 3 "$tmp/err")"
grep '^|' "$tmp/out" >"$tmp/table" || true
[ -s "$tmp/table" ] || die "'$bin --list --markdown' printed no table"

# README with the block replaced: everything up to the begin marker, the table, the rest from
# the end marker on.
awk -v lb="$lb" -v le="$le" -v table="$tmp/table" '
    NR == lb { print; while ((getline line < table) > 0) print line; next }
    NR > lb && NR < le { next }
    { print }' "$readme" >"$tmp/new"

if [ "$check" -eq 1 ]; then
    if cmp -s "$tmp/new" "$readme"; then
        echo "update_readme_status: $readme: the status table is up to date"
        exit 0
    fi
    # the first differing line, in README's numbering
    n=$(awk 'NR == FNR { a[FNR] = $0; na = FNR; next }
             { if (!(FNR in a) || a[FNR] != $0) { print FNR; exit } }
             END { if (FNR < na) print FNR + 1 }' "$readme" "$tmp/new" | head -n 1)
    echo "$readme:${n:-$lb}: the status table differs from '$bin --list --markdown';" \
        "run tools/update_readme_status.sh $bin" >&2
    exit 1
fi
if cmp -s "$tmp/new" "$readme"; then
    echo "update_readme_status: $readme: the status table is up to date"
else
    cat "$tmp/new" >"$readme"   # in place: keeps the file's mode and links
    echo "update_readme_status: $readme: status table rewritten ($(wc -l <"$tmp/table") lines)"
fi
