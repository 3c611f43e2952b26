/* bench-bridge: figures for bridged calls (Alexa WebRTC leg <-> SIP bridge
 * leg, media both ways), printed, never asserted.  Run it with
 * scripts/bench-bridge (a loopback-only network namespace, as root).
 *
 * What runs:
 *  - the real amgw (AMGW_BINARY) against the in-process fake Alexa cloud
 *    (tests/integration/common.h's Fx), one [room] per concurrent call (a
 *    room holds one meeting at a time);
 *  - the bridge: SIPp as a UAS answering every INVITE with PCMU (the
 *    scenario is written by this program); its SDP points RTP at an echo in
 *    this process (one UDP socket, every packet sent back to its sender),
 *    not SIPp's -rtp_echo: the echo can time-stamp packets on this
 *    process's clock for the latency figure, and it does not wake for each
 *    packet (echo_thread(): a bridge is another machine, whose waking is
 *    not amgw's cost);
 *  - the Alexa devices: amgw's own WebRTC leg in this process (ICE,
 *    DTLS-SRTP), answering amgw's InitiateInboundCall offer, its answer sent
 *    back as CallRinging / CallAccepted.  A device sends pre-encoded packets
 *    (one sender thread, 20 ms apart, calls spread over the 20 ms) through
 *    the leg's send_media and counts what it receives through its media
 *    sink: no codec runs per device, so 100+ devices stay cheap here.  By
 *    default a device is IPv4 and keeps libnice's path, as a browser's plain
 *    socket (BENCH_DEVICE_INTERFACES, BENCH_DEVICE_DIRECT below): on
 *    loopback, delivering to the device runs inside amgw's sendto.  Only
 *    amgw's CPU is measured (/proc/PID/stat); this process's, SIPp's and the
 *    machine's are printed so that contention shows.
 *
 * Figures (one run of amgw per mode):
 *  - transcoded calls: [media] codecs = opus (the device gets Opus only),
 *    [sip] codecs = PCMU; the device sends Opus (a 440 Hz tone, 48 kHz,
 *    32 kbit/s, encoded once); amgw decodes, resamples, encodes PCMU; the
 *    echo sends it back; amgw decodes PCMU, resamples, encodes Opus.
 *    Passthrough calls: PCMU everywhere.
 *  - CPU: amgw's CPU time over SAMPLE_S seconds at N concurrent calls, per
 *    call as (CPU(N) - CPU(probe call only)) / N, i.e. the marginal cost.
 *  - the pure codec cost, in the same run: gst-launch-1.0 running exactly
 *    the codec work of one transcoded call on the same audio, with amgw's
 *    element settings (pipelines/pipe-common.c, relay.c): Opus (as the
 *    device sent it) ! opusdec ! audioconvert ! audioresample ! 8 kHz
 *    ! mulawenc, and the PCMU amgw produced from it ! mulawdec
 *    ! audioconvert ! audioresample ! 16 kHz ! opusenc (voice, 32 kbit/s,
 *    complexity 5, 20 ms, inband FEC at 5 %).  Run as fast as it goes on 60 s
 *    of audio (CPU from wait4's rusage, minus the same file reading and
 *    demuxing alone): CPU seconds per second of audio = the fraction of a
 *    core one call's codecs take.  Also paced (identity sync=true, 10 calls'
 *    chains in one process, 20 s), which adds GStreamer's real-time
 *    scheduling: the ratio is given against both.
 *  - memory: amgw's VmRSS with no call (after a warm-up call loaded the
 *    plugins), at N calls ((RSS(N) - RSS(probe only)) / N), and at no call
 *    after CYCLES set-ups and tear-downs (10 at a time, each until two-way
 *    media, ended by EndMeeting), read at every quarter after a rest of
 *    BENCH_REST_S (SIP keeps finished transactions 32 s), with amgw's open
 *    files.
 *  - latency: a probe call whose device sends silence with a 200 ms tone
 *    burst every 2 s.  The burst's onset is found in the decoded audio at
 *    three points on one clock: sent by the device (its position in the
 *    decoded reference stream), arrived at the echo (PCMU from amgw), and
 *    arrived back at the device (decoded after the phase).  Device -> bridge
 *    and bridge -> device are amgw's two directions (loopback and the echo
 *    add microseconds); an onset's time is its packet's send or arrival
 *    time less the audio that follows it in the packet.  Measured with the
 *    probe alone and at every N.
 *  - set-up: JoinMeeting posted -> the first packet back at the device (media
 *    went device -> amgw -> bridge -> amgw -> device), with the steps on the
 *    way: InitiateInboundCall at the fake cloud, the device's answer, the
 *    events posted, the device's ICE connected and its first SRTP packet out
 *    (from its leg's own view).  Calls are set up one at a time while the
 *    others run.
 *  - relays' counters (GET /v1/calls/{id}) and the packets each device
 *    received per second: the figures count only if media flowed.
 *
 * Environment: AMGW_BINARY (the daemon), BENCH_LEVELS (transcoded call
 * counts, default "10,25,50"), BENCH_PT_LEVELS (passthrough, default
 * "10,50,100,200,400"), BENCH_CYCLES (default 1000), BENCH_SAMPLE_S (default
 * 20), BENCH_MODES ("transcoded,passthrough"), BENCH_ECHO_US (default
 * 1000: the echo wakes at most once per this; 0: at every packet),
 * BENCH_BATCHING_US (amgw's [media] batching; default: amgw's default),
 * BENCH_INTERFACES (amgw's [media] interfaces; default: amgw's default),
 * BENCH_DEVICE_INTERFACES (the devices' own; default 127.0.0.1, so that
 * the calls' WebRTC legs are IPv4 as their SIP legs are; empty: both
 * families, and ICE picks IPv6 on loopback), BENCH_DEVICE_DIRECT (default
 * 0: the devices' datagrams take libnice's path, a plain UDP socket as a
 * browser's; 1: amgw's direct path, whose reuseport steering then runs
 * inside amgw's sendto on loopback, a cost no real device puts there),
 * BENCH_REST_S (default 40: the wait before memory is read after set-ups
 * and tear-downs), BENCH_STEADY_S
 * (default 40: memory per call is read again that long after the last
 * level's sample, once SIP's finished transactions are gone), BENCH_PERF
 * (a folder: a 15-s perf profile of amgw after the last level's sample, then
 * 10 s of `perf trace -s`: its system calls). */
#define _GNU_SOURCE /* recvmmsg, sendmmsg */
#include "../integration/common.h"
#include "../integration/sip-common.h"
#include "proc-stat.h"

#include "amgw/config.h"
#include "amgw/dtls.h"
#include "amgw/leg.h"
#include "amgw/media-loops.h"
#include "amgw/webrtc-leg.h"
#include "../../pipelines/pipe-common.h"

#include <gst/gst.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define N_ROOMS 430
#define FRAME_MS 20
#define SLOTS 20                 /* the sender's ticks per 20 ms (1 ms): calls spread over them */
#define PATTERN_FRAMES 100       /* the probe's 2-s pattern */
#define BURST_FRAME 50           /* ... its tone starts at 1 s */
#define BURST_FRAMES 10          /* ... for 200 ms */
#define TONE_HZ 440.0
#define TONE_AMPLITUDE (0.3 * 32767)
#define ONSET_LEVEL 1500         /* |sample| above this is tone */
#define ONSET_GAP_MS 500         /* this much quiet before an onset */
#define MEDIA_WAIT_MS 15000
#define STREAM_GAP_US 200000   /* the echo: a pause this long starts a new stream */
#define AUDIO_SECONDS 60         /* of the load calls' Opus stream and the codec chain's input */

/* ---- small helpers ------------------------------------------------------ */

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

static guint
fd_count (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/fd", pid);
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir && g_dir_read_name (dir))
    n++;
  return n;
}

/* The machine's busy and total jiffies (all cores). */
static void
machine_jiffies (double *busy, double *total)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) f = NULL;
  double idle = 0, sum = 0;

  *busy = *total = 0;
  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL))
    return;
  *strchr (text, '\n') = '\0';
  f = g_strsplit_set (text, " ", 0);
  for (guint i = 1, k = 0; f[i]; i++) {
    if (*f[i] == '\0')
      continue;
    double v = g_ascii_strtod (f[i], NULL);
    if (k < 8)
      sum += v;
    if (k == 3 || k == 4)
      idle += v;
    k++;
  }
  *busy = sum - idle;
  *total = sum;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

/* "median M (min A, max B, n N)" of @v. */
static char *
summary (GArray *v)
{
  double *d;

  if (v == NULL || v->len == 0)
    return g_strdup ("n/a");
  d = (double *) v->data;
  qsort (d, v->len, sizeof (double), cmp_double);
  return g_strdup_printf ("median %.1f (min %.1f, p90 %.1f, max %.1f, n %u)", d[v->len / 2], d[0],
      d[MIN (v->len - 1, v->len * 9 / 10)], d[v->len - 1], v->len);
}

static guint
env_uint (const char *name, guint def)
{
  const char *v = g_getenv (name);
  return v && *v ? (guint) g_ascii_strtoull (v, NULL, 10) : def;
}

static GArray *
env_levels (const char *name, const char *def)
{
  const char *v = g_getenv (name);
  g_auto (GStrv) parts = g_strsplit (v && *v ? v : def, ",", 0);
  GArray *a = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; parts[i]; i++) {
    guint n = (guint) g_ascii_strtoull (parts[i], NULL, 10);
    if (n > 0 && n < N_ROOMS - 2)
      g_array_append_val (a, n);
  }
  return a;
}

/* ---- G.711 mu-law --------------------------------------------------------- */

