/* Hopper's asynchronous data movement, emulated: the PTX behind kernels/common/tma.cuh.
 *
 *  - mbarrier (PTX ISA, "Parallel Synchronization and Communication Instructions: mbarrier"):
 *    a 64-bit object in shared memory with a phase, a pending arrival count (reset to the
 *    count of mbarrier.init when a phase completes) and a transaction count (tx-count:
 *    arrive.expect_tx adds bytes, each bulk copy's complete_tx subtracts the bytes it wrote;
 *    it may go negative while arrivals are pending). A phase completes when both reach zero.
 *    try_wait.parity P is true once the phase of parity P has completed, i.e. while the
 *    current phase's parity is not P (so on a fresh mbarrier, parity 1 passes at once). The
 *    state lives in a table beside shared memory, keyed by the object's address, per block.
 *    Here try_wait blocks until its phase completes (the GPU may return false after a time
 *    limit; tma.cuh's mbar_wait retries), so a phase that can never complete is a deadlock
 *    report naming the mbarrier, its phase and what it still waits for, never a hang.
 *  - cp.async.bulk.tensor (global -> shared::cluster, mbarrier::complete_tx::bytes): the box
 *    at the given coordinates of a tensor map that cuTensorMapEncodeTiled (below, stood in)
 *    encoded; elements outside the tensor are zeros (NaN with OOB_FILL_NAN_REQUEST_ZERO_FMA);
 *    the box is stored densely, row-major, then swizzled on the shared-memory address
 *    (emu_swizzle.h, the function wgmma's descriptors are read with). Its destination is
 *    poisoned at issue and the copy lands (reading global memory then) when the schedule says,
 *    like cp.async: at issue, at a random synchronisation point of the issuing thread, or at
 *    the latest when a thread waits on its mbarrier (or when no thread can run). So a read
 *    before the wait sees poison.
 *  - setmaxnreg.{inc,dec}.sync.aligned.u32: a warpgroup collective (the runtime's group_op:
 *    the four warps 4k..4k+3, all 128 threads, one call site), count a multiple of 8 in
 *    [24, 256]; .inc may not lower, .dec not raise, a warp's count from an earlier setmaxnreg.
 *  - fence.proxy.async (wgmma.cuh's fence_proxy_async_shared) / fence.mbarrier_init: an mbarrier that a bulk copy signals must have
 *    been made visible to the async proxy after its init (a fence by the initialising thread,
 *    and a __syncthreads before another thread issues the copy); any other thread's use of an
 *    mbarrier needs a __syncthreads after the init. Generic writes read by the async proxy
 *    (TMA stores, wgmma operands) are not tracked.
 *
 * Misuse fails the launch with the kernel's file and line: a phase completed while one of its
 * copies was still in flight, or with more bytes delivered than announced (expect_tx too
 * small); an arrival beyond the count; an uninitialised or invisible mbarrier; a misaligned or
 * non-shared destination, or one overlapping an mbarrier or a copy in flight; setmaxnreg by
 * part of a warpgroup or from two call sites. */
#include "emu_internal.h"

#include <algorithm>
#include <cstdarg>
#include <cuda.h>

#include "emu_swizzle.h"

