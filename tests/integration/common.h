/* Shared fixture of the control-plane integration tests: a fake Alexa cloud
 * (tests/support/fake-cloud.c, written from WIRE.md) and an amgw daemon
 * configured against it, both on loopback inside the test's own network
 * namespace. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <cjson/cJSON.h>
#include <string.h>
#include "fake-cloud.h"
#include "test-util.h"

#define SECRET "test-forwarding-secret-0123456789"
#define CLIENT_ID "amzn1.application-oa2-client.test"
#define CLIENT_SECRET "test-client-secret-do-not-log"
#define REFRESH "Atzr|test-bootstrap-refresh-token"
#define BOARDROOM_TOKEN "room-token-boardroom-secret"
#define HUDDLE_TOKEN "room-token-huddle-secret"
#define WAIT_MS 10000

typedef struct {
  FakeCloud *fc;
  AmgwTestDaemon *d;
  char *tmp;
} Fx;

static const char config_template[] =
  "[gateway]\n"
  "listen = 127.0.0.1:@PORT@\n"
  "state-dir = @STATE@\n"
  "forwarding-secret = " SECRET "\n"
  "max-calls = %u\n"
  "drain-timeout = %u\n"
  "\n[alexa]\n"
  "api-url = %s\n"
  "lwa-url = %s\n"
  "client-id = " CLIENT_ID "\n"
  "client-secret = " CLIENT_SECRET "\n"
  "%s"
  "request-timeout = 3000\n"
  "setup-timeout = %u\n"
  "ring-timeout = %u\n"
  "\n[room boardroom]\n"
  "endpoint-id = room-boardroom\n"
  "friendly-name = Boardroom\n"
  "token = " BOARDROOM_TOKEN "\n"
  "alexa-address-type = COMMUNICATION_PROFILE_ID\n"
  "alexa-address = amzn1.comms.id.person.boardroom\n"
  "supports-scheduled-meeting = true\n"
  "\n[room huddle]\n"
  "endpoint-id = room-huddle\n"
  "friendly-name = Huddle\n"
  "token = " HUDDLE_TOKEN "\n"
  "alexa-address-type = PHONE_NUMBER\n"
  "alexa-address = +15551230000\n"
  "%s";

typedef struct {
  const char *binary;        /* NULL: amgw-testd (scripted legs) */
  gboolean no_refresh_token; /* start unlinked */
  guint max_calls;
  guint setup_timeout;
  guint ring_timeout;
  const char *extra;         /* more configuration text */
  guint drain_timeout_s;     /* [gateway] drain-timeout (0: SIGTERM ends calls at once) */
} FxOptions;

static inline Fx *
fx_start (const FxOptions *opt)
{
  Fx *fx = g_new0 (Fx, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  FxOptions defaults = { 0, };

  if (opt == NULL)
    opt = &defaults;
  fx->fc = fake_cloud_new ();
  fake_cloud_set_client (fx->fc, CLIENT_ID, CLIENT_SECRET);
  fake_cloud_add_refresh_token (fx->fc, REFRESH);
  config = g_strdup_printf (config_template, opt->max_calls ? opt->max_calls : 10,
      opt->drain_timeout_s, fake_cloud_api_url (fx->fc), fake_cloud_lwa_url (fx->fc),
      opt->no_refresh_token ? "" : "refresh-token = " REFRESH "\n",
      opt->setup_timeout ? opt->setup_timeout : 30000,
      opt->ring_timeout ? opt->ring_timeout : 60000, opt->extra ? opt->extra : "");
  if (opt->binary)
    fx->d = amgw_test_daemon_start_binary (opt->binary, config, &error);
  else
    fx->d = amgw_test_daemon_start (config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->d);
  return fx;
}

static inline void
fx_free (Fx *fx)
{
  /* Every test ends with a clean stop: SIGTERM, exit 0 (under valgrind with
   * --error-exitcode, also: nothing leaked). */
  if (!g_test_failed () && amgw_test_daemon_is_running (fx->d)) {
    int rc = amgw_test_daemon_stop (fx->d);
    if (rc != 0) {
      g_autofree char *log = amgw_test_daemon_log (fx->d);
      g_printerr ("---- amgw log ----\n%s\n------------------\n", log);
      g_error ("amgw exited with status %d after SIGTERM", rc);
    }
  }
  if (g_test_failed ()) {
    g_autofree char *log = amgw_test_daemon_log (fx->d);
    g_printerr ("---- amgw log ----\n%s\n------------------\n", log);
  }
  amgw_test_daemon_free (fx->d);
  fake_cloud_free (fx->fc);
  g_free (fx);
}

static inline char *
fx_url (Fx *fx, const char *path)
{
  return g_strconcat (amgw_test_daemon_url (fx->d), path, NULL);
}

/* Posts a directive; returns the parsed answer (HTTP 200 expected). */
static inline cJSON *
fx_directive (Fx *fx, const char *ns, const char *name, const char *endpoint,
    const char *token, const char *payload)
{
  g_autofree char *body = amgw_test_directive (ns, name, endpoint, token, payload);
  g_autofree char *url = fx_url (fx, "/v1/alexa/directives");
  g_autofree char *resp = NULL;
  guint status = amgw_test_http ("POST", url, SECRET, NULL, body, strlen (body), &resp);
  cJSON *json;

  g_assert_cmpuint (status, ==, 200);
  json = cJSON_Parse (resp);
  g_assert_nonnull (json);
  return json;
}

static inline const char *
jstr (const cJSON *root, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", 0);
  const cJSON *j = root;

  for (guint i = 0; parts[i] && j; i++)
    j = cJSON_GetObjectItemCaseSensitive (j, parts[i]);
  return cJSON_IsString (j) ? j->valuestring : NULL;
}

static inline const cJSON *
jget (const cJSON *root, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, ".", 0);
  const cJSON *j = root;

  for (guint i = 0; parts[i] && j; i++)
    j = cJSON_GetObjectItemCaseSensitive (j, parts[i]);
  return j;
}

