#include "npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
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

int attn_npy_read_f8(const char *path, int maxdims, int *ndim, int64_t *shape, double **data,
                     char *err, size_t errlen)
{
    *data = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno)), -1;
    unsigned char pre[12];
    char *hdr = NULL;
    int rc = -1;
    size_t hlen = 0;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6)) {
        snprintf(err, errlen, "%s: not a .npy file", path);
        goto out;
    }
    if (pre[6] == 1) hlen = pre[8] | (size_t)pre[9] << 8;
    else if (fread(pre + 10, 1, 2, f) == 2)
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    if (!hlen || hlen > 1 << 20 || !(hdr = calloc(hlen + 1, 1)) || fread(hdr, 1, hlen, f) != hlen) {
        snprintf(err, errlen, "%s: unreadable .npy header", path);
        goto out;
    }
    if (!strstr(hdr, "'descr': '<f8'") || !strstr(hdr, "'fortran_order': False")) {
        snprintf(err, errlen, "%s: not a C-order float64 (<f8) array", path);
        goto out;
    }
    const char *p = strstr(hdr, "'shape': (");
    if (!p) {
        snprintf(err, errlen, "%s: .npy header without a shape", path);
        goto out;
    }
    p += 10;
    int64_t numel = 1;
    *ndim = 0;
    while (*p && *p != ')') {
        char *end;
        long long d = strtoll(p, &end, 10);
        if (end == p || d < 0 || *ndim >= maxdims || (d && numel > INT64_MAX / 8 / d)) {
            snprintf(err, errlen, "%s: a shape of more than %d dims, or a bad one", path, maxdims);
            goto out;
        }
        shape[(*ndim)++] = d, numel *= d;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    if (!(*data = malloc((size_t)(numel ? numel : 1) * sizeof **data)) ||
        fread(*data, sizeof **data, (size_t)numel, f) != (size_t)numel) {
        snprintf(err, errlen, "%s: %lld values expected, fewer read", path, (long long)numel);
        free(*data), *data = NULL;
        goto out;
    }
    rc = 0;
out:
    free(hdr);
    fclose(f);
    return rc;
}
