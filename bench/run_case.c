/* One case: decide which variants can take it, make its inputs, then check and time each
 * selected variant through its executor and write its row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case.h"
#include "check.h"
#include "progress.h"
#include "runner.h"

/* The case's tick: the child's heartbeat, and whether a stop signal came. */
static int tick(void *arg)
{
    run_heartbeat(arg);
    return attn_stop_signal != 0;
}

/* Why selected variant x cannot take case c here, or NULL; decided before any input exists. */
static const char *admit(run_t *r, const attn_case_t *c, attn_room_t *room,
                         const attn_variant_t *x, char *buf, size_t n)
{
    const attn_exec_t *e = attn_exec_of(&r->sel, x);
    const char *why = e->unavailable(e, c->s, x);
    if (!why && e->lost) why = e->lost(e);
    if (why) return why;
    const attn_suite_t *is = attn_exec_suite(e, c->s);
    x = attn_exec_variant(e, c->s, x);
    if (x->supports && (why = x->supports(is, x, c->v))) return why;
    if (e->over_budget && (why = e->over_budget(e, c->s->flops(c->s, c->v), buf, n))) return why;
    return attn_case_room(c, room, is, x, e->uses_device, buf, n);
}

/* Decide every variant from `from` on: res[j].status "-" (not run here), "skip" with why, or
 * NULL (to run). Returns how many are to run. */
static int admit_all(run_t *r, const attn_case_t *c, int from, result_t *res, int nv)
{
    attn_room_t room;
    attn_room_init(&room);
    int nrun = 0;
    for (int j = 0; j < nv; j++) {
        const attn_variant_t *x = &c->s->variants[j];
        res[j] = (result_t){.status = j >= from && attn_selected(&r->sel, x) &&
                                          (!r->o.sweep || !x->in_sweep || x->in_sweep(c->s, x, c->v))
                                      ? NULL
                                      : "-"};
        if (res[j].status) continue;
        char buf[sizeof res[j].reason];
        const char *why = admit(r, c, &room, x, buf, sizeof buf);
        if (!why) {
            nrun++;
            continue;
        }
        snprintf(res[j].reason, sizeof res[j].reason, "%s", why);
        res[j].status = "skip";
    }
    return nrun;
}

/* --dump of a variant's outputs: out-<variant> (bf16 and f16 widened to f32, so NumPy reads it
 * directly), and each further output as <name>-<variant>; the attention weights (layout's
 * weights_out) as weights-<variant> in f8, the form `plots --heatmap` reads, with the row-sum
 * slack of the variant's dtype (run_dump_variant_weights). */
static void dump_output(run_t *r, const attn_case_t *c, const attn_variant_t *x, const void *out)
{
    const size_t es = (size_t)attn_dtype_size(x->dtype);
    for (int i = 0; i < attn_variant_nout(&c->L, x); i++) {
        const attn_tensor_t *t = attn_out_tensor(&c->L, i);
        const void *o = (const char *)out + attn_out_offset(&c->L, i, es);
        const int64_t no = attn_tensor_numel(t);
        char what[96];
        snprintf(what, sizeof what, "%s-%s", i ? t->name : "out", x->name);
        if (i && i == c->L.weights_out) {
            run_dump_variant_weights(r, c, x, t, o);
            continue;
        }
        if (x->dtype == ATTN_F64 || x->dtype == ATTN_F32) {
            run_dump(r, c, what, t, x->dtype == ATTN_F64 ? "<f8" : "<f4", o, (int64_t)es);
            continue;
        }
        float *f = malloc((size_t)no * sizeof *f);
        if (!f) return;
        for (int64_t e = 0; e < no; e++) f[e] = (float)attn_load(o, x->dtype, e);
        run_dump(r, c, what, t, "<f4", f, 4);
        free(f);
    }
}

/* The reason of a failed check: the non-finite outputs, or the worst error. */
static void check_failure(const attn_case_t *c, result_t *res)
{
    char idx[160];
    const attn_check_t *k = &res->chk;
    const attn_tensor_t *t = attn_out_tensor(&c->L, k->output);
    attn_index_str(t, k->worst, idx, sizeof idx);
    res->status = "fail";
    /* a further output is named: "a: max |err| ..." */
    const char *name = k->output ? t->name : "", *sep = k->output ? ": " : "";
    if (k->nonfinite)
        snprintf(res->reason, sizeof res->reason,
                 "%s%s%lld non-finite outputs (unwritten or NaN), first at %s: got %g, ref %g",
                 name, sep, (long long)k->nonfinite, idx, k->out_at_worst, k->ref_at_worst);
    else
        snprintf(res->reason, sizeof res->reason,
                 "%s%smax |err| %.3g at %s (got %.6g, ref %.6g) > tolerance %.3g", name, sep,
                 k->max_abs_err, idx, k->out_at_worst, k->ref_at_worst, k->tol_abs);
}

