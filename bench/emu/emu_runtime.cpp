/* The emulator's runtime: fibers, the scheduler, block barriers, warp collectives, launches,
 * shared memory, and the C API of emu_api.h. The model is described in emu.h.
 *
 * Fibers. Each emulated thread runs on its own mmap'd stack (guard page below it), allocated
 * once and reused by every block and launch. On x86-64 a switch saves the six callee-saved
 * registers on the old stack, swaps stack pointers and pops them from the new one (a dozen
 * instructions, no system call); elsewhere, or with -DATTN_EMU_UCONTEXT, it is swapcontext.
 * Fibers switch directly to one another; the launching OS thread's own context ("main") is
 * entered only when a block has finished, failed or deadlocked.
 *
 * Scheduling. Every thread of a block has a rank (its index, the reverse, or a seeded random
 * permutation that is redrawn whenever a block barrier completes); the ready threads form a
 * bitset indexed by rank, and at every synchronisation point the best-ranked ready thread runs.
 * A thread that completes a barrier or a collective is ready again like the threads it
 * released, so it goes on only when it is the best-ranked of them.
 *
 * A schedule also says when cp.async copies land (at the covering wait, at issue, or each at
 * a random synchronisation point of its thread in between: the thread lands it on arriving
 * there, before any other thread runs) and which bytes poison shared memory (emu_api.h). */
#include "emu_internal.h"

#include <algorithm>
#include <climits>
#include <cstdarg>
#include <dlfcn.h>
#include <link.h>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>
#include <unordered_map>

#include "emu_api.h"

#ifdef ATTN_EMU_ASAN
#include <fcntl.h>
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#include <sys/stat.h>
#endif

namespace attn_emu {

ThreadHead *cur;
namespace fastmath {
bool gpu_math; /* the exponentials as the GPU's (schedule ATTN_EMU_GPU_MATH, emu.h) */
}
uint3 block_idx;
dim3 block_dim, grid_dim;

/* ---- context switch ------------------------------------------------------------------------ */

#ifdef ATTN_EMU_FAST_SWITCH
extern "C" {
/* Save rbp, rbx, r12-r15 on the current stack, store rsp in *save_sp, load to_sp, restore. */
void attn_emu_ctx_switch(void **save_sp, void *to_sp);
/* First return target of a new fiber: calls r13(r12) and never returns. */
void attn_emu_ctx_start();
}
asm(R"(
    .text
    .p2align 4
    .globl attn_emu_ctx_switch
    .hidden attn_emu_ctx_switch
    .type attn_emu_ctx_switch, @function
attn_emu_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size attn_emu_ctx_switch, .-attn_emu_ctx_switch

    .p2align 4
    .globl attn_emu_ctx_start
    .hidden attn_emu_ctx_start
    .type attn_emu_ctx_start, @function
attn_emu_ctx_start:
    .cfi_startproc
    .cfi_undefined rip
    movq %r12, %rdi
    callq *%r13
    ud2
    .cfi_endproc
    .size attn_emu_ctx_start, .-attn_emu_ctx_start
)");

static void ctx_make(Context &c, char *lo, size_t size, void (*entry)(void *), void *arg)
{
    /* The frame attn_emu_ctx_switch pops: r15 r14 r13 r12 rbx rbp, then the return address.
     * After the ret the stack pointer is 16-byte aligned, as the call into entry requires. */
    const uintptr_t top = (reinterpret_cast<uintptr_t>(lo) + size) & ~static_cast<uintptr_t>(15);
    void **sp = reinterpret_cast<void **>(top - 72);
    sp[0] = sp[1] = nullptr;
    sp[2] = reinterpret_cast<void *>(entry);
    sp[3] = arg;
    sp[4] = sp[5] = nullptr;
    sp[6] = reinterpret_cast<void *>(&attn_emu_ctx_start);
    sp[7] = sp[8] = nullptr;
    c.sp = sp;
}

static inline void ctx_swap(Context &from, Context &to) { attn_emu_ctx_switch(&from.sp, to.sp); }
#else
static void uc_trampoline(unsigned e_hi, unsigned e_lo, unsigned a_hi, unsigned a_lo)
{
    auto entry = reinterpret_cast<void (*)(void *)>((uintptr_t)e_hi << 32 | e_lo);
    entry(reinterpret_cast<void *>((uintptr_t)a_hi << 32 | a_lo));
}

static void ctx_make(Context &c, char *lo, size_t size, void (*entry)(void *), void *arg)
{
    getcontext(&c.uc);
    c.uc.uc_stack.ss_sp = lo;
    c.uc.uc_stack.ss_size = size;
    c.uc.uc_link = nullptr;
    const uintptr_t e = reinterpret_cast<uintptr_t>(entry), a = reinterpret_cast<uintptr_t>(arg);
    makecontext(&c.uc, reinterpret_cast<void (*)()>(&uc_trampoline), 4, (unsigned)(e >> 32),
                (unsigned)e, (unsigned)(a >> 32), (unsigned)a);
}

static inline void ctx_swap(Context &from, Context &to) { swapcontext(&from.uc, &to.uc); }
#endif

/* ---- emulator state ------------------------------------------------------------------------- */

namespace {

constexpr unsigned MAX_THREADS = 1024;
constexpr size_t STATIC_SMEM_DEFAULT = 48 * 1024;   /* per block without an opt-in */
#ifdef ATTN_EMU_ASAN
constexpr size_t STACK_SIZE = 1024 * 1024;
#else
constexpr size_t STACK_SIZE = 256 * 1024;
#endif

struct Warp {
    uint32_t exists; /* lanes < blockDim */
    uint32_t live;   /* ... that have not exited */
    int nops;        /* pending collectives (lanes of disjoint masks can wait at different ones) */
    Collective ops[32];
};

struct Barrier {
    int arrived;
    int kind;
    const char *file;
    int line;
    int count;        /* threads with pred != 0 */
    int result;       /* of the last completed barrier */
};

struct Emu {
    std::mutex mu;

    /* schedule */
    int mode = ATTN_EMU_IN_ORDER;
    int order = ATTN_EMU_IN_ORDER;   /* thread order: in order, reversed or shuffled */
    CopyLanding landing = LAND_AT_WAIT;
    uint64_t seed = 0;
    uint64_t launch_no = 0; /* launches since attn_emu_set_schedule */

