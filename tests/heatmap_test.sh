#!/usr/bin/env bash
# Attention weights through --dump and `attnbench plots --heatmap` (bench/heatmap.c, the suites'
# weights callbacks):
#  - luong (every score) and mhsa (causal, padded): a dump holds <suite>-<case>-weights.npy; its
#    rows are the reference's softmax, shown by c = a·h̄ reproducing the dumped reference c;
#    luong's reference row outputs a too (-weights-reference.npy, the same numbers);
#  - with the emulator (third argument: its module): the GPU variants' own weights of additive
#    and luong (-weights-<variant>.npy, f32 and bf16) are drawn (-heatmap-<variant>), agree
#    with the reference's within the suite's tolerance, and c = a·h̄ holds for each variant's
#    own c within it, and holds f32 (bf16) values: the variant's own a, not the reference's;
#  - the heatmap render writes .png and .svg, and its gnuplot script holds the first matrix;
#  - mhsa's masked keys weigh 0 (causal upper triangle, keys past kv_len);
#  - planted wrong weights (a row scaled by 1.5; a negative weight in a row summing to 1) are
#    refused with exit 1 naming the row, and nothing is drawn;
#  - bad usage: no manifest, a dump with no weights, --heatmap without a value: exit 2.
# Usage: heatmap_test.sh ATTNBENCH PYTHON3 [EMULATOR_MODULE]
set -euo pipefail
bin="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" py="$2" emu="${3:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "gnuplot not installed: skipped"; exit 77; }
cd "$tmp"

"$bin" --suite luong --variant reference --check --shape B=2,T=7,S=11,Dq=12,A=5 \
  --axis score=0,1,2 --dump L >/dev/null 2>L.err || fail "luong dump: $(cat L.err)"
"$bin" --suite mhsa --variant reference --check --shape B=2,H=2,N=9,Nk=13,d=8,causal=1,kvpad=1 \
  --dump M >/dev/null 2>M.err || fail "mhsa dump: $(cat M.err)"
"$bin" plots --heatmap L --out Lpics >L.out 2>L.err || fail "heatmap luong exit $?: $(cat L.err)"
"$bin" plots --heatmap M >M.out 2>M.err || fail "heatmap mhsa exit $?: $(cat M.err)"
if [ -n "$emu" ]; then # the GPU variants' own weights, emulated
  for s in luong additive; do # one dump directory each: G-luong, G-additive
    ATTNBENCH_EMU_LIB="$emu" "$bin" --suite $s --backend emu --check \
      --shape B=2,T=7,S=11,Dq=12,A=5 $([ $s = luong ] && echo --axis score=0,1,2) \
      --variant '^(naive|tiled|fused|tensor-core|cublas-bf16)$' \
      --dump G-$s >/dev/null 2>G.err || fail "emulated dump ($s): $(cat G.err)"
    "$bin" plots --heatmap G-$s >G.out 2>G.err || fail "heatmap of $s GPU weights: $(cat G.err)"
  done
fi

"$py" - <<'PY' || fail "weights or scripts wrong"
import ast, glob, json, struct, sys

def npy(path):
    b = open(path, "rb").read()
    assert b[:6] == b"\x93NUMPY", path
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    fmt = {"<f8": "d", "<f4": "f", "<i4": "i"}[h["descr"]]
    count = 1
    for d in h["shape"]: count *= d
    return h["shape"], struct.unpack("<%d%s" % (count, fmt), b[10 + n:10 + n + count * struct.calcsize(fmt)])

def script_matrix(gp):
    lines = open(gp).read().split("$weights << EOD\n")[1].split("EOD\n")[0].splitlines()
    return [[float(x) for x in l.split()] for l in lines]

def close(a, b, tol): return abs(a - b) <= tol * max(1.0, abs(b))

def stem_of(out, f): return out + "/" + f.replace("-weights", "-heatmap")[:-len(".npy")]

def drawn(out, w, a, rows, cols):
    stem = stem_of(out, w["file"])
    for ext in (".png", ".svg"):
        if not open(stem + ext, "rb").read(): errs.append(stem + ext + " empty")
    m = script_matrix(stem + ".gp")
    if len(m) != rows or any(len(r) != cols for r in m):
        errs.append("%s.gp: not a %dx%d matrix" % (stem, rows, cols))
    elif any(not close(m[i][j], a[i * cols + j], 1e-5) for i in range(rows) for j in range(cols)):
        errs.append("%s.gp: values differ from %s" % (stem, w["file"]))

