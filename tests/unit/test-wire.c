/* Unit tests for signaling/wire.c: every CallSignaling operation and event of
 * WIRE.md sections 1 and 2, the directives of section 3 (seed 004's examples
 * verbatim), their answers, and awkward inputs.  JSON is compared as parsed
 * structures, never as text. */
#include "amgw/wire.h"
#include "amgw/debug.h"

#include <string.h>

typedef cJSON TestJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (TestJson, cJSON_Delete)

#define SDP_OFFER \
  "v=0\r\no=- 4611731400430051336 2 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\n" \
  "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 192.0.2.10\r\na=sendrecv\r\n" \
  "a=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n"
#define SDP_OFFER_JSON \
  "v=0\\r\\no=- 4611731400430051336 2 IN IP4 192.0.2.10\\r\\ns=-\\r\\nt=0 0\\r\\n" \
  "m=audio 40000 UDP/TLS/RTP/SAVPF 111\\r\\nc=IN IP4 192.0.2.10\\r\\na=sendrecv\\r\\n" \
  "a=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\\r\\n"
#define SDP_ANSWER \
  "v=0\r\no=- 99 2 IN IP4 198.51.100.7\r\ns=-\r\nt=0 0\r\n" \
  "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n"
#define SDP_ANSWER_JSON \
  "v=0\\r\\no=- 99 2 IN IP4 198.51.100.7\\r\\ns=-\\r\\nt=0 0\\r\\n" \
  "m=audio 50000 UDP/TLS/RTP/SAVPF 111\\r\\na=sendrecv\\r\\n"
#define SID "7f0c2a4e-1d3b-4c5a-9e8f-0a1b2c3d4e5f"

static void
assert_json_equal (const char *actual, const char *expected)
{
  g_autoptr (TestJson) a = cJSON_Parse (actual);
  g_autoptr (TestJson) e = cJSON_Parse (expected);

  g_assert_nonnull (e);
  g_assert_nonnull (a);
  if (!cJSON_Compare (a, e, TRUE))
    g_error ("JSON differs:\n  actual:   %s\n  expected: %s", actual, expected);
}

/* ---- building (WIRE.md section 1) ------------------------------------------ */

typedef struct {
  const char *name;
  AmgwSignalType type;
  AmgwSdpType sdp_type;
  const char *sdp;
  AmgwRenegotiation renegotiation;
  gboolean participants;      /* the WIRE.md example's caller and callee */
  const char *caller_name;
  AmgwResultCode code;
  const char *message;
  const char *expected;
} BuildCase;

static const BuildCase build_cases[] = {
  { "InitiateInboundCall", AMGW_SIGNAL_INITIATE_INBOUND_CALL, AMGW_SDP_OFFER, SDP_OFFER,
    AMGW_RENEGOTIATION_NONE, TRUE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.InitiateInboundCall\", \"sessionId\": \"" SID "\","
    " \"participants\": [{\"id\": {\"type\": \"RAW_ADDRESS\", \"value\": \"sip:1234567@bridge.example\"},"
    " \"isOriginator\": true},"
    " {\"id\": {\"type\": \"COMMUNICATION_PROFILE_ID\", \"value\": \"amzn1.comms.id.person.xyz\"},"
    " \"isOriginator\": false}],"
    " \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"" SDP_OFFER_JSON "\"}}" },
  { "InitiateInboundCall-callerName", AMGW_SIGNAL_INITIATE_INBOUND_CALL, AMGW_SDP_OFFER, SDP_OFFER,
    AMGW_RENEGOTIATION_NONE, TRUE, "Conference Room 15 \xe2\x80\x93 Bridge", AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.InitiateInboundCall\", \"sessionId\": \"" SID "\","
    " \"participants\": [{\"id\": {\"type\": \"RAW_ADDRESS\", \"value\": \"sip:1234567@bridge.example\"},"
    " \"isOriginator\": true},"
    " {\"id\": {\"type\": \"COMMUNICATION_PROFILE_ID\", \"value\": \"amzn1.comms.id.person.xyz\"},"
    " \"isOriginator\": false}],"
    " \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"" SDP_OFFER_JSON "\"},"
    " \"customParams\": {\"callerName\": \"Conference Room 15 \\u2013 Bridge\"}}" },
  { "CallRingingAck", AMGW_SIGNAL_CALL_RINGING_ACK, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
    FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallRingingAck\", \"sessionId\": \"" SID "\"}" },
  { "CallInProgressAck", AMGW_SIGNAL_CALL_IN_PROGRESS_ACK, AMGW_SDP_NONE, NULL,
    AMGW_RENEGOTIATION_NONE, FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallInProgressAck\", \"sessionId\": \"" SID "\"}" },
  { "CallAcceptedAck", AMGW_SIGNAL_CALL_ACCEPTED_ACK, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
    FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallAcceptedAck\", \"sessionId\": \"" SID "\"}" },
  { "CallRinging", AMGW_SIGNAL_CALL_RINGING, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE, FALSE,
    NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallRinging\", \"sessionId\": \"" SID "\"}" },
  { "CallInProgress", AMGW_SIGNAL_CALL_IN_PROGRESS, AMGW_SDP_ANSWER, SDP_ANSWER,
    AMGW_RENEGOTIATION_NONE, FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallInProgress\", \"sessionId\": \"" SID "\","
    " \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"" SDP_ANSWER_JSON "\"}}" },
  { "CallAccepted", AMGW_SIGNAL_CALL_ACCEPTED, AMGW_SDP_ANSWER, SDP_ANSWER, AMGW_RENEGOTIATION_NONE,
    FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallAccepted\", \"sessionId\": \"" SID "\","
    " \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"" SDP_ANSWER_JSON "\"}}" },
  { "CallUpdate", AMGW_SIGNAL_CALL_UPDATE, AMGW_SDP_OFFER, SDP_OFFER, AMGW_RENEGOTIATION_CALL_HOLD,
    FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallUpdate\", \"sessionId\": \"" SID "\","
    " \"renegotiationType\": \"CALL_HOLD\","
    " \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"" SDP_OFFER_JSON "\"}}" },
  { "CallUpdateResponse", AMGW_SIGNAL_CALL_UPDATE_RESPONSE, AMGW_SDP_ANSWER, SDP_ANSWER,
    AMGW_RENEGOTIATION_CALL_RESUME, FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallUpdateResponse\", \"sessionId\": \"" SID "\","
    " \"renegotiationType\": \"CALL_RESUME\","
    " \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"" SDP_ANSWER_JSON "\"}}" },
  { "CallUpdateAck", AMGW_SIGNAL_CALL_UPDATE_ACK, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
    FALSE, NULL, AMGW_RESULT_NONE, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallUpdateAck\", \"sessionId\": \"" SID "\"}" },
  { "CallEnded", AMGW_SIGNAL_CALL_ENDED, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE, FALSE, NULL,
    AMGW_RESULT_SUCCESS, "bridge hung up",
    "{\"type\": \"Alexa.Comms.CallSignaling.CallEnded\", \"sessionId\": \"" SID "\","
    " \"callResult\": {\"code\": \"SUCCESS\", \"message\": \"bridge hung up\"}}" },
  { "CallEnded-no-message", AMGW_SIGNAL_CALL_ENDED, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
    FALSE, NULL, AMGW_RESULT_DEVICE_BUSY, NULL,
    "{\"type\": \"Alexa.Comms.CallSignaling.CallEnded\", \"sessionId\": \"" SID "\","
    " \"callResult\": {\"code\": \"DEVICE_BUSY\"}}" },
};

static AmgwSignal *
signal_from_case (const BuildCase *c)
{
  AmgwSignal *s = amgw_signal_new (c->type, SID);

  s->sdp_type = c->sdp_type;
  s->sdp = g_strdup (c->sdp);
  s->renegotiation = c->renegotiation;
  if (c->participants) {
    amgw_signal_add_participant (s, AMGW_ADDRESS_RAW_ADDRESS, "sip:1234567@bridge.example", TRUE);
    amgw_signal_add_participant (s, AMGW_ADDRESS_COMMUNICATION_PROFILE_ID,
        "amzn1.comms.id.person.xyz", FALSE);
  }
  s->caller_name = g_strdup (c->caller_name);
  s->result_code = c->code;
  s->result_message = g_strdup (c->message);
  return s;
}

static void
test_build (gconstpointer data)
{
  const BuildCase *c = data;
  g_autoptr (AmgwSignal) s = signal_from_case (c);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = amgw_signal_to_json (s, &error);

  g_assert_no_error (error);
  g_assert_nonnull (json);
  assert_json_equal (json, c->expected);
}

/* Fields an operation does not define are not written. */
static void
test_build_ignores_foreign_fields (void)
{
  g_autoptr (AmgwSignal) s = amgw_signal_new (AMGW_SIGNAL_CALL_RINGING_ACK, SID);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  s->sdp_type = AMGW_SDP_OFFER;
  s->sdp = g_strdup (SDP_OFFER);
  s->renegotiation = AMGW_RENEGOTIATION_CALL_UPDATE;
  s->result_code = AMGW_RESULT_SUCCESS;
  s->caller_name = g_strdup ("x");
  json = amgw_signal_to_json (s, &error);
  g_assert_no_error (error);
  assert_json_equal (json,
      "{\"type\": \"Alexa.Comms.CallSignaling.CallRingingAck\", \"sessionId\": \"" SID "\"}");
}

/* ---- refused builds ------------------------------------------------------- */

typedef struct {
  const char *name;
  int base;                   /* index into build_cases */
  void (*spoil) (AmgwSignal *s);
  AmgwWireError code;
  const char *message_part;   /* (nullable) expected in the message */
} BadBuildCase;