    /* threads, allocated once and reused */
    std::vector<Thread *> pool;

    /* the current launch and block */
    const LaunchDesc *desc = nullptr;
    unsigned nthreads = 0, nwords = 0;
    int live = 0;
    Warp warps[MAX_THREADS / 32];
    Barrier bar;
    GroupOp groups[MAX_THREADS / GROUP_MAX]; /* pending warpgroup collectives */
    uint64_t ready[MAX_THREADS / 64];
    uint64_t yielded[MAX_THREADS / 64]; /* ready again only when nothing else is */
    uint64_t idle_yields = 0;           /* yields since the last barrier or collective */
    uint16_t rank_of[MAX_THREADS], at_rank[MAX_THREADS];
    uint64_t rng = 0;
    Context main_ctx;
#ifdef ATTN_EMU_ASAN
    const void *main_bottom = nullptr;
    size_t main_size = 0;
    void *main_fake = nullptr;
    bool entering_from_main = false;
#endif
    bool failed = false;
    std::string err;

    /* shared memory */
    unsigned char *dyn = nullptr; /* dynamic: exactly the launch's smem bytes */
    size_t dyn_size = 0;
    unsigned char *tls = nullptr; /* static: this module's TLS block of the calling thread */
    size_t tls_size = 0;
    const char *tls_file = nullptr; /* the file of this module ("": the program's) */
    /* Under ASan with guards (emu.h): the block's objects but the guards, as (offset, size),
     * read once from the symbol table; empty: fill and check the block as one. */
    std::vector<std::pair<size_t, size_t>> tls_objects;
    bool tls_objects_read = false;
    std::vector<unsigned char> tls_saved;
    std::vector<uint64_t> random_poison; /* drawn from the seed once, then varied per block */
    uint64_t random_poison_seed = 0;
    std::unordered_map<const void *, int> max_dyn_smem;

    /* errors */
    bool has_error = false;
    std::string last_error;
    int last_code = 0;
    std::string code_message;

    attn_emu_stats_t stats = {};

    ~Emu(); /* at dlclose: unmap the stacks */
};

Emu E;

/* splitmix64: seeds and permutations */
inline uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

inline uint64_t next_random()
{
    E.rng += 0x9e3779b97f4a7c15ull;
    return mix64(E.rng);
}

std::string vformat(const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof buf, fmt, ap);
    return buf;
}

std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    std::string s = vformat(fmt, ap);
    va_end(ap);
    return s;
}

} // namespace

LaneText lanes_str(uint32_t mask)
{
    LaneText t;
    size_t n = 0;
    t.s[0] = 0;
    for (int i = 0; i < 32;) {
        if (!(mask >> i & 1)) {
            i++;
            continue;
        }
        int j = i;
        while (j + 1 < 32 && (mask >> (j + 1) & 1)) j++;
        n += (size_t)snprintf(t.s + n, sizeof t.s - n, j > i ? "%s%d-%d" : "%s%d", n ? "," : "",
                              i, j);
        i = j + 1;
    }
    if (!n) snprintf(t.s, sizeof t.s, "none");
    return t;
}

static std::string ranges_str(const std::vector<unsigned> &v)
{
    std::string s;
    for (size_t i = 0; i < v.size();) {
        size_t j = i;
        while (j + 1 < v.size() && v[j + 1] == v[j] + 1) j++;
        if (!s.empty()) s += ',';
        s += j > i ? format("%u-%u", v[i], v[j]) : format("%u", v[i]);
        i = j + 1;
    }
    return s;
}

const char *short_path(const char *file)
{
    if (!file) return "?";
    const char *k = nullptr;
    for (const char *p = file; (p = std::strstr(p, "kernels/")); p++) k = p;
    return k ? k : file;
}

/* ---- errors ----------------------------------------------------------------------------- */

static void set_error(int code, std::string msg)
{
    E.has_error = true;
    E.last_error = std::move(msg);
    E.last_code = code;
    E.code_message.clear();
}

void record_error(int code, const char *fmt, ...)
{
    std::lock_guard<std::mutex> lock(E.mu);
    va_list ap;
    va_start(ap, fmt);
    set_error(code, vformat(fmt, ap));
    va_end(ap);
}

static cudaError_t config_error(cudaError_t code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static cudaError_t config_error(cudaError_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_error(code, vformat(fmt, ap));
    va_end(ap);
    set_last_cuda_error(code);
    return code;
}

/* ---- stacks ----------------------------------------------------------------------------- */

static Thread *new_thread()
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *map = mmap(nullptr, STACK_SIZE + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) return nullptr;
    mprotect(map, page, PROT_NONE); /* guard page: an overflow faults instead of corrupting */
    Thread *t = new Thread;
    t->stack_lo = static_cast<char *>(map) + page;
    t->stack_size = STACK_SIZE;
    return t;
}

Emu::~Emu()
{
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (Thread *t : pool) {
        munmap(t->stack_lo - page, t->stack_size + page);
        delete t;
    }
}

/* ---- the ready set ---------------------------------------------------------------------- */

static inline void make_ready(Thread *t)
{
    t->state = ST_READY;
    const unsigned r = E.rank_of[t->index];
    E.ready[r >> 6] |= 1ull << (r & 63);
}

static inline Thread *pop_best()
{
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned w = 0; w < E.nwords; w++) {
            if (const uint64_t bits = E.ready[w]) {
                const unsigned b = (unsigned)__builtin_ctzll(bits);
                E.ready[w] = bits & (bits - 1);
                return E.pool[E.at_rank[w * 64 + b]];
            }
        }
        /* only threads that yielded are left: they become ready again, in rank order */
        bool any = false;
        for (unsigned w = 0; w < E.nwords; w++) {
            E.ready[w] = E.yielded[w];
            any = any || E.yielded[w];
            E.yielded[w] = 0;
        }
        if (!any) break;
    }
    return nullptr;
}

/* Ranks for the schedule; the shuffled one draws a new permutation at every call. */
static void assign_ranks()
{
    const unsigned n = E.nthreads;
    for (unsigned r = 0; r < n; r++)
        E.at_rank[r] = (uint16_t)(E.order == ATTN_EMU_REVERSED ? n - 1 - r : r);
    if (E.order == ATTN_EMU_SHUFFLED) {
        for (unsigned r = n - 1; r > 0; r--) {
            const unsigned j = (unsigned)(next_random() % (r + 1));
            std::swap(E.at_rank[r], E.at_rank[j]);
        }
    }
    for (unsigned r = 0; r < n; r++) E.rank_of[E.at_rank[r]] = (uint16_t)r;
}

