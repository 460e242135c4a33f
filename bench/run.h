/* The whole program behind main(): parse, run, and return the exit status (attn_exit_t, or
 * 128 + signal when stopped). */
#ifndef ATTN_RUN_H
#define ATTN_RUN_H

/* The exit statuses of a run (attnbench --help, docs/cli.md). */
typedef enum attn_exit {
    ATTN_EXIT_OK = 0,        /* something was checked, and nothing failed */
    ATTN_EXIT_FAILED = 1,    /* a variant failed: its check, a crash, a hang */
    ATTN_EXIT_USAGE = 2,     /* bad usage; the message names the bad value */
    ATTN_EXIT_UNCHECKED = 3, /* nothing was checked: every selected variant skipped */
} attn_exit_t;

int attn_main(int argc, char **argv);
#endif