static void spoil_two_originators (AmgwSignal *s)
{
  AmgwParticipant *p = g_ptr_array_index (s->participants, 1);
  p->is_originator = TRUE;
}
static void spoil_no_originator (AmgwSignal *s)
{
  AmgwParticipant *p = g_ptr_array_index (s->participants, 0);
  p->is_originator = FALSE;
}
static void spoil_only_caller (AmgwSignal *s) { g_ptr_array_remove_index (s->participants, 1); }
static void spoil_no_participants (AmgwSignal *s) { g_clear_pointer (&s->participants, g_ptr_array_unref); }
static void spoil_nine_participants (AmgwSignal *s)
{
  for (int i = 0; i < 7; i++)
    amgw_signal_add_participant (s, AMGW_ADDRESS_PHONE_NUMBER, "+15555550100", FALSE);
}
static void spoil_empty_participant (AmgwSignal *s)
{
  AmgwParticipant *p = g_ptr_array_index (s->participants, 1);
  g_clear_pointer (&p->value, g_free);
}
static void spoil_bad_address_type (AmgwSignal *s)
{
  AmgwParticipant *p = g_ptr_array_index (s->participants, 1);
  p->type = (AmgwAddressType) 42;
}
static void spoil_control_in_participant (AmgwSignal *s)
{
  AmgwParticipant *p = g_ptr_array_index (s->participants, 1);
  g_free (p->value);
  p->value = g_strdup ("sip:a@b\nInjected: x");
}
static void spoil_offer (AmgwSignal *s) { s->sdp_type = AMGW_SDP_OFFER; }
static void spoil_answer (AmgwSignal *s) { s->sdp_type = AMGW_SDP_ANSWER; }
static void spoil_no_sdp_type (AmgwSignal *s) { s->sdp_type = AMGW_SDP_NONE; }
static void spoil_no_sdp (AmgwSignal *s) { g_clear_pointer (&s->sdp, g_free); }
static void spoil_empty_sdp (AmgwSignal *s) { g_free (s->sdp); s->sdp = g_strdup (""); }
static void spoil_huge_sdp (AmgwSignal *s)
{
  g_free (s->sdp);
  s->sdp = g_strnfill (AMGW_MAX_SDP_BYTES + 1, 'a');
}
static void spoil_binary_sdp (AmgwSignal *s) { g_free (s->sdp); s->sdp = g_strdup ("v=0\r\n\x01\x02"); }
static void spoil_non_utf8_sdp (AmgwSignal *s) { g_free (s->sdp); s->sdp = g_strdup ("v=0\r\ns=\xff\xfe\r\n"); }
static void spoil_no_renegotiation (AmgwSignal *s) { s->renegotiation = AMGW_RENEGOTIATION_NONE; }
static void spoil_bad_renegotiation (AmgwSignal *s) { s->renegotiation = (AmgwRenegotiation) 9; }
static void spoil_no_code (AmgwSignal *s) { s->result_code = AMGW_RESULT_NONE; }
static void spoil_bad_code (AmgwSignal *s) { s->result_code = (AmgwResultCode) 77; }
static void spoil_long_message (AmgwSignal *s)
{
  g_free (s->result_message);
  s->result_message = g_strnfill (AMGW_MAX_TEXT_LEN + 1, 'm');
}
static void spoil_non_utf8_caller (AmgwSignal *s) { g_free (s->caller_name); s->caller_name = g_strdup ("\xc3"); }
static void spoil_no_session (AmgwSignal *s) { g_clear_pointer (&s->session_id, g_free); }
static void spoil_empty_session (AmgwSignal *s) { g_free (s->session_id); s->session_id = g_strdup (""); }
static void spoil_space_session (AmgwSignal *s) { g_free (s->session_id); s->session_id = g_strdup ("a b"); }
static void spoil_quote_session (AmgwSignal *s) { g_free (s->session_id); s->session_id = g_strdup ("a\"b"); }
static void spoil_long_session (AmgwSignal *s)
{
  g_free (s->session_id);
  s->session_id = g_strnfill (AMGW_MAX_SESSION_ID_LEN + 1, 'a');
}
static void spoil_outbound (AmgwSignal *s) { s->type = AMGW_SIGNAL_INITIATE_OUTBOUND_CALL; }
static void spoil_type_n (AmgwSignal *s) { s->type = AMGW_SIGNAL_N; }

/* Indexes into build_cases. */
enum { B_INBOUND = 0, B_RINGING_ACK = 2, B_IN_PROGRESS = 6, B_ACCEPTED = 7, B_UPDATE = 8,
  B_UPDATE_RESPONSE = 9, B_ENDED = 11 };

static const BadBuildCase bad_build_cases[] = {
  { "two-originators", B_INBOUND, spoil_two_originators, AMGW_WIRE_ERROR_INVALID_VALUE, "exactly one originator" },
  { "no-originator", B_INBOUND, spoil_no_originator, AMGW_WIRE_ERROR_INVALID_VALUE, "exactly one originator" },
  { "no-callee", B_INBOUND, spoil_only_caller, AMGW_WIRE_ERROR_MISSING_FIELD, "callee" },
  { "no-participants", B_INBOUND, spoil_no_participants, AMGW_WIRE_ERROR_MISSING_FIELD, "participants" },
  { "nine-participants", B_INBOUND, spoil_nine_participants, AMGW_WIRE_ERROR_TOO_BIG, "participants" },
  { "participant-without-value", B_INBOUND, spoil_empty_participant, AMGW_WIRE_ERROR_MISSING_FIELD, "participants[1].id.value" },
  { "participant-bad-type", B_INBOUND, spoil_bad_address_type, AMGW_WIRE_ERROR_INVALID_VALUE, "participants[1].id.type" },
  { "participant-control", B_INBOUND, spoil_control_in_participant, AMGW_WIRE_ERROR_INVALID_VALUE, NULL },
  { "inbound-answer", B_INBOUND, spoil_answer, AMGW_WIRE_ERROR_INVALID_VALUE, "expected \"OFFER\" for InitiateInboundCall" },
  { "inbound-bad-caller-name", B_INBOUND, spoil_non_utf8_caller, AMGW_WIRE_ERROR_INVALID_VALUE, "callerName" },
  { "accepted-offer", B_ACCEPTED, spoil_offer, AMGW_WIRE_ERROR_INVALID_VALUE, "sdpDetails.type: expected \"ANSWER\" for CallAccepted" },
  { "accepted-no-sdp-type", B_ACCEPTED, spoil_no_sdp_type, AMGW_WIRE_ERROR_MISSING_FIELD, "sdpDetails.type" },
  { "accepted-no-sdp", B_ACCEPTED, spoil_no_sdp, AMGW_WIRE_ERROR_MISSING_FIELD, "sdpDetails.value" },
  { "accepted-empty-sdp", B_ACCEPTED, spoil_empty_sdp, AMGW_WIRE_ERROR_MISSING_FIELD, "sdpDetails.value" },
  { "accepted-huge-sdp", B_ACCEPTED, spoil_huge_sdp, AMGW_WIRE_ERROR_TOO_BIG, "sdpDetails.value" },
  { "accepted-binary-sdp", B_ACCEPTED, spoil_binary_sdp, AMGW_WIRE_ERROR_INVALID_VALUE, "sdpDetails.value" },
  { "accepted-non-utf8-sdp", B_ACCEPTED, spoil_non_utf8_sdp, AMGW_WIRE_ERROR_INVALID_VALUE, "sdpDetails.value" },
  { "in-progress-offer", B_IN_PROGRESS, spoil_offer, AMGW_WIRE_ERROR_INVALID_VALUE, "expected \"ANSWER\" for CallInProgress" },
  { "update-answer", B_UPDATE, spoil_answer, AMGW_WIRE_ERROR_INVALID_VALUE, "expected \"OFFER\" for CallUpdate" },
  { "update-no-renegotiation", B_UPDATE, spoil_no_renegotiation, AMGW_WIRE_ERROR_MISSING_FIELD, "renegotiationType" },
  { "update-bad-renegotiation", B_UPDATE, spoil_bad_renegotiation, AMGW_WIRE_ERROR_INVALID_VALUE, "renegotiationType" },
  { "update-response-offer", B_UPDATE_RESPONSE, spoil_offer, AMGW_WIRE_ERROR_INVALID_VALUE, "expected \"ANSWER\" for CallUpdateResponse" },
  { "update-response-no-renegotiation", B_UPDATE_RESPONSE, spoil_no_renegotiation, AMGW_WIRE_ERROR_MISSING_FIELD, "renegotiationType" },
  { "ended-no-code", B_ENDED, spoil_no_code, AMGW_WIRE_ERROR_MISSING_FIELD, "callResult.code" },
  { "ended-bad-code", B_ENDED, spoil_bad_code, AMGW_WIRE_ERROR_INVALID_VALUE, "callResult.code" },
  { "ended-long-message", B_ENDED, spoil_long_message, AMGW_WIRE_ERROR_TOO_BIG, "callResult.message" },
  { "no-session-id", B_RINGING_ACK, spoil_no_session, AMGW_WIRE_ERROR_MISSING_FIELD, "sessionId" },
  { "empty-session-id", B_RINGING_ACK, spoil_empty_session, AMGW_WIRE_ERROR_INVALID_VALUE, "sessionId" },
  { "space-in-session-id", B_RINGING_ACK, spoil_space_session, AMGW_WIRE_ERROR_INVALID_VALUE, "sessionId" },
  { "quote-in-session-id", B_RINGING_ACK, spoil_quote_session, AMGW_WIRE_ERROR_INVALID_VALUE, "sessionId" },
  { "long-session-id", B_RINGING_ACK, spoil_long_session, AMGW_WIRE_ERROR_INVALID_VALUE, "sessionId" },
  { "outbound-is-alexas", B_INBOUND, spoil_outbound, AMGW_WIRE_ERROR_INVALID_VALUE, "InitiateOutboundCall" },
  { "type-out-of-range", B_RINGING_ACK, spoil_type_n, AMGW_WIRE_ERROR_INVALID_VALUE, NULL },
};

static void
test_build_refused (gconstpointer data)
{
  const BadBuildCase *c = data;
  g_autoptr (AmgwSignal) s = signal_from_case (&build_cases[c->base]);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  c->spoil (s);
  json = amgw_signal_to_json (s, &error);
  g_assert_null (json);
  g_assert_error (error, AMGW_WIRE_ERROR, (gint) c->code);
  if (c->message_part != NULL && strstr (error->message, c->message_part) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, c->message_part);
}

/* A session id of exactly the ceiling is fine. */
static void
test_build_session_id_ceiling (void)
{
  g_autofree char *sid = g_strnfill (AMGW_MAX_SESSION_ID_LEN, 'z');
  g_autoptr (AmgwSignal) s = amgw_signal_new (AMGW_SIGNAL_CALL_RINGING, sid);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = amgw_signal_to_json (s, &error);

  g_assert_no_error (error);
  g_assert_nonnull (json);
}

/* ---- names ----------------------------------------------------------------- */

