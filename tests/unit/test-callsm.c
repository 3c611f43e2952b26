/* Transition tables of the CallSignaling state machines (callsm.c). */
#include "amgw/callsm.h"

#define A AMGW_SM_ACCEPT
#define O AMGW_SM_OUT_OF_ORDER
#define N AMGW_SM_NOT_ALLOWED

typedef struct {
  gboolean send;            /* TRUE: amgw sends; FALSE: event from Alexa */
  AmgwSignalType type;
  AmgwSmVerdict verdict;
  AmgwCallPhase phase;      /* phase afterwards */
  AmgwRenegState reneg;     /* renegotiation state afterwards */
} Step;

#define SEND(t, v, p, r) { TRUE, AMGW_SIGNAL_##t, v, AMGW_PHASE_##p, AMGW_RENEG_##r }
#define RECV(t, v, p, r) { FALSE, AMGW_SIGNAL_##t, v, AMGW_PHASE_##p, AMGW_RENEG_##r }
#define END { FALSE, AMGW_SIGNAL_N, 0, 0, 0 }

typedef struct {
  const char *name;
  AmgwCallDirection direction;
  Step steps[24];
} Script;

static const Script scripts[] = {
  { "to-alexa/happy", AMGW_CALL_TO_ALEXA, {
      RECV (CALL_RINGING, O, NEW, IDLE),                 /* before the offer */
      SEND (INITIATE_INBOUND_CALL, A, OFFERED, IDLE),
      SEND (INITIATE_INBOUND_CALL, O, OFFERED, IDLE),
      SEND (CALL_RINGING_ACK, O, OFFERED, IDLE),         /* nothing to ack yet */
      RECV (CALL_RINGING, A, RINGING, IDLE),
      SEND (CALL_RINGING_ACK, A, RINGING, IDLE),
      RECV (CALL_RINGING, O, RINGING, IDLE),             /* duplicate */
      RECV (CALL_UPDATE, O, RINGING, IDLE),              /* not answered yet */
      RECV (CALL_IN_PROGRESS, A, PROGRESS, IDLE),
      SEND (CALL_IN_PROGRESS_ACK, A, PROGRESS, IDLE),
      RECV (CALL_RINGING, O, PROGRESS, IDLE),            /* backwards */
      RECV (CALL_ACCEPTED, A, ACCEPTED, IDLE),
      SEND (CALL_ACCEPTED_ACK, A, ACCEPTED, IDLE),
      RECV (CALL_ACCEPTED, O, ACCEPTED, IDLE),
      RECV (CALL_RINGING_ACK, N, ACCEPTED, IDLE),        /* acks are amgw's in this direction */
      SEND (CALL_RINGING, N, ACCEPTED, IDLE),
      RECV (INITIATE_OUTBOUND_CALL, N, ACCEPTED, IDLE),
      RECV (CALL_ENDED, A, ENDED, IDLE),
      RECV (CALL_ENDED, O, ENDED, IDLE),
      SEND (CALL_ENDED, O, ENDED, IDLE),
      END } },
  { "to-alexa/accepted-directly", AMGW_CALL_TO_ALEXA, {
      SEND (INITIATE_INBOUND_CALL, A, OFFERED, IDLE),
      RECV (CALL_ACCEPTED, A, ACCEPTED, IDLE),
      RECV (CALL_IN_PROGRESS, O, ACCEPTED, IDLE),
      SEND (CALL_ENDED, A, ENDED, IDLE),
      END } },
  { "from-alexa/happy", AMGW_CALL_FROM_ALEXA, {
      SEND (CALL_RINGING, O, NEW, IDLE),
      RECV (INITIATE_OUTBOUND_CALL, A, OFFERED, IDLE),
      RECV (INITIATE_OUTBOUND_CALL, O, OFFERED, IDLE),
      RECV (CALL_RINGING_ACK, O, OFFERED, IDLE),         /* nothing sent yet */
      RECV (CALL_RINGING, N, OFFERED, IDLE),
      SEND (CALL_RINGING, A, RINGING, IDLE),
      SEND (CALL_IN_PROGRESS, A, PROGRESS, IDLE),
      SEND (CALL_ACCEPTED, A, ACCEPTED, IDLE),
      RECV (CALL_IN_PROGRESS_ACK, A, ACCEPTED, IDLE),    /* late acks are fine */
      RECV (CALL_RINGING_ACK, A, ACCEPTED, IDLE),
      RECV (CALL_RINGING_ACK, O, ACCEPTED, IDLE),        /* twice is not */
      RECV (CALL_ACCEPTED_ACK, A, ACCEPTED, IDLE),
      RECV (CALL_ACCEPTED_ACK, O, ACCEPTED, IDLE),
      SEND (CALL_RINGING, O, ACCEPTED, IDLE),
      SEND (INITIATE_INBOUND_CALL, N, ACCEPTED, IDLE),
      SEND (CALL_ENDED, A, ENDED, IDLE),
      RECV (CALL_ACCEPTED_ACK, O, ENDED, IDLE),
      END } },
  { "renegotiation/remote", AMGW_CALL_FROM_ALEXA, {
      RECV (INITIATE_OUTBOUND_CALL, A, OFFERED, IDLE),
      SEND (CALL_UPDATE_RESPONSE, O, OFFERED, IDLE),
      SEND (CALL_ACCEPTED, A, ACCEPTED, IDLE),
      RECV (CALL_UPDATE_ACK, O, ACCEPTED, IDLE),         /* nothing to ack */
      RECV (CALL_UPDATE_RESPONSE, O, ACCEPTED, IDLE),    /* no offer of ours */
      RECV (CALL_UPDATE, A, ACCEPTED, REMOTE_OFFER),
      RECV (CALL_UPDATE, O, ACCEPTED, REMOTE_OFFER),     /* one at a time */
      SEND (CALL_UPDATE, O, ACCEPTED, REMOTE_OFFER),     /* ours must wait */
      SEND (CALL_UPDATE_RESPONSE, A, ACCEPTED, AWAIT_ACK),
      SEND (CALL_UPDATE_RESPONSE, O, ACCEPTED, AWAIT_ACK),
      RECV (CALL_UPDATE_ACK, A, ACCEPTED, IDLE),
      RECV (CALL_UPDATE, A, ACCEPTED, REMOTE_OFFER),     /* and again */
      RECV (CALL_ENDED, A, ENDED, IDLE),
      END } },
  { "renegotiation/local-and-glare", AMGW_CALL_TO_ALEXA, {
      SEND (INITIATE_INBOUND_CALL, A, OFFERED, IDLE),
      SEND (CALL_UPDATE, O, OFFERED, IDLE),              /* not answered */
      RECV (CALL_ACCEPTED, A, ACCEPTED, IDLE),
      SEND (CALL_UPDATE, A, ACCEPTED, LOCAL_OFFER),
      RECV (CALL_UPDATE, O, ACCEPTED, LOCAL_OFFER),      /* glare: theirs refused */
      RECV (CALL_UPDATE_ACK, O, ACCEPTED, LOCAL_OFFER),
      RECV (CALL_UPDATE_RESPONSE, A, ACCEPTED, IDLE),
      SEND (CALL_UPDATE_ACK, A, ACCEPTED, IDLE),
      RECV (CALL_UPDATE_RESPONSE, O, ACCEPTED, IDLE),    /* a second answer */
      END } },
};