static guint8
ulaw_encode (gint16 pcm)
{
  int s = pcm, sign = 0, exp = 7, mant;

  if (s < 0) {
    s = -s;
    sign = 0x80;
  }
  if (s > 32635)
    s = 32635;
  s += 0x84;
  for (int mask = 0x4000; (s & mask) == 0 && exp > 0; exp--, mask >>= 1)
    ;
  mant = (s >> (exp + 3)) & 0x0f;
  return (guint8) ~(sign | (exp << 4) | mant);
}

static gint16
ulaw_decode (guint8 u)
{
  int t;

  u = (guint8) ~u;
  t = ((u & 0x0f) << 3) + 0x84;
  t <<= (u & 0x70) >> 4;
  return (gint16) ((u & 0x80) ? 0x84 - t : t - 0x84);
}

/* ---- onsets ------------------------------------------------------------- */

/* Finds tone onsets in a stream fed packet by packet: an onset is a sample
 * over ONSET_LEVEL after ONSET_GAP_MS of samples under it.  Its time is the
 * packet's time less the samples that follow it in the packet. */
typedef struct {
  guint rate;
  gint64 quiet;                  /* samples since the last loud one */
  GArray *times;                 /* double, ms */
} Onsets;

static void
onsets_init (Onsets *o, guint rate)
{
  o->rate = rate;
  o->quiet = G_MAXINT32;
  o->times = g_array_new (FALSE, FALSE, sizeof (double));
}

static void
onsets_push (Onsets *o, const gint16 *pcm, guint n, double t_ms)
{
  for (guint i = 0; i < n; i++) {
    if (ABS ((int) pcm[i]) > ONSET_LEVEL) {
      if (o->quiet >= (gint64) o->rate * ONSET_GAP_MS / 1000) {
        double t = t_ms - (n - i) * 1000.0 / o->rate;
        g_array_append_val (o->times, t);
      }
      o->quiet = 0;
    } else {
      o->quiet++;
    }
  }
}

/* ---- GStreamer helpers (this process: preparing and decoding audio) -------- */

static gboolean
run_to_eos (const char *description, GError **error)
{
  g_autoptr (GstElement) p = gst_parse_launch (description, error);
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;

  if (p == NULL)
    return FALSE;
  bus = gst_element_get_bus (p);
  gst_element_set_state (p, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 120 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (p, GST_STATE_NULL);
  if (msg == NULL || GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "pipeline failed: %s", description);
    return FALSE;
  }
  return TRUE;
}

/* Every buffer an appsink named "sink" gets until EOS, as GBytes. */
static GPtrArray *
pull_all (GstElement *p)
{
  GstElement *sink = gst_bin_get_by_name (GST_BIN (p), "sink");
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GstSample *s;

  while ((s = gst_app_sink_pull_sample (GST_APP_SINK (sink))) != NULL) {
    GstBuffer *b = gst_sample_get_buffer (s);
    GstMapInfo map;

    if (!GST_BUFFER_FLAG_IS_SET (b, GST_BUFFER_FLAG_HEADER) && gst_buffer_map (b, &map, GST_MAP_READ)) {
      if (!(map.size >= 8 && (memcmp (map.data, "OpusHead", 8) == 0 ||
                              memcmp (map.data, "OpusTags", 8) == 0)))
        g_ptr_array_add (out, g_bytes_new (map.data, map.size));
      gst_buffer_unmap (b, &map);
    }
    gst_sample_unref (s);
  }
  gst_object_unref (sink);
  return out;
}

/* Opus packets (GBytes) -> 48 kHz mono PCM, 960 samples per packet. */
static GArray *
opus_decode (GPtrArray *packets)
{
  g_autoptr (GError) error = NULL;
  GstElement *p = gst_parse_launch ("appsrc name=src format=time "
      "caps=audio/x-opus,channel-mapping-family=0,channels=1,rate=48000 ! opusdec "
      "! audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=sink sync=false", &error);
  GstElement *src;
  g_autoptr (GPtrArray) pcm = NULL;
  GArray *out = g_array_new (FALSE, FALSE, sizeof (gint16));

  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (p), "src");
  gst_element_set_state (p, GST_STATE_PLAYING);
  for (guint i = 0; i < packets->len; i++) {
    gsize len;
    const guint8 *data = g_bytes_get_data (packets->pdata[i], &len);
    GstBuffer *b = gst_buffer_new_memdup (data, len);

    GST_BUFFER_PTS (b) = i * FRAME_MS * GST_MSECOND;
    GST_BUFFER_DURATION (b) = FRAME_MS * GST_MSECOND;
    gst_app_src_push_buffer (GST_APP_SRC (src), b);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  pcm = pull_all (p);
  for (guint i = 0; i < pcm->len; i++) {
    gsize len;
    const gint16 *d = g_bytes_get_data (pcm->pdata[i], &len);
    g_array_append_vals (out, d, len / 2);
  }
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (p);
  return out;
}

/* 20-ms frames of PCM at @rate: the probe's pattern (silence, a burst at
 * BURST_FRAME) or a continuous tone. */
static gint16 *
make_pcm (guint rate, guint frames, gboolean pattern)
{
  guint spf = rate * FRAME_MS / 1000;
  gint16 *pcm = g_new0 (gint16, (gsize) spf * frames);

  for (guint f = 0; f < frames; f++) {
    if (pattern && (f < BURST_FRAME || f >= BURST_FRAME + BURST_FRAMES))
      continue;
    for (guint i = 0; i < spf; i++) {
      guint n = f * spf + i;
      pcm[n] = (gint16) (TONE_AMPLITUDE * sin (2 * G_PI * TONE_HZ * n / rate));
    }
  }
  return pcm;
}

/* Encodes @frames 20-ms frames of 48 kHz PCM to Opus as a device would. */
static GPtrArray *
opus_encode (const gint16 *pcm, guint frames)
{
  g_autoptr (GError) error = NULL;
  GstElement *p = gst_parse_launch ("appsrc name=src format=time "
      "caps=audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved "
      "! opusenc bitrate=32000 frame-size=20 ! appsink name=sink sync=false", &error);
  GstElement *src;
  GPtrArray *out;

  g_assert_no_error (error);
  src = gst_bin_get_by_name (GST_BIN (p), "src");
  gst_element_set_state (p, GST_STATE_PLAYING);
  for (guint f = 0; f < frames; f++) {
    GstBuffer *b = gst_buffer_new_memdup (pcm + f * 960, 960 * 2);
    GST_BUFFER_PTS (b) = f * FRAME_MS * GST_MSECOND;
    GST_BUFFER_DURATION (b) = FRAME_MS * GST_MSECOND;
    gst_app_src_push_buffer (GST_APP_SRC (src), b);
  }
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  out = pull_all (p);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (p);
  return out;
}

/* ---- what devices send ------------------------------------------------------- */

typedef struct {
  GPtrArray *payloads;           /* GBytes, sent in a loop */
  gboolean opus;
  guint onset_frame;             /* probe: the frame holding the reference onset */
  guint onset_offset_ms_x100;    /* ... and how much audio follows it in that frame (1/100 ms) */
} Stream;

static Stream load_opus, load_pcmu, probe_opus, probe_pcmu;

/* The reference onset of a probe stream: where the decoder finds it. */
static void
stream_find_onset (Stream *s, GArray *pcm, guint rate)
{
  guint spf = rate * FRAME_MS / 1000;
  Onsets o;

  /* Decoded twice in a row: the second period's onset is the steady one. */
  onsets_init (&o, rate);
  for (guint i = 0; i + spf <= pcm->len; i += spf)
    onsets_push (&o, &g_array_index (pcm, gint16, i), spf, (i / spf + 1) * (double) FRAME_MS);
  g_assert_cmpuint (o.times->len, >=, 1);
  {
    double t = g_array_index (o.times, double, o.times->len - 1);   /* ms from the start */
    guint frame = (guint) ceil (t / FRAME_MS - 1e-9) - 1;
    double after = (frame + 1) * (double) FRAME_MS - t;

    s->onset_frame = frame % s->payloads->len;
    s->onset_offset_ms_x100 = (guint) lround (after * 100);
    g_print ("  reference onset: frame %u of %u, %.2f ms before its end\n", s->onset_frame,
        s->payloads->len, after);
  }
  g_array_unref (o.times);
}

