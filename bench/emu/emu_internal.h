/* The emulator runtime's internal structures, shared by its .cpp files (never by kernels). */
#ifndef ATTN_EMU_INTERNAL_H
#define ATTN_EMU_INTERNAL_H

#include "emu.h"

#include <string>
#include <vector>

#if defined(__x86_64__) && !defined(ATTN_EMU_UCONTEXT)
#define ATTN_EMU_FAST_SWITCH 1
#else
#include <ucontext.h>
#endif

#if defined(__SANITIZE_ADDRESS__)
#define ATTN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTN_EMU_ASAN 1
#endif
#endif

namespace attn_emu {

/* A saved execution context: the stack pointer of a suspended fiber (its callee-saved registers
 * are on its stack), or a ucontext where there is no hand-written switch. */
struct Context {
#ifdef ATTN_EMU_FAST_SWITCH
    void *sp = nullptr;
#else
    ucontext_t uc;
#endif
};

/* ST_PARKED: suspended by park() until wake() (mbarrier waits, emu_tma.cpp). */
enum State : uint8_t { ST_READY, ST_RUNNING, ST_BARRIER, ST_WARP_OP, ST_EXITED, ST_PARKED };

/* One cp.async copy, performed (landed) when the schedule says: at issue, at a random later
 * synchronisation point of its thread, or at the latest when a cp.async.wait_group covers its
 * group. */
struct CpCopy {
    unsigned char *dst;
    const unsigned char *src;
    int cp_size, src_size;
    bool landed;
};

/* When the copies of the current schedule land (emu_api.h). */
enum CopyLanding { LAND_AT_WAIT, LAND_AT_ISSUE, LAND_RANDOM };
CopyLanding copy_landing();
/* Perform a copy (reading its source now) unless it has landed; whether it landed now. */
bool land(CpCopy &c);

struct Thread : ThreadHead {
    Context ctx;
    char *stack_lo = nullptr; /* usable stack [stack_lo, stack_lo + stack_size) */
    size_t stack_size = 0;
    State state = ST_EXITED;
    /* where it waits, for deadlock reports */
    const char *wait_name = nullptr, *wait_file = nullptr;
    int wait_line = 0;
    /* issued, not yet performed cp.async copies; cp_groups[i] = end of committed group i */
    std::vector<CpCopy> cp;
    std::vector<size_t> cp_groups;
    size_t cp_pending = 0; /* copies in cp not landed yet */
#ifdef ATTN_EMU_ASAN
    void *fake_stack = nullptr;
    uintptr_t low_sp = 0; /* lowest stack pointer seen, for unpoisoning before reuse */
#endif
};

inline Thread *self() { return static_cast<Thread *>(cur); }

/* A lane set as text, "0-7,16,18-31", in a trivially destructible value: messages are built in
 * frames that fail() leaves without unwinding. */
struct LaneText {
    char s[112];
    const char *c_str() const { return s; }
};
LaneText lanes_str(uint32_t mask);
/* Record a failure of a runtime call outside kernels for attn_emu_last_error(); `code` is the
 * cudaError_t, or CUBLAS_KEY + the cublasStatus_t. */
constexpr int CUBLAS_KEY = 1 << 20;
void record_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `standard` (the usual text for code), followed by the emulator's explanation when the most
 * recent failure returned this code. */
const char *error_string_with_detail(int code, const char *standard);
/* The opt-in limit of dynamic shared memory of kernel func (cudaFuncSetAttribute). */
void set_max_dynamic_smem(const void *func, int bytes);
/* The error cudaGetLastError / cudaPeekAtLastError report next (emu_cuda.cpp). */
void set_last_cuda_error(cudaError_t e);

/* A warpgroup collective (wgmma.*.sync.aligned): the `count` threads first .. first+count-1 of
 * the block must all arrive, from one call site; the last to arrive calls info.perform, which
 * reads every thread's operands through arg[thread - first], and releases them. A thread of the
 * group that has exited, or exits while others wait, fails the launch; one that waits elsewhere
 * shows in the deadlock report. */
constexpr unsigned GROUP_MAX = 128;
struct GroupOp;
struct GroupOpInfo {
    const char *name;
    void (*perform)(GroupOp &op);
};
struct GroupOp {
    const GroupOpInfo *info;
    unsigned first, count, arrived;
    const char *file;
    int line;
    void *arg[GROUP_MAX];
};
void group_op(const GroupOpInfo &info, unsigned first, unsigned count, void *arg, const char *file,
              int line);
/* Threads as ranges, "0-95,100", in a trivially destructible value (see LaneText). */
struct ThreadsText {
    char s[160];
    const char *c_str() const { return s; }
};
ThreadsText threads_str(const unsigned *idx, size_t n);

/* The block's shared memory: the dynamic buffer and this module's TLS block (static). */
struct SharedRegions {
    unsigned char *dyn;
    size_t dyn_size;
    unsigned char *tls;
    size_t tls_size;
};
SharedRegions shared_regions();

/* emu_wgmma.cpp: forget the previous block's wgmma state (called at every block start). */
void wgmma_block_start(unsigned nthreads);
/* A copy (`op` at file:line) about to write [dst, dst + n) of shared memory: fails when a wgmma
 * in flight in the block (issued, no wgmma_wait_group covering it yet) reads any of it. */
void wgmma_check_overwrite(const void *dst, size_t n, const char *op, const char *file, int line);
/* ---- between the runtime and emu_tma.cpp (mbarriers, bulk tensor copies) ---- */
/* Suspend the running thread, reported as waiting at `name` (file:line), until wake(t). */
void park(const char *name, const char *file, int line);
void wake(Thread *t);
uint64_t barriers_completed(); /* block barriers completed so far (grows across blocks) */
uint64_t schedule_random();    /* the schedule's seeded random stream */
void poison_now(unsigned char *p, size_t n); /* the schedule's poison bytes */
/* Defined by emu_tma.cpp, called by the runtime: reset at each block start; when no thread is
 * ready, land every bulk copy in flight (the GPU would) and say whether a thread was woken;
 * under LAND_RANDOM at each synchronisation point of t, land some of the copies t issued;
 * what the mbarrier waiters wait for, for a deadlock report. */
void tma_block_start();
bool tma_idle();
void tma_land_some(Thread *t);
std::string tma_deadlock_detail();

} // namespace attn_emu

#endif
