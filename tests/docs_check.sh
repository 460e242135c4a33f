#!/usr/bin/env bash
# docs_check.sh - the documentation stays inside the repository and in shape.
#
#   tests/docs_check.sh SOURCE_ROOT
#
# Fails (exit 1), naming file and line, when
#   - a tracked file points to a document outside the repository for how the project works:
#     a SPEC.md, a ../shared path, or a seeds/ folder (docs/suites.md is the contract);
#   - README.md is over 200 lines (the rest belongs in docs/);
#   - docs/suites.md has no section for a suite named in meson.build's attn_suite_names: a
#     heading `## <suite>`, or one shared by several suites, `## additive / luong`.
# Exit 0 when all hold, 2 on bad usage.
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 SOURCE_ROOT" >&2; exit 2; }
root=$1
[ -d "$root" ] || { echo "docs_check: '$root' is not a directory" >&2; exit 2; }
cd "$root" || exit 2
self=tests/docs_check.sh
max_readme=200
fail=0
problem() { echo "$1: $2" >&2; fail=1; }

# 1. Pointers outside the repository. The tracked files (this script excepted: it names the
#    patterns); without git, every file outside .git.
pattern='SPEC\.md|\.\./shared|(^|[^[:alnum:]_-])seeds/'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    hits=$(git grep -n -I -E "$pattern" -- . ":(exclude)$self" 2>/dev/null)
else
    hits=$(grep -rn -I -E "$pattern" --exclude-dir=.git . 2>/dev/null | sed 's|^\./||' |
           grep -v "^$self:")
fi
while IFS= read -r h; do
    [ -n "$h" ] || continue
    file=${h%%:*} rest=${h#*:}
    line=${rest%%:*}
    text=${rest#*:}
    text=${text#"${text%%[![:space:]]*}"}
    problem "$file:$line" "points outside the repository (SPEC.md, ../shared, seeds/); say it here or link docs/: ${text:0:70}"
done <<<"$hits"

# 2. README.md's length.
if [ ! -f README.md ]; then
    problem README.md "missing"
else
    n=$(wc -l <README.md)
    [ "$n" -le "$max_readme" ] ||
        problem "README.md:$((max_readme + 1))" "README.md has $n lines, over $max_readme: move the rest into docs/"
fi

# 3. A docs/suites.md section per suite of attn_suite_names.
names=$(awk '
    /attn_suite_names[[:space:]]*=/ { on = 1 }
    on {
        s = $0
        while (match(s, /\047[^\047]*\047/)) { print substr(s, RSTART + 1, RLENGTH - 2); s = substr(s, RSTART + RLENGTH) }
        if ($0 ~ /\]/) exit
    }' meson.build 2>/dev/null)
ml=$(grep -n 'attn_suite_names[[:space:]]*=' meson.build 2>/dev/null | head -n 1 | cut -d: -f1)
if [ -z "$names" ]; then
    problem "meson.build:${ml:-1}" "no suite names found in attn_suite_names"
elif [ ! -f docs/suites.md ]; then
    problem docs/suites.md "missing (meson.build:$ml lists the suites it must describe)"
else
    # every name of every `## a / b` heading, one per line
    sections=$(awk '/^## / { s = substr($0, 4); n = split(s, p, " / ");
                             for (i = 1; i <= n; i++) print p[i] }' docs/suites.md)
    for s in $names; do
        grep -qxF -- "$s" <<<"$sections" ||
            problem "docs/suites.md:1" "no section '## $s' for suite '$s' (meson.build:$ml, attn_suite_names)"
    done
fi

[ "$fail" -eq 0 ] && echo "docs_check: ok"
exit "$fail"