static void
test_names (void)
{
  AmgwSignalType t;
  AmgwSdpType sdp;
  AmgwRenegotiation r;
  AmgwResultCode c;

  for (int i = 0; i < AMGW_SIGNAL_N; i++) {
    g_autofree char *full = g_strconcat (AMGW_SIGNAL_TYPE_PREFIX, amgw_signal_type_name (i), NULL);
    g_assert_true (amgw_signal_type_from_name (amgw_signal_type_name (i), &t));
    g_assert_cmpint (t, ==, i);
    t = AMGW_SIGNAL_N;
    g_assert_true (amgw_signal_type_from_name (full, &t));
    g_assert_cmpint (t, ==, i);
  }
  g_assert_cmpstr (amgw_signal_type_name (AMGW_SIGNAL_CALL_RINGING), ==, "CallRinging");
  g_assert_null (amgw_signal_type_name (AMGW_SIGNAL_N));
  g_assert_null (amgw_signal_type_name ((AmgwSignalType) -1));
  g_assert_false (amgw_signal_type_from_name ("callringing", &t));
  g_assert_false (amgw_signal_type_from_name ("Alexa.Comms.CallSignaling.", &t));
  g_assert_false (amgw_signal_type_from_name ("Alexa.Comms.CallSignaling.Alexa.Comms.CallSignaling.CallRinging", &t));
  g_assert_false (amgw_signal_type_from_name (NULL, &t));
  g_assert_false (amgw_signal_type_from_name ("", &t));

  g_assert_true (amgw_sdp_type_from_name ("ANSWER", &sdp));
  g_assert_cmpint (sdp, ==, AMGW_SDP_ANSWER);
  g_assert_cmpstr (amgw_sdp_type_name (AMGW_SDP_OFFER), ==, "OFFER");
  g_assert_null (amgw_sdp_type_name (AMGW_SDP_NONE));
  g_assert_false (amgw_sdp_type_from_name ("offer", &sdp));
  g_assert_true (amgw_renegotiation_from_name ("CALL_RESUME", &r));
  g_assert_cmpint (r, ==, AMGW_RENEGOTIATION_CALL_RESUME);
  g_assert_cmpstr (amgw_renegotiation_name (AMGW_RENEGOTIATION_CALL_UPDATE), ==, "CALL_UPDATE");
  g_assert_null (amgw_renegotiation_name (AMGW_RENEGOTIATION_NONE));
  g_assert_true (amgw_result_code_from_name ("SESSION_TIMEOUT", &c));
  g_assert_cmpint (c, ==, AMGW_RESULT_SESSION_TIMEOUT);
  g_assert_cmpstr (amgw_result_code_name (AMGW_RESULT_UNAUTHORIZED), ==, "UNAUTHORIZED");
  g_assert_false (amgw_result_code_from_name ("NONE", &c));
  g_assert_cmpstr (amgw_directive_kind_name (AMGW_DIRECTIVE_JOIN_MEETING), ==, "JoinMeeting");
  g_assert_cmpstr (amgw_directive_kind_name (AMGW_DIRECTIVE_UNKNOWN), ==, "Unknown");
}

/* ---- parsing events (WIRE.md section 2) ------------------------------------ */

/* A custom-skill request envelope as the skill forwards it. */
static char *
envelope (const char *request)
{
  return g_strdup_printf ("{\"version\": \"1.0\","
      " \"session\": {\"new\": true, \"sessionId\": \"amzn1.echo-api.session.0001\","
      "  \"application\": {\"applicationId\": \"amzn1.ask.skill.0001\"},"
      "  \"user\": {\"userId\": \"amzn1.ask.account.AAAA\"}},"
      " \"context\": {\"System\": {\"application\": {\"applicationId\": \"amzn1.ask.skill.0001\"},"
      "  \"user\": {\"userId\": \"amzn1.ask.account.AAAA\"},"
      "  \"device\": {\"deviceId\": \"amzn1.ask.device.0001\", \"supportedInterfaces\": {}},"
      "  \"apiEndpoint\": \"https://api.amazonalexa.com\", \"apiAccessToken\": \"eyJ0eXAiOiJKV1Qi\"}},"
      " \"request\": %s}", request);
}

typedef struct {
  const char *name;
  const char *request;
  AmgwSignalType type;
  AmgwSdpType sdp_type;
  const char *sdp;
  AmgwRenegotiation renegotiation;
  AmgwResultCode code;
  const char *message;
  guint n_participants;
  const char *caller_name;
} EventCase;

#define REQ(type, rest) \
  "{\"type\": \"Alexa.Comms.CallSignaling." type "\", \"requestId\": \"amzn1.echo-api.request.1\"," \
  " \"timestamp\": \"2024-10-31T12:00:00Z\", \"locale\": \"en-US\", \"sessionId\": \"" SID "\"" rest "}"

static const EventCase event_cases[] = {
  { "InitiateOutboundCall",
    REQ ("InitiateOutboundCall", ", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"" SDP_OFFER_JSON "\"},"
        " \"participants\": [{\"id\": {\"type\": \"COMMUNICATION_PROFILE_ID\", \"value\": \"amzn1.comms.id.person.abc\"}, \"isOriginator\": true},"
        " {\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"+15555550123\"}, \"isOriginator\": false}]"),
    AMGW_SIGNAL_INITIATE_OUTBOUND_CALL, AMGW_SDP_OFFER, SDP_OFFER, 0, 0, NULL, 2, NULL },
  { "InitiateOutboundCall-callerName-unknown-type",
    REQ ("InitiateOutboundCall", ", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"" SDP_OFFER_JSON "\"},"
        " \"participants\": [{\"id\": {\"type\": \"FUTURE_TYPE\", \"value\": \"x\"}, \"isOriginator\": true},"
        " {\"id\": {\"type\": \"RAW_ADDRESS\", \"value\": \"sip:room@bridge.example\"}}],"
        " \"customParams\": {\"callerName\": \"Ann\\tB.\"}"),
    AMGW_SIGNAL_INITIATE_OUTBOUND_CALL, AMGW_SDP_OFFER, SDP_OFFER, 0, 0, NULL, 1, "Ann B." },
  { "CallRinging", REQ ("CallRinging", ""), AMGW_SIGNAL_CALL_RINGING, 0, NULL, 0, 0, NULL, 0, NULL },
  { "CallInProgress",
    REQ ("CallInProgress", ", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"" SDP_ANSWER_JSON "\"}"),
    AMGW_SIGNAL_CALL_IN_PROGRESS, AMGW_SDP_ANSWER, SDP_ANSWER, 0, 0, NULL, 0, NULL },
  { "CallAccepted",
    REQ ("CallAccepted", ", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"" SDP_ANSWER_JSON "\"}"),
    AMGW_SIGNAL_CALL_ACCEPTED, AMGW_SDP_ANSWER, SDP_ANSWER, 0, 0, NULL, 0, NULL },
  { "CallRingingAck", REQ ("CallRingingAck", ""), AMGW_SIGNAL_CALL_RINGING_ACK, 0, NULL, 0, 0, NULL, 0, NULL },
  { "CallInProgressAck", REQ ("CallInProgressAck", ""), AMGW_SIGNAL_CALL_IN_PROGRESS_ACK, 0, NULL, 0, 0, NULL, 0, NULL },
  { "CallAcceptedAck", REQ ("CallAcceptedAck", ""), AMGW_SIGNAL_CALL_ACCEPTED_ACK, 0, NULL, 0, 0, NULL, 0, NULL },
  { "CallUpdateAck", REQ ("CallUpdateAck", ""), AMGW_SIGNAL_CALL_UPDATE_ACK, 0, NULL, 0, 0, NULL, 0, NULL },
  { "CallUpdate",
    REQ ("CallUpdate", ", \"renegotiationType\": \"CALL_UPDATE\","
        " \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"" SDP_OFFER_JSON "\"}"),
    AMGW_SIGNAL_CALL_UPDATE, AMGW_SDP_OFFER, SDP_OFFER, AMGW_RENEGOTIATION_CALL_UPDATE, 0, NULL, 0, NULL },
  { "CallUpdateResponse",
    REQ ("CallUpdateResponse", ", \"renegotiationType\": \"CALL_HOLD\","
        " \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"" SDP_ANSWER_JSON "\"}"),
    AMGW_SIGNAL_CALL_UPDATE_RESPONSE, AMGW_SDP_ANSWER, SDP_ANSWER, AMGW_RENEGOTIATION_CALL_HOLD, 0, NULL, 0, NULL },
  { "CallEnded",
    REQ ("CallEnded", ", \"callResult\": {\"code\": \"SESSION_TIMEOUT\", \"message\": \"no answer\"}"),
    AMGW_SIGNAL_CALL_ENDED, 0, NULL, 0, AMGW_RESULT_SESSION_TIMEOUT, "no answer", 0, NULL },
  { "CallEnded-unknown-code",
    REQ ("CallEnded", ", \"callResult\": {\"code\": \"CALLEE_DECLINED\"}"),
    AMGW_SIGNAL_CALL_ENDED, 0, NULL, 0, AMGW_RESULT_INTERNAL_ERROR, NULL, 0, NULL },
  { "CallEnded-message-with-newline",
    REQ ("CallEnded", ", \"callResult\": {\"code\": \"SUCCESS\", \"message\": \"a\\nb\"}"),
    AMGW_SIGNAL_CALL_ENDED, 0, NULL, 0, AMGW_RESULT_SUCCESS, "a b", 0, NULL },
  { "short-type-name", "{\"type\": \"CallRinging\", \"sessionId\": \"" SID "\"}",
    AMGW_SIGNAL_CALL_RINGING, 0, NULL, 0, 0, NULL, 0, NULL },
  { "unknown-fields-ignored",
    REQ ("CallAccepted", ", \"future\": {\"deep\": [1, 2, {\"x\": null}]}, \"sdpDetails\": {\"type\": \"ANSWER\","
        " \"value\": \"" SDP_ANSWER_JSON "\", \"ice\": \"trickle?\"}, \"participants\": 7"),
    AMGW_SIGNAL_CALL_ACCEPTED, AMGW_SDP_ANSWER, SDP_ANSWER, 0, 0, NULL, 0, NULL },
};

