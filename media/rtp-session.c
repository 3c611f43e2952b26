/* amgw — the bridge leg's media: RTP/AVP or SDES-SRTP toward a meeting bridge.
 *
 * Threads.  The API runs on the control loop.  The UDP sockets' watches, the
 * SRTP receive path and the timers (inactivity, RTCP, DTMF) run on the media
 * loop.  The audio check's pipeline sends from a GStreamer streaming thread.
 * Everything the three share sits under @lock, the only lock here: the
 * negotiated state, the SRTP session (both halves), the sequence number and
 * timestamp we send, and the counters.  Packets are rewritten, protected and
 * sent under it, so the wire order is the numbering order.  No callback is
 * made while it is held.
 *
 * Numbering.  The session owns the SSRC, sequence numbers and timestamps of
 * everything it sends: audio from the pipeline is renumbered (its timestamps
 * shifted by a fixed offset), RFC 4733 events take the place of audio frames
 * while a digit plays, and both follow one sequence.  In-band DTMF (G.711
 * only) replaces the pipeline's frames for the whole sequence: tone frames
 * and silence between digits, one 20 ms frame per tick.
 *
 * Lifetime.  Reference-counted: the owner holds one (dropped by
 * amgw_rtp_session_free), every hop between loops holds one.  Once freed
 * (@closed, control loop only) nothing is reported any more, and the media
 * loop tears the sockets, timers and pipeline down.
 */
#define _GNU_SOURCE   /* recvmmsg */
#include "amgw/rtp-session.h"

#include "amgw/media-loops.h"
#include "amgw/rtp-util.h"
#include "amgw/audio.h"
#include "amgw/demux.h"
#include "amgw/sdp.h"
#include "amgw/srtp.h"
#include "amgw/wire.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/rtp/gstrtcpbuffer.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <math.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <netinet/in.h>

GST_DEBUG_CATEGORY_STATIC (amgw_rtp_debug);
#define GST_CAT_DEFAULT amgw_rtp_debug

#define DEFAULT_INACTIVITY_MS 30000
#define RTCP_INTERVAL_MS 5000
/* Symmetric RTP: while the latched source is heard within this, packets from
 * any other address are dropped (a stray or injected stream must not take the
 * call's media); after it, the first new source takes over. */
#define LATCH_HOLD_US (1000 * 1000)
#define RTCP_LATCH_HOLD_US (3 * RTCP_INTERVAL_MS * 1000)
#define DTMF_TICK_MS 20
#define DTMF_TONE_TICKS 5             /* 100 ms of event packets per digit */
#define DTMF_GAP_MS 100               /* between two digits */
#define DTMF_END_PACKETS 3
#define DTMF_VOLUME 10                /* -10 dBm0 */
#define DTMF_FRAME_SAMPLES 160        /* 20 ms at 8 kHz: in-band frames (G.711 only) */
/* Per tone of an in-band pair, on the 16-bit scale: a full-scale G.711 sine
 * (peak 32124) is +3.17 dBm0, so -10 dBm0 is 13.17 dB below it. */
#define DTMF_INBAND_AMPLITUDE 7040.0
#define MAX_DTMF_DIGITS 128
#define MAX_DTMF_RECEIVED 64          /* the describe() string keeps the last ones */
#define MAX_SDP_MEDIA 16
#define MAX_SDP_FORMATS 32
#define MAX_SDP_ATTRIBUTES 256        /* per m-line */
#define MAX_SDP_CRYPTO 16
#define MAX_RECV_PER_WAKEUP 64
#define SILENCE_TICK_MS 20
#define MAX_KEY_SALT 30

G_DEFINE_QUARK (amgw-rtp-session-error-quark, amgw_rtp_session_error)

typedef struct {
  AmgwCodecId id;
  guint pt;
  guint clock_rate;
  guint channels;
} Fmt;

typedef struct {
  guint tag;
  AmgwSrtpProfile profile;
  guint8 key[MAX_KEY_SALT];
} Crypto;

/* What amgw uses of one remote SDP. */
typedef struct {
  gboolean savp;
  char *address;                 /* c= (media, else session); NULL: 0.0.0.0 (old-style hold) */
  guint port, rtcp_port;
  gboolean rtcp_mux;
  AmgwMediaDirection direction;
  GArray *fmts;                  /* Fmt */
  GArray *cryptos;               /* Crypto, usable ones only */
  gboolean crypto_mki;           /* some a=crypto was refused for its MKI */
  guint media_index, n_media;
  char **kinds, **protos, **formats;   /* every m-line, to reject the others */
} Remote;

/* Where packets go: the SDP's address until the peer's own packets latch it
 * (symmetric RTP). */
typedef struct {
  socklen_t len;                 /* 0: nowhere yet */
  gboolean latched;
  gint64 heard_us;               /* the last packet from @addr, once latched */
  struct sockaddr_storage addr;  /* last: an address uses its first 28 bytes */
} Peer;

struct _AmgwRtpSession {
  /* What a received packet reads, first and together: the media watch
   * fetches these bytes for a round's events before the first callback
   * (PACKET_PATH_BYTES).  Under @lock unless said otherwise. */
  GSocket *rtcp_sock;            /* set at creation: which socket a packet came on */
  GMutex lock;
  gboolean torn_down;
  gboolean negotiated;
  AmgwRtpSecurity security;      /* set at creation */
  gint te_pt;                    /* -1: no telephone-event */
  AmgwSrtp *srtp;
  Fmt codec;
  guint64 rtp_in, bytes_in;
  gint64 last_in_us;             /* 0: never */
  gboolean inactive_reported;
  AmgwAudio *audio;
  AmgwLegSink sink;              /* where received packets go (its own lock) */
  AmgwRtpRecvStats recv;         /* RFC 3550 view of the codec's packets */
  Peer rtp_peer;                 /* only its start is read per packet */

  /* Then, together, what a packet sent to the peer reads (under @lock). */
  gboolean sending;              /* we may send */
  gboolean bridged;              /* the other leg's media have been sent */
  gboolean dtmf_playing;         /* events or tones replace audio frames */
  gboolean dtmf_inband;          /* the sequence is tones in the audio (G.711) */
  gboolean rtcp_mux;
  gboolean sent_any;
  int rtp_fd, rtcp_fd;           /* the sockets', kept for sending; -1 once closing */
  guint32 ssrc;
  guint16 seq;
  guint32 last_ts;
  gint64 last_out_us;
  AmgwRtpRenumber renumber;      /* the other leg's packets into our stream */
  char *dtmf_digits;             /* the sequence being sent */
  guint64 rtp_out, bytes_out;
  gint generation;               /* changes with the negotiated codec (atomic) */

  gint refs;
  char *sid;
  const AmgwConfig *config;      /* borrowed: outlives the session */
  GMainContext *control_ctx;
  GMainContext *media_ctx;
  guint inactivity_ms;

  AmgwRtpCallbacks cb;
  gpointer user_data;
  int family;                    /* AF_INET or AF_INET6 */
  char *local_ip;                /* advertised in c= and o= */
  guint16 local_port;

  /* Control loop only. */
  gboolean closed;
  guint64 sdp_session;
  guint sdp_version;
  AmgwMediaDirection local_direction;
  Crypto local_crypto[2];        /* our keys per suite: [0] SHA1_80 (tag 1), [1] GCM (tag 2) */
  gboolean want_audio_check;
  gboolean have_preferred;
  AmgwCodecId preferred;         /* first in our offers */
  double tone_hz;
  guint tone_ms;

  /* Set at creation, destroyed on the media loop. */
  GSocket *rtp_sock;
  AmgwMediaWatch *rtp_watch, *rtcp_watch;
  AmgwMediaTimer *inactivity_timer, *rtcp_timer;

  /* Shared under @lock. */
  AmgwMediaDirection remote_direction;
  gboolean peer_sends;           /* the peer should send: inactivity applies */
  AmgwSrtpProfile profile;
  guint8 tx_key[MAX_KEY_SALT], rx_key[MAX_KEY_SALT];
  Peer rtcp_peer;
  struct sockaddr_storage signalled_rtp;    /* the SDP's, to see it change */
  socklen_t signalled_rtp_len;
  guint64 foreign_in;            /* from another source while latched */
  gint64 t0_us;
  guint32 ts_base;
  gboolean have_audio_offset;
  guint32 audio_ts_offset;
  guint64 rtcp_in, rtcp_out, invalid_in;
  gint64 inactivity_since_us;    /* when the peer should have started sending */
  /* DTMF sending */
  AmgwMediaTimer *dtmf_timer;
  guint dtmf_index;
  guint dtmf_pause_ms;
  guint dtmf_tick;               /* within the current digit */
  guint dtmf_wait_ticks;         /* gap or pause left */
  gboolean audio_resync;         /* after in-band: keep the audio's timestamps ahead */
  guint32 dtmf_ts;
  guint dtmf_sent;
  /* DTMF receiving */
  GString *dtmf_received;
  gboolean have_rx_event;
  guint32 rx_event_ts;
  gboolean rx_event_ended;
  /* Joined media */
  AmgwMediaTimer *silence_timer; /* until other media flow: silence frames */
};

/* The struct's first block, up to the start of the peer's address. */
#define PACKET_PATH_BYTES (G_STRUCT_OFFSET (AmgwRtpSession, rtp_peer) + G_STRUCT_OFFSET (Peer, addr) \
    + sizeof (struct sockaddr_in6))

static const char dtmf_chars[] = "0123456789*#ABCD";

/* The RTP watch's AmgwMediaPrefetchFunc, @s's first block being in. */
static void
prefetch_sink (gconstpointer data, AmgwMediaPrefetch *next)
{
  amgw_leg_sink_prefetch (&((const AmgwRtpSession *) data)->sink, next);
}

/* ------------------------------------------------------------------------ */
/* References and hops between loops */

static void
ensure_debug (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_rtp_debug, "amgw-rtp", 0, "amgw bridge-leg RTP");
    g_once_init_leave (&once, 1);
  }
}

static AmgwRtpSession *
session_ref (AmgwRtpSession *s)
{
  g_atomic_int_inc (&s->refs);
  return s;
}

static void
session_unref (AmgwRtpSession *s)
{
  if (!g_atomic_int_dec_and_test (&s->refs))
    return;
  g_assert (s->audio == NULL && s->rtp_watch == NULL);
  OPENSSL_cleanse (s->local_crypto, sizeof s->local_crypto);
  OPENSSL_cleanse (s->tx_key, sizeof s->tx_key);
  OPENSSL_cleanse (s->rx_key, sizeof s->rx_key);
  g_clear_object (&s->rtp_sock);
  g_clear_object (&s->rtcp_sock);
  g_free (s->dtmf_digits);
  if (s->dtmf_received)
    g_string_free (s->dtmf_received, TRUE);
  g_mutex_clear (&s->lock);
  g_mutex_clear (&s->sink.lock);
  g_main_context_unref (s->control_ctx);
  g_main_context_unref (s->media_ctx);
  g_free (s->local_ip);
  g_free (s->sid);
  g_free (s);
}

