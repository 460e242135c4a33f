/* Tests of the emulator itself (bench/emu): small CUDA kernels, compiled as host C++ like the
 * real ones, whose results are checked against CUDA's documented semantics, and kernels with
 * bugs the emulator must report. Built as attn_emu_test (meson test emu-unit); never by nvcc.
 * Each test runs under every schedule unless it is about one. */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <mma.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "emu_api.h"
#include "emu_check.h"
#include "fastmath.cuh"
#include "launch.cuh"
#include "mma.cuh"
#include "tma.cuh"

using namespace nvcuda;

/* What a 32-bit word of never-written shared memory holds under the current schedule; false
 * for the schedule that poisons with random bytes. */
static bool poison_word(uint32_t *w)
{
    if (g_sched == ATTN_EMU_COPY_RANDOM) return false;
    *w = g_sched == ATTN_EMU_COPY_AT_ISSUE ? 0x7f7f7f7fu : 0xffffffffu;
    return true;
}

/* ---- indices ------------------------------------------------------------------------------ */

__global__ void index_kernel(unsigned *out)
{
    const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
    const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const unsigned n = blockDim.x * blockDim.y * blockDim.z;
    out[block * n + t] = block * 100000 + t;
}

static void test_indices()
{
    const dim3 grid(3, 2, 2), block(5, 4, 3);
    std::vector<unsigned> out(12 * 60, 0);
    CHECK(LAUNCH(index_kernel, grid, block, 0, out.data()) == cudaSuccess, "%s", last_error());
    for (unsigned b = 0; b < 12; b++)
        for (unsigned t = 0; t < 60; t++)
            CHECK(out[b * 60 + t] == b * 100000 + t, "block %u thread %u", b, t);
}

/* ---- shuffles ------------------------------------------------------------------------------- */

__global__ void shfl_kernel(int *out, int width)
{
    const int lane = threadIdx.x & 31, v = 1000 + (int)threadIdx.x;
    int *o = out + threadIdx.x * 8;
    o[0] = __shfl_sync(0xffffffffu, v, 3, width);
    o[1] = __shfl_sync(0xffffffffu, v, 37, width); /* src taken modulo width */
    o[2] = __shfl_up_sync(0xffffffffu, v, 3, width);
    o[3] = __shfl_down_sync(0xffffffffu, v, 3, width);
    o[4] = __shfl_xor_sync(0xffffffffu, v, 5, width);
    o[5] = __shfl_xor_sync(0xffffffffu, v, 16, width);
    const double dv = 0.5 + lane;
    o[6] = (int)(2 * __shfl_down_sync(0xffffffffu, dv, 1, width));
    o[7] = __shfl_sync(0xffffffffu, lane, lane ^ 1, width);
}

/* CUDA Programming Guide, warp shuffle functions: segments of width lanes; up/down keep the own
 * value past the segment's edge; xor may read earlier segments, not later ones. */
static void test_shuffles()
{
    for (int width : {32, 16, 8, 4, 1}) {
        std::vector<int> out(64 * 8);
        CHECK(LAUNCH(shfl_kernel, 1, 64, 0, out.data(), width) == cudaSuccess, "%s", last_error());
        for (int t = 0; t < 64; t++) {
            const int lane = t & 31, base = t - lane, seg = lane / width * width;
            const int *o = &out[t * 8];
            auto val = [&](int l) { return 1000 + base + l; };
            CHECK(o[0] == val(seg + 3 % width), "w%d t%d idx %d", width, t, o[0]);
            CHECK(o[1] == val(seg + 37 % width), "w%d t%d idx37 %d", width, t, o[1]);
            CHECK(o[2] == (lane - seg >= 3 ? val(lane - 3) : val(lane)), "w%d t%d up %d", width, t,
                  o[2]);
            CHECK(o[3] == (lane - seg + 3 < width ? val(lane + 3) : val(lane)), "w%d t%d down %d",
                  width, t, o[3]);
            const int x5 = lane ^ 5, x16 = lane ^ 16;
            CHECK(o[4] == (x5 < seg + width ? val(x5) : val(lane)), "w%d t%d xor5 %d", width, t,
                  o[4]);
            CHECK(o[5] == (x16 < seg + width ? val(x16) : val(lane)), "w%d t%d xor16 %d", width,
                  t, o[5]);
            const int dl = lane - seg + 1 < width ? lane + 1 : lane;
            CHECK(o[6] == 2 * dl + 1, "w%d t%d double %d", width, t, o[6]);
            const int s7 = seg + ((lane ^ 1) % width);
            CHECK(o[7] == s7, "w%d t%d lane^1 %d", width, t, o[7]);
        }
    }
}

/* ---- votes, reductions, disjoint masks ----------------------------------------------------- */

__global__ void vote_kernel(unsigned *out)
{
    const unsigned lane = threadIdx.x;
    unsigned *o = out + lane * 8;
    o[7] = __activemask(); /* before any lane can have exited */
    o[0] = __ballot_sync(0xffffffffu, lane % 3 == 0);
    o[1] = __all_sync(0xffffffffu, lane < 32);
    o[2] = __any_sync(0xffffffffu, lane == 17);
    o[3] = __reduce_add_sync(0xffffffffu, lane);
    o[4] = __reduce_max_sync(0xffffffffu, lane * 7 % 32);
    o[5] = __match_any_sync(0xffffffffu, lane / 8);
    /* two halves of the warp in different collectives at once, each with its own mask */
    if (lane < 16) o[6] = __ballot_sync(0x0000ffffu, lane & 1);
    else o[6] = __reduce_add_sync(0xffff0000u, 1u);
}

static void test_votes()
{
    std::vector<unsigned> out(32 * 8);
    CHECK(LAUNCH(vote_kernel, 1, 32, 0, out.data()) == cudaSuccess, "%s", last_error());
    unsigned ballot = 0;
    for (int l = 0; l < 32; l += 3) ballot |= 1u << l;
    for (unsigned l = 0; l < 32; l++) {
        const unsigned *o = &out[l * 8];
        CHECK(o[0] == ballot, "lane %u ballot %08x", l, o[0]);
        CHECK(o[1] == 1 && o[2] == 1, "lane %u all %u any %u", l, o[1], o[2]);
        CHECK(o[3] == 496, "lane %u sum %u", l, o[3]);
        CHECK(o[4] == 31, "lane %u max %u", l, o[4]);
        CHECK(o[5] == 0xffu << (l / 8 * 8), "lane %u match %08x", l, o[5]);
        CHECK(o[6] == (l < 16 ? 0xaaaau : 16u), "lane %u halves %08x", l, o[6]);
        CHECK(o[7] == 0xffffffffu, "lane %u activemask %08x", l, o[7]);
    }
}

/* ---- block barriers --------------------------------------------------------------------- */

__global__ void barrier_kernel(int *out)
{
    __shared__ int s[128];
    const int t = threadIdx.x;
    s[t] = t;
    __syncthreads();
    out[t] = s[(t + 1) % 128]; /* written by another warp before the barrier */
    out[128 + t] = __syncthreads_count(t % 4 == 0);
    out[256 + t] = __syncthreads_and(t < 128);
    out[384 + t] = __syncthreads_or(t == 77);
}

/* The same without the barrier: the result depends on the schedule. */
__global__ void race_kernel(int *out)
{
    __shared__ int s[128];
    const int t = threadIdx.x;
    s[t] = t;
    __syncwarp();
    out[t] = s[(t + 32) % 128];
}

/* Half the block exits; the other half still synchronises (exited threads do not count). */
__global__ void exit_kernel(int *out)
{
    __shared__ int s[64];
    const int t = threadIdx.x;
    if (t >= 64) return;
    s[t] = 2 * t;
    __syncthreads();
    out[t] = s[63 - t];
}

static void test_barriers()
{
    std::vector<int> out(512);
    CHECK(LAUNCH(barrier_kernel, 2, 128, 0, out.data()) == cudaSuccess, "%s", last_error());
    for (int t = 0; t < 128; t++) {
        CHECK(out[t] == (t + 1) % 128, "t %d got %d", t, out[t]);
        CHECK(out[128 + t] == 32 && out[256 + t] == 1 && out[384 + t] == 1,
              "t %d count %d and %d or %d", t, out[128 + t], out[256 + t], out[384 + t]);
    }
    std::vector<int> ex(64, -1);
    CHECK(LAUNCH(exit_kernel, 1, 128, 0, ex.data()) == cudaSuccess, "%s", last_error());
    for (int t = 0; t < 64; t++) CHECK(ex[t] == 2 * (63 - t), "t %d got %d", t, ex[t]);
}

