#!/usr/bin/env python3
"""peers.py - time PyTorch peers beside attnbench's own variants, in attnbench's CSV schema.

Peers (variant names in the CSV):
  mhsa  sdpa-flash, sdpa-efficient, sdpa-cudnn, sdpa-math: torch's scaled_dot_product_attention
        on bf16 (B, H, N, d) tensors with one backend forced (torch.nn.attention.sdpa_kernel);
        K/V (B, Hkv, Nk, d) with enable_gqa when Hkv < H; bottom-right causal alignment and
        windows as an explicit mask. flash-attn: flash_attn_func when the package imports
        (bottom-right causal and windows are its own; key padding is skipped)
  halo  torch-halo: HaloNet's windowed attention in plain PyTorch (unfold the windows, docs/suites.md's
        corrected mask, relative logits and output projection), bf16

The cases come from attnbench itself (`attnbench --plan`, the rows of variant ^cublas-bf16$),
so a peer row carries exactly the axes, FLOPs and bytes of attnbench's rows for the same case
and `attnbench merge` / plots/render.sh take both files together. Every case is checked before
it is timed (mhsa: a float64 reference on sampled query rows; halo: the peer itself in float64,
which --self-test proves equal to attnbench's reference) and timed like attnbench (CUDA events,
L2 flushed before each sample, samples until the spread target or the time cap).

Optional mhsa peers join when their module imports: flash-attn2 (flash_attn), flash-attn3
(flash_attn_interface), flex-attention (torch.nn.attention.flex_attention, PyTorch >= 2.5).

Your own function: --callable MODULE:FUNCTION (repeatable) times it, for any suite, over the
same plan, after checking it against attnbench's float64 reference dumped by attnbench itself
(--dump) for the same inputs: FUNCTION(*inputs, axes=AXES) gets the suite's input tensors in
float32 in its layout order (docs/suites.md) and a dict of the case's axis values, and returns
the output tensor; it is checked at attnbench's float32 tolerance, and a wrong answer is a fail
row, never timed (docs/own-kernel.md).

Needs python3 and PyTorch (numpy only as torch needs it); --help works without torch.
See bench/peers/README.md.
"""
import argparse
import datetime
import fcntl
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import warnings

PROG = "peers.py"
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PEERS = {
    "mhsa": ["sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math"],
    "halo": ["torch-halo"],
}
# Peers that join when their module imports (requirements() says which and why not).
OPTIONAL_PEERS = {
    "mhsa": ["flash-attn2", "flash-attn3", "flex-attention"],
}
# The attnbench variant whose plan gives the cases (bf16: the peers' storage type, so the
# plan's bytes and tolerance are the bf16 ones).
PLAN_VARIANT = "^cublas-bf16$"
# Every peer row's backend column: what attnbench floors (each suite's floors in suites/<name>.c) looks for; the device
# column says where it ran.
BACKEND = "peer"

# Test hook: ATTNBENCH_PEERS_PLANT=<name> builds a known bug into the peer or the check, so a
# test can show that --self-test catches it. Names: halo-mask (the seed's inverted padding
# mask), mhsa-ref-causal (the sampled-row reference masks key j >= i instead of j > i),
# mhsa-out (one output element of every SDPA peer off by 1), halo-nan (one output element of
# torch-halo left NaN, as if unwritten).
PLANT = os.environ.get("ATTNBENCH_PEERS_PLANT", "")

torch = None  # imported on demand: --help and argument errors work without PyTorch
F = None


class UsageError(Exception):
    """Bad input: the message names the value; exit status 2."""


class TorchMissing(Exception):
    """PyTorch cannot be imported: exit status 77 (a test harness's "skipped")."""


def load_torch():
    global torch, F
    if torch is None:
        try:
            import torch as t
            import torch.nn.functional as f
        except ImportError as e:
            raise TorchMissing(str(e))
        torch, F = t, f
    return torch


# ---------------------------------------------------------------------------------- CLI


def int_arg(lo, hi=None):
    def parse(s):
        try:
            v = int(s, 0)
        except ValueError:
            raise argparse.ArgumentTypeError("'%s' is not an integer" % s)
        if v < lo or (hi is not None and v > hi):
            raise argparse.ArgumentTypeError("%s is out of range (%d..%s)" %
                                             (s, lo, hi if hi is not None else "inf"))
        return v
    return parse


def pos_float(s):
    try:
        v = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError("'%s' is not a number" % s)
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError("'%s' must be a positive finite number" % s)
    return v


def device_arg(s):
    if s == "cpu" or s == "cuda" or re.fullmatch(r"cuda:[0-9]+", s):
        return s
    raise argparse.ArgumentTypeError("'%s' is not a device (cpu, cuda or cuda:N)" % s)


def build_parser():
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Time PyTorch peers (mhsa: SDPA with each backend; halo: a plain-PyTorch "
                    "HaloNet) over attnbench's cases, checked before timing, into a CSV with "
                    "attnbench's header.",
        epilog="Examples:\n"
               "  %(prog)s --attnbench build/attnbench --suite mhsa --sweep --csv peers-mhsa.csv\n"
               "  %(prog)s --attnbench build/attnbench --suite halo --shape B=8,C=256,H=32 "
               "--csv peers-halo.csv --calibration calib.txt\n"
               "  %(prog)s --attnbench build/attnbench --self-test --device cpu\n"
               "Exit status: 0 all rows ok or skipped (self-test: all passed), 1 a peer failed its "
               "check (self-test: a test failed), 2 bad usage, 77 PyTorch is not importable.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--attnbench", metavar="PATH",
                   help="the attnbench program (build/attnbench or the ./attnbench wrapper)")
    p.add_argument("--suite", metavar="NAME",
                   help="suite to run: %s, or with --callable any suite of attnbench "
                        "(self-test: default both)" % ", ".join(sorted(PEERS)))
    p.add_argument("--callable", action="append", metavar="MODULE:FUNCTION", dest="callables",
                   help="time your own function instead of the peers, checked first against "
                        "attnbench's reference (repeatable; MODULE is imported from the current "
                        "directory or PYTHONPATH)")
    p.add_argument("--cpu-max-gflop", type=pos_float, default=20.0, metavar="G",
                   help="--callable: cases whose reference dump needs attnbench's CPU float32 "
                        "run above G GFLOP are skipped (default 20)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--sweep", action="store_true", help="attnbench's GPU sweep of the suite")
    g.add_argument("--shape", action="append", metavar="k=v,...",
                   help="one case, as attnbench's --shape (repeatable)")
    p.add_argument("--peers", metavar="REGEX", default="",
                   help="peers whose name matches (Python regex, searched); default all")
    p.add_argument("--csv", metavar="OUT.csv",
                   help="append rows here (created with the header; an existing file must carry "
                        "the same header)")
    p.add_argument("--calibration", metavar="FILE",
                   help="output of `attnbench --calibrate` (peak_gbps=, peak_tflops= lines): "
                        "fills peak_* and pct_* columns")
    p.add_argument("--device", type=device_arg, default="cuda",
                   help="cuda (default), cuda:N, or cpu (development only: no L2 flush, "
                        "perf_counter timing)")
    p.add_argument("--seed", type=int_arg(0), default=42, metavar="N",
                   help="input seed (default 42)")
    p.add_argument("--warmup", type=int_arg(0, 1000000), default=3, metavar="N",
                   help="untimed runs before sampling (default 3)")
    p.add_argument("--min-samples", type=int_arg(1, 1000000), default=10, metavar="N",
                   help="default 10")
    p.add_argument("--max-samples", type=int_arg(1, 1000000), default=1000, metavar="N",
                   help="default 1000")
    p.add_argument("--max-time", type=pos_float, default=2.0, metavar="S",
                   help="stop sampling after S seconds once min-samples are in (default 2)")
    p.add_argument("--target-spread", type=pos_float, default=0.02, metavar="F",
                   help="stop sampling once IQR/median < F (default 0.02)")
    p.add_argument("--self-test", action="store_true",
                   help="prove the peers and the checks right on small shapes (halo: against "
                        "attnbench's float64 reference via --dump; mhsa: sdpa-math against an "
                        "explicit softmax) and exit")
    return p


