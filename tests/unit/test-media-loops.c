/* Unit tests for the media-loop pool (media/media-loops.c): real threads. */
#include "amgw/media-loops.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gio/gio.h>

typedef struct {
  AmgwMediaLoops *loops;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->loops = amgw_media_loops_new (GPOINTER_TO_UINT (data));
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->loops, amgw_media_loops_free);
}

static void
test_size (Fixture *f, gconstpointer data)
{
  g_assert_cmpuint (amgw_media_loops_size (f->loops), ==, 3);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (amgw_media_loops_users (f->loops, i), ==, 0);
}

static void
test_default_size (void)
{
  AmgwMediaLoops *loops = amgw_media_loops_new (0);

  g_assert_cmpuint (amgw_media_loops_size (loops), ==, MAX (1, g_get_num_processors ()));
  amgw_media_loops_free (loops);
}

/* Acquire always picks a loop with the fewest users: users never differ by
 * more than one, and release makes room where it happened. */
static void
test_acquire_balances (Fixture *f, gconstpointer data)
{
  GMainContext *ctx[9];
  GMainContext *again;

  for (guint i = 0; i < G_N_ELEMENTS (ctx); i++) {
    guint min = G_MAXUINT, max = 0;

    ctx[i] = amgw_media_loops_acquire (f->loops);
    g_assert_nonnull (ctx[i]);
    for (guint j = 0; j < 3; j++) {
      min = MIN (min, amgw_media_loops_users (f->loops, j));
      max = MAX (max, amgw_media_loops_users (f->loops, j));
    }
    g_assert_cmpuint (max - min, <=, 1);
  }
  for (guint j = 0; j < 3; j++)
    g_assert_cmpuint (amgw_media_loops_users (f->loops, j), ==, 3);
  /* The first three went to three different loops. */
  g_assert_true (ctx[0] != ctx[1] && ctx[1] != ctx[2] && ctx[0] != ctx[2]);

  /* Release two users of ctx[1]'s loop: the next two acquires go there. */
  amgw_media_loops_release (f->loops, ctx[1]);
  amgw_media_loops_release (f->loops, ctx[4]);
  g_assert_true (ctx[1] == ctx[4]);
  again = amgw_media_loops_acquire (f->loops);
  g_assert_true (again == ctx[1]);
  amgw_media_loops_release (f->loops, again);
  g_main_context_unref (again);

  for (guint i = 0; i < G_N_ELEMENTS (ctx); i++) {
    if (i != 1 && i != 4)
      amgw_media_loops_release (f->loops, ctx[i]);
    g_main_context_unref (ctx[i]);
  }
  for (guint j = 0; j < 3; j++)
    g_assert_cmpuint (amgw_media_loops_users (f->loops, j), ==, 0);
}

typedef struct {
  GMainContext *ctx;
  gboolean owner;
  gboolean is_thread_default;
  char thread_name[32];
  GThread *thread;
  guint calls;
} ProbeResult;

static gboolean
probe_cb (gpointer data)
{
  ProbeResult *r = data;

  r->owner = g_main_context_is_owner (r->ctx);
  r->is_thread_default = g_main_context_get_thread_default () == r->ctx;
  r->thread = g_thread_self ();
  prctl (PR_GET_NAME, r->thread_name, 0, 0, 0);
  r->calls++;
  return G_SOURCE_CONTINUE;   /* ignored by invoke_sync: runs once */
}

static void
test_invoke_sync (Fixture *f, gconstpointer data)
{
  GThread *seen[3] = { NULL, };

  for (guint i = 0; i < 3; i++) {
    ProbeResult r = { .ctx = amgw_media_loops_get_context (f->loops, i) };
    g_autofree char *name = g_strdup_printf ("amgw-media-%u", i);

    g_assert_false (g_main_context_is_owner (r.ctx));
    amgw_media_loops_invoke_sync (r.ctx, probe_cb, &r);
    g_assert_cmpuint (r.calls, ==, 1);
    g_assert_true (r.owner);
    g_assert_true (r.is_thread_default);
    g_assert_true (r.thread != g_thread_self ());
    g_assert_cmpstr (r.thread_name, ==, name);
    seen[i] = r.thread;
  }
  g_assert_true (seen[0] != seen[1] && seen[1] != seen[2] && seen[0] != seen[2]);

  /* The same context always gives the same thread. */
  for (guint k = 0; k < 20; k++) {
    ProbeResult r = { .ctx = amgw_media_loops_get_context (f->loops, 1) };

    amgw_media_loops_invoke_sync (r.ctx, probe_cb, &r);
    g_assert_true (r.thread == seen[1]);
  }
}

/* g_main_context_invoke from another thread queues too (the loops own their
 * contexts from the start): it must never run in the caller. */
typedef struct {
  GMutex lock;
  GCond cond;
  gboolean done;
  gboolean owner;
  GMainContext *ctx;
} AsyncProbe;

static gboolean
async_probe_cb (gpointer data)
{
  AsyncProbe *p = data;

  g_mutex_lock (&p->lock);
  p->owner = g_main_context_is_owner (p->ctx);
  p->done = TRUE;
  g_cond_signal (&p->cond);
  g_mutex_unlock (&p->lock);
  return G_SOURCE_REMOVE;
}

static void
test_invoke_async (Fixture *f, gconstpointer data)
{
  AsyncProbe p = { .ctx = amgw_media_loops_get_context (f->loops, 2) };

  g_mutex_init (&p.lock);
  g_cond_init (&p.cond);
  g_main_context_invoke (p.ctx, async_probe_cb, &p);
  g_mutex_lock (&p.lock);
  while (!p.done)
    g_cond_wait (&p.cond, &p.lock);
  g_mutex_unlock (&p.lock);
  g_assert_true (p.owner);
  g_cond_clear (&p.cond);
  g_mutex_clear (&p.lock);
}

/* Free quits and joins: afterwards no media thread is left in the process. */
static guint
count_media_threads (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  const char *tid;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
    g_autofree char *comm = NULL;

    if (g_file_get_contents (path, &comm, NULL, NULL) && g_str_has_prefix (comm, "amgw-media-"))
      n++;
  }
  return n;
}

