/* The results reader moved to results.h (its text tables keep the attn_table_* names); this
 * header stays for code that still includes it by its old name. */
#include "results.h"
