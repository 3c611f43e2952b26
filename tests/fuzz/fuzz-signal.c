/* Fuzz target: amgw_signal_to_json() with the input as session id, SDP,
 * participant value, caller name and result message, for every type.
 * Whatever it accepts must be valid JSON and, for the types Alexa also sends,
 * parse back as an event to the same message. */
#include "amgw/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef cJSON FuzzJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FuzzJson, cJSON_Delete)

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-signal: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

static const char sdp_offer[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n";

static void
check_output (const AmgwSignal *s, const char *json)
{
  g_autoptr (FuzzJson) parsed = NULL;
  g_autofree char *body = NULL;
  g_autoptr (AmgwSignal) back = NULL;
  g_autoptr (GError) error = NULL;

  CHECK (g_utf8_validate (json, -1, NULL));
  parsed = cJSON_Parse (json);
  CHECK (cJSON_IsObject (parsed));
  if (s->type == AMGW_SIGNAL_INITIATE_INBOUND_CALL)
    return;   /* Alexa never sends it */
  body = g_strdup_printf ("{\"request\": %s}", json);
  back = amgw_signal_parse_event (body, strlen (body), &error);
  if (back == NULL)
    g_printerr ("fuzz-signal: %s\n", error->message);
  CHECK (back != NULL);
  CHECK (back->type == s->type);
  CHECK (g_strcmp0 (back->session_id, s->session_id) == 0);
  if (back->sdp != NULL)
    CHECK (g_strcmp0 (back->sdp, s->sdp) == 0 && back->sdp_type == s->sdp_type);
  if (s->type == AMGW_SIGNAL_CALL_ENDED) {
    CHECK (back->result_code == s->result_code);
    CHECK (g_strcmp0 (back->result_message, s->result_message) == 0);
  }
}

static AmgwSdpType
expected_sdp (AmgwSignalType t)
{
  switch (t) {
    case AMGW_SIGNAL_INITIATE_INBOUND_CALL:
    case AMGW_SIGNAL_INITIATE_OUTBOUND_CALL:
    case AMGW_SIGNAL_CALL_UPDATE:
      return AMGW_SDP_OFFER;
    case AMGW_SIGNAL_CALL_IN_PROGRESS:
    case AMGW_SIGNAL_CALL_ACCEPTED:
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      return AMGW_SDP_ANSWER;
    default:
      return AMGW_SDP_NONE;
  }
}

static void
run (AmgwSignalType t, const char *session_id, const char *text)
{
  g_autoptr (AmgwSignal) s = amgw_signal_new (t, session_id);
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;

  s->sdp_type = expected_sdp (t);
  s->sdp = g_strdup (text != NULL ? text : sdp_offer);
  s->renegotiation = AMGW_RENEGOTIATION_CALL_HOLD;
  s->result_code = AMGW_RESULT_DEVICE_BUSY;
  s->result_message = g_strdup (text);
  s->caller_name = g_strdup (text);
  amgw_signal_add_participant (s, AMGW_ADDRESS_RAW_ADDRESS, "sip:caller@bridge.example", TRUE);
  amgw_signal_add_participant (s, AMGW_ADDRESS_PHONE_NUMBER, text != NULL ? text : "+15555550100", FALSE);

  json = amgw_signal_to_json (s, &error);
  CHECK ((json == NULL) == (error != NULL));
  if (json != NULL)
    check_output (s, json);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A C string: what a caller could hand over (stops at the first NUL). */
  g_autofree char *text = g_malloc (size + 1);
  AmgwSignalType t;
  AmgwSdpType sdp;
  AmgwRenegotiation r;
  AmgwResultCode c;

  memcpy (text, data, size);
  text[size] = '\0';

  for (int i = 0; i <= AMGW_SIGNAL_N; i++) {
    run ((AmgwSignalType) i, text, NULL);              /* as the session id */
    run ((AmgwSignalType) i, "sid-0001", text);        /* as SDP and texts */
  }
  (void) amgw_signal_type_from_name (text, &t);
  (void) amgw_sdp_type_from_name (text, &sdp);
  (void) amgw_renegotiation_from_name (text, &r);
  (void) amgw_result_code_from_name (text, &c);
  return 0;
}
