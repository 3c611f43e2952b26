/* The sandbox (signaling/sandbox.c): the real amgw binary run with no
 * --config (the embedded default, so sandbox mode), driven through the page's
 * API (/sandbox/api/...) over HTTP the way the page drives it, in a network
 * namespace with only loopback (the default listen, 127.0.0.1:8080, is free
 * there).
 *
 *  - the page and its state: served to loopback, the sandbox room, the
 *    account linked to the simulator;
 *  - the loopback-only and size rules, and the simulator's own checks of
 *    amgw's requests (WIRE.md sections 1 and 4);
 *  - a JoinMeeting the bridge side cannot take: H.323 answers ErrorResponse
 *    ENDPOINT_UNREACHABLE on the page's API; a SIP bridge on a closed port
 *    ends the call before the device is called, and the page's events say
 *    how (amgw's own view: the device was never told);
 *  - a JoinMeeting to a bridge that never answers (a silent UDP socket of
 *    this test): amgw's InitiateInboundCall reaches the poll route with its
 *    offer, the device's CallRinging is acknowledged (CallRingingAck, checked
 *    by the simulator), the INVITE reached the bridge, the device hangs up
 *    (CallEnded), amgw's view says ended/SUCCESS; no token in the log;
 *  - the page's audio check (amgw's POST /v1/rooms/{room}/test-call) calls
 *    the device;
 *  - with [alexa] client-id (real credentials) there is no sandbox.
 */
#include "common.h"

#include <gio/gio.h>
#include <libsoup/soup.h>

#define BASE "http://127.0.0.1:8080"
#define SANDBOX_ROOM "amgw-sandbox-room"
/* The sandbox's LWA client: public by design (sandbox.c), only good for the
 * simulator. */
#define SANDBOX_CLIENT_ID "amzn1.application-oa2-client.amgw-sandbox"
#define SANDBOX_CLIENT_SECRET "amgw-sandbox-client-secret"
#define SANDBOX_REFRESH "Atzr|amgw-sandbox-refresh-token"

typedef struct {
  AmgwTestDaemon *d;
  guint64 last;          /* the poll cursor */
  GPtrArray *events;     /* cJSON* seen so far, owned */
} Sb;

static Sb *
sb_start (void)
{
  const char *binary = g_getenv ("AMGW_BINARY");
  g_autoptr (GError) error = NULL;
  Sb *sb;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("AMGW_BINARY does not name the amgw binary");
    return NULL;
  }
  sb = g_new0 (Sb, 1);
  sb->events = g_ptr_array_new_with_free_func ((GDestroyNotify) cJSON_Delete);
  sb->d = amgw_test_daemon_start_default (binary, &error);
  g_assert_no_error (error);
  return sb;
}

static void
sb_free (Sb *sb)
{
  if (sb == NULL)
    return;
  if (!g_test_failed () && amgw_test_daemon_is_running (sb->d))
    g_assert_cmpint (amgw_test_daemon_stop (sb->d), ==, 0);
  if (g_test_failed ()) {
    g_autofree char *log = amgw_test_daemon_log (sb->d);
    g_printerr ("---- amgw log ----\n%s\n------------------\n", log);
  }
  amgw_test_daemon_free (sb->d);
  g_ptr_array_unref (sb->events);
  g_free (sb);
}

/* One request; returns the status and the parsed body (or NULL). */
static cJSON *
req (const char *method, const char *path, const char *content_type, const char *body,
    guint *status)
{
  g_autofree char *url = g_strconcat (BASE, path, NULL);
  g_autofree char *resp = NULL;

  *status = amgw_test_http (method, url, NULL, content_type, body, body ? strlen (body) : 0, &resp);
  return resp ? cJSON_Parse (resp) : NULL;
}

static cJSON *
api_post (const char *path, const char *json, guint *status)
{
  return req ("POST", path, "application/json", json, status);
}

/* Polls until an event matches (@dir, @op, and @session when non-NULL), or
 * (@dir2, @op2) when @dir2 is non-NULL; returns it (owned by @sb) or NULL
 * after @timeout_ms. */
