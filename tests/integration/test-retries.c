/* Integration tests of the Alexa CallSignaling client against the fake
 * cloud: what each HTTP answer leads to (WIRE.md section 1), per-session
 * ordering, parallel sessions, cancellation, refused connections and
 * time-outs. */
#include "amgw/alexa-client.h"
#include "amgw/debug.h"
#include "amgw/http-client.h"
#include "amgw/lwa.h"
#include "amgw/metrics.h"
#include "amgw/util.h"
#include "fake-cloud.h"
#include "test-util.h"

#include <gio/gio.h>
#include <string.h>

#define CLIENT_ID "amzn1.application-oa2-client.test"
#define CLIENT_SECRET "client-secret-0123456789abcdef"
#define BOOT_RT "Atzr|bootstrap-refresh-token-0123456789"
#define MAX_RETRIES 3
#define WAIT_MS 20000

/* ---- the loop ---- */


/* ---- results ---- */

typedef struct {
  gboolean done;
  AmgwAlexaOutcome outcome;
  guint status;
  char *message;
  gint64 at_us;
  guint order;            /* completion rank, from 1 */
} Result;

static guint completions;

static void
result_cb (AmgwAlexaOutcome outcome, guint http_status, const char *message, gpointer user_data)
{
  Result *r = user_data;

  g_assert_false (r->done);
  r->done = TRUE;
  r->outcome = outcome;
  r->status = http_status;
  r->message = g_strdup (message);
  r->at_us = g_get_monotonic_time ();
  r->order = ++completions;
}

static void
result_clear (Result *r)
{
  g_clear_pointer (&r->message, g_free);
  memset (r, 0, sizeof (*r));
}

static void
never_cb (AmgwAlexaOutcome outcome, guint http_status, const char *message, gpointer user_data)
{
  g_error ("a callback of a cancelled message was called (%s, %u)", amgw_alexa_outcome_name (outcome),
      http_status);
}

static char *
body_for (const char *operation, const char *session_id)
{
  if (strcmp (operation, "CallEnded") == 0)
    return g_strdup_printf ("{\"type\":\"Alexa.Comms.CallSignaling.CallEnded\",\"sessionId\":\"%s\","
        "\"callResult\":{\"code\":\"SUCCESS\",\"message\":\"bye\"}}", session_id);
  return g_strdup_printf ("{\"type\":\"Alexa.Comms.CallSignaling.%s\",\"sessionId\":\"%s\"}",
      operation, session_id);
}

/* ---- fixture ---- */

typedef struct {
  FakeCloud *fc;
  AmgwHttpClient *http;
  AmgwLwa *lwa;
  AmgwAlexaClient *alexa;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  amgw_metrics_reset ();
  completions = 0;
  f->fc = fake_cloud_new ();
  fake_cloud_set_client (f->fc, CLIENT_ID, CLIENT_SECRET);
  fake_cloud_add_refresh_token (f->fc, BOOT_RT);
  f->http = amgw_http_client_new (NULL, 5000);
  f->lwa = amgw_lwa_new (f->http, NULL, fake_cloud_lwa_url (f->fc), CLIENT_ID, CLIENT_SECRET, BOOT_RT);
  amgw_lwa_set_backoff (f->lwa, 10, 50, 3);
  f->alexa = amgw_alexa_client_new (f->http, f->lwa, fake_cloud_api_url (f->fc), MAX_RETRIES);
  amgw_alexa_client_set_backoff (f->alexa, 10, 50, 2000);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  GPtrArray *reqs = fake_cloud_signaling_requests (f->fc);

  /* Whatever amgw sent conformed to WIRE.md. */
  for (guint i = 0; i < reqs->len; i++) {
    FakeCloudRequest *r = reqs->pdata[i];
    if (r->validation_error != NULL)
      g_error ("request %u does not conform: %s", i, r->validation_error);
  }
  g_ptr_array_unref (reqs);
  amgw_alexa_client_free (f->alexa);
  amgw_lwa_free (f->lwa);
  g_assert_cmpuint (amgw_http_client_pending (f->http), ==, 0);
  amgw_http_client_free (f->http);
  fake_cloud_free (f->fc);
}

static void
send_sync (Fixture *f, const char *session_id, const char *operation, Result *r)
{
  amgw_alexa_client_send (f->alexa, session_id, operation, body_for (operation, session_id),
      result_cb, r);
  g_assert_false (r->done);
  g_assert_true (amgw_test_wait_flag (&r->done, WAIT_MS));
}