def parse_args(argv):
    p = build_parser()
    a = p.parse_args(argv)
    if a.max_samples < a.min_samples:
        p.error("--max-samples %d is below --min-samples %d" % (a.max_samples, a.min_samples))
    if a.peers:
        try:
            a.peers_re = re.compile(a.peers)
        except re.error as e:
            p.error("--peers '%s' is not a valid regex: %s" % (a.peers, e))
    else:
        a.peers_re = None
    if a.attnbench is not None:
        if not os.path.isfile(a.attnbench) or not os.access(a.attnbench, os.X_OK):
            p.error("--attnbench '%s' is not an executable file" % a.attnbench)
    if a.self_test:
        if a.sweep or a.shape or a.csv or a.calibration or a.callables:
            p.error("--self-test takes no --sweep, --shape, --csv, --calibration or --callable")
        if a.suite is not None and a.suite not in PEERS:
            p.error("--suite '%s': the self-test knows %s" % (a.suite, ", ".join(sorted(PEERS))))
        if (a.suite in (None, "halo")) and a.attnbench is None:
            p.error("--self-test of halo needs --attnbench PATH (its reference is attnbench's)")
        return a
    if a.suite is not None and not a.callables and a.suite not in PEERS:
        p.error("--suite '%s': peers exist for %s; any suite takes --callable" %
                (a.suite, ", ".join(sorted(PEERS))))
    if a.attnbench is None:
        p.error("--attnbench PATH is required")
    if a.suite is None:
        p.error("--suite is required (%s; with --callable any suite)" % "|".join(sorted(PEERS)))
    if not a.sweep and not a.shape:
        p.error("give --sweep or --shape k=v,...")
    if not a.csv:
        p.error("--csv OUT.csv is required")
    if a.callables:
        for c in a.callables:
            m, _, f = c.partition(":")
            if not re.fullmatch(r"[A-Za-z_][\w.]*", m) or not re.fullmatch(r"[A-Za-z_]\w*", f):
                p.error("--callable '%s': expected MODULE:FUNCTION (e.g. my_attn:attention)" % c)
        a.peer_list = []
    else:
        names = PEERS[a.suite] + OPTIONAL_PEERS.get(a.suite, [])
        a.peer_list = [n for n in names if a.peers_re is None or a.peers_re.search(n)]
        if not a.peer_list:
            p.error("--peers '%s' matches no peer of suite %s (peers: %s)" %
                    (a.peers, a.suite, ", ".join(names)))
    a.calib = read_calibration(a.calibration, p) if a.calibration else None
    return a


def read_calibration(path, p):
    """peak_gbps and peak_tflops from `attnbench --calibrate` output; other lines ignored."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        p.error("--calibration '%s': %s" % (path, e.strerror))
    got = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = re.fullmatch(r"\s*(peak_gbps|peak_tflops)\s*=\s*(\S+)\s*", line)
        if not m:
            continue
        try:
            v = float(m.group(2))
        except ValueError:
            v = float("nan")
        if not (v > 0 and math.isfinite(v)):
            p.error("--calibration '%s' line %d: %s='%s' is not a positive number" %
                    (path, n, m.group(1), m.group(2)))
        got[m.group(1)] = v
    for k in ("peak_gbps", "peak_tflops"):
        if k not in got:
            p.error("--calibration '%s' has no %s=<number> line" % (path, k))
    return got


# ---------------------------------------------------------------------------------- CSV


def csv_split(line):
    """One RFC 4180 line (no embedded newlines: attnbench writes none) into fields."""
    out, f, i, n = [], [], 0, len(line)
    inq = False
    while i < n:
        c = line[i]
        if inq:
            if c == '"':
                if i + 1 < n and line[i + 1] == '"':
                    f.append('"')
                    i += 1
                else:
                    inq = False
            else:
                f.append(c)
        elif c == '"':
            inq = True
        elif c == ",":
            out.append("".join(f))
            f = []
        else:
            f.append(c)
        i += 1
    out.append("".join(f))
    return out


def csv_field(v):
    """A value as attnbench writes it: numbers %.6g (NaN/None empty), ints as ints, text
    quoted when it holds a comma or a quote, one line."""
    if v is None:
        return ""
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "" if math.isnan(v) else "%.6g" % v
    s = str(v).replace("\r", " ").replace("\n", " ")
    if any(c in s for c in ',"'):
        s = '"' + s.replace('"', '""') + '"'
    return s


class CsvOut:
    """Appends rows to a results CSV the way attnbench does: O_APPEND, an exclusive flock around
    each write, one write() per row (a crash loses no finished row and cuts none in two), the
    header written only into an empty file, and an existing file refused unless its header is
    exactly ours."""

    def __init__(self, path, header):
        self.path, self.header = path, header
        d = os.path.dirname(path)
        try:
            if d:
                os.makedirs(d, exist_ok=True)
            self.fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as e:
            raise UsageError("cannot open CSV '%s' for appending: %s" % (path, e.strerror))
        with self._locked():
            size = os.fstat(self.fd).st_size
            if size == 0:
                os.write(self.fd, (header + "\n").encode())
            else:
                CsvOut._compare(path, header, os.pread(self.fd, 1 << 16, 0))
                if os.pread(self.fd, 1, size - 1) != b"\n":
                    os.write(self.fd, b"\n")  # a line cut short by a crash: end it first

    @staticmethod
    def check(path, header):
        """Raise UsageError when path exists with another header (read only; creates nothing)."""
        try:
            with open(path, "rb") as f:
                first = f.read(1 << 16)
        except FileNotFoundError:
            return
        except OSError as e:
            raise UsageError("cannot read CSV '%s': %s" % (path, e.strerror))
        CsvOut._compare(path, header, first)

    @staticmethod
    def _compare(path, header, start):
        """start: the file's first bytes. An empty file, or one whose first line is exactly the
        header (perhaps cut before its newline by a crash), is ours."""
        line = start.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
        if not start or line == header:
            return
        have = line.split(",")
        want = header.split(",")
        diff = [c for c in want if c not in have] + [c for c in have if c not in want]
        raise UsageError("CSV '%s' has another header than attnbench's (columns that differ: %s);"
                         " refusing to append" % (path, ", ".join(diff) or "their order"))

    def _locked(self):
        fd = self.fd

        class L:
            def __enter__(self):
                fcntl.flock(fd, fcntl.LOCK_EX)

            def __exit__(self, *e):
                fcntl.flock(fd, fcntl.LOCK_UN)
        return L()

    def append(self, fields):
        line = (",".join(csv_field(v) for v in fields) + "\n").encode()
        with self._locked():
            n = 0
            while n < len(line):
                n += os.write(self.fd, line[n:])


# ---------------------------------------------------------------------------------- the plan


def get_plan(args, variant=PLAN_VARIANT):
    """attnbench's own rows (status planned) for the cases: (header line, column names, rows as
    dicts). Exit 2 with attnbench's message when it refuses the arguments."""
    with tempfile.TemporaryDirectory(prefix="peers-plan.") as tmp:
        out = os.path.join(tmp, "plan.csv")
        cmd = [args.attnbench, "--suite", args.suite, "--variant", variant, "--plan",
               "--csv", out]
        if args.sweep:
            cmd.append("--sweep")
        for s in args.shape or []:
            cmd += ["--shape", s]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0 or not os.path.exists(out):
            raise UsageError("%s failed (exit %d): %s" % (" ".join(cmd), r.returncode,
                                                          (r.stderr or r.stdout).strip()))
        with open(out) as f:
            lines = [l.rstrip("\r\n") for l in f if l.strip()]
    if not lines or not lines[0].startswith("suite,"):
        raise UsageError("the plan of %s has no CSV header" % args.attnbench)
    header, cols = lines[0], csv_split(lines[0])
    for c in ("suite", "variant", "dtype", "status", "flops", "bytes", "tolerance_rel"):
        if c not in cols:
            raise UsageError("the plan's header has no column '%s': %s" % (c, header))
    rows = []
    for l in lines[1:]:
        f = csv_split(l)
        if len(f) != len(cols):
            raise UsageError("a plan row has %d fields, the header %d: %s" % (len(f), len(cols), l))
        row = dict(zip(cols, f))
        if row["status"] != "planned":
            raise UsageError("a plan row has status '%s', not 'planned': %s" % (row["status"], l))
        rows.append(row)
    if not rows:
        raise UsageError("attnbench planned no case of suite %s for %s" %
                         (args.suite, "--sweep" if args.sweep else " ".join(args.shape)))
    axes = cols[cols.index("dtype") + 1:cols.index("status")]
    return header, cols, axes, rows


# ---------------------------------------------------------------------------------- provenance


def git_commit():
    g = os.environ.get("ATTNBENCH_GIT_COMMIT")
    if g:
        return g

    def run(*a):
        try:
            return subprocess.run(["git", "-C", REPO] + list(a), stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True).stdout.strip()
        except OSError:
            return ""
    h = run("rev-parse", "--short=12", "HEAD")
    if not h:
        return "unknown"
    return h + ("-dirty" if run("status", "--porcelain", "--untracked-files=no") else "")


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return "CPU " + line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "CPU"


def cuda_driver_info(ordinal):
    """(driver version as cudaDriverGetVersion gives it, peak SM clock in MHz) from libcuda via
    ctypes; None for what cannot be had."""
    try:
        import ctypes
        cu = ctypes.CDLL("libcuda.so.1")
        v = ctypes.c_int(0)
        drv = v.value if cu.cuDriverGetVersion(ctypes.byref(v)) == 0 else None
        clock = None
        dev = ctypes.c_int(0)
        if cu.cuInit(0) == 0 and cu.cuDeviceGet(ctypes.byref(dev), ordinal) == 0:
            k = ctypes.c_int(0)
            if cu.cuDeviceGetAttribute(ctypes.byref(k), 13, dev) == 0 and k.value > 0:
                clock = k.value // 1000  # CU_DEVICE_ATTRIBUTE_CLOCK_RATE, kHz
        return drv, clock
    except (OSError, AttributeError):
        return None, None


