#include "csv.h"
#include "columns.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void attn_row_init(attn_row_t *r) { memset(r, 0, sizeof *r); }
void attn_row_free(attn_row_t *r) { free(r->buf); attn_row_init(r); }
void attn_row_clear(attn_row_t *r)
{
    r->len = 0;
    r->nfields = 0;
    if (r->buf) r->buf[0] = 0;
}

static void put(attn_row_t *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 256;
        while (cap < r->len + n + 1) cap *= 2;
        char *b = realloc(r->buf, cap);
        if (!b) abort();
        r->buf = b, r->cap = cap;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
    r->buf[r->len] = 0;
}

void attn_row_str(attn_row_t *r, const char *s)
{
    if (r->nfields++) put(r, ",", 1);
    if (!s) return;
    if (!strpbrk(s, ",\"\n\r")) {
        put(r, s, strlen(s));
        return;
    }
    put(r, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"') put(r, "\"\"", 2);
        else if (*p == '\n' || *p == '\r') put(r, " ", 1); /* one row, one line */
        else put(r, p, 1);
    }
    put(r, "\"", 1);
}

void attn_row_int(attn_row_t *r, long long v)
{
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    attn_row_str(r, b);
}

void attn_row_num(attn_row_t *r, double v)
{
    char b[32];
    if (isnan(v)) b[0] = 0;
    else snprintf(b, sizeof b, "%.6g", v);
    attn_row_str(r, b);
}

void attn_csv_header(const attn_suite_t *s, attn_row_t *r) { attn_columns_header(s, r); }

int attn_mkdirs(const char *path, int is_dir)
{
    char buf[1024];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return errno = ENAMETOOLONG, -1;
    if (!is_dir) {
        char *slash = strrchr(buf, '/');
        if (!slash) return 0;
        *slash = 0;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (buf[0] && mkdir(buf, 0777) && errno != EEXIST) return -1;
    return 0;
}

int attn_mkdir_unique(char *dir, size_t n)
{
    char stem[1024];
    if (snprintf(stem, sizeof stem, "%s", dir) >= (int)sizeof stem) return errno = ENAMETOOLONG, -1;
    if (attn_mkdirs(stem, 0)) return -1;
    for (int k = 1; k <= 1000; k++) {
        if (k > 1 && snprintf(dir, n, "%s-%d", stem, k) >= (int)n) return errno = ENAMETOOLONG, -1;
        if (!mkdir(dir, 0777)) return 0;
        if (errno != EEXIST) return -1;
    }
    return -1; /* errno EEXIST */
}

static int write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        s += w, n -= (size_t)w;
    }
    return 0;
}

/* The directory part of path ("" when it has none). */
static void dir_of(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    else dir[0] = 0;
}

/* "-": the header and rows on a duplicate of standard output; no lock, nothing to check. */
static int open_stdout(attn_csv_t *c, const char *header, char *err, size_t n)
{
    const int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    const size_t hl = strlen(header);
    char *line = fd >= 0 ? malloc(hl + 1) : NULL;
    if (line) memcpy(line, header, hl), line[hl] = '\n';
    fflush(stdout);
    if (!line || write_all(fd, line, hl + 1)) {
        snprintf(err, n, "cannot write CSV rows to standard output (--csv -): %s",
                 strerror(errno));
        free(line);
        if (fd >= 0) close(fd);
        return -1;
    }
    free(line);
    c->fd = fd;
    c->to_stdout = 1;
    snprintf(c->path, sizeof c->path, "standard output");
    return 0;
}

int attn_csv_open(attn_csv_t *c, const char *path, const char *header, char *err, size_t n)
{
    c->fd = -1;
    c->to_stdout = c->created_dir = 0;
    c->mirror = NULL, c->mirror_ctx = NULL, c->header = NULL; /* the caller's, set after */
    if (!strcmp(path, "-")) return open_stdout(c, header, err, n);
    snprintf(c->path, sizeof c->path, "%s", path);
    char dir[1024];
    struct stat ds;
    dir_of(path, dir, sizeof dir);
    c->created_dir = dir[0] && stat(dir, &ds) != 0;
    if (attn_mkdirs(path, 0)) {
        snprintf(err, n, "cannot create the directory of CSV path '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(err, n, "cannot open CSV path '%s' for appending: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (flock(fd, LOCK_EX) || fstat(fd, &st)) {
        snprintf(err, n, "cannot lock CSV '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    int rc = 0;
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, n, "CSV path '%s' is not a regular file", path);
        rc = -1;
    } else if (st.st_size == 0) {
        size_t hl = strlen(header);
        char *line = malloc(hl + 1);
        if (line) memcpy(line, header, hl), line[hl] = '\n';
        if (!line || write_all(fd, line, hl + 1)) { /* one write: never a half header */
            snprintf(err, n, "cannot write CSV '%s': %s", path, strerror(errno));
            rc = -1;
        }
        free(line);
    } else {
        /* The header, then a newline — or the end of the file when a crash cut it there. */
        size_t hl = strlen(header);
        char *first = malloc(hl + 2);
        ssize_t got = first ? pread(fd, first, hl + 1, 0) : -1;
        if (got < (ssize_t)hl || memcmp(first, header, hl) ||
            (got == (ssize_t)(hl + 1) && first[hl] != '\n')) {
            snprintf(err, n,
                     "CSV '%s' exists with a different header (another suite or schema "
                     "version); refusing to append — choose another --csv path",
                     path);
            rc = -1;
        } else {
            char last;
            if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
                write_all(fd, "\n", 1)) { /* cut-off row from a crash: end it, keep it */
                snprintf(err, n, "cannot write CSV '%s': %s", path, strerror(errno));
                rc = -1;
            }
        }
        free(first);
    }
    flock(fd, LOCK_UN);
    if (rc) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}

int attn_csv_append(attn_csv_t *c, const attn_row_t *row)
{
    return attn_csv_append_timed(c, row, NULL, 0);
}

int attn_csv_append_timed(attn_csv_t *c, const attn_row_t *row, const double *samples_ms, int n)
{
    if (c->fd < 0 && !c->mirror) return errno = EBADF, -1;
    char *line = malloc(row->len + 2);
    if (!line) return -1;
    if (row->len) memcpy(line, row->buf, row->len); /* row->buf may go on past len (a message) */
    line[row->len] = '\n';
    int rc = 0;
    if (c->fd >= 0) {
        flock(c->fd, LOCK_EX);
        rc = write_all(c->fd, line, row->len + 1);
        if (!rc) rc = fdatasync(c->fd) && errno != EINVAL ? -1 : 0;
        flock(c->fd, LOCK_UN);
    }
    const int e = errno;
    line[row->len] = 0;
    if (c->mirror) c->mirror(c->mirror_ctx, c->header, line, samples_ms, n);
    free(line);
    errno = e;
    return rc;
}

int attn_csv_append_lines(attn_csv_t *c, const char *text, size_t len)
{
    if (c->fd < 0) return errno = EBADF, -1;
    if (!len) return 0;
    if (text[len - 1] != '\n') return errno = EINVAL, -1;
    flock(c->fd, LOCK_EX);
    int rc = write_all(c->fd, text, len);
    if (!rc) rc = fdatasync(c->fd) && errno != EINVAL ? -1 : 0;
    flock(c->fd, LOCK_UN);
    return rc;
}

void attn_csv_close(attn_csv_t *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}
