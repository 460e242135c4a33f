#!/usr/bin/env bash
# compare.sh EXPECTED ACTUAL: the probe's output (or model.py's) against its stored answers.
#   tools/wgmma-probe/compare.sh tools/wgmma-probe/expected.txt probe-output.txt
# Lines are "<mode> <hash> [anything]"; lines starting with '#' are comments. Prints "OK (N modes)"
# when every mode of EXPECTED has the same hash in ACTUAL; otherwise one line per mode that is
# not, "DIFFERS <mode> (expected H, got H')", "FAILED <mode>: <why>" (the probe could not run it)
# or "MISSING <mode>", and a last line counting them.
# Exit status: 0 all equal, 1 some mode differs, failed or is missing, 2 bad usage (a file that
# cannot be read, a line that is not a mode line), 3 EXPECTED names no mode.
set -uo pipefail
[ $# = 2 ] || { echo "usage: compare.sh EXPECTED ACTUAL" >&2; exit 2; }
for f in "$1" "$2"; do
    [ -r "$f" ] && [ -f "$f" ] || { echo "compare.sh: cannot read '$f'" >&2; exit 2; }
done
awk -v exp_file="$1" '
function bad(file, line) { printf "compare.sh: %s: not a mode line: %s\n", file, line > "/dev/stderr"; err = 1; exit 2 }
BEGIN {
    while ((getline line < exp_file) > 0) {
        if (line ~ /^#/ || line ~ /^[ \t]*$/) continue
        k = split(line, f, " ")
        if (k < 2 || f[2] !~ /^[0-9a-f]+$/) bad(exp_file, line)
        want[f[1]] = f[2]; order[++n] = f[1]
    }
}
/^#/ || NF == 0 { next }
{
    if (NF < 2) bad(FILENAME, $0)
    if ($2 == "FAILED:") { failed[$1] = $0; sub(/^[^ ]+ FAILED: /, "", failed[$1]) }
    else if ($2 ~ /^[0-9a-f]+$/) got[$1] = $2
    else bad(FILENAME, $0)
}
END {
    if (err) exit 2
    if (n == 0) { print "compare.sh: " exp_file " names no mode"; exit 3 }
    bad_modes = 0
    for (i = 1; i <= n; i++) {
        m = order[i]
        if (m in failed) { printf "FAILED %s: %s\n", m, failed[m]; bad_modes++ }
        else if (!(m in got)) { printf "MISSING %s\n", m; bad_modes++ }
        else if (got[m] != want[m]) { printf "DIFFERS %s (expected %s, got %s)\n", m, want[m], got[m]; bad_modes++ }
    }
    if (bad_modes) { printf "%d of %d modes differ\n", bad_modes, n; exit 1 }
    printf "OK (%d modes)\n", n
}' "$2"
