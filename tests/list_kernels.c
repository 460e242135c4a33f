/* Prints "kernel_file tensor_cores" for every GPU variant built into this binary (every suite
 * in the registry; variants with an `available` reason are reported on stderr and left out), one
 * line each (tensor_cores: 1 must use tensor cores, 0 must not, -1 not checked). The SASS check
 * (tests/sass_check.sh) reads this instead of a hard-coded list of files. */
#include <stdio.h>

#include "registry.h"

int main(void)
{
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
            printf("%s %d\n", x->kernel_file, x->tensor_cores);
            n++;
        }
    return n ? 0 : 1;
}