static void
test_parse_event (gconstpointer data)
{
  const EventCase *c = data;
  g_autofree char *body = envelope (c->request);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSignal) s = amgw_signal_parse_event (body, strlen (body), &error);

  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_cmpint (s->type, ==, c->type);
  g_assert_cmpstr (s->session_id, ==, SID);
  g_assert_cmpint (s->sdp_type, ==, c->sdp_type);
  g_assert_cmpstr (s->sdp, ==, c->sdp);
  g_assert_cmpint (s->renegotiation, ==, c->renegotiation);
  g_assert_cmpint (s->result_code, ==, c->code);
  g_assert_cmpstr (s->result_message, ==, c->message);
  g_assert_cmpuint (s->participants ? s->participants->len : 0, ==, c->n_participants);
  g_assert_cmpstr (s->caller_name, ==, c->caller_name);

  /* What parses can be written again (partner-side types). */
  if (s->type != AMGW_SIGNAL_INITIATE_OUTBOUND_CALL) {
    g_autoptr (GError) error2 = NULL;
    g_autofree char *json = amgw_signal_to_json (s, &error2);
    g_assert_no_error (error2);
    g_assert_nonnull (json);
  }
}

static void
test_parse_outbound_details (void)
{
  g_autofree char *body = envelope (event_cases[0].request);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSignal) s = amgw_signal_parse_event (body, strlen (body), &error);
  AmgwParticipant *caller, *callee;

  g_assert_no_error (error);
  caller = g_ptr_array_index (s->participants, 0);
  callee = g_ptr_array_index (s->participants, 1);
  g_assert_cmpint (caller->type, ==, AMGW_ADDRESS_COMMUNICATION_PROFILE_ID);
  g_assert_cmpstr (caller->value, ==, "amzn1.comms.id.person.abc");
  g_assert_true (caller->is_originator);
  g_assert_cmpint (callee->type, ==, AMGW_ADDRESS_PHONE_NUMBER);
  g_assert_cmpstr (callee->value, ==, "+15555550123");
  g_assert_false (callee->is_originator);
}

/* Built messages read back as events (same layout as "request"). */
static void
test_round_trip (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (build_cases); i++) {
    const BuildCase *c = &build_cases[i];
    g_autoptr (AmgwSignal) s = signal_from_case (c);
    g_autofree char *json = amgw_signal_to_json (s, NULL);
    g_autofree char *body = envelope (json);
    g_autoptr (GError) error = NULL;
    g_autoptr (AmgwSignal) back = NULL;

    if (c->type == AMGW_SIGNAL_INITIATE_INBOUND_CALL)
      continue;   /* Alexa never sends it */
    back = amgw_signal_parse_event (body, strlen (body), &error);
    g_assert_no_error (error);
    g_assert_cmpint (back->type, ==, s->type);
    g_assert_cmpstr (back->session_id, ==, s->session_id);
    g_assert_cmpstr (back->sdp, ==, s->sdp);
    g_assert_cmpint (back->renegotiation, ==, s->renegotiation);
    g_assert_cmpint (back->result_code, ==, s->result_code);
    g_assert_cmpstr (back->result_message, ==, s->result_message);
  }
}

typedef struct {
  const char *name;
  const char *body;     /* NULL: made by @make */
  gssize len;           /* -1: strlen */
  char *(*make) (gsize *len);
  AmgwWireError code;
  const char *message_part;
} BadEventCase;

static char *
make_deep (gsize *len)
{
  GString *s = g_string_new ("{\"version\": \"1.0\", \"request\": ");
  for (int i = 0; i < 10000; i++)
    g_string_append (s, "[");
  for (int i = 0; i < 10000; i++)
    g_string_append (s, "]");
  g_string_append (s, "}");
  *len = s->len;
  return g_string_free (s, FALSE);
}

static char *
make_deep_objects (gsize *len)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 10000; i++)
    g_string_append (s, "{\"a\":");
  g_string_append (s, "1");
  for (int i = 0; i < 10000; i++)
    g_string_append (s, "}");
  *len = s->len;
  return g_string_free (s, FALSE);
}

/* Brackets inside strings do not count as nesting. */
static char *
make_brackets_in_string (gsize *len)
{
  g_autofree char *many = g_strnfill (5000, '[');
  g_autofree char *request = g_strdup_printf (REQ ("CallRinging", ", \"note\": \"%s\\\"{{{\""), many);
  char *body = envelope (request);
  *len = strlen (body);
  return body;
}

static char *
make_huge_body (gsize *len)
{
  g_autofree char *pad = g_strnfill (AMGW_MAX_EVENT_BYTES, 'x');
  g_autofree char *request = g_strdup_printf (REQ ("CallRinging", ", \"pad\": \"%s\""), pad);
  char *body = envelope (request);
  *len = strlen (body);
  return body;
}

static char *
make_huge_sdp (gsize *len)
{
  g_autofree char *sdp = g_strnfill (AMGW_MAX_SDP_BYTES + 1, 'a');
  g_autofree char *request = g_strdup_printf (REQ ("CallAccepted",
      ", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"%s\"}"), sdp);
  char *body = envelope (request);
  *len = strlen (body);
  return body;
}

static char *
make_huge_session_id (gsize *len)
{
  g_autofree char *sid = g_strnfill (AMGW_MAX_SESSION_ID_LEN + 1, 's');
  char *body = g_strdup_printf ("{\"request\": {\"type\": \"CallRinging\", \"sessionId\": \"%s\"}}", sid);
  *len = strlen (body);
  return body;
}

