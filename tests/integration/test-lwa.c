/* Integration tests of the LWA token manager against the fake cloud: the
 * bootstrap refresh token, persistence in a real store, single flight,
 * proactive refresh, invalid_grant, refresh answers without refresh_token,
 * AcceptGrant, and that no secret ever reaches the debug log or an error. */
#include "amgw/debug.h"
#include "amgw/http-client.h"
#include "amgw/lwa.h"
#include "amgw/metrics.h"
#include "amgw/store.h"
#include "amgw/util.h"
#include "fake-cloud.h"
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#define CLIENT_ID "amzn1.application-oa2-client.test"
#define CLIENT_SECRET "client-secret-0123456789abcdef"
#define BOOT_RT "Atzr|bootstrap-refresh-token-0123456789"
#define WAIT_MS 10000

/* ---- the debug log, recorded at every level ---- */

static GMutex log_lock;
static GPtrArray *log_lines;     /* char* */
static GPtrArray *secrets;       /* char*: every secret a test saw */

static void
record_log (GstDebugCategory *category, GstDebugLevel level, const gchar *file,
    const gchar *function, gint line, GObject *object, GstDebugMessage *message,
    gpointer user_data)
{
  const char *text = gst_debug_message_get (message);

  g_mutex_lock (&log_lock);
  g_ptr_array_add (log_lines, g_strdup_printf ("%s %s: %s", gst_debug_level_get_name (level),
      gst_debug_category_get_name (category), text != NULL ? text : ""));
  g_mutex_unlock (&log_lock);
}

static void
remember_secret (const char *s)
{
  if (s == NULL)
    return;
  g_mutex_lock (&log_lock);
  g_ptr_array_add (secrets, g_strdup (s));
  g_mutex_unlock (&log_lock);
}

static void
assert_no_secret_in (const char *what, const char *text)
{
  g_mutex_lock (&log_lock);
  for (guint i = 0; i < secrets->len; i++) {
    if (text != NULL && strstr (text, secrets->pdata[i]) != NULL)
      g_error ("a secret appears in %s: %s", what, text);
  }
  g_mutex_unlock (&log_lock);
}

static void
assert_log_clean (void)
{
  g_autofree char *metrics = amgw_metrics_render ();
  guint n;

  g_mutex_lock (&log_lock);
  n = log_lines->len;
  g_mutex_unlock (&log_lock);
  for (guint i = 0; i < n; i++) {
    char *line;
    g_mutex_lock (&log_lock);
    line = g_strdup (log_lines->pdata[i]);
    g_mutex_unlock (&log_lock);
    assert_no_secret_in ("the debug log", line);
    g_free (line);
  }
  assert_no_secret_in ("the metrics", metrics);
}

/* ---- the loop ---- */


typedef struct {
  gboolean done;
  char *token;
  GError *error;
  gint64 at_ms;
} TokenResult;

static void
token_result_clear (TokenResult *r)
{
  g_clear_pointer (&r->token, g_free);
  g_clear_error (&r->error);
  r->done = FALSE;
}

static void
token_cb (const char *access_token, const GError *error, gpointer user_data)
{
  TokenResult *r = user_data;

  g_assert_false (r->done);
  g_assert_true ((access_token == NULL) != (error == NULL));
  r->done = TRUE;
  r->at_ms = amgw_now_ms ();
  r->token = g_strdup (access_token);
  r->error = error != NULL ? g_error_copy (error) : NULL;
  remember_secret (access_token);
  if (error != NULL)
    assert_no_secret_in ("an error message", error->message);
}

static char *
get_token_sync (AmgwLwa *lwa, GError **error)
{
  TokenResult r = { 0 };

  amgw_lwa_get_token (lwa, token_cb, &r);
  g_assert_false (r.done);        /* never synchronously */
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  if (r.error != NULL)
    g_propagate_error (error, g_steal_pointer (&r.error));
  return r.token;
}