static void
run_on (GMainContext *ctx, GSourceFunc fn, gpointer data)
{
  g_main_context_invoke_full (ctx, G_PRIORITY_DEFAULT, fn, data, NULL);
}

typedef enum { REPORT_INACTIVE, REPORT_DTMF_DONE } ReportType;

typedef struct {
  AmgwRtpSession *s;
  ReportType type;
  char *reason;
} Report;

static gboolean
report_on_control (gpointer data)
{
  Report *r = data;
  AmgwRtpSession *s = r->s;

  if (!s->closed) {
    if (r->type == REPORT_INACTIVE && s->cb.inactive)
      s->cb.inactive (r->reason, s->user_data);
    else if (r->type == REPORT_DTMF_DONE && s->cb.dtmf_done)
      s->cb.dtmf_done (s->user_data);
  }
  session_unref (s);
  g_free (r->reason);
  g_free (r);
  return G_SOURCE_REMOVE;
}

static void
report (AmgwRtpSession *s, ReportType type, const char *reason)
{
  Report *r = g_new0 (Report, 1);

  r->s = session_ref (s);
  r->type = type;
  r->reason = g_strdup (reason);
  run_on (s->control_ctx, report_on_control, r);
}

/* ------------------------------------------------------------------------ */
/* Sending (lock held) */

static guint32
wall_ts (AmgwRtpSession *s, gint64 now_us)
{
  guint rate = s->codec.clock_rate ? s->codec.clock_rate : 8000;

  return s->ts_base + (guint32) ((now_us - s->t0_us) * rate / G_USEC_PER_SEC);
}

static void
send_locked (AmgwRtpSession *s, const guint8 *pkt, gsize len, gboolean rtcp)
{
  guint8 buf[AMGW_MAX_DATAGRAM_BYTES + AMGW_SRTP_MAX_TRAILER];
  gsize n = len;
  const struct sockaddr_storage *to;
  socklen_t to_len;
  int fd;
  gboolean ok = TRUE;

  if (len > AMGW_MAX_DATAGRAM_BYTES)
    return;
  if (rtcp && !s->rtcp_mux) {
    to = &s->rtcp_peer.addr;
    to_len = s->rtcp_peer.len;
    fd = s->rtcp_fd;
  } else {
    to = &s->rtp_peer.addr;
    to_len = s->rtp_peer.len;
    fd = s->rtp_fd;
  }
  if (to_len == 0 || fd < 0)
    return;
  memcpy (buf, pkt, len);
  if (s->security == AMGW_RTP_SDES_SRTP) {
    if (s->srtp == NULL)
      return;
    ok = rtcp ? amgw_srtp_protect_rtcp (s->srtp, buf, &n, sizeof buf, NULL)
              : amgw_srtp_protect (s->srtp, buf, &n, sizeof buf, NULL);
  }
  if (!ok)
    return;
  if (sendto (fd, buf, n, MSG_DONTWAIT, (const struct sockaddr *) to, to_len) < 0)
    return;
  if (rtcp) {
    s->rtcp_out++;
  } else {
    s->rtp_out++;
    s->bytes_out += len;
  }
}

/* Renumbers an RTP packet (ours: the pipeline's or an event) and sends it. */
static void
send_rtp_locked (AmgwRtpSession *s, guint8 *pkt, gsize len, guint32 ts, gboolean marker)
{
  if (marker)
    pkt[1] |= 0x80;
  GST_WRITE_UINT16_BE (pkt + 2, s->seq);
  GST_WRITE_UINT32_BE (pkt + 4, ts);
  GST_WRITE_UINT32_BE (pkt + 8, s->ssrc);
  s->seq++;
  s->last_ts = ts;
  s->last_out_us = g_get_monotonic_time ();
  s->sent_any = TRUE;
  send_locked (s, pkt, len, FALSE);
}

/* The audio pipeline's packets (a streaming thread). */
static void
on_audio_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  AmgwRtpSession *s = user_data;
  guint8 pkt[AMGW_MAX_DATAGRAM_BYTES];
  guint32 pipe_ts;

  if (len < AMGW_RTP_MIN_BYTES || len > sizeof pkt)
    return;
  memcpy (pkt, rtp, len);
  pipe_ts = GST_READ_UINT32_BE (pkt + 4);
  g_mutex_lock (&s->lock);
  if (!s->torn_down && s->sending && s->negotiated && !s->dtmf_playing) {
    guint32 ts;

    if (!s->have_audio_offset) {
      s->audio_ts_offset = wall_ts (s, g_get_monotonic_time ()) - pipe_ts;
      s->have_audio_offset = TRUE;
    }
    ts = pipe_ts + s->audio_ts_offset;
    if (s->audio_resync) {
      /* In-band tones ran on the timer's clock: never step back over them. */
      guint32 frame = (s->codec.clock_rate ? s->codec.clock_rate : 8000) * DTMF_TICK_MS / 1000;
      s->audio_resync = FALSE;
      if (s->sent_any && (gint32) (ts - s->last_ts) <= 0) {
        s->audio_ts_offset += s->last_ts + frame - ts;
        ts = s->last_ts + frame;
      }
    }
    send_rtp_locked (s, pkt, len, ts, FALSE);
  }
  g_mutex_unlock (&s->lock);
}

/* The other leg's media (a relay's streaming thread, or the other leg's
 * media loop in passthrough). */
void
amgw_rtp_session_send_media (AmgwRtpSession *s, const guint8 *rtp, gsize len)
{
  guint8 pkt[AMGW_MAX_DATAGRAM_BYTES];

  if (len < AMGW_RTP_MIN_BYTES || len > sizeof pkt)
    return;
  memcpy (pkt, rtp, len);
  g_mutex_lock (&s->lock);
  s->bridged = TRUE;
  if (!s->torn_down && s->sending && s->negotiated && !s->dtmf_playing) {
    AmgwRtpStreamOut out = { s->ssrc, s->seq, s->last_ts, s->sent_any };
    gint64 now = g_get_monotonic_time ();

    if (s->dtmf_inband && s->dtmf_digits)
      amgw_rtp_renumber_reset (&s->renumber);   /* tones own the stream meanwhile */
    else {
      /* A new source starts where our stream is now: the last timestamp
       * sent, moved on by the time since (our stream may run ahead of the
       * wall clock after DTMF, so not wall_ts()). */
      guint32 now_ts = s->sent_any ? s->last_ts + MAX (1, (guint32) ((now - s->last_out_us) *
          (gint64) s->codec.clock_rate / G_USEC_PER_SEC)) : wall_ts (s, now);
      amgw_rtp_renumber (&s->renumber, pkt, &out, now_ts);
      s->seq = out.next_seq;
      s->last_ts = out.last_ts;
      s->sent_any = TRUE;
      s->last_out_us = now;
      send_locked (s, pkt, len, FALSE);
    }
  }
  g_mutex_unlock (&s->lock);
}

/* Until the other leg's media (or the audio check) flow, the bridge hears
 * silence frames: bridges and their border controllers latch onto our
 * address from our first packets, and some jitter buffers lose DTMF events
 * that come before any audio.  Opus, PCMU, PCMA (G.722 has no silence
 * pattern of fixed bytes: nothing is sent).  Media loop. */
static gboolean
on_silence_tick (gpointer data)
{
  AmgwRtpSession *s = data;
  static const guint8 opus_silence[] = { 0xf8, 0xff, 0xfe };  /* one 20 ms CELT silence frame */
  guint8 pkt[AMGW_RTP_MIN_BYTES + 160];
  gsize n = AMGW_RTP_MIN_BYTES;
  gint64 now = g_get_monotonic_time ();

  g_mutex_lock (&s->lock);
  if (s->torn_down || s->bridged || s->audio || s->want_audio_check) {
    amgw_media_timer_clear (&s->silence_timer);   /* the loop holds its own reference */
    g_mutex_unlock (&s->lock);
    return G_SOURCE_REMOVE;
  }
  if (s->negotiated && s->sending && !s->dtmf_playing && !(s->dtmf_inband && s->dtmf_digits) &&
      (!s->sent_any || now - s->last_out_us >= SILENCE_TICK_MS * 1000 - 2000)) {
    memset (pkt, 0, sizeof pkt);
    pkt[0] = 0x80;
    pkt[1] = (guint8) s->codec.pt;
    switch (s->codec.id) {
      case AMGW_CODEC_OPUS:
        memcpy (pkt + n, opus_silence, sizeof opus_silence);
        n += sizeof opus_silence;
        break;
      case AMGW_CODEC_PCMU:
      case AMGW_CODEC_PCMA:
        memset (pkt + n, s->codec.id == AMGW_CODEC_PCMU ? 0xff : 0xd5, 160);
        n += 160;
        break;
      default:
        n = 0;
        break;
    }
    if (n > 0) {
      guint32 ts = s->sent_any ? s->last_ts + s->codec.clock_rate * SILENCE_TICK_MS / 1000
                               : wall_ts (s, now);
      send_rtp_locked (s, pkt, n, ts, !s->sent_any);
      amgw_rtp_renumber_reset (&s->renumber);
    }
  }
  g_mutex_unlock (&s->lock);
  return G_SOURCE_CONTINUE;
}

guint
amgw_rtp_session_get_media_generation (AmgwRtpSession *s)
{
  return (guint) g_atomic_int_get (&s->generation);
}

gboolean
amgw_rtp_session_get_media (AmgwRtpSession *s, AmgwLegMedia *out)
{
  gboolean ok;

  g_mutex_lock (&s->lock);
  ok = s->negotiated;
  if (ok) {
    memset (out, 0, sizeof *out);
    amgw_codec_upper_name (s->codec.id, out->encoding, sizeof out->encoding);
    out->pt = s->codec.pt;
    out->clock_rate = s->codec.clock_rate;
    g_strlcpy (out->recv_encoding, out->encoding, sizeof out->recv_encoding);
    out->recv_pt = out->pt;
    out->recv_clock_rate = out->clock_rate;
    memcpy (out->may_recv[0].encoding, out->encoding, sizeof out->encoding);
    out->may_recv[0].pt = out->pt;
    out->may_recv[0].clock_rate = out->clock_rate;
    out->n_may_recv = 1;
    out->dtmf_pt = s->te_pt;
    out->dtmf_clock_rate = s->te_pt >= 0 ? s->codec.clock_rate : 0;
    out->generation = (guint) g_atomic_int_get (&s->generation);
  }
  g_mutex_unlock (&s->lock);
  return ok;
}

void
amgw_rtp_session_set_sink (AmgwRtpSession *s, AmgwLegRtpSink sink,
    AmgwMediaPrefetchFunc prefetch, gpointer user_data)
{
  amgw_leg_sink_set (&s->sink, sink, prefetch, user_data);
}

/* ------------------------------------------------------------------------ */
/* RTCP (media loop) */