def provenance(dev):
    p = {"git_commit": git_commit(),
         "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    if dev.type == "cuda":
        idx = dev.index if dev.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(idx)
        drv, clock = cuda_driver_info(idx)
        rt = None
        if torch.version.cuda:
            m = re.match(r"(\d+)\.(\d+)", torch.version.cuda)
            if m:
                rt = int(m.group(1)) * 1000 + int(m.group(2)) * 10
        p.update(device=torch.cuda.get_device_name(idx), sm=props.major * 10 + props.minor,
                 driver=drv, runtime=rt, sm_clock_max_mhz=clock, gpu=True)
    else:
        p.update(device=cpu_name(), sm=None, driver=None, runtime=None, sm_clock_max_mhz=None,
                 gpu=False)
    return p


# ---------------------------------------------------------------------------------- timing


def quantile(s, p):
    h = (len(s) - 1) * p
    lo = int(math.floor(h))
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def stats(ms):
    s = sorted(ms)
    q1, q3 = quantile(s, 0.25), quantile(s, 0.75)
    return {"samples": len(s), "median_ms": quantile(s, 0.5), "min_ms": s[0], "max_ms": s[-1],
            "iqr_ms": q3 - q1}


def rel_spread(ms):
    if len(ms) < 4:
        return math.inf
    st = stats(ms)
    return st["iqr_ms"] / st["median_ms"] if st["median_ms"] > 0 else math.inf


class Timer:
    """Samples like attnbench: warm-up runs, then samples until min_samples are in and either
    IQR/median < target_spread or max_time is spent (or max_samples). CUDA: events on the
    current stream around the call alone, with L2 flushed (a buffer of 2x the L2 size rewritten)
    before each sample; CPU: perf_counter, no flush."""

    def __init__(self, args, dev):
        self.a, self.dev = args, dev
        self.flush, self.count = None, 0
        if dev.type == "cuda":
            l2 = getattr(torch.cuda.get_device_properties(dev), "L2_cache_size", 0) or (64 << 20)
            self.flush = torch.empty(max(2 * l2, 8 << 20), dtype=torch.uint8, device=dev)

    def run(self, fn):
        a = self.a
        for _ in range(a.warmup):
            fn()
        ms = []
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)
            stream = torch.cuda.current_stream(self.dev)
            start = torch.cuda.Event(enable_timing=True)
            stop = torch.cuda.Event(enable_timing=True)
        t0 = time.perf_counter()
        while len(ms) < a.max_samples:
            if self.dev.type == "cuda":
                self.count += 1
                self.flush.fill_(self.count & 0xFF)  # a fresh value: nothing can skip the writes
                start.record(stream)
                fn()
                stop.record(stream)
                stop.synchronize()
                ms.append(start.elapsed_time(stop))
            else:
                t = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - t) * 1e3)
            if len(ms) >= a.min_samples and (time.perf_counter() - t0 > a.max_time or
                                             rel_spread(ms) < a.target_spread):
                break
        return stats(ms)


# ---------------------------------------------------------------------------------- checking


def sample_rows(n, want, gen_seed):
    """Up to `want` distinct row indices of n, the first and the last always, the rest one per
    stratum at a seeded position (attnbench's attn_sample_rows scheme)."""
    if want >= n:
        return list(range(n))
    import random
    r = random.Random(gen_seed * 1000003 + 77)
    sel = {0, n - 1}
    stride = n / want
    for k in range(1, want - 1):
        sel.add(min(n - 1, int(k * stride + r.random() * stride)))
    return sorted(sel)


def index_str(dims, shape, flat):
    idx = []
    for s in reversed(shape):
        idx.append(flat % s)
        flat //= s
    return "(" + ",".join("%s=%d" % (c, i) for c, i in zip(dims, reversed(idx))) + ")"


def compare(out, ref, tol_rel, dims, shape, flat_index):
    """attnbench's check on the compared elements: out (any dtype) against ref (float64), same
    shape; flat_index maps a position in out/ref to its index in the whole output tensor (for
    the message). Returns a dict with ok, max_abs_err, rel_l2_err, tol_abs, reason."""
    o = out.detach().to(torch.float64).reshape(-1).cpu()
    r = ref.detach().to(torch.float64).reshape(-1).cpu()
    scale = float(r.abs().max()) if r.numel() else 0.0
    tol_abs = tol_rel * scale
    bad = ~torch.isfinite(o)
    if bool(bad.any()):
        first = int(bad.nonzero()[0])
        return {"ok": False, "max_abs_err": math.inf, "rel_l2_err": math.inf, "tol_abs": tol_abs,
                "reason": "%d non-finite outputs (unwritten or NaN), first at %s: got %g, ref %g"
                          % (int(bad.sum()), index_str(dims, shape, flat_index(first)),
                             float(o[first]), float(r[first]))}
    d = (o - r).abs()
    worst = int(d.argmax()) if d.numel() else 0
    mx = float(d[worst]) if d.numel() else 0.0
    r2 = float((r * r).sum())
    e2 = float((d * d).sum())
    c = {"ok": r.numel() > 0 and mx <= tol_abs, "max_abs_err": mx,
         "rel_l2_err": math.sqrt(e2 / r2) if r2 > 0 else math.sqrt(e2), "tol_abs": tol_abs,
         "reason": ""}
    if not c["ok"]:
        c["reason"] = "max |err| %.3g at %s (got %.6g, ref %.6g) > tolerance %.3g" % (
            mx, index_str(dims, shape, flat_index(worst)), float(o[worst]), float(r[worst]),
            tol_abs)
    return c


def full_finite_check(out, dims):
    """Every element of the whole output is finite (the sampled comparison sees only some rows;
    an unwritten element left at the poison NaN is caught wherever it is)."""
    bad = ~torch.isfinite(out)
    if not bool(bad.any()):
        return None
    first = int(bad.reshape(-1).nonzero()[0])
    return "%d non-finite outputs (unwritten or NaN), first at %s: got %g" % (
        int(bad.sum()), index_str(dims, list(out.shape), first), float(out.reshape(-1)[first]))


def free_bytes(dev):
    if dev.type == "cuda":
        return torch.cuda.mem_get_info(dev)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 62


def gib(n):
    return "%.1f GiB" % (n / 2 ** 30)


