/* The emulation executor: the host-compiled twins of GPU variants (bench/emu.h), run under each
 * thread schedule; never timed, emulation says nothing about speed. A plugin compiled by
 * tools/emu-cc is its own twin, with its own copy of the emulator runtime (bench/plugin.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "emu/emu_api.h"
#include "exec.h"
#include "plugin.h"

static char why_not[256]; /* why the module did not load */

static const char *unavailable(const attn_exec_t *e, const attn_suite_t *s, const attn_variant_t *x)
{
    (void)e;
    /* A plugin row: emulated when its library was compiled by tools/emu-cc, which carries its
     * own emulator runtime; the module is not needed for it. */
    const attn_plugin_lib_t *lib = attn_plugin_of(x);
    if (lib)
        return lib->emu_set_schedule ? NULL
                                     : "not compiled for the emulator: compile the plugin with "
                                       "tools/emu-cc to run it under --backend emu";
    static int opened;
    if (!opened) { /* loaded on first use: --plan never needs it */
        opened = 1;
        attn_emu_open(why_not, sizeof why_not);
    }
    if (why_not[0]) return why_not;
    const attn_variant_t *y = attn_emu_variant(s->name, x->name);
    if (!y) return "not in the emulator build";
    return y->available ? y->available : y->run ? NULL : "not implemented";
}

static const attn_variant_t *variant(const attn_exec_t *e, const attn_suite_t *s,
                                     const attn_variant_t *x)
{
    (void)e;
    return attn_plugin_of(x) ? x : attn_emu_variant(s->name, x->name);
}

static const attn_suite_t *suite(const attn_exec_t *e, const attn_suite_t *s)
{
    (void)e;
    return attn_emu_suite(s->name);
}

static const char *over_budget(const attn_exec_t *e, double flops, char *buf, size_t n)
{
    if (flops <= e->o->emu_max_gflop * 1e9) return NULL;
    snprintf(buf, n, "%.2f GFLOP is above the emulation budget (--emu-max-gflop %g)", flops / 1e9,
             e->o->emu_max_gflop);
    return buf;
}

static const char *where(const attn_exec_t *e, const char *cpu_name, char *buf, size_t n)
{
    (void)e;
    snprintf(buf, n, "emulator on %s", cpu_name);
    return buf;
}

/* The emulator that runs x: its plugin library's own runtime, or the module. */
static void schedule(const attn_variant_t *x, int mode, uint64_t seed)
{
    const attn_plugin_lib_t *lib = attn_plugin_of(x);
    if (lib) lib->emu_set_schedule(mode, seed);
    else attn_emu_schedule(mode, seed);
}

static const char *emu_error(const attn_variant_t *x)
{
    const attn_plugin_lib_t *lib = attn_plugin_of(x);
    return lib ? lib->emu_last_error() : attn_emu_error();
}

/* Where two schedules' outputs first differ, as a message in err. */
static void race(const attn_xrun_t *xr, const unsigned char *first, const char *first_sched,
                 const char *sched, char *err, size_t n)
{
    const unsigned char *out = xr->out;
    const size_t es = (size_t)attn_dtype_size(xr->x->dtype);
    size_t at = 0;
    while (at < xr->osz && out[at] == first[at]) at++;
    /* which output the byte is in (attn_out_offset), and its element there */
    const attn_layout_t *L = &xr->c->L;
    int i = 0;
    while (i + 1 < attn_nout(L) && attn_out_offset(L, i + 1, es) <= at) i++;
    const size_t off = attn_out_offset(L, i, es);
    const int64_t e = (int64_t)((at - off) / es);
    char idx[160];
    attn_index_str(attn_out_tensor(L, i), e, idx, sizeof idx);
    first += off, out += off;
    snprintf(err, n,
             "race: output differs between thread schedules (%s vs %s) at %s%s%s: "
             "%g vs %g — a missing barrier, or memory read before written?",
             first_sched, sched, i ? attn_out_tensor(L, i)->name : "", i ? " " : "", idx,
             attn_load(first, xr->x->dtype, e), attn_load(out, xr->x->dtype, e));
}

