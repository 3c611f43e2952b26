/* amgw — joining a call's two legs: media both ways through relays.
 *
 * The call joins its legs once both exist (include/amgw/leg.h, the joiner).
 * Each leg's received packets come to a sink here, on that leg's media
 * loop: audio goes through the relay toward the other leg (passthrough or
 * transcoding, include/amgw/relay.h); RFC 4733 events from the Alexa device
 * become digits for the call (which relays them in the bridge's DTMF mode);
 * the bridge's own events are not forwarded.
 *
 * The relays follow the negotiation: before each packet the legs' media
 * generations are compared with the relays', and the relays are rebuilt
 * when a codec changed (a re-INVITE or CallUpdate), or made once both legs
 * have negotiated.  When the legs ended up with different codecs, the Alexa
 * leg is first asked to send the bridge's codec if the device accepted it
 * too: then the bridge-to-Alexa direction passes through untranscoded.
 *
 * Locks: @lock (the relays) is taken inside the legs' sink locks and takes
 * the legs' own locks (get_media, a passthrough send); never the other way.
 */
#include "amgw/leg.h"
#include "amgw/config.h"
#include "amgw/relay.h"
#include "amgw/join.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (amgw_join_debug);
#define GST_CAT_DEFAULT amgw_join_debug

struct _AmgwLegJoin {
  /* First, what a packet reads: @lock's fields, then the media's first
   * fields (AmgwLegMedia). */
  GMutex lock;
  AmgwLeg *alexa, *bridge;        /* borrowed: the call unjoins before freeing them */
  AmgwRelay *to_bridge, *to_alexa;
  gboolean have_media;
  gboolean failed;                /* the relays could not be made for these media */
  AmgwLegMedia alexa_media, bridge_media;

  gint refs;
  char *sid;
  AmgwLegJoinCallbacks cb;
  gpointer user_data;
  GMainContext *control_ctx;
  gboolean closed;                /* control loop: unjoined */

  /* Under @lock too: */
  AmgwDtmfDetector dtmf;          /* the Alexa leg's media loop only */
  guint candidate_pt[2];          /* [0] from Alexa, [1] from the bridge */
  guint candidate_count[2];
  gboolean warned_pt[2];          /* a payload type outside the negotiation was logged */
  AmgwRelayStats past[2];         /* [0] to the bridge, [1] to Alexa: relays replaced so far */
};

/* Frees a relay that is replaced, keeping its counters for the call's view.
 * Freeing joins its streaming threads; they take no lock of ours. */
static void
retire_relay (AmgwLegJoin *j, guint dir, AmgwRelay *old)
{
  AmgwRelayStats st;

  if (old == NULL)
    return;
  amgw_relay_get_stats (old, &st);
  j->past[dir].packets_in += st.packets_in;
  j->past[dir].bytes_in += st.bytes_in;
  j->past[dir].packets_out += st.packets_out;
  j->past[dir].bytes_out += st.bytes_out;
  j->past[dir].packets_invalid += st.packets_invalid;
  j->past[dir].packets_lost += st.packets_lost;
  j->past[dir].packets_late += st.packets_late;
  amgw_relay_free (old);
}

/* Packets of a payload type in a row before a relay follows it. */
#define SWITCH_PACKETS 3

/* What a packet reads of an AmgwLegMedia: its first fields. */
#define PACKET_MEDIA_BYTES G_STRUCT_OFFSET (AmgwLegMedia, encoding)

static const AmgwConfig *join_config;

static AmgwLegJoin *
join_ref (AmgwLegJoin *j)
{
  g_atomic_int_inc (&j->refs);
  return j;
}

static void
join_unref (AmgwLegJoin *j)
{
  if (!g_atomic_int_dec_and_test (&j->refs))
    return;
  g_mutex_clear (&j->lock);
  g_main_context_unref (j->control_ctx);
  g_free (j->sid);
  g_free (j);
}

static gboolean
audio_codec (const char *encoding, AmgwAudioCodec *out)
{
  static const struct { const char *name; AmgwAudioCodec codec; } map[] = {
    { "OPUS", AMGW_AUDIO_OPUS }, { "G722", AMGW_AUDIO_G722 },
    { "PCMU", AMGW_AUDIO_PCMU }, { "PCMA", AMGW_AUDIO_PCMA },
  };

  for (guint i = 0; i < G_N_ELEMENTS (map); i++) {
    if (g_ascii_strcasecmp (encoding, map[i].name) == 0) {
      *out = map[i].codec;
      return TRUE;
    }
  }
  return FALSE;
}