static char *
accept_grant_sync (AmgwLwa *lwa, const char *code, GError **error)
{
  TokenResult r = { 0 };

  amgw_lwa_accept_grant (lwa, code, token_cb, &r);
  g_assert_false (r.done);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  if (r.error != NULL)
    g_propagate_error (error, g_steal_pointer (&r.error));
  return r.token;
}

/* ---- fixture ---- */

typedef struct {
  FakeCloud *fc;
  AmgwHttpClient *http;
  char *tmpdir;
  char *state_dir;
  AmgwStore *store;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  amgw_metrics_reset ();
  f->fc = fake_cloud_new ();
  fake_cloud_set_client (f->fc, CLIENT_ID, CLIENT_SECRET);
  fake_cloud_add_refresh_token (f->fc, BOOT_RT);
  f->http = amgw_http_client_new (NULL, 5000);
  f->tmpdir = g_dir_make_tmp ("amgw-test-lwa-XXXXXX", &error);
  g_assert_no_error (error);
  f->state_dir = g_build_filename (f->tmpdir, "state", NULL);
  f->store = amgw_store_open (f->state_dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
}

static void
rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir != NULL && (name = g_dir_read_name (dir)) != NULL) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      rm_rf (child);
    }
    g_rmdir (path);
  } else {
    g_unlink (path);
  }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  /* Every token the fake issued counts as a secret. */
  GPtrArray *lwa = fake_cloud_lwa_requests (f->fc);
  g_autofree char *last = fake_cloud_dup_access_token (f->fc);

  remember_secret (last);
  for (guint i = 0; i < lwa->len; i++) {
    FakeCloudRequest *r = lwa->pdata[i];
    g_assert_null (r->validation_error);
    if (r->form != NULL) {
      remember_secret (g_hash_table_lookup (r->form, "refresh_token"));
      remember_secret (g_hash_table_lookup (r->form, "code"));
    }
  }
  g_ptr_array_unref (lwa);

  amgw_store_close (f->store);
  amgw_http_client_free (f->http);
  fake_cloud_free (f->fc);
  rm_rf (f->tmpdir);
  g_free (f->state_dir);
  g_free (f->tmpdir);
  assert_log_clean ();
}

static AmgwLwa *
new_lwa (Fixture *f, const char *bootstrap)
{
  AmgwLwa *lwa = amgw_lwa_new (f->http, f->store, fake_cloud_lwa_url (f->fc), CLIENT_ID,
      CLIENT_SECRET, bootstrap);
  amgw_lwa_set_backoff (lwa, 10, 50, 3);
  return lwa;
}

/* ---- tests ---- */

static void
test_bootstrap (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwLwa) lwa = new_lwa (f, BOOT_RT);
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL, *again = NULL, *issued = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  FakeCloudRequest *r;

  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_LINKED);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_lwa_linked", NULL), ==, 1);
  token = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  issued = fake_cloud_dup_access_token (f->fc);
  g_assert_cmpstr (token, ==, issued);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 1);

  reqs = fake_cloud_lwa_requests (f->fc);
  r = reqs->pdata[0];
  g_assert_null (r->validation_error);
  g_assert_cmpstr (g_hash_table_lookup (r->form, "grant_type"), ==, "refresh_token");
  g_assert_cmpstr (g_hash_table_lookup (r->form, "refresh_token"), ==, BOOT_RT);
  g_assert_cmpstr (g_hash_table_lookup (r->form, "client_id"), ==, CLIENT_ID);

  /* Still fresh: no second refresh. */
  again = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, token);
  g_assert_cmpuint (fake_cloud_lwa_count (f->fc), ==, 1);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_lwa_refreshes_total", "outcome", "ok", NULL), ==, 1);
}