/* ---- switching -------------------------------------------------------------------------- */

/* From the running context to `to`; from_fake is NULL when the current fiber never resumes. */
static void jump(Context &from, Context &to, const void *to_bottom, size_t to_size,
                 void **from_fake)
{
#ifdef ATTN_EMU_ASAN
    __sanitizer_start_switch_fiber(from_fake, to_bottom, to_size);
#else
    (void)to_bottom, (void)to_size, (void)from_fake;
#endif
    ctx_swap(from, to);
#ifdef ATTN_EMU_ASAN
    __sanitizer_finish_switch_fiber(from_fake ? *from_fake : nullptr, nullptr, nullptr);
#endif
}

static void *fake_slot(Thread *t)
{
#ifdef ATTN_EMU_ASAN
    return t->state == ST_EXITED ? nullptr : &t->fake_stack;
#else
    (void)t;
    return nullptr;
#endif
}

static void note_sp()
{
#ifdef ATTN_EMU_ASAN
    Thread *t = self();
    const uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (!t->low_sp || sp < t->low_sp) t->low_sp = sp;
#endif
}

[[noreturn]] static void to_main_forever()
{
    Thread *t = self();
    note_sp();
#ifdef ATTN_EMU_ASAN
    jump(t->ctx, E.main_ctx, E.main_bottom, E.main_size, nullptr);
#else
    jump(t->ctx, E.main_ctx, nullptr, 0, nullptr);
#endif
    __builtin_unreachable();
}

/* Record why the block fails (the first reason wins). Callers build the message in a scope that
 * ends before to_main_forever(): frames of an abandoned fiber are never unwound. */
static void set_failure(std::string &&msg)
{
    if (!E.failed) {
        E.failed = true;
        E.err = std::move(msg);
    }
}

static std::string where()
{
    const Thread *t = self();
    const uint3 b = block_idx;
    return format("%s: block (%u,%u,%u), thread (%u,%u,%u) (warp %u, lane %u)", E.desc->name, b.x,
                  b.y, b.z, t->tid.x, t->tid.y, t->tid.z, t->warp, t->lane);
}

void fail(const char *fmt, ...)
{
    {
        va_list ap;
        va_start(ap, fmt);
        std::string m = vformat(fmt, ap);
        va_end(ap);
        if (!cur || !E.desc) { /* kernel code called outside a launch */
            std::fprintf(stderr, "attn_emu: %s (outside a kernel launch)\n", m.c_str());
            std::abort();
        }
        set_failure(where() + ": " + m);
    }
    to_main_forever();
}

static std::string deadlock_report();

/* The running thread has been blocked, released (ready) or has exited: run the best-ranked
 * ready thread, which may be itself. Returns when the calling thread runs again. */
static void run_best()
{
    Thread *t = self();
    Thread *next = pop_best();
    if (!next && tma_idle()) next = pop_best(); /* bulk copies in flight landed: someone woke */
    if (next == t) {
        t->state = ST_RUNNING;
        return;
    }
    if (!next) {
        if (E.live > 0) /* else the block is done */
            set_failure(format("%s: block (%u,%u,%u): deadlock: %s", E.desc->name, block_idx.x,
                               block_idx.y, block_idx.z, deadlock_report().c_str()));
        to_main_forever();
    }
    note_sp();
    next->state = ST_RUNNING;
    cur = next;
    E.stats.switches++;
    jump(t->ctx, next->ctx, next->stack_lo, next->stack_size, static_cast<void **>(fake_slot(t)));
}

/* ---- cp.async landing -------------------------------------------------------------------- */

CopyLanding copy_landing() { return E.landing; }

bool land(CpCopy &c)
{
    if (c.landed) return false;
    std::memcpy(c.dst, c.src, (size_t)c.src_size);
    std::memset(c.dst + c.src_size, 0, (size_t)(c.cp_size - c.src_size));
    c.landed = true;
    return true;
}

/* The running thread reached a synchronisation point: under LAND_RANDOM each of its copies in
 * flight lands here with probability 1/2 (so each lands at a random one of the points between
 * its issue and its covering wait, which lands the rest), before another thread runs. */
static inline void land_some(Thread *t)
{
    if (E.landing == LAND_RANDOM) tma_land_some(t);
    if (E.landing != LAND_RANDOM || !t->cp_pending) return;
    uint64_t bits = 0;
    for (size_t i = 0; i < t->cp.size(); i++) {
        if (i % 64 == 0) bits = next_random();
        if (bits >> (i % 64) & 1 && land(t->cp[i])) t->cp_pending--;
    }
}

/* A spinning thread (__nanosleep) lets every other ready thread run before it runs again. */
void yield(const char *file, int line)
{
    Thread *t = self();
    land_some(t);
    if (++E.idle_yields > 100000000ull)
        fail("livelock: threads have spun in __nanosleep (%s:%d) 10^8 times with no barrier or "
             "warp collective completing",
             short_path(file), line);
    t->state = ST_READY;
    t->wait_name = "__nanosleep";
    t->wait_file = file;
    t->wait_line = line;
    const unsigned r = E.rank_of[t->index];
    E.yielded[r >> 6] |= 1ull << (r & 63);
    run_best();
}

/* ---- block barrier ---------------------------------------------------------------------- */

static const char *barrier_name(int kind)
{
    static const char *const names[] = {"__syncthreads", "__syncthreads_count",
                                        "__syncthreads_and", "__syncthreads_or"};
    return names[kind];
}

static void barrier_complete()
{
    Barrier &b = E.bar;
    switch (b.kind) {
    case 1: b.result = b.count; break;
    case 2: b.result = b.count == b.arrived; break;
    case 3: b.result = b.count > 0; break;
    default: b.result = 0;
    }
    b.arrived = 0;
    E.stats.barriers++;
    E.idle_yields = 0;
    /* every live thread waits here, so no ready bit refers to the old ranks */
    if (E.order == ATTN_EMU_SHUFFLED) assign_ranks();
    for (unsigned i = 0; i < E.nthreads; i++)
        if (E.pool[i]->state == ST_BARRIER) make_ready(E.pool[i]);
}