static void
prepare_streams (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ogg = g_build_filename (dir, "tone.ogg", NULL);
  g_autofree char *wav = g_build_filename (dir, "tone-pcmu.wav", NULL);
  g_autofree char *desc = NULL;
  g_autofree gint16 *pattern48 = make_pcm (48000, PATTERN_FRAMES, TRUE);
  g_autofree gint16 *pattern8 = make_pcm (8000, PATTERN_FRAMES, TRUE);
  g_autofree gint16 *tone8 = make_pcm (8000, 50, FALSE);
  GstElement *p;

  /* Load calls, transcoded: a tone as a device's Opus, in an Ogg file that
   * the codec chain reads too (the same audio). */
  desc = g_strdup_printf ("audiotestsrc num-buffers=%u samplesperbuffer=960 freq=%g volume=0.3 "
      "! audio/x-raw,format=S16LE,rate=48000,channels=1 ! opusenc bitrate=32000 frame-size=20 "
      "! oggmux ! filesink location=%s", AUDIO_SECONDS * 50, TONE_HZ, ogg);
  g_assert_true (run_to_eos (desc, &error));
  g_free (desc);
  desc = g_strdup_printf ("filesrc location=%s ! oggdemux ! appsink name=sink sync=false", ogg);
  p = gst_parse_launch (desc, &error);
  g_assert_no_error (error);
  gst_element_set_state (p, GST_STATE_PLAYING);
  load_opus.payloads = pull_all (p);
  load_opus.opus = TRUE;
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  g_free (desc);
  /* What amgw makes of it toward the bridge (the same elements): the codec
   * chain's input in the other direction. */
  desc = g_strdup_printf ("filesrc location=%s ! oggdemux ! opusdec ! audioconvert ! audioresample "
      "! audio/x-raw,rate=8000,channels=1 ! mulawenc ! wavenc ! filesink location=%s", ogg, wav);
  g_assert_true (run_to_eos (desc, &error));

  /* Load calls, passthrough: the same tone as PCMU, 1 s looped (440 whole periods). */
  load_pcmu.payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint f = 0; f < 50; f++) {
    guint8 pkt[160];
    for (guint i = 0; i < 160; i++)
      pkt[i] = ulaw_encode (tone8[f * 160 + i]);
    g_ptr_array_add (load_pcmu.payloads, g_bytes_new (pkt, sizeof pkt));
  }

  /* The probes: silence and a burst, 2 s looped. */
  probe_pcmu.payloads = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint f = 0; f < PATTERN_FRAMES; f++) {
    guint8 pkt[160];
    for (guint i = 0; i < 160; i++)
      pkt[i] = ulaw_encode (pattern8[f * 160 + i]);
    g_ptr_array_add (probe_pcmu.payloads, g_bytes_new (pkt, sizeof pkt));
  }
  probe_pcmu.onset_frame = BURST_FRAME;
  probe_pcmu.onset_offset_ms_x100 = FRAME_MS * 100;
  probe_opus.opus = TRUE;
  probe_opus.payloads = opus_encode (pattern48, PATTERN_FRAMES);
  {
    g_autoptr (GPtrArray) twice = g_ptr_array_new ();
    g_autoptr (GArray) pcm = NULL;

    for (guint k = 0; k < 2; k++)
      for (guint i = 0; i < probe_opus.payloads->len; i++)
        g_ptr_array_add (twice, probe_opus.payloads->pdata[i]);
    pcm = opus_decode (twice);
    g_print ("probe (Opus): %u packets, decoded to %u samples\n", probe_opus.payloads->len,
        pcm->len);
    stream_find_onset (&probe_opus, pcm, 48000);
  }
  g_print ("load (Opus): %u packets from %s; PCMU for the chain in %s\n", load_opus.payloads->len,
      ogg, wav);
}

/* ---- the bridge's RTP echo ---------------------------------------------------- */

typedef struct {
  int fd, rtcp_fd;
  guint16 port;
  GThread *thread;
  gint stop;
  gint64 round_us;               /* BENCH_ECHO_US: 0, a wake-up per packet */

  GMutex lock;
  GHashTable *first_us;          /* source port -> gint64[2]: a stream's first and latest packet */
  guint64 packets;
  guint16 probe_port;            /* 0: none */
  gboolean probe_is_pcmu;
  Onsets probe_onsets;           /* PCMU from amgw on the probe's stream: when it arrived */
  Onsets probe_onsets_out;       /* ... the same onsets: when the echo sent them back */
} Echo;

static Echo echo;

#define ECHO_BATCH 64

/* One packet's bookkeeping: arrival_us on the monotonic clock (the kernel's
 * receive time stamp), sent_us when it went back. */
static void
echo_account (const guint8 *buf, gsize n, guint16 sport, gint64 arrival_us, gint64 sent_us)
{
  g_mutex_lock (&echo.lock);
  echo.packets++;
  {
    /* [0]: the stream's first packet, [1]: its latest.  amgw reuses
     * ports: a stream that resumes after a pause is a new call's. */
    gint64 *v = g_hash_table_lookup (echo.first_us, GUINT_TO_POINTER (sport));
    if (v == NULL) {
      v = g_new (gint64, 2);
      v[0] = arrival_us;
      g_hash_table_insert (echo.first_us, GUINT_TO_POINTER (sport), v);
    } else if (arrival_us - v[1] > STREAM_GAP_US) {
      v[0] = arrival_us;
    }
    v[1] = arrival_us;
  }
  /* The probe's PCMU (payload type 0; not its telephone-events). */
  if (sport == echo.probe_port && n > 12 && (buf[1] & 0x7f) == 0) {
    gint16 pcm[1500];
    guint off = 12 + 4 * (buf[0] & 0x0f);
    guint len = n > off ? (guint) MIN (n - off, G_N_ELEMENTS (pcm)) : 0;
    for (guint i = 0; i < len; i++)
      pcm[i] = ulaw_decode (buf[off + i]);
    onsets_push (&echo.probe_onsets, pcm, len, arrival_us / 1000.0);
    onsets_push (&echo.probe_onsets_out, pcm, len, sent_us / 1000.0);
  }
  g_mutex_unlock (&echo.lock);
}

/* The bridge's media: every packet back to its sender.  A bridge is another
 * machine, so amgw's sends to it never wake a process on amgw's cores; on
 * loopback a receiver blocked in poll() is woken by each send, and the
 * waking (an inter-processor interrupt in a virtual machine, or amgw
 * preempted by the echo inside its sendto()) was charged to amgw.  So,
 * like amgw's own media loops under load, the echo wakes at most once per
 * BENCH_ECHO_US (default 1000): it drains its socket with recvmmsg(), sends
 * everything back with sendmmsg(), and sleeps out the rest of the interval,
 * during which amgw's sends find no one to wake.  An idle echo blocks in
 * poll() (the first packet wakes it).  Arrival times are the kernel's
 * receive time stamps, so the hold does not count in device -> bridge, and
 * bridge -> device starts when the packet left the echo. */
