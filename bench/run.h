/* The whole program behind main(): parse, run, and return the exit status
 * (0 all ok, 1 a variant failed its check, 2 bad usage). */
#ifndef ATTN_RUN_H
#define ATTN_RUN_H
int attn_main(int argc, char **argv);
#endif
