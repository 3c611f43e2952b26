/* Smart-home directives end to end: amgw (with scripted legs, or the real
 * binary) against the fake Alexa cloud.  WIRE.md section 3. */
#include "common.h"

static void
test_discover (void)
{
  Fx *fx = fx_start (NULL);
  cJSON *a = fx_directive (fx, "Alexa.Discovery", "Discover", NULL, HUDDLE_TOKEN, NULL);
  const cJSON *eps = jget (a, "event.payload.endpoints");
  const cJSON *caps;
  gboolean mcc = FALSE, cal = FALSE;

  g_assert_cmpstr (jstr (a, "event.header.namespace"), ==, "Alexa.Discovery");
  g_assert_cmpstr (jstr (a, "event.header.name"), ==, "Discover.Response");
  /* The huddle token lists the huddle room only. */
  g_assert_cmpint (cJSON_GetArraySize (eps), ==, 1);
  g_assert_cmpstr (jstr (cJSON_GetArrayItem (eps, 0), "endpointId"), ==, "room-huddle");
  g_assert_cmpstr (jstr (cJSON_GetArrayItem (eps, 0), "friendlyName"), ==, "Huddle");
  g_assert_cmpstr (cJSON_GetArrayItem (jget (cJSON_GetArrayItem (eps, 0), "displayCategories"), 0)->valuestring,
      ==, "OTHER");
  caps = jget (cJSON_GetArrayItem (eps, 0), "capabilities");
  for (int i = 0; i < cJSON_GetArraySize (caps); i++) {
    const cJSON *c = cJSON_GetArrayItem (caps, i);
    if (g_strcmp0 (jstr (c, "interface"), "Alexa.MeetingClientController") == 0) {
      mcc = TRUE;
      g_assert_true (cJSON_IsFalse (jget (c, "supportsScheduledMeeting")));
    }
    if (g_strcmp0 (jstr (c, "interface"), "Alexa.Calendar") == 0)
      cal = TRUE;
  }
  g_assert_true (mcc && cal);
  cJSON_Delete (a);

  a = fx_directive (fx, "Alexa.Discovery", "Discover", NULL, "not-a-room-token", NULL);
  assert_error_response (a, "INVALID_AUTHORIZATION_CREDENTIAL");
  cJSON_Delete (a);
  fx_free (fx);
}

static void
test_join_and_end (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = NULL;
  g_autofree char *answer = sdp_details (FALSE);
  FakeCloudRequest *req;
  cJSON *a, *call;
  const cJSON *parts;
  guint status;
  gboolean saw_room = FALSE, saw_bridge = FALSE;

  sid = fx_join (fx, "bridge.example.test");
  /* What amgw sent to Alexa, as WIRE.md section 1 shapes it (the fake
   * checked the shape; here the content). */
  req = fake_cloud_signaling_requests (fx->fc)->pdata[0];
  parts = jget (req->json, "participants");
  for (int i = 0; i < cJSON_GetArraySize (parts); i++) {
    const cJSON *p = cJSON_GetArrayItem (parts, i);
    if (cJSON_IsTrue (jget (p, "isOriginator"))) {
      saw_bridge = TRUE;
      g_assert_cmpstr (jstr (p, "id.type"), ==, "RAW_ADDRESS");
      g_assert_cmpstr (jstr (p, "id.value"), ==, "sip:1234567@bridge.example.test");
    } else {
      saw_room = TRUE;
      g_assert_cmpstr (jstr (p, "id.type"), ==, "COMMUNICATION_PROFILE_ID");
      g_assert_cmpstr (jstr (p, "id.value"), ==, "amzn1.comms.id.person.boardroom");
    }
  }
  g_assert_true (saw_room && saw_bridge);
  g_assert_cmpstr (jstr (req->json, "sdpDetails.type"), ==, "OFFER");
  g_assert_true (g_str_has_prefix (jstr (req->json, "sdpDetails.value"), "v=0"));
  g_assert_true (req->authorization && g_str_has_prefix (req->authorization, "Bearer Atza|"));
  /* The bridge leg was asked to dial the meeting; the pin is never logged. */
  g_assert_true (wait_log (fx, "dial SIP endpoint=bridge.example.test id=1234567 pin=(set)", WAIT_MS));
  g_assert_false (log_contains (fx, "7654321"));

  /* Alexa rings, answers provisionally, accepts: each one acknowledged. */
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallInProgress", sid, answer, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallInProgressAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, answer, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));

  call = fx_get_call (fx, sid, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (call, "state"), ==, "accepted");
  g_assert_cmpstr (jstr (call, "room"), ==, "boardroom");
  g_assert_cmpstr (jstr (call, "bridge_leg.protocol"), ==, "SIP");
  g_assert_nonnull (jstr (call, "answered"));
  cJSON_Delete (call);

  /* A second meeting in the same room is refused. */
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"id\":\"1\",\"endpoint\":\"b.test\",\"protocol\":\"SIP\",\"provider\":\"x\"}}");
  assert_error_response (a, "ALREADY_IN_OPERATION");
  cJSON_Delete (a);

  /* EndMeeting: CallEnded to Alexa, the bridge hung up, the record kept. */
  a = fx_directive (fx, "Alexa.MeetingClientController", "EndMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{}");
  assert_response (a);
  g_assert_cmpstr (jstr (a, "event.header.correlationToken"), !=, NULL);
  g_assert_cmpstr (jstr (a, "event.endpoint.endpointId"), ==, "room-boardroom");
  cJSON_Delete (a);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "SUCCESS");
  g_assert_true (wait_log (fx, "testleg bridge: hangup SUCCESS", WAIT_MS));

  call = fx_get_call (fx, sid, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (call, "state"), ==, "ended");
  g_assert_cmpstr (jstr (call, "outcome"), ==, "SUCCESS");
  g_assert_true (cJSON_IsNumber (jget (call, "duration_ms")));
  cJSON_Delete (call);

  /* Nothing left to end. */
  a = fx_directive (fx, "Alexa.MeetingClientController", "EndMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{}");
  assert_error_response (a, "NOT_IN_OPERATION");
  cJSON_Delete (a);
  /* Events for the ended session: 404, nothing sent. */
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 404);
  fx_free (fx);
}