int block_barrier(int kind, int pred, const char *file, int line)
{
    Thread *t = self();
    land_some(t);
    Barrier &b = E.bar;
    if (b.arrived == 0) {
        b.kind = kind;
        b.file = file;
        b.line = line;
        b.count = 0;
    } else if (b.kind != kind || b.line != line || std::strcmp(b.file, file) != 0) {
        fail("barrier divergence: %s at %s:%d reached while %d thread(s) wait at %s at %s:%d",
             barrier_name(kind), short_path(file), line, b.arrived, barrier_name(b.kind),
             short_path(b.file), b.line);
    }
    b.arrived++;
    if (pred) b.count++;
    t->state = ST_BARRIER;
    t->wait_name = barrier_name(kind);
    t->wait_file = file;
    t->wait_line = line;
    if (b.arrived == E.live) barrier_complete();
    run_best();
    return E.bar.result;
}

/* ---- parking (emu_tma.cpp) ------------------------------------------------------------- */

static void poison(unsigned char *p, size_t n, uint64_t block_seed);

void park(const char *name, const char *file, int line)
{
    Thread *t = self();
    land_some(t);
    t->state = ST_PARKED;
    t->wait_name = name;
    t->wait_file = file;
    t->wait_line = line;
    run_best();
}

void wake(Thread *t)
{
    E.idle_yields = 0;
    make_ready(t);
}

uint64_t barriers_completed() { return E.stats.barriers; }
uint64_t schedule_random() { return next_random(); }
void poison_now(unsigned char *p, size_t n) { poison(p, n, next_random()); }

/* ---- warp collectives ------------------------------------------------------------------- */

static bool same_op(const OpInfo &a, const OpInfo &b)
{
    return &a == &b || (a.perform == b.perform && std::strcmp(a.name, b.name) == 0);
}

/* Perform pending collective i of warp w and release its lanes (the caller included). */
static void complete_op(Warp &w, int i)
{
    Collective &op = w.ops[i];
    op.info->perform(op);
    E.stats.warp_ops++;
    E.idle_yields = 0;
    const unsigned base = (unsigned)(&w - E.warps) * 32;
    for (uint32_t m = op.arrived; m; m &= m - 1) make_ready(E.pool[base + __builtin_ctz(m)]);
    if (i != --w.nops) w.ops[i] = w.ops[w.nops];
}

/* Thread t waits at a collective (a warp's or a warpgroup's) until its last member arrives. */
static void wait_at(Thread *t, const char *name, const char *file, int line)
{
    t->state = ST_WARP_OP;
    t->wait_name = name;
    t->wait_file = file;
    t->wait_line = line;
}

void warp_op(const OpInfo &info, uint32_t mask, void *arg, const char *file, int line)
{
    Thread *t = self();
    land_some(t);
    Warp &w = E.warps[t->warp];
    const uint32_t bit = 1u << t->lane;
    if (info.aligned) {
        if (w.exists != 0xffffffffu)
            fail("%s (%s:%d) executed by a warp of %d threads: this .aligned instruction needs "
                 "all 32 (make blockDim a multiple of 32)",
                 info.name, short_path(file), line, __builtin_popcount(w.exists));
        if (w.live != w.exists)
            fail("%s (%s:%d) executed by a partial warp: lanes %s have exited, but every lane "
                 "must execute this .aligned instruction",
                 info.name, short_path(file), line, lanes_str(w.exists & ~w.live).c_str());
        mask = w.exists;
    } else if (!(mask & bit)) {
        fail("%s (%s:%d): mask 0x%08x does not include the calling lane", info.name,
             short_path(file), line, mask);
    }
    Collective *op = nullptr;
    for (int i = 0; i < w.nops; i++) {
        Collective &o = w.ops[i];
        if (o.mask == mask) {
            op = &o;
            break;
        }
        if (o.mask & mask)
            fail("%s (%s:%d) with mask 0x%08x while lanes %s wait at %s (%s:%d) with mask 0x%08x: "
                 "the lanes of a warp collective must pass the same mask",
                 info.name, short_path(file), line, mask, lanes_str(o.arrived).c_str(),
                 o.info->name, short_path(o.file), o.line, o.mask);
    }
    if (op && !same_op(*op->info, info))
        fail("warp divergence: %s (%s:%d) reached while lanes %s wait at %s (%s:%d)", info.name,
             short_path(file), line, lanes_str(op->arrived).c_str(), op->info->name,
             short_path(op->file), op->line);
    /* An .aligned instruction is one instruction that every lane executes: lanes arriving from
     * different call sites (divergent branches) are divergence, however alike the operations
     * (on the GPU the behaviour is undefined). */
    if (op && info.aligned && (op->line != line || std::strcmp(op->file, file) != 0))
        fail("warp divergence: %s at %s:%d reached while lanes %s wait at %s at %s:%d: every "
             "lane of the warp must execute an .aligned instruction at the same call site",
             info.name, short_path(file), line, lanes_str(op->arrived).c_str(), op->info->name,
             short_path(op->file), op->line);
    if (!op) {
        op = &w.ops[w.nops++];
        op->info = &info;
        op->mask = mask;
        op->arrived = 0;
        op->file = file;
        op->line = line;
    }
    op->arg[t->lane] = arg;
    op->arrived |= bit;
    if (op->arrived == (mask & w.live)) {
        complete_op(w, (int)(op - w.ops));
    } else {
        wait_at(t, info.name, file, line);
    }
    run_best();
}

unsigned live_lanes() { return E.warps[self()->warp].live; }

/* ---- warpgroup collectives -------------------------------------------------------------- */

ThreadsText threads_str(const unsigned *idx, size_t n)
{
    ThreadsText t;
    size_t len = 0;
    t.s[0] = 0;
    for (size_t i = 0; i < n && len < sizeof t.s - 16;) {
        size_t j = i;
        while (j + 1 < n && idx[j + 1] == idx[j] + 1) j++;
        len += (size_t)snprintf(t.s + len, sizeof t.s - len, j > i ? "%s%u-%u" : "%s%u",
                                len ? "," : "", idx[i], idx[j]);
        i = j + 1;
    }
    if (!len) snprintf(t.s, sizeof t.s, "none");
    return t;
}

