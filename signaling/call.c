/* amgw — calls: registry, legs, CallSignaling state machines, time-outs. */
#include "amgw/call.h"
#include "amgw/alexa-client.h"
#include "amgw/debug.h"
#include "amgw/lwa.h"
#include "amgw/metrics.h"
#include "amgw/util.h"

#include <string.h>

#define GST_CAT_DEFAULT amgw_call_debug

G_DEFINE_QUARK (amgw-call-error-quark, amgw_call_error)

/* Who ended a call decides who must be told. */
typedef enum {
  END_BY_ALEXA,    /* CallEnded from Alexa: hang up the bridge */
  END_BY_BRIDGE,   /* the bridge hung up or failed: CallEnded to Alexa */
  END_BY_GATEWAY,  /* time-out, operator, EndMeeting, error: tell both */
} EndOrigin;

struct _AmgwGateway {
  const AmgwConfig *config;
  AmgwStore *store;
  AmgwAlexaClient *alexa;
  AmgwLwa *lwa;
  AmgwDirectory *directory;
  GHashTable *calls;        /* session_id -> AmgwCall* (owned) */
  GQueue recent;            /* cJSON* of ended calls, newest first */
  gboolean accepting;
  guint recovering;         /* CallEnded requests from recovery in flight */
  /* Media counters of ended calls, per leg (MEDIA_LEG_*) and counter
   * (media_counters[]), so that the totals in /metrics never go back. */
  double ended_media[2][5];
};

enum { MEDIA_LEG_ALEXA, MEDIA_LEG_BRIDGE };
static const char *const media_leg_names[] = { "alexa", "bridge" };
static const char *const media_leg_keys[] = { "alexa_leg", "bridge_leg" };
/* Read from the legs' views (media.rtp.*); what /metrics calls them. */
static const char *const media_counters[] = {
  "packets_in", "bytes_in", "packets_out", "bytes_out", "lost"
};

struct _AmgwCall {
  AmgwGateway *gw;          /* the owner; outlives the call */
  char *session_id;
  char *room_name;          /* (nullable) */
  AmgwCallDirection direction;
  AmgwCallSm sm;
  AmgwLeg *alexa_leg;
  AmgwLeg *bridge_leg;
  AmgwLegJoin *join;        /* (nullable) the legs' media, relayed both ways */

  /* What was dialled: kept for records and the operators' view. */
  char *bridge_protocol;
  char *bridge_endpoint;
  char *meeting_id;
  char *pin;                /* secret: never logged, never stored */
  char *provider;
  char *callee;             /* FROM_ALEXA: the address Alexa called */
  char *alexa_party;
  AmgwAddressType alexa_party_type;

  char *local_answer;       /* FROM_ALEXA: amgw's SDP answer to the offer */
  AmgwRenegotiation reneg_type;
  /* A direction change from the bridge waiting for the current
   * renegotiation to finish (one at a time). */
  gboolean reneg_pending;
  AmgwMediaDirection pending_direction;
  gboolean alexa_knows;     /* Alexa has heard of this session */
  gboolean bridge_answered;
  gboolean bridge_ringing;

  gint64 created_ms;        /* wall clock */
  gint64 answered_ms;
  guint timer;              /* set-up or ringing time-out */
  gboolean ended;
  guint check_duration_ms;  /* audio check: how long after the answer */
  guint check_timer;
};

/* GLib 2.74 has no g_hash_table_get_values_as_ptr_array. */
static GPtrArray *
calls_snapshot (AmgwGateway *gw)
{
  GPtrArray *all = g_ptr_array_sized_new (g_hash_table_size (gw->calls));
  GHashTableIter it;
  gpointer v;

  g_hash_table_iter_init (&it, gw->calls);
  while (g_hash_table_iter_next (&it, NULL, &v))
    g_ptr_array_add (all, v);
  return all;
}

static void call_end (AmgwCall *call, EndOrigin origin, AmgwResultCode result, const char *message);
static void send_signal (AmgwCall *call, AmgwSignal *sig);

/* ------------------------------------------------------------------------ */
/* Helpers */

static const char *
bridge_target (AmgwCall *call, char *buf, gsize len)
{
  if (call->callee)
    return call->callee;
  if (call->bridge_endpoint == NULL)
    return NULL;
  if (call->meeting_id)
    g_snprintf (buf, len, "%s@%s", call->meeting_id, call->bridge_endpoint);
  else
    g_snprintf (buf, len, "%s", call->bridge_endpoint);
  return buf;
}

static void
store_session (AmgwCall *call)
{
  g_autoptr (GError) error = NULL;
  char target[600];
  AmgwSessionRow row = {
    .session_id = call->session_id,
    .room = call->room_name,
    .direction = (char *) amgw_call_direction_name (call->direction),
    .state = (char *) amgw_call_phase_name (call->sm.phase),
    .bridge_protocol = call->bridge_protocol,
    .bridge_target = (char *) bridge_target (call, target, sizeof target),
    .alexa_party = call->alexa_party,
    .created_ms = call->created_ms,
    .answered_ms = call->answered_ms,
  };

  if (!amgw_store_put_session (call->gw->store, &row, &error))
    GST_ERROR ("[%s] cannot store the session: %s", call->session_id, error->message);
}

/* Disconnects the legs' media: before either leg hangs up or goes. */
static void
unjoin_legs (AmgwCall *call)
{
  const AmgwLegJoiner *joiner = amgw_leg_get_joiner ();

  if (call->join && joiner)
    joiner->unjoin (call->join);
  call->join = NULL;
}

static void
on_dtmf_from_alexa (char digit, gpointer user_data)
{
  AmgwCall *call = user_data;
  g_autoptr (GError) error = NULL;
  char digits[2] = { digit, '\0' };

  if (call->ended || call->bridge_leg == NULL)
    return;
  if (!amgw_leg_send_dtmf (call->bridge_leg, digits, &error))
    GST_WARNING ("[%s] a DTMF digit from the Alexa device is not relayed: %s",
        call->session_id, error->message);
}

/* Connects the legs' media (relayed once both have negotiated), when the
 * media library registered a joiner. */
static void
join_legs (AmgwCall *call)
{
  const AmgwLegJoiner *joiner = amgw_leg_get_joiner ();
  AmgwLegJoinCallbacks cb = { .dtmf = on_dtmf_from_alexa };
  g_autoptr (GError) error = NULL;

  if (joiner == NULL || call->join || !call->alexa_leg || !call->bridge_leg)
    return;
  call->join = joiner->join (call->alexa_leg, call->bridge_leg, call->session_id, &cb, call,
      &error);
  if (call->join == NULL)
    GST_WARNING ("[%s] the legs' media are not joined: %s", call->session_id, error->message);
}

static void
call_free (AmgwCall *call)
{
  g_clear_handle_id (&call->timer, g_source_remove);
  g_clear_handle_id (&call->check_timer, g_source_remove);
  unjoin_legs (call);
  amgw_leg_free (call->alexa_leg);
  amgw_leg_free (call->bridge_leg);
  g_free (call->session_id);
  g_free (call->room_name);
  g_free (call->bridge_protocol);
  g_free (call->bridge_endpoint);
  g_free (call->meeting_id);
  if (call->pin)
    memset (call->pin, 0, strlen (call->pin));
  g_free (call->pin);
  g_free (call->provider);
  g_free (call->callee);
  g_free (call->alexa_party);
  g_free (call->local_answer);
  g_free (call);
}

