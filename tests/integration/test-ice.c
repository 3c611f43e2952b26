/* Integration tests of ICE (media/ice.c): real libnice agents on real sockets,
 * each on its own media loop, inside a network namespace that has only
 * loopback (tests/netns-run).  The test carries credentials and candidates
 * between the two agents the way SDP would.  TURN tests run a real coturn
 * (Debian package coturn) on 127.0.0.1.
 */
#include "amgw/ice.h"
#include "amgw/media-loops.h"

#include <gst/gst.h>
#include <stun/stunagent.h>
#include <stun/usages/ice.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_S 15
#define CONSENT_TIMEOUT_S 60      /* libnice's consent expiry is 30 s; generous */
#define CONSENT_KEPT_S 40         /* longer than that expiry */
#define N_DATAGRAMS 20
#define TURN_USER "test"
#define TURN_PASSWORD "secretpw"

/* ---- a peer: one AmgwIce on one media loop, observed from the test thread ---- */

typedef struct {
  const char *name;
  GMainContext *ctx;           /* a pool loop's (acquired) */
  AmgwIce *ice;                /* touched on ctx's thread only */

  GMutex lock;                 /* what follows: written by callbacks on ctx's thread */
  GCond cond;
  guint n_gathered;
  AmgwIceState state;
  GArray *history;             /* AmgwIceState, every change */
  GPtrArray *received;         /* GBytes */
  gboolean wrong_thread;       /* a callback ran off ctx's thread */
  gboolean free_in_receive;    /* set before the agent exists */
  gboolean free_in_gathered;
  gboolean freed_in_callback;
} Peer;

/* On ctx's thread, inside a callback: the agent goes away under its feet. */
static void
peer_free_in_callback (Peer *p)
{
  amgw_ice_free (p->ice);
  p->ice = NULL;
  p->freed_in_callback = TRUE;
}

static void
peer_check_thread (Peer *p)
{
  if (!g_main_context_is_owner (p->ctx)) {
    g_printerr ("%s: callback on thread %p, not on its loop's\n", p->name, (void *) g_thread_self ());
    p->wrong_thread = TRUE;
  }
}

static void
on_gathering_done (gpointer data)
{
  Peer *p = data;

  g_mutex_lock (&p->lock);
  peer_check_thread (p);
  p->n_gathered++;
  if (p->free_in_gathered)
    peer_free_in_callback (p);
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
}

static void
on_state_changed (AmgwIceState state, gpointer data)
{
  Peer *p = data;

  g_mutex_lock (&p->lock);
  peer_check_thread (p);
  g_test_message ("%s: %s", p->name, amgw_ice_state_name (state));
  p->state = state;
  g_array_append_val (p->history, state);
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
}

static void
on_receive (guint8 *data, gsize len, gpointer user_data)
{
  Peer *p = user_data;

  g_mutex_lock (&p->lock);
  peer_check_thread (p);
  g_ptr_array_add (p->received, g_bytes_new (data, len));
  if (p->free_in_receive && p->ice != NULL)
    peer_free_in_callback (p);
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
}

static const AmgwIceCallbacks peer_callbacks = {
  .gathering_done = on_gathering_done,
  .state_changed = on_state_changed,
  .receive = on_receive,
};

/* Operations run on the peer's media thread through invoke_sync. */
typedef enum {
  OP_NEW, OP_GATHER, OP_LOCAL, OP_SET_REMOTE, OP_SEND, OP_RESTART, OP_DESCRIBE, OP_IS_DIRECT,
  OP_FREE, OP_NOP,
} OpKind;

typedef struct {
  Peer *peer;
  OpKind kind;
  const AmgwIceConfig *cfg;
  gboolean controlling;
  const char *ufrag, *pwd;
  const GPtrArray *candidates;
  const guint8 *data;
  gsize len;
  /* results */
  gboolean ok;
  gssize sent;
  guint64 direct_in, direct_dropped;
  char *out_ufrag, *out_pwd, *text;
  GPtrArray *out_candidates;
  GError *error;
} Op;

static gboolean
run_op (gpointer data)
{
  Op *op = data;
  Peer *p = op->peer;

  g_assert_true (g_main_context_is_owner (p->ctx));
  switch (op->kind) {
    case OP_NEW:
      p->ice = amgw_ice_new (p->ctx, op->cfg, op->controlling, &peer_callbacks, p, &op->error);
      op->ok = p->ice != NULL;
      break;
    case OP_GATHER:
      op->ok = amgw_ice_gather (p->ice, &op->error);
      break;
    case OP_LOCAL:
      amgw_ice_get_local_credentials (p->ice, &op->out_ufrag, &op->out_pwd);
      op->out_candidates = amgw_ice_get_local_candidates (p->ice);
      break;
    case OP_SET_REMOTE:
      op->ok = amgw_ice_set_remote (p->ice, op->ufrag, op->pwd, op->candidates, &op->error);
      break;
    case OP_SEND:
      op->sent = amgw_ice_send (p->ice, op->data, op->len);
      break;
    case OP_RESTART:
      op->ok = amgw_ice_restart (p->ice, &op->error);
      break;
    case OP_DESCRIBE:
      op->text = amgw_ice_describe_pair (p->ice);
      break;
    case OP_IS_DIRECT:
      op->ok = amgw_ice_is_direct (p->ice);
      amgw_ice_get_direct_counts (p->ice, &op->direct_in, &op->direct_dropped);
      break;
    case OP_FREE:
      g_clear_pointer (&p->ice, amgw_ice_free);
      break;
    case OP_NOP:
      break;
  }
  return G_SOURCE_REMOVE;
}

static void
peer_run (Peer *p, Op *op)
{
  op->peer = p;
  amgw_media_loops_invoke_sync (p->ctx, run_op, op);
}

