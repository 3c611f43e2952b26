/* amgw — what the pipelines of this folder share (audio.c, relay.c):
 * the codec table, format checks, element and pipeline helpers, the RTP
 * decoding head and encoding tail, what may enter a receiving pipeline (the
 * inlet: RTP checks, SSRC latching, counts) and how packets leave a sending
 * one.  Internal: not installed, not part of include/amgw.
 *
 * Errors are AMGW_AUDIO_ERROR; log lines go to the "amgw-pipe" category and
 * start with the owner's name ("audio 3", "relay 7 (call-id)").
 */
#pragma once

#include <gst/gst.h>

#include "amgw/audio.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (amgw_pipe_debug);

#define AMGW_PIPE_FRAME_MS 20
#define AMGW_PIPE_FRAME_DURATION (AMGW_PIPE_FRAME_MS * GST_MSECOND)
/* What a live RTP appsrc holds before it drops its oldest packets. */
#define AMGW_PIPE_RTP_QUEUE_MAX_BYTES 65536
/* Consecutive packets of another SSRC before it is adopted. */
#define AMGW_PIPE_SSRC_SWITCH_PACKETS 5
/* The gaps spanplc is given to conceal (see pipe-common.c): shorter ones are
 * left as holes, longer ones concealed this long only. */
#define AMGW_PIPE_CONCEAL_MIN (5 * GST_MSECOND)
#define AMGW_PIPE_CONCEAL_MAX (200 * GST_MSECOND)
/* The Opus encoder codes inband FEC only when it expects loss. */
#define AMGW_PIPE_OPUS_EXPECTED_LOSS_PERCENT 5

typedef struct {
  const char *name;          /* encoding-name */
  guint clock_rate;          /* RTP clock */
  guint codec_rate;          /* what the encoder is fed, what the decoder gives */
  gint static_pt;            /* -1: dynamic only */
  gboolean ptime_fixed;      /* an audio payloader that aggregates by ptime */
  const char *encoder, *payloader, *depayloader, *decoder;
  const char *concealer;     /* PLC after the decoder; NULL: the decoder conceals */
} AmgwCodecInfo;

/* Initialises GStreamer (once) and the debug category. */
gboolean amgw_pipe_init (GError **error);

/* amgwopusenc and amgwopusdec (opus-codec.c); amgw_pipe_init() calls it. */
gboolean amgw_pipe_register_opus (void);

/* @codec must be valid (amgw_pipe_check_format() said so). */
const AmgwCodecInfo *amgw_codec_info (AmgwAudioCodec codec);

/* Checks @fmt against what the RTP elements accept and fills in the default
 * clock rate; @what names it in the error ("sending", "relay input"). */
gboolean amgw_pipe_check_format (AmgwAudioFormat *fmt, const char *what, GError **error);

/* A new element of @factory added to @bin, or NULL and
 * AMGW_AUDIO_ERROR_MISSING_ELEMENT.  (transfer none: the bin owns it) */
GstElement *amgw_pipe_make_element (GstElement *bin, const char *factory, GError **error);

/* Sets AMGW_AUDIO_ERROR_FAILED, "could not link the @what for @codecs";
 * returns FALSE. */
gboolean amgw_pipe_link_failed (const char *what, const char *codecs, GError **error);

/* S16LE mono at @rate.  (transfer full) */
GstCaps *amgw_pipe_pcm_caps (guint rate);

/* Decides, under the owner's lock, whether a packet leaves (it may edit it:
 * marker bit, sequence number), and counts it. */
typedef gboolean (*AmgwPipeAdmitOut) (gpointer data, guint8 *packet, gsize len);

/* Who owns a pipeline.  For its bus: errors and warnings are logged as
 * "@name: element: message", and an error sets *@failed under @lock.  For
 * amgw_pipe_deliver_from(): @admit, @admit_data, @send (nullable) and
 * @user_data.  Lives as long as the pipeline (embed it in the owner). */
typedef struct {
  AmgwAudioSend send;       /* first: a passthrough packet reads these two */
  gpointer user_data;
  GMutex *lock;
  gboolean *failed;
  AmgwPipeAdmitOut admit;
  gpointer admit_data;
  char name[80];
} AmgwPipeOwner;

/* Fills @owner in: its name from @name_format, the rest as given. */
void amgw_pipe_owner_init (AmgwPipeOwner *owner, GMutex *lock, gboolean *failed,
    AmgwPipeAdmitOut admit, gpointer admit_data, AmgwAudioSend send, gpointer user_data,
    const char *name_format, ...) G_GNUC_PRINTF (8, 9);

/* A pipeline named @name whose bus is handled synchronously (logged and
 * dropped: no main loop needed).  (transfer full) */
