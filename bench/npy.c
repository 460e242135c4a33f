#include "npy.h"

#include <stdio.h>
#include <string.h>

int attn_npy_write(const char *path, const char *descr, int ndim, const int64_t *shape,
                   const void *data, int64_t elem_size)
{
    char dict[256];
    int off = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                       descr);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        off += snprintf(dict + off, sizeof dict - (size_t)off, "%lld%s", (long long)shape[i],
                        ndim == 1 ? "," : i + 1 < ndim ? ", " : "");
        numel *= shape[i];
    }
    off += snprintf(dict + off, sizeof dict - (size_t)off, "), }");
    /* magic(6) + version(2) + header_len(2) + dict + pad + '\n' is a multiple of 64 */
    size_t total = 10 + (size_t)off + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)off + pad + 1;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                             (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(dict, 1, (size_t)off, f) == (size_t)off;
    for (size_t i = 0; ok && i < pad; i++) ok = fputc(' ', f) != EOF;
    ok = ok && fputc('\n', f) != EOF;
    ok = ok && fwrite(data, (size_t)elem_size, (size_t)numel, f) == (size_t)numel;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}