static char *
make_nine_participants (gsize *len)
{
  GString *p = g_string_new ("[");
  for (int i = 0; i < 9; i++)
    g_string_append_printf (p, "%s{\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"+1555555010%d\"}}",
        i ? "," : "", i);
  g_string_append (p, "]");
  g_autofree char *parts = g_string_free (p, FALSE);
  g_autofree char *request = g_strdup_printf (REQ ("InitiateOutboundCall",
      ", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": %s"), parts);
  char *body = envelope (request);
  *len = strlen (body);
  return body;
}

#define EMBEDDED_NUL_EVENT "{\"request\": {\"type\": \"CallRinging\", \"sessionId\": \"a\0b\"}}"
#define NUL_AFTER_DOCUMENT "{}\0garbage"
#define EV(json) "{\"version\": \"1.0\", \"request\": " json "}"

static const BadEventCase bad_event_cases[] = {
  { "empty", "", -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, "empty" },
  { "whitespace", "  \n ", -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, NULL },
  { "not-json", "hello", -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, NULL },
  { "truncated", "{\"request\": {\"type\": \"CallRinging\"", -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, NULL },
  { "trailing-garbage", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a\"}") " x", -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, NULL },
  { "two-documents", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a\"}") "{}", -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, NULL },
  { "array", "[1, 2]", -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, "object" },
  { "string", "\"CallRinging\"", -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, NULL },
  { "null", "null", -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, NULL },
  { "number", "42", -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, NULL },
  { "no-request", "{\"version\": \"1.0\"}", -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request" },
  { "request-null", "{\"request\": null}", -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request" },
  { "request-string", "{\"request\": \"CallRinging\"}", -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request" },
  { "version-number", "{\"version\": 1, \"request\": {\"type\": \"CallRinging\", \"sessionId\": \"a\"}}", -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, NULL },
  { "context-array", "{\"context\": [], \"request\": {\"type\": \"CallRinging\", \"sessionId\": \"a\"}}", -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, NULL },
  { "no-type", EV ("{\"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.type" },
  { "type-number", EV ("{\"type\": 3, \"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request.type" },
  { "unknown-type", EV ("{\"type\": \"Alexa.Comms.CallSignaling.CallTransferred\", \"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, "CallTransferred" },
  { "other-namespace", EV ("{\"type\": \"LaunchRequest\", \"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, NULL },
  { "inbound-is-ours", EV ("{\"type\": \"Alexa.Comms.CallSignaling.InitiateInboundCall\", \"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_EVENT, "InitiateInboundCall" },
  { "no-session-id", EV ("{\"type\": \"CallRinging\"}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.sessionId" },
  { "session-id-null", EV ("{\"type\": \"CallRinging\", \"sessionId\": null}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.sessionId" },
  { "session-id-empty", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"\"}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.sessionId" },
  { "session-id-number", EV ("{\"type\": \"CallRinging\", \"sessionId\": 12}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request.sessionId" },
  { "session-id-space", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a b\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "request.sessionId" },
  { "session-id-quote", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a\\\"b\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "request.sessionId" },
  { "session-id-control", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a\\u0001b\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "request.sessionId" },
  { "session-id-unicode", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"caf\xc3\xa9\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "request.sessionId" },
  { "session-id-huge", NULL, 0, make_huge_session_id, AMGW_WIRE_ERROR_TOO_BIG, "request.sessionId" },
  { "session-id-escaped-nul", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"ab\\u0000cd\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, "NUL" },
  { "accepted-offer", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "request.sdpDetails.type: expected \"ANSWER\" for CallAccepted" },
  { "accepted-no-sdp", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.sdpDetails" },
  { "accepted-sdp-string", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\", \"sdpDetails\": \"v=0\"}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request.sdpDetails" },
  { "accepted-sdp-value-null", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": null}}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.sdpDetails.value" },
  { "accepted-sdp-value-array", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": [\"v=0\"]}}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request.sdpDetails.value" },
  { "accepted-sdp-lowercase", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"answer\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, NULL },
  { "accepted-sdp-binary", EV ("{\"type\": \"CallAccepted\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"v=0\\u0007\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "request.sdpDetails.value" },
  { "accepted-sdp-huge", NULL, 0, make_huge_sdp, AMGW_WIRE_ERROR_TOO_BIG, "request.sdpDetails.value" },
  { "in-progress-offer", EV ("{\"type\": \"CallInProgress\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "for CallInProgress" },
  { "outbound-answer", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"v=0\"}, \"participants\": [{\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"1\"}}]}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "for InitiateOutboundCall" },
  { "outbound-no-participants", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "participants" },
  { "outbound-participants-object", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": {}}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "participants" },
  { "outbound-only-originator", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": [{\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"1\"}, \"isOriginator\": true}]}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "callee" },
  { "outbound-participant-number", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": [5]}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "participants[0]" },
  { "outbound-originator-string", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": [{\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"1\"}, \"isOriginator\": \"false\"}]}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "isOriginator" },
  { "outbound-value-missing", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": [{\"id\": {\"type\": \"PHONE_NUMBER\"}}]}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "participants[0].id.value" },
  { "outbound-nine", NULL, 0, make_nine_participants, AMGW_WIRE_ERROR_TOO_BIG, "participants" },
  { "outbound-caller-name-number", EV ("{\"type\": \"InitiateOutboundCall\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}, \"participants\": [{\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"1\"}}], \"customParams\": {\"callerName\": 1}}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "callerName" },
  { "update-no-renegotiation", EV ("{\"type\": \"CallUpdate\", \"sessionId\": \"a\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "renegotiationType" },
  { "update-bad-renegotiation", EV ("{\"type\": \"CallUpdate\", \"sessionId\": \"a\", \"renegotiationType\": \"CALL_MUTE\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "renegotiationType" },
  { "update-answer", EV ("{\"type\": \"CallUpdate\", \"sessionId\": \"a\", \"renegotiationType\": \"CALL_HOLD\", \"sdpDetails\": {\"type\": \"ANSWER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "for CallUpdate" },
  { "update-response-offer", EV ("{\"type\": \"CallUpdateResponse\", \"sessionId\": \"a\", \"renegotiationType\": \"CALL_HOLD\", \"sdpDetails\": {\"type\": \"OFFER\", \"value\": \"v=0\"}}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, "for CallUpdateResponse" },
  { "ended-no-result", EV ("{\"type\": \"CallEnded\", \"sessionId\": \"a\"}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.callResult" },
  { "ended-result-string", EV ("{\"type\": \"CallEnded\", \"sessionId\": \"a\", \"callResult\": \"SUCCESS\"}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request.callResult" },
  { "ended-no-code", EV ("{\"type\": \"CallEnded\", \"sessionId\": \"a\", \"callResult\": {}}"), -1, NULL, AMGW_WIRE_ERROR_MISSING_FIELD, "request.callResult.code" },
  { "ended-code-bool", EV ("{\"type\": \"CallEnded\", \"sessionId\": \"a\", \"callResult\": {\"code\": true}}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "request.callResult.code" },
  { "ended-message-number", EV ("{\"type\": \"CallEnded\", \"sessionId\": \"a\", \"callResult\": {\"code\": \"SUCCESS\", \"message\": 5}}"), -1, NULL, AMGW_WIRE_ERROR_WRONG_TYPE, "message" },
  { "non-utf8", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a\xff\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, "UTF-8" },
  { "overlong-utf8", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"\xc0\xaf\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, "UTF-8" },
  { "lone-surrogate", EV ("{\"type\": \"CallRinging\", \"sessionId\": \"a\", \"x\": \"\\ud800\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, NULL },
  { "embedded-nul", EMBEDDED_NUL_EVENT, sizeof (EMBEDDED_NUL_EVENT) - 1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, "NUL" },
  { "nul-after-document", NUL_AFTER_DOCUMENT, sizeof (NUL_AFTER_DOCUMENT) - 1, NULL, AMGW_WIRE_ERROR_INVALID_JSON, "NUL" },
  { "deep-arrays", NULL, 0, make_deep, AMGW_WIRE_ERROR_INVALID_JSON, "nesting" },
  { "deep-objects", NULL, 0, make_deep_objects, AMGW_WIRE_ERROR_INVALID_JSON, "nesting" },
  { "too-big", NULL, 0, make_huge_body, AMGW_WIRE_ERROR_TOO_BIG, NULL },
  { "brackets-in-string-parse", NULL, 0, make_brackets_in_string, 0, NULL },
};

static void
test_parse_event_refused (gconstpointer data)
{
  const BadEventCase *c = data;
  g_autofree char *made = NULL;
  const char *body = c->body;
  gsize len = c->len < 0 ? strlen (c->body) : (gsize) c->len;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSignal) s = NULL;

  if (c->make != NULL)
    body = made = c->make (&len);
  s = amgw_signal_parse_event (body, len, &error);
  if (c->make == make_brackets_in_string) {
    /* Not an error case: it must parse despite 5000 '[' in a string. */
    g_assert_no_error (error);
    g_assert_nonnull (s);
    return;
  }
  g_assert_null (s);
  g_assert_error (error, AMGW_WIRE_ERROR, (gint) c->code);
  if (c->message_part != NULL && strstr (error->message, c->message_part) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, c->message_part);
}

static void
test_parse_event_null_body (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSignal) s = amgw_signal_parse_event (NULL, 0, &error);

  g_assert_null (s);
  g_assert_error (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_JSON);
  /* And without a GError. */
  g_assert_null (amgw_signal_parse_event ("[", 1, NULL));
}

/* Member names are case-sensitive; a duplicate member: the first one counts. */
static void
test_parse_event_member_names (void)
{
  const char *body = EV ("{\"Type\": \"CallAccepted\", \"type\": \"CallRinging\", \"type\": \"CallEnded\", \"sessionId\": \"a\"}");
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSignal) s = amgw_signal_parse_event (body, strlen (body), &error);

  g_assert_no_error (error);
  g_assert_cmpint (s->type, ==, AMGW_SIGNAL_CALL_RINGING);
}

/* ---- directives (WIRE.md section 3, seed 004 verbatim) ---------------------- */

static const char seed_join_meeting[] =
  "{\n"
  "    \"directive\": {\n"
  "        \"endpoint\": {\n"
  "            \"endpointId\": \"applianceId\",\n"
  "            \"cookie\": {},\n"
  "            \"scope\": {\n"
  "                \"type\": \"BearerTokenWithPartition\",\n"
  "                \"token\": \"access-token-from-skill\",\n"
  "                \"partition\": \"room101\",\n"
  "                \"userId\": \"<user_id>\"\n"
  "            }\n"
  "        },\n"
  "        \"header\": {\n"
  "            \"namespace\": \"Alexa.MeetingClientController\",\n"
  "            \"name\": \"JoinMeeting\",\n"
  "            \"messageId\": \"15d0ec9d-801d-4f51-9321-206510d64d9c\",\n"
  "            \"payloadVersion\": \"3\",\n"
  "            \"correlationToken\": \"<correlation_token>\"\n"
  "        },\n"
  "        \"payload\": {\n"
  "            \"meeting\": {\n"
  "                \"id\": \"1234567\",\n"
  "                \"pin\": \"7654321\",\n"
  "                \"endpoint\": \"54.19.29.39\",\n"
  "                \"protocol\": \"sip\",\n"
  "                \"provider\": \"chime\"\n"
  "            }\n"
  "        }\n"
  "    }\n"
  "}\n";

static const char seed_end_meeting[] =
  "{\n"
  "    \"directive\": {\n"
  "        \"endpoint\": {\n"
  "            \"endpointId\": \"applianceId\",\n"
  "            \"cookie\": {},\n"
  "            \"scope\": {\n"
  "                \"type\": \"BearerTokenWithPartition\",\n"
  "                \"token\": \"access-token-from-skill\",\n"
  "                \"partition\": \"room101\",\n"
  "                \"userId\": \"<user_id>\"\n"
  "            }\n"
  "        },\n"
  "        \"header\": {\n"
  "            \"namespace\": \"Alexa.MeetingClientController\",\n"
  "            \"name\": \"EndMeeting\",\n"
  "            \"messageId\": \"15d0ec9d-801d-4f51-9321-206510d64d9c\",\n"
  "            \"payloadVersion\": \"3\",\n"
  "            \"correlationToken\": \"<correlation_token>\"\n"
  "        },\n"
  "        \"payload\": {}\n"
  "    }\n"
  "}\n";

static const char seed_join_scheduled_meeting[] =
  "{\n"
  "    \"directive\": {\n"
  "        \"endpoint\": {\n"
  "            \"endpointId\": \"applianceId\",\n"
  "            \"cookie\": {},\n"
  "            \"scope\": {\n"
  "                \"type\": \"BearerTokenWithPartition\",\n"
  "                \"token\": \"access-token-from-skill\",\n"
  "                \"partition\": \"room101\"\n"
  "            }\n"
  "        },\n"
  "        \"header\": {\n"
  "            \"namespace\": \"Alexa.MeetingClientController\",\n"
  "            \"name\": \"JoinScheduledMeeting\",\n"
  "            \"messageId\": \"15d0ec9d-801d-4f51-9321-206510d64d9c\",\n"
  "            \"payloadVersion\": \"3\",\n"
  "            \"correlationToken\": \"<correlation_token>\"\n"
  "        },\n"
  "        \"payload\": {\n"
  "            \"calendarEventId\": \"1234567890\"\n"
  "        }\n"
  "    }\n"
  "}\n";

static const char discover_directive[] =
  "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Discovery\", \"name\": \"Discover\","
  " \"messageId\": \"6d1a4f2e-0b9c-4e5f-8a7b-1c2d3e4f5a6b\", \"payloadVersion\": \"3\"},"
  " \"payload\": {\"scope\": {\"type\": \"BearerToken\", \"token\": \"Atza|discover-token\"}}}}";

static const char accept_grant_directive[] =
  "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Authorization\", \"name\": \"AcceptGrant\","
  " \"messageId\": \"0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\", \"payloadVersion\": \"3\"},"
  " \"payload\": {\"grant\": {\"type\": \"OAuth2.AuthorizationCode\", \"code\": \"ANUbUKCJqlBOpMhwYWxU\"},"
  " \"grantee\": {\"type\": \"BearerToken\", \"token\": \"Atza|grantee-token\"}}}}";

static const char get_current_meeting_directive[] =
  "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\","
  " \"messageId\": \"abc-123\", \"correlationToken\": \"dFMb0z+PgpgdDmluhJ1LddFvSqZ/jCc8ptlAKulUj90jSqg==\","
  " \"payloadVersion\": \"3\"},"
  " \"endpoint\": {\"endpointId\": \"room-15.104\", \"scope\": {\"type\": \"BearerToken\", \"token\": \"tok\"}},"
  " \"payload\": {}}}";

static AmgwDirective *
parse_ok (const char *body)
{
  g_autoptr (GError) error = NULL;
  AmgwDirective *d = NULL;

  g_assert_true (amgw_directive_parse (body, strlen (body), &d, &error));
  g_assert_no_error (error);
  g_assert_nonnull (d);
  return d;
}

static void
test_directive_join_meeting_seed (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (seed_join_meeting);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_JOIN_MEETING);
  g_assert_cmpstr (d->namespace_, ==, "Alexa.MeetingClientController");
  g_assert_cmpstr (d->name, ==, "JoinMeeting");
  g_assert_cmpstr (d->message_id, ==, "15d0ec9d-801d-4f51-9321-206510d64d9c");
  g_assert_cmpstr (d->correlation_token, ==, "<correlation_token>");
  g_assert_cmpstr (d->payload_version, ==, "3");
  g_assert_cmpstr (d->endpoint_id, ==, "applianceId");
  g_assert_cmpstr (d->scope_type, ==, "BearerTokenWithPartition");
  g_assert_cmpstr (d->scope_token, ==, "access-token-from-skill");
  g_assert_cmpstr (d->scope_partition, ==, "room101");
  g_assert_cmpstr (d->scope_user_id, ==, "<user_id>");
  g_assert_cmpstr (d->meeting_id, ==, "1234567");
  g_assert_cmpstr (d->meeting_pin, ==, "7654321");
  g_assert_cmpstr (d->meeting_endpoint, ==, "54.19.29.39");
  g_assert_cmpstr (d->meeting_protocol, ==, "SIP");   /* "sip" upper-cased */
  g_assert_cmpstr (d->meeting_provider, ==, "chime");
  g_assert_null (d->calendar_event_id);
  g_assert_true (cJSON_IsObject (d->endpoint_json));
  g_assert_true (cJSON_IsObject (cJSON_GetObjectItemCaseSensitive (d->endpoint_json, "cookie")));
}

static void
test_directive_end_meeting_seed (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (seed_end_meeting);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_END_MEETING);
  g_assert_cmpstr (d->endpoint_id, ==, "applianceId");
  g_assert_cmpstr (d->scope_token, ==, "access-token-from-skill");
  g_assert_cmpstr (d->correlation_token, ==, "<correlation_token>");
  g_assert_null (d->meeting_endpoint);
}

static void
test_directive_join_scheduled_meeting_seed (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (seed_join_scheduled_meeting);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING);
  g_assert_cmpstr (d->calendar_event_id, ==, "1234567890");
  g_assert_cmpstr (d->scope_partition, ==, "room101");
  g_assert_null (d->scope_user_id);
}

static void
test_directive_discover (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (discover_directive);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_DISCOVER);
  g_assert_null (d->endpoint_id);
  g_assert_null (d->endpoint_json);
  g_assert_null (d->correlation_token);
  g_assert_cmpstr (d->scope_type, ==, "BearerToken");
  g_assert_cmpstr (d->scope_token, ==, "Atza|discover-token");
}

static void
test_directive_accept_grant (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (accept_grant_directive);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_ACCEPT_GRANT);
  g_assert_cmpstr (d->grant_type, ==, "OAuth2.AuthorizationCode");
  g_assert_cmpstr (d->grant_code, ==, "ANUbUKCJqlBOpMhwYWxU");
  g_assert_cmpstr (d->grantee_token, ==, "Atza|grantee-token");
  g_assert_null (d->endpoint_id);
}

static void
test_directive_get_current_meeting (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (get_current_meeting_directive);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_GET_CURRENT_MEETING);
  g_assert_cmpstr (d->endpoint_id, ==, "room-15.104");
  g_assert_cmpstr (d->correlation_token, ==, "dFMb0z+PgpgdDmluhJ1LddFvSqZ/jCc8ptlAKulUj90jSqg==");
}

static void
test_directive_unknown (void)
{
  const char *body = "{\"directive\": {\"header\": {\"namespace\": \"Alexa.PowerController\","
      " \"name\": \"TurnOn\", \"messageId\": \"m-1\", \"correlationToken\": \"c-1\", \"payloadVersion\": \"3\"},"
      " \"endpoint\": {\"endpointId\": \"room\", \"scope\": {\"type\": \"BearerToken\", \"token\": \"t\"}},"
      " \"payload\": {}}}";
  g_autoptr (AmgwDirective) d = parse_ok (body);

  g_assert_cmpint (d->kind, ==, AMGW_DIRECTIVE_UNKNOWN);
  g_assert_cmpstr (d->namespace_, ==, "Alexa.PowerController");
  g_assert_cmpstr (d->name, ==, "TurnOn");
  g_assert_cmpstr (d->correlation_token, ==, "c-1");
  g_assert_cmpstr (d->endpoint_id, ==, "room");
}

static void
test_directive_protocols (void)
{
  static const struct { const char *given, *expected; } cases[] = {
    { "SIP", "SIP" }, { "sip", "SIP" }, { "Sips", "SIPS" }, { "h323", "H323" }, { "H323", "H323" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *body = g_strdup_printf ("{\"directive\": {\"header\": {\"namespace\":"
        " \"Alexa.MeetingClientController\", \"name\": \"JoinMeeting\", \"messageId\": \"m\","
        " \"payloadVersion\": \"3\"}, \"endpoint\": {\"endpointId\": \"e\", \"scope\": {\"type\":"
        " \"BearerToken\", \"token\": \"t\"}}, \"payload\": {\"meeting\": {\"endpoint\":"
        " \"sip:123@meet.example\", \"protocol\": \"%s\", \"provider\": \"p\"}}}}", cases[i].given);
    g_autoptr (AmgwDirective) d = parse_ok (body);
    g_assert_cmpstr (d->meeting_protocol, ==, cases[i].expected);
    g_assert_null (d->meeting_id);
    g_assert_null (d->meeting_pin);
  }
}

typedef struct {
  const char *name;
  const char *body;       /* NULL: made by @make */
  gssize len;
  char *(*make) (gsize *len);
  AmgwWireError code;
  gboolean has_out;       /* *out set (header readable) */
  const char *correlation_token;   /* expected echo, (nullable) */
  const char *endpoint_id;         /* expected echo, (nullable) */
  const char *message_part;
} BadDirectiveCase;

#define HDR(ns, name) \
  "\"header\": {\"namespace\": \"" ns "\", \"name\": \"" name "\", \"messageId\": \"m-1\"," \
  " \"correlationToken\": \"ct\", \"payloadVersion\": \"3\"}"
#define EPT "\"endpoint\": {\"endpointId\": \"room-1\", \"scope\": {\"type\": \"BearerToken\", \"token\": \"t\"}}"
#define JOIN(meeting) \
  "{\"directive\": {" HDR ("Alexa.MeetingClientController", "JoinMeeting") ", " EPT "," \
  " \"payload\": {\"meeting\": " meeting "}}}"

static char *
make_deep_directive (gsize *len)
{
  GString *s = g_string_new ("{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting")
      ", " EPT ", \"payload\": ");
  /* 10000 levels, compact enough to stay under AMGW_MAX_DIRECTIVE_BYTES. */
  for (int i = 0; i < 10000; i++)
    g_string_append (s, "[");
  for (int i = 0; i < 10000; i++)
    g_string_append (s, "]");
  g_string_append (s, "}}");
  *len = s->len;
  return g_string_free (s, FALSE);
}

static char *
make_long_endpoint (gsize *len)
{
  g_autofree char *e = g_strnfill (AMGW_MAX_MEETING_ENDPOINT_LEN + 1, 'h');
  char *body = g_strdup_printf (JOIN ("{\"endpoint\": \"%s\", \"protocol\": \"SIP\", \"provider\": \"p\"}"), e);
  *len = strlen (body);
  return body;
}

static char *
make_long_endpoint_id (gsize *len)
{
  g_autofree char *e = g_strnfill (AMGW_MAX_ENDPOINT_ID_LEN + 1, 'e');
  char *body = g_strdup_printf ("{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting")
      ", \"endpoint\": {\"endpointId\": \"%s\", \"scope\": {\"type\": \"BearerToken\", \"token\": \"t\"}},"
      " \"payload\": {}}}", e);
  *len = strlen (body);
  return body;
}

static char *
make_long_message_id (gsize *len)
{
  g_autofree char *m = g_strnfill (AMGW_MAX_MESSAGE_ID_LEN + 1, 'm');
  char *body = g_strdup_printf ("{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\","
      " \"name\": \"GetCurrentMeeting\", \"messageId\": \"%s\", \"correlationToken\": \"ct\","
      " \"payloadVersion\": \"3\"}, " EPT ", \"payload\": {}}}", m);
  *len = strlen (body);
  return body;
}

static char *
make_huge_directive (gsize *len)
{
  g_autofree char *pad = g_strnfill (AMGW_MAX_DIRECTIVE_BYTES, ' ');
  char *body = g_strdup_printf ("{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting")
      ", " EPT ", \"payload\": {}}}%s", pad);
  *len = strlen (body);
  return body;
}

#define EMBEDDED_NUL_DIRECTIVE "{\"directive\": {\"header\": {}}}\0"

static const BadDirectiveCase bad_directive_cases[] = {
  { "empty", "", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "empty" },
  { "not-json", "directive", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, NULL },
  { "array", "[]", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "object" },
  { "no-directive", "{\"event\": {}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "directive" },
  { "directive-string", "{\"directive\": \"x\"}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, NULL },
  { "no-header", "{\"directive\": {\"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "header" },
  { "header-array", "{\"directive\": {\"header\": []}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "header" },
  { "deep", NULL, 0, make_deep_directive, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "nesting" },
  { "too-big", NULL, 0, make_huge_directive, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "limit" },
  { "non-utf8", "{\"directive\": {\"header\": {\"name\": \"\xfe\"}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "UTF-8" },
  { "embedded-nul", EMBEDDED_NUL_DIRECTIVE, sizeof (EMBEDDED_NUL_DIRECTIVE) - 1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, FALSE, NULL, NULL, "NUL" },
  { "no-namespace", "{\"directive\": {\"header\": {\"name\": \"EndMeeting\", \"correlationToken\": \"ct\"}, " EPT "}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "namespace" },
  { "name-number", "{\"directive\": {\"header\": {\"namespace\": \"Alexa\", \"name\": 5}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, NULL, NULL, "name" },
  { "no-message-id", "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\", \"payloadVersion\": \"3\", \"correlationToken\": \"ct\"}, " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "messageId" },
  { "message-id-quote", "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\", \"messageId\": \"a'b\", \"payloadVersion\": \"3\"}, " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, NULL, "room-1", "messageId" },
  { "message-id-long", NULL, 0, make_long_message_id, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "messageId" },
  { "payload-version-2", "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\", \"messageId\": \"m\", \"payloadVersion\": \"2\"}, " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, NULL, "room-1", "payloadVersion" },
  { "payload-version-number", "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\", \"messageId\": \"m\", \"payloadVersion\": 3}, " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, NULL, "room-1", "payloadVersion" },
  { "correlation-token-number", "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\", \"messageId\": \"m\", \"correlationToken\": 7, \"payloadVersion\": \"3\"}, " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, NULL, "room-1", "correlationToken" },
  { "correlation-token-newline", "{\"directive\": {\"header\": {\"namespace\": \"Alexa.Calendar\", \"name\": \"GetCurrentMeeting\", \"messageId\": \"m\", \"correlationToken\": \"a\\nb\", \"payloadVersion\": \"3\"}, " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, NULL, "room-1", "correlationToken" },
  { "no-payload", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", " EPT "}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "payload" },
  { "payload-array", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", " EPT ", \"payload\": []}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "payload" },
  { "no-endpoint", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "endpoint" },
  { "endpoint-null", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": null, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "endpoint" },
  { "no-endpoint-id", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": {\"scope\": {\"type\": \"BearerToken\", \"token\": \"t\"}}, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "endpointId" },
  { "endpoint-id-long", NULL, 0, make_long_endpoint_id, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "endpointId" },
  { "endpoint-id-quote", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": {\"endpointId\": \"a\\\"b\", \"scope\": {\"type\": \"BearerToken\", \"token\": \"t\"}}, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "endpointId" },
  { "no-scope", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": {\"endpointId\": \"room-1\"}, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "scope" },
  { "scope-type-unknown", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": {\"endpointId\": \"room-1\", \"scope\": {\"type\": \"Basic\", \"token\": \"t\"}}, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "scope.type" },
  { "scope-no-token", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": {\"endpointId\": \"room-1\", \"scope\": {\"type\": \"BearerToken\"}}, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "scope.token" },
  { "scope-token-number", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "EndMeeting") ", \"endpoint\": {\"endpointId\": \"room-1\", \"scope\": {\"type\": \"BearerToken\", \"token\": 12345}}, \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "scope.token" },
  { "discover-no-scope", "{\"directive\": {" HDR ("Alexa.Discovery", "Discover") ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "payload.scope" },
  { "join-no-meeting", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "JoinMeeting") ", " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "meeting" },
  { "join-no-endpoint", JOIN ("{\"protocol\": \"SIP\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-no-protocol", JOIN ("{\"endpoint\": \"h\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "meeting.protocol" },
  { "join-no-provider", JOIN ("{\"endpoint\": \"h\", \"protocol\": \"SIP\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "meeting.provider" },
  { "join-protocol-number", JOIN ("{\"endpoint\": \"h\", \"protocol\": 5060, \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "meeting.protocol" },
  { "join-id-number", JOIN ("{\"endpoint\": \"h\", \"protocol\": \"SIP\", \"provider\": \"p\", \"id\": 1234567}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "meeting.id" },
  { "join-protocol-webrtc", JOIN ("{\"endpoint\": \"h\", \"protocol\": \"WEBRTC\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.protocol" },
  { "join-protocol-empty", JOIN ("{\"endpoint\": \"h\", \"protocol\": \"\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.protocol" },
  { "join-endpoint-empty", JOIN ("{\"endpoint\": \"\", \"protocol\": \"SIP\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-endpoint-space", JOIN ("{\"endpoint\": \"sip:a b@c\", \"protocol\": \"SIP\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-endpoint-crlf", JOIN ("{\"endpoint\": \"h\\r\\nVia: x\", \"protocol\": \"SIP\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-endpoint-quote", JOIN ("{\"endpoint\": \"h\\\"\", \"protocol\": \"SIP\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-endpoint-nbsp", JOIN ("{\"endpoint\": \"h\\u00a0x\", \"protocol\": \"SIP\", \"provider\": \"p\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-endpoint-long", NULL, 0, make_long_endpoint, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.endpoint" },
  { "join-pin-control", JOIN ("{\"endpoint\": \"h\", \"protocol\": \"SIP\", \"provider\": \"p\", \"pin\": \"12\\u001b34\"}"), -1, NULL, AMGW_WIRE_ERROR_INVALID_VALUE, TRUE, "ct", "room-1", "meeting.pin" },
  { "scheduled-no-event-id", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "JoinScheduledMeeting") ", " EPT ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "calendarEventId" },
  { "scheduled-event-id-number", "{\"directive\": {" HDR ("Alexa.MeetingClientController", "JoinScheduledMeeting") ", " EPT ", \"payload\": {\"calendarEventId\": 1234567890}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", "room-1", "calendarEventId" },
  { "grant-no-grant", "{\"directive\": {" HDR ("Alexa.Authorization", "AcceptGrant") ", \"payload\": {}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "grant" },
  { "grant-wrong-type", "{\"directive\": {" HDR ("Alexa.Authorization", "AcceptGrant") ", \"payload\": {\"grant\": {\"type\": \"OAuth2.Implicit\", \"code\": \"c\"}}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "grant.type" },
  { "grant-no-code", "{\"directive\": {" HDR ("Alexa.Authorization", "AcceptGrant") ", \"payload\": {\"grant\": {\"type\": \"OAuth2.AuthorizationCode\"}}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "grant.code" },
  { "grantee-string", "{\"directive\": {" HDR ("Alexa.Authorization", "AcceptGrant") ", \"payload\": {\"grant\": {\"type\": \"OAuth2.AuthorizationCode\", \"code\": \"c\"}, \"grantee\": \"t\"}}}", -1, NULL, AMGW_WIRE_ERROR_INVALID_DIRECTIVE, TRUE, "ct", NULL, "grantee" },
};

static void
test_directive_refused (gconstpointer data)
{
  const BadDirectiveCase *c = data;
  g_autofree char *made = NULL;
  const char *body = c->body;
  gsize len = c->len < 0 ? strlen (c->body) : (gsize) c->len;
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwDirective) d = NULL;
  g_autofree char *answer = NULL;
  g_autoptr (TestJson) json = NULL;
  const cJSON *header;

  if (c->make != NULL)
    body = made = c->make (&len);
  g_assert_false (amgw_directive_parse (body, len, &d, &error));
  g_assert_error (error, AMGW_WIRE_ERROR, (gint) c->code);
  if (c->message_part != NULL && strstr (error->message, c->message_part) == NULL)
    g_error ("message \"%s\" lacks \"%s\"", error->message, c->message_part);
  /* Tokens never appear in messages. */
  g_assert_null (strstr (error->message, "\"t\""));
  g_assert_cmpint (d != NULL, ==, c->has_out);
  if (d == NULL)
    return;
  g_assert_cmpstr (d->correlation_token, ==, c->correlation_token);
  g_assert_cmpstr (d->endpoint_id, ==, c->endpoint_id);

  /* The partial directive is enough for an ErrorResponse. */
  answer = amgw_error_response_build (d, "INVALID_DIRECTIVE", error->message);
  json = cJSON_Parse (answer);
  g_assert_nonnull (json);
  header = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (json, "event"), "header");
  if (c->correlation_token != NULL)
    g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (header, "correlationToken")), ==,
        c->correlation_token);
  else
    g_assert_null (cJSON_GetObjectItemCaseSensitive (header, "correlationToken"));
}

/* Every prefix of a valid directive fails cleanly (or, for the whole, succeeds). */
static void
test_directive_prefixes (void)
{
  gsize n = strlen (seed_join_meeting);

  for (gsize i = 0; i <= n; i++) {
    g_autoptr (AmgwDirective) d = NULL;
    g_autoptr (GError) error = NULL;
    gboolean ok = amgw_directive_parse (seed_join_meeting, i, &d, &error);
    /* The text ends "}\n": only the last two lengths are whole documents. */
    g_assert_cmpint (ok, ==, i >= n - 1);
    g_assert_true (ok == (error == NULL));
  }
}

/* ---- answers ---------------------------------------------------------------- */

static const cJSON *
path (const cJSON *root, const char *dotted)
{
  g_auto (GStrv) parts = g_strsplit (dotted, ".", -1);
  const cJSON *at = root;

  for (guint i = 0; parts[i] != NULL && at != NULL; i++)
    at = cJSON_GetObjectItemCaseSensitive (at, parts[i]);
  return at;
}

static const char *
path_string (const cJSON *root, const char *dotted)
{
  return cJSON_GetStringValue (path (root, dotted));
}

static void
test_response (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (seed_join_meeting);
  g_autofree char *a = amgw_response_build (d, NULL, NULL, NULL);
  g_autofree char *b = amgw_response_build (d, "Alexa", "Response", cJSON_CreateObject ());
  g_autoptr (TestJson) ja = cJSON_Parse (a);
  g_autoptr (TestJson) jb = cJSON_Parse (b);
  g_autoptr (TestJson) scope = NULL;
  const cJSON *props;

  g_assert_nonnull (ja);
  g_assert_cmpstr (path_string (ja, "event.header.namespace"), ==, "Alexa");
  g_assert_cmpstr (path_string (ja, "event.header.name"), ==, "Response");
  g_assert_cmpstr (path_string (ja, "event.header.payloadVersion"), ==, "3");
  g_assert_cmpstr (path_string (ja, "event.header.correlationToken"), ==, "<correlation_token>");
  g_assert_true (g_uuid_string_is_valid (path_string (ja, "event.header.messageId")));
  g_assert_cmpstr (path_string (ja, "event.header.messageId"), !=, path_string (jb, "event.header.messageId"));
  g_assert_cmpstr (path_string (ja, "event.header.messageId"), !=, d->message_id);
  g_assert_cmpstr (path_string (ja, "event.endpoint.endpointId"), ==, "applianceId");
  scope = cJSON_Parse ("{\"type\": \"BearerTokenWithPartition\", \"token\": \"access-token-from-skill\","
      " \"partition\": \"room101\", \"userId\": \"<user_id>\"}");
  g_assert_true (cJSON_Compare (path (ja, "event.endpoint.scope"), scope, TRUE));
  g_assert_null (path (ja, "event.endpoint.cookie"));
  g_assert_true (cJSON_IsObject (path (ja, "event.payload")));
  g_assert_cmpint (cJSON_GetArraySize (path (ja, "event.payload")), ==, 0);
  props = path (ja, "context.properties");
  g_assert_true (cJSON_IsArray (props));
  g_assert_cmpint (cJSON_GetArraySize (props), ==, 0);
}

static void
test_response_with_payload (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (get_current_meeting_directive);
  cJSON *payload = cJSON_CreateObject ();
  g_autofree char *out = NULL;
  g_autoptr (TestJson) json = NULL;

  cJSON_AddStringToObject (payload, "organizerName", "Ann Example");
  cJSON_AddStringToObject (payload, "calendarEventId", "1234567890");
  out = amgw_response_build (d, "Alexa", "Response", payload);
  json = cJSON_Parse (out);
  g_assert_cmpstr (path_string (json, "event.payload.organizerName"), ==, "Ann Example");
  g_assert_cmpstr (path_string (json, "event.payload.calendarEventId"), ==, "1234567890");
  g_assert_cmpstr (path_string (json, "event.header.correlationToken"), ==,
      "dFMb0z+PgpgdDmluhJ1LddFvSqZ/jCc8ptlAKulUj90jSqg==");
  g_assert_cmpstr (path_string (json, "event.endpoint.endpointId"), ==, "room-15.104");
}

/* AcceptGrant.Response: no endpoint, no correlation token in the directive. */
static void
test_accept_grant_response (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (accept_grant_directive);
  g_autofree char *out = amgw_response_build (d, "Alexa.Authorization", "AcceptGrant.Response", NULL);
  g_autoptr (TestJson) json = cJSON_Parse (out);

  g_assert_cmpstr (path_string (json, "event.header.namespace"), ==, "Alexa.Authorization");
  g_assert_cmpstr (path_string (json, "event.header.name"), ==, "AcceptGrant.Response");
  g_assert_null (path (json, "event.header.correlationToken"));
  g_assert_null (path (json, "event.endpoint"));
  g_assert_null (strstr (out, "grantee-token"));
  g_assert_null (strstr (out, "ANUbUKCJqlBOpMhwYWxU"));
}

static void
test_error_response (void)
{
  g_autoptr (AmgwDirective) d = parse_ok (seed_end_meeting);
  g_autofree char *out = amgw_error_response_build (d, "NOT_IN_OPERATION", "no meeting is active");
  g_autofree char *bare = amgw_error_response_build (NULL, NULL, NULL);
  g_autofree char *long_message = g_strnfill (10000, 'x');
  g_autofree char *odd = amgw_error_response_build (NULL, "INVALID_VALUE\xff", long_message);
  g_autoptr (TestJson) json = cJSON_Parse (out);
  g_autoptr (TestJson) jbare = cJSON_Parse (bare);
  g_autoptr (TestJson) jodd = cJSON_Parse (odd);

  g_assert_cmpstr (path_string (json, "event.header.namespace"), ==, "Alexa");
  g_assert_cmpstr (path_string (json, "event.header.name"), ==, "ErrorResponse");
  g_assert_cmpstr (path_string (json, "event.header.payloadVersion"), ==, "3");
  g_assert_cmpstr (path_string (json, "event.header.correlationToken"), ==, "<correlation_token>");
  g_assert_true (g_uuid_string_is_valid (path_string (json, "event.header.messageId")));
  g_assert_cmpstr (path_string (json, "event.endpoint.endpointId"), ==, "applianceId");
  g_assert_cmpstr (path_string (json, "event.payload.type"), ==, "NOT_IN_OPERATION");
  g_assert_cmpstr (path_string (json, "event.payload.message"), ==, "no meeting is active");

  g_assert_nonnull (jbare);
  g_assert_null (path (jbare, "event.header.correlationToken"));
  g_assert_null (path (jbare, "event.endpoint"));
  g_assert_cmpstr (path_string (jbare, "event.payload.type"), ==, "INTERNAL_ERROR");
  g_assert_cmpstr (path_string (jbare, "event.payload.message"), ==, "");

  g_assert_nonnull (jodd);
  g_assert_true (g_utf8_validate (odd, -1, NULL));
  g_assert_cmpuint (strlen (path_string (jodd, "event.payload.message")), ==, AMGW_MAX_TEXT_LEN);
}

static void
test_discover_response (void)
{
  static const AmgwDiscoverEndpoint eps[] = {
    { "room-15.104", "Room 15.104", "This is a smart conferencing equipment in Meeting Room 15.104", TRUE },
    { "phone", NULL, NULL, FALSE },
  };
  static const char expected[] =
    "{\"event\": {\"header\": {\"namespace\": \"Alexa.Discovery\", \"name\": \"Discover.Response\","
    " \"payloadVersion\": \"3\"},"
    " \"payload\": {\"endpoints\": ["
    "  {\"endpointId\": \"room-15.104\", \"manufacturerName\": \"amgw\", \"friendlyName\": \"Room 15.104\","
    "   \"description\": \"This is a smart conferencing equipment in Meeting Room 15.104\","
    "   \"displayCategories\": [\"OTHER\"], \"cookie\": {},"
    "   \"capabilities\": ["
    "    {\"type\": \"AlexaInterface\", \"interface\": \"Alexa.MeetingClientController\","
    "     \"supportsScheduledMeeting\": true, \"properties\": {}, \"version\": \"1.0\"},"
    "    {\"type\": \"AlexaInterface\", \"interface\": \"Alexa.Calendar\", \"properties\": {}, \"version\": \"1.0\"},"
    "    {\"type\": \"AlexaInterface\", \"interface\": \"Alexa\", \"version\": \"3\"}]},"
    "  {\"endpointId\": \"phone\", \"manufacturerName\": \"amgw\", \"friendlyName\": \"phone\","
    "   \"description\": \"amgw meeting room phone\","
    "   \"displayCategories\": [\"OTHER\"], \"cookie\": {},"
    "   \"capabilities\": ["
    "    {\"type\": \"AlexaInterface\", \"interface\": \"Alexa.MeetingClientController\","
    "     \"supportsScheduledMeeting\": false, \"properties\": {}, \"version\": \"1.0\"},"
    "    {\"type\": \"AlexaInterface\", \"interface\": \"Alexa.Calendar\", \"properties\": {}, \"version\": \"1.0\"},"
    "    {\"type\": \"AlexaInterface\", \"interface\": \"Alexa\", \"version\": \"3\"}]}]}}}";
  g_autoptr (AmgwDirective) d = parse_ok (discover_directive);
  g_autofree char *out = amgw_discover_response_build (d, eps, G_N_ELEMENTS (eps));
  g_autofree char *none = amgw_discover_response_build (NULL, NULL, 0);
  g_autoptr (TestJson) json = cJSON_Parse (out);
  g_autoptr (TestJson) want = cJSON_Parse (expected);
  g_autoptr (TestJson) jnone = cJSON_Parse (none);
  cJSON *header = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (json, "event"), "header");

  g_assert_true (g_uuid_string_is_valid (path_string (json, "event.header.messageId")));
  cJSON_DeleteItemFromObjectCaseSensitive (header, "messageId");
  if (!cJSON_Compare (json, want, TRUE))
    g_error ("Discover.Response differs: %s", out);
  g_assert_cmpint (cJSON_GetArraySize (path (jnone, "event.payload.endpoints")), ==, 0);
}

/* Discover with a correlation token echoes it. */
static void
test_discover_response_correlation (void)
{
  const char *body = "{\"directive\": {" HDR ("Alexa.Discovery", "Discover")
      ", \"payload\": {\"scope\": {\"type\": \"BearerToken\", \"token\": \"t\"}}}}";
  g_autoptr (AmgwDirective) d = parse_ok (body);
  AmgwDiscoverEndpoint ep = { "e", "E", NULL, FALSE };
  g_autofree char *out = amgw_discover_response_build (d, &ep, 1);
  g_autoptr (TestJson) json = cJSON_Parse (out);

  g_assert_cmpstr (path_string (json, "event.header.correlationToken"), ==, "ct");
  g_assert_null (path (json, "event.endpoint"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The module is pure and needs no GStreamer; its logs are there when asked
   * for.  (gst_init leaks GLib's first quark block by design, which would
   * trip valgrind's leak check.) */
  if (g_getenv ("GST_DEBUG") != NULL)
    amgw_debug_init ();

  for (guint i = 0; i < G_N_ELEMENTS (build_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/wire/build/%s", build_cases[i].name);
    g_test_add_data_func (name, &build_cases[i], test_build);
  }
  g_test_add_func ("/wire/build/ignores-foreign-fields", test_build_ignores_foreign_fields);
  g_test_add_func ("/wire/build/session-id-ceiling", test_build_session_id_ceiling);
  for (guint i = 0; i < G_N_ELEMENTS (bad_build_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/wire/build-refused/%s", bad_build_cases[i].name);
    g_test_add_data_func (name, &bad_build_cases[i], test_build_refused);
  }
  g_test_add_func ("/wire/names", test_names);
  for (guint i = 0; i < G_N_ELEMENTS (event_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/wire/event/%s", event_cases[i].name);
    g_test_add_data_func (name, &event_cases[i], test_parse_event);
  }
  g_test_add_func ("/wire/event/outbound-details", test_parse_outbound_details);
  g_test_add_func ("/wire/event/round-trip", test_round_trip);
  g_test_add_func ("/wire/event/null-body", test_parse_event_null_body);
  g_test_add_func ("/wire/event/member-names", test_parse_event_member_names);
  for (guint i = 0; i < G_N_ELEMENTS (bad_event_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/wire/event-refused/%s", bad_event_cases[i].name);
    g_test_add_data_func (name, &bad_event_cases[i], test_parse_event_refused);
  }
  g_test_add_func ("/wire/directive/join-meeting-seed", test_directive_join_meeting_seed);
  g_test_add_func ("/wire/directive/end-meeting-seed", test_directive_end_meeting_seed);
  g_test_add_func ("/wire/directive/join-scheduled-meeting-seed", test_directive_join_scheduled_meeting_seed);
  g_test_add_func ("/wire/directive/discover", test_directive_discover);
  g_test_add_func ("/wire/directive/accept-grant", test_directive_accept_grant);
  g_test_add_func ("/wire/directive/get-current-meeting", test_directive_get_current_meeting);
  g_test_add_func ("/wire/directive/unknown", test_directive_unknown);
  g_test_add_func ("/wire/directive/protocols", test_directive_protocols);
  g_test_add_func ("/wire/directive/prefixes", test_directive_prefixes);
  for (guint i = 0; i < G_N_ELEMENTS (bad_directive_cases); i++) {
    g_autofree char *name = g_strdup_printf ("/wire/directive-refused/%s", bad_directive_cases[i].name);
    g_test_add_data_func (name, &bad_directive_cases[i], test_directive_refused);
  }
  g_test_add_func ("/wire/answer/response", test_response);
  g_test_add_func ("/wire/answer/response-with-payload", test_response_with_payload);
  g_test_add_func ("/wire/answer/accept-grant-response", test_accept_grant_response);
  g_test_add_func ("/wire/answer/error-response", test_error_response);
  g_test_add_func ("/wire/answer/discover-response", test_discover_response);
  g_test_add_func ("/wire/answer/discover-response-correlation", test_discover_response_correlation);

  return g_test_run ();
}