static void
peer_init (Peer *p, const char *name, GMainContext *ctx)
{
  memset (p, 0, sizeof *p);
  p->name = name;
  p->ctx = ctx;
  g_mutex_init (&p->lock);
  g_cond_init (&p->cond);
  p->state = AMGW_ICE_NEW;
  p->history = g_array_new (FALSE, FALSE, sizeof (AmgwIceState));
  p->received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

static void
peer_clear (Peer *p)
{
  Op op = { .kind = OP_FREE };

  if (p->ice != NULL)
    peer_run (p, &op);
  g_assert_false (p->wrong_thread);
  g_array_unref (p->history);
  g_ptr_array_unref (p->received);
  g_cond_clear (&p->cond);
  g_mutex_clear (&p->lock);
}

static gboolean
peer_create (Peer *p, const AmgwIceConfig *cfg, gboolean controlling, GError **error)
{
  Op op = { .kind = OP_NEW, .cfg = cfg, .controlling = controlling };

  peer_run (p, &op);
  if (op.error != NULL)
    g_propagate_error (error, op.error);
  return op.ok;
}

static void
peer_gather (Peer *p)
{
  Op op = { .kind = OP_GATHER };

  peer_run (p, &op);
  g_assert_no_error (op.error);
  g_assert_true (op.ok);
}

/* Waits until @p has gathered @n times (once per gather). */
static void
peer_wait_gathered (Peer *p, guint timeout_s)
{
  gint64 deadline = g_get_monotonic_time () + timeout_s * G_USEC_PER_SEC;

  g_mutex_lock (&p->lock);
  while (p->n_gathered == 0) {
    if (!g_cond_wait_until (&p->cond, &p->lock, deadline))
      break;
  }
  g_assert_cmpuint (p->n_gathered, >, 0);
  g_mutex_unlock (&p->lock);
}

/* Waits until the history of @p has @state at index >= @from; returns the
 * seconds waited. */
static double
peer_wait_state_from (Peer *p, AmgwIceState state, guint from, guint timeout_s)
{
  gint64 start = g_get_monotonic_time ();
  gint64 deadline = start + timeout_s * G_USEC_PER_SEC;
  gboolean seen = FALSE;

  g_mutex_lock (&p->lock);
  for (;;) {
    for (guint i = from; i < p->history->len && !seen; i++)
      seen = g_array_index (p->history, AmgwIceState, i) == state;
    if (seen || !g_cond_wait_until (&p->cond, &p->lock, deadline))
      break;
  }
  g_mutex_unlock (&p->lock);
  if (!seen)
    g_error ("%s: no %s within %u s (now %s)", p->name, amgw_ice_state_name (state),
        timeout_s, amgw_ice_state_name (p->state));
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

static guint
peer_history_len (Peer *p)
{
  guint n;

  g_mutex_lock (&p->lock);
  n = p->history->len;
  g_mutex_unlock (&p->lock);
  return n;
}

static GPtrArray *
peer_local (Peer *p, char **ufrag, char **pwd)
{
  Op op = { .kind = OP_LOCAL };

  peer_run (p, &op);
  *ufrag = op.out_ufrag;
  *pwd = op.out_pwd;
  return op.out_candidates;
}

static gboolean
peer_set_remote (Peer *p, const char *ufrag, const char *pwd, const GPtrArray *candidates,
    GError **error)
{
  Op op = { .kind = OP_SET_REMOTE, .ufrag = ufrag, .pwd = pwd, .candidates = candidates };

  peer_run (p, &op);
  if (op.error != NULL)
    g_propagate_error (error, op.error);
  return op.ok;
}

static char *
peer_describe (Peer *p)
{
  Op op = { .kind = OP_DESCRIBE };

  peer_run (p, &op);
  return op.text;
}

static gboolean
peer_is_direct (Peer *p)
{
  Op op = { .kind = OP_IS_DIRECT };

  peer_run (p, &op);
  return op.ok;
}

/* What @p's direct path delivered (and dropped, if @dropped). */
static guint64
peer_direct_in (Peer *p, guint64 *dropped)
{
  Op op = { .kind = OP_IS_DIRECT };

  peer_run (p, &op);
  if (dropped != NULL)
    *dropped = op.direct_dropped;
  return op.direct_in;
}

static gssize
peer_send (Peer *p, const char *text)
{
  Op op = { .kind = OP_SEND, .data = (const guint8 *) text, .len = strlen (text) };

  peer_run (p, &op);
  return op.sent;
}

static void
log_candidates (Peer *p, GPtrArray *candidates)
{
  for (guint i = 0; i < candidates->len; i++)
    g_test_message ("%s: %s", p->name, (char *) g_ptr_array_index (candidates, i));
}

/* Carries @from's credentials and candidates to @to, as an SDP offer or
 * answer would. */
static void
signal_to (Peer *from, Peer *to)
{
  g_autofree char *ufrag = NULL, *pwd = NULL;
  g_autoptr (GPtrArray) candidates = peer_local (from, &ufrag, &pwd);
  g_autoptr (GError) error = NULL;

  log_candidates (from, candidates);
  g_assert_cmpuint (candidates->len, >, 0);
  g_assert_true (peer_set_remote (to, ufrag, pwd, candidates, &error));
  g_assert_no_error (error);
}

/* Sends N_DATAGRAMS numbered datagrams from @from to @to and checks that all
 * arrive with their content. */
static void
check_data_flows (Peer *from, Peer *to, const char *tag)
{
  gint64 deadline;
  guint first;

  g_mutex_lock (&to->lock);
  first = to->received->len;
  g_mutex_unlock (&to->lock);

  for (guint i = 0; i < N_DATAGRAMS; i++) {
    g_autofree char *text = g_strdup_printf ("%s %s->%s #%02u", tag, from->name, to->name, i);
    g_assert_cmpint (peer_send (from, text), ==, (gssize) strlen (text));
  }

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  g_mutex_lock (&to->lock);
  while (to->received->len < first + N_DATAGRAMS) {
    if (!g_cond_wait_until (&to->cond, &to->lock, deadline))
      break;
  }
  g_assert_cmpuint (to->received->len, ==, first + N_DATAGRAMS);
  for (guint i = 0; i < N_DATAGRAMS; i++) {
    g_autofree char *want = g_strdup_printf ("%s %s->%s #%02u", tag, from->name, to->name, i);
    GBytes *got = g_ptr_array_index (to->received, first + i);
    gsize len;
    const char *bytes = g_bytes_get_data (got, &len);

    g_assert_cmpmem (bytes, len, want, strlen (want));
  }
  g_mutex_unlock (&to->lock);
}

/* ---- coturn ---- */

typedef struct {
  GPid pid;
  guint16 port;
  char *dir;
} Turn;

/* A port that is free for both UDP and TCP on 127.0.0.1 right now. */
static guint16
free_port (void)
{
  for (guint attempt = 0; attempt < 50; attempt++) {
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t slen = sizeof sin;
    int u = socket (AF_INET, SOCK_DGRAM, 0);
    int t = socket (AF_INET, SOCK_STREAM, 0);
    guint16 port;
    gboolean ok;

    sin.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    g_assert_cmpint (bind (u, (struct sockaddr *) &sin, sizeof sin), ==, 0);
    g_assert_cmpint (getsockname (u, (struct sockaddr *) &sin, &slen), ==, 0);
    port = ntohs (sin.sin_port);
    ok = bind (t, (struct sockaddr *) &sin, sizeof sin) == 0;
    close (u);
    close (t);
    if (ok && port < 49000)   /* below coturn's relay ports */
      return port;
  }
  g_error ("no free port");
  return 0;
}

/* Starts coturn on 127.0.0.1 with client transports @udp and @tcp (TURN over
 * UDP / over TCP; the relayed side is UDP either way).  Not with
 * no-stun-backward-compatibility: libnice's server-reflexive discovery sends
 * classic (RFC 3489 style) Binding requests, which coturn then ignores. */
static void
turn_start (Turn *t, gboolean udp, gboolean tcp)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *conf = NULL, *conf_path = NULL, *log_path = NULL;
  g_autofree char *turnserver = g_find_program_in_path ("turnserver");
  char *argv[4] = { NULL, (char *) "-c", NULL, NULL };
  gint64 deadline;

  if (turnserver == NULL) {
    g_test_skip ("turnserver (Debian package coturn) is not installed");
    return;
  }
  t->dir = g_dir_make_tmp ("amgw-turn-XXXXXX", &error);
  g_assert_no_error (error);
  t->port = free_port ();
  conf_path = g_build_filename (t->dir, "turnserver.conf", NULL);
  log_path = g_build_filename (t->dir, "turn.log", NULL);
  conf = g_strdup_printf (
      "listening-ip=127.0.0.1\n"
      "relay-ip=127.0.0.1\n"
      "listening-port=%u\n"
      "min-port=49200\n"
      "max-port=49400\n"
      "lt-cred-mech\n"
      "user=" TURN_USER ":" TURN_PASSWORD "\n"
      "realm=amgw.test\n"
      "fingerprint\n"
      "no-tls\n"
      "no-dtls\n"
      "%s%s"
      "allow-loopback-peers\n"
      "no-multicast-peers\n"
      "no-cli\n"
      "cli-password=unused-cli-password\n"
      "no-rfc5780\n"
      "pidfile=%s/turnserver.pid\n"
      "userdb=%s/turndb\n"
      "log-file=%s\n"
      "simple-log\n"
      "verbose\n",
      t->port, udp ? "" : "no-udp\n", tcp ? "" : "no-tcp\n", t->dir, t->dir, log_path);
  g_assert_true (g_file_set_contents (conf_path, conf, -1, NULL));

  argv[0] = turnserver;
  argv[2] = conf_path;
  g_assert_true (g_spawn_async (NULL, argv, NULL,
      G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
      NULL, NULL, &t->pid, &error));
  g_assert_no_error (error);

  /* Ready once its servers are up (libnice retransmits anyway). */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;) {
    g_autofree char *log = NULL;

    if (g_file_get_contents (log_path, &log, NULL, NULL)
        && strstr (log, "Total General servers") != NULL)
      break;
    g_assert_cmpint (g_get_monotonic_time (), <, deadline);
    g_usleep (20 * 1000);
  }
  g_test_message ("coturn pid %d on 127.0.0.1:%u (%s%s)", (int) t->pid, t->port,
      udp ? "udp " : "", tcp ? "tcp" : "");
}