static gboolean
on_rtcp_timer (gpointer data)
{
  AmgwRtpSession *s = data;
  GBytes *report;
  guint32 ts;

  g_mutex_lock (&s->lock);
  if (!s->negotiated || s->torn_down) {
    g_mutex_unlock (&s->lock);
    return G_SOURCE_CONTINUE;
  }
  ts = s->sent_any ? s->last_ts + (guint32) ((g_get_monotonic_time () - s->last_out_us) *
      (gint64) s->codec.clock_rate / G_USEC_PER_SEC) : wall_ts (s, g_get_monotonic_time ());
  report = amgw_rtcp_report_new (s->ssrc, s->rtp_out, s->bytes_out, ts, NULL, "amgw");
  send_locked (s, g_bytes_get_data (report, NULL), g_bytes_get_size (report), TRUE);
  g_mutex_unlock (&s->lock);
  g_bytes_unref (report);
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* Receiving (media loop) */

/* Symmetric RTP (lock held): whether a packet from @from is the peer's, and
 * @p answers to it from now on.  While the latched source was heard within
 * @hold_us, any other address is not: dropped and counted. */
static gboolean
peer_admit (AmgwRtpSession *s, Peer *p, const char *what, const struct sockaddr_storage *from,
    socklen_t from_len, gint64 now, gint64 hold_us)
{
  if (!p->latched || p->len != from_len || memcmp (&p->addr, from, from_len) != 0) {
    if (p->latched && now - p->heard_us < hold_us) {
      if (s->foreign_in++ == 0)
        GST_WARNING ("[%s] %s from an address other than the peer's dropped (the peer's is "
            "live); counted in rtp.foreign_in", s->sid, what);
      return FALSE;
    }
    if (p->latched)
      GST_INFO ("[%s] %s latched to a new source address: the old one was silent for %"
          G_GINT64_FORMAT " ms", s->sid, what, (now - p->heard_us) / 1000);
    else
      GST_DEBUG ("[%s] %s latched to the peer's source address", s->sid, what);
    memcpy (&p->addr, from, from_len);
    p->len = from_len;
    p->latched = TRUE;
  }
  p->heard_us = now;
  return TRUE;
}

/* RFC 4733 event in @payload (lock held). */
static void
receive_event_locked (AmgwRtpSession *s, guint32 ts, const guint8 *payload, gsize len)
{
  guint event;
  gboolean end;

  if (len < 4)
    return;
  event = payload[0];
  end = (payload[1] & 0x80) != 0;
  if (!s->have_rx_event || ts != s->rx_event_ts) {
    s->have_rx_event = TRUE;
    s->rx_event_ts = ts;
    s->rx_event_ended = FALSE;
  }
  if (end && !s->rx_event_ended) {
    s->rx_event_ended = TRUE;
    if (event < 16) {
      if (s->dtmf_received->len >= MAX_DTMF_RECEIVED)
        g_string_erase (s->dtmf_received, 0, 1);
      g_string_append_c (s->dtmf_received, dtmf_chars[event]);
      GST_DEBUG ("[%s] DTMF event %u received", s->sid, event);
    }
  }
}

static void
receive_rtp (AmgwRtpSession *s, guint8 *buf, gsize n, const struct sockaddr_storage *from,
    socklen_t from_len)
{
  gsize off;
  guint pt;
  AmgwAudio *audio = NULL;
  gint64 now;

  if (n < AMGW_RTP_MIN_BYTES || (buf[0] & 0xc0) != 0x80)
    return;
  off = AMGW_RTP_MIN_BYTES + 4 * (buf[0] & 0x0f);
  if ((buf[0] & 0x10) && off + 4 <= n)
    off += 4 + 4 * (gsize) GST_READ_UINT16_BE (buf + off + 2);
  if (off > n)
    return;
  pt = buf[1] & 0x7f;

  g_mutex_lock (&s->lock);
  if (s->security == AMGW_RTP_SDES_SRTP &&
      (s->srtp == NULL || !amgw_srtp_unprotect (s->srtp, buf, &n, NULL))) {
    s->invalid_in++;
    g_mutex_unlock (&s->lock);
    return;
  }
  if (!s->negotiated) {
    s->invalid_in++;
    g_mutex_unlock (&s->lock);
    return;
  }
  now = g_get_monotonic_time ();
  if (!peer_admit (s, &s->rtp_peer, "RTP", from, from_len, now, LATCH_HOLD_US)) {
    g_mutex_unlock (&s->lock);
    return;
  }
  s->rtp_in++;
  s->bytes_in += n;
  s->last_in_us = now;
  s->inactive_reported = FALSE;   /* a later silence is a new episode */
  if (s->te_pt >= 0 && pt == (guint) s->te_pt)
    receive_event_locked (s, GST_READ_UINT32_BE (buf + 4), buf + off, n > off ? n - off : 0);
  else if (pt == s->codec.pt) {
    amgw_rtp_recv_stats_update (&s->recv, GST_READ_UINT16_BE (buf + 2),
        GST_READ_UINT32_BE (buf + 4), GST_READ_UINT32_BE (buf + 8), s->codec.clock_rate,
        s->last_in_us);
    audio = s->audio;
  }
  /* Pushing copies and never blocks; the pipeline is freed under the lock
   * being released only on the media loop (this thread). */
  g_mutex_unlock (&s->lock);
  if (audio)
    amgw_audio_push_rtp (audio, buf, n);
  amgw_leg_sink_deliver (&s->sink, buf, n);
}

static void
receive_rtcp (AmgwRtpSession *s, guint8 *buf, gsize n, const struct sockaddr_storage *from,
    socklen_t from_len, gboolean on_rtcp_port)
{
  g_mutex_lock (&s->lock);
  if (s->security == AMGW_RTP_SDES_SRTP &&
      (s->srtp == NULL || !amgw_srtp_unprotect_rtcp (s->srtp, buf, &n, NULL))) {
    s->invalid_in++;
    g_mutex_unlock (&s->lock);
    return;
  }
  if (on_rtcp_port && s->negotiated && !peer_admit (s, &s->rtcp_peer, "RTCP", from, from_len,
          g_get_monotonic_time (), RTCP_LATCH_HOLD_US)) {
    g_mutex_unlock (&s->lock);
    return;
  }
  s->rtcp_in++;
  g_mutex_unlock (&s->lock);
}

/* Datagrams read with one recvmmsg(): a socket that gives fewer than this is
 * drained, so the usual read-until-EAGAIN costs no second system call. */
#define RECV_BATCH 8

static gboolean
on_socket_readable (GSocket *sock, int fd, GIOCondition cond, gpointer data)
{
  AmgwRtpSession *s = data;
  guint8 bufs[RECV_BATCH][AMGW_MAX_DATAGRAM_BYTES + AMGW_SRTP_MAX_TRAILER];
  struct sockaddr_storage from[RECV_BATCH];
  struct iovec iov[RECV_BATCH];
  struct mmsghdr msgs[RECV_BATCH];
  gboolean rtcp_port = sock == s->rtcp_sock;
  guint total = 0;

  (void) cond;
  while (total < MAX_RECV_PER_WAKEUP) {
    int n = amgw_media_recv_batch (fd, &bufs[0][0], sizeof bufs[0], from, iov, msgs,
        RECV_BATCH);

    if (n < 0)   /* empty, or an error read out: then look again */
      return errno != EAGAIN && errno != EWOULDBLOCK;
    for (int i = 0; i < n; i++) {
      guint8 *buf = bufs[i];
      gsize r = msgs[i].msg_len;
      socklen_t from_len = msgs[i].msg_hdr.msg_namelen;

      if (r < 8 || r > AMGW_MAX_DATAGRAM_BYTES || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC))
        continue;
      /* RFC 5761: on a muxed port, RTCP packet types are 192..223. */
      if (rtcp_port || (buf[1] >= 192 && buf[1] <= 223))
        receive_rtcp (s, buf, r, &from[i], from_len, rtcp_port);
      else
        receive_rtp (s, buf, r, &from[i], from_len);
    }
    total += (guint) n;
    if (n < RECV_BATCH)
      return FALSE;   /* drained */
  }
  return TRUE;   /* the rest at the next wake-up: the loop's other sockets first */
}