static gpointer
echo_thread (gpointer data)
{
  static guint8 bufs[ECHO_BATCH][2048];
  static guint8 ctl[ECHO_BATCH][CMSG_SPACE (sizeof (struct timespec))];
  struct sockaddr_in from[ECHO_BATCH];
  struct iovec iov[ECHO_BATCH];
  struct mmsghdr in[ECHO_BATCH], out[ECHO_BATCH];
  struct pollfd fds[2] = { { echo.fd, POLLIN, 0 }, { echo.rtcp_fd, POLLIN, 0 } };
  int on = 1;

  setsockopt (echo.fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  while (!g_atomic_int_get (&echo.stop)) {
    gint64 woke;

    if (poll (fds, 2, 100) <= 0)
      continue;
    woke = g_get_monotonic_time ();
    if (fds[1].revents & POLLIN)
      while (recv (echo.rtcp_fd, bufs[0], sizeof bufs[0], MSG_DONTWAIT) >= 0)
        ;
    for (;;) {
      gint64 offset = g_get_real_time () - g_get_monotonic_time ();
      gint64 sent;
      int n;

      for (guint i = 0; i < ECHO_BATCH; i++) {
        iov[i] = (struct iovec) { bufs[i], sizeof bufs[i] };
        in[i].msg_hdr = (struct msghdr) { .msg_name = &from[i], .msg_namelen = sizeof from[i],
          .msg_iov = &iov[i], .msg_iovlen = 1, .msg_control = ctl[i], .msg_controllen = sizeof ctl[i] };
      }
      n = recvmmsg (echo.fd, in, ECHO_BATCH, MSG_DONTWAIT, NULL);
      if (n <= 0)
        break;
      for (int i = 0; i < n; i++) {
        iov[i].iov_len = in[i].msg_len;
        out[i].msg_hdr = (struct msghdr) { .msg_name = &from[i],
          .msg_namelen = in[i].msg_hdr.msg_namelen, .msg_iov = &iov[i], .msg_iovlen = 1 };
      }
      for (int done = 0; done < n;) {
        int k = sendmmsg (echo.fd, out + done, (unsigned) (n - done), 0);
        if (k <= 0)
          break;
        done += k;
      }
      sent = g_get_monotonic_time ();
      for (int i = 0; i < n; i++) {
        gint64 arrival = sent;
        for (struct cmsghdr *c = CMSG_FIRSTHDR (&in[i].msg_hdr); c != NULL;
             c = CMSG_NXTHDR (&in[i].msg_hdr, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy (&ts, CMSG_DATA (c), sizeof ts);
            arrival = (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000 - offset;
          }
        }
        echo_account (bufs[i], in[i].msg_len, ntohs (from[i].sin_port), arrival, sent);
      }
      if (n < ECHO_BATCH)
        break;
    }
    if (echo.round_us > 0) {
      gint64 rest = woke + echo.round_us - g_get_monotonic_time ();
      if (rest > 0)
        g_usleep ((gulong) rest);
    }
  }
  return NULL;
}

static int
udp_bind (guint16 port)
{
  int fd = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (port) };
  int big = 4 << 20;

  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  setsockopt (fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  if (bind (fd, (struct sockaddr *) &a, sizeof a) != 0)
    g_error ("cannot bind UDP port %u: %s", port, g_strerror (errno));
  return fd;
}

static void
echo_start (void)
{
  g_mutex_init (&echo.lock);
  echo.first_us = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  onsets_init (&echo.probe_onsets, 8000);
  onsets_init (&echo.probe_onsets_out, 8000);
  echo.round_us = g_getenv ("BENCH_ECHO_US") ? g_ascii_strtoll (g_getenv ("BENCH_ECHO_US"), NULL, 10) : 1000;
  for (guint16 p = 31000; p < 31100; p += 2) {
    int a = socket (AF_INET, SOCK_DGRAM, 0), b = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in s1 = { .sin_family = AF_INET, .sin_port = htons (p) };
    struct sockaddr_in s2 = { .sin_family = AF_INET, .sin_port = htons (p + 1) };
    gboolean ok;

    s1.sin_addr.s_addr = s2.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ok = bind (a, (struct sockaddr *) &s1, sizeof s1) == 0 && bind (b, (struct sockaddr *) &s2, sizeof s2) == 0;
    close (a);
    close (b);
    if (ok) {
      echo.port = p;
      break;
    }
  }
  echo.fd = udp_bind (echo.port);
  echo.rtcp_fd = udp_bind (echo.port + 1);
  echo.thread = g_thread_new ("echo", echo_thread, NULL);
}

static void
echo_set_probe (guint16 port)
{
  g_mutex_lock (&echo.lock);
  echo.probe_port = port;
  g_array_set_size (echo.probe_onsets.times, 0);
  echo.probe_onsets.quiet = G_MAXINT32;
  g_array_set_size (echo.probe_onsets_out.times, 0);
  echo.probe_onsets_out.quiet = G_MAXINT32;
  g_mutex_unlock (&echo.lock);
}

static gint64
echo_first_us (guint16 port)
{
  gint64 *v, r = 0;

  g_mutex_lock (&echo.lock);
  v = g_hash_table_lookup (echo.first_us, GUINT_TO_POINTER (port));
  if (v)
    r = *v;
  g_mutex_unlock (&echo.lock);
  return r;
}

/* ---- SIPp: the bridge's signaling ---------------------------------------------- */

static const char uas_scenario[] =
  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\" ?>\n"
  "<!DOCTYPE scenario SYSTEM \"sipp.dtd\">\n"
  "<!-- bench-bridge: answers every INVITE with PCMU toward the echo, waits for BYE. -->\n"
  "<scenario name=\"bench-uas\">\n"
  "  <recv request=\"INVITE\" crlf=\"true\"/>\n"
  "  <send retrans=\"500\"><![CDATA[\n\n"
  "SIP/2.0 200 OK\n"
  "[last_Via:]\n[last_From:]\n[last_To:];tag=[pid]bench[call_number]\n[last_Call-ID:]\n[last_CSeq:]\n"
  "Contact: <sip:[local_ip]:[local_port];transport=[transport]>\n"
  "Content-Type: application/sdp\n"
  "Content-Length: [len]\n\n"
  "v=0\n"
  "o=bridge 53655765 2353687637 IN IP4 127.0.0.1\n"
  "s=-\n"
  "c=IN IP4 127.0.0.1\n"
  "t=0 0\n"
  "m=audio [echo_port] RTP/AVP 0 101\n"
  "a=rtpmap:0 PCMU/8000\n"
  "a=rtpmap:101 telephone-event/8000\n"
  "a=fmtp:101 0-15\n"
  "a=ptime:20\n"
  "a=sendrecv\n\n"
  "  ]]></send>\n"
  "  <recv request=\"ACK\" crlf=\"true\"/>\n"
  "  <recv request=\"BYE\"/>\n"
  "  <send><![CDATA[\n\n"
  "SIP/2.0 200 OK\n"
  "[last_Via:]\n[last_From:]\n[last_To:]\n[last_Call-ID:]\n[last_CSeq:]\n"
  "Content-Length: 0\n\n"
  "  ]]></send>\n"
  "</scenario>\n";

typedef struct {
  GSubprocess *proc;
  guint16 port;
  GPid pid;
} Sipp;

static Sipp *
sipp_start (const char *dir)
{
  Sipp *s = g_new0 (Sipp, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = g_build_filename (dir, "bench-uas.xml", NULL);
  g_autofree char *errors = g_build_filename (dir, "sipp-errors.log", NULL);
  g_autofree char *port = NULL, *eport = NULL;
  const char *id;

  g_assert_true (g_file_set_contents (xml, uas_scenario, -1, NULL));
  s->port = free_port ();
  port = g_strdup_printf ("%u", s->port);
  eport = g_strdup_printf ("%u", echo.port);
  s->proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDIN_PIPE,
      &error, "sipp", "-sf", xml, "-i", "127.0.0.1", "-p", port, "-t", "u1", "-nostdin",
      "-key", "echo_port", eport, "-max_socket", "2048", "-trace_err", "-error_file", errors,
      NULL);
  g_assert_no_error (error);
  id = g_subprocess_get_identifier (s->proc);
  s->pid = id ? atoi (id) : 0;
  g_usleep (500 * 1000);
  return s;
}

static void
sipp_free (Sipp *s)
{
  if (g_subprocess_get_identifier (s->proc) != NULL) {
    g_subprocess_send_signal (s->proc, SIGTERM);
    g_subprocess_wait (s->proc, NULL, NULL);
  }
  g_object_unref (s->proc);
  g_free (s);
}

/* ---- devices: amgw's WebRTC leg in this process as the Alexa device ---------------- */

typedef struct {
  guint room;
  char *sid;
  AmgwLeg *leg;
  const Stream *stream;
  gboolean probe;
  guint slot;
  guint pos;                     /* next packet of the stream */
  guint pt;                      /* what the device sends with */
  gboolean sending;              /* the sender may use it */

  char *answer;
  char *answer_error;
  gboolean answer_done;
  gboolean ended;

  /* Times, ms. */
  double t_join, t_offer, t_answer, t_accepted, t_ice, t_sent, t_first_in;
  guint16 bridge_port;           /* amgw's RTP port toward the bridge */

  GMutex lock;                   /* what the sink writes */
  guint64 packets_in;
  GArray *probe_times;           /* probe: arrival time (ms) per packet received */
  GPtrArray *probe_packets;      /* probe: payloads (GBytes) */
} Device;

static GMutex devices_lock;
static GPtrArray *devices;       /* Device*: the sender's list */
static gint sender_stop;
static GMutex probe_lock;
static GArray *probe_sent;       /* double: the onset's time at the device, per burst sent */

static void
device_sink (const guint8 *rtp, gsize len, gpointer user_data)
{
  Device *d = user_data;
  double t = now_ms ();

  g_mutex_lock (&d->lock);
  if (d->packets_in++ == 0)
    d->t_first_in = t;
  if (d->probe && len > 12 && (rtp[1] & 0x7f) == d->pt) {
    guint off = 12 + 4 * (rtp[0] & 0x0f);
    if (off < len) {
      g_array_append_val (d->probe_times, t);
      g_ptr_array_add (d->probe_packets, g_bytes_new (rtp + off, len - off));
    }
  }
  g_mutex_unlock (&d->lock);
}

static void
device_notify (AmgwLeg *leg, AmgwLegEventType type, const AmgwLegEventInfo *info, gpointer user_data)
{
  Device *d = user_data;

  if (type == AMGW_LEG_EVENT_ENDED && !d->ended) {
    d->ended = TRUE;
    g_printerr ("device %s: its leg ended: %s\n", d->sid, info && info->message ? info->message : "");
  }
}

static void
device_answer_cb (AmgwLeg *leg, const char *sdp, const GError *error, gpointer user_data)
{
  Device *d = user_data;

  if (sdp)
    d->answer = g_strdup (sdp);
  else
    d->answer_error = g_strdup (error ? error->message : "?");
  d->t_answer = now_ms ();
  d->answer_done = TRUE;
}

static gpointer
sender_thread (gpointer data)
{
  struct timespec next;
  guint tick = 0;
  guint8 pkt[1500];

  clock_gettime (CLOCK_MONOTONIC, &next);
  while (!g_atomic_int_get (&sender_stop)) {
    guint slot = tick % SLOTS;

    g_mutex_lock (&devices_lock);
    for (guint i = 0; i < devices->len; i++) {
      Device *d = devices->pdata[i];
      const Stream *s = d->stream;
      gsize len;
      const guint8 *payload;
      guint idx;

      if (!d->sending || d->slot != slot)
        continue;
      idx = d->pos++ % s->payloads->len;
      payload = g_bytes_get_data (s->payloads->pdata[idx], &len);
      if (len + 12 > sizeof pkt)
        continue;
      pkt[0] = 0x80;
      pkt[1] = (guint8) d->pt;
      GST_WRITE_UINT16_BE (pkt + 2, (guint16) d->pos);
      GST_WRITE_UINT32_BE (pkt + 4, d->pos * (s->opus ? 960u : 160u));
      GST_WRITE_UINT32_BE (pkt + 8, 0x12345678u + d->room);
      memcpy (pkt + 12, payload, len);
      amgw_leg_send_media (d->leg, pkt, len + 12);
      if (d->probe && idx == s->onset_frame) {
        double t = now_ms () - s->onset_offset_ms_x100 / 100.0;
        g_mutex_lock (&probe_lock);
        g_array_append_val (probe_sent, t);
        g_mutex_unlock (&probe_lock);
      }
    }
    g_mutex_unlock (&devices_lock);
    tick++;
    next.tv_nsec += FRAME_MS * 1000000L / SLOTS;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  return NULL;
}

static void
spin_until (gboolean *flag, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!*flag && g_get_monotonic_time () < end) {
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  }
}

/* Lets the control loop (the device legs' reports) run for @ms. */
static void
spin_ms (guint ms)
{
  gboolean never = FALSE;
  spin_until (&never, ms);
}

/* ---- one run of amgw ---------------------------------------------------------------- */

typedef struct {
  const char *name;              /* "transcoded", "passthrough" */
  gboolean transcoded;
  Fx *fx;
  GPid pid;
  Sipp *sipp;
  guint next_slot;
  gboolean room_busy[N_ROOMS];
  GArray *setup_total, *setup_offer, *setup_answer, *setup_events, *setup_ice, *setup_sent,
      *setup_back, *setup_bridge;
} Run;

static char *
rooms_config (void)
{
  GString *s = g_string_new ("");

  for (guint i = 0; i < N_ROOMS; i++)
    g_string_append_printf (s, "\n[room b%u]\nendpoint-id = room-b%u\nfriendly-name = B%u\n"
        "token = room-token-b%u\nalexa-address-type = COMMUNICATION_PROFILE_ID\n"
        "alexa-address = amzn1.comms.id.person.b%u\n", i, i, i, i, i);
  return g_string_free (s, FALSE);
}

static char *
event_details (const char *sdp)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *d = cJSON_AddObjectToObject (o, "sdpDetails");
  char *t, *r;

  cJSON_AddStringToObject (d, "type", "ANSWER");
  cJSON_AddStringToObject (d, "value", sdp);
  t = cJSON_PrintUnformatted (o);
  r = g_strdup (t);
  cJSON_free (t);
  cJSON_Delete (o);
  return r;
}

static guint
take_room (Run *r)
{
  for (guint i = 0; i < N_ROOMS; i++) {
    if (!r->room_busy[i]) {
      r->room_busy[i] = TRUE;
      return i;
    }
  }
  g_error ("no free room");
  return 0;
}

static cJSON *
directive (Run *r, const char *name, guint room, const char *payload)
{
  g_autofree char *endpoint = g_strdup_printf ("room-b%u", room);
  g_autofree char *token = g_strdup_printf ("room-token-b%u", room);
  g_autofree char *body = amgw_test_directive ("Alexa.MeetingClientController", name, endpoint,
      token, payload);
  g_autofree char *url = fx_url (r->fx, "/v1/alexa/directives");
  g_autofree char *resp = NULL;
  guint status = amgw_test_http ("POST", url, SECRET, NULL, body, strlen (body), &resp);

  if (status != 200)
    g_error ("%s: HTTP %u", name, status);
  return cJSON_Parse (resp);
}

/* Step 1 of a set-up: JoinMeeting, amgw's offer, the device's leg answering. */
static Device *
device_begin (Run *r, gboolean probe)
{
  Device *d = g_new0 (Device, 1);
  g_autofree char *payload = g_strdup_printf ("{\"meeting\": {\"id\": \"1234567\", "
      "\"endpoint\": \"127.0.0.1:%u\", \"protocol\": \"SIP\", \"provider\": \"bench\"}}",
      r->sipp->port);
  g_autoptr (GError) error = NULL;
  FakeCloudRequest *req;
  cJSON *answer;

  g_mutex_init (&d->lock);
  d->probe = probe;
  d->room = take_room (r);
  d->stream = probe ? (r->transcoded ? &probe_opus : &probe_pcmu)
                    : (r->transcoded ? &load_opus : &load_pcmu);
  d->slot = r->next_slot++ % SLOTS;
  d->pos = g_random_int_range (0, d->stream->payloads->len);
  if (probe) {
    d->pos = 0;
    d->probe_times = g_array_new (FALSE, FALSE, sizeof (double));
    d->probe_packets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  }
  d->t_join = now_ms ();
  answer = directive (r, "JoinMeeting", d->room, payload);
  if (g_strcmp0 (jstr (answer, "event.header.name"), "Response") != 0)
    g_error ("JoinMeeting: %s %s", jstr (answer, "event.payload.type"),
        jstr (answer, "event.payload.message"));
  cJSON_Delete (answer);
  req = fake_cloud_wait_signal (r->fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  if (req == NULL)
    g_error ("no InitiateInboundCall");
  d->t_offer = req->received_us / 1000.0;
  d->sid = g_strdup (req->session_id);
  d->leg = amgw_leg_create (AMGW_LEG_ALEXA, "ALEXA", d->sid, device_notify, d, &error);
  g_assert_no_error (error);
  amgw_leg_set_media_sink (d->leg, device_sink, NULL, d);
  amgw_leg_create_answer (d->leg, jstr (req->json, "sdpDetails.value"), AMGW_MEDIA_SENDRECV,
      device_answer_cb, d);
  return d;
}

/* Step 2: the answer to amgw, then sending. */
static void
device_accept (Run *r, Device *d)
{
  g_autofree char *ev = NULL;
  AmgwLegMedia m;

  spin_until (&d->answer_done, WAIT_MS);
  if (d->answer == NULL)
    g_error ("device %s: no answer: %s", d->sid, d->answer_error);
  ev = event_details (d->answer);
  if (fx_event (r->fx, "CallRinging", d->sid, NULL, NULL) != 200 ||
      fx_event (r->fx, "CallAccepted", d->sid, ev, NULL) != 200)
    g_error ("device %s: events refused", d->sid);
  d->t_accepted = now_ms ();
  g_assert_true (amgw_leg_get_media (d->leg, &m));
  d->pt = m.pt;
  if ((g_ascii_strcasecmp (m.encoding, "OPUS") == 0) != r->transcoded)
    g_error ("device %s: negotiated %s", d->sid, m.encoding);
  g_mutex_lock (&devices_lock);
  d->sending = TRUE;
  g_ptr_array_add (devices, d);
  g_mutex_unlock (&devices_lock);
}

static guint64
device_packets_in (Device *d)
{
  guint64 n;

  g_mutex_lock (&d->lock);
  n = d->packets_in;
  g_mutex_unlock (&d->lock);
  return n;
}

/* Step 3: waits for two-way media (a packet back at the device), noting
 * when the device's ICE connected and when its first SRTP packet left (its
 * DTLS done), from the leg's own view. */
static gboolean
device_wait_media (Device *d, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (device_packets_in (d) == 0 && g_get_monotonic_time () < end) {
    if (d->t_sent == 0) {
      cJSON *o = cJSON_CreateObject ();
      const cJSON *out;
      const char *ice;

      amgw_leg_describe (d->leg, o);
      ice = jstr (o, "media.ice");
      out = jget (o, "media.rtp.packets_out");
      if (d->t_ice == 0 && ice && (strcmp (ice, "connected") == 0 || strcmp (ice, "ready") == 0))
        d->t_ice = now_ms ();
      if (cJSON_IsNumber (out) && out->valuedouble > 0)
        d->t_sent = now_ms ();
      cJSON_Delete (o);
    }
    spin_ms (1);
  }
  if (d->t_sent == 0 && device_packets_in (d) > 0)
    d->t_sent = d->t_first_in;    /* it went out between two looks */
  return device_packets_in (d) > 0;
}

static cJSON *
get_call (Run *r, const char *sid)
{
  guint status;
  cJSON *v = fx_get_call (r->fx, sid, &status);

  if (status != 200) {
    cJSON_Delete (v);
    return NULL;
  }
  return v;
}

/* amgw's RTP port toward the bridge, from the calls view. */
static guint16
bridge_port (Run *r, const char *sid)
{
  cJSON *v = get_call (r, sid);
  const char *local = jstr (v, "bridge_leg.media.local");
  const char *colon = local ? strrchr (local, ':') : NULL;
  guint16 port = colon ? (guint16) atoi (colon + 1) : 0;

  cJSON_Delete (v);
  return port;
}

/* One call set up alone, its times recorded. */
static Device *
add_call (Run *r, gboolean probe)
{
  Device *d = device_begin (r, probe);

  device_accept (r, d);
  if (!device_wait_media (d, MEDIA_WAIT_MS)) {
    g_autofree char *log = amgw_test_daemon_log (r->fx->d);
    g_printerr ("device %s: no media back within %u ms\n", d->sid, MEDIA_WAIT_MS);
    return d;
  }
  d->bridge_port = bridge_port (r, d->sid);
  {
    double total = d->t_first_in - d->t_join, offer = d->t_offer - d->t_join;
    double answer = d->t_answer - d->t_offer, events = d->t_accepted - d->t_answer;
    double ice = d->t_ice - d->t_accepted, sent = d->t_sent - d->t_accepted;
    double back = d->t_first_in - d->t_sent;
    gint64 b = d->bridge_port ? echo_first_us (d->bridge_port) : 0;
    double bridge = b ? b / 1000.0 - d->t_join : NAN;

    g_array_append_val (r->setup_total, total);
    g_array_append_val (r->setup_offer, offer);
    g_array_append_val (r->setup_answer, answer);
    g_array_append_val (r->setup_events, events);
    if (d->t_ice > 0)
      g_array_append_val (r->setup_ice, ice);
    if (d->t_sent > 0) {
      g_array_append_val (r->setup_sent, sent);
      g_array_append_val (r->setup_back, back);
    }
    if (b)
      g_array_append_val (r->setup_bridge, bridge);
  }
  return d;
}

static void
device_free (Device *d)
{
  amgw_leg_set_media_sink (d->leg, NULL, NULL, NULL);
  amgw_leg_free (d->leg);
  g_free (d->sid);
  g_free (d->answer);
  g_free (d->answer_error);
  if (d->probe_times)
    g_array_unref (d->probe_times);
  if (d->probe_packets)
    g_ptr_array_unref (d->probe_packets);
  g_mutex_clear (&d->lock);
  g_free (d);
}

/* Ends @n calls by EndMeeting (all directives first, then the waits). */
static void
end_calls (Run *r, Device **ds, guint n)
{
  for (guint i = 0; i < n; i++) {
    cJSON *a = directive (r, "EndMeeting", ds[i]->room, "{}");
    if (g_strcmp0 (jstr (a, "event.header.name"), "Response") != 0)
      g_printerr ("EndMeeting %s: %s\n", ds[i]->sid, jstr (a, "event.payload.message"));
    cJSON_Delete (a);
  }
  for (guint i = 0; i < n; i++) {
    if (!fake_cloud_wait_signal (r->fx->fc, "CallEnded", ds[i]->sid, WAIT_MS))
      g_printerr ("no CallEnded for %s\n", ds[i]->sid);
    g_mutex_lock (&devices_lock);
    g_ptr_array_remove (devices, ds[i]);
    g_mutex_unlock (&devices_lock);
    r->room_busy[ds[i]->room] = FALSE;
    device_free (ds[i]);
  }
  spin_ms (10);
}

/* ---- measuring ----------------------------------------------------------------------- */

typedef struct {
  double amgw_cpu, bench_cpu, sipp_cpu, machine_busy;   /* fractions of one core */
  double rss;                                         /* KiB */
  guint threads;
} Sample;

static Sample
sample (Run *r, guint seconds)
{
  Sample s = { 0, };
  double a0 = proc_cpu_seconds (r->pid), b0 = proc_cpu_seconds (getpid ());
  double s0 = proc_cpu_seconds (r->sipp->pid);
  double mb0, mt0, mb1, mt1, t0 = now_ms ();
  long ncpu = sysconf (_SC_NPROCESSORS_ONLN);

  machine_jiffies (&mb0, &mt0);
  spin_ms (seconds * 1000);
  machine_jiffies (&mb1, &mt1);
  {
    double dt = (now_ms () - t0) / 1000.0;
    s.amgw_cpu = (proc_cpu_seconds (r->pid) - a0) / dt;
    s.bench_cpu = (proc_cpu_seconds (getpid ()) - b0) / dt;
    s.sipp_cpu = (proc_cpu_seconds (r->sipp->pid) - s0) / dt;
    s.machine_busy = mt1 > mt0 ? (mb1 - mb0) / (mt1 - mt0) * ncpu : 0;
  }
  s.rss = proc_status_value (r->pid, "VmRSS:");
  s.threads = (guint) proc_status_value (r->pid, "Threads:");
  return s;
}

/* Relay counters over all calls (GET /v1/calls/{id}). */
static void
relay_report (Run *r, Device **ds, guint n)
{
  double in_b = 0, out_b = 0, lost_b = 0, late_b = 0, in_a = 0, out_a = 0, lost_a = 0, late_a = 0;
  guint modes_t = 0, modes_p = 0, missing = 0;
  g_autofree char *note = NULL;

  for (guint i = 0; i < n; i++) {
    cJSON *v = get_call (r, ds[i]->sid);
    const cJSON *tb = jget (v, "relay.to_bridge"), *ta = jget (v, "relay.to_alexa");

    if (!cJSON_IsObject (tb) || !cJSON_IsObject (ta)) {
      missing++;
      cJSON_Delete (v);
      continue;
    }
    if (g_strcmp0 (jstr (tb, "mode"), "transcoding") == 0)
      modes_t++;
    else
      modes_p++;
    in_b += cJSON_GetNumberValue (jget (tb, "packets_in"));
    out_b += cJSON_GetNumberValue (jget (tb, "packets_out"));
    lost_b += cJSON_GetNumberValue (jget (tb, "packets_lost"));
    late_b += cJSON_GetNumberValue (jget (tb, "packets_late"));
    in_a += cJSON_GetNumberValue (jget (ta, "packets_in"));
    out_a += cJSON_GetNumberValue (jget (ta, "packets_out"));
    lost_a += cJSON_GetNumberValue (jget (ta, "packets_lost"));
    late_a += cJSON_GetNumberValue (jget (ta, "packets_late"));
    cJSON_Delete (v);
  }
  g_print ("    relays (all calls, since set-up): to_bridge in %.0f out %.0f lost %.0f late %.0f; "
      "to_alexa in %.0f out %.0f lost %.0f late %.0f; to_bridge modes %u transcoding, %u "
      "passthrough%s\n", in_b, out_b, lost_b, late_b, in_a, out_a, lost_a, late_a, modes_t, modes_p,
      (note = missing ? g_strdup_printf (", %u without relays", missing) : g_strdup ("")));
}

/* The probe's latencies since the last reset: device -> bridge, bridge ->
 * device, round trip. */
static void
latency_report (Run *r, Device *probe)
{
  g_autoptr (GArray) sent = NULL, at_bridge = NULL, out_bridge = NULL, back = NULL;
  g_autoptr (GArray) a = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) b = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr (GArray) rt = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *sa = NULL, *sb = NULL, *srt = NULL;
  g_autoptr (GArray) times = NULL;
  g_autoptr (GPtrArray) packets = NULL;
  Onsets o;

  g_mutex_lock (&probe_lock);
  sent = g_array_copy (probe_sent);
  g_array_set_size (probe_sent, 0);
  g_mutex_unlock (&probe_lock);
  g_mutex_lock (&echo.lock);
  at_bridge = g_array_copy (echo.probe_onsets.times);
  out_bridge = g_array_copy (echo.probe_onsets_out.times);
  g_array_set_size (echo.probe_onsets.times, 0);
  g_array_set_size (echo.probe_onsets_out.times, 0);
  g_mutex_unlock (&echo.lock);
  g_mutex_lock (&probe->lock);
  times = g_array_copy (probe->probe_times);
  packets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; i < probe->probe_packets->len; i++)
    g_ptr_array_add (packets, g_bytes_ref (probe->probe_packets->pdata[i]));
  g_array_set_size (probe->probe_times, 0);
  g_ptr_array_set_size (probe->probe_packets, 0);
  g_mutex_unlock (&probe->lock);

  /* What came back to the device, decoded. */
  if (r->transcoded) {
    g_autoptr (GArray) pcm = opus_decode (packets);
    onsets_init (&o, 48000);
    if (pcm->len != packets->len * 960)
      g_print ("    (decoded %u samples from %u packets: onsets may be off)\n", pcm->len, packets->len);
    for (guint i = 0; i < packets->len && (i + 1) * 960 <= pcm->len; i++)
      onsets_push (&o, &g_array_index (pcm, gint16, i * 960), 960, g_array_index (times, double, i));
  } else {
    onsets_init (&o, 8000);
    for (guint i = 0; i < packets->len; i++) {
      gsize len;
      const guint8 *p = g_bytes_get_data (packets->pdata[i], &len);
      gint16 pcm[1500];
      for (guint k = 0; k < len && k < G_N_ELEMENTS (pcm); k++)
        pcm[k] = ulaw_decode (p[k]);
      onsets_push (&o, pcm, (guint) MIN (len, G_N_ELEMENTS (pcm)), g_array_index (times, double, i));
    }
  }
  back = o.times;

  for (guint i = 0; i < sent->len; i++) {
    double s = g_array_index (sent, double, i), e = NAN, eo = NAN, k = NAN;
    for (guint j = 0; j < at_bridge->len; j++) {
      double t = g_array_index (at_bridge, double, j);
      if (t > s - 5 && t < s + 1000) {
        e = t;
        /* The same onset, when the echo sent it back (pushed together). */
        eo = j < out_bridge->len ? g_array_index (out_bridge, double, j) : t;
        break;
      }
    }
    if (isnan (e))
      continue;
    for (guint j = 0; j < back->len; j++) {
      double t = g_array_index (back, double, j);
      if (t > eo - 5 && t < eo + 1000) {
        k = t;
        break;
      }
    }
    {
      double da = e - s;
      g_array_append_val (a, da);
    }
    if (!isnan (k)) {
      /* amgw's two directions; the round trip leaves out the echo's hold. */
      double db = k - eo, dr = (e - s) + db;
      g_array_append_val (b, db);
      g_array_append_val (rt, dr);
    }
  }
  sa = summary (a);
  sb = summary (b);
  srt = summary (rt);
  g_print ("    latency, ms (probe: %u bursts sent, %u onsets at the bridge, %u back):\n"
      "      device -> bridge %s\n      bridge -> device %s\n      round trip       %s\n",
      sent->len, at_bridge->len, back->len, sa, sb, srt);
}