/* Asserts an ErrorResponse of @type; returns its message. */
static inline void
assert_error_response (const cJSON *answer, const char *type)
{
  g_assert_cmpstr (jstr (answer, "event.header.name"), ==, "ErrorResponse");
  g_assert_cmpstr (jstr (answer, "event.payload.type"), ==, type);
  g_assert_nonnull (jstr (answer, "event.payload.message"));
  g_assert_cmpuint (strlen (jstr (answer, "event.payload.message")), >, 0);
}

static inline void
assert_response (const cJSON *answer)
{
  if (g_strcmp0 (jstr (answer, "event.header.name"), "Response") != 0)
    g_error ("expected a Response, got %s: %s", jstr (answer, "event.header.name"),
        jstr (answer, "event.payload.message"));
  g_assert_cmpstr (jstr (answer, "event.header.namespace"), ==, "Alexa");
  g_assert_cmpstr (jstr (answer, "event.header.payloadVersion"), ==, "3");
}

static inline guint
fx_event (Fx *fx, const char *type, const char *session, const char *extra, char **resp)
{
  g_autofree char *body = amgw_test_event (type, session, extra);
  g_autofree char *url = fx_url (fx, "/v1/alexa/events");

  return amgw_test_http ("POST", url, SECRET, NULL, body, strlen (body), resp);
}

static inline char *
sdp_details (gboolean offer)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *d = cJSON_AddObjectToObject (o, "sdpDetails");
  char *text;
  char *copy;

  cJSON_AddStringToObject (d, "type", offer ? "OFFER" : "ANSWER");
  cJSON_AddStringToObject (d, "value", amgw_test_sdp (offer));
  text = cJSON_PrintUnformatted (o);
  copy = g_strdup (text);
  cJSON_free (text);
  cJSON_Delete (o);
  return copy;
}

static inline cJSON *
fx_get_call (Fx *fx, const char *id, guint *status)
{
  g_autofree char *path = g_strdup_printf ("/v1/calls/%s", id);
  g_autofree char *url = fx_url (fx, path);
  g_autofree char *resp = NULL;

  *status = amgw_test_http ("GET", url, SECRET, NULL, NULL, 0, &resp);
  return resp ? cJSON_Parse (resp) : NULL;
}

/* JoinMeeting for the boardroom; returns the sessionId of the
 * InitiateInboundCall amgw sent. */
static inline char *
fx_join (Fx *fx, const char *endpoint)
{
  g_autofree char *payload = g_strdup_printf (
      "{\"meeting\": {\"id\": \"1234567\", \"pin\": \"7654321\", \"endpoint\": \"%s\","
      " \"protocol\": \"SIP\", \"provider\": \"chime\"}}", endpoint);
  cJSON *answer = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting",
      "room-boardroom", BOARDROOM_TOKEN, payload);
  FakeCloudRequest *req;

  assert_response (answer);
  cJSON_Delete (answer);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_null (req->validation_error);
  return g_strdup (req->session_id);
}

/* Drives a JoinMeeting call to accepted: CallRinging, CallInProgress,
 * CallAccepted from "Alexa", each acknowledged by amgw. */
static inline char *
fx_join_and_accept (Fx *fx, const char *endpoint)
{
  char *sid = fx_join (fx, endpoint);
  g_autofree char *answer = sdp_details (FALSE);

  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, answer, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));
  return sid;
}

/* Waits for a request of @type that the fake accepted (200): earlier ones
 * may have been answered 401 or 429 and retried. */
static inline FakeCloudRequest *
fx_wait_accepted (Fx *fx, const char *type, const char *sid)
{
  gint64 end = g_get_monotonic_time () + WAIT_MS * 1000;
  FakeCloudRequest *req;

  while (g_get_monotonic_time () < end) {
    req = fake_cloud_wait_signal (fx->fc, type, sid, 500);
    if (req && req->status == 200)
      return req;
  }
  return NULL;
}

static inline gboolean
log_contains (Fx *fx, const char *needle)
{
  g_autofree char *log = amgw_test_daemon_log (fx->d);
  return log && strstr (log, needle) != NULL;
}

/* Waits until the daemon's log has @needle (the log is written as it goes). */
static inline gboolean
wait_log (Fx *fx, const char *needle, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (g_get_monotonic_time () < end) {
    if (log_contains (fx, needle))
      return TRUE;
    g_usleep (20000);
  }
  return log_contains (fx, needle);
}
