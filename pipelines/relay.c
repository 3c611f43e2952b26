/* amgw — media between the two legs of a call, one direction per AmgwRelay.
 *
 * Passthrough (same codec, same RTP clock): amgw_relay_push_rtp() checks the
 * header, copies the packet to the stack, rewrites the payload type (the
 * marker bit kept) and calls @send on the pushing thread: no allocation, no
 * pipeline, no thread.
 *
 * Transcoding: one pipeline,
 *
 *   appsrc (RTP, live, do-timestamp, leaky, ~64 KiB) ! rtpjitterbuffer
 *     latency=L do-lost ! depayloader ! decoder [! spanplc] ! audioconvert
 *     ! audioresample ! capsfilter (the narrower codec's rate, mono) ! encoder
 *     ! payloader ! appsink sync=false -> @send
 *
 * built from the head and tail that audio.c uses too (pipe-common.c).  The
 * jitter buffer's lost-packet timer turns gaps into gap events; spanplc
 * (G.711, G.722) or opusdec plc=true fill them, so the encoder keeps getting
 * 20 ms of audio per 20 ms and the payloader's timestamps stay contiguous.
 * Not opusdec's use-inband-fec: see pipe-common.c.  Opus out is tuned for
 * speech: voice mode, 32 kbit/s, inband FEC at 5 % expected loss, and a
 * reduced complexity (RELAY_OPUS_COMPLEXITY, measured below).
 *
 * Threads per transcoding relay: the appsrc task, the jitter buffer's output
 * task and its timer thread.  @send runs on the jitter buffer's output task
 * (the rest of the chain is synchronous).  Bus messages go through a sync
 * handler (logged, errors noted in the stats), so no main loop is needed.
 */
#include "amgw/relay.h"

#include <string.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include "pipe-common.h"

#define GST_CAT_DEFAULT amgw_pipe_debug

#define RELAY_OPUS_BITRATE 32000
/* opusenc's complexity (0-10, its default 10).  Measured on one core of a
 * shared 2-core machine, encoding 16 kHz pink noise at these settings: 10
 * costs ~1.0 % of a core per stream, 8 ~1.0 %, 5 ~0.6 %, 3 ~0.5 %, 1 ~0.3 %.
 * 5 takes 40 % off the encoder; for wideband speech at 32 kbit/s what it
 * gives up is small (not measured here: the tests check pitch and level,
 * not quality).  A whole Opus <-> PCMU pair (test-relay -m perf) costs ~2.5-3 %
 * of a core whatever the complexity: threads waking every 20 ms dominate. */
#define RELAY_OPUS_COMPLEXITY 5
/* A telephone-event packet this many RTP ticks behind the current event's
 * timestamp is a late one of an earlier event, not a new event (about 5 s
 * at the 48 kHz clock some Opus sessions use, 30 s at 8 kHz). */
#define DTMF_LATE_TICKS 240000u

struct _AmgwRelay {
  guint id;
  AmgwPipeOwner owner;           /* "relay N (log_id)"; the bus's lock and flag; @send */
  AmgwAudioFormat in, out;
  guint latency_ms;
  gboolean passthrough;

  /* Transcoding only; owned by the pipeline. */
  GstElement *pipeline, *src, *jitter, *sink;

  GMutex lock;
  /* Under lock. */
  gboolean closing;
  AmgwRtpInlet inlet;            /* what is pushed: payload type, remote SSRC, counts */
  AmgwRelayStats stats;          /* out, failed (in: the inlet's; lost, late: the jitter buffer's) */
};

/* Under the lock: the payloader's packets leave as they are. */
static gboolean
admit_out_locked (gpointer data, guint8 *packet, gsize len)
{
  AmgwRelay *r = data;

  if (r->closing)
    return FALSE;
  r->stats.packets_out++;
  r->stats.bytes_out += len;
  return TRUE;
}