errs = []
for d, out in (("L", "Lpics"), ("M", "M")):
    man = json.load(open(d + "/manifest.json"))
    ws = [f for f in man["files"] if f["role"] == "weights"]
    # luong: the reference's weights per case, and the reference row's own a beside them
    if len(ws) != (6 if d == "L" else 1): errs.append("%s: %d weights files" % (d, len(ws)))
    if d == "L" and sorted(w.get("variant", "") for w in ws) != [""] * 3 + ["reference"] * 3:
        errs.append("L: weights files of %s" % [w["file"] for w in ws])
    for w in ws:
        shape, a = npy(d + "/" + w["file"])
        rows, cols = shape[-2], shape[-1]
        drawn(out, w, a, rows, cols)
        if d == "L":   # c[b, t] = sum_s a[b, t, s] * hbar[b, s]: the weights are the reference's
            case = "%s-%03d" % (w["suite"], w["case"])
            (B, T, S), (_, _, Dk) = shape, npy(d + "/" + case + "-hbar.npy")[0]
            hb = npy(d + "/" + case + "-hbar.npy")[1]
            ref = npy(d + "/" + case + "-ref.npy")[1]
            for b in range(B):
                for t in range(T):
                    for x in range(Dk):
                        c = sum(a[(b * T + t) * S + s] * hb[(b * S + s) * Dk + x] for s in range(S))
                        if not close(c, ref[(b * T + t) * Dk + x], 1e-12):
                            errs.append("%s: a·h̄ != c at b=%d t=%d x=%d" % (case, b, t, x))
                            break
        else:          # mhsa b=0 h=0: causal j > i and j >= kv_len[0] weigh 0, the rest > 0
            kv = npy(d + "/mhsa-000-kv_len.npy")[1][0]
            (_, _, _, dh), v = npy(d + "/mhsa-000-v.npy")
            ref = npy(d + "/mhsa-000-ref.npy")[1]   # o[0, 0, i] = sum_j p[i, j] v[0, 0, j]
            for i in range(rows):
                for x in range(dh):
                    o = sum(a[i * cols + j] * v[j * dh + x] for j in range(cols))
                    if not close(o, ref[i * dh + x], 1e-12):
                        errs.append("mhsa: p·v != o at i=%d x=%d" % (i, x))
            for i in range(rows):
                for j in range(cols):
                    masked = j > i or j >= kv
                    if masked != (a[i * cols + j] == 0.0):
                        errs.append("mhsa p[%d][%d] = %g (masked: %s)" % (i, j, a[i * cols + j], masked))
print("\n".join(errs), file=sys.stderr)
sys.exit(1 if errs else 0)
PY

[ -z "$emu" ] || "$py" - <<'PY' || fail "emulated GPU weights wrong"
import ast, json, struct, sys

def npy(path):
    b = open(path, "rb").read()
    n = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + n].decode())
    fmt = {"<f8": "d", "<f4": "f"}[h["descr"]]
    count = 1
    for d in h["shape"]: count *= d
    return h["shape"], struct.unpack("<%d%s" % (count, fmt), b[10 + n:10 + n + count * struct.calcsize(fmt)])

errs = []
ws = [dict(f, dir="G-" + s) for s in ("luong", "additive")
      for f in json.load(open("G-%s/manifest.json" % s))["files"]
      if f["role"] == "weights" and "variant" in f]
