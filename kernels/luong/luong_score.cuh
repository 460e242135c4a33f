/* The score of one (query, key) pair after projection, shared by the CUDA-core kernels:
 *   dot / general  e = Σ_c q[c]·k[c]
 *   concat         e = Σ_a v[a]·tanh(q[a] + k[a])   (q = W1·h_t, k = W2·h̄_s) */
#ifndef LUONG_SCORE_CUH
#define LUONG_SCORE_CUH

template <bool CONCAT>
static __device__ __forceinline__ float luong_score_term(float q, float k, float v, float acc)
{
    return CONCAT ? fmaf(v, tanhf(q + k), acc) : fmaf(q, k, acc);
}

#endif
