/* Bad input on every route: each gets its documented error and the daemon
 * keeps serving; no secret reaches the log. */
#include "common.h"

#include <gio/gio.h>

typedef struct {
  const char *name;
  const char *path;
  const char *bearer;
  const char *content_type;
  const char *body;
  guint status;
  const char *error_type;   /* directives: the ErrorResponse type */
} Case;

static const Case cases[] = {
  { "no-secret", "/v1/alexa/directives", NULL, NULL, "{}", 401, NULL },
  { "wrong-secret", "/v1/alexa/directives", "test-forwarding-secret-012345678X", NULL, "{}", 401, NULL },
  { "secret-prefix", "/v1/alexa/events", "test-forwarding-secret", NULL, "{}", 401, NULL },
  { "wrong-content-type", "/v1/alexa/directives", SECRET, "text/plain", "{}", 415, NULL },
  { "form-content-type", "/v1/alexa/events", SECRET, "application/x-www-form-urlencoded", "a=b", 415, NULL },
  { "not-json", "/v1/alexa/directives", SECRET, NULL, "this is not json", 200, "INVALID_DIRECTIVE" },
  { "empty", "/v1/alexa/directives", SECRET, NULL, "", 200, "INVALID_DIRECTIVE" },
  { "array", "/v1/alexa/directives", SECRET, NULL, "[1,2,3]", 200, "INVALID_DIRECTIVE" },
  { "header-wrong-types", "/v1/alexa/directives", SECRET, NULL,
    "{\"directive\":{\"header\":{\"namespace\":7,\"name\":[],\"messageId\":null,\"payloadVersion\":3}}}",
    200, "INVALID_DIRECTIVE" },
  { "meeting-not-object", "/v1/alexa/directives", SECRET, NULL,
    "{\"directive\":{\"header\":{\"namespace\":\"Alexa.MeetingClientController\",\"name\":\"JoinMeeting\","
    "\"messageId\":\"m-1\",\"payloadVersion\":\"3\"},\"endpoint\":{\"endpointId\":\"room-boardroom\","
    "\"scope\":{\"type\":\"BearerToken\",\"token\":\"" BOARDROOM_TOKEN "\"}},\"payload\":{\"meeting\":\"SIP\"}}}",
    200, "INVALID_DIRECTIVE" },
  { "event-not-json", "/v1/alexa/events", SECRET, NULL, "{\"request\": ", 400, NULL },
  { "event-unknown-type", "/v1/alexa/events", SECRET, NULL,
    "{\"version\":\"1.0\",\"request\":{\"type\":\"Alexa.Comms.CallSignaling.Dance\",\"sessionId\":\"x\"}}", 400, NULL },
  { "event-no-session", "/v1/alexa/events", SECRET, NULL,
    "{\"version\":\"1.0\",\"request\":{\"type\":\"Alexa.Comms.CallSignaling.CallRinging\"}}", 400, NULL },
  { "event-session-wrong-type", "/v1/alexa/events", SECRET, NULL,
    "{\"version\":\"1.0\",\"request\":{\"type\":\"Alexa.Comms.CallSignaling.CallRinging\",\"sessionId\":12}}", 400, NULL },
  { "event-accepted-without-sdp", "/v1/alexa/events", SECRET, NULL,
    "{\"version\":\"1.0\",\"request\":{\"type\":\"Alexa.Comms.CallSignaling.CallAccepted\",\"sessionId\":\"s\"}}", 400, NULL },
  { "event-ended-bad-result", "/v1/alexa/events", SECRET, NULL,
    "{\"version\":\"1.0\",\"request\":{\"type\":\"Alexa.Comms.CallSignaling.CallEnded\",\"sessionId\":\"s\",\"callResult\":\"oops\"}}", 400, NULL },
  { "calls-no-secret", "/v1/calls", NULL, NULL, NULL, 401, NULL },
  { "unknown-route", "/nowhere", NULL, NULL, NULL, 404, NULL },
  { "unknown-call", "/v1/calls/does-not-exist", SECRET, NULL, NULL, 404, NULL },
};

