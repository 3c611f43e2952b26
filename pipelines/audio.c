/* amgw — the installer's audio check: tone, echo and analysis over RTP.
 *
 * Two pipelines per AmgwAudio, both working on one internal PCM format,
 * S16LE mono at 16 kHz, 20 ms frames (320 samples):
 *
 *   OUT  appsrc (our frames) ! audioconvert ! audioresample ! capsfilter
 *          ! encoder ! RTP payloader ! appsink sync=true  -> @send
 *   IN   appsrc (RTP, live, leaky) ! rtpjitterbuffer latency=60 ! depayloader
 *          ! decoder ! audioconvert ! audioresample ! S16LE/16k/mono ! appsink
 *          -> analysis, and the echo ring when echoing
 *
 * The tone/echo switch.  OUT always starts from the same appsrc, and that
 * appsrc is pulled: whenever it runs dry (need-data, on OUT's only streaming
 * thread) we build the next 20 ms frame, deciding under the lock what it
 * carries: our sine (phase-continuous, 5 ms ramps at both ends), 20 ms taken
 * from the echo ring (filled by IN's appsink), or silence.  Frames carry
 * timestamps n * 20 ms, and the appsink syncs on the pipeline clock, so
 * packets leave in real time, one per 20 ms, with at most a frame or two
 * generated ahead.  Switching tone -> echo is therefore just a different
 * choice for the next frame: no element is added, removed or relinked, no
 * caps change, no state change, and a timed tone ends on an exact frame
 * boundary.  (input-selector with audiotestsrc would have needed two live
 * branches, their threads and a segment/timestamp story on every switch.)
 *
 * The echo ring holds at most 300 ms; after an underrun it refills to 60 ms
 * before playing again (silence meanwhile), which absorbs the jitter between
 * IN's bursts and OUT's steady pull, and any drift between the two clocks.
 *
 * Analysis runs on IN's streaming thread: every 250 ms, over the last 0.5 s
 * (8000 samples), the RMS level in dBov (20 log10 of the RMS relative to full
 * scale, as GStreamer's level element and RFC 6464 senders do) and, above
 * -70 dBov, the strongest bin of a Hann-windowed real FFT between 100 and
 * 4000 Hz (2 Hz bins), refined by Gaussian interpolation between neighbours.
 *
 * Hold drops packets at OUT's appsink: the pipelines keep running, so the RTP
 * clock keeps advancing; we number packets ourselves so that sequence numbers
 * stay contiguous across a hold, and mark the first one after it.
 *
 * Threads per AmgwAudio: OUT's appsrc task; IN's appsrc task, jitter-buffer
 * output task and jitter-buffer timer thread.  Bus messages are handled by a
 * sync handler (logged, then dropped), so no main loop is needed.
 *
 * The codec table, IN's RTP head and OUT's encoding tail, the checks on
 * pushed packets and the hand-over to @send are shared with relay.c
 * (pipe-common.c).
 */
#include "amgw/audio.h"

#include <math.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/fft/gstfftf32.h>

#include "pipe-common.h"

#define GST_CAT_DEFAULT amgw_pipe_debug

#define PCM_RATE 16000
#define FRAME_MS AMGW_PIPE_FRAME_MS
#define FRAME_SAMPLES (PCM_RATE * FRAME_MS / 1000)
#define FRAME_DURATION AMGW_PIPE_FRAME_DURATION

#define ANALYSIS_SAMPLES (PCM_RATE / 2)   /* 0.5 s window */
#define ANALYSIS_HOP (PCM_RATE / 4)       /* a fresh result every 0.25 s */
#define ANALYSIS_MIN_HZ 100.0
#define ANALYSIS_MAX_HZ 4000.0
#define SILENCE_DBOV (-70.0)
#define FLOOR_DBOV (-127.0)
#define ANALYSIS_STALE_US (G_USEC_PER_SEC)  /* nothing heard for 1 s: silence */

#define ECHO_MAX_SAMPLES (PCM_RATE * 300 / 1000)
#define ECHO_PRIME_SAMPLES (PCM_RATE * 60 / 1000)

#define TONE_AMPLITUDE (0.35 * 32767.0)    /* about -12 dBov RMS */
#define TONE_RAMP_SAMPLES (PCM_RATE * 5 / 1000)
#define TONE_MIN_HZ 20.0
#define TONE_MAX_HZ 7000.0

#define JITTER_LATENCY_MS 60

