/* Work in a child process under a time limit, and the messages it sends back.
 *
 * Why a process: a variant that faults (SIGSEGV, an illegal address that poisons the CUDA
 * context, a kernel that never returns) takes its whole process down with it. Run in a child,
 * it takes only the child: the parent records the failure and starts a fresh child for the rest.
 *
 * CUDA and fork: a CUDA context does not survive fork(), and a child of a process that has one
 * cannot use the device. So the parent of isolated work never calls CUDA at all: it learns what
 * it needs about the device from a probe child, and each case's child opens the device itself.
 *
 * The child talks to the parent over a pipe, one message per event: a type byte, an index and a
 * text (for the run: 'B' a variant begins, 'R' its finished row with its timing samples, 'P'
 * progress, 'M' manifest lines); a message is at most 4 GiB. The parent counts silence, not total time: a child that sends nothing for the time
 * limit is taken to hang and is killed. */
#ifndef ATTN_ISOLATE_H
#define ATTN_ISOLATE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct attn_msg {
    char type;
    int idx;
    size_t len;
    const char *text;   /* len bytes and a NUL; valid until the next attn_child_next */
} attn_msg_t;

typedef struct attn_child {
    pid_t pid;
    int fd;             /* read end of the message pipe; -1 after end of file */
    char *buf;          /* bytes received and not yet handed out, from off to len */
    size_t off, len, cap;
    int reaped, status; /* wait status once reaped */
    int killed;         /* the parent killed it (attn_child_kill) */
} attn_child_t;

/* Start fn(arg, fd) in a child process, fd being the write end of its message pipe; the child
 * exits with fn's return value through _exit (no atexit handlers, no stdio buffer flushed
 * twice: stdio is flushed before the fork). The child ignores SIGINT and SIGTERM (its parent
 * decides when to stop and kills it) and is killed when its parent dies. Returns 0, or -1
 * with errno set. */
int attn_child_start(attn_child_t *c, int (*fn)(void *arg, int fd), void *arg);
/* What attn_child_start does (it is a weak symbol a test program may replace). */
int attn_child_spawn(attn_child_t *c, int (*fn)(void *arg, int fd), void *arg);

enum {
    ATTN_CHILD_END = 0,     /* no more messages; the child has been reaped (c->status) */
    ATTN_CHILD_MSG = 1,     /* *m holds the next message */
    ATTN_CHILD_TIMEOUT = 2, /* nothing arrived within the time limit */
    ATTN_CHILD_SIGNAL = 3,  /* a signal handler ran in this process (e.g. SIGINT) */
};

/* The next message, waiting at most timeout_s seconds for it. */
int attn_child_next(attn_child_t *c, double timeout_s, attn_msg_t *m);

/* SIGKILL the child if it still runs. What it sent before stays readable through
 * attn_child_next, which then reports ATTN_CHILD_END. */
void attn_child_kill(attn_child_t *c);

/* Kill (if needed), reap and release everything. */
void attn_child_free(attn_child_t *c);

/* How a reaped child ended, in words: "exited normally", "exited with status 7",
 * "crashed: signal 11 (Segmentation fault)". */
const char *attn_child_status_str(const attn_child_t *c, char *buf, size_t n);

/* In the child: send one message. 0, or -1 when the parent is gone, or with errno EMSGSIZE
 * (nothing sent) when len is over the 4 GiB a message can say. */
int attn_msg_send(int fd, char type, int idx, const void *text, size_t len);

/* In a case's child: how many of a row's timing samples ms[0..n) (in the order taken) its 'R'
 * message carries, from the start of ms. The default sends them all, unchanged. A weak symbol,
 * like attn_child_start: the fault tests' program replaces it with one that drops, reorders or
 * loses samples, to show that the tests of --json catch a message that does. */
int attn_child_samples(double *ms, int n);

#endif