static void
test_free_joins (void)
{
  AmgwMediaLoops *loops;

  g_assert_cmpuint (count_media_threads (), ==, 0);
  loops = amgw_media_loops_new (4);
  g_assert_cmpuint (count_media_threads (), ==, 4);
  amgw_media_loops_free (loops);
  g_assert_cmpuint (count_media_threads (), ==, 0);

  /* Again, freed right after creation, many times: no lost quit. */
  for (guint i = 0; i < 50; i++)
    amgw_media_loops_free (amgw_media_loops_new (2));
  g_assert_cmpuint (count_media_threads (), ==, 0);
}

/* Work queued on a loop before amgw_media_loops_free() still runs, even at a
 * priority below the quit's: a session's tear-down must not be lost to it. */
typedef struct {
  GMutex lock;
  GCond cond;
  gboolean blocked, released;
  gint ran;
} Gate;

static gboolean
gate_block (gpointer data)
{
  Gate *g = data;

  g_mutex_lock (&g->lock);
  g->blocked = TRUE;
  g_cond_broadcast (&g->cond);
  while (!g->released)
    g_cond_wait (&g->cond, &g->lock);
  g_mutex_unlock (&g->lock);
  return G_SOURCE_REMOVE;
}

static gboolean
gate_mark (gpointer data)
{
  Gate *g = data;

  g_atomic_int_inc (&g->ran);
  return G_SOURCE_REMOVE;
}

static gpointer
gate_release_later (gpointer data)
{
  Gate *g = data;

  /* By then the quit is queued too (free() queues it at once). */
  g_usleep (200 * 1000);
  g_mutex_lock (&g->lock);
  g->released = TRUE;
  g_cond_broadcast (&g->cond);
  g_mutex_unlock (&g->lock);
  return NULL;
}

static void
test_free_runs_due_work (void)
{
  AmgwMediaLoops *loops = amgw_media_loops_new (1);
  GMainContext *ctx = amgw_media_loops_get_context (loops, 0);
  Gate g = { 0, };
  GThread *releaser;

  g_mutex_init (&g.lock);
  g_cond_init (&g.cond);
  g_main_context_invoke_full (ctx, G_PRIORITY_HIGH, gate_block, &g, NULL);
  g_mutex_lock (&g.lock);
  while (!g.blocked)
    g_cond_wait (&g.cond, &g.lock);
  g_mutex_unlock (&g.lock);
  /* Due while the loop is busy: ready in the same round as the quit. */
  for (guint i = 0; i < 3; i++)
    g_main_context_invoke_full (ctx, G_PRIORITY_DEFAULT + 10 * (gint) i, gate_mark, &g, NULL);
  releaser = g_thread_new ("gate", gate_release_later, &g);
  amgw_media_loops_free (loops);
  g_thread_join (releaser);
  g_assert_cmpint (g_atomic_int_get (&g.ran), ==, 3);
  g_cond_clear (&g.cond);
  g_mutex_clear (&g.lock);
}

static void
test_release_unknown (void)
{
  if (g_test_subprocess ()) {
    AmgwMediaLoops *loops = amgw_media_loops_new (1);
    GMainContext *other = g_main_context_new ();

    amgw_media_loops_release (loops, other);
    return;
  }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*not a media loop*");
}

static gboolean
nested_invoke_cb (gpointer data)
{
  GMainContext *ctx = data;

  amgw_media_loops_invoke_sync (ctx, probe_cb, NULL);   /* asserts */
  return G_SOURCE_REMOVE;
}

static void
test_invoke_sync_own_thread_asserts (void)
{
  if (g_test_subprocess ()) {
    AmgwMediaLoops *loops = amgw_media_loops_new (1);
    GMainContext *ctx = amgw_media_loops_get_context (loops, 0);

    amgw_media_loops_invoke_sync (ctx, nested_invoke_cb, ctx);
    return;
  }
  g_test_trap_subprocess (NULL, 5 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*g_main_context_is_owner*");
}

/* ---- batching under load ---- */

#define BUSY_PACKETS 3000

typedef struct {
  GMainContext *ctx;
  GSocket *sock;
  GSource *watch, *timer;
  gint received, dispatches, timer_fired;   /* atomic */
} Busy;

static gboolean
busy_noop_cb (gpointer data)
{
  g_atomic_int_inc ((gint *) data);
  return G_SOURCE_REMOVE;
}

static gboolean
busy_readable_cb (GSocket *sock, GIOCondition cond, gpointer data)
{
  Busy *b = data;
  char buf[64];

  g_atomic_int_inc (&b->dispatches);
  while (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    g_atomic_int_inc (&b->received);
  return G_SOURCE_CONTINUE;
}

static gboolean
busy_timer_cb (gpointer data)
{
  Busy *b = data;

  g_atomic_int_inc (&b->timer_fired);
  return G_SOURCE_CONTINUE;
}

static gboolean
busy_attach_cb (gpointer data)
{
  Busy *b = data;

  b->watch = g_socket_create_source (b->sock, G_IO_IN, NULL);
  g_source_set_callback (b->watch, (GSourceFunc) (void (*) (void)) busy_readable_cb, b, NULL);
  g_source_attach (b->watch, b->ctx);
  b->timer = g_timeout_source_new (20);
  g_source_set_callback (b->timer, busy_timer_cb, b, NULL);
  g_source_attach (b->timer, b->ctx);
  return G_SOURCE_REMOVE;
}

static gboolean
busy_detach_cb (gpointer data)
{
  Busy *b = data;

  g_source_destroy (b->watch);
  g_source_destroy (b->timer);
  g_clear_pointer (&b->watch, g_source_unref);
  g_clear_pointer (&b->timer, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* A loop fed a packet every ~50 us, whatever [media] batching says: every
 * packet is read, its timer still fires, and work queued from another
 * thread still runs while it is busy.  Batching reads many packets per
 * wake-up (printed). */
static void
test_batching (gconstpointer data)
{
  guint interval = GPOINTER_TO_UINT (data);
  g_autoptr (AmgwMediaLoops) loops = amgw_media_loops_new (1);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) dest = NULL;
  g_autoptr (GSocket) tx = NULL;
  g_autoptr (GError) error = NULL;
  Busy b = { 0, };
  gint64 deadline;
  gint invoked = 0;

  amgw_media_loops_set_batching (loops, interval);
  b.ctx = amgw_media_loops_get_context (loops, 0);
  b.sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (b.sock, FALSE);
  g_assert_true (g_socket_bind (b.sock, any, FALSE, &error));
  dest = g_socket_get_local_address (b.sock, &error);
  g_assert_no_error (error);
  tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, &error);
  g_assert_no_error (error);
  amgw_media_loops_invoke_sync (b.ctx, busy_attach_cb, &b);

  for (guint i = 0; i < BUSY_PACKETS; i++) {
    g_assert_cmpint (g_socket_send_to (tx, dest, "rtp", 3, NULL, &error), ==, 3);
    if (i % 500 == 250)
      amgw_media_loops_invoke_sync (b.ctx, busy_noop_cb, &invoked);
    g_usleep (50);
  }
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&b.received) < BUSY_PACKETS && g_get_monotonic_time () < deadline)
    g_usleep (1000);
  amgw_media_loops_invoke_sync (b.ctx, busy_detach_cb, &b);

  g_test_message ("batching %u us: %d packets in %d wake-ups; the 20-ms timer fired %d times",
      interval, b.received, b.dispatches, b.timer_fired);
  g_assert_cmpint (b.received, ==, BUSY_PACKETS);
  g_assert_cmpint (b.dispatches, <=, b.received);
  g_assert_cmpint (b.timer_fired, >=, 1);
  g_assert_cmpint (invoked, ==, BUSY_PACKETS / 500);
  g_object_unref (b.sock);
}

