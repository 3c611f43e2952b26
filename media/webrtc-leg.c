/* amgw — the Alexa leg: WebRTC media toward the Alexa device.
 *
 * Threads.  The leg interface is called on the control loop.  Everything of
 * the transport — the libnice agent, DTLS, the SRTP receive path, RTCP
 * timers — lives on one media loop, reached with g_main_context_invoke; its
 * reports (SDP ready, media flowing, failure) go back to the control loop the
 * same way.  The audio check's pipeline sends from a GStreamer streaming
 * thread; that path and the receive path share the SRTP session under
 * @lock, the only lock here (never held while calling out).
 *
 * Lifetime.  The leg is reference-counted: the call holds one reference
 * (dropped by finalize), and every hop between loops holds one.  Once
 * finalize has run (@closed), nothing is reported to the call any more, and
 * the media loop tears the transport down.
 */
#include "amgw/webrtc-leg.h"
#include "amgw/audio.h"
#include "amgw/demux.h"
#include "amgw/dtls.h"
#include "amgw/ice.h"
#include "amgw/media-loops.h"
#include "amgw/rtp-util.h"
#include "amgw/sdp.h"
#include "amgw/srtp.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/rtp/gstrtcpbuffer.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (amgw_webrtc_debug);
#define GST_CAT_DEFAULT amgw_webrtc_debug

/* ICE must connect and DTLS complete within [media] ice-timeout of the
 * remote description; otherwise the call ends with a clear reason. */
#define AMGW_RTCP_INTERVAL_MS 5000

typedef struct _WebrtcLeg WebrtcLeg;

typedef struct {
  const AmgwConfig *config;
  AmgwMediaLoops *loops;
  AmgwDtlsCert *cert;
  char *stun_server;     /* ip:port, resolved at start-up */
  char *turn_server;
  gboolean no_direct_path;
} Shared;

static Shared shared;

struct _WebrtcLeg {
  AmgwLeg parent;

  /* What a packet from the device reads, first and together: the media
   * loop fetches it early (prefetch_receive ()). */
  gboolean torn_down;               /* media loop only */
  gboolean media_up_reported;       /* media loop only */
  gboolean dtls_confirmed;          /* media loop only: amgw_dtls_confirm_peer() called */
  AmgwAudio *audio;                 /* media loop only */
  GMutex lock;                      /* for what says "under @lock" */
  AmgwSrtp *srtp;                   /* under @lock, and the rest of this block */
  guint recv_clock_rate;            /* the RTP clock of what the device sends */
  guint64 rtp_in, bytes_in, srtp_drops;
  AmgwRtpRecvStats recv;
  AmgwLegSink sink;                 /* joined media: where received packets go */

  gint refs;
  char *sid;                        /* our copy of the session id, for logs */
  GMainContext *control_ctx;
  GMainContext *media_ctx;

  /* Control loop only. */
  gboolean closed;
  gboolean audio_check;
  double tone_hz;
  guint tone_ms;
  AmgwCodecId only_codec;           /* audio check: offer just this one */
  gboolean have_only_codec;
  guint64 sdp_session;
  guint sdp_version;
  AmgwMediaDirection local_direction;
  gboolean media_reported;

  /* Media loop only. */
  AmgwIce *ice;
  AmgwDtls *dtls;
  gboolean controlling;
  gboolean have_role;
  AmgwDtlsRole role;
  char *remote_ufrag;
  char *remote_fingerprint;
  char *local_mid;
  GArray *codecs;                   /* AmgwCodec: negotiated (answer) or offered */
  AmgwMediaTimer *connect_timer;    /* on the media loop */
  AmgwMediaTimer *rtcp_timer;
  struct SdpOp *gathering_op;       /* waits for ICE gathering */
  gboolean gathered;
  gboolean remote_sends, remote_receives;

  /* Shared under @lock.  First, together, what a packet sent reads. */
  gboolean sending;                 /* direction allows us to send */
  gboolean have_codec;
  AmgwRtpRenumber renumber;         /* bridged media: the other leg's packets */
  AmgwRtpStreamOut out;
  gint64 out_last_us;               /* when the last renumbered packet went */
  guint64 rtp_out, bytes_out;
  guint32 last_rtp_ts;
  AmgwCodec codec;                  /* the codec we send */
  guint64 rtcp_in, rtcp_out;
  guint32 local_ssrc;
  double remote_fraction_lost;      /* from the peer's receiver reports */
  guint32 remote_cumulative_lost;
  double remote_jitter_ms;
  char *ice_state;
  char *dtls_state;
  char *pair;
  char *srtp_profile;
  char *failure;
  GArray *accepted;                 /* AmgwCodec: what the device accepted (may send) */
  gint generation;                  /* changes with the negotiated codec (atomic) */
  gboolean have_first;              /* the first codec of the last negotiation */
  AmgwCodecId first_id;
  guint first_pt;
};

/* ------------------------------------------------------------------------ */
/* References and hops between loops */

static WebrtcLeg *
leg_ref (WebrtcLeg *w)
{
  g_atomic_int_inc (&w->refs);
  return w;
}

static void
leg_unref (WebrtcLeg *w)
{
  if (!g_atomic_int_dec_and_test (&w->refs))
    return;
  g_assert (w->torn_down || w->ice == NULL);
  g_clear_pointer (&w->codecs, g_array_unref);
  g_free (w->remote_ufrag);
  g_free (w->remote_fingerprint);
  g_free (w->local_mid);
  g_free (w->codec.fmtp);
  g_free (w->ice_state);
  g_free (w->dtls_state);
  g_free (w->pair);
  g_free (w->srtp_profile);
  g_free (w->failure);
  g_clear_pointer (&w->accepted, g_array_unref);
  g_mutex_clear (&w->lock);
  g_mutex_clear (&w->sink.lock);
  if (w->media_ctx)
    amgw_media_loops_release_keyed (shared.loops, w->media_ctx, w->sid);
  g_main_context_unref (w->control_ctx);
  g_free (w->sid);
  g_free (w);
}

static void
run_on (GMainContext *ctx, GSourceFunc fn, gpointer data)
{
  g_main_context_invoke_full (ctx, G_PRIORITY_DEFAULT, fn, data, NULL);
}

static void
set_text (WebrtcLeg *w, char **field, const char *value)
{
  g_mutex_lock (&w->lock);
  g_free (*field);
  *field = g_strdup (value);
  g_mutex_unlock (&w->lock);
}