/* Outside the per-schedule loop: the schedules must disagree on a race. */
static void test_race_differs()
{
    std::vector<int> r[ATTN_EMU_NSCHEDULES];
    for (int k = 0; k < ATTN_EMU_NSCHEDULES; k++) {
        attn_emu_set_schedule(k, 7);
        r[k].assign(128, 0);
        CHECK(LAUNCH(race_kernel, 1, 128, 0, r[k].data()) == cudaSuccess, "%s", last_error());
    }
    CHECK(r[0] != r[1] && r[0] != r[2], "a missing __syncthreads went unnoticed");
    /* in order: warp w reads warp w+1's values before that warp ran, i.e. poison (-1) */
    CHECK(r[0][0] == -1 && r[0][96] == 0, "in-order %d %d", r[0][0], r[0][96]);
    CHECK(r[1][96] == -1 && r[1][0] == 32, "reversed %d %d", r[1][96], r[1][0]);
}

/* Threads 32-63 read shared memory nobody wrote; fmaxf drops the 0xFF poison (NaN) as if it
 * were a real value, so only a poison that differs between schedules shows the bug. */
__global__ void uninit_smem_kernel(float *out)
{
    __shared__ float s[64];
    if (threadIdx.x < 32) s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = fmaxf(s[threadIdx.x], 0.0f);
}

static void test_uninit_differs()
{
    std::vector<float> r[ATTN_EMU_NSCHEDULES];
    for (int k = 0; k < ATTN_EMU_NSCHEDULES; k++) {
        attn_emu_set_schedule(k, 7);
        r[k].assign(64, -1.0f);
        CHECK(LAUNCH(uninit_smem_kernel, 1, 64, 0, r[k].data()) == cudaSuccess, "%s",
              last_error());
    }
    /* under 0xFF poison alone the result looks plausible (0), the same in every order */
    CHECK(r[0] == r[1] && r[0] == r[2] && r[0][40] == 0.0f, "0xFF poison: %g", r[0][40]);
    CHECK(r[0] != r[ATTN_EMU_COPY_AT_ISSUE] && r[0] != r[ATTN_EMU_COPY_RANDOM] &&
              r[ATTN_EMU_COPY_AT_ISSUE] != r[ATTN_EMU_COPY_RANDOM],
          "a read of unwritten shared memory went unnoticed");
}

/* ---- shared memory -------------------------------------------------------------------------- */

static thread_local int g_host_tls = 42; /* a host thread_local of a kernel file */

/* __shared__ in inline and template helpers (vague linkage) is poisoned like any other. */
__device__ __forceinline__ int *helper_smem()
{
    __shared__ int h[64];
    return h;
}

template <int N> __device__ __forceinline__ int *template_smem()
{
    __shared__ int h[N];
    return h;
}

__global__ void poison_kernel(unsigned *out, int smem_bytes)
{
    __shared__ float s[64];
    ATTN_DYNAMIC_SMEM(dyn);
    const int t = threadIdx.x;
    unsigned u, d = 0;
    std::memcpy(&u, &s[t], 4); /* never written in this block: poison, whatever the last wrote */
    if (t < smem_bytes) d = dyn[t];
    out[blockIdx.x * 256 + t] = u;
    out[blockIdx.x * 256 + 64 + t] = d;
    out[blockIdx.x * 256 + 128 + t] = (unsigned)helper_smem()[t];
    out[blockIdx.x * 256 + 192 + t] = (unsigned)template_smem<64>()[t];
    s[t] = 1.0f;
    if (t < smem_bytes) dyn[t] = 0;
    helper_smem()[t] = 0;
    template_smem<64>()[t] = 0;
}

__global__ void big_smem_kernel(int *out)
{
    ATTN_DYNAMIC_SMEM(dyn);
    dyn[threadIdx.x * 1000] = 1;
    out[threadIdx.x] = dyn[threadIdx.x * 1000];
}

static void test_shared_memory()
{
    std::vector<unsigned> out(3 * 256, 0);
    g_host_tls = 42;
    CHECK(LAUNCH(poison_kernel, 3, 64, 40, out.data(), 40) == cudaSuccess, "%s", last_error());
    uint32_t p;
    if (poison_word(&p)) {
        for (int b = 0; b < 3; b++)
            for (int t = 0; t < 64; t++) {
                const unsigned *o = &out[b * 256];
                CHECK(o[t] == p, "block %d static %d: %08x", b, t, o[t]);
                if (t < 40) CHECK(o[64 + t] == (p & 0xffu), "block %d dynamic %d", b, t);
                CHECK(o[128 + t] == p && o[192 + t] == p, "block %d helpers %d: %08x %08x", b, t,
                      o[128 + t], o[192 + t]);
            }
        if (p == 0xffffffffu) CHECK(std::isnan(*(volatile float *)&out[0]), "0xff bytes are NaN");
    } else { /* random bytes: drawn anew for every block */
        CHECK(std::memcmp(&out[0], &out[256], 64 * 4) && std::memcmp(&out[256], &out[512], 64 * 4),
              "random poison repeats between blocks");
    }
    CHECK(g_host_tls == 42, "a host thread_local was clobbered: %d", g_host_tls);

    /* more than 48 KiB of dynamic shared memory needs the opt-in */
    std::vector<int> o(64);
    const size_t big = 64 * 1000;
    CHECK(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, 0) ==
              cudaSuccess, "reset the opt-in");
    CHECK(LAUNCH(big_smem_kernel, 1, 64, big, o.data()) == cudaErrorInvalidValue, "no opt-in");
    CHECK(error_has("cudaFuncAttributeMaxDynamicSharedMemorySize"), "%s", last_error());
    CHECK(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               (int)big) == cudaSuccess, "opt-in");
    CHECK(LAUNCH(big_smem_kernel, 1, 64, big, o.data()) == cudaSuccess, "%s", last_error());
    CHECK(o[63] == 1, "big smem");
    CHECK(cudaFuncSetAttribute(big_smem_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               300 * 1024) == cudaErrorInvalidValue, "beyond the device limit");
}

/* Reads `past` elements on from its own of a static (or dynamic: `bytes` of it) shared array. */
__global__ void smem_past_end_kernel(float *out, int past)
{
    __shared__ float s[64];
    s[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = s[threadIdx.x + past];
}

__global__ void dyn_smem_past_end_kernel(float *out, int past, int bytes)
{
    ATTN_DYNAMIC_SMEM(dyn);
    if ((int)threadIdx.x < bytes) dyn[threadIdx.x] = 1;
    __syncthreads();
    out[threadIdx.x] = dyn[threadIdx.x + past];
}

#ifdef ATTN_EMU_SMEM_GUARDS
/* AddressSanitizer ends the process at its first report: run `fn` in a child, and say whether
 * it reported `what` (the child's stderr, shown with ATTN_EMU_TEST_VERBOSE). */
static bool asan_reports(void (*fn)(), const char *what)
{
    int fd[2];
    if (pipe(fd) != 0) return false;
    std::fflush(nullptr);
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        fn();
        _exit(0);
    }
    close(fd[1]);
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) text.append(buf, (size_t)n);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (std::getenv("ATTN_EMU_TEST_VERBOSE")) std::printf("child's stderr:\n%s\n", text.c_str());
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
           text.find("AddressSanitizer") != std::string::npos &&
           text.find(what) != std::string::npos;
}
#endif

/* Under AddressSanitizer, a read one past the end of a static shared array (the guard after it)
 * and of dynamic shared memory (the heap buffer of exactly the launch's bytes) are reported;
 * reads within them are not. */
static void test_shared_bounds()
{
#ifdef ATTN_EMU_SMEM_GUARDS
    std::vector<float> out(64);
    CHECK(LAUNCH(smem_past_end_kernel, 1, 64, 0, out.data(), 0) == cudaSuccess, "%s", last_error());
    CHECK(LAUNCH(dyn_smem_past_end_kernel, 1, 64, 64, out.data(), 0, 64) == cudaSuccess, "%s",
          last_error());
    CHECK(asan_reports(
              [] {
                  float o[64];
                  LAUNCH(smem_past_end_kernel, 1, 64, 0, o, 1);
              },
              "use-after-poison"),
          "a static shared array read one past its end is not reported");
    CHECK(asan_reports(
              [] {
                  float o[64];
                  LAUNCH(dyn_smem_past_end_kernel, 1, 64, 64, o, 1, 64);
              },
              "heap-buffer-overflow"),
          "dynamic shared memory read one past its end is not reported");
#else
    std::printf("shared-memory bounds: not checked (needs the AddressSanitizer build)\n");
#endif
}