/* Run under each schedule of the emulator (thread order, when cp.async copies land, the poison,
 * the exponentials: bench/emu/emu_api.h) into xr->out, the workspace poisoned differently from
 * one schedule to the next: the outputs of the exact schedules must be bit-identical, else a
 * barrier is missing, a result depends on timing or on memory never written; the output with
 * the GPU's exponentials (not bit-identical by design) must be within the tolerance here, and
 * xr->out is left with the exact schedules' output for the caller's check. bf16 and f16
 * variants read 16-bit patterns, as on the device. */
static int checked_run(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n)
{
    static const char *const name[ATTN_EMU_NSCHEDULES] = ATTN_EMU_SCHEDULE_NAMES;
    if (attn_host_workspace(xr, err, n)) return -1;
    for (int i = 0; i < xr->c->L.nin; i++)
        xr->rin[i] = xr->bits[i] ? (const void *)xr->bits[i] : xr->in[i];
    unsigned char *first = malloc(xr->osz ? xr->osz : 1);
    if (!first) {
        snprintf(err, n, "out of host memory");
        return -1;
    }
    int rc = 0;
    for (int sched = 0; sched < ATTN_EMU_NSCHEDULES && !rc; sched++) {
        if (xr->c->tick) xr->c->tick(xr->c->arg);
        schedule(xr->x, sched, e->o->seed);
        memset(xr->out, 0xFF, xr->osz); /* NaN poison */
        if (xr->rws) /* NaN, or 3.4e38: a workspace read before it is written shows */
            memset(xr->rws, sched & 1 ? 0x7F : 0xFF, xr->wsz);
        if (xr->x->run(xr->s, xr->x, xr->c->v, xr->rin, xr->out, xr->rws, NULL)) {
            const char *why = emu_error(xr->x);
            snprintf(err, n, "emulated run failed (%s schedule): %s", name[sched],
                     why ? why : "launch error");
            rc = -1;
        } else if (sched == 0) {
            memcpy(first, xr->out, xr->osz);
        } else if (!ATTN_EMU_SCHEDULE_EXACT(sched)) {
            const int nout = attn_variant_nout(&xr->c->L, xr->x);
            const attn_check_t k = attn_case_compare(xr->c, attn_class_of(xr->x->dtype),
                                                     xr->x->dtype, xr->out, nout);
            if (!k.ok) {
                char idx[160];
                const attn_tensor_t *t = attn_out_tensor(&xr->c->L, k.output);
                attn_index_str(t, k.worst, idx, sizeof idx);
                /* the exact schedules' output too? then it is no question of exponentials */
                const int libm_ok = attn_case_compare(xr->c, attn_class_of(xr->x->dtype),
                                                      xr->x->dtype, first, nout).ok;
                snprintf(err, n,
                         "%s schedule: %s%smax |err| %.3g at %s (got %.6g, ref %.6g) > "
                         "tolerance %.3g, %lld non-finite: %s",
                         name[sched], k.output ? t->name : "", k.output ? ": " : "",
                         k.max_abs_err, idx, k.out_at_worst, k.ref_at_worst, k.tol_abs,
                         (long long)k.nonfinite,
                         libm_ok ? "passes with libm's exponentials only"
                                 : "fails with libm's exponentials too");
                rc = -1;
            }
            memcpy(xr->out, first, xr->osz);
        } else if (memcmp(first, xr->out, xr->osz)) {
            race(xr, first, name[0], name[sched], err, n);
            rc = -1;
        }
    }
    schedule(xr->x, 0, e->o->seed);
    free(first);
    return rc;
}

static void release(const attn_exec_t *e, attn_xrun_t *xr)
{
    (void)e;
    free(xr->rws);
    xr->rws = NULL;
}

static attn_exec_t emu = {
    .backend = "emu", .unavailable = unavailable, .variant = variant, .suite = suite,
    .over_budget = over_budget, .where = where, .checked_run = checked_run, .release = release,
};

const attn_exec_t *attn_exec_emu(const attn_opts_t *o)
{
    emu.o = o;
    return &emu;
}