# luong: 3 scores × 5 variants less tensor-core at concat; additive: 4 (no tensor-core)
if len(ws) != 14 + 4: errs.append("%d variant weights files, want 18" % len(ws))
kinds = set()
for w in ws:
    var, case = w["variant"], "%s-%03d" % (w["suite"], w["case"])
    tol = 2.0 ** -5 if var in ("tensor-core", "cublas-bf16") else 1e-4   # the suites' bounds
    G = w["dir"]
    shape, a = npy(G + "/" + w["file"])
    (B, T, S) = shape
    stem = G + "/" + w["file"].replace("-weights", "-heatmap")[:-len(".npy")]
    for ext in (".png", ".svg", ".gp"):
        try:
            if not open(stem + ext, "rb").read(): errs.append(stem + ext + " empty")
        except OSError: errs.append(stem + ext + " missing")
    # the variant's own numbers, widened: float32 values, bf16 ones for the bf16 variants
    # (the reference's, in double, are neither)
    f32 = [struct.unpack("<f", struct.pack("<f", x))[0] for x in a]
    b16 = [struct.unpack("<f", struct.pack("<I", struct.unpack("<I", struct.pack("<f", x))[0] & 0xFFFF0000))[0] for x in f32]
    if f32 != list(a) or (tol > 1e-3 and b16 != f32):
        errs.append("%s: not %s values: not the variant's own" % (w["file"], "bf16" if tol > 1e-3 else "f32"))
    ref = npy(G + "/%s-ref-a%s.npy" % (case, "-bf16in" if tol > 1e-3 else ""))[1]
    worst = max(abs(x - y) for x, y in zip(a, ref))
    if worst > tol * max(abs(y) for y in ref): errs.append("%s: |a - a_ref| %g" % (w["file"], worst))
    # the variant's own c is its own a times h̄ (what the bf16 variants saw: h̄ rounded)
    hb = npy(G + "/%s-hbar%s.npy" % (case, "-bf16" if tol > 1e-3 else ""))[1]
    c = npy(G + "/%s-out-%s.npy" % (case, var))[1]
    Dk = len(hb) // (B * S)
    cmax = max(abs(x) for x in c)
    for r in range(B * T):
        b = r // T
        for x in range(Dk):
            y = sum(a[r * S + s] * hb[(b * S + s) * Dk + x] for s in range(S))
            if abs(y - c[r * Dk + x]) > 2 * tol * cmax:
                errs.append("%s: a·h̄ %g != its c %g at row %d x %d" % (w["file"], y, c[r * Dk + x], r, x))
                break
    kinds.add(var)
if kinds != {"naive", "tiled", "fused", "tensor-core", "cublas-bf16"}: errs.append("variants %s" % kinds)
print("\n".join(errs), file=sys.stderr)
sys.exit(1 if errs else 0)
PY

# Planted wrong weights: a copy of the luong dump with one case's row 3 scaled, another's row 2
# given a negative weight (its sum kept 1); each refused, naming the row, and not drawn.
plant() { # DIR CASE MODE
  cp -r L "$1"
  rm -f "$1"/*.png "$1"/*.svg "$1"/*.gp
  "$py" - "$1/luong-00$2-weights.npy" "$3" <<'PY'
import struct, sys
path, mode = sys.argv[1], sys.argv[2]
b = bytearray(open(path, "rb").read())
off = 10 + struct.unpack("<H", b[8:10])[0]
S = 11
def at(i): return off + 8 * i
def get(i): return struct.unpack_from("<d", b, at(i))[0]
def put(i, x): struct.pack_into("<d", b, at(i), x)
if mode == "scale":
    for s in range(S): put(3 * S + s, 1.5 * get(3 * S + s))
else:
    put(2 * S, get(2 * S) - 0.5); put(2 * S + 1, get(2 * S + 1) + 0.5)
open(path, "wb").write(b)
PY
}
plant P1 1 scale
rc=0; "$bin" plots --heatmap P1 >P1.out 2>P1.err || rc=$?
[ "$rc" = 1 ] || fail "a row summing to 1.5: exit $rc, want 1"
grep -q 'luong-001-weights.npy: not attention weights: row 3 .* is not normalised: sum 1.5' P1.err ||
  fail "unnormalised row not named: $(cat P1.err)"
[ ! -e P1/luong-001-heatmap.png ] || fail "a bad weights file was drawn"
[ -e P1/luong-000-heatmap.png ] || fail "the good cases beside it were not drawn"
plant P2 2 negative
rc=0; "$bin" plots --heatmap P2 >P2.out 2>P2.err || rc=$?
[ "$rc" = 1 ] || fail "a negative weight: exit $rc, want 1"
grep -q 'row 2 .* has a weight outside \[0, 1\]' P2.err || fail "negative weight not named: $(cat P2.err)"

# Bad usage and input: exit 2 with a message.
mkdir empty
rc=0; "$bin" plots --heatmap empty 2>e.err || rc=$?
[ "$rc" = 2 ] && grep -q 'manifest.json' e.err || fail "no manifest: exit $rc: $(cat e.err)"
"$bin" --suite sge --variant reference --check --shape B=1 --dump S >/dev/null 2>&1 ||
  fail "sge dump failed"
rc=0; "$bin" plots --heatmap S 2>s.err || rc=$?
[ "$rc" = 2 ] && grep -q 'names no weights' s.err || fail "no weights: exit $rc: $(cat s.err)"
rc=0; "$bin" plots --heatmap 2>u.err || rc=$?
[ "$rc" = 2 ] && grep -q 'needs a dump directory' u.err || fail "--heatmap alone: exit $rc"
echo "heatmaps: weights, scripts, masks, planted rows and bad input ok"
