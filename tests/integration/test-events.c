/* Alexa->partner CallSignaling events end to end (WIRE.md section 2): state
 * machines, acknowledgements, renegotiation, time-outs and failures. */
#include "common.h"

static char *
outbound_extra (const char *callee)
{
  g_autofree char *sdp = sdp_details (TRUE);
  /* {"sdpDetails": ...} + participants */
  return g_strdup_printf ("{%.*s, \"participants\": ["
      "{\"id\": {\"type\": \"COMMUNICATION_PROFILE_ID\", \"value\": \"amzn1.comms.id.person.boardroom\"}, \"isOriginator\": true},"
      "{\"id\": {\"type\": \"RAW_ADDRESS\", \"value\": \"%s\"}, \"isOriginator\": false}]}",
      (int) strlen (sdp) - 2, sdp + 1, callee);
}

static void
test_outbound_call (void)
{
  Fx *fx = fx_start (NULL);
  const char *sid = "amzn1.comms.session.outbound-1";
  g_autofree char *extra = outbound_extra ("sip:4455@bridge.test");
  g_autofree char *offer = sdp_details (TRUE);
  g_autofree char *answer = sdp_details (FALSE);
  g_autofree char *hold = NULL;
  FakeCloudRequest *req;
  cJSON *call;
  guint status;

  g_assert_cmpuint (fx_event (fx, "InitiateOutboundCall", sid, extra, NULL), ==, 200);
  /* The same session again is a conflict. */
  g_assert_cmpuint (fx_event (fx, "InitiateOutboundCall", sid, extra, NULL), ==, 409);

  /* The bridge rings, then answers: CallRinging, then CallAccepted with
   * amgw's SDP answer. */
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRinging", sid, WAIT_MS));
  req = fake_cloud_wait_signal (fx->fc, "CallAccepted", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_null (req->validation_error);
  g_assert_cmpstr (jstr (req->json, "sdpDetails.type"), ==, "ANSWER");
  g_assert_true (wait_log (fx, "callee=sip:4455@bridge.test", WAIT_MS));

  g_assert_cmpuint (fx_event (fx, "CallRingingAck", sid, NULL, NULL), ==, 200);
  g_assert_cmpuint (fx_event (fx, "CallRingingAck", sid, NULL, NULL), ==, 409);
  g_assert_cmpuint (fx_event (fx, "CallInProgressAck", sid, NULL, NULL), ==, 409);
  g_assert_cmpuint (fx_event (fx, "CallAcceptedAck", sid, NULL, NULL), ==, 200);
  /* Alexa sends CallRinging only when amgw calls it. */
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 409);

  call = fx_get_call (fx, sid, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (call, "state"), ==, "accepted");
  g_assert_cmpstr (jstr (call, "direction"), ==, "from-alexa");
  g_assert_cmpstr (jstr (call, "room"), ==, "boardroom");
  cJSON_Delete (call);

  /* Hold from Alexa: CallUpdate -> the bridge follows -> CallUpdateResponse. */
  hold = g_strdup_printf ("{\"renegotiationType\": \"CALL_HOLD\", %s", offer + 1);
  g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, hold, NULL), ==, 200);
  req = fake_cloud_wait_signal (fx->fc, "CallUpdateResponse", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "renegotiationType"), ==, "CALL_HOLD");
  g_assert_cmpstr (jstr (req->json, "sdpDetails.type"), ==, "ANSWER");
  g_assert_true (wait_log (fx, "testleg bridge: set_direction sendonly", WAIT_MS));
  /* A second offer before the ack is refused. */
  g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, hold, NULL), ==, 409);
  g_assert_cmpuint (fx_event (fx, "CallUpdateAck", sid, NULL, NULL), ==, 200);
  g_assert_cmpuint (fx_event (fx, "CallUpdateAck", sid, NULL, NULL), ==, 409);
  /* A CallUpdateResponse to an offer amgw never made. */
  {
    g_autofree char *resp = g_strdup_printf ("{\"renegotiationType\": \"CALL_HOLD\", %s", answer + 1);
    g_assert_cmpuint (fx_event (fx, "CallUpdateResponse", sid, resp, NULL), ==, 409);
  }

  /* Alexa hangs up: the bridge is hung up, no CallEnded goes back. */
  g_assert_cmpuint (fx_event (fx, "CallEnded", sid,
      "{\"callResult\": {\"code\": \"SUCCESS\", \"message\": \"user hung up\"}}", NULL), ==, 200);
  g_assert_true (wait_log (fx, "testleg bridge: hangup SUCCESS", WAIT_MS));
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallEnded", sid, 500));
  call = fx_get_call (fx, sid, &status);
  g_assert_cmpstr (jstr (call, "outcome"), ==, "SUCCESS");
  g_assert_cmpstr (jstr (call, "reason"), ==, "user hung up");
  cJSON_Delete (call);
  fx_free (fx);
}