/* A report to the call, delivered on the control loop. */
typedef struct {
  WebrtcLeg *leg;
  AmgwLegEventType type;
  AmgwResultCode result;
  char *message;
} Report;

static gboolean
report_on_control (gpointer data)
{
  Report *r = data;
  AmgwLegEventInfo info = { .result = r->result, .message = r->message };

  if (!r->leg->closed)
    amgw_leg_emit (&r->leg->parent, r->type, &info);
  leg_unref (r->leg);
  g_free (r->message);
  g_free (r);
  return G_SOURCE_REMOVE;
}

static void
report (WebrtcLeg *w, AmgwLegEventType type, AmgwResultCode result, const char *message)
{
  Report *r = g_new0 (Report, 1);

  r->leg = leg_ref (w);
  r->type = type;
  r->result = result;
  r->message = g_strdup (message);
  run_on (w->control_ctx, report_on_control, r);
}

/* The transport failed: remember why (for the calls view) and end the call. */
static void
fail (WebrtcLeg *w, const char *why)
{
  GST_WARNING ("[%s] %s", w->sid, why);
  set_text (w, &w->failure, why);
  amgw_media_timer_clear (&w->connect_timer);
  report (w, AMGW_LEG_EVENT_ENDED, AMGW_RESULT_INTERNAL_ERROR, why);
}

/* ------------------------------------------------------------------------ */
/* Sending (audio check: a GStreamer streaming thread) */

static void
send_packet (WebrtcLeg *w, const guint8 *data, gsize len, gboolean rtcp)
{
  guint8 buf[AMGW_MAX_DATAGRAM_BYTES + AMGW_SRTP_MAX_TRAILER];
  gsize n = len;
  gboolean ok;

  if (len > AMGW_MAX_DATAGRAM_BYTES)
    return;
  memcpy (buf, data, len);
  g_mutex_lock (&w->lock);
  if (w->srtp == NULL || (!rtcp && !w->sending)) {
    g_mutex_unlock (&w->lock);
    return;
  }
  ok = rtcp ? amgw_srtp_protect_rtcp (w->srtp, buf, &n, sizeof buf, NULL)
            : amgw_srtp_protect (w->srtp, buf, &n, sizeof buf, NULL);
  if (ok) {
    if (rtcp) {
      w->rtcp_out++;
    } else {
      w->rtp_out++;
      w->bytes_out += len;
      w->last_rtp_ts = GST_READ_UINT32_BE (data + 4);
    }
  }
  g_mutex_unlock (&w->lock);
  /* libnice's send is thread-safe (the agent's own lock); the agent lives
   * until the audio pipeline that calls this has been freed. */
  if (ok && w->ice)
    amgw_ice_send (w->ice, buf, n);
}

static void
on_audio_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  send_packet (user_data, rtp, len, FALSE);
}

/* ------------------------------------------------------------------------ */
/* RTCP: sender and receiver reports every few seconds (media loop) */

static gboolean
on_rtcp_timer (gpointer data)
{
  WebrtcLeg *w = data;
  GBytes *report;

  g_mutex_lock (&w->lock);
  report = amgw_rtcp_report_new (w->local_ssrc, w->rtp_out, w->bytes_out, w->last_rtp_ts,
      &w->recv, "amgw");
  g_mutex_unlock (&w->lock);
  send_packet (w, g_bytes_get_data (report, NULL), g_bytes_get_size (report), TRUE);
  g_bytes_unref (report);
  return G_SOURCE_CONTINUE;
}

static void
read_rtcp (WebrtcLeg *w, const guint8 *data, gsize len)
{
  GstBuffer *buf;
  GstRTCPBuffer rtcp = GST_RTCP_BUFFER_INIT;
  GstRTCPPacket packet;
  gboolean more;

  if (!gst_rtcp_buffer_validate_data_reduced ((guint8 *) data, len))
    return;
  buf = gst_buffer_new_memdup (data, len);
  gst_rtcp_buffer_map (buf, GST_MAP_READ, &rtcp);
  for (more = gst_rtcp_buffer_get_first_packet (&rtcp, &packet); more;
       more = gst_rtcp_packet_move_to_next (&packet)) {
    GstRTCPType type = gst_rtcp_packet_get_type (&packet);
    if ((type == GST_RTCP_TYPE_SR || type == GST_RTCP_TYPE_RR) &&
        gst_rtcp_packet_get_rb_count (&packet) > 0) {
      guint32 ssrc, exthighest, jitter, lsr, dlsr;
      guint8 fraction;
      gint32 lost;

      gst_rtcp_packet_get_rb (&packet, 0, &ssrc, &fraction, &lost, &exthighest, &jitter, &lsr,
          &dlsr);
      g_mutex_lock (&w->lock);
      w->remote_fraction_lost = fraction / 256.0;
      w->remote_cumulative_lost = MAX (lost, 0);
      w->remote_jitter_ms = w->codec.clock_rate ? jitter * 1000.0 / w->codec.clock_rate : 0;
      g_mutex_unlock (&w->lock);
    }
  }
  gst_rtcp_buffer_unmap (&rtcp);
  gst_buffer_unref (buf);
}

/* ------------------------------------------------------------------------ */
/* Receiving (media loop) */

static gboolean
media_up_on_control (gpointer data)
{
  Report *r = data;
  WebrtcLeg *w = r->leg;

  if (!w->closed && !w->media_reported) {
    w->media_reported = TRUE;
    amgw_leg_emit (&w->parent, AMGW_LEG_EVENT_MEDIA, NULL);
  }
  leg_unref (w);
  g_free (r);
  return G_SOURCE_REMOVE;
}

/* A packet from the device authenticated with the DTLS-SRTP keys: the device
 * finished its handshake, so DTLS may release its state (dtls.c). */
static inline void
confirm_dtls_peer (WebrtcLeg *w)
{
  if (G_UNLIKELY (!w->dtls_confirmed) && w->dtls != NULL) {
    w->dtls_confirmed = TRUE;
    amgw_dtls_confirm_peer (w->dtls);
  }
}

