/* amgw — the CallSignaling state machines of one call, as pure functions.
 *
 * Two machines per session (ARCHITECTURE.md flows 1, 4 and 6):
 *  - the set-up machine, whose shape depends on who called whom:
 *      TO_ALEXA   amgw sent InitiateInboundCall; Alexa sends CallRinging,
 *                 CallInProgress, CallAccepted, and amgw acknowledges each;
 *      FROM_ALEXA Alexa sent InitiateOutboundCall; amgw sends CallRinging,
 *                 CallInProgress, CallAccepted, and Alexa acknowledges each;
 *  - the renegotiation machine (CallUpdate, CallUpdateResponse, CallUpdateAck)
 *    in either direction, once the call is answered.
 *
 * The functions only decide; the call module acts.  Every transition table is
 * unit-tested (tests/unit/test-callsm.c).
 */
#pragma once

#include <glib.h>
#include "amgw/wire.h"

G_BEGIN_DECLS

typedef enum {
  AMGW_CALL_TO_ALEXA,
  AMGW_CALL_FROM_ALEXA,
} AmgwCallDirection;

typedef enum {
  AMGW_PHASE_NEW,          /* created, nothing sent to Alexa yet */
  AMGW_PHASE_OFFERED,      /* TO_ALEXA: InitiateInboundCall sent; FROM_ALEXA: offer received */
  AMGW_PHASE_RINGING,      /* CallRinging seen (TO_ALEXA) or sent (FROM_ALEXA) */
  AMGW_PHASE_PROGRESS,     /* CallInProgress (provisional answer) */
  AMGW_PHASE_ACCEPTED,     /* CallAccepted: answered, media may flow */
  AMGW_PHASE_ENDED,
} AmgwCallPhase;

typedef enum {
  AMGW_RENEG_IDLE,
  AMGW_RENEG_LOCAL_OFFER,  /* amgw sent CallUpdate, waits for CallUpdateResponse */
  AMGW_RENEG_REMOTE_OFFER, /* Alexa sent CallUpdate, amgw prepares CallUpdateResponse */
  AMGW_RENEG_AWAIT_ACK,    /* amgw sent CallUpdateResponse, waits for CallUpdateAck */
} AmgwRenegState;

typedef enum {
  AMGW_SM_ACCEPT,          /* valid: apply it */
  AMGW_SM_OUT_OF_ORDER,    /* not valid now: 409, nothing changes */
  AMGW_SM_NOT_ALLOWED,     /* never valid in this direction: 409 as well, but say why */
} AmgwSmVerdict;

typedef struct {
  AmgwCallDirection direction;
  AmgwCallPhase phase;
  AmgwRenegState reneg;
  /* FROM_ALEXA: messages amgw sent whose ack has not come yet (bit per
   * AmgwSignalType), so a late CallRingingAck after CallAccepted is fine. */
  guint32 awaiting_ack;
} AmgwCallSm;

void amgw_callsm_init (AmgwCallSm *sm, AmgwCallDirection direction);

/* An event from Alexa (forwarded by the skill).  On ACCEPT the machine has
 * moved; otherwise it is unchanged. */
AmgwSmVerdict amgw_callsm_on_event (AmgwCallSm *sm, AmgwSignalType event);

/* Whether amgw may send @op now; on ACCEPT the machine has moved. */
AmgwSmVerdict amgw_callsm_on_send (AmgwCallSm *sm, AmgwSignalType op);

/* TRUE once the call is answered (renegotiation allowed). */
gboolean amgw_callsm_is_answered (const AmgwCallSm *sm);

const char *amgw_call_phase_name (AmgwCallPhase phase);
const char *amgw_reneg_state_name (AmgwRenegState state);
const char *amgw_call_direction_name (AmgwCallDirection direction);

G_END_DECLS