static gboolean
call_free_idle (gpointer data)
{
  call_free (data);
  return G_SOURCE_REMOVE;
}

/* Looks a call up again from an asynchronous completion: the call may have
 * ended (and been freed) in between, so completions carry the id, not the
 * pointer. */
static AmgwCall *
lookup_live (AmgwGateway *gw, const char *session_id)
{
  AmgwCall *call = g_hash_table_lookup (gw->calls, session_id);
  return call && !call->ended ? call : NULL;
}

typedef struct {
  AmgwGateway *gw;
  char *session_id;
  AmgwSignalType type;
} SendCtx;

static void
send_done (AmgwAlexaOutcome outcome, guint http_status, const char *message, gpointer user_data)
{
  SendCtx *ctx = user_data;
  AmgwCall *call = lookup_live (ctx->gw, ctx->session_id);
  const char *op = amgw_signal_type_name (ctx->type);

  if (outcome != AMGW_ALEXA_OK && call != NULL) {
    g_autofree char *why = NULL;

    /* Alexa does not know a session it refused to create, nor one it
     * answers 404 for: telling it CallEnded would only be refused again. */
    if (ctx->type == AMGW_SIGNAL_INITIATE_INBOUND_CALL || http_status == 404)
      call->alexa_knows = FALSE;
    if (http_status)
      why = g_strdup_printf ("Alexa answered %s with HTTP %u%s%s", op, http_status,
          message ? ": " : "", message ? message : "");
    else
      why = g_strdup_printf ("Alexa could not be reached for %s%s%s", op,
          message ? ": " : "", message ? message : "");
    GST_WARNING ("[%s] %s; ending the call", ctx->session_id, why);
    call_end (call, END_BY_GATEWAY,
        outcome == AMGW_ALEXA_UNAUTHORIZED ? AMGW_RESULT_UNAUTHORIZED : AMGW_RESULT_INTERNAL_ERROR,
        why);
  }
  g_free (ctx->session_id);
  g_free (ctx);
}

/* Sends @sig (transfer full) to Alexa, after the state machine agreed. */
static void
send_signal (AmgwCall *call, AmgwSignal *sig)
{
  g_autoptr (GError) error = NULL;
  char *json;
  SendCtx *ctx;

  json = amgw_signal_to_json (sig, &error);
  if (json == NULL) {
    GST_ERROR ("[%s] cannot build %s: %s", call->session_id,
        amgw_signal_type_name (sig->type), error->message);
    amgw_signal_free (sig);
    return;
  }
  ctx = g_new0 (SendCtx, 1);
  ctx->gw = call->gw;
  ctx->session_id = g_strdup (call->session_id);
  ctx->type = sig->type;
  GST_INFO ("[%s] -> %s", call->session_id, amgw_signal_type_name (sig->type));
  amgw_alexa_client_send (call->gw->alexa, call->session_id,
      amgw_signal_type_name (sig->type), json,
      sig->type == AMGW_SIGNAL_CALL_ENDED ? NULL : send_done,
      sig->type == AMGW_SIGNAL_CALL_ENDED ? NULL : ctx);
  if (sig->type == AMGW_SIGNAL_CALL_ENDED) {
    g_free (ctx->session_id);
    g_free (ctx);
  }
  amgw_signal_free (sig);
}

/* Sends a message that carries only the sessionId (acks, CallRinging). */
static void
send_simple (AmgwCall *call, AmgwSignalType type)
{
  if (amgw_callsm_on_send (&call->sm, type) != AMGW_SM_ACCEPT) {
    GST_WARNING ("[%s] not sending %s in phase %s", call->session_id,
        amgw_signal_type_name (type), amgw_call_phase_name (call->sm.phase));
    return;
  }
  send_signal (call, amgw_signal_new (type, call->session_id));
}

static void
send_with_sdp (AmgwCall *call, AmgwSignalType type, AmgwSdpType sdp_type, const char *sdp,
    AmgwRenegotiation reneg)
{
  AmgwSignal *sig;

  if (amgw_callsm_on_send (&call->sm, type) != AMGW_SM_ACCEPT) {
    GST_WARNING ("[%s] not sending %s in phase %s (renegotiation %s)", call->session_id,
        amgw_signal_type_name (type), amgw_call_phase_name (call->sm.phase),
        amgw_reneg_state_name (call->sm.reneg));
    return;
  }
  sig = amgw_signal_new (type, call->session_id);
  sig->sdp_type = sdp_type;
  sig->sdp = g_strdup (sdp);
  sig->renegotiation = reneg;
  send_signal (call, sig);
}

static gboolean
on_timeout (gpointer data)
{
  AmgwCall *call = data;

  call->timer = 0;
  GST_WARNING ("[%s] time-out in phase %s", call->session_id,
      amgw_call_phase_name (call->sm.phase));
  call_end (call, END_BY_GATEWAY, AMGW_RESULT_SESSION_TIMEOUT,
      call->sm.phase == AMGW_PHASE_OFFERED && call->direction == AMGW_CALL_TO_ALEXA
          ? "the Alexa device did not ring in time"
          : "the call was not answered in time");
  return G_SOURCE_REMOVE;
}

static void
arm_timer (AmgwCall *call, guint ms)
{
  g_clear_handle_id (&call->timer, g_source_remove);
  if (ms > 0)
    call->timer = g_timeout_add (ms, on_timeout, call);
}

static gboolean
on_check_done (gpointer data)
{
  AmgwCall *call = data;

  call->check_timer = 0;
  call_end (call, END_BY_GATEWAY, AMGW_RESULT_SUCCESS, "the audio check is finished");
  return G_SOURCE_REMOVE;
}

/* Adds the media counters of a call's view (amgw_call_to_json) to @acc. */
static void
add_media_counters (cJSON *view, double acc[2][5])
{
  for (guint l = 0; l < 2; l++) {
    cJSON *rtp = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (
        cJSON_GetObjectItemCaseSensitive (view, media_leg_keys[l]), "media"), "rtp");
    for (guint c = 0; c < G_N_ELEMENTS (media_counters); c++) {
      cJSON *n = cJSON_GetObjectItemCaseSensitive (rtp, media_counters[c]);
      if (cJSON_IsNumber (n))
        acc[l][c] += n->valuedouble;
    }
  }
}

static void
mark_answered (AmgwCall *call)
{
  g_clear_handle_id (&call->timer, g_source_remove);
  if (call->answered_ms == 0) {
    call->answered_ms = amgw_wall_ms ();
    amgw_metrics_observe ("amgw_call_setup_seconds", (call->answered_ms - call->created_ms) / 1000.0,
        "direction", amgw_call_direction_name (call->direction), NULL);
  }
  store_session (call);
}

/* ------------------------------------------------------------------------ */
/* Ending */