static FakeCloudRequest *
nth_signal (Fixture *f, guint i, GPtrArray **keep)
{
  *keep = fake_cloud_signaling_requests (f->fc);
  g_assert_cmpuint ((*keep)->len, >, i);
  return (*keep)->pdata[i];
}

/* ---- tests ---- */

static void
test_ok (Fixture *f, gconstpointer data)
{
  Result r = { 0 };
  g_autoptr (GPtrArray) reqs = NULL;
  g_autofree char *token = NULL, *auth = NULL;
  FakeCloudRequest *req;

  send_sync (f, "session-ok", "CallRingingAck", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_OK);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 1);
  req = nth_signal (f, 0, &reqs);
  token = fake_cloud_dup_access_token (f->fc);
  auth = g_strconcat ("Bearer ", token, NULL);
  g_assert_cmpstr (req->authorization, ==, auth);
  g_assert_cmpstr (req->path, ==, "/v1/communications/signaling");
  g_assert_cmpstr (req->type, ==, "CallRingingAck");
  g_assert_cmpstr (req->session_id, ==, "session-ok");
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 0);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_alexa_requests_total", "operation", "CallRingingAck",
      "status", "200", NULL), ==, 1);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_alexa_request_seconds_count", "operation",
      "CallRingingAck", "status", "200", NULL), ==, 1);
  result_clear (&r);
}

static void
test_401_once (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  send_sync (f, "session-401", "CallRingingAck", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_OK);
  result_clear (&r);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 1);

  /* The token the client holds is refused: one refresh, one retry. */
  fake_cloud_expire_access_tokens (f->fc);
  send_sync (f, "session-401", "CallInProgressAck", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_OK);
  g_assert_cmpuint (r.status, ==, 200);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 3);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_alexa_requests_total", "operation", "CallInProgressAck",
      "status", "401", NULL), ==, 1);
  result_clear (&r);
}

static void
test_401_twice (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  fake_cloud_push_response (f->fc, 401, NULL, NULL);
  fake_cloud_push_response (f->fc, 401, NULL, NULL);
  send_sync (f, "session-401x2", "CallRingingAck", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_UNAUTHORIZED);
  g_assert_cmpuint (r.status, ==, 401);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 2);
  g_assert_cmpuint (fake_cloud_refresh_count (f->fc), ==, 2);
  result_clear (&r);
}

static void
test_409_then_200 (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  fake_cloud_push_response (f->fc, 409, NULL, NULL);
  send_sync (f, "session-409", "CallAcceptedAck", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_OK);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 2);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_alexa_retries_total", "operation", "CallAcceptedAck",
      NULL), ==, 1);
  result_clear (&r);
}

static void
test_429_retry_after (Fixture *f, gconstpointer data)
{
  Result r = { 0 };
  g_autoptr (GPtrArray) reqs = NULL;
  gint64 gap_ms;

  fake_cloud_push_response (f->fc, 429, "1", NULL);
  send_sync (f, "session-429", "CallRingingAck", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_OK);
  reqs = fake_cloud_signaling_requests (f->fc);
  g_assert_cmpuint (reqs->len, ==, 2);
  gap_ms = (((FakeCloudRequest *) reqs->pdata[1])->received_us
      - ((FakeCloudRequest *) reqs->pdata[0])->received_us) / 1000;
  g_test_message ("retry %" G_GINT64_FORMAT " ms after the 429", gap_ms);
  g_assert_cmpint (gap_ms, >=, 900);
  g_assert_cmpint (gap_ms, <, 20000);
  result_clear (&r);
}

static void
test_500_gives_up (Fixture *f, gconstpointer data)
{
  Result r = { 0 };

  for (guint i = 0; i < MAX_RETRIES + 1; i++)
    fake_cloud_push_response (f->fc, 500, NULL, "{\"message\":\"internal\"}");
  send_sync (f, "session-500", "CallEnded", &r);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_GAVE_UP);
  g_assert_cmpuint (r.status, ==, 500);
  g_assert_cmpstr (r.message, ==, "internal");
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, MAX_RETRIES + 1);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_alexa_retries_total", "operation", "CallEnded", NULL),
      ==, MAX_RETRIES);
  result_clear (&r);
}