void group_op(const GroupOpInfo &info, unsigned first, unsigned count, void *arg, const char *file,
              int line)
{
    Thread *t = self();
    land_some(t);
    if (count == 0 || count > GROUP_MAX || first % count || first + count > E.nthreads)
        fail("%s (%s:%d) executed by threads %u-%u, which a block of %u threads does not have: "
             "this .aligned instruction needs all %u threads of the warpgroup",
             info.name, short_path(file), line, first, first + count - 1, E.nthreads, count);
    {
        unsigned gone[GROUP_MAX];
        size_t n = 0;
        for (unsigned i = first; i < first + count; i++)
            if (E.pool[i]->state == ST_EXITED) gone[n++] = i;
        if (n)
            fail("%s (%s:%d): threads %s of the warpgroup have exited, but all %u must execute "
                 "this .aligned instruction",
                 info.name, short_path(file), line, threads_str(gone, n).c_str(), count);
    }
    GroupOp &g = E.groups[first / GROUP_MAX];
    if (g.arrived == 0) {
        g.info = &info;
        g.first = first;
        g.count = count;
        g.file = file;
        g.line = line;
    } else if (g.info != &info || g.line != line || std::strcmp(g.file, file) != 0) {
        unsigned waiting[GROUP_MAX];
        size_t n = 0;
        for (unsigned i = first; i < first + count; i++)
            if (E.pool[i]->state == ST_WARP_OP && E.pool[i]->wait_line == g.line &&
                !std::strcmp(E.pool[i]->wait_file, g.file))
                waiting[n++] = i;
        fail("warpgroup divergence: %s at %s:%d reached while threads %s wait at %s at %s:%d: "
             "all %u threads of a warpgroup must execute it at the same call site",
             info.name, short_path(file), line, threads_str(waiting, n).c_str(), g.info->name,
             short_path(g.file), g.line, count);
    }
    g.arg[t->index - first] = arg;
    if (++g.arrived == count) {
        info.perform(g);
        g.arrived = 0;
        E.stats.warp_ops++;
        E.idle_yields = 0;
        for (unsigned i = first; i < first + count; i++) make_ready(E.pool[i]);
    } else {
        wait_at(t, info.name, file, line);
    }
    run_best();
}

SharedRegions shared_regions() { return {E.dyn, E.dyn_size, E.tls, E.tls_size}; }

/* ---- thread start and exit -------------------------------------------------------------- */

[[noreturn]] static void thread_exit()
{
    Thread *t = self();
    t->state = ST_EXITED;
    t->cp.clear(); /* copies never waited for die with the thread (they could only fill smem) */
    t->cp_groups.clear();
    t->cp_pending = 0;
    E.live--;
    Warp &w = E.warps[t->warp];
    const uint32_t bit = 1u << t->lane;
    w.live &= ~bit;
    for (int i = 0; i < w.nops;) {
        Collective &op = w.ops[i];
        if (!(op.mask & bit)) {
            i++;
            continue;
        }
        if (op.info->aligned)
            fail("exited while lanes %s wait at %s (%s:%d), which every lane of the warp must "
                 "execute",
                 lanes_str(op.arrived).c_str(), op.info->name, short_path(op.file), op.line);
        if (op.arrived == (op.mask & w.live))
            complete_op(w, i); /* the others only waited for this lane: done without it */
        else
            i++;
    }
    const GroupOp &g = E.groups[t->index / GROUP_MAX];
    if (g.arrived > 0 && t->index >= g.first && t->index < g.first + g.count)
        fail("exited while %u thread(s) of its warpgroup wait at %s (%s:%d), which all %u must "
             "execute", g.arrived, g.info->name, short_path(g.file), g.line, g.count);
    if (E.bar.arrived > 0 && E.bar.arrived == E.live) barrier_complete();
    run_best();
    __builtin_unreachable();
}

static void fiber_entry(void *arg) noexcept
{
    Thread *t = static_cast<Thread *>(arg);
#ifdef ATTN_EMU_ASAN
    if (E.entering_from_main) {
        __sanitizer_finish_switch_fiber(nullptr, &E.main_bottom, &E.main_size);
        E.entering_from_main = false;
    } else {
        __sanitizer_finish_switch_fiber(nullptr, nullptr, nullptr);
    }
#endif
    (void)t;
    E.desc->body(E.desc->ctx);
    thread_exit();
}

/* ---- deadlock report -------------------------------------------------------------------- */

static std::string deadlock_report()
{
    struct Group {
        const char *name, *file;
        int line;
        std::vector<unsigned> threads;
    };
    std::vector<Group> groups;
    std::vector<unsigned> exited;
    for (unsigned i = 0; i < E.nthreads; i++) {
        const Thread *t = E.pool[i];
        if (t->state == ST_EXITED) {
            exited.push_back(i);
            continue;
        }
        auto g = std::find_if(groups.begin(), groups.end(), [&](const Group &x) {
            return x.line == t->wait_line && !std::strcmp(x.name, t->wait_name) &&
                   !std::strcmp(x.file, t->wait_file);
        });
        if (g == groups.end()) {
            groups.push_back({t->wait_name, t->wait_file, t->wait_line, {}});
            g = groups.end() - 1;
        }
        g->threads.push_back(i);
    }
    std::string s;
    for (const Group &g : groups)
        s += format("%sthreads %s wait at %s (%s:%d)", s.empty() ? "" : "; ",
                    ranges_str(g.threads).c_str(), g.name, short_path(g.file), g.line);
    if (!exited.empty()) s += format("; threads %s have exited", ranges_str(exited).c_str());
    for (unsigned wi = 0; wi < (E.nthreads + 31) / 32; wi++) {
        const Warp &w = E.warps[wi];
        for (int i = 0; i < w.nops; i++) {
            const Collective &op = w.ops[i];
            s += format("; warp %u: %s waits for lanes %s", wi, op.info->name,
                        lanes_str(op.mask & w.live & ~op.arrived).c_str());
        }
    }
    if (E.bar.arrived > 0)
        s += format("; %s waits for %d of %d live threads", barrier_name(E.bar.kind),
                    E.live - E.bar.arrived, E.live);
    return s + tma_deadlock_detail();
}

/* ---- shared memory ---------------------------------------------------------------------- */

/* Allocates this module's TLS block in the calling thread, so that it can be found. */
static thread_local unsigned char tls_anchor;