static double
process_cpu_s (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
      + ru.ru_stime.tv_usec / 1e6;
}

static GSocket *
bound_udp (GSocketAddress **local)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);

  g_assert_nonnull (sock);
  g_socket_set_blocking (sock, FALSE);
  g_assert_true (g_socket_bind (sock, any, FALSE, NULL));
  *local = g_socket_get_local_address (sock, NULL);
  return sock;
}

/* Users with the same key share a loop while one of them holds it; the
 * loops still balance, by keys (calls), not by users (legs). */
static void
test_acquire_keyed (Fixture *f, gconstpointer data)
{
  GMainContext *a1, *a2, *b1, *b2, *c1, *c2, *c3, *a3;

  a1 = amgw_media_loops_acquire_keyed (f->loops, "call-a");
  b1 = amgw_media_loops_acquire_keyed (f->loops, "call-b");
  a2 = amgw_media_loops_acquire_keyed (f->loops, "call-a");
  b2 = amgw_media_loops_acquire_keyed (f->loops, "call-b");
  g_assert_true (a1 == a2);
  g_assert_true (b1 == b2);
  g_assert_true (a1 != b1);   /* two loops, two calls: one each */
  g_assert_cmpuint (amgw_media_loops_users (f->loops, 0), ==, 2);
  g_assert_cmpuint (amgw_media_loops_users (f->loops, 1), ==, 2);

  /* Unkeyed users are placed as before. */
  c1 = amgw_media_loops_acquire (f->loops);
  g_assert_true (c1 == amgw_media_loops_get_context (f->loops, 0));

  /* The key goes with its last holder.  Loop 0 has "call-a" twice and c1,
   * loop 1 "call-b" twice.  With "call-a" gone and two more unkeyed users
   * (both to loop 0: 1, then 2 against 2), loop 0 has 3 users, loop 1 has 2:
   * a new "call-a" goes to loop 1, as any new call would. */
  g_assert_true (a1 == amgw_media_loops_get_context (f->loops, 0));
  amgw_media_loops_release_keyed (f->loops, a1, "call-a");
  amgw_media_loops_release_keyed (f->loops, a2, "call-a");
  c2 = amgw_media_loops_acquire (f->loops);
  c3 = amgw_media_loops_acquire (f->loops);
  g_assert_cmpuint (amgw_media_loops_users (f->loops, 0), ==, 3);
  a3 = amgw_media_loops_acquire_keyed (f->loops, "call-a");
  g_assert_true (a3 == amgw_media_loops_get_context (f->loops, 1));

  amgw_media_loops_release_keyed (f->loops, a3, "call-a");
  amgw_media_loops_release_keyed (f->loops, b1, "call-b");
  amgw_media_loops_release_keyed (f->loops, b2, "call-b");
  amgw_media_loops_release (f->loops, c1);
  amgw_media_loops_release (f->loops, c2);
  amgw_media_loops_release (f->loops, c3);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpuint (amgw_media_loops_users (f->loops, i), ==, 0);
  g_main_context_unref (c2);
  g_main_context_unref (c3);
  g_main_context_unref (a1);
  g_main_context_unref (a2);
  g_main_context_unref (a3);
  g_main_context_unref (b1);
  g_main_context_unref (b2);
  g_main_context_unref (c1);
}

/* ---- timers and watches (media-loops.h) ---- */

#define N_TIMERS 40
#define ON_PLAIN_CONTEXT 2

typedef struct {
  GMutex lock;
  GCond cond;
  guint fired[N_TIMERS];        /* per timer */
  gint64 deadline[N_TIMERS];
  gint64 at[N_TIMERS];
  guint order[N_TIMERS];
  guint n_order;
  AmgwMediaTimer *timers[N_TIMERS];
  gboolean wrong_thread;
  GMainContext *ctx;            /* where the callbacks must run */
} Timers;

typedef struct {
  Timers *ts;
  guint index;
} TimerArg;

static void
timers_note (Timers *ts, guint i)
{
  if (!g_main_context_is_owner (ts->ctx))
    ts->wrong_thread = TRUE;
  g_mutex_lock (&ts->lock);
  ts->fired[i]++;
  ts->at[i] = g_get_monotonic_time ();
  if (ts->n_order < N_TIMERS)
    ts->order[ts->n_order++] = i;
  g_cond_broadcast (&ts->cond);
  g_mutex_unlock (&ts->lock);
}

static gboolean
oneshot_cb (gpointer data)
{
  TimerArg *a = data;

  timers_note (a->ts, a->index);
  return G_SOURCE_REMOVE;   /* means nothing to a one-shot timer */
}

/* Waits until @n timers fired at least once (generous: shared machines). */
static gboolean
timers_wait (Timers *ts, guint n, guint timeout_s)
{
  gint64 end = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;
  gboolean ok = TRUE;

  g_mutex_lock (&ts->lock);
  while (ok && ts->n_order < n)
    ok = g_cond_wait_until (&ts->cond, &ts->lock, end);
  g_mutex_unlock (&ts->lock);
  return ok;
}

