/* amgw — calls: the registry of active calls and what drives each one.
 *
 * AmgwGateway holds the control plane's shared parts (configuration, store,
 * Alexa client, LWA, meeting directory) and the active calls by sessionId.
 * Each call joins an Alexa leg and a bridge leg (include/amgw/leg.h), runs the
 * CallSignaling state machines (include/amgw/callsm.h), its time-outs, and
 * keeps the store's session row and call record.  Control loop only.
 *
 * Lifetime: the gateway owns its calls.  A call that ends is removed from the
 * registry at once and freed from an idle callback, never from inside the
 * callback that ended it.
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>
#include "amgw/config.h"
#include "amgw/store.h"
#include "amgw/wire.h"
#include "amgw/callsm.h"
#include "amgw/leg.h"

G_BEGIN_DECLS

#define AMGW_CALL_ERROR (amgw_call_error_quark ())
GQuark amgw_call_error_quark (void);

typedef enum {
  AMGW_CALL_ERROR_BUSY,          /* max-calls reached, or draining -> ENDPOINT_BUSY */
  AMGW_CALL_ERROR_ALREADY,       /* the room is already in a meeting -> ALREADY_IN_OPERATION */
  AMGW_CALL_ERROR_UNREACHABLE,   /* no leg for the protocol, bridge unreachable, not linked -> ENDPOINT_UNREACHABLE */
  AMGW_CALL_ERROR_INVALID,       /* bad target -> INVALID_VALUE */
  AMGW_CALL_ERROR_FAILED,        /* -> INTERNAL_ERROR */
} AmgwCallError;

typedef struct _AmgwGateway AmgwGateway;
typedef struct _AmgwCall AmgwCall;
typedef struct _AmgwAlexaClient AmgwAlexaClient;
typedef struct _AmgwLwa AmgwLwa;
typedef struct _AmgwDirectory AmgwDirectory;

/* All borrowed: they must outlive the gateway. */
AmgwGateway *amgw_gateway_new (const AmgwConfig *config, AmgwStore *store,
    AmgwAlexaClient *alexa, AmgwLwa *lwa, AmgwDirectory *directory);
/* Frees the remaining calls without signaling (call amgw_gateway_end_all first). */
void amgw_gateway_free (AmgwGateway *gw);

const AmgwConfig *amgw_gateway_get_config (AmgwGateway *gw);
AmgwStore *amgw_gateway_get_store (AmgwGateway *gw);
AmgwLwa *amgw_gateway_get_lwa (AmgwGateway *gw);
AmgwDirectory *amgw_gateway_get_directory (AmgwGateway *gw);
AmgwAlexaClient *amgw_gateway_get_alexa (AmgwGateway *gw);

/* What JoinMeeting (or a resolved JoinScheduledMeeting) asks for. */
typedef struct {
  const char *protocol;    /* SIP, SIPS, H323 */
  const char *endpoint;
  const char *meeting_id;  /* (nullable) */
  const char *pin;         /* (nullable) secret */
  const char *provider;    /* (nullable) */
} AmgwMeetingRequest;

/* JoinMeeting: dials the bridge and calls @room's Alexa device with
 * InitiateInboundCall.  Returns the call (transfer none) once it is under
 * way; errors are AMGW_CALL_ERROR_*. */
AmgwCall *amgw_gateway_join_meeting (AmgwGateway *gw, const AmgwRoom *room,
    const AmgwMeetingRequest *request, GError **error);

/* The installer's audio check (POST /v1/rooms/{room}/test-call): calls
 * @room's Alexa device with no bridge; once media flows the Alexa leg plays
 * @tone_hz for @tone_ms, then echoes; the call ends by itself @duration_ms
 * after it is answered.  (transfer none) */
AmgwCall *amgw_gateway_test_call (AmgwGateway *gw, const AmgwRoom *room, double tone_hz,
    guint tone_ms, guint duration_ms, const char *codec, GError **error);

/* A recently ended call as the calls view showed it last, with its legs'
 * final statistics (the last 64 are kept in memory). (transfer full) (nullable) */
cJSON *amgw_gateway_recent_call (AmgwGateway *gw, const char *session_id);

/* EndMeeting: ends every active call of @room; returns how many. */
guint amgw_gateway_end_room (AmgwGateway *gw, const AmgwRoom *room, const char *message);

/* An Alexa->partner event (WIRE.md section 2).  Returns the HTTP status for
 * /v1/alexa/events: 200 accepted, 404 unknown session, 409 out of order
 * (nothing changed), 400 unusable content; @message (transfer full) says why. */
guint amgw_gateway_handle_event (AmgwGateway *gw, const AmgwSignal *event, char **message);

/* Ends every call (shutdown): CallEnded to Alexa, hang-up to the bridges. */
void amgw_gateway_end_all (AmgwGateway *gw, AmgwResultCode result, const char *message);

/* After a restart: sends CallEnded for every session the store still lists
 * (the previous process died with them), then moves them to call records. */
void amgw_gateway_recover (AmgwGateway *gw);

/* Refuses new calls from now on (draining). */
void amgw_gateway_set_accepting (AmgwGateway *gw, gboolean accepting);
gboolean amgw_gateway_is_accepting (AmgwGateway *gw);

guint amgw_gateway_count_calls (AmgwGateway *gw);
/* (transfer none) (nullable) */
AmgwCall *amgw_gateway_find_call (AmgwGateway *gw, const char *session_id);
/* Active calls as a JSON array for GET /v1/calls. (transfer full) */
cJSON *amgw_gateway_calls_to_json (AmgwGateway *gw);

/* Operators' hang-up (DELETE /v1/calls/{id}). */
void amgw_call_hangup (AmgwCall *call, AmgwResultCode result, const char *message);

const char *amgw_call_get_session_id (AmgwCall *call);
AmgwCallPhase amgw_call_get_phase (AmgwCall *call);
/* (transfer full) */
cJSON *amgw_call_to_json (AmgwCall *call);
/* A stored call record as JSON (same shape as amgw_call_to_json). (transfer full) */
cJSON *amgw_call_record_to_json (const AmgwCallRecord *rec);

G_END_DECLS