static void
test_persisted (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL, *reloaded = NULL;
  AmgwLwa *lwa = new_lwa (f, BOOT_RT);
  AmgwTokens stored = { 0 };

  token = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  amgw_lwa_free (lwa);

  /* On disk: close and reopen the store. */
  amgw_store_close (f->store);
  f->store = amgw_store_open (f->state_dir, &error);
  g_assert_no_error (error);
  g_assert_true (amgw_store_load_tokens (f->store, &stored, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (stored.access_token, ==, token);
  g_assert_cmpstr (stored.refresh_token, ==, BOOT_RT);
  g_assert_false (stored.unlinked);
  g_assert_cmpint (stored.expires_at_ms, >, amgw_wall_ms ());
  amgw_tokens_clear (&stored);

  /* A new manager, without a bootstrap token, uses what was stored. */
  lwa = new_lwa (f, NULL);
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_LINKED);
  reloaded = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reloaded, ==, token);
  g_assert_cmpuint (fake_cloud_lwa_count (f->fc), ==, 1);
  amgw_lwa_free (lwa);
}

static void
test_single_flight (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwLwa) lwa = new_lwa (f, BOOT_RT);
  TokenResult results[10] = { 0 };
  gboolean all = FALSE;
  gint64 deadline = amgw_now_ms () + WAIT_MS;

  fake_cloud_set_lwa_delay_ms (f->fc, 300);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    amgw_lwa_get_token (lwa, token_cb, &results[i]);
  while (!all && amgw_now_ms () < deadline) {
    amgw_test_spin_ms (20);
    all = TRUE;
    for (guint i = 0; i < G_N_ELEMENTS (results); i++)
      all = all && results[i].done;
  }
  g_assert_true (all);
  for (guint i = 0; i < G_N_ELEMENTS (results); i++) {
    g_assert_no_error (results[i].error);
    g_assert_cmpstr (results[i].token, ==, results[0].token);
  }
  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    token_result_clear (&results[i]);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 1);
}

static void
test_proactive (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwLwa) lwa = new_lwa (f, BOOT_RT);
  g_autoptr (GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  g_autoptr (GPtrArray) reqs = NULL;
  gint64 deadline, gap_ms;

  fake_cloud_set_expires_in (f->fc, 5);
  first = get_token_sync (lwa, &error);
  g_assert_no_error (error);

  /* Nobody asks: the timer refreshes at about 90 % of 5 s, before expiry. */
  deadline = amgw_now_ms () + WAIT_MS;
  while (fake_cloud_refresh_count (f->fc) < 2 && amgw_now_ms () < deadline)
    amgw_test_spin_ms (20);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);
  reqs = fake_cloud_lwa_requests (f->fc);
  gap_ms = (((FakeCloudRequest *) reqs->pdata[1])->received_us
      - ((FakeCloudRequest *) reqs->pdata[0])->received_us) / 1000;
  g_test_message ("proactive refresh %" G_GINT64_FORMAT " ms after the first", gap_ms);
  g_assert_cmpint (gap_ms, >=, 3000);
  g_assert_cmpint (gap_ms, <, 5000);

  amgw_test_spin_ms (100);
  second = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, !=, first);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);
}

static void
test_invalid_grant (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL, *none = NULL, *relinked = NULL, *after = NULL;
  AmgwLwa *lwa = new_lwa (f, BOOT_RT);
  AmgwTokens stored = { 0 };

  token = get_token_sync (lwa, &error);
  g_assert_no_error (error);

  fake_cloud_revoke_refresh_token (f->fc, BOOT_RT);
  amgw_lwa_invalidate (lwa, token);
  none = get_token_sync (lwa, &error);
  g_assert_null (none);
  g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_UNLINKED);
  g_clear_error (&error);
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_UNLINKED);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_lwa_refreshes_total", "outcome", "invalid_grant", NULL), ==, 1);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_lwa_linked", NULL), ==, 0);

  /* No more requests while unlinked. */
  none = get_token_sync (lwa, &error);
  g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_UNLINKED);
  g_clear_error (&error);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);

  g_assert_true (amgw_store_load_tokens (f->store, &stored, &error));
  g_assert_no_error (error);
  g_assert_true (stored.unlinked);
  g_assert_null (stored.refresh_token);
  amgw_tokens_clear (&stored);
  amgw_lwa_free (lwa);

  /* The stored state wins over the bootstrap token after a restart. */
  lwa = new_lwa (f, BOOT_RT);
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_UNLINKED);

  /* AcceptGrant links again. */
  fake_cloud_add_auth_code (f->fc, "ANcode-relink-42", "Atzr|relinked-refresh-token");
  relinked = accept_grant_sync (lwa, "ANcode-relink-42", &error);
  g_assert_no_error (error);
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_LINKED);
  after = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (after, ==, relinked);
  g_assert_true (amgw_store_load_tokens (f->store, &stored, &error));
  g_assert_false (stored.unlinked);
  g_assert_cmpstr (stored.refresh_token, ==, "Atzr|relinked-refresh-token");
  amgw_tokens_clear (&stored);
  amgw_lwa_free (lwa);
}

