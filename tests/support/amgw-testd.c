/* amgw-testd: the real amgw daemon with scripted legs registered in place of
 * the WebRTC and SIP legs (which the WebRTC and SIP issues build).  It lets the
 * integration tests drive every control-plane flow — directives, events,
 * state machines, time-outs, recovery — against the fake Alexa cloud.
 *
 * The scripted bridge leg behaves according to words in what it dials
 * (JoinMeeting's meeting.endpoint, or InitiateOutboundCall's callee):
 *   "unreachable"  dial() fails at once (ENDPOINT_UNREACHABLE)
 *   "busy"         rings, then ends with DEVICE_BUSY
 *   "noanswer"     rings forever
 *   "hangup"       answers, then hangs up after 300 ms (a BYE from the bridge)
 *   "early"        rings, early media, then answers
 *   "holdme"       answers, puts the call on hold (sendonly) at 400 ms and
 *                  resumes it at 500 ms (while the hold is still being
 *                  negotiated with Alexa)
 *   anything else  rings after 20 ms, answers after 100 ms
 * Each leg logs what it is asked to do at INFO in the amgw-testleg category,
 * so tests can check it in the daemon's log. */
#include "amgw/daemon.h"
#include "amgw/debug.h"
#include "amgw/leg.h"

#include <stdlib.h>
#include <string.h>

/* AMGW_TESTD_REAL_SIP=1: the real SIP leg (signaling/sip-leg.c) replaces the
 * scripted SIP and SIPS legs; the Alexa leg stays scripted.  Built in when
 * the build links the media library (-DAMGW_TESTD_HAVE_SIP). */
#ifdef AMGW_TESTD_HAVE_SIP
#include "amgw/media-loops.h"
#include "amgw/sip-leg.h"

static AmgwMediaLoops *sip_loops;

static gboolean
real_sip_setup (const AmgwConfig *config, GError **error)
{
  sip_loops = amgw_media_loops_new (1);
  amgw_sip_leg_register (config, sip_loops, error);
  if (error != NULL && *error != NULL) {
    g_clear_pointer (&sip_loops, amgw_media_loops_free);
    return FALSE;
  }
  return TRUE;
}

static gboolean
noop (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
real_sip_teardown (void)
{
  amgw_sip_leg_shutdown ();
  if (sip_loops != NULL) {
    /* Let what the last legs queued on the media loop, and back here, run. */
    amgw_media_loops_invoke_sync (amgw_media_loops_get_context (sip_loops, 0), noop, NULL);
    while (g_main_context_iteration (NULL, FALSE))
      ;
  }
  g_clear_pointer (&sip_loops, amgw_media_loops_free);
}
#endif

GST_DEBUG_CATEGORY_STATIC (testleg_debug);
#define GST_CAT_DEFAULT testleg_debug

static const char offer_sdp[] =
  "v=0\r\no=amgw-testd 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
  "a=group:BUNDLE 0\r\na=msid-semantic: WMS amgw\r\n"
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 127.0.0.1\r\n"
  "a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
  "a=ice-ufrag:tstd\r\na=ice-pwd:testdtestdtestdtestdtestd\r\n"
  "a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n"
  "a=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n"
  "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n";

typedef struct {
  AmgwLeg parent;
  guint timers[5];
  char *script;
} TestLeg;

typedef struct {
  AmgwLeg *leg;
  AmgwLegSdpCallback cb;
  gpointer user_data;
  char *sdp;
} SdpLater;

static gboolean
sdp_later (gpointer data)
{
  SdpLater *s = data;
  s->cb (s->leg, s->sdp, NULL, s->user_data);
  g_free (s->sdp);
  g_free (s);
  return G_SOURCE_REMOVE;
}

static void
make_sdp (AmgwLeg *leg, AmgwMediaDirection direction, gboolean answer,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  SdpLater *s = g_new0 (SdpLater, 1);
  g_autofree char *sdp = g_strdup (offer_sdp);
  char *p = strstr (sdp, "a=sendrecv");

  memcpy (p + 2, amgw_media_direction_name (direction), 8);
  if (answer)
    memcpy (strstr (sdp, "setup:actpass"), "setup:active ", 13);
  s->leg = leg;
  s->cb = cb;
  s->user_data = user_data;
  s->sdp = g_steal_pointer (&sdp);
  /* Asynchronous, as a real ICE gathering would be. */
  g_timeout_add (5, sdp_later, s);
}

static void
create_offer (AmgwLeg *leg, AmgwMediaDirection direction, gboolean ice_restart,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  GST_INFO ("[%s] testleg alexa: create_offer %s%s", leg->session_id,
      amgw_media_direction_name (direction), ice_restart ? " ice-restart" : "");
  make_sdp (leg, direction, FALSE, cb, user_data);
}

static void
create_answer (AmgwLeg *leg, const char *remote_offer, AmgwMediaDirection direction,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  GST_INFO ("[%s] testleg alexa: create_answer (offer %s)", leg->session_id,
      strstr (remote_offer ? remote_offer : "", "a=sendonly") ? "sendonly" : "sendrecv");
  make_sdp (leg, strstr (remote_offer ? remote_offer : "", "a=sendonly")
      ? AMGW_MEDIA_RECVONLY : direction, TRUE, cb, user_data);
}

static gboolean
apply_answer (AmgwLeg *leg, const char *sdp, gboolean provisional, GError **error)
{
  if (sdp == NULL || !g_str_has_prefix (sdp, "v=0")) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_INVALID, "not an SDP answer");
    return FALSE;
  }
  GST_INFO ("[%s] testleg alexa: apply_answer%s", leg->session_id,
      provisional ? " (provisional)" : "");
  return TRUE;
}