static void
send_to_leg (const guint8 *rtp, gsize len, gpointer user_data)
{
  amgw_leg_send_media (user_data, rtp, len);
}

/* The relay from @from to @to, or NULL (logged) when it cannot be made. */
static AmgwRelay *
make_relay (AmgwLegJoin *j, const AmgwLegMedia *from, const AmgwLegMedia *to, AmgwLeg *dest)
{
  g_autoptr (GError) error = NULL;
  AmgwAudioFormat in = { 0, }, out = { 0, };
  AmgwRelay *r;

  if (!audio_codec (from->recv_encoding, &in.codec) || !audio_codec (to->encoding, &out.codec)) {
    GST_WARNING ("[%s] no relay from %s to %s", j->sid, from->recv_encoding, to->encoding);
    return NULL;
  }
  in.pt = from->recv_pt;
  in.clock_rate = from->recv_clock_rate;
  out.pt = to->pt;
  out.clock_rate = to->clock_rate;
  r = amgw_relay_new (&in, &out, join_config ? join_config->jitter_buffer_ms : 0, j->sid,
      send_to_leg, dest, &error);
  if (r == NULL)
    GST_ERROR ("[%s] cannot relay %s to %s: %s", j->sid, from->recv_encoding, to->encoding,
        error->message);
  return r;
}

/* (lock held) Makes or remakes the relays when the legs' media changed;
 * TRUE when there are relays to push to. */
static gboolean
ensure_relays_locked (AmgwLegJoin *j)
{
  AmgwLegMedia a, b;
  AmgwRelay *old_to_bridge, *old_to_alexa;
  guint ga, gb;

  /* Every packet comes here: the generations alone, without the legs'
   * locks, tell whether anything changed. */
  if (j->have_media && amgw_leg_get_media_generation (j->alexa, &ga) &&
      amgw_leg_get_media_generation (j->bridge, &gb) && ga == j->alexa_media.generation &&
      gb == j->bridge_media.generation)
    return !j->failed;
  if (!amgw_leg_get_media (j->alexa, &a) || !amgw_leg_get_media (j->bridge, &b))
    return FALSE;
  if (j->have_media && a.generation == j->alexa_media.generation &&
      b.generation == j->bridge_media.generation)
    return !j->failed;
  if (g_ascii_strcasecmp (a.encoding, b.recv_encoding) != 0) {
    /* A new negotiation: the device may take what the bridge sends as it
     * is (this moves the Alexa leg's generation on once; then it agrees). */
    if (amgw_leg_prefer_codec (j->alexa, b.recv_encoding) && !amgw_leg_get_media (j->alexa, &a))
      return FALSE;
  }
  old_to_bridge = j->to_bridge;
  old_to_alexa = j->to_alexa;
  j->alexa_media = a;
  j->bridge_media = b;
  j->have_media = TRUE;
  j->to_bridge = make_relay (j, &a, &b, j->bridge);
  j->to_alexa = make_relay (j, &b, &a, j->alexa);
  j->failed = j->to_bridge == NULL && j->to_alexa == NULL;
  GST_INFO ("[%s] media joined: Alexa %s -> bridge %s (%s); bridge %s -> Alexa %s (%s)", j->sid,
      a.recv_encoding, b.encoding,
      j->to_bridge == NULL ? "failed"
      : amgw_relay_is_passthrough (j->to_bridge) ? "passthrough" : "transcoding",
      b.recv_encoding, a.encoding,
      j->to_alexa == NULL ? "failed"
      : amgw_relay_is_passthrough (j->to_alexa) ? "passthrough" : "transcoding");
  retire_relay (j, 0, old_to_bridge);
  retire_relay (j, 1, old_to_alexa);
  return !j->failed;
}

/* (lock held) A packet of @pt, not the payload type the relay expects:
 * when it is another codec the peer may send, and @pt persists, the relay
 * is remade for it (the peer chose another of the negotiated codecs). */