typedef enum { FRAME_SILENCE, FRAME_TONE, FRAME_ECHO } FrameKind;

struct _AmgwAudio {
  guint id;                      /* "audio N" in the log, pipelines amgw-audio-N-{out,in} */
  AmgwPipeOwner owner;           /* "audio N"; the bus's lock and flag; OUT's @send */
  AmgwAudioFormat send_fmt, recv_fmt;

  GstElement *out_pipeline, *out_src, *out_sink;
  GstElement *in_pipeline, *in_src, *in_sink;

  GMutex lock;
  /* Under lock. */
  gboolean closing;
  gboolean sending;
  gboolean mark_next;            /* marker bit on the next packet sent */
  guint16 out_seq;
  double tone_hz;                /* 0: no tone */
  double tone_phase;
  guint64 tone_pos, tone_len;    /* samples; tone_len 0 = until told otherwise */
  gboolean echoing, echo_primed;
  gint16 *echo_ring;             /* ECHO_MAX_SAMPLES */
  guint echo_read, echo_fill;
  AmgwRtpInlet inlet;            /* IN's packets: payload type, remote SSRC, counts */
  AmgwAudioStats stats;          /* packets out, level, frequency, failed (in: the inlet's) */
  gint64 analysed_at;            /* monotonic us; 0 never */

  /* OUT's streaming thread only. */
  guint64 out_frames;

  /* IN's streaming thread only. */
  GstFFTF32 *fft;
  gfloat *ana_ring;              /* ANALYSIS_SAMPLES */
  guint ana_pos, ana_fill, ana_since;
  gfloat *ana_time;              /* ANALYSIS_SAMPLES */
  GstFFTF32Complex *ana_freq;    /* ANALYSIS_SAMPLES / 2 + 1 */
};

static const char *
codec_name (AmgwAudioCodec codec)
{
  return amgw_codec_info (codec)->name;
}

/* ---- OUT: frame source --------------------------------------------------- */

static void
echo_ring_clear_locked (AmgwAudio *a)
{
  a->echo_read = 0;
  a->echo_fill = 0;
  a->echo_primed = FALSE;
}

/* Appends to the echo ring, dropping the oldest samples past its ceiling. */
static void
echo_ring_write_locked (AmgwAudio *a, const gint16 *samples, guint n)
{
  if (n >= ECHO_MAX_SAMPLES) {
    samples += n - ECHO_MAX_SAMPLES;
    n = ECHO_MAX_SAMPLES;
  }
  if (a->echo_fill + n > ECHO_MAX_SAMPLES) {
    guint drop = a->echo_fill + n - ECHO_MAX_SAMPLES;
    a->echo_read = (a->echo_read + drop) % ECHO_MAX_SAMPLES;
    a->echo_fill -= drop;
  }
  for (guint done = 0; done < n;) {
    guint at = (a->echo_read + a->echo_fill) % ECHO_MAX_SAMPLES;
    guint chunk = MIN (n - done, ECHO_MAX_SAMPLES - at);
    memcpy (a->echo_ring + at, samples + done, chunk * sizeof (gint16));
    a->echo_fill += chunk;
    done += chunk;
  }
}

/* Takes one frame from the echo ring; silence (zeros) while it primes. */
static void
echo_ring_read_frame_locked (AmgwAudio *a, gint16 *frame)
{
  guint n;

  if (!a->echo_primed && a->echo_fill >= ECHO_PRIME_SAMPLES)
    a->echo_primed = TRUE;
  if (!a->echo_primed)
    return;
  n = MIN (a->echo_fill, FRAME_SAMPLES);
  for (guint done = 0; done < n;) {
    guint chunk = MIN (n - done, ECHO_MAX_SAMPLES - a->echo_read);
    memcpy (frame + done, a->echo_ring + a->echo_read, chunk * sizeof (gint16));
    a->echo_read = (a->echo_read + chunk) % ECHO_MAX_SAMPLES;
    a->echo_fill -= chunk;
    done += chunk;
  }
  if (n < FRAME_SAMPLES) {
    GST_LOG ("audio %u: echo underrun (%u samples), refilling", a->id, n);
    a->echo_primed = FALSE;
  }
}