static void
call_end (AmgwCall *call, EndOrigin origin, AmgwResultCode result, const char *message)
{
  AmgwGateway *gw = call->gw;
  g_autoptr (GError) error = NULL;
  char target[600];
  AmgwCallRecord rec = { 0, };
  gint64 now = amgw_wall_ms ();

  if (call->ended)
    return;
  g_clear_handle_id (&call->timer, g_source_remove);
  g_clear_handle_id (&call->check_timer, g_source_remove);
  {
    /* The last view of the call, legs' statistics included, for
     * GET /v1/calls/{id} after the end. */
    cJSON *last = amgw_call_to_json (call);
    cJSON_ReplaceItemInObject (last, "active", cJSON_CreateFalse ());
    cJSON_ReplaceItemInObject (last, "state", cJSON_CreateString ("ended"));
    cJSON_AddStringToObject (last, "outcome", amgw_result_code_name (result));
    if (message)
      cJSON_AddStringToObject (last, "reason", message);
    add_media_counters (last, gw->ended_media);
    g_queue_push_head (&gw->recent, last);
    while (g_queue_get_length (&gw->recent) > 64)
      cJSON_Delete (g_queue_pop_tail (&gw->recent));
  }
  call->ended = TRUE;

  GST_INFO ("[%s] call ends: %s%s%s (by %s)", call->session_id, amgw_result_code_name (result),
      message ? ", " : "", message ? message : "",
      origin == END_BY_ALEXA ? "Alexa" : origin == END_BY_BRIDGE ? "the bridge" : "amgw");

  if (origin != END_BY_ALEXA && call->alexa_knows &&
      amgw_callsm_on_send (&call->sm, AMGW_SIGNAL_CALL_ENDED) == AMGW_SM_ACCEPT) {
    AmgwSignal *sig = amgw_signal_new (AMGW_SIGNAL_CALL_ENDED, call->session_id);
    sig->result_code = result;
    sig->result_message = g_strdup (message);
    send_signal (call, sig);
  }
  call->sm.phase = AMGW_PHASE_ENDED;
  unjoin_legs (call);
  if (call->bridge_leg && origin != END_BY_BRIDGE)
    amgw_leg_hangup (call->bridge_leg, result);
  if (call->alexa_leg)
    amgw_leg_hangup (call->alexa_leg, result);

  rec.session_id = call->session_id;
  rec.room = call->room_name;
  rec.direction = (char *) amgw_call_direction_name (call->direction);
  rec.bridge_protocol = call->bridge_protocol;
  rec.bridge_target = (char *) bridge_target (call, target, sizeof target);
  rec.alexa_party = call->alexa_party;
  rec.started_ms = call->created_ms;
  rec.answered_ms = call->answered_ms;
  rec.ended_ms = now;
  rec.duration_ms = call->answered_ms ? now - call->answered_ms : 0;
  rec.outcome = (char *) amgw_result_code_name (result);
  rec.reason = (char *) message;
  if (!amgw_store_add_call_record (gw->store, &rec, &error)) {
    GST_ERROR ("[%s] cannot store the call record: %s", call->session_id, error->message);
    g_clear_error (&error);
  }
  if (!amgw_store_delete_session (gw->store, call->session_id, &error))
    GST_ERROR ("[%s] cannot delete the session row: %s", call->session_id, error->message);

  amgw_metrics_add ("amgw_calls_ended_total", 1, "direction",
      amgw_call_direction_name (call->direction), "outcome", amgw_result_code_name (result), NULL);

  /* Out of the registry now; freed once the current callback returns. */
  g_hash_table_steal (gw->calls, call->session_id);
  g_idle_add (call_free_idle, call);
}

/* ------------------------------------------------------------------------ */
/* Legs' reports */

/* Common start of every SDP completion: FALSE when there is nothing to do
 * (the call ended meanwhile, or the leg failed, which ends the call). */
static gboolean
sdp_usable (AmgwCall *call, const char *sdp, const GError *error)
{
  if (call->ended)
    return FALSE;
  if (sdp == NULL) {
    call_end (call, END_BY_GATEWAY, AMGW_RESULT_INTERNAL_ERROR, error->message);
    return FALSE;
  }
  return TRUE;
}

static void
alexa_answer_ready (AmgwLeg *leg, const char *sdp, const GError *error, gpointer user_data);

static void
update_offer_ready (AmgwLeg *leg, const char *sdp, const GError *error, gpointer user_data)
{
  AmgwCall *call = user_data;

  if (!sdp_usable (call, sdp, error))
    return;
  /* The machine moved to LOCAL_OFFER when the offer was asked for. */
  {
    AmgwSignal *sig = amgw_signal_new (AMGW_SIGNAL_CALL_UPDATE, call->session_id);
    sig->sdp_type = AMGW_SDP_OFFER;
    sig->sdp = g_strdup (sdp);
    sig->renegotiation = call->reneg_type;
    send_signal (call, sig);
  }
}

/* The bridge put the call on hold or resumed it: re-offer to Alexa with the
 * same direction (CallUpdate CALL_HOLD / CALL_RESUME), one at a time. */
static void
renegotiate_toward_alexa (AmgwCall *call, AmgwMediaDirection direction)
{
  if (!amgw_callsm_is_answered (&call->sm))
    return;
  if (amgw_callsm_on_send (&call->sm, AMGW_SIGNAL_CALL_UPDATE) != AMGW_SM_ACCEPT) {
    GST_INFO ("[%s] a renegotiation is under way; the %s from the bridge follows it",
        call->session_id, amgw_media_direction_name (direction));
    call->reneg_pending = TRUE;
    call->pending_direction = direction;
    return;
  }
  call->reneg_pending = FALSE;
  call->reneg_type = direction == AMGW_MEDIA_SENDRECV ? AMGW_RENEGOTIATION_CALL_RESUME
                                                      : AMGW_RENEGOTIATION_CALL_HOLD;
  GST_INFO ("[%s] re-offering to Alexa: %s (%s)", call->session_id,
      amgw_renegotiation_name (call->reneg_type), amgw_media_direction_name (direction));
  amgw_leg_create_offer (call->alexa_leg, direction, FALSE, update_offer_ready, call);
}

/* After a renegotiation completes: run the one that waited. */
static void
reneg_finished (AmgwCall *call)
{
  if (call->reneg_pending && call->sm.reneg == AMGW_RENEG_IDLE)
    renegotiate_toward_alexa (call, call->pending_direction);
}

static void
on_bridge_event (AmgwLeg *leg, AmgwLegEventType type, const AmgwLegEventInfo *info,
    gpointer user_data)
{
  AmgwCall *call = user_data;

  if (call->ended)
    return;

  switch (type) {
    case AMGW_LEG_EVENT_RINGING:
      GST_INFO ("[%s] the bridge rings", call->session_id);
      call->bridge_ringing = TRUE;
      if (call->direction == AMGW_CALL_FROM_ALEXA && call->sm.phase == AMGW_PHASE_OFFERED)
        send_simple (call, AMGW_SIGNAL_CALL_RINGING);
      break;
    case AMGW_LEG_EVENT_PROGRESS:
      GST_INFO ("[%s] early media from the bridge", call->session_id);
      if (call->direction == AMGW_CALL_FROM_ALEXA && call->local_answer &&
          (call->sm.phase == AMGW_PHASE_OFFERED || call->sm.phase == AMGW_PHASE_RINGING))
        send_with_sdp (call, AMGW_SIGNAL_CALL_IN_PROGRESS, AMGW_SDP_ANSWER, call->local_answer,
            AMGW_RENEGOTIATION_NONE);
      break;
    case AMGW_LEG_EVENT_ANSWERED:
      GST_INFO ("[%s] the bridge answered", call->session_id);
      call->bridge_answered = TRUE;
      if (call->direction == AMGW_CALL_FROM_ALEXA) {
        send_with_sdp (call, AMGW_SIGNAL_CALL_ACCEPTED, AMGW_SDP_ANSWER, call->local_answer,
            AMGW_RENEGOTIATION_NONE);
        mark_answered (call);
      }
      break;
    case AMGW_LEG_EVENT_MEDIA:
      GST_DEBUG ("[%s] media from the bridge", call->session_id);
      break;
    case AMGW_LEG_EVENT_DIRECTION:
      GST_INFO ("[%s] the bridge changed direction to %s", call->session_id,
          amgw_media_direction_name (info->direction));
      renegotiate_toward_alexa (call, info->direction);
      break;
    case AMGW_LEG_EVENT_ENDED:
      call_end (call, END_BY_BRIDGE, info->result,
          info->message ? info->message : "the meeting bridge ended the call");
      break;
  }
}