static void
assert_still_serving (Fx *fx)
{
  g_autofree char *url = fx_url (fx, "/healthz");
  cJSON *a;

  g_assert_true (amgw_test_daemon_is_running (fx->d));
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, NULL), ==, 200);
  a = fx_directive (fx, "Alexa.Discovery", "Discover", NULL, BOARDROOM_TOKEN, NULL);
  g_assert_cmpstr (jstr (a, "event.header.name"), ==, "Discover.Response");
  cJSON_Delete (a);
}

static void
test_table (void)
{
  Fx *fx = fx_start (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    const Case *c = &cases[i];
    g_autofree char *url = fx_url (fx, c->path);
    g_autofree char *resp = NULL;
    guint status = amgw_test_http (c->body ? "POST" : "GET", url, c->bearer, c->content_type,
        c->body, c->body ? strlen (c->body) : 0, &resp);

    g_test_message ("case %s -> %u %s", c->name, status, resp ? resp : "");
    g_assert_cmpuint (status, ==, c->status);
    if (c->error_type) {
      cJSON *a = cJSON_Parse (resp);
      g_assert_nonnull (a);
      assert_error_response (a, c->error_type);
      cJSON_Delete (a);
    } else if (status >= 400) {
      /* Every refusal says why, in JSON. */
      cJSON *a = cJSON_Parse (resp);
      g_assert_nonnull (a);
      g_assert_nonnull (jstr (a, "message"));
      cJSON_Delete (a);
    }
  }
  assert_still_serving (fx);
  fx_free (fx);
}

static void
test_huge_and_deep (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *url = fx_url (fx, "/v1/alexa/events");
  g_autofree char *durl = fx_url (fx, "/v1/alexa/directives");
  gsize n = 300 * 1024;
  g_autofree char *huge = g_malloc (n);
  GString *deep = g_string_new (NULL);
  g_autofree char *resp = NULL;
  g_autofree char *long_sid = g_strnfill (5000, 'x');
  g_autofree char *big_sdp = g_strnfill (70 * 1024, 'a');
  g_autofree char *extra = NULL;

  memset (huge, ' ', n);
  huge[0] = '{';
  huge[n - 1] = '}';
  g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, huge, n, NULL), ==, 413);
  g_assert_cmpuint (amgw_test_http ("POST", durl, SECRET, NULL, huge, n, NULL), ==, 413);

  for (guint i = 0; i < 20000; i++)
    g_string_append_c (deep, '[');
  g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, deep->str, deep->len, NULL), ==, 400);
  g_assert_cmpuint (amgw_test_http ("POST", durl, SECRET, NULL, deep->str, deep->len, &resp), ==, 200);
  g_assert_nonnull (strstr (resp, "INVALID_DIRECTIVE"));
  g_string_free (deep, TRUE);

  g_assert_cmpuint (fx_event (fx, "CallRinging", long_sid, NULL, NULL), ==, 400);
  extra = g_strdup_printf ("{\"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"v=0%s\"}}", big_sdp);
  g_assert_cmpuint (fx_event (fx, "CallAccepted", "s", extra, NULL), ==, 400);
  /* Invalid UTF-8 and an embedded NUL. */
  g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, "{\"a\":\"\xff\xfe\"}", 10, NULL), ==, 400);
  g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, "{\"a\":\0\"b\"}", 10, NULL), ==, 400);

  assert_still_serving (fx);
  fx_free (fx);
}

/* Nothing secret in the debug log (at the most verbose level), in errors or
 * in the metrics, after a whole call with a token refresh. */