static void
follow_payload_type_locked (AmgwLegJoin *j, gboolean alexa_side, guint pt)
{
  AmgwLegMedia *m = alexa_side ? &j->alexa_media : &j->bridge_media;
  AmgwLegMedia *other = alexa_side ? &j->bridge_media : &j->alexa_media;
  AmgwRelay **relay = alexa_side ? &j->to_bridge : &j->to_alexa;
  guint side = alexa_side ? 0 : 1;
  AmgwRelay *old;

  for (guint i = 0; i < m->n_may_recv; i++) {
    if (m->may_recv[i].pt != pt)
      continue;
    if (j->candidate_pt[side] != pt) {
      j->candidate_pt[side] = pt;
      j->candidate_count[side] = 0;
    }
    if (++j->candidate_count[side] < SWITCH_PACKETS)
      return;
    j->candidate_count[side] = 0;
    memcpy (m->recv_encoding, m->may_recv[i].encoding, sizeof m->recv_encoding);
    m->recv_pt = pt;
    m->recv_clock_rate = m->may_recv[i].clock_rate;
    old = *relay;
    *relay = make_relay (j, m, other, alexa_side ? j->bridge : j->alexa);
    GST_INFO ("[%s] the %s sends %s (payload type %u): %s to the %s", j->sid,
        alexa_side ? "Alexa device" : "bridge", m->recv_encoding, pt,
        *relay == NULL ? "no relay" : amgw_relay_is_passthrough (*relay) ? "passthrough"
                                                                       : "transcoding",
        alexa_side ? "bridge" : "Alexa device");
    retire_relay (j, side, old);
    return;
  }
  if (!j->warned_pt[side]) {
    j->warned_pt[side] = TRUE;
    GST_WARNING ("[%s] the %s sends payload type %u, which is none of the negotiated codecs: "
        "dropped", j->sid, alexa_side ? "Alexa device" : "bridge", pt);
  }
}

typedef struct {
  AmgwLegJoin *join;
  char digit;
} Digit;

static gboolean
digit_on_control (gpointer data)
{
  Digit *d = data;

  if (!d->join->closed && d->join->cb.dtmf)
    d->join->cb.dtmf (d->digit, d->join->user_data);
  join_unref (d->join);
  g_free (d);
  return G_SOURCE_REMOVE;
}

static guint
rtp_payload_offset (const guint8 *rtp, gsize len)
{
  gsize off = 12 + 4 * (gsize) (rtp[0] & 0x0f);

  if ((rtp[0] & 0x10) && off + 4 <= len)
    off += 4 + 4 * (gsize) GST_READ_UINT16_BE (rtp + off + 2);
  return off <= len ? (guint) off : 0;
}

/* A DTMF event from the Alexa device (lock held): its digit goes to the
 * call on the control loop. */
static void
dtmf_from_alexa_locked (AmgwLegJoin *j, const guint8 *rtp, gsize len)
{
  guint off = rtp_payload_offset (rtp, len);
  char digit = off ? amgw_dtmf_detector_push (&j->dtmf, GST_READ_UINT32_BE (rtp + 4),
      rtp + off, len - off) : 0;
  Digit *d;

  if (!digit)
    return;
  d = g_new0 (Digit, 1);
  d->join = join_ref (j);
  d->digit = digit;
  GST_DEBUG ("[%s] a DTMF digit from the Alexa device", j->sid);
  g_main_context_invoke (j->control_ctx, digit_on_control, d);
}

/* A packet from one leg (that leg's media loop): audio to the other leg
 * through the relay; the device's DTMF events to the call; the bridge's
 * DTMF events stay. */
static void
from_leg (AmgwLegJoin *j, gboolean alexa_side, const guint8 *rtp, gsize len)
{
  const AmgwLegMedia *m = alexa_side ? &j->alexa_media : &j->bridge_media;
  AmgwRelay *relay;
  guint pt;

  if (len < 12)
    return;
  pt = rtp[1] & 0x7f;
  g_mutex_lock (&j->lock);
  if (ensure_relays_locked (j)) {
    if (m->dtmf_pt >= 0 && pt == (guint) m->dtmf_pt) {
      if (alexa_side)
        dtmf_from_alexa_locked (j, rtp, len);
    } else {
      if (pt != m->recv_pt)
        follow_payload_type_locked (j, alexa_side, pt);
      relay = alexa_side ? j->to_bridge : j->to_alexa;
      if (relay)
        amgw_relay_push_rtp (relay, rtp, len);
    }
  }
  g_mutex_unlock (&j->lock);
}

static void
from_alexa (const guint8 *rtp, gsize len, gpointer user_data)
{
  from_leg (user_data, TRUE, rtp, len);
}

static void
from_bridge (const guint8 *rtp, gsize len, gpointer user_data)
{
  from_leg (user_data, FALSE, rtp, len);
}

/* The sinks' AmgwMediaPrefetchFunc: what from_leg() reads of @j first,
 * from the address alone (@j may be a stale read, see leg.h). */
static void
prefetch_join (gconstpointer data, AmgwMediaPrefetch *next)
{
  const AmgwLegJoin *j = data;

  (void) next;
  amgw_prefetch_span (j, G_STRUCT_OFFSET (AmgwLegJoin, alexa_media) + PACKET_MEDIA_BYTES);
  amgw_prefetch_span (&j->bridge_media, PACKET_MEDIA_BYTES);
}

