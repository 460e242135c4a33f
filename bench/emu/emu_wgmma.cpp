/* Hopper wgmma in the emulator: the instructions behind kernels/common/wgmma.cuh, as PTX ISA
 * 9.7.15 ("Asynchronous Warpgroup Level Matrix Multiply-Accumulate") defines them for sm_90a.
 *
 *  - wgmma.fence / commit_group / wait_group / mma_async are warpgroup collectives
 *    (emu_runtime.cpp's group_op): threads 128k..128k+127, all of them, one call site.
 *  - mma_async decodes both descriptors (9.7.15.5.1.2), reads A and B from shared memory through
 *    the canonical K-major or MN-major layout of the swizzle mode (9.7.15.5.1, the layouts in
 *    wgmma.cuh's header comment; the swizzle of emu_swizzle.h) or A from registers, computes
 *    D = A·B + (scale_d ? D : 0) in fp32 at issue, into a pending buffer, and fills the
 *    accumulator with NaN. The result lands at the wgmma_wait_group that covers its commit
 *    group; an access of the accumulator before that fails, naming the access's file:line.
 *  - the ISA's wgmma.fence rule: a wgmma needs a fence executed after the last access (by
 *    wgmma_acc::operator[]) of its accumulator, and the warpgroup's first wgmma a fence before
 *    it. Registers of an RS A operand are plain registers the emulator cannot watch: an RS wgmma
 *    needs a fence after the thread's last access of any accumulator (A is built from one).
 *  - a copy into shared memory (cp.async, cp.async.bulk.tensor) issued over an operand of a
 *    wgmma still in flight fails (wgmma_check_overwrite): the hardware reads operands any time
 *    until the wait_group that covers the wgmma.
 *  - fence.proxy.async is a no-op: generic stores to shared memory are not tracked (documented
 *    in docs/emulator.md).
 * Shared addresses: a descriptor has 14 bits of (address >> 4), so the emulator maps shared
 * memory to a 256 KiB window: the dynamic buffer from 0 (its host address rounded down to 1024
 * bytes), then static shared memory (the module's TLS block, likewise) from the next multiple of
 * 1024. Addresses keep their host low 10 bits, so a kernel that aligns a tile by its pointer
 * gets the same swizzle as on the GPU. */
#include "emu_internal.h"
#include "emu_swizzle.h"

#include <algorithm>
#include <vector>

