/* amgw — media between the two legs of a call, one direction per AmgwRelay.
 *
 * Passthrough (same codec, same RTP clock): amgw_relay_push_rtp() checks the
 * header, copies the packet to the stack, rewrites the payload type (the
 * marker bit kept) and calls @send on the pushing thread: no allocation, no
 * pipeline, no thread.
 *
 * Transcoding: the relay's own jitter stage, then one pipeline that runs
 * on the pushing thread (the media loop that received the packet):
 *
 *   jitter stage -> [pad] depayloader ! decoder [! spanplc] [! audioconvert
 *     ! audioresample] ! capsfilter (the narrower codec's rate, mono)
 *     ! encoder ! payloader ! appsink sync=false -> @send
 *
 * (no converter or resampler after Opus, which decodes to the rate asked
 * for, nor after G.711 at 8 kHz; Opus is amgw's amgwopusdec and amgwopusenc,
 * opus-codec.c)
 *
 * built from the head and tail that audio.c uses too (pipe-common.c).  No
 * element of it has a thread: amgw_relay_push_rtp() pushes into the
 * depayloader and, in the same call, the payloader's packets reach @send.
 * A relay costs its codecs and nothing else; a thread per direction woke for
 * every packet before (appsrc, rtpjitterbuffer's output task and its timer:
 * six threads a call), and those wake-ups cost more than Opus itself.
 *
 * The jitter stage is what rtpjitterbuffer did here, on the pushing thread:
 * packets in sequence go on at once; a packet ahead of a gap waits, up to
 * @latency_ms after it arrived, for the missing ones; a missing packet not
 * there by then is declared lost (a GstRTPPacketLost event, which the
 * depayloader turns into a gap event: spanplc (G.711, G.722) or amgwopusdec
 * (plc) conceal it, so the encoder keeps getting 20 ms of audio per
 * 20 ms and the payloader's timestamps stay contiguous); a packet behind
 * what went on is late and dropped.  Losses are found when later packets
 * arrive (every 20 ms while media flow), so no timer is needed.  Buffer
 * timestamps come from the RTP timestamps (not arrival times): contiguous,
 * whatever the network's jitter.  A jump of more than JITTER_SLOTS packets, or
 * a new source, restarts the stage.
 *
 * No inband FEC decoding: see pipe-common.c.  Opus out is tuned for
 * speech: voice mode, 32 kbit/s, inband FEC at 5 % expected loss, and a
 * reduced complexity (RELAY_OPUS_COMPLEXITY, measured below).
 *
 * Bus messages go through a sync handler (logged, errors noted in the
 * stats), so no main loop is needed.
 */
#include "amgw/relay.h"

#include <string.h>

#include <gst/gst.h>
#include <gst/rtp/gstrtpbuffer.h>

#include "pipe-common.h"

#define GST_CAT_DEFAULT amgw_pipe_debug

#define RELAY_OPUS_BITRATE 32000
/* The Opus encoder's complexity (0-10, its default 10).  Measured on one core of a
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
/* Packets the jitter stage can hold, by sequence number (a power of two):
 * 500 ms (AMGW_RELAY_MAX_LATENCY_MS) of 10-ms packets fit. */
#define JITTER_SLOTS 64
/* Sequence numbers this far behind the next one are a restarted stream, not
 * late packets. */
#define JITTER_MAX_MISORDER 100

typedef struct {
  GstBuffer *buf;                /* NULL: not here */
  guint32 ts;
  gint64 arrival_us;
} JitterSlot;

/* Transcoding: the jitter stage (see the file comment).  Under the relay's
 * chain lock. */
typedef struct {
  gboolean started;
  gboolean discont;              /* the next buffer out starts anew */
  guint32 ssrc;
  guint16 next_seq;              /* the next one to go on */
  guint held;                    /* slots in use */
  guint64 ext_ts;                /* gst_rtp_buffer_ext_timestamp() state */
  guint64 base_ext_ts;           /* RTP time of pts_base */
  GstClockTime pts_base;
  GstClockTime last_pts, last_duration;   /* of what went on last */
  guint64 lost, late;
  JitterSlot slots[JITTER_SLOTS];
} Jitter;

