/* Fast math as FlashAttention issues it, in one place the emulator also models.
 *
 * attn_ex2(x): 2^x as one MUFU.EX2 (ex2.approx.ftz.f32: max 2 ulp, subnormals flushed), where
 * exp2f compiles to a range check, MUFU.EX2 and a fix-up. Callers fold scale·log2(e) into one
 * FFMA before it, so a softmax score costs two issue slots. */
#ifndef ATTN_FASTMATH_CUH
#define ATTN_FASTMATH_CUH

__device__ __forceinline__ float attn_ex2(float x)
{
#ifdef ATTN_EMU
    return ::attn_emu::fastmath::ex2_approx_ftz(x);
#else
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
#endif
}

#endif