static void
synth_tone (gint16 *frame, double hz, double phase, guint64 pos, guint64 len)
{
  double step = 2.0 * G_PI * hz / PCM_RATE;

  for (guint i = 0; i < FRAME_SAMPLES; i++) {
    double gain = 1.0;
    guint64 at = pos + i;

    /* Short ramps, so starting and stopping do not click. */
    if (at < TONE_RAMP_SAMPLES)
      gain = (double) at / TONE_RAMP_SAMPLES;
    if (len != 0 && len - at < TONE_RAMP_SAMPLES)
      gain = MIN (gain, (double) (len - at) / TONE_RAMP_SAMPLES);
    frame[i] = (gint16) lrint (TONE_AMPLITUDE * gain * sin (phase + step * i));
  }
}

/* appsrc need-data, on OUT's streaming thread: the next 20 ms frame. */
static void
out_need_data_cb (GstAppSrc *src, guint length, gpointer user_data)
{
  AmgwAudio *a = user_data;
  gint16 frame[FRAME_SAMPLES] = { 0 };
  FrameKind kind = FRAME_SILENCE;
  double hz = 0, phase = 0;
  guint64 pos = 0, len = 0;
  GstBuffer *buf;

  g_mutex_lock (&a->lock);
  if (a->tone_hz > 0) {
    kind = FRAME_TONE;
    hz = a->tone_hz;
    phase = a->tone_phase;
    pos = a->tone_pos;
    len = a->tone_len;
    a->tone_pos += FRAME_SAMPLES;
    a->tone_phase = fmod (phase + 2.0 * G_PI * hz * FRAME_SAMPLES / PCM_RATE, 2.0 * G_PI);
    if (a->tone_len != 0 && a->tone_pos >= a->tone_len) {
      GST_INFO ("audio %u: tone of %.0f Hz done, echoing", a->id, hz);
      a->tone_hz = 0;
      a->echoing = TRUE;
      echo_ring_clear_locked (a);
    }
  } else if (a->echoing) {
    kind = FRAME_ECHO;
    echo_ring_read_frame_locked (a, frame);
  }
  g_mutex_unlock (&a->lock);

  if (kind == FRAME_TONE)
    synth_tone (frame, hz, phase, pos, len);

  buf = gst_buffer_new_memdup (frame, sizeof frame);
  GST_BUFFER_PTS (buf) = a->out_frames * FRAME_DURATION;
  GST_BUFFER_DURATION (buf) = FRAME_DURATION;
  GST_BUFFER_OFFSET (buf) = a->out_frames * FRAME_SAMPLES;
  a->out_frames++;
  /* FLUSHING while stopping: nothing to do. */
  gst_app_src_push_buffer (src, buf);
}

/* Under the lock: whether a packet leaves (not on hold), numbered by us. */
static gboolean
out_admit_locked (gpointer data, guint8 *packet, gsize len)
{
  AmgwAudio *a = data;

  if (!a->sending || a->closing)
    return FALSE;
  if (a->mark_next)
    packet[1] |= 0x80;
  a->mark_next = FALSE;
  GST_WRITE_UINT16_BE (packet + 2, a->out_seq);
  a->out_seq++;
  a->stats.packets_out++;
  a->stats.bytes_out += len;
  return TRUE;
}

/* ---- IN: analysis and echo ---------------------------------------------- */

/* Level and dominant frequency over the last ANALYSIS_SAMPLES. */
static void
analyse (AmgwAudio *a)
{
  const double bin_hz = (double) PCM_RATE / ANALYSIS_SAMPLES;
  const guint kmin = (guint) ceil (ANALYSIS_MIN_HZ / bin_hz);
  const guint kmax = (guint) floor (ANALYSIS_MAX_HZ / bin_hz);
  double sum = 0, level, freq = 0;

  for (guint i = 0; i < ANALYSIS_SAMPLES; i++) {
    gfloat s = a->ana_ring[(a->ana_pos + i) % ANALYSIS_SAMPLES];
    a->ana_time[i] = s;
    sum += (double) s * s;
  }
  level = sum > 0 ? 10.0 * log10 (sum / ANALYSIS_SAMPLES / (32768.0 * 32768.0)) : FLOOR_DBOV;
  level = CLAMP (level, FLOOR_DBOV, 0.0);

  if (level > SILENCE_DBOV) {
    guint best = kmin;
    double best_power = -1, p[3];

    gst_fft_f32_window (a->fft, a->ana_time, GST_FFT_WINDOW_HANN);
    gst_fft_f32_fft (a->fft, a->ana_time, a->ana_freq);
    for (guint k = kmin; k <= kmax; k++) {
      double power = (double) a->ana_freq[k].r * a->ana_freq[k].r +
          (double) a->ana_freq[k].i * a->ana_freq[k].i;
      if (power > best_power) {
        best_power = power;
        best = k;
      }
    }
    /* Gaussian interpolation: exact for a Gaussian peak, within a fraction of
     * a bin for Hann's main lobe. */
    for (guint j = 0; j < 3; j++) {
      const GstFFTF32Complex *c = &a->ana_freq[best - 1 + j];
      p[j] = log ((double) c->r * c->r + (double) c->i * c->i + 1e-12);
    }
    freq = best * bin_hz;
    if (p[0] - 2 * p[1] + p[2] < 0)
      freq += bin_hz * 0.5 * (p[0] - p[2]) / (p[0] - 2 * p[1] + p[2]);
  }

  GST_LOG ("audio %u: heard %.1f dBov, %.1f Hz", a->id, level, freq);
  g_mutex_lock (&a->lock);
  a->stats.level_dbov = level;
  a->stats.frequency_hz = freq;
  a->analysed_at = g_get_monotonic_time ();
  g_mutex_unlock (&a->lock);
}