static void
test_keeps_refresh_token (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
  g_autoptr (AmgwLwa) lwa = new_lwa (f, BOOT_RT);
  g_autoptr (GPtrArray) reqs = NULL;
  AmgwTokens stored = { 0 };
  const char *rotated;

  /* The fake's refresh answers carry no refresh_token by default. */
  t1 = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  amgw_lwa_invalidate (lwa, t1);
  t2 = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (t1, !=, t2);
  g_assert_true (amgw_store_load_tokens (f->store, &stored, &error));
  g_assert_cmpstr (stored.refresh_token, ==, BOOT_RT);
  g_assert_cmpstr (stored.access_token, ==, t2);
  amgw_tokens_clear (&stored);

  /* With a rotated one, the next refresh uses it. */
  fake_cloud_set_rotate_refresh_token (f->fc, TRUE);
  amgw_lwa_invalidate (lwa, "not-the-current-token");   /* ignored */
  amgw_lwa_invalidate (lwa, t2);
  t3 = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  amgw_lwa_invalidate (lwa, t3);
  t4 = get_token_sync (lwa, &error);
  g_assert_no_error (error);

  reqs = fake_cloud_lwa_requests (f->fc);
  g_assert_cmpuint (reqs->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (g_hash_table_lookup (((FakeCloudRequest *) reqs->pdata[i])->form, "refresh_token"),
        ==, BOOT_RT);
  rotated = g_hash_table_lookup (((FakeCloudRequest *) reqs->pdata[3])->form, "refresh_token");
  g_assert_cmpstr (rotated, !=, BOOT_RT);
  g_assert_true (g_str_has_prefix (rotated, "Atzr|"));
}

static void
test_accept_grant (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *none = NULL, *granted = NULL, *token = NULL, *bad = NULL;
  g_autoptr (AmgwLwa) lwa = new_lwa (f, NULL);
  AmgwTokens stored = { 0 };

  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_NOT_LINKED);
  none = get_token_sync (lwa, &error);
  g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_NOT_LINKED);
  g_clear_error (&error);

  /* A code the endpoint does not know. */
  bad = accept_grant_sync (lwa, "ANcode-unknown", &error);
  g_assert_null (bad);
  g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_REJECTED);
  g_clear_error (&error);
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_NOT_LINKED);

  /* Not even sent: it could not be a header or form value. */
  bad = accept_grant_sync (lwa, "bad code\r\n", &error);
  g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_REJECTED);
  g_clear_error (&error);

  fake_cloud_add_auth_code (f->fc, "ANcode-0001", "Atzr|granted-refresh-token");
  granted = accept_grant_sync (lwa, "ANcode-0001", &error);
  g_assert_no_error (error);
  g_assert_nonnull (granted);
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_LINKED);
  token = get_token_sync (lwa, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (token, ==, granted);
  g_assert_true (amgw_store_load_tokens (f->store, &stored, &error));
  g_assert_cmpstr (stored.refresh_token, ==, "Atzr|granted-refresh-token");
  amgw_tokens_clear (&stored);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 0);
  g_assert_cmpuint (fake_cloud_lwa_count (f->fc), ==, 2);
}

