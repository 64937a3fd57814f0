/* A socket writer thread (declared for Cython in fastfeed/_cdefs.pxd; docs/fanout.md,
 * "How it stays off the hot path").
 *
 * The fan-out publisher's flushes are one buffer each; writing one into a loopback TCP
 * socket costs the writing thread ~10 us and more per byte (the kernel delivers to the
 * local receiver inside send()). This thread does those send()s instead, so the thread
 * that ingests venue data only queues a buffer: a pointer, a length and an opaque owner
 * handle, under a mutex held for a few stores. The owner (the event loop's thread) keeps
 * each buffer alive until the writer hands it back on the `done` list, which the owner
 * empties; the writer never touches Python objects and needs no GIL.
 *
 * The writer works on its own descriptor (a dup of the connection's), so the event loop
 * closing its socket can never make the writer write into a reused descriptor number.
 * Failure (the peer went away) stops the writer: every queued buffer moves to `done`
 * unsent and `err` holds the errno. Crossing below `low_mark` queued bytes, a failure,
 * and the end of the thread each write one byte to `notify_fd` (the loop reads it), so
 * the owner learns of them without polling. */
#ifndef FF_WRITER_H
#define FF_WRITER_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0      /* macOS: SO_NOSIGPIPE is set on the descriptor instead */
#endif

typedef struct ff_wbuf {
    const char *p;
    size_t len;
    void *owner;                /* the owner's handle (a PyObject*), returned in `done` */
    struct ff_wbuf *next;
} ff_wbuf;

typedef struct {
    int fd;                     /* the writer's own descriptor; closed by ff_writer_join */
    int notify_fd;              /* the write end of the owner's wake-up pipe */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ff_wbuf *head, *tail;       /* queued, in order */
    ff_wbuf *done;              /* sent or dropped, for the owner to release */
    size_t queued;              /* bytes queued and not yet sent */
    size_t low_mark;            /* notify when `queued` falls to this after being above */
    int above;                  /* `queued` was above low_mark since the last notify */
    int stop;                   /* the owner asked the writer to finish */
    int drain_on_stop;          /* 1: send what is queued before finishing */
    int err;                    /* errno that stopped the writer (0: none) */
    int finished;
    uint64_t sends;             /* send() calls that wrote something */
    uint64_t bytes;             /* bytes written */
} ff_writer;

static inline void ff_writer_notify(ff_writer *w) {
    char b = 1;
    if (w->notify_fd >= 0) {
        ssize_t rc = write(w->notify_fd, &b, 1);     /* a full pipe already wakes it */
        (void)rc;
    }
}

/* Write all of p[0..len) to the non-blocking fd (it shares its file description with the
 * event loop's socket); 0, or an errno. */
static int ff_writer_send_all(ff_writer *w, const char *p, size_t len) {
    struct pollfd pfd;
    while (len) {
        ssize_t n = send(w->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            w->sends++;
            w->bytes += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* the socket is full (the server is slow): wait until it takes more, or the
               owner shuts the descriptor down to stop us */
            pfd.fd = w->fd;
            pfd.events = POLLOUT;
            pfd.revents = 0;
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
                return errno;
            if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
                return EPIPE;
            continue;
        }
        return n < 0 ? errno : EPIPE;
    }
    return 0;
}

static void *ff_writer_main(void *arg) {
    ff_writer *w = (ff_writer *)arg;
    ff_wbuf *b;
    int rc;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->head == NULL || (w->stop && !w->drain_on_stop) || w->err)
            break;
        b = w->head;
        pthread_mutex_unlock(&w->mu);
        rc = ff_writer_send_all(w, b->p, b->len);
        pthread_mutex_lock(&w->mu);
        w->head = b->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->queued -= b->len;
        b->next = w->done;
        w->done = b;
        if (rc) {
            w->err = rc;
            ff_writer_notify(w);
            break;
        }
        if (w->above && w->queued <= w->low_mark) {
            w->above = 0;
            ff_writer_notify(w);
        }
    }
    /* stopped or failed: whatever is still queued goes back unsent */
    while (w->head != NULL) {
        b = w->head;
        w->head = b->next;
        w->queued -= b->len;
        b->next = w->done;
        w->done = b;
    }
    w->tail = NULL;
    w->finished = 1;
    ff_writer_notify(w);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Start the thread on fd (owned from now on); 0 or an errno. */
static inline int ff_writer_start(ff_writer *w, int fd, int notify_fd, size_t low_mark) {
    int rc;
    memset(w, 0, sizeof(*w));
    w->fd = fd;
    w->thread = pthread_self();     /* a valid value until pthread_create sets it */
    w->notify_fd = notify_fd;
    w->low_mark = low_mark;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    rc = pthread_create(&w->thread, NULL, ff_writer_main, w);
    if (rc == 0)
        w->started = 1;
    return rc;
}

/* Queue p[0..len) (kept alive by the caller until it comes back in `done`); the bytes
 * queued after it, or 0 if the writer has stopped (the buffer is not taken). */
static inline size_t ff_writer_submit(ff_writer *w, ff_wbuf *b, size_t high_mark) {
    size_t q;
    pthread_mutex_lock(&w->mu);
    if (w->stop || w->err || w->finished) {
        pthread_mutex_unlock(&w->mu);
        return 0;
    }
    b->next = NULL;
    if (w->tail)
        w->tail->next = b;
    else
        w->head = b;
    w->tail = b;
    w->queued += b->len;
    if (w->queued > high_mark)
        w->above = 1;
    q = w->queued;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return q;
}

/* The buffers the writer is done with (sent or dropped), as a list the caller owns. */
static inline ff_wbuf *ff_writer_take_done(ff_writer *w) {
    ff_wbuf *d;
    pthread_mutex_lock(&w->mu);
    d = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->mu);
    return d;
}

static inline size_t ff_writer_queued(ff_writer *w) {
    size_t q;
    pthread_mutex_lock(&w->mu);
    q = w->queued;
    pthread_mutex_unlock(&w->mu);
    return q;
}

/* Ask the writer to finish: after what is queued (drain) or at once (the connection is
 * gone: its descriptor is shut down so a send blocked on a full socket returns). */
static inline void ff_writer_stop(ff_writer *w, int drain) {
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    w->drain_on_stop = drain;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (!drain)
        shutdown(w->fd, SHUT_RDWR);
}

/* Wait for the thread (after ff_writer_stop) and close its descriptor. */
static inline void ff_writer_join(ff_writer *w) {
    if (w->started) {
        pthread_join(w->thread, NULL);
        w->started = 0;
    }
    if (w->fd >= 0) {
        close(w->fd);
        w->fd = -1;
    }
}

/* After ff_writer_join and a last ff_writer_take_done: release the lock. */
static inline void ff_writer_free(ff_writer *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

#endif