def poison_allocator(nbytes, dev):
    """Leave NaN bytes in the block the next allocation of this size is likely to get (torch's
    caching allocator reuses the last freed block that fits), so an output element that a peer
    does not write shows as NaN rather than as an older result."""
    t = torch.full((max(1, nbytes // 2),), float("nan"), dtype=torch.bfloat16, device=dev)
    del t


# ---------------------------------------------------------------------------------- mhsa


def mhsa_axes(row):
    v = {k: int(row[k]) for k in ("B", "H", "N", "Nk", "d", "causal", "kvpad")}
    # grouped K/V heads, the causal alignment and the window (absent from older CSVs: defaults)
    v["Hkv"] = int(row.get("Hkv") or v["H"])
    v["align"] = int(row.get("align") or 0)
    v["window"] = int(row.get("window") or 0)
    return v


def mhsa_diag(v):
    """Query i sits on key i + diag: 0 top-left, Nk - N bottom-right (docs/suites.md)."""
    return v["Nk"] - v["N"] if v.get("align") else 0


def mhsa_visible(v, dev, plant=False):
    """(N, Nk) bool, True where the causal and window masks leave key j visible to query i.
    plant: the reference's planted bug (mhsa-ref-causal) applies."""
    keys = torch.arange(v["Nk"], device=dev)[None, :]
    on = torch.arange(v["N"], device=dev)[:, None] + mhsa_diag(v)
    if plant and PLANT == "mhsa-ref-causal":
        on = on - 1
    m = torch.ones(v["N"], v["Nk"], dtype=torch.bool, device=dev)
    if v["causal"]:
        m &= keys <= on
    w = v.get("window", 0)
    if w:
        m &= keys >= on - (w - 1)
        if not v["causal"]:
            m &= keys <= on + (w - 1)
    return m


def mhsa_inputs(v, seed, dev):
    """q, k, v ~ N(0, 1) (attnbench's generate), rounded to bf16; kvpad: per-batch key lengths in
    [1, Nk], the last batch (B >= 2) none, so fully masked rows are exercised."""
    g = torch.Generator(device=dev)
    g.manual_seed(seed)
    B, H, N, Nk, d = v["B"], v["H"], v["N"], v["Nk"], v["d"]
    Hkv = v.get("Hkv", H)

    def normal(*shape):
        return torch.randn(*shape, generator=g, device=dev, dtype=torch.float32).to(torch.bfloat16)
    q, k, val = normal(B, H, N, d), normal(B, Hkv, Nk, d), normal(B, Hkv, Nk, d)
    kvlen = None
    if v["kvpad"]:
        kvlen = torch.randint(1, Nk + 1, (B,), generator=g, device=dev)
        if B > 1:
            kvlen[-1] = 0
    return q, k, val, kvlen


def mhsa_mask(v, kvlen, dev):
    """The boolean mask SDPA takes (True = attend), or None when is_causal alone says it all
    (no key padding, no window, top-left causal: is_causal's own alignment)."""
    plain = not v.get("window") and (not v["causal"] or mhsa_diag(v) == 0)
    if kvlen is None and plain:
        return None
    m = mhsa_visible(v, dev)[None, None]  # (1, 1, N, Nk)
    if kvlen is not None:
        keys = torch.arange(v["Nk"], device=dev)
        m = m & (keys[None, :] < kvlen[:, None])[:, None, None, :]  # (B, 1, N, Nk)
    return m


def mhsa_ref_rows(q, k, v, kvlen, causal, rows, shape=None):
    """O of the given flat query rows (over B·H·Nq) in float64 from the inputs upcast:
    softmax over keys of q·k/√d with the causal and window masks of `shape` (the case's axes;
    None: top-left causal when `causal`, no window) and j >= kv_len[b] masked; query head h reads
    K/V head h // (H / Hkv); a row whose keys are all masked is 0 (docs/suites.md)."""
    B, H, Nq, d = q.shape
    Nk, G = k.shape[2], H // k.shape[1]
    if shape is None:
        shape = dict(N=Nq, Nk=Nk, causal=causal)
    visible = mhsa_visible(shape, q.device, plant=True)
    rows = torch.as_tensor(rows, dtype=torch.long, device=q.device)
    out = torch.empty(len(rows), d, dtype=torch.float64, device=q.device)
    chunk = max(1, (256 << 20) // max(1, Nk * d * 8 * 2))
    keys = torch.arange(Nk, device=q.device)
    for s in range(0, len(rows), chunk):
        r = rows[s:s + chunk]
        b, h, i = r // (H * Nq), (r // Nq) % H, r % Nq
        qr = q[b, h, i].to(torch.float64)
        K = k[b, h // G].to(torch.float64)
        V = v[b, h // G].to(torch.float64)
        logits = torch.einsum("cd,cjd->cj", qr, K) / math.sqrt(d)
        valid = visible[i]
        if kvlen is not None:
            valid &= keys[None, :] < kvlen[b][:, None]
        logits = logits.masked_fill(~valid, -math.inf)
        any_valid = valid.any(dim=1, keepdim=True)
        mx = torch.where(any_valid, logits.max(dim=1, keepdim=True).values,
                         torch.zeros_like(logits[:, :1]))
        p = torch.exp(logits - mx)
        p = torch.where(any_valid, p / p.sum(dim=1, keepdim=True).clamp_min(1e-300),
                        torch.zeros_like(p))
        out[s:s + chunk] = torch.einsum("cj,cjd->cd", p, V)
    return out


SDPA_BACKENDS = {
    "sdpa-flash": "FLASH_ATTENTION",
    "sdpa-efficient": "EFFICIENT_ATTENTION",
    "sdpa-cudnn": "CUDNN_ATTENTION",
    "sdpa-math": "MATH",
}


def sdpa_call(backend, q, k, v, mask, causal):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    # grouped K/V heads: enable_gqa (torch >= 2.5), passed only when needed so older torch runs
    # the rest
    gqa = {"enable_gqa": True} if k.shape[1] != q.shape[1] else {}
    with sdpa_kernel([getattr(SDPBackend, backend)]):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                              is_causal=bool(causal) and mask is None, **gqa)


def torch_version_str():
    return getattr(torch, "__version__", "unknown")


def requirements(name):
    """None when peer `name` can run with this PyTorch, else (why in one line, whether the peer
    is optional and simply does not join)."""
    if name in SDPA_BACKENDS:
        try:
            from torch.nn.attention import sdpa_kernel, SDPBackend  # noqa: F401
        except ImportError:
            return ("%s needs PyTorch >= 2.3 (torch.nn.attention.sdpa_kernel); this is PyTorch %s"
                    % (name, torch_version_str()), False)
        if not hasattr(SDPBackend, SDPA_BACKENDS[name]):
            return ("%s needs a PyTorch whose SDPBackend has %s; this is PyTorch %s"
                    % (name, SDPA_BACKENDS[name], torch_version_str()), False)
        return None
    if name == "flex-attention":
        try:
            import torch.nn.attention.flex_attention  # noqa: F401
        except ImportError:
            return ("flex-attention needs PyTorch >= 2.5 (torch.nn.attention.flex_attention); "
                    "this is PyTorch %s" % torch_version_str(), True)
        return None
    mod = {"flash-attn2": "flash_attn", "flash-attn3": "flash_attn_interface"}.get(name)
    if mod:
        try:
            __import__(mod)
        except Exception as e:  # ImportError, or a build for another torch failing to load
            return ("%s needs the module %s, which does not import (%s)" %
                    (name, mod, " ".join(str(e).split())[:200]), True)
    return None


def optional_unsupported(name, v):
    """Why optional peer `name` cannot compute mhsa case v as attnbench defines it, or None."""
    if name.startswith("flash-attn"):
        if v["kvpad"]:
            return "flash_attn_func takes no per-batch key lengths (kvpad=1)"
        if (v["causal"] or v.get("window")) and mhsa_diag(v) != v["Nk"] - v["N"]:
            return ("flash_attn aligns causal masks and windows bottom-right; this case is "
                    "top-left with Nk != N")
    return None


def optional_call(name, q, k, v, kvlen, case):
    """The optional peer on (B, H, N, d) bf16 tensors; the output as (B, H, N, d).
    flash_attn's causal mask and window sit on the bottom-right diagonal; its window
    (left, right) counts keys beside the diagonal."""
    causal, w = case["causal"], case.get("window", 0)
    if name.startswith("flash-attn"):
        mod = __import__("flash_attn" if name == "flash-attn2" else "flash_attn_interface")
        left = w - 1 if w else -1
        right = 0 if causal else (w - 1 if w else -1)
        out = mod.flash_attn_func(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                  causal=False, window_size=(left, right))
        if isinstance(out, tuple):  # some releases return (out, softmax_lse)
            out = out[0]
        return out.transpose(1, 2)
    from torch.nn.attention.flex_attention import flex_attention, create_block_mask
    B, H, N, _ = q.shape
    Nk = k.shape[2]
    lens = kvlen if kvlen is not None else torch.full((B,), Nk, device=q.device)

    diag = mhsa_diag(case)

    def mask_mod(b, h, i, j):
        ok = j < lens[b]
        if causal:
            ok = ok & (j <= i + diag)
        if w:
            ok = ok & (j >= i + diag - (w - 1))
            if not causal:
                ok = ok & (j <= i + diag + (w - 1))
        return ok
    bm = create_block_mask(mask_mod, B, None, N, Nk, device=str(q.device))
    return flex_attention(q, k, v, block_mask=bm, enable_gqa=k.shape[1] != q.shape[1])


def mhsa_case(ctx, v):
    """Everything the four SDPA peers of one case share: inputs, mask, sampled reference rows."""
    B, H, N = v["B"], v["H"], v["N"]
    q, k, val, kvlen = mhsa_inputs(v, ctx.args.seed, ctx.dev)
    mask = mhsa_mask(v, kvlen, ctx.dev)
    rows = sample_rows(B * H * N, 256, ctx.args.seed)
    ref = mhsa_ref_rows(q, k, val, kvlen, v["causal"], rows, v)
    return {"q": q, "k": k, "v": val, "kvlen": kvlen, "mask": mask, "rows": rows, "ref": ref}


def mhsa_peer(ctx, name, v, case, tol_rel):
    """One SDPA backend or optional peer at one case: a result dict for the row."""
    backend = SDPA_BACKENDS.get(name)
    B, H, N, Nk, d = v["B"], v["H"], v["N"], v["Nk"], v["d"]
    if backend is None:
        why = optional_unsupported(name, v)
        if why:
            return {"status": "skip", "reason": why}
    if backend == "MATH":
        # the math backend materialises B·H·Nq·Nk scores (fp32 on CUDA; about three copies:
        # scores, softmax, and the masked or scaled intermediate)
        need = B * H * N * Nk * 4 * 3 + 4 * B * H * (N + Nk) * d * 2
        free = free_bytes(ctx.dev)
        if need > 0.9 * free:
            return {"status": "skip", "reason": "sdpa-math materialises the %d·%d·%d·%d scores: "
                    "needs about %s, %s free" % (B, H, N, Nk, gib(need), gib(free))}
    q, k, val, mask = case["q"], case["k"], case["v"], case["mask"]

    def run():
        if backend is None:
            return optional_call(name, q, k, val, case["kvlen"], v)
        return sdpa_call(backend, q, k, val, mask, v["causal"])
    poison_allocator(B * H * N * d * 2, ctx.dev)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            out = run()
            ctx.sync()
        except Exception as e:  # a backend that refuses the case (or runs out of memory)
            why = " ".join(str(e).split())
            if isinstance(e, torch.cuda.OutOfMemoryError):
                ctx.recover()
                return {"status": "skip", "reason": "out of device memory: " + why[:300]}
            notes = [" ".join(str(x.message).split()) for x in w]
            if notes:
                why += " [" + "; ".join(notes)[:400] + "]"
            ctx.recover()
            return {"status": "skip", "reason": "%s refused: %s" % (backend or name, why[:600])}
    if PLANT == "mhsa-out":
        out[0, 0, 0, 0] += 1.0  # the first row is always sampled
    if tuple(out.shape) != (B, H, N, d) or out.dtype != torch.bfloat16:
        return {"status": "fail", "reason": "output has shape %s dtype %s, expected (%d, %d, %d, "
                "%d) bf16" % (tuple(out.shape), out.dtype, B, H, N, d)}
    rows = case["rows"]
    dims, shape = "bhic", [B, H, N, d]
    bad = full_finite_check(out, dims)
    r_t = torch.as_tensor(rows, device=out.device)
    got = out.reshape(B * H * N, d)[r_t]
    chk = compare(got, case["ref"], tol_rel, dims, shape,
                  lambda e: rows[e // d] * d + e % d)
    res = {"checked": chk, "rows_checked": len(rows), "rows": B * H * N}
    if bad:
        chk.update(ok=False, reason=bad, max_abs_err=math.inf, rel_l2_err=math.inf)
    if not chk["ok"]:
        res.update(status="fail", reason=chk["reason"])
        return res
    del out, got
    res.update(status="ok", timing=ctx.timer.run(run))
    return res


# ---------------------------------------------------------------------------------- halo


class HaloPeer:
    """HaloNet's blocked local self-attention (docs/suites.md "halo") the way the seed computes it, with
    docs/suites.md's fixes: every b×b block of queries attends to the Wn×Wn window around it
    (Wn = b + 2h), gathered with F.unfold (zero outside the image); K/V are projected per window
    (the seed's ~(Wn/b)² redundancy is kept: this is the plain-PyTorch formulation); logits
    q·k + q·rel_w[Wn−1+kx−qx] + q·rel_h[Wn−1+ky−qy] with q = d^-½·Wq·x; keys outside the image
    masked (the seed masks the valid ones instead); softmax; o = Σ a·v;
    y = Wo·concat_heads(o) + bo, written into out (B, C, H, W).

    Per-shape constants (relative-index tables, the padding mask) are built once here, as a
    module would hold them; forward() is what is timed."""

    def __init__(self, H, W, block, halo, heads, d, dev):
        b, h = block, halo
        self.H, self.W, self.b, self.h, self.heads, self.d = H, W, b, h, heads, d
        self.Wn = Wn = b + 2 * h
        self.ny, self.nx = H // b, W // b
        pos = torch.arange(b * b, device=dev)
        qy, qx = pos // b, pos % b                  # query position inside its block
        kk = torch.arange(Wn, device=dev)
        # index into the (2Wn−1)-row tables per (query, key column) and (query, key row)
        self.idx_w = (Wn - 1 + kk[None, :] - qx[:, None])  # (b², Wn): kx
        self.idx_h = (Wn - 1 + kk[None, :] - qy[:, None])  # (b², Wn): ky
        ones = torch.ones(1, 1, H, W, device=dev)
        inside = F.unfold(ones, kernel_size=Wn, stride=b, padding=h)[0]  # (Wn², L), 1 inside
        inside = inside.t().bool()                                       # (L, Wn²)
        self.outside = inside if PLANT == "halo-mask" else ~inside       # keys to mask
        self.outside = self.outside[None, :, None, None, :]              # (1, L, 1, 1, Wn²)

    def forward(self, x, wq, wkv, wo, bo, rel_w, rel_h, out):
        B, C = x.shape[0], x.shape[1]
        b, h, Wn, nh, d = self.b, self.h, self.Wn, self.heads, self.d
        ny, nx, L, Di = self.ny, self.nx, self.ny * self.nx, self.heads * self.d
        # queries: the b×b pixels of every block, channels last: (B·L, b², C)
        xq = x.reshape(B, C, ny, b, nx, b).permute(0, 2, 4, 3, 5, 1).reshape(B * L, b * b, C)
        # keys/values: the Wn×Wn window around every block (zero padding): (B·L, Wn², C)
        xkv = F.unfold(x, kernel_size=Wn, stride=b, padding=h)
        xkv = xkv.reshape(B, C, Wn * Wn, L).permute(0, 3, 2, 1).reshape(B * L, Wn * Wn, C)
        q = (xq @ wq.t()) * (d ** -0.5)
        kv = xkv @ wkv.t()
        # heads: (B·L, nh, n, d)
        q = q.reshape(B * L, b * b, nh, d).transpose(1, 2)
        k = kv[..., :Di].reshape(B * L, Wn * Wn, nh, d).transpose(1, 2)
        v = kv[..., Di:].reshape(B * L, Wn * Wn, nh, d).transpose(1, 2)
        # logits, relative terms and softmax in fp32 for bf16 inputs (as autocast and
        # attnbench's bf16 variants keep them); the matmuls take and give the input dtype
        sdt = torch.promote_types(x.dtype, torch.float32)
        logits = (q @ k.transpose(-1, -2)).to(sdt)                       # (B·L, nh, b², Wn²)
        # relative logits: q·rel over all 2Wn−1 offsets, then each key's offset picked out
        ex = (B * L, nh, b * b, Wn)
        rw = (q @ rel_w.t()).to(sdt).gather(-1, self.idx_w.expand(ex))   # by key column kx
        rh = (q @ rel_h.t()).to(sdt).gather(-1, self.idx_h.expand(ex))   # by key row ky
        logits = logits.reshape(B * L, nh, b * b, Wn, Wn) + rh[..., :, None] + rw[..., None, :]
        logits = logits.reshape(B, L, nh, b * b, Wn * Wn)
        logits = logits.masked_fill(self.outside, -math.inf)
        a = logits.softmax(dim=-1).to(x.dtype).reshape(B * L, nh, b * b, Wn * Wn)
        o = (a @ v).transpose(1, 2).reshape(B * L * b * b, Di)            # heads merged
        y = torch.addmm(bo, o, wo.t())                                   # (B·L·b², C)
        out.view(B, C, ny, b, nx, b).copy_(
            y.view(B, ny, nx, b, b, C).permute(0, 5, 1, 3, 2, 4))
        return out


HALO_NAMES = ("x", "wq", "wkv", "wo", "bo", "rel_w", "rel_h")


def halo_axes(row):
    return {k: int(row[k]) for k in ("B", "C", "H", "W", "block", "halo", "heads", "d")}


def halo_inputs(v, seed, dev):
    """attnbench's halo generate(): x ~ N(0, 1); Wq, Wkv ~ N(0, 1/C); Wo, bo ~ N(0, 1/Di);
    rel_w, rel_h ~ N(0, 1/d), as float32 tensors in attnbench's layout."""
    g = torch.Generator(device=dev)
    g.manual_seed(seed)
    B, C, H, W, d = v["B"], v["C"], v["H"], v["W"], v["d"]
    Di, R = v["heads"] * d, 2 * (v["block"] + 2 * v["halo"]) - 1

    def normal(shape, std):
        return torch.randn(*shape, generator=g, device=dev, dtype=torch.float32) * std
    return {"x": normal((B, C, H, W), 1.0), "wq": normal((Di, C), C ** -0.5),
            "wkv": normal((2 * Di, C), C ** -0.5), "wo": normal((C, Di), Di ** -0.5),
            "bo": normal((C,), Di ** -0.5), "rel_w": normal((R, d), d ** -0.5),
            "rel_h": normal((R, d), d ** -0.5)}


def halo_run(peer, t, dtype, out=None):
    """The peer on tensors t (dict by name) cast to dtype, into out (NaN-poisoned if new)."""
    x = t["x"].to(dtype)
    if out is None:
        out = torch.full(tuple(x.shape), float("nan"), dtype=dtype, device=x.device)
    return peer.forward(x, *(t[n].to(dtype) for n in HALO_NAMES[1:]), out=out)


def halo_need_bytes(v, s):
    """Rough peak memory of the peer (s bytes per element): the unfolded windows and their
    projections, the fp32 logits (a few live copies), inputs and output."""
    B, C, H, W, b, h, nh, d = (v[k] for k in ("B", "C", "H", "W", "block", "halo", "heads", "d"))
    Wn, BL, Di = b + 2 * h, B * (H // b) * (W // b), nh * d
    return (s * (2 * BL * Wn * Wn * C + 3 * BL * Wn * Wn * 2 * Di + 4 * B * C * H * W)
            + 4 * 4 * BL * nh * b * b * Wn * Wn)  # the fp32 logits


def halo_case(ctx, v):
    t = halo_inputs(v, ctx.args.seed, ctx.dev)
    bf = {n: x.to(torch.bfloat16) for n, x in t.items()}
    del t
    return {"bf": bf}


def halo_peer(ctx, name, v, case, tol_rel):
    B, C, H, W = v["B"], v["C"], v["H"], v["W"]
    need, free = halo_need_bytes(v, 2), free_bytes(ctx.dev)
    if need > 0.9 * free:
        return {"status": "skip", "reason": "torch-halo needs about %s, %s free" %
                (gib(need), gib(free))}
    peer = HaloPeer(H, W, v["block"], v["halo"], v["heads"], v["d"], ctx.dev)
    bf = case["bf"]
    out = torch.full((B, C, H, W), float("nan"), dtype=torch.bfloat16, device=ctx.dev)
    try:
        halo_run(peer, bf, torch.bfloat16, out)
        ctx.sync()
    except torch.cuda.OutOfMemoryError as e:
        ctx.recover()
        return {"status": "skip",
                "reason": "out of device memory: " + " ".join(str(e).split())[:300]}
    except Exception as e:
        ctx.recover()
        return {"status": "fail", "reason": "torch-halo raised %s: %s" %
                (type(e).__name__, " ".join(str(e).split())[:500])}
    if PLANT == "halo-nan":
        out[0, 0, 0, 1] = float("nan")  # as if one output element were never written
    dims = "bcyx"
    bad = full_finite_check(out, dims)
    # the check: the peer in float64 on the same bf16-rounded inputs, on up to three whole
    # images (the first, a middle and the last: every border and every block kind of them)
    sel = sorted({0, B // 2, B - 1})
    sub = {n: (x[sel] if n == "x" else x) for n, x in bf.items()}
    ref = halo_run(peer, {n: x.to(torch.float64) for n, x in sub.items()}, torch.float64)
    chw = C * H * W
    chk = compare(out[sel], ref, tol_rel, dims, [B, C, H, W],
                  lambda e: sel[e // chw] * chw + e % chw)
    del ref
    res = {"checked": chk, "rows_checked": len(sel) * H * W, "rows": B * H * W}
    if bad:
        chk.update(ok=False, reason=bad, max_abs_err=math.inf, rel_l2_err=math.inf)
    if not chk["ok"]:
        res.update(status="fail", reason=chk["reason"])
        return res
    x, rest = bf["x"], [bf[n] for n in HALO_NAMES[1:]]
    res.update(status="ok", timing=ctx.timer.run(lambda: peer.forward(x, *rest, out=out)))
    return res


SUITES = {
    "mhsa": {"axes": mhsa_axes, "case": mhsa_case, "peer": mhsa_peer},
    "halo": {"axes": halo_axes, "case": halo_case, "peer": halo_peer},
}


# ---------------------------------------------------------------------------------- the run


class Ctx:
    def __init__(self, args, dev):
        self.args, self.dev = args, dev
        self.timer = Timer(args, dev)

    def sync(self):
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)

    def recover(self):
        """After an exception: drop cached blocks so the next peer starts clean."""
        if self.dev.type == "cuda":
            try:
                torch.cuda.synchronize(self.dev)
                torch.cuda.empty_cache()
            except Exception:
                pass


def case_str(axes, row):
    return ",".join("%s=%s" % (a, row[a]) for a in axes)


KNOWN = {"suite", "variant", "backend", "dtype", "status", "reason", "samples", "median_ms",
         "min_ms", "max_ms", "iqr_ms", "flops", "bytes", "tflops", "gbps", "pct_peak", "pct_bw",
         "max_abs_err", "rel_l2_err", "tolerance_rel", "tolerance_abs", "rows_checked", "rows",
         "seed", "device", "sm",
         "driver", "runtime", "sm_clock_max_mhz", "sm_clock_mhz", "clock_events", "peak_tflops",
         "peak_gbps", "git_commit",
         "timestamp", "source"}


def make_row(cols, axes, plan, name, res, prov, args, dtype="bf16", source=None):
    """The peer's row: the plan's suite, axes, flops and bytes; everything else ours."""
    row = {c: None for c in cols}
    row["source"] = source
    row["suite"] = plan["suite"]
    for a in axes:
        row[a] = int(plan[a])
    row.update(variant=name, backend=BACKEND, dtype=dtype, status=res["status"],
               reason=res.get("reason", ""), seed=args.seed)
    fl, by = float(plan["flops"]), float(plan["bytes"])
    row["flops"], row["bytes"] = fl, by
    row["tolerance_rel"] = float(plan["tolerance_rel"])
    t = res.get("timing")
    if t:
        row.update(t)
        row["tflops"] = fl / (t["median_ms"] * 1e-3) / 1e12
        row["gbps"] = by / (t["median_ms"] * 1e-3) / 1e9
    chk = res.get("checked")
    if chk:
        row.update(max_abs_err=chk["max_abs_err"], rel_l2_err=chk["rel_l2_err"],
                   tolerance_abs=chk["tol_abs"], rows_checked=res["rows_checked"],
                   rows=res["rows"])
    for k in ("device", "sm", "driver", "runtime", "sm_clock_max_mhz", "git_commit", "timestamp"):
        row[k] = prov[k]
    if args.calib and prov["gpu"]:  # a GPU's ceilings say nothing of a CPU row
        row["peak_tflops"] = args.calib["peak_tflops"]
        row["peak_gbps"] = args.calib["peak_gbps"]
        if t:
            row["pct_peak"] = 100.0 * row["tflops"] / args.calib["peak_tflops"]
            row["pct_bw"] = 100.0 * row["gbps"] / args.calib["peak_gbps"]
    return [row[c] for c in cols]


def run(args):
    header, cols, axes, plan = get_plan(args, CALLABLE_PLAN_VARIANT if args.callables else
                                        PLAN_VARIANT)
    unknown = [c for c in cols if c not in KNOWN and c not in axes]
    if unknown:
        print("%s: warning: columns left empty (not known to this script): %s" %
              (PROG, ", ".join(unknown)), file=sys.stderr)
    CsvOut.check(args.csv, header)  # a wrong header is refused before anything else happens
    load_torch()
    out = CsvOut(args.csv, header)
    dev = torch.device(args.device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device %s: no CUDA device (torch.cuda.is_available() is False); "
                             "--device cpu runs the peers on the CPU for development" % args.device)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError("--device %s: only %d CUDA device(s)" %
                             (args.device, torch.cuda.device_count()))
        if dev.index is not None:
            torch.cuda.set_device(dev.index)
        dev = torch.device("cuda", torch.cuda.current_device())
    prov = provenance(dev)
    ctx = Ctx(args, dev)
    if args.callables:
        return run_callables(args, out, header, cols, axes, plan, prov, ctx)
    # a PyTorch too old for a peer: one line naming what it needs, then skip rows (or, for an
    # optional peer, no rows)
    skip_why, lines = {}, {}
    for name in list(args.peer_list):
        r = requirements(name)
        if r is None:
            continue
        if r[1]:
            args.peer_list.remove(name)
        else:
            skip_why[name] = r[0]
        # one line per requirement: the SDPA peers share theirs
        need = r[0].split(" ", 1)[1] if r[0].startswith(name + " ") else r[0]
        lines.setdefault((need, r[1]), []).append(name)
    for (need, optional), names in lines.items():
        if len(names) > 1 and need.startswith("needs "):
            need = "need " + need[6:]
        print("%s: %s %s%s" % (PROG, ", ".join(names), need,
                               "; not run" if optional else
                               "; its rows are skipped" if len(names) == 1 else
                               "; their rows are skipped"), file=sys.stderr)
    suite = SUITES[args.suite]
    counts = {"ok": 0, "fail": 0, "skip": 0}
    nvtx = dev.type == "cuda"
    for n, plan_row in enumerate(plan, 1):
        v = suite["axes"](plan_row)
        cs = case_str(axes, plan_row)
        tol_rel = float(plan_row["tolerance_rel"])
        print("[%d/%d] %s %s" % (n, len(plan), args.suite, cs), file=sys.stderr, flush=True)
        case, case_err = None, None
        try:
            case = suite["case"](ctx, v)
        except Exception as e:  # e.g. no memory for the inputs: every peer of the case skips
            case_err = "inputs or reference: %s: %s" % (type(e).__name__,
                                                        " ".join(str(e).split())[:400])
            ctx.recover()
        for name in args.peer_list:
            if nvtx:
                torch.cuda.nvtx.range_push("peer/%s/%s" % (name, cs))
            try:
                if case_err:
                    res = {"status": "skip", "reason": case_err}
                elif name in skip_why:
                    res = {"status": "skip", "reason": skip_why[name]}
                else:
                    res = suite["peer"](ctx, name, v, case, tol_rel)
            except Exception as e:  # an error after the check (timing): the row says so
                ctx.recover()
                res = {"status": "fail", "reason": "%s raised %s: %s" %
                       (name, type(e).__name__, " ".join(str(e).split())[:500])}
            finally:
                if nvtx:
                    torch.cuda.nvtx.range_pop()
            out.append(make_row(cols, axes, plan_row, name, res, prov, args))
            counts[res["status"]] += 1
            t = res.get("timing")
            if t:
                print("%-6s %-14s bf16 %-4s %s  %.4f ms  %.3f TFLOP/s  err %.2e" % (
                    args.suite, name, res["status"], cs, t["median_ms"],
                    float(plan_row["flops"]) / (t["median_ms"] * 1e-3) / 1e12,
                    res["checked"]["max_abs_err"]), flush=True)
            else:
                print("%-6s %-14s bf16 %-4s %s  %s" % (args.suite, name, res["status"], cs,
                                                      res.get("reason", "")), flush=True)
        del case
    print("%d ok, %d failed, %d skipped; rows in %s" %
          (counts["ok"], counts["fail"], counts["skip"], args.csv), flush=True)
    return 1 if counts["fail"] else 0


# ---------------------------------------------------------------------------------- --callable

# The plan of a callable: attnbench's float32 CPU variant (every suite has one), so the rows
# carry the float32 bytes and tolerance, and its --dump gives the float32 inputs and reference.
CALLABLE_PLAN_VARIANT = "^cpu-f32$"


def import_callable(spec):
    """MODULE:FUNCTION, imported (the current directory first on the path)."""
    import importlib
    m, f = spec.split(":", 1)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        mod = importlib.import_module(m)
    except Exception as e:
        raise UsageError("--callable '%s': cannot import %s: %s: %s" %
                         (spec, m, type(e).__name__, " ".join(str(e).split())[:300]))
    fn = getattr(mod, f, None)
    if not callable(fn):
        raise UsageError("--callable '%s': module %s has no function %s" % (spec, m, f))
    return fn


def dump_case(args, axes, plan_row, where):
    """attnbench's inputs and float64 reference of one planned case, from its own --dump (its
    float32 CPU variant run once on them): (inputs as tensors in layout order, reference, its
    manifest entry), or (None, why, None)."""
    cmd = [args.attnbench, "--suite", args.suite, "--variant", CALLABLE_PLAN_VARIANT, "--check",
           "--shape", case_str(axes, plan_row), "--seed", str(args.seed), "--dump", where,
           "--cpu-max-gflop", repr(args.cpu_max_gflop)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    files = []
    try:
        with open(os.path.join(where, "manifest.json")) as f:
            files = json.load(f)["files"]
    except (OSError, ValueError, KeyError):
        pass
    ref = [e for e in files if e["role"] == "ref"]
    if not ref:  # e.g. the case is above the CPU budget: attnbench's row says why
        cs = case_str(axes, plan_row)
        rows = [l for l in r.stdout.splitlines() if cs in l and (" skip " in l or " fail " in l)]
        why = rows[0].split(cs, 1)[1].strip() if rows else (r.stderr or r.stdout).strip()
        return None, "no reference dump from attnbench (exit %d): %s" % (
            r.returncode, " ".join(why.split())[:400]), None
    inputs = [e for e in files if "rows" not in e and e["role"] != "rows-checked" and
              not e["role"].endswith("-bf16")]
    ins = [read_npy(os.path.join(where, e["file"])) for e in inputs]
    return ins, read_npy(os.path.join(where, ref[0]["file"])), ref[0]


def callable_case(ctx, fn, ins, ref, entry, tol_rel, axes_vals):
    """Check fn on one case against the dumped reference (its checked rows: the reference is
    NaN outside them), then time it when it passed."""
    dev = ctx.dev
    args_in = [t.to(dev) for t in ins]

    def run():
        return fn(*args_in, axes=axes_vals)
    out = run()
    ctx.sync()
    if not torch.is_tensor(out) or tuple(out.shape) != tuple(ref.shape):
        return {"status": "fail", "reason": "returned %s, expected a tensor of shape %s" % (
            tuple(out.shape) if torch.is_tensor(out) else type(out).__name__, tuple(ref.shape))}
    dims = ["i%d" % i for i in range(ref.dim())]
    shape = list(ref.shape)
    bad = full_finite_check(out.detach(), dims)
    sel = torch.isfinite(ref).reshape(-1)
    where = sel.nonzero().reshape(-1)
    o = out.detach().reshape(-1).cpu()[sel]
    chk = compare(o, ref.reshape(-1)[sel], tol_rel, dims, shape, lambda e: int(where[e]))
    res = {"checked": chk, "rows_checked": entry.get("rows_checked"), "rows": entry.get("rows")}
    if bad:
        chk.update(ok=False, reason=bad, max_abs_err=math.inf, rel_l2_err=math.inf)
    if not chk["ok"]:
        res.update(status="fail", reason=chk["reason"])
        return res
    del out
    res.update(status="ok", timing=ctx.timer.run(run))
    return res


def run_callables(args, out, header, cols, axes, plan, prov, ctx):
    fns = [(spec, spec.split(":", 1)[1], import_callable(spec)) for spec in args.callables]
    counts = {"ok": 0, "fail": 0, "skip": 0}
    with tempfile.TemporaryDirectory(prefix="peers-callable.") as tmp:
        for n, plan_row in enumerate(plan, 1):
            cs = case_str(axes, plan_row)
            print("[%d/%d] %s %s" % (n, len(plan), args.suite, cs), file=sys.stderr, flush=True)
            ins, ref, entry = dump_case(args, axes, plan_row, os.path.join(tmp, "case%d" % n))
            axes_vals = {a: int(plan_row[a]) for a in axes}
            for spec, name, fn in fns:
                if ins is None:
                    res = {"status": "skip", "reason": ref}
                else:
                    try:
                        res = callable_case(ctx, fn, ins, ref, entry,
                                            float(plan_row["tolerance_rel"]), axes_vals)
                    except Exception as e:  # the function raised: its row fails, the run goes on
                        ctx.recover()
                        res = {"status": "fail", "reason": "%s raised %s: %s" % (
                            spec, type(e).__name__, " ".join(str(e).split())[:500])}
                out.append(make_row(cols, axes, plan_row, name, res, prov, args, dtype="f32",
                                    source="callable " + spec))
                counts[res["status"]] += 1
                t = res.get("timing")
                print("%-6s %-14s f32  %-4s %s  %s" % (
                    args.suite, name, res["status"], cs,
                    "%.4f ms  err %.2e (tolerance %.2e)" % (
                        t["median_ms"], res["checked"]["max_abs_err"], res["checked"]["tol_abs"])
                    if t else res.get("reason", "")), flush=True)
            del ins, ref
    print("%d ok, %d failed, %d skipped; rows in %s" %
          (counts["ok"], counts["fail"], counts["skip"], args.csv), flush=True)
    return 1 if counts["fail"] else 0


# ---------------------------------------------------------------------------------- self-test


def read_npy(path):
    """A NumPy .npy file (format 1.0/2.0/3.0, C order, <f4, <f8 or <i4) as a torch tensor."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError("%s: not a .npy file" % path)
    major = data[6]
    if major == 1:
        (hl,), off = struct.unpack("<H", data[8:10]), 10
    elif major in (2, 3):
        (hl,), off = struct.unpack("<I", data[8:12]), 12
    else:
        raise ValueError("%s: .npy version %d" % (path, major))
    import ast
    hdr = ast.literal_eval(data[off:off + hl].decode("latin1"))
    if hdr.get("fortran_order"):
        raise ValueError("%s: Fortran order" % path)
    dt = {"<f4": torch.float32, "<f8": torch.float64, "<i4": torch.int32}.get(hdr["descr"])
    if dt is None:
        raise ValueError("%s: dtype %s" % (path, hdr["descr"]))
    shape = tuple(hdr["shape"])
    n = 1
    for s in shape:
        n *= s
    body = bytearray(data[off + hl:])
    esz = torch.empty(0, dtype=dt).element_size()
    if len(body) != n * esz:
        raise ValueError("%s: %d data bytes for shape %s" % (path, len(body), shape))
    return torch.frombuffer(body, dtype=dt).reshape(shape) if n else torch.empty(shape, dtype=dt)


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, ok, what):
        print("%s  %s" % ("pass" if ok else "FAIL", what), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def rel_err(a, b):
    s = float(b.abs().max())
    return float((a.to(torch.float64) - b).abs().max()) / (s if s > 0 else 1.0)


# Small halo shapes: H ≠ W with several blocks, one block with its whole halo outside the image,
# interior blocks (3×3) with halo = b/2, halo 0, halo = block with odd sizes.
HALO_SELFTEST_SHAPES = [
    "B=2,C=8,H=16,W=8,block=4,halo=2,heads=2,d=4",
    "B=1,C=16,H=8,W=8,block=8,halo=3,heads=2,d=8",
    "B=1,C=12,H=24,W=24,block=8,halo=4,heads=3,d=4",
    "B=1,C=8,H=8,W=12,block=4,halo=0,heads=2,d=4",
    "B=1,C=6,H=8,W=12,block=4,halo=4,heads=1,d=5",
]


def halo_plan_tolerance(args, shape):
    """The bf16 tolerance attnbench plans for a halo shape (None when it cannot say)."""
    a = argparse.Namespace(attnbench=args.attnbench, suite="halo", sweep=False, shape=[shape])
    try:
        _, _, _, rows = get_plan(a)
        return float(rows[0]["tolerance_rel"])
    except (UsageError, ValueError, KeyError):
        return None


def self_test_halo(args, dev, tally):
    """torch-halo in float64 on attnbench's own inputs equals attnbench's float64 reference
    (<= 1e-9·max|ref|); in bf16 it is within the planned bf16 tolerance of its float64 run."""
    with tempfile.TemporaryDirectory(prefix="peers-selftest.") as tmp:
        cmd = [args.attnbench, "--suite", "halo", "--variant", "^reference$", "--check",
               "--no-plots", "--seed", str(args.seed), "--dump", tmp]
        for s in HALO_SELFTEST_SHAPES:
            cmd += ["--shape", s]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        tally(r.returncode == 0, "halo: attnbench reference dump (%s)" %
              ("exit 0" if r.returncode == 0 else "exit %d: %s" % (r.returncode,
                                                                    r.stderr.strip()[-400:])))
        if r.returncode != 0:
            return
        with open(os.path.join(tmp, "manifest.json")) as f:
            man = json.load(f)
        cases = {}
        for e in man["files"]:
            cases.setdefault(e["case"], {"axes": e["axes"]})[e["role"]] = e["file"]
        tally(len(cases) == len(HALO_SELFTEST_SHAPES),
              "halo: manifest lists %d cases (want %d)" % (len(cases), len(HALO_SELFTEST_SHAPES)))
        for ci in sorted(cases):
            c = cases[ci]
            v = c["axes"]
            cs = ",".join("%s=%d" % (k, v[k]) for k in v)
            t = {n: read_npy(os.path.join(tmp, c[n])).to(dev) for n in HALO_NAMES}
            ref = read_npy(os.path.join(tmp, c["ref"])).to(dev)
            peer = HaloPeer(v["H"], v["W"], v["block"], v["halo"], v["heads"], v["d"], dev)
            y64 = halo_run(peer, t, torch.float64)
            e = rel_err(y64, ref)
            tally(e <= 1e-9 and bool(torch.isfinite(y64).all()),
                  "halo %s: torch-halo f64 vs attnbench reference: max|err|/max|ref| = %.2e "
                  "(<= 1e-9)" % (cs, e))
            tol = halo_plan_tolerance(args, cs)
            if tol is None:
                tally(False, "halo %s: attnbench --plan gave no bf16 tolerance" % cs)
                continue
            bf = {n: x.to(torch.bfloat16) for n, x in t.items()}
            yb = halo_run(peer, bf, torch.bfloat16)
            yr = halo_run(peer, {n: x.to(torch.float64) for n, x in bf.items()}, torch.float64)
            e = rel_err(yb, yr)
            tally(e <= tol, "halo %s: torch-halo bf16 vs its f64 run on the bf16 inputs: %.2e "
                  "(<= planned %.2e)" % (cs, e, tol))


def explicit_attention(q, k, v, causal, kvlen):
    """softmax(QKᵀ/√d)V over whole matrices, float64, masks by definition; all-masked rows 0."""
    d, N, Nk = q.shape[-1], q.shape[-2], k.shape[-2]
    s = q @ k.transpose(-1, -2) / math.sqrt(d)
    valid = torch.ones(q.shape[0], 1, N, Nk, dtype=torch.bool, device=q.device)
    if causal:
        valid &= torch.ones(N, Nk, dtype=torch.bool, device=q.device).tril()
    if kvlen is not None:
        for b in range(q.shape[0]):
            valid[b, :, :, int(kvlen[b]):] = False
    s = s.masked_fill(~valid, -math.inf)
    p = torch.softmax(s, dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # rows with every key masked: 0
    return p @ v


def self_test_mhsa(args, dev, tally):
    """sdpa-math in float64 equals an explicit softmax(QKᵀ/√d)V (causal, Nk ≠ Nq, key padding
    with a fully masked batch); the sampled-row reference used by the timing runs equals it too;
    and the check fails a perturbed and a NaN output."""
    shapes = [dict(B=2, H=3, N=37, Nk=37, d=16, causal=0, kvpad=0),
              dict(B=2, H=3, N=37, Nk=37, d=16, causal=1, kvpad=0),
              dict(B=2, H=2, N=20, Nk=33, d=8, causal=1, kvpad=0),
              dict(B=3, H=2, N=24, Nk=24, d=8, causal=0, kvpad=1),
              dict(B=3, H=2, N=24, Nk=30, d=8, causal=1, kvpad=1)]
    for v in shapes:
        cs = ",".join("%s=%d" % kv for kv in v.items())
        g = torch.Generator(device=dev)
        g.manual_seed(args.seed)
        B, H, N, Nk, d = v["B"], v["H"], v["N"], v["Nk"], v["d"]
        q = torch.randn(B, H, N, d, generator=g, device=dev, dtype=torch.float64)
        k = torch.randn(B, H, Nk, d, generator=g, device=dev, dtype=torch.float64)
        val = torch.randn(B, H, Nk, d, generator=g, device=dev, dtype=torch.float64)
        kvlen = None
        if v["kvpad"]:
            kvlen = torch.randint(1, Nk + 1, (B,), generator=g, device=dev)
            kvlen[-1] = 0
        want = explicit_attention(q, k, val, v["causal"], kvlen)
        mask = mhsa_mask(v, kvlen, dev)
        got = sdpa_call("MATH", q, k, val, mask, v["causal"])
        e = rel_err(got, want)
        tally(e <= 1e-12 and bool(torch.isfinite(got).all()),
              "mhsa %s: sdpa-math f64 vs explicit softmax(QK^T/sqrt(d))V: %.2e (<= 1e-12)"
              % (cs, e))
        rows = list(range(B * H * N))
        ref = mhsa_ref_rows(q, k, val, kvlen, v["causal"], rows)
        e = rel_err(ref, want.reshape(-1, d))
        tally(e <= 1e-12, "mhsa %s: sampled-row reference vs explicit, every row: %.2e (<= 1e-12)"
              % (cs, e))
    # the check itself: a correct bf16 output passes, one element off by 3x the bound fails,
    # a NaN fails, at the planned bf16 tolerance of mhsa (4·2^-8)
    v = dict(B=2, H=2, N=64, Nk=64, d=32, causal=1, kvpad=0)
    q, k, val, kvlen = mhsa_inputs(v, args.seed, dev)
    rows = sample_rows(2 * 2 * 64, 40, args.seed)
    ref = mhsa_ref_rows(q, k, val, None, 1, rows)
    out = sdpa_call("MATH", q, k, val, None, 1).reshape(-1, 32)
    tol = 4 * 2.0 ** -8
    idx = lambda e: rows[e // 32] * 32 + e % 32  # noqa: E731
    c = compare(out[rows], ref, tol, "bhic", [2, 2, 64, 32], idx)
    tally(c["ok"], "mhsa check: sdpa-math bf16 passes (%.2e <= %.2e)" % (c["max_abs_err"],
                                                                         c["tol_abs"]))
    bad = out[rows].clone()
    bad[len(rows) // 2, 5] += 3 * c["tol_abs"]
    c2 = compare(bad, ref, tol, "bhic", [2, 2, 64, 32], idx)
    tally(not c2["ok"], "mhsa check: one element off by 3x the bound fails (%s)" % c2["reason"])
    bad = out.clone().reshape(2, 2, 64, 32)
    bad[1, 0, 7, 3] = float("nan")
    tally(full_finite_check(bad, "bhic") is not None,
          "mhsa check: a NaN anywhere fails (%s)" % full_finite_check(bad, "bhic"))


def self_test(args):
    load_torch()
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device %s: no CUDA device; --device cpu runs the self-test on the "
                         "CPU" % args.device)
    if PLANT:
        print("%s: planted bug '%s' is active" % (PROG, PLANT), file=sys.stderr)
    tally = Tally()
    suites = [args.suite] if args.suite else ["mhsa", "halo"]
    if "mhsa" in suites:
        r = requirements("sdpa-math")
        if r:
            print("%s: self-test of mhsa not run: %s" % (PROG, r[0]), file=sys.stderr)
            suites.remove("mhsa")
            if not suites:
                return 77
        else:
            self_test_mhsa(args, dev, tally)
    if "halo" in suites:
        self_test_halo(args, dev, tally)
    print("self-test: %d passed, %d failed" % (tally.passed, tally.failed), flush=True)
    return 1 if tally.failed else 0


def main(argv):
    args = parse_args(argv)
    try:
        return self_test(args) if args.self_test else run(args)
    except TorchMissing as e:
        print("%s: PyTorch is not importable (%s)" % (PROG, e), file=sys.stderr)
        return 77
    except UsageError as e:
        print("%s: error: %s" % (PROG, e), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("%s: interrupted; finished rows are in the CSV" % PROG, file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