static const cJSON *
wait_either (Sb *sb, const char *dir, const char *op, const char *dir2, const char *op2,
    const char *session, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    for (guint i = 0; i < sb->events->len; i++) {
      const cJSON *ev = sb->events->pdata[i];
      if (session != NULL && g_strcmp0 (jstr (ev, "session"), session) != 0)
        continue;
      if ((g_strcmp0 (jstr (ev, "dir"), dir) == 0 && g_strcmp0 (jstr (ev, "op"), op) == 0) ||
          (dir2 && g_strcmp0 (jstr (ev, "dir"), dir2) == 0 && g_strcmp0 (jstr (ev, "op"), op2) == 0))
        return ev;
    }
    if (g_get_monotonic_time () > end)
      return NULL;
    {
      g_autofree char *path = g_strdup_printf ("/sandbox/api/poll?after=%" G_GUINT64_FORMAT, sb->last);
      guint status;
      cJSON *answer = req ("GET", path, NULL, NULL, &status);
      const cJSON *events = cJSON_GetObjectItem (answer, "events");
      const cJSON *ev;

      g_assert_cmpuint (status, ==, 200);
      g_assert_true (cJSON_IsArray (events));
      cJSON_ArrayForEach (ev, events)
        g_ptr_array_add (sb->events, cJSON_Duplicate (ev, TRUE));
      sb->last = (guint64) cJSON_GetObjectItem (answer, "last")->valuedouble;
      cJSON_Delete (answer);
    }
  }
}

static const cJSON *
wait_event (Sb *sb, const char *dir, const char *op, const char *session, guint timeout_ms)
{
  return wait_either (sb, dir, op, NULL, NULL, session, timeout_ms);
}

/* ------------------------------------------------------------------------ */

static void
test_page_and_state (void)
{
  Sb *sb = sb_start ();
  g_autofree char *page = NULL;
  guint status;
  cJSON *state, *j;

  if (sb == NULL)
    return;
  status = amgw_test_http ("GET", BASE "/sandbox/", NULL, NULL, NULL, 0, &page);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (page, "<title>amgw sandbox"));
  g_assert_nonnull (strstr (page, "/sandbox/api/"));
  /* Nothing from elsewhere: no absolute URL to load. */
  g_assert_null (strstr (page, "src=\"http"));
  g_assert_null (strstr (page, "href=\"http"));

  j = req ("GET", "/sandbox", NULL, NULL, &status);  /* follows the redirect */
  g_assert_cmpuint (status, ==, 200);
  cJSON_Delete (j);

  state = req ("GET", "/sandbox/api/state", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (state, "alexa_link"), ==, "LINKED");
  j = cJSON_GetArrayItem (cJSON_GetObjectItem (state, "rooms"), 0);
  g_assert_cmpstr (jstr (j, "endpoint_id"), ==, SANDBOX_ROOM);
  g_assert_null (cJSON_GetObjectItem (j, "token"));   /* never shown */
  g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (state, "calls")), ==, 0);
  cJSON_Delete (state);

  /* /readyz agrees; /v1/ still needs the forwarding secret. */
  j = req ("GET", "/readyz", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (j, "alexa_link"), ==, "LINKED");
  cJSON_Delete (j);
  j = req ("GET", "/v1/calls", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 401);
  cJSON_Delete (j);

  /* The state lives apart from a real deployment's. */
  {
    g_autofree char *db = g_build_filename (amgw_test_daemon_state_dir (sb->d), "sandbox",
        "amgw.db", NULL);
    g_assert_true (g_file_test (db, G_FILE_TEST_EXISTS));
  }
  sb_free (sb);
}

