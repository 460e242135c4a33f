/* Plugins (bench/plugin.h): dlopen, check, and turn each plugin variant into a registry row of
 * its suite. The rows' callbacks translate the registry's (suite, case values) into the public
 * attnbench_case_t; nothing here knows a suite by name. */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/attnbench/plugin.h"

extern const char attn_build_id[]; /* generated: tools/build_id.py */

/* One plugin variant as a registry row: ctx of the row. */
typedef struct plugin_row {
    const attn_plugin_lib_t *lib;
    const attnbench_variant_t *pv;
    char about[512];
} plugin_row_t;

static attn_plugin_lib_t libs[ATTN_MAX_PLUGINS];
static int nlibs;
/* Suites some plugin joins: the built-in suite and its copy with the rows appended. */
static struct joined {
    const attn_suite_t *orig;
    attn_suite_t copy;
} joined[ATTN_MAX_PLUGINS];
static int njoined;

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        const uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        const uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, h, sizeof a);
    for (int i = 0; i < 64; i++) {
        const uint32_t t1 = a[7] + (ROR(a[4], 6) ^ ROR(a[4], 11) ^ ROR(a[4], 25)) +
                            ((a[4] & a[5]) ^ (~a[4] & a[6])) + K256[i] + w[i];
        const uint32_t t2 = (ROR(a[0], 2) ^ ROR(a[0], 13) ^ ROR(a[0], 22)) +
                            ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof *a);
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++) h[i] += a[i];
}

/* The file's SHA-256 as hex into out[65]; -1 when it cannot be read. */
static int sha256_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char buf[128];
    uint64_t total = 0;
    size_t got;
    while ((got = fread(buf, 1, 64, f)) == 64) {
        sha256_block(h, buf);
        total += 64;
    }
    const int bad = ferror(f);
    fclose(f);
    if (bad) return -1;
    total += got;
    /* padding: 0x80, zeros, the bit length big-endian, to a multiple of 64 bytes */
    memset(buf + got, 0, sizeof buf - got);
    buf[got] = 0x80;
    const size_t end = got + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++) buf[end - 1 - i] = (unsigned char)((total * 8) >> (8 * i));
    for (size_t o = 0; o < end; o += 64) sha256_block(h, buf + o);
    for (int i = 0; i < 8; i++) snprintf(out + 8 * i, 9, "%08x", h[i]);
    return 0;
}

/* ---------------------------------------------------------------- the rows' callbacks */

/* The public view of case v of suite s. */
typedef struct pcase {
    attnbench_case_t c;
    const char *names[ATTN_MAX_AXES];
    attnbench_tensor_t t[ATTN_MAX_TENSORS + 1];
} pcase_t;

static void tensor_of(attnbench_tensor_t *p, const attn_tensor_t *t)
{
    *p = (attnbench_tensor_t){t->name, t->kind == ATTN_T_INT32 ? ATTNBENCH_INT32 : ATTNBENCH_FLOAT,
                              t->ndim, {0}, t->dims};
    for (int i = 0; i < t->ndim && i < ATTNBENCH_MAX_DIMS; i++) p->shape[i] = t->shape[i];
}

static const attnbench_case_t *case_of(pcase_t *pc, const attn_suite_t *s, const int64_t *v)
{
    attn_layout_t L;
    s->layout(s, v, &L);
    for (int i = 0; i < s->naxes; i++) pc->names[i] = s->axes[i].name;
    for (int i = 0; i < L.nin; i++) tensor_of(&pc->t[i], &L.in[i]);
    tensor_of(&pc->t[L.nin], &L.out);
    pc->c = (attnbench_case_t){s->name, s->naxes, pc->names, v, L.nin, pc->t, &pc->t[L.nin]};
    return &pc->c;
}

static const plugin_row_t *row_of(const attn_variant_t *x) { return x->ctx; }

static const char *p_supports(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v)
{
    pcase_t pc;
    const attnbench_variant_t *pv = row_of(x)->pv;
    return pv->supports ? pv->supports(case_of(&pc, s, v)) : NULL;
}

static size_t p_workspace(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v)
{
    pcase_t pc;
    const attnbench_variant_t *pv = row_of(x)->pv;
    return pv->workspace ? pv->workspace(case_of(&pc, s, v)) : 0;
}

static int p_run(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v,
                 const void *const *in, void *out, void *ws, void *stream)
{
    pcase_t pc;
    const plugin_row_t *r = row_of(x);
    const int rc = r->pv->run(case_of(&pc, s, v), in, out, ws, stream);
    if (rc && r->pv->error_string) /* the registry's error_string has no row to ask */
        fprintf(stderr, "%s: %s: error %d: %s\n", r->lib->source, r->pv->name, rc,
                r->pv->error_string(rc));
    return rc;
}

const attn_plugin_lib_t *attn_plugin_of(const attn_variant_t *x)
{
    return x && x->run == p_run ? row_of(x)->lib : NULL;
}

/* ---------------------------------------------------------------- loading */

