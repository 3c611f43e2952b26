/* amgw — what the pipelines of this folder share (see pipe-common.h). */
#include "pipe-common.h"

#include <string.h>

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

GST_DEBUG_CATEGORY (amgw_pipe_debug);
#define GST_CAT_DEFAULT amgw_pipe_debug

static const AmgwCodecInfo codec_infos[] = {
  /* amgw's own Opus elements (opus-codec.c: libopus's single-stream API);
   * they take and give 8 to 48 kHz directly; the RTP clock is 48 kHz
   * regardless. */
  [AMGW_AUDIO_OPUS] = { "OPUS", 48000, 16000, -1, FALSE,
                        "amgwopusenc", "rtpopuspay", "rtpopusdepay", "amgwopusdec", NULL },
  /* G.722 samples at 16 kHz but its RTP clock is 8000 (RFC 3551). */
  [AMGW_AUDIO_G722] = { "G722", 8000, 16000, 9, TRUE,
                        "avenc_g722", "rtpg722pay", "rtpg722depay", "avdec_g722", "spanplc" },
  [AMGW_AUDIO_PCMU] = { "PCMU", 8000, 8000, 0, TRUE,
                        "mulawenc", "rtppcmupay", "rtppcmudepay", "mulawdec", "spanplc" },
  [AMGW_AUDIO_PCMA] = { "PCMA", 8000, 8000, 8, TRUE,
                        "alawenc", "rtppcmapay", "rtppcmadepay", "alawdec", "spanplc" },
};

G_DEFINE_QUARK (amgw-audio-error-quark, amgw_audio_error)

gboolean
amgw_pipe_init (GError **error)
{
  static gsize once = 0;

  if (!gst_init_check (NULL, NULL, error))
    return FALSE;
  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_pipe_debug, "amgw-pipe", 0, "amgw GStreamer pipelines");
    if (!amgw_pipe_register_opus ())
      GST_ERROR ("cannot register amgw's Opus elements");
    g_once_init_leave (&once, 1);
  }
  return TRUE;
}

const AmgwCodecInfo *
amgw_codec_info (AmgwAudioCodec codec)
{
  g_return_val_if_fail ((guint) codec < G_N_ELEMENTS (codec_infos), &codec_infos[0]);
  return &codec_infos[codec];
}

gboolean
amgw_pipe_check_format (AmgwAudioFormat *fmt, const char *what, GError **error)
{
  const AmgwCodecInfo *info;

  if ((guint) fmt->codec >= G_N_ELEMENTS (codec_infos))
    goto bad_codec;
  info = &codec_infos[fmt->codec];
  if (fmt->clock_rate == 0)
    fmt->clock_rate = info->clock_rate;
  if (fmt->clock_rate != info->clock_rate)
    goto bad_clock;
  if (!((fmt->pt >= 96 && fmt->pt <= 127) ||
        (info->static_pt >= 0 && fmt->pt == (guint) info->static_pt)))
    goto bad_pt;
  return TRUE;

  /* ERRORS */
bad_codec:
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID,
      "%s: unknown codec %d", what, (int) fmt->codec);
  return FALSE;
bad_clock:
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID,
      "%s: %s needs an RTP clock rate of %u, not %u", what, info->name,
      info->clock_rate, fmt->clock_rate);
  return FALSE;
bad_pt:
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID,
      "%s: payload type %u cannot carry %s", what, fmt->pt, info->name);
  return FALSE;
}

GstElement *
amgw_pipe_make_element (GstElement *bin, const char *factory, GError **error)
{
  GstElement *e = gst_element_factory_make (factory, NULL);

  if (e == NULL) {
    g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_MISSING_ELEMENT,
        "GStreamer element %s is missing (gstreamer1.0-plugins-base/good/bad, gstreamer1.0-libav)",
        factory);
    return NULL;
  }
  gst_bin_add (GST_BIN (bin), e);
  return e;
}