namespace {
struct TlsSearch {
    uintptr_t code; /* an address inside this module */
    bool has_tls;   /* the module has a PT_TLS segment */
    unsigned char *data;
    size_t size;
};
} // namespace

static int tls_search_cb(struct dl_phdr_info *info, size_t size, void *p)
{
    TlsSearch *s = static_cast<TlsSearch *>(p);
    bool ours = false;
    const ElfW(Phdr) *tls = nullptr;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) &ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_LOAD) {
            const uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
            if (s->code >= lo && s->code < lo + ph.p_memsz) ours = true;
        } else if (ph.p_type == PT_TLS) {
            tls = &ph;
        }
    }
    if (!ours) return 0;
    E.tls_file = info->dlpi_name;
    s->has_tls = tls != nullptr;
    if (tls && size >= offsetof(struct dl_phdr_info, dlpi_tls_data) + sizeof(void *)) {
        s->data = static_cast<unsigned char *>(info->dlpi_tls_data);
        s->size = tls->p_memsz;
    }
    return 1;
}

/* Static __shared__ variables are this module's thread_locals: find the block of this thread.
 * Returns false when there is one but it cannot be found (static shared memory would then not
 * be poisoned: refuse to run rather than check less than promised). */
static bool locate_static_smem()
{
    *static_cast<volatile unsigned char *>(&tls_anchor) = 0;
    TlsSearch s{reinterpret_cast<uintptr_t>(&locate_static_smem), false, nullptr, 0};
    dl_iterate_phdr(tls_search_cb, &s);
    const unsigned char *a = &tls_anchor;
    if (s.data && (a < s.data || a >= s.data + s.size)) s.data = nullptr; /* not what we think */
    E.tls = s.data;
    E.tls_size = s.data ? s.size : 0;
    return s.data || !s.has_tls;
}

bool in_shared(const void *p, size_t n)
{
    const unsigned char *c = static_cast<const unsigned char *>(p);
    if (E.dyn_size && c >= E.dyn && c + n <= E.dyn + E.dyn_size) return true;
    return E.tls_size && c >= E.tls && c + n <= E.tls + E.tls_size;
}

unsigned char *dynamic_smem() { return E.dyn; }

#ifdef ATTN_EMU_ASAN
/* The TLS objects of this module's file (.symtab), but the guards emu.h puts after each static
 * __shared__ variable; none when there is no guard (or no symbol table: a stripped module is
 * checked as before, without guards). */
static void read_tls_objects()
{
    E.tls_objects_read = true;
    const char *path = E.tls_file && *E.tls_file ? E.tls_file : "/proc/self/exe";
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return;
    void *map = fstat(fd, &st) == 0 && (size_t)st.st_size >= sizeof(ElfW(Ehdr))
                    ? mmap(nullptr, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
                    : MAP_FAILED;
    close(fd);
    if (map == MAP_FAILED) return;
    const unsigned char *base = static_cast<const unsigned char *>(map);
    const size_t len = (size_t)st.st_size;
    const ElfW(Ehdr) *eh = reinterpret_cast<const ElfW(Ehdr) *>(base);
    std::vector<std::pair<size_t, size_t>> objs;
    size_t guards = 0;
    if (!std::memcmp(eh->e_ident, ELFMAG, SELFMAG) &&
        eh->e_shoff + (size_t)eh->e_shnum * sizeof(ElfW(Shdr)) <= len) {
        const ElfW(Shdr) *sh = reinterpret_cast<const ElfW(Shdr) *>(base + eh->e_shoff);
        for (unsigned i = 0; i < eh->e_shnum; i++) {
            if (sh[i].sh_type != SHT_SYMTAB || sh[i].sh_link >= eh->e_shnum) continue;
            const ElfW(Shdr) &strs = sh[sh[i].sh_link];
            if (sh[i].sh_offset + sh[i].sh_size > len || strs.sh_offset + strs.sh_size > len)
                continue;
            const ElfW(Sym) *sym = reinterpret_cast<const ElfW(Sym) *>(base + sh[i].sh_offset);
            const char *names = reinterpret_cast<const char *>(base + strs.sh_offset);
            for (size_t k = 0; k < sh[i].sh_size / sizeof(ElfW(Sym)); k++) {
                if ((sym[k].st_info & 0xf) != STT_TLS || !sym[k].st_size ||
                    sym[k].st_value + sym[k].st_size > E.tls_size || sym[k].st_name >= strs.sh_size)
                    continue;
                if (std::strstr(names + sym[k].st_name, "attn_emu_smem_guard_")) guards++;
                else objs.emplace_back((size_t)sym[k].st_value, (size_t)sym[k].st_size);
            }
        }
    }
    munmap(map, len);
    if (guards) E.tls_objects = std::move(objs);
}

/* During a launch, every byte of the TLS block that no object owns (the guards, alignment
 * gaps) is poisoned for AddressSanitizer; before and after, the whole block is addressable. */
static void guard_static_smem(bool on)
{
    if (!E.tls_objects_read) read_tls_objects();
    if (E.tls_objects.empty()) return;
    if (!on) {
        __asan_unpoison_memory_region(E.tls, E.tls_size);
        return;
    }
    __asan_poison_memory_region(E.tls, E.tls_size);
    for (const auto &o : E.tls_objects) __asan_unpoison_memory_region(E.tls + o.first, o.second);
}
#else
static void guard_static_smem(bool) {}
#endif

void set_max_dynamic_smem(const void *func, int bytes)
{
    std::lock_guard<std::mutex> lock(E.mu);
    E.max_dyn_smem[func] = bytes;
}

/* ---- launch ----------------------------------------------------------------------------- */

/* Fill shared memory with the schedule's poison: 0xFF bytes (NaN as float, bf16 or half; -1
 * as any int), 0x7F bytes (3.4e38 as float and bf16, a large positive int: a value that can
 * pass for data where NaN is dropped by fmaxf or -1 means "masked"), or random bytes. */
static void poison(unsigned char *p, size_t n, uint64_t block_seed)
{
    if (!n) return;
    if (E.mode == ATTN_EMU_COPY_AT_ISSUE) {
        std::memset(p, 0x7f, n);
    } else if (E.mode == ATTN_EMU_COPY_RANDOM) {
        /* random words drawn once per seed, XORed with one random word per block: as cheap as
         * a memset (the TLS block holds every kernel's static shared memory, ~200 KiB) */
        const size_t words = (n + 7) / 8;
        std::vector<uint64_t> &r = E.random_poison;
        const uint64_t rs = mix64(E.seed ^ 0x706f69736f6eull);
        if (r.size() < words || E.random_poison_seed != rs) {
            r.resize(std::max(words, r.size()));
            for (size_t i = 0; i < r.size(); i++) r[i] = mix64(rs + i);
            E.random_poison_seed = rs;
        }
        const uint64_t key = mix64(block_seed);
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            const uint64_t w = r[i / 8] ^ key;
            std::memcpy(p + i, &w, 8);
        }
        if (i < n) {
            const uint64_t w = r[i / 8] ^ key;
            std::memcpy(p + i, &w, n - i);
        }
    } else {
        std::memset(p, 0xff, n);
    }
}