__global__ void atomic_kernel(int *out)
{
    __shared__ int count;
    if (threadIdx.x == 0) count = 0;
    __syncthreads();
    atomicAdd(&count, 1);
    atomicMax(out + 1, (int)threadIdx.x);
    __syncthreads();
    if (threadIdx.x == 0) out[0] = count;
}

__global__ void spin_kernel(int *out)
{
    __shared__ volatile int flag;
    if (threadIdx.x == 0) flag = 0;
    __syncthreads();
    if (threadIdx.x == 5) flag = 1;
    while (!flag) __nanosleep(100); /* every thread waits for thread 5 */
    out[threadIdx.x] = 1;
}

static void test_atomics_and_spin()
{
    int a[2] = {0, -1};
    CHECK(LAUNCH(atomic_kernel, 1, 256, 0, a) == cudaSuccess, "%s", last_error());
    CHECK(a[0] == 256 && a[1] == 255, "count %d max %d", a[0], a[1]);
    std::vector<int> o(64, 0);
    CHECK(LAUNCH(spin_kernel, 1, 64, 0, o.data()) == cudaSuccess, "%s", last_error());
    CHECK(o[0] == 1 && o[63] == 1, "spin");
}

/* ---- bugs the emulator reports ----------------------------------------------------------- */

__global__ void divergent_barrier_kernel(int *out)
{
    if (threadIdx.x < 64) {
        __syncthreads();
        out[0] = 1;
    } else {
        __syncthreads();
        out[1] = 1;
    }
}

__global__ void deadlock_kernel(int *out)
{
    /* lanes 0-15 wait for the whole warp at __syncwarp, 16-31 for the block at __syncthreads */
    if ((threadIdx.x & 31) < 16) __syncwarp();
    else __syncthreads();
    out[threadIdx.x] = 1;
}

__global__ void warp_divergence_kernel(int *out)
{
    const int lane = threadIdx.x;
    if (lane < 16) out[lane] = __shfl_xor_sync(0xffffffffu, lane, 1);
    else out[lane] = (int)__ballot_sync(0xffffffffu, 1);
}

__global__ void exited_source_kernel(int *out)
{
    const int lane = threadIdx.x;
    if (lane >= 16) return;
    out[lane] = __shfl_sync(0xffffffffu, lane, lane + 16); /* lanes 16-31 have exited */
}

__global__ void partial_warp_mma_kernel(float *out)
{
    uint32_t a[4] = {0, 0, 0, 0};
    float d[4] = {0, 0, 0, 0};
    mma_m16n8k16_bf16(d, a, 0, 0);
    out[threadIdx.x] = d[0];
}

__global__ void global_ldmatrix_kernel(const uint16_t *g, uint32_t *out)
{
    uint32_t r[4];
    ldmatrix_x4(r, g + (threadIdx.x & 15) * 16); /* global, not shared memory */
    out[threadIdx.x] = r[0];
}

/* One mma at two call sites, lanes split between them: on the GPU, two instructions each
 * executed by half a warp (undefined); merged into one, they would compute as if convergent. */
__global__ void mma_two_sites_kernel(float *out)
{
    uint32_t a[4] = {0, 0, 0, 0};
    float d[4] = {0, 0, 0, 0};
    if (threadIdx.x < 16)
        mma_m16n8k16_bf16(d, a, 0, 0);
    else
        mma_m16n8k16_bf16(d, a, 0, 0);
    out[threadIdx.x] = d[0];
}

/* A float4 load 8 bytes past a 16-byte boundary, in global and in shared memory. */
__global__ void misaligned_global_kernel(const float *in, float *out)
{
    const float4 v = *reinterpret_cast<const float4 *>(in + 2 + 4 * threadIdx.x);
    out[threadIdx.x] = v.x;
}

__global__ void misaligned_shared_kernel(float *out)
{
    __shared__ __align__(16) float s[160];
    s[threadIdx.x] = 1.0f;
    __syncthreads();
    const float2 v = *reinterpret_cast<const float2 *>(&s[2 * threadIdx.x + 1]);
    out[threadIdx.x] = v.x;
}

__global__ void wmma_pointer_kernel(const __nv_bfloat16 *A)
{
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, A + (threadIdx.x & 1) * 256, 16); /* lane-dependent pointer */
}

__global__ void cp_async_global_kernel(uint4 *dst, const uint4 *src)
{
    cp_async_16(&dst[threadIdx.x], &src[threadIdx.x]); /* destination not in shared memory */
    cp_async_commit();
    cp_async_wait<0>();
}

/* __launch_bounds__ evaluated in the kernel's scope: here with its template argument. */
template <int WARPS> __global__ void __launch_bounds__(WARPS * 32) bounded_kernel(int *out)
{
    out[threadIdx.x] = 1;
}

__global__ void __launch_bounds__(128, 4) /* min blocks per SM: not the bound */
    bounded_3d_kernel(int *out)
{
    out[threadIdx.x] = 1;
}

static void test_reported_bugs()
{
    int out[128] = {0};
    CHECK(LAUNCH(divergent_barrier_kernel, 1, 128, 0, out) == cudaErrorLaunchFailure, "divergence");
    CHECK(error_has("barrier divergence"), "%s", last_error());

    CHECK(LAUNCH(deadlock_kernel, 2, 64, 0, out) == cudaErrorLaunchFailure, "deadlock");
    CHECK(error_has("deadlock") && error_has("__syncwarp") && error_has("__syncthreads"), "%s",
          last_error());
    /* the emulator recovers: the next launch runs normally */
    std::vector<unsigned> idx(60);
    CHECK(LAUNCH(index_kernel, 1, 60, 0, idx.data()) == cudaSuccess, "%s", last_error());
    CHECK(idx[59] == 59, "after a deadlock");

    CHECK(LAUNCH(warp_divergence_kernel, 1, 32, 0, out) == cudaErrorLaunchFailure, "warp div");
    CHECK(error_has("warp divergence"), "%s", last_error());

    CHECK(LAUNCH(exited_source_kernel, 1, 32, 0, out) == cudaErrorLaunchFailure, "exited lane");
    CHECK(error_has("has exited"), "%s", last_error());

    float f[48];
    CHECK(LAUNCH(partial_warp_mma_kernel, 1, 48, 0, f) == cudaErrorLaunchFailure, "partial warp");
    CHECK(error_has("warp of 16 threads"), "%s", last_error());

    std::vector<uint16_t> g(16 * 16);
    uint32_t r[32];
    CHECK(LAUNCH(global_ldmatrix_kernel, 1, 32, 0, g.data(), r) == cudaErrorLaunchFailure, "ldm");
    CHECK(error_has("not in shared memory"), "%s", last_error());

    alignas(32) static __nv_bfloat16 A[512];
    CHECK(LAUNCH(wmma_pointer_kernel, 1, 32, 0, A) == cudaErrorLaunchFailure, "wmma pointers");
    CHECK(error_has("every lane must pass the same pointer"), "%s", last_error());

    CHECK(LAUNCH(mma_two_sites_kernel, 1, 32, 0, f) == cudaErrorLaunchFailure, "two mma sites");
    CHECK(error_has("same call site") && error_has("emu_test.cu"), "%s", last_error());

#ifdef ATTN_EMU_ALIGNMENT_CHECKS
    alignas(16) static float fin[4 * 32 + 8];
    CHECK(LAUNCH(misaligned_global_kernel, 1, 32, 0, fin, f) == cudaErrorLaunchFailure,
          "misaligned float4");
    CHECK(error_has("misaligned") && error_has("float4") && error_has("global memory") &&
              error_has("16-byte alignment"),
          "%s", last_error());
    CHECK(LAUNCH(misaligned_shared_kernel, 1, 32, 0, f) == cudaErrorLaunchFailure,
          "misaligned float2");
    CHECK(error_has("float2") && error_has("shared memory") && error_has("8-byte alignment"),
          "%s", last_error());
#endif

    std::vector<uint4> d4(32), s4(32);
    CHECK(LAUNCH(cp_async_global_kernel, 1, 32, 0, d4.data(), s4.data()) == cudaErrorLaunchFailure,
          "cp.async to global");
    CHECK(error_has("destination") && error_has("not in shared memory"), "%s", last_error());

    /* more threads than __launch_bounds__ allows: refused, naming kernel and both numbers */
    CHECK(LAUNCH(bounded_kernel<2>, 1, 64, 0, out) == cudaSuccess, "%s", last_error());
    CHECK(LAUNCH(bounded_kernel<2>, 1, 96, 0, out) == cudaErrorLaunchFailure, "launch bounds");
    CHECK(error_has("bounded_kernel<2>") && error_has("96 threads per block") &&
              error_has("__launch_bounds__ of 64") && error_has("emu_test.cu"),
          "%s", last_error());
    CHECK(LAUNCH(bounded_3d_kernel, 1, dim3(16, 8, 1), 0, out) == cudaSuccess, "%s", last_error());
    CHECK(LAUNCH(bounded_3d_kernel, 1, dim3(4, 4, 9), 0, out) == cudaErrorLaunchFailure,
          "launch bounds, 3-d block");
    CHECK(error_has("144 threads per block") && error_has("__launch_bounds__ of 128"), "%s",
          last_error());

    CHECK(LAUNCH(index_kernel, 1, 2048, 0, idx.data()) == cudaErrorInvalidConfiguration, "block");
    CHECK(LAUNCH(index_kernel, dim3(1, 70000), 32, 0, idx.data()) == cudaErrorInvalidConfiguration,
          "grid");
    CHECK(std::strstr(cudaGetErrorString(cudaErrorInvalidConfiguration), "emulator"),
          "cudaGetErrorString explains the most recent failure");
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration && cudaGetLastError() == cudaSuccess,
          "cudaGetLastError reports a failed launch once");
}