static void
print_sample (const char *what, const Sample *s)
{
  g_print ("  %-28s amgw CPU %6.1f %% of a core, RSS %7.0f KiB, %3u threads "
      "(bench %5.1f %%, SIPp %4.1f %%, machine %5.1f %% of %ld cores)\n", what, 100 * s->amgw_cpu,
      s->rss, s->threads, 100 * s->bench_cpu, 100 * s->sipp_cpu, 100 * s->machine_busy,
      sysconf (_SC_NPROCESSORS_ONLN));
}

/* Packets the devices received over the window: how close to 50/s each. */
static void
delivery_report (Device **ds, guint n, const guint64 *before, double seconds)
{
  double min = 1e9, sum = 0;

  for (guint i = 0; i < n; i++) {
    double rate = (device_packets_in (ds[i]) - before[i]) / seconds;
    min = MIN (min, rate);
    sum += rate;
  }
  g_print ("    devices received %.1f packets/s on average, %.1f at the least (50 sent)\n",
      n ? sum / n : 0, n ? min : 0);
}

/* ---- the codec chain --------------------------------------------------------------- */

static double
run_child_cpu (const char *cmdline, double *wall_s)
{
  g_auto (GStrv) argv = NULL;
  g_autoptr (GError) error = NULL;
  GPid pid;
  int status;
  struct rusage ru;
  double t0 = now_ms ();

  g_assert_true (g_shell_parse_argv (cmdline, NULL, &argv, &error));
  if (!g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
          | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &error))
    g_error ("%s: %s", cmdline, error->message);
  if (wait4 (pid, &status, 0, &ru) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_printerr ("codec chain: \"%s\" failed (status %d)\n", cmdline, status);
  if (wall_s)
    *wall_s = (now_ms () - t0) / 1000.0;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static const char chain_to_bridge[] =
  "filesrc location=%s ! oggdemux ! %sopusdec plc=true ! audioconvert ! audioresample "
  "! audio/x-raw,rate=8000,channels=1 ! mulawenc ! fakesink";
static const char chain_to_alexa[] =
  "filesrc location=%s ! wavparse ! %smulawdec ! audioconvert ! audioresample "
  "! audio/x-raw,rate=8000,channels=1 ! opusenc frame-size=20 inband-fec=true "
  "packet-loss-percentage=5 audio-type=voice bitrate=32000 complexity=5 ! fakesink";

/* The same work with amgw's own Opus elements (libopus's single-stream API,
 * pipelines/opus-codec.c) and without the converter and resampler amgw
 * leaves out, run by this program itself (--chain): what amgw's codecs alone
 * cost. */
static const char chain_amgw_to_bridge[] =
  "filesrc location=%s ! oggdemux ! amgwopusdec plc=true ! audio/x-raw,rate=8000,channels=1 "
  "! mulawenc ! fakesink";
static const char chain_amgw_to_alexa[] =
  "filesrc location=%s ! wavparse ! mulawdec ! audio/x-raw,rate=8000,channels=1 "
  "! amgwopusenc frame-size=20 inband-fec=true packet-loss-percentage=5 audio-type=voice "
  "bitrate=32000 complexity=5 ! fakesink";

/* bench-bridge --chain DESCRIPTION: runs a pipeline to its end, amgw's
 * elements registered. */
static int
run_chain (const char *desc)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GstElement) pipeline = NULL;
  g_autoptr (GstBus) bus = NULL;
  g_autoptr (GstMessage) msg = NULL;

  if (!amgw_pipe_init (&error) || !(pipeline = gst_parse_launch (desc, &error))) {
    g_printerr ("--chain: %s\n", error->message);
    return 1;
  }
  bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  return GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS ? 0 : 1;
}

