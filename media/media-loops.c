/* amgw — the pool of media loops (see media-loops.h).
 *
 * Each loop thread acquires its context before it tells amgw_media_loops_new()
 * that it is up, and keeps it until it ends: from then on g_main_context_invoke()
 * from any other thread queues instead of running the function in the caller
 * (which GLib does for a context that nobody owns), and a quit request is a
 * source dispatched by the loop itself, so it cannot arrive before
 * g_main_loop_run() started and be lost.
 *
 * Coalesced polling.  GLib's poll() and its prepare/check passes cost in
 * proportion to the sources on a context (every socket and timer of every
 * call on the loop), once per wake-up; a loop woken for each packet of a few
 * hundred calls spends most of its time there (perf: 63 % kernel poll, 21 %
 * GLib bookkeeping, 10 % actual forwarding).  So a busy loop (its last two
 * wake-ups less than AMGW_MEDIA_BATCHING_US apart) sleeps out the rest of that
 * interval before it polls again: what arrives meanwhile is handled in one
 * iteration, and the loop wakes at most once per interval.  That adds at
 * most AMGW_MEDIA_BATCHING_US to a packet's way through amgw, and only under
 * load; a quiet loop polls as GLib would.  [media] batching sets the
 * interval (amgw_media_loops_set_batching()); 0 turns it off.
 *
 * Timers and watches.  Even with few descriptors to poll, GLib's prepare and
 * check passes visit every source of the context at every wake-up; a call
 * used to keep about ten there (its timers for RTCP, inactivity and DTLS,
 * its sockets).  amgw's own timers (amgw_media_timer_new()) are kept in one
 * binary heap per loop behind one GSource, and the SIP leg's sockets
 * (amgw_media_watch_new()) in one epoll set behind another, which
 * dispatch them directly: what GLib walks per wake-up no longer grows with
 * amgw's own objects (nor, through nests, below, with libnice's, whose
 * sockets and timers are GSources it makes itself).  A timer or watch is looked at by the loop's
 * thread while it dispatches, so each keeps a reference while its callback
 * runs, and a watch cleared meanwhile is no longer found by its id (a slot's
 * generation over its index: no hashing per event).
 *
 * Nests.  libnice makes its sources (a socket each, two timers) on the
 * context it is given, so on a loop's context they would still be walked at
 * every wake-up, a handful per call.  Each agent gets a nest instead: a
 * GMainContext of its own that the loop thread acquires for good (so
 * libnice's receive callback runs at once, not from an idle), created with
 * ownerless polling (so that a source attached by the owning thread signals
 * the context's wake-up too).  The loop runs GLib's steps on it by hand:
 * prepare and query after each dispatch, the descriptors asked for into the
 * watches' epoll set (data.u64: NEST_ID_BIT, the nest's serial, the
 * descriptor), the timeout into a one-shot timer of the heap; when epoll
 * reports one of them, or the timer is due, check and dispatch with the
 * revents epoll gave.  A wake-up then costs the sources of the calls it is
 * for, not of every call on the loop.  Descriptor numbers are reused, so a
 * registration also remembers which socket the number was (its device and
 * inode): a nest whose wake-up fired (a source came or went) compares them
 * all again, and a number now another socket's is registered anew and never
 * removed in the other's name.
 *
 * Edge-triggered watches.  A level-triggered epoll item that was reported
 * goes back on the ready list, and the next poll of the set (GLib's poll()
 * of the epoll descriptor, then epoll_wait()) looks at its socket once more
 * only to find it empty: a second socket poll for every datagram.  So the
 * watches' items are EPOLLET, and a callback reads its socket until it is
 * empty; one that stops early (its share of a wake-up) returns TRUE and its
 * item is modified again, which makes epoll report it at once if data is
 * left.  Nests' registrations stay level-triggered: GLib's sources expect
 * poll()'s semantics.
 *
 * Sources that may recurse.  While GLib dispatches a source that may not
 * recurse (the default), it takes the source's descriptors out of the
 * context's poll set and puts them back afterwards, and each of those two
 * changes writes the context's wake-up eventfd: two system calls for every
 * dispatch of a socket source, and a wake-up of the loop by itself right
 * after (strace at 100 passthrough calls: 1.2 eventfd writes per packet,
 * more than the sends).  Nothing iterates a media loop's context from inside
 * one of its dispatches, so there is nothing for the blocking to protect:
 * amgw's own sources are made recursive, and libnice's socket sources (which
 * it makes itself) are made so by amgw_media_loops_unblock_current_source()
 * from inside their first dispatch, applied once that dispatch is over
 * (setting it during the dispatch would leave the source blocked).
 */
#define _GNU_SOURCE   /* recvmmsg */
#include "amgw/media-loops.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gst/gst.h>

GST_DEBUG_CATEGORY_STATIC (amgw_media_debug);
#define GST_CAT_DEFAULT amgw_media_debug

static void
ensure_debug_category (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_media_debug, "amgw-media", 0,
        "amgw media: loops, transports, WebRTC leg");
    g_once_init_leave (&once, 1);
  }
}

typedef struct {
  guint index;
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  guint users;        /* under the pool's lock */
  AmgwMediaLoops *pool;
  gint64 last_wake_us;  /* the loop thread's own: batching_poll() */
  gboolean busy;

  /* Timers (media-loops.h): a binary heap by deadline, under timer_lock,
   * behind timer_source. */
  GMutex timer_lock;
  GPtrArray *timers;        /* AmgwMediaTimer, heap order */
  GSource *timer_source;
  /* Watches: their own epoll set (data.u64: the watch's id), behind
   * watch_source; the slots under watch_lock. */
  GMutex watch_lock;
  int watch_epfd;
  GArray *watch_slots;      /* WatchSlot, indexed by the low half of an id */
  GArray *free_slots;       /* guint32: indices of empty slots, reused last first */
  GSource *watch_source;
  gpointer watch_tag;

  /* The loop thread's own: sources another library made, to be let recurse
   * once their dispatch is over (amgw_media_loops_unblock_current_source()). */
  GPtrArray *to_unblock;    /* GSource (owned refs) */

  /* Nests (media-loops.h), the loop thread's own. */
  GHashTable *nests;        /* serial -> AmgwMediaNest */
  guint32 next_nest_serial;
  GPtrArray *pending_nests; /* AmgwMediaNest (a ref each): events this round */
  GMainContext *nest_dispatching;   /* the nest being dispatched, if any */
} MediaLoop;

/* Contexts of every pool's loops, for registration from any thread. */
static GMutex loops_by_context_lock;
static GHashTable *loops_by_context;   /* GMainContext -> MediaLoop */

struct _AmgwMediaLoops {
  guint n_loops;
  gint batching_us;   /* atomic */
  MediaLoop *loops;

