/* Warp intrinsics and the PTX instructions of kernels/common/mma.cuh, on top of the runtime's
 * warp collectives (emu_runtime.cpp): the last lane to arrive computes every lane's result.
 *
 * The per-lane layouts follow the PTX ISA exactly, so that a kernel which maps lanes wrongly
 * computes a wrong answer here as it would on the GPU:
 *  - shfl.sync: source lane j per the ISA's pseudocode (segments of `width` lanes; the own value
 *    when j falls outside the segment); reading a lane that did not take part is an error.
 *  - mma.m16n8k16 (bf16 or f16 in, f32 accumulate), with g = lane >> 2, t = lane & 3:
 *      A (16x16): a[0] = A[g][2t..2t+1]   a[1] = A[g+8][2t..2t+1]
 *                 a[2] = A[g][2t+8..2t+9] a[3] = A[g+8][2t+8..2t+9]     (low half = lower column)
 *      B (16x8):  b0 = B[2t..2t+1][g]     b1 = B[2t+8..2t+9][g]          (low half = lower row)
 *      C, D:      c[0] = C[g][2t] c[1] = C[g][2t+1] c[2] = C[g+8][2t] c[3] = C[g+8][2t+1]
 *    D = A·B + C in fp32, k summed in order 0..15 (bf16 and f16 products are exact in fp32).
 *  - ldmatrix.m8n8.x{1,2,4}.b16: lanes 8i..8i+7 give the row addresses of matrix i (16-byte
 *    aligned, in shared memory); r[i] of lane L = {M_i[g][2t], M_i[g][2t+1]}, with .trans
 *    {M_i[2t][g], M_i[2t+1][g]} (M_i as stored: row j at the address of lane 8i + j).
 *  - cp.async: the copy is queued in the issuing thread and performed (reading the source then)
 *    when the schedule lands it (emu_api.h): at issue, at a random synchronisation point of the
 *    thread (emu_runtime.cpp), or at the latest by the cp.async.wait_group that covers its group
 *    (groups close at commit_group). So a kernel may neither read a copy's destination before
 *    the wait, nor let another thread read or write it between the issue and that thread's
 *    wait plus a barrier. A copy never waited for lands only where the schedule lands it early. */
#include "emu_internal.h"