namespace attn_emu {
namespace {

constexpr int64_t TX_MAX = (1 << 20) - 1; /* the tx-count's range, PTX ISA */
constexpr uint32_t TMAP_MAGIC = 0x54'4d'41'65u;

/* What the stand-in cuTensorMapEncodeTiled writes into a CUtensorMap's 128 opaque bytes. */
struct TensorMap {
    uint32_t magic;
    uint8_t dtype, rank, esize, interleave, swizzle, l2, oob;
    uint64_t addr;
    uint64_t dim[5];
    uint64_t stride[5]; /* bytes; stride[0] = the element size */
    uint16_t box[5];
    uint8_t estride[5];
};
static_assert(sizeof(TensorMap) <= sizeof(CUtensorMap), "the encoding fits a CUtensorMap");

struct MBar {
    const unsigned char *addr;
    unsigned count, pending;
    int64_t tx;
    uint32_t phase;
    unsigned init_thread;
    uint64_t init_epoch, fence_epoch; /* barriers_completed() at the init and at the fence */
    bool fenced;
    const char *file;
    int line;
};

struct BulkCopy {
    unsigned char *dst;
    TensorMap map;
    int coords[5];
    size_t bar;
    uint32_t phase; /* of the mbarrier at issue: the copy's bytes belong to that phase */
    unsigned bytes, issuer;
    const char *file;
    int line;
    bool landed;
};

/* A copy's destination, until its phase completes. */
struct Span {
    const unsigned char *lo;
    unsigned bytes;
    size_t bar;
    uint32_t phase;
    const char *file;
    int line;
};

struct Waiter {
    Thread *t;
    size_t bar;
    unsigned parity;
};

struct State {
    std::vector<MBar> bars;
    std::vector<BulkCopy> copies; /* in flight */
    std::vector<Waiter> waiters;
    std::vector<Span> spans;
    unsigned warp_regs[32]; /* per warp: the count of its last setmaxnreg, 0 before */
    uint64_t woken;
} S;

void wake_counted(Thread *t)
{
    S.woken++;
    wake(t);
}

size_t find_bar(const void *p, const char *op, const char *file, int line)
{
    if (reinterpret_cast<uintptr_t>(p) % 8 || !in_shared(p, 8))
        fail("%s (%s:%d): the mbarrier at %p is not an 8-byte aligned object in shared memory",
             op, short_path(file), line, p);
    for (size_t i = 0; i < S.bars.size(); i++)
        if (S.bars[i].addr == p) return i;
    fail("%s (%s:%d): the mbarrier at %p has not been initialised (mbarrier.init) in this block",
         op, short_path(file), line, p);
}

/* Another thread's init is visible after a __syncthreads that follows it. */
void check_visible(const MBar &b, const char *op, const char *file, int line)
{
    if (self()->index != b.init_thread && barriers_completed() == b.init_epoch)
        fail("%s (%s:%d) on the mbarrier at %p, which thread %u initialised (%s:%d) with no "
             "__syncthreads since: the init is not visible to this thread yet",
             op, short_path(file), line, (const void *)b.addr, b.init_thread,
             short_path(b.file), b.line);
}

inline bool parity_done(const MBar &b, unsigned parity) { return (b.phase & 1u) != parity; }

/* After an arrival or a landing: fail on more bytes than announced, complete the phase when
 * nothing is pending, and release its waiters. */
void settle(size_t i)
{
    MBar &b = S.bars[i];
    if (b.pending) return;
    if (b.tx < 0)
        fail("mbarrier at %p (init %s:%d), phase %u: its bulk copies delivered %lld bytes more "
             "than arrive.expect_tx announced (expect_tx too small)",
             (const void *)b.addr, short_path(b.file), b.line, b.phase, (long long)-b.tx);
    if (b.tx > 0) return;
    for (const BulkCopy &c : S.copies)
        if (c.bar == i && !c.landed && c.phase == b.phase)
            fail("mbarrier at %p (init %s:%d): phase %u completed while the cp.async.bulk.tensor "
                 "of %s:%d (%u bytes) was still in flight: arrive.expect_tx announced fewer "
                 "bytes than the phase's copies deliver (expect_tx too small)",
                 (const void *)b.addr, short_path(b.file), b.line, b.phase, short_path(c.file),
                 c.line, c.bytes);
    b.phase++;
    b.pending = b.count;
    b.tx = 0;
    for (size_t w = 0; w < S.waiters.size();) {
        if (S.waiters[w].bar == i && parity_done(b, S.waiters[w].parity)) {
            wake_counted(S.waiters[w].t);
            S.waiters[w] = S.waiters.back();
            S.waiters.pop_back();
        } else {
            w++;
        }
    }
}

void fill_oob(unsigned char *p, const TensorMap &m)
{
    if (m.oob != CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA) {
        std::memset(p, 0, m.esize);
        return;
    }
    const uint64_t nan = m.esize == 2 ? 0x7fffu : m.esize == 4 ? 0x7fffffffu : ~0ull >> 1;
    std::memcpy(p, &nan, m.esize); /* little-endian: the low bytes */
}

/* Perform a copy (reading global memory now) and count its bytes on its mbarrier. */
void land(BulkCopy &c)
{
    if (c.landed) return;
    const TensorMap &m = c.map;
    const size_t es = m.esize;
    size_t total = 1;
    for (int d = 0; d < m.rank; d++) total *= m.box[d];
    const unsigned char *g = reinterpret_cast<const unsigned char *>(m.addr);
    for (size_t e = 0; e < total; e++) {
        size_t rem = e;
        bool in = true;
        uint64_t off = 0;
        for (int d = 0; d < m.rank; d++) {
            const long long x = (long long)c.coords[d] + (long long)(rem % m.box[d]);
            rem /= m.box[d];
            if (x < 0 || (uint64_t)x >= m.dim[d]) in = false;
            else off += (uint64_t)x * m.stride[d];
        }
        /* as the hardware, on the shared-memory address (whose low 10 bits the emulator's
         * shared addresses, and so wgmma's descriptors, share with the host's) */
        const uintptr_t a = reinterpret_cast<uintptr_t>(c.dst) + e * es;
        const uint32_t moved = m.swizzle ? attn_swizzle((uint32_t)a, 16u << m.swizzle) ^ (uint32_t)a
                                         : 0;
        unsigned char *p = reinterpret_cast<unsigned char *>(a ^ moved);
        if (in) std::memcpy(p, g + off, es);
        else fill_oob(p, m);
    }
    c.landed = true;
    MBar &b = S.bars[c.bar];
    if (b.phase != c.phase)
        fail("the cp.async.bulk.tensor of %s:%d (%u bytes), issued in phase %u of the mbarrier at "
             "%p (init %s:%d), lands in phase %u: its phase completed before it landed "
             "(expect_tx too small: it announced fewer bytes than the phase's copies deliver)",
             short_path(c.file), c.line, c.bytes, c.phase, (const void *)b.addr,
             short_path(b.file), b.line, b.phase);
    b.tx -= c.bytes;
    settle(c.bar);
}

template <class Pick> void land_where(Pick pick)
{
    for (size_t i = 0; i < S.copies.size(); i++)
        if (!S.copies[i].landed && pick(S.copies[i])) land(S.copies[i]);
    size_t k = 0;
    for (size_t i = 0; i < S.copies.size(); i++)
        if (!S.copies[i].landed) S.copies[k++] = S.copies[i];
    S.copies.resize(k);
}

const char *swizzle_name(int s)
{
    static const char *const n[] = {"none", "32B", "64B", "128B", "128B_ATOM_32B",
                                    "128B_ATOM_32B_FLIP_8B", "128B_ATOM_64B"};
    return s >= 0 && s < 7 ? n[s] : "?";
}

} // namespace

/* ---- runtime hooks ------------------------------------------------------------------------- */

void tma_block_start()
{
    S.bars.clear();
    S.copies.clear();
    S.waiters.clear();
    S.spans.clear();
    std::memset(S.warp_regs, 0, sizeof S.warp_regs);
}

bool tma_idle()
{
    const uint64_t before = S.woken;
    if (!S.copies.empty()) land_where([](const BulkCopy &) { return true; });
    if (S.woken != before) return true;
    /* nothing can run (a deadlock, or the block's end): no expect_tx can come any more */
    for (const MBar &b : S.bars)
        if (b.tx < 0)
            fail("mbarrier at %p (init %s:%d), phase %u: its bulk copies delivered %lld bytes that "
                 "no arrive.expect_tx announced (expect_tx too small)",
                 (const void *)b.addr, short_path(b.file), b.line, b.phase, (long long)-b.tx);
    return false;
}

void tma_land_some(Thread *t)
{
    if (S.copies.empty()) return;
    land_where([t](const BulkCopy &c) { return c.issuer == t->index && schedule_random() & 1; });
}

std::string tma_deadlock_detail()
{
    std::string s;
    char buf[512];
    for (size_t i = 0; i < S.bars.size(); i++) {
        const MBar &b = S.bars[i];
        for (unsigned parity = 0; parity < 2; parity++) {
            unsigned who[1024];
            size_t n = 0;
            for (const Waiter &w : S.waiters)
                if (w.bar == i && w.parity == parity) who[n++] = w.t->index;
            if (!n) continue;
            std::sort(who, who + n);
            snprintf(buf, sizeof buf,
                     "; mbarrier at %p (init %s:%d, count %u) is in phase %u: threads %s wait for "
                     "parity %u, i.e. for phase %u to complete, which needs %u more arrival(s) and "
                     "%lld more transaction byte(s)%s",
                     (const void *)b.addr, short_path(b.file), b.line, b.count, b.phase,
                     threads_str(who, n).c_str(), parity, b.phase, b.pending, (long long)b.tx,
                     b.tx > 0 && !b.pending ? " (expect_tx larger than the copies deliver?)" : "");
            s += buf;
        }
    }
    return s;
}

/* ---- PTX ---------------------------------------------------------------------------------- */

namespace ptx {

void mbarrier_init(void *bar, unsigned count, const char *file, int line)
{
    const char *op = "mbarrier.init";
    if (reinterpret_cast<uintptr_t>(bar) % 8 || !in_shared(bar, 8))
        fail("%s (%s:%d): %p is not an 8-byte aligned object in shared memory", op,
             short_path(file), line, bar);
    if (count < 1 || count > TX_MAX)
        fail("%s (%s:%d): count %u is not in [1, 2^20 - 1]", op, short_path(file), line, count);
    size_t i = 0;
    while (i < S.bars.size() && S.bars[i].addr != bar) i++;
    if (i == S.bars.size()) S.bars.push_back({});
    for (const Waiter &w : S.waiters)
        if (w.bar == i)
            fail("%s (%s:%d): the mbarrier at %p is re-initialised while thread %u waits on it",
                 op, short_path(file), line, bar, w.t->index);
    for (const BulkCopy &c : S.copies)
        if (c.bar == i)
            fail("%s (%s:%d): the mbarrier at %p is re-initialised while the bulk copy of %s:%d "
                 "is in flight on it",
                 op, short_path(file), line, bar, short_path(c.file), c.line);
    MBar &b = S.bars[i];
    b = MBar{static_cast<const unsigned char *>(bar), count, count, 0, 0, self()->index,
             barriers_completed(), 0, false, file, line};
}

uint64_t mbarrier_arrive(void *bar, bool expect_tx, unsigned tx_bytes, const char *file, int line)
{
    const char *op = expect_tx ? "mbarrier.arrive.expect_tx" : "mbarrier.arrive";
    const size_t i = find_bar(bar, op, file, line);
    MBar &b = S.bars[i];
    check_visible(b, op, file, line);
    if (expect_tx) {
        if (tx_bytes > TX_MAX || b.tx + tx_bytes > TX_MAX)
            fail("%s (%s:%d): %u bytes take the mbarrier's tx-count past 2^20 - 1", op,
                 short_path(file), line, tx_bytes);
        b.tx += tx_bytes;
    }
    if (!b.pending)
        fail("%s (%s:%d): more arrivals in phase %u of the mbarrier at %p than its count %u "
             "(init %s:%d)",
             op, short_path(file), line, b.phase, bar, b.count, short_path(b.file), b.line);
    b.pending--;
    const uint64_t state = b.phase;
    settle(i);
    return state;
}

bool mbarrier_try_wait_parity(void *bar, unsigned parity, const char *file, int line)
{
    const char *op = "mbarrier.try_wait.parity";
    const size_t i = find_bar(bar, op, file, line);
    check_visible(S.bars[i], op, file, line);
    if (parity > 1)
        fail("%s (%s:%d): parity %u is not 0 or 1", op, short_path(file), line, parity);
    if (parity_done(S.bars[i], parity)) return true;
    /* the copies this phase waits for land now at the latest */
    land_where([i](const BulkCopy &c) { return c.bar == i; });
    if (parity_done(S.bars[i], parity)) return true;
    S.waiters.push_back({self(), i, parity});
    park(op, file, line);
    return true;
}

void cp_async_bulk_tensor(void *dst, const void *tmap, int rank, const int *coords, void *bar,
                          const char *file, int line)
{
    char op[64];
    snprintf(op, sizeof op, "cp.async.bulk.tensor.%dd", rank);
    TensorMap m;
    std::memcpy(&m, tmap, sizeof m);
    if (m.magic != TMAP_MAGIC)
        fail("%s (%s:%d): the tensor map at %p was not written by cuTensorMapEncodeTiled", op,
             short_path(file), line, tmap);
    if (m.rank != rank)
        fail("%s (%s:%d) with a tensor map of rank %d", op, short_path(file), line, m.rank);
    if (m.interleave != CU_TENSOR_MAP_INTERLEAVE_NONE || m.swizzle > CU_TENSOR_MAP_SWIZZLE_128B)
        fail("%s (%s:%d): interleave %d, swizzle %s are not emulated", op, short_path(file),
             line, m.interleave, swizzle_name(m.swizzle));
    for (int d = 1; d < rank; d++)
        if (m.estride[d] != 1)
            fail("%s (%s:%d): elementStrides[%d] = %d is not emulated (only 1)", op,
                 short_path(file), line, d, m.estride[d]);
    unsigned bytes = m.esize;
    for (int d = 0; d < rank; d++) bytes *= m.box[d];
    /* the swizzle pattern repeats every 8 rows of its span: the box starts at a repeat */
    const unsigned align = m.swizzle ? 128u << m.swizzle : 128u;
    if (reinterpret_cast<uintptr_t>(dst) % align)
        fail("%s (%s:%d): destination %p is not %u-byte aligned (swizzle %s)", op,
             short_path(file), line, dst, align, swizzle_name(m.swizzle));
    if (!in_shared(dst, bytes))
        fail("%s (%s:%d): destination [%p, +%u bytes) is not in shared memory", op,
             short_path(file), line, dst, bytes);
    const size_t i = find_bar(bar, op, file, line);
    const MBar &b = S.bars[i];
    check_visible(b, op, file, line);
    if (!b.fenced)
        fail("%s (%s:%d) signals the mbarrier at %p, whose init (%s:%d) was not made visible to "
             "the async proxy: fence.proxy.async (or fence.mbarrier_init) after mbarrier.init",
             op, short_path(file), line, bar, short_path(b.file), b.line);
    if (self()->index != b.init_thread && barriers_completed() == b.fence_epoch)
        fail("%s (%s:%d) signals the mbarrier at %p with no __syncthreads after thread %u's fence "
             "of its init (%s:%d)",
             op, short_path(file), line, bar, b.init_thread, short_path(b.file), b.line);
    const unsigned char *lo = static_cast<const unsigned char *>(dst), *hi = lo + bytes;
    for (const MBar &o : S.bars)
        if (o.addr + 8 > lo && o.addr < hi)
            fail("%s (%s:%d): destination [%p, +%u bytes) overlaps the mbarrier at %p (init "
                 "%s:%d)",
                 op, short_path(file), line, dst, bytes, (const void *)o.addr, short_path(o.file),
                 o.line);
    /* two writes to one byte before the first's phase completed: a race on the GPU, whenever
     * the emulator landed them */
    size_t k = 0;
    for (const Span &o : S.spans) {
        if (S.bars[o.bar].phase != o.phase) continue; /* completed: forget it */
        if (o.lo + o.bytes > lo && o.lo < hi)
            fail("%s (%s:%d): destination [%p, +%u bytes) overlaps that of the copy of %s:%d, "
                 "still in flight (its mbarrier phase has not completed)",
                 op, short_path(file), line, dst, bytes, short_path(o.file), o.line);
        S.spans[k++] = o;
    }
    S.spans.resize(k);
    S.spans.push_back({lo, bytes, i, b.phase, file, line});
    wgmma_check_overwrite(dst, bytes, op, file, line);
    BulkCopy c{static_cast<unsigned char *>(dst), m, {0, 0, 0, 0, 0}, i, b.phase, bytes,
               self()->index, file, line, false};
    for (int d = 0; d < rank; d++) c.coords[d] = coords[d];
    S.copies.push_back(c);
    if (copy_landing() == LAND_AT_ISSUE) {
        land_where([](const BulkCopy &) { return true; });
    } else {
        poison_now(static_cast<unsigned char *>(dst), bytes); /* bytes in flight: undefined */
    }
}

static void fence_inits(const char *, int)
{
    for (MBar &b : S.bars)
        if (b.init_thread == self()->index && !b.fenced) {
            b.fenced = true;
            b.fence_epoch = barriers_completed();
        }
}

/* fence.proxy.async.shared::cta (kernels/common/wgmma.cuh's fence_proxy_async_shared) */
void fence_proxy_async_shared(const char *file, int line) { fence_inits(file, line); }
void fence_mbarrier_init(const char *file, int line) { fence_inits(file, line); }

/* The last thread of the warpgroup to arrive: .inc may not lower, .dec not raise, the count a
 * warp holds after an earlier setmaxnreg (before the first, it is the kernel's, unknown here). */
static void setmaxnreg_perform(GroupOp &op, bool inc)
{
    const unsigned regs = *static_cast<const unsigned *>(op.arg[0]);
    for (unsigned k = op.first / 32; k < (op.first + op.count) / 32; k++) {
        const unsigned cur = S.warp_regs[k];
        if (cur && (inc ? regs < cur : regs > cur))
            fail("%s %u (%s:%d): warp %u holds %u registers (its last setmaxnreg): .%s must %s",
                 op.info->name, regs, short_path(op.file), op.line, k, cur, inc ? "inc" : "dec",
                 inc ? "not lower the count" : "not raise the count");
        S.warp_regs[k] = regs;
    }
}

static const GroupOpInfo setmaxnreg_ops[2] = {
    {"setmaxnreg.dec.sync.aligned.u32", [](GroupOp &op) { setmaxnreg_perform(op, false); }},
    {"setmaxnreg.inc.sync.aligned.u32", [](GroupOp &op) { setmaxnreg_perform(op, true); }},
};

/* A warpgroup collective (the runtime's group_op: all 128 threads, one call site). */
void setmaxnreg(bool inc, unsigned regs, const char *file, int line)
{
    if (regs < 24 || regs > 256 || regs % 8)
        fail("%s %u (%s:%d): the register count must be a multiple of 8 in [24, 256]",
             setmaxnreg_ops[inc].name, regs, short_path(file), line);
    group_op(setmaxnreg_ops[inc], self()->index / 128 * 128, 128, &regs, file, line);
}

} // namespace ptx
} // namespace attn_emu

