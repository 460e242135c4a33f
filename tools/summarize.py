#!/usr/bin/env python3
"""summarize.py - what a set of attnbench CSVs says, per suite and variant, in a few lines.

    tools/summarize.py CSV...

For each (suite, variant, dtype, backend): ok / fail / skip counts, the best TFLOP/s and the worst
error as a fraction of its tolerance, and a verdict; then every failed row's case and reason.

Verdicts of a GPU (or emulated) variant:
  ok              at least one ok row and no failed row
  FAIL            a failed row
  NEVER RAN       no ok row, and a skip says the machine could not run it (no device, a build
                  without CUDA, a broken context, memory or a budget): the variant was not tried
  n/a             every row skipped by the variant itself (its supports(): a case it does not
                  implement, e.g. additive's tensor-core); not a failure
Exit status 1 when a row failed or a GPU variant NEVER RAN, 2 on an unreadable file, a file
that is not an attnbench CSV, or files with no row to judge (only headers or planned rows),
0 otherwise. For the end of tools/gpu_session.sh, so the device
tool's reply says at a glance what held.
"""
import csv
import sys
from collections import OrderedDict

# Skip reasons written by the harness, not by a variant: the machine, the build or a budget
# kept the variant from running (bench/run.c and bench/gpu_cuda.c word them so).
MACHINE_SKIPS = (
    "no CUDA device", "no NVIDIA driver", "built without CUDA", "device unusable",
    "GPU not used", "emulator", "above the CPU budget", "above the emulation budget",
    "of host memory", "of device memory", "out of host memory", "not implemented",
)


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def machine_skip(reason):
    return any(m in (reason or "") for m in MACHINE_SKIPS)


def read(paths):
    """Rows of every file; raises ValueError naming a file that cannot be read as a results CSV."""
    rows = []
    for p in paths:
        try:
            with open(p, newline="") as f:
                got = list(csv.DictReader(f))
        except (OSError, csv.Error, UnicodeDecodeError) as e:
            raise ValueError(f"'{p}': {e}")
        for r in got:
            if "suite" not in r or "status" not in r:
                raise ValueError(f"'{p}' is not an attnbench CSV (no suite/status columns)")
        rows += got
    return rows


def tally(rows):
    stats = OrderedDict()
    fails = []
    for r in rows:
        key = (r["suite"], r["variant"], r.get("dtype", ""), r.get("backend", ""))
        s = stats.setdefault(key, {"ok": 0, "fail": 0, "skip": 0, "machine": 0, "tflops": None,
                                   "ratio": None, "why": ""})
        st = r["status"]
        if st not in ("ok", "fail", "skip"):
            continue  # planned rows say nothing yet
        s[st] += 1
        if st == "skip":
            if machine_skip(r.get("reason")):
                s["machine"] += 1
            s["why"] = s["why"] or (r.get("reason") or "")
        t = num(r.get("tflops"))
        if st == "ok" and t is not None and (s["tflops"] is None or t > s["tflops"]):
            s["tflops"] = t
        # the absolute bound: tolerance_abs ("tolerance" in CSVs written before it was split)
        e, tol = num(r.get("max_abs_err")), num(r.get("tolerance_abs") or r.get("tolerance"))
        if e is not None and tol:
            q = e / tol
            if s["ratio"] is None or q > s["ratio"]:
                s["ratio"] = q
        if st == "fail":
            fails.append(f"{r['suite']}/{r['variant']}: {(r.get('reason') or '')[:160]}")
    return stats, fails


def verdict(backend, s):
    if s["fail"]:
        return "FAIL"
    if s["ok"]:
        return "ok"
    if backend in ("gpu", "emu") and s["skip"]:
        return "NEVER RAN" if s["machine"] else "n/a"
    return "-"


def main(paths):
    if not paths:
        print("usage: summarize.py CSV...", file=sys.stderr)
        return 2
    try:
        rows = read(paths)
    except ValueError as e:
        print(f"summarize: {e}", file=sys.stderr)
        return 2
    stats, fails = tally(rows)
    if not any(s["ok"] + s["fail"] + s["skip"] for s in stats.values()):
        print("summarize: no checked, failed or skipped row in " + " ".join(paths), file=sys.stderr)
        return 2
    print(f"{'suite/variant':32} {'dtype':5} {'ok':>5} {'fail':>5} {'skip':>5} {'TFLOP/s':>9} "
          f"{'err/tol':>8}  verdict")
    bad = bool(fails)
    for (suite, var, dt, be), s in stats.items():
        tf = f"{s['tflops']:.2f}" if s["tflops"] is not None else "-"
        q = f"{s['ratio']:.3f}" if s["ratio"] is not None else "-"
        v = verdict(be, s)
        if v in ("n/a", "NEVER RAN"):
            v += f" ({s['why'][:60]})"
        bad |= v.startswith("NEVER RAN")
        print(f"{suite + '/' + var:32} {dt:5} {s['ok']:5d} {s['fail']:5d} {s['skip']:5d} {tf:>9} "
              f"{q:>8}  {v}")
    for f in fails[:40]:
        print("FAIL " + f)
    if len(fails) > 40:
        print(f"... and {len(fails) - 40} more failed rows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