namespace attn_emu {

/* ---- shuffles ------------------------------------------------------------------------------ */

namespace {

struct ShflArg {
    uint32_t in, out;
    int b, width;
    ShflMode mode;
};

/* The source lane of shfl.sync for `lane` (PTX ISA, shfl.sync: c = ((32 - width) << 8) | clamp,
 * clamp 0 for .up and 31 otherwise). */
int shfl_source(ShflMode mode, int lane, int b, int width)
{
    const int segmask = (32 - width) & 31;
    const int cval = mode == SHFL_UP ? 0 : 31;
    const int max_lane = (lane & segmask) | (cval & ~segmask);
    const int min_lane = lane & segmask;
    b &= 31;
    int j;
    bool in_range;
    switch (mode) {
    case SHFL_UP: j = lane - b; in_range = j >= max_lane; break;
    case SHFL_DOWN: j = lane + b; in_range = j <= max_lane; break;
    case SHFL_BFLY: j = lane ^ b; in_range = j <= max_lane; break;
    default: j = min_lane | (b & ~segmask); in_range = j <= max_lane; break;
    }
    return in_range ? j : lane;
}

void shfl_perform(Collective &op)
{
    for (uint32_t m = op.arrived; m; m &= m - 1) {
        const int lane = __builtin_ctz(m);
        ShflArg *a = static_cast<ShflArg *>(op.arg[lane]);
        const int j = shfl_source(a->mode, lane, a->b, a->width);
        if (!(op.arrived >> j & 1))
            fail("%s (%s:%d): lane %d reads lane %d, which %s", op.info->name,
                 short_path(op.file), op.line, lane, j,
                 !(op.mask >> j & 1) ? "is not in the mask" : "has exited");
        a->out = static_cast<const ShflArg *>(op.arg[j])->in;
    }
}

const OpInfo shfl_ops[4] = {
    {"__shfl_sync", shfl_perform, false},
    {"__shfl_up_sync", shfl_perform, false},
    {"__shfl_down_sync", shfl_perform, false},
    {"__shfl_xor_sync", shfl_perform, false},
};

} // namespace

uint32_t shfl_b32(ShflMode mode, uint32_t mask, uint32_t v, int b, int width, const char *file,
                  int line)
{
    if (width < 1 || width > 32 || (width & (width - 1)))
        fail("%s (%s:%d): width %d is not a power of two in [1, 32]", shfl_ops[mode].name,
             short_path(file), line, width);
    ShflArg a{v, 0, b, width, mode};
    warp_op(shfl_ops[mode], mask, &a, file, line);
    return a.out;
}

/* ---- votes, match, redux, syncwarp -------------------------------------------------------- */

namespace {

struct VoteArg {
    int pred;
    VoteMode mode;
    uint32_t out;
};

void vote_perform(Collective &op)
{
    uint32_t ballot = 0;
    for (uint32_t m = op.arrived; m; m &= m - 1) {
        const int lane = __builtin_ctz(m);
        if (static_cast<const VoteArg *>(op.arg[lane])->pred) ballot |= 1u << lane;
    }
    for (uint32_t m = op.arrived; m; m &= m - 1) {
        VoteArg *a = static_cast<VoteArg *>(op.arg[__builtin_ctz(m)]);
        switch (a->mode) {
        case VOTE_ALL: a->out = ballot == op.arrived; break;
        case VOTE_ANY: a->out = ballot != 0; break;
        case VOTE_UNI: a->out = ballot == 0 || ballot == op.arrived; break;
        default: a->out = ballot;
        }
    }
}

const OpInfo vote_ops[4] = {
    {"__all_sync", vote_perform, false},
    {"__any_sync", vote_perform, false},
    {"__uni_sync", vote_perform, false},
    {"__ballot_sync", vote_perform, false},
};

struct MatchArg {
    uint64_t v;
    uint32_t out;
    int *pred;
};

void match_any_perform(Collective &op)
{
    for (uint32_t m = op.arrived; m; m &= m - 1) {
        MatchArg *a = static_cast<MatchArg *>(op.arg[__builtin_ctz(m)]);
        a->out = 0;
        for (uint32_t n = op.arrived; n; n &= n - 1) {
            const int l = __builtin_ctz(n);
            if (static_cast<const MatchArg *>(op.arg[l])->v == a->v) a->out |= 1u << l;
        }
    }
}

void match_all_perform(Collective &op)
{
    const uint64_t v0 = static_cast<const MatchArg *>(op.arg[__builtin_ctz(op.arrived)])->v;
    bool all = true;
    for (uint32_t m = op.arrived; m; m &= m - 1)
        all = all && static_cast<const MatchArg *>(op.arg[__builtin_ctz(m)])->v == v0;
    for (uint32_t m = op.arrived; m; m &= m - 1) {
        MatchArg *a = static_cast<MatchArg *>(op.arg[__builtin_ctz(m)]);
        a->out = all ? op.arrived : 0;
        *a->pred = all;
    }
}

const OpInfo match_any_op = {"__match_any_sync", match_any_perform, false};
const OpInfo match_all_op = {"__match_all_sync", match_all_perform, false};

struct ReduxArg {
    uint32_t v, out;
    ReduxMode mode;
};

void redux_perform(Collective &op)
{
    const ReduxMode mode = static_cast<const ReduxArg *>(op.arg[__builtin_ctz(op.arrived)])->mode;
    uint32_t r = 0;
    bool first = true;
    for (uint32_t m = op.arrived; m; m &= m - 1) {
        const uint32_t v = static_cast<const ReduxArg *>(op.arg[__builtin_ctz(m)])->v;
        if (first) {
            r = v;
            first = false;
            continue;
        }
        switch (mode) {
        case REDUX_ADD: r += v; break;
        case REDUX_MIN: r = (int32_t)v < (int32_t)r ? v : r; break;
        case REDUX_MAX: r = (int32_t)v > (int32_t)r ? v : r; break;
        case REDUX_UMIN: r = v < r ? v : r; break;
        case REDUX_UMAX: r = v > r ? v : r; break;
        case REDUX_AND: r &= v; break;
        case REDUX_OR: r |= v; break;
        case REDUX_XOR: r ^= v; break;
        }
    }
    for (uint32_t m = op.arrived; m; m &= m - 1)
        static_cast<ReduxArg *>(op.arg[__builtin_ctz(m)])->out = r;
}

const OpInfo redux_ops[8] = {
    {"__reduce_add_sync", redux_perform, false}, {"__reduce_min_sync", redux_perform, false},
    {"__reduce_max_sync", redux_perform, false}, {"__reduce_min_sync", redux_perform, false},
    {"__reduce_max_sync", redux_perform, false}, {"__reduce_and_sync", redux_perform, false},
    {"__reduce_or_sync", redux_perform, false},  {"__reduce_xor_sync", redux_perform, false},
};

void nothing_perform(Collective &) {}
const OpInfo syncwarp_op = {"__syncwarp", nothing_perform, false};

} // namespace

uint32_t vote(VoteMode mode, uint32_t mask, int pred, const char *file, int line)
{
    VoteArg a{pred, mode, 0};
    warp_op(vote_ops[mode], mask, &a, file, line);
    return a.out;
}

uint32_t match_any(uint32_t mask, uint64_t value, const char *file, int line)
{
    MatchArg a{value, 0, nullptr};
    warp_op(match_any_op, mask, &a, file, line);
    return a.out;
}

uint32_t match_all(uint32_t mask, uint64_t value, int *pred, const char *file, int line)
{
    MatchArg a{value, 0, pred};
    warp_op(match_all_op, mask, &a, file, line);
    return a.out;
}

uint32_t redux(ReduxMode mode, uint32_t mask, uint32_t v, const char *file, int line)
{
    ReduxArg a{v, 0, mode};
    warp_op(redux_ops[mode], mask, &a, file, line);
    return a.out;
}

void syncwarp(uint32_t mask, const char *file, int line)
{
    warp_op(syncwarp_op, mask, nullptr, file, line);
}

/* ---- PTX: mma, ldmatrix, cp.async ------------------------------------------------------------ */

namespace ptx {
namespace {

/* One 16-bit element of a register as a float: low half (bits 0..15) or high half. */
template <bool F16>
inline float elem_lo(uint32_t r)
{
    if (F16) return __half2float(__ushort_as_half((unsigned short)(r & 0xffffu)));
    return bits<float>(r << 16);
}
template <bool F16>
inline float elem_hi(uint32_t r)
{
    if (F16) return __half2float(__ushort_as_half((unsigned short)(r >> 16)));
    return bits<float>(r & 0xffff0000u);
}

struct MmaArg {
    float *d;
    const uint32_t *a;
    uint32_t b0, b1;
    const float *c;
};

/* F16: the registers hold binary16 (.f16.f16), else bf16. */
template <bool F16>
void mma_perform(Collective &op)
{
    float A[16][16], B[16][8], C[16][8];
    for (int lane = 0; lane < 32; lane++) {
        const MmaArg *x = static_cast<const MmaArg *>(op.arg[lane]);
        const int g = lane >> 2, t = lane & 3;
        A[g][2 * t] = elem_lo<F16>(x->a[0]);
        A[g][2 * t + 1] = elem_hi<F16>(x->a[0]);
        A[g + 8][2 * t] = elem_lo<F16>(x->a[1]);
        A[g + 8][2 * t + 1] = elem_hi<F16>(x->a[1]);
        A[g][2 * t + 8] = elem_lo<F16>(x->a[2]);
        A[g][2 * t + 9] = elem_hi<F16>(x->a[2]);
        A[g + 8][2 * t + 8] = elem_lo<F16>(x->a[3]);
        A[g + 8][2 * t + 9] = elem_hi<F16>(x->a[3]);
        B[2 * t][g] = elem_lo<F16>(x->b0);
        B[2 * t + 1][g] = elem_hi<F16>(x->b0);
        B[2 * t + 8][g] = elem_lo<F16>(x->b1);
        B[2 * t + 9][g] = elem_hi<F16>(x->b1);
        C[g][2 * t] = x->c[0];
        C[g][2 * t + 1] = x->c[1];
        C[g + 8][2 * t] = x->c[2];
        C[g + 8][2 * t + 1] = x->c[3];
    }
    float D[16][8];
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++) {
            float acc = C[i][j];
            for (int k = 0; k < 16; k++) acc += A[i][k] * B[k][j];
            D[i][j] = acc;
        }
    for (int lane = 0; lane < 32; lane++) {
        float *d = static_cast<const MmaArg *>(op.arg[lane])->d;
        const int g = lane >> 2, t = lane & 3;
        d[0] = D[g][2 * t];
        d[1] = D[g][2 * t + 1];
        d[2] = D[g + 8][2 * t];
        d[3] = D[g + 8][2 * t + 1];
    }
}

const OpInfo mma_op = {"mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32", mma_perform<false>,
                       true};
const OpInfo mma_f16_op = {"mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32", mma_perform<true>,
                           true};

struct LdmArg {
    const unsigned char *row;
    uint32_t *r;
    int num;
    bool trans;
};

void ldmatrix_perform(Collective &op)
{
    const LdmArg *a0 = static_cast<const LdmArg *>(op.arg[0]);
    const int num = a0->num;
    const unsigned char *row[32];
    for (int lane = 0; lane < 8 * num; lane++) {
        const unsigned char *p = static_cast<const LdmArg *>(op.arg[lane])->row;
        if (reinterpret_cast<uintptr_t>(p) % 16)
            fail("%s (%s:%d): lane %d passes row address %p, which is not 16-byte aligned",
                 op.info->name, short_path(op.file), op.line, lane, (const void *)p);
        if (!in_shared(p, 16))
            fail("%s (%s:%d): lane %d passes row address %p, which is not in shared memory",
                 op.info->name, short_path(op.file), op.line, lane, (const void *)p);
        row[lane] = p;
    }
    for (int lane = 0; lane < 32; lane++) {
        const LdmArg *x = static_cast<const LdmArg *>(op.arg[lane]);
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < num; i++) {
            uint32_t v;
            if (!a0->trans) {
                std::memcpy(&v, row[8 * i + g] + 4 * t, 4);
            } else {
                uint16_t lo, hi;
                std::memcpy(&lo, row[8 * i + 2 * t] + 2 * g, 2);
                std::memcpy(&hi, row[8 * i + 2 * t + 1] + 2 * g, 2);
                v = (uint32_t)lo | (uint32_t)hi << 16;
            }
            x->r[i] = v;
        }
    }
}

const OpInfo ldmatrix_ops[3][2] = {
    {{"ldmatrix.sync.aligned.m8n8.x1.shared.b16", ldmatrix_perform, true},
     {"ldmatrix.sync.aligned.m8n8.x1.trans.shared.b16", ldmatrix_perform, true}},
    {{"ldmatrix.sync.aligned.m8n8.x2.shared.b16", ldmatrix_perform, true},
     {"ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16", ldmatrix_perform, true}},
    {{"ldmatrix.sync.aligned.m8n8.x4.shared.b16", ldmatrix_perform, true},
     {"ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16", ldmatrix_perform, true}},
};

} // namespace

