/* <mma.h> for the emulator: nvcuda::wmma on the host (found before the toolkit's <mma.h>, which
 * is device-only, because bench/emu/include comes first on the emulated kernels' include path).
 *
 * Shapes m16n16k16, m32n8k16, m8n32k16; multiplicands __nv_bfloat16 or __half (row_major or
 * col_major); accumulators float or __half. Anything else fails to compile here (static_assert).
 *
 * Fragment layout. The element-to-lane mapping of a wmma fragment is unspecified by CUDA; the
 * emulator deliberately uses one unlike the hardware's, so that code depending on it shows up:
 * element x[i] of lane L holds entry e = 32·i + L of the fragment's logical matrix in row-major
 * order (A: M x K, B: K x N, accumulator: M x N), i.e. row e / cols, column e % cols. For 16x16:
 * lane L holds column L % 16 of rows 2i + L / 16. num_elements = rows·cols / 32 (8 for 16x16).
 *
 * load_matrix_sync, store_matrix_sync and mma_sync are warp collectives (.aligned: all 32 lanes
 * of the warp, with the same pointer, ldm and layout); the last lane to arrive performs the whole
 * operation for the warp. Pointers must be 32-byte aligned and ldm a multiple of 16 bytes, as
 * CUDA requires. mma_sync computes D = A·B + C in float, k summed in increasing order (products
 * of 16-bit inputs are exact), then rounds to D's type. fill_fragment is per lane. */
#ifndef ATTN_EMU_WMMA_H
#define ATTN_EMU_WMMA_H

#ifndef ATTN_EMU
#error "bench/emu/include/mma.h is the emulator's <mma.h>: compile with ATTN_EMU"
#endif

#include <cfloat>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace nvcuda {
namespace wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

namespace detail {

template <class Use, int M, int N, int K> struct dims;
template <int M, int N, int K> struct dims<matrix_a, M, N, K> {
    static constexpr int rows = M, cols = K;
};
template <int M, int N, int K> struct dims<matrix_b, M, N, K> {
    static constexpr int rows = K, cols = N;
};
template <int M, int N, int K> struct dims<accumulator, M, N, K> {
    static constexpr int rows = M, cols = N;
};

constexpr bool shape_ok(int M, int N, int K)
{
    return K == 16 && ((M == 16 && N == 16) || (M == 32 && N == 8) || (M == 8 && N == 32));
}

template <class T> struct is_multiplicand : std::false_type {};
template <> struct is_multiplicand<__nv_bfloat16> : std::true_type {};
template <> struct is_multiplicand<__half> : std::true_type {};
template <class T> struct is_accumulator : std::false_type {};
template <> struct is_accumulator<float> : std::true_type {};
template <> struct is_accumulator<__half> : std::true_type {};

inline float to_float(float x) { return x; }
inline float to_float(__half x) { return __half2float(x); }
inline float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
template <class T> T from_float(float x);
template <> inline float from_float<float>(float x) { return x; }
template <> inline __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> inline __nv_bfloat16 from_float<__nv_bfloat16>(float x)
{
    return __float2bfloat16_rn(x);
}

template <class T> struct identity { typedef T type; };

} // namespace detail

template <class Use, int M, int N, int K, class T, class Layout = void> class fragment {
    static_assert(detail::shape_ok(M, N, K),
                  "wmma shape not emulated (m16n16k16, m32n8k16, m8n32k16 are)");
    static_assert(std::is_same<Use, matrix_a>::value || std::is_same<Use, matrix_b>::value ||
                      std::is_same<Use, accumulator>::value,
                  "wmma fragment use must be matrix_a, matrix_b or accumulator");
    static_assert(std::is_same<Use, accumulator>::value
                      ? std::is_same<Layout, void>::value
                      : (std::is_same<Layout, row_major>::value ||
                         std::is_same<Layout, col_major>::value),
                  "multiplicand fragments take row_major or col_major; accumulators no layout");
    static_assert(std::is_same<Use, accumulator>::value ? detail::is_accumulator<T>::value
                                                        : detail::is_multiplicand<T>::value,
                  "wmma element type not emulated (bf16/half multiplicands, float/half "
                  "accumulators are)");

public:
    static constexpr int rows = detail::dims<Use, M, N, K>::rows;
    static constexpr int cols = detail::dims<Use, M, N, K>::cols;
    enum { num_elements = rows * cols / 32 };
    typedef T element_type;
    typedef T storage_element_type;
    T x[num_elements];
};

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L> &a,
                          const typename detail::identity<T>::type &v)
{
    for (int i = 0; i < fragment<Use, M, N, K, T, L>::num_elements; i++) a.x[i] = v;
}