namespace attn_emu {

namespace {

constexpr unsigned WG = GROUP_MAX; /* threads of a warpgroup */
constexpr uint32_t WINDOW = 1u << 18;
constexpr uint64_t NO_GROUP = ~0ull;

/* One issued wgmma: its result for every thread, until a wait_group lands it. */
struct Pending {
    float *acc[WG];
    int regs;
    std::vector<float> val; /* [thread][reg] */
    uint64_t group;         /* commit group, NO_GROUP until committed */
    const char *file;
    int line;
    std::vector<uintptr_t> chunks; /* the 16-byte shared chunks its A and B are read from */
};

struct Touch {
    const float *acc;
    const char *file;
    int line;
};

struct ThreadState {
    std::vector<Touch> touched; /* accumulators accessed since this thread's last fence */
    bool fenced = false;        /* a wgmma_fence since the block started */
};

struct GroupState {
    std::vector<Pending> pending; /* in issue order */
    uint64_t committed = 0;       /* commit groups closed so far */
};

std::vector<ThreadState> threads;
std::vector<GroupState> groups;
/* A and B of the wgmma being performed: not locals, since a failing load abandons the frame
 * (fibers are never unwound) and would leak them. */
std::vector<float> mat_a(64 * 16), mat_b(256 * 16);

inline unsigned group_first() { return self()->index / WG * WG; }
inline GroupState &my_group() { return groups[self()->index / WG]; }

const char *swizzle_name(unsigned s)
{
    static const char *const n[] = {"none", "128B", "64B", "32B"};
    return n[s & 3];
}

/* ---- shared-memory window ------------------------------------------------------------------- */

inline uintptr_t down1k(const void *p) { return reinterpret_cast<uintptr_t>(p) & ~(uintptr_t)1023; }

struct Window {
    uintptr_t dyn_base, tls_base;
    uint32_t static_start; /* window address of tls_base */
    SharedRegions r;
};

Window window()
{
    Window w;
    w.r = shared_regions();
    w.dyn_base = w.r.dyn ? down1k(w.r.dyn) : 0;
    const uint64_t dyn_end =
        w.r.dyn ? reinterpret_cast<uintptr_t>(w.r.dyn) + w.r.dyn_size - w.dyn_base : 0;
    w.static_start = (uint32_t)((dyn_end + 1023) & ~(uint64_t)1023);
    w.tls_base = w.r.tls ? down1k(w.r.tls) : 0;
    return w;
}

/* The host address of window address a, or nullptr when [a, a + n) is not shared memory. */
const unsigned char *host_of(const Window &w, uint32_t a, size_t n)
{
    const unsigned char *p;
    if (a < w.static_start) p = reinterpret_cast<const unsigned char *>(w.dyn_base + a);
    else p = reinterpret_cast<const unsigned char *>(w.tls_base + (a - w.static_start));
    return in_shared(p, n) ? p : nullptr;
}

/* ---- decoding ------------------------------------------------------------------------------- */

struct Desc {
    uint64_t raw;
    uint32_t start, lbo, sbo;
    unsigned base_offset, swizzle;
};

Desc decode(uint64_t d)
{
    return {d,
            (uint32_t)(d & 0x3FFF) << 4,
            (uint32_t)(d >> 16 & 0x3FFF) << 4,
            (uint32_t)(d >> 32 & 0x3FFF) << 4,
            (unsigned)(d >> 49 & 7),
            (unsigned)(d >> 62 & 3)};
}

/* Bits outside the five fields are reserved: a start address advanced past bit 13, or a
 * stride too large, lands there. */
constexpr uint64_t DESC_FIELDS = 0x3FFFull | 0x3FFFull << 16 | 0x3FFFull << 32 | 7ull << 49 |
                                 3ull << 62;

float f16_to_float(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h >> 15) << 31;
    int exp = h >> 10 & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t f;
    if (exp == 0x1f) {
        f = sign | 0x7f800000u | man << 13;
    } else if (exp == 0) {
        if (!man) {
            f = sign;
        } else { /* subnormal: normalise */
            exp = 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            f = sign | (uint32_t)(exp + 112) << 23 | (man & 0x3ff) << 13;
        }
    } else {
        f = sign | (uint32_t)(exp + 112) << 23 | man << 13;
    }
    return bits<float>(f);
}

inline float elem(uint16_t v, bool f16) { return f16 ? f16_to_float(v) : bits<float>((uint32_t)v << 16); }

/* Byte offset of element (mn, k) from the start address, before the swizzle (wgmma.cuh). */
inline uint32_t layout_offset(const Desc &d, bool mn_major, int mn, int k)
{
    const uint32_t w = attn_swizzle_width(d.swizzle);
    if (!mn_major) {
        if (d.swizzle == 0)
            return (uint32_t)(mn / 8) * d.sbo + (uint32_t)(k / 8) * d.lbo + (uint32_t)(mn % 8) * 16 +
                   (uint32_t)(k % 8) * 2;
        return (uint32_t)(mn / 8) * d.sbo + (uint32_t)(mn % 8) * w + (uint32_t)k * 2;
    }
    if (d.swizzle == 0)
        return (uint32_t)(k / 8) * d.lbo + (uint32_t)(mn / 8) * d.sbo + (uint32_t)(k % 8) * 16 +
               (uint32_t)(mn % 8) * 2;
    const int per_row = (int)w / 2; /* elements in one swizzle-width row */
    return (uint32_t)(k / 8) * d.sbo + (uint32_t)(mn / per_row) * d.lbo + (uint32_t)(k % 8) * w +
           (uint32_t)(mn % per_row) * 2;
}

/* Reads the rows x 16 matrix M[mn][k] (A: mn = m; B: mn = n) through a descriptor; appends
 * the 16-byte chunks read to `chunks`. */
void load(const Window &w, const Desc &d, bool mn_major, bool f16, int rows, float *out,
          std::vector<uintptr_t> &chunks, const char *operand, const char *file, int line)
{
    if (d.raw & ~DESC_FIELDS)
        fail("wgmma (%s:%d): descriptor %s 0x%016llx has reserved bits set (0x%016llx): a start "
             "address or byte offset beyond 14 bits of 16-byte units?",
             short_path(file), line, operand, (unsigned long long)d.raw,
             (unsigned long long)(d.raw & ~DESC_FIELDS));
    if (d.base_offset)
        fail("wgmma (%s:%d): descriptor %s 0x%016llx has base offset %u: only 0 is emulated "
             "(start swizzled tiles at a multiple of the swizzle pattern's repeat)",
             short_path(file), line, operand, (unsigned long long)d.raw, d.base_offset);
    const uint32_t width = attn_swizzle_width(d.swizzle);
    for (int mn = 0; mn < rows; mn++)
        for (int k = 0; k < 16; k++) {
            const uint32_t logical = d.start + layout_offset(d, mn_major, mn, k);
            const uint32_t a = d.swizzle ? attn_swizzle(logical, width) : logical;
            const unsigned char *p = a + 2 <= WINDOW ? host_of(w, a, 2) : nullptr;
            if (!p)
                fail("wgmma (%s:%d): element (%s %d, k %d) of %s through descriptor 0x%016llx "
                     "(start 0x%x, LBO %u, SBO %u, swizzle %s, %s-major) is at shared address "
                     "0x%x, outside shared memory",
                     short_path(file), line, operand[0] == 'A' ? "m" : "n", mn, k, operand,
                     (unsigned long long)d.raw, d.start, d.lbo, d.sbo, swizzle_name(d.swizzle),
                     mn_major ? "MN" : "K", a);
            uint16_t v;
            std::memcpy(&v, p, 2);
            out[mn * 16 + k] = elem(v, f16);
            chunks.push_back(reinterpret_cast<uintptr_t>(p) & ~(uintptr_t)15);
        }
}

/* ---- the collectives ------------------------------------------------------------------------ */

struct MmaArg {
    float *acc;
    int n;
    bool f16;
    uint64_t da;
    const uint32_t *a;
    uint64_t db;
    int scale_d, ta, tb;
};

/* The value D has for thread i of the group before this wgmma: the newest pending result for
 * its accumulator, else the accumulator itself. */
const float *current(const GroupState &g, unsigned i, const float *acc)
{
    for (size_t p = g.pending.size(); p-- > 0;)
        if (g.pending[p].acc[i] == acc) return &g.pending[p].val[(size_t)i * g.pending[p].regs];
    return acc;
}

void mma_perform(GroupOp &op)
{
    const MmaArg &x0 = *static_cast<const MmaArg *>(op.arg[0]);
    const char *file = op.file;
    const int line = op.line;
    const bool rs = x0.a != nullptr;
    /* one instruction: every thread's operands but its registers are the same */
    for (unsigned i = 1; i < op.count; i++) {
        const MmaArg &x = *static_cast<const MmaArg *>(op.arg[i]);
        if (x.n != x0.n || x.f16 != x0.f16 || (x.a != nullptr) != rs || x.ta != x0.ta ||
            x.tb != x0.tb || x.db != x0.db || (!rs && x.da != x0.da) ||
            (x.scale_d != 0) != (x0.scale_d != 0))
            fail("wgmma (%s:%d): thread %u passes descriptors 0x%016llx / 0x%016llx, scale-d %d "
                 "where thread %u passes 0x%016llx / 0x%016llx, scale-d %d: the operands of a "
                 "wgmma must be the same across the warpgroup",
                 short_path(file), line, op.first + i, (unsigned long long)x.da,
                 (unsigned long long)x.db, x.scale_d != 0, op.first,
                 (unsigned long long)x0.da, (unsigned long long)x0.db, x0.scale_d != 0);
    }
    /* wgmma.fence: before the first wgmma, and between other accesses of its registers and it */
    for (unsigned i = 0; i < op.count; i++) {
        const ThreadState &t = threads[op.first + i];
        const MmaArg &x = *static_cast<const MmaArg *>(op.arg[i]);
        if (!t.fenced)
            fail("wgmma (%s:%d) with no wgmma_fence before it (thread %u): the first wgmma of a "
                 "warpgroup needs one",
                 short_path(file), line, op.first + i);
        for (const Touch &u : t.touched)
            if (u.acc == x.acc || rs)
                fail("wgmma (%s:%d) %s accumulator accessed at %s:%d after the last "
                     "wgmma_fence (thread %u): a wgmma_fence must come between",
                     short_path(file), line,
                     u.acc == x.acc ? "writes an" : "takes A from registers after an",
                     short_path(u.file), u.line, op.first + i);
    }
    const int n = x0.n, regs = n / 2;
    GroupState &g = groups[op.first / WG];
    for (unsigned i = 0; i < op.count; i++) {
        const float *acc = static_cast<const MmaArg *>(op.arg[i])->acc;
        for (const Pending &p : g.pending)
            if (p.acc[i] == acc && p.regs != regs)
                fail("wgmma (%s:%d): m64n%dk16 into an accumulator with an m64n%dk16 in flight "
                     "(%s:%d)",
                     short_path(file), line, n, p.regs * 2, short_path(p.file), p.line);
    }
    const Window w = window();
    float *const A = mat_a.data(), *const B = mat_b.data(); /* A[m][k], B[n][k] */
    Pending p;
    if (rs) {
        for (unsigned i = 0; i < op.count; i++) {
            const uint32_t *a = static_cast<const MmaArg *>(op.arg[i])->a;
            const int row = 16 * (int)(i / 32) + (int)(i % 32 >> 2), t2 = 2 * (int)(i & 3);
            for (int r = 0; r < 4; r++) /* the mma.m16n8k16 A fragment of the warp's 16 rows */
                for (int h = 0; h < 2; h++)
                    A[(size_t)(row + 8 * (r & 1)) * 16 + t2 + 8 * (r >> 1) + h] =
                        elem((uint16_t)(a[r] >> 16 * h), x0.f16);
        }
    } else {
        load(w, decode(x0.da), x0.ta != 0, x0.f16, 64, A, p.chunks, "A", file, line);
    }
    load(w, decode(x0.db), x0.tb != 0, x0.f16, n, B, p.chunks, "B", file, line);
    std::sort(p.chunks.begin(), p.chunks.end());
    p.chunks.erase(std::unique(p.chunks.begin(), p.chunks.end()), p.chunks.end());

    p.regs = regs;
    p.val.resize((size_t)op.count * regs);
    p.group = NO_GROUP;
    p.file = file;
    p.line = line;
    for (unsigned i = 0; i < op.count; i++) {
        float *acc = static_cast<const MmaArg *>(op.arg[i])->acc;
        p.acc[i] = acc;
        const float *c = current(g, i, acc);
        const int row = 16 * (int)(i / 32) + (int)(i % 32 >> 2), t2 = 2 * (int)(i & 3);
        for (int r = 0; r < regs; r++) {
            const int m = row + 8 * (r >> 1 & 1), col = 8 * (r >> 2) + t2 + (r & 1);
            float d = x0.scale_d ? c[r] : 0.0f;
            for (int k = 0; k < 16; k++) d += A[(size_t)m * 16 + k] * B[(size_t)col * 16 + k];
            p.val[(size_t)i * regs + r] = d;
        }
    }
    /* in flight: the registers hold nothing a kernel may use */
    for (unsigned i = 0; i < op.count; i++)
        for (int r = 0; r < regs; r++) p.acc[i][r] = std::nanf("");
    g.pending.push_back(std::move(p));
}

void fence_perform(GroupOp &op)
{
    for (unsigned i = 0; i < op.count; i++) {
        ThreadState &t = threads[op.first + i];
        t.touched.clear();
        t.fenced = true;
    }
}

void commit_perform(GroupOp &op)
{
    GroupState &g = groups[op.first / WG];
    for (Pending &p : g.pending)
        if (p.group == NO_GROUP) p.group = g.committed;
    g.committed++;
}

/* Lands every wgmma of a commit group older than the newest `n` ones. */
void wait_perform(GroupOp &op)
{
    const int n = *static_cast<const int *>(op.arg[0]);
    GroupState &g = groups[op.first / WG];
    std::vector<Pending> keep;
    for (Pending &p : g.pending) {
        if (p.group != NO_GROUP && p.group + (uint64_t)n < g.committed) {
            for (unsigned i = 0; i < op.count; i++)
                std::memcpy(p.acc[i], &p.val[(size_t)i * p.regs], sizeof(float) * p.regs);
        } else {
            keep.push_back(std::move(p));
        }
    }
    g.pending = std::move(keep);
}

const GroupOpInfo mma_info = {"wgmma.mma_async.sync.aligned", mma_perform};
const GroupOpInfo fence_info = {"wgmma.fence.sync.aligned", fence_perform};
const GroupOpInfo commit_info = {"wgmma.commit_group.sync.aligned", commit_perform};
const GroupOpInfo wait_info = {"wgmma.wait_group.sync.aligned", wait_perform};

} // namespace