static void
rm_rf (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *child = g_build_filename (path, name, NULL);
    remove (child);
  }
  if (dir != NULL)
    g_dir_close (dir);
  remove (path);
}

static void
turn_stop (Turn *t)
{
  if (t->pid > 0) {
    int status;

    kill (t->pid, SIGTERM);
    waitpid (t->pid, &status, 0);
    g_spawn_close_pid (t->pid);
    t->pid = 0;
  }
  if (t->dir != NULL) {
    if (g_test_failed ()) {
      g_autofree char *log_path = g_build_filename (t->dir, "turn.log", NULL);
      g_autofree char *log = NULL;

      if (g_file_get_contents (log_path, &log, NULL, NULL))
        g_printerr ("---- coturn log ----\n%s\n", log);
    }
    rm_rf (t->dir);
    g_clear_pointer (&t->dir, g_free);
  }
}

/* ---- fixture: a pool of two loops, peer a (controlling) and peer b ---- */

typedef struct {
  AmgwMediaLoops *loops;
  Peer a, b;
  Turn turn;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->loops = amgw_media_loops_new (2);
  peer_init (&f->a, "a", amgw_media_loops_acquire (f->loops));
  peer_init (&f->b, "b", amgw_media_loops_acquire (f->loops));
  /* Acquire balances: the two calls live on different loops. */
  g_assert_true (f->a.ctx != f->b.ctx);
  g_assert_cmpuint (amgw_media_loops_users (f->loops, 0), ==, 1);
  g_assert_cmpuint (amgw_media_loops_users (f->loops, 1), ==, 1);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  Peer *peers[2] = { &f->a, &f->b };

  for (guint i = 0; i < 2; i++) {
    GMainContext *ctx = peers[i]->ctx;

    peer_clear (peers[i]);
    amgw_media_loops_release (f->loops, ctx);
    g_main_context_unref (ctx);
  }
  amgw_media_loops_free (f->loops);
  turn_stop (&f->turn);
}