namespace detail {

/* Operands of one lane for a load or store. */
template <class Frag, class P> struct MemArg {
    Frag *frag;
    P ptr;
    unsigned ldm;
    bool row_major;
};

template <class Frag, class P>
void check_uniform(const ::attn_emu::Collective &op, const MemArg<Frag, P> *a0)
{
    typedef typename std::remove_cv<typename std::remove_pointer<P>::type>::type T;
    const char *file = ::attn_emu::short_path(op.file);
    for (int lane = 1; lane < 32; lane++) {
        const MemArg<Frag, P> *a = static_cast<const MemArg<Frag, P> *>(op.arg[lane]);
        if (a->ptr != a0->ptr || a->ldm != a0->ldm || a->row_major != a0->row_major)
            ::attn_emu::fail("%s (%s:%d): lane %d passes (%p, ldm %u, %s) but lane 0 (%p, ldm %u, "
                             "%s); every lane must pass the same pointer, ldm and layout",
                             op.info->name, file, op.line, lane, (const void *)a->ptr, a->ldm,
                             a->row_major ? "row-major" : "col-major", (const void *)a0->ptr,
                             a0->ldm, a0->row_major ? "row-major" : "col-major");
    }
    if (reinterpret_cast<uintptr_t>(a0->ptr) % 32)
        ::attn_emu::fail("%s (%s:%d): pointer %p is not 32-byte (256-bit) aligned", op.info->name,
                         file, op.line, (const void *)a0->ptr);
    if ((a0->ldm * sizeof(T)) % 16)
        ::attn_emu::fail("%s (%s:%d): ldm %u is not a multiple of 16 bytes", op.info->name, file,
                         op.line, a0->ldm);
}

/* Index in memory of fragment element i of lane. */
template <class Frag>
inline size_t mem_index(int lane, int i, unsigned ldm, bool row_major)
{
    const int e = 32 * i + lane, r = e / Frag::cols, c = e % Frag::cols;
    return row_major ? (size_t)r * ldm + c : (size_t)c * ldm + r;
}

template <class Frag> struct LoadOp {
    typedef typename Frag::element_type T;
    typedef MemArg<Frag, const T *> Arg;
    static void perform(::attn_emu::Collective &op)
    {
        const Arg *a0 = static_cast<const Arg *>(op.arg[0]);
        check_uniform(op, a0);
        for (int lane = 0; lane < 32; lane++) {
            Frag *f = static_cast<const Arg *>(op.arg[lane])->frag;
            for (int i = 0; i < Frag::num_elements; i++)
                f->x[i] = a0->ptr[mem_index<Frag>(lane, i, a0->ldm, a0->row_major)];
        }
    }
    static constexpr ::attn_emu::OpInfo info = {"wmma::load_matrix_sync", &perform, true};
};

template <class Frag> struct StoreOp {
    typedef typename Frag::element_type T;
    typedef MemArg<const Frag, T *> Arg;
    static void perform(::attn_emu::Collective &op)
    {
        const Arg *a0 = static_cast<const Arg *>(op.arg[0]);
        check_uniform(op, a0);
        for (int lane = 0; lane < 32; lane++) {
            const Frag *f = static_cast<const Arg *>(op.arg[lane])->frag;
            for (int i = 0; i < Frag::num_elements; i++)
                a0->ptr[mem_index<Frag>(lane, i, a0->ldm, a0->row_major)] = f->x[i];
        }
    }
    static constexpr ::attn_emu::OpInfo info = {"wmma::store_matrix_sync", &perform, true};
};

template <class FD, class FA, class FB, class FC> struct MmaOp {
    struct Arg {
        FD *d;
        const FA *a;
        const FB *b;
        const FC *c;
        bool satf;
    };
    static constexpr int M = FA::rows, K = FA::cols, N = FB::cols;
    static void perform(::attn_emu::Collective &op)
    {
        float A[M][K], B[K][N], C[M][N];
        const bool satf = static_cast<const Arg *>(op.arg[0])->satf;
        for (int lane = 0; lane < 32; lane++) {
            const Arg *x = static_cast<const Arg *>(op.arg[lane]);
            if (x->satf != satf)
                ::attn_emu::fail("wmma::mma_sync (%s:%d): lanes pass different satf",
                                 ::attn_emu::short_path(op.file), op.line);
            for (int i = 0; i < FA::num_elements; i++) {
                const int e = 32 * i + lane;
                A[e / K][e % K] = to_float(x->a->x[i]);
            }
            for (int i = 0; i < FB::num_elements; i++) {
                const int e = 32 * i + lane;
                B[e / N][e % N] = to_float(x->b->x[i]);
            }
            for (int i = 0; i < FC::num_elements; i++) {
                const int e = 32 * i + lane;
                C[e / N][e % N] = to_float(x->c->x[i]);
            }
        }
        for (int r = 0; r < M; r++)
            for (int c = 0; c < N; c++) {
                float acc = C[r][c];
                for (int k = 0; k < K; k++) acc += A[r][k] * B[k][c];
                if (satf) acc = acc != acc ? 0.0f : acc > FLT_MAX ? FLT_MAX
                                                  : acc < -FLT_MAX ? -FLT_MAX : acc;
                C[r][c] = acc; /* every lane's C is read already: D may alias C */
            }
        for (int lane = 0; lane < 32; lane++) {
            FD *d = static_cast<const Arg *>(op.arg[lane])->d;
            for (int i = 0; i < FD::num_elements; i++) {
                const int e = 32 * i + lane;
                d->x[i] = from_float<typename FD::element_type>(C[e / N][e % N]);
            }
        }
    }
    static constexpr ::attn_emu::OpInfo info = {"wmma::mma_sync", &perform, true};
};

} // namespace detail