/* Check, then (unless --check) time, implementation x on case c with executor e. */
static void run_variant(run_t *r, const attn_exec_t *e, attn_case_t *c, const attn_variant_t *x,
                        result_t *res)
{
    char err[384] = "";
    if (x->backend == ATTN_GPU && x->dtype == ATTN_F64) {
        res->status = "skip";
        snprintf(res->reason, sizeof res->reason, "f64 GPU variants are not supported");
        return;
    }
    const int k = attn_class_of(x->dtype);
    attn_xrun_t xr = {0};
    if (attn_case_class(c, k, r->o.ref_threads, isatty(2) || r->o.sweep, err, sizeof err) ||
        attn_xrun_open(&xr, e, c, x, err, sizeof err) || e->checked_run(e, &xr, err, sizeof err))
        goto failed;
    res->chk = attn_case_compare(c, k, x->dtype, xr.out, attn_variant_nout(&c->L, x));
    res->checked = 1;
    res->rows_checked = c->rows_checked;
    res->rows = c->L.out_rows;
    if (r->o.dump) dump_output(r, c, x, xr.out);
    if (!res->chk.ok) {
        check_failure(c, res);
        goto out;
    }
    res->status = "ok";
    if (!r->o.check_only) {
        const int t = attn_exec_time(e, &xr, &res->st, &res->samples_ms, err, sizeof err);
        res->interrupted = t == -2;
        if (xr.clock_n) {
            res->clock_mhz = xr.clock_sum / xr.clock_n;
            res->clock_events = xr.clock_events;
        }
        if (t == -1) goto failed;
    }
    goto out;
failed:
    res->status = "fail";
    snprintf(res->reason, sizeof res->reason, "%s", err);
out:
    if (xr.c) attn_xrun_close(e, &xr);
}

/* Inputs (every variant still gets its row when they do not fit), and their --dump. */
static void make_inputs(run_t *r, attn_case_t *c, result_t *res, int nv)
{
    if (attn_case_inputs(c, r->o.seed, r->o.ref_gflop)) {
        for (int j = 0; j < nv; j++)
            if (!res[j].status) {
                res[j].status = "fail";
                snprintf(res[j].reason, sizeof res[j].reason, "out of host memory for the inputs");
            }
        return;
    }
    if (!r->o.dump) return;
    for (int i = 0; i < c->L.nin; i++)
        run_dump(r, c, c->L.in[i].name, &c->L.in[i],
                 c->L.in[i].kind == ATTN_T_INT32 ? "<i4" : "<f4", c->gen[i], 4);
    run_dump_rows(r, c);
    run_dump_weights(r, c);
}

int run_case(run_t *r, const attn_suite_t *s, const int64_t *v, int index, int pos, int ncases,
             attn_csv_t *csv, int from)
{
    attn_case_t c;
    attn_case_init(&c, s, v, index);
    c.tick = tick, c.arg = r;
    char cs[512];
    attn_case_str(s, v, cs, sizeof cs);
    attn_progress_hide();
    if (from) fprintf(stderr, "[%d/%d] %s %s (from variant %s, in a new process)\n", pos, ncases,
                      s->name, cs, s->variants[from].name);
    else fprintf(stderr, "[%d/%d] %s %s\n", pos, ncases, s->name, cs);

    /* Reasons that need no inputs, host and device memory among them: decided first, so a
     * case nobody can run allocates nothing. Rows are then written in registry order. */
    static result_t res[64];
    const int nv = s->nvariants < 64 ? s->nvariants : 64;
    int rc = 0;
    if (!admit_all(r, &c, from, res, nv)) {
        for (int j = 0; j < nv; j++)
            if (res[j].status[0] != '-') run_write_row(r, csv, s, &s->variants[j], v, &res[j]);
        return 0;
    }
    make_inputs(r, &c, res, nv);
    for (int j = 0; j < nv; j++) {
        const attn_variant_t *x = &s->variants[j];
        if (res[j].status && res[j].status[0] == '-') continue; /* not selected */
        if (attn_stop_signal) goto done;                        /* no row for what did not run */
        const attn_exec_t *e = attn_exec_of(&r->sel, x);
        /* an error earlier in this case lost the context (in process): skip, with why */
        const char *lost = !res[j].status && e->lost ? e->lost(e) : NULL;
        if (lost) {
            res[j].status = "skip";
            snprintf(res[j].reason, sizeof res[j].reason, "%s", lost);
        }
        if (!res[j].status) {
            char label[640];
            snprintf(label, sizeof label, "%s/%s/%s", s->name, x->name, cs);
            res[j].status = "skip";
            run_child_send(r, 'B', j, NULL, 0);
            attn_nvtx_push(label);
            run_variant(r, e, &c, attn_exec_variant(e, s, x), &res[j]);
            attn_nvtx_pop();
            if (res[j].interrupted) goto done;
        }
        run_write_row(r, csv, s, x, v, &res[j]);
        free(res[j].samples_ms); /* written; res[] is reused by the next case */
        res[j].samples_ms = NULL;
        if (r->child_fd >= 0 && e->lost && e->lost(e)) {
            rc = CHILD_CONTEXT_LOST;
            goto done;
        }
    }
    if (r->o.dump)
        for (int k = 0; k < ATTN_NCLASSES; k++) {
            if (!c.cls[k].ready) continue;
            const char *dt = k == 1 ? "bf16" : "f16";
            char what[64];
            for (int i = 0; i < attn_nout(&c.L); i++) { /* ref, then e.g. ref-a; -bf16in ... */
                snprintf(what, sizeof what, "ref%s%s%s%s%s", i ? "-" : "",
                         i ? attn_out_tensor(&c.L, i)->name : "", k ? "-" : "", k ? dt : "",
                         k ? "in" : "");
                run_dump(r, &c, what, attn_out_tensor(&c.L, i), "<f8",
                         c.cls[k].ref + attn_out_offset(&c.L, i, 8) / 8, 8);
            }
            /* what 16-bit variants saw: the float inputs rounded (widened back to f32) */
            for (int i = 0; k && i < c.L.nin; i++) {
                snprintf(what, sizeof what, "%s-%s", c.L.in[i].name, dt);
                if (c.cls[k].bits[i])
                    run_dump(r, &c, what, &c.L.in[i], "<f4", c.cls[k].in[i], 4);
            }
        }
done:
    attn_case_free(&c);
    return rc;
}