/* Creates both agents, gathers, exchanges, and waits for CONNECTED on both. */
static void
connect_peers (Fixture *f, const AmgwIceConfig *cfg_a, const AmgwIceConfig *cfg_b)
{
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  double t_a, t_b;

  g_assert_true (peer_create (&f->a, cfg_a, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (peer_create (&f->b, cfg_b, FALSE, &error));
  g_assert_no_error (error);
  peer_gather (&f->a);
  peer_gather (&f->b);
  peer_wait_gathered (&f->a, CONNECT_TIMEOUT_S);
  peer_wait_gathered (&f->b, CONNECT_TIMEOUT_S);
  g_test_message ("gathered in %.3f s", (g_get_monotonic_time () - start) / 1e6);

  signal_to (&f->a, &f->b);   /* offer */
  signal_to (&f->b, &f->a);   /* answer */
  t_a = peer_wait_state_from (&f->a, AMGW_ICE_CONNECTED, 0, CONNECT_TIMEOUT_S);
  t_b = peer_wait_state_from (&f->b, AMGW_ICE_CONNECTED, 0, CONNECT_TIMEOUT_S);
  g_test_message ("connected: a after %.3f s, b after %.3f s more; total %.3f s", t_a, t_b,
      (g_get_monotonic_time () - start) / 1e6);
}

static gboolean
candidate_field (const char *candidate, guint index, char **out)
{
  g_auto (GStrv) fields = g_strsplit (candidate, " ", -1);

  if (g_strv_length (fields) <= index)
    return FALSE;
  *out = g_strdup (fields[index]);
  return TRUE;
}

/* ---- tests ---- */

static void
test_connect (Fixture *f, gconstpointer data)
{
  g_autofree char *pair_a = NULL, *pair_b = NULL;

  connect_peers (f, NULL, NULL);

  pair_a = peer_describe (&f->a);
  pair_b = peer_describe (&f->b);
  g_test_message ("a: %s; b: %s", pair_a, pair_b);
  g_assert_true (g_regex_match_simple ("^\\S+:\\d+ <-> \\S+:\\d+ \\((host|prflx)/(host|prflx)\\)$",
      pair_a, 0, 0));
  g_assert_nonnull (strstr (pair_b, "<->"));
  /* A host pair: the datagrams go through amgw's own sockets. */
  g_assert_true (peer_is_direct (&f->a));
  g_assert_true (peer_is_direct (&f->b));

  check_data_flows (&f->a, &f->b, "first");
  check_data_flows (&f->b, &f->a, "first");
  g_assert_cmpint (amgw_ice_get_state (f->a.ice), ==, AMGW_ICE_CONNECTED);

  /* amgw_ice_send from a thread that is not the media loop's (GStreamer's
   * streaming threads do that). */
  {
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    guint before;

    g_mutex_lock (&f->b.lock);
    before = f->b.received->len;
    g_mutex_unlock (&f->b.lock);
    g_assert_cmpint (amgw_ice_send (f->a.ice, (const guint8 *) "x-thread", 8), ==, 8);
    g_mutex_lock (&f->b.lock);
    while (f->b.received->len == before
        && g_cond_wait_until (&f->b.cond, &f->b.lock, deadline))
      ;
    g_assert_cmpuint (f->b.received->len, ==, before + 1);
    g_assert_cmpmem (g_bytes_get_data (g_ptr_array_index (f->b.received, before), NULL), 8,
        "x-thread", 8);
    g_mutex_unlock (&f->b.lock);
  }
}

static void
test_send_before_connected (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pair = NULL;

  g_assert_true (peer_create (&f->a, NULL, TRUE, &error));
  g_assert_cmpint (peer_send (&f->a, "too early"), ==, -1);
  peer_gather (&f->a);
  peer_wait_gathered (&f->a, CONNECT_TIMEOUT_S);
  g_assert_cmpint (peer_send (&f->a, "too early"), ==, -1);
  pair = peer_describe (&f->a);
  g_assert_cmpstr (pair, ==, "none");
}

static void
test_port_range (Fixture *f, gconstpointer data)
{
  AmgwIceConfig cfg_a = { .port_min = 42000, .port_max = 42009 };
  AmgwIceConfig cfg_b = { .port_min = 42010, .port_max = 42019 };
  Peer *peers[2] = { &f->a, &f->b };
  AmgwIceConfig *cfgs[2] = { &cfg_a, &cfg_b };

  connect_peers (f, &cfg_a, &cfg_b);
  for (guint i = 0; i < 2; i++) {
    g_autofree char *ufrag = NULL, *pwd = NULL;
    g_autoptr (GPtrArray) candidates = peer_local (peers[i], &ufrag, &pwd);
    guint n_host = 0;

    for (guint k = 0; k < candidates->len; k++) {
      const char *c = g_ptr_array_index (candidates, k);
      g_autofree char *port = NULL, *type = NULL;
      guint64 value;

      g_assert_true (candidate_field (c, 5, &port));
      g_assert_true (candidate_field (c, 7, &type));
      g_assert_cmpstr (type, ==, "host");
      g_assert_true (g_ascii_string_to_unsigned (port, 10, 1, 65535, &value, NULL));
      g_assert_cmpuint (value, >=, cfgs[i]->port_min);
      g_assert_cmpuint (value, <=, cfgs[i]->port_max);
      n_host++;
    }
    g_assert_cmpuint (n_host, >, 0);
  }
  check_data_flows (&f->a, &f->b, "range");

  /* A range with no free port (a holds it on 127.0.0.1): gathering fails. */
  {
    static const char *const v4_only[] = { "127.0.0.1", NULL };
    Peer c;
    GMainContext *ctx = amgw_media_loops_acquire (f->loops);
    AmgwIceConfig cfg_c = { .interfaces = v4_only };
    g_autoptr (GError) error = NULL;
    g_autofree char *ufrag = NULL, *pwd = NULL;
    g_autoptr (GPtrArray) candidates = peer_local (&f->a, &ufrag, &pwd);
    Op op = { .kind = OP_GATHER };

    for (guint k = 0; k < candidates->len; k++) {
      const char *cand = g_ptr_array_index (candidates, k);
      g_autofree char *addr = NULL, *port = NULL;
      guint64 value;

      g_assert_true (candidate_field (cand, 4, &addr));
      g_assert_true (candidate_field (cand, 5, &port));
      if (g_strcmp0 (addr, "127.0.0.1") == 0
          && g_ascii_string_to_unsigned (port, 10, 1, 65535, &value, NULL))
        cfg_c.port_min = cfg_c.port_max = (guint16) value;
    }
    g_assert_cmpuint (cfg_c.port_min, !=, 0);

    peer_init (&c, "c", ctx);
    g_assert_true (peer_create (&c, &cfg_c, TRUE, &error));
    peer_run (&c, &op);
    g_test_message ("full range: %s", op.error ? op.error->message : "(no error)");
    g_assert_error (op.error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_GATHER);
    g_clear_error (&op.error);
    peer_clear (&c);
    amgw_media_loops_release (f->loops, ctx);
    g_main_context_unref (ctx);
  }
}

static void
test_public_ip (Fixture *f, gconstpointer data)
{
  /* Documentation address (RFC 5737): only looked at, never sent to. */
  AmgwIceConfig cfg = { .public_ip = "198.51.100.7" };
  AmgwIceConfig bad = { .public_ip = "gateway.example" };
  g_autoptr (GError) error = NULL;
  g_autofree char *ufrag = NULL, *pwd = NULL;
  g_autoptr (GPtrArray) candidates = NULL;
  guint n_public = 0;

  g_assert_false (peer_create (&f->b, &bad, TRUE, &error));
  g_assert_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG);

  g_assert_true (peer_create (&f->a, &cfg, TRUE, NULL));
  peer_gather (&f->a);
  peer_wait_gathered (&f->a, CONNECT_TIMEOUT_S);
  candidates = peer_local (&f->a, &ufrag, &pwd);
  log_candidates (&f->a, candidates);
  for (guint i = 0; i < candidates->len; i++) {
    const char *c = g_ptr_array_index (candidates, i);
    g_autofree char *addr = NULL;

    g_assert_true (g_str_has_prefix (c, "candidate:"));
    g_assert_true (candidate_field (c, 4, &addr));
    g_assert_cmpstr (addr, !=, "127.0.0.1");   /* the IPv4 host address is replaced */
    g_assert_null (strstr (c, "raddr"));          /* and not leaked as raddr either */
    if (g_strcmp0 (addr, "198.51.100.7") == 0)
      n_public++;
  }
  g_assert_cmpuint (n_public, ==, 1);
}

static void
test_restart (Fixture *f, gconstpointer data)
{
  g_autofree char *ufrag_a = NULL, *pwd_a = NULL, *ufrag_b = NULL, *pwd_b = NULL;
  g_autofree char *new_ufrag_a = NULL, *new_pwd_a = NULL;
  g_autoptr (GPtrArray) before = NULL, after = NULL;
  g_autoptr (GError) error = NULL;
  guint from_a, from_b;
  gint64 start;
  Op op = { .kind = OP_RESTART };

  connect_peers (f, NULL, NULL);
  check_data_flows (&f->a, &f->b, "before");
  before = peer_local (&f->a, &ufrag_a, &pwd_a);

  from_a = peer_history_len (&f->a);
  from_b = peer_history_len (&f->b);
  start = g_get_monotonic_time ();

  /* a offers a restart with new credentials; b takes it and restarts too. */
  peer_run (&f->a, &op);
  g_assert_no_error (op.error);
  g_assert_true (op.ok);
  after = peer_local (&f->a, &new_ufrag_a, &new_pwd_a);
  g_assert_cmpstr (new_ufrag_a, !=, ufrag_a);
  g_assert_cmpstr (new_pwd_a, !=, pwd_a);
  g_assert_cmpuint (after->len, ==, before->len);   /* the same candidates */

  op = (Op) { .kind = OP_RESTART };
  peer_run (&f->b, &op);
  g_assert_no_error (op.error);
  /* Until the new checks succeed, the old pair carries the data. */
  check_data_flows (&f->a, &f->b, "during");
  signal_to (&f->a, &f->b);
  signal_to (&f->b, &f->a);

  /* Both go through the checks again and back to CONNECTED. */
  peer_wait_state_from (&f->a, AMGW_ICE_CHECKING, from_a, CONNECT_TIMEOUT_S);
  peer_wait_state_from (&f->a, AMGW_ICE_CONNECTED, from_a, CONNECT_TIMEOUT_S);
  peer_wait_state_from (&f->b, AMGW_ICE_CONNECTED, from_b, CONNECT_TIMEOUT_S);
  g_test_message ("reconnected after the restart in %.3f s",
      (g_get_monotonic_time () - start) / 1e6);
  check_data_flows (&f->a, &f->b, "after");
  check_data_flows (&f->b, &f->a, "after");
  g_assert_true (peer_is_direct (&f->a));
  g_assert_true (peer_is_direct (&f->b));
}

/* amgw_ice_free() inside a callback: no callback after, nothing freed twice
 * (valgrind and ASan see to the second part). */
static void
test_free_in_callback (Fixture *f, gconstpointer data)
{
  gint64 deadline;
  guint history;

  f->a.free_in_receive = TRUE;
  connect_peers (f, NULL, NULL);

  g_mutex_lock (&f->a.lock);
  history = f->a.history->len;
  g_mutex_unlock (&f->a.lock);
  for (guint i = 0; i < 5; i++)
    g_assert_cmpint (peer_send (&f->b, "one"), ==, 3);

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  g_mutex_lock (&f->a.lock);
  while (!f->a.freed_in_callback && g_cond_wait_until (&f->a.cond, &f->a.lock, deadline))
    ;
  g_assert_true (f->a.freed_in_callback);
  g_mutex_unlock (&f->a.lock);

  /* More data and b's own checks keep coming: a says nothing any more. */
  for (guint i = 0; i < 5; i++)
    peer_send (&f->b, "more");
  {
    Op op = { .kind = OP_NOP };   /* a round trip through each loop */
    peer_run (&f->b, &op);
    peer_run (&f->a, &op);
  }
  g_mutex_lock (&f->a.lock);
  g_assert_cmpuint (f->a.received->len, ==, 1);
  g_assert_cmpuint (f->a.history->len, ==, history);
  g_mutex_unlock (&f->a.lock);

  /* And inside gathering_done (the queued-event path). */
  {
    Peer c;
    GMainContext *ctx = amgw_media_loops_acquire (f->loops);

    peer_init (&c, "c", ctx);
    c.free_in_gathered = TRUE;
    g_assert_true (peer_create (&c, NULL, TRUE, NULL));
    peer_gather (&c);
    peer_wait_gathered (&c, CONNECT_TIMEOUT_S);
    g_assert_true (c.freed_in_callback);
    g_assert_null (c.ice);
    peer_clear (&c);
    amgw_media_loops_release (f->loops, ctx);
    g_main_context_unref (ctx);
  }
}

/* The local address of @p's selected pair ("ip:port" or "[ip6]:port" before
 * " <-> " in amgw_ice_describe_pair()). */
static GSocketAddress *
peer_selected_local (Peer *p)
{
  g_autofree char *pair = peer_describe (p);
  g_autofree char *local = NULL;
  char *colon;
  const char *host;
  guint64 port;

  g_assert_nonnull (strstr (pair, " <-> "));
  local = g_strndup (pair, (gsize) (strstr (pair, " <-> ") - pair));
  colon = strrchr (local, ':');
  g_assert_nonnull (colon);
  *colon = '\0';
  g_assert_true (g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL));
  host = local;
  if (host[0] == '[') {
    host++;
    local[strlen (local) - 1] = '\0';
  }
  return g_inet_socket_address_new_from_string (host, (guint) port);
}