static void
timers_init (Timers *ts, GMainContext *ctx)
{
  memset (ts, 0, sizeof *ts);
  g_mutex_init (&ts->lock);
  g_cond_init (&ts->cond);
  ts->ctx = ctx;
}

static void
timers_clear (Timers *ts)
{
  for (guint i = 0; i < N_TIMERS; i++)
    amgw_media_timer_clear (&ts->timers[i]);
  g_mutex_clear (&ts->lock);
  g_cond_clear (&ts->cond);
}

/* One-shot timers armed from another thread in scrambled order fire once
 * each, never early, in the order of their deadlines. */
static void
test_timers_order (Fixture *f, gconstpointer data)
{
  Timers ts;
  TimerArg args[N_TIMERS];
  gint64 base = g_get_monotonic_time () + 30 * 1000;

  timers_init (&ts, amgw_media_loops_get_context (f->loops, 0));
  for (guint i = 0; i < N_TIMERS; i++) {
    args[i] = (TimerArg) { &ts, i };
    /* Deadlines 5 ms apart, armed in a scrambled order. */
    ts.deadline[i] = base + (gint64) ((i * 17) % N_TIMERS) * 5000;
    ts.timers[i] = amgw_media_timer_new (ts.ctx, 0, oneshot_cb, &args[i]);
    amgw_media_timer_set_ready_time (ts.timers[i], ts.deadline[i]);
  }
  g_assert_true (timers_wait (&ts, N_TIMERS, 20));
  g_usleep (50 * 1000);   /* nothing fires twice */
  g_mutex_lock (&ts.lock);
  for (guint i = 0; i < N_TIMERS; i++) {
    g_assert_cmpuint (ts.fired[i], ==, 1);
    g_assert_cmpint (ts.at[i], >=, ts.deadline[i]);
  }
  for (guint k = 1; k < N_TIMERS; k++)
    g_assert_cmpint (ts.deadline[ts.order[k - 1]], <, ts.deadline[ts.order[k]]);
  g_mutex_unlock (&ts.lock);
  g_assert_false (ts.wrong_thread);
  timers_clear (&ts);
}

typedef struct {
  Timers *ts;
  guint index;
  guint stop_after;         /* G_SOURCE_REMOVE at this count; 0: never */
  guint rearms;             /* one-shot: re-arm itself this often */
  AmgwMediaTimer **other;   /* cleared by this callback */
} PeriodicArg;

static gboolean
periodic_cb (gpointer data)
{
  PeriodicArg *a = data;
  guint fired;

  timers_note (a->ts, a->index);
  if (a->other != NULL)
    amgw_media_timer_clear (a->other);
  g_mutex_lock (&a->ts->lock);
  fired = a->ts->fired[a->index];
  g_mutex_unlock (&a->ts->lock);
  if (a->rearms > 0 && fired <= a->rearms)
    amgw_media_timer_set_ready_time (a->ts->timers[a->index], g_get_monotonic_time () + 2000);
  return a->stop_after != 0 && fired >= a->stop_after ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static guint
timers_fired (Timers *ts, guint i)
{
  guint n;

  g_mutex_lock (&ts->lock);
  n = ts->fired[i];
  g_mutex_unlock (&ts->lock);
  return n;
}

/* Periodic timers repeat until G_SOURCE_REMOVE or a clear (from another
 * thread too); a one-shot timer re-armed from its own callback fires again;
 * of two timers due together that clear each other, one fires.  @data: the
 * fixture's loop count; ON_PLAIN_CONTEXT runs them on a context iterated
 * here instead of on a pool loop. */
static void
test_timers_lifecycle (Fixture *f, gconstpointer data)
{
  gboolean plain = GPOINTER_TO_UINT (data) == ON_PLAIN_CONTEXT;
  g_autoptr (GMainContext) own = plain ? g_main_context_new () : NULL;
  GMainContext *ctx = plain ? own : amgw_media_loops_get_context (f->loops, 0);
  Timers ts;
  PeriodicArg a[5];
  gint64 end, due;
  guint seen;

  if (plain)
    g_main_context_acquire (own);
  timers_init (&ts, ctx);
  a[0] = (PeriodicArg) { &ts, 0, 5, 0, NULL };        /* removes itself after 5 */
  a[1] = (PeriodicArg) { &ts, 1, 0, 0, NULL };        /* cleared from here */
  a[2] = (PeriodicArg) { &ts, 2, 0, 3, NULL };        /* one-shot, re-armed 3 times */
  a[3] = (PeriodicArg) { &ts, 3, 0, 0, &ts.timers[4] };
  a[4] = (PeriodicArg) { &ts, 4, 0, 0, &ts.timers[3] };
  ts.timers[0] = amgw_media_timer_new (ctx, 5, periodic_cb, &a[0]);
  ts.timers[1] = amgw_media_timer_new (ctx, 5, periodic_cb, &a[1]);
  ts.timers[2] = amgw_media_timer_new (ctx, 0, periodic_cb, &a[2]);
  amgw_media_timer_set_ready_time (ts.timers[2], g_get_monotonic_time () + 2000);
  ts.timers[3] = amgw_media_timer_new (ctx, 0, periodic_cb, &a[3]);
  ts.timers[4] = amgw_media_timer_new (ctx, 0, periodic_cb, &a[4]);
  due = g_get_monotonic_time () + 20 * 1000;
  amgw_media_timer_set_ready_time (ts.timers[3], due);
  amgw_media_timer_set_ready_time (ts.timers[4], due);

  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && (timers_fired (&ts, 0) < 5 ||
          timers_fired (&ts, 1) < 3 || timers_fired (&ts, 2) < 4 ||
          timers_fired (&ts, 3) + timers_fired (&ts, 4) < 1)) {
    if (plain)
      g_main_context_iteration (own, TRUE);
    else
      g_usleep (1000);
  }
  if (plain) {
    amgw_media_timer_clear (&ts.timers[1]);
  } else {
    /* From this thread while the loop runs: at most a call in progress. */
    amgw_media_timer_clear (&ts.timers[1]);
    g_usleep (20 * 1000);
  }
  seen = timers_fired (&ts, 1);
  end = g_get_monotonic_time () + 100 * 1000;
  while (g_get_monotonic_time () < end) {
    if (plain)
      g_main_context_iteration (own, FALSE);
    g_usleep (1000);
  }
  g_assert_cmpuint (timers_fired (&ts, 0), ==, 5);
  g_assert_cmpuint (timers_fired (&ts, 1), ==, seen);
  g_assert_cmpuint (timers_fired (&ts, 2), ==, 4);
  g_assert_cmpuint (timers_fired (&ts, 3) + timers_fired (&ts, 4), ==, 1);
  g_assert_false (ts.wrong_thread);
  timers_clear (&ts);
  if (plain)
    g_main_context_release (own);
}

