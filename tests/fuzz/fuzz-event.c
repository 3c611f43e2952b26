/* Fuzz target: amgw_signal_parse_event().  Whatever parses must be writable
 * again by amgw_signal_to_json() (for the types partners send), and what is
 * written must parse back to the same message. */
#include "amgw/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-event: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

static void
check_same (const AmgwSignal *a, const AmgwSignal *b)
{
  CHECK (a->type == b->type);
  CHECK (g_strcmp0 (a->session_id, b->session_id) == 0);
  CHECK (a->sdp_type == b->sdp_type);
  CHECK (g_strcmp0 (a->sdp, b->sdp) == 0);
  CHECK (a->renegotiation == b->renegotiation);
  CHECK (a->result_code == b->result_code);
  CHECK (g_strcmp0 (a->result_message, b->result_message) == 0);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (AmgwSignal) s = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  guint originators = 0;

  s = amgw_signal_parse_event ((const char *) data, size, &error);
  CHECK ((s == NULL) == (error != NULL));
  if (s == NULL) {
    CHECK (error->domain == AMGW_WIRE_ERROR);
    return 0;
  }
  CHECK (s->session_id != NULL && strlen (s->session_id) <= AMGW_MAX_SESSION_ID_LEN);
  CHECK (s->sdp == NULL || strlen (s->sdp) <= AMGW_MAX_SDP_BYTES);

  if (s->type == AMGW_SIGNAL_INITIATE_OUTBOUND_CALL) {
    /* Turned around, it is an InitiateInboundCall: writable when it has
     * exactly one originator (parsing only promises a callee). */
    CHECK (s->participants != NULL && s->participants->len >= 1
        && s->participants->len <= AMGW_MAX_PARTICIPANTS);
    for (guint i = 0; i < s->participants->len; i++) {
      const AmgwParticipant *p = g_ptr_array_index (s->participants, i);
      originators += p->is_originator ? 1 : 0;
    }
    s->type = AMGW_SIGNAL_INITIATE_INBOUND_CALL;
    json = amgw_signal_to_json (s, NULL);
    CHECK ((json != NULL) == (originators == 1));
    return 0;
  }

  json = amgw_signal_to_json (s, &error);
  CHECK (error == NULL && json != NULL);
  {
    g_autofree char *body = g_strdup_printf ("{\"version\": \"1.0\", \"request\": %s}", json);
    g_autoptr (AmgwSignal) back = amgw_signal_parse_event (body, strlen (body), &error);
    CHECK (error == NULL && back != NULL);
    check_same (s, back);
  }
  return 0;
}