static void
on_ice_receive (guint8 *data, gsize len, gpointer user_data)
{
  WebrtcLeg *w = user_data;
  guint8 buf[AMGW_MAX_DATAGRAM_BYTES];
  gsize n = len;
  gboolean ok;

  if (w->torn_down)
    return;
  switch (amgw_packet_classify (data, len)) {
    case AMGW_PACKET_DTLS:
      if (w->dtls)
        amgw_dtls_receive (w->dtls, data, len);
      return;
    case AMGW_PACKET_RTP:
    case AMGW_PACKET_RTCP:
      break;
    default:
      return;
  }
  memcpy (buf, data, len);
  if (buf[1] >= 192 && buf[1] <= 223) {
    g_mutex_lock (&w->lock);
    ok = w->srtp && amgw_srtp_unprotect_rtcp (w->srtp, buf, &n, NULL);
    if (ok)
      w->rtcp_in++;
    else
      w->srtp_drops++;
    g_mutex_unlock (&w->lock);
    if (ok) {
      confirm_dtls_peer (w);
      read_rtcp (w, buf, n);
    }
    return;
  }

  g_mutex_lock (&w->lock);
  ok = w->srtp && amgw_srtp_unprotect (w->srtp, buf, &n, NULL);
  if (ok) {
    w->rtp_in++;
    w->bytes_in += n;
    amgw_rtp_recv_stats_update (&w->recv, GST_READ_UINT16_BE (buf + 2),
        GST_READ_UINT32_BE (buf + 4), GST_READ_UINT32_BE (buf + 8), w->recv_clock_rate,
        g_get_monotonic_time ());
  } else {
    w->srtp_drops++;
  }
  g_mutex_unlock (&w->lock);
  if (!ok)
    return;
  confirm_dtls_peer (w);
  if (w->audio)
    amgw_audio_push_rtp (w->audio, buf, n);
  amgw_leg_sink_deliver (&w->sink, buf, n);
  if (!w->media_up_reported) {
    Report *r = g_new0 (Report, 1);
    w->media_up_reported = TRUE;
    GST_INFO ("[%s] first media packet from the Alexa device", w->sid);
    r->leg = leg_ref (w);
    run_on (w->control_ctx, media_up_on_control, r);
  }
}

/* ------------------------------------------------------------------------ */
/* DTLS (media loop) */

static void start_audio_if_ready (WebrtcLeg *w);

static void
on_dtls_send (const guint8 *data, gsize len, gpointer user_data)
{
  WebrtcLeg *w = user_data;

  if (w->ice)
    amgw_ice_send (w->ice, data, len);
}

static const char *
profile_name (AmgwSrtpProfile p)
{
  return p == AMGW_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES_CM_128_HMAC_SHA1_80";
}

static void
on_dtls_connected (const AmgwSrtpKeys *keys, gpointer user_data)
{
  WebrtcLeg *w = user_data;
  g_autoptr (GError) error = NULL;
  AmgwSrtp *srtp = amgw_srtp_new (keys->profile, keys->tx_key_salt, keys->rx_key_salt, &error);

  if (srtp == NULL) {
    g_autofree char *why = g_strdup_printf ("SRTP set-up failed: %s", error->message);
    fail (w, why);
    return;
  }
  GST_INFO ("[%s] DTLS connected as %s; SRTP %s", w->sid,
      w->role == AMGW_DTLS_CLIENT ? "client" : "server", profile_name (keys->profile));
  amgw_media_timer_clear (&w->connect_timer);
  g_mutex_lock (&w->lock);
  g_clear_pointer (&w->srtp, amgw_srtp_free);
  w->srtp = srtp;
  g_free (w->srtp_profile);
  w->srtp_profile = g_strdup (profile_name (keys->profile));
  g_free (w->dtls_state);
  w->dtls_state = g_strdup ("connected");
  g_mutex_unlock (&w->lock);
  if (w->rtcp_timer == NULL)
    w->rtcp_timer = amgw_media_timer_new (w->media_ctx, AMGW_RTCP_INTERVAL_MS, on_rtcp_timer, w);
  start_audio_if_ready (w);
}

static void
on_dtls_failed (const GError *error, gpointer user_data)
{
  WebrtcLeg *w = user_data;

  set_text (w, &w->dtls_state, "failed");
  fail (w, error->message);
}

static const AmgwDtlsCallbacks dtls_callbacks = {
  .send = on_dtls_send,
  .connected = on_dtls_connected,
  .failed = on_dtls_failed,
};

static void
start_dtls_if_ready (WebrtcLeg *w)
{
  if (w->dtls == NULL && w->have_role && w->remote_fingerprint) {
    w->dtls = amgw_dtls_new (shared.cert, w->role, w->remote_fingerprint, w->media_ctx,
        &dtls_callbacks, w);
    set_text (w, &w->dtls_state, "new");
  }
  if (w->dtls && amgw_ice_get_state (w->ice) == AMGW_ICE_CONNECTED &&
      !amgw_dtls_is_connected (w->dtls)) {
    set_text (w, &w->dtls_state, "connecting");
    amgw_dtls_start (w->dtls);
  }
}

/* ------------------------------------------------------------------------ */
/* ICE (media loop) */

static void finish_gathering_op (WebrtcLeg *w);

static void
on_ice_gathering_done (gpointer user_data)
{
  WebrtcLeg *w = user_data;

  w->gathered = TRUE;
  finish_gathering_op (w);
}

static void
on_ice_state (AmgwIceState state, gpointer user_data)
{
  WebrtcLeg *w = user_data;

  set_text (w, &w->ice_state, amgw_ice_state_name (state));
  GST_INFO ("[%s] ICE %s", w->sid, amgw_ice_state_name (state));
  if (state == AMGW_ICE_CONNECTED) {
    g_autofree char *pair = amgw_ice_describe_pair (w->ice);
    set_text (w, &w->pair, pair);
    start_dtls_if_ready (w);
  } else if (state == AMGW_ICE_FAILED) {
    fail (w, w->media_up_reported
        ? "ICE: connectivity with the Alexa device was lost (consent freshness)"
        : "ICE failed: no candidate pair with the Alexa device works");
  }
}

/* In the sweep after prefetch_receive(). */
static void
prefetch_sink (gconstpointer data, AmgwMediaPrefetch *next)
{
  amgw_leg_sink_prefetch (&((const WebrtcLeg *) data)->sink, next);
}

/* What on_ice_receive() reads of @w, the struct's first block. */
static void
prefetch_receive (gconstpointer user_data, AmgwMediaPrefetch *next)
{
  const WebrtcLeg *w = user_data;

  amgw_prefetch_span (&w->torn_down, G_STRUCT_OFFSET (WebrtcLeg, sink) + sizeof w->sink
      - G_STRUCT_OFFSET (WebrtcLeg, torn_down));
  *next = (AmgwMediaPrefetch) { prefetch_sink, w };
}

static const AmgwIceCallbacks ice_callbacks = {
  .gathering_done = on_ice_gathering_done,
  .state_changed = on_ice_state,
  .receive = on_ice_receive,
  .prefetch = prefetch_receive,
};