/* The suite as plugins have extended it so far (the copy), or NULL when none has. */
static struct joined *joined_of(const attn_suite_t *s)
{
    for (int i = 0; i < njoined; i++)
        if (joined[i].orig == s) return &joined[i];
    return NULL;
}

static const char *dtype_ok(int d, attn_dtype_t *out)
{
    switch (d) {
    case ATTNBENCH_F64: *out = ATTN_F64; return NULL;
    case ATTNBENCH_F32: *out = ATTN_F32; return NULL;
    case ATTNBENCH_BF16: *out = ATTN_BF16; return NULL;
    case ATTNBENCH_F16: *out = ATTN_F16; return NULL;
    }
    return "dtype";
}

/* Variant pv of library lib as a row of its suite. 0, or -1 with why in err. */
static int add_row(attn_plugin_lib_t *lib, const attnbench_variant_t *pv, char *err, size_t n)
{
    const attn_suite_t *s = pv->suite ? attn_suite_named(pv->suite) : NULL;
    if (!s) {
        int off = snprintf(err, n, "plugin %s: variant '%s' names an unknown suite '%s' (known:",
                           lib->path, pv->name ? pv->name : "?", pv->suite ? pv->suite : "(null)");
        for (int i = 0; attn_suites[i] && off > 0 && (size_t)off < n; i++)
            off += snprintf(err + off, n - (size_t)off, " %s", attn_suites[i]->name);
        if (off > 0 && (size_t)off < n) snprintf(err + off, n - (size_t)off, ")");
        return -1;
    }
    attn_dtype_t dt;
    if (!pv->name || !*pv->name || !pv->run || (pv->backend != ATTNBENCH_CPU &&
        pv->backend != ATTNBENCH_GPU) || dtype_ok(pv->dtype, &dt)) {
        snprintf(err, n, "plugin %s: variant '%s' of suite %s lacks a name or run(), or has a "
                 "backend (%d) or dtype (%d) outside the ABI", lib->path,
                 pv->name ? pv->name : "(null)", s->name, pv->backend, pv->dtype);
        return -1;
    }
    if (((dt == ATTN_BF16 || dt == ATTN_F16) && pv->backend == ATTNBENCH_CPU) ||
        (dt == ATTN_F64 && pv->backend == ATTNBENCH_GPU)) {
        snprintf(err, n, "plugin %s: variant '%s' of suite %s: dtype %s on the %s is not "
                 "supported (CPU: f32 or f64; GPU: f32, bf16 or f16)", lib->path, pv->name, s->name,
                 attn_dtype_name(dt), pv->backend == ATTNBENCH_GPU ? "GPU" : "CPU");
        return -1;
    }
    struct joined *j = joined_of(s);
    const attn_suite_t *cur = j ? &j->copy : s;
    for (int i = 0; i < cur->nvariants; i++) {
        const attn_variant_t *y = &cur->variants[i];
        if (strcmp(y->name, pv->name)) continue;
        const attn_plugin_lib_t *other = attn_plugin_of(y);
        snprintf(err, n, "plugin %s: variant '%s' of suite %s collides with %s of the same name; "
                 "rename it", lib->path, pv->name, s->name,
                 other ? other->path : "the built-in variant");
        return -1;
    }
    if (!j) {
        if (njoined == ATTN_MAX_PLUGINS) {
            snprintf(err, n, "plugin %s: plugins join more than %d suites", lib->path, ATTN_MAX_PLUGINS);
            return -1;
        }
        j = &joined[njoined++];
        j->orig = s;
        j->copy = *s;
    }
    attn_variant_t *vs = malloc(sizeof *vs * (size_t)(j->copy.nvariants + 1));
    plugin_row_t *r = calloc(1, sizeof *r);
    if (!vs || !r) {
        free(vs), free(r);
        snprintf(err, n, "plugin %s: out of memory", lib->path);
        return -1;
    }
    memcpy(vs, j->copy.variants, sizeof *vs * (size_t)j->copy.nvariants);
    r->lib = lib;
    r->pv = pv;
    snprintf(r->about, sizeof r->about, "%s [%s]", pv->about ? pv->about : "", lib->source);
    const int gpu = pv->backend == ATTNBENCH_GPU;
    const char *avail = NULL;
    if (gpu && lib->emu_set_schedule)
        avail = "compiled for the host emulator (tools/emu-cc): runs under --backend emu only";
#ifndef ATTN_HAVE_CUDA
    else if (gpu)
        avail = "built without CUDA";
#endif
    vs[j->copy.nvariants] = (attn_variant_t){
        .name = pv->name, .backend = gpu ? ATTN_GPU : ATTN_CPU, .dtype = dt, .tensor_cores = -1,
        .kernel_file = lib->path, .about = r->about, .available = avail,
        .supports = p_supports, .workspace = p_workspace, .run = p_run, .ctx = r,
        .outputs = 1 /* ABI 1: one output */};
    if (j->copy.variants != s->variants) free((void *)j->copy.variants);
    j->copy.variants = vs;
    j->copy.nvariants++;
    return 0;
}