static gboolean
on_inactivity_timer (gpointer data)
{
  AmgwRtpSession *s = data;
  gint64 now = g_get_monotonic_time ();
  gboolean fire = FALSE;

  g_mutex_lock (&s->lock);
  if (s->negotiated && s->peer_sends && !s->inactive_reported) {
    gint64 since = MAX (s->last_in_us, s->inactivity_since_us);
    if (now - since >= (gint64) s->inactivity_ms * 1000) {
      s->inactive_reported = TRUE;
      fire = TRUE;
    }
  }
  g_mutex_unlock (&s->lock);
  if (fire) {
    g_autofree char *why = g_strdup_printf ("no RTP from the bridge for %u ms", s->inactivity_ms);
    GST_WARNING ("[%s] %s", s->sid, why);
    report (s, REPORT_INACTIVE, why);
  }
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* DTMF, RFC 4733 (media loop timer) */

static void
send_event_locked (AmgwRtpSession *s, guint event, gboolean end, guint duration, gboolean marker)
{
  guint8 pkt[AMGW_RTP_MIN_BYTES + 4] = { 0x80, (guint8) s->te_pt, };

  pkt[12] = (guint8) event;
  pkt[13] = (end ? 0x80 : 0) | DTMF_VOLUME;
  GST_WRITE_UINT16_BE (pkt + 14, MIN (duration, 0xffff));
  send_rtp_locked (s, pkt, sizeof pkt, s->dtmf_ts, marker);
}

/* Where a burst that starts now goes on the timeline: after everything sent. */
static guint32
burst_ts_locked (AmgwRtpSession *s, guint frame)
{
  gint64 now = g_get_monotonic_time ();
  guint32 ts = s->sent_any ? s->last_ts + (guint32) ((now - s->last_out_us) * (gint64) frame /
      (DTMF_TICK_MS * 1000)) : wall_ts (s, now);

  /* Never overlap the last frame sent (a tick sooner than a frame after it). */
  if (s->sent_any && (gint32) (ts - s->last_ts) < (gint32) frame)
    ts = s->last_ts + frame;
  return ts;
}

/* ------------------------------------------------------------------------ */
/* DTMF, in-band (media loop timer): Q.23 tone pairs in G.711 */

static const double dtmf_row_hz[4] = { 697, 770, 852, 941 };
static const double dtmf_col_hz[4] = { 1209, 1336, 1477, 1633 };
/* Keypad position of each of dtmf_chars: row * 4 + column. */
static const guint8 dtmf_key_pos[16] = {
  13, 0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 14, 3, 7, 11, 15,
};

/* G.711 µ-law: bias, then a 3-bit segment (exponent) and 4-bit mantissa,
 * all bits inverted. */
static guint8
linear_to_ulaw (gint16 pcm)
{
  gint v = pcm;
  guint8 sign = 0;
  guint exp = 7;

  if (v < 0) {
    v = -v;
    sign = 0x80;
  }
  v = MIN (v, 32635) + 0x84;
  while (exp > 0 && (v & (0x80 << exp)) == 0)
    exp--;
  return (guint8) ~(sign | (exp << 4) | ((v >> (exp + 3)) & 0x0f));
}

/* G.711 A-law: 12-bit magnitude, segments 0 and 1 share a step, even bits
 * inverted. */
static guint8
linear_to_alaw (gint16 pcm)
{
  gint m = (pcm >= 0 ? pcm : -(gint) pcm - 1) >> 3;   /* 0..4095 */
  guint seg = 0;
  guint8 code;

  if (m < 32) {
    code = (guint8) (m >> 1);
  } else {
    seg = 1;
    while (seg < 7 && m >= (32 << seg))
      seg++;
    code = (guint8) ((seg << 4) | ((m >> seg) & 0x0f));
  }
  return (guint8) ((pcm >= 0 ? 0x80 | code : code) ^ 0x55);
}

/* One 20 ms in-band frame: @event's tone pair from sample @first of the
 * tone, or silence when @event is -1 (lock held). */
static void
send_inband_frame_locked (AmgwRtpSession *s, gint event, guint first, gboolean marker)
{
  guint8 pkt[AMGW_RTP_MIN_BYTES + DTMF_FRAME_SAMPLES] = { 0x80, (guint8) s->codec.pt, };
  gboolean ulaw = s->codec.id == AMGW_CODEC_PCMU;

  for (guint i = 0; i < DTMF_FRAME_SAMPLES; i++) {
    gint16 v = 0;
    if (event >= 0) {
      guint pos = dtmf_key_pos[event];
      double t = (double) (first + i) / 8000.0;
      v = (gint16) lrint (DTMF_INBAND_AMPLITUDE * (sin (2 * G_PI * dtmf_row_hz[pos / 4] * t) +
              sin (2 * G_PI * dtmf_col_hz[pos % 4] * t)));
    }
    pkt[AMGW_RTP_MIN_BYTES + i] = ulaw ? linear_to_ulaw (v) : linear_to_alaw (v);
  }
  send_rtp_locked (s, pkt, sizeof pkt, s->dtmf_ts, marker);
}

/* One tick of an in-band sequence; TRUE when it is over (lock held). */
static gboolean
inband_tick_locked (AmgwRtpSession *s)
{
  gint event = -1;
  guint first = 0;
  gboolean marker = FALSE;
  char c;

  if (!s->dtmf_playing) {
    s->dtmf_ts = burst_ts_locked (s, DTMF_FRAME_SAMPLES);
    s->dtmf_playing = TRUE;
  }
  if (s->dtmf_wait_ticks > 0) {
    s->dtmf_wait_ticks--;
  } else if ((c = s->dtmf_digits[s->dtmf_index]) == '\0') {
    s->dtmf_playing = FALSE;
    s->audio_resync = TRUE;
    return TRUE;
  } else if (c == ',') {
    s->dtmf_index++;
    s->dtmf_wait_ticks = MAX (s->dtmf_pause_ms / DTMF_TICK_MS, 1) - 1;
  } else {
    event = (gint) (strchr (dtmf_chars, g_ascii_toupper (c)) - dtmf_chars);
    first = s->dtmf_tick * DTMF_FRAME_SAMPLES;
    marker = s->dtmf_tick == 0;
    if (++s->dtmf_tick >= DTMF_TONE_TICKS) {
      s->dtmf_tick = 0;
      s->dtmf_index++;
      s->dtmf_sent++;
      s->dtmf_wait_ticks = DTMF_GAP_MS / DTMF_TICK_MS;
    }
  }
  /* A re-INVITE may have moved off G.711 meanwhile: then the time passes silently. */
  if (s->sending && (s->codec.id == AMGW_CODEC_PCMU || s->codec.id == AMGW_CODEC_PCMA))
    send_inband_frame_locked (s, event, first, marker);
  s->dtmf_ts += DTMF_FRAME_SAMPLES;
  return FALSE;
}

static gboolean
on_dtmf_tick (gpointer data)
{
  AmgwRtpSession *s = data;
  guint frame, event;
  char c;
  gboolean done = FALSE;

  g_mutex_lock (&s->lock);
  if (s->dtmf_digits == NULL || s->torn_down) {
    g_mutex_unlock (&s->lock);
    return G_SOURCE_CONTINUE;
  }
  frame = (s->codec.clock_rate ? s->codec.clock_rate : 8000) * DTMF_TICK_MS / 1000;
  if (s->dtmf_inband) {
    done = inband_tick_locked (s);
  } else if (s->dtmf_wait_ticks > 0) {
    s->dtmf_wait_ticks--;
  } else if ((c = s->dtmf_digits[s->dtmf_index]) == '\0') {
    done = TRUE;
  } else if (c == ',') {
    s->dtmf_index++;
    s->dtmf_wait_ticks = MAX (s->dtmf_pause_ms / DTMF_TICK_MS, 1) - 1;
  } else {
    event = (guint) (strchr (dtmf_chars, g_ascii_toupper (c)) - dtmf_chars);
    if (s->dtmf_tick == 0) {
      s->dtmf_ts = burst_ts_locked (s, frame);
      s->dtmf_playing = TRUE;
    }
    s->dtmf_tick++;
    if (s->sending) {
      if (s->dtmf_tick < DTMF_TONE_TICKS) {
        send_event_locked (s, event, FALSE, s->dtmf_tick * frame, s->dtmf_tick == 1);
      } else {
        for (guint i = 0; i < DTMF_END_PACKETS; i++)
          send_event_locked (s, event, TRUE, DTMF_TONE_TICKS * frame, FALSE);
      }
    }
    if (s->dtmf_tick >= DTMF_TONE_TICKS) {
      /* The audio resumes after the event's duration. */
      s->last_ts = s->dtmf_ts + DTMF_TONE_TICKS * frame;
      s->dtmf_playing = FALSE;
      amgw_rtp_renumber_reset (&s->renumber);
      s->dtmf_tick = 0;
      s->dtmf_index++;
      s->dtmf_sent++;
      s->dtmf_wait_ticks = DTMF_GAP_MS / DTMF_TICK_MS;
    }
  }
  if (done) {
    /* The timer goes with the sequence (dispatch holds its own ref). */
    g_clear_pointer (&s->dtmf_digits, g_free);
    amgw_media_timer_clear (&s->dtmf_timer);   /* the loop holds its own reference */
  }
  g_mutex_unlock (&s->lock);
  if (done) {
    GST_DEBUG ("[%s] DTMF sequence sent", s->sid);
    report (s, REPORT_DTMF_DONE, NULL);
    return G_SOURCE_REMOVE;
  }
  return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------------ */
/* Creation: sockets on an even port pair */

static GSocket *
bind_udp (int family, GInetAddress *addr, guint16 port)
{
  g_autoptr (GSocket) sock = g_socket_new (family == AF_INET6 ? G_SOCKET_FAMILY_IPV6
      : G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GSocketAddress) sa = NULL;

  if (sock == NULL)
    return NULL;
  sa = g_inet_socket_address_new (addr, port);
  if (!g_socket_bind (sock, sa, FALSE, NULL))
    return NULL;
  g_socket_set_blocking (sock, FALSE);
  return g_steal_pointer (&sock);
}

/* The address to advertise when [sip] public-ip is unset: the one the
 * kernel would use toward the Internet (no packet is sent), else loopback. */
static char *
guess_local_ip (int family)
{
  g_autoptr (GSocket) sock = g_socket_new (family == AF_INET6 ? G_SOCKET_FAMILY_IPV6
      : G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr (GInetAddress) probe = g_inet_address_new_from_string (
      family == AF_INET6 ? "2001:db8::1" : "192.0.2.1");
  g_autoptr (GSocketAddress) to = g_inet_socket_address_new (probe, 9);
  g_autoptr (GSocketAddress) local = NULL;

  if (sock && g_socket_connect (sock, to, NULL, NULL) &&
      (local = g_socket_get_local_address (sock, NULL)) != NULL) {
    GInetAddress *a = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local));
    if (!g_inet_address_get_is_any (a))
      return g_inet_address_to_string (a);
  }
  return g_strdup (family == AF_INET6 ? "::1" : "127.0.0.1");
}

static void
gen_crypto (Crypto *c, guint tag, AmgwSrtpProfile profile)
{
  c->tag = tag;
  c->profile = profile;
  if (RAND_bytes (c->key, (int) amgw_srtp_key_len (profile)) != 1)
    g_error ("RAND_bytes failed");   /* no randomness: nothing secure can run */
}

AmgwRtpSession *
amgw_rtp_session_new (const AmgwRtpSessionParams *params, const AmgwRtpCallbacks *callbacks,
    gpointer user_data, GError **error)
{
  AmgwRtpSession *s;
  const AmgwConfig *config;
  g_autoptr (GInetAddress) bind_addr = NULL;
  guint pmin, pmax;

  ensure_debug ();
  g_return_val_if_fail (params != NULL && params->config != NULL && params->media_context, NULL);
  config = params->config;

  s = g_new0 (AmgwRtpSession, 1);
  s->refs = 1;
  s->sid = g_strdup (params->log_id ? params->log_id : "-");
  s->config = config;
  g_mutex_init (&s->lock);
  s->rtp_fd = s->rtcp_fd = -1;
  g_mutex_init (&s->sink.lock);
  s->control_ctx = g_main_context_ref_thread_default ();
  s->media_ctx = g_main_context_ref (params->media_context);
  s->security = params->security;
  s->inactivity_ms = params->inactivity_timeout_ms ? params->inactivity_timeout_ms
      : DEFAULT_INACTIVITY_MS;
  if (callbacks)
    s->cb = *callbacks;
  s->user_data = user_data;
  s->sdp_session = (((guint64) g_random_int () << 31) | g_random_int ()) & G_MAXINT64;
  s->local_direction = AMGW_MEDIA_SENDRECV;
  s->remote_direction = AMGW_MEDIA_SENDRECV;
  s->te_pt = -1;
  s->ssrc = g_random_int ();
  s->seq = (guint16) g_random_int ();
  s->ts_base = g_random_int ();
  s->t0_us = g_get_monotonic_time ();
  s->dtmf_received = g_string_new (NULL);
  gen_crypto (&s->local_crypto[0], 1, AMGW_SRTP_AES128_CM_SHA1_80);
  gen_crypto (&s->local_crypto[1], 2, AMGW_SRTP_AEAD_AES_128_GCM);

  s->family = AF_INET;
  if (config->sip_public_ip) {
    g_autoptr (GInetAddress) pub = g_inet_address_new_from_string (config->sip_public_ip);
    if (pub == NULL) {
      g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
          "[sip] public-ip %s is not an IP address", config->sip_public_ip);
      session_unref (s);
      return NULL;
    }
    s->family = g_inet_address_get_family (pub) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
    /* A loopback public-ip (tests, single-host set-ups) binds there. */
    if (g_inet_address_get_is_loopback (pub))
      bind_addr = g_object_ref (pub);
    s->local_ip = g_strdup (config->sip_public_ip);
  }
  if (bind_addr == NULL)
    bind_addr = g_inet_address_new_any (s->family == AF_INET6 ? G_SOCKET_FAMILY_IPV6
        : G_SOCKET_FAMILY_IPV4);
  if (s->local_ip == NULL)
    s->local_ip = guess_local_ip (s->family);

  pmin = config->rtp_port_min ? config->rtp_port_min : 10000;
  pmax = config->rtp_port_max ? config->rtp_port_max : 20000;
  for (guint p = pmin + (pmin & 1); p + 1 <= pmax; p += 2) {
    GSocket *rtp = bind_udp (s->family, bind_addr, (guint16) p);
    GSocket *rtcp;

    if (rtp == NULL)
      continue;
    rtcp = bind_udp (s->family, bind_addr, (guint16) (p + 1));
    if (rtcp == NULL) {
      g_object_unref (rtp);
      continue;
    }
    s->rtp_sock = rtp;
    s->rtcp_sock = rtcp;
    g_mutex_lock (&s->lock);
    s->rtp_fd = g_socket_get_fd (rtp);
    s->rtcp_fd = g_socket_get_fd (rtcp);
    g_mutex_unlock (&s->lock);
    s->local_port = (guint16) p;
    break;
  }
  if (s->rtp_sock == NULL) {
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_SOCKET,
        "no free RTP port pair in %u..%u", pmin, pmax);
    GST_WARNING ("[%s] no free RTP port pair in %u..%u", s->sid, pmin, pmax);
    session_unref (s);
    return NULL;
  }

  /* Watches and timers may be made from any thread; the callbacks run on the
   * media loop. */
  s->rtp_watch = amgw_media_watch_new (s->media_ctx, s->rtp_sock, on_socket_readable, s);
  amgw_media_watch_set_prefetch (s->rtp_watch, PACKET_PATH_BYTES, prefetch_sink);
  s->rtcp_watch = amgw_media_watch_new (s->media_ctx, s->rtcp_sock, on_socket_readable, s);
  s->inactivity_timer = amgw_media_timer_new (s->media_ctx,
      CLAMP (s->inactivity_ms / 4, 50, 1000), on_inactivity_timer, s);
  s->rtcp_timer = amgw_media_timer_new (s->media_ctx, RTCP_INTERVAL_MS, on_rtcp_timer, s);
  s->silence_timer = amgw_media_timer_new (s->media_ctx, SILENCE_TICK_MS, on_silence_tick, s);
  GST_INFO ("[%s] RTP session on %s port %u (%s)", s->sid, s->local_ip, s->local_port,
      s->security == AMGW_RTP_SDES_SRTP ? "RTP/SAVP" : "RTP/AVP");
  return s;
}

