/* An out-of-tree mhsa variant on the CPU, in C: a plugin (include/attnbench/plugin.h).
 *
 * Build, against the installed header (PREFIX/include; the tree's include/ works too):
 *
 *     cc -O2 -shared -fPIC -I PREFIX/include mhsa_cpu.c -o mhsa_cpu.so -lm
 *
 * Check it: attnbench --plugin ./mhsa_cpu.so --suite mhsa --variant my-cpu --check
 *
 * What mhsa computes (docs/suites.md): for each batch b, head h and query row i,
 * O[b,h,i,:] = softmax_j(Q[b,h,i,:]·K[b,h,j,:] / √d) · V[b,h,j,:] over the keys j that survive
 * the masks (j < kv_len[b] when the case has kvpad = 1; j <= i when causal = 1); a row with no
 * key left is 0. Two passes per row: the maximum logit, then the exponentials. */
#include <math.h>
#include <stdlib.h>

#include <attnbench/plugin.h>

static int run(const attnbench_case_t *c, const void *const *in, void *out, void *ws, void *stream)
{
    (void)stream;
    const int64_t B = attnbench_axis(c, "B", 1), H = attnbench_axis(c, "H", 1);
    const int64_t Nq = attnbench_axis(c, "N", 1), Nk = attnbench_axis(c, "Nk", 1);
    const int64_t d = attnbench_axis(c, "d", 1);
    const int causal = (int)attnbench_axis(c, "causal", 0);
    /* in[3] (kv_len) is always there; it holds lengths only when the case pads */
    const int32_t *kv_len = attnbench_axis(c, "kvpad", 0) ? in[3] : NULL;
    const float *q = in[0], *k = in[1], *v = in[2];
    float *o = out;
    float *p = ws; /* Nk logits of one row: the workspace */
    const float scale = 1.0f / sqrtf((float)d);
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++) {
            const int64_t bh = b * H + h;
            const float *kb = k + bh * Nk * d, *vb = v + bh * Nk * d;
            for (int64_t i = 0; i < Nq; i++) {
                const float *qi = q + (bh * Nq + i) * d;
                int64_t n = Nk;
                if (kv_len && kv_len[b] < n) n = kv_len[b] < 0 ? 0 : kv_len[b];
                if (causal && i + 1 < n) n = i + 1;
#ifdef PLANT_BUG
                if (n > 1) n--; /* planted bug: the last surviving key is dropped */
#endif
                float m = -INFINITY, l = 0.0f;
                for (int64_t j = 0; j < n; j++) {
                    float s = 0.0f;
                    for (int64_t x = 0; x < d; x++) s += qi[x] * kb[j * d + x];
                    p[j] = s * scale;
                    if (p[j] > m) m = p[j];
                }
                for (int64_t j = 0; j < n; j++) l += (p[j] = expf(p[j] - m));
                float *oi = o + (bh * Nq + i) * d;
                for (int64_t x = 0; x < d; x++) oi[x] = 0.0f;
                for (int64_t j = 0; j < n; j++)
                    for (int64_t x = 0; x < d; x++) oi[x] += p[j] / l * vb[j * d + x];
            }
        }
    return 0;
}

/* What this example does not do is refused with a reason (the row is a skip, not a failure):
 * grouped K/V heads, the bottom-right causal diagonal and windows. */
static const char *supports(const attnbench_case_t *c)
{
    if (attnbench_axis(c, "Hkv", 0) != attnbench_axis(c, "H", 0)) return "no grouped K/V heads";
    if (attnbench_axis(c, "align", 0)) return "causal top-left only";
    if (attnbench_axis(c, "window", 0)) return "no window";
    return NULL;
}

static size_t workspace(const attnbench_case_t *c)
{
    return (size_t)attnbench_axis(c, "Nk", 1) * sizeof(float);
}

static const attnbench_variant_t variants[] = {{
    .suite = "mhsa",
    .name = "my-cpu",
    .backend = ATTNBENCH_CPU,
    .dtype = ATTNBENCH_F32,
    .about = "example plugin: CPU float32, two passes per row",
    .supports = supports,
    .workspace = workspace,
    .run = run,
}};

ATTNBENCH_PLUGIN_ENTRY
{
    static const attnbench_plugin_t plugin = {ATTNBENCH_PLUGIN_ABI, 1, variants};
    return &plugin;
}