static void
on_alexa_leg_event (AmgwLeg *leg, AmgwLegEventType type, const AmgwLegEventInfo *info,
    gpointer user_data)
{
  AmgwCall *call = user_data;

  if (call->ended)
    return;
  if (type == AMGW_LEG_EVENT_ENDED)
    call_end (call, END_BY_GATEWAY, info->result,
        info->message ? info->message : "the media path to the Alexa device failed");
  else if (type == AMGW_LEG_EVENT_MEDIA)
    GST_DEBUG ("[%s] media from the Alexa device", call->session_id);
}

/* ------------------------------------------------------------------------ */
/* Creating calls */

static AmgwCall *
call_new (AmgwGateway *gw, const char *session_id, AmgwCallDirection direction,
    const char *room_name)
{
  AmgwCall *call = g_new0 (AmgwCall, 1);

  call->gw = gw;
  call->session_id = g_strdup (session_id);
  call->room_name = g_strdup (room_name);
  call->direction = direction;
  call->created_ms = amgw_wall_ms ();
  amgw_callsm_init (&call->sm, direction);
  g_hash_table_insert (gw->calls, call->session_id, call);
  return call;
}

/* Drops a call that never reached anyone (creation failed half-way). */
static void
call_discard (AmgwCall *call)
{
  g_hash_table_steal (call->gw->calls, call->session_id);
  call->ended = TRUE;
  call_free (call);
}

static gboolean
admit (AmgwGateway *gw, GError **error)
{
  const AmgwConfig *cfg = gw->config;

  if (!gw->accepting) {
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_BUSY,
        "the gateway is draining and takes no new calls");
    return FALSE;
  }
  if (g_hash_table_size (gw->calls) >= cfg->max_calls) {
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_BUSY,
        "the gateway is at its limit of %u calls (max-calls)", cfg->max_calls);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_linked (AmgwGateway *gw, GError **error)
{
  AmgwLwaState state = amgw_lwa_get_state (gw->lwa);

  if (state == AMGW_LWA_STATE_LINKED)
    return TRUE;
  g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_UNREACHABLE,
      "amgw is not linked to an Alexa account (%s): send AcceptGrant or set [alexa] refresh-token",
      amgw_lwa_state_name (state));
  return FALSE;
}

static void
alexa_offer_ready (AmgwLeg *leg, const char *sdp, const GError *error, gpointer user_data)
{
  AmgwCall *call = user_data;
  AmgwSignal *sig;
  const AmgwConfig *cfg = call->gw->config;
  char target[600];
  g_autofree char *originator = NULL;

  if (!sdp_usable (call, sdp, error))
    return;
  if (amgw_callsm_on_send (&call->sm, AMGW_SIGNAL_INITIATE_INBOUND_CALL) != AMGW_SM_ACCEPT)
    return;

  sig = amgw_signal_new (AMGW_SIGNAL_INITIATE_INBOUND_CALL, call->session_id);
  sig->sdp_type = AMGW_SDP_OFFER;
  sig->sdp = g_strdup (sdp);
  /* The meeting calls the room: the bridge side is the originator (the
   * audio check has no bridge: amgw itself calls). */
  if (call->bridge_protocol == NULL)
    originator = g_strdup ("sip:audio-check@amgw.invalid");
  else
    originator = g_strdup_printf ("%s:%s", g_ascii_strcasecmp (call->bridge_protocol, "SIPS") == 0
      ? "sips" : g_ascii_strcasecmp (call->bridge_protocol, "H323") == 0 ? "h323" : "sip",
      bridge_target (call, target, sizeof target));
  amgw_signal_add_participant (sig, AMGW_ADDRESS_RAW_ADDRESS, originator, TRUE);
  amgw_signal_add_participant (sig, call->alexa_party_type, call->alexa_party, FALSE);
  /* What the device shows as the caller. */
  sig->caller_name = call->check_duration_ms ? g_strdup ("amgw audio check")
      : call->provider ? g_strdup_printf ("%s meeting", call->provider) : g_strdup ("Meeting");
  call->alexa_knows = TRUE;
  send_signal (call, sig);
  arm_timer (call, cfg->setup_timeout_ms);
  store_session (call);
}

AmgwCall *
amgw_gateway_join_meeting (AmgwGateway *gw, const AmgwRoom *room,
    const AmgwMeetingRequest *request, GError **error)
{
  g_autofree char *session_id = NULL;
  g_autoptr (GError) local = NULL;
  AmgwDialTarget target = { 0, };
  AmgwCall *call;

  if (!admit (gw, error))
    return NULL;

  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init (&it, gw->calls);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AmgwCall *other = v;
    if (!other->ended && other->room_name && g_strcmp0 (other->room_name, room->name) == 0) {
      g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_ALREADY,
          "room %s is already in a meeting (session %s)", room->name, other->session_id);
      return NULL;
    }
  }

  if (!amgw_leg_is_available (request->protocol)) {
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_UNREACHABLE,
        "this build of amgw cannot dial %s meeting bridges yet", request->protocol);
    return NULL;
  }
  if (!amgw_leg_is_available ("ALEXA")) {
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_UNREACHABLE,
        "this build of amgw has no WebRTC leg toward the Alexa device yet");
    return NULL;
  }
  if (!check_linked (gw, error))
    return NULL;

  session_id = amgw_uuid_new ();
  call = call_new (gw, session_id, AMGW_CALL_TO_ALEXA, room->name);
  call->bridge_protocol = g_ascii_strup (request->protocol, -1);
  call->bridge_endpoint = g_strdup (request->endpoint);
  call->meeting_id = g_strdup (request->meeting_id);
  call->pin = g_strdup (request->pin);
  call->provider = g_strdup (request->provider);
  call->alexa_party = g_strdup (room->alexa_address);
  call->alexa_party_type = room->alexa_address_type;

  call->bridge_leg = amgw_leg_create (AMGW_LEG_BRIDGE, request->protocol, session_id,
      on_bridge_event, call, &local);
  if (call->bridge_leg)
    call->alexa_leg = amgw_leg_create (AMGW_LEG_ALEXA, "ALEXA", session_id,
        on_alexa_leg_event, call, &local);
  if (call->alexa_leg == NULL)
    goto leg_failed;

  target.protocol = call->bridge_protocol;
  target.endpoint = call->bridge_endpoint;
  target.meeting_id = call->meeting_id;
  target.pin = call->pin;
  target.provider = call->provider;
  if (!amgw_leg_dial (call->bridge_leg, &target, &local))
    goto dial_failed;

  GST_INFO ("[%s] JoinMeeting for room %s: dialling %s %s%s%s", session_id, room->name,
      call->bridge_protocol, call->meeting_id ? call->meeting_id : "",
      call->meeting_id ? "@" : "", call->bridge_endpoint);
  amgw_metrics_add ("amgw_calls_started_total", 1, "direction", "to-alexa", NULL);
  store_session (call);
  join_legs (call);
  amgw_leg_create_offer (call->alexa_leg, AMGW_MEDIA_SENDRECV, FALSE, alexa_offer_ready, call);
  return call;

  /* ERRORS */