struct _AmgwRelay {
  /* First, what a passthrough packet reads (the owner's @send first). */
  GMutex lock;
  /* Under lock. */
  gboolean closing;
  AmgwRtpInlet inlet;            /* what is pushed: payload type, remote SSRC, counts */
  AmgwRelayStats stats;          /* out, failed (in: the inlet's; lost, late: the jitter buffer's) */
  gboolean passthrough;
  AmgwAudioFormat in, out;
  AmgwPipeOwner owner;           /* "relay N (log_id)"; the bus's lock and flag; @send */

  guint id;
  guint latency_ms;

  /* Transcoding only: the elements (owned by the pipeline), our pad that
   * feeds the depayloader, and the jitter stage, which the chain lock
   * serialises with the pipeline's stop. */
  GstElement *pipeline, *sink;
  GstPad *src;
  GMutex chain_lock;
  Jitter *jitter;                /* (owned) transcoding only */
  gboolean stopped;              /* under chain_lock */
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
  GstElement *depay, *decoded, *convert, *enc;
  GstPad *depay_sink;
  GstPadLinkReturn linked;
  guint rate;
  gboolean direct;

  /* The narrower side's rate: no audio is made up, and Opus decodes (or
   * encodes) at 8 kHz for G.711 without a resampler. */
  rate = MIN (amgw_codec_info (r->in.codec)->codec_rate,
      amgw_codec_info (r->out.codec)->codec_rate);
  /* No converter or resampler when the decoder gives that already: Opus
   * decodes to the rate asked for; G.711 is S16 mono at 8 kHz. */
  direct = r->in.codec == AMGW_AUDIO_OPUS || ((r->in.codec == AMGW_AUDIO_PCMU ||
          r->in.codec == AMGW_AUDIO_PCMA) && rate == 8000);
  r->pipeline = amgw_pipe_new_pipeline (name, &r->owner);
  if (!amgw_pipe_add_depay_decoder (r->pipeline, &r->in, TRUE, "relay pipeline", &depay,
          &decoded, error) ||
      !amgw_pipe_add_rtp_encoder (r->pipeline, &r->out, rate, direct, "relay pipeline",
          &convert, &enc, &r->sink, error))
    return FALSE;

  if (r->out.codec == AMGW_AUDIO_OPUS) {
    gst_util_set_object_arg (G_OBJECT (enc), "audio-type", "voice");
    g_object_set (enc, "bitrate", RELAY_OPUS_BITRATE, "complexity", RELAY_OPUS_COMPLEXITY, NULL);
  }

  /* Packets leave as they are made: no clock sync here, the receiving
   * endpoint de-jitters. */
  g_object_set (r->sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE,
      "max-buffers", 8, "drop", TRUE, "emit-signals", FALSE, NULL);
  amgw_pipe_deliver_from (r->sink, &r->owner);

  if (!gst_element_link (decoded, convert)) {
    g_autofree char *codecs = g_strdup_printf ("%s to %s", amgw_codec_info (r->in.codec)->name,
        amgw_codec_info (r->out.codec)->name);
    return amgw_pipe_link_failed ("relay pipeline", codecs, error);
  }

  r->src = gst_pad_new ("relay-src", GST_PAD_SRC);
  depay_sink = gst_element_get_static_pad (depay, "sink");
  linked = gst_pad_link (r->src, depay_sink);
  gst_object_unref (depay_sink);
  if (linked != GST_PAD_LINK_OK)
    return amgw_pipe_link_failed ("relay pipeline", amgw_codec_info (r->in.codec)->name, error);
  return TRUE;
}

/* The events a stream starts with, pushed once the pipeline runs. */
static gboolean
start_stream (AmgwRelay *r)
{
  g_autofree char *stream_id = g_strdup_printf ("amgw-relay-%u", r->id);
  g_autoptr (GstCaps) caps = amgw_pipe_rtp_caps (&r->in);
  GstSegment segment;

  gst_pad_set_active (r->src, TRUE);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  return gst_pad_push_event (r->src, gst_event_new_stream_start (stream_id)) &&
      gst_pad_push_event (r->src, gst_event_new_caps (caps)) &&
      gst_pad_push_event (r->src, gst_event_new_segment (&segment));
}

/* ---- the jitter stage (chain lock) ----------------------------------------------------- */

static void
jitter_clear (Jitter *j)
{
  for (guint i = 0; i < JITTER_SLOTS; i++)
    gst_clear_buffer (&j->slots[i].buf);
  j->held = 0;
}