/* ---- the driver's cuTensorMapEncodeTiled, stood in ----------------------------------------- */

namespace {

using namespace attn_emu;

unsigned element_size(int dtype)
{
    switch (dtype) {
    case CU_TENSOR_MAP_DATA_TYPE_UINT8: return 1;
    case CU_TENSOR_MAP_DATA_TYPE_UINT16:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT16:
    case CU_TENSOR_MAP_DATA_TYPE_BFLOAT16: return 2;
    case CU_TENSOR_MAP_DATA_TYPE_UINT32:
    case CU_TENSOR_MAP_DATA_TYPE_INT32:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT32:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT32_FTZ:
    case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32:
    case CU_TENSOR_MAP_DATA_TYPE_TFLOAT32_FTZ: return 4;
    case CU_TENSOR_MAP_DATA_TYPE_UINT64:
    case CU_TENSOR_MAP_DATA_TYPE_INT64:
    case CU_TENSOR_MAP_DATA_TYPE_FLOAT64: return 8;
    default: return 0; /* the packed sub-byte types are not emulated */
    }
}

bool is_float(int dtype)
{
    return dtype >= CU_TENSOR_MAP_DATA_TYPE_FLOAT16 && dtype != CU_TENSOR_MAP_DATA_TYPE_UINT64 &&
           dtype != CU_TENSOR_MAP_DATA_TYPE_INT64 && element_size(dtype);
}

CUresult refuse(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
CUresult refuse(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    record_error(cudaErrorInvalidValue, "cuTensorMapEncodeTiled: %s", buf);
    return CUDA_ERROR_INVALID_VALUE;
}

/* The driver's rules (cuda.h, cuTensorMapEncodeTiled), each refusal naming the argument. */
CUresult encode_tiled(CUtensorMap *map, CUtensorMapDataType dtype, cuuint32_t rank, void *addr,
                      const cuuint64_t *dim, const cuuint64_t *strides, const cuuint32_t *box,
                      const cuuint32_t *estr, CUtensorMapInterleave interleave,
                      CUtensorMapSwizzle swizzle, CUtensorMapL2promotion l2,
                      CUtensorMapFloatOOBfill oob)
{
    if (!map || reinterpret_cast<uintptr_t>(map) % 64)
        return refuse("tensorMap %p is not 64-byte aligned", (void *)map);
    const unsigned es = element_size(dtype);
    if (!es) return refuse("tensorDataType %d is not a type the emulator knows", (int)dtype);
    if (rank < 1 || rank > 5) return refuse("tensorRank %u is not in [1, 5]", rank);
    if ((int)interleave < 0 || interleave > CU_TENSOR_MAP_INTERLEAVE_32B)
        return refuse("interleave %d is not a CUtensorMapInterleave", (int)interleave);
    if (interleave != CU_TENSOR_MAP_INTERLEAVE_NONE && rank < 3)
        return refuse("tensorRank %u: an interleaved layout needs rank >= 3", rank);
    const unsigned addr_align = interleave == CU_TENSOR_MAP_INTERLEAVE_32B ? 32 : 16;
    if (!addr || reinterpret_cast<uintptr_t>(addr) % addr_align)
        return refuse("globalAddress %p is not %u-byte aligned", addr, addr_align);
    if (!dim || !strides || !box || !estr)
        return refuse("globalDim, globalStrides, boxDim and elementStrides must not be NULL");
    for (unsigned d = 0; d < rank; d++)
        if (dim[d] == 0 || dim[d] > (1ull << 32))
            return refuse("globalDim[%u] = %llu is not in [1, 2^32]", d,
                          (unsigned long long)dim[d]);
    const unsigned stride_mult = interleave == CU_TENSOR_MAP_INTERLEAVE_32B ? 32 : 16;
    for (unsigned d = 0; d + 1 < rank; d++) {
        if (strides[d] % stride_mult || strides[d] >= (1ull << 40))
            return refuse("globalStrides[%u] = %llu is not a multiple of %u below 2^40", d,
                          (unsigned long long)strides[d], stride_mult);
        const unsigned long long inner = d == 0 ? (unsigned long long)dim[0] * es
                                                : (unsigned long long)strides[d - 1] * dim[d];
        if (strides[d] < inner)
            return refuse("globalStrides[%u] = %llu is less than the %llu bytes of dimension %u",
                          d, (unsigned long long)strides[d], inner, d);
    }
    for (unsigned d = 0; d < rank; d++) {
        if (box[d] == 0 || box[d] > 256)
            return refuse("boxDim[%u] = %u is not in [1, 256]", d, box[d]);
        if (estr[d] == 0 || estr[d] > 8)
            return refuse("elementStrides[%u] = %u is not in [1, 8]", d, estr[d]);
    }
    if (interleave == CU_TENSOR_MAP_INTERLEAVE_NONE && box[0] * es % 16)
        return refuse("boxDim[0] = %u elements of %u bytes is not a multiple of 16 bytes", box[0],
                      es);
    if ((int)swizzle < 0 || swizzle > CU_TENSOR_MAP_SWIZZLE_128B_ATOM_64B)
        return refuse("swizzle %d is not a CUtensorMapSwizzle", (int)swizzle);
    if (interleave == CU_TENSOR_MAP_INTERLEAVE_32B && swizzle != CU_TENSOR_MAP_SWIZZLE_32B)
        return refuse("swizzle %s: interleave 32B needs swizzle 32B", swizzle_name(swizzle));
    if (interleave == CU_TENSOR_MAP_INTERLEAVE_NONE && swizzle != CU_TENSOR_MAP_SWIZZLE_NONE) {
        const unsigned span = swizzle == CU_TENSOR_MAP_SWIZZLE_32B ? 32
                              : swizzle == CU_TENSOR_MAP_SWIZZLE_64B ? 64 : 128;
        if (box[0] * es > span)
            return refuse("boxDim[0] = %u elements of %u bytes is wider than swizzle %s's %u",
                          box[0], es, swizzle_name(swizzle), span);
    }
    if ((int)l2 < 0 || l2 > CU_TENSOR_MAP_L2_PROMOTION_L2_256B)
        return refuse("l2Promotion %d is not a CUtensorMapL2promotion", (int)l2);
    if ((int)oob < 0 || oob > CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA)
        return refuse("oobFill %d is not a CUtensorMapFloatOOBfill", (int)oob);
    if (oob == CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA && !is_float(dtype))
        return refuse("oobFill NAN_REQUEST_ZERO_FMA needs a floating-point tensorDataType, not %d",
                      (int)dtype);
    TensorMap m{};
    m.magic = TMAP_MAGIC;
    m.dtype = (uint8_t)dtype;
    m.rank = (uint8_t)rank;
    m.esize = (uint8_t)es;
    m.interleave = (uint8_t)interleave;
    m.swizzle = (uint8_t)swizzle;
    m.l2 = (uint8_t)l2;
    m.oob = (uint8_t)oob;
    m.addr = reinterpret_cast<uintptr_t>(addr);
    for (unsigned d = 0; d < rank; d++) {
        m.dim[d] = dim[d];
        m.stride[d] = d == 0 ? es : strides[d - 1];
        m.box[d] = (uint16_t)box[d];
        m.estride[d] = (uint8_t)estr[d];
    }
    std::memset(map, 0, sizeof *map);
    std::memcpy(map, &m, sizeof m);
    return CUDA_SUCCESS;
}

} // namespace

/* The runtime's way to a driver function, which tma.cuh's launcher helper uses in both builds
 * (no libcuda to link): here it hands out the stand-in above. */
extern "C" cudaError_t cudaGetDriverEntryPointByVersion(const char *symbol, void **funcPtr,
                                                        unsigned int, unsigned long long,
                                                        cudaDriverEntryPointQueryResult *status)
{
    const bool known = symbol && !std::strcmp(symbol, "cuTensorMapEncodeTiled");
    if (status) *status = known ? cudaDriverEntryPointSuccess : cudaDriverEntryPointSymbolNotFound;
    if (!funcPtr) return cudaErrorInvalidValue;
    *funcPtr = known ? reinterpret_cast<void *>(&encode_tiled) : nullptr;
    return cudaSuccess;
}