void wgmma_check_overwrite(const void *dst, size_t n, const char *op, const char *file,
                           int line)
{
    const uintptr_t lo = reinterpret_cast<uintptr_t>(dst) & ~(uintptr_t)15,
                    hi = reinterpret_cast<uintptr_t>(dst) + n;
    for (size_t gi = 0; gi < groups.size(); gi++)
        for (const Pending &p : groups[gi].pending) {
            const auto c = std::lower_bound(p.chunks.begin(), p.chunks.end(), lo);
            if (c != p.chunks.end() && *c < hi)
                fail("%s (%s:%d) writes [%p, +%zu bytes) while the wgmma of %s:%d (warpgroup "
                     "%zu) that reads %p is in flight: no wgmma_wait_group has covered it yet, "
                     "so the hardware may read the new bytes",
                     op, short_path(file), line, dst, n, short_path(p.file), p.line, gi,
                     reinterpret_cast<const void *>(*c));
        }
}

void wgmma_block_start(unsigned nthreads)
{
    threads.assign(nthreads, ThreadState{});
    groups.assign((nthreads + WG - 1) / WG, GroupState{});
}

namespace ptx {

uint32_t wgmma_smem_addr(const void *p, const char *file, int line)
{
    const Window w = window();
    const SharedRegions &r = w.r;
    const unsigned char *c = static_cast<const unsigned char *>(p);
    uint64_t a;
    if (r.dyn && c >= r.dyn && c < r.dyn + r.dyn_size)
        a = reinterpret_cast<uintptr_t>(c) - w.dyn_base;
    else if (r.tls && c >= r.tls && c < r.tls + r.tls_size)
        a = w.static_start + (reinterpret_cast<uintptr_t>(c) - w.tls_base);
    else
        fail("wgmma_desc (%s:%d): %p is not in shared memory", short_path(file), line, p);
    if (a >= WINDOW)
        fail("wgmma_desc (%s:%d): %p is %llu bytes into the emulator's shared-memory window, "
             "beyond the 256 KiB a descriptor addresses (static __shared__ variables come after "
             "the dynamic buffer and every other kernel's: use dynamic shared memory)",
             short_path(file), line, p, (unsigned long long)a);
    return (uint32_t)a;
}

void wgmma_mma_async(float *acc, int n, bool f16, uint64_t desc_a, const uint32_t *a,
                     uint64_t desc_b, int scale_d, int trans_a, int trans_b, const char *file,
                     int line)
{
    if (n < 8 || n > 256 || n % 8)
        fail("wgmma (%s:%d): m64n%dk16 is not a wgmma shape", short_path(file), line, n);
    MmaArg arg{acc, n, f16, desc_a, a, desc_b, scale_d, trans_a, trans_b};
    group_op(mma_info, group_first(), WG, &arg, file, line);
}

void wgmma_fence(const char *file, int line)
{
    group_op(fence_info, group_first(), WG, nullptr, file, line);
}

void wgmma_commit_group(const char *file, int line)
{
    group_op(commit_info, group_first(), WG, nullptr, file, line);
}

void wgmma_wait_group(int n, const char *file, int line)
{
    if (n < 0 || n > 7)
        fail("wgmma_wait_group<%d> (%s:%d): N is 0..7", n, short_path(file), line);
    group_op(wait_info, group_first(), WG, &n, file, line);
}

/* fence_proxy_async_shared: emu_tma.cpp (it makes mbarrier inits visible to bulk copies) */

void wgmma_acc_access(const float *acc, int regs, int i, const char *file, int line)
{
    if (i < 0 || i >= regs)
        fail("wgmma_acc index %d (%s:%d) is outside 0..%d", i, short_path(file), line, regs - 1);
    const unsigned idx = self()->index;
    if (idx / WG >= groups.size()) return; /* no launch state: nothing in flight */
    const GroupState &g = groups[idx / WG];
    for (const Pending &p : g.pending)
        if (p.acc[idx % WG] == acc)
            fail("wgmma_acc read or written at %s:%d while the wgmma writing it (%s:%d) is in "
                 "flight: no wgmma_wait_group has covered it yet%s",
                 short_path(file), line, short_path(p.file), p.line,
                 p.group == NO_GROUP ? " (nor a wgmma_commit_group closed its group)" : "");
    ThreadState &t = threads[idx];
    if (t.touched.empty() || t.touched.back().acc != acc) {
        for (const Touch &u : t.touched)
            if (u.acc == acc) return;
        t.touched.push_back({acc, file, line});
    }
}

} // namespace ptx
} // namespace attn_emu