/* appsink new-sample, on IN's streaming thread: decoded S16 mono 16 kHz. */
static GstFlowReturn
in_new_sample_cb (GstAppSink *sink, gpointer user_data)
{
  AmgwAudio *a = user_data;
  GstSample *sample;
  GstBuffer *buf;
  GstMapInfo map;
  const gint16 *samples;
  guint n;

  sample = gst_app_sink_try_pull_sample (sink, 0);
  if (sample == NULL)
    return gst_app_sink_is_eos (sink) ? GST_FLOW_EOS : GST_FLOW_OK;
  buf = gst_sample_get_buffer (sample);
  if (buf == NULL || !gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_sample_unref (sample);
    return GST_FLOW_OK;
  }
  samples = (const gint16 *) map.data;
  n = map.size / sizeof (gint16);

  for (guint i = 0; i < n; i++) {
    a->ana_ring[a->ana_pos] = samples[i];
    a->ana_pos = (a->ana_pos + 1) % ANALYSIS_SAMPLES;
  }
  a->ana_fill = MIN (a->ana_fill + n, ANALYSIS_SAMPLES);
  a->ana_since += n;

  g_mutex_lock (&a->lock);
  if (a->echoing)
    echo_ring_write_locked (a, samples, n);
  g_mutex_unlock (&a->lock);

  gst_buffer_unmap (buf, &map);
  gst_sample_unref (sample);

  if (a->ana_fill == ANALYSIS_SAMPLES && a->ana_since >= ANALYSIS_HOP) {
    a->ana_since = 0;
    analyse (a);
  }
  return GST_FLOW_OK;
}

/* ---- building ------------------------------------------------------------ */

static GstElement *
new_pipeline (AmgwAudio *a, const char *dir)
{
  g_autofree char *name = g_strdup_printf ("amgw-audio-%u-%s", a->id, dir);

  return amgw_pipe_new_pipeline (name, &a->owner);
}

static gboolean
build_out (AmgwAudio *a, GError **error)
{
  GstElement *convert, *enc;
  GstCaps *caps;
  GstAppSrcCallbacks src_cb = { .need_data = out_need_data_cb };

  a->out_pipeline = new_pipeline (a, "out");
  if (!(a->out_src = amgw_pipe_make_element (a->out_pipeline, "appsrc", error)) ||
      !amgw_pipe_add_rtp_encoder (a->out_pipeline, &a->send_fmt, 0, FALSE, "sending pipeline", &convert,
          &enc, &a->out_sink, error))
    return FALSE;

  /* Pulled one frame at a time (need-data), timestamps ours, not live: the
   * clock-synced appsink is what paces it. */
  caps = amgw_pipe_pcm_caps (PCM_RATE);
  g_object_set (a->out_src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", FALSE,
      "stream-type", GST_APP_STREAM_TYPE_STREAM, "emit-signals", FALSE,
      "max-bytes", (guint64) (2 * FRAME_SAMPLES * sizeof (gint16)), NULL);
  gst_caps_unref (caps);
  gst_app_src_set_callbacks (GST_APP_SRC (a->out_src), &src_cb, a, NULL);

  /* Synced on the clock: packets leave in real time, handed to @send on
   * OUT's streaming thread. */
  g_object_set (a->out_sink, "sync", TRUE, "enable-last-sample", FALSE,
      "max-buffers", 4, "drop", TRUE, "emit-signals", FALSE, NULL);
  amgw_pipe_deliver_from (a->out_sink, &a->owner);

  if (!gst_element_link (a->out_src, convert))
    return amgw_pipe_link_failed ("sending pipeline", codec_name (a->send_fmt.codec), error);
  return TRUE;
}