typedef struct {
  GSocket *sock;
  gint received;            /* atomic */
  gint calls;               /* atomic */
  AmgwMediaWatch **other;   /* cleared by this callback */
} WatchArg;

static gboolean
watch_cb (GSocket *sock, int fd, GIOCondition cond, gpointer data)
{
  WatchArg *a = data;
  char buf[64];

  g_assert_cmpint (fd, ==, g_socket_get_fd (sock));
  g_atomic_int_inc (&a->calls);
  /* One datagram per call, and "not drained": the rest must come at the
   * next wake-ups, with no new datagram to trigger them. */
  if (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    g_atomic_int_inc (&a->received);
  if (a->other != NULL)
    amgw_media_watch_clear (a->other);
  return TRUE;
}

/* A watched socket is read until it is empty (level-triggered), nothing
 * after the watch is cleared; a watch cleared by another's callback in the
 * same round is not called.  @data: as for test_timers_lifecycle(). */
static void
test_watches (Fixture *f, gconstpointer data)
{
  gboolean plain = GPOINTER_TO_UINT (data) == ON_PLAIN_CONTEXT;
  g_autoptr (GMainContext) own = plain ? g_main_context_new () : NULL;
  GMainContext *ctx = plain ? own : amgw_media_loops_get_context (f->loops, 0);
  GSocketAddress *addr[3] = { NULL, };
  g_autoptr (GSocket) tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  AmgwMediaWatch *w[3] = { NULL, };
  WatchArg a[3] = { { 0, }, };
  gint64 end;

  if (plain)
    g_main_context_acquire (own);
  for (guint i = 0; i < 3; i++)
    a[i].sock = bound_udp (&addr[i]);
  a[1].other = &w[2];
  a[2].other = &w[1];
  for (guint i = 0; i < 3; i++)
    w[i] = amgw_media_watch_new (ctx, a[i].sock, watch_cb, &a[i]);

  for (guint i = 0; i < 10; i++)
    g_assert_cmpint (g_socket_send_to (tx, addr[0], "rtp", 3, NULL, NULL), ==, 3);
  /* Whichever is dispatched first clears the other, before or after its
   * datagram arrived: one call between them. */
  g_assert_cmpint (g_socket_send_to (tx, addr[1], "rtp", 3, NULL, NULL), ==, 3);
  g_assert_cmpint (g_socket_send_to (tx, addr[2], "rtp", 3, NULL, NULL), ==, 3);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && (g_atomic_int_get (&a[0].received) < 10 ||
          g_atomic_int_get (&a[1].calls) + g_atomic_int_get (&a[2].calls) < 1)) {
    if (plain)
      g_main_context_iteration (own, TRUE);
    else
      g_usleep (1000);
  }
  g_assert_cmpint (g_atomic_int_get (&a[0].received), ==, 10);

  amgw_media_watch_clear (&w[0]);
  g_assert_cmpint (g_socket_send_to (tx, addr[0], "rtp", 3, NULL, NULL), ==, 3);
  end = g_get_monotonic_time () + 100 * 1000;
  while (g_get_monotonic_time () < end) {
    if (plain)
      g_main_context_iteration (own, FALSE);
    g_usleep (1000);
  }
  g_assert_cmpint (g_atomic_int_get (&a[0].received), ==, 10);
  g_assert_cmpint (g_atomic_int_get (&a[1].calls) + g_atomic_int_get (&a[2].calls), ==, 1);

  for (guint i = 0; i < 3; i++) {
    amgw_media_watch_clear (&w[i]);
    g_object_unref (a[i].sock);
    g_object_unref (addr[i]);
  }
  if (plain)
    g_main_context_release (own);
}

/* An event still queued for a cleared watch must not reach the watch that
 * gets its slot next: A's callback clears B and makes C on a socket of its
 * own, in the round where B's event is already out of epoll_wait(). */
typedef struct {
  GMainContext *ctx;
  GSocket *sock[3];
  GSocketAddress *addr[3];
  AmgwMediaWatch *w[3];
  gint calls[3];            /* atomic */
  gboolean made_c;
} SlotReuse;

static gboolean slot_reuse_cb (GSocket *sock, int fd, GIOCondition cond, gpointer data);

static gboolean
slot_reuse_cb_c (GSocket *sock, int fd, GIOCondition cond, gpointer data)
{
  SlotReuse *r = data;
  char buf[64];

  g_atomic_int_inc (&r->calls[2]);
  while (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    ;
  return FALSE;
}

static gboolean
slot_reuse_cb (GSocket *sock, int fd, GIOCondition cond, gpointer data)
{
  SlotReuse *r = data;
  guint i = sock == r->sock[0] ? 0 : 1;
  char buf[64];

  g_atomic_int_inc (&r->calls[i]);
  while (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    ;
  if (i == 0 && !r->made_c) {
    r->made_c = TRUE;
    amgw_media_watch_clear (&r->w[1]);
    r->w[2] = amgw_media_watch_new (r->ctx, r->sock[2], slot_reuse_cb_c, r);
  }
  return FALSE;
}

/* On the loop's thread: both datagrams are queued before it polls again, so
 * their events come out of one epoll_wait(), A's first. */
static gboolean
slot_reuse_send (gpointer data)
{
  SlotReuse *r = data;
  g_autoptr (GSocket) tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);

  g_assert_cmpint (g_socket_send_to (tx, r->addr[0], "rtp", 3, NULL, NULL), ==, 3);
  g_assert_cmpint (g_socket_send_to (tx, r->addr[1], "rtp", 3, NULL, NULL), ==, 3);
  return G_SOURCE_REMOVE;
}

static void
test_watches_slot_reuse (Fixture *f, gconstpointer data)
{
  SlotReuse r = { .ctx = amgw_media_loops_get_context (f->loops, 0) };
  gint64 end;

  (void) data;
  for (guint i = 0; i < 3; i++)
    r.sock[i] = bound_udp (&r.addr[i]);
  r.w[0] = amgw_media_watch_new (r.ctx, r.sock[0], slot_reuse_cb, &r);
  r.w[1] = amgw_media_watch_new (r.ctx, r.sock[1], slot_reuse_cb, &r);
  amgw_media_loops_invoke_sync (r.ctx, slot_reuse_send, &r);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && g_atomic_int_get (&r.calls[0]) < 1)
    g_usleep (1000);
  g_usleep (100 * 1000);   /* what a wrong delivery would take */
  g_assert_cmpint (g_atomic_int_get (&r.calls[0]), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&r.calls[1]), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&r.calls[2]), ==, 0);

  /* C itself is called for its own datagrams. */
  {
    g_autoptr (GSocket) tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);

    g_assert_cmpint (g_socket_send_to (tx, r.addr[2], "rtp", 3, NULL, NULL), ==, 3);
  }
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && g_atomic_int_get (&r.calls[2]) < 1)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (&r.calls[2]), ==, 1);

  for (guint i = 0; i < 3; i++) {
    amgw_media_watch_clear (&r.w[i]);
    g_object_unref (r.sock[i]);
    g_object_unref (r.addr[i]);
  }
}