/* ---- mma.sync / ldmatrix / cp.async: the PTX ISA's fragment layouts ------------------------ */

static uint16_t bf(float x) { return __bfloat16_as_ushort(__float2bfloat16_rn(x)); }

static uint16_t hf(float x) { return __half_as_ushort(__float2half_rn(x)); }

/* A (16x16) and B (16x8, B[k][n]) as bf16 bits (F16: binary16 bits); fragments built from the
 * ISA's tables (PTX, "Matrix Fragments for mma.m16n8k16 with floating point type"). */
template <bool F16>
__global__ void mma_kernel(const uint16_t *A, const uint16_t *B, float *D)
{
    const int lane = threadIdx.x, g = lane >> 2, t = lane & 3;
    auto pk = [](uint16_t lo, uint16_t hi) { return (uint32_t)lo | (uint32_t)hi << 16; };
    const uint32_t a[4] = {pk(A[g * 16 + 2 * t], A[g * 16 + 2 * t + 1]),
                           pk(A[(g + 8) * 16 + 2 * t], A[(g + 8) * 16 + 2 * t + 1]),
                           pk(A[g * 16 + 2 * t + 8], A[g * 16 + 2 * t + 9]),
                           pk(A[(g + 8) * 16 + 2 * t + 8], A[(g + 8) * 16 + 2 * t + 9])};
    const uint32_t b0 = pk(B[(2 * t) * 8 + g], B[(2 * t + 1) * 8 + g]);
    const uint32_t b1 = pk(B[(2 * t + 8) * 8 + g], B[(2 * t + 9) * 8 + g]);
    float d[4] = {1.0f, 2.0f, 3.0f, 4.0f}; /* C: one value per (row half, column parity) */
    if (F16)
        mma_m16n8k16_f16(d, a, b0, b1);
    else
        mma_m16n8k16_bf16(d, a, b0, b1);
    D[g * 8 + 2 * t] = d[0];
    D[g * 8 + 2 * t + 1] = d[1];
    D[(g + 8) * 8 + 2 * t] = d[2];
    D[(g + 8) * 8 + 2 * t + 1] = d[3];
}

/* D = A·B + C of the emulated mma against the same sums in order; f16 with values bf16 cannot
 * hold (a 2^-10 step), so reading its registers as bf16 (or the reverse) gives another D. */
static void test_mma()
{
    for (int f16 = 0; f16 < 2; f16++) {
        uint16_t A[256], B[128];
        float Af[256], Bf[128], D[128];
        for (int i = 0; i < 256; i++) {
            /* f16: eighths plus multiples of 2^-10 (exact in f16 below 1, not in bf16) */
            Af[i] = f16 ? (float)((i * 7) % 13 - 6) / 8 + 0x1p-10f * (float)(i % 5)
                        : (float)((i * 7) % 13 - 6);
            A[i] = f16 ? hf(Af[i]) : bf(Af[i]);
        }
        for (int i = 0; i < 128; i++) Bf[i] = (float)((i * 5) % 11 - 5), B[i] = f16 ? hf(Bf[i]) : bf(Bf[i]);
        CHECK(LAUNCH(f16 ? mma_kernel<true> : mma_kernel<false>, 1, 32, 0, A, B, D) == cudaSuccess,
              "%s", last_error());
        int wrong = 0;
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 8; c++) {
                float ref = (r < 8 ? 1.0f : 3.0f) + (c & 1);
                for (int k = 0; k < 16; k++) ref += Af[r * 16 + k] * Bf[k * 8 + c];
                CHECK(D[r * 8 + c] == ref, "%s D[%d][%d] = %g, want %g", f16 ? "f16" : "bf16",
                      r, c, D[r * 8 + c], ref);
            }
        /* the other type's mma on the same bits: a kernel mixing them up would fail */
        CHECK(LAUNCH(f16 ? mma_kernel<false> : mma_kernel<true>, 1, 32, 0, A, B, D) == cudaSuccess,
              "%s", last_error());
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 8; c++) {
                float ref = (r < 8 ? 1.0f : 3.0f) + (c & 1);
                for (int k = 0; k < 16; k++) ref += Af[r * 16 + k] * Bf[k * 8 + c];
                wrong += D[r * 8 + c] != ref;
            }
        CHECK(wrong > 64, "%s data through the %s mma: only %d of 128 wrong", f16 ? "f16" : "bf16",
              f16 ? "bf16" : "f16", wrong);
    }
}

/* pack_f16x2 / pack_bf16x2 (and pack_x2<T>): round to nearest even, lo in bits 0..15. */
__global__ void pack_kernel(const float *x, uint32_t *out)
{
    const int i = threadIdx.x;
    out[4 * i] = pack_f16x2(x[2 * i], x[2 * i + 1]);
    out[4 * i + 1] = pack_x2<__half>(x[2 * i], x[2 * i + 1]);
    out[4 * i + 2] = pack_bf16x2(x[2 * i], x[2 * i + 1]);
    out[4 * i + 3] = pack_x2<__nv_bfloat16>(x[2 * i], x[2 * i + 1]);
}

static void test_pack()
{
    /* 1 + 2^-11 ties to 1 (even) in f16, 1 + 3·2^-11 to 1 + 2^-9; 65520 ties to infinity */
    const float x[8] = {1.0f + 0x1p-11f, 1.0f + 3 * 0x1p-11f, -2.5f, 65520.0f,
                        0x1p-24f, 3.0f + 0x1p-9f, 1.0f + 0x1p-8f, 1e-30f};
    uint32_t out[16];
    CHECK(LAUNCH(pack_kernel, 1, 4, 0, x, out) == cudaSuccess, "%s", last_error());
    const uint32_t want_f16[4] = {0x3c023c00u, 0x7c00c100u, 0x42010001u, 0x00003c04u};
    for (int i = 0; i < 4; i++) {
        CHECK(out[4 * i] == want_f16[i] && out[4 * i + 1] == want_f16[i],
              "pack_f16x2(%g, %g) = %08x, want %08x", x[2 * i], x[2 * i + 1], out[4 * i],
              want_f16[i]);
        const uint32_t want_bf = (uint32_t)bf(x[2 * i]) | (uint32_t)bf(x[2 * i + 1]) << 16;
        CHECK(out[4 * i + 2] == want_bf && out[4 * i + 3] == want_bf,
              "pack_bf16x2(%g, %g) = %08x, want %08x", x[2 * i], x[2 * i + 1], out[4 * i + 2],
              want_bf);
    }
}

/* M (16x16 bf16) in shared memory; lane L addresses row (L & 7) of matrix L >> 3, the matrices
 * being the quadrants rows 0-7/8-15 x cols 0-7/8-15 in the order TL, BL, TR, BR. */
__global__ void ldmatrix_kernel(const uint16_t *M, uint32_t *out)
{
    __shared__ __align__(16) uint16_t s[16 * 16];
    const int lane = threadIdx.x;
    for (int i = lane; i < 256; i += 32) s[i] = M[i];
    __syncwarp();
    const int mat = lane >> 3, row = (lane & 7) + 8 * (mat & 1), col = 8 * (mat >> 1);
    uint32_t r[4], rt[4];
    ldmatrix_x4(r, &s[row * 16 + col]);
    ldmatrix_x4_trans(rt, &s[row * 16 + col]);
    for (int i = 0; i < 4; i++) {
        out[lane * 8 + i] = r[i];
        out[lane * 8 + 4 + i] = rt[i];
    }
}