/* The codec cost of one transcoded call, in fractions of a core: batch
 * (as fast as it goes) and paced (real time), with GStreamer's Opus elements
 * (the reference), and batch with amgw's own (@own). */
static void
codec_chain (const char *dir, double *batch, double *paced, double *own)
{
  g_autofree char *ogg = g_build_filename (dir, "tone.ogg", NULL);
  g_autofree char *wav = g_build_filename (dir, "tone-pcmu.wav", NULL);
  g_autofree char *a = g_strdup_printf (chain_to_bridge, ogg, "");
  g_autofree char *b = g_strdup_printf (chain_to_alexa, wav, "");
  g_autofree char *both = g_strdup_printf ("gst-launch-1.0 -q %s %s", a, b);
  g_autofree char *parse = g_strdup_printf ("gst-launch-1.0 -q filesrc location=%s ! oggdemux "
      "! fakesink filesrc location=%s ! wavparse ! fakesink", ogg, wav);
  GString *paced_cmd = g_string_new ("gst-launch-1.0 -q");
  double best = 1e9, base = 1e9, wall;
  const guint copies = 10;

  for (guint i = 0; i < 3; i++) {
    best = MIN (best, run_child_cpu (both, &wall));
    base = MIN (base, run_child_cpu (parse, NULL));
  }
  *batch = (best - base) / AUDIO_SECONDS;
  g_print ("  codec chain, batch: %.3f s CPU for %u s of audio both ways (file reading and "
      "demuxing alone %.3f s; best of 3): %.2f %% of a core per call\n  (%s)\n", best,
      AUDIO_SECONDS, base, 100 * *batch, both);
  {
    g_autofree char *oa = g_strdup_printf (chain_amgw_to_bridge, ogg);
    g_autofree char *ob = g_strdup_printf (chain_amgw_to_alexa, wav);
    g_autofree char *desc = g_strdup_printf ("%s %s", oa, ob);
    g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);
    g_autofree char *qself = g_shell_quote (self);
    g_autofree char *qdesc = g_shell_quote (desc);
    g_autofree char *cmd = g_strdup_printf ("%s --chain %s", qself, qdesc);
    double own_best = 1e9;

    for (guint i = 0; i < 3; i++)
      own_best = MIN (own_best, run_child_cpu (cmd, NULL));
    *own = (own_best - base) / AUDIO_SECONDS;
    g_print ("  codec chain with amgw's own Opus elements, batch: %.3f s CPU (best of 3): "
        "%.2f %% of a core per call\n  (%s)\n", own_best, 100 * *own, desc);
  }

  /* Paced: @copies calls' chains in one process, each held to real time. */
  for (guint i = 0; i < copies; i++) {
    g_autofree char *pa = g_strdup_printf (chain_to_bridge, ogg, "identity sync=true ! ");
    g_autofree char *pb = g_strdup_printf (chain_to_alexa, wav, "identity sync=true ! ");
    g_string_append_printf (paced_cmd, " %s %s", pa, pb);
  }
  {
    g_auto (GStrv) argv = NULL;
    g_autoptr (GError) error = NULL;
    GPid pid;
    double c0, c1, t0;
    const guint window = 20;

    g_assert_true (g_shell_parse_argv (paced_cmd->str, NULL, &argv, &error));
    g_assert_true (g_spawn_async (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD
        | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, &pid, &error));
    g_usleep (3 * G_USEC_PER_SEC);
    c0 = proc_cpu_seconds (pid);
    t0 = now_ms ();
    g_usleep (window * G_USEC_PER_SEC);
    c1 = proc_cpu_seconds (pid);
    *paced = (c1 - c0) / ((now_ms () - t0) / 1000.0) / copies;
    kill (pid, SIGTERM);
    waitpid (pid, NULL, 0);
    g_print ("  codec chain, paced: %u calls' chains in real time (identity sync=true before each "
        "decoder), %u s: %.2f %% of a core per call\n", copies, window, 100 * *paced);
  }
  g_string_free (paced_cmd, TRUE);
}