/* Waits up to @timeout_ms for a datagram on @fd; its length, or -1. */
static gssize
recv_within (int fd, guint8 *buf, gsize size, struct sockaddr_storage *from, guint timeout_ms)
{
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  socklen_t from_len = sizeof *from;

  if (poll (&pfd, 1, (int) timeout_ms) != 1)
    return -1;
  return recvfrom (fd, buf, size, 0, (struct sockaddr *) from, &from_len);
}

/* The direct path (media/ice.c): after a host pair is selected, datagrams go
 * through amgw's own socket on the same port, STUN still through libnice's,
 * and only the selected remote's datagrams are taken. */
/* no_direct_path (the benchmark's devices): that side's datagrams stay
 * with libnice, both ways; the other side's direct path talks to it. */
static void
test_no_direct_path (Fixture *f, gconstpointer data)
{
  AmgwIceConfig plain = { .no_direct_path = TRUE };

  connect_peers (f, NULL, &plain);
  check_data_flows (&f->a, &f->b, "to-plain");
  check_data_flows (&f->b, &f->a, "from-plain");
  g_assert_true (peer_is_direct (&f->a));
  g_assert_false (peer_is_direct (&f->b));
  g_assert_cmpuint (peer_direct_in (&f->b, NULL), ==, 0);
  g_assert_cmpuint (peer_direct_in (&f->a, NULL), ==, N_DATAGRAMS);
}