static void test_ldmatrix()
{
    uint16_t M[256];
    for (int i = 0; i < 256; i++) M[i] = (uint16_t)i;
    uint32_t out[32 * 8];
    CHECK(LAUNCH(ldmatrix_kernel, 1, 32, 0, M, out) == cudaSuccess, "%s", last_error());
    for (int lane = 0; lane < 32; lane++) {
        const int g = lane >> 2, t = lane & 3;
        for (int i = 0; i < 4; i++) {
            const int r0 = 8 * (i & 1), c0 = 8 * (i >> 1); /* quadrant of matrix i */
            auto m = [&](int r, int c) { return (uint32_t)M[(r0 + r) * 16 + c0 + c]; };
            const uint32_t want = m(g, 2 * t) | m(g, 2 * t + 1) << 16;
            const uint32_t want_t = m(2 * t, g) | m(2 * t + 1, g) << 16;
            CHECK(out[lane * 8 + i] == want, "lane %d r[%d] %08x want %08x", lane, i,
                  out[lane * 8 + i], want);
            CHECK(out[lane * 8 + 4 + i] == want_t, "lane %d trans r[%d] %08x want %08x", lane, i,
                  out[lane * 8 + 4 + i], want_t);
        }
    }
}

/* Each thread copies two 16-byte chunks in two groups and looks at them after each wait. */
__global__ void cp_async_kernel(const uint4 *src, uint32_t *out)
{
    ATTN_DYNAMIC_SMEM(dyn);
    uint4 *s = reinterpret_cast<uint4 *>(dyn);
    const int t = threadIdx.x;
    cp_async_16(&s[t], &src[t]);
    cp_async_commit();
    cp_async_16(&s[32 + t], &src[32 + t]);
    cp_async_commit();
    out[t * 4 + 0] = s[t].x; /* nothing waited for: still poison */
    cp_async_wait<1>();
    out[t * 4 + 1] = s[t].x;      /* group 0 landed */
    out[t * 4 + 2] = s[32 + t].x; /* group 1 not yet */
    cp_async_wait<0>();
    out[t * 4 + 3] = s[32 + t].x;
}

static void test_cp_async()
{
    std::vector<uint4> src(64);
    for (int i = 0; i < 64; i++) src[i] = make_uint4(i, i, i, i);
    uint32_t out[128];
    CHECK(LAUNCH(cp_async_kernel, 1, 32, 64 * 16, src.data(), out) == cudaSuccess, "%s",
          last_error());
    uint32_t p;
    for (int t = 0; t < 32; t++) {
        if (g_sched == ATTN_EMU_COPY_AT_ISSUE) /* landed at issue */
            CHECK(out[t * 4] == (uint32_t)t && out[t * 4 + 2] == (uint32_t)(32 + t),
                  "t %d early %08x %08x", t, out[t * 4], out[t * 4 + 2]);
        else if (poison_word(&p)) /* at the wait: nothing before it */
            CHECK(out[t * 4] == p && out[t * 4 + 2] == p, "t %d early %08x %08x", t, out[t * 4],
                  out[t * 4 + 2]);
        CHECK(out[t * 4 + 1] == (uint32_t)t && out[t * 4 + 3] == (uint32_t)(32 + t), "t %d %u %u",
              t, out[t * 4 + 1], out[t * 4 + 3]);
    }
}

/* Each thread copies one chunk, passes a synchronisation point (which is not its wait) and
 * reads its neighbour's chunk: poison when copies land at the wait, the data when they land
 * at issue, and a mix when each lands at a random point. */
__global__ void cp_async_early_kernel(const uint4 *src, uint32_t *out)
{
    ATTN_DYNAMIC_SMEM(dyn);
    uint4 *s = reinterpret_cast<uint4 *>(dyn);
    const int t = threadIdx.x;
    cp_async_16(&s[t], &src[t]);
    cp_async_commit();
    __syncthreads();
    out[t] = s[t ^ 1].x; /* a race: no wait before the barrier */
    __syncthreads();      /* every read before any wait */
    cp_async_wait<0>();
}

static void test_cp_async_landing()
{
    std::vector<uint4> src(64);
    for (int i = 0; i < 64; i++) src[i] = make_uint4(i, i, i, i);
    std::vector<uint32_t> out(64);
    CHECK(LAUNCH(cp_async_early_kernel, 1, 64, 64 * 16, src.data(), out.data()) == cudaSuccess,
          "%s", last_error());
    int landed = 0;
    for (int t = 0; t < 64; t++) landed += out[t] == (uint32_t)(t ^ 1);
    if (g_sched == ATTN_EMU_COPY_AT_ISSUE)
        CHECK(landed == 64, "%d of 64 copies landed at issue", landed);
    else if (g_sched == ATTN_EMU_COPY_RANDOM)
        CHECK(landed > 0 && landed < 64, "%d of 64 copies landed at a random point", landed);
    else
        CHECK(landed == 0, "%d of 64 copies landed before the wait", landed);
}

/* ---- the GPU's exponentials --------------------------------------------------------------- */

__global__ void exp_kernel(const float *x, float *out, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    out[4 * i + 0] = exp2f(x[i]);
    out[4 * i + 1] = expf(x[i]);
    out[4 * i + 2] = attn_ex2(x[i]);
    out[4 * i + 3] = __expf(x[i]);
}

static long ulps(float a, float b)
{
    int32_t ia, ib;
    std::memcpy(&ia, &a, 4), std::memcpy(&ib, &b, 4);
    return std::labs((long)ia - (long)ib);
}

/* libm's results, except under ATTN_EMU_GPU_MATH: there exp2f, expf and ex2.approx differ from
 * libm's (which a kernel comparing them exactly would notice) by at most 2 ulp, ex2 of an
 * integer stays exact, and __expf's error grows with |x| as nvcc's ex2.approx(x·log2 e). */
static void test_gpu_math()
{
    const int n = 1024;
    std::vector<float> x(n), out(4 * n);
    for (int i = 0; i < n; i++) x[i] = -60.0f + 70.0f * (float)i / n + (i % 7) * 1e-3f;
    x[0] = 0.0f, x[1] = -3.0f, x[2] = 5.0f;
    CHECK(LAUNCH(exp_kernel, n / 128, 128, 0, x.data(), out.data(), n) == cudaSuccess, "%s",
          last_error());
    long worst[4] = {0, 0, 0, 0}, differ[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        const float libm[4] = {std::exp2(x[i]), std::exp(x[i]), std::exp2(x[i]), std::exp(x[i])};
        for (int f = 0; f < 4; f++) {
            const long u = ulps(out[4 * i + f], libm[f]);
            worst[f] = std::max(worst[f], u);
            differ[f] += u != 0;
        }
    }
    if (g_sched != ATTN_EMU_GPU_MATH) {
        CHECK(!differ[0] && !differ[1] && !differ[2] && !differ[3], "libm's: %ld %ld %ld %ld",
              differ[0], differ[1], differ[2], differ[3]);
        return;
    }
    for (int f = 0; f < 3; f++)
        CHECK(differ[f] > n / 2 && worst[f] <= 2, "function %d: %ld of %d differ, by up to %ld ulp",
              f, differ[f], n, worst[f]);
    CHECK(out[0] == 1.0f && out[2] == 1.0f && out[4] == 0.125f && out[6] == 0.125f &&
              out[8] == 32.0f && out[10] == 32.0f,
          "ex2 of an integer is exact: %g %g %g", out[2], out[6], out[10]);
    CHECK(worst[3] > 8, "__expf at |x| up to 60: %ld ulp", worst[3]);
}

/* ---- wmma ------------------------------------------------------------------------------------ */

/* C (16x16 f32) = A (16x16) · B (16x16), A row-major, B col-major or row-major, C loaded and
 * stored in both layouts. */
template <class LB>
__global__ void wmma_kernel(const __nv_bfloat16 *A, const __nv_bfloat16 *B, float *C, float *Ct)
{
    __shared__ __align__(32) float acc_in[256];
    for (int i = threadIdx.x; i < 256; i += 32) acc_in[i] = (float)(i % 5);
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, LB> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fc;
    wmma::load_matrix_sync(fa, A, 16);
    wmma::load_matrix_sync(fb, B, 16);
    wmma::load_matrix_sync(fc, acc_in, 16, wmma::mem_row_major);
    wmma::mma_sync(fc, fa, fb, fc);
    wmma::store_matrix_sync(C, fc, 16, wmma::mem_row_major);
    wmma::store_matrix_sync(Ct, fc, 16, wmma::mem_col_major);
}

