/* amgw — the JSON amgw exchanges with Alexa (docs/WIRE.md).
 *
 * Pure functions, no I/O: CallSignaling messages partner -> Alexa (section 1)
 * are built, Alexa -> partner events (section 2) are parsed, smart-home
 * directives (section 3) are parsed and answered.  Every input has a named
 * ceiling below; past it is a clear error, never a truncation (except where a
 * function says it is lenient).  Parsers never trust JSON types: a wrong type
 * is an error, a JSON null counts as an absent member, unknown members are
 * ignored, and member names are case-sensitive.
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>

#include "amgw/config.h"

G_BEGIN_DECLS

#define AMGW_WIRE_ERROR (amgw_wire_error_quark ())
GQuark amgw_wire_error_quark (void);

typedef enum {
  AMGW_WIRE_ERROR_INVALID_JSON,      /* empty, not UTF-8, NUL bytes, too deep, syntax */
  AMGW_WIRE_ERROR_TOO_BIG,           /* a body or a value over its ceiling */
  AMGW_WIRE_ERROR_INVALID_DIRECTIVE, /* any problem in a directive but the two below */
  AMGW_WIRE_ERROR_INVALID_VALUE,     /* a value of the right type that is not allowed */
  AMGW_WIRE_ERROR_INVALID_EVENT,     /* not an event envelope, or an unknown event type */
  AMGW_WIRE_ERROR_MISSING_FIELD,     /* a required member is absent (or null) */
  AMGW_WIRE_ERROR_WRONG_TYPE,        /* a member has the wrong JSON type */
} AmgwWireError;

/* Ceilings. */
#define AMGW_MAX_EVENT_BYTES (256 * 1024)        /* an Alexa event envelope */
#define AMGW_MAX_DIRECTIVE_BYTES (64 * 1024)     /* a directive envelope */
#define AMGW_MAX_SDP_BYTES (64 * 1024)           /* sdpDetails.value */
#define AMGW_MAX_PARTICIPANTS 8
#define AMGW_MAX_SESSION_ID_LEN 128
#define AMGW_MAX_MESSAGE_ID_LEN 127
#define AMGW_MAX_ENDPOINT_ID_LEN 256
#define AMGW_MAX_JSON_DEPTH 32                   /* nesting of [ and {, checked before cJSON runs */
#define AMGW_MAX_ADDRESS_LEN 1024                /* a participant id value */
#define AMGW_MAX_TEXT_LEN 1024                   /* callerName, callResult.message, error messages */
#define AMGW_MAX_FIELD_LEN 256                   /* namespace, name, meeting id/pin/provider, ... */
#define AMGW_MAX_MEETING_ENDPOINT_LEN 255        /* payload.meeting.endpoint */
#define AMGW_MAX_TOKEN_LEN 8192                  /* scope token, grant code, grantee token */
#define AMGW_MAX_CORRELATION_TOKEN_LEN 8192

#define AMGW_SIGNAL_TYPE_PREFIX "Alexa.Comms.CallSignaling."

/* ---- A. CallSignaling ---------------------------------------------------- */

typedef enum {
  AMGW_SIGNAL_INITIATE_INBOUND_CALL,
  AMGW_SIGNAL_INITIATE_OUTBOUND_CALL,
  AMGW_SIGNAL_CALL_RINGING,
  AMGW_SIGNAL_CALL_RINGING_ACK,
  AMGW_SIGNAL_CALL_IN_PROGRESS,
  AMGW_SIGNAL_CALL_IN_PROGRESS_ACK,
  AMGW_SIGNAL_CALL_ACCEPTED,
  AMGW_SIGNAL_CALL_ACCEPTED_ACK,
  AMGW_SIGNAL_CALL_UPDATE,
  AMGW_SIGNAL_CALL_UPDATE_RESPONSE,
  AMGW_SIGNAL_CALL_UPDATE_ACK,
  AMGW_SIGNAL_CALL_ENDED,
  AMGW_SIGNAL_N
} AmgwSignalType;

typedef enum { AMGW_SDP_NONE, AMGW_SDP_OFFER, AMGW_SDP_ANSWER } AmgwSdpType;

typedef enum {
  AMGW_RENEGOTIATION_NONE,
  AMGW_RENEGOTIATION_CALL_HOLD,
  AMGW_RENEGOTIATION_CALL_RESUME,
  AMGW_RENEGOTIATION_CALL_UPDATE,
} AmgwRenegotiation;

typedef enum {
  AMGW_RESULT_NONE,
  AMGW_RESULT_SUCCESS,
  AMGW_RESULT_DEVICE_BUSY,
  AMGW_RESULT_SESSION_TIMEOUT,
  AMGW_RESULT_UNAUTHORIZED,
  AMGW_RESULT_INTERNAL_ERROR,
} AmgwResultCode;

/* Names as on the wire: "CallRinging", "OFFER", "CALL_HOLD", "DEVICE_BUSY".
 * (transfer none) (nullable): NULL for the NONE values and out-of-range ones. */