static int load_one(const char *path, char *err, size_t n)
{
    if (nlibs == ATTN_MAX_PLUGINS) {
        snprintf(err, n, "plugin %s: more than %d plugins", path, ATTN_MAX_PLUGINS);
        return -1;
    }
    attn_plugin_lib_t *lib = &libs[nlibs];
    memset(lib, 0, sizeof *lib);
    snprintf(lib->path, sizeof lib->path, "%s", path);
    /* dlopen searches the library path for a name without '/': a plugin is a file */
    char rel[1100];
    snprintf(rel, sizeof rel, "%s%s", strchr(path, '/') ? "" : "./", path);
    if (sha256_file(path, lib->sha256)) {
        snprintf(err, n, "plugin %s: not loadable: %s", path, strerror(errno));
        return -1;
    }
    /* RTLD_LOCAL: two plugins (and an emulated plugin's CUDA stand-ins) never meet */
    lib->handle = dlopen(rel, RTLD_NOW | RTLD_LOCAL);
    if (!lib->handle) {
        snprintf(err, n, "plugin %s: not loadable: %s", path, dlerror());
        return -1;
    }
    const attnbench_plugin_t *(*entry)(void) = NULL;
    *(void **)&entry = dlsym(lib->handle, "attnbench_plugin");
    if (!entry) {
        snprintf(err, n, "plugin %s: no entry point attnbench_plugin() (include "
                 "attnbench/plugin.h and define it with ATTNBENCH_PLUGIN_ENTRY)", path);
        return -1;
    }
    const attnbench_plugin_t *p = entry();
    if (!p || p->abi != ATTNBENCH_PLUGIN_ABI) {
        snprintf(err, n, "plugin %s: ABI version %d, this attnbench reads version %d: rebuild it "
                 "against this attnbench's include/attnbench/plugin.h", path, p ? p->abi : -1,
                 ATTNBENCH_PLUGIN_ABI);
        return -1;
    }
    if (p->nvariants < 1 || !p->variants) {
        snprintf(err, n, "plugin %s: declares no variants", path);
        return -1;
    }
    /* An emulated plugin (tools/emu-cc) carries the emulator runtime of the tree it was compiled
     * against: it must be this program's, as for the emulator module (bench/emu.c). */
    const char *(*module_id)(void) = NULL;
    *(void **)&module_id = dlsym(lib->handle, "attn_emu_build_id");
    if (module_id) {
        if (strcmp(module_id(), attn_build_id)) {
            snprintf(err, n, "plugin %s: compiled for the emulator of other sources (build id %s, "
                     "this program %s): compile it again with tools/emu-cc, after rebuilding "
                     "attnbench if the tree changed (ninja -C build)", path, module_id(),
                     attn_build_id);
            return -1;
        }
        *(void **)&lib->emu_set_schedule = dlsym(lib->handle, "attn_emu_set_schedule");
        *(void **)&lib->emu_last_error = dlsym(lib->handle, "attn_emu_last_error");
        if (!lib->emu_set_schedule || !lib->emu_last_error) {
            snprintf(err, n, "plugin %s: has an emulator build id but not its runtime "
                     "(compile it with tools/emu-cc)", path);
            return -1;
        }
    }
    const char *base = strrchr(path, '/');
    char sha[13]; /* a copy: snprintf from one field of libs[] into another */
    snprintf(sha, sizeof sha, "%s", lib->sha256);
    snprintf(lib->source, sizeof lib->source, "plugin %s sha256:%s", base ? base + 1 : path, sha);
    nlibs++;
    for (int i = 0; i < p->nvariants; i++)
        if (add_row(lib, &p->variants[i], err, n)) return -1;
    return 0;
}

int attn_plugins_load(const char *const *paths, int n, char *err, size_t errlen)
{
    const char *env = getenv("ATTNBENCH_PLUGINS");
    if (env && *env) {
        char *list = strdup(env);
        if (!list) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        int rc = 0;
        char *save = NULL;
        for (char *p = strtok_r(list, ":", &save); p && !rc; p = strtok_r(NULL, ":", &save))
            rc = load_one(p, err, errlen);
        free(list);
        if (rc) return -1;
    }
    for (int i = 0; i < n; i++)
        if (load_one(paths[i], err, errlen)) return -1;
    return 0;
}

const attn_suite_t *attn_plugin_suite(const attn_suite_t *s)
{
    const struct joined *j = joined_of(s);
    return j ? &j->copy : s;
}

const char *attn_plugin_source(const char *suite, const char *variant)
{
    for (int i = 0; i < njoined && suite && variant; i++) {
        if (strcmp(joined[i].orig->name, suite)) continue;
        for (int j = 0; j < joined[i].copy.nvariants; j++) {
            const attn_variant_t *x = &joined[i].copy.variants[j];
            if (!strcmp(x->name, variant)) return attn_plugin_of(x) ? attn_plugin_of(x)->source : NULL;
        }
    }
    return NULL;
}