/* The next packet (next_seq, here) goes on. */
static void
jitter_push_next (AmgwRelay *r)
{
  Jitter *j = r->jitter;
  JitterSlot *slot = &j->slots[j->next_seq % JITTER_SLOTS];
  GstBuffer *buf = g_steal_pointer (&slot->buf);
  guint64 ext = gst_rtp_buffer_ext_timestamp (&j->ext_ts, slot->ts);
  GstClockTime pts;

  j->held--;
  j->next_seq++;
  if (j->discont) {
    /* Restarted: the new stream's timeline goes on from the old one's. */
    j->base_ext_ts = ext;
    j->pts_base = GST_CLOCK_TIME_IS_VALID (j->last_pts) ? j->last_pts + j->last_duration : 0;
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  }
  if (ext < j->base_ext_ts) {
    /* A timestamp behind the stream's start: keep it just after the last. */
    j->base_ext_ts = ext;
    j->pts_base = j->last_pts + j->last_duration;
  }
  pts = j->pts_base + gst_util_uint64_scale (ext - j->base_ext_ts, GST_SECOND, r->in.clock_rate);
  if (GST_CLOCK_TIME_IS_VALID (j->last_pts) && !j->discont && pts > j->last_pts
      && pts - j->last_pts <= 200 * GST_MSECOND)
    j->last_duration = pts - j->last_pts;
  j->last_pts = pts;
  j->discont = FALSE;
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  gst_pad_push (r->src, buf);   /* down to @send and back */
}

/* next_seq is missing: tell the depayloader, and go on with the one after. */
static void
jitter_declare_lost (AmgwRelay *r, guint16 present_seq)
{
  Jitter *j = r->jitter;
  guint16 missing = (guint16) (present_seq - j->next_seq);
  guint64 ext = j->ext_ts;
  guint64 present_ext = gst_rtp_buffer_ext_timestamp (&ext,
      j->slots[present_seq % JITTER_SLOTS].ts);
  GstClockTime start = j->last_pts + j->last_duration, end, each;

  /* Spread the missing packets over the time up to the one that came. */
  end = present_ext >= j->base_ext_ts ? j->pts_base + gst_util_uint64_scale (present_ext
      - j->base_ext_ts, GST_SECOND, r->in.clock_rate) : start;
  each = end > start ? (end - start) / missing : j->last_duration;
  for (guint i = 0; i < missing; i++) {
    GstStructure *lost = gst_structure_new ("GstRTPPacketLost",
        "seqnum", G_TYPE_UINT, (guint) (guint16) (j->next_seq + i),
        "timestamp", G_TYPE_UINT64, (guint64) (start + i * each),
        "duration", G_TYPE_UINT64, (guint64) each,
        "retry", G_TYPE_UINT, 0, NULL);

    gst_pad_push_event (r->src, gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, lost));
  }
  GST_LOG ("%s: %u packet(s) from seq %u lost (waited %u ms)", r->owner.name, missing,
      j->next_seq, r->latency_ms);
  j->lost += missing;
  j->last_pts = start + (missing - 1) * each;
  j->last_duration = each;
  j->next_seq = present_seq;
}

/* Sends on what can go: packets in sequence, and past gaps that waited
 * long enough. */
static void
jitter_drain (AmgwRelay *r, gint64 now)
{
  Jitter *j = r->jitter;

  while (j->held > 0) {
    guint16 ahead;

    if (j->slots[j->next_seq % JITTER_SLOTS].buf != NULL) {
      jitter_push_next (r);
      continue;
    }
    /* A gap: the first packet after it waits up to the latency. */
    for (ahead = 1; ahead < JITTER_SLOTS; ahead++)
      if (j->slots[(guint16) (j->next_seq + ahead) % JITTER_SLOTS].buf != NULL)
        break;
    g_assert (ahead < JITTER_SLOTS);
    if (now - j->slots[(guint16) (j->next_seq + ahead) % JITTER_SLOTS].arrival_us
        < (gint64) r->latency_ms * 1000)
      return;
    jitter_declare_lost (r, (guint16) (j->next_seq + ahead));
  }
}

/* Everything held goes on in order, the gaps left as they are (a restart). */
static void
jitter_flush (AmgwRelay *r)
{
  Jitter *j = r->jitter;

  while (j->held > 0) {
    while (j->slots[j->next_seq % JITTER_SLOTS].buf == NULL)
      j->next_seq++;
    jitter_push_next (r);
  }
}