leg_failed:
  {
    GST_WARNING ("[%s] cannot create the legs: %s", session_id, local->message);
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_UNREACHABLE, "%s", local->message);
    call_discard (call);
    return NULL;
  }
dial_failed:
  {
    GST_WARNING ("[%s] cannot dial the bridge: %s", session_id, local->message);
    g_set_error (error, AMGW_CALL_ERROR,
        g_error_matches (local, AMGW_LEG_ERROR, AMGW_LEG_ERROR_INVALID)
            ? AMGW_CALL_ERROR_INVALID : AMGW_CALL_ERROR_UNREACHABLE,
        "%s", local->message);
    call_discard (call);
    return NULL;
  }
}

AmgwCall *
amgw_gateway_test_call (AmgwGateway *gw, const AmgwRoom *room, double tone_hz, guint tone_ms,
    guint duration_ms, const char *codec, GError **error)
{
  g_autofree char *session_id = NULL;
  g_autoptr (GError) local = NULL;
  AmgwCall *call;

  if (!admit (gw, error))
    return NULL;
  if (!amgw_leg_is_available ("ALEXA")) {
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_UNREACHABLE,
        "this build of amgw has no WebRTC leg toward the Alexa device");
    return NULL;
  }
  if (!check_linked (gw, error))
    return NULL;

  session_id = amgw_uuid_new ();
  call = call_new (gw, session_id, AMGW_CALL_TO_ALEXA, room->name);
  call->alexa_party = g_strdup (room->alexa_address);
  call->alexa_party_type = room->alexa_address_type;
  call->check_duration_ms = MAX (duration_ms, 1000);
  call->alexa_leg = amgw_leg_create (AMGW_LEG_ALEXA, "ALEXA", session_id, on_alexa_leg_event,
      call, &local);
  if (call->alexa_leg == NULL ||
      !amgw_leg_start_audio_check (call->alexa_leg, tone_hz, tone_ms, codec, &local)) {
    g_set_error (error, AMGW_CALL_ERROR, AMGW_CALL_ERROR_UNREACHABLE, "%s", local->message);
    call_discard (call);
    return NULL;
  }
  GST_INFO ("[%s] audio check for room %s: %.0f Hz for %u ms, %u ms in all", session_id,
      room->name, tone_hz, tone_ms, call->check_duration_ms);
  amgw_metrics_add ("amgw_calls_started_total", 1, "direction", "to-alexa", NULL);
  store_session (call);
  amgw_leg_create_offer (call->alexa_leg, AMGW_MEDIA_SENDRECV, FALSE, alexa_offer_ready, call);
  return call;
}

cJSON *
amgw_gateway_recent_call (AmgwGateway *gw, const char *session_id)
{
  for (GList *l = gw->recent.head; l; l = l->next) {
    const char *id = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (l->data, "id"));
    if (g_strcmp0 (id, session_id) == 0)
      return cJSON_Duplicate (l->data, TRUE);
  }
  return NULL;
}

guint
amgw_gateway_end_room (AmgwGateway *gw, const AmgwRoom *room, const char *message)
{
  g_autoptr (GPtrArray) victims = g_ptr_array_new ();
  GHashTableIter it;
  gpointer v;

  g_hash_table_iter_init (&it, gw->calls);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AmgwCall *call = v;
    if (!call->ended && g_strcmp0 (call->room_name, room->name) == 0)
      g_ptr_array_add (victims, call);
  }
  for (guint i = 0; i < victims->len; i++)
    call_end (victims->pdata[i], END_BY_GATEWAY, AMGW_RESULT_SUCCESS, message);
  return victims->len;
}

void
amgw_gateway_end_all (AmgwGateway *gw, AmgwResultCode result, const char *message)
{
  g_autoptr (GPtrArray) all = calls_snapshot (gw);

  for (guint i = 0; i < all->len; i++)
    call_end (all->pdata[i], END_BY_GATEWAY, result, message);
}

void
amgw_call_hangup (AmgwCall *call, AmgwResultCode result, const char *message)
{
  call_end (call, END_BY_GATEWAY, result, message);
}

/* ------------------------------------------------------------------------ */
/* Alexa's events */

static const char *
protocol_for_callee (const char *callee)
{
  if (g_ascii_strncasecmp (callee, "sips:", 5) == 0)
    return "SIPS";
  if (g_ascii_strncasecmp (callee, "h323:", 5) == 0)
    return "H323";
  return "SIP";
}

static void
alexa_answer_ready (AmgwLeg *leg, const char *sdp, const GError *error, gpointer user_data)
{
  AmgwCall *call = user_data;
  g_autoptr (GError) local = NULL;
  AmgwDialTarget target = { 0, };

  if (!sdp_usable (call, sdp, error))
    return;
  call->local_answer = g_strdup (sdp);
  AmgwLegMedia alexa_media;

  target.protocol = call->bridge_protocol;
  target.callee = call->callee;
  /* The device's codec first in the offer to the bridge: passthrough if it
   * takes it. */
  if (amgw_leg_get_media (call->alexa_leg, &alexa_media))
    target.codec = alexa_media.encoding;
  if (!amgw_leg_dial (call->bridge_leg, &target, &local)) {
    call_end (call, END_BY_GATEWAY, AMGW_RESULT_INTERNAL_ERROR, local->message);
    return;
  }
  arm_timer (call, call->gw->config->ring_timeout_ms);
}