const char *amgw_signal_type_name (AmgwSignalType t);
const char *amgw_sdp_type_name (AmgwSdpType t);
const char *amgw_renegotiation_name (AmgwRenegotiation r);
const char *amgw_result_code_name (AmgwResultCode c);

/* The reverse, case-sensitive; FALSE (and @out untouched) for an unknown or
 * NULL name.  amgw_signal_type_from_name() accepts "CallRinging" and
 * "Alexa.Comms.CallSignaling.CallRinging". */
gboolean amgw_signal_type_from_name (const char *name, AmgwSignalType *out);
gboolean amgw_sdp_type_from_name (const char *name, AmgwSdpType *out);
gboolean amgw_renegotiation_from_name (const char *name, AmgwRenegotiation *out);
gboolean amgw_result_code_from_name (const char *name, AmgwResultCode *out);

typedef struct {
  AmgwAddressType type;
  char *value;
  gboolean is_originator;
} AmgwParticipant;

/* One CallSignaling message, either direction.  Single owner: _new/_free. */
typedef struct {
  AmgwSignalType type;
  char *session_id;
  AmgwSdpType sdp_type;            /* sdpDetails.type */
  char *sdp;                       /* sdpDetails.value (a secret-free but private body: LOG level only) */
  AmgwRenegotiation renegotiation; /* renegotiationType */
  GPtrArray *participants;         /* (nullable) AmgwParticipant*, owned */
  char *caller_name;               /* (nullable) customParams.callerName */
  AmgwResultCode result_code;      /* callResult.code */
  char *result_message;            /* (nullable) callResult.message */
} AmgwSignal;

/* (transfer full); @session_id is copied (nullable). */
AmgwSignal *amgw_signal_new (AmgwSignalType type, const char *session_id);
void amgw_signal_free (AmgwSignal *s);
/* Appends a participant; @value is copied. */
void amgw_signal_add_participant (AmgwSignal *s, AmgwAddressType type, const char *value,
    gboolean is_originator);

/* partner -> Alexa: the flat body of WIRE.md section 1,
 * {"type": "Alexa.Comms.CallSignaling.<Operation>", "sessionId", ...}.
 * Only the 11 operations partners send (never InitiateOutboundCall).  Checks
 * that the fields the operation needs are present and well formed:
 * sessionId (1..AMGW_MAX_SESSION_ID_LEN printable ASCII, no spaces, quotes,
 * backslashes); InitiateInboundCall: 1..AMGW_MAX_PARTICIPANTS participants,
 * exactly one originator and at least one callee, sdpDetails OFFER;
 * CallInProgress/CallAccepted: ANSWER; CallUpdate: renegotiationType + OFFER;
 * CallUpdateResponse: renegotiationType + ANSWER; CallEnded: callResult.code.
 * Fields an operation does not define are not written.  Strings must be
 * UTF-8; SDP 1..AMGW_MAX_SDP_BYTES without control characters but CR, LF, TAB.
 * Returns NULL and sets @error (INVALID_VALUE, MISSING_FIELD, TOO_BIG) on a
 * problem.  (transfer full): free with g_free(). */
char *amgw_signal_to_json (const AmgwSignal *s, GError **error);

/* Alexa -> partner: a skill request envelope of WIRE.md section 2,
 * {"version", "context", "session", "request": {"type", "sessionId", ...}},
 * at most AMGW_MAX_EVENT_BYTES.  The 11 events Alexa sends (not
 * InitiateInboundCall).  Per event: CallInProgress/CallAccepted: sdpDetails
 * ANSWER; InitiateOutboundCall: sdpDetails OFFER and participants with a
 * callee (participants of an unknown id type are skipped; optional
 * customParams.callerName); CallUpdate: renegotiationType + OFFER;
 * CallUpdateResponse: renegotiationType + ANSWER; CallEnded: callResult with
 * a code (an unknown code reads as INTERNAL_ERROR; callResult.message and
 * callerName are lenient: control characters become spaces, past
 * AMGW_MAX_TEXT_LEN they are shortened).  Whatever this returns,
 * amgw_signal_to_json() can write again (for the types partners send).
 * (transfer full) */
AmgwSignal *amgw_signal_parse_event (const char *body, gsize len, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwSignal, amgw_signal_free)

/* ---- B. Smart-home directives ------------------------------------------- */

typedef enum {
  AMGW_DIRECTIVE_UNKNOWN,
  AMGW_DIRECTIVE_DISCOVER,               /* Alexa.Discovery / Discover */
  AMGW_DIRECTIVE_JOIN_MEETING,           /* Alexa.MeetingClientController / JoinMeeting */
  AMGW_DIRECTIVE_END_MEETING,            /* Alexa.MeetingClientController / EndMeeting */
  AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING, /* Alexa.MeetingClientController / JoinScheduledMeeting */
  AMGW_DIRECTIVE_GET_CURRENT_MEETING,    /* Alexa.Calendar / GetCurrentMeeting */
  AMGW_DIRECTIVE_ACCEPT_GRANT,           /* Alexa.Authorization / AcceptGrant */
} AmgwDirectiveKind;

/* "JoinMeeting", ... "Unknown".  (transfer none) */
const char *amgw_directive_kind_name (AmgwDirectiveKind kind);