/* amgw_media_watch_set_prefetch(): in a round of several events, each
 * watch's hook runs with its data before its callback, and so does the hook
 * it names for the next sweep; a cleared watch's hook is not run. */
typedef struct {
  GSocket *sock;
  GSocketAddress *addr;
  AmgwMediaWatch *w;
  gint hooked;              /* atomic: the hook's calls */
  gint hooked_next;         /* atomic: the calls of the hook it names for the next sweep */
  gint calls;               /* atomic: the callback's */
  gint hooked_first;        /* atomic: callbacks that found the hook had run */
} PrefetchArg;

static void
prefetch_hook_next (gconstpointer data, AmgwMediaPrefetch *next)
{
  PrefetchArg *a = (PrefetchArg *) data;

  g_assert_null (next->fn);
  g_atomic_int_inc (&a->hooked_next);
}

static void
prefetch_hook (gconstpointer data, AmgwMediaPrefetch *next)
{
  PrefetchArg *a = (PrefetchArg *) data;

  g_assert_null (next->fn);
  g_atomic_int_inc (&a->hooked);
  *next = (AmgwMediaPrefetch) { prefetch_hook_next, a };
}

static gboolean
prefetch_cb (GSocket *sock, int fd, GIOCondition cond, gpointer data)
{
  PrefetchArg *a = data;
  char buf[64];

  if (g_atomic_int_get (&a->hooked) > g_atomic_int_get (&a->calls) &&
      g_atomic_int_get (&a->hooked_next) > g_atomic_int_get (&a->calls))
    g_atomic_int_inc (&a->hooked_first);
  g_atomic_int_inc (&a->calls);
  while (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    ;
  return FALSE;
}

typedef struct {
  PrefetchArg *a;
  guint n;
} PrefetchSend;

/* On the loop's thread: all datagrams are queued before it polls again. */
static gboolean
prefetch_send (gpointer data)
{
  PrefetchSend *ps = data;
  g_autoptr (GSocket) tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);

  for (guint i = 0; i < ps->n; i++)
    g_assert_cmpint (g_socket_send_to (tx, ps->a[i].addr, "rtp", 3, NULL, NULL), ==, 3);
  return G_SOURCE_REMOVE;
}

static void
test_watches_prefetch (Fixture *f, gconstpointer data)
{
  GMainContext *ctx = amgw_media_loops_get_context (f->loops, 0);
  PrefetchArg a[3] = { { 0, }, };
  PrefetchSend ps = { a, 3 };
  gint64 end;

  (void) data;
  for (guint i = 0; i < 3; i++) {
    a[i].sock = bound_udp (&a[i].addr);
    a[i].w = amgw_media_watch_new (ctx, a[i].sock, prefetch_cb, &a[i]);
    amgw_media_watch_set_prefetch (a[i].w, sizeof a[i], prefetch_hook);
  }
  amgw_media_loops_invoke_sync (ctx, prefetch_send, &ps);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && (g_atomic_int_get (&a[0].calls) < 1 ||
          g_atomic_int_get (&a[1].calls) < 1 || g_atomic_int_get (&a[2].calls) < 1))
    g_usleep (1000);
  for (guint i = 0; i < 3; i++) {
    g_assert_cmpint (g_atomic_int_get (&a[i].calls), ==, 1);
    g_assert_cmpint (g_atomic_int_get (&a[i].hooked), ==, 1);
    g_assert_cmpint (g_atomic_int_get (&a[i].hooked_next), ==, 1);
    g_assert_cmpint (g_atomic_int_get (&a[i].hooked_first), ==, 1);
  }

  /* Cleared: neither its hook nor its callback; the others' still run. */
  amgw_media_watch_clear (&a[2].w);
  amgw_media_loops_invoke_sync (ctx, prefetch_send, &ps);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end && (g_atomic_int_get (&a[0].calls) < 2 ||
          g_atomic_int_get (&a[1].calls) < 2))
    g_usleep (1000);
  g_usleep (50 * 1000);
  g_assert_cmpint (g_atomic_int_get (&a[0].hooked), ==, 2);
  g_assert_cmpint (g_atomic_int_get (&a[1].hooked), ==, 2);
  g_assert_cmpint (g_atomic_int_get (&a[2].hooked), ==, 1);
  g_assert_cmpint (g_atomic_int_get (&a[2].calls), ==, 1);

  for (guint i = 0; i < 3; i++) {
    amgw_media_watch_clear (&a[i].w);
    g_object_unref (a[i].sock);
    g_object_unref (a[i].addr);
  }
}

/* A socket source another library made (as libnice makes its own), whose
 * callback asks to be unblocked: from some later dispatch on it may recurse,
 * and it is still dispatched for every datagram (not left blocked, as it
 * would be if the flag were set while GLib dispatches it). */
typedef struct {
  gint received;
  gint recursing;   /* dispatches that found the source may recurse */
} ForeignArg;