static void
test_direct (Fixture *f, gconstpointer data)
{
  g_autofree char *ufrag_a = NULL, *pwd_a = NULL, *ufrag_b = NULL, *pwd_b = NULL;
  g_autofree char *username = NULL;
  g_autoptr (GPtrArray) cands_a = NULL, cands_b = NULL;
  g_autoptr (GSocketAddress) local_a = NULL;
  struct sockaddr_storage a_addr, stranger_addr, from;
  socklen_t stranger_len = sizeof stranger_addr;
  static const guint8 junk[] = { 0x80, 0x00, 0x12, 0x34, 'j', 'u', 'n', 'k' };
  guint8 req[STUN_MAX_MESSAGE_SIZE], resp[STUN_MAX_MESSAGE_SIZE];
  StunAgent stun;
  StunMessage msg;
  gsize req_len;
  gint64 deadline;
  gboolean answered = FALSE;
  int stranger;

  guint64 in_before, in_after, dropped_before, dropped_after;

  connect_peers (f, NULL, NULL);
  g_assert_true (peer_is_direct (&f->a));
  g_assert_true (peer_is_direct (&f->b));
  in_before = peer_direct_in (&f->a, &dropped_before);
  check_data_flows (&f->a, &f->b, "direct");
  check_data_flows (&f->b, &f->a, "direct");
  /* They came through amgw's socket, not libnice's. */
  in_after = peer_direct_in (&f->a, NULL);
  g_assert_cmpuint (in_after - in_before, ==, N_DATAGRAMS);

  /* A stranger on loopback, in a's selected pair's address family. */
  local_a = peer_selected_local (&f->a);
  g_assert_true (g_socket_address_to_native (local_a, &a_addr, sizeof a_addr, NULL));
  stranger = socket (a_addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (stranger, >=, 0);
  memset (&stranger_addr, 0, sizeof stranger_addr);
  stranger_addr.ss_family = a_addr.ss_family;
  if (a_addr.ss_family == AF_INET6)
    ((struct sockaddr_in6 *) &stranger_addr)->sin6_addr = in6addr_loopback;
  else
    ((struct sockaddr_in *) &stranger_addr)->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (stranger, (struct sockaddr *) &stranger_addr,
      a_addr.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6) : sizeof (struct sockaddr_in)),
      ==, 0);
  g_assert_cmpint (getsockname (stranger, (struct sockaddr *) &stranger_addr, &stranger_len), ==, 0);

  /* An RTP-looking datagram from the stranger is not taken: b's that follow
   * arrive alone (check_data_flows counts and compares them all). */
  g_assert_cmpint (sendto (stranger, junk, sizeof junk, 0, (struct sockaddr *) &a_addr,
      g_socket_address_get_native_size (local_a)), ==, sizeof junk);
  check_data_flows (&f->b, &f->a, "after-junk");
  g_assert_cmpuint (peer_direct_in (&f->a, &dropped_after), ==, in_after + N_DATAGRAMS);
  g_assert_cmpuint (dropped_after, ==, dropped_before + 1);

  /* A connectivity check with a's credentials, sent to the same port, is
   * libnice's: it answers with a success response that maps the stranger. */
  cands_a = peer_local (&f->a, &ufrag_a, &pwd_a);
  cands_b = peer_local (&f->b, &ufrag_b, &pwd_b);
  username = g_strdup_printf ("%s:%s", ufrag_a, ufrag_b);
  stun_agent_init (&stun, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
      STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS | STUN_AGENT_USAGE_USE_FINGERPRINT);
  req_len = stun_usage_ice_conncheck_create (&stun, &msg, req, sizeof req,
      (const uint8_t *) username, strlen (username), (const uint8_t *) pwd_a, strlen (pwd_a),
      FALSE, FALSE, 0x6e0001ff, g_random_int (), NULL, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
  g_assert_cmpuint (req_len, >, 0);
  g_assert_cmpint (sendto (stranger, req, req_len, 0, (struct sockaddr *) &a_addr,
      g_socket_address_get_native_size (local_a)), ==, (gssize) req_len);

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!answered && g_get_monotonic_time () < deadline) {
    gssize n = recv_within (stranger, resp, sizeof resp, &from, 500);
    StunMessage reply;
    struct sockaddr_storage mapped;
    socklen_t mapped_len = sizeof mapped;

    if (n <= 0)
      continue;
    /* libnice may also send the stranger a check of its own: skip those. */
    if (stun_agent_validate (&stun, &reply, resp, (size_t) n, NULL, NULL)
        != STUN_VALIDATION_SUCCESS
        || stun_message_get_class (&reply) != STUN_RESPONSE)
      continue;
    g_assert_cmpint (stun_usage_ice_conncheck_process (&reply, &mapped, &mapped_len,
        STUN_USAGE_ICE_COMPATIBILITY_RFC5245), ==, STUN_USAGE_ICE_RETURN_SUCCESS);
    g_assert_cmpint (mapped.ss_family, ==, stranger_addr.ss_family);
    if (mapped.ss_family == AF_INET6)
      g_assert_cmpuint (((struct sockaddr_in6 *) &mapped)->sin6_port, ==,
          ((struct sockaddr_in6 *) &stranger_addr)->sin6_port);
    else
      g_assert_cmpuint (((struct sockaddr_in *) &mapped)->sin_port, ==,
          ((struct sockaddr_in *) &stranger_addr)->sin_port);
    answered = TRUE;
  }
  g_assert_true (answered);
  close (stranger);

  /* Nothing else changed: both still on the direct path, data both ways. */
  g_assert_true (peer_is_direct (&f->a));
  check_data_flows (&f->a, &f->b, "end");
  check_data_flows (&f->b, &f->a, "end");
}

