/* NumPy .npy writer (format 1.0, C order) for --dump. */
#ifndef ATTN_NPY_H
#define ATTN_NPY_H

#include <stddef.h>
#include <stdint.h>

/* descr: "<f8", "<f4", "<i4" or "<u2" (bf16 bits). Returns 0 or -1 (errno set). */
int attn_npy_write(const char *path, const char *descr, int ndim, const int64_t *shape,
                   const void *data, int64_t elem_size);

/* Read a little-endian float64 C-order .npy (format 1.x or 2.x, as --dump writes weights):
 * *ndim (≤ maxdims) and shape[], *data malloc'd (the caller frees). Returns 0, or -1 with why
 * in err (unreadable, not .npy, another dtype, Fortran order, too many dims, short data). */
int attn_npy_read_f8(const char *path, int maxdims, int *ndim, int64_t *shape, double **data,
                     char *err, size_t errlen);

#endif