/* ------------------------------------------------------------------------ */
/* Remote SDP parsing (control loop; also the fuzz target's path) */

static void
remote_free (Remote *r)
{
  if (r == NULL)
    return;
  g_free (r->address);
  if (r->fmts)
    g_array_unref (r->fmts);
  if (r->cryptos) {
    OPENSSL_cleanse (r->cryptos->data, r->cryptos->len * sizeof (Crypto));
    g_array_unref (r->cryptos);
  }
  g_strfreev (r->kinds);
  g_strfreev (r->protos);
  g_strfreev (r->formats);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Remote, remote_free)

static gboolean
parse_uint (const char *s, guint max, guint *out)
{
  guint64 v;
  char *end;

  if (s == NULL || !g_ascii_isdigit (*s))
    return FALSE;
  v = g_ascii_strtoull (s, &end, 10);
  if (end == s || v > max)
    return FALSE;
  *out = (guint) v;
  return *end == '\0' || *end == ' ' || *end == '/';
}

/* "tag suite inline:key[|lifetime][|mki:len] [session params]".  FALSE for
 * a line amgw cannot use (unknown suite, bad key, MKI: *@mki). */
static gboolean
parse_crypto (const char *value, Crypto *out, gboolean *mki)
{
  g_auto (GStrv) parts = g_strsplit (value, " ", 4);
  g_auto (GStrv) params = NULL;
  g_autofree guchar *key = NULL;
  gsize key_len = 0;
  const char *b64;

  if (g_strv_length (parts) != 3)   /* session parameters: none amgw knows */
    return FALSE;
  if (!parse_uint (parts[0], 999999999, &out->tag) || strchr (parts[0], '/'))
    return FALSE;
  if (strcmp (parts[1], "AES_CM_128_HMAC_SHA1_80") == 0)
    out->profile = AMGW_SRTP_AES128_CM_SHA1_80;
  else if (strcmp (parts[1], "AEAD_AES_128_GCM") == 0 &&
      amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM))
    out->profile = AMGW_SRTP_AEAD_AES_128_GCM;
  else
    return FALSE;
  if (!g_str_has_prefix (parts[2], "inline:") || strchr (parts[2], ';'))
    return FALSE;    /* one key only */
  params = g_strsplit (parts[2] + strlen ("inline:"), "|", 4);
  b64 = params[0];
  if (b64 == NULL || strlen (b64) == 0 || strlen (b64) > 64 ||
      strspn (b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
      strlen (b64))
    return FALSE;
  for (guint i = 1; params[i]; i++) {
    if (strchr (params[i], ':')) {
      *mki = TRUE;
      return FALSE;
    }
  }
  if (g_strv_length (params) > 2)
    return FALSE;
  key = g_base64_decode (b64, &key_len);
  if (key_len != amgw_srtp_key_len (out->profile)) {
    OPENSSL_cleanse (key, key_len);
    return FALSE;
  }
  memcpy (out->key, key, key_len);
  OPENSSL_cleanse (key, key_len);
  return TRUE;
}

static gboolean
sdp_fail (GError **error, gint code, const char *why)
{
  g_set_error (error, AMGW_RTP_SESSION_ERROR, code, "SDP: %s", why);
  return FALSE;
}

static Remote *
parse_remote (const AmgwRtpSession *s, const char *text, GError **error)
{
  g_autoptr (Remote) r = g_new0 (Remote, 1);
  GstSDPMessage *msg = NULL;
  const GstSDPMedia *m = NULL;
  const GstSDPConnection *conn = NULL;
  gsize len;
  guint n_media;

  if (text == NULL || (len = strlen (text)) == 0) {
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "empty");
    return NULL;
  }
  if (len > AMGW_MAX_SDP_BYTES) {
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "larger than the limit");
    return NULL;
  }
  if (!g_str_has_prefix (text, "v=0") || !g_utf8_validate (text, (gssize) len, NULL)) {
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "not an SDP (no v=0 first, or not UTF-8)");
    return NULL;
  }
  for (gsize i = 0; i < len; i++) {
    guchar c = (guchar) text[i];
    if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f ||
        (c == '\r' && text[i + 1] != '\n')) {
      sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "control characters or a bare CR");
      return NULL;
    }
  }
  gst_sdp_message_new (&msg);
  if (gst_sdp_message_parse_buffer ((const guint8 *) text, (guint) len, msg) != GST_SDP_OK) {
    gst_sdp_message_free (msg);
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "GstSDPMessage cannot parse it");
    return NULL;
  }
  n_media = gst_sdp_message_medias_len (msg);
  if (n_media == 0 || n_media > MAX_SDP_MEDIA) {
    gst_sdp_message_free (msg);
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, n_media ? "too many m-lines" : "no m-line");
    return NULL;
  }
  r->n_media = n_media;
  r->kinds = g_new0 (char *, n_media + 1);
  r->protos = g_new0 (char *, n_media + 1);
  r->formats = g_new0 (char *, n_media + 1);
  for (guint i = 0; i < n_media; i++) {
    const GstSDPMedia *mi = gst_sdp_message_get_media (msg, i);
    const char *kind = gst_sdp_media_get_media (mi);
    const char *proto = gst_sdp_media_get_proto (mi);
    const char *fmt = gst_sdp_media_formats_len (mi) ? gst_sdp_media_get_format (mi, 0) : NULL;

    r->kinds[i] = g_strdup (kind && *kind && !strpbrk (kind, " \t") ? kind : "unknown");
    r->protos[i] = g_strdup (proto && *proto && !strpbrk (proto, " \t") ? proto : "RTP/AVP");
    r->formats[i] = g_strdup (fmt && *fmt && !strpbrk (fmt, " \t") ? fmt : "0");
    if (m == NULL && g_strcmp0 (kind, "audio") == 0 && gst_sdp_media_get_port (mi) != 0 &&
        (g_strcmp0 (proto, "RTP/AVP") == 0 || g_strcmp0 (proto, "RTP/SAVP") == 0 ||
         g_strcmp0 (proto, "RTP/AVPF") == 0 || g_strcmp0 (proto, "RTP/SAVPF") == 0)) {
      m = mi;
      r->media_index = i;
    }
  }
  if (m == NULL) {
    gst_sdp_message_free (msg);
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "no audio m-line with RTP/AVP or RTP/SAVP");
    return NULL;
  }
  r->savp = g_str_has_prefix (gst_sdp_media_get_proto (m), "RTP/SAVP");
  r->port = gst_sdp_media_get_port (m);
  if (r->port > 65535) {
    gst_sdp_message_free (msg);
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "bad port");
    return NULL;
  }
  r->rtcp_port = r->port + 1;

  /* c=: media level, else session level; a literal IP address. */
  if (gst_sdp_media_connections_len (m) > 0)
    conn = gst_sdp_media_get_connection (m, 0);
  else
    conn = gst_sdp_message_get_connection (msg);
  if (conn == NULL || conn->address == NULL) {
    gst_sdp_message_free (msg);
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "no c= line");
    return NULL;
  } else {
    g_autofree char *addr = g_strndup (conn->address, strcspn (conn->address, "/"));
    g_autoptr (GInetAddress) ia = g_inet_address_new_from_string (addr);
    int fam;

    if (ia == NULL || g_strcmp0 (conn->nettype, "IN") != 0) {
      gst_sdp_message_free (msg);
      sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "c= is not an IN IP address");
      return NULL;
    }
    fam = g_inet_address_get_family (ia) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
    if (fam != s->family) {
      gst_sdp_message_free (msg);
      sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "c= address family differs from ours");
      return NULL;
    }
    if (!g_inet_address_get_is_any (ia))
      r->address = g_steal_pointer (&addr);
  }

  /* Formats and attributes, counted. */
  r->fmts = g_array_new (FALSE, TRUE, sizeof (Fmt));
  r->cryptos = g_array_new (FALSE, TRUE, sizeof (Crypto));
  r->direction = AMGW_MEDIA_SENDRECV;
  {
    guint n_fmt = gst_sdp_media_formats_len (m);
    guint n_attr = gst_sdp_media_attributes_len (m);
    guint n_crypto = 0;

    if (n_fmt == 0 || n_fmt > MAX_SDP_FORMATS || n_attr > MAX_SDP_ATTRIBUTES) {
      gst_sdp_message_free (msg);
      sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "no formats, or too many formats or attributes");
      return NULL;
    }
    for (guint i = 0; i < n_fmt; i++) {
      Fmt f = { AMGW_CODEC_UNKNOWN, 0, 0, 1 };
      if (!parse_uint (gst_sdp_media_get_format (m, i), 127, &f.pt) ||
          strchr (gst_sdp_media_get_format (m, i), '/')) {
        gst_sdp_message_free (msg);
        sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "a format is not a payload type 0..127");
        return NULL;
      }
      switch (f.pt) {
        case 0: f.id = AMGW_CODEC_PCMU; f.clock_rate = 8000; break;
        case 8: f.id = AMGW_CODEC_PCMA; f.clock_rate = 8000; break;
        case 9: f.id = AMGW_CODEC_G722; f.clock_rate = 8000; break;
        default: break;
      }
      g_array_append_val (r->fmts, f);
    }
    for (guint i = 0; i < n_attr; i++) {
      const GstSDPAttribute *a = gst_sdp_media_get_attribute (m, i);
      const char *key = a->key, *val = a->value ? a->value : "";

      if (key == NULL)
        continue;
      if (strcmp (key, "sendrecv") == 0) r->direction = AMGW_MEDIA_SENDRECV;
      else if (strcmp (key, "sendonly") == 0) r->direction = AMGW_MEDIA_SENDONLY;
      else if (strcmp (key, "recvonly") == 0) r->direction = AMGW_MEDIA_RECVONLY;
      else if (strcmp (key, "inactive") == 0) r->direction = AMGW_MEDIA_INACTIVE;
      else if (strcmp (key, "rtcp-mux") == 0) r->rtcp_mux = TRUE;
      else if (strcmp (key, "rtcp") == 0) {
        guint p;
        if (parse_uint (val, 65535, &p) && p > 0)
          r->rtcp_port = p;
      } else if (strcmp (key, "rtpmap") == 0) {
        guint pt, rate = 0, ch = 1;
        const char *sp = strchr (val, ' ');
        g_auto (GStrv) enc = NULL;
        AmgwCodecId id;

        if (!parse_uint (val, 127, &pt) || sp == NULL)
          continue;    /* malformed: ignored, like an unknown line */
        enc = g_strsplit (sp + 1, "/", 4);
        if (g_strv_length (enc) < 2 || !parse_uint (enc[1], 1000000, &rate) || rate == 0 ||
            (enc[2] && !parse_uint (enc[2], 8, &ch)))
          continue;
        for (guint j = 0; j < r->fmts->len; j++) {
          Fmt *f = &g_array_index (r->fmts, Fmt, j);
          if (f->pt != pt)
            continue;
          f->id = amgw_codec_from_name (enc[0], &id) ? id : AMGW_CODEC_UNKNOWN;
          f->clock_rate = rate;
          f->channels = ch ? ch : 1;
          /* A known codec at another rate is not that codec. */
          if ((f->id == AMGW_CODEC_OPUS && (rate != 48000 || f->channels != 2)) ||
              ((f->id == AMGW_CODEC_PCMU || f->id == AMGW_CODEC_PCMA ||
                f->id == AMGW_CODEC_G722) && (rate != 8000 || f->channels != 1)))
            f->id = AMGW_CODEC_UNKNOWN;
        }
      } else if (strcmp (key, "crypto") == 0 && n_crypto++ < MAX_SDP_CRYPTO) {
        Crypto c;
        if (parse_crypto (val, &c, &r->crypto_mki))
          g_array_append_val (r->cryptos, c);
        OPENSSL_cleanse (&c, sizeof c);
      }
    }
  }
  /* Session-level direction applies when the m-line says none. */
  if (gst_sdp_media_get_attribute_val (m, "sendrecv") == NULL &&
      gst_sdp_media_get_attribute_val (m, "sendonly") == NULL &&
      gst_sdp_media_get_attribute_val (m, "recvonly") == NULL &&
      gst_sdp_media_get_attribute_val (m, "inactive") == NULL) {
    if (gst_sdp_message_get_attribute_val (msg, "sendonly"))
      r->direction = AMGW_MEDIA_SENDONLY;
    else if (gst_sdp_message_get_attribute_val (msg, "recvonly"))
      r->direction = AMGW_MEDIA_RECVONLY;
    else if (gst_sdp_message_get_attribute_val (msg, "inactive"))
      r->direction = AMGW_MEDIA_INACTIVE;
  }
  gst_sdp_message_free (msg);

  if (s->security == AMGW_RTP_SDES_SRTP && !r->savp) {
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_CRYPTO, "SRTP is required but the peer offers RTP/AVP");
    return NULL;
  }
  if (s->security == AMGW_RTP_PLAIN && r->savp) {
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_SDP, "RTP/SAVP on a plain RTP session");
    return NULL;
  }
  if (s->security == AMGW_RTP_SDES_SRTP && r->cryptos->len == 0) {
    sdp_fail (error, AMGW_RTP_SESSION_ERROR_CRYPTO, r->crypto_mki
        ? "a=crypto with an MKI is not supported" : "no usable a=crypto");
    return NULL;
  }
  return g_steal_pointer (&r);
}