static void
jitter_push (AmgwRelay *r, const guint8 *rtp, gsize len)
{
  Jitter *j = r->jitter;
  guint16 seq = GST_READ_UINT16_BE (rtp + 2);
  guint32 ssrc = GST_READ_UINT32_BE (rtp + 8);
  gint64 now = g_get_monotonic_time ();
  gint16 delta;
  JitterSlot *slot;

  if (!j->started || ssrc != j->ssrc) {
    if (j->started)
      GST_DEBUG ("%s: source %08x follows %08x: a new start", r->owner.name, ssrc, j->ssrc);
    jitter_flush (r);
    j->started = TRUE;
    j->discont = TRUE;
    j->ssrc = ssrc;
    j->next_seq = seq;
    j->ext_ts = GST_CLOCK_TIME_NONE;   /* ext_timestamp() starts anew */
  }
  delta = (gint16) (seq - j->next_seq);
  if (delta < 0 && delta > -JITTER_MAX_MISORDER) {
    j->late++;   /* behind what went on already, or a duplicate of it */
    GST_LOG ("%s: seq %u late (%d behind), dropped", r->owner.name, seq, -delta);
    return;
  }
  if (delta < 0 || delta >= JITTER_SLOTS) {
    /* A jump: the sender restarted its numbering. */
    GST_DEBUG ("%s: sequence jumps from %u to %u: a new start", r->owner.name, j->next_seq, seq);
    jitter_flush (r);
    j->discont = TRUE;
    j->next_seq = seq;
  }
  slot = &j->slots[seq % JITTER_SLOTS];
  if (slot->buf != NULL)
    return;   /* a duplicate of one held */
  slot->buf = gst_buffer_new_memdup (rtp, len);
  slot->ts = GST_READ_UINT32_BE (rtp + 4);
  slot->arrival_us = now;
  j->held++;
  jitter_drain (r, now);
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
  g_mutex_init (&r->chain_lock);
  if (!r->passthrough) {
    r->jitter = g_new0 (Jitter, 1);
    r->jitter->last_pts = GST_CLOCK_TIME_NONE;
    r->jitter->last_duration = AMGW_PIPE_FRAME_DURATION;
  }
  amgw_pipe_owner_init (&r->owner, &r->lock, &r->stats.failed, admit_out_locked, r, send,
      user_data, "relay %u (%s)", r->id, log_id != NULL ? log_id : "-");

  if (!r->passthrough) {
    if (!build_pipeline (r, error))
      return NULL;
    if (gst_element_set_state (r->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE ||
        !start_stream (r))
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
  g_mutex_lock (&r->chain_lock);
  if (!r->stopped)
    jitter_push (r, rtp, len);
  g_mutex_unlock (&r->chain_lock);
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
  g_return_if_fail (r != NULL && out != NULL);

  g_mutex_lock (&r->lock);
  *out = r->stats;
  out->packets_in = r->inlet.packets;
  out->bytes_in = r->inlet.bytes;
  out->packets_invalid = r->inlet.invalid;
  g_mutex_unlock (&r->lock);
  /* The jitter stage's counters (after the packet being pushed, if any). */
  g_mutex_lock (&r->chain_lock);
  if (r->jitter != NULL) {
    out->packets_lost = r->jitter->lost;
    out->packets_late = r->jitter->late;
  }
  g_mutex_unlock (&r->chain_lock);
}

void
amgw_relay_free (AmgwRelay *r)
{
  AmgwRelayStats s;

  if (r == NULL)
    return;

  amgw_relay_get_stats (r, &s);
  g_mutex_lock (&r->lock);
  r->closing = TRUE;
  g_mutex_unlock (&r->lock);

  g_mutex_lock (&r->chain_lock);
  r->stopped = TRUE;
  if (r->jitter != NULL)
    jitter_clear (r->jitter);
  g_mutex_unlock (&r->chain_lock);
  if (r->src != NULL) {
    gst_pad_set_active (r->src, FALSE);
    gst_clear_object (&r->src);
  }
  amgw_pipe_stop (&r->pipeline);
  r->sink = NULL;
  GST_INFO ("%s: stopped after %" G_GUINT64_FORMAT " packets in (%" G_GUINT64_FORMAT
      " invalid, %" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT " late), %" G_GUINT64_FORMAT
      " out", r->owner.name, s.packets_in, s.packets_invalid, s.packets_lost, s.packets_late,
      s.packets_out);
  g_mutex_clear (&r->chain_lock);
  g_mutex_clear (&r->lock);
  g_free (r->jitter);
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