gboolean
amgw_pipe_link_failed (const char *what, const char *codecs, GError **error)
{
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_FAILED,
      "could not link the %s for %s", what, codecs);
  return FALSE;
}

GstCaps *
amgw_pipe_pcm_caps (guint rate)
{
  return gst_caps_new_simple ("audio/x-raw",
      "format", G_TYPE_STRING, "S16LE",
      "layout", G_TYPE_STRING, "interleaved",
      "rate", G_TYPE_INT, (int) rate,
      "channels", G_TYPE_INT, 1, NULL);
}

/* ---- bus ---------------------------------------------------------------- */

/* Runs on whichever thread posts; we only log, note errors, and drop, so the
 * bus never queues messages (there is no main loop watching it). */
static GstBusSyncReply
bus_sync_cb (GstBus *bus, GstMessage *msg, gpointer user_data)
{
  AmgwPipeOwner *owner = user_data;
  GError *err = NULL;
  gchar *dbg = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &err, &dbg);
      GST_ERROR ("%s: %s: %s (%s)", owner->name, GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
          err->message, dbg ? dbg : "");
      g_mutex_lock (owner->lock);
      *owner->failed = TRUE;
      g_mutex_unlock (owner->lock);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &err, &dbg);
      GST_WARNING ("%s: %s: %s (%s)", owner->name, GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)),
          err->message, dbg ? dbg : "");
      break;
    default:
      break;
  }
  g_clear_error (&err);
  g_free (dbg);
  /* Dropping is taking: the handler owns the message then. */
  gst_message_unref (msg);
  return GST_BUS_DROP;
}

void
amgw_pipe_owner_init (AmgwPipeOwner *owner, GMutex *lock, gboolean *failed,
    AmgwPipeAdmitOut admit, gpointer admit_data, AmgwAudioSend send, gpointer user_data,
    const char *name_format, ...)
{
  va_list args;

  *owner = (AmgwPipeOwner) { .lock = lock, .failed = failed, .admit = admit,
                             .admit_data = admit_data, .send = send, .user_data = user_data };
  va_start (args, name_format);
  g_vsnprintf (owner->name, sizeof owner->name, name_format, args);
  va_end (args);
}

GstElement *
amgw_pipe_new_pipeline (const char *name, AmgwPipeOwner *owner)
{
  GstElement *pipeline = gst_pipeline_new (name);
  GstBus *bus = gst_element_get_bus (pipeline);

  gst_bus_set_sync_handler (bus, bus_sync_cb, owner, NULL);
  gst_object_unref (bus);
  return pipeline;
}

void
amgw_pipe_stop (GstElement **pipeline)
{
  GstBus *bus;

  if (*pipeline == NULL)
    return;
  /* Down to NULL joins the streaming threads: no callback runs after this. */
  gst_element_set_state (*pipeline, GST_STATE_NULL);
  bus = gst_element_get_bus (*pipeline);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_clear_object (pipeline);
}

/* ---- the RTP head and tail ------------------------------------------------ */

/* A probe on spanplc's sink pad.  spanplc (1.22) turns a gap event into
 * duration x rate samples of concealment, and spandsp's plc_fillin() writes
 * a quarter pitch period (up to 28 samples) whatever the length it is given:
 * a gap of no duration (the jitter buffer sends those when a sequence number
 * jumps without the timestamp, easy for any peer to do) writes through a
 * NULL pointer, a gap under 28 samples past the end of its buffer, and a gap
 * before caps (no rate yet) the same.  An invalid duration overflows its
 * size computation.  So: such gaps are dropped (left as holes in the
 * timeline, which the encoder and payloader carry as a timestamp jump), and
 * long ones are cut to AMGW_PIPE_CONCEAL_MAX (past it the concealment is
 * silence anyway, and a burst of silence packets helps no receiver). */
