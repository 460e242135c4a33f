/* --list and --list --markdown. */
#include "list.h"
#include "plugin.h"

#include <stdio.h>
#include <string.h>

static void list_axis(const attn_axis_t *a)
{
    printf("    %-8s %-50s default ", a->name, a->help);
    if (a->def == ATTN_UNSET) printf("derived");
    else printf("%lld", (long long)a->def);
    if (a->nsweep) {
        printf("; sweep");
        for (int j = 0; j < a->nsweep; j++) printf("%c%lld", j ? ',' : ' ', (long long)a->sweep[j]);
    }
    if (a->nsweep_cpu) {
        printf("; cpu sweep");
        for (int j = 0; j < a->nsweep_cpu; j++) printf("%c%lld", j ? ',' : ' ', (long long)a->sweep_cpu[j]);
    }
    printf("\n");
}

void attn_list(const attn_select_t *sel, const char *device, const attn_suite_t *const *suites,
               int ns)
{
    printf("device: %s\n\n", device);
    for (int k = 0; k < ns; k++) {
        const attn_suite_t *s = suites[k];
        printf("suite %s — %s\n  axes:\n", s->name, s->title);
        for (int i = 0; i < s->naxes; i++) list_axis(&s->axes[i]);
        printf("  variants:\n");
        int w = 12; /* the name column fits the suite's longest name */
        for (int j = 0; j < s->nvariants; j++)
            if ((int)strlen(s->variants[j].name) > w) w = (int)strlen(s->variants[j].name);
        for (int j = 0; j < s->nvariants; j++) {
            const attn_variant_t *x = &s->variants[j];
            if (!attn_selected(sel, x)) continue;
            const char *why = attn_unavailable(sel, s, x);
            printf("    %-*s %-3s %-4s %-8s %s%s%s\n", w, x->name, attn_backend_name(x->backend),
                   attn_dtype_name(x->dtype), why ? "skipped" : "runnable", x->about,
                   why ? " — " : "", why ? why : "");
        }
        printf("\n");
    }
}

/* A table cell: '|' escaped, line breaks as spaces. */
static void cell(const char *s)
{
    putchar(' ');
    for (; s && *s; s++) {
        if (*s == '|') fputs("\\|", stdout);
        else putchar(*s == '\n' || *s == '\r' ? ' ' : *s);
    }
    fputs(" |", stdout);
}

void attn_list_markdown(const attn_select_t *sel, const attn_suite_t *const *suites, int ns)
{
    printf("| suite | variant | backend | dtype | about | status |\n");
    printf("|---|---|---|---|---|---|\n");
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < suites[k]->nvariants; j++) {
            const attn_variant_t *x = &suites[k]->variants[j];
            if (!attn_selected(sel, x)) continue;
            putchar('|');
            cell(suites[k]->name);
            cell(x->name);
            cell(attn_backend_name(x->backend));
            cell(attn_dtype_name(x->dtype));
            cell(x->about);
            cell(attn_plugin_of(x)         ? "a plugin from outside the tree: not in CI"
                 : x->backend == ATTN_CPU ? "checked in CI against the reference"
                                          : "emulated in CI; untested on GPU");
            putchar('\n');
        }
}
