/* --list: what the registry holds and what of it can run here. */
#ifndef ATTN_LIST_H
#define ATTN_LIST_H

#include "exec.h"
#include "registry.h"

/* The device line, then per suite its axes (help, default, sweep grids) and its selected
 * variants, each runnable or skipped here with why. */
void attn_list(const attn_select_t *sel, const char *device, const attn_suite_t *const *suites,
               int ns);

#endif