static void
test_no_secrets_leak (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = fx_join_and_accept (fx, "bridge.test");
  g_autofree char *metrics = NULL;
  g_autofree char *url = fx_url (fx, "/metrics");
  g_autofree char *token = NULL;
  g_autofree char *log = NULL;
  cJSON *a;

  fake_cloud_expire_access_tokens (fx->fc);
  a = fx_directive (fx, "Alexa.MeetingClientController", "EndMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{}");
  assert_response (a);
  cJSON_Delete (a);
  g_assert_nonnull (fx_wait_accepted (fx, "CallEnded", sid));
  token = fake_cloud_dup_access_token (fx->fc);
  g_assert_nonnull (token);
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, &metrics), ==, 200);
  g_assert_nonnull (strstr (metrics, "amgw_alexa_requests_total"));
  g_assert_nonnull (strstr (metrics, "amgw_directives_total{name=\"EndMeeting\",outcome=\"ok\"}"));

  log = amgw_test_daemon_log (fx->d);
  g_assert_nonnull (strstr (log, sid));   /* lines about the call carry its id */
  {
    const char *secrets[] = { SECRET, CLIENT_SECRET, REFRESH, BOARDROOM_TOKEN, HUDDLE_TOKEN,
                              token, "7654321" /* the meeting pin */ };
    for (guint i = 0; i < G_N_ELEMENTS (secrets); i++) {
      if (strstr (log, secrets[i]) || strstr (metrics, secrets[i]))
        g_error ("secret #%u found in the log or the metrics", i);
    }
    /* No access token at all, whichever was issued. */
    g_assert_null (strstr (log, "Atza|"));
  }
  fx_free (fx);
}

static guint
open_files (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* A chunked body that never ends: answered 413 once past the limit, read and
 * thrown away up to 16 MiB, then amgw stops reading it; once the client goes,
 * so does the connection, and the daemon serves on. */
static void
test_endless_body (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *base = g_strdup (amgw_test_daemon_url (fx->d));
  g_autoptr (GUri) uri = g_uri_parse (base, G_URI_FLAGS_NONE, NULL);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) conn = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *head = g_strdup_printf ("POST /v1/alexa/directives HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n", SECRET);
  const gsize chunk = 64 * 1024, limit = 64 * 1024 * 1024;
  g_autofree char *data = g_malloc (chunk + 16);
  g_autofree char *log = NULL;
  GOutputStream *out;
  GPid pid = amgw_test_daemon_pid (fx->d);
  guint files_before = open_files (pid), files = 0;
  gsize sent = 0, len;
  gint64 end;

  g_assert_nonnull (uri);
  conn = g_socket_client_connect_to_host (client, g_uri_get_host (uri), g_uri_get_port (uri),
      NULL, &error);
  g_assert_no_error (error);
  /* Generous: amgw may run under valgrind. */
  g_socket_set_timeout (g_socket_connection_get_socket (conn), 10);
  out = g_io_stream_get_output_stream (G_IO_STREAM (conn));
  g_assert_true (g_output_stream_write_all (out, head, strlen (head), NULL, NULL, NULL));
  len = (gsize) g_snprintf (data, 16, "%zx\r\n", chunk);
  memset (data + len, ' ', chunk);
  memcpy (data + len + chunk, "\r\n", 2);
  len += chunk + 2;
  /* Until amgw stops taking it: the write times out or is refused. */
  while (sent < limit && g_output_stream_write_all (out, data, len, NULL, NULL, NULL))
    sent += chunk;
  g_test_message ("amgw stopped reading after %zu MiB", sent >> 20);
  g_assert_cmpuint (sent, >=, 16 * 1024 * 1024);
  g_assert_cmpuint (sent, <, limit);
  log = amgw_test_daemon_log (fx->d);
  g_assert_nonnull (strstr (log, "dropping the connection"));

  g_io_stream_close (G_IO_STREAM (conn), NULL, NULL);
  end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while ((files = open_files (pid)) > files_before && g_get_monotonic_time () < end)
    g_usleep (50 * 1000);
  g_assert_cmpuint (files, <=, files_before);
  assert_still_serving (fx);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/bad-input/table", test_table);
  g_test_add_func ("/bad-input/huge-and-deep", test_huge_and_deep);
  g_test_add_func ("/bad-input/endless-body", test_endless_body);
  g_test_add_func ("/bad-input/no-secrets-leak", test_no_secrets_leak);
  return g_test_run ();
}
