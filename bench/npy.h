/* NumPy .npy writer (format 1.0, C order) for --dump. */
#ifndef ATTN_NPY_H
#define ATTN_NPY_H

#include <stdint.h>

/* descr: "<f8", "<f4", "<i4" or "<u2" (bf16 bits). Returns 0 or -1 (errno set). */
int attn_npy_write(const char *path, const char *descr, int ndim, const int64_t *shape,
                   const void *data, int64_t elem_size);

#endif