static void
test_endpoint_down (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *token = NULL;
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *url = NULL;
  AmgwLwa *lwa;
  gint64 t0;

  /* A port nobody listens on: connection refused. */
  g_assert_true (g_socket_bind (sock, any, TRUE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  url = g_strdup_printf ("http://127.0.0.1:%u/auth/o2/token",
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (sock, NULL);

  lwa = amgw_lwa_new (f->http, NULL, url, CLIENT_ID, CLIENT_SECRET, BOOT_RT);
  amgw_lwa_set_backoff (lwa, 10, 50, 3);
  t0 = amgw_now_ms ();
  token = get_token_sync (lwa, &error);
  g_assert_null (token);
  g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_FAILED);
  g_test_message ("failed after %" G_GINT64_FORMAT " ms: %s", amgw_now_ms () - t0, error->message);
  g_assert_nonnull (strstr (error->message, "3 attempts"));
  g_assert_cmpint (amgw_lwa_get_state (lwa), ==, AMGW_LWA_STATE_LINKED);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_lwa_refreshes_total", "outcome", "error", NULL), ==, 1);
  amgw_lwa_free (lwa);
}

static void
free_from_callback_cb (const char *access_token, const GError *error, gpointer user_data)
{
  AmgwLwa **lwa = user_data;

  remember_secret (access_token);
  amgw_lwa_free (*lwa);
  *lwa = NULL;
}

static void
test_free_in_callback (Fixture *f, gconstpointer data)
{
  AmgwLwa *lwa = new_lwa (f, BOOT_RT);
  TokenResult never = { 0 };
  gint64 deadline = amgw_now_ms () + WAIT_MS;

  /* The first callback frees the manager: the second is never called. */
  amgw_lwa_get_token (lwa, free_from_callback_cb, &lwa);
  amgw_lwa_get_token (lwa, token_cb, &never);
  while (lwa != NULL && amgw_now_ms () < deadline)
    amgw_test_spin_ms (10);
  g_assert_null (lwa);
  amgw_test_spin_ms (50);
  g_assert_false (never.done);
}

static void
test_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwLwa) lwa = new_lwa (f, BOOT_RT);
  TokenResult cancelled = { 0 }, kept = { 0 };
  guint64 id;

  fake_cloud_set_lwa_delay_ms (f->fc, 100);
  id = amgw_lwa_get_token (lwa, token_cb, &cancelled);
  g_assert_cmpuint (id, !=, 0);
  amgw_lwa_get_token (lwa, token_cb, &kept);
  amgw_lwa_cancel (lwa, id);
  g_assert_true (amgw_test_wait_flag (&kept.done, WAIT_MS));
  g_assert_no_error (kept.error);
  g_assert_false (cancelled.done);
  token_result_clear (&kept);
}

static void
test_log_is_recorded (void)
{
  /* The secret check above means something only if the log is recorded. */
  gboolean lwa_lines = FALSE;

  g_mutex_lock (&log_lock);
  for (guint i = 0; i < log_lines->len; i++)
    lwa_lines = lwa_lines || strstr (log_lines->pdata[i], "amgw-lwa") != NULL;
  g_test_message ("%u debug lines recorded, %u secrets checked", log_lines->len, secrets->len);
  g_assert_cmpuint (secrets->len, >, 10);
  g_mutex_unlock (&log_lock);
  g_assert_true (lwa_lines);
}

