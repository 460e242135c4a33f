/* The visible keys of one query row, as every mhsa kernel that masks by row computes them (the
 * rules of mhsa_kernels.h: key padding, the causal diagonal, the window). */
#ifndef MHSA_MASK_CUH
#define MHSA_MASK_CUH

#include "mhsa_kernels.h"

/* Keys of batch b's query row i that survive every mask are exactly [lo, hi) (hi >= lo). */
static __device__ __forceinline__ void mhsa_row_keys(const mhsa_problem_t &p, int b, int i,
                                                     int &lo, int &hi)
{
    hi = p.Nk;
    if (p.kv_len) hi = min(max(p.kv_len[b], 0), p.Nk);
    lo = 0;
    const int on = i + p.diag; /* the key on the query's diagonal */
    if (p.causal) hi = min(hi, on + 1);
    if (p.window > 0) {
        lo = max(lo, on - (p.window - 1));
        if (!p.causal) hi = min(hi, on + p.window);
    }
    if (hi < lo) hi = lo;
}

#endif