/* ---- a run ------------------------------------------------------------------------------ */

static void
run_mode (gboolean transcoded, GArray *levels, guint cycles, guint sample_s, const char *dir)
{
  Run run = { .name = transcoded ? "transcoded" : "passthrough", .transcoded = transcoded };
  Run *r = &run;
  g_autofree char *rooms = rooms_config ();
  g_autofree char *extra = NULL;
  FxOptions opt = { .binary = g_getenv ("AMGW_BINARY"), .max_calls = N_ROOMS + 10 };
  g_autoptr (GPtrArray) load = g_ptr_array_new ();
  double cpu_probe = 0, rss_probe = 0, rss_idle;
  GArray *per_call_cpu = g_array_new (FALSE, FALSE, sizeof (double));
  Sample s;
  Device *probe;
  guint16 sip_port = free_port ();
  guint batching_us = env_uint ("BENCH_BATCHING_US", AMGW_MEDIA_BATCHING_US);
  const char *interfaces = g_getenv ("BENCH_INTERFACES");
  g_autofree char *interfaces_line =
      interfaces != NULL && *interfaces != '\0' ? g_strdup_printf ("interfaces = %s\n", interfaces)
                                                 : g_strdup ("");

  r->setup_total = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_offer = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_answer = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_events = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_bridge = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_ice = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_sent = g_array_new (FALSE, FALSE, sizeof (double));
  r->setup_back = g_array_new (FALSE, FALSE, sizeof (double));
  extra = g_strdup_printf ("\n[sip]\nlisten = 127.0.0.1:%u\nuser = bench\ncodecs = PCMU\n"
      "inactivity-timeout = 60000\n\n[media]\nrtp-port-min = 20000\nrtp-port-max = 29999\n"
      "codecs = %s\njitter-buffer = 60\nbatching = %u\n%s%s", sip_port,
      transcoded ? "opus" : "PCMU", batching_us, interfaces_line, rooms);
  opt.extra = extra;

  g_print ("\n==== %s calls: [media] codecs = %s, [sip] codecs = PCMU, jitter-buffer = 60, "
      "batching = %u%s, interfaces = %s ====\n", r->name, transcoded ? "opus" : "PCMU",
      batching_us, batching_us == AMGW_MEDIA_BATCHING_US ? " (the default)" : "",
      *interfaces_line != '\0' ? interfaces : "amgw's default");
  r->sipp = sipp_start (dir);
  r->fx = fx_start (&opt);
  r->pid = amgw_test_daemon_pid (r->fx->d);
  g_print ("amgw pid %d, SIPp pid %d on port %u, echo on %u; %u-s samples\n", r->pid, r->sipp->pid,
      r->sipp->port, echo.port, sample_s);
  s = sample (r, 5);
  print_sample ("no call (fresh)", &s);

  /* Warm-up: the first call loads GStreamer's plugins. */
  {
    Device *d = add_call (r, FALSE);
    spin_ms (3000);
    end_calls (r, &d, 1);
    g_array_set_size (r->setup_total, 0);
    g_array_set_size (r->setup_offer, 0);
    g_array_set_size (r->setup_answer, 0);
    g_array_set_size (r->setup_events, 0);
    g_array_set_size (r->setup_bridge, 0);
    g_array_set_size (r->setup_ice, 0);
    g_array_set_size (r->setup_sent, 0);
    g_array_set_size (r->setup_back, 0);
  }
  s = sample (r, 5);
  rss_idle = s.rss;
  print_sample ("no call (after a warm-up call)", &s);

  /* The probe. */
  probe = add_call (r, TRUE);
  echo_set_probe (probe->bridge_port);
  g_mutex_lock (&probe_lock);
  g_array_set_size (probe_sent, 0);
  g_mutex_unlock (&probe_lock);
  spin_ms (2000);
  latency_report (r, probe);   /* drops the start */
  s = sample (r, sample_s);
  cpu_probe = s.amgw_cpu;
  rss_probe = s.rss;
  print_sample ("the probe call alone", &s);
  latency_report (r, probe);

  for (guint li = 0; li < levels->len; li++) {
    guint n = g_array_index (levels, guint, li);
    g_autofree guint64 *before = NULL;
    double per_call, rss_per_call;

    while (load->len < n) {
      Device *d = add_call (r, FALSE);
      g_ptr_array_add (load, d);
    }
    spin_ms (3000);
    latency_report (r, probe);   /* drops the ramp */
    before = g_new0 (guint64, load->len);
    for (guint i = 0; i < load->len; i++)
      before[i] = device_packets_in (load->pdata[i]);
    s = sample (r, sample_s);
    {
      g_autofree char *what = g_strdup_printf ("%u calls + the probe", n);
      print_sample (what, &s);
    }
    per_call = (s.amgw_cpu - cpu_probe) / n;
    rss_per_call = (s.rss - rss_probe) / n;
    g_array_append_val (per_call_cpu, per_call);
    g_print ("    per %s call: CPU %.2f %% of a core (%.0f calls per core), RSS %.0f KiB\n", r->name,
        100 * per_call, per_call > 0 ? 1 / per_call : 0, rss_per_call);
    delivery_report ((Device **) load->pdata, load->len, before, sample_s);
    latency_report (r, probe);
    relay_report (r, (Device **) load->pdata, load->len);
  }

  /* BENCH_PERF=DIR: a profile of amgw at the last level, after its sample. */
  if (g_getenv ("BENCH_PERF") && load->len > 0) {
    g_autofree char *data = g_strdup_printf ("%s/perf-%s.data", g_getenv ("BENCH_PERF"), r->name);
    g_autofree char *pid = g_strdup_printf ("%d", r->pid);
    const char *argv[] = { "perf", "record", "-F", "999", "-g", "-p", pid, "-o", data, "--",
      "sleep", "15", NULL };
    int status = 0;

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
        | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL);
    g_print ("  perf profile of amgw at %u calls: %s (status %d)\n", load->len, data, status);
    {
      /* And its system calls: how many of each, and their time. */
      g_autofree char *trace = g_strdup_printf ("%s/trace-%s.txt", g_getenv ("BENCH_PERF"),
          r->name);
      const char *targv[] = { "perf", "trace", "-s", "-p", pid, "-o", trace, "--", "sleep", "10",
        NULL };

      g_spawn_sync (NULL, (char **) targv, NULL, G_SPAWN_SEARCH_PATH
          | G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
          &status, NULL);
      g_print ("  system calls of amgw over 10 s at %u calls: %s (status %d)\n", load->len,
          trace, status);
    }
  }

  /* A long call's own memory: SIP keeps each finished transaction for its
   * timers (32 s), which is set-up's, not the call's. */
  if (load->len > 0 && env_uint ("BENCH_STEADY_S", 40) > 0) {
    guint n = load->len;
    guint steady_s = env_uint ("BENCH_STEADY_S", 40);

    g_autofree guint64 *before = g_new0 (guint64, n);

    spin_ms (steady_s * 1000);
    for (guint i = 0; i < n; i++)
      before[i] = device_packets_in (load->pdata[i]);
    s = sample (r, 5);
    g_print ("    per %s call %u s later (the calls' SIP transactions finished): RSS %.0f KiB\n",
        r->name, steady_s + 5, (s.rss - rss_probe) / n);
    delivery_report ((Device **) load->pdata, n, before, 5);
  }

  {
    g_autofree char *t = summary (r->setup_total), *o = summary (r->setup_offer);
    g_autofree char *a = summary (r->setup_answer), *e = summary (r->setup_events);
    g_autofree char *b = summary (r->setup_bridge), *i = summary (r->setup_ice);
    g_autofree char *sn = summary (r->setup_sent), *bk = summary (r->setup_back);
    g_print ("  set-up, ms, calls added one at a time while the others run:\n"
        "    JoinMeeting posted -> media back at the device (two-way)  %s\n"
        "    steps: JoinMeeting -> InitiateInboundCall at the cloud    %s\n"
        "           InitiateInboundCall -> the device's answer         %s\n"
        "           answer -> CallRinging, CallAccepted posted          %s\n"
        "           CallAccepted -> the device's ICE connected          %s\n"
        "           CallAccepted -> the device's first SRTP packet out  %s\n"
        "           that -> the first packet back at the device (0: <1 ms) %s\n"
        "    JoinMeeting -> amgw's first RTP at the bridge (silence until joined) %s\n",
        t, o, a, e, i, sn, bk, b);
  }

  end_calls (r, (Device **) load->pdata, load->len);
  g_ptr_array_set_size (load, 0);
  end_calls (r, &probe, 1);
  s = sample (r, 5);
  print_sample ("no call (after the levels)", &s);

  if (transcoded) {
    double batch, paced, own, marginal = g_array_index (per_call_cpu, double,
        per_call_cpu->len - 1);
    codec_chain (dir, &batch, &paced, &own);
    g_print ("  ratio amgw / codec chain (amgw's per-call CPU at %u calls): %.2f against batch, "
        "%.2f against paced; %.2f against amgw's own codecs (batch)\n",
        g_array_index (levels, guint, levels->len - 1), marginal / batch, marginal / paced,
        marginal / own);
  }

  /* Set-ups and tear-downs, 10 at a time. */
  if (cycles > 0) {
    double t0 = now_ms ();
    guint failed = 0;
    double rss_before;
    const guint rest_s = env_uint ("BENCH_REST_S", 40);

    spin_ms (rest_s * 1000);
    rss_before = proc_status_value (r->pid, "VmRSS:");
    g_print ("  %u set-ups and tear-downs, 10 at a time, each until two-way media (RSS before: "
        "%.0f KiB, %u s after the last call; %u open files):\n", cycles, rss_before, rest_s,
        fd_count (r->pid));
    for (guint done = 0; done < cycles;) {
      Device *batch[10];
      guint k = MIN (10, cycles - done);

      for (guint i = 0; i < k; i++)
        batch[i] = device_begin (r, FALSE);
      for (guint i = 0; i < k; i++)
        device_accept (r, batch[i]);
      for (guint i = 0; i < k; i++)
        if (!device_wait_media (batch[i], MEDIA_WAIT_MS))
          failed++;
      end_calls (r, batch, k);
      done += k;
      if (done % (cycles / 4 > 0 ? cycles / 4 : 1) == 0 || done == cycles) {
        double busy = proc_status_value (r->pid, "VmRSS:");
        /* SIP keeps finished transactions for 32 s (RFC 3261 timers J
         * and K, Sofia-SIP's nta): after that, what stays is what grew. */
        spin_ms (rest_s * 1000);
        double rested = proc_status_value (r->pid, "VmRSS:");
        g_print ("    after %4u: RSS %7.0f KiB at once, %7.0f KiB %u s later (%+.0f KiB from "
            "before), %u threads, %u open files, %.0f s\n", done, busy, rested, rest_s,
            rested - rss_before, (guint) proc_status_value (r->pid, "Threads:"),
            fd_count (r->pid), (now_ms () - t0) / 1000);
      }
    }
    if (failed)
      g_print ("    %u calls had no two-way media within %u ms\n", failed, MEDIA_WAIT_MS);
    s = sample (r, 5);
    print_sample ("no call (after the cycles)", &s);
    g_print ("    RSS %+.0f KiB from no call after the warm-up call\n", s.rss - rss_idle);
  }

  g_print ("amgw stopped with status %d\n", amgw_test_daemon_stop (r->fx->d));
  amgw_test_daemon_free (r->fx->d);
  fake_cloud_free (r->fx->fc);
  g_free (r->fx);
  sipp_free (r->sipp);
  g_array_unref (per_call_cpu);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = NULL;
  g_autoptr (GArray) levels = env_levels ("BENCH_LEVELS", "10,25,50");
  g_autoptr (GArray) pt_levels = env_levels ("BENCH_PT_LEVELS", "10,50,100,200,400");
  const char *modes = g_getenv ("BENCH_MODES") ? g_getenv ("BENCH_MODES") : "transcoded,passthrough";
  guint cycles = env_uint ("BENCH_CYCLES", 1000), sample_s = env_uint ("BENCH_SAMPLE_S", 20);
  g_autofree char *device_ini = NULL;
  const char *device_ifs;
  gboolean device_direct;
  AmgwConfig *device_config;
  AmgwMediaLoops *loops;
  AmgwDtlsCert *cert;
  GThread *sender;

  if (argc == 3 && strcmp (argv[1], "--chain") == 0) {
    gst_init (NULL, NULL);
    return run_chain (argv[2]);
  }
  g_test_init (&argc, &argv, NULL);   /* for g_assert in the helpers */
  gst_init (&argc, &argv);
  if (g_getenv ("AMGW_BINARY") == NULL || !g_file_test ("/usr/bin/sipp", G_FILE_TEST_EXISTS)) {
    g_printerr ("bench-bridge: needs AMGW_BINARY and sipp (scripts/bench-bridge)\n");
    return 77;
  }
  dir = g_dir_make_tmp ("amgw-bench-bridge-XXXXXX", &error);
  g_assert_no_error (error);

  /* The devices: amgw's WebRTC leg, ports apart from amgw's. */
  device_ifs = g_getenv ("BENCH_DEVICE_INTERFACES");
  if (device_ifs == NULL)
    device_ifs = "127.0.0.1";
  device_direct = env_uint ("BENCH_DEVICE_DIRECT", 0) != 0;
  device_ini = g_strdup_printf ("[media]\nrtp-port-min = 40000\nrtp-port-max = 49999\n"
      "codecs = opus, PCMU\n%s%s\n", *device_ifs != '\0' ? "interfaces = " : "", device_ifs);
  device_config = amgw_config_load_data (device_ini, -1, "bench devices", problems, &error);
  g_assert_no_error (error);
  amgw_webrtc_leg_set_direct_path (device_direct);
  loops = amgw_media_loops_new (0);
  cert = amgw_dtls_cert_new_ephemeral (&error);
  g_assert_no_error (error);
  amgw_webrtc_leg_register (device_config, loops, cert);

  g_print ("bench-bridge: %ld cores; preparing audio in %s\n", sysconf (_SC_NPROCESSORS_ONLN), dir);
  g_print ("the devices: interfaces = %s; their datagrams on %s\n",
      *device_ifs != '\0' ? device_ifs : "amgw's default",
      device_direct ? "the direct path (as amgw's)" : "libnice's path (a plain socket, as a browser's)");
  prepare_streams (dir);
  echo_start ();
  devices = g_ptr_array_new ();
  probe_sent = g_array_new (FALSE, FALSE, sizeof (double));
  sender = g_thread_new ("sender", sender_thread, NULL);

  if (strstr (modes, "transcoded"))
    run_mode (TRUE, levels, cycles, sample_s, dir);
  if (strstr (modes, "passthrough"))
    run_mode (FALSE, pt_levels, cycles, sample_s, dir);

  g_atomic_int_set (&sender_stop, 1);
  g_thread_join (sender);
  g_atomic_int_set (&echo.stop, 1);
  g_thread_join (echo.thread);
  return 0;
}