/* A parsed directive.  Every string is owned and (nullable) unless said. */
typedef struct {
  AmgwDirectiveKind kind;
  char *namespace_, *name, *message_id;
  char *correlation_token;
  char *payload_version;
  char *endpoint_id;           /* NULL for Discover and AcceptGrant */
  /* endpoint.scope, or payload.scope for Discover.  scope_token is a secret. */
  char *scope_type, *scope_token, *scope_partition, *scope_user_id;
  /* JoinMeeting: meeting_protocol is upper-cased (SIP, SIPS, H323); meeting_pin is private. */
  char *meeting_id, *meeting_pin, *meeting_endpoint, *meeting_protocol, *meeting_provider;
  char *calendar_event_id;     /* JoinScheduledMeeting */
  /* AcceptGrant: grant.type, grant.code (secret), grantee.token (secret). */
  char *grant_type, *grant_code, *grantee_token;
  cJSON *endpoint_json;        /* a copy of directive.endpoint when it is an object, for echoing */
} AmgwDirective;

/* Parses a directive envelope (WIRE.md section 3) of at most
 * AMGW_MAX_DIRECTIVE_BYTES.  Returns FALSE on any problem and sets @error:
 * AMGW_WIRE_ERROR_INVALID_VALUE for a meeting protocol other than
 * SIP/SIPS/H323 (any case) or an unusable meeting endpoint, id, pin
 * (endpoint: empty, over AMGW_MAX_MEETING_ENDPOINT_LEN, whitespace, control,
 * quote or backslash characters); AMGW_WIRE_ERROR_INVALID_DIRECTIVE for every
 * other problem.
 *
 * *@out is set whenever directive.header is an object, even on failure, so
 * the caller can answer with an ErrorResponse: correlation_token, endpoint_id
 * and endpoint_json are filled in first when they are well formed, the other
 * fields as far as parsing got.
 *
 * What we accept is a little wider than what we produce: messageId is
 * 1..AMGW_MAX_MESSAGE_ID_LEN printable ASCII characters without quotes (we
 * produce UUIDs); endpointId 1..AMGW_MAX_ENDPOINT_ID_LEN printable ASCII
 * without quotes and backslashes.  payloadVersion must be "3".  An unknown
 * namespace/name gives kind UNKNOWN and TRUE (the caller answers
 * INVALID_DIRECTIVE).  Known kinds need a payload object; all but Discover and
 * AcceptGrant need endpoint.endpointId and endpoint.scope {type BearerToken or
 * BearerTokenWithPartition, token}; Discover needs payload.scope; JoinMeeting
 * payload.meeting {endpoint, protocol, provider, id?, pin?};
 * JoinScheduledMeeting payload.calendarEventId; AcceptGrant payload.grant
 * {type "OAuth2.AuthorizationCode", code} and optionally payload.grantee.token. */
gboolean amgw_directive_parse (const char *body, gsize len, AmgwDirective **out, GError **error);
void amgw_directive_free (AmgwDirective *d);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwDirective, amgw_directive_free)

/* {"event": {"header": {namespace, name, messageId (a new UUID),
 * correlationToken (echoed when @d has one), payloadVersion "3"},
 * "endpoint": {"endpointId", "scope"} (echoed when @d has an endpoint id),
 * "payload": @payload or {}}, "context": {"properties": []}}.
 * @d (nullable); @namespace_ NULL = "Alexa", @name NULL = "Response";
 * @payload (transfer full) (nullable).  (transfer full): g_free(). */
char *amgw_response_build (const AmgwDirective *d, const char *namespace_, const char *name,
    cJSON *payload);

/* An Alexa ErrorResponse: namespace "Alexa", name "ErrorResponse", payload
 * {"type": @type, "message": @message}.  @d (nullable): without it there is no
 * correlationToken and no endpoint.  @type NULL = "INTERNAL_ERROR"; @message
 * (nullable) is made valid UTF-8 and shortened to AMGW_MAX_TEXT_LEN.
 * (transfer full): g_free(). */
char *amgw_error_response_build (const AmgwDirective *d, const char *type, const char *message);

/* One room as Discover.Response lists it. */
typedef struct {
  const char *endpoint_id;
  const char *friendly_name;   /* (nullable): endpoint_id */
  const char *description;     /* (nullable): "amgw meeting room <friendly name>" */
  gboolean supports_scheduled_meeting;
} AmgwDiscoverEndpoint;

/* Alexa.Discovery / Discover.Response (WIRE.md section 3, seed 004): one
 * payload.endpoints[] entry per element of @eps (manufacturerName "amgw",
 * displayCategories ["OTHER"], cookie {}, capabilities
 * Alexa.MeetingClientController 1.0 with supportsScheduledMeeting,
 * Alexa.Calendar 1.0 and Alexa 3).  @d (nullable) gives the correlationToken
 * when it has one.  (transfer full): g_free(). */
char *amgw_discover_response_build (const AmgwDirective *d, const AmgwDiscoverEndpoint *eps,
    guint n);

G_END_DECLS