static GstPadProbeReturn
guard_concealer_cb (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  GstClockTime ts, duration;
  GstCaps *caps;

  if (GST_EVENT_TYPE (event) != GST_EVENT_GAP)
    return GST_PAD_PROBE_OK;
  gst_event_parse_gap (event, &ts, &duration);
  caps = gst_pad_get_current_caps (pad);
  if (caps != NULL)
    gst_caps_unref (caps);
  if (caps == NULL || !GST_CLOCK_TIME_IS_VALID (ts) || !GST_CLOCK_TIME_IS_VALID (duration) ||
      duration < AMGW_PIPE_CONCEAL_MIN) {
    GST_DEBUG ("%s: gap of %" GST_TIME_FORMAT " at %" GST_TIME_FORMAT " not concealed%s",
        (const char *) user_data, GST_TIME_ARGS (duration), GST_TIME_ARGS (ts),
        caps == NULL ? " (no caps yet)" : "");
    return GST_PAD_PROBE_DROP;
  }
  if (duration > AMGW_PIPE_CONCEAL_MAX) {
    gst_event_unref (event);
    GST_PAD_PROBE_INFO_DATA (info) = gst_event_new_gap (ts, AMGW_PIPE_CONCEAL_MAX);
  }
  return GST_PAD_PROBE_OK;
}

gboolean
amgw_pipe_add_depay_decoder (GstElement *pipeline, const AmgwAudioFormat *fmt, gboolean conceal,
    const char *what, GstElement **first, GstElement **last, GError **error)
{
  const AmgwCodecInfo *info = amgw_codec_info (fmt->codec);
  GstElement *dec, *plc = NULL;

  if (!(*first = amgw_pipe_make_element (pipeline, info->depayloader, error)) ||
      !(dec = amgw_pipe_make_element (pipeline, info->decoder, error)))
    return FALSE;
  if (conceal && info->concealer != NULL) {
    GstPad *plc_sink;

    if (!(plc = amgw_pipe_make_element (pipeline, info->concealer, error)))
      return FALSE;
    plc_sink = gst_element_get_static_pad (plc, "sink");
    gst_pad_add_probe (plc_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, guard_concealer_cb,
        (gpointer) info->name, NULL);
    gst_object_unref (plc_sink);
  }
  /* No decoding of inband FEC: it would add 20 ms (GStreamer's opusdec
   * 1.22, which did it, also kept a corrupt packet as its delayed "last
   * buffer" for good, silencing the stream). */
  if (fmt->codec == AMGW_AUDIO_OPUS)
    g_object_set (dec, "plc", TRUE, NULL);

  if (!gst_element_link (*first, dec) || (plc != NULL && !gst_element_link (dec, plc)))
    return amgw_pipe_link_failed (what, info->name, error);
  *last = plc != NULL ? plc : dec;
  return TRUE;
}

GstCaps *
amgw_pipe_rtp_caps (const AmgwAudioFormat *fmt)
{
  return gst_caps_new_simple ("application/x-rtp",
      "media", G_TYPE_STRING, "audio",
      "encoding-name", G_TYPE_STRING, amgw_codec_info (fmt->codec)->name,
      "clock-rate", G_TYPE_INT, (int) fmt->clock_rate,
      "payload", G_TYPE_INT, (int) fmt->pt, NULL);
}

gboolean
amgw_pipe_add_rtp_decoder (GstElement *pipeline, const AmgwAudioFormat *fmt,
    guint latency_ms, gboolean conceal, const char *what, GstElement **src,
    GstElement **jitter, GstElement **last, GError **error)
{
  GstElement *depay;
  GstCaps *caps;

  if (!(*src = amgw_pipe_make_element (pipeline, "appsrc", error)) ||
      !(*jitter = amgw_pipe_make_element (pipeline, "rtpjitterbuffer", error)) ||
      !amgw_pipe_add_depay_decoder (pipeline, fmt, conceal, what, &depay, last, error))
    return FALSE;

  caps = amgw_pipe_rtp_caps (fmt);
  /* Live, timestamped on arrival, never blocking the pusher: past the ceiling
   * the oldest packets go. */
  g_object_set (*src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", TRUE,
      "do-timestamp", TRUE, "block", FALSE, "emit-signals", FALSE,
      "max-bytes", (guint64) AMGW_PIPE_RTP_QUEUE_MAX_BYTES, NULL);
  gst_util_set_object_arg (G_OBJECT (*src), "leaky-type", "downstream");
  gst_caps_unref (caps);

  /* do-lost: decoders get gap events, and amgwopusdec or spanplc conceal. */
  g_object_set (*jitter, "latency", latency_ms, "do-lost", TRUE, NULL);

  if (!gst_element_link_many (*src, *jitter, depay, NULL))
    return amgw_pipe_link_failed (what, amgw_codec_info (fmt->codec)->name, error);
  return TRUE;
}

