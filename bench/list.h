/* --list: what the registry holds, for people (and, with --markdown, for documents). */
#ifndef ATTN_LIST_H
#define ATTN_LIST_H

#include "exec.h"
#include "registry.h"

/* The device line, then per suite its axes (help, default, sweep grids) and its selected
 * variants, each runnable or skipped here with why. */
void attn_list(const attn_select_t *sel, const char *device, const attn_suite_t *const *suites,
               int ns);

/* A Markdown table with one row per selected variant of each suite, in registry order:
 * | suite | variant | backend | dtype | about | status |. The same on every machine: it says
 * nothing about what can run here. '|' in a cell is escaped. */
void attn_list_markdown(const attn_select_t *sel, const attn_suite_t *const *suites, int ns);

#endif
