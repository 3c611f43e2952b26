/* amgw — leg registry and dispatch. */
#include "amgw/leg.h"
#include "amgw/debug.h"

#define GST_CAT_DEFAULT amgw_call_debug

G_DEFINE_QUARK (amgw-leg-error-quark, amgw_leg_error)

typedef struct {
  AmgwLegFactory factory;
  gpointer data;
} Registration;

static GHashTable *registry;  /* upper-case protocol -> Registration* */

void
amgw_leg_register (const char *protocol, AmgwLegFactory factory, gpointer data)
{
  Registration *r = g_new0 (Registration, 1);

  if (registry == NULL)
    registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  r->factory = factory;
  r->data = data;
  g_hash_table_replace (registry, g_ascii_strup (protocol, -1), r);
}

void
amgw_leg_unregister_all (void)
{
  g_clear_pointer (&registry, g_hash_table_unref);
}

static Registration *
lookup (const char *protocol)
{
  g_autofree char *key = NULL;

  if (registry == NULL || protocol == NULL)
    return NULL;
  key = g_ascii_strup (protocol, -1);
  return g_hash_table_lookup (registry, key);
}

gboolean
amgw_leg_is_available (const char *protocol)
{
  return lookup (protocol) != NULL;
}

AmgwLeg *
amgw_leg_create (AmgwLegRole role, const char *protocol, const char *session_id,
    AmgwLegNotify notify, gpointer notify_data, GError **error)
{
  Registration *r = lookup (protocol);
  AmgwLeg *leg;

  if (r == NULL) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNAVAILABLE,
        "no %s leg in this build of amgw", role == AMGW_LEG_ALEXA ? "Alexa (WebRTC)" : protocol);
    return NULL;
  }
  leg = r->factory (role, protocol, session_id, r->data, error);
  if (leg == NULL)
    return NULL;
  g_assert (leg->klass != NULL);
  leg->notify = notify;
  leg->notify_data = notify_data;
  return leg;
}

void
amgw_leg_init (AmgwLeg *leg, const AmgwLegClass *klass, AmgwLegRole role,
    const char *protocol, const char *session_id)
{
  leg->klass = klass;
  leg->role = role;
  leg->protocol = g_ascii_strup (protocol, -1);
  leg->session_id = g_strdup (session_id);
}

void
amgw_leg_emit (AmgwLeg *leg, AmgwLegEventType type, const AmgwLegEventInfo *info)
{
  AmgwLegEventInfo empty = { 0, };

  if (leg->hung_up)
    return;  /* the call already let go of this leg */
  if (leg->notify)
    leg->notify (leg, type, info ? info : &empty, leg->notify_data);
}

static void
unavailable (AmgwLeg *leg, const char *what, GError **error)
{
  g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNAVAILABLE,
      "the %s leg cannot %s", leg->klass->kind, what);
}

void
amgw_leg_create_offer (AmgwLeg *leg, AmgwMediaDirection direction, gboolean ice_restart,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  if (leg->klass->create_offer == NULL) {
    g_autoptr (GError) error = NULL;
    unavailable (leg, "make an SDP offer", &error);
    cb (leg, NULL, error, user_data);
    return;
  }
  leg->klass->create_offer (leg, direction, ice_restart, cb, user_data);
}

void
amgw_leg_create_answer (AmgwLeg *leg, const char *remote_offer, AmgwMediaDirection direction,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  if (leg->klass->create_answer == NULL) {
    g_autoptr (GError) error = NULL;
    unavailable (leg, "make an SDP answer", &error);
    cb (leg, NULL, error, user_data);
    return;
  }
  leg->klass->create_answer (leg, remote_offer, direction, cb, user_data);
}

gboolean
amgw_leg_apply_answer (AmgwLeg *leg, const char *remote_answer, gboolean provisional,
    GError **error)
{
  if (leg->klass->apply_answer == NULL) {
    unavailable (leg, "apply an SDP answer", error);
    return FALSE;
  }
  return leg->klass->apply_answer (leg, remote_answer, provisional, error);
}

