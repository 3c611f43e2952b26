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
 */
#include "amgw/media-loops.h"

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
} MediaLoop;

struct _AmgwMediaLoops {
  guint n_loops;
  gint batching_us;   /* atomic */
  MediaLoop *loops;

  GMutex lock;        /* users; start-up hand-shake */
  GCond started_cond;
  guint n_started;
};

typedef struct {
  AmgwMediaLoops *pool;
  MediaLoop *loop;
} ThreadStart;

/* The media thread's own wake-ups (the poll function runs on the thread that
 * iterates the context: only its loop thread).  Busy: woken twice within the
 * interval, and still finding work after each interval slept out. */
static __thread MediaLoop *tls_loop;

static gint
batching_poll (GPollFD *fds, guint n_fds, gint timeout_ms)
{
  MediaLoop *loop = tls_loop;
  gint64 interval = loop != NULL ? (gint64) g_atomic_int_get (&loop->pool->batching_us) : 0;
  gint64 now = g_get_monotonic_time ();
  gint ready;

  if (interval == 0)
    return g_poll (fds, n_fds, timeout_ms);
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
    loop->loop = g_main_loop_new (loop->context, FALSE);
    start->pool = pool;
    start->loop = loop;
    /* g_thread_new aborts when no thread can be made: nothing to unwind. */
    loop->thread = g_thread_new (name, media_thread, start);
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

    g_thread_join (loop->thread);
    g_main_loop_unref (loop->loop);
    g_main_context_unref (loop->context);
  }

  GST_INFO ("%u media loops stopped", pool->n_loops);
  g_cond_clear (&pool->started_cond);
  g_mutex_clear (&pool->lock);
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
  MediaLoop *best = NULL;

  g_return_val_if_fail (pool != NULL, NULL);

  g_mutex_lock (&pool->lock);
  for (guint i = 0; i < pool->n_loops; i++) {
    if (best == NULL || pool->loops[i].users < best->users)
      best = &pool->loops[i];
  }
  best->users++;
  GST_DEBUG ("acquired amgw-media-%u (%u users)", best->index, best->users);
  g_mutex_unlock (&pool->lock);

  return g_main_context_ref (best->context);
}

void
amgw_media_loops_release (AmgwMediaLoops *pool, GMainContext *ctx)
{
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