static gboolean
on_connect_timeout (gpointer data)
{
  WebrtcLeg *w = data;

  amgw_media_timer_clear (&w->connect_timer);
  if (amgw_ice_get_state (w->ice) != AMGW_ICE_CONNECTED)
    fail (w, "ICE did not connect to the Alexa device in time");
  else
    fail (w, "the DTLS handshake with the Alexa device did not complete in time");
  return G_SOURCE_REMOVE;
}

static gboolean
ensure_ice (WebrtcLeg *w, gboolean controlling, GError **error)
{
  const AmgwConfig *cfg = shared.config;
  AmgwIceConfig ic = {
    .interfaces = (const char *const *) cfg->interfaces,
    .port_min = cfg->rtp_port_min,
    .port_max = cfg->rtp_port_max,
    .public_ip = cfg->media_public_ip,
    .stun_server = shared.stun_server,
    .turn_server = shared.turn_server,
    .turn_user = cfg->turn_user,
    .turn_password = cfg->turn_password,
    .no_direct_path = shared.no_direct_path,
  };

  if (w->ice)
    return TRUE;
  w->controlling = controlling;
  w->ice = amgw_ice_new (w->media_ctx, &ic, controlling, &ice_callbacks, w, error);
  if (w->ice == NULL)
    return FALSE;
  set_text (w, &w->ice_state, "gathering");
  return amgw_ice_gather (w->ice, error);
}

static void
arm_connect_timer (WebrtcLeg *w)
{
  if (w->connect_timer || (w->dtls && amgw_dtls_is_connected (w->dtls)))
    return;
  w->connect_timer = amgw_media_timer_new (w->media_ctx, shared.config->ice_timeout_ms, on_connect_timeout, w);
}

/* Applies the remote description's transport part (media loop). */
static gboolean
apply_remote_transport (WebrtcLeg *w, const AmgwSdpMedia *remote, GError **error)
{
  gboolean restart = w->remote_ufrag && g_strcmp0 (w->remote_ufrag, remote->ice_ufrag) != 0;

  if (w->remote_fingerprint && g_ascii_strcasecmp (w->remote_fingerprint, remote->fingerprint) != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
        "the Alexa device changed its DTLS certificate mid-call");
    return FALSE;
  }
  if (w->remote_ufrag && !restart)
    return TRUE;   /* same ICE session: nothing to do */
  if (restart)
    GST_INFO ("[%s] the Alexa device restarted ICE", w->sid);
  if (!amgw_ice_set_remote (w->ice, remote->ice_ufrag, remote->ice_pwd, remote->candidates, error))
    return FALSE;
  g_free (w->remote_ufrag);
  w->remote_ufrag = g_strdup (remote->ice_ufrag);
  if (w->remote_fingerprint == NULL)
    w->remote_fingerprint = g_strdup (remote->fingerprint);
  arm_connect_timer (w);
  start_dtls_if_ready (w);
  return TRUE;
}

static void
set_codec (WebrtcLeg *w, GArray *codecs)
{
  g_mutex_lock (&w->lock);
  g_clear_pointer (&w->accepted, g_array_unref);
  w->accepted = codecs ? g_array_ref (codecs) : NULL;
  g_mutex_unlock (&w->lock);
  for (guint i = 0; codecs && i < codecs->len; i++) {
    const AmgwCodec *c = &g_array_index (codecs, AmgwCodec, i);
    if (c->id == AMGW_CODEC_TELEPHONE_EVENT || c->id == AMGW_CODEC_UNKNOWN)
      continue;
    g_mutex_lock (&w->lock);
    if (w->have_first && w->first_id == c->id && w->first_pt == c->pt) {
      /* The same outcome again (the final answer after a provisional one,
       * a hold): keep what we send, which may be the bridge's codec. */
      g_mutex_unlock (&w->lock);
      return;
    }
    w->have_first = TRUE;
    w->first_id = c->id;
    w->first_pt = c->pt;
    g_free (w->codec.fmtp);
    w->codec = *c;
    w->codec.fmtp = g_strdup (c->fmtp);
    w->codec.name = NULL;
    w->have_codec = TRUE;
    w->recv_clock_rate = c->clock_rate;
    g_atomic_int_inc (&w->generation);
    g_mutex_unlock (&w->lock);
    GST_INFO ("[%s] codec %s/%u payload type %u", w->sid, amgw_codec_name (c->id), c->clock_rate,
        c->pt);
    return;
  }
}

static void
update_sending (WebrtcLeg *w, AmgwMediaDirection local)
{
  gboolean sending = (local == AMGW_MEDIA_SENDRECV || local == AMGW_MEDIA_SENDONLY);

  g_mutex_lock (&w->lock);
  w->sending = sending;
  g_mutex_unlock (&w->lock);
  if (w->audio)
    amgw_audio_set_sending (w->audio, sending);
}

/* ------------------------------------------------------------------------ */
/* The audio check (media loop) */

static AmgwAudioCodec
audio_codec (AmgwCodecId id)
{
  switch (id) {
    case AMGW_CODEC_G722: return AMGW_AUDIO_G722;
    case AMGW_CODEC_PCMU: return AMGW_AUDIO_PCMU;
    case AMGW_CODEC_PCMA: return AMGW_AUDIO_PCMA;
    default: return AMGW_AUDIO_OPUS;
  }
}

static void
start_audio_if_ready (WebrtcLeg *w)
{
  g_autoptr (GError) error = NULL;
  AmgwAudioFormat fmt;

  if (w->audio || !w->srtp || !w->have_codec || w->torn_down)
    return;
  /* Set by the control loop before the transport can be up; read here
   * after the DTLS handshake, so no race in practice; still under lock. */
  g_mutex_lock (&w->lock);
  if (!w->audio_check) {
    g_mutex_unlock (&w->lock);
    return;
  }
  fmt.codec = audio_codec (w->codec.id);
  fmt.pt = w->codec.pt;
  fmt.clock_rate = w->codec.clock_rate;
  fmt.ssrc = w->local_ssrc;
  g_mutex_unlock (&w->lock);

  {
    AmgwAudioFormat recv_fmt = fmt;
    recv_fmt.ssrc = 0;   /* whatever source the device sends from */
    w->audio = amgw_audio_new (&fmt, &recv_fmt, on_audio_send, w, &error);
  }
  if (w->audio == NULL) {
    g_autofree char *why = g_strdup_printf ("the audio check cannot start: %s", error->message);
    fail (w, why);
    return;
  }
  GST_INFO ("[%s] audio check: %.0f Hz for %u ms, then echo", w->sid, w->tone_hz, w->tone_ms);
  amgw_audio_set_sending (w->audio, w->sending);
  amgw_audio_play_tone (w->audio, w->tone_hz, w->tone_ms);
}