template <class Use, int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L> &a, const T *mptr, unsigned ldm,
                             const char *attn_file_ = __builtin_FILE(),
                             int attn_line_ = __builtin_LINE())
{
    static_assert(!std::is_same<Use, accumulator>::value,
                  "loading an accumulator needs a layout_t argument");
    typedef fragment<Use, M, N, K, T, L> Frag;
    typename detail::LoadOp<Frag>::Arg arg{&a, mptr, ldm, std::is_same<L, row_major>::value};
    ::attn_emu::warp_op(detail::LoadOp<Frag>::info, 0xffffffffu, &arg, attn_file_, attn_line_);
}

template <int M, int N, int K, class T>
inline void load_matrix_sync(fragment<accumulator, M, N, K, T> &a, const T *mptr, unsigned ldm,
                             layout_t layout, const char *attn_file_ = __builtin_FILE(),
                             int attn_line_ = __builtin_LINE())
{
    typedef fragment<accumulator, M, N, K, T> Frag;
    typename detail::LoadOp<Frag>::Arg arg{&a, mptr, ldm, layout == mem_row_major};
    ::attn_emu::warp_op(detail::LoadOp<Frag>::info, 0xffffffffu, &arg, attn_file_, attn_line_);
}

template <int M, int N, int K, class T>
inline void store_matrix_sync(T *mptr, const fragment<accumulator, M, N, K, T> &a, unsigned ldm,
                              layout_t layout, const char *attn_file_ = __builtin_FILE(),
                              int attn_line_ = __builtin_LINE())
{
    typedef fragment<accumulator, M, N, K, T> Frag;
    typename detail::StoreOp<Frag>::Arg arg{&a, mptr, ldm, layout == mem_row_major};
    ::attn_emu::warp_op(detail::StoreOp<Frag>::info, 0xffffffffu, &arg, attn_file_, attn_line_);
}

template <int M, int N, int K, class TD, class TAB, class LA, class LB, class TC>
inline void mma_sync(fragment<accumulator, M, N, K, TD> &d,
                     const fragment<matrix_a, M, N, K, TAB, LA> &a,
                     const fragment<matrix_b, M, N, K, TAB, LB> &b,
                     const fragment<accumulator, M, N, K, TC> &c, bool satf = false,
                     const char *attn_file_ = __builtin_FILE(), int attn_line_ = __builtin_LINE())
{
    typedef detail::MmaOp<fragment<accumulator, M, N, K, TD>, fragment<matrix_a, M, N, K, TAB, LA>,
                          fragment<matrix_b, M, N, K, TAB, LB>, fragment<accumulator, M, N, K, TC>>
        Op;
    typename Op::Arg arg{&d, &a, &b, &c, satf};
    ::attn_emu::warp_op(Op::info, 0xffffffffu, &arg, attn_file_, attn_line_);
}

} // namespace wmma
} // namespace nvcuda

#endif