gboolean
amgw_pipe_add_rtp_encoder (GstElement *pipeline, const AmgwAudioFormat *fmt, guint rate,
    gboolean direct, const char *what, GstElement **first, GstElement **enc, GstElement **sink,
    GError **error)
{
  const AmgwCodecInfo *info = amgw_codec_info (fmt->codec);
  GstElement *convert = NULL, *resample = NULL, *filter, *pay;
  GstCaps *caps;

  if ((!direct && (!(convert = amgw_pipe_make_element (pipeline, "audioconvert", error)) ||
              !(resample = amgw_pipe_make_element (pipeline, "audioresample", error)))) ||
      !(filter = amgw_pipe_make_element (pipeline, "capsfilter", error)) ||
      !(*enc = amgw_pipe_make_element (pipeline, info->encoder, error)) ||
      !(pay = amgw_pipe_make_element (pipeline, info->payloader, error)) ||
      !(*sink = amgw_pipe_make_element (pipeline, "appsink", error)))
    return FALSE;

  caps = gst_caps_new_simple ("audio/x-raw", "rate", G_TYPE_INT,
      (int) (rate != 0 ? rate : info->codec_rate),
      "channels", G_TYPE_INT, 1, NULL);
  g_object_set (filter, "caps", caps, NULL);
  gst_caps_unref (caps);

  if (fmt->codec == AMGW_AUDIO_OPUS) {
    gst_util_set_object_arg (G_OBJECT (*enc), "frame-size", "20");
    g_object_set (*enc, "inband-fec", TRUE,
        "packet-loss-percentage", AMGW_PIPE_OPUS_EXPECTED_LOSS_PERCENT, NULL);
  }

  g_object_set (pay, "pt", fmt->pt, "mtu", (guint) AMGW_AUDIO_MTU, NULL);
  if (fmt->ssrc != 0)
    g_object_set (pay, "ssrc", (guint) fmt->ssrc, NULL);
  if (info->ptime_fixed)
    g_object_set (pay, "min-ptime", (gint64) AMGW_PIPE_FRAME_DURATION,
        "max-ptime", (gint64) AMGW_PIPE_FRAME_DURATION, NULL);

  *first = direct ? filter : convert;
  if ((!direct && !gst_element_link_many (convert, resample, filter, NULL)) ||
      !gst_element_link_many (filter, *enc, pay, *sink, NULL))
    return amgw_pipe_link_failed (what, info->name, error);
  return TRUE;
}

/* appsink new-sample, on the streaming thread that feeds it. */
static GstFlowReturn
deliver_sample_cb (GstAppSink *sink, gpointer user_data)
{
  AmgwPipeOwner *owner = user_data;
  guint8 packet[AMGW_AUDIO_MTU];
  GstSample *sample;
  GstBuffer *buf;
  gsize len;
  gboolean deliver;

  sample = gst_app_sink_try_pull_sample (sink, 0);
  if (sample == NULL)
    return gst_app_sink_is_eos (sink) ? GST_FLOW_EOS : GST_FLOW_OK;
  buf = gst_sample_get_buffer (sample);
  len = buf ? gst_buffer_get_size (buf) : 0;
  if (len < 12 || len > sizeof packet) {
    GST_WARNING ("%s: payloader produced a %" G_GSIZE_FORMAT "-byte packet, dropped",
        owner->name, len);
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }
  gst_buffer_extract (buf, 0, packet, len);
  gst_sample_unref (sample);

  g_mutex_lock (owner->lock);
  deliver = owner->admit (owner->admit_data, packet, len);
  g_mutex_unlock (owner->lock);

  if (deliver && owner->send != NULL)
    owner->send (packet, len, owner->user_data);
  return GST_FLOW_OK;
}