static void
run_script (gconstpointer data)
{
  const Script *script = data;
  AmgwCallSm sm;

  amgw_callsm_init (&sm, script->direction);
  for (guint i = 0; script->steps[i].type != AMGW_SIGNAL_N; i++) {
    const Step *s = &script->steps[i];
    AmgwSmVerdict v = s->send ? amgw_callsm_on_send (&sm, s->type)
                              : amgw_callsm_on_event (&sm, s->type);
    g_autofree char *where = g_strdup_printf ("%s step %u (%s %s)", script->name, i,
        s->send ? "send" : "recv", amgw_signal_type_name (s->type));

    if (v != s->verdict || sm.phase != s->phase || sm.reneg != s->reneg)
      g_error ("%s: verdict %d phase %s reneg %s; expected %d %s %s", where, v,
          amgw_call_phase_name (sm.phase), amgw_reneg_state_name (sm.reneg), s->verdict,
          amgw_call_phase_name (s->phase), amgw_reneg_state_name (s->reneg));
  }
}

/* Every (phase, event) pair: a refused event never changes the machine. */
static void
test_refusals_change_nothing (void)
{
  for (guint dir = 0; dir < 2; dir++)
    for (guint phase = AMGW_PHASE_NEW; phase <= AMGW_PHASE_ENDED; phase++)
      for (guint reneg = AMGW_RENEG_IDLE; reneg <= AMGW_RENEG_AWAIT_ACK; reneg++)
        for (guint t = 0; t < AMGW_SIGNAL_N; t++)
          for (guint send = 0; send < 2; send++) {
            AmgwCallSm sm, before;
            AmgwSmVerdict v;

            amgw_callsm_init (&sm, dir);
            sm.phase = phase;
            sm.reneg = reneg;
            sm.awaiting_ack = 0x5a5;
            before = sm;
            v = send ? amgw_callsm_on_send (&sm, t) : amgw_callsm_on_event (&sm, t);
            if (v != AMGW_SM_ACCEPT)
              g_assert_cmpmem (&sm, sizeof sm, &before, sizeof before);
            if (phase == AMGW_PHASE_ENDED)
              g_assert_cmpint (v, !=, AMGW_SM_ACCEPT);
          }
}

static void
test_names (void)
{
  g_assert_cmpstr (amgw_call_phase_name (AMGW_PHASE_ACCEPTED), ==, "accepted");
  g_assert_cmpstr (amgw_call_phase_name (99), ==, "invalid");
  g_assert_cmpstr (amgw_reneg_state_name (AMGW_RENEG_AWAIT_ACK), ==, "await-ack");
  g_assert_cmpstr (amgw_call_direction_name (AMGW_CALL_FROM_ALEXA), ==, "from-alexa");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (scripts); i++) {
    g_autofree char *path = g_strdup_printf ("/callsm/%s", scripts[i].name);
    g_test_add_data_func (path, &scripts[i], run_script);
  }
  g_test_add_func ("/callsm/refusals-change-nothing", test_refusals_change_nothing);
  g_test_add_func ("/callsm/names", test_names);
  return g_test_run ();
}