static void
on_initiate_outbound_call (AmgwGateway *gw, const AmgwSignal *event)
{
  g_autoptr (GError) error = NULL;
  const AmgwParticipant *callee = NULL, *caller = NULL;
  const AmgwRoom *room = NULL;
  AmgwCall *call;

  for (guint i = 0; event->participants && i < event->participants->len; i++) {
    const AmgwParticipant *p = event->participants->pdata[i];
    if (p->is_originator)
      caller = p;
    else if (callee == NULL)
      callee = p;
  }
  if (caller) {
    for (guint i = 0; i < gw->config->rooms->len; i++) {
      const AmgwRoom *r = gw->config->rooms->pdata[i];
      if (g_strcmp0 (r->alexa_address, caller->value) == 0)
        room = r;
    }
  }

  call = call_new (gw, event->session_id, AMGW_CALL_FROM_ALEXA, room ? room->name : NULL);
  call->alexa_knows = TRUE;
  amgw_callsm_on_event (&call->sm, AMGW_SIGNAL_INITIATE_OUTBOUND_CALL);
  call->callee = g_strdup (callee ? callee->value : "");
  call->bridge_protocol = g_strdup (protocol_for_callee (call->callee));
  if (caller) {
    call->alexa_party = g_strdup (caller->value);
    call->alexa_party_type = caller->type;
  }
  amgw_metrics_add ("amgw_calls_started_total", 1, "direction", "from-alexa", NULL);
  GST_INFO ("[%s] InitiateOutboundCall from %s to %s", call->session_id,
      room ? room->name : "an unknown device", call->callee);
  store_session (call);

  if (!admit (gw, &error)) {
    call_end (call, END_BY_GATEWAY, AMGW_RESULT_DEVICE_BUSY, error->message);
    return;
  }
  call->bridge_leg = amgw_leg_create (AMGW_LEG_BRIDGE, call->bridge_protocol,
      call->session_id, on_bridge_event, call, &error);
  if (call->bridge_leg)
    call->alexa_leg = amgw_leg_create (AMGW_LEG_ALEXA, "ALEXA", call->session_id,
        on_alexa_leg_event, call, &error);
  if (call->alexa_leg == NULL) {
    call_end (call, END_BY_GATEWAY, AMGW_RESULT_INTERNAL_ERROR, error->message);
    return;
  }
  join_legs (call);
  amgw_leg_create_answer (call->alexa_leg, event->sdp, AMGW_MEDIA_SENDRECV,
      alexa_answer_ready, call);
}

static AmgwMediaDirection
direction_for (AmgwRenegotiation reneg)
{
  /* Alexa holds: keep receiving nothing from the bridge and tell it so. */
  return reneg == AMGW_RENEGOTIATION_CALL_HOLD ? AMGW_MEDIA_SENDONLY : AMGW_MEDIA_SENDRECV;
}

static void
reneg_answer_ready (AmgwLeg *leg, const char *sdp, const GError *error, gpointer user_data)
{
  AmgwCall *call = user_data;

  if (!sdp_usable (call, sdp, error))
    return;
  send_with_sdp (call, AMGW_SIGNAL_CALL_UPDATE_RESPONSE, AMGW_SDP_ANSWER, sdp, call->reneg_type);
}

guint
amgw_gateway_handle_event (AmgwGateway *gw, const AmgwSignal *event, char **message)
{
  AmgwCall *call;
  AmgwSmVerdict verdict;
  g_autoptr (GError) error = NULL;
  const char *name = amgw_signal_type_name (event->type);

  call = g_hash_table_lookup (gw->calls, event->session_id);

  if (event->type == AMGW_SIGNAL_INITIATE_OUTBOUND_CALL) {
    if (call != NULL) {
      *message = g_strdup_printf ("session %s exists already", event->session_id);
      return 409;
    }
    on_initiate_outbound_call (gw, event);
    return 200;
  }

  if (call == NULL || call->ended) {
    *message = g_strdup_printf ("no active session %s", event->session_id);
    return 404;
  }

  verdict = amgw_callsm_on_event (&call->sm, event->type);
  if (verdict != AMGW_SM_ACCEPT) {
    *message = g_strdup_printf ("%s %s in phase %s (renegotiation %s) of a %s call", name,
        verdict == AMGW_SM_NOT_ALLOWED ? "is not expected" : "is out of order",
        amgw_call_phase_name (call->sm.phase), amgw_reneg_state_name (call->sm.reneg),
        amgw_call_direction_name (call->direction));
    GST_WARNING ("[%s] %s", call->session_id, *message);
    return 409;
  }
  GST_INFO ("[%s] <- %s", call->session_id, name);

  switch (event->type) {
    case AMGW_SIGNAL_CALL_RINGING:
      send_simple (call, AMGW_SIGNAL_CALL_RINGING_ACK);
      arm_timer (call, gw->config->ring_timeout_ms);
      store_session (call);
      break;
    case AMGW_SIGNAL_CALL_IN_PROGRESS:
    case AMGW_SIGNAL_CALL_ACCEPTED: {
      gboolean provisional = event->type == AMGW_SIGNAL_CALL_IN_PROGRESS;
      if (!amgw_leg_apply_answer (call->alexa_leg, event->sdp, provisional, &error)) {
        *message = g_strdup_printf ("the SDP answer in %s is unusable: %s", name, error->message);
        call_end (call, END_BY_GATEWAY, AMGW_RESULT_INTERNAL_ERROR, *message);
        return 400;
      }
      send_simple (call, provisional ? AMGW_SIGNAL_CALL_IN_PROGRESS_ACK
                                     : AMGW_SIGNAL_CALL_ACCEPTED_ACK);
      if (provisional) {
        if (call->timer == 0 || call->sm.phase == AMGW_PHASE_PROGRESS)
          arm_timer (call, gw->config->ring_timeout_ms);
        store_session (call);
      } else {
        mark_answered (call);
        if (call->check_duration_ms && call->check_timer == 0)
          call->check_timer = g_timeout_add (call->check_duration_ms, on_check_done, call);
      }
      break;
    }
    case AMGW_SIGNAL_CALL_RINGING_ACK:
    case AMGW_SIGNAL_CALL_IN_PROGRESS_ACK:
    case AMGW_SIGNAL_CALL_ACCEPTED_ACK:
      break;
    case AMGW_SIGNAL_CALL_UPDATE_ACK:
      reneg_finished (call);
      break;
    case AMGW_SIGNAL_CALL_UPDATE:
      call->reneg_type = event->renegotiation;
      if (call->bridge_leg && event->renegotiation != AMGW_RENEGOTIATION_CALL_UPDATE &&
          !amgw_leg_set_direction (call->bridge_leg, direction_for (event->renegotiation), &error)) {
        GST_WARNING ("[%s] the bridge leg cannot follow %s: %s", call->session_id,
            amgw_renegotiation_name (event->renegotiation), error->message);
        g_clear_error (&error);
      }
      amgw_leg_create_answer (call->alexa_leg, event->sdp, AMGW_MEDIA_SENDRECV,
          reneg_answer_ready, call);
      break;
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      if (!amgw_leg_apply_answer (call->alexa_leg, event->sdp, FALSE, &error)) {
        *message = g_strdup_printf ("the SDP answer in CallUpdateResponse is unusable: %s",
            error->message);
        call_end (call, END_BY_GATEWAY, AMGW_RESULT_INTERNAL_ERROR, *message);
        return 400;
      }
      send_simple (call, AMGW_SIGNAL_CALL_UPDATE_ACK);
      reneg_finished (call);
      break;
    case AMGW_SIGNAL_CALL_ENDED:
      call_end (call, END_BY_ALEXA,
          event->result_code != AMGW_RESULT_NONE ? event->result_code : AMGW_RESULT_SUCCESS,
          event->result_message ? event->result_message : "Alexa ended the call");
      break;
    default:
      break;
  }
  return 200;
}

/* ------------------------------------------------------------------------ */
/* Recovery after a crash */

typedef struct {
  AmgwGateway *gw;
  AmgwSessionRow *row;
} RecoverCtx;

#define RECOVERY_MESSAGE "the gateway restarted and could not keep the call"