void
amgw_pipe_deliver_from (GstElement *appsink, AmgwPipeOwner *owner)
{
  GstAppSinkCallbacks callbacks = { .new_sample = deliver_sample_cb };

  gst_app_sink_set_callbacks (GST_APP_SINK (appsink), &callbacks, owner, NULL);
}

/* ---- receiving ------------------------------------------------------------ */

/* The header checks of gst_rtp_buffer_map(), without a GstBuffer. */
static gboolean
parse_rtp (const guint8 *rtp, gsize len, guint *pt, guint32 *ssrc)
{
  gsize header_len;
  guint payload_type;

  if (rtp == NULL || len < 12 || (rtp[0] >> 6) != 2)
    return FALSE;
  payload_type = rtp[1] & 0x7f;
  /* 72-76 would be RTCP's SR, RR, SDES, BYE, APP (RFC 5761). */
  if (payload_type >= 72 && payload_type <= 76)
    return FALSE;
  header_len = 12 + 4 * (gsize) (rtp[0] & 0x0f);
  if (rtp[0] & 0x10) {
    if (len < header_len + 4)
      return FALSE;
    header_len += 4 + 4 * (gsize) GST_READ_UINT16_BE (rtp + header_len + 2);
  }
  if (len < header_len)
    return FALSE;
  if ((rtp[0] & 0x20) && len < header_len + rtp[len - 1])
    return FALSE;
  *pt = payload_type;
  *ssrc = GST_READ_UINT32_BE (rtp + 8);
  return TRUE;
}

static gboolean
accept_ssrc (AmgwRtpInlet *inlet, guint32 ssrc, const char *who)
{
  AmgwSsrcLatch *latch = &inlet->latch;

  if (inlet->ssrc != 0)
    return ssrc == inlet->ssrc;
  if (!latch->known || ssrc == latch->ssrc) {
    latch->known = TRUE;
    latch->ssrc = ssrc;
    latch->candidate_count = 0;
    return TRUE;
  }
  if (ssrc != latch->candidate) {
    latch->candidate = ssrc;
    latch->candidate_count = 0;
  }
  if (++latch->candidate_count < AMGW_PIPE_SSRC_SWITCH_PACKETS)
    return FALSE;
  GST_INFO ("%s: remote SSRC %08x -> %08x", who, latch->ssrc, ssrc);
  latch->ssrc = ssrc;
  latch->candidate_count = 0;
  return TRUE;
}

void
amgw_rtp_inlet_init (AmgwRtpInlet *inlet, const AmgwAudioFormat *fmt)
{
  memset (inlet, 0, sizeof *inlet);
  inlet->pt = fmt->pt;
  inlet->ssrc = fmt->ssrc;
}

gboolean
amgw_rtp_inlet_admit_locked (AmgwRtpInlet *inlet, const guint8 *rtp, gsize len,
    gboolean open, const char *who)
{
  guint pt = G_MAXUINT;
  guint32 ssrc = 0;

  inlet->packets++;
  inlet->bytes += len;
  if (len > AMGW_AUDIO_MAX_RTP_BYTES || !parse_rtp (rtp, len, &pt, &ssrc))
    pt = G_MAXUINT;
  if (open && pt == inlet->pt && accept_ssrc (inlet, ssrc, who))
    return TRUE;
  inlet->invalid++;
  GST_LOG ("%s: dropped a %" G_GSIZE_FORMAT "-byte packet (pt %d, ssrc %08x)", who, len,
      pt == G_MAXUINT ? -1 : (int) pt, ssrc);
  return FALSE;
}