static void test_wmma()
{
    alignas(32) __nv_bfloat16 A[256], B[256];
    float Af[256], Bf[256];
    alignas(32) float C[256], Ct[256];
    for (int i = 0; i < 256; i++) {
        Af[i] = (float)((i * 3) % 7 - 3);
        Bf[i] = (float)((i * 11) % 9 - 4);
        A[i] = __float2bfloat16_rn(Af[i]);
        B[i] = __float2bfloat16_rn(Bf[i]);
    }
    for (int layout = 0; layout < 2; layout++) {
        const cudaError_t e = layout ? LAUNCH(wmma_kernel<wmma::row_major>, 1, 32, 0, A, B, C, Ct)
                                     : LAUNCH(wmma_kernel<wmma::col_major>, 1, 32, 0, A, B, C, Ct);
        CHECK(e == cudaSuccess, "%s", last_error());
        for (int r = 0; r < 16; r++)
            for (int c = 0; c < 16; c++) {
                float ref = (float)((r * 16 + c) % 5);
                for (int k = 0; k < 16; k++)
                    ref += Af[r * 16 + k] * (layout ? Bf[k * 16 + c] : Bf[c * 16 + k]);
                CHECK(C[r * 16 + c] == ref && Ct[c * 16 + r] == ref,
                      "layout %d C[%d][%d] %g %g want %g", layout, r, c, C[r * 16 + c],
                      Ct[c * 16 + r], ref);
            }
    }
}

/* ---- TMA, mbarrier, setmaxnreg (kernels/common/tma.cuh) ------------------------------------ */

/* A bf16 matrix of TMA_ROWS x TMA_COLS, rows TMA_LD elements apart; element i holds i + 1, so
 * that a zero is out of bounds. Boxes of 32 rows x 64 columns (128 bytes: one 128B-swizzle row). */
constexpr int TMA_ROWS = 80, TMA_COLS = 72, TMA_LD = 80, TMA_BOX_R = 32, TMA_BOX_C = 64;
constexpr unsigned TMA_TILE_BYTES = TMA_BOX_R * TMA_BOX_C * 2;

struct TmaTiles {
    int x[3], y[3]; /* the boxes' first column and row */
};

static uint16_t tma_expected(const std::vector<uint16_t> &g, int y, int x)
{
    return y >= 0 && y < TMA_ROWS && x >= 0 && x < TMA_COLS ? g[y * TMA_LD + x] : 0;
}

/* Warp 0 loads three tiles into one 128B-swizzled buffer, one after another (mbarrier `full`,
 * 1 arrival + the tile's bytes); warps 1-3 wait for each, read it back unswizzled by the
 * 128B rule written out (16-byte chunk c of row r is stored at chunk c ^ (r % 8)) and release
 * the buffer (mbarrier `empty`, 96 arrivals), which the producer waits for before the next
 * tile: both parities of both mbarriers. `linear` reads without unswizzling (a planted bug). */
__global__ void tma_tile_kernel(const __grid_constant__ CUtensorMap map, TmaTiles tiles,
                                uint16_t *out, int linear)
{
    __shared__ __align__(1024) uint16_t tile[TMA_BOX_R * TMA_BOX_C];
    __shared__ uint64_t full, empty;
    const int t = threadIdx.x;
    if (t == 0) {
        mbar_init(&full, 1);
        mbar_init(&empty, 96);
        fence_proxy_async_shared();
    }
    __syncthreads();
    for (int k = 0; k < 3; k++) {
        if (t < 32) {
            if (t != 0) continue;
            if (k > 0) mbar_wait(&empty, (k - 1) & 1);
            mbar_arrive_expect_tx(&full, TMA_TILE_BYTES);
            tma_load_2d(tile, &map, tiles.x[k], tiles.y[k], &full);
        } else {
            mbar_wait(&full, k & 1);
            for (int i = t - 32; i < TMA_BOX_R * TMA_BOX_C; i += 96) {
                const int r = i / TMA_BOX_C, byte = 2 * (i % TMA_BOX_C);
                const int at = linear ? 2 * i
                                      : r * 128 + ((byte >> 4 ^ (r & 7)) << 4) + (byte & 15);
                out[k * TMA_BOX_R * TMA_BOX_C + i] = tile[at / 2];
            }
            mbar_arrive(&empty);
        }
    }
}

static int tma_map(CUtensorMap *map, const std::vector<uint16_t> &g)
{
    return tma_encode_2d(map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, g.data(), TMA_COLS, TMA_ROWS,
                         TMA_LD * 2, TMA_BOX_C, TMA_BOX_R, CU_TENSOR_MAP_SWIZZLE_128B,
                         "emu_test");
}

static std::vector<uint16_t> tma_matrix()
{
    std::vector<uint16_t> g(TMA_ROWS * TMA_LD);
    for (size_t i = 0; i < g.size(); i++) g[i] = (uint16_t)(i + 1);
    return g;
}

/* In bounds, past the end in both dimensions, and before the start in both. */
static void test_tma_tile()
{
    const std::vector<uint16_t> g = tma_matrix();
    alignas(128) CUtensorMap map;
    CHECK(tma_map(&map, g) == 0, "%s", last_error());
    const TmaTiles tiles{{0, 32, -8}, {0, 64, -3}};
    for (int linear = 0; linear < 2; linear++) {
        std::vector<uint16_t> out(3 * TMA_BOX_R * TMA_BOX_C, 0xdead);
        CHECK(LAUNCH(tma_tile_kernel, 1, 128, 0, map, tiles, out.data(), linear) == cudaSuccess,
              "%s", last_error());
        int bad = 0, oob = 0;
        for (int k = 0; k < 3; k++)
            for (int r = 0; r < TMA_BOX_R; r++)
                for (int c = 0; c < TMA_BOX_C; c++) {
                    const uint16_t want = tma_expected(g, tiles.y[k] + r, tiles.x[k] + c);
                    const uint16_t got = out[(k * TMA_BOX_R + r) * TMA_BOX_C + c];
                    oob += want == 0;
                    if (got != want && !linear && bad++ < 5)
                        CHECK(false, "tile %d [%d][%d] = %u, want %u", k, r, c, got, want);
                    bad += linear && got != want;
                }
        CHECK(oob == 32 * 64 - 16 * 40 + 3 * 64 + 29 * 8, "%d out-of-bounds elements", oob);
        if (linear) /* the planted bug: reading the buffer as if unswizzled */
            CHECK(bad > 1000, "a linear read of a 128B-swizzled tile differs in %d elements", bad);
    }
}

/* A 3-D box, unswizzled, partly outside the tensor, through the driver entry point directly. */
__global__ void tma_3d_kernel(const __grid_constant__ CUtensorMap map, float *out)
{
    __shared__ __align__(128) float box[2 * 4 * 8];
    __shared__ uint64_t full;
    if (threadIdx.x == 0) {
        mbar_init(&full, 1);
        fence_mbarrier_init();
        mbar_arrive_expect_tx(&full, sizeof box);
        tma_load_3d(box, &map, 16, 3, 1, &full);
    }
    __syncthreads();
    mbar_wait(&full, 0);
    for (int i = threadIdx.x; i < 64; i += 32) out[i] = box[i];
}

typedef CUresult (*encode_tiled_fn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                                    const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                                    const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
                                    CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

static encode_tiled_fn encode_tiled()
{
    void *fn = nullptr;
    cudaDriverEntryPointQueryResult q;
    cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &q);
    return q == cudaDriverEntryPointSuccess ? reinterpret_cast<encode_tiled_fn>(fn) : nullptr;
}

static void test_tma_3d()
{
    const int X = 20, Y = 5, Z = 3, LDX = 24; /* rows of 24 floats: 96 bytes */
    std::vector<float> g(LDX * Y * Z);
    for (size_t i = 0; i < g.size(); i++) g[i] = (float)(i + 1);
    const cuuint64_t dim[3] = {X, Y, Z}, stride[2] = {LDX * 4, LDX * Y * 4};
    const cuuint32_t box[3] = {8, 4, 2}, es[3] = {1, 1, 1};
    encode_tiled_fn enc = encode_tiled();
    CHECK(enc != nullptr, "no cuTensorMapEncodeTiled entry point");
    /* out-of-bounds elements: zeros, or NaN with OOB_FILL_NAN_REQUEST_ZERO_FMA */
    for (CUtensorMapFloatOOBfill fill :
         {CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE, CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA}) {
        alignas(128) CUtensorMap map;
        CHECK(enc && enc(&map, CU_TENSOR_MAP_DATA_TYPE_FLOAT32, 3, g.data(), dim, stride, box, es,
                         CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_NONE,
                         CU_TENSOR_MAP_L2_PROMOTION_NONE, fill) == CUDA_SUCCESS,
              "%s", last_error());
        std::vector<float> out(64, -1.0f);
        CHECK(LAUNCH(tma_3d_kernel, 1, 32, 0, map, out.data()) == cudaSuccess, "%s",
              last_error());
        for (int z = 0; z < 2; z++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 8; x++) {
                    const int gx = 16 + x, gy = 3 + y, gz = 1 + z;
                    const bool in = gx < X && gy < Y && gz < Z;
                    const float got = out[(z * 4 + y) * 8 + x];
                    const float want = in ? g[(gz * Y + gy) * LDX + gx] : 0.0f;
                    CHECK(in || fill == CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE ? got == want
                                                                          : std::isnan(got),
                          "fill %d box [%d][%d][%d] = %g, want %g", (int)fill, z, y, x, got,
                          in || !fill ? want : NAN);
                }
    }
}