static void
test_rejected (Fixture *f, gconstpointer data)
{
  static const guint statuses[] = { 400, 403, 404 };

  for (guint i = 0; i < G_N_ELEMENTS (statuses); i++) {
    Result r = { 0 };
    g_autofree char *body = g_strdup_printf ("{\"message\":\"refused with %u\"}", statuses[i]);
    g_autofree char *expected = g_strdup_printf ("refused with %u", statuses[i]);

    fake_cloud_reset_requests (f->fc);
    fake_cloud_push_response (f->fc, statuses[i], NULL, body);
    send_sync (f, "session-rejected", "CallRingingAck", &r);
    g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_REJECTED);
    g_assert_cmpuint (r.status, ==, statuses[i]);
    g_assert_cmpstr (r.message, ==, expected);
    g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 1);
    result_clear (&r);
  }
}

static const char *const five_ops[] = {
  "CallRingingAck", "CallInProgressAck", "CallAcceptedAck", "CallUpdateAck", "CallRinging",
};

static void
test_session_order (Fixture *f, gconstpointer data)
{
  Result r[G_N_ELEMENTS (five_ops)] = { { 0 } };
  g_autoptr (GPtrArray) reqs = NULL;
  gint64 deadline = amgw_now_ms () + WAIT_MS;

  fake_cloud_push_response (f->fc, 500, NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (five_ops); i++)
    amgw_alexa_client_send (f->alexa, "session-order", five_ops[i], body_for (five_ops[i], "session-order"),
        result_cb, &r[i]);
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 5);
  while (!r[G_N_ELEMENTS (r) - 1].done && amgw_now_ms () < deadline)
    amgw_test_spin_ms (10);

  reqs = fake_cloud_signaling_requests (f->fc);
  g_assert_cmpuint (reqs->len, ==, 6);
  g_assert_cmpuint (((FakeCloudRequest *) reqs->pdata[0])->status, ==, 500);
  g_assert_cmpstr (((FakeCloudRequest *) reqs->pdata[0])->type, ==, five_ops[0]);
  for (guint i = 0; i < G_N_ELEMENTS (five_ops); i++) {
    FakeCloudRequest *req = reqs->pdata[i + 1];
    g_assert_cmpstr (req->type, ==, five_ops[i]);
    g_assert_cmpuint (req->status, ==, 200);
    g_assert_true (r[i].done);
    g_assert_cmpint (r[i].outcome, ==, AMGW_ALEXA_OK);
    g_assert_cmpuint (r[i].order, ==, i + 1);
    result_clear (&r[i]);
  }
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 0);
}

static void
test_parallel_sessions (Fixture *f, gconstpointer data)
{
  Result a1 = { 0 }, a2 = { 0 }, b1 = { 0 };
  gint64 deadline = amgw_now_ms () + WAIT_MS;

  /* Session A's first message waits a second (Retry-After); B goes on. */
  fake_cloud_push_response_for (f->fc, "CallRingingAck", 503, "1", NULL);
  amgw_alexa_client_send (f->alexa, "session-A", "CallRingingAck",
      body_for ("CallRingingAck", "session-A"), result_cb, &a1);
  amgw_alexa_client_send (f->alexa, "session-A", "CallInProgressAck",
      body_for ("CallInProgressAck", "session-A"), result_cb, &a2);
  amgw_alexa_client_send (f->alexa, "session-B", "CallAcceptedAck",
      body_for ("CallAcceptedAck", "session-B"), result_cb, &b1);
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 3);
  while (!(a1.done && a2.done && b1.done) && amgw_now_ms () < deadline)
    amgw_test_spin_ms (10);

  g_assert_cmpint (a1.outcome, ==, AMGW_ALEXA_OK);
  g_assert_cmpint (a2.outcome, ==, AMGW_ALEXA_OK);
  g_assert_cmpint (b1.outcome, ==, AMGW_ALEXA_OK);
  g_assert_cmpuint (b1.order, ==, 1);
  g_assert_cmpuint (a1.order, ==, 2);
  g_assert_cmpuint (a2.order, ==, 3);
  g_assert_cmpint ((a1.at_us - b1.at_us) / 1000, >=, 500);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 4);
  result_clear (&a1);
  result_clear (&a2);
  result_clear (&b1);
}