void mma_m16n8k16_f32_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1,
                           const float (&c)[4], const char *file, int line)
{
    MmaArg arg{d, a, b0, b1, c};
    warp_op(mma_op, 0xffffffffu, &arg, file, line);
}

void mma_m16n8k16_f32_f16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1,
                          const float (&c)[4], const char *file, int line)
{
    MmaArg arg{d, a, b0, b1, c};
    warp_op(mma_f16_op, 0xffffffffu, &arg, file, line);
}

void ldmatrix_m8n8_b16(uint32_t *r, int num, bool trans, const void *row, const char *file,
                       int line)
{
    const int which = num == 1 ? 0 : num == 2 ? 1 : num == 4 ? 2 : -1;
    if (which < 0) fail("ldmatrix (%s:%d): .x%d is not a valid count", short_path(file), line, num);
    LdmArg arg{static_cast<const unsigned char *>(row), r, num, trans};
    warp_op(ldmatrix_ops[which][trans], 0xffffffffu, &arg, file, line);
}

void cp_async(void *dst, const void *src, int cp_size, int src_size, const char *file, int line)
{
    if (cp_size != 4 && cp_size != 8 && cp_size != 16)
        fail("cp.async (%s:%d): cp-size %d is not 4, 8 or 16", short_path(file), line, cp_size);
    if (src_size < 0 || src_size > cp_size)
        fail("cp.async (%s:%d): src-size %d is not in [0, %d]", short_path(file), line, src_size,
             cp_size);
    if (reinterpret_cast<uintptr_t>(dst) % cp_size || reinterpret_cast<uintptr_t>(src) % cp_size)
        fail("cp.async (%s:%d): addresses %p <- %p are not %d-byte aligned", short_path(file),
             line, dst, src, cp_size);
    if (!in_shared(dst, (size_t)cp_size))
        fail("cp.async (%s:%d): destination %p is not in shared memory", short_path(file), line,
             dst);
    if (in_shared(src, 1))
        fail("cp.async (%s:%d): source %p is in shared memory (cp.async copies global to shared)",
             short_path(file), line, src);
    wgmma_check_overwrite(dst, (size_t)cp_size, "cp.async", file, line);
    Thread *t = self();
    t->cp.push_back({static_cast<unsigned char *>(dst), static_cast<const unsigned char *>(src),
                     cp_size, src_size, false});
    if (copy_landing() == LAND_AT_ISSUE) land(t->cp.back());
    else t->cp_pending++;
}

void cp_async_commit_group()
{
    Thread *t = self();
    t->cp_groups.push_back(t->cp.size());
}

void cp_async_wait_group(int n, const char *file, int line)
{
    if (n < 0) fail("cp.async.wait_group (%s:%d): negative count %d", short_path(file), line, n);
    Thread *t = self();
    const size_t groups = t->cp_groups.size();
    if (groups <= (size_t)n) return;
    const size_t done = groups - (size_t)n, end = t->cp_groups[done - 1];
    for (size_t i = 0; i < end; i++)
        if (land(t->cp[i])) t->cp_pending--;
    t->cp.erase(t->cp.begin(), t->cp.begin() + (ptrdiff_t)end);
    t->cp_groups.erase(t->cp_groups.begin(), t->cp_groups.begin() + (ptrdiff_t)done);
    for (size_t &g : t->cp_groups) g -= end;
}

} // namespace ptx
} // namespace attn_emu