static void
recover_done (AmgwAlexaOutcome outcome, guint http_status, const char *message, gpointer user_data)
{
  RecoverCtx *ctx = user_data;
  AmgwSessionRow *row = ctx->row;
  g_autoptr (GError) error = NULL;

  ctx->gw->recovering--;
  /* 400/404: Alexa no longer knows it either; the ghost is gone. */
  if (outcome == AMGW_ALEXA_OK || outcome == AMGW_ALEXA_REJECTED) {
    gint64 now = amgw_wall_ms ();
    AmgwCallRecord rec = {
      .session_id = row->session_id, .room = row->room, .direction = row->direction,
      .bridge_protocol = row->bridge_protocol, .bridge_target = row->bridge_target,
      .alexa_party = row->alexa_party, .started_ms = row->created_ms,
      .answered_ms = row->answered_ms, .ended_ms = now,
      .duration_ms = row->answered_ms ? now - row->answered_ms : 0,
      .outcome = (char *) "INTERNAL_ERROR", .reason = (char *) RECOVERY_MESSAGE,
    };
    GST_INFO ("[%s] recovered: CallEnded sent (HTTP %u)", row->session_id, http_status);
    if (!amgw_store_add_call_record (ctx->gw->store, &rec, &error)) {
      GST_ERROR ("[%s] cannot store the call record: %s", row->session_id, error->message);
      g_clear_error (&error);
    }
    if (!amgw_store_delete_session (ctx->gw->store, row->session_id, &error))
      GST_ERROR ("[%s] cannot delete the session row: %s", row->session_id, error->message);
    amgw_metrics_add ("amgw_sessions_recovered_total", 1, NULL);
  } else {
    GST_ERROR ("[%s] could not send CallEnded after the restart (%s); will try at the next start",
        row->session_id, message ? message : "no answer");
  }
  amgw_session_row_free (row);
  g_free (ctx);
}

void
amgw_gateway_recover (AmgwGateway *gw)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = amgw_store_list_sessions (gw->store, &error);

  if (rows == NULL) {
    GST_ERROR ("cannot read the sessions left by the previous run: %s", error->message);
    return;
  }
  if (rows->len)
    GST_WARNING ("%u session(s) were active when amgw last stopped; ending them", rows->len);
  g_ptr_array_set_free_func (rows, NULL);
  for (guint i = 0; i < rows->len; i++) {
    AmgwSessionRow *row = rows->pdata[i];
    AmgwSignal *sig = amgw_signal_new (AMGW_SIGNAL_CALL_ENDED, row->session_id);
    RecoverCtx *ctx = g_new0 (RecoverCtx, 1);
    char *json;

    sig->result_code = AMGW_RESULT_INTERNAL_ERROR;
    sig->result_message = g_strdup (RECOVERY_MESSAGE);
    json = amgw_signal_to_json (sig, NULL);
    amgw_signal_free (sig);
    ctx->gw = gw;
    ctx->row = row;
    gw->recovering++;
    amgw_alexa_client_send (gw->alexa, row->session_id, "CallEnded", json, recover_done, ctx);
  }
}

/* ------------------------------------------------------------------------ */
/* Registry and views */

static void
collect_metrics (gpointer user_data)
{
  AmgwGateway *gw = user_data;
  guint counts[AMGW_PHASE_ENDED + 1] = { 0, };
  GHashTableIter it;
  gpointer v;

  double media[2][5];
  double jitter_max[2] = { 0, 0 };

  memcpy (media, gw->ended_media, sizeof media);
  amgw_metrics_clear ("amgw_calls_by_codec");
  amgw_metrics_clear ("amgw_relays");
  g_hash_table_iter_init (&it, gw->calls);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AmgwCall *call = v;
    AmgwLeg *legs[2] = { call->alexa_leg, call->bridge_leg };
    cJSON *view = amgw_call_to_json (call);
    cJSON *relay = cJSON_GetObjectItemCaseSensitive (view, "relay");

    counts[call->sm.phase]++;
    add_media_counters (view, media);
    for (guint l = 0; l < 2; l++) {
      AmgwLegMedia m;
      cJSON *j = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (
          cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (view,
              media_leg_keys[l]), "media"), "rtp"), "jitter_ms");
      if (cJSON_IsNumber (j))
        jitter_max[l] = MAX (jitter_max[l], j->valuedouble);
      if (legs[l] && amgw_leg_get_media (legs[l], &m))
        amgw_metrics_add ("amgw_calls_by_codec", 1, "leg", media_leg_names[l], "codec",
            m.encoding, NULL);
    }
    for (guint d = 0; d < 2; d++) {
      static const char *const dirs[] = { "to_bridge", "to_alexa" };
      cJSON *mode = cJSON_GetObjectItemCaseSensitive (
          cJSON_GetObjectItemCaseSensitive (relay, dirs[d]), "mode");
      if (cJSON_IsString (mode))
        amgw_metrics_add ("amgw_relays", 1, "direction", dirs[d], "mode", mode->valuestring, NULL);
    }
    cJSON_Delete (view);
  }
  for (guint p = AMGW_PHASE_NEW; p < AMGW_PHASE_ENDED; p++)
    amgw_metrics_set ("amgw_calls", counts[p], "state", amgw_call_phase_name (p), NULL);
  for (guint l = 0; l < 2; l++) {
    amgw_metrics_set ("amgw_rtp_packets_total", media[l][0], "leg", media_leg_names[l],
        "direction", "in", NULL);
    amgw_metrics_set ("amgw_rtp_bytes_total", media[l][1], "leg", media_leg_names[l],
        "direction", "in", NULL);
    amgw_metrics_set ("amgw_rtp_packets_total", media[l][2], "leg", media_leg_names[l],
        "direction", "out", NULL);
    amgw_metrics_set ("amgw_rtp_bytes_total", media[l][3], "leg", media_leg_names[l],
        "direction", "out", NULL);
    amgw_metrics_set ("amgw_rtp_lost_packets_total", media[l][4], "leg", media_leg_names[l],
        NULL);
    amgw_metrics_set ("amgw_rtp_jitter_max_ms", jitter_max[l], "leg", media_leg_names[l], NULL);
  }
}