static gboolean
build_in (AmgwAudio *a, GError **error)
{
  GstElement *jitter, *dec, *convert, *resample, *filter;
  GstCaps *caps;
  GstAppSinkCallbacks sink_cb = { .new_sample = in_new_sample_cb };

  a->in_pipeline = new_pipeline (a, "in");
  if (!amgw_pipe_add_rtp_decoder (a->in_pipeline, &a->recv_fmt, JITTER_LATENCY_MS, FALSE,
          "receiving pipeline", &a->in_src, &jitter, &dec, error) ||
      !(convert = amgw_pipe_make_element (a->in_pipeline, "audioconvert", error)) ||
      !(resample = amgw_pipe_make_element (a->in_pipeline, "audioresample", error)) ||
      !(filter = amgw_pipe_make_element (a->in_pipeline, "capsfilter", error)) ||
      !(a->in_sink = amgw_pipe_make_element (a->in_pipeline, "appsink", error)))
    return FALSE;

  caps = amgw_pipe_pcm_caps (PCM_RATE);
  g_object_set (filter, "caps", caps, NULL);
  gst_caps_unref (caps);

  g_object_set (a->in_sink, "sync", FALSE, "async", FALSE, "enable-last-sample", FALSE,
      "max-buffers", 8, "drop", TRUE, "emit-signals", FALSE, NULL);
  gst_app_sink_set_callbacks (GST_APP_SINK (a->in_sink), &sink_cb, a, NULL);

  if (!gst_element_link_many (dec, convert, resample, filter, a->in_sink, NULL))
    return amgw_pipe_link_failed ("receiving pipeline", codec_name (a->recv_fmt.codec), error);
  return TRUE;
}