/* ------------------------------------------------------------------------ */
/* SDP operations: control loop -> media loop -> control loop */

typedef struct SdpOp {
  WebrtcLeg *leg;
  gboolean answer;
  gboolean ice_restart;
  AmgwMediaDirection direction;
  AmgwSdpMedia *remote;        /* answer: the remote offer */
  AmgwLegSdpCallback cb;
  gpointer user_data;
  guint64 session;
  guint version;
  char *sdp;                   /* result */
  GError *error;
} SdpOp;

static void
sdp_op_free (SdpOp *op)
{
  g_clear_pointer (&op->remote, amgw_sdp_media_free);
  g_free (op->sdp);
  g_clear_error (&op->error);
  leg_unref (op->leg);
  g_free (op);
}

static gboolean
sdp_op_complete_on_control (gpointer data)
{
  SdpOp *op = data;
  WebrtcLeg *w = op->leg;

  if (!w->closed) {
    if (op->sdp)
      w->local_direction = op->direction;
    op->cb (&w->parent, op->sdp, op->error, op->user_data);
  }
  sdp_op_free (op);
  return G_SOURCE_REMOVE;
}

static void
sdp_op_finish (SdpOp *op)
{
  run_on (op->leg->control_ctx, sdp_op_complete_on_control, op);
}

static char *
first_candidate_field (const GPtrArray *cands, guint field)
{
  for (guint i = 0; cands && i < cands->len; i++) {
    g_auto (GStrv) parts = g_strsplit (cands->pdata[i], " ", 8);
    if (g_strv_length (parts) > field)
      return g_strdup (parts[field]);
  }
  return NULL;
}

/* [media] codecs as codec ids; returns how many (1..4). */
static guint
config_prefs (AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX])
{
  return amgw_codec_prefs (shared.config->media_codecs, -1, prefs);
}

/* Builds the local description once candidates are known (media loop). */
static void
build_local (SdpOp *op)
{
  WebrtcLeg *w = op->leg;
  g_autoptr (AmgwSdpMedia) m = amgw_sdp_media_new ();
  g_autofree char *port = NULL;

  amgw_ice_get_local_credentials (w->ice, &m->ice_ufrag, &m->ice_pwd);
  g_ptr_array_unref (m->candidates);
  m->candidates = amgw_ice_get_local_candidates (w->ice);
  m->end_of_candidates = TRUE;
  m->fingerprint = g_strdup (amgw_dtls_cert_get_fingerprint (shared.cert));
  if (!op->answer && !w->have_role)
    m->setup = AMGW_DTLS_SETUP_ACTPASS;
  else
    m->setup = w->role == AMGW_DTLS_CLIENT ? AMGW_DTLS_SETUP_ACTIVE : AMGW_DTLS_SETUP_PASSIVE;
  m->mid = g_strdup (w->local_mid);
  m->bundle = TRUE;
  m->rtcp_mux = TRUE;
  m->direction = op->direction;
  g_array_unref (m->codecs);
  m->codecs = g_array_ref (w->codecs);
  m->connection_address = first_candidate_field (m->candidates, 4);
  port = first_candidate_field (m->candidates, 5);
  m->port = port ? (guint) g_ascii_strtoull (port, NULL, 10) : 9;
  if (m->connection_address == NULL)
    m->connection_address = g_strdup ("0.0.0.0");
  m->ssrc = w->local_ssrc;
  m->cname = g_strdup ("amgw");
  m->msid = g_strdup ("amgw amgw-audio");
  op->sdp = amgw_sdp_build (m, op->session, op->version, op->answer ? op->remote : NULL);
}

static void
finish_gathering_op (WebrtcLeg *w)
{
  SdpOp *op = w->gathering_op;

  if (op == NULL)
    return;
  w->gathering_op = NULL;
  build_local (op);
  sdp_op_finish (op);
}

static gboolean
sdp_op_on_media (gpointer data)
{
  SdpOp *op = data;
  WebrtcLeg *w = op->leg;

  if (w->torn_down) {
    g_set_error (&op->error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the leg is closed");
    goto done;
  }

  if (op->answer) {
    g_autoptr (GArray) codecs = NULL;
    AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX];
    guint n_prefs = config_prefs (prefs);

    /* amgw answers: it is the controlled ICE agent and the DTLS client
     * (a=setup:active) unless a role was settled before. */
    if (!ensure_ice (w, FALSE, &op->error))
      goto done;
    if (!amgw_sdp_negotiate (op->remote, prefs, n_prefs, &codecs, &op->error))
      goto done;
    if (!w->have_role) {
      w->have_role = TRUE;
      w->role = op->remote->setup == AMGW_DTLS_SETUP_ACTIVE ? AMGW_DTLS_SERVER : AMGW_DTLS_CLIENT;
    }
    if (w->remote_ufrag && g_strcmp0 (w->remote_ufrag, op->remote->ice_ufrag) != 0 &&
        !amgw_ice_restart (w->ice, &op->error))
      goto done;
    g_free (w->local_mid);
    w->local_mid = g_strdup (op->remote->mid ? op->remote->mid : "0");
    g_clear_pointer (&w->codecs, g_array_unref);
    w->codecs = g_array_ref (codecs);
    set_codec (w, codecs);
    op->direction = amgw_sdp_answer_direction (op->remote->direction, op->direction);
    if (!apply_remote_transport (w, op->remote, &op->error))
      goto done;
  } else {
    if (!ensure_ice (w, TRUE, &op->error))
      goto done;
    if (op->ice_restart && w->remote_ufrag && !amgw_ice_restart (w->ice, &op->error))
      goto done;
    if (w->codecs == NULL) {
      GArray *all = amgw_sdp_default_codecs ();
      if (w->have_only_codec) {
        /* The audio check of one codec: offer it alone (and the DTMF
         * events at its clock rate), so both directions use it. */
        w->codecs = amgw_sdp_codecs_new ();
        for (guint i = 0; i < all->len; i++) {
          const AmgwCodec *c = &g_array_index (all, AmgwCodec, i);
          if (c->id == w->only_codec)
            amgw_sdp_codecs_add (w->codecs, c->id, c->pt, c->clock_rate, c->channels, c->fmtp);
        }
        g_array_unref (all);
      } else {
        /* [media] codecs: those, in that order, then the DTMF events. */
        AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX];
        guint n_prefs = config_prefs (prefs);
        w->codecs = amgw_sdp_codecs_new ();
        for (guint k = 0; k <= n_prefs; k++) {
          for (guint i = 0; i < all->len; i++) {
            const AmgwCodec *c = &g_array_index (all, AmgwCodec, i);
            if (k < n_prefs ? c->id == prefs[k] : c->id == AMGW_CODEC_TELEPHONE_EVENT)
              amgw_sdp_codecs_add (w->codecs, c->id, c->pt, c->clock_rate, c->channels, c->fmtp);
          }
        }
        g_array_unref (all);
      }
    }
    if (w->local_mid == NULL)
      w->local_mid = g_strdup ("0");
  }
  update_sending (w, op->direction);

  if (!w->gathered) {
    /* The answer waits for candidates: no trickle (WIRE.md). */
    g_assert (w->gathering_op == NULL);
    w->gathering_op = op;
    return G_SOURCE_REMOVE;
  }
  build_local (op);