/* TMA writes what wgmma reads: Q (64 x 64) and K (64 keys x 64 dims), bf16, row-major, loaded
 * by TMA with the 128B swizzle; S = Q·Kᵀ by four wgmma m64n64k16 through K-major 128B-swizzled
 * descriptors (wgmma.cuh's worked example: SBO 1024, +32 bytes a 16-wide slice). */
__global__ void tma_wgmma_kernel(const __grid_constant__ CUtensorMap qmap,
                                 const __grid_constant__ CUtensorMap kmap, float *out)
{
    __shared__ __align__(1024) uint16_t q[64 * 64];
    __shared__ __align__(1024) uint16_t k[64 * 64];
    __shared__ uint64_t full;
    if (threadIdx.x == 0) {
        mbar_init(&full, 1);
        fence_mbarrier_init();
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        mbar_arrive_expect_tx(&full, sizeof q + sizeof k);
        tma_load_2d(q, &qmap, 0, 0, &full);
        tma_load_2d(k, &kmap, 0, 0, &full);
    }
    mbar_wait(&full, 0);
    const uint64_t dq = wgmma_desc(q, 16, 1024, WGMMA_SWIZZLE_128B);
    const uint64_t dk = wgmma_desc(k, 16, 1024, WGMMA_SWIZZLE_128B);
    wgmma_acc<64> acc;
    wgmma_fence();
    for (int s = 0; s < 4; s++) wgmma_ss_bf16<64, 0, 0>(acc, dq + 2 * s, dk + 2 * s, s > 0);
    wgmma_commit_group();
    wgmma_wait_group<0>();
    for (int i = 0; i < 32; i++) out[threadIdx.x * 32 + i] = acc[i];
}

static float bf16_value(uint16_t h) { return __bfloat162float(__ushort_as_bfloat16(h)); }

/* `k_swizzle` NONE is the planted bug: K lands unswizzled under a 128B descriptor. */
static int tma_wgmma_mismatches(CUtensorMapSwizzle k_swizzle)
{
    std::vector<uint16_t> Q(64 * 64), K(64 * 64);
    for (int i = 0; i < 64 * 64; i++) {
        Q[i] = bf((float)((i * 7) % 5 - 2));
        K[i] = bf((float)((i * 3) % 7 - 3));
    }
    alignas(128) CUtensorMap qmap, kmap;
    CHECK(tma_encode_2d(&qmap, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, Q.data(), 64, 64, 128, 64, 64,
                        CU_TENSOR_MAP_SWIZZLE_128B, "emu_test") == 0 &&
              tma_encode_2d(&kmap, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, K.data(), 64, 64, 128, 64, 64,
                            k_swizzle, "emu_test") == 0,
          "%s", last_error());
    std::vector<float> out(128 * 32);
    CHECK(LAUNCH(tma_wgmma_kernel, 1, 128, 0, qmap, kmap, out.data()) == cudaSuccess, "%s",
          last_error());
    int bad = 0;
    for (int T = 0; T < 128; T++)
        for (int i = 0; i < 32; i++) {
            const int w = T / 32, g = T % 32 / 4, t = T % 4, j = i / 4;
            const int row = 16 * w + g + 8 * (i % 4 / 2), col = 8 * j + 2 * t + i % 2;
            float want = 0;
            for (int d = 0; d < 64; d++)
                want += bf16_value(Q[row * 64 + d]) * bf16_value(K[col * 64 + d]);
            bad += out[T * 32 + i] != want;
        }
    return bad;
}

static void test_tma_wgmma()
{
    const int bad = tma_wgmma_mismatches(CU_TENSOR_MAP_SWIZZLE_128B);
    CHECK(bad == 0, "S = Q·Kᵀ from TMA tiles through wgmma: %d of 4096 wrong", bad);
    CHECK(tma_wgmma_mismatches(CU_TENSOR_MAP_SWIZZLE_NONE) > 1000,
          "K unswizzled under a 128B descriptor must give wrong products");
}

/* Two tiles through one buffer. Every thread reads the buffer after the second copy's issue
 * (and a barrier) but before its wait, and again after: poison (the destination of a copy in
 * flight, not the first tile still there), then the second tile, unless it landed at issue. */
__global__ void tma_early_kernel(const __grid_constant__ CUtensorMap map, uint16_t *out)
{
    __shared__ __align__(1024) uint16_t tile[TMA_BOX_R * TMA_BOX_C];
    __shared__ uint64_t full;
    const int t = threadIdx.x;
    if (t == 0) {
        mbar_init(&full, 1);
        fence_proxy_async_shared();
        mbar_arrive_expect_tx(&full, TMA_TILE_BYTES);
        tma_load_2d(tile, &map, 0, 0, &full);
    }
    __syncthreads();
    mbar_wait(&full, 0);
    out[t] = tile[t];
    __syncthreads(); /* every read of the first tile before the second copy */
    if (t == 0) {
        mbar_arrive_expect_tx(&full, TMA_TILE_BYTES);
        tma_load_2d(tile, &map, 0, TMA_BOX_R, &full);
    }
    __syncthreads();
    out[64 + t] = tile[t]; /* the bug: before the wait */
    __syncthreads();       /* every read before any wait */
    mbar_wait(&full, 1);
    out[128 + t] = tile[t];
}

static void test_tma_early_read()
{
    const std::vector<uint16_t> g = tma_matrix();
    alignas(128) CUtensorMap map;
    CHECK(tma_map(&map, g) == 0, "%s", last_error());
    std::vector<uint16_t> out(192);
    CHECK(LAUNCH(tma_early_kernel, 1, 64, 0, map, out.data()) == cudaSuccess, "%s", last_error());
    uint32_t p;
    for (int t = 0; t < 64; t++) { /* row 0 of a tile: chunks unpermuted */
        const uint16_t first = g[t], second = g[TMA_BOX_R * TMA_LD + t];
        CHECK(out[t] == first && out[128 + t] == second, "t %d after the waits: %u %u, want %u %u",
              t, out[t], out[128 + t], first, second);
        if (g_sched == ATTN_EMU_COPY_AT_ISSUE)
            CHECK(out[64 + t] == second, "t %d landed at issue: %u", t, out[64 + t]);
        else if (poison_word(&p))
            CHECK(out[64 + t] == (uint16_t)p, "t %d before the wait: %04x, want poison", t,
                  out[64 + t]);
    }
}

enum TmaBug {
    TMA_OK,
    TMA_WRONG_PARITY,   /* waits for the phase after the one loaded */
    TMA_EXPECT_SMALL,   /* announces half the tile's bytes */
    TMA_EXPECT_LARGE,   /* announces 1 KiB more than the tile */
    TMA_EXTRA_ARRIVE,   /* a second arrival on a count-1 mbarrier in one phase */
    TMA_NO_FENCE,       /* no fence (fence.proxy.async) after the init */
    TMA_NO_SYNC,        /* no __syncthreads between the init and the other threads' waits */
    TMA_UNINIT,         /* no mbarrier.init at all */
    TMA_MISALIGNED_DST, /* a 128B-swizzled box 128 bytes into a 1024-aligned buffer */
    TMA_TWICE,          /* a second copy into the buffer while the first is in flight */
    TMA_OVER_BARRIER,   /* a box whose destination covers the mbarrier */
};

__global__ void tma_misuse_kernel(const __grid_constant__ CUtensorMap map, uint16_t *out, int bug)
{
    __shared__ __align__(1024) uint16_t tile[2 * TMA_BOX_R * TMA_BOX_C];
    __shared__ uint64_t full;
    const int t = threadIdx.x;
    if (t == 0 && bug != TMA_UNINIT) {
        mbar_init(&full, 1);
        if (bug != TMA_NO_FENCE) fence_proxy_async_shared();
    }
    if (bug != TMA_NO_SYNC) __syncthreads();
    if (t == 0) {
        mbar_arrive_expect_tx(&full, bug == TMA_EXPECT_SMALL   ? TMA_TILE_BYTES / 2
                                     : bug == TMA_EXPECT_LARGE ? TMA_TILE_BYTES + 1024
                                     : bug == TMA_TWICE        ? 2 * TMA_TILE_BYTES
                                                               : TMA_TILE_BYTES);
        if (bug == TMA_EXTRA_ARRIVE) mbar_arrive(&full);
        tma_load_2d(bug == TMA_MISALIGNED_DST ? tile + 64 : tile, &map, 0, 0, &full);
        if (bug == TMA_TWICE) tma_load_2d(tile + 1024, &map, 0, 0, &full);
    }
    mbar_wait(&full, 0);
    out[t] = tile[t];
    __syncthreads();
    mbar_wait(&full, bug == TMA_WRONG_PARITY ? 1 : 0); /* 0: done; 1: phase 1, never loaded */
}

