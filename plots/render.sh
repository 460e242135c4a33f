#!/usr/bin/env bash
# render.sh - draw the pictures of an attnbench results CSV (see plots/README.md).
#
#   plots/render.sh CSV OUTDIR XAXIS PANELS
#
# For each suite S in CSV writes, into OUTDIR, S-throughput, S-bandwidth, S-speedup, S-error and
# S-error-ratio, each as .png (1200x800) and .svg, and prints the path of every file written.
# Needs only bash, a POSIX awk (mawk is fine) and gnuplot (pngcairo and svg terminals).
set -euo pipefail

prog=${0##*/}

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 2
}

usage() {
    cat >&2 <<EOF
usage: $prog CSV OUTDIR XAXIS PANELS
  CSV     attnbench results file (header line, then rows; runs may be appended)
  OUTDIR  directory for the pictures (created if missing)
  XAXIS   axis column put on x, log scale (e.g. N)
  PANELS  comma-separated axis columns, one panel per value combination (e.g. "d,causal");
          "" for a single panel
writes OUTDIR/S-{throughput,bandwidth,speedup,error,error-ratio}.{png,svg} for each suite S
in CSV, and prints their paths. Throughput and bandwidth carry a dash-dotted line at the device's
measured ceiling (columns peak_tflops, peak_gbps) when the rows have one; rows of backend
'peer' (other implementations) are drawn dashed with open markers, '(peer)' in the key.
RENDER_KEEP_TMP=1 keeps the temporary data files and gnuplot scripts (directory on stderr).
EOF
}