static bool run_block(uint64_t block_seed)
{
    E.stats.blocks++;
    E.stats.threads += E.nthreads;
    if (E.tls_objects.empty()) poison(E.tls, E.tls_size, block_seed);
    for (const auto &o : E.tls_objects) /* the guards stay untouched */
        poison(E.tls + o.first, o.second, block_seed ^ mix64(o.first));
    poison(E.dyn, E.dyn_size, block_seed + 1);

    const unsigned n = E.nthreads, bx = E.desc->block.x, by = E.desc->block.y;
    for (unsigned i = 0; i < n; i++) {
        Thread *t = E.pool[i];
        t->tid = make_uint3(i % bx, (i / bx) % by, i / (bx * by));
        t->index = i;
        t->warp = i / 32;
        t->lane = i % 32;
        t->state = ST_READY;
        t->cp.clear();
        t->cp_groups.clear();
        t->cp_pending = 0;
#ifdef ATTN_EMU_ASAN
        /* frames left by the previous run (never returned from) are still poisoned */
        if (t->low_sp) {
            const uintptr_t hi = reinterpret_cast<uintptr_t>(t->stack_lo) + t->stack_size;
            const uintptr_t lo = std::max(reinterpret_cast<uintptr_t>(t->stack_lo),
                                          t->low_sp > 4096 ? t->low_sp - 4096 : 0);
            __asan_unpoison_memory_region(reinterpret_cast<void *>(lo), hi - lo);
            t->low_sp = 0;
        }
        t->fake_stack = nullptr;
#endif
        ctx_make(t->ctx, t->stack_lo, t->stack_size, &fiber_entry, t);
    }
    for (unsigned w = 0; w < (n + 31) / 32; w++) {
        const unsigned lanes = std::min(32u, n - 32 * w);
        E.warps[w].exists = E.warps[w].live = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1;
        E.warps[w].nops = 0;
    }
    for (GroupOp &g : E.groups) g.arrived = 0;
    wgmma_block_start(n);
    E.bar = Barrier{};
    E.live = (int)n;
    E.failed = false;
    E.rng = block_seed;
    assign_ranks();
    std::memset(E.ready, 0, sizeof E.ready);
    std::memset(E.yielded, 0, sizeof E.yielded);
    E.idle_yields = 0;
    tma_block_start();
    for (unsigned i = 0; i < n; i++) make_ready(E.pool[i]);

    Thread *first = pop_best();
    first->state = ST_RUNNING;
    cur = first;
#ifdef ATTN_EMU_ASAN
    E.entering_from_main = true;
    jump(E.main_ctx, first->ctx, first->stack_lo, first->stack_size, &E.main_fake);
#else
    jump(E.main_ctx, first->ctx, nullptr, 0, nullptr);
#endif
    cur = nullptr;
    return !E.failed;
}

cudaError_t launch_desc(const LaunchDesc &d)
{
    std::lock_guard<std::mutex> lock(E.mu);
    E.stats.launches++;
    const uint64_t launch_no = E.launch_no++;

    const uint64_t nthreads = (uint64_t)d.block.x * d.block.y * d.block.z;
    if (!d.block.x || !d.block.y || !d.block.z || d.block.x > 1024 || d.block.y > 1024 ||
        d.block.z > 64 || nthreads > MAX_THREADS)
        return config_error(cudaErrorInvalidConfiguration,
                            "%s: block (%u,%u,%u) is not a valid block shape (at most 1024 "
                            "threads, x, y <= 1024, z <= 64)",
                            d.name, d.block.x, d.block.y, d.block.z);
    if (!d.grid.x || !d.grid.y || !d.grid.z || d.grid.x > (unsigned)INT_MAX ||
        d.grid.y > 65535 || d.grid.z > 65535)
        return config_error(cudaErrorInvalidConfiguration,
                            "%s: grid (%u,%u,%u) is not a valid grid (x < 2^31, y, z <= 65535, "
                            "none 0)",
                            d.name, d.grid.x, d.grid.y, d.grid.z);
    size_t smem_limit = STATIC_SMEM_DEFAULT;
    const auto attr = E.max_dyn_smem.find(d.kernel);
    if (attr != E.max_dyn_smem.end()) smem_limit = std::max(smem_limit, (size_t)attr->second);
    if (d.smem > smem_limit)
        return config_error(cudaErrorInvalidValue,
                            "%s: %zu bytes of dynamic shared memory exceed the kernel's limit of "
                            "%zu (more than 48 KiB needs cudaFuncSetAttribute("
                            "cudaFuncAttributeMaxDynamicSharedMemorySize))",
                            d.name, d.smem, smem_limit);

    while (E.pool.size() < nthreads) {
        Thread *t = new_thread();
        if (!t)
            return config_error(cudaErrorMemoryAllocation, "%s: cannot map %llu thread stacks",
                                d.name, (unsigned long long)nthreads);
        E.pool.push_back(t);
    }
    void *dyn = nullptr;
    if (posix_memalign(&dyn, 128, d.smem) != 0)
        return config_error(cudaErrorMemoryAllocation, "%s: cannot allocate %zu bytes of dynamic "
                            "shared memory", d.name, d.smem);
    if (!locate_static_smem()) {
        std::free(dyn);
        return config_error(cudaErrorNotSupported, "%s: cannot locate this thread's TLS block, "
                            "which holds static shared memory", d.name);
    }
    E.dyn = static_cast<unsigned char *>(dyn);
    E.dyn_size = d.smem;
    E.tls_saved.assign(E.tls, E.tls + E.tls_size);
    guard_static_smem(true);

    E.desc = &d;
    E.nthreads = (unsigned)nthreads;
    E.nwords = (E.nthreads + 63) / 64;
    grid_dim = d.grid;
    block_dim = d.block;
    const uint64_t launch_seed = mix64(E.seed ^ mix64(launch_no));
    bool ok = true;
    uint64_t linear = 0;
    for (unsigned z = 0; ok && z < d.grid.z; z++)
        for (unsigned y = 0; ok && y < d.grid.y; y++)
            for (unsigned x = 0; ok && x < d.grid.x; x++, linear++) {
                block_idx = make_uint3(x, y, z);
                ok = run_block(mix64(launch_seed + linear));
            }

    guard_static_smem(false);
    if (E.tls_size) std::memcpy(E.tls, E.tls_saved.data(), E.tls_size);
    std::free(E.dyn);
    E.dyn = nullptr;
    E.dyn_size = 0;
    E.desc = nullptr;
    if (!ok) {
        set_error(cudaErrorLaunchFailure, E.err);
        set_last_cuda_error(cudaErrorLaunchFailure);
        return cudaErrorLaunchFailure;
    }
    return cudaSuccess;
}