static gboolean
build_pipeline (AmgwRelay *r, GError **error)
{
  g_autofree char *name = g_strdup_printf ("amgw-relay-%u", r->id);
  GstElement *decoded, *convert, *enc;

  r->pipeline = amgw_pipe_new_pipeline (name, &r->owner);
  if (!amgw_pipe_add_rtp_decoder (r->pipeline, &r->in, r->latency_ms, TRUE, "relay pipeline",
          &r->src, &r->jitter, &decoded, error) ||
      !amgw_pipe_add_rtp_encoder (r->pipeline, &r->out,
          /* The narrower side's rate: no audio is made up, and Opus
           * decodes (or encodes) at 8 kHz for G.711 without a resampler. */
          MIN (amgw_codec_info (r->in.codec)->codec_rate, amgw_codec_info (r->out.codec)->codec_rate),
          "relay pipeline", &convert, &enc,
          &r->sink, error))
    return FALSE;

  if (r->out.codec == AMGW_AUDIO_OPUS) {
    gst_util_set_object_arg (G_OBJECT (enc), "audio-type", "voice");
    g_object_set (enc, "bitrate", RELAY_OPUS_BITRATE, "complexity", RELAY_OPUS_COMPLEXITY, NULL);
  }

  /* Packets leave as the jitter buffer releases them: no clock sync here,
   * the receiving endpoint de-jitters again. */
  g_object_set (r->sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE,
      "max-buffers", 8, "drop", TRUE, "emit-signals", FALSE, NULL);
  amgw_pipe_deliver_from (r->sink, &r->owner);

  if (!gst_element_link (decoded, convert)) {
    g_autofree char *codecs = g_strdup_printf ("%s to %s", amgw_codec_info (r->in.codec)->name,
        amgw_codec_info (r->out.codec)->name);
    return amgw_pipe_link_failed ("relay pipeline", codecs, error);
  }
  return TRUE;
}

