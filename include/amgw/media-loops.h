/* amgw — the pool of media loops.
 *
 * ARCHITECTURE.md, Threads: a FIXED pool of media threads, each running its
 * own GMainContext; every libnice agent and UDP socket of a call lives on one
 * of them.  A call picks a loop with amgw_media_loops_acquire() (the least
 * loaded one), creates its media objects on that context (through
 * amgw_media_loops_invoke_sync() or g_main_context_invoke()), and hands the
 * loop back with amgw_media_loops_release() when its media objects are gone.
 *
 * The pool is created and freed by the control thread; acquire, release and
 * users are thread-safe.
 */
#pragma once

#include <gio/gio.h>
#include "amgw/prefetch.h"

G_BEGIN_DECLS

#define AMGW_MEDIA_LOOPS_MAX 256   /* ceiling for n_loops (and for the core count) */

/* A busy loop (woken twice within this many microseconds) polls at most once
 * per interval, handling everything that arrived meanwhile in one go: at most
 * this much is added to a packet's way through amgw, under load only
 * (media-loops.c).  The default; [media] batching sets it. */
#define AMGW_MEDIA_BATCHING_US 1000
#define AMGW_MEDIA_BATCHING_MAX_US 5000

typedef struct _AmgwMediaLoops AmgwMediaLoops;

/* Starts @n_loops threads named "amgw-media-0", "amgw-media-1", ..., each
 * running a GMainLoop on its own GMainContext (that thread's default context
 * while it runs).  @n_loops 0 means one per core (g_get_num_processors()).
 * Values above AMGW_MEDIA_LOOPS_MAX are clamped.  Returns once every thread
 * owns its context, so work queued on a context after this returns always
 * runs on that loop's thread.  (transfer full) */
AmgwMediaLoops *amgw_media_loops_new (guint n_loops);

/* Quits every loop and joins its thread.  Objects still living on a loop are
 * not destroyed (their sources stay attached to a context nobody runs): free
 * them first; work they queued on their loop that is due by then (a
 * tear-down, whatever its priority) still runs before the loop's thread ends.
 * A loop that still counts users is logged as a WARNING.  Must not
 * be called from a media thread. */
void amgw_media_loops_free (AmgwMediaLoops *loops);

/* The batching interval of every loop, in microseconds (0: a loop polls as
 * soon as it is idle; more than AMGW_MEDIA_BATCHING_MAX_US is that).  Any
 * thread; the loops follow at their next poll. */
void amgw_media_loops_set_batching (AmgwMediaLoops *loops, guint interval_us);

/* From inside the dispatch of a GSource another library made on a pool's
 * loop (libnice's socket sources: from its receive callback): once this
 * dispatch is over, the source may recurse, so that GLib no longer takes its
 * descriptors out of the poll set and back for each dispatch (two eventfd
 * writes each; media-loops.c).  Cheap after the first call for a source;
 * nothing on any other thread or context. */
void amgw_media_loops_unblock_current_source (void);

guint amgw_media_loops_size (AmgwMediaLoops *loops);

/* The context of the loop with the fewest users (the lowest index on a tie),
 * and counts one more user on it.  Pair with amgw_media_loops_release().
 * (transfer full): unref it after the release. */
GMainContext *amgw_media_loops_acquire (AmgwMediaLoops *loops);

/* One user of @ctx's loop is done.  A context that is not in the pool, or a
 * loop without users, is a programming error (g_critical). */
void amgw_media_loops_release (AmgwMediaLoops *loops, GMainContext *ctx);

/* As amgw_media_loops_acquire(), but users that acquire with the same @key
 * while one of them still holds it get the same loop: a call's legs (@key:
 * the call's session id) share one thread, so a call's media never crosses
 * threads and the loops balance by calls, whatever each leg costs.  NULL
 * @key: as amgw_media_loops_acquire().  Pair with
 * amgw_media_loops_release_keyed() and the same @key. */
GMainContext *amgw_media_loops_acquire_keyed (AmgwMediaLoops *loops, const char *key);
void amgw_media_loops_release_keyed (AmgwMediaLoops *loops, GMainContext *ctx, const char *key);

/* How many users loop @index (0 .. size - 1) has. */
guint amgw_media_loops_users (AmgwMediaLoops *loops, guint index);

/* (transfer none) The context of loop @index, without counting a user: for
 * tests and diagnostics. */
GMainContext *amgw_media_loops_get_context (AmgwMediaLoops *loops, guint index);

/* Runs @fn (@data) once on the thread that runs @ctx and waits until it has
 * returned; @fn's return value is ignored.  For set-up and tear-down, not per
 * packet.  Calling it from the thread that owns @ctx would deadlock: that is
 * asserted.  @ctx must be run by some thread (a pool loop is, from
 * amgw_media_loops_new() to amgw_media_loops_free()). */
void amgw_media_loops_invoke_sync (GMainContext *ctx, GSourceFunc fn, gpointer data);

/* ---- timers and sockets dispatched by the loop itself ----
 *
 * GLib walks every source of a context twice per wake-up (prepare, check),
 * and a call keeps a handful of timers and sockets on its loop; under load
 * that walk grows with the calls on the loop.  So the timers and the own
 * sockets of calls are not GSources of their own: each pool loop keeps its
 * timers in one heap and its sockets in one epoll set, behind one GSource
 * each, and dispatches them itself (media-loops.c).  On a context that is
 * not a pool's loop (tests, tools) each is an ordinary GSource on it. */

