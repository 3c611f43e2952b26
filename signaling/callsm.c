/* amgw — CallSignaling state machines (pure). */
#include "amgw/callsm.h"

#define BIT(t) (1u << (t))

void
amgw_callsm_init (AmgwCallSm *sm, AmgwCallDirection direction)
{
  sm->direction = direction;
  sm->phase = AMGW_PHASE_NEW;
  sm->reneg = AMGW_RENEG_IDLE;
  sm->awaiting_ack = 0;
}

gboolean
amgw_callsm_is_answered (const AmgwCallSm *sm)
{
  return sm->phase == AMGW_PHASE_ACCEPTED;
}

/* Renegotiation messages, common to both directions. */
static AmgwSmVerdict
reneg_event (AmgwCallSm *sm, AmgwSignalType event)
{
  if (!amgw_callsm_is_answered (sm))
    return AMGW_SM_OUT_OF_ORDER;

  switch (event) {
    case AMGW_SIGNAL_CALL_UPDATE:
      /* A remote offer while ours is pending is glare: refuse theirs; ours
       * stands and Alexa answers it. */
      if (sm->reneg != AMGW_RENEG_IDLE)
        return AMGW_SM_OUT_OF_ORDER;
      sm->reneg = AMGW_RENEG_REMOTE_OFFER;
      return AMGW_SM_ACCEPT;
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      if (sm->reneg != AMGW_RENEG_LOCAL_OFFER)
        return AMGW_SM_OUT_OF_ORDER;
      /* amgw acknowledges at once (CallUpdateAck). */
      sm->reneg = AMGW_RENEG_IDLE;
      return AMGW_SM_ACCEPT;
    case AMGW_SIGNAL_CALL_UPDATE_ACK:
      if (sm->reneg != AMGW_RENEG_AWAIT_ACK)
        return AMGW_SM_OUT_OF_ORDER;
      sm->reneg = AMGW_RENEG_IDLE;
      return AMGW_SM_ACCEPT;
    default:
      return AMGW_SM_NOT_ALLOWED;
  }
}

AmgwSmVerdict
amgw_callsm_on_event (AmgwCallSm *sm, AmgwSignalType event)
{
  if (sm->phase == AMGW_PHASE_ENDED)
    return AMGW_SM_OUT_OF_ORDER;

  switch (event) {
    case AMGW_SIGNAL_CALL_ENDED:
      sm->phase = AMGW_PHASE_ENDED;
      sm->reneg = AMGW_RENEG_IDLE;
      return AMGW_SM_ACCEPT;
    case AMGW_SIGNAL_CALL_UPDATE:
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
    case AMGW_SIGNAL_CALL_UPDATE_ACK:
      return reneg_event (sm, event);
    case AMGW_SIGNAL_INITIATE_OUTBOUND_CALL:
      /* Only ever the first message of a new session. */
      if (sm->direction != AMGW_CALL_FROM_ALEXA)
        return AMGW_SM_NOT_ALLOWED;
      if (sm->phase != AMGW_PHASE_NEW)
        return AMGW_SM_OUT_OF_ORDER;
      sm->phase = AMGW_PHASE_OFFERED;
      return AMGW_SM_ACCEPT;
    default:
      break;
  }

  if (sm->direction == AMGW_CALL_TO_ALEXA) {
    /* Alexa reports progress; the HTTP answer to InitiateInboundCall and the
     * first event race each other, so OFFERED is set when amgw sends. */
    switch (event) {
      case AMGW_SIGNAL_CALL_RINGING:
        if (sm->phase != AMGW_PHASE_OFFERED)
          return AMGW_SM_OUT_OF_ORDER;
        sm->phase = AMGW_PHASE_RINGING;
        return AMGW_SM_ACCEPT;
      case AMGW_SIGNAL_CALL_IN_PROGRESS:
        if (sm->phase != AMGW_PHASE_OFFERED && sm->phase != AMGW_PHASE_RINGING)
          return AMGW_SM_OUT_OF_ORDER;
        sm->phase = AMGW_PHASE_PROGRESS;
        return AMGW_SM_ACCEPT;
      case AMGW_SIGNAL_CALL_ACCEPTED:
        if (sm->phase != AMGW_PHASE_OFFERED && sm->phase != AMGW_PHASE_RINGING &&
            sm->phase != AMGW_PHASE_PROGRESS)
          return AMGW_SM_OUT_OF_ORDER;
        sm->phase = AMGW_PHASE_ACCEPTED;
        return AMGW_SM_ACCEPT;
      default:
        /* Acks are what amgw sends in this direction. */
        return AMGW_SM_NOT_ALLOWED;
    }
  }

  /* FROM_ALEXA: Alexa acknowledges what amgw sent. */
  switch (event) {
    case AMGW_SIGNAL_CALL_RINGING_ACK:
    case AMGW_SIGNAL_CALL_IN_PROGRESS_ACK:
    case AMGW_SIGNAL_CALL_ACCEPTED_ACK: {
      AmgwSignalType acked = event == AMGW_SIGNAL_CALL_RINGING_ACK ? AMGW_SIGNAL_CALL_RINGING
          : event == AMGW_SIGNAL_CALL_IN_PROGRESS_ACK ? AMGW_SIGNAL_CALL_IN_PROGRESS
          : AMGW_SIGNAL_CALL_ACCEPTED;
      if (!(sm->awaiting_ack & BIT (acked)))
        return AMGW_SM_OUT_OF_ORDER;
      sm->awaiting_ack &= ~BIT (acked);
      return AMGW_SM_ACCEPT;
    }
    default:
      return AMGW_SM_NOT_ALLOWED;
  }
}