/* Consent freshness (RFC 7675) lives on with the direct path: libnice's
 * checks and answers are STUN, which the steering leaves to libnice's socket;
 * if it did not, both would report FAILED after libnice's 30 s. */
static void
test_consent_kept (Fixture *f, gconstpointer data)
{
  Peer *peers[2] = { &f->a, &f->b };

  connect_peers (f, NULL, NULL);
  g_assert_true (peer_is_direct (&f->a));
  g_assert_true (peer_is_direct (&f->b));
  for (guint s = 0; s < CONSENT_KEPT_S; s += 5) {
    g_usleep (5 * G_USEC_PER_SEC);
    check_data_flows (&f->a, &f->b, "kept");
  }
  for (guint i = 0; i < 2; i++) {
    g_mutex_lock (&peers[i]->lock);
    for (guint k = 0; k < peers[i]->history->len; k++)
      g_assert_cmpint (g_array_index (peers[i]->history, AmgwIceState, k), !=, AMGW_ICE_FAILED);
    g_assert_cmpint (peers[i]->state, ==, AMGW_ICE_CONNECTED);
    g_mutex_unlock (&peers[i]->lock);
  }
  check_data_flows (&f->b, &f->a, "kept");
}

static void
test_consent_lost (Fixture *f, gconstpointer data)
{
  Op op = { .kind = OP_FREE };
  guint from;
  double waited;

  connect_peers (f, NULL, NULL);
  check_data_flows (&f->a, &f->b, "consent");
  from = peer_history_len (&f->a);

  peer_run (&f->b, &op);   /* b vanishes without a word */
  waited = peer_wait_state_from (&f->a, AMGW_ICE_FAILED, from, CONSENT_TIMEOUT_S);
  g_test_message ("a reported FAILED %.1f s after b went away", waited);
  g_assert_cmpint (peer_send (&f->a, "nobody there"), ==, -1);
}