static AmgwLegJoin *
join_legs (AmgwLeg *alexa, AmgwLeg *bridge, const char *session_id,
    const AmgwLegJoinCallbacks *callbacks, gpointer user_data, GError **error)
{
  AmgwLegJoin *j;

  if (alexa->klass->set_media_sink == NULL || bridge->klass->set_media_sink == NULL) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNAVAILABLE,
        "a %s leg and a %s leg cannot exchange media", alexa->klass->kind, bridge->klass->kind);
    return NULL;
  }
  j = g_new0 (AmgwLegJoin, 1);
  j->refs = 1;
  j->sid = g_strdup (session_id);
  j->alexa = alexa;
  j->bridge = bridge;
  if (callbacks)
    j->cb = *callbacks;
  j->user_data = user_data;
  j->control_ctx = g_main_context_ref_thread_default ();
  g_mutex_init (&j->lock);
  amgw_leg_set_media_sink (alexa, from_alexa, prefetch_join, j);
  amgw_leg_set_media_sink (bridge, from_bridge, prefetch_join, j);
  GST_DEBUG ("[%s] legs joined; media once both have negotiated", session_id);
  return j;
}

static void
describe_relay (cJSON *obj, const char *key, AmgwRelay *r, const AmgwRelayStats *past,
    const AmgwLegMedia *from, const AmgwLegMedia *to)
{
  cJSON *o = cJSON_AddObjectToObject (obj, key);
  AmgwRelayStats st;

  /* The counters cover the whole call: relays replaced on the way too. */
  amgw_relay_get_stats (r, &st);
  st.packets_in += past->packets_in;
  st.packets_out += past->packets_out;
  st.packets_invalid += past->packets_invalid;
  st.packets_lost += past->packets_lost;
  st.packets_late += past->packets_late;
  cJSON_AddStringToObject (o, "mode", st.transcoding ? "transcoding" : "passthrough");
  cJSON_AddStringToObject (o, "from", from->recv_encoding);
  cJSON_AddStringToObject (o, "to", to->encoding);
  cJSON_AddNumberToObject (o, "packets_in", (double) st.packets_in);
  cJSON_AddNumberToObject (o, "packets_out", (double) st.packets_out);
  cJSON_AddNumberToObject (o, "packets_invalid", (double) st.packets_invalid);
  cJSON_AddNumberToObject (o, "packets_lost", (double) st.packets_lost);
  cJSON_AddNumberToObject (o, "packets_late", (double) st.packets_late);
  cJSON_AddBoolToObject (o, "failed", st.failed);
}

static void
join_describe (AmgwLegJoin *j, cJSON *obj)
{
  cJSON *relay;

  g_mutex_lock (&j->lock);
  if (j->to_bridge == NULL && j->to_alexa == NULL) {
    cJSON_AddNullToObject (obj, "relay");
  } else {
    relay = cJSON_AddObjectToObject (obj, "relay");
    if (j->to_bridge)
      describe_relay (relay, "to_bridge", j->to_bridge, &j->past[0], &j->alexa_media,
          &j->bridge_media);
    else
      cJSON_AddNullToObject (relay, "to_bridge");
    if (j->to_alexa)
      describe_relay (relay, "to_alexa", j->to_alexa, &j->past[1], &j->bridge_media,
          &j->alexa_media);
    else
      cJSON_AddNullToObject (relay, "to_alexa");
  }
  g_mutex_unlock (&j->lock);
}

static void
join_free (AmgwLegJoin *j)
{
  AmgwRelay *to_bridge, *to_alexa;

  if (j == NULL)
    return;
  j->closed = TRUE;
  /* After these, no sink runs: nothing pushes to the relays any more. */
  amgw_leg_set_media_sink (j->alexa, NULL, NULL, NULL);
  amgw_leg_set_media_sink (j->bridge, NULL, NULL, NULL);
  g_mutex_lock (&j->lock);
  to_bridge = g_steal_pointer (&j->to_bridge);
  to_alexa = g_steal_pointer (&j->to_alexa);
  g_mutex_unlock (&j->lock);
  amgw_relay_free (to_bridge);
  amgw_relay_free (to_alexa);
  GST_DEBUG ("[%s] legs unjoined", j->sid);
  join_unref (j);
}

static const AmgwLegJoiner joiner = {
  .join = join_legs,
  .describe = join_describe,
  .unjoin = join_free,
};

void
amgw_join_register (const AmgwConfig *config)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_join_debug, "amgw-join", 0, "amgw media between the legs");
    g_once_init_leave (&once, 1);
  }
  join_config = config;
  amgw_leg_set_joiner (&joiner);
}
