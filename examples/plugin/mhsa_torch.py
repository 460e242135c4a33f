"""mhsa as a Python callable for bench/peers/peers.py --callable (docs/own-kernel.md).

peers.py calls FUNCTION(*inputs, axes=AXES): the suite's inputs as float32 tensors (int32 for
index tensors) in the order docs/suites.md gives them -- for mhsa q, k, v (B, H, N, d) and
kv_len (B) -- and the case's axis values by name; it returns the output, (B, H, N, d).

    python3 bench/peers/peers.py --attnbench build/attnbench --suite mhsa \\
        --shape N=64,B=2,H=2,d=16,causal=1,kvpad=1 --callable mhsa_torch:attention \\
        --device cpu --csv mine.csv
"""
import math

import torch


def attention(q, k, v, kv_len, *, axes):
    """softmax(q·kᵀ/√d) v over the keys that survive the masks: j < kv_len[b] when the case
    pads (kvpad = 1), j <= i when causal; a row with no key left is 0."""
    N, Nk = q.shape[2], k.shape[2]
    s = torch.einsum("bhid,bhjd->bhij", q, k) / math.sqrt(q.shape[3])
    keep = torch.ones(q.shape[0], 1, N, Nk, dtype=torch.bool, device=q.device)
    j = torch.arange(Nk, device=q.device)
    if axes["kvpad"]:
        keep &= (j[None, :] < kv_len[:, None].to(j.dtype))[:, None, None, :]
    if axes["causal"]:
        keep &= (j[None, :] <= torch.arange(N, device=q.device)[:, None])[None, None]
    p = torch.softmax(s.masked_fill(~keep, -math.inf), dim=-1)
    p = torch.nan_to_num(p, nan=0.0)  # rows with every key masked: 0, not NaN
    return torch.einsum("bhij,bhjd->bhid", p, v)


def attention_unscaled(q, k, v, kv_len, *, axes):
    """A planted bug: the 1/√d scale forgotten. peers.py must give it a fail row, untimed."""
    return attention(q * math.sqrt(q.shape[3]), k, v, kv_len, axes=axes)
