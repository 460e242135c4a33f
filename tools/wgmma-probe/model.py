#!/usr/bin/env python3
"""model.py - the probe's answers computed from the PTX ISA text alone (no GPU, no emulator).

    wgmma-probe --list | tools/wgmma-probe/model.py     the lines the probe prints, per the ISA

A second, independent reading of how wgmma.mma_async.sync.aligned.m64nNk16.f32.{bf16,f16} reads
its operands, written from the PTX ISA ("Matrix Descriptor Format", "Shared Memory Matrix
Layout", the canonical K-major and MN-major layouts per swizzling mode, and the register
fragments of A and D for .m64nNk16), not from the emulator's code. `wgmma-probe --list` gives
each mode's parameters (its descriptors' start offsets, leading and stride byte offsets and
swizzle mode, the transpose bits, N, the scale-d predicate); this prints, for each, the line
the probe prints: the mode's name and the hash of its 64 x N fp32 result (fnv below). Agreeing
with the emulator's stored answers (expected.txt) means two readings of the ISA agree; the GPU
run says which of them the hardware agrees with.

The reading, for 16-bit elements (T = 8 elements per 16-byte unit), element (r, k) of an
operand whose M- or N-index is r and K-index is k, S the swizzle width in bytes (16 for none):
  K-major,  none:      start + (r/8)*SBO + (r%8)*16 + (k/8)*LBO + (k%8)*2
  K-major,  swizzled:  start + (r/8)*SBO + (r%8)*S  + k*2                   (LBO unused)
  MN-major, none:      start + (r/8)*SBO + (r%8)*2  + (k/8)*LBO + (k%8)*16
  MN-major, swizzled:  start + (r/W)*LBO + (r%W)*2  + (k/8)*SBO + (k%8)*S   (W = S/2 elements)
and then the swizzle, a function of the shared-memory address itself: 16-byte chunk bits
[4, 4+b) XOR address bits [7, 7+b), b = 1, 2, 3 for 32B, 64B, 128B (the pattern repeats every
256, 512, 1024 bytes; the probe's buffer is 1024-aligned and no start has bits 7-9 set, so the
descriptor's base offset is 0 in every mode).
TMA modes (tma.*, see tma_box): one box of cp.async.bulk.tensor, element (i0, i1, i2) of the box
at the swizzle (as above) of its row-major byte offset in the box, zero where its tensor
coordinate lies outside the tensor; hashed as the box's 16-bit words.
Fragments (thread t of the warpgroup, warp w = t/32, g = (t%32)/4, q = t%4):
  A from registers, .b32 a[i] i = 0..3: row 16w + g + 8*(i%2), columns 2q + 8*(i/2) + {0, 1},
                                        the lower column in bits 0..15
  D, float d[i] i = 0..N/2-1:           row 16w + g + 8*((i/2)%2), column 8*(i/4) + 2q + i%2
"""
import os
import struct
import sys

SWZ_BITS = {"none": 0, "32b": 1, "64b": 2, "128b": 3}
SWZ_BYTES = {"none": 16, "32b": 32, "64b": 64, "128b": 128}
# Planted misreadings, for tests/wgmma_probe.sh to show which modes catch each:
#   swizzle-from-start  the swizzle of the offset from the start address, not of the address
#   mn-lbo-sbo-swapped  MN-major swizzled: MN atoms at SBO, K groups at LBO
#   d-rows-first        accumulator registers i%4 = (g, 2q), (g+8, 2q), (g, 2q+1), (g+8, 2q+1)
#   tma-swizzle-span-rows   TMA: the chunk XORed with the row index of the swizzle span (offset /
#                           32 or 64), not with address bits 7..: 32B and 64B boxes differ
#   tma-oob-next-row        TMA: past the innermost dimension's end, the bytes that follow (the
#                           row's padding, the next row) instead of zeros
#   tma-rows-unchecked      TMA: no bound check past the end of the outer dimensions
#   tma-negative-clamped    TMA: a negative coordinate reads from 0 instead of zeros
PLANT = os.environ.get("WGMMA_MODEL_PLANT", "")


def vhash(e):
    """The small integer (-6..6) the probe stores at 16-bit element e of its buffer; exact in
    bf16, f16 and fp32, and every sum of 16 products of them is exact in fp32."""
    h = (e * 2654435761) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0x5BD1E995) & 0xFFFFFFFF
    h ^= h >> 15
    return h % 13 - 6


def fnv(words):
    """FNV-1a over 32-bit words, folded after each (the low bits of small integers' floats are
    zero), as the probe hashes."""
    h = 0xCBF29CE484222325
    for w in words:
        h ^= w
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 32
    return h