/* ------------------------------------------------------------------------ */
/* Applying a negotiation (control loop) */

static gboolean
is_sending (AmgwMediaDirection d)
{
  return d == AMGW_MEDIA_SENDRECV || d == AMGW_MEDIA_SENDONLY;
}

static gboolean
is_receiving (AmgwMediaDirection d)
{
  return d == AMGW_MEDIA_SENDRECV || d == AMGW_MEDIA_RECVONLY;
}

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

static gboolean
start_audio_if_ready (AmgwRtpSession *s, GError **error)
{
  AmgwAudioFormat fmt = { 0, };
  AmgwAudio *audio;
  gboolean sending;

  g_mutex_lock (&s->lock);
  if (!s->want_audio_check || !s->negotiated || s->audio) {
    g_mutex_unlock (&s->lock);
    return TRUE;
  }
  fmt.codec = audio_codec (s->codec.id);
  fmt.pt = s->codec.pt;
  fmt.clock_rate = s->codec.clock_rate;
  sending = s->sending;
  g_mutex_unlock (&s->lock);

  audio = amgw_audio_new (&fmt, &fmt, on_audio_send, s, error);
  if (audio == NULL)
    return FALSE;
  amgw_audio_set_sending (audio, sending);
  amgw_audio_play_tone (audio, s->tone_hz, s->tone_ms);
  g_mutex_lock (&s->lock);
  s->audio = audio;
  g_mutex_unlock (&s->lock);
  GST_INFO ("[%s] audio check: %.0f Hz for %u ms, then echo", s->sid, s->tone_hz, s->tone_ms);
  return TRUE;
}

static void
set_sockaddr (struct sockaddr_storage *ss, socklen_t *len, const char *ip, guint port)
{
  g_autoptr (GInetAddress) ia = ip ? g_inet_address_new_from_string (ip) : NULL;
  g_autoptr (GSocketAddress) sa = NULL;

  *len = 0;
  if (ia == NULL || port == 0)
    return;
  sa = g_inet_socket_address_new (ia, (guint16) port);
  if (g_socket_address_to_native (sa, ss, sizeof *ss, NULL))
    *len = (socklen_t) g_socket_address_get_native_size (sa);
}

/* Takes the negotiated state into the shared part.  @tx, @rx: keys (SDES). */
static gboolean
commit (AmgwRtpSession *s, const Remote *r, const Fmt *codec, gint te_pt, gboolean mux,
    AmgwMediaDirection local, const Crypto *tx, const Crypto *rx, GError **error)
{
  AmgwSrtp *srtp = NULL;
  AmgwSrtp *old = NULL;
  gboolean sending, peer_sends, resume;

  if (s->security == AMGW_RTP_SDES_SRTP) {
    gsize kl = amgw_srtp_key_len (tx->profile);
    g_mutex_lock (&s->lock);
    gboolean same = s->srtp && s->profile == tx->profile && memcmp (s->tx_key, tx->key, kl) == 0 &&
        memcmp (s->rx_key, rx->key, kl) == 0;
    g_mutex_unlock (&s->lock);
    if (!same) {
      g_autoptr (GError) e = NULL;
      srtp = amgw_srtp_new (tx->profile, tx->key, rx->key, &e);
      if (srtp == NULL) {
        g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_CRYPTO,
            "SRTP set-up failed: %s", e->message);
        return FALSE;
      }
    }
  }
  sending = is_sending (local) && is_receiving (r->direction) && r->address != NULL;
  peer_sends = is_receiving (local) && is_sending (r->direction);

  g_mutex_lock (&s->lock);
  if (srtp) {
    old = s->srtp;
    s->srtp = srtp;
    s->profile = tx->profile;
    memcpy (s->tx_key, tx->key, amgw_srtp_key_len (tx->profile));
    memcpy (s->rx_key, rx->key, amgw_srtp_key_len (tx->profile));
  }
  if (!s->negotiated || s->codec.id != codec->id || s->codec.pt != codec->pt || s->te_pt != te_pt)
    g_atomic_int_inc (&s->generation);
  s->codec = *codec;
  s->te_pt = te_pt;
  s->rtcp_mux = mux;
  s->remote_direction = r->direction;
  resume = peer_sends && !s->peer_sends;
  s->sending = sending;
  s->peer_sends = peer_sends;
  if (!s->negotiated || resume) {
    s->inactivity_since_us = g_get_monotonic_time ();
    s->inactive_reported = FALSE;
  }
  s->negotiated = TRUE;
  /* Where the SDP says, until the peer's packets show where it really is;
   * an SDP that moves the media starts that anew. */
  {
    struct sockaddr_storage sig;
    socklen_t sig_len;

    set_sockaddr (&sig, &sig_len, r->address, r->port);
    if (sig_len != s->signalled_rtp_len || memcmp (&sig, &s->signalled_rtp, sig_len) != 0) {
      if (s->rtp_peer.latched || s->rtcp_peer.latched)
        GST_INFO ("[%s] the SDP moved the peer's media: latching anew", s->sid);
      s->rtp_peer.latched = s->rtcp_peer.latched = FALSE;
      s->signalled_rtp = sig;
      s->signalled_rtp_len = sig_len;
    }
  }
  if (!s->rtp_peer.latched || r->address == NULL)
    set_sockaddr (&s->rtp_peer.addr, &s->rtp_peer.len, r->address, r->port);
  if (!s->rtcp_peer.latched || r->address == NULL)
    set_sockaddr (&s->rtcp_peer.addr, &s->rtcp_peer.len, r->address, r->rtcp_port);
  if (s->audio)
    amgw_audio_set_sending (s->audio, sending);
  g_mutex_unlock (&s->lock);
  if (old)
    amgw_srtp_free (old);

  GST_INFO ("[%s] negotiated %s/%u pt %u%s, telephone-event %d, %s, local %s, remote %s%s",
      s->sid, amgw_codec_name (codec->id), codec->clock_rate, codec->pt,
      mux ? ", rtcp-mux" : "", te_pt, s->security == AMGW_RTP_SDES_SRTP
      ? amgw_srtp_profile_to_string (tx->profile) : "RTP/AVP", amgw_media_direction_name (local),
      amgw_media_direction_name (r->direction), r->address ? "" : " (no address: hold)");
  return start_audio_if_ready (s, error);
}

/* ------------------------------------------------------------------------ */
/* SDP building (control loop) */