static gboolean
foreign_cb (GSocket *sock, GIOCondition cond, gpointer data)
{
  ForeignArg *a = data;
  char buf[16];

  while (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    g_atomic_int_inc (&a->received);
  if (g_source_get_can_recurse (g_main_current_source ()))
    g_atomic_int_inc (&a->recursing);
  amgw_media_loops_unblock_current_source ();
  return G_SOURCE_CONTINUE;
}

static void
test_unblock_foreign (Fixture *f, gconstpointer data)
{
  GMainContext *ctx = amgw_media_loops_get_context (f->loops, 0);
  GSocketAddress *addr = NULL;
  g_autoptr (GSocket) rx = bound_udp (&addr);
  g_autoptr (GSocket) tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);
  GSource *source = g_socket_create_source (rx, G_IO_IN, NULL);
  ForeignArg a = { 0, };

  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) foreign_cb, &a, NULL);
  g_source_attach (source, ctx);
  /* Outside a dispatch, and on another thread: nothing happens. */
  amgw_media_loops_unblock_current_source ();
  for (gint i = 1; i <= 5; i++) {
    gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

    g_assert_cmpint (g_socket_send_to (tx, addr, "rtp", 3, NULL, NULL), ==, 3);
    while (g_atomic_int_get (&a.received) < i && g_get_monotonic_time () < end)
      g_usleep (1000);
    g_assert_cmpint (g_atomic_int_get (&a.received), ==, i);
  }
  g_assert_true (g_source_get_can_recurse (source));
  g_assert_cmpint (g_atomic_int_get (&a.recursing), >=, 3);
  g_source_destroy (source);
  g_source_unref (source);
  g_object_unref (addr);
}

/* ---- nests ---- */

typedef struct {
  GMainContext *loop_ctx;
  AmgwMediaNest *nest;
  GMainContext *nctx;
  GSocket *rx;
  GSocketAddress *rx_addr;
  GSource *sock_source;
  int old_fd;
  gint received, recursing, wrong_thread;
  gint idle_ran, timer_fired, late_fired;
} NestArg;

static void
nest_check_thread (NestArg *a)
{
  /* On the loop's thread, which owns the nest's context; the thread-default
   * context stays the loop's. */
  if (!g_main_context_is_owner (a->loop_ctx) || !g_main_context_is_owner (a->nctx) ||
      g_main_context_get_thread_default () != a->loop_ctx)
    g_atomic_int_inc (&a->wrong_thread);
}

static gboolean
nest_recv_cb (GSocket *sock, GIOCondition cond, gpointer data)
{
  NestArg *a = data;
  char buf[16];

  nest_check_thread (a);
  while (g_socket_receive (sock, buf, sizeof buf, NULL, NULL) > 0)
    g_atomic_int_inc (&a->received);
  if (g_source_get_can_recurse (g_main_current_source ()))
    g_atomic_int_inc (&a->recursing);
  amgw_media_loops_unblock_current_source ();
  return G_SOURCE_CONTINUE;
}

static void
nest_attach_socket (NestArg *a, GSocket *sock)
{
  a->rx = sock;
  a->sock_source = g_socket_create_source (sock, G_IO_IN, NULL);
  g_source_set_callback (a->sock_source, (GSourceFunc) (void (*) (void)) nest_recv_cb, a, NULL);
  g_source_attach (a->sock_source, a->nctx);
}

static gboolean
nest_new_cb (gpointer data)
{
  NestArg *a = data;

  a->nest = amgw_media_nest_new (a->loop_ctx);
  a->nctx = amgw_media_nest_get_context (a->nest);
  nest_attach_socket (a, bound_udp (&a->rx_addr));
  return G_SOURCE_REMOVE;
}

static gboolean
nest_idle_cb (gpointer data)
{
  NestArg *a = data;

  nest_check_thread (a);
  g_atomic_int_inc (&a->idle_ran);
  return G_SOURCE_REMOVE;
}

static gboolean
nest_timer_fired_cb (gpointer data)
{
  NestArg *a = data;

  nest_check_thread (a);
  g_atomic_int_inc (&a->timer_fired);
  return G_SOURCE_REMOVE;
}

/* From the loop's thread, outside the nest's dispatch: GLib would not wake
 * a context for a source attached by its owner. */
static gboolean
nest_attach_timer_cb (gpointer data)
{
  NestArg *a = data;
  GSource *t = g_timeout_source_new (5);

  g_source_set_callback (t, nest_timer_fired_cb, a, NULL);
  g_source_attach (t, a->nctx);
  g_source_unref (t);
  return G_SOURCE_REMOVE;
}

/* The socket closed and a new one in its descriptor number, its source in
 * the same place: the same query as before, a different socket. */