def f32bits(v):
    return struct.unpack("<I", struct.pack("<f", float(v) + 0.0))[0]


def address(major, swz, start, lbo, sbo, r, k):
    s = SWZ_BYTES[swz]
    if PLANT == "swizzle-from-start":
        a = address(major, swz, 0, lbo, sbo, r, k) if start % 1024 else None
        if a is not None:
            return start + a
    if PLANT == "mn-lbo-sbo-swapped" and major == "mn" and swz != "none":
        lbo, sbo = sbo, lbo
    if major == "k":
        if swz == "none":
            a = start + (r // 8) * sbo + (r % 8) * 16 + (k // 8) * lbo + (k % 8) * 2
        else:
            a = start + (r // 8) * sbo + (r % 8) * s + k * 2
    else:
        if swz == "none":
            a = start + (r // 8) * sbo + (r % 8) * 2 + (k // 8) * lbo + (k % 8) * 16
        else:
            w = s // 2
            a = start + (r // w) * lbo + (r % w) * 2 + (k // 8) * sbo + (k % 8) * s
    return swizzle(a, swz)


def swizzle(a, swz):
    """The shared-memory swizzle of byte address a: 16-byte chunk bits [4, 4+b) XOR address
    bits [7, 7+b)."""
    b = SWZ_BITS[swz]
    return a ^ (((a >> 7) & ((1 << b) - 1)) << 4)


def operand(major, swz, start, lbo, sbo, rows, smem_bytes, what):
    """rows x 16 values of an operand read through its descriptor from the probe's buffer."""
    out = []
    for r in range(rows):
        row = []
        for k in range(16):
            a = address(major, swz, start, lbo, sbo, r, k)
            if not 0 <= a < smem_bytes or a % 2:
                raise SystemExit(f"model: {what} element ({r}, {k}) at byte {a}, outside the "
                                 f"probe's {smem_bytes}-byte buffer")
            row.append(vhash(a // 2))
        out.append(row)
    return out


def d_coords(n):
    """(row, col) of accumulator register i of thread t, in the order t, i."""
    for t in range(128):
        w, g, q = t // 32, (t % 32) // 4, t % 4
        for i in range(n // 2):
            if PLANT == "d-rows-first":
                yield 16 * w + g + 8 * (i % 2), 8 * (i // 4) + 2 * q + (i // 2) % 2
                continue
            yield 16 * w + g + 8 * ((i // 2) % 2), 8 * (i // 4) + 2 * q + i % 2


def a_fragment_coords():
    """Which (row, col) each 16-bit half of A's four registers holds, thread by thread: the
    probe fills each thread's registers this way (from rs_a), so the model reads A whole."""
    for t in range(128):
        w, g, q = t // 32, (t % 32) // 4, t % 4
        for i in range(4):
            for half in range(2):
                yield 16 * w + g + 8 * (i % 2), 2 * q + 8 * (i // 2) + half


def bf16bits(v):
    """The bf16 encoding of a small integer: the upper half of its fp32 one (exact)."""
    return f32bits(v) >> 16


def tma_box(mode):
    """cp.async.bulk.tensor (tile mode) of one box, as the PTX ISA ("Tensor Data Objects":
    bounding box, out-of-bound access; "Tensor-map swizzle modes") and cuTensorMapEncodeTiled
    describe it: box element (i0, i1, i2) is tensor element (c0 + i0, c1 + i1, c2 + i2), whose
    bytes lie at x0 * 2 + x1 * stride1 + x2 * stride2 of the tensor; the coordinates are signed,
    and an element outside [0, dim) in any dimension, before the start as past the end, is
    written as zero (oobFill NONE). The box lands densely, row-major (i0 fastest), from the
    destination on, each element at the swizzle of its shared-memory address; the destination
    is 1024-aligned, so that is the swizzle of its offset. Returns the box's 16-bit words in
    shared-memory order."""
    dims, strides, box, c = mode["dims"], mode["strides"], mode["box"], mode["coords"]
    out = [None] * (box[0] * box[1] * box[2])
    for i2 in range(box[2]):
        for i1 in range(box[1]):
            for i0 in range(box[0]):
                x = (c[0] + i0, c[1] + i1, c[2] + i2)
                inside = [0 <= x[d] < dims[d] for d in range(3)]
                if PLANT == "tma-negative-clamped":
                    x = tuple(max(v, 0) for v in x)
                    inside = [x[d] < dims[d] for d in range(3)]
                offset = x[0] * 2 + x[1] * strides[0] + x[2] * strides[1]
                if PLANT == "tma-oob-next-row" and x[0] >= dims[0] and all(inside[1:]):
                    inside[0] = True  # the linear address past the row's end: the next row
                if PLANT == "tma-rows-unchecked":
                    inside[1:] = [inside[d] or x[d] >= dims[d] for d in (1, 2)]
                value = bf16bits(vhash(offset // 2)) if all(inside) else 0
                a = 2 * (i0 + box[0] * (i1 + box[1] * i2))
                if PLANT == "tma-swizzle-span-rows":
                    # the chunk XORed with the row of the swizzle span, not address bits 7..
                    b = SWZ_BITS[mode["swz"]]
                    a ^= ((a // SWZ_BYTES[mode["swz"]]) & ((1 << b) - 1)) << 4
                else:
                    a = swizzle(a, mode["swz"])
                if out[a // 2] is not None:
                    raise SystemExit(f"model: {mode['name']}: two box elements at byte {a}")
                out[a // 2] = value
    return out


def rs_a(m, k):
    return vhash(0x10000 + m * 16 + k)


def c_init(m, n):
    return vhash(0x20000 + m * 256 + n)


def run(mode, smem_bytes, cache):
    name = mode["name"]
    n = mode["n"]
    if mode["kind"] == "map":
        # A[m][0] = m, A[m][1] = 1, B[0][n] = 256, B[1][n] = n: D[m][n] = 256 m + n, read back
        # register by register, thread by thread: the accumulator layout itself.
        return fnv(f32bits(256 * r + c) for r, c in d_coords(n)), None
    key = (mode["kind"], n) + tuple(mode[f] for f in ("swz", "amaj", "bmaj", "a_start", "a_lbo",
                                                       "a_sbo", "b_start", "b_lbo", "b_sbo"))
    if key not in cache:
        if mode["kind"] == "rs":
            a = [[0] * 16 for _ in range(64)]
            for r, c in a_fragment_coords():
                a[r][c] = rs_a(r, c)
        else:
            a = operand(mode["amaj"], mode["swz"], mode["a_start"], mode["a_lbo"], mode["a_sbo"],
                        64, smem_bytes, name + ": A")
        b = operand(mode["bmaj"], mode["swz"], mode["b_start"], mode["b_lbo"], mode["b_sbo"],
                    n, smem_bytes, name + ": B")
        cache[key] = [[sum(x * y for x, y in zip(a[m], b[j])) for j in range(n)]
                      for m in range(64)]
    prod = cache[key]
    d = [[prod[m][j] + (c_init(m, j) if mode["scale_d"] else 0) for j in range(n)]
         for m in range(64)]
    return fnv(f32bits(v) for row in d for v in row), d


def tma_mode(p):
    """A TMA line of --list: name tma rank swizzle dim0..2 stride1 stride2 box0..2 c0..2."""
    if len(p) != 15 or p[3] not in SWZ_BITS:
        return None
    try:
        v = [int(x) for x in p[4:]]
    except ValueError:
        return None
    return {"name": p[0], "rank": int(p[2]), "swz": p[3], "dims": v[0:3], "strides": v[3:5],
            "box": v[5:8], "coords": v[8:11]}


def main():
    args = sys.argv[1:]
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if args:
        print(f"model.py: unknown argument '{args[0]}' (usage: wgmma-probe --list | model.py)",
              file=sys.stderr)
        return 2
    smem_bytes = None
    cache = {}
    fields = ("name", "kind", "dtype", "n", "swz", "amaj", "bmaj", "a_start", "a_lbo", "a_sbo",
              "b_start", "b_lbo", "b_sbo", "scale_d")
    count = 0
    for line in sys.stdin:
        p = line.split()
        if not p or p[0].startswith("#"):
            if len(p) == 3 and p[1] == "smem-bytes":
                smem_bytes = int(p[2])
            continue
        if len(p) > 1 and p[1] == "tma":
            mode = tma_mode(p)
            if mode is None:
                print(f"model.py: not a line of `wgmma-probe --list`: {line.rstrip()}",
                      file=sys.stderr)
                return 2
            print(f"{mode['name']} {fnv(tma_box(mode)):016x}")
            count += 1
            continue
        if len(p) != len(fields) or smem_bytes is None:
            print(f"model.py: not a line of `wgmma-probe --list`: {line.rstrip()}", file=sys.stderr)
            return 2
        mode = dict(zip(fields, p))
        for f in fields[3:4] + fields[7:]:
            mode[f] = int(mode[f])
        h, _ = run(mode, smem_bytes, cache)
        print(f"{mode['name']} {h:016x}")
        count += 1
    if not count:
        print("model.py: no mode read (pipe `wgmma-probe --list` in)", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