typedef struct {
  TestLeg *leg;
  guint slot;
  AmgwLegEventType type;
  AmgwResultCode result;
  AmgwMediaDirection direction;
} Emit;

static gboolean
emit_now (gpointer data)
{
  Emit *e = data;
  AmgwLegEventInfo info = { .result = e->result, .direction = e->direction,
    .message = e->type == AMGW_LEG_EVENT_ENDED
        ? (e->result == AMGW_RESULT_DEVICE_BUSY ? "486 Busy Here" : "BYE from the bridge") : NULL };

  e->leg->timers[e->slot] = 0;
  amgw_leg_emit (&e->leg->parent, e->type, &info);
  return G_SOURCE_REMOVE;
}

static Emit *
emit_later (TestLeg *t, guint slot, guint ms, AmgwLegEventType type, AmgwResultCode r)
{
  Emit *e = g_new0 (Emit, 1);

  e->leg = t;
  e->slot = slot;
  e->type = type;
  e->result = r;
  e->direction = AMGW_MEDIA_SENDRECV;
  t->timers[slot] = g_timeout_add_full (G_PRIORITY_DEFAULT, ms, emit_now, e, g_free);
  return e;
}

static gboolean
dial (AmgwLeg *leg, const AmgwDialTarget *target, GError **error)
{
  TestLeg *t = (TestLeg *) leg;
  const char *what = target->callee ? target->callee : target->endpoint;

  GST_INFO ("[%s] testleg bridge: dial %s endpoint=%s id=%s pin=%s provider=%s callee=%s",
      leg->session_id, target->protocol, target->endpoint ? target->endpoint : "-",
      target->meeting_id ? target->meeting_id : "-", target->pin ? "(set)" : "-",
      target->provider ? target->provider : "-", target->callee ? target->callee : "-");
  if (what == NULL || strstr (what, "unreachable")) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNREACHABLE,
        "cannot reach %s (scripted)", what ? what : "(nothing)");
    return FALSE;
  }
  t->script = g_strdup (what);
  emit_later (t, 0, 20, AMGW_LEG_EVENT_RINGING, 0);
  if (strstr (what, "busy"))
    emit_later (t, 1, 60, AMGW_LEG_EVENT_ENDED, AMGW_RESULT_DEVICE_BUSY);
  else if (strstr (what, "noanswer"))
    ;
  else if (strstr (what, "hangup")) {
    emit_later (t, 1, 100, AMGW_LEG_EVENT_ANSWERED, 0);
    emit_later (t, 2, 400, AMGW_LEG_EVENT_ENDED, AMGW_RESULT_SUCCESS);
  } else if (strstr (what, "holdme")) {
    emit_later (t, 1, 100, AMGW_LEG_EVENT_ANSWERED, 0);
    emit_later (t, 2, 400, AMGW_LEG_EVENT_DIRECTION, 0)->direction = AMGW_MEDIA_SENDONLY;
    emit_later (t, 3, 500, AMGW_LEG_EVENT_DIRECTION, 0)->direction = AMGW_MEDIA_SENDRECV;
  } else if (strstr (what, "early")) {
    emit_later (t, 1, 50, AMGW_LEG_EVENT_PROGRESS, 0);
    emit_later (t, 2, 150, AMGW_LEG_EVENT_ANSWERED, 0);
  } else
    emit_later (t, 1, 100, AMGW_LEG_EVENT_ANSWERED, 0);
  return TRUE;
}