  GMutex lock;        /* users, keyed; start-up hand-shake */
  GCond started_cond;
  guint n_started;
  GHashTable *keyed;  /* key (owned) -> Keyed: the loop of a call's legs */
};

typedef struct {
  MediaLoop *loop;
  guint count;        /* users holding it with this key */
} Keyed;

typedef struct {
  AmgwMediaLoops *pool;
  MediaLoop *loop;
} ThreadStart;

/* The media thread's own wake-ups (the poll function runs on the thread that
 * iterates the context: only its loop thread).  Busy: woken twice within the
 * interval, and still finding work after each interval slept out. */
static __thread MediaLoop *tls_loop;

static guint32
epoll_events (gushort events)
{
  return ((events & G_IO_IN) ? EPOLLIN : 0) | ((events & G_IO_OUT) ? EPOLLOUT : 0) |
      ((events & G_IO_PRI) ? EPOLLPRI : 0);
}

static gushort
poll_revents (guint32 events)
{
  return ((events & EPOLLIN) ? G_IO_IN : 0) | ((events & EPOLLOUT) ? G_IO_OUT : 0) |
      ((events & EPOLLPRI) ? G_IO_PRI : 0) | ((events & EPOLLERR) ? G_IO_ERR : 0) |
      ((events & EPOLLHUP) ? G_IO_HUP : 0);
}

/* Between dispatches (GLib calls the poll function without the context's
 * lock): what amgw_media_loops_unblock_current_source() asked for. */
static void
unblock_pending (MediaLoop *loop)
{
  for (guint i = 0; i < loop->to_unblock->len; i++) {
    GSource *source = g_ptr_array_index (loop->to_unblock, i);

    if (!g_source_is_destroyed (source))
      g_source_set_can_recurse (source, TRUE);
  }
  g_ptr_array_set_size (loop->to_unblock, 0);
}

void
amgw_media_loops_unblock_current_source (void)
{
  MediaLoop *loop = tls_loop;
  GSource *source;

  if (loop == NULL)
    return;
  source = g_main_current_source ();
  if (source == NULL || g_source_get_can_recurse (source) ||
      (g_source_get_context (source) != loop->context &&
          g_source_get_context (source) != loop->nest_dispatching))
    return;
  if (loop->to_unblock->len > 0 &&
      g_ptr_array_index (loop->to_unblock, loop->to_unblock->len - 1) == source)
    return;   /* asked already in this dispatch */
  g_ptr_array_add (loop->to_unblock, g_source_ref (source));
}

static gint
batching_poll (GPollFD *fds, guint n_fds, gint timeout_ms)
{
  MediaLoop *loop = tls_loop;
  gint64 interval = loop != NULL ? (gint64) g_atomic_int_get (&loop->pool->batching_us) : 0;
  gint64 now;
  gint ready;

  if (loop != NULL && loop->to_unblock->len > 0)
    unblock_pending (loop);

  if (interval == 0)
    return g_poll (fds, n_fds, timeout_ms);
  now = g_get_monotonic_time ();
  if (timeout_ms != 0 && loop->busy && now - loop->last_wake_us < interval) {
    gint64 rest = loop->last_wake_us + interval - now;

    if (timeout_ms > 0)
      rest = MIN (rest, (gint64) timeout_ms * 1000);
    g_usleep ((gulong) rest);
    ready = g_poll (fds, n_fds, 0);
    if (ready != 0) {
      loop->last_wake_us = g_get_monotonic_time ();
      return ready;
    }
    /* Nothing came meanwhile: not busy any more; block for what is left. */
    loop->busy = FALSE;
    if (timeout_ms > 0)
      timeout_ms = (gint) MAX (0, timeout_ms - (rest + 999) / 1000);
  }
  ready = g_poll (fds, n_fds, timeout_ms);
  if (ready > 0 && timeout_ms != 0) {
    now = g_get_monotonic_time ();
    loop->busy = now - loop->last_wake_us < interval;
    loop->last_wake_us = now;
  }
  return ready;
}

static MediaLoop *
loop_of_context (GMainContext *ctx)
{
  MediaLoop *loop;

  g_mutex_lock (&loops_by_context_lock);
  loop = loops_by_context != NULL ? g_hash_table_lookup (loops_by_context, ctx) : NULL;
  g_mutex_unlock (&loops_by_context_lock);
  return loop;
}

/* ---- timers ---- */

#define NOT_IN_HEAP G_MAXUINT

struct _AmgwMediaTimer {
  gint ref;                 /* atomic: the owner's, and the dispatcher's while due */
  MediaLoop *loop;          /* NULL: not a pool's loop, @source instead */
  GSource *source;          /* (owned) (nullable) */
  GSourceFunc fn;
  gpointer data;
  gint64 interval_us;       /* 0: one-shot */
  /* Under loop->timer_lock: */
  gint64 deadline;
  guint heap_index;         /* NOT_IN_HEAP when not armed */
  gboolean destroyed;
};

typedef struct {
  GSource base;
  MediaLoop *loop;
} LoopSource;

static gboolean
timer_earlier (AmgwMediaTimer *a, AmgwMediaTimer *b)
{
  return a->deadline < b->deadline;
}

static void
heap_swap (GPtrArray *h, guint i, guint j)
{
  AmgwMediaTimer *a = h->pdata[i], *b = h->pdata[j];

  h->pdata[i] = b;
  h->pdata[j] = a;
  b->heap_index = i;
  a->heap_index = j;
}

static void
heap_up (GPtrArray *h, guint i)
{
  while (i > 0 && timer_earlier (h->pdata[i], h->pdata[(i - 1) / 2])) {
    heap_swap (h, i, (i - 1) / 2);
    i = (i - 1) / 2;
  }
}

static void
heap_down (GPtrArray *h, guint i)
{
  for (;;) {
    guint l = 2 * i + 1, r = l + 1, m = i;

    if (l < h->len && timer_earlier (h->pdata[l], h->pdata[m]))
      m = l;
    if (r < h->len && timer_earlier (h->pdata[r], h->pdata[m]))
      m = r;
    if (m == i)
      return;
    heap_swap (h, i, m);
    i = m;
  }
}

static void
heap_remove (GPtrArray *h, AmgwMediaTimer *t)
{
  guint i = t->heap_index, last = h->len - 1;

  if (i == NOT_IN_HEAP)
    return;
  if (i != last)
    heap_swap (h, i, last);
  g_ptr_array_set_size (h, (gint) last);
  t->heap_index = NOT_IN_HEAP;
  if (i < h->len) {
    heap_down (h, i);
    heap_up (h, i);
  }
}

/* Under timer_lock.  Whether @t is now the first due. */
static gboolean
heap_arm (GPtrArray *h, AmgwMediaTimer *t, gint64 deadline)
{
  heap_remove (h, t);
  t->deadline = deadline;
  t->heap_index = h->len;
  g_ptr_array_add (h, t);
  heap_up (h, t->heap_index);
  return t->heap_index == 0;
}

