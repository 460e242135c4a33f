#!/usr/bin/env python3
"""gemm_share.py - the cuBLAS baseline's GEMM rate, from Nsight Compute's per-kernel durations.

    tools/gemm_share.py NCU.csv CALIBRATION.txt SHAPE [--floor PCT]

NCU.csv: `ncu --metrics gpu__time_duration.sum --csv` of one `attnbench --suite mhsa --variant
'^cublas-bf16$' --check` run at SHAPE (N=...,d=...,tokens=...,D=..., non-causal: the baseline
computes every S entry). CALIBRATION.txt: `attnbench --calibrate` output (peak_tflops=...).
Prints the GEMM kernels' summed time, their FLOP rate and its share of the measured bf16 peak;
exits 1 below --floor (default 70), 2 on bad input. The GEMM kernels are cuBLAS's (names with
gemm, nvjet, xmma or cutlass); every other kernel (the softmax) is listed apart.
"""
import csv
import re
import sys

UNITS = {"nsecond": 1e-9, "usecond": 1e-6, "msecond": 1e-3, "second": 1.0}
GEMM = re.compile(r"gemm|nvjet|xmma|cutlass", re.I)


def die(msg):
    print(f"gemm_share: {msg}", file=sys.stderr)
    sys.exit(2)


def main(argv):
    floor = 70.0
    if "--floor" in argv:
        i = argv.index("--floor")
        try:
            floor = float(argv[i + 1])
        except (IndexError, ValueError):
            die(f"--floor needs a number (got {argv[i + 1:i + 2]})")
        del argv[i:i + 2]
    if len(argv) != 3:
        die("usage: gemm_share.py NCU.csv CALIBRATION.txt SHAPE [--floor PCT]")
    path, calib, shape = argv
    try:
        ax = {k: int(v) for k, v in (kv.split("=") for kv in shape.split(","))}
        n, d = ax["N"], ax["d"]
        b, h = ax["tokens"] // n, ax["D"] // d
    except (ValueError, KeyError) as e:
        die(f"SHAPE '{shape}': needs N, d, tokens, D as integers ({e})")
    flops = 4.0 * b * h * n * n * d
    peak = None
    try:
        for line in open(calib):
            if line.startswith("peak_tflops="):
                peak = float(line.split("=", 1)[1])
    except OSError as e:
        die(f"CALIBRATION '{calib}': {e}")
    if not peak:
        die(f"CALIBRATION '{calib}': no peak_tflops= line")
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        die(f"NCU.csv '{path}': {e}")
    start = next((i for i, l in enumerate(lines) if l.startswith('"ID"')), None)
    if start is None:
        die(f"NCU.csv '{path}': no ncu CSV header (\"ID\",...) in it")
    gemm_s, other = 0.0, []
    ngemm = 0
    for row in csv.DictReader(lines[start:]):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        unit = row.get("Metric Unit", "")
        if unit not in UNITS:
            die(f"NCU.csv: unknown time unit '{unit}'")
        t = float(row["Metric Value"].replace(",", "")) * UNITS[unit]
        name = row.get("Kernel Name", "?")
        if GEMM.search(name):
            gemm_s += t
            ngemm += 1
        else:
            other.append((name[:60], t))
    if ngemm == 0:
        die(f"NCU.csv '{path}': no GEMM kernel in it")
    tflops = flops / gemm_s / 1e12
    pct = 100.0 * tflops / peak
    print(f"cublas-bf16 at {shape}: {ngemm} GEMM kernels, {gemm_s * 1e3:.3f} ms, "
          f"{tflops:.1f} TFLOP/s = {pct:.1f}% of the measured {peak:.1f} TFLOP/s "
          f"(floor {floor:g}%): {'PASS' if pct >= floor else 'MISS'}")
    for name, t in other:
        print(f"  other kernel {name}: {t * 1e3:.3f} ms")
    return 0 if pct >= floor else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
