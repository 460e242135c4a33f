#include "registry.h"

#include <string.h>

const char *attn_dtype_name(attn_dtype_t t)
{
    switch (t) {
    case ATTN_F64: return "f64";
    case ATTN_F32: return "f32";
    case ATTN_BF16: return "bf16";
    case ATTN_F16: return "f16";
    }
    return "?";
}

const char *attn_backend_name(attn_backend_t b) { return b == ATTN_GPU ? "gpu" : "cpu"; }

int attn_dtype_size(attn_dtype_t t) { return t == ATTN_F64 ? 8 : t == ATTN_F32 ? 4 : 2; }

const attn_suite_t *attn_suite_named(const char *name)
{
    for (int i = 0; attn_suites[i]; i++)
        if (!strcmp(attn_suites[i]->name, name)) return attn_suites[i];
    return NULL;
}

int attn_axis_index(const attn_suite_t *s, const char *name)
{
    for (int i = 0; i < s->naxes; i++)
        if (strcmp(s->axes[i].name, name) == 0) return i;
    return -1;
}

int64_t attn_tensor_numel(const attn_tensor_t *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int attn_run_reference(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v,
                       const void *const *in, void *out, void *ws, void *stream)
{
    (void)x, (void)ws, (void)stream;
    s->reference(s, v, in, out, NULL);
    return 0;
}