static void
test_bad_remote (Fixture *f, gconstpointer data)
{
  static const char *const unusable[] = {
    "garbage",
    "candidate:",
    "candidate:1 1 UDP 2130706431 1f4712db-ea17-4bcf-a596-105139dfd8bf.local 54400 typ host",
    "candidate:2 1 TCP 1518280447 127.0.0.1 9 typ host tcptype active",
    "candidate:3 2 UDP 2130706430 127.0.0.1 40001 typ host",
    "candidate:4 1 UDP notanumber 127.0.0.1 40000 typ host",
    "candidate:5 1 UDP 2130706431 127.0.0.1 40000 typ bogus",
  };
  g_autoptr (GPtrArray) candidates = g_ptr_array_new ();
  g_autoptr (GPtrArray) many = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  const char *ufrag = "abcd", *pwd = "abcdefghijklmnopqrstuvwx";

  g_assert_true (peer_create (&f->a, NULL, TRUE, NULL));
  peer_gather (&f->a);
  peer_wait_gathered (&f->a, CONNECT_TIMEOUT_S);

  for (guint i = 0; i < G_N_ELEMENTS (unusable); i++)
    g_ptr_array_add (candidates, (gpointer) unusable[i]);
  g_assert_false (peer_set_remote (&f->a, ufrag, pwd, candidates, &error));
  g_assert_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE);
  g_clear_error (&error);

  g_assert_false (peer_set_remote (&f->a, ufrag, pwd, NULL, &error));
  g_assert_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE);
  g_clear_error (&error);

  for (guint i = 0; i < AMGW_ICE_MAX_REMOTE_CANDIDATES + 1; i++)
    g_ptr_array_add (many, g_strdup_printf ("candidate:%u 1 UDP 2130706431 127.0.0.1 %u typ host",
        i, 40000 + i));
  g_assert_false (peer_set_remote (&f->a, ufrag, pwd, many, &error));
  g_assert_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE);
  g_clear_error (&error);

  /* Malformed credentials. */
  g_ptr_array_set_size (many, 1);
  g_assert_false (peer_set_remote (&f->a, "ab", pwd, many, &error));
  g_assert_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE);
  g_clear_error (&error);
  g_assert_false (peer_set_remote (&f->a, ufrag, "short", many, &error));
  g_assert_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE);
  g_clear_error (&error);

  /* One usable among the unusable is enough ("a=" prefix accepted too). */
  g_ptr_array_add (candidates, (gpointer) "a=candidate:9 1 UDP 2130706431 127.0.0.1 40000 typ host");
  g_assert_true (peer_set_remote (&f->a, ufrag, pwd, candidates, &error));
  g_assert_no_error (error);
}

static void
test_config_errors (Fixture *f, gconstpointer data)
{
  static const char *const nowhere[] = { "no-such-interface0", NULL };
  static const char *const lo_by_name[] = { "lo", NULL };
  AmgwIceConfig cfgs[] = {
    { .stun_server = "stun.example.org:3478" },       /* host names are resolved by the caller */
    { .stun_server = "127.0.0.1:99999" },
    { .turn_server = "127.0.0.1:3478" },               /* no credentials */
    { .force_relay = TRUE },                           /* relay without TURN */
    { .port_min = 5000 },                              /* half a range */
    { .port_min = 6000, .port_max = 5000 },
    { .interfaces = nowhere },
  };
  AmgwIceConfig good = { .interfaces = lo_by_name, .stun_server = "127.0.0.1" };

  for (guint i = 0; i < G_N_ELEMENTS (cfgs); i++) {
    g_autoptr (GError) error = NULL;

    g_assert_false (peer_create (&f->a, &cfgs[i], TRUE, &error));
    g_assert_nonnull (error);
    g_assert_true (error->domain == AMGW_ICE_ERROR);
    g_test_message ("config %u: %s", i, error->message);
  }
  g_assert_true (peer_create (&f->a, &good, TRUE, NULL));
}

static void
run_turn_test (Fixture *f, gboolean udp, gboolean tcp)
{
  g_autofree char *turn = NULL, *ufrag = NULL, *pwd = NULL, *pair_a = NULL, *pair_b = NULL;
  g_autoptr (GPtrArray) candidates = NULL;
  AmgwIceConfig cfg_a = { .force_relay = TRUE };
  AmgwIceConfig cfg_b = { 0, };
  guint n_relay = 0;

  turn_start (&f->turn, udp, tcp);
  if (g_test_failed () || f->turn.pid == 0)
    return;
  turn = g_strdup_printf ("127.0.0.1:%u", f->turn.port);
  cfg_a.turn_server = turn;
  cfg_a.turn_user = TURN_USER;
  cfg_a.turn_password = TURN_PASSWORD;
  /* coturn answers STUN too: b asks it for a server-reflexive address (on
   * loopback the same as its host address, which libnice then drops). */
  cfg_b.stun_server = turn;

  connect_peers (f, &cfg_a, &cfg_b);

  candidates = peer_local (&f->a, &ufrag, &pwd);
  for (guint i = 0; i < candidates->len; i++) {
    const char *c = g_ptr_array_index (candidates, i);

    g_assert_nonnull (strstr (c, "typ relay"));   /* force_relay: nothing else */
    n_relay++;
  }
  g_assert_cmpuint (n_relay, >, 0);

  pair_a = peer_describe (&f->a);
  pair_b = peer_describe (&f->b);
  g_test_message ("a: %s; b: %s", pair_a, pair_b);
  g_assert_nonnull (strstr (pair_a, "(relay/"));
  /* a's datagrams are wrapped for the TURN server: libnice's path.  b's
   * come plain from the relayed address: the direct path. */
  g_assert_false (peer_is_direct (&f->a));
  g_assert_true (peer_is_direct (&f->b));

  check_data_flows (&f->a, &f->b, "turn");
  check_data_flows (&f->b, &f->a, "turn");
}

static void
test_turn_udp (Fixture *f, gconstpointer data)
{
  run_turn_test (f, TRUE, FALSE);
}

static void
test_turn_tcp (Fixture *f, gconstpointer data)
{
  run_turn_test (f, FALSE, TRUE);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("AMGW_IN_NETNS") == NULL) {
    /* Real sockets: only inside the loopback-only namespace of netns-run. */
    g_printerr ("test-ice runs inside tests/netns-run only\n");
    return 77;
  }

#define ADD(path, fn) \
  g_test_add ("/ice/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("connect", test_connect);
  ADD ("send-before-connected", test_send_before_connected);
  ADD ("port-range", test_port_range);
  ADD ("public-ip", test_public_ip);
  ADD ("restart", test_restart);
  ADD ("bad-remote", test_bad_remote);
  ADD ("config-errors", test_config_errors);
  ADD ("free-in-callback", test_free_in_callback);
  ADD ("turn-udp", test_turn_udp);
  ADD ("turn-tcp", test_turn_tcp);
  ADD ("consent-lost", test_consent_lost);
  ADD ("direct", test_direct);
  ADD ("no-direct-path", test_no_direct_path);
  ADD ("consent-kept", test_consent_kept);
#undef ADD

  return g_test_run ();
}