static gboolean
set_direction (AmgwLeg *leg, AmgwMediaDirection direction, GError **error)
{
  GST_INFO ("[%s] testleg bridge: set_direction %s", leg->session_id,
      amgw_media_direction_name (direction));
  return TRUE;
}

static void
stop_timers (TestLeg *t)
{
  for (guint i = 0; i < G_N_ELEMENTS (t->timers); i++)
    g_clear_handle_id (&t->timers[i], g_source_remove);
}

static void
hangup (AmgwLeg *leg, AmgwResultCode reason)
{
  stop_timers ((TestLeg *) leg);
  GST_INFO ("[%s] testleg %s: hangup %s", leg->session_id,
      leg->role == AMGW_LEG_ALEXA ? "alexa" : "bridge", amgw_result_code_name (reason));
}

static void
finalize (AmgwLeg *leg)
{
  TestLeg *t = (TestLeg *) leg;
  stop_timers (t);
  g_free (t->script);
  g_free (t);
}

static const AmgwLegClass alexa_class = {
  .kind = "testleg-webrtc",
  .create_offer = create_offer,
  .create_answer = create_answer,
  .apply_answer = apply_answer,
  .hangup = hangup,
  .finalize = finalize,
};

static const AmgwLegClass bridge_class = {
  .kind = "testleg-sip",
  .dial = dial,
  .set_direction = set_direction,
  .hangup = hangup,
  .finalize = finalize,
};

static AmgwLeg *
factory (AmgwLegRole role, const char *protocol, const char *session_id, gpointer data,
    GError **error)
{
  TestLeg *t = g_new0 (TestLeg, 1);

  amgw_leg_init (&t->parent, role == AMGW_LEG_ALEXA ? &alexa_class : &bridge_class, role,
      protocol, session_id);
  return &t->parent;
}

int
main (int argc, char **argv)
{
  amgw_debug_init ();
  GST_DEBUG_CATEGORY_INIT (testleg_debug, "amgw-testleg", 0, "amgw test daemon's scripted legs");
  amgw_leg_register ("ALEXA", factory, NULL);
  amgw_leg_register ("SIP", factory, NULL);
  amgw_leg_register ("SIPS", factory, NULL);
  amgw_leg_register ("H323", factory, NULL);
  if (g_strcmp0 (g_getenv ("AMGW_TESTD_REAL_SIP"), "1") == 0) {
#ifdef AMGW_TESTD_HAVE_SIP
    amgw_daemon_set_media (real_sip_setup, real_sip_teardown);
#else
    g_printerr ("amgw-testd: AMGW_TESTD_REAL_SIP=1, but this build has no SIP leg "
        "(amgw-testd needs amgw_media_dep and -DAMGW_TESTD_HAVE_SIP)\n");
    return 2;
#endif
  }
  return amgw_daemon_main (argc, argv);
}