static void
test_cancel_session (Fixture *f, gconstpointer data)
{
  Result other = { 0 };
  gint64 deadline = amgw_now_ms () + WAIT_MS;

  /* Queued only (the first waits for its token): nothing is sent. */
  for (guint i = 0; i < 3; i++)
    amgw_alexa_client_send (f->alexa, "session-gone", five_ops[i],
        body_for (five_ops[i], "session-gone"), never_cb, NULL);
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 3);
  amgw_alexa_client_cancel_session (f->alexa, "session-gone");
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 0);
  amgw_test_spin_ms (200);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 0);

  /* In back-off after a 503: cancelled, no retry. */
  fake_cloud_push_response (f->fc, 503, "1", NULL);
  amgw_alexa_client_send (f->alexa, "session-gone", "CallEnded",
      body_for ("CallEnded", "session-gone"), never_cb, NULL);
  amgw_alexa_client_send (f->alexa, "session-gone", "CallRinging",
      body_for ("CallRinging", "session-gone"), never_cb, NULL);
  while (fake_cloud_signaling_count (f->fc) < 1 && amgw_now_ms () < deadline)
    amgw_test_spin_ms (5);
  amgw_test_spin_ms (50);
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 2);
  amgw_alexa_client_cancel_session (f->alexa, "session-gone");
  amgw_alexa_client_cancel_session (f->alexa, "session-unknown");
  g_assert_cmpuint (amgw_alexa_client_pending (f->alexa), ==, 0);
  amgw_test_spin_ms (1500);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 1);

  /* Other sessions are not affected. */
  send_sync (f, "session-other", "CallRingingAck", &other);
  g_assert_cmpint (other.outcome, ==, AMGW_ALEXA_OK);
  result_clear (&other);
}

static guint16
closed_port (void)
{
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (sock, any, TRUE, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  g_socket_close (sock, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_connection_refused (Fixture *f, gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", closed_port ());
  g_autoptr (AmgwAlexaClient) alexa = amgw_alexa_client_new (f->http, f->lwa, url, MAX_RETRIES);
  Result r = { 0 };

  amgw_alexa_client_set_backoff (alexa, 10, 50, 2000);
  amgw_alexa_client_send (alexa, "session-refused", "CallRingingAck",
      body_for ("CallRingingAck", "session-refused"), result_cb, &r);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_GAVE_UP);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_nonnull (r.message);
  g_test_message ("refused: %s", r.message);
  g_assert_cmpfloat (amgw_metrics_get ("amgw_alexa_requests_total", "operation", "CallRingingAck",
      "status", "error", NULL), ==, MAX_RETRIES + 1);
  result_clear (&r);
}

static void
test_url_refused (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwAlexaClient) alexa = amgw_alexa_client_new (f->http, f->lwa,
      "http://alexa.example.com", 0);
  Result r = { 0 };

  amgw_alexa_client_send (alexa, "session-url", "CallRingingAck",
      body_for ("CallRingingAck", "session-url"), result_cb, &r);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_GAVE_UP);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.message, "URL refused"));
  result_clear (&r);
}

static void
test_timeout (Fixture *f, gconstpointer data)
{
  /* Accepts (the kernel does, from the backlog) and never answers. */
  g_autoptr (GSocket) sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *url = NULL;
  g_autoptr (AmgwHttpClient) slow_http = amgw_http_client_new (NULL, 400);
  AmgwAlexaClient *alexa;
  Result r = { 0 };
  gint64 t0;

  g_assert_true (g_socket_bind (sock, any, TRUE, NULL));
  g_assert_true (g_socket_listen (sock, NULL));
  bound = g_socket_get_local_address (sock, NULL);
  url = g_strdup_printf ("http://127.0.0.1:%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  alexa = amgw_alexa_client_new (slow_http, f->lwa, url, 1);
  amgw_alexa_client_set_backoff (alexa, 10, 50, 2000);
  t0 = amgw_now_ms ();
  amgw_alexa_client_send (alexa, "session-slow", "CallRingingAck",
      body_for ("CallRingingAck", "session-slow"), result_cb, &r);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  g_test_message ("gave up after %" G_GINT64_FORMAT " ms: %s", amgw_now_ms () - t0, r.message);
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_GAVE_UP);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_cmpint (amgw_now_ms () - t0, >=, 2 * 400 - 50);
  g_assert_nonnull (r.message);
  g_assert_true (strstr (r.message, "imed out") != NULL || strstr (r.message, "imeout") != NULL);
  result_clear (&r);
  amgw_alexa_client_free (alexa);
}