static void
test_join_errors (void)
{
  FxOptions opt = { .max_calls = 1 };
  Fx *fx = fx_start (&opt);
  cJSON *a;
  g_autofree char *sid = NULL;
  static const char ok_meeting[] =
      "{\"meeting\":{\"id\":\"42\",\"endpoint\":\"bridge.test\",\"protocol\":\"sip\",\"provider\":\"chime\"}}";

  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      "wrong-token", ok_meeting);
  assert_error_response (a, "INVALID_AUTHORIZATION_CREDENTIAL");
  cJSON_Delete (a);
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-nowhere",
      BOARDROOM_TOKEN, ok_meeting);
  assert_error_response (a, "NO_SUCH_ENDPOINT");
  cJSON_Delete (a);
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"endpoint\":\"bridge.test\",\"protocol\":\"XMPP\",\"provider\":\"x\"}}");
  assert_error_response (a, "INVALID_VALUE");
  cJSON_Delete (a);
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"endpoint\":\"bad endpoint\\r\\nINVITE\",\"protocol\":\"SIP\",\"provider\":\"x\"}}");
  assert_error_response (a, "INVALID_VALUE");
  cJSON_Delete (a);
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"protocol\":\"SIP\"}}");
  assert_error_response (a, "INVALID_DIRECTIVE");
  cJSON_Delete (a);
  a = fx_directive (fx, "Alexa.MeetingClientController", "Dance", "room-boardroom",
      BOARDROOM_TOKEN, "{}");
  assert_error_response (a, "INVALID_DIRECTIVE");
  cJSON_Delete (a);
  /* The bridge cannot be reached: nothing is sent to Alexa. */
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"id\":\"1\",\"endpoint\":\"unreachable.test\",\"protocol\":\"SIP\",\"provider\":\"x\"}}");
  assert_error_response (a, "ENDPOINT_UNREACHABLE");
  cJSON_Delete (a);
  g_assert_cmpuint (fake_cloud_signaling_count (fx->fc), ==, 0);

  /* max-calls = 1: a second room's meeting is refused while one runs. */
  sid = fx_join (fx, "bridge.test");
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-huddle",
      HUDDLE_TOKEN, ok_meeting);
  assert_error_response (a, "ENDPOINT_BUSY");
  cJSON_Delete (a);
  fx_free (fx);
}

/* The real amgw binary has no H.323 leg yet: JoinMeeting says so plainly. */
static void
test_join_without_legs (void)
{
  FxOptions opt = { .binary = g_getenv ("AMGW_BINARY") };
  Fx *fx = fx_start (&opt);
  cJSON *a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"id\":\"1\",\"endpoint\":\"bridge.test\",\"protocol\":\"H323\",\"provider\":\"x\"}}");

  assert_error_response (a, "ENDPOINT_UNREACHABLE");
  g_assert_nonnull (strstr (jstr (a, "event.payload.message"), "H323"));
  cJSON_Delete (a);
  g_assert_cmpuint (fake_cloud_signaling_count (fx->fc), ==, 0);
  fx_free (fx);
}