static gboolean
nest_swap_socket_cb (gpointer data)
{
  NestArg *a = data;
  GSocketAddress *addr = NULL;
  GSocket *fresh = bound_udp (&addr);
  GSocket *same_number;
  g_autoptr (GError) error = NULL;

  a->old_fd = g_socket_get_fd (a->rx);
  g_source_destroy (a->sock_source);
  g_clear_pointer (&a->sock_source, g_source_unref);
  g_socket_close (a->rx, NULL);
  g_clear_object (&a->rx);
  g_assert_cmpint (dup2 (g_socket_get_fd (fresh), a->old_fd), ==, a->old_fd);
  g_object_unref (fresh);
  same_number = g_socket_new_from_fd (a->old_fd, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (same_number, FALSE);
  g_clear_object (&a->rx_addr);
  a->rx_addr = addr;
  nest_attach_socket (a, same_number);
  return G_SOURCE_REMOVE;
}

static gboolean
nest_detach_cb (gpointer data)
{
  NestArg *a = data;

  g_source_destroy (a->sock_source);
  g_clear_pointer (&a->sock_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

static gboolean
nest_late_cb (gpointer data)
{
  NestArg *a = data;

  g_atomic_int_inc (&a->late_fired);
  return G_SOURCE_CONTINUE;
}

static gboolean
nest_free_cb (gpointer data)
{
  NestArg *a = data;
  GSource *t = g_timeout_source_new (1);

  g_source_set_callback (t, nest_late_cb, a, NULL);
  g_source_attach (t, a->nctx);
  g_source_unref (t);
  g_clear_pointer (&a->nest, amgw_media_nest_free);
  return G_SOURCE_REMOVE;
}

static void
nest_wait (gint *counter, gint expect)
{
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (g_atomic_int_get (counter) < expect && g_get_monotonic_time () < end)
    g_usleep (1000);
  g_assert_cmpint (g_atomic_int_get (counter), ==, expect);
}

static void
nest_send_and_wait (NestArg *a, GSocket *tx, gint expect)
{
  g_assert_cmpint (g_socket_send_to (tx, a->rx_addr, "rtp", 3, NULL, NULL), ==, 3);
  nest_wait (&a->received, expect);
}

/* Sources on a nest's context run on the loop's thread: a socket's, a
 * timeout attached by the loop's own thread, an idle queued from another
 * thread; a socket closed and its number reused is polled anew; after the
 * free nothing of the nest runs. */
static void
test_nest (Fixture *f, gconstpointer data)
{
  NestArg a = { 0, };
  g_autoptr (GSocket) tx = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, 0, NULL);

  a.loop_ctx = amgw_media_loops_get_context (f->loops, 0);
  amgw_media_loops_invoke_sync (a.loop_ctx, nest_new_cb, &a);
  g_assert_true (a.nctx != a.loop_ctx);
  g_assert_false (g_main_context_is_owner (a.nctx));   /* the loop's, not ours */

  for (gint i = 1; i <= 5; i++)
    nest_send_and_wait (&a, tx, i);
  g_assert_true (g_source_get_can_recurse (a.sock_source));
  g_assert_cmpint (g_atomic_int_get (&a.recursing), >=, 3);

  g_main_context_invoke (a.nctx, nest_idle_cb, &a);
  nest_wait (&a.idle_ran, 1);

  amgw_media_loops_invoke_sync (a.loop_ctx, nest_attach_timer_cb, &a);
  nest_wait (&a.timer_fired, 1);

  amgw_media_loops_invoke_sync (a.loop_ctx, nest_swap_socket_cb, &a);
  g_assert_cmpint (g_socket_get_fd (a.rx), ==, a.old_fd);
  for (gint i = 6; i <= 8; i++)
    nest_send_and_wait (&a, tx, i);

  /* Its source gone, data waiting: the loop must not spin on it. */
  amgw_media_loops_invoke_sync (a.loop_ctx, nest_detach_cb, &a);
  g_assert_cmpint (g_socket_send_to (tx, a.rx_addr, "rtp", 3, NULL, NULL), ==, 3);
  {
    /* A spinning loop would burn the whole 300 ms. */
    double cpu = process_cpu_s ();

    g_usleep (300 * 1000);
    cpu = process_cpu_s () - cpu;
    g_test_message ("CPU over 300 ms with data on a socket without a source: %.0f ms",
        cpu * 1000);
    g_assert_cmpint (g_atomic_int_get (&a.received), ==, 8);
    g_assert_cmpfloat (cpu, <, 0.15);
  }

  amgw_media_loops_invoke_sync (a.loop_ctx, nest_free_cb, &a);
  g_usleep (50 * 1000);
  g_assert_cmpint (g_atomic_int_get (&a.late_fired), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&a.wrong_thread), ==, 0);
  g_clear_object (&a.rx);
  g_clear_object (&a.rx_addr);
}

/* Not a pool's loop: the nest's context is that context. */
static void
test_nest_plain_context (void)
{
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  AmgwMediaNest *nest = amgw_media_nest_new (ctx);

  g_assert_true (amgw_media_nest_get_context (nest) == ctx);
  amgw_media_nest_free (nest);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/media-loops/size", Fixture, GUINT_TO_POINTER (3), fixture_set_up, test_size,
      fixture_tear_down);
  g_test_add_func ("/media-loops/default-size", test_default_size);
  g_test_add ("/media-loops/nest", Fixture, GUINT_TO_POINTER (1), fixture_set_up, test_nest,
      fixture_tear_down);
  g_test_add_func ("/media-loops/nest-plain-context", test_nest_plain_context);
  g_test_add ("/media-loops/acquire-balances", Fixture, GUINT_TO_POINTER (3), fixture_set_up,
      test_acquire_balances, fixture_tear_down);
  g_test_add ("/media-loops/invoke-sync", Fixture, GUINT_TO_POINTER (3), fixture_set_up,
      test_invoke_sync, fixture_tear_down);
  g_test_add ("/media-loops/invoke-async", Fixture, GUINT_TO_POINTER (3), fixture_set_up,
      test_invoke_async, fixture_tear_down);
  g_test_add_func ("/media-loops/free-joins", test_free_joins);
  g_test_add_func ("/media-loops/free-runs-due-work", test_free_runs_due_work);
  g_test_add_func ("/media-loops/release-unknown", test_release_unknown);
  g_test_add_data_func ("/media-loops/batching/off", GUINT_TO_POINTER (0), test_batching);
  g_test_add_data_func ("/media-loops/batching/1000us", GUINT_TO_POINTER (1000), test_batching);
  g_test_add_data_func ("/media-loops/batching/5000us", GUINT_TO_POINTER (5000), test_batching);
  g_test_add ("/media-loops/acquire-keyed", Fixture, GUINT_TO_POINTER (2), fixture_set_up,
      test_acquire_keyed, fixture_tear_down);
  g_test_add ("/media-loops/timers/order", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
      test_timers_order, fixture_tear_down);
  g_test_add ("/media-loops/timers/lifecycle", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
      test_timers_lifecycle, fixture_tear_down);
  g_test_add ("/media-loops/timers/lifecycle-plain-context", Fixture,
      GUINT_TO_POINTER (ON_PLAIN_CONTEXT),
      fixture_set_up, test_timers_lifecycle, fixture_tear_down);
  g_test_add ("/media-loops/unblock-foreign", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
      test_unblock_foreign, fixture_tear_down);
  g_test_add ("/media-loops/watches", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
      test_watches, fixture_tear_down);
  g_test_add ("/media-loops/watches-slot-reuse", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
      test_watches_slot_reuse, fixture_tear_down);
  g_test_add ("/media-loops/watches-prefetch", Fixture, GUINT_TO_POINTER (1), fixture_set_up,
      test_watches_prefetch, fixture_tear_down);
  g_test_add ("/media-loops/watches-plain-context", Fixture, GUINT_TO_POINTER (ON_PLAIN_CONTEXT),
      fixture_set_up, test_watches, fixture_tear_down);
  g_test_add_func ("/media-loops/invoke-sync-own-thread-asserts",
      test_invoke_sync_own_thread_asserts);

  return g_test_run ();
}