static const char *
direction_attr (AmgwMediaDirection d)
{
  switch (d) {
    case AMGW_MEDIA_SENDONLY: return "sendonly";
    case AMGW_MEDIA_RECVONLY: return "recvonly";
    case AMGW_MEDIA_INACTIVE: return "inactive";
    default: return "sendrecv";
  }
}

static void
add_crypto (GstSDPMedia *media, const Crypto *c)
{
  gsize kl = amgw_srtp_key_len (c->profile);
  g_autofree char *b64 = g_base64_encode (c->key, kl);
  g_autofree char *val = g_strdup_printf ("%u %s inline:%s", c->tag,
      amgw_srtp_profile_to_string (c->profile), b64);

  gst_sdp_media_add_attribute (media, "crypto", val);
  OPENSSL_cleanse (b64, strlen (b64));
  OPENSSL_cleanse (val, strlen (val));
}

static void
add_fmt (GstSDPMedia *media, guint pt, const char *name, guint rate, guint channels,
    const char *fmtp)
{
  g_autofree char *pts = g_strdup_printf ("%u", pt);
  g_autofree char *map = channels > 1 ? g_strdup_printf ("%u %s/%u/%u", pt, name, rate, channels)
      : g_strdup_printf ("%u %s/%u", pt, name, rate);

  gst_sdp_media_add_format (media, pts);
  gst_sdp_media_add_attribute (media, "rtpmap", map);
  if (fmtp) {
    g_autofree char *f = g_strdup_printf ("%u %s", pt, fmtp);
    gst_sdp_media_add_attribute (media, "fmtp", f);
  }
}

/* The whole SDP; @media is our audio m-line (consumed).  @answer_to: put it
 * at the offer's index and reject the other m-lines. */
static char *
build_sdp (AmgwRtpSession *s, GstSDPMedia *media, const Remote *answer_to)
{
  GstSDPMessage *msg;
  g_autofree char *sess = g_strdup_printf ("%" G_GUINT64_FORMAT, s->sdp_session);
  g_autofree char *ver = g_strdup_printf ("%u", ++s->sdp_version);
  const char *ip4 = s->family == AF_INET6 ? "IP6" : "IP4";
  char *text;

  gst_sdp_message_new (&msg);
  gst_sdp_message_set_version (msg, "0");
  gst_sdp_message_set_origin (msg, "-", sess, ver, "IN", ip4, s->local_ip);
  gst_sdp_message_set_session_name (msg, "amgw");
  gst_sdp_message_set_connection (msg, "IN", ip4, s->local_ip, 0, 0);
  gst_sdp_message_add_time (msg, "0", "0", NULL);
  if (answer_to == NULL) {
    gst_sdp_message_add_media (msg, media);
  } else {
    for (guint i = 0; i < answer_to->n_media; i++) {
      if (i == answer_to->media_index) {
        gst_sdp_message_add_media (msg, media);
      } else {
        GstSDPMedia *rej;
        gst_sdp_media_new (&rej);
        gst_sdp_media_set_media (rej, answer_to->kinds[i]);
        gst_sdp_media_set_port_info (rej, 0, 1);
        gst_sdp_media_set_proto (rej, answer_to->protos[i]);
        gst_sdp_media_add_format (rej, answer_to->formats[i]);
        gst_sdp_message_add_media (msg, rej);
        gst_sdp_media_free (rej);
      }
    }
  }
  gst_sdp_media_free (media);
  text = gst_sdp_message_as_text (msg);
  gst_sdp_message_free (msg);
  return text;
}

static GstSDPMedia *
new_media (AmgwRtpSession *s, AmgwMediaDirection direction)
{
  GstSDPMedia *media;
  g_autofree char *rtcp = g_strdup_printf ("%u", s->local_port + 1);

  gst_sdp_media_new (&media);
  gst_sdp_media_set_media (media, "audio");
  gst_sdp_media_set_port_info (media, s->local_port, 1);
  gst_sdp_media_set_proto (media, s->security == AMGW_RTP_SDES_SRTP ? "RTP/SAVP" : "RTP/AVP");
  gst_sdp_media_add_attribute (media, "rtcp", rtcp);
  gst_sdp_media_add_attribute (media, direction_attr (direction), NULL);
  return media;
}

/* [sip] codecs as codec ids, the preferred one first; how many (1..4). */
static guint
config_prefs (AmgwRtpSession *s, AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX])
{
  return amgw_codec_prefs (s->config ? s->config->sip_codecs : NULL,
      s->have_preferred ? (gint) s->preferred : -1, prefs);
}

void
amgw_rtp_session_set_preferred_codec (AmgwRtpSession *s, const char *encoding)
{
  s->have_preferred = encoding != NULL && amgw_codec_from_name (encoding, &s->preferred) &&
      s->preferred != AMGW_CODEC_TELEPHONE_EVENT && s->preferred != AMGW_CODEC_UNKNOWN;
}

char *
amgw_rtp_session_create_offer (AmgwRtpSession *s, AmgwMediaDirection direction, GError **error)
{
  GstSDPMedia *media;

  g_return_val_if_fail (s != NULL && !s->closed, NULL);
  (void) error;
  s->local_direction = direction;
  media = new_media (s, direction);
  {
    AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX];
    guint n = config_prefs (s, prefs);
    for (guint i = 0; i < n; i++) {
      switch (prefs[i]) {
        case AMGW_CODEC_OPUS:
          add_fmt (media, 111, "opus", 48000, 2, "minptime=10;useinbandfec=1");
          break;
        case AMGW_CODEC_G722:
          add_fmt (media, 9, "G722", 8000, 1, NULL);
          break;
        case AMGW_CODEC_PCMU:
          add_fmt (media, 0, "PCMU", 8000, 1, NULL);
          break;
        default:
          add_fmt (media, 8, "PCMA", 8000, 1, NULL);
          break;
      }
    }
  }
  add_fmt (media, 126, "telephone-event", 48000, 1, "0-15");
  add_fmt (media, 101, "telephone-event", 8000, 1, "0-15");
  gst_sdp_media_add_attribute (media, "ptime", "20");
  gst_sdp_media_add_attribute (media, "rtcp-mux", NULL);
  if (s->security == AMGW_RTP_SDES_SRTP) {
    add_crypto (media, &s->local_crypto[0]);
    if (amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM))
      add_crypto (media, &s->local_crypto[1]);
  }
  GST_DEBUG ("[%s] offer, %s", s->sid, amgw_media_direction_name (direction));
  return build_sdp (s, media, NULL);
}


static gint
find_te (const Remote *r, guint clock_rate)
{
  for (guint i = 0; i < r->fmts->len; i++) {
    const Fmt *f = &g_array_index (r->fmts, Fmt, i);
    if (f->id == AMGW_CODEC_TELEPHONE_EVENT && f->clock_rate == clock_rate)
      return (gint) f->pt;
  }
  return -1;
}

char *
amgw_rtp_session_create_answer (AmgwRtpSession *s, const char *remote_offer,
    AmgwMediaDirection direction, GError **error)
{
  g_autoptr (Remote) r = NULL;
  const Fmt *codec = NULL;
  const Crypto *theirs = NULL;
  Crypto ours = { 0, };
  AmgwMediaDirection local;
  GstSDPMedia *media;
  gint te;
  gboolean ok;
  AmgwCodecId codec_prefs[AMGW_CODEC_PREFS_MAX];
  guint n_prefs;

  g_return_val_if_fail (s != NULL && !s->closed, NULL);
  r = parse_remote (s, remote_offer, error);
  if (r == NULL)
    goto bad_sdp;
  n_prefs = config_prefs (s, codec_prefs);
  for (guint p = 0; p < n_prefs && codec == NULL; p++) {
    for (guint i = 0; i < r->fmts->len; i++) {
      if (g_array_index (r->fmts, Fmt, i).id == codec_prefs[p]) {
        codec = &g_array_index (r->fmts, Fmt, i);
        break;
      }
    }
  }
  if (codec == NULL) {
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_NO_CODEC,
        "SDP: no common codec (amgw has opus, G722, PCMU, PCMA)");
    goto bad_sdp;
  }
  if (s->security == AMGW_RTP_SDES_SRTP) {
    theirs = &g_array_index (r->cryptos, Crypto, 0);   /* the first usable, in their order */
    ours = s->local_crypto[theirs->profile == AMGW_SRTP_AEAD_AES_128_GCM ? 1 : 0];
    ours.tag = theirs->tag;
  }
  te = find_te (r, codec->clock_rate);
  local = amgw_sdp_answer_direction (r->direction, direction);
  s->local_direction = direction;
  ok = commit (s, r, codec, te, r->rtcp_mux, local, &ours, theirs, error);
  if (!ok) {
    OPENSSL_cleanse (&ours, sizeof ours);
    goto failed;
  }

  media = new_media (s, local);
  add_fmt (media, codec->pt, amgw_codec_name (codec->id), codec->clock_rate, codec->channels,
      codec->id == AMGW_CODEC_OPUS ? "minptime=10;useinbandfec=1" : NULL);
  if (te >= 0)
    add_fmt (media, (guint) te, "telephone-event", codec->clock_rate, 1, "0-15");
  gst_sdp_media_add_attribute (media, "ptime", "20");
  if (r->rtcp_mux)
    gst_sdp_media_add_attribute (media, "rtcp-mux", NULL);
  if (s->security == AMGW_RTP_SDES_SRTP)
    add_crypto (media, &ours);
  OPENSSL_cleanse (&ours, sizeof ours);
  return build_sdp (s, media, r);

  /* ERRORS */
bad_sdp:
  GST_WARNING ("[%s] unusable remote offer: %s", s->sid, (*error)->message);
  return NULL;
failed:
  GST_WARNING ("[%s] cannot answer: %s", s->sid, (*error)->message);
  return NULL;
}

gboolean
amgw_rtp_session_apply_answer (AmgwRtpSession *s, const char *remote_answer, GError **error)
{
  g_autoptr (Remote) r = NULL;
  const Fmt *codec = NULL;
  const Crypto *theirs = NULL, *ours = NULL;
  gint te;

  g_return_val_if_fail (s != NULL && !s->closed, FALSE);
  r = parse_remote (s, remote_answer, error);
  if (r == NULL)
    goto bad_sdp;
  /* The answerer's choice: its first format among those we offered. */
  for (guint i = 0; i < r->fmts->len && codec == NULL; i++) {
    const Fmt *f = &g_array_index (r->fmts, Fmt, i);
    AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX];
    guint n = config_prefs (s, prefs);
    for (guint p = 0; p < n; p++)
      if (f->id == prefs[p])
        codec = f;
  }
  if (codec == NULL) {
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_NO_CODEC,
        "SDP: the answer has none of the offered codecs");
    goto bad_sdp;
  }
  if (s->security == AMGW_RTP_SDES_SRTP) {
    for (guint i = 0; i < r->cryptos->len && ours == NULL; i++) {
      const Crypto *c = &g_array_index (r->cryptos, Crypto, i);
      for (guint k = 0; k < G_N_ELEMENTS (s->local_crypto); k++)
        if (s->local_crypto[k].tag == c->tag && s->local_crypto[k].profile == c->profile) {
          theirs = c;
          ours = &s->local_crypto[k];
        }
    }
    if (ours == NULL) {
      g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_CRYPTO,
          "SDP: the answer's a=crypto matches no offered tag and suite");
      goto bad_sdp;
    }
  }
  te = find_te (r, codec->clock_rate);
  if (!commit (s, r, codec, te, r->rtcp_mux,
          amgw_sdp_answer_direction (r->direction, s->local_direction), ours, theirs, error))
    goto bad_sdp;
  return TRUE;

  /* ERRORS */