static void
test_body_too_big (Fixture *f, gconstpointer data)
{
  GString *big = g_string_new ("{\"message\":\"");
  Result r = { 0 };
  g_autoptr (AmgwAlexaClient) alexa = amgw_alexa_client_new (f->http, f->lwa,
      fake_cloud_api_url (f->fc), 0);

  while (big->len < AMGW_MAX_HTTP_RESPONSE_BYTES + 1024)
    g_string_append (big, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_string_append (big, "\"}");
  fake_cloud_push_response (f->fc, 200, NULL, big->str);
  g_string_free (big, TRUE);

  amgw_alexa_client_send (alexa, "session-big", "CallRingingAck",
      body_for ("CallRingingAck", "session-big"), result_cb, &r);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_GAVE_UP);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.message, "exceeds"));
  result_clear (&r);
}

static void
test_not_linked (Fixture *f, gconstpointer data)
{
  g_autoptr (AmgwLwa) lwa = amgw_lwa_new (f->http, NULL, fake_cloud_lwa_url (f->fc), CLIENT_ID,
      CLIENT_SECRET, NULL);
  g_autoptr (AmgwAlexaClient) alexa = amgw_alexa_client_new (f->http, lwa, fake_cloud_api_url (f->fc),
      MAX_RETRIES);
  Result r = { 0 };

  amgw_alexa_client_send (alexa, "session-nolink", "CallRingingAck",
      body_for ("CallRingingAck", "session-nolink"), result_cb, &r);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_UNAUTHORIZED);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 0);
  result_clear (&r);
}

typedef struct {
  Fixture *f;
  gboolean called;
} FreeCtx;

static void
free_client_cb (AmgwAlexaOutcome outcome, guint http_status, const char *message, gpointer user_data)
{
  FreeCtx *ctx = user_data;

  ctx->called = TRUE;
  amgw_alexa_client_free (ctx->f->alexa);
  ctx->f->alexa = NULL;
}

static void
test_free_in_callback (Fixture *f, gconstpointer data)
{
  FreeCtx ctx = { f, FALSE };

  /* The first completion frees the client: the others are dropped. */
  amgw_alexa_client_send (f->alexa, "session-1", "CallRingingAck",
      body_for ("CallRingingAck", "session-1"), free_client_cb, &ctx);
  amgw_alexa_client_send (f->alexa, "session-1", "CallInProgressAck",
      body_for ("CallInProgressAck", "session-1"), never_cb, NULL);
  fake_cloud_push_response_for (f->fc, "CallAcceptedAck", 503, "1", NULL);
  amgw_alexa_client_send (f->alexa, "session-2", "CallAcceptedAck",
      body_for ("CallAcceptedAck", "session-2"), never_cb, NULL);
  g_assert_true (amgw_test_wait_flag (&ctx.called, WAIT_MS));
  g_assert_null (f->alexa);
  amgw_test_spin_ms (1500);
}

static void
test_token_endpoint_down (Fixture *f, gconstpointer data)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/auth/o2/token", closed_port ());
  g_autoptr (AmgwLwa) lwa = amgw_lwa_new (f->http, NULL, url, CLIENT_ID, CLIENT_SECRET, BOOT_RT);
  g_autoptr (AmgwAlexaClient) alexa = NULL;
  Result r = { 0 };

  amgw_lwa_set_backoff (lwa, 10, 50, 2);
  alexa = amgw_alexa_client_new (f->http, lwa, fake_cloud_api_url (f->fc), MAX_RETRIES);
  amgw_alexa_client_send (alexa, "session-nolwa", "CallRingingAck",
      body_for ("CallRingingAck", "session-nolwa"), result_cb, &r);
  g_assert_true (amgw_test_wait_flag (&r.done, WAIT_MS));
  g_assert_cmpint (r.outcome, ==, AMGW_ALEXA_GAVE_UP);
  g_assert_cmpuint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.message, "cannot refresh"));
  g_assert_cmpuint (fake_cloud_signaling_count (f->fc), ==, 0);
  result_clear (&r);
}

typedef struct {
  AmgwHttpClient *http;
  guint called;
} HttpCtx;

static void
http_free_cb (const AmgwHttpResponse *response, gpointer user_data)
{
  HttpCtx *ctx = user_data;

  ctx->called++;
  g_assert_cmpuint (response->status, ==, 401);   /* no token: the fake refuses */
  amgw_http_client_free (ctx->http);
}

