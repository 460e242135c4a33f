/* The shared-memory swizzle of Hopper's async proxy (wgmma descriptors, TMA tensor maps), as a
 * function of the shared-memory byte address: within each 8-row pattern of W-byte rows
 * (W = 32, 64 or 128; the pattern repeats every 8·W bytes), the 16-byte chunk index of a row is
 * XORed with the row index within the pattern:
 *   128B: address bits 4-6 ^= bits 7-9     (8 chunks a row, pattern 1024 bytes)
 *    64B: address bits 4-5 ^= bits 7-8     (4 chunks a row, pattern  512 bytes)
 *    32B: address bit  4   ^= bit  7       (2 chunks a row, pattern  256 bytes)
 * (PTX ISA, "Shared Memory Matrix Layout" of wgmma, and the tensor-map swizzle modes of
 * cuTensorMapEncodeTiled, which lay data out the same way.) Note the row index comes from bits
 * 7.. in every mode: a 64B row pair shares one XOR value, as a 32B row quadruple does.
 * Plain C, header-only: the wgmma emulation and a TMA emulation share it. Only address bits
 * 4-9 matter: in the emulator, pass the host address of the byte (uint32_t)(uintptr_t)p; the
 * shared addresses of wgmma descriptors keep its low 10 bits (emu_wgmma.cpp), so both agree. */
#ifndef ATTN_EMU_SWIZZLE_H
#define ATTN_EMU_SWIZZLE_H

#include <stdint.h>

/* The width in bytes of a swizzle mode given as the wgmma descriptor's 2-bit field
 * (0 none, 1 128B, 2 64B, 3 32B); 16 for none (one chunk: nothing moves). */
static inline uint32_t attn_swizzle_width(unsigned mode)
{
    return mode == 1 ? 128u : mode == 2 ? 64u : mode == 3 ? 32u : 16u;
}

/* The swizzled address of byte address `addr` for rows of `width` bytes (16, 32, 64 or 128;
 * 16 = no swizzle). An involution: applying it twice gives addr back. */
static inline uint32_t attn_swizzle(uint32_t addr, uint32_t width)
{
    const uint32_t chunks_mask = (width / 16u - 1u) << 4; /* bits 4 .. 4+log2(width/16)-1 */
    return addr ^ ((addr >> 3) & chunks_mask);
}

#endif
