/* Lists the GPU variants built into this binary (every suite in the registry; variants with an
 * `available` reason are reported on stderr and left out), one line each:
 *   list_kernels            "kernel_file tensor_cores"   (1 must use tensor cores, 0 must not,
 *                           -1 not checked), read by the SASS check (tests/sass_check.sh)
 *   list_kernels --budgets  "kernel_file<TAB>sass_budget" ("-" when the row declares none),
 *                           read by tools/sass_report.py --budgets (tests/sass_budgets.sh)
 * so neither check keeps a hard-coded list of files. Exit 0, 1 when nothing is listed or a row
 * has no kernel_file, 2 on an unknown argument. */
#include <stdio.h>
#include <string.h>

#include "registry.h"

int main(int argc, char **argv)
{
    int budgets = 0;
    if (argc == 2 && strcmp(argv[1], "--budgets") == 0) budgets = 1;
    else if (argc != 1) {
        fprintf(stderr, "usage: list_kernels [--budgets]\n");
        return 2;
    }
    int n = 0;
    for (int i = 0; attn_suites[i]; i++)
        for (int j = 0; j < attn_suites[i]->nvariants; j++) {
            const attn_variant_t *x = &attn_suites[i]->variants[j];
            if (x->backend != ATTN_GPU) continue;
            if (x->available || !x->run) { /* nothing built to inspect */
                fprintf(stderr, "list_kernels: %s/%s not checked: %s\n", attn_suites[i]->name,
                        x->name, x->available ? x->available : "no run function");
                continue;
            }
            if (!x->kernel_file || !*x->kernel_file) {
                fprintf(stderr, "list_kernels: %s/%s has no kernel_file\n", attn_suites[i]->name,
                        x->name);
                return 1;
            }
            if (budgets) {
                /* one line per row: a budget may not hold a tab or a newline */
                const char *b = x->sass_budget && *x->sass_budget ? x->sass_budget : "-";
                if (strpbrk(b, "\t\n")) {
                    fprintf(stderr, "list_kernels: %s/%s: sass_budget holds a tab or newline\n",
                            attn_suites[i]->name, x->name);
                    return 1;
                }
                printf("%s\t%s\n", x->kernel_file, b);
            } else
                printf("%s %d\n", x->kernel_file, x->tensor_cores);
            n++;
        }
    return n ? 0 : 1;
}