gboolean
amgw_leg_dial (AmgwLeg *leg, const AmgwDialTarget *target, GError **error)
{
  if (leg->klass->dial == NULL) {
    unavailable (leg, "dial", error);
    return FALSE;
  }
  return leg->klass->dial (leg, target, error);
}

gboolean
amgw_leg_set_direction (AmgwLeg *leg, AmgwMediaDirection direction, GError **error)
{
  if (leg->klass->set_direction == NULL) {
    unavailable (leg, "change direction", error);
    return FALSE;
  }
  return leg->klass->set_direction (leg, direction, error);
}

void
amgw_leg_describe (AmgwLeg *leg, cJSON *obj)
{
  if (leg->klass->describe)
    leg->klass->describe (leg, obj);
}

gboolean
amgw_leg_start_audio_check (AmgwLeg *leg, double tone_hz, guint tone_ms, const char *codec,
    GError **error)
{
  if (leg->klass->start_audio_check == NULL) {
    unavailable (leg, "run an audio check", error);
    return FALSE;
  }
  return leg->klass->start_audio_check (leg, tone_hz, tone_ms, codec, error);
}

void
amgw_leg_hangup (AmgwLeg *leg, AmgwResultCode reason)
{
  if (leg == NULL || leg->hung_up)
    return;
  leg->hung_up = TRUE;
  GST_DEBUG ("[%s] hanging up the %s leg (%s)", leg->session_id, leg->klass->kind,
      amgw_result_code_name (reason));
  if (leg->klass->hangup)
    leg->klass->hangup (leg, reason);
}

void
amgw_leg_free (AmgwLeg *leg)
{
  char *session_id, *protocol;

  if (leg == NULL)
    return;
  amgw_leg_hangup (leg, AMGW_RESULT_SUCCESS);
  session_id = leg->session_id;
  protocol = leg->protocol;
  if (leg->klass->finalize)
    leg->klass->finalize (leg);  /* frees the implementation's struct */
  g_free (session_id);
  g_free (protocol);
}

gboolean
amgw_leg_get_media (AmgwLeg *leg, AmgwLegMedia *out)
{
  return leg->klass->get_media != NULL && leg->klass->get_media (leg, out);
}

gboolean
amgw_leg_get_media_generation (AmgwLeg *leg, guint *generation)
{
  if (leg->klass->get_media_generation == NULL)
    return FALSE;
  *generation = leg->klass->get_media_generation (leg);
  return TRUE;
}

gboolean
amgw_leg_prefer_codec (AmgwLeg *leg, const char *encoding)
{
  return leg->klass->prefer_codec != NULL && leg->klass->prefer_codec (leg, encoding);
}

void
amgw_leg_set_media_sink (AmgwLeg *leg, AmgwLegRtpSink sink, AmgwMediaPrefetchFunc prefetch,
    gpointer user_data)
{
  if (leg->klass->set_media_sink)
    leg->klass->set_media_sink (leg, sink, prefetch, user_data);
}

void
amgw_leg_send_media (AmgwLeg *leg, const guint8 *rtp, gsize len)
{
  if (leg->klass->send_media)
    leg->klass->send_media (leg, rtp, len);
}

gboolean
amgw_leg_send_dtmf (AmgwLeg *leg, const char *digits, GError **error)
{
  if (leg->klass->send_dtmf == NULL) {
    unavailable (leg, "send DTMF", error);
    return FALSE;
  }
  return leg->klass->send_dtmf (leg, digits, error);
}

static const AmgwLegJoiner *joiner;

void
amgw_leg_set_joiner (const AmgwLegJoiner *j)
{
  joiner = j;
}

const AmgwLegJoiner *
amgw_leg_get_joiner (void)
{
  return joiner;
}

const char *
amgw_media_direction_name (AmgwMediaDirection direction)
{
  static const char *names[] = { "sendrecv", "sendonly", "recvonly", "inactive" };
  return (guint) direction < G_N_ELEMENTS (names) ? names[direction] : "invalid";
}