/* The message cudaGetErrorString shows for a code: the standard text, and the emulator's
 * explanation when the code comes from the most recent failure. */
const char *error_string_with_detail(int code, const char *standard)
{
    std::lock_guard<std::mutex> lock(E.mu);
    if (!E.has_error || E.last_code != code) return standard;
    if (E.code_message.empty()) E.code_message = std::string(standard) + " (emulator: " +
                                                 E.last_error + ")";
    return E.code_message.c_str();
}

/* ---- misaligned accesses ------------------------------------------------------------------- */

/* The emulated kernels are compiled with -fsanitize=alignment (bench/emu/meson.build) and no
 * sanitizer runtime: a typed access whose address is not a multiple of its type's alignment
 * (16 bytes for float4/uint4, 8 for float2/uint2, as the CUDA headers align them for the host
 * compiler too; the GPU faults on such an access) calls these handlers, which fail the launch.
 * The layout of the data is the sanitizer ABI's (GCC and Clang alike). */
namespace {
struct UbsanLocation {
    const char *file;
    uint32_t line, column;
};
struct UbsanType {
    uint16_t kind, info;
    char name[1];
};
struct UbsanTypeMismatch {
    UbsanLocation loc;
    const UbsanType *type;
    unsigned char log_alignment;
    unsigned char check_kind;
};
} // namespace

[[noreturn]] static void misaligned(const UbsanTypeMismatch *d, uintptr_t p)
{
    static const char *const kinds[] = {"load of", "store to", "reference binding to",
                                        "member access within", "member call on",
                                        "constructor call on", "downcast of", "downcast of",
                                        "upcast of", "cast to virtual base of"};
    const char *kind = d->check_kind < sizeof kinds / sizeof *kinds ? kinds[d->check_kind]
                                                                    : "access to";
    const unsigned long align = 1ul << d->log_alignment;
    const char *where = !p ? "null pointer"
                        : in_shared(reinterpret_cast<const void *>(p), 1) ? "shared memory"
                                                                            : "global memory";
    if (!cur || !E.desc) { /* host code of a kernel file */
        std::fprintf(stderr, "attn_emu: %s:%u: %s %s %s at %p (type alignment %lu)\n",
                     short_path(d->loc.file), d->loc.line, kind, d->type->name, where,
                     reinterpret_cast<void *>(p), align);
        std::abort();
    }
    fail("misaligned %s %s at %p in %s (%s:%u): its type needs %lu-byte alignment", kind,
         d->type->name, reinterpret_cast<void *>(p), where, short_path(d->loc.file), d->loc.line,
         align);
}

} // namespace attn_emu

extern "C" __attribute__((visibility("hidden"))) void
__ubsan_handle_type_mismatch_v1(attn_emu::UbsanTypeMismatch *d, uintptr_t p)
{
    attn_emu::misaligned(d, p);
}

extern "C" __attribute__((visibility("hidden"))) void
__ubsan_handle_type_mismatch_v1_abort(attn_emu::UbsanTypeMismatch *d, uintptr_t p)
{
    attn_emu::misaligned(d, p);
}

/* ---- C API -------------------------------------------------------------------------------- */

using namespace attn_emu;

#define ATTN_EMU_API extern "C" __attribute__((visibility("default")))

ATTN_EMU_API void attn_emu_set_schedule(int mode, uint64_t seed)
{
    std::lock_guard<std::mutex> lock(E.mu);
    E.mode = mode > 0 && mode < ATTN_EMU_NSCHEDULES ? mode : ATTN_EMU_IN_ORDER;
    E.order = E.mode == ATTN_EMU_COPY_AT_ISSUE || E.mode == ATTN_EMU_GPU_MATH ? ATTN_EMU_IN_ORDER
              : E.mode == ATTN_EMU_COPY_RANDOM                               ? ATTN_EMU_SHUFFLED
                                                                             : E.mode;
    fastmath::gpu_math = E.mode == ATTN_EMU_GPU_MATH;
    E.landing = E.mode == ATTN_EMU_COPY_AT_ISSUE  ? LAND_AT_ISSUE
                : E.mode == ATTN_EMU_COPY_RANDOM ? LAND_RANDOM
                                                 : LAND_AT_WAIT;
    E.seed = seed;
    E.launch_no = 0;
    E.has_error = false;
    E.last_error.clear();
}

ATTN_EMU_API const char *attn_emu_schedule_name(int mode)
{
    static const char *const names[ATTN_EMU_NSCHEDULES] = ATTN_EMU_SCHEDULE_NAMES;
    return mode >= 0 && mode < ATTN_EMU_NSCHEDULES ? names[mode] : nullptr;
}

ATTN_EMU_API const char *attn_emu_last_error(void)
{
    std::lock_guard<std::mutex> lock(E.mu);
    return E.has_error ? E.last_error.c_str() : nullptr;
}

ATTN_EMU_API void attn_emu_clear_error(void)
{
    std::lock_guard<std::mutex> lock(E.mu);
    E.has_error = false;
    E.last_error.clear();
}

ATTN_EMU_API void attn_emu_get_stats(attn_emu_stats_t *out)
{
    std::lock_guard<std::mutex> lock(E.mu);
    *out = E.stats;
}