AmgwSmVerdict
amgw_callsm_on_send (AmgwCallSm *sm, AmgwSignalType op)
{
  if (sm->phase == AMGW_PHASE_ENDED)
    return AMGW_SM_OUT_OF_ORDER;

  switch (op) {
    case AMGW_SIGNAL_CALL_ENDED:
      sm->phase = AMGW_PHASE_ENDED;
      sm->reneg = AMGW_RENEG_IDLE;
      return AMGW_SM_ACCEPT;
    case AMGW_SIGNAL_CALL_UPDATE:
      if (!amgw_callsm_is_answered (sm) || sm->reneg != AMGW_RENEG_IDLE)
        return AMGW_SM_OUT_OF_ORDER;
      sm->reneg = AMGW_RENEG_LOCAL_OFFER;
      return AMGW_SM_ACCEPT;
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      if (sm->reneg != AMGW_RENEG_REMOTE_OFFER)
        return AMGW_SM_OUT_OF_ORDER;
      sm->reneg = AMGW_RENEG_AWAIT_ACK;
      return AMGW_SM_ACCEPT;
    case AMGW_SIGNAL_CALL_UPDATE_ACK:
      /* Sent right after a CallUpdateResponse was accepted (reneg already IDLE). */
      return amgw_callsm_is_answered (sm) ? AMGW_SM_ACCEPT : AMGW_SM_OUT_OF_ORDER;
    default:
      break;
  }

  if (sm->direction == AMGW_CALL_TO_ALEXA) {
    switch (op) {
      case AMGW_SIGNAL_INITIATE_INBOUND_CALL:
        if (sm->phase != AMGW_PHASE_NEW)
          return AMGW_SM_OUT_OF_ORDER;
        sm->phase = AMGW_PHASE_OFFERED;
        return AMGW_SM_ACCEPT;
      /* Acks follow the event they acknowledge, which moved the phase. */
      case AMGW_SIGNAL_CALL_RINGING_ACK:
        return sm->phase >= AMGW_PHASE_RINGING ? AMGW_SM_ACCEPT : AMGW_SM_OUT_OF_ORDER;
      case AMGW_SIGNAL_CALL_IN_PROGRESS_ACK:
        return sm->phase >= AMGW_PHASE_PROGRESS ? AMGW_SM_ACCEPT : AMGW_SM_OUT_OF_ORDER;
      case AMGW_SIGNAL_CALL_ACCEPTED_ACK:
        return sm->phase >= AMGW_PHASE_ACCEPTED ? AMGW_SM_ACCEPT : AMGW_SM_OUT_OF_ORDER;
      default:
        return AMGW_SM_NOT_ALLOWED;
    }
  }

  switch (op) {
    case AMGW_SIGNAL_CALL_RINGING:
      if (sm->phase != AMGW_PHASE_OFFERED)
        return AMGW_SM_OUT_OF_ORDER;
      sm->phase = AMGW_PHASE_RINGING;
      break;
    case AMGW_SIGNAL_CALL_IN_PROGRESS:
      if (sm->phase != AMGW_PHASE_OFFERED && sm->phase != AMGW_PHASE_RINGING)
        return AMGW_SM_OUT_OF_ORDER;
      sm->phase = AMGW_PHASE_PROGRESS;
      break;
    case AMGW_SIGNAL_CALL_ACCEPTED:
      if (sm->phase != AMGW_PHASE_OFFERED && sm->phase != AMGW_PHASE_RINGING &&
          sm->phase != AMGW_PHASE_PROGRESS)
        return AMGW_SM_OUT_OF_ORDER;
      sm->phase = AMGW_PHASE_ACCEPTED;
      break;
    default:
      return AMGW_SM_NOT_ALLOWED;
  }
  sm->awaiting_ack |= BIT (op);
  return AMGW_SM_ACCEPT;
}

const char *
amgw_call_phase_name (AmgwCallPhase phase)
{
  static const char *names[] = { "new", "offered", "ringing", "progress", "accepted", "ended" };
  return (guint) phase < G_N_ELEMENTS (names) ? names[phase] : "invalid";
}

const char *
amgw_reneg_state_name (AmgwRenegState state)
{
  static const char *names[] = { "idle", "local-offer", "remote-offer", "await-ack" };
  return (guint) state < G_N_ELEMENTS (names) ? names[state] : "invalid";
}

const char *
amgw_call_direction_name (AmgwCallDirection direction)
{
  return direction == AMGW_CALL_TO_ALEXA ? "to-alexa" : "from-alexa";
}
