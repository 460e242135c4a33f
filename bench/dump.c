/* --dump DIR: each tensor of a case as DIR/<suite>-<case>-<what>.npy, and manifest.json naming
 * every file with its role, dtype, shape and case. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "npy.h"
#include "runner.h"

int run_dump_open(run_t *r)
{
    char mpath[1280];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", r->o.dump);
    if (attn_mkdirs(r->o.dump, 1) || !(r->manifest = fopen(mpath, "w"))) {
        fprintf(stderr, "attnbench: --dump '%s': cannot create %s: %s\n", r->o.dump, mpath,
                strerror(errno));
        return -1;
    }
    fprintf(r->manifest, "{\"seed\": %llu, \"git_commit\": \"%s\", \"files\": [",
            (unsigned long long)r->o.seed, r->git);
    return 0;
}

void run_dump_close(run_t *r)
{
    if (!r->manifest) return;
    fputs("\n]}\n", r->manifest);
    fclose(r->manifest);
    fprintf(stderr, "dump: %s/manifest.json\n", r->o.dump);
}

static void dump_entry(run_t *r, const char *file, const attn_tensor_t *t, const char *descr,
                       const char *role, const attn_case_t *c)
{
    if (!r->manifest) return;
    fprintf(r->manifest, "%s\n  {\"file\": \"%s\", \"role\": \"%s\", \"dtype\": \"%s\", \"shape\": [",
            r->manifest_n++ ? "," : "", file, role, descr);
    for (int i = 0; i < t->ndim; i++) fprintf(r->manifest, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    fprintf(r->manifest, "], \"suite\": \"%s\", \"case\": %d, \"axes\": {", c->s->name, c->index);
    for (int i = 0; i < c->s->naxes; i++)
        fprintf(r->manifest, "%s\"%s\": %lld", i ? ", " : "", c->s->axes[i].name,
                (long long)c->v[i]);
    fputs("}}", r->manifest);
}

void run_dump(run_t *r, const attn_case_t *c, const char *what, const attn_tensor_t *t,
              const char *descr, const void *data, int64_t esize)
{
    char file[256], path[1280];
    snprintf(file, sizeof file, "%s-%03d-%s.npy", c->s->name, c->index, what);
    snprintf(path, sizeof path, "%s/%s", r->o.dump, file);
    if (attn_npy_write(path, descr, t->ndim, t->shape, data, esize))
        fprintf(stderr, "attnbench: cannot write %s: %s\n", path, strerror(errno));
    else
        dump_entry(r, file, t, descr, what, c);
}