AmgwGateway *
amgw_gateway_new (const AmgwConfig *config, AmgwStore *store, AmgwAlexaClient *alexa,
    AmgwLwa *lwa, AmgwDirectory *directory)
{
  AmgwGateway *gw = g_new0 (AmgwGateway, 1);

  gw->config = config;
  gw->store = store;
  gw->alexa = alexa;
  gw->lwa = lwa;
  gw->directory = directory;
  gw->accepting = TRUE;
  gw->calls = g_hash_table_new (g_str_hash, g_str_equal);
  amgw_metrics_describe ("amgw_calls", AMGW_METRIC_GAUGE, "Active calls by state.");
  amgw_metrics_describe ("amgw_calls_started_total", AMGW_METRIC_COUNTER,
      "Calls started, by direction (to-alexa: JoinMeeting; from-alexa: InitiateOutboundCall).");
  amgw_metrics_describe ("amgw_calls_ended_total", AMGW_METRIC_COUNTER,
      "Calls ended, by direction and callResult code.");
  amgw_metrics_describe ("amgw_sessions_recovered_total", AMGW_METRIC_COUNTER,
      "Sessions ended with CallEnded after a restart.");
  amgw_metrics_describe ("amgw_calls_by_codec", AMGW_METRIC_GAUGE,
      "Active calls by leg (alexa, bridge) and the codec amgw sends on it.");
  amgw_metrics_describe ("amgw_relays", AMGW_METRIC_GAUGE,
      "Media relays of active calls by direction and mode (passthrough, transcoding).");
  amgw_metrics_describe ("amgw_rtp_packets_total", AMGW_METRIC_COUNTER,
      "RTP packets by leg and direction (in: from the peer, out: to it).");
  amgw_metrics_describe ("amgw_rtp_bytes_total", AMGW_METRIC_COUNTER,
      "RTP bytes (headers and payload, before SRTP) by leg and direction.");
  amgw_metrics_describe ("amgw_rtp_lost_packets_total", AMGW_METRIC_COUNTER,
      "RTP packets the peers sent that never arrived (sequence gaps), by leg.");
  amgw_metrics_describe ("amgw_rtp_jitter_max_ms", AMGW_METRIC_GAUGE,
      "The highest interarrival jitter (RFC 3550) of the active calls' incoming media, by leg.");
  {
    static const double bounds[] = { 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60 };
    amgw_metrics_describe_histogram ("amgw_call_setup_seconds",
        "From JoinMeeting (or InitiateOutboundCall) until the call is answered, by direction.",
        bounds, G_N_ELEMENTS (bounds));
  }
  amgw_metrics_add_collector (collect_metrics, gw);
  collect_metrics (gw);
  return gw;
}

void
amgw_gateway_free (AmgwGateway *gw)
{
  GHashTableIter it;
  gpointer v;

  if (gw == NULL)
    return;
  amgw_metrics_remove_collector (collect_metrics, gw);
  g_hash_table_iter_init (&it, gw->calls);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    AmgwCall *call = v;
    g_hash_table_iter_steal (&it);
    call->ended = TRUE;
    call_free (call);
  }
  g_hash_table_unref (gw->calls);
  g_queue_clear_full (&gw->recent, (GDestroyNotify) cJSON_Delete);
  g_free (gw);
}

const AmgwConfig *amgw_gateway_get_config (AmgwGateway *gw) { return gw->config; }
AmgwStore *amgw_gateway_get_store (AmgwGateway *gw) { return gw->store; }
AmgwLwa *amgw_gateway_get_lwa (AmgwGateway *gw) { return gw->lwa; }
AmgwDirectory *amgw_gateway_get_directory (AmgwGateway *gw) { return gw->directory; }
AmgwAlexaClient *amgw_gateway_get_alexa (AmgwGateway *gw) { return gw->alexa; }

void
amgw_gateway_set_accepting (AmgwGateway *gw, gboolean accepting)
{
  gw->accepting = accepting;
}

gboolean
amgw_gateway_is_accepting (AmgwGateway *gw)
{
  return gw->accepting;
}

guint
amgw_gateway_count_calls (AmgwGateway *gw)
{
  return g_hash_table_size (gw->calls);
}

AmgwCall *
amgw_gateway_find_call (AmgwGateway *gw, const char *session_id)
{
  return lookup_live (gw, session_id);
}

const char *
amgw_call_get_session_id (AmgwCall *call)
{
  return call->session_id;
}

AmgwCallPhase
amgw_call_get_phase (AmgwCall *call)
{
  return call->sm.phase;
}

static char *
iso8601 (gint64 wall_ms)
{
  g_autoptr (GDateTime) dt = NULL;

  if (wall_ms <= 0)
    return NULL;
  dt = g_date_time_new_from_unix_utc (wall_ms / 1000);
  return dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

static void
add_time (cJSON *obj, const char *key, gint64 wall_ms)
{
  g_autofree char *s = iso8601 (wall_ms);

  if (s)
    cJSON_AddStringToObject (obj, key, s);
  else
    cJSON_AddNullToObject (obj, key);
}

static void
add_nullable (cJSON *obj, const char *key, const char *value)
{
  if (value)
    cJSON_AddStringToObject (obj, key, value);
  else
    cJSON_AddNullToObject (obj, key);
}

cJSON *
amgw_call_to_json (AmgwCall *call)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *bridge, *alexa;
  char target[600];

  cJSON_AddStringToObject (o, "id", call->session_id);
  cJSON_AddBoolToObject (o, "active", !call->ended);
  add_nullable (o, "room", call->room_name);
  cJSON_AddStringToObject (o, "direction", amgw_call_direction_name (call->direction));
  cJSON_AddStringToObject (o, "state", amgw_call_phase_name (call->sm.phase));
  cJSON_AddStringToObject (o, "renegotiation", amgw_reneg_state_name (call->sm.reneg));
  add_time (o, "started", call->created_ms);
  add_time (o, "answered", call->answered_ms);
  cJSON_AddNumberToObject (o, "duration_ms",
      call->answered_ms ? (double) (amgw_wall_ms () - call->answered_ms) : 0);
  bridge = cJSON_AddObjectToObject (o, "bridge_leg");
  add_nullable (bridge, "protocol", call->bridge_protocol);
  add_nullable (bridge, "target", bridge_target (call, target, sizeof target));
  add_nullable (bridge, "kind", call->bridge_leg ? call->bridge_leg->klass->kind : NULL);
  cJSON_AddBoolToObject (bridge, "answered", call->bridge_answered);
  if (call->bridge_leg)
    amgw_leg_describe (call->bridge_leg, bridge);
  alexa = cJSON_AddObjectToObject (o, "alexa_leg");
  add_nullable (alexa, "address", call->alexa_party);
  add_nullable (alexa, "kind", call->alexa_leg ? call->alexa_leg->klass->kind : NULL);
  if (call->alexa_leg)
    amgw_leg_describe (call->alexa_leg, alexa);
  if (call->join && amgw_leg_get_joiner ())
    amgw_leg_get_joiner ()->describe (call->join, o);
  else
    cJSON_AddNullToObject (o, "relay");
  return o;
}

cJSON *
amgw_call_record_to_json (const AmgwCallRecord *rec)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *bridge, *alexa;

  cJSON_AddStringToObject (o, "id", rec->session_id);
  cJSON_AddBoolToObject (o, "active", FALSE);
  add_nullable (o, "room", rec->room);
  add_nullable (o, "direction", rec->direction);
  cJSON_AddStringToObject (o, "state", "ended");
  add_time (o, "started", rec->started_ms);
  add_time (o, "answered", rec->answered_ms);
  add_time (o, "ended", rec->ended_ms);
  cJSON_AddNumberToObject (o, "duration_ms", (double) rec->duration_ms);
  add_nullable (o, "outcome", rec->outcome);
  add_nullable (o, "reason", rec->reason);
  bridge = cJSON_AddObjectToObject (o, "bridge_leg");
  add_nullable (bridge, "protocol", rec->bridge_protocol);
  add_nullable (bridge, "target", rec->bridge_target);
  alexa = cJSON_AddObjectToObject (o, "alexa_leg");
  add_nullable (alexa, "address", rec->alexa_party);
  return o;
}

cJSON *
amgw_gateway_calls_to_json (AmgwGateway *gw)
{
  cJSON *arr = cJSON_CreateArray ();
  g_autoptr (GPtrArray) all = calls_snapshot (gw);

  for (guint i = 0; i < all->len; i++)
    cJSON_AddItemToArray (arr, amgw_call_to_json (all->pdata[i]));
  return arr;
}
