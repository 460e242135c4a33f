#!/usr/bin/env python3
"""summarize.py - what a set of attnbench CSVs says, per suite and variant, in a few lines.

    tools/summarize.py CSV...

For each (suite, variant, dtype): ok / fail / skip counts, the best TFLOP/s and the worst error
as a fraction of its tolerance; then every failed row's case and reason. Exit status 1 when a row
failed or when a GPU variant has no ok row at all (it never ran: no device, or it skips every
case), 2 on an unreadable file. For the end of tools/gpu_session.sh, so the device tool's reply
says at a glance what held.
"""
import csv
import sys
from collections import OrderedDict


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def main(paths):
    if not paths:
        print("usage: summarize.py CSV...", file=sys.stderr)
        return 2
    stats = OrderedDict()
    fails = []
    for p in paths:
        try:
            rows = list(csv.DictReader(open(p, newline="")))
        except OSError as e:
            print(f"summarize: '{p}': {e}", file=sys.stderr)
            return 2
        for r in rows:
            if "suite" not in r or "status" not in r:
                print(f"summarize: '{p}' is not an attnbench CSV (no suite/status columns)",
                      file=sys.stderr)
                return 2
            key = (r["suite"], r["variant"], r.get("dtype", ""), r.get("backend", ""))
            s = stats.setdefault(key, {"ok": 0, "fail": 0, "skip": 0, "tflops": None, "ratio": None})
            st = r["status"]
            s[st] = s.get(st, 0) + 1
            t = num(r.get("tflops"))
            if st == "ok" and t is not None and (s["tflops"] is None or t > s["tflops"]):
                s["tflops"] = t
            e, tol = num(r.get("max_abs_err")), num(r.get("tolerance"))
            if e is not None and tol:
                q = e / tol
                if s["ratio"] is None or q > s["ratio"]:
                    s["ratio"] = q
            if st == "fail":
                fails.append(f"{r['suite']}/{r['variant']}: {r.get('reason', '')[:160]}")
    print(f"{'suite/variant':32} {'dtype':5} {'ok':>5} {'fail':>5} {'skip':>5} {'TFLOP/s':>9} {'err/tol':>8}")
    bad = bool(fails)
    for (suite, var, dt, be), s in stats.items():
        tf = f"{s['tflops']:.2f}" if s["tflops"] is not None else "-"
        q = f"{s['ratio']:.3f}" if s["ratio"] is not None else "-"
        print(f"{suite + '/' + var:32} {dt:5} {s['ok']:5d} {s['fail']:5d} {s['skip']:5d} {tf:>9} {q:>8}")
        if be == "gpu" and s["ok"] == 0:
            bad = True
            print(f"  ^ no ok row: this GPU variant never ran")
    for f in fails[:40]:
        print("FAIL " + f)
    if len(fails) > 40:
        print(f"... and {len(fails) - 40} more failed rows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
