/* attnbench: check GPU attention kernels against a CPU reference, then time them. */
#include "run.h"

int main(int argc, char **argv) { return attn_main(argc, argv); }