static void
test_parse_answer (void)
{
  static const struct {
    guint status;
    const char *body;
    gboolean ok;
    const char *error;
  } cases[] = {
    { 200, "{\"access_token\":\"Atza|a\",\"token_type\":\"bearer\",\"expires_in\":3600,\"refresh_token\":\"Atzr|r\"}", TRUE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":60}", TRUE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":\"3600\"}", FALSE, NULL },
    { 200, "{\"access_token\":\"\",\"expires_in\":3600}", FALSE, NULL },
    { 200, "{\"access_token\":\"has space\",\"expires_in\":3600}", FALSE, NULL },
    { 200, "{\"access_token\":\"Atza|a\\r\\nX: y\",\"expires_in\":3600}", FALSE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":0}", FALSE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":1e300}", FALSE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":3600,\"token_type\":\"mac\"}", FALSE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":3600,\"refresh_token\":5}", FALSE, NULL },
    { 200, "{\"access_token\":7,\"expires_in\":3600}", FALSE, NULL },
    { 200, "[]", FALSE, NULL },
    { 200, "", FALSE, NULL },
    { 200, "{\"access_token\":\"Atza|a\",\"expires_in\":3600", FALSE, NULL },
    { 400, "{\"error\":\"invalid_grant\",\"error_description\":\"gone\"}", TRUE, "invalid_grant" },
    { 400, "{\"error\":\"invalid_client\"}", TRUE, "invalid_client" },
    { 400, "{\"error\":\"bad code with spaces\"}", FALSE, NULL },
    { 400, "{\"error\":1}", FALSE, NULL },
    { 400, "<html>", FALSE, NULL },
    { 500, "{\"error\":\"server_error\"}", FALSE, NULL },
    { 302, "{}", FALSE, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    AmgwLwaAnswer a;
    g_autoptr (GError) error = NULL;
    gboolean ok = amgw_lwa_parse_answer (cases[i].body, strlen (cases[i].body), cases[i].status, &a, &error);

    g_test_message ("case %u: %s", i, cases[i].body);
    g_assert_cmpint (ok, ==, cases[i].ok);
    if (ok) {
      g_assert_no_error (error);
      g_assert_cmpstr (a.error, ==, cases[i].error);
      if (cases[i].error == NULL) {
        g_assert_cmpstr (a.access_token, ==, "Atza|a");
        g_assert_cmpint (a.expires_in, >, 0);
      }
    } else {
      g_assert_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_PARSE);
      g_assert_null (strstr (error->message, "Atza"));
      g_assert_null (a.access_token);
    }
    amgw_lwa_answer_clear (&a);
  }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  amgw_debug_init ();

  log_lines = g_ptr_array_new_with_free_func (g_free);
  secrets = g_ptr_array_new_with_free_func (g_free);
  remember_secret (BOOT_RT);
  remember_secret (CLIENT_SECRET);
  remember_secret ("ANcode-relink-42");
  remember_secret ("ANcode-0001");
  remember_secret ("ANcode-unknown");
  /* Parenthesised: the real functions, not GStreamer's non-ISO macros. */
  (gst_debug_remove_log_function) (NULL);     /* NULL = the default (stderr) one */
  (gst_debug_add_log_function) (record_log, NULL, NULL);
  gst_debug_set_active (TRUE);
  gst_debug_set_threshold_from_string ("amgw*:7", TRUE);

#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  g_test_add_func ("/lwa/parse-answer", test_parse_answer);
  ADD ("/lwa/bootstrap", test_bootstrap);
  ADD ("/lwa/persisted", test_persisted);
  ADD ("/lwa/single-flight", test_single_flight);
  ADD ("/lwa/proactive", test_proactive);
  ADD ("/lwa/invalid-grant", test_invalid_grant);
  ADD ("/lwa/keeps-refresh-token", test_keeps_refresh_token);
  ADD ("/lwa/accept-grant", test_accept_grant);
  ADD ("/lwa/endpoint-down", test_endpoint_down);
  ADD ("/lwa/free-in-callback", test_free_in_callback);
  ADD ("/lwa/cancel", test_cancel);
  g_test_add_func ("/lwa/log-is-recorded", test_log_is_recorded);
#undef ADD

  ret = g_test_run ();
  (gst_debug_remove_log_function) (record_log);
  g_ptr_array_unref (log_lines);
  g_ptr_array_unref (secrets);
  return ret;
}