AmgwRelay *
amgw_relay_new (const AmgwAudioFormat *in, const AmgwAudioFormat *out, guint latency_ms,
    const char *log_id, AmgwAudioSend send, gpointer user_data, GError **error)
{
  static gint next_id = 0;
  AmgwAudioFormat in_fmt, out_fmt;
  g_autoptr (AmgwRelay) r = NULL;

  g_return_val_if_fail (in != NULL && out != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Checked before anything is made. */
  in_fmt = *in;
  out_fmt = *out;
  if (!amgw_pipe_init (error) ||
      !amgw_pipe_check_format (&in_fmt, "relay input", error) ||
      !amgw_pipe_check_format (&out_fmt, "relay output", error))
    return NULL;
  if (latency_ms > AMGW_RELAY_MAX_LATENCY_MS)
    goto bad_latency;

  r = g_new0 (AmgwRelay, 1);
  r->id = (guint) g_atomic_int_add (&next_id, 1);
  r->in = in_fmt;
  r->out = out_fmt;
  r->latency_ms = latency_ms != 0 ? latency_ms : AMGW_RELAY_DEFAULT_LATENCY_MS;
  /* check_format filled in the clock rates: one codec, one clock. */
  r->passthrough = in_fmt.codec == out_fmt.codec && in_fmt.clock_rate == out_fmt.clock_rate;
  r->stats.transcoding = !r->passthrough;
  amgw_rtp_inlet_init (&r->inlet, &r->in);
  g_mutex_init (&r->lock);
  amgw_pipe_owner_init (&r->owner, &r->lock, &r->stats.failed, admit_out_locked, r, send,
      user_data, "relay %u (%s)", r->id, log_id != NULL ? log_id : "-");

  if (!r->passthrough) {
    if (!build_pipeline (r, error))
      return NULL;
    if (gst_element_set_state (r->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
      goto start_failed;
  }

  if (r->passthrough)
    GST_INFO ("%s: %s pt %u -> pt %u, passthrough", r->owner.name,
        amgw_codec_info (r->in.codec)->name, r->in.pt, r->out.pt);
  else
    GST_INFO ("%s: %s pt %u -> %s pt %u ssrc %08x, transcoding (jitter buffer %u ms)",
        r->owner.name, amgw_codec_info (r->in.codec)->name, r->in.pt,
        amgw_codec_info (r->out.codec)->name, r->out.pt, r->out.ssrc, r->latency_ms);
  return g_steal_pointer (&r);

  /* ERRORS */
bad_latency:
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID,
      "relay latency of %u ms is over %u ms", latency_ms, (guint) AMGW_RELAY_MAX_LATENCY_MS);
  return NULL;
start_failed:
  GST_ERROR ("%s: the pipeline would not start", r->owner.name);
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_FAILED,
      "the relay pipeline would not start (%s to %s)", amgw_codec_info (r->in.codec)->name,
      amgw_codec_info (r->out.codec)->name);
  return NULL;
}

void
amgw_relay_push_rtp (AmgwRelay *r, const guint8 *rtp, gsize len)
{
  guint8 packet[AMGW_AUDIO_MAX_RTP_BYTES];
  gboolean valid;

  g_return_if_fail (r != NULL);
  g_return_if_fail (rtp != NULL || len == 0);

  g_mutex_lock (&r->lock);
  valid = amgw_rtp_inlet_admit_locked (&r->inlet, rtp, len, !r->closing, r->owner.name);
  if (valid && r->passthrough) {
    r->stats.packets_out++;
    r->stats.bytes_out += len;
  }
  g_mutex_unlock (&r->lock);

  if (!valid)
    return;
  if (r->passthrough) {
    /* The marker bit stays; the payload type is the other leg's. */
    memcpy (packet, rtp, len);
    packet[1] = (guint8) ((packet[1] & 0x80) | r->out.pt);
    if (r->owner.send != NULL)
      r->owner.send (packet, len, r->owner.user_data);
    return;
  }
  /* Takes the buffer; never blocks (block=false, leaky). */
  gst_app_src_push_buffer (GST_APP_SRC (r->src), gst_buffer_new_memdup (rtp, len));
}

gboolean
amgw_relay_is_passthrough (AmgwRelay *r)
{
  g_return_val_if_fail (r != NULL, FALSE);
  return r->passthrough;
}

void
amgw_relay_get_stats (AmgwRelay *r, AmgwRelayStats *out)
{
  GstStructure *jitter_stats = NULL;
  guint64 n;

  g_return_if_fail (r != NULL && out != NULL);

  g_mutex_lock (&r->lock);
  *out = r->stats;
  out->packets_in = r->inlet.packets;
  out->bytes_in = r->inlet.bytes;
  out->packets_invalid = r->inlet.invalid;
  g_mutex_unlock (&r->lock);

  if (r->jitter == NULL)
    return;
  /* A fresh structure each time, under the jitter buffer's own lock. */
  g_object_get (r->jitter, "stats", &jitter_stats, NULL);
  if (jitter_stats == NULL)
    return;
  if (gst_structure_get_uint64 (jitter_stats, "num-lost", &n))
    out->packets_lost = n;
  if (gst_structure_get_uint64 (jitter_stats, "num-late", &n))
    out->packets_late = n;
  gst_structure_free (jitter_stats);
}

void
amgw_relay_free (AmgwRelay *r)
{
  AmgwRelayStats s;

  if (r == NULL)
    return;

  /* For the last log line, while the jitter buffer is still there. */
  amgw_relay_get_stats (r, &s);
  g_mutex_lock (&r->lock);
  r->closing = TRUE;
  g_mutex_unlock (&r->lock);

  amgw_pipe_stop (&r->pipeline);
  r->src = r->jitter = r->sink = NULL;
  GST_INFO ("%s: stopped after %" G_GUINT64_FORMAT " packets in (%" G_GUINT64_FORMAT
      " invalid, %" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT " late), %" G_GUINT64_FORMAT
      " out", r->owner.name, s.packets_in, s.packets_invalid, s.packets_lost, s.packets_late,
      s.packets_out);
  g_mutex_clear (&r->lock);
  g_free (r);
}

/* ---- RFC 4733 telephone-events ---------------------------------------------- */

char
amgw_dtmf_detector_push (AmgwDtmfDetector *d, guint32 ts, const guint8 *payload, gsize len)
{
  static const char digits[] = "0123456789*#ABCD";
  guint8 event;
  gboolean end;

  g_return_val_if_fail (d != NULL, 0);

  if (payload == NULL || len < AMGW_DTMF_EVENT_BYTES)
    return 0;
  event = payload[0];
  end = (payload[1] & 0x80) != 0;
  if (event > 15)
    return 0;

  if (d->active) {
    /* The same event: a continuation, or a (retransmitted) end packet. */
    if (ts == d->ts && event == d->event) {
      d->ended = d->ended || end;
      return 0;
    }
    /* Behind the current event: a late packet of an earlier one. */
    if (ts != d->ts && d->ts - ts <= DTMF_LATE_TICKS)
      return 0;
  }
  d->active = TRUE;
  d->ts = ts;
  d->event = event;
  d->ended = end;
  return digits[event];
}