typedef struct _AmgwMediaTimer AmgwMediaTimer;

/* Calls @fn (@data) on @ctx's thread every @interval_ms (from now, as
 * g_timeout_source_new() does), until @fn returns G_SOURCE_REMOVE or the timer
 * is destroyed.  @interval_ms 0: a one-shot timer, not armed until
 * amgw_media_timer_set_ready_time().  Any thread.  (transfer full) */
AmgwMediaTimer *amgw_media_timer_new (GMainContext *ctx, guint interval_ms, GSourceFunc fn,
    gpointer data);
/* Arms a one-shot timer for @ready_time (monotonic microseconds; -1
 * disarms); it is disarmed again before @fn runs, which may re-arm it.  @fn's
 * return value does not matter for one-shot timers. */
void amgw_media_timer_set_ready_time (AmgwMediaTimer *t, gint64 ready_time);
/* Stops the timer and drops the caller's reference: @fn is not called after
 * this returns, except when it is running on the loop at that moment (from
 * the loop's own thread, including from inside @fn, it never is).  NULL-safe,
 * and *@t is set to NULL. */
void amgw_media_timer_clear (AmgwMediaTimer **t);

typedef struct _AmgwMediaWatch AmgwMediaWatch;
/* @fd is @sock's descriptor (the callback need not touch the GSocket). */
typedef gboolean (*AmgwMediaSocketFunc) (GSocket *sock, int fd, GIOCondition cond,
    gpointer data);

/* Calls @fn when @sock is readable (G_IO_IN; G_IO_ERR and G_IO_HUP too), on
 * @ctx's thread.  @fn reads until the socket is empty (EAGAIN, or a
 * recvmmsg() that gives fewer datagrams than asked) and returns FALSE, or
 * stops early (its share of the wake-up is used up, say) and returns TRUE:
 * then it is called again at the loop's next wake-up.  A media loop watches
 * edge-triggered, so data left behind after FALSE waits for the next
 * datagram; elsewhere (a plain context) the watch is level-triggered and the
 * return value does not matter.  The watch lasts until
 * amgw_media_watch_clear().  Any thread.  (transfer full) */
AmgwMediaWatch *amgw_media_watch_new (GMainContext *ctx, GSocket *sock, AmgwMediaSocketFunc fn,
    gpointer data);
/* As amgw_media_timer_clear().  Clear the watch before closing its socket. */
void amgw_media_watch_clear (AmgwMediaWatch **w);

/* What @w's callback reads first (amgw/prefetch.h).  For a wake-up's events,
 * before the first callback, the loop prefetches each watch, then the first
 * @bytes of its data (the default: 64), then calls @more (nullable) with the
 * data, and then the hooks that set for the next sweep, up to
 * AMGW_MEDIA_PREFETCH_SWEEPS in all.  Hooks run on the loop's thread under
 * its watch lock; @more may read the first @bytes of the data.  Call it
 * before the socket can be readable. */
#define AMGW_MEDIA_PREFETCH_SWEEPS 4
void amgw_media_watch_set_prefetch (AmgwMediaWatch *w, gsize bytes, AmgwMediaPrefetchFunc more);

struct mmsghdr;
struct iovec;
struct sockaddr_storage;

/* For a watch's callback: one recvmmsg() on @fd (MSG_DONTWAIT) into @n
 * slots of @slot bytes each at @bufs, the senders into @from; @iov and @msgs
 * (@n each) are the caller's scratch, and msgs[i].msg_len, msg_flags and
 * msg_hdr.msg_namelen say what came.  Returns what recvmmsg() returns: fewer
 * than @n means the socket is drained, so no second call is needed to find
 * it empty. */
int amgw_media_recv_batch (int fd, guint8 *bufs, gsize slot, struct sockaddr_storage *from,
    struct iovec *iov, struct mmsghdr *msgs, guint n);

/* ---- nests: another library's sources on a context of their own ----
 *
 * libnice makes its own GSources (a socket each, a few timers) on the context
 * it is given; on a loop's context GLib would walk all of them, of every call
 * on the loop, at each of the loop's wake-ups.  A nest is a GMainContext of
 * its own whose descriptors sit in its loop's epoll set and whose next
 * timeout sits in its loop's timer heap: the loop iterates it (prepare,
 * query, check, dispatch) only when one of them is due, so a wake-up costs
 * only the sources of the calls it is for (media-loops.c).  Give the nest's
 * context to the library.  Its callbacks run on the loop's thread, which owns
 * the nest's context (g_main_context_is_owner() is TRUE there); the
 * thread-default context stays the loop's.  On a context that is not a
 * pool's loop (tests, tools), the nest's context is that context itself. */

typedef struct _AmgwMediaNest AmgwMediaNest;

/* On @ctx's thread (asserted for a pool's loop).  (transfer full) */
AmgwMediaNest *amgw_media_nest_new (GMainContext *ctx);
/* (transfer none) */
GMainContext *amgw_media_nest_get_context (AmgwMediaNest *nest);
/* On the loop's thread (from inside the nest's own dispatch too).  Its
 * sources are no longer dispatched once this returns: free the library's
 * objects, or let them finish (libnice's close), first.  NULL-safe. */
void amgw_media_nest_free (AmgwMediaNest *nest);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwMediaLoops, amgw_media_loops_free)

G_END_DECLS