static void
test_outbound_busy (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *extra = outbound_extra ("sip:busy@bridge.test");
  FakeCloudRequest *req;

  g_assert_cmpuint (fx_event (fx, "InitiateOutboundCall", "sess-busy", extra, NULL), ==, 200);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", "sess-busy", WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "DEVICE_BUSY");
  fx_free (fx);
}

static void
test_unknown_and_out_of_order (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = NULL;
  g_autofree char *resp = NULL;
  g_autofree char *answer = sdp_details (FALSE);
  guint before;

  g_assert_cmpuint (fx_event (fx, "CallRinging", "no-such-session", NULL, &resp), ==, 404);
  g_assert_nonnull (strstr (resp, "no-such-session"));
  g_assert_cmpuint (fx_event (fx, "CallEnded", "no-such-session",
      "{\"callResult\": {\"code\": \"SUCCESS\"}}", NULL), ==, 404);

  sid = fx_join (fx, "bridge.test");
  before = fake_cloud_signaling_count (fx->fc);
  /* Acks are amgw's to send when it called Alexa. */
  g_assert_cmpuint (fx_event (fx, "CallRingingAck", sid, NULL, NULL), ==, 409);
  /* Renegotiation before the call is answered. */
  {
    g_autofree char *offer = sdp_details (TRUE);
    g_autofree char *upd = g_strdup_printf ("{\"renegotiationType\": \"CALL_UPDATE\", %s", offer + 1);
    g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, upd, NULL), ==, 409);
  }
  g_assert_cmpuint (fake_cloud_signaling_count (fx->fc), ==, before);
  /* Then the right order still works: nothing was changed by the refusals. */
  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, answer, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 409);
  /* A broken SDP answer is refused with 400 and ends the call. */
  fx_free (fx);
}

static void
test_bad_answer_ends_call (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = fx_join (fx, "bridge.test");
  FakeCloudRequest *req;

  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid,
      "{\"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"this is not SDP\"}}", NULL), ==, 400);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "INTERNAL_ERROR");
  g_assert_true (wait_log (fx, "testleg bridge: hangup INTERNAL_ERROR", WAIT_MS));
  fx_free (fx);
}

static void
test_timeouts (void)
{
  FxOptions opt = { .setup_timeout = 400, .ring_timeout = 600 };
  Fx *fx = fx_start (&opt);
  g_autofree char *sid1 = NULL;
  g_autofree char *sid2 = NULL;
  FakeCloudRequest *req;

  /* The device never rings. */
  sid1 = fx_join (fx, "bridge.test");
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid1, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "SESSION_TIMEOUT");
  g_assert_true (wait_log (fx, "testleg bridge: hangup SESSION_TIMEOUT", WAIT_MS));

  /* It rings but nobody answers. */
  sid2 = fx_join (fx, "bridge.test");
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid2, NULL, NULL), ==, 200);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid2, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "SESSION_TIMEOUT");
  /* The ringing lasted at least the ring time-out (generous bound). */
  {
    FakeCloudRequest *ack = fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid2, 100);
    g_assert_nonnull (ack);
    g_assert_cmpint (req->received_us - ack->received_us, >=, 500 * 1000);
  }
  fx_free (fx);
}

static void
test_bridge_hangs_up (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = fx_join_and_accept (fx, "hangup.bridge.test");
  FakeCloudRequest *req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);

  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "SUCCESS");
  g_assert_nonnull (jstr (req->json, "callResult.message"));
  /* Alexa's own CallEnded afterwards finds nothing. */
  g_assert_cmpuint (fx_event (fx, "CallEnded", sid, "{\"callResult\": {\"code\": \"SUCCESS\"}}", NULL), ==, 404);
  fx_free (fx);
}

static void
test_alexa_refuses (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = NULL;
  guint status;
  cJSON *call;

  /* Alexa answers InitiateInboundCall 403: no retry, the call ends, and no
   * CallEnded is sent for a session Alexa never took. */
  fake_cloud_push_response_for (fx->fc, "InitiateInboundCall", 403, NULL,
      "{\"message\": \"calling is not enabled for this account\"}");
  sid = fx_join (fx, "bridge.test");
  g_assert_true (wait_log (fx, "testleg bridge: hangup", WAIT_MS));
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallEnded", sid, 500));
  g_assert_cmpuint (fake_cloud_signaling_count (fx->fc), ==, 1);
  call = fx_get_call (fx, sid, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (call, "outcome"), ==, "INTERNAL_ERROR");
  g_assert_nonnull (strstr (jstr (call, "reason"), "calling is not enabled"));
  cJSON_Delete (call);
  fx_free (fx);
}