__global__ void tma_over_barrier_kernel(const __grid_constant__ CUtensorMap map)
{
    ATTN_DYNAMIC_SMEM(dyn);
    unsigned char *tile = (unsigned char *)(((uintptr_t)dyn + 1023) & ~(uintptr_t)1023);
    uint64_t *full = (uint64_t *)(tile + TMA_TILE_BYTES - 8);
    if (threadIdx.x == 0) {
        mbar_init(full, 1);
        fence_mbarrier_init();
        mbar_arrive_expect_tx(full, TMA_TILE_BYTES);
        tma_load_2d(tile, &map, 0, 0, full);
    }
}

static void test_tma_misuse()
{
    const std::vector<uint16_t> g = tma_matrix();
    alignas(128) CUtensorMap map;
    CHECK(tma_map(&map, g) == 0, "%s", last_error());
    std::vector<uint16_t> out(64);
    struct {
        int bug;
        const char *what[3];
    } cases[] = {
        {TMA_OK, {}},
        {TMA_WRONG_PARITY, {"deadlock", "wait for parity 1, i.e. for phase 1", "try_wait"}},
        {TMA_EXPECT_SMALL, {"expect_tx too small", "emu_test.cu", nullptr}},
        {TMA_EXPECT_LARGE, {"deadlock", "1024 more transaction byte", "expect_tx larger"}},
        {TMA_EXTRA_ARRIVE, {"more arrivals in phase 0", "count 1", nullptr}},
        {TMA_NO_FENCE, {"not made visible to the async proxy", nullptr, nullptr}},
        {TMA_NO_SYNC, {"mbarrier.try_wait.parity", nullptr, nullptr}},
        {TMA_UNINIT, {"has not been initialised", nullptr, nullptr}},
        {TMA_MISALIGNED_DST, {"not 1024-byte aligned", "swizzle 128B", nullptr}},
        {TMA_TWICE, {"overlaps that of the copy of", "still in flight", nullptr}},
    };
    for (const auto &c : cases) {
        const cudaError_t e = LAUNCH(tma_misuse_kernel, 1, 64, 0, map, out.data(), c.bug);
        CHECK(e == (c.bug == TMA_OK ? cudaSuccess : cudaErrorLaunchFailure), "bug %d: %s", c.bug,
              last_error());
        for (const char *w : c.what)
            if (w) CHECK(error_has(w), "bug %d: no \"%s\" in: %s", c.bug, w, last_error());
    }
    /* the mbarrier in dynamic shared memory, inside the tile's destination */
    LAUNCH(tma_over_barrier_kernel, 1, 32, 2 * TMA_TILE_BYTES, map);
    CHECK(error_has("overlaps the mbarrier"), "%s", last_error());
    /* before its init reaches them (no __syncthreads), other threads either find no mbarrier
     * or one another thread initialised without a barrier since */
    LAUNCH(tma_misuse_kernel, 1, 64, 0, map, out.data(), (int)TMA_NO_SYNC);
    CHECK(error_has("not visible to this thread") || error_has("has not been initialised"), "%s",
          last_error());
}

/* The driver's rules for cuTensorMapEncodeTiled, each refusal naming the argument. */
static void test_tma_encode_args()
{
    const std::vector<uint16_t> g = tma_matrix();
    alignas(128) CUtensorMap map;
    struct {
        const void *base;
        uint64_t row_bytes;
        uint32_t box_c, box_r;
        CUtensorMapSwizzle sw;
        const char *what;
    } bad[] = {
        {g.data(), 150, 64, 32, CU_TENSOR_MAP_SWIZZLE_128B, "globalStrides[0] = 150 is not a multiple of 16"},
        {g.data(), 128, 64, 32, CU_TENSOR_MAP_SWIZZLE_128B, "globalStrides[0] = 128 is less than the 144 bytes"},
        {g.data() + 1, 160, 64, 32, CU_TENSOR_MAP_SWIZZLE_128B, "globalAddress"},
        {g.data(), 160, 64, 300, CU_TENSOR_MAP_SWIZZLE_128B, "boxDim[1] = 300 is not in [1, 256]"},
        {g.data(), 160, 12, 32, CU_TENSOR_MAP_SWIZZLE_NONE, "boxDim[0] = 12 elements of 2 bytes is not a multiple of 16"},
        {g.data(), 160, 64, 32, CU_TENSOR_MAP_SWIZZLE_64B, "wider than swizzle 64B's 64"},
    };
    std::fflush(stderr);
    for (const auto &b : bad) {
        attn_emu_clear_error();
        CHECK(tma_encode_2d(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, b.base, TMA_COLS, TMA_ROWS,
                            b.row_bytes, b.box_c, b.box_r, b.sw, "emu_test") ==
                  (int)cudaErrorInvalidValue,
              "%s accepted", b.what);
        CHECK(error_has(b.what), "no \"%s\" in: %s", b.what, last_error());
    }
    CHECK(tma_map(&map, g) == 0, "%s", last_error());
}

/* setmaxnreg: warpgroup 0 gives registers up, warpgroup 1 takes them; then the misuses. */
__global__ void setmaxnreg_kernel(int *out, int bug)
{
    const int warp = threadIdx.x / 32, wg = threadIdx.x / 128;
    if (bug == 0) {
        if (wg == 0) setmaxnreg_dec<40>();
        else setmaxnreg_inc<232>();
    } else if (bug == 1) { /* one warp of the group */
        if (warp == 0) setmaxnreg_dec<40>();
    } else if (bug == 2) { /* the group's warps at two call sites */
        if (warp == 0) setmaxnreg_dec<40>();
        else setmaxnreg_inc<232>();
    } else if (bug == 3) {
        setmaxnreg_dec<20>();
    } else if (bug == 4) {
        setmaxnreg_dec<40>();
        setmaxnreg_inc<32>();
    }
    __syncthreads();
    out[threadIdx.x] = 1;
}

static void test_setmaxnreg()
{
    std::vector<int> out(256, 0);
    CHECK(LAUNCH(setmaxnreg_kernel, 1, 256, 0, out.data(), 0) == cudaSuccess, "%s", last_error());
    CHECK(out[0] == 1 && out[255] == 1, "setmaxnreg by whole warpgroups");
    const struct {
        int bug, threads;
        const char *what[3];
    } cases[] = {
        {1, 256, {"deadlock", "threads 0-31 wait at setmaxnreg.dec.sync.aligned.u32",
                   "threads 32-255 wait at __syncthreads"}},
        {2, 256, {"warpgroup divergence", "threads"}},
        {3, 256, {"setmaxnreg.dec.sync.aligned.u32 20", "multiple of 8 in [24, 256]"}},
        {4, 256, {"holds 40 registers", "not lower"}},
        {0, 96, {"threads 0-127, which a block of 96 threads does not have", nullptr}},
    };
    for (const auto &c : cases) {
        CHECK(LAUNCH(setmaxnreg_kernel, 1, c.threads, 0, out.data(), c.bug) ==
                  cudaErrorLaunchFailure,
              "setmaxnreg bug %d", c.bug);
        for (const char *w : c.what)
            if (w) CHECK(error_has(w), "bug %d: no \"%s\" in: %s", c.bug, w, last_error());
    }
}

int main()
{
    void (*const per_schedule[])() = {
        test_indices,          test_shuffles,      test_votes, test_barriers, test_shared_memory,
        test_atomics_and_spin, test_reported_bugs, test_mma,   test_pack,     test_ldmatrix,
        test_cp_async,         test_cp_async_landing, test_wmma, test_gpu_math, test_tma_tile,
        test_tma_3d,           test_tma_early_read, test_tma_misuse, test_setmaxnreg,
        test_tma_wgmma,
    };
    for (int k = 0; k < ATTN_EMU_NSCHEDULES; k++) {
        g_sched = k;
        attn_emu_set_schedule(k, 12345);
        for (auto test : per_schedule) test();
    }
    g_sched = -1;
    test_race_differs();
    test_uninit_differs();
    test_shared_bounds();
    test_tma_encode_args();
    std::printf("%d checks, %d failed\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