done:
  sdp_op_finish (op);
  return G_SOURCE_REMOVE;
}

static void
start_sdp_op (AmgwLeg *leg, gboolean answer, const char *remote_sdp,
    AmgwMediaDirection direction, gboolean ice_restart, AmgwLegSdpCallback cb, gpointer user_data)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  SdpOp *op = g_new0 (SdpOp, 1);

  op->leg = leg_ref (w);
  op->answer = answer;
  op->direction = direction;
  op->ice_restart = ice_restart;
  op->cb = cb;
  op->user_data = user_data;
  op->session = w->sdp_session;
  op->version = ++w->sdp_version;
  if (answer) {
    op->remote = amgw_sdp_parse (remote_sdp ? remote_sdp : "", remote_sdp ? strlen (remote_sdp) : 0,
        &op->error);
    if (op->remote == NULL) {
      sdp_op_finish (op);
      return;
    }
  }
  run_on (w->media_ctx, sdp_op_on_media, op);
}

static void
webrtc_create_offer (AmgwLeg *leg, AmgwMediaDirection direction, gboolean ice_restart,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  start_sdp_op (leg, FALSE, NULL, direction, ice_restart, cb, user_data);
}

static void
webrtc_create_answer (AmgwLeg *leg, const char *remote_offer, AmgwMediaDirection direction,
    AmgwLegSdpCallback cb, gpointer user_data)
{
  start_sdp_op (leg, TRUE, remote_offer, direction, FALSE, cb, user_data);
}

typedef struct {
  WebrtcLeg *leg;
  AmgwSdpMedia *remote;
  AmgwMediaDirection local_direction;
} ApplyOp;

static gboolean
apply_on_media (gpointer data)
{
  ApplyOp *a = data;
  WebrtcLeg *w = a->leg;
  g_autoptr (GError) error = NULL;

  if (w->torn_down || w->ice == NULL)
    goto out;
  if (!w->have_role) {
    /* Our offer said actpass; the answer decides. */
    w->have_role = TRUE;
    w->role = a->remote->setup == AMGW_DTLS_SETUP_PASSIVE ? AMGW_DTLS_CLIENT : AMGW_DTLS_SERVER;
  }
  set_codec (w, a->remote->codecs);
  if (!apply_remote_transport (w, a->remote, &error)) {
    g_autofree char *why = g_strdup_printf ("the Alexa device's SDP answer cannot be used: %s",
        error->message);
    fail (w, why);
    goto out;
  }
  update_sending (w, a->local_direction);
  start_audio_if_ready (w);

out:
  amgw_sdp_media_free (a->remote);
  leg_unref (w);
  g_free (a);
  return G_SOURCE_REMOVE;
}

static gboolean
webrtc_apply_answer (AmgwLeg *leg, const char *remote_answer, gboolean provisional,
    GError **error)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  AmgwSdpMedia *remote;
  ApplyOp *a;

  remote = amgw_sdp_parse (remote_answer ? remote_answer : "",
      remote_answer ? strlen (remote_answer) : 0, error);
  if (remote == NULL)
    return FALSE;
  if (remote->setup == AMGW_DTLS_SETUP_ACTPASS) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
        "an SDP answer must say a=setup:active or passive, not actpass");
    amgw_sdp_media_free (remote);
    return FALSE;
  }
  GST_INFO ("[%s] applying the %s answer", w->sid, provisional ? "provisional" : "final");
  a = g_new0 (ApplyOp, 1);
  a->leg = leg_ref (w);
  a->remote = remote;
  /* What we may do is what we offered, narrowed by what they answered. */
  if (remote->direction == AMGW_MEDIA_SENDONLY || remote->direction == AMGW_MEDIA_INACTIVE)
    a->local_direction = w->local_direction == AMGW_MEDIA_SENDRECV ? AMGW_MEDIA_RECVONLY
        : AMGW_MEDIA_INACTIVE;
  else
    a->local_direction = w->local_direction;
  run_on (w->media_ctx, apply_on_media, a);
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* Audio check, view, hang-up, tear-down */

static gboolean
webrtc_start_audio_check (AmgwLeg *leg, double tone_hz, guint tone_ms, const char *codec,
    GError **error)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  AmgwCodecId id;

  if (codec) {
    if (!amgw_codec_from_name (codec, &id) || id == AMGW_CODEC_TELEPHONE_EVENT) {
      g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_INVALID, "unknown codec %s", codec);
      return FALSE;
    }
    w->only_codec = id;
    w->have_only_codec = TRUE;
  }
  g_mutex_lock (&w->lock);
  w->audio_check = TRUE;
  w->tone_hz = tone_hz;
  w->tone_ms = tone_ms;
  g_mutex_unlock (&w->lock);
  return TRUE;
}

static void
add_str (cJSON *o, const char *key, const char *value)
{
  if (value)
    cJSON_AddStringToObject (o, key, value);
  else
    cJSON_AddNullToObject (o, key);
}