static void
test_token_refresh_and_retry (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = NULL;
  guint refreshes;

  /* The first call gets a token; then every token expires at Alexa. */
  sid = fx_join_and_accept (fx, "bridge.test");
  refreshes = fake_cloud_refresh_count (fx->fc);
  fake_cloud_expire_access_tokens (fx->fc);
  /* 429 first, then fine: the ack still arrives. */
  fake_cloud_push_response (fx->fc, 429, "1", NULL);
  {
    g_autofree char *offer = sdp_details (TRUE);
    g_autofree char *upd = g_strdup_printf ("{\"renegotiationType\": \"CALL_UPDATE\", %s", offer + 1);
    g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, upd, NULL), ==, 200);
  }
  g_assert_nonnull (fx_wait_accepted (fx, "CallUpdateResponse", sid));
  g_assert_cmpuint (fake_cloud_refresh_count (fx->fc), ==, refreshes + 1);
  /* 401 once (refresh, retry), 429 once (back off 1 s), then 200. */
  {
    g_autoptr (GPtrArray) all = fake_cloud_signaling_requests (fx->fc);
    guint n401 = 0, n429 = 0;
    for (guint i = 0; i < all->len; i++) {
      FakeCloudRequest *r = all->pdata[i];
      if (g_strcmp0 (r->type, "CallUpdateResponse") != 0)
        continue;
      n401 += r->status == 401;
      n429 += r->status == 429;
    }
    g_assert_cmpuint (n401, ==, 1);
    g_assert_cmpuint (n429, ==, 1);
  }
  fx_free (fx);
}

/* The bridge rings with early media: CallInProgress carries amgw's
 * provisional answer before CallAccepted. */
static void
test_outbound_early_media (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *extra = outbound_extra ("sip:early@bridge.test");
  FakeCloudRequest *req;

  g_assert_cmpuint (fx_event (fx, "InitiateOutboundCall", "sess-early", extra, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRinging", "sess-early", WAIT_MS));
  req = fake_cloud_wait_signal (fx->fc, "CallInProgress", "sess-early", WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "sdpDetails.type"), ==, "ANSWER");
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAccepted", "sess-early", WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallInProgressAck", "sess-early", NULL, NULL), ==, 200);
  fx_free (fx);
}

/* Hold and resume from the bridge reach Alexa as CallUpdate (one at a
 * time); Alexa's CallUpdateResponse is acknowledged with CallUpdateAck. */
static void
test_bridge_holds_and_resumes (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = fx_join_and_accept (fx, "holdme.bridge.test");
  g_autofree char *answer = sdp_details (FALSE);
  g_autofree char *hold_resp = g_strdup_printf ("{\"renegotiationType\": \"CALL_HOLD\", %s", answer + 1);
  g_autofree char *resume_resp = g_strdup_printf ("{\"renegotiationType\": \"CALL_RESUME\", %s", answer + 1);
  FakeCloudRequest *req;

  req = fake_cloud_wait_signal (fx->fc, "CallUpdate", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_null (req->validation_error);
  g_assert_cmpstr (jstr (req->json, "renegotiationType"), ==, "CALL_HOLD");
  g_assert_cmpstr (jstr (req->json, "sdpDetails.type"), ==, "OFFER");
  g_assert_nonnull (strstr (jstr (req->json, "sdpDetails.value"), "a=sendonly"));
  /* The resume came while the hold was open: it waits for it. */
  g_assert_true (wait_log (fx, "the sendrecv from the bridge follows it", WAIT_MS));
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallUpdate", sid, 300));

  g_assert_cmpuint (fx_event (fx, "CallUpdateResponse", sid, hold_resp, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallUpdateAck", sid, WAIT_MS));
  req = fake_cloud_wait_signal (fx->fc, "CallUpdate", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (jstr (req->json, "renegotiationType"), ==, "CALL_RESUME");
  g_assert_nonnull (strstr (jstr (req->json, "sdpDetails.value"), "a=sendrecv"));
  g_assert_cmpuint (fx_event (fx, "CallUpdateResponse", sid, resume_resp, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallUpdateAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallUpdateResponse", sid, resume_resp, NULL), ==, 409);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/events/outbound-call", test_outbound_call);
  g_test_add_func ("/events/outbound-busy", test_outbound_busy);
  g_test_add_func ("/events/outbound-early-media", test_outbound_early_media);
  g_test_add_func ("/events/bridge-holds-and-resumes", test_bridge_holds_and_resumes);
  g_test_add_func ("/events/unknown-and-out-of-order", test_unknown_and_out_of_order);
  g_test_add_func ("/events/bad-answer-ends-call", test_bad_answer_ends_call);
  g_test_add_func ("/events/timeouts", test_timeouts);
  g_test_add_func ("/events/bridge-hangs-up", test_bridge_hangs_up);
  g_test_add_func ("/events/alexa-refuses", test_alexa_refuses);
  g_test_add_func ("/events/token-refresh-and-retry", test_token_refresh_and_retry);
  return g_test_run ();
}