bad_sdp:
  GST_WARNING ("[%s] unusable remote answer: %s", s->sid, (*error)->message);
  return FALSE;
}

AmgwMediaDirection
amgw_rtp_session_get_remote_direction (AmgwRtpSession *s)
{
  AmgwMediaDirection d;

  g_mutex_lock (&s->lock);
  d = s->remote_direction;
  g_mutex_unlock (&s->lock);
  return d;
}

/* ------------------------------------------------------------------------ */
/* DTMF and the audio check (control loop) */

gboolean
amgw_rtp_session_send_dtmf (AmgwRtpSession *s, const char *digits, AmgwDtmfMode mode,
    guint pause_ms, GError **error)
{
  gsize n;

  g_return_val_if_fail (s != NULL && !s->closed && digits != NULL, FALSE);
  if (mode != AMGW_DTMF_RFC4733 && mode != AMGW_DTMF_INBAND) {
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "SIP INFO DTMF is the SIP leg's, not the RTP session's");
    return FALSE;
  }
  n = strlen (digits);
  if (n == 0 || n > MAX_DTMF_DIGITS || strspn (digits, "0123456789*#ABCDabcd,") != n) {
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "DTMF digits must be 1..%d of 0-9 * # A-D and ','", MAX_DTMF_DIGITS);
    return FALSE;
  }
  g_mutex_lock (&s->lock);
  if (!s->negotiated) {
    g_mutex_unlock (&s->lock);
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "DTMF before the media was negotiated");
    return FALSE;
  }
  if (mode == AMGW_DTMF_INBAND && s->codec.id != AMGW_CODEC_PCMU &&
      s->codec.id != AMGW_CODEC_PCMA) {
    g_mutex_unlock (&s->lock);
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "in-band DTMF needs G.711 (PCMU or PCMA) toward the bridge; use rfc4733 or info");
    return FALSE;
  }
  if (mode == AMGW_DTMF_RFC4733 && s->te_pt < 0) {
    g_mutex_unlock (&s->lock);
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "no telephone-event was negotiated");
    return FALSE;
  }
  if (s->dtmf_digits) {
    g_mutex_unlock (&s->lock);
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "a DTMF sequence is already playing");
    return FALSE;
  }
  s->dtmf_digits = g_strdup (digits);
  s->dtmf_inband = mode == AMGW_DTMF_INBAND;
  s->dtmf_index = 0;
  s->dtmf_tick = 0;
  s->dtmf_wait_ticks = 0;
  s->dtmf_pause_ms = pause_ms ? pause_ms : 500;
  if (s->dtmf_timer == NULL && !s->torn_down)
    s->dtmf_timer = amgw_media_timer_new (s->media_ctx, DTMF_TICK_MS, on_dtmf_tick, s);
  g_mutex_unlock (&s->lock);
  /* The digits may be a PIN: their count only. */
  GST_INFO ("[%s] sending %" G_GSIZE_FORMAT " DTMF characters as %s", s->sid, n,
      mode == AMGW_DTMF_INBAND ? "in-band tones" : "RFC 4733 events");
  return TRUE;
}

gboolean
amgw_rtp_session_start_audio_check (AmgwRtpSession *s, double tone_hz, guint tone_ms,
    GError **error)
{
  g_return_val_if_fail (s != NULL && !s->closed, FALSE);
  if (s->want_audio_check) {
    g_set_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED,
        "the audio check already runs");
    return FALSE;
  }
  s->want_audio_check = TRUE;
  s->tone_hz = tone_hz;
  s->tone_ms = tone_ms;
  if (!start_audio_if_ready (s, error)) {
    s->want_audio_check = FALSE;
    return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* describe, free */

static char *
addr_string (const struct sockaddr_storage *ss, socklen_t len)
{
  g_autoptr (GSocketAddress) sa = NULL;
  g_autofree char *ip = NULL;

  if (len == 0)
    return NULL;
  sa = g_socket_address_new_from_native ((gpointer) ss, len);
  if (sa == NULL || !G_IS_INET_SOCKET_ADDRESS (sa))
    return NULL;
  ip = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (sa)));
  return g_strdup_printf (strchr (ip, ':') ? "[%s]:%u" : "%s:%u", ip,
      g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (sa)));
}

void
amgw_rtp_session_describe (AmgwRtpSession *s, cJSON *obj)
{
  cJSON *media = cJSON_AddObjectToObject (obj, "media");
  cJSON *rtp = cJSON_AddObjectToObject (media, "rtp");
  g_autofree char *local = g_strdup_printf (strchr (s->local_ip, ':') ? "[%s]:%u" : "%s:%u",
      s->local_ip, s->local_port);
  g_autofree char *remote = NULL;
  g_autofree char *security = NULL;
  AmgwAudio *audio;
  guint auth = 0, replays = 0;

  g_mutex_lock (&s->lock);
  remote = addr_string (&s->rtp_peer.addr, s->rtp_peer.len);
  if (s->security == AMGW_RTP_SDES_SRTP)
    security = g_strdup_printf ("RTP/SAVP %s", s->srtp ? amgw_srtp_profile_to_string (s->profile)
        : "(not negotiated)");
  else
    security = g_strdup ("RTP/AVP");
  if (s->srtp)
    amgw_srtp_get_drops (s->srtp, &auth, &replays);
  cJSON_AddStringToObject (media, "security", security);
  if (s->negotiated) {
    cJSON_AddStringToObject (media, "codec", amgw_codec_name (s->codec.id));
    cJSON_AddNumberToObject (media, "payload_type", s->codec.pt);
    cJSON_AddNumberToObject (media, "clock_rate", s->codec.clock_rate);
  } else {
    cJSON_AddNullToObject (media, "codec");
  }
  cJSON_AddNumberToObject (media, "telephone_event_pt", s->te_pt);
  cJSON_AddStringToObject (media, "local", local);
  if (remote)
    cJSON_AddStringToObject (media, "remote", remote);
  else
    cJSON_AddNullToObject (media, "remote");
  cJSON_AddBoolToObject (media, "rtcp_mux", s->rtcp_mux);
  cJSON_AddStringToObject (media, "local_direction",
      amgw_media_direction_name (s->local_direction));
  cJSON_AddStringToObject (media, "remote_direction",
      amgw_media_direction_name (s->remote_direction));
  cJSON_AddNumberToObject (rtp, "packets_in", (double) s->rtp_in);
  cJSON_AddNumberToObject (rtp, "bytes_in", (double) s->bytes_in);
  cJSON_AddNumberToObject (rtp, "packets_out", (double) s->rtp_out);
  cJSON_AddNumberToObject (rtp, "bytes_out", (double) s->bytes_out);
  cJSON_AddNumberToObject (rtp, "rtcp_in", (double) s->rtcp_in);
  cJSON_AddNumberToObject (rtp, "rtcp_out", (double) s->rtcp_out);
  cJSON_AddNumberToObject (rtp, "dropped_in", (double) s->invalid_in);
  cJSON_AddNumberToObject (rtp, "foreign_in", (double) s->foreign_in);
  cJSON_AddNumberToObject (rtp, "jitter_ms",
      amgw_rtp_recv_stats_jitter_ms (&s->recv, s->codec.clock_rate));
  cJSON_AddNumberToObject (rtp, "lost", (double) amgw_rtp_recv_stats_lost (&s->recv));
  cJSON_AddNumberToObject (rtp, "srtp_auth_failures", auth);
  cJSON_AddNumberToObject (rtp, "srtp_replays", replays);
  if (s->last_in_us)
    cJSON_AddNumberToObject (rtp, "last_packet_in_s",
        (g_get_monotonic_time () - s->last_in_us) / (double) G_USEC_PER_SEC);
  else
    cJSON_AddNullToObject (rtp, "last_packet_in_s");
  cJSON_AddNumberToObject (media, "dtmf_sent", s->dtmf_sent);
  cJSON_AddStringToObject (media, "dtmf_received", s->dtmf_received->str);
  audio = s->audio;
  g_mutex_unlock (&s->lock);

  if (s->want_audio_check) {
    /* Freed only on the media loop after amgw_rtp_session_free(). */
    cJSON *check = cJSON_AddObjectToObject (media, "audio_check");
    AmgwAudioStats st = { 0, };

    if (audio)
      amgw_audio_get_stats (audio, &st);
    cJSON_AddNumberToObject (check, "tone_hz", s->tone_hz);
    cJSON_AddBoolToObject (check, "echoing", st.echoing);
    cJSON_AddNumberToObject (check, "heard_hz", st.frequency_hz);
    cJSON_AddNumberToObject (check, "heard_level_dbov", st.level_dbov);
    cJSON_AddNumberToObject (check, "packets_in", (double) st.packets_in);
    cJSON_AddNumberToObject (check, "packets_out", (double) st.packets_out);
    cJSON_AddBoolToObject (check, "failed", st.failed);
  }
}

static gboolean
teardown_on_media (gpointer data)
{
  AmgwRtpSession *s = data;
  AmgwAudio *audio;
  AmgwSrtp *srtp;

  amgw_media_watch_clear (&s->rtp_watch);
  amgw_media_watch_clear (&s->rtcp_watch);
  amgw_media_timer_clear (&s->inactivity_timer);
  amgw_media_timer_clear (&s->rtcp_timer);
  g_mutex_lock (&s->lock);
  s->torn_down = TRUE;
  amgw_media_timer_clear (&s->dtmf_timer);
  amgw_media_timer_clear (&s->silence_timer);
  audio = g_steal_pointer (&s->audio);
  g_mutex_unlock (&s->lock);
  /* The pipeline first (it joins its threads, which take @lock to send). */
  amgw_audio_free (audio);
  g_mutex_lock (&s->lock);
  srtp = g_steal_pointer (&s->srtp);
  s->rtp_fd = s->rtcp_fd = -1;   /* the numbers may be another's once closed */
  g_mutex_unlock (&s->lock);
  amgw_srtp_free (srtp);
  if (s->rtp_sock)
    g_socket_close (s->rtp_sock, NULL);
  if (s->rtcp_sock)
    g_socket_close (s->rtcp_sock, NULL);
  GST_DEBUG ("[%s] RTP session closed", s->sid);
  session_unref (s);
  return G_SOURCE_REMOVE;
}

void
amgw_rtp_session_free (AmgwRtpSession *s)
{
  if (s == NULL)
    return;
  GST_INFO ("[%s] closing the RTP session", s->sid);
  s->closed = TRUE;
  run_on (s->media_ctx, teardown_on_media, session_ref (s));
  session_unref (s);
}