/* Armed from elsewhere than the loop's own thread: the loop may be asleep
 * with a later wake-up in mind. */
static void
wake_for (MediaLoop *loop, gboolean first)
{
  if (first && tls_loop != loop)
    g_main_context_wakeup (loop->context);
}

static void
timer_unref (AmgwMediaTimer *t)
{
  if (!g_atomic_int_dec_and_test (&t->ref))
    return;
  if (t->source != NULL)
    g_source_unref (t->source);
  g_free (t);
}

static gboolean
timers_prepare (GSource *source, gint *timeout)
{
  MediaLoop *loop = ((LoopSource *) source)->loop;
  gint64 now, first;

  g_mutex_lock (&loop->timer_lock);
  first = loop->timers->len > 0 ? ((AmgwMediaTimer *) loop->timers->pdata[0])->deadline : -1;
  g_mutex_unlock (&loop->timer_lock);
  if (first < 0) {
    *timeout = -1;
    return FALSE;
  }
  now = g_source_get_time (source);
  if (first <= now) {
    *timeout = 0;
    return TRUE;
  }
  *timeout = (gint) MIN ((first - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
timers_check (GSource *source)
{
  gint timeout;

  return timers_prepare (source, &timeout);
}

static gboolean
timers_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  MediaLoop *loop = ((LoopSource *) source)->loop;
  AmgwMediaTimer *due[64];
  guint n = 0;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&loop->timer_lock);
  while (n < G_N_ELEMENTS (due) && loop->timers->len > 0 &&
      ((AmgwMediaTimer *) loop->timers->pdata[0])->deadline <= now) {
    AmgwMediaTimer *t = loop->timers->pdata[0];

    heap_remove (loop->timers, t);
    g_atomic_int_inc (&t->ref);
    due[n++] = t;
  }
  g_mutex_unlock (&loop->timer_lock);

  /* More than fit: the rest at the next iteration (prepare says due). */
  for (guint i = 0; i < n; i++) {
    AmgwMediaTimer *t = due[i];
    gboolean live, again = G_SOURCE_CONTINUE;

    g_mutex_lock (&loop->timer_lock);
    live = !t->destroyed;
    g_mutex_unlock (&loop->timer_lock);
    if (live)
      again = t->fn (t->data);
    g_mutex_lock (&loop->timer_lock);
    if (!t->destroyed && t->interval_us > 0) {
      if (again == G_SOURCE_REMOVE)
        t->destroyed = TRUE;
      else if (t->heap_index == NOT_IN_HEAP)
        heap_arm (loop->timers, t, g_get_monotonic_time () + t->interval_us);
    }
    g_mutex_unlock (&loop->timer_lock);
    timer_unref (t);
  }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timers_funcs = { timers_prepare, timers_check, timers_dispatch, NULL, NULL,
  NULL };

/* Not a pool's loop: one-shot GSources, disarmed before their callback. */
static gboolean
oneshot_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  g_source_set_ready_time (source, -1);
  callback (user_data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs oneshot_funcs = { NULL, NULL, oneshot_dispatch, NULL, NULL, NULL };

AmgwMediaTimer *
amgw_media_timer_new (GMainContext *ctx, guint interval_ms, GSourceFunc fn, gpointer data)
{
  AmgwMediaTimer *t;

  g_return_val_if_fail (ctx != NULL && fn != NULL, NULL);
  t = g_new0 (AmgwMediaTimer, 1);
  t->ref = 1;
  t->fn = fn;
  t->data = data;
  t->interval_us = (gint64) interval_ms * 1000;
  t->heap_index = NOT_IN_HEAP;
  t->loop = loop_of_context (ctx);
  if (t->loop == NULL) {
    t->source = interval_ms > 0 ? g_timeout_source_new (interval_ms)
        : g_source_new (&oneshot_funcs, sizeof (GSource));
    g_source_set_callback (t->source, fn, data, NULL);
    if (interval_ms == 0)
      g_source_set_ready_time (t->source, -1);
    g_source_attach (t->source, ctx);
    return t;
  }
  if (interval_ms > 0) {
    gboolean first;

    g_mutex_lock (&t->loop->timer_lock);
    first = heap_arm (t->loop->timers, t, g_get_monotonic_time () + t->interval_us);
    g_mutex_unlock (&t->loop->timer_lock);
    wake_for (t->loop, first);
  }
  return t;
}

void
amgw_media_timer_set_ready_time (AmgwMediaTimer *t, gint64 ready_time)
{
  gboolean first = FALSE;

  g_return_if_fail (t != NULL);
  if (t->loop == NULL) {
    g_source_set_ready_time (t->source, ready_time);
    return;
  }
  g_mutex_lock (&t->loop->timer_lock);
  if (!t->destroyed && ready_time >= 0)
    first = heap_arm (t->loop->timers, t, ready_time);
  else
    heap_remove (t->loop->timers, t);
  g_mutex_unlock (&t->loop->timer_lock);
  wake_for (t->loop, first);
}

void
amgw_media_timer_clear (AmgwMediaTimer **tp)
{
  AmgwMediaTimer *t = *tp;

  if (t == NULL)
    return;
  *tp = NULL;
  if (t->loop == NULL) {
    g_source_destroy (t->source);
  } else {
    g_mutex_lock (&t->loop->timer_lock);
    t->destroyed = TRUE;
    heap_remove (t->loop->timers, t);
    g_mutex_unlock (&t->loop->timer_lock);
  }
  timer_unref (t);
}

/* ---- watches ---- */

/* Nests' descriptors share the watches' epoll set: data.u64 is this bit, the
 * nest's serial (31 bits) and the descriptor (32 bits). */
#define NEST_ID_BIT (G_GUINT64_CONSTANT (1) << 63)

/* A watch's id is its slot's generation (31 bits, never 0) over the slot's
 * index (32 bits): found without hashing, and an event still queued for a
 * cleared watch does not find the slot's next owner. */
typedef struct {
  AmgwMediaWatch *watch;    /* NULL: empty */
  guint32 gen;
} WatchSlot;

static void nest_event (MediaLoop *loop, guint64 id, guint32 events);
static void nests_run_pending (MediaLoop *loop);

struct _AmgwMediaWatch {
  gint ref;                 /* atomic: the owner's, and the dispatcher's while calling */
  MediaLoop *loop;          /* NULL: not a pool's loop, @source instead */
  GSource *source;          /* (owned) (nullable) */
  GSocket *sock;            /* (owned) */
  int fd;
  guint64 id;
  AmgwMediaSocketFunc fn;
  gpointer data;
  gsize prefetch_bytes;     /* of @data (amgw_media_watch_set_prefetch) */
  AmgwMediaPrefetchFunc prefetch_more;
};

static void
watch_unref (AmgwMediaWatch *w)
{
  if (!g_atomic_int_dec_and_test (&w->ref))
    return;
  if (w->source != NULL)
    g_source_unref (w->source);
  g_object_unref (w->sock);
  g_free (w);
}

/* Under loop->watch_lock. */
static AmgwMediaWatch *
watch_lookup (MediaLoop *loop, guint64 id)
{
  guint32 index = (guint32) id;
  WatchSlot *slot;

  if (index >= loop->watch_slots->len)
    return NULL;
  slot = &g_array_index (loop->watch_slots, WatchSlot, index);
  return slot->gen == (guint32) (id >> 32) ? slot->watch : NULL;
}

/* Under loop->watch_lock: gives @w a slot and its id. */
static void
watch_add (MediaLoop *loop, AmgwMediaWatch *w)
{
  WatchSlot *slot;
  guint32 index;

  if (loop->free_slots->len > 0) {
    index = g_array_index (loop->free_slots, guint32, loop->free_slots->len - 1);
    g_array_set_size (loop->free_slots, loop->free_slots->len - 1);
  } else {
    index = loop->watch_slots->len;
    g_array_set_size (loop->watch_slots, index + 1);   /* zeroed: gen 0 */
  }
  slot = &g_array_index (loop->watch_slots, WatchSlot, index);
  slot->gen = (slot->gen + 1) & 0x7fffffff;
  if (slot->gen == 0)
    slot->gen = 1;
  slot->watch = w;
  w->id = ((guint64) slot->gen << 32) | index;
}

/* Under loop->watch_lock. */
static void
watch_remove (MediaLoop *loop, AmgwMediaWatch *w)
{
  guint32 index = (guint32) w->id;

  if (watch_lookup (loop, w->id) != w)
    return;
  g_array_index (loop->watch_slots, WatchSlot, index).watch = NULL;
  g_array_append_val (loop->free_slots, index);
}

static gboolean
watches_check (GSource *source)
{
  MediaLoop *loop = ((LoopSource *) source)->loop;

  return g_source_query_unix_fd (source, loop->watch_tag) != 0;
}

/* Watches are edge-triggered (a level-triggered one costs the kernel a
 * second look at the socket, at the next poll, for every event it reports):
 * one whose callback stopped before the socket was empty is modified again,
 * which has epoll report it at once if data is left. */
static void
watch_rearm (MediaLoop *loop, AmgwMediaWatch *w)
{
  struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = w->id };

  g_mutex_lock (&loop->watch_lock);
  if (watch_lookup (loop, w->id) == w)
    epoll_ctl (loop->watch_epfd, EPOLL_CTL_MOD, w->fd, &ev);
  g_mutex_unlock (&loop->watch_lock);
}

static gboolean
watches_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  MediaLoop *loop = ((LoopSource *) source)->loop;
  struct epoll_event evs[128];
  AmgwMediaWatch *near[G_N_ELEMENTS (evs)];
  AmgwMediaPrefetch step[G_N_ELEMENTS (evs)];
  int n = epoll_wait (loop->watch_epfd, evs, G_N_ELEMENTS (evs), 0);

  /* What the callbacks read first (amgw_media_watch_set_prefetch()): in
   * sweeps over the round's events, each requesting what the one before
   * brought in.  Under the lock, so every watch read is alive. */
  if (n > 1) {
    int m = 0;

    g_mutex_lock (&loop->watch_lock);
    for (int i = 0; i < n; i++) {
      guint64 id = evs[i].data.u64;
      AmgwMediaWatch *w = (id & NEST_ID_BIT) ? NULL : watch_lookup (loop, id);

      if (w != NULL) {
        amgw_prefetch_span (w, sizeof *w);
        near[m++] = w;
      }
    }
    for (int i = 0; i < m; i++) {
      amgw_prefetch_span (near[i]->data, near[i]->prefetch_bytes);
      step[i] = (AmgwMediaPrefetch) { near[i]->prefetch_more, near[i]->data };
    }
    for (int sweep = 0; sweep < AMGW_MEDIA_PREFETCH_SWEEPS; sweep++) {
      gboolean more = FALSE;

      for (int i = 0; i < m; i++) {
        AmgwMediaPrefetch next = { NULL, NULL };

        if (step[i].fn == NULL)
          continue;
        step[i].fn (step[i].data, &next);
        step[i] = next;
        more |= next.fn != NULL;
      }
      if (!more)
        break;
    }
    g_mutex_unlock (&loop->watch_lock);
  }

  /* A watch cleared by an earlier callback of this round is no longer in the
   * table: its event is dropped. */
  for (int i = 0; i < n; i++) {
    AmgwMediaWatch *w;

    guint64 id = evs[i].data.u64;   /* the event is packed: not aligned */

    if (id & NEST_ID_BIT) {
      nest_event (loop, id, evs[i].events);
      continue;
    }
    g_mutex_lock (&loop->watch_lock);
    w = watch_lookup (loop, id);
    if (w != NULL)
      g_atomic_int_inc (&w->ref);
    g_mutex_unlock (&loop->watch_lock);
    if (w == NULL)
      continue;
    if (w->fn (w->sock, w->fd, (GIOCondition) poll_revents (evs[i].events), w->data))
      watch_rearm (loop, w);
    watch_unref (w);
  }
  if (loop->pending_nests->len > 0)
    nests_run_pending (loop);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs watches_funcs = { NULL, watches_check, watches_dispatch, NULL, NULL, NULL };

static gboolean
watch_source_cb (GSocket *sock, GIOCondition cond, gpointer data)
{
  AmgwMediaWatch *w = data;

  w->fn (sock, w->fd, cond, w->data);
  return G_SOURCE_CONTINUE;
}

AmgwMediaWatch *
amgw_media_watch_new (GMainContext *ctx, GSocket *sock, AmgwMediaSocketFunc fn, gpointer data)
{
  AmgwMediaWatch *w;
  struct epoll_event ev = { .events = EPOLLIN | EPOLLET };

  g_return_val_if_fail (ctx != NULL && G_IS_SOCKET (sock) && fn != NULL, NULL);
  w = g_new0 (AmgwMediaWatch, 1);
  w->ref = 1;
  w->sock = g_object_ref (sock);
  w->fd = g_socket_get_fd (sock);
  w->fn = fn;
  w->data = data;
  w->prefetch_bytes = 64;
  w->loop = loop_of_context (ctx);
  if (w->loop != NULL && w->loop->watch_epfd >= 0) {
    g_mutex_lock (&w->loop->watch_lock);
    watch_add (w->loop, w);
    ev.data.u64 = w->id;
    if (epoll_ctl (w->loop->watch_epfd, EPOLL_CTL_ADD, w->fd, &ev) == 0) {
      g_mutex_unlock (&w->loop->watch_lock);
      return w;
    }
    watch_remove (w->loop, w);
    g_mutex_unlock (&w->loop->watch_lock);
    GST_WARNING ("amgw-media-%u: epoll cannot watch descriptor %d (%s): a source of its own",
        w->loop->index, w->fd, g_strerror (errno));
  }
  w->loop = NULL;
  w->source = g_socket_create_source (sock, G_IO_IN, NULL);
  g_source_set_can_recurse (w->source, TRUE);
  g_source_set_callback (w->source, (GSourceFunc) (void (*) (void)) watch_source_cb, w, NULL);
  g_source_attach (w->source, ctx);
  return w;
}

void
amgw_media_watch_clear (AmgwMediaWatch **wp)
{
  AmgwMediaWatch *w = *wp;

  if (w == NULL)
    return;
  *wp = NULL;
  if (w->loop == NULL) {
    g_source_destroy (w->source);
  } else {
    g_mutex_lock (&w->loop->watch_lock);
    watch_remove (w->loop, w);
    if (!g_socket_is_closed (w->sock))
      epoll_ctl (w->loop->watch_epfd, EPOLL_CTL_DEL, w->fd, NULL);
    g_mutex_unlock (&w->loop->watch_lock);
  }
  watch_unref (w);
}

void
amgw_media_watch_set_prefetch (AmgwMediaWatch *w, gsize bytes, AmgwMediaPrefetchFunc more)
{
  g_return_if_fail (w != NULL);
  if (w->loop == NULL)
    return;   /* a plain context: nothing reads them */
  g_mutex_lock (&w->loop->watch_lock);
  w->prefetch_bytes = bytes;
  w->prefetch_more = more;
  g_mutex_unlock (&w->loop->watch_lock);
}

int
amgw_media_recv_batch (int fd, guint8 *bufs, gsize slot, struct sockaddr_storage *from,
    struct iovec *iov, struct mmsghdr *msgs, guint n)
{
  memset (msgs, 0, n * sizeof msgs[0]);
  for (guint i = 0; i < n; i++) {
    iov[i].iov_base = bufs + i * slot;
    iov[i].iov_len = slot;
    msgs[i].msg_hdr.msg_name = &from[i];
    msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  return recvmmsg (fd, msgs, n, MSG_DONTWAIT, NULL);
}

/* ---- nests ---- */

typedef struct {
  int fd;
  guint32 events;           /* EPOLL* as registered */
  dev_t dev;                /* which socket the number was when registered */
  ino_t ino;
} NestReg;

struct _AmgwMediaNest {
  guint ref;                /* the owner's; the loop's while it runs the nest */
  MediaLoop *loop;          /* NULL: not a pool's loop, @ctx is that context */
  GMainContext *ctx;        /* (owned) */
  guint32 serial;
  gboolean freed;           /* amgw_media_nest_free() was called */

  /* The loop thread's own: */
  AmgwMediaTimer *timer;    /* one-shot: the context's next timeout */
  gint64 deadline;          /* what @timer is armed for; -1: not armed */
  gint max_priority;
  GArray *fds;              /* GPollFD: the last query (revents: this round's) */
  gint n_fds;
  GArray *last;             /* GPollFD: what the registrations were made from */
  GArray *regs;             /* NestReg: in the loop's watch epoll set */
  int wakeup_fd;            /* the context's own (GLib's wake-up eventfd) */
  gboolean resync;
  gboolean pending;         /* in loop->pending_nests */
};

static gboolean
fd_identity (int fd, dev_t *dev, ino_t *ino)
{
  struct stat st;

  if (fstat (fd, &st) != 0)
    return FALSE;
  *dev = st.st_dev;
  *ino = st.st_ino;
  return TRUE;
}

/* Out of the epoll set, unless the number is another socket's by now (the
 * old one was closed, and the kernel dropped it from the set then). */
static void
nest_reg_remove (AmgwMediaNest *nest, const NestReg *r)
{
  dev_t dev;
  ino_t ino;

  if (fd_identity (r->fd, &dev, &ino) && dev == r->dev && ino == r->ino)
    epoll_ctl (nest->loop->watch_epfd, EPOLL_CTL_DEL, r->fd, NULL);
}

static NestReg *
nest_reg_find (GArray *regs, int fd)
{
  for (guint i = 0; i < regs->len; i++) {
    if (g_array_index (regs, NestReg, i).fd == fd)
      return &g_array_index (regs, NestReg, i);
  }
  return NULL;
}

/* Brings the epoll set in line with the last query: every descriptor asked
 * for (a descriptor asked for twice, once with both sets of events), none
 * other.  Descriptors are told apart by number and socket: a number that
 * was closed and reused (by this nest or by anyone) is registered anew. */
static void
nest_sync (AmgwMediaNest *nest)
{
  const GPollFD *fds = (const GPollFD *) nest->fds->data;
  g_autoptr (GArray) wanted = g_array_new (FALSE, FALSE, sizeof (NestReg));

  for (gint i = 0; i < nest->n_fds; i++) {
    NestReg *w = nest_reg_find (wanted, fds[i].fd);

    if (fds[i].fd < 0)
      continue;
    if (w != NULL) {
      w->events |= epoll_events (fds[i].events);
    } else {
      NestReg n = { .fd = fds[i].fd, .events = epoll_events (fds[i].events) };
      g_array_append_val (wanted, n);
    }
  }
  for (guint i = 0; i < nest->regs->len; i++) {
    const NestReg *r = &g_array_index (nest->regs, NestReg, i);

    if (nest_reg_find (wanted, r->fd) == NULL)
      nest_reg_remove (nest, r);
  }
  for (guint i = 0; i < wanted->len; i++) {
    NestReg *w = &g_array_index (wanted, NestReg, i);
    const NestReg *r = nest_reg_find (nest->regs, w->fd);
    struct epoll_event ev = { .events = w->events,
      .data.u64 = NEST_ID_BIT | ((guint64) nest->serial << 32) | (guint32) w->fd };
    gboolean same;

    if (!fd_identity (w->fd, &w->dev, &w->ino)) {
      w->fd = -1;     /* closed already: its source goes at the next query */
      continue;
    }
    same = r != NULL && r->dev == w->dev && r->ino == w->ino;
    if (same && r->events == w->events)
      continue;
    if (epoll_ctl (nest->loop->watch_epfd, same ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, w->fd, &ev) != 0
        && epoll_ctl (nest->loop->watch_epfd, same ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, w->fd,
            &ev) != 0) {
      GST_WARNING ("amgw-media-%u: epoll cannot watch descriptor %d: %s", nest->loop->index,
          w->fd, g_strerror (errno));
      w->fd = -1;
    }
  }
  g_array_set_size (nest->regs, 0);
  for (guint i = 0; i < wanted->len; i++) {
    if (g_array_index (wanted, NestReg, i).fd >= 0)
      g_array_append_val (nest->regs, g_array_index (wanted, NestReg, i));
  }
  g_array_set_size (nest->last, 0);
  g_array_append_vals (nest->last, fds, (guint) nest->n_fds);
  nest->resync = FALSE;
}

static gboolean
nest_same_fds (AmgwMediaNest *nest)
{
  const GPollFD *fds = (const GPollFD *) nest->fds->data;
  const GPollFD *last = (const GPollFD *) nest->last->data;

  if (nest->last->len != (guint) nest->n_fds)
    return FALSE;
  for (gint i = 0; i < nest->n_fds; i++) {
    if (fds[i].fd != last[i].fd || fds[i].events != last[i].events)
      return FALSE;
  }
  return TRUE;
}

/* Prepare and query: what the nest waits for next, into the epoll set and
 * the timer heap. */
static void
nest_query (AmgwMediaNest *nest)
{
  gint timeout = -1, n;
  gint64 deadline;

  g_main_context_prepare (nest->ctx, &nest->max_priority);
  for (;;) {
    n = g_main_context_query (nest->ctx, nest->max_priority, &timeout,
        (GPollFD *) nest->fds->data, (gint) nest->fds->len);
    if (n <= (gint) nest->fds->len)
      break;
    g_array_set_size (nest->fds, (guint) n);
  }
  nest->n_fds = n;
  if (nest->resync || !nest_same_fds (nest))
    nest_sync (nest);

  deadline = timeout < 0 ? -1 : g_get_monotonic_time () + (gint64) timeout * 1000;
  /* Within a millisecond of what is armed: GLib rounds to milliseconds anyway,
   * and one that fires early only queries again. */
  if ((deadline < 0) != (nest->deadline < 0) || ABS (deadline - nest->deadline) >= 1000
      || timeout == 0) {
    nest->deadline = deadline;
    amgw_media_timer_set_ready_time (nest->timer, deadline);
  }
}

static void
nest_unref (AmgwMediaNest *nest)
{
  if (--nest->ref > 0)
    return;
  if (nest->loop != NULL) {
    g_main_context_release (nest->ctx);
    g_array_unref (nest->fds);
    g_array_unref (nest->last);
    g_array_unref (nest->regs);
  }
  g_main_context_unref (nest->ctx);
  g_free (nest);
}

/* Check and dispatch what is due, then query again. */
static void
nest_iterate (AmgwMediaNest *nest)
{
  MediaLoop *loop = nest->loop;
  GMainContext *outer = loop->nest_dispatching;
  const GPollFD *fds = (const GPollFD *) nest->fds->data;

  if (nest->freed)
    return;
  for (gint i = 0; i < nest->n_fds; i++) {
    if (fds[i].fd == nest->wakeup_fd && fds[i].revents != 0)
      nest->resync = TRUE;   /* the context changed: sources came or went */
  }
  nest->ref++;
  loop->nest_dispatching = nest->ctx;
  if (g_main_context_check (nest->ctx, nest->max_priority, (GPollFD *) nest->fds->data,
          nest->n_fds))
    g_main_context_dispatch (nest->ctx);
  loop->nest_dispatching = outer;
  if (loop->to_unblock->len > 0)
    unblock_pending (loop);
  if (!nest->freed)
    nest_query (nest);
  nest_unref (nest);
}

static void
nest_event (MediaLoop *loop, guint64 id, guint32 events)
{
  AmgwMediaNest *nest = g_hash_table_lookup (loop->nests,
      GUINT_TO_POINTER ((guint) ((id >> 32) & 0x7fffffff)));
  int fd = (int) (guint32) id;
  GPollFD *fds;

  if (nest == NULL || nest->freed)
    return;
  fds = (GPollFD *) nest->fds->data;
  for (gint i = 0; i < nest->n_fds; i++) {
    if (fds[i].fd == fd)
      fds[i].revents |= poll_revents (events) & (fds[i].events | G_IO_ERR | G_IO_HUP);
  }
  if (!nest->pending) {
    nest->pending = TRUE;
    nest->ref++;
    g_ptr_array_add (loop->pending_nests, nest);
  }
}

static void
nests_run_pending (MediaLoop *loop)
{
  for (guint i = 0; i < loop->pending_nests->len; i++) {
    AmgwMediaNest *nest = g_ptr_array_index (loop->pending_nests, i);

    nest->pending = FALSE;
    nest_iterate (nest);
    nest_unref (nest);
  }
  g_ptr_array_set_size (loop->pending_nests, 0);
}

static gboolean
nest_timer_cb (gpointer data)
{
  AmgwMediaNest *nest = data;

  nest->deadline = -1;   /* one-shot: disarmed */
  nest_iterate (nest);
  return G_SOURCE_CONTINUE;
}

AmgwMediaNest *
amgw_media_nest_new (GMainContext *ctx)
{
  AmgwMediaNest *nest;
  MediaLoop *loop;

  g_return_val_if_fail (ctx != NULL, NULL);
  nest = g_new0 (AmgwMediaNest, 1);
  nest->ref = 1;
  loop = loop_of_context (ctx);
  if (loop == NULL || loop->watch_epfd < 0) {
    nest->ctx = g_main_context_ref (ctx);
    return nest;
  }
  g_assert (tls_loop == loop);
  nest->loop = loop;
  /* Ownerless polling: a source attached by the owning thread itself (libnice
   * starting a timer from a call made on the loop) signals the context's
   * wake-up too, which the loop polls. */
  nest->ctx = g_main_context_new_with_flags (G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING);
  if (!g_main_context_acquire (nest->ctx))
    g_error ("amgw-media-%u: cannot acquire a new context", loop->index);
  do
    nest->serial = ++loop->next_nest_serial & 0x7fffffff;
  while (nest->serial == 0 || g_hash_table_contains (loop->nests, GUINT_TO_POINTER (nest->serial)));
  g_hash_table_insert (loop->nests, GUINT_TO_POINTER (nest->serial), nest);
  nest->fds = g_array_sized_new (FALSE, TRUE, sizeof (GPollFD), 8);
  g_array_set_size (nest->fds, 8);
  nest->last = g_array_new (FALSE, FALSE, sizeof (GPollFD));
  nest->regs = g_array_new (FALSE, FALSE, sizeof (NestReg));
  nest->deadline = -1;
  nest->timer = amgw_media_timer_new (ctx, 0, nest_timer_cb, nest);
  /* Nothing attached yet: the one descriptor is GLib's wake-up. */
  nest->wakeup_fd = -1;
  nest_query (nest);
  if (nest->n_fds == 1)
    nest->wakeup_fd = g_array_index (nest->fds, GPollFD, 0).fd;
  return nest;
}

GMainContext *
amgw_media_nest_get_context (AmgwMediaNest *nest)
{
  g_return_val_if_fail (nest != NULL, NULL);
  return nest->ctx;
}

void
amgw_media_nest_free (AmgwMediaNest *nest)
{
  if (nest == NULL)
    return;
  g_return_if_fail (!nest->freed);
  nest->freed = TRUE;
  if (nest->loop != NULL) {
    g_assert (tls_loop == nest->loop);
    g_hash_table_remove (nest->loop->nests, GUINT_TO_POINTER (nest->serial));
    for (guint i = 0; i < nest->regs->len; i++)
      nest_reg_remove (nest, &g_array_index (nest->regs, NestReg, i));
    g_array_set_size (nest->regs, 0);
    amgw_media_timer_clear (&nest->timer);
  }
  nest_unref (nest);
}

static gpointer
media_thread (gpointer data)
{
  ThreadStart *start = data;
  AmgwMediaLoops *pool = start->pool;
  MediaLoop *loop = start->loop;

  g_free (start);
  tls_loop = loop;

  /* Owned for the thread's whole life: see the file comment. */
  if (!g_main_context_acquire (loop->context))
    g_error ("amgw-media-%u: cannot acquire its own context", loop->index);
  g_main_context_push_thread_default (loop->context);

  g_mutex_lock (&pool->lock);
  pool->n_started++;
  g_cond_broadcast (&pool->started_cond);
  g_mutex_unlock (&pool->lock);

  GST_DEBUG ("amgw-media-%u running", loop->index);
  g_main_loop_run (loop->loop);
  /* The quit source is of high priority: work queued before it at a lower one
   * (a session's tear-down, say) is still due.  Run what is ready now; a
   * bounded number of rounds, since a socket under a flood stays ready. */
  for (guint i = 0; i < 1000 && g_main_context_iteration (loop->context, FALSE); i++)
    ;
  g_ptr_array_set_size (loop->to_unblock, 0);
  GST_DEBUG ("amgw-media-%u stopped", loop->index);

  g_main_context_pop_thread_default (loop->context);
  g_main_context_release (loop->context);
  return NULL;
}

AmgwMediaLoops *
amgw_media_loops_new (guint n_loops)
{
  AmgwMediaLoops *pool;

  ensure_debug_category ();

  if (n_loops == 0)
    n_loops = MAX (1, g_get_num_processors ());
  n_loops = MIN (n_loops, AMGW_MEDIA_LOOPS_MAX);

  pool = g_new0 (AmgwMediaLoops, 1);
  pool->n_loops = n_loops;
  pool->batching_us = AMGW_MEDIA_BATCHING_US;
  pool->loops = g_new0 (MediaLoop, n_loops);
  pool->keyed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_mutex_init (&pool->lock);
  g_cond_init (&pool->started_cond);

  for (guint i = 0; i < n_loops; i++) {
    MediaLoop *loop = &pool->loops[i];
    ThreadStart *start = g_new0 (ThreadStart, 1);
    g_autofree char *name = g_strdup_printf ("amgw-media-%u", i);

    loop->index = i;
    loop->pool = pool;
    loop->context = g_main_context_new ();
    g_main_context_set_poll_func (loop->context, batching_poll);
    g_mutex_init (&loop->timer_lock);
    loop->timers = g_ptr_array_new ();
    loop->to_unblock = g_ptr_array_new_with_free_func ((GDestroyNotify) g_source_unref);
    loop->nests = g_hash_table_new (NULL, NULL);
    loop->pending_nests = g_ptr_array_new ();
    loop->timer_source = g_source_new (&timers_funcs, sizeof (LoopSource));
    ((LoopSource *) loop->timer_source)->loop = loop;
    g_source_set_can_recurse (loop->timer_source, TRUE);   /* see the file comment */
    g_source_set_static_name (loop->timer_source, "amgw-media-timers");
    g_source_attach (loop->timer_source, loop->context);
    g_mutex_init (&loop->watch_lock);
    loop->watch_slots = g_array_new (FALSE, TRUE, sizeof (WatchSlot));
    loop->free_slots = g_array_new (FALSE, FALSE, sizeof (guint32));
    loop->watch_epfd = epoll_create1 (EPOLL_CLOEXEC);
    if (loop->watch_epfd >= 0) {
      loop->watch_source = g_source_new (&watches_funcs, sizeof (LoopSource));
      ((LoopSource *) loop->watch_source)->loop = loop;
      g_source_set_can_recurse (loop->watch_source, TRUE);
      g_source_set_static_name (loop->watch_source, "amgw-media-sockets");
      loop->watch_tag = g_source_add_unix_fd (loop->watch_source, loop->watch_epfd, G_IO_IN);
      g_source_attach (loop->watch_source, loop->context);
    }
    loop->loop = g_main_loop_new (loop->context, FALSE);
    start->pool = pool;
    start->loop = loop;
    /* g_thread_new aborts when no thread can be made: nothing to unwind. */
    loop->thread = g_thread_new (name, media_thread, start);
    g_mutex_lock (&loops_by_context_lock);
    if (loops_by_context == NULL)
      loops_by_context = g_hash_table_new (NULL, NULL);
    g_hash_table_insert (loops_by_context, loop->context, loop);
    g_mutex_unlock (&loops_by_context_lock);
  }

  g_mutex_lock (&pool->lock);
  while (pool->n_started < n_loops)
    g_cond_wait (&pool->started_cond, &pool->lock);
  g_mutex_unlock (&pool->lock);

  GST_INFO ("%u media loops running", n_loops);
  return pool;
}

static gboolean
quit_loop_cb (gpointer data)
{
  MediaLoop *loop = data;

  g_main_loop_quit (loop->loop);
  return G_SOURCE_REMOVE;
}

void
amgw_media_loops_free (AmgwMediaLoops *pool)
{
  if (pool == NULL)
    return;

  for (guint i = 0; i < pool->n_loops; i++) {
    MediaLoop *loop = &pool->loops[i];
    g_autoptr (GSource) quit = NULL;

    g_return_if_fail (!g_main_context_is_owner (loop->context));

    if (loop->users > 0)
      GST_WARNING ("amgw-media-%u still has %u users at shutdown", i, loop->users);

    quit = g_idle_source_new ();
    g_source_set_priority (quit, G_PRIORITY_HIGH);
    g_source_set_callback (quit, quit_loop_cb, loop, NULL);
    g_source_set_static_name (quit, "amgw-media-quit");
    g_source_attach (quit, loop->context);
  }

  for (guint i = 0; i < pool->n_loops; i++) {
    MediaLoop *loop = &pool->loops[i];
    guint n_watches;

    g_thread_join (loop->thread);
    g_mutex_lock (&loops_by_context_lock);
    g_hash_table_remove (loops_by_context, loop->context);
    g_mutex_unlock (&loops_by_context_lock);
    g_main_loop_unref (loop->loop);
    /* Timers and watches still there belong to objects never freed: theirs
     * to leak, not ours to free. */
    n_watches = loop->watch_slots->len - loop->free_slots->len;
    if (loop->timers->len > 0 || n_watches > 0)
      GST_WARNING ("amgw-media-%u stopped with %u timers and %u sockets", i, loop->timers->len,
          n_watches);
    g_source_destroy (loop->timer_source);
    g_source_unref (loop->timer_source);
    if (loop->watch_source != NULL) {
      g_source_destroy (loop->watch_source);
      g_source_unref (loop->watch_source);
    }
    g_ptr_array_unref (loop->to_unblock);   /* emptied by the thread: no source refs */
    /* Nests still there: their owners' to free (a libnice close that never
     * finished), like timers. */
    if (g_hash_table_size (loop->nests) > 0)
      GST_WARNING ("amgw-media-%u stopped with %u nests", i, g_hash_table_size (loop->nests));
    g_hash_table_unref (loop->nests);
    g_ptr_array_unref (loop->pending_nests);
    g_main_context_unref (loop->context);
    g_ptr_array_unref (loop->timers);
    g_array_unref (loop->watch_slots);
    g_array_unref (loop->free_slots);
    if (loop->watch_epfd >= 0)
      close (loop->watch_epfd);
    g_mutex_clear (&loop->timer_lock);
    g_mutex_clear (&loop->watch_lock);
  }

  GST_INFO ("%u media loops stopped", pool->n_loops);
  g_cond_clear (&pool->started_cond);
  g_mutex_clear (&pool->lock);
  g_hash_table_unref (pool->keyed);
  g_free (pool->loops);
  g_free (pool);
}

void
amgw_media_loops_set_batching (AmgwMediaLoops *pool, guint interval_us)
{
  g_return_if_fail (pool != NULL);
  g_atomic_int_set (&pool->batching_us, (gint) MIN (interval_us, AMGW_MEDIA_BATCHING_MAX_US));
  GST_INFO ("media loops batch their polls under load: %u us", MIN (interval_us,
      AMGW_MEDIA_BATCHING_MAX_US));
}

guint
amgw_media_loops_size (AmgwMediaLoops *pool)
{
  g_return_val_if_fail (pool != NULL, 0);
  return pool->n_loops;
}

GMainContext *
amgw_media_loops_acquire (AmgwMediaLoops *pool)
{
  return amgw_media_loops_acquire_keyed (pool, NULL);
}

GMainContext *
amgw_media_loops_acquire_keyed (AmgwMediaLoops *pool, const char *key)
{
  MediaLoop *best = NULL;
  Keyed *k;

  g_return_val_if_fail (pool != NULL, NULL);

  g_mutex_lock (&pool->lock);
  k = key != NULL ? g_hash_table_lookup (pool->keyed, key) : NULL;
  if (k != NULL) {
    best = k->loop;
    k->count++;
  } else {
    for (guint i = 0; i < pool->n_loops; i++) {
      if (best == NULL || pool->loops[i].users < best->users)
        best = &pool->loops[i];
    }
    if (key != NULL) {
      k = g_new0 (Keyed, 1);
      k->loop = best;
      k->count = 1;
      g_hash_table_insert (pool->keyed, g_strdup (key), k);
    }
  }
  best->users++;
  GST_DEBUG ("acquired amgw-media-%u (%u users)%s%s", best->index, best->users,
      key != NULL ? " for " : "", key != NULL ? key : "");
  g_mutex_unlock (&pool->lock);

  return g_main_context_ref (best->context);
}

void
amgw_media_loops_release (AmgwMediaLoops *pool, GMainContext *ctx)
{
  amgw_media_loops_release_keyed (pool, ctx, NULL);
}

void
amgw_media_loops_release_keyed (AmgwMediaLoops *pool, GMainContext *ctx, const char *key)
{
  Keyed *k;

  g_return_if_fail (pool != NULL);
  g_return_if_fail (ctx != NULL);

  g_mutex_lock (&pool->lock);
  for (guint i = 0; i < pool->n_loops; i++) {
    MediaLoop *loop = &pool->loops[i];

    if (loop->context != ctx)
      continue;
    if (loop->users == 0) {
      g_mutex_unlock (&pool->lock);
      g_critical ("amgw_media_loops_release: amgw-media-%u has no users", i);
      return;
    }
    k = key != NULL ? g_hash_table_lookup (pool->keyed, key) : NULL;
    if (k != NULL && k->loop == loop && --k->count == 0)
      g_hash_table_remove (pool->keyed, key);
    loop->users--;
    GST_DEBUG ("released amgw-media-%u (%u users)", i, loop->users);
    g_mutex_unlock (&pool->lock);
    return;
  }
  g_mutex_unlock (&pool->lock);
  g_critical ("amgw_media_loops_release: context %p is not a media loop's", (void *) ctx);
}

guint
amgw_media_loops_users (AmgwMediaLoops *pool, guint index)
{
  guint users;

  g_return_val_if_fail (pool != NULL, 0);
  g_return_val_if_fail (index < pool->n_loops, 0);

  g_mutex_lock (&pool->lock);
  users = pool->loops[index].users;
  g_mutex_unlock (&pool->lock);
  return users;
}

GMainContext *
amgw_media_loops_get_context (AmgwMediaLoops *pool, guint index)
{
  g_return_val_if_fail (pool != NULL, NULL);
  g_return_val_if_fail (index < pool->n_loops, NULL);
  return pool->loops[index].context;
}

/* ---- invoke_sync ---- */

typedef struct {
  GSourceFunc fn;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} SyncCall;

static gboolean
sync_call_cb (gpointer user_data)
{
  SyncCall *call = user_data;

  call->fn (call->data);

  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

void
amgw_media_loops_invoke_sync (GMainContext *ctx, GSourceFunc fn, gpointer data)
{
  SyncCall call = { .fn = fn, .data = data };
  g_autoptr (GSource) source = NULL;

  g_return_if_fail (ctx != NULL);
  g_return_if_fail (fn != NULL);
  /* The loop would wait for itself. */
  g_assert (!g_main_context_is_owner (ctx));

  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);

  /* An explicit source rather than g_main_context_invoke(): that one runs @fn
   * right here when nobody owns @ctx, which would put a media object on the
   * wrong thread without a word. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_HIGH);
  g_source_set_callback (source, sync_call_cb, &call, NULL);
  g_source_set_static_name (source, "amgw-media-invoke-sync");
  g_source_attach (source, ctx);

  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);

  g_cond_clear (&call.cond);
  g_mutex_clear (&call.lock);
}