AmgwAudio *
amgw_audio_new (const AmgwAudioFormat *send_fmt, const AmgwAudioFormat *recv_fmt,
    AmgwAudioSend send, gpointer user_data, GError **error)
{
  static gint next_id = 0;
  g_autoptr (AmgwAudio) a = NULL;

  g_return_val_if_fail (send_fmt != NULL && recv_fmt != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!amgw_pipe_init (error))
    return NULL;

  a = g_new0 (AmgwAudio, 1);
  g_mutex_init (&a->lock);
  a->id = (guint) g_atomic_int_add (&next_id, 1);
  amgw_pipe_owner_init (&a->owner, &a->lock, &a->stats.failed, out_admit_locked, a, send,
      user_data, "audio %u", a->id);
  a->send_fmt = *send_fmt;
  a->recv_fmt = *recv_fmt;
  a->sending = TRUE;
  a->mark_next = TRUE;
  a->out_seq = (guint16) g_random_int ();
  a->echo_ring = g_new0 (gint16, ECHO_MAX_SAMPLES);
  a->stats.level_dbov = FLOOR_DBOV;
  a->fft = gst_fft_f32_new (ANALYSIS_SAMPLES, FALSE);
  a->ana_ring = g_new0 (gfloat, ANALYSIS_SAMPLES);
  a->ana_time = g_new0 (gfloat, ANALYSIS_SAMPLES);
  a->ana_freq = g_new0 (GstFFTF32Complex, ANALYSIS_SAMPLES / 2 + 1);

  /* One format passed for both directions carries our SSRC as the remote's:
   * read it as "any" rather than refuse every packet. */
  if (a->recv_fmt.ssrc != 0 && a->recv_fmt.ssrc == a->send_fmt.ssrc)
    a->recv_fmt.ssrc = 0;
  if (!amgw_pipe_check_format (&a->send_fmt, "sending", error) ||
      !amgw_pipe_check_format (&a->recv_fmt, "receiving", error) ||
      !build_out (a, error) || !build_in (a, error))
    return NULL;
  amgw_rtp_inlet_init (&a->inlet, &a->recv_fmt);

  if (gst_element_set_state (a->in_pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE ||
      gst_element_set_state (a->out_pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    goto start_failed;

  GST_INFO ("audio %u: started, sending %s pt %u ssrc %08x, receiving %s pt %u", a->id,
      codec_name (a->send_fmt.codec), a->send_fmt.pt, a->send_fmt.ssrc,
      codec_name (a->recv_fmt.codec), a->recv_fmt.pt);
  return g_steal_pointer (&a);

  /* ERRORS */
start_failed:
  GST_ERROR ("audio %u: the pipelines would not start", a->id);
  g_set_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_FAILED,
      "the audio pipelines would not start (%s)", codec_name (a->send_fmt.codec));
  return NULL;
}

void
amgw_audio_free (AmgwAudio *a)
{
  if (a == NULL)
    return;

  g_mutex_lock (&a->lock);
  a->closing = TRUE;
  g_mutex_unlock (&a->lock);

  /* IN first: it feeds the echo ring that OUT reads. */
  amgw_pipe_stop (&a->in_pipeline);
  amgw_pipe_stop (&a->out_pipeline);
  GST_INFO ("audio %u: stopped after %" G_GUINT64_FORMAT " packets in, %" G_GUINT64_FORMAT
      " out", a->id, a->inlet.packets, a->stats.packets_out);

  if (a->fft != NULL)
    gst_fft_f32_free (a->fft);
  g_free (a->ana_ring);
  g_free (a->ana_time);
  g_free (a->ana_freq);
  g_free (a->echo_ring);
  g_mutex_clear (&a->lock);
  g_free (a);
}

void
amgw_audio_play_tone (AmgwAudio *a, double hz, guint duration_ms)
{
  g_return_if_fail (a != NULL);
  g_return_if_fail (hz >= TONE_MIN_HZ && hz <= TONE_MAX_HZ);

  g_mutex_lock (&a->lock);
  a->tone_hz = hz;
  a->tone_phase = 0;
  a->tone_pos = 0;
  /* Whole frames, so the switch to echo falls on a frame boundary. */
  a->tone_len = (guint64) ((duration_ms + FRAME_MS - 1) / FRAME_MS) * FRAME_SAMPLES;
  a->echoing = FALSE;
  echo_ring_clear_locked (a);
  g_mutex_unlock (&a->lock);
  GST_INFO ("audio %u: tone %.0f Hz for %u ms", a->id, hz, duration_ms);
}

void
amgw_audio_set_echo (AmgwAudio *a, gboolean echo)
{
  g_return_if_fail (a != NULL);

  g_mutex_lock (&a->lock);
  a->tone_hz = 0;
  a->echoing = echo;
  echo_ring_clear_locked (a);
  g_mutex_unlock (&a->lock);
  GST_INFO ("audio %u: %s", a->id, echo ? "echoing" : "silent");
}

void
amgw_audio_set_sending (AmgwAudio *a, gboolean sending)
{
  g_return_if_fail (a != NULL);

  g_mutex_lock (&a->lock);
  if (sending && !a->sending)
    a->mark_next = TRUE;
  a->sending = sending;
  g_mutex_unlock (&a->lock);
  GST_INFO ("audio %u: %s", a->id, sending ? "sending" : "on hold");
}

void
amgw_audio_push_rtp (AmgwAudio *a, const guint8 *rtp, gsize len)
{
  gboolean valid;

  g_return_if_fail (a != NULL);
  g_return_if_fail (rtp != NULL || len == 0);

  g_mutex_lock (&a->lock);
  valid = amgw_rtp_inlet_admit_locked (&a->inlet, rtp, len, !a->closing, a->owner.name);
  g_mutex_unlock (&a->lock);

  /* Takes the buffer; never blocks (block=false, leaky). */
  if (valid)
    gst_app_src_push_buffer (GST_APP_SRC (a->in_src), gst_buffer_new_memdup (rtp, len));
}

void
amgw_audio_get_stats (AmgwAudio *a, AmgwAudioStats *out)
{
  g_return_if_fail (a != NULL && out != NULL);

  g_mutex_lock (&a->lock);
  *out = a->stats;
  out->packets_in = a->inlet.packets;
  out->bytes_in = a->inlet.bytes;
  out->packets_invalid = a->inlet.invalid;
  out->tone_hz = a->tone_hz;
  out->echoing = a->echoing;
  if (a->analysed_at == 0 || g_get_monotonic_time () - a->analysed_at > ANALYSIS_STALE_US) {
    out->level_dbov = FLOOR_DBOV;
    out->frequency_hz = 0;
  }
  g_mutex_unlock (&a->lock);
}