static void
test_scheduled_meeting (void)
{
  g_autofree char *dir = g_dir_make_tmp ("amgw-dir-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "meetings.ini", NULL);
  g_autofree char *extra = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) start = g_date_time_add_minutes (now, -10);
  g_autoptr (GDateTime) end = g_date_time_add_minutes (now, 50);
  g_autofree char *s = g_date_time_format_iso8601 (start);
  g_autofree char *e = g_date_time_format_iso8601 (end);
  g_autofree char *text = g_strdup_printf (
      "[meeting cal-event-1]\nroom = boardroom\norganizer = Ada Lovelace\nstart = %s\nend = %s\n"
      "id = 9876543\npin = 1111\nendpoint = sched.bridge.test\nprotocol = SIP\nprovider = chime\n"
      "\n[meeting cal-event-later]\nroom = boardroom\norganizer = Someone Else\n"
      "start = 2099-01-01T10:00:00Z\nend = 2099-01-01T11:00:00Z\nid = 1\nendpoint = x.test\n"
      "protocol = SIP\nprovider = chime\n", s, e);
  Fx *fx;
  cJSON *a;
  FakeCloudRequest *req;

  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  extra = g_strdup_printf ("\n[meetings]\ndirectory = %s\n", path);
  {
    FxOptions opt = { .extra = extra };
    fx = fx_start (&opt);
  }

  a = fx_directive (fx, "Alexa.Calendar", "GetCurrentMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{}");
  g_assert_cmpstr (jstr (a, "event.header.name"), ==, "Response");
  g_assert_cmpstr (jstr (a, "event.payload.organizerName"), ==, "Ada Lovelace");
  g_assert_cmpstr (jstr (a, "event.payload.calendarEventId"), ==, "cal-event-1");
  cJSON_Delete (a);
  /* The huddle has no meeting now: an empty payload. */
  a = fx_directive (fx, "Alexa.Calendar", "GetCurrentMeeting", "room-huddle", HUDDLE_TOKEN, "{}");
  g_assert_cmpstr (jstr (a, "event.header.name"), ==, "Response");
  g_assert_null (jget (a, "event.payload.calendarEventId"));
  cJSON_Delete (a);

  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinScheduledMeeting",
      "room-boardroom", BOARDROOM_TOKEN, "{\"calendarEventId\": \"no-such-event\"}");
  assert_error_response (a, "INVALID_VALUE");
  cJSON_Delete (a);
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinScheduledMeeting",
      "room-boardroom", BOARDROOM_TOKEN, "{\"calendarEventId\": \"cal-event-1\"}");
  assert_response (a);
  cJSON_Delete (a);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_true (wait_log (fx, "endpoint=sched.bridge.test id=9876543 pin=(set)", WAIT_MS));
  fx_free (fx);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_accept_grant (void)
{
  FxOptions opt = { .no_refresh_token = TRUE };
  Fx *fx = fx_start (&opt);
  cJSON *a;
  g_autofree char *sid = NULL;
  g_autofree char *readyz = NULL;
  g_autofree char *url = fx_url (fx, "/readyz");

  /* Not linked: JoinMeeting cannot call Alexa and says why. */
  a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, "{\"meeting\":{\"id\":\"1\",\"endpoint\":\"b.test\",\"protocol\":\"SIP\",\"provider\":\"x\"}}");
  assert_error_response (a, "ENDPOINT_UNREACHABLE");
  g_assert_nonnull (strstr (jstr (a, "event.payload.message"), "AcceptGrant"));
  cJSON_Delete (a);

  /* A code the token endpoint does not know. */
  a = fx_directive (fx, "Alexa.Authorization", "AcceptGrant", NULL, NULL,
      "{\"grant\": {\"type\": \"OAuth2.AuthorizationCode\", \"code\": \"bogus-code\"},"
      " \"grantee\": {\"type\": \"BearerToken\", \"token\": \"grantee-token\"}}");
  g_assert_cmpstr (jstr (a, "event.header.namespace"), ==, "Alexa.Authorization");
  g_assert_cmpstr (jstr (a, "event.header.name"), ==, "ErrorResponse");
  g_assert_cmpstr (jstr (a, "event.payload.type"), ==, "ACCEPT_GRANT_FAILED");
  cJSON_Delete (a);

  fake_cloud_add_auth_code (fx->fc, "good-auth-code", "Atzr|granted-refresh-token");
  a = fx_directive (fx, "Alexa.Authorization", "AcceptGrant", NULL, NULL,
      "{\"grant\": {\"type\": \"OAuth2.AuthorizationCode\", \"code\": \"good-auth-code\"},"
      " \"grantee\": {\"type\": \"BearerToken\", \"token\": \"grantee-token\"}}");
  g_assert_cmpstr (jstr (a, "event.header.namespace"), ==, "Alexa.Authorization");
  g_assert_cmpstr (jstr (a, "event.header.name"), ==, "AcceptGrant.Response");
  cJSON_Delete (a);

  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, &readyz), ==, 200);
  g_assert_nonnull (strstr (readyz, "\"alexa_link\":\"LINKED\""));

  /* Linked now: the meeting goes through with the granted token. */
  sid = fx_join (fx, "bridge.test");
  g_assert_nonnull (sid);
  /* The tokens were stored: after a restart no new exchange is needed. */
  amgw_test_daemon_kill (fx->d);
  g_assert_true (amgw_test_daemon_restart (fx->d, NULL));
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS));
  g_assert_false (log_contains (fx, "good-auth-code"));
  g_assert_false (log_contains (fx, "Atzr|granted-refresh-token"));
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/directives/discover", test_discover);
  g_test_add_func ("/directives/join-and-end", test_join_and_end);
  g_test_add_func ("/directives/join-errors", test_join_errors);
  g_test_add_func ("/directives/join-without-legs", test_join_without_legs);
  g_test_add_func ("/directives/scheduled-meeting", test_scheduled_meeting);
  g_test_add_func ("/directives/accept-grant", test_accept_grant);
  return g_test_run ();
}