static void
webrtc_describe (AmgwLeg *leg, cJSON *obj)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  cJSON *media = cJSON_AddObjectToObject (obj, "media");
  cJSON *rtp = cJSON_AddObjectToObject (media, "rtp");
  cJSON *remote = cJSON_AddObjectToObject (media, "remote_reports");

  g_mutex_lock (&w->lock);
  add_str (media, "ice", w->ice_state);
  add_str (media, "pair", w->pair);
  add_str (media, "dtls", w->dtls_state);
  add_str (media, "srtp", w->srtp_profile);
  add_str (media, "codec", w->have_codec ? amgw_codec_name (w->codec.id) : NULL);
  cJSON_AddNumberToObject (media, "payload_type", w->have_codec ? w->codec.pt : 0);
  add_str (media, "failure", w->failure);
  cJSON_AddNumberToObject (rtp, "packets_in", (double) w->rtp_in);
  cJSON_AddNumberToObject (rtp, "bytes_in", (double) w->bytes_in);
  cJSON_AddNumberToObject (rtp, "packets_out", (double) w->rtp_out);
  cJSON_AddNumberToObject (rtp, "bytes_out", (double) w->bytes_out);
  cJSON_AddNumberToObject (rtp, "rtcp_in", (double) w->rtcp_in);
  cJSON_AddNumberToObject (rtp, "rtcp_out", (double) w->rtcp_out);
  cJSON_AddNumberToObject (rtp, "srtp_dropped", (double) w->srtp_drops);
  cJSON_AddNumberToObject (rtp, "jitter_ms",
      amgw_rtp_recv_stats_jitter_ms (&w->recv, w->recv_clock_rate));
  cJSON_AddNumberToObject (rtp, "lost", (double) amgw_rtp_recv_stats_lost (&w->recv));
  cJSON_AddNumberToObject (remote, "fraction_lost", w->remote_fraction_lost);
  cJSON_AddNumberToObject (remote, "cumulative_lost", w->remote_cumulative_lost);
  cJSON_AddNumberToObject (remote, "jitter_ms", w->remote_jitter_ms);
  g_mutex_unlock (&w->lock);

  if (w->audio_check) {
    /* The pipeline lives on the media loop, but its stats are thread-safe
     * and it is only freed after the leg is closed. */
    cJSON *check = cJSON_AddObjectToObject (media, "audio_check");
    AmgwAudioStats st = { 0, };
    AmgwAudio *audio = g_atomic_pointer_get (&w->audio);

    if (audio)
      amgw_audio_get_stats (audio, &st);
    cJSON_AddNumberToObject (check, "tone_hz", w->tone_hz);
    cJSON_AddBoolToObject (check, "echoing", st.echoing);
    cJSON_AddNumberToObject (check, "heard_hz", st.frequency_hz);
    cJSON_AddNumberToObject (check, "heard_level_dbov", st.level_dbov);
    cJSON_AddNumberToObject (check, "packets_in", (double) st.packets_in);
    cJSON_AddNumberToObject (check, "packets_out", (double) st.packets_out);
  }
}

static gboolean
teardown_on_media (gpointer data)
{
  WebrtcLeg *w = data;

  w->torn_down = TRUE;
  if (w->gathering_op) {
    SdpOp *op = g_steal_pointer (&w->gathering_op);
    g_set_error (&op->error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the leg is closed");
    sdp_op_finish (op);
  }
  amgw_media_timer_clear (&w->connect_timer);
  amgw_media_timer_clear (&w->rtcp_timer);
  /* The pipeline first: after this no streaming thread sends any more. */
  g_clear_pointer (&w->audio, amgw_audio_free);
  g_clear_pointer (&w->dtls, amgw_dtls_free);
  g_mutex_lock (&w->lock);
  g_clear_pointer (&w->srtp, amgw_srtp_free);
  g_mutex_unlock (&w->lock);
  g_clear_pointer (&w->ice, amgw_ice_free);
  GST_DEBUG ("[%s] transport closed", w->sid);
  leg_unref (w);
  return G_SOURCE_REMOVE;
}

static void
webrtc_hangup (AmgwLeg *leg, AmgwResultCode reason)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;

  /* CallSignaling carries the hang-up; the transport closes now (DTLS
   * close_notify goes out when DTLS is freed). */
  GST_INFO ("[%s] closing the WebRTC transport", w->sid);
  w->closed = TRUE;
  run_on (w->media_ctx, teardown_on_media, leg_ref (w));
}

static void
webrtc_finalize (AmgwLeg *leg)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;

  /* amgw_leg_free() hangs up first, so the media loop is tearing down. */
  w->closed = TRUE;
  leg_unref (w);
}

/* ------------------------------------------------------------------------ */
/* Joined media (the call's relays) */

static const AmgwCodec *
find_event_codec_locked (WebrtcLeg *w, guint clock_rate)
{
  const AmgwCodec *any = NULL;

  for (guint i = 0; w->accepted && i < w->accepted->len; i++) {
    const AmgwCodec *c = &g_array_index (w->accepted, AmgwCodec, i);
    if (c->id != AMGW_CODEC_TELEPHONE_EVENT)
      continue;
    if (c->clock_rate == clock_rate)
      return c;
    if (any == NULL)
      any = c;
  }
  return any;
}

/* Adds @c to what the device may send, unless its payload type is there. */
static void
add_may_recv (AmgwLegMedia *out, const AmgwCodec *c)
{
  if (c->id == AMGW_CODEC_TELEPHONE_EVENT || c->id == AMGW_CODEC_UNKNOWN ||
      out->n_may_recv >= AMGW_LEG_MAX_CODECS)
    return;
  for (guint k = 0; k < out->n_may_recv; k++)
    if (out->may_recv[k].pt == c->pt)
      return;
  amgw_codec_upper_name (c->id, out->may_recv[out->n_may_recv].encoding,
      sizeof out->may_recv[0].encoding);
  out->may_recv[out->n_may_recv].pt = c->pt;
  out->may_recv[out->n_may_recv].clock_rate = c->clock_rate;
  out->n_may_recv++;
}