if [ $# -eq 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; }; then
    usage
    exit 0
fi
if [ $# -ne 4 ]; then
    usage
    die "expected 4 arguments (CSV OUTDIR XAXIS PANELS), got $#"
fi

csv=$1 outdir=$2 xaxis=$3 panels=$4

[ -n "$csv" ] || die "CSV path is empty"
[ -e "$csv" ] || die "CSV '$csv' does not exist"
[ ! -d "$csv" ] || die "CSV '$csv' is a directory, not a results file"
[ -r "$csv" ] || die "CSV '$csv' is not readable"
[ -s "$csv" ] || die "CSV '$csv' is empty: no header line with the needed columns"
[ -n "$xaxis" ] || die "XAXIS is empty: name an axis column of the CSV, e.g. N"
[ -n "$outdir" ] || die "OUTDIR is empty"
command -v gnuplot >/dev/null 2>&1 || die "gnuplot not found in PATH"
gp_terms=$(gnuplot -e 'set terminal' 2>&1 || true)
for t in pngcairo svg; do
    # a here-string, not a pipe: under pipefail, grep -q exiting at its first match could fail
    # the pipeline by printf's SIGPIPE, and a present terminal would read as missing
    grep -Eq "^[[:space:]]*${t}[[:space:]]" <<<"$gp_terms" ||
        die "this gnuplot has no '$t' terminal (needs a cairo build, e.g. Debian gnuplot-nox)"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attnbench-plots.XXXXXX") || die "mktemp -d failed"
if [ -n "${RENDER_KEEP_TMP:-}" ]; then   # debugging: keep the data files and scripts
    trap 'printf "%s: kept %s\n" "$prog" "$tmp" >&2' EXIT
else
    trap 'rm -rf -- "$tmp"' EXIT
fi
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# awk: parse the CSV, check the arguments, write one data file per (picture, panel, series), one
# gnuplot script per picture, and $tmp/jobs (script TAB png TAB svg per picture).
cat >"$tmp/render.awk" <<'AWK'
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }
function warn(m) { printf "%s: warning: %s\n", PROG, m > "/dev/stderr" }
function fatal(m) { printf "%s: error: %s\n", PROG, m > "/dev/stderr"; failed = 1; exit 2 }
function isnum(s) { return s ~ /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/ }
function isinf(s) { s = tolower(s); return s ~ /^\+?inf(inity)?$/ }
# gnuplot single-quoted string (a ' is doubled; backslashes are literal)
function sq(s) { gsub(/'/, "''", s); return "'" s "'" }
function fmtnum(v) { return (v == int(v) && v < 1e15 && v > -1e15) ? sprintf("%.0f", v) : sprintf("%g", v) }
function num(s) { return s + 0 }

# RFC 4180 field splitter: quoted fields may hold commas and doubled quotes ("").
function splitcsv(s, F,    n, i, c, f, inq, L) {
    if (index(s, "\"") == 0) return split(s, F, ",")
    n = 0; f = ""; inq = 0; L = length(s)
    for (i = 1; i <= L; i++) {
        c = substr(s, i, 1)
        if (inq) {
            if (c == "\"") {
                if (substr(s, i + 1, 1) == "\"") { f = f "\""; i++ } else inq = 0
            } else f = f c
        } else if (c == "\"") inq = 1
        else if (c == ",") { F[++n] = f; f = "" }
        else f = f c
    }
    F[++n] = f
    return n
}

function header(nf, F,    i, name, miss) {
    split("", H)
    for (i = 1; i <= nf; i++) { name = trim(F[i]); if (!(name in H)) H[name] = i }
    miss = ""
    for (i = 1; i <= NREQ; i++) if (!(REQ[i] in H)) miss = miss (miss == "" ? "" : ", ") REQ[i]
    if (miss != "")
        fatal("CSV '" CSVNAME "' line " recstart ": no header with the needed columns (missing: " \
              miss "); is this an attnbench results file?")
    if (H["status"] <= H["dtype"]) fatal("CSV '" CSVNAME "' line " recstart ": column 'status' must come after 'dtype'")
    # optional columns (older CSVs lack them): "" when absent
    split("gbps peak_tflops peak_gbps", OPTC, " ")
    for (i = 1; i <= 3; i++) { HO[OPTC[i]] = (OPTC[i] in H) ? H[OPTC[i]] : 0; if (HO[OPTC[i]]) HAVEOPT[OPTC[i]] = 1 }
    HN = nf; HNAX = 0; HAXLIST = ""
    for (i = H["dtype"] + 1; i < H["status"]; i++) {
        HAX[++HNAX] = trim(F[i]); HAXI[HNAX] = i
        HAXLIST = HAXLIST (HNAX > 1 ? "," : "") HAX[HNAX]
    }
    have_hdr = 1
}

function row(nf, F,    r, s, si, i, a, d) {
    if (nf != HN) {
        warn("CSV line " recstart ": " nf " fields but the header has " HN "; row ignored")
        return
    }
    r = ++NR_
    s = trim(F[H["suite"]]); if (s == "") s = "unnamed"
    SUITE[r] = s
    if (!(s in SUI)) { SUI[s] = ++NSU; SU[NSU] = s; SAXN[NSU] = 0 }
    si = SUI[s]
    for (i = 1; i <= HNAX; i++) {
        a = HAX[i]
        if (!((si, a) in SAXH)) { SAXH[si, a] = 1; SAX[si, ++SAXN[si]] = a }
        RA[r, a] = trim(F[HAXI[i]])
    }
    VAR[r] = trim(F[H["variant"]]); DT[r] = trim(F[H["dtype"]]); BK[r] = trim(F[H["backend"]])
    ST[r] = tolower(trim(F[H["status"]]))
    MED[r] = trim(F[H["median_ms"]]); TF[r] = trim(F[H["tflops"]])
    MAE[r] = trim(F[H["max_abs_err"]]); REL[r] = trim(F[H["rel_l2_err"]])
    TOL[r] = trim(F[H["tolerance"]]); DEV[r] = trim(F[H["device"]])
    GB[r] = opt(F, "gbps"); PKT[r] = opt(F, "peak_tflops"); PKG[r] = opt(F, "peak_gbps")
    PEER[r] = (tolower(BK[r]) == "peer")
    d = DEV[r]
    if (d != "" && !(d in DEVSEEN)) { DEVSEEN[d] = 1; NDEV++ }
}

function opt(F, name) { return HO[name] ? trim(F[HO[name]]) : "" }

function record(line,    F, nf) {
    if (line ~ /^[ \t]*$/) return
    nf = splitcsv(line, F)
    if (!have_hdr) { header(nf, F); return }
    if (trim(F[1]) == "suite" && nf >= 2 && trim(F[2]) == "variant") { header(nf, F); return }
    row(nf, F)
}

BEGIN {
    PROG = ENVIRON["RS_PROG"]; CSVNAME = ENVIRON["RS_CSV"]; TMP = ENVIRON["RS_TMP"]
    OUT = ENVIRON["RS_OUT"]; XA = ENVIRON["RS_X"]; PS = ENVIRON["RS_PANELS"]
    sub(/\/+$/, "", OUT); OUTP = OUT "/"
    NREQ = split("suite variant backend dtype status reason median_ms tflops max_abs_err rel_l2_err tolerance device", REQ, " ")
    NP = 0
    n = split(PS, t, ",")
    for (i = 1; i <= n; i++) {
        v = trim(t[i]); if (v == "" || (v in PSEEN)) continue
        PSEEN[v] = 1; PAN[++NP] = v
        if (v == XA) fatal("PANELS '" PS "' contains the XAXIS '" XA "': an axis cannot be both on x and split into panels")
    }
    NR_ = 0; NSU = 0; NDEV = 0; have_hdr = 0; pending = ""; failed = 0
    # series styles, colour and point type cycled: ours: solid lines, filled markers; peers (backend peer): dashed lines, open markers, darker
    # colours of their own
    NPAL = split("#1f77b4 #ff7f0e #2ca02c #d62728 #9467bd #8c564b #e377c2 #7f7f7f #bcbd22 #17becf", PAL, " ")
    NPT = split("7 5 9 13 11 15", PTS, " ")
    NPPAL = split("#000000 #a50026 #313695 #006837 #762a83 #8c510a #01665e #4d4d4d", PPAL, " ")
    NPPT = split("6 4 8 12 10 14", PPTS, " ")
    # ceiling lines, one colour per device
    NCPAL = split("#444444 #b8860b #6a3d9a #1b7837", CPAL, " ")
    # picture kinds; drawn (and printed) in the order of KORD
    NAME[1] = "throughput"; NAME[2] = "speedup"; NAME[3] = "error"; NAME[4] = "error-ratio"
    NAME[5] = "bandwidth"; NK = split("1 5 2 3 4", KORD, " ")
}

{
    line = $0; sub(/\r$/, "", line)
    if (pending != "") line = pending "\n" line
    else recstart = NR
    tmpq = line
    if (gsub(/"/, "", tmpq) % 2 == 1) { pending = line; next }   # quoted field goes on
    pending = ""
    record(line)
}

# ---- numeric helpers -------------------------------------------------------------------------
function log10(x) { return log(x) / log(10) }
function floor_(x) { return (x == int(x) || x >= 0) ? int(x) : int(x) - 1 }
function ceil_(x) { return -floor_(-x) }
function ispow2(x,    k) { if (x <= 0 || x != int(x)) return 0; k = int(log(x) / log(2) + 0.5); return (2 ^ k == x) }

# log-scale tics between lo and hi: returns a gnuplot tic list "(\"1\" 1, ...)"
function logtics(lo, hi,    k0, k1, D, step, k, s, nm, m, M, j, v, cnt, out, best, sets, si_) {
    k0 = ceil_(log10(lo) - 1e-9); k1 = floor_(log10(hi) + 1e-9)
    D = k1 - k0 + 1
    if (D >= 4) {
        step = ceil_(D / 9); out = ""
        for (k = k0; k <= k1; k++) if ((k - k0) % step == 0) { v = ("1e" k) + 0; out = out (out == "" ? "" : ", ") "\"" fmtnum(v) "\" " sprintf("%.17g", v) }
        return "(" out ")"
    }
    sets[1] = "1 3"; sets[2] = "1 2 5"; sets[3] = "1 1.5 2 3 5 7"; sets[4] = "1 1.2 1.5 2 2.5 3 4 5 6 7 8 9"
    best = ""
    for (si_ = 1; si_ <= 4; si_++) {
        nm = split(sets[si_], M, " "); cnt = 0; out = ""
        for (k = floor_(log10(lo)) - 1; k <= ceil_(log10(hi)) + 1; k++)
            for (j = 1; j <= nm; j++) {
                v = (M[j] "e" k) + 0
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) {
                    cnt++; out = out (out == "" ? "" : ", ") "\"" sprintf("%g", v) "\" " sprintf("%.17g", v)
                }
            }
        if (cnt > 13 && best != "") break
        best = out
        if (cnt >= 4) break
    }
    return "(" best ")"
}

# ---- the pictures ----------------------------------------------------------------------------
# per suite: rows, series, panels; then per kind k (1 throughput, 2 speedup, 3 error, 4 ratio)
function point(k, ser, pan, xs, y, fail, r, nonfinite,    key, kk, i, a, ra) {
    key = k SUBSEP ser SUBSEP pan SUBSEP xs
    if (!(key in PY)) {
        kk = k SUBSEP ser SUBSEP pan
        NX[kk]++; XS[kk, NX[kk]] = xs
        if (!((k, ser) in HASSER)) { HASSER[k, ser] = 1 }
    } else {
        ra = PROW[key]
        for (i = 1; i <= NOTH; i++) { a = OTH[i]; if (RA[ra, a] != RA[r, a]) COLL[a] = 1 }
    }
    PY[key] = y; PF[key] = fail; PROW[key] = r; PNF[key] = nonfinite
}

function suite_pictures(si,    s, fname, i, j, r, a, n, lab, ser, pan, key, ptitle, xs, y, bkey, ok, dlist, nd, cnt_ok, cnt_fail, cnt_skip, cnt_other, k, collist, isax, nours, npeer, dk) {
    s = SU[si]
    fname = s; gsub(/[^A-Za-z0-9._-]/, "_", fname)
    split("", SER); split("", SERL); split("", PANI); split("", PANT); split("", PY); split("", PF)
    split("", PROW); split("", PNF); split("", NX); split("", XS); split("", HASSER); split("", BASE)
    split("", COLL); split("", OTH); split("", DV); split("", SPEER); split("", SIDX)
    split("", CEILV); split("", CEILD)
    NSER = 0; NPANEL = 0; NOTH = 0; nd = 0; dlist = ""; nours = 0; npeer = 0; NCEILD = 0
    cnt_ok = cnt_fail = cnt_skip = cnt_other = 0
    for (i = 1; i <= SAXN[si]; i++) {
        a = SAX[si, i]; isax = (a == XA)
        for (j = 1; j <= NP; j++) if (PAN[j] == a) isax = 1
        if (!isax) OTH[++NOTH] = a
    }
    nbase_rows = 0; nbase_any = 0
    # pass 1: series, panels, devices, baselines
    for (r = 1; r <= NR_; r++) {
        if (SUITE[r] != s) continue
        if (ST[r] == "ok") cnt_ok++; else if (ST[r] == "fail") cnt_fail++; else if (ST[r] == "skip") cnt_skip++; else cnt_other++
        lab = VAR[r] "/" DT[r]
        if (NDEV > 1) lab = lab " @" (DEV[r] != "" ? DEV[r] : BK[r])
        if (PEER[r]) lab = lab " (peer)"
        if (!(lab in SER)) {
            SER[lab] = ++NSER; SERL[NSER] = lab; SPEER[NSER] = PEER[r]
            SIDX[NSER] = PEER[r] ? ++npeer : ++nours
        }
        RSER[r] = SER[lab]
        # the measured ceilings, per device (the highest when runs of one device differ)
        dk = (DEV[r] != "" ? DEV[r] : "device not recorded")
        if (isnum(PKT[r]) && num(PKT[r]) > 0) ceiling(1, dk, num(PKT[r]))
        if (isnum(PKG[r]) && num(PKG[r]) > 0) ceiling(5, dk, num(PKG[r]))
        ptitle = ""
        for (j = 1; j <= NP; j++) ptitle = ptitle (j > 1 ? "  " : "") PAN[j] "=" (RA[r, PAN[j]] == "" ? "?" : RA[r, PAN[j]])
        if (!(ptitle in PANI)) { PANI[ptitle] = ++NPANEL; PANT[NPANEL] = ptitle; for (j = 1; j <= NP; j++) PANV[NPANEL, j] = RA[r, PAN[j]] }
        RPAN[r] = PANI[ptitle]
        if (DEV[r] != "" && !(DEV[r] in DV)) { DV[DEV[r]] = 1; nd++; if (nd <= 2) dlist = dlist (nd > 1 ? ", " : "") DEV[r] }
        if (VAR[r] ~ /^cublas/ && !PEER[r]) {
            nbase_any++
            if (ST[r] == "ok" && isnum(MED[r]) && num(MED[r]) > 0) {
                nbase_rows++
                bkey = DT[r] SUBSEP DEV[r]
                for (i = 1; i <= SAXN[si]; i++) bkey = bkey SUBSEP RA[r, SAX[si, i]]
                BASE[bkey] = num(MED[r])
            }
        }
    }
    SND = nd
    if (nd > 2) dlist = dlist " (+" (nd - 2) " more)"
    if (nd == 0) dlist = "device not recorded"
    sort_panels()
    # pass 2: points (the last qualifying row of a series at one x in one panel wins)
    badx = 0
    for (r = 1; r <= NR_; r++) {
        if (SUITE[r] != s) continue
        xs = RA[r, XA]
        if (!isnum(xs)) { if (xs != "" || ST[r] == "ok") badx++; continue }
        ser = RSER[r]; pan = RPAN[r]
        fail = (ST[r] == "fail")
        if (ST[r] == "ok" && isnum(TF[r]) && num(TF[r]) > 0) point(1, ser, pan, xs, num(TF[r]), 0, r, 0)
        if (ST[r] == "ok" && isnum(GB[r]) && num(GB[r]) > 0) point(5, ser, pan, xs, num(GB[r]), 0, r, 0)
        # speedup: the cuBLAS series themselves are the line at 1, so they are not drawn
        if (ST[r] == "ok" && (VAR[r] !~ /^cublas/ || PEER[r]) && isnum(MED[r]) && num(MED[r]) > 0) {
            bkey = DT[r] SUBSEP DEV[r]
            for (i = 1; i <= SAXN[si]; i++) bkey = bkey SUBSEP RA[r, SAX[si, i]]
            if (bkey in BASE) point(2, ser, pan, xs, BASE[bkey] / num(MED[r]), 0, r, 0)
        }
        if (ST[r] == "ok" || fail) {
            if (isnum(REL[r])) { y = num(REL[r]); if (y <= 0) y = 1e-17; point(3, ser, pan, xs, y, fail, r, 0) }
            else if (isinf(REL[r])) point(3, ser, pan, xs, 0, fail, r, 1)
            if (isnum(TOL[r]) && num(TOL[r]) > 0) {
                if (isnum(MAE[r])) { y = num(MAE[r]) / num(TOL[r]); if (y <= 0) y = 1e-17; point(4, ser, pan, xs, y, fail, r, 0) }
                else if (isinf(MAE[r])) point(4, ser, pan, xs, 0, fail, r, 1)
            }
        }
    }
    if (badx) warn("suite " s ": " badx " row(s) have no numeric " XA " value and are not drawn")
    collist = ""
    for (i = 1; i <= NOTH; i++) if (OTH[i] in COLL) collist = collist (collist == "" ? "" : ",") OTH[i]
    if (collist != "")
        warn("suite " s ": rows differing only in axis " collist " (neither XAXIS nor in PANELS) fell on the same point; the last row in the file is drawn. Add " collist " to PANELS or filter the CSV.")
    STATS = cnt_ok " ok, " cnt_fail " fail, " cnt_skip " skip" (cnt_other ? ", " cnt_other " other" : "")
    for (k = 1; k <= NK; k++) picture(si, s, fname, KORD[k], dlist)
}

# ceiling of kind k (1: peak_tflops, 5: peak_gbps) on device d: the highest value seen
function ceiling(k, d, v) {
    if (!(d in CEILD)) { CEILD[d] = ++NCEILD; CEILDN[NCEILD] = d }
    if (!((k, d) in CEILV) || v > CEILV[k, d]) CEILV[k, d] = v
}
# a ceiling for a label: 789 TFLOP/s, 3350 GB/s, 12.5, 0.734
function fmtceil(v) { return v >= 100 ? sprintf("%.0f", v) : (v >= 10 ? sprintf("%.1f", v) : sprintf("%.3g", v)) }
function ceil_label(k, d, long_) {
    return (long_ ? (k == 1 ? "measured bf16 GEMM peak " : "measured copy bandwidth ") : "") \
           fmtceil(CEILV[k, d]) (k == 1 ? " TFLOP/s" : " GB/s") (SND > 1 || NCEILD > 1 ? " (" d ")" : "")
}

# panels in numeric order of their axis values (insertion sort; few panels)
function panel_less(a, b,    j, x, y) {
    for (j = 1; j <= NP; j++) {
        x = PANV[a, j]; y = PANV[b, j]
        if (x == y) continue
        if (isnum(x) && isnum(y)) return num(x) < num(y)
        return x < y
    }
    return 0
}
function sort_panels(    i, j, t) {
    for (i = 1; i <= NPANEL; i++) PORD[i] = i
    for (i = 2; i <= NPANEL; i++) {
        t = PORD[i]
        for (j = i - 1; j >= 1 && panel_less(t, PORD[j]); j--) PORD[j + 1] = PORD[j]
        PORD[j + 1] = t
    }
}

# series ser: ours solid with filled markers, peers dashed with open markers and their own colours;
# colour and marker cycle at different lengths, so (colour, marker) repeats only after 30 series
function style(ser,    i, c, p) {
    i = SIDX[ser]
    if (SPEER[ser]) { c = PPAL[(i - 1) % NPPAL + 1]; p = PPTS[(i - 1) % NPPT + 1]; return "lc rgb '" c "' pt " p " dt (10,5)" }
    c = PAL[(i - 1) % NPAL + 1]; p = PTS[(i - 1) % NPT + 1]
    return "lc rgb '" c "' pt " p " dt solid"
}

function picture(si, s, fname, k, dlist,    gp, jobs, quant, ylab, nodata, npts, xmin, xmax, ymin, ymax, allpos, allp2, nxd, XD, XDS, i, j, p, ser, kk, key, x, y, n, XO, a, b, t, lo, hi, f, span, pad, xt, yt, cols, rows, W, Hh, topH, botH, legH, legC, legR, maxlen, sers, nsers, anyfail, anynf, left, right, colw, rowh, gapx, gapy, pl, pr, pb, pt, pidx, r_, c_, dat, fdat, plot, hasfail, npan_pts, title, xlab, line1, nyf, anyzero, pass, npeers, nceil, CL, cd, cv, cc, ck) {
    gp = TMP "/p" si "_" k ".gp"
    if (k == 1) { quant = "throughput (higher is better)"; ylab = "throughput [TFLOP/s]" }
    if (k == 2) { quant = "speedup = median_ms(cuBLAS, same dtype and case) / median_ms(variant)"; ylab = "speedup vs cuBLAS  [x]" }
    if (k == 3) { quant = "relative L2 error vs the reference (lower is better)"; ylab = "rel. L2 error  ||out - ref|| / ||ref||  [1]" }
    if (k == 4) { quant = "max abs error / tolerance (fails above 1)"; ylab = "max_abs_err / tolerance  [1]" }
    if (k == 5) { quant = "bandwidth = minimum bytes / median_ms (higher is better)"; ylab = "bandwidth [GB/s]" }
    line1 = "attnbench " s ": " quant
    title = sq(line1) ".\"\\n\"." sq("device: " dlist "    x: " XA (NP ? "    panels: " PS : ""))
    xlab = XA
    # gather points of this picture
    npts = 0; allpos = 1; allp2 = 1; nxd = 0; split("", XD); split("", XDS); nsers = 0; split("", sers)
    anyfail = 0; anynf = 0; nyf = 0; anyzero = 0; npeers = 0
    # ours first, then the peers (their order in the key)
    for (pass = 0; pass <= 1; pass++)
    for (ser = 1; ser <= NSER; ser++) {
        if (SPEER[ser] != pass || !((k, ser) in HASSER)) continue
        sers[++nsers] = ser; npeers += pass
        for (p = 1; p <= NPANEL; p++) {
            kk = k SUBSEP ser SUBSEP p
            for (i = 1; i <= NX[kk]; i++) {
                key = kk SUBSEP XS[kk, i]
                x = num(XS[kk, i]); npts++
                if (!(x in XD)) { XD[x] = 1; XDS[++nxd] = x }
                if (npts == 1 || x < xmin) xmin = x
                if (npts == 1 || x > xmax) xmax = x
                if (x <= 0) allpos = 0
                if (!ispow2(x)) allp2 = 0
                if (PF[key]) anyfail = 1
                if (PNF[key]) { anynf = 1; continue }
                y = PY[key]
                if ((k == 3 || k == 4) && y == 1e-17) anyzero = 1
                if (!nyf++ || y < ymin) ymin = y
                if (nyf == 1 || y > ymax) ymax = y
            }
        }
    }
    jobs = TMP "/jobs"
    printf "%s\t%s\t%s\n", gp, OUTP fname "-" NAME[k] ".png", OUTP fname "-" NAME[k] ".svg" >> jobs
    printf "reset\nset termoption noenhanced\nset encoding utf8\n" > gp
    if (npts == 0) {
        if (k == 1) nodata = "no data: no rows with status ok and a tflops value"
        if (k == 2) nodata = (nbase_any == 0 ? "no cuBLAS baseline rows in this CSV" : (nbase_rows == 0 ? "no usable cuBLAS baseline rows (status ok with median_ms) in this CSV" : "no data: no ok variant row has a cuBLAS baseline of its dtype at the same case"))
        if (k == 3) nodata = "no data: no rows (status ok or fail) with rel_l2_err"
        if (k == 4) nodata = "no data: no rows (status ok or fail) with max_abs_err and a tolerance"
        if (k == 5) nodata = "no data: no rows with status ok and a gbps value" (("gbps" in HAVEOPT) ? "" : " (the CSV has no gbps column)")
        printf "set title %s font ',15'\n", title >> gp
        printf "unset border; unset xtics; unset ytics; unset key\n" >> gp
        printf "set label 1 %s at screen 0.5, 0.52 center font ',16'\n", sq(nodata) >> gp
        printf "set label 2 %s at screen 0.5, 0.45 center font ',12' tc rgb '#555555'\n", sq("rows of suite " s " in " CSVNAME ": " STATS) >> gp
        printf "set xrange [0:1]; set yrange [0:1]\nplot NaN notitle\n" >> gp
        close(gp)
        return
    }
    if (nyf == 0) { ymin = 1; ymax = 1 }   # only non-finite values
    if (k == 2 || k == 4) { if (ymin > 1) ymin = 1; if (ymax < 1) ymax = 1 }
    if (anynf && ymax < 1) ymax = 1   # non-finite errors are drawn at the top
    # the measured ceilings (throughput: peak_tflops, bandwidth: peak_gbps), one line per device,
    # inside the y range
    nceil = 0
    if (k == 1 || k == 5)
        for (i = 1; i <= NCEILD; i++) {
            cd = CEILDN[i]
            if (!((k, cd) in CEILV)) continue
            CL[++nceil] = cd; cv = CEILV[k, cd]
            if (cv < ymin) ymin = cv
            if (cv > ymax) ymax = cv
        }
    # highest first: it is labelled in the panels, above its line (where there is room and no
    # data, usually); lower lines of other devices only in the key, by colour
    for (i = 2; i <= nceil; i++) { t = CL[i]; for (j = i - 1; j >= 1 && CEILV[k, CL[j]] < CEILV[k, t]; j--) CL[j + 1] = CL[j]; CL[j + 1] = t }
    # ranges: x log (base 2 when all powers of two), y log; shared by every panel of the picture
    for (i = 2; i <= nxd; i++) { t = XDS[i]; for (j = i - 1; j >= 1 && XDS[j] > t; j--) XDS[j + 1] = XDS[j]; XDS[j + 1] = t }
    if (allpos) {
        if (xmax > xmin) { f = exp(0.05 * log(xmax / xmin)); if (f < 1.15) f = 1.15 } else f = 2
        lo = xmin / f; hi = xmax * f
        printf "set logscale x %d\nset xrange [%.17g:%.17g]\n", (allp2 ? 2 : 10), lo, hi >> gp
    } else {
        if (!(s in LINWARN)) { LINWARN[s] = 1; warn("suite " s ": " XA " has values <= 0, so x is drawn on a linear scale") }
        if (xmax > xmin) f = 0.05 * (xmax - xmin); else f = 1
        printf "unset logscale x\nset xrange [%.17g:%.17g]\n", xmin - f, xmax + f >> gp
    }
    if (nxd <= 16) {
        xt = ""
        for (i = 1; i <= nxd; i++) xt = xt (i > 1 ? ", " : "") "\"" fmtnum(XDS[i]) "\" " sprintf("%.17g", XDS[i])
        printf "set xtics (%s)\n", xt >> gp
    } else printf "set xtics\nset format x '%%g'\n" >> gp
    span = log(ymax / ymin); pad = exp(0.08 * span); if (pad < 1.35) pad = 1.35
    lo = ymin / pad; hi = ymax * pad
    printf "set logscale y 10\nset yrange [%.17g:%.17g]\n", lo, hi >> gp
    printf "set ytics %s\nunset mytics\n", logtics(lo, hi) >> gp
    TOPY = ymax * (pad > 1.2 ? pad / 1.12 : pad)   # where non-finite values are drawn
    printf "set grid xtics ytics lc rgb '#c4c4c4' lw 1 dt 1\nset border 3 lw 1.2\nset xtics nomirror\nset ytics nomirror\nunset key\nset tics out\n" >> gp
    printf "set style line 100 lc rgb 'black' pt 6 ps 2.4 lw 1.5\n" >> gp
    for (i = 1; i <= nsers; i++) printf "set style line %d %s lw 2 ps 1.3\n", sers[i], style(sers[i]) >> gp
    # layout in pixels (the picture is W x Hh; png and svg share it)
    if (NPANEL <= 3) cols = NPANEL; else { cols = int(sqrt(NPANEL)); if (cols * cols < NPANEL) cols++ }
    rows = int((NPANEL + cols - 1) / cols)
    maxlen = 0
    for (i = 1; i <= nsers; i++) if (length(SERL[sers[i]]) > maxlen) maxlen = length(SERL[sers[i]])
    if ((k == 3 || k == 4) && anyfail && maxlen < 26) maxlen = 26
    if (k == 4 && maxlen < 37) maxlen = 37
    if (k == 2 && maxlen < 25) maxlen = 25
    for (i = 1; i <= nceil; i++) if (length(ceil_label(k, CL[i], 1)) > maxlen) maxlen = length(ceil_label(k, CL[i], 1))
    n = nsers + ((k == 3 || k == 4) && anyfail) + (anynf ? 1 : 0) + anyzero + (k == 2 || k == 4) + nceil
    legC = int(1100 / (maxlen * 8.5 + 85)); if (legC < 1) legC = 1; if (legC > n) legC = n
    legR = int((n + legC - 1) / legC)
    legH = legR * 19 + 14
    W = 1200
    topH = (NP ? 104 : 78); botH = 10 + legH + 66
    gapy = (NP ? 78 : 50); gapx = 62
    Hh = topH + rows * 210 + (rows - 1) * gapy + botH; if (Hh < 800) Hh = 800
    left = 96; right = 30
    colw = (W - left - right - (cols - 1) * gapx) / cols
    rowh = (Hh - topH - botH - (rows - 1) * gapy) / rows
    SIZE[si, k] = W "," Hh
    printf "set multiplot title %s font ',15'\n", title >> gp
    for (pidx = 1; pidx <= NPANEL; pidx++) {
        p = PORD[pidx]
        r_ = int((pidx - 1) / cols); c_ = (pidx - 1) % cols
        pl = left + c_ * (colw + gapx); pr = pl + colw
        pt = Hh - topH - r_ * (rowh + gapy); pb = pt - rowh
        printf "set lmargin at screen %.5f; set rmargin at screen %.5f; set tmargin at screen %.5f; set bmargin at screen %.5f\n", pl / W, pr / W, pt / Hh, pb / Hh >> gp
        printf "set title %s font ',13'\n", (NP ? sq(PANT[p]) : "''") >> gp
        printf "set xlabel %s font ',12'\n", (r_ == rows - 1 || pidx + cols > NPANEL ? sq(xlab) : "''") >> gp
        printf "set ylabel %s font ',12' offset YLOFF, 0\n", (c_ == 0 ? sq(ylab) : "''") >> gp
        printf "unset arrow; unset label\n" >> gp
        if (k == 2) printf "set arrow from graph 0, first 1 to graph 1, first 1 nohead back lc rgb '#333333' lw 1.5 dt 2\n" >> gp
        if (k == 4) printf "set arrow from graph 0, first 1 to graph 1, first 1 nohead back lc rgb '#cc0000' lw 1.5 dt 2\n" >> gp
        for (i = 1; i <= nceil; i++) {
            cd = CL[i]; cv = CEILV[k, cd]; cc = CPAL[(CEILD[cd] - 1) % NCPAL + 1]
            printf "set arrow from graph 0, first %.10g to graph 1, first %.10g nohead back lc rgb '%s' lw 1.8 dt (8,4,2,4)\n", cv, cv, cc >> gp
            if (i == 1) printf "set label 11 %s at graph 0.012, first %.10g left offset 0, 0.6 font ',9' tc rgb '%s' front\n", sq(ceil_label(k, cd, nceil == 1)), cv, cc >> gp
        }
        plot = ""; hasfail = 0; npan_pts = 0
        fdat = TMP "/f" si "_" k "_" p ".dat"
        for (i = 1; i <= nsers; i++) {
            ser = sers[i]; kk = k SUBSEP ser SUBSEP p
            n = NX[kk]; if (!n) continue
            for (j = 1; j <= n; j++) XO[j] = XS[kk, j]
            for (a = 2; a <= n; a++) { t = XO[a]; for (b = a - 1; b >= 1 && num(XO[b]) > num(t); b--) XO[b + 1] = XO[b]; XO[b + 1] = t }
            dat = TMP "/d" si "_" k "_" p "_" ser ".dat"
            for (j = 1; j <= n; j++) {
                key = kk SUBSEP XO[j]
                y = (PNF[key] ? TOPY : PY[key])
                printf "%s %.10g\n", XO[j], y > dat
                if (PF[key] || PNF[key]) { printf "%s %.10g\n", XO[j], y > fdat; hasfail = 1 }
            }
            close(dat); npan_pts += n
            plot = plot (plot == "" ? "" : ", ") sq(dat) " using 1:2 with linespoints ls " ser " notitle"
        }
        if (hasfail) { close(fdat); plot = plot ", " sq(fdat) " using 1:2 with points ls 100 notitle" }
        if (npan_pts == 0) {
            printf "set label 2 'no data in this panel' at graph 0.5, 0.5 center font ',12' tc rgb '#555555'\n" >> gp
            plot = "NaN notitle"
        }
        printf "plot %s\n", plot >> gp
    }
    # the shared key, in its own strip at the bottom
    printf "unset arrow; unset label; unset title; unset xlabel; unset ylabel; unset grid; unset border\n" >> gp
    printf "unset logscale; unset xtics; unset ytics; set xrange [0:1]; set yrange [0:1]\n" >> gp
    printf "set lmargin at screen 0.01; set rmargin at screen 0.99; set bmargin at screen %.5f; set tmargin at screen %.5f\n", 8 / Hh, (8 + legH) / Hh >> gp
    printf "set key inside center center horizontal reverse Left maxcols %d samplen 3 spacing 1.15 width 1 box lc rgb '#aaaaaa' font ',11'\n", legC >> gp
    plot = ""
    for (i = 1; i <= nsers; i++) plot = plot (plot == "" ? "" : ", ") "NaN with linespoints ls " sers[i] " title " sq(SERL[sers[i]])
    if (k == 2) plot = plot ", NaN with lines lc rgb '#333333' lw 1.5 dt 2 title 'cuBLAS, same dtype (= 1)'"
    if (k == 4) plot = plot ", NaN with lines lc rgb '#cc0000' lw 1.5 dt 2 title 'fails above: max_abs_err > tolerance'"
    for (i = 1; i <= nceil; i++) {
        cd = CL[i]; cc = CPAL[(CEILD[cd] - 1) % NCPAL + 1]
        plot = plot ", NaN with lines lc rgb '" cc "' lw 1.8 dt (8,4,2,4) title " sq(ceil_label(k, cd, 1))
    }
    if ((k == 3 || k == 4) && anyfail) plot = plot ", NaN with points ls 100 title 'circled: status fail'"
    if (anynf) plot = plot ", NaN with points lc rgb 'white' pt 1 ps 0 title 'non-finite (inf): drawn at the top'"
    if (anyzero) plot = plot ", NaN with points lc rgb 'white' pt 1 ps 0 title 'exactly 0: drawn at 1e-17'"
    printf "plot %s\nunset multiplot\n", plot >> gp
    close(gp)
}

END {
    if (failed) exit 2
    if (pending != "") warn("CSV '" CSVNAME "': line " recstart " opens a quoted field that never closes; ignored")
    if (!have_hdr) fatal("CSV '" CSVNAME "' has no header line with the needed columns")
    if (NR_ == 0) {
        # header only: no suite column value, so name the pictures after the file
        s = CSVNAME; sub(/.*\//, "", s); sub(/\.[Cc][Ss][Vv]$/, "", s); if (s == "") s = "results"
        warn("CSV '" CSVNAME "' has a header but no rows; pictures are named after the file: " s)
        SU[++NSU] = s; SUI[s] = NSU; SAXN[NSU] = HNAX
        for (i = 1; i <= HNAX; i++) { SAX[NSU, i] = HAX[i]; SAXH[NSU, HAX[i]] = 1 }
    }
    for (si = 1; si <= NSU; si++) {
        axl = ""
        for (i = 1; i <= SAXN[si]; i++) axl = axl (i > 1 ? "," : "") SAX[si, i]
        if (!((si, XA) in SAXH))
            fatal("XAXIS '" XA "' is not an axis column of suite " SU[si] " in '" CSVNAME "' (its axes: " axl ")")
        for (j = 1; j <= NP; j++)
            if (!((si, PAN[j]) in SAXH))
                fatal("PANELS names '" PAN[j] "', which is not an axis column of suite " SU[si] " in '" CSVNAME "' (its axes: " axl ")")
    }
    for (si = 1; si <= NSU; si++) suite_pictures(si)
    for (si = 1; si <= NSU; si++) for (k = 1; k <= 5; k++) printf "%s\n", (((si, k) in SIZE) ? SIZE[si, k] : "1200,800") > (TMP "/size_" si "_" k)
    exit 0
}
AWK

export RS_PROG="$prog" RS_CSV="$csv" RS_OUT="$outdir" RS_X="$xaxis" RS_PANELS="$panels" RS_TMP="$tmp"
: >"$tmp/jobs"
# stdin, not an operand: a file name such as a=b.csv would be an awk assignment
awk -f "$tmp/render.awk" <"$csv" || exit 2

mkdir -p -- "$outdir" 2>/dev/null || die "cannot create OUTDIR '$outdir'"
if [ ! -d "$outdir" ] || [ ! -w "$outdir" ]; then
    die "OUTDIR '$outdir' is not a writable directory"
fi

# ---------------------------------------------------------------------------------------------
# gnuplot: each picture's script once per terminal
gpq() { local s=${1//\'/\'\'}; printf "'%s'" "$s"; }
written=()
n=0
while IFS=$'\t' read -r script png svg; do
    n=$((n + 1))
    base=${script##*/p}; base=${base%.gp}               # "<suite>_<kind>"
    size=$(cat "$tmp/size_$base")
    {
        printf 'set terminal pngcairo size %s font "DejaVu Sans,11" linewidth 1 noenhanced background rgb "white"\n' "$size"
        printf 'YLOFF = 0\nset output %s\nload %s\nunset output\n' "$(gpq "$png")" "$(gpq "$script")"
        printf 'set terminal svg size %s fixed font "DejaVu Sans,11" fontscale 1.2 linewidth 1 noenhanced background rgb "white"\n' "$size"
        printf 'YLOFF = -0.6\nset output %s\nload %s\nunset output\n' "$(gpq "$svg")" "$(gpq "$script")"
    } >"$tmp/run_$base.gp"
    if ! gnuplot "$tmp/run_$base.gp" >"$tmp/gnuplot.log" 2>&1; then
        printf '%s: error: gnuplot failed drawing %s:\n' "$prog" "$png" >&2
        cat "$tmp/gnuplot.log" >&2
        exit 1
    fi
    for f in "$png" "$svg"; do
        [ -s "$f" ] || die "gnuplot wrote no '$f'"
        written+=("$f")
    done
done <"$tmp/jobs"
[ "$n" -gt 0 ] || die "nothing to draw (internal: no pictures planned)"
printf '%s\n' "${written[@]}"