static void
http_never_cb (const AmgwHttpResponse *response, gpointer user_data)
{
  g_error ("a callback of a cancelled request was called");
}

static void
test_http_free_in_callback (Fixture *f, gconstpointer data)
{
  HttpCtx ctx = { amgw_http_client_new (NULL, 5000), 0 };
  g_autofree char *url = g_strconcat (fake_cloud_api_url (f->fc), "/v1/communications/signaling", NULL);
  g_autofree char *body = body_for ("CallRingingAck", "s");
  guint64 a, b, c;

  a = amgw_http_client_post (ctx.http, url, "application/json", NULL, body, strlen (body),
      http_free_cb, &ctx);
  b = amgw_http_client_post (ctx.http, "http://192.0.2.1/", "application/json", NULL, body,
      strlen (body), http_never_cb, NULL);
  c = amgw_http_client_post (ctx.http, url, "application/json", NULL, body, strlen (body),
      http_never_cb, NULL);
  g_assert_cmpuint (a, !=, 0);
  g_assert_cmpuint (b, !=, a);
  g_assert_cmpuint (amgw_http_client_pending (ctx.http), ==, 3);
  amgw_http_client_cancel (ctx.http, b);   /* the refused URL: its failure is not delivered */
  amgw_http_client_cancel (ctx.http, 12345);
  g_assert_cmpuint (amgw_http_client_pending (ctx.http), ==, 2);
  (void) c;
  while (ctx.called == 0)
    g_main_context_iteration (NULL, TRUE);
  amgw_test_spin_ms (200);
  g_assert_cmpuint (ctx.called, ==, 1);
}

static void
test_retry_after_parse (void)
{
  guint ms = 0;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) later = g_date_time_add_seconds (now, 30);
  g_autofree char *date = g_date_time_format (later, "%a, %d %b %Y %H:%M:%S GMT");

  g_assert_true (amgw_http_parse_retry_after ("1", &ms));
  g_assert_cmpuint (ms, ==, 1000);
  g_assert_true (amgw_http_parse_retry_after ("0", &ms));
  g_assert_cmpuint (ms, ==, 0);
  g_assert_true (amgw_http_parse_retry_after ("99999999999999999999", &ms));
  g_assert_cmpuint (ms, ==, G_MAXUINT);
  g_assert_true (amgw_http_parse_retry_after ("Wed, 21 Oct 2015 07:28:00 GMT", &ms));
  g_assert_cmpuint (ms, ==, 0);
  g_assert_true (amgw_http_parse_retry_after (date, &ms));
  g_assert_cmpuint (ms, >, 25000);
  g_assert_cmpuint (ms, <=, 31000);
  g_assert_false (amgw_http_parse_retry_after ("", &ms));
  g_assert_false (amgw_http_parse_retry_after ("-1", &ms));
  g_assert_false (amgw_http_parse_retry_after ("1.5", &ms));
  g_assert_false (amgw_http_parse_retry_after ("soon", &ms));
  g_assert_false (amgw_http_parse_retry_after (NULL, &ms));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  amgw_debug_init ();

#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/retries/200-ok", test_ok);
  ADD ("/retries/401-once", test_401_once);
  ADD ("/retries/401-twice", test_401_twice);
  ADD ("/retries/409-then-200", test_409_then_200);
  ADD ("/retries/429-retry-after", test_429_retry_after);
  ADD ("/retries/500-gives-up", test_500_gives_up);
  ADD ("/retries/rejected", test_rejected);
  ADD ("/retries/session-order", test_session_order);
  ADD ("/retries/parallel-sessions", test_parallel_sessions);
  ADD ("/retries/cancel-session", test_cancel_session);
  ADD ("/retries/connection-refused", test_connection_refused);
  ADD ("/retries/url-refused", test_url_refused);
  ADD ("/retries/timeout", test_timeout);
  ADD ("/retries/body-too-big", test_body_too_big);
  ADD ("/retries/not-linked", test_not_linked);
  ADD ("/retries/free-in-callback", test_free_in_callback);
  ADD ("/retries/token-endpoint-down", test_token_endpoint_down);
  ADD ("/retries/http-free-in-callback", test_http_free_in_callback);
  g_test_add_func ("/retries/retry-after-parse", test_retry_after_parse);
#undef ADD

  return g_test_run ();
}