static gboolean
webrtc_get_media (AmgwLeg *leg, AmgwLegMedia *out)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  const AmgwCodec *te;
  gboolean ok;

  g_mutex_lock (&w->lock);
  ok = w->have_codec;
  if (ok) {
    memset (out, 0, sizeof *out);
    amgw_codec_upper_name (w->codec.id, out->encoding, sizeof out->encoding);
    out->pt = w->codec.pt;
    out->clock_rate = w->codec.clock_rate;
    /* What the device may send: what it accepted, then the rest of what we
     * offered (a device that sends another codec of our offer is followed,
     * not refused).  It is expected to send the first it accepted,
     * whatever we send. */
    for (guint i = 0; w->accepted && i < w->accepted->len; i++)
      add_may_recv (out, &g_array_index (w->accepted, AmgwCodec, i));
    for (guint i = 0; w->accepted && w->codecs && i < w->codecs->len; i++)
      add_may_recv (out, &g_array_index (w->codecs, AmgwCodec, i));
    if (out->n_may_recv > 0) {
      memcpy (out->recv_encoding, out->may_recv[0].encoding, sizeof out->recv_encoding);
      out->recv_pt = out->may_recv[0].pt;
      out->recv_clock_rate = out->may_recv[0].clock_rate;
    } else {
      memcpy (out->recv_encoding, out->encoding, sizeof out->recv_encoding);
      out->recv_pt = out->pt;
      out->recv_clock_rate = out->clock_rate;
    }
    te = find_event_codec_locked (w, w->codec.clock_rate);
    out->dtmf_pt = te ? (gint) te->pt : -1;
    out->dtmf_clock_rate = te ? te->clock_rate : 0;
    out->generation = (guint) g_atomic_int_get (&w->generation);
  }
  g_mutex_unlock (&w->lock);
  return ok;
}

static guint
webrtc_get_media_generation (AmgwLeg *leg)
{
  return (guint) g_atomic_int_get (&((WebrtcLeg *) leg)->generation);
}

static gboolean
webrtc_prefer_codec (AmgwLeg *leg, const char *encoding)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  AmgwCodecId id;
  gboolean found = FALSE;

  if (!amgw_codec_from_name (encoding, &id))
    return FALSE;
  g_mutex_lock (&w->lock);
  for (guint i = 0; w->accepted && i < w->accepted->len && !found; i++) {
    const AmgwCodec *c = &g_array_index (w->accepted, AmgwCodec, i);
    if (c->id != id)
      continue;
    found = TRUE;
    if (w->have_codec && w->codec.id == id)
      break;
    g_free (w->codec.fmtp);
    w->codec = *c;
    w->codec.fmtp = g_strdup (c->fmtp);
    w->codec.name = NULL;
    w->have_codec = TRUE;
    g_atomic_int_inc (&w->generation);
    GST_INFO ("[%s] sending %s (payload type %u) to the device, as the bridge does", w->sid,
        amgw_codec_name (id), c->pt);
  }
  g_mutex_unlock (&w->lock);
  return found;
}

static void
webrtc_set_media_sink (AmgwLeg *leg, AmgwLegRtpSink sink, AmgwMediaPrefetchFunc prefetch,
    gpointer user_data)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;

  amgw_leg_sink_set (&w->sink, sink, prefetch, user_data);
}

/* Any thread: a relay's streaming thread, or the bridge leg's media loop. */
static void
webrtc_send_media (AmgwLeg *leg, const guint8 *rtp, gsize len)
{
  WebrtcLeg *w = (WebrtcLeg *) leg;
  guint8 pkt[AMGW_MAX_DATAGRAM_BYTES];
  gint64 now = g_get_monotonic_time ();
  guint32 now_ts;

  if (len < AMGW_RTP_MIN_BYTES || len > sizeof pkt)
    return;
  memcpy (pkt, rtp, len);
  g_mutex_lock (&w->lock);
  if (w->srtp == NULL || !w->sending || !w->have_codec) {
    g_mutex_unlock (&w->lock);
    return;
  }
  /* Where our stream is now: the last timestamp, moved on by the time
   * since (an arbitrary start for the first packet). */
  now_ts = w->out.sent_any ? w->out.last_ts + MAX (1, (guint32) ((now - w->out_last_us) *
      (gint64) w->codec.clock_rate / G_USEC_PER_SEC)) : g_random_int ();
  amgw_rtp_renumber (&w->renumber, pkt, &w->out, now_ts);
  w->out_last_us = now;
  g_mutex_unlock (&w->lock);
  send_packet (w, pkt, len, FALSE);
}

static const AmgwLegClass webrtc_class = {
  .get_media = webrtc_get_media,
  .get_media_generation = webrtc_get_media_generation,
  .prefer_codec = webrtc_prefer_codec,
  .set_media_sink = webrtc_set_media_sink,
  .send_media = webrtc_send_media,
  .kind = "webrtc",
  .create_offer = webrtc_create_offer,
  .create_answer = webrtc_create_answer,
  .apply_answer = webrtc_apply_answer,
  .hangup = webrtc_hangup,
  .finalize = webrtc_finalize,
  .describe = webrtc_describe,
  .start_audio_check = webrtc_start_audio_check,
};

static AmgwLeg *
webrtc_factory (AmgwLegRole role, const char *protocol, const char *session_id, gpointer data,
    GError **error)
{
  WebrtcLeg *w;

  if (role != AMGW_LEG_ALEXA) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNAVAILABLE,
        "the WebRTC leg serves the Alexa side only");
    return NULL;
  }
  w = g_new0 (WebrtcLeg, 1);
  amgw_leg_init (&w->parent, &webrtc_class, role, protocol, session_id);
  w->refs = 1;
  w->sid = g_strdup (session_id);
  g_mutex_init (&w->lock);
  g_mutex_init (&w->sink.lock);
  w->control_ctx = g_main_context_ref_thread_default ();
  w->media_ctx = amgw_media_loops_acquire_keyed (shared.loops, session_id);
  w->sdp_session = ((guint64) g_random_int () << 31) | g_random_int ();
  w->local_ssrc = g_random_int ();
  w->out.ssrc = w->local_ssrc;
  w->out.next_seq = (guint16) g_random_int ();
  w->local_direction = AMGW_MEDIA_SENDRECV;
  w->sending = TRUE;
  w->ice_state = g_strdup ("new");
  return &w->parent;
}

void
amgw_webrtc_leg_set_ice_servers (const char *stun_server, const char *turn_server)
{
  g_free (shared.stun_server);
  g_free (shared.turn_server);
  shared.stun_server = g_strdup (stun_server);
  shared.turn_server = g_strdup (turn_server);
}

void
amgw_webrtc_leg_set_direct_path (gboolean enabled)
{
  shared.no_direct_path = !enabled;
}

void
amgw_webrtc_leg_register (const AmgwConfig *config, AmgwMediaLoops *loops, AmgwDtlsCert *cert)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_webrtc_debug, "amgw-webrtc", 0, "amgw WebRTC leg");
    g_once_init_leave (&once, 1);
  }
  shared.config = config;
  shared.loops = loops;
  shared.cert = cert;
  g_free (shared.stun_server);
  g_free (shared.turn_server);
  shared.stun_server = g_strdup (config->stun_server);
  shared.turn_server = g_strdup (config->turn_server);
  amgw_leg_register ("ALEXA", webrtc_factory, NULL);
}