GstElement *amgw_pipe_new_pipeline (const char *name, AmgwPipeOwner *owner);

/* Sets *@pipeline to NULL state (joining its streaming threads: no callback
 * runs after this), detaches the bus handler and drops it.  NULL-safe. */
void amgw_pipe_stop (GstElement **pipeline);

/* application/x-rtp caps of @fmt (media audio, encoding-name, clock-rate,
 * payload).  (transfer full) */
GstCaps *amgw_pipe_rtp_caps (const AmgwAudioFormat *fmt);

/* Added to @pipeline and linked: depayloader ! decoder [! concealer].  The
 * concealer (spanplc for G.711 and G.722) only when @conceal, and guarded
 * against the gaps that crash it; amgwopusdec conceals by itself (plc=true).
 * Fills @first (the depayloader) and @last (the element to link on from). */
gboolean amgw_pipe_add_depay_decoder (GstElement *pipeline, const AmgwAudioFormat *fmt,
    gboolean conceal, const char *what, GstElement **first, GstElement **last, GError **error);

/* The RTP decoding head, added to @pipeline and linked:
 *   appsrc (live, do-timestamp, leaky, never blocking) ! rtpjitterbuffer
 *   latency=@latency_ms do-lost ! depayloader ! decoder [! concealer]
 * The concealer (spanplc for G.711 and G.722) only when @conceal, and
 * guarded against the gaps that crash it; amgwopusdec conceals by itself
 * (plc=true).  Fills @src, @jitter and @last (the element
 * to link on from).  @what names the pipeline in the error. */
gboolean amgw_pipe_add_rtp_decoder (GstElement *pipeline, const AmgwAudioFormat *fmt,
    guint latency_ms, gboolean conceal, const char *what, GstElement **src,
    GstElement **jitter, GstElement **last, GError **error);

/* The RTP encoding tail, added to @pipeline and linked:
 *   audioconvert ! audioresample ! capsfilter (@rate, else the encoder's rate; mono)
 *   ! encoder ! payloader (pt, ssrc when not 0, mtu, 20 ms ptime) ! appsink
 * without audioconvert and audioresample when @direct: what is linked into
 * it gives S16 mono at @rate, or negotiates it (amgwopusdec decodes to the
 * rate asked for).  Opus: 20 ms frames, inband FEC.  The appsink is left for
 * the caller to configure.  Fills @first (to link into), @enc and @sink. */
gboolean amgw_pipe_add_rtp_encoder (GstElement *pipeline, const AmgwAudioFormat *fmt,
    guint rate, gboolean direct,
    const char *what, GstElement **first, GstElement **enc, GstElement **sink,
    GError **error);

/* Sets @appsink's callbacks: each packet the payloader produces is pulled
 * on the streaming thread (any that is not RTP-sized or is over
 * AMGW_AUDIO_MTU is dropped and logged), put to @owner->admit under
 * @owner->lock, then, if admitted, given to @owner->send with no lock held. */
void amgw_pipe_deliver_from (GstElement *appsink, AmgwPipeOwner *owner);

/* The remote SSRC of a receiving stream, as seen so far. */
typedef struct {
  gboolean known;
  guint32 ssrc, candidate;
  guint candidate_count;
} AmgwSsrcLatch;

/* What an owner lets into its receiving pipeline: its stream's packets only,
 * everything pushed counted.  Under the owner's lock. */
typedef struct {
  guint pt;                      /* the payload type expected */
  guint32 ssrc;                  /* the remote SSRC expected; 0: latched */
  AmgwSsrcLatch latch;
  guint64 packets, bytes;        /* everything pushed */
  guint64 invalid;               /* refused */
} AmgwRtpInlet;

/* Expects @fmt's payload type and SSRC. */
void amgw_rtp_inlet_init (AmgwRtpInlet *inlet, const AmgwAudioFormat *fmt);

/* Under the owner's lock: counts a pushed packet and says whether it is the
 * stream's.  It is if @open (the owner is not closing), at most
 * AMGW_AUDIO_MAX_RTP_BYTES, RTP (version 2, CSRCs, header extension and
 * padding within the packet: the checks of gst_rtp_buffer_map(), read
 * without allocating), of the payload type, and of the remote SSRC: the
 * expected one, or else the first one seen; another is adopted only once it
 * arrives AMGW_PIPE_SSRC_SWITCH_PACKETS times in a row, so stray packets
 * cannot steal the stream but a real change of source is followed.
 * Refusals are logged (LOG level) as @who's. */
gboolean amgw_rtp_inlet_admit_locked (AmgwRtpInlet *inlet, const guint8 *rtp, gsize len,
    gboolean open, const char *who);

G_END_DECLS
