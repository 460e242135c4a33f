#include "isolate.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "util.h"

/* A message on the pipe: type (1 byte), idx (int32), len (uint32), then len bytes. */
enum { HDR = 9 };

/* Weak: the fault tests' program (tests/planted.c) replaces it with one that can fail like
 * fork() does, to show that a case then gets failed rows instead of running in the parent. */
__attribute__((weak)) int attn_child_start(attn_child_t *c, int (*fn)(void *arg, int fd),
                                           void *arg)
{
    return attn_child_spawn(c, fn, arg);
}

__attribute__((weak)) int attn_child_samples(double *ms, int n)
{
    (void)ms;
    return n;
}

int attn_child_spawn(attn_child_t *c, int (*fn)(void *arg, int fd), void *arg)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    int p[2];
    if (pipe(p)) return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    const pid_t parent = getpid();
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]), close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        if (getppid() != parent) _exit(125); /* the parent died before prctl */
        int rc = fn(arg, p[1]);
        fflush(NULL);
        _exit(rc);
    }
    close(p[1]);
    c->pid = pid;
    c->fd = p[0];
    return 0;
}

/* A complete message at buf[off..len)? */
static int take(attn_child_t *c, attn_msg_t *m)
{
    if (c->len - c->off < HDR) return 0;
    const char *h = c->buf + c->off;
    int32_t idx;
    uint32_t len;
    memcpy(&idx, h + 1, 4);
    memcpy(&len, h + 5, 4);
    if (c->len - c->off < HDR + (size_t)len + 1) return 0; /* + the NUL the sender adds */
    m->type = h[0];
    m->idx = idx;
    m->len = len;
    m->text = h + HDR;
    c->off += HDR + (size_t)len + 1;
    return 1;
}

static void reap(attn_child_t *c)
{
    if (c->reaped || c->pid <= 0) return;
    while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR) {
    }
    c->reaped = 1;
}

int attn_child_next(attn_child_t *c, double timeout_s, attn_msg_t *m)
{
    const double deadline = attn_now() + timeout_s;
    for (;;) {
        if (take(c, m)) return ATTN_CHILD_MSG;
        if (c->fd < 0) {
            reap(c);
            return ATTN_CHILD_END;
        }
        double left = deadline - attn_now();
        if (left <= 0) return ATTN_CHILD_TIMEOUT;
        struct pollfd pf = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&pf, 1, left > 3600 ? 3600 * 1000 : (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR) return ATTN_CHILD_SIGNAL;
        if (rc == 0) continue; /* the deadline check above decides */
        if (c->off) { /* drop what was handed out (m->text of earlier calls) */
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (c->cap - c->len < 65536) {
            size_t cap = c->cap ? c->cap * 2 : 65536 * 2;
            char *b = realloc(c->buf, cap);
            if (!b) { /* give up on this child's messages, but still reap it */
                attn_child_kill(c);
                close(c->fd);
                c->fd = -1;
                continue;
            }
            c->buf = b, c->cap = cap;
        }
        ssize_t got = rc < 0 ? 0 : read(c->fd, c->buf + c->len, c->cap - c->len);
        if (got < 0 && errno == EINTR) return ATTN_CHILD_SIGNAL;
        if (got <= 0) { /* end of file: the child closed the pipe or died */
            close(c->fd);
            c->fd = -1;
            continue;
        }
        c->len += (size_t)got;
    }
}

void attn_child_kill(attn_child_t *c)
{
    if (c->pid > 0 && !c->reaped) {
        kill(c->pid, SIGKILL);
        c->killed = 1;
    }
}

void attn_child_free(attn_child_t *c)
{
    attn_child_kill(c);
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    reap(c);
    free(c->buf);
    c->buf = NULL;
}

const char *attn_child_status_str(const attn_child_t *c, char *buf, size_t n)
{
    if (!c->reaped) snprintf(buf, n, "still running");
    else if (WIFSIGNALED(c->status))
        snprintf(buf, n, "crashed: signal %d (%s)", WTERMSIG(c->status), strsignal(WTERMSIG(c->status)));
    else if (WIFEXITED(c->status) && WEXITSTATUS(c->status))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(c->status));
    else snprintf(buf, n, "exited normally");
    return buf;
}

int attn_msg_send(int fd, char type, int idx, const void *text, size_t len)
{
    if (len > UINT32_MAX) return errno = EMSGSIZE, -1; /* never a length cut to 32 bits */
    char *b = malloc(HDR + len + 1);
    if (!b) return -1;
    const int32_t i = idx;
    const uint32_t l = (uint32_t)len;
    b[0] = type;
    memcpy(b + 1, &i, 4);
    memcpy(b + 5, &l, 4);
    if (len) memcpy(b + HDR, text, len);
    b[HDR + len] = 0; /* so the receiver can hand out text as a C string in place */
    const char *p = b;
    size_t left = HDR + len + 1;
    int rc = 0;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            rc = -1;
            break;
        }
        p += w, left -= (size_t)w;
    }
    free(b);
    return rc;
}