static void
test_refusals (void)
{
  Sb *sb = sb_start ();
  g_autofree char *big = NULL;
  g_autofree char *token = NULL;
  g_autofree char *auth = NULL;
  guint status;
  cJSON *j;

  if (sb == NULL)
    return;

  /* Another host name (DNS rebinding), another origin. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (SoupSession) session = soup_session_new ();
    g_autoptr (SoupMessage) msg = soup_message_new ("GET", BASE "/sandbox/api/state");
    g_autoptr (GBytes) body = NULL;

    soup_session_set_proxy_resolver (session, NULL);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Host", "evil.example:8080");
    body = soup_session_send_and_read (session, msg, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 403);
  }
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (SoupSession) session = soup_session_new ();
    g_autoptr (SoupMessage) msg = soup_message_new ("POST", BASE "/sandbox/api/end");
    g_autoptr (GBytes) req_body = g_bytes_new_static ("{}", 2);
    g_autoptr (GBytes) body = NULL;

    soup_session_set_proxy_resolver (session, NULL);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Origin",
        "https://evil.example");
    soup_message_set_request_body_from_bytes (msg, "application/json", req_body);
    body = soup_session_send_and_read (session, msg, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (soup_message_get_status (msg), ==, 403);
  }

  /* Not JSON (a cross-site form could send that), too big, malformed. */
  j = req ("POST", "/sandbox/api/join", "text/plain", "{}", &status);
  g_assert_cmpuint (status, ==, 415);
  cJSON_Delete (j);
  big = g_strnfill (8000, 'x');
  {
    g_autofree char *body = g_strdup_printf ("{\"endpoint\": \"%s\"}", big);
    j = api_post ("/sandbox/api/join", body, &status);
    g_assert_cmpuint (status, ==, 413);
    cJSON_Delete (j);
  }
  j = api_post ("/sandbox/api/join", "{\"endpoint\": ", &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_nonnull (jstr (j, "message"));
  cJSON_Delete (j);
  j = api_post ("/sandbox/api/join", "{\"endpoint\": 5}", &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpstr (jstr (j, "message"), ==, "endpoint: must be a string");
  cJSON_Delete (j);
  j = api_post ("/sandbox/api/join", "{\"protocol\": \"SIP\"}", &status);
  g_assert_cmpuint (status, ==, 400);
  cJSON_Delete (j);
  j = api_post ("/sandbox/api/join", "{\"room\": \"nowhere\", \"endpoint\": \"x\"}", &status);
  g_assert_cmpuint (status, ==, 404);
  cJSON_Delete (j);
  j = api_post ("/sandbox/api/call", "{\"session\": \"no-such\", \"action\": \"hangup\"}", &status);
  g_assert_cmpuint (status, ==, 404);
  cJSON_Delete (j);
  j = req ("GET", "/sandbox/api/calls/no-such", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 404);
  cJSON_Delete (j);
  j = req ("GET", "/sandbox/api/poll?after=x", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 400);
  cJSON_Delete (j);
  j = req ("DELETE", "/sandbox/api/state", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 405);
  cJSON_Delete (j);
  j = req ("GET", "/sandbox/nothing", NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 404);
  cJSON_Delete (j);

  /* The simulator's Login with Amazon: only its own client. */
  j = req ("POST", "/sandbox/lwa/token", "application/x-www-form-urlencoded",
      "grant_type=refresh_token&refresh_token=x&client_id=other&client_secret=other", &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpstr (jstr (j, "error"), ==, "invalid_client");
  cJSON_Delete (j);
  {
    g_autofree char *form = soup_form_encode ("grant_type", "refresh_token", "refresh_token",
        SANDBOX_REFRESH, "client_id", SANDBOX_CLIENT_ID, "client_secret", SANDBOX_CLIENT_SECRET,
        NULL);
    j = req ("POST", "/sandbox/lwa/token", "application/x-www-form-urlencoded", form, &status);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpstr (jstr (j, "token_type"), ==, "bearer");
    g_assert_cmpint (cJSON_GetObjectItem (j, "expires_in")->valueint, >, 0);
    token = g_strdup (jstr (j, "access_token"));
    g_assert_nonnull (token);
    cJSON_Delete (j);
  }

  /* The simulator's CallSignaling checks: the token, then WIRE.md. */
  {
    g_autofree char *resp = NULL;
    status = amgw_test_http ("POST", BASE "/sandbox/alexa/v1/communications/signaling", "wrong",
        NULL, "{}", 2, &resp);
    g_assert_cmpuint (status, ==, 401);
    g_clear_pointer (&resp, g_free);
    status = amgw_test_http ("POST", BASE "/sandbox/alexa/v1/communications/signaling", token,
        NULL, "{\"type\": \"Alexa.Comms.CallSignaling.CallRingingAck\"}", 0, &resp);
    g_assert_cmpuint (status, ==, 400);
    g_assert_nonnull (strstr (resp, "sessionId"));
    g_clear_pointer (&resp, g_free);
    status = amgw_test_http ("POST", BASE "/sandbox/alexa/v1/communications/signaling", token,
        NULL, "{\"type\": \"Alexa.Comms.CallSignaling.CallRingingAck\", \"sessionId\": \"s-1\"}",
        0, &resp);
    g_assert_cmpuint (status, ==, 404);
    g_clear_pointer (&resp, g_free);
    status = amgw_test_http ("POST", BASE "/sandbox/alexa/v1/communications/signaling", token,
        NULL, "{\"type\": \"Alexa.Comms.CallSignaling.CallEnded\", \"sessionId\": \"s-1\","
        " \"callResult\": {\"code\": \"NOPE\"}}", 0, &resp);
    g_assert_cmpuint (status, ==, 400);
    g_assert_nonnull (strstr (resp, "callResult.code"));
  }
  /* The page sees the refusals in its wire log. */
  g_assert_nonnull (wait_event (sb, "to-alexa", "invalid", NULL, 5000));
  sb_free (sb);
}

static void
test_unreachable (void)
{
  Sb *sb = sb_start ();
  const cJSON *ev;
  guint status;
  cJSON *j, *view;
  g_autofree char *session = NULL;
  g_autofree char *path = NULL;

  if (sb == NULL)
    return;
  /* No H.323 leg: the directive's answer says so, on the page's API. */
  j = api_post ("/sandbox/api/join", "{\"room\": \"" SANDBOX_ROOM "\", \"id\": \"123\","
      " \"pin\": \"9876\", \"endpoint\": \"127.0.0.1\", \"protocol\": \"H323\"}", &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_false (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  g_assert_cmpstr (jstr (j, "op"), ==, "JoinMeeting");
  g_assert_cmpstr (jstr (j, "error_type"), ==, "ENDPOINT_UNREACHABLE");
  g_assert_cmpstr (jstr (j, "answer.event.header.name"), ==, "ErrorResponse");
  /* amgw echoes the scope; the page sees the token masked. */
  g_assert_cmpstr (jstr (j, "answer.event.endpoint.scope.token"), ==, "(the room's token)");
  cJSON_Delete (j);
  ev = wait_event (sb, "to-amgw", "JoinMeeting", NULL, 5000);
  g_assert_nonnull (ev);
  g_assert_nonnull (strstr (jstr (ev, "wire"), "\"pin\":\"****\""));
  g_assert_null (strstr (jstr (ev, "wire"), "9876"));

  /* A SIP bridge on a closed port: the call ends, and the page's events say
   * why: CallEnded when amgw's offer had gone out to the device first, else
   * amgw's own view (it had nothing to tell Alexa). */
  j = api_post ("/sandbox/api/join", "{\"room\": \"" SANDBOX_ROOM "\", \"id\": \"123\","
      " \"endpoint\": \"127.0.0.1:9\", \"protocol\": \"SIP\"}", &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  g_assert_cmpstr (jstr (j, "answer.event.header.name"), ==, "Response");
  session = g_strdup (jstr (j, "session"));
  g_assert_nonnull (session);
  cJSON_Delete (j);
  ev = wait_either (sb, "amgw", "call-ended", "to-alexa", "CallEnded", session, 15000);
  g_assert_nonnull (ev);
  g_assert_cmpstr (jstr (ev, "code"), !=, "SUCCESS");
  g_assert_nonnull (jstr (ev, "message"));
  g_test_message ("the unreachable bridge: %s: %s", jstr (ev, "code"), jstr (ev, "message"));

  /* amgw's own view of it, through the sandbox's proxy route. */
  path = g_strdup_printf ("/sandbox/api/calls/%s", session);
  view = req ("GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (view, "state"), ==, "ended");
  g_assert_cmpstr (jstr (view, "outcome"), ==, jstr (ev, "code"));
  cJSON_Delete (view);
  /* ... and the state lists it as ended. */
  j = req ("GET", "/sandbox/api/state", NULL, NULL, &status);
  g_assert_cmpstr (jstr (cJSON_GetArrayItem (cJSON_GetObjectItem (j, "calls"), 0), "state"), ==,
      "ended");
  cJSON_Delete (j);
  sb_free (sb);
}

static void
test_inbound_call (void)
{
  Sb *sb = sb_start ();
  g_autoptr (GSocket) bridge = NULL;
  g_autoptr (GSocketAddress) any = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *session = NULL;
  g_autofree char *body = NULL;
  g_autofree char *path = NULL;
  g_autofree char *log = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *secret_path = NULL;
  char invite[4096];
  gssize n;
  const cJSON *ev;
  guint status, port;
  cJSON *j;

  if (sb == NULL)
    return;
  /* A bridge that never answers: the INVITE stays pending while amgw calls
   * the device. */
  bridge = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_assert_true (g_socket_bind (bridge, any, FALSE, &error));
  bound = g_socket_get_local_address (bridge, &error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  body = g_strdup_printf ("{\"room\": \"" SANDBOX_ROOM "\", \"id\": \"4711\", \"pin\": \"97531864\","
      " \"endpoint\": \"127.0.0.1:%u\", \"protocol\": \"SIP\", \"provider\": \"sandbox\"}", port);
  j = api_post ("/sandbox/api/join", body, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  session = g_strdup (jstr (j, "session"));
  cJSON_Delete (j);
  g_assert_nonnull (session);

  /* amgw's offer reaches the page: the device rings. */
  ev = wait_event (sb, "to-alexa", "InitiateInboundCall", session, 15000);
  g_assert_nonnull (ev);
  g_assert_cmpint (cJSON_GetObjectItem (ev, "status")->valueint, ==, 200);
  g_assert_true (g_str_has_prefix (jstr (ev, "sdp"), "v=0"));
  g_assert_nonnull (strstr (jstr (ev, "sdp"), "a=fingerprint:sha-256"));
  g_assert_cmpstr (jstr (ev, "room"), ==, SANDBOX_ROOM);
  g_assert_cmpstr (jstr (ev, "caller"), ==, "sandbox meeting");
  g_assert_nonnull (strstr (jstr (ev, "originator"), "4711@127.0.0.1"));
  /* amgw got its access token from the simulator's LWA first. */
  g_assert_nonnull (wait_event (sb, "to-alexa", "LWA token", NULL, 1000));

  /* The INVITE reached the bridge. */
  g_socket_set_timeout (bridge, 10);
  n = g_socket_receive (bridge, invite, sizeof invite - 1, NULL, &error);
  g_assert_no_error (error);
  invite[n] = '\0';
  g_assert_true (g_str_has_prefix (invite, "INVITE sip:4711@127.0.0.1"));

  /* The device rings: CallRinging, which amgw acknowledges. */
  body = (g_free (body), g_strdup_printf ("{\"session\": \"%s\", \"action\": \"ringing\"}", session));
  j = api_post ("/sandbox/api/call", body, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  g_assert_cmpstr (jstr (j, "op"), ==, "CallRinging");
  cJSON_Delete (j);
  ev = wait_event (sb, "to-alexa", "CallRingingAck", session, 10000);
  g_assert_nonnull (ev);
  g_assert_cmpint (cJSON_GetObjectItem (ev, "status")->valueint, ==, 200);
  /* Ringing twice is the page's mistake, refused before it reaches amgw. */
  j = api_post ("/sandbox/api/call", body, &status);
  g_assert_cmpuint (status, ==, 409);
  cJSON_Delete (j);

  path = g_strdup_printf ("/sandbox/api/calls/%s", session);
  j = req ("GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (j, "state"), ==, "ringing");
  g_assert_cmpstr (jstr (j, "room"), ==, "sandbox");
  cJSON_Delete (j);

  /* The device hangs up: CallEnded SUCCESS to amgw, which ends the call. */
  body = (g_free (body), g_strdup_printf ("{\"session\": \"%s\", \"action\": \"hangup\"}", session));
  j = api_post ("/sandbox/api/call", body, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  g_assert_cmpstr (jstr (j, "op"), ==, "CallEnded");
  cJSON_Delete (j);
  j = req ("GET", path, NULL, NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (j, "state"), ==, "ended");
  g_assert_cmpstr (jstr (j, "outcome"), ==, "SUCCESS");
  cJSON_Delete (j);
  /* The ended call takes no more actions. */
  j = api_post ("/sandbox/api/call", body, &status);
  g_assert_cmpuint (status, ==, 409);
  cJSON_Delete (j);

  /* No secret in amgw's log: not the forwarding secret, not an access
   * token, not a room token, not the pin. */
  g_assert_cmpint (amgw_test_daemon_stop (sb->d), ==, 0);
  log = amgw_test_daemon_log (sb->d);
  secret_path = g_build_filename (amgw_test_daemon_state_dir (sb->d), "sandbox",
      "forwarding-secret", NULL);
  g_assert_true (g_file_get_contents (secret_path, &secret, NULL, NULL));
  g_strstrip (secret);
  g_assert_null (strstr (log, secret));
  g_assert_null (strstr (log, "Atza|sandbox-"));
  g_assert_null (strstr (log, "sandbox-room-token-"));
  g_assert_null (strstr (log, "97531864"));
  g_assert_nonnull (strstr (log, "sandbox mode"));
  sb_free (sb);
}

/* The page's "Audio check": amgw's own POST /v1/rooms/{room}/test-call,
 * through the simulator; amgw calls the device. */
static void
test_audio_check (void)
{
  Sb *sb = sb_start ();
  g_autofree char *session = NULL;
  g_autofree char *body = NULL;
  const cJSON *ev;
  guint status;
  cJSON *j;

  if (sb == NULL)
    return;
  j = api_post ("/sandbox/api/test-call", "{\"room\": \"" SANDBOX_ROOM "\", \"codec\": \"PCMU\"}",
      &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  g_assert_cmpint (cJSON_GetObjectItem (j, "status")->valueint, ==, 201);
  session = g_strdup (jstr (j, "session"));
  g_assert_nonnull (session);
  cJSON_Delete (j);
  ev = wait_event (sb, "to-alexa", "InitiateInboundCall", session, 15000);
  g_assert_nonnull (ev);
  g_assert_cmpstr (jstr (ev, "caller"), ==, "amgw audio check");
  body = g_strdup_printf ("{\"session\": \"%s\", \"action\": \"hangup\"}", session);
  j = api_post ("/sandbox/api/call", body, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (j, "ok")));
  cJSON_Delete (j);
  sb_free (sb);
}

static void
test_not_with_credentials (void)
{
  const char *binary = g_getenv ("AMGW_BINARY");
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwTestDaemon) d = NULL;
  g_autofree char *url = NULL;
  g_autofree char *resp = NULL;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("AMGW_BINARY does not name the amgw binary");
    return;
  }
  d = amgw_test_daemon_start_binary (binary,
      "[gateway]\nlisten = 127.0.0.1:@PORT@\nstate-dir = @STATE@\n"
      "forwarding-secret = " SECRET "\n"
      "[alexa]\napi-url = http://127.0.0.1:9\nlwa-url = http://127.0.0.1:9/token\n"
      "client-id = " CLIENT_ID "\nclient-secret = " CLIENT_SECRET "\n", &error);
  g_assert_no_error (error);
  url = g_strconcat (amgw_test_daemon_url (d), "/sandbox/", NULL);
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, &resp), ==, 404);
  g_clear_pointer (&resp, g_free);
  g_free (url);
  url = g_strconcat (amgw_test_daemon_url (d), "/sandbox/api/state", NULL);
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, &resp), ==, 404);
  g_assert_cmpint (amgw_test_daemon_stop (d), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sandbox/page-and-state", test_page_and_state);
  g_test_add_func ("/sandbox/refusals", test_refusals);
  g_test_add_func ("/sandbox/unreachable", test_unreachable);
  g_test_add_func ("/sandbox/inbound-call", test_inbound_call);
  g_test_add_func ("/sandbox/audio-check", test_audio_check);
  g_test_add_func ("/sandbox/not-with-credentials", test_not_with_credentials);
  return g_test_run ();
}
