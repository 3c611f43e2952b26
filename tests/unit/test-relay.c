/* Unit tests of the relay between the legs (pipelines/relay.c) and of the
 * RFC 4733 digit detector.
 *
 * Passthrough is tested with hand-made packets (synchronous, so exact).
 * Transcoding is tested in real time along a chain
 *
 *   source AmgwAudio (plays a tone, codec A) -> feed tap -> relay A->B
 *     -> capture tap -> sink AmgwAudio (receives codec B, analyses it)
 *
 * and what the sink hears must be the tone.  Waits poll with generous
 * ceilings (valgrind in CI, shared machines); nothing asserts timing. */
#include <math.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <gst/gst.h>

#include "amgw/relay.h"
#include "test-util.h"

#define WAIT_MS 60000
#define TONE_HZ 440.0
#define FREQ_TOLERANCE_HZ 5.0
#define SOURCE_SSRC 0x11111111u
#define RELAY_SSRC 0x22222222u

static const guint default_pt[] = {
  [AMGW_AUDIO_OPUS] = 111, [AMGW_AUDIO_G722] = 9, [AMGW_AUDIO_PCMU] = 0, [AMGW_AUDIO_PCMA] = 8,
};

static AmgwAudioFormat
fmt (AmgwAudioCodec codec, guint pt, guint32 ssrc)
{
  AmgwAudioFormat f = { .codec = codec, .pt = pt, .ssrc = ssrc };   /* clock_rate 0: default */
  return f;
}

/* ---- taps: where packets go between the pieces ------------------------------ */

/* A source's packets into a relay (some dropped), or a relay's into a sink
 * AmgwAudio; either way kept count of, the last one kept. */
typedef struct {
  GMutex lock;
  AmgwRelay *relay;              /* nullable: where packets go on */
  AmgwAudio *audio;              /* nullable: where packets go on */
  guint drop_every;              /* 0: none */
  guint64 packets, bytes, dropped;
  guint8 last[AMGW_AUDIO_MAX_RTP_BYTES];   /* the last packet passed on */
  gsize last_len;
  GThread *last_thread;
  GPtrArray *recording;          /* nullable: GBytes of the first @record_max packets */
  guint record_max;
} Tap;

static void
tap_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  Tap *t = user_data;

  g_assert_cmpuint (len, <=, sizeof t->last);
  g_mutex_lock (&t->lock);
  if (t->drop_every != 0 && (t->packets + t->dropped + 1) % t->drop_every == 0) {
    t->dropped++;
    g_mutex_unlock (&t->lock);
    return;
  }
  t->packets++;
  t->bytes += len;
  memcpy (t->last, rtp, len);
  t->last_len = len;
  t->last_thread = g_thread_self ();
  if (t->recording != NULL && t->recording->len < t->record_max)
    g_ptr_array_add (t->recording, g_bytes_new (rtp, len));
  if (t->relay != NULL)
    amgw_relay_push_rtp (t->relay, rtp, len);
  if (t->audio != NULL)
    amgw_audio_push_rtp (t->audio, rtp, len);
  g_mutex_unlock (&t->lock);
}

/* ---- the chain ------------------------------------------------------------- */

typedef struct {
  AmgwAudioCodec from, to;
  guint out_pt;                  /* 0: the codec's default */
  guint drop_every;
} ChainCase;

typedef struct {
  const ChainCase *cc;
  AmgwAudioFormat out;
  AmgwAudio *source, *sink;
  AmgwRelay *relay;
  Tap feed, capture;
} Chain;

static void
chain_setup (Chain *c, gconstpointer data)
{
  const ChainCase *cc = data;
  AmgwAudioFormat source_send = fmt (cc->from, default_pt[cc->from], SOURCE_SSRC);
  AmgwAudioFormat in = fmt (cc->from, default_pt[cc->from], 0);
  AmgwAudioFormat sink_recv;
  GError *error = NULL;

  memset (c, 0, sizeof *c);
  c->cc = cc;
  c->out = fmt (cc->to, cc->out_pt ? cc->out_pt : default_pt[cc->to], RELAY_SSRC);
  sink_recv = fmt (cc->to, c->out.pt, 0);
  g_mutex_init (&c->feed.lock);
  g_mutex_init (&c->capture.lock);
  c->feed.drop_every = cc->drop_every;

  c->sink = amgw_audio_new (&sink_recv, &sink_recv, NULL, NULL, &error);
  g_assert_no_error (error);
  c->capture.audio = c->sink;
  c->relay = amgw_relay_new (&in, &c->out, 0, "test-chain", tap_send, &c->capture, &error);
  g_assert_no_error (error);
  c->feed.relay = c->relay;
  c->source = amgw_audio_new (&source_send, &in, tap_send, &c->feed, &error);
  g_assert_no_error (error);
  amgw_audio_play_tone (c->source, TONE_HZ, 0);
}

static void
chain_teardown (Chain *c, gconstpointer data)
{
  /* Upstream first: nothing pushes into what goes next. */
  amgw_audio_free (c->source);
  amgw_relay_free (c->relay);
  amgw_audio_free (c->sink);
  g_mutex_clear (&c->feed.lock);
  g_mutex_clear (&c->capture.lock);
}

static void
log_relay (const char *who, const AmgwRelayStats *s)
{
  g_test_message ("%s: relay in %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes, %"
      G_GUINT64_FORMAT " invalid), out %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
      " bytes), lost %" G_GUINT64_FORMAT ", late %" G_GUINT64_FORMAT ", transcoding %d, failed %d",
      who, s->packets_in, s->bytes_in, s->packets_invalid, s->packets_out, s->bytes_out,
      s->packets_lost, s->packets_late, s->transcoding, s->failed);
}

/* Polled stats, until a condition holds. */
typedef struct _Watch Watch;
struct _Watch {
  AmgwAudio *audio;              /* nullable */
  AmgwRelay *relay;              /* nullable */
  gboolean (*done) (const Watch *w);
  AmgwAudioStats audio_stats;
  AmgwRelayStats relay_stats;
};

static gboolean
watch_cb (gpointer data)
{
  Watch *w = data;

  if (w->audio != NULL)
    amgw_audio_get_stats (w->audio, &w->audio_stats);
  if (w->relay != NULL)
    amgw_relay_get_stats (w->relay, &w->relay_stats);
  return w->done (w);
}

static gboolean
hears_tone (const Watch *w)
{
  const AmgwAudioStats *s = &w->audio_stats;

  return s->packets_in > 40 && fabs (s->frequency_hz - TONE_HZ) <= FREQ_TOLERANCE_HZ &&
      s->level_dbov > -30.0 && s->level_dbov < -3.0;
}

static gboolean
lost_some (const Watch *w)
{
  return w->relay_stats.packets_lost > 0;
}

/* The sink hears the source's tone through the relay. */
static void
assert_sink_hears_tone (Chain *c, const char *when)
{
  Watch w = { .audio = c->sink, .done = hears_tone };
  gboolean ok = amgw_test_wait_until (watch_cb, &w, WAIT_MS);
  const AmgwAudioStats *s = &w.audio_stats;

  g_test_message ("%s: sink in %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " invalid), %.1f dBov,"
      " %.1f Hz", when, s->packets_in, s->packets_invalid, s->level_dbov, s->frequency_hz);
  g_assert_true (ok);
  g_assert_false (s->failed);
}

/* Checks the last packet the relay sent: the output format's PT, the
 * payloader's SSRC when transcoding. */
static void
assert_last_packet (Chain *c, gboolean transcoding)
{
  g_mutex_lock (&c->capture.lock);
  g_assert_cmpuint (c->capture.last_len, >, 12);
  g_assert_cmpuint (c->capture.last[0] >> 6, ==, 2);
  g_assert_cmpuint (c->capture.last[1] & 0x7f, ==, c->out.pt);
  g_assert_cmpuint (GST_READ_UINT32_BE (c->capture.last + 8), ==,
      transcoding ? RELAY_SSRC : SOURCE_SSRC);
  /* G.711 and G.722: 20 ms at 8000 bytes a second, after a 12-byte header. */
  if (c->out.codec != AMGW_AUDIO_OPUS)
    g_assert_cmpuint (c->capture.last_len, ==, 12 + 160);
  g_mutex_unlock (&c->capture.lock);
}

/* ---- transcoding (and passthrough) of a real tone -------------------------- */

static void
test_tone (Chain *c, gconstpointer data)
{
  gboolean transcoding = c->cc->from != c->cc->to;
  AmgwRelayStats s;
  AmgwAudioStats sink;

  g_assert_cmpint (amgw_relay_is_passthrough (c->relay), ==, !transcoding);
  assert_sink_hears_tone (c, g_test_get_path ());
  amgw_relay_get_stats (c->relay, &s);
  log_relay (g_test_get_path (), &s);
  g_assert_cmpint (s.transcoding, ==, transcoding);
  g_assert_false (s.failed);
  g_assert_cmpuint (s.packets_in, >, 40);
  g_assert_cmpuint (s.packets_out, >, 40);
  g_assert_cmpuint (s.bytes_in, >, s.packets_in * 12);
  g_assert_cmpuint (s.bytes_out, >, s.packets_out * 12);
  g_assert_cmpuint (s.packets_invalid, ==, 0);
  if (!transcoding) {
    g_assert_cmpuint (s.packets_out, ==, s.packets_in);
    g_assert_cmpuint (s.bytes_out, ==, s.bytes_in);
  }
  assert_last_packet (c, transcoding);
  amgw_audio_get_stats (c->sink, &sink);
  g_assert_cmpuint (sink.packets_invalid, ==, 0);
}

/* Every 10th packet dropped before the relay: the jitter buffer counts them
 * lost, the decoder (or spanplc) conceals, and the tone is still the tone. */
static void
test_loss (Chain *c, gconstpointer data)
{
  Watch w = { .relay = c->relay, .done = lost_some };
  gboolean lost;

  assert_sink_hears_tone (c, "with 10 % loss");
  lost = amgw_test_wait_until (watch_cb, &w, WAIT_MS);
  log_relay (g_test_get_path (), &w.relay_stats);
  g_mutex_lock (&c->feed.lock);
  g_test_message ("feed: %" G_GUINT64_FORMAT " passed on, %" G_GUINT64_FORMAT " dropped",
      c->feed.packets, c->feed.dropped);
  g_assert_cmpuint (c->feed.dropped, >, 0);
  g_mutex_unlock (&c->feed.lock);
  g_assert_true (lost);
  g_assert_cmpuint (w.relay_stats.packets_invalid, ==, 0);
  g_assert_false (w.relay_stats.failed);
}

/* ---- garbage --------------------------------------------------------------- */

/* Bad packets made from a real one (@real, @len >= 12): each maker writes
 * into @pkt and returns the length to push. */
typedef gsize (*GarbageMaker) (guint8 *pkt, const guint8 *real, gsize len, GRand *rand);

static gsize
garbage_random (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  gsize n = (gsize) g_rand_int_range (rand, 0, 200);

  for (gsize i = 0; i < n; i++)
    pkt[i] = (guint8) g_rand_int (rand);
  /* Not version 2, so it can never pass by chance. */
  if (n > 0)
    pkt[0] &= 0x3f;
  return n;
}

static gsize
garbage_short_header (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, 11);
  return 11;
}

static gsize
garbage_csrcs_past_end (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, 20);
  pkt[0] = 0x8f;                 /* 15 CSRCs announced in 20 bytes */
  return 20;
}

static gsize
garbage_extension_past_end (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, len);
  pkt[0] = 0x90;
  pkt[12] = 0xbe; pkt[13] = 0xde; pkt[14] = 0xff; pkt[15] = 0xff;
  return len;
}

static gsize
garbage_padding_past_end (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  gsize n = MIN (len, 0xfe);

  memcpy (pkt, real, n);
  pkt[0] = 0xa0;
  pkt[n - 1] = 0xff;            /* 255 bytes of padding in fewer */
  return n;
}

static gsize
garbage_wrong_pt (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, len);
  pkt[1] = (guint8) ((pkt[1] & 0x80) | ((pkt[1] + 1) & 0x7f));
  return len;
}

static gsize
garbage_stray_ssrc (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, len);
  pkt[8] ^= (guint8) g_rand_int_range (rand, 1, 256);   /* a new one each time: never adopted */
  return len;
}

static gsize
garbage_rtcp (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, 28);
  pkt[1] = 200;
  return 28;
}

static gsize
garbage_oversize (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  memcpy (pkt, real, len);
  memset (pkt + len, 0x55, AMGW_AUDIO_MAX_RTP_BYTES + 1 - len);
  return AMGW_AUDIO_MAX_RTP_BYTES + 1;
}

static gsize
garbage_empty (guint8 *pkt, const guint8 *real, gsize len, GRand *rand)
{
  return 0;
}

static const GarbageMaker garbage_makers[] = {
  garbage_random, garbage_short_header, garbage_csrcs_past_end, garbage_extension_past_end,
  garbage_padding_past_end, garbage_wrong_pt, garbage_stray_ssrc, garbage_rtcp,
  garbage_oversize, garbage_empty,
};

/* Pushes @rounds of every kind of garbage into @r, built from @real; returns
 * how many packets were pushed.  Every one of them is invalid. */
static guint
push_garbage (AmgwRelay *r, const guint8 *real, gsize real_len, guint rounds, GRand *rand)
{
  guint8 pkt[AMGW_AUDIO_MAX_RTP_BYTES + 1];
  guint pushed = 0;

  g_assert_cmpuint (real_len, >=, 28);
  for (guint round = 0; round < rounds; round++) {
    for (guint i = 0; i < G_N_ELEMENTS (garbage_makers); i++) {
      gsize len = garbage_makers[i] (pkt, real, real_len, rand);
      amgw_relay_push_rtp (r, len > 0 ? pkt : NULL, len);
      pushed++;
    }
  }
  return pushed;
}

/* A transcoding relay among real packets: garbage counted and dropped, and
 * the tone still comes through; packets with a valid header and a garbage
 * payload reach the decoder and must not stop it either. */
static void
test_garbage_transcoding (Chain *c, gconstpointer data)
{
  GRand *rand = g_rand_new_with_seed (0x5eed);
  guint8 real[AMGW_AUDIO_MAX_RTP_BYTES];
  gsize real_len;
  AmgwRelayStats before, s;
  guint pushed = 0;

  assert_sink_hears_tone (c, "before garbage");
  amgw_relay_get_stats (c->relay, &before);

  for (guint burst = 0; burst < 20; burst++) {
    g_mutex_lock (&c->feed.lock);
    real_len = c->feed.last_len;
    memcpy (real, c->feed.last, real_len);
    g_mutex_unlock (&c->feed.lock);

    pushed += push_garbage (c->relay, real, real_len, 1, rand);
    /* The next sequence number, a payload of random bytes. */
    GST_WRITE_UINT16_BE (real + 2, GST_READ_UINT16_BE (real + 2) + 1);
    for (gsize j = 12; j < real_len; j++)
      real[j] = (guint8) g_rand_int (rand);
    amgw_relay_push_rtp (c->relay, real, real_len);
    amgw_test_spin_ms (20);
  }

  amgw_relay_get_stats (c->relay, &s);
  log_relay ("after garbage", &s);
  g_assert_cmpuint (s.packets_invalid, ==, before.packets_invalid + pushed);
  g_assert_cmpuint (s.packets_in, >=, before.packets_in + pushed + 20);
  g_assert_false (s.failed);

  /* Past the analysis window of what garbage may have spoilt. */
  amgw_test_spin_ms (600);
  assert_sink_hears_tone (c, "after garbage");
  g_rand_free (rand);
}

/* ---- passthrough, by hand ---------------------------------------------------- */

/* An RTP packet with @n_csrc CSRCs, an optional one-word extension and
 * @padding bytes of padding around a @payload_len-byte payload. */
static gsize
make_rtp (guint8 *pkt, guint pt, gboolean marker, guint16 seq, guint32 ts, guint32 ssrc,
    guint n_csrc, gboolean extension, guint padding, gsize payload_len)
{
  gsize at = 12;

  pkt[0] = (guint8) (0x80 | (padding ? 0x20 : 0) | (extension ? 0x10 : 0) | n_csrc);
  pkt[1] = (guint8) ((marker ? 0x80 : 0) | pt);
  GST_WRITE_UINT16_BE (pkt + 2, seq);
  GST_WRITE_UINT32_BE (pkt + 4, ts);
  GST_WRITE_UINT32_BE (pkt + 8, ssrc);
  for (guint i = 0; i < n_csrc; i++, at += 4)
    GST_WRITE_UINT32_BE (pkt + at, 0xc0000000u + i);
  if (extension) {
    GST_WRITE_UINT32_BE (pkt + at, 0xbede0001u);
    GST_WRITE_UINT32_BE (pkt + at + 4, 0x10ff0000u);
    at += 8;
  }
  for (gsize i = 0; i < payload_len; i++)
    pkt[at++] = (guint8) (i * 7 + seq);
  if (padding) {
    memset (pkt + at, 0, padding - 1);
    at += padding;
    pkt[at - 1] = (guint8) padding;
  }
  return at;
}

typedef struct {
  AmgwAudioCodec codec;
  guint in_pt, out_pt;
} PassCase;

/* Packets of every header shape go through at once, on the pushing thread,
 * byte for byte but for the payload type (the marker bit kept). */
static void
test_passthrough (gconstpointer data)
{
  const PassCase *pc = data;
  AmgwAudioFormat in = fmt (pc->codec, pc->in_pt, 0), out = fmt (pc->codec, pc->out_pt, 0x5555);
  static const struct { guint n_csrc; gboolean extension, marker; guint padding; gsize payload; } shapes[] = {
    { 0, FALSE, TRUE, 0, 160 },
    { 0, FALSE, FALSE, 0, 160 },
    { 2, FALSE, FALSE, 0, 80 },
    { 0, TRUE, FALSE, 0, 120 },
    { 1, TRUE, TRUE, 4, 33 },
    { 15, TRUE, FALSE, 255, 1000 },
    { 0, FALSE, FALSE, 0, 0 },
  };
  guint8 pkt[AMGW_AUDIO_MAX_RTP_BYTES];
  Tap cap = { 0 };
  AmgwRelay *r;
  AmgwRelayStats s;
  guint64 bytes = 0;
  GError *error = NULL;

  g_mutex_init (&cap.lock);
  r = amgw_relay_new (&in, &out, 0, "test-pass", tap_send, &cap, &error);
  g_assert_no_error (error);
  g_assert_true (amgw_relay_is_passthrough (r));

  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++) {
    gsize len = make_rtp (pkt, pc->in_pt, shapes[i].marker, (guint16) (65530 + i), 160 * i,
        0xabcdef01, shapes[i].n_csrc, shapes[i].extension, shapes[i].padding, shapes[i].payload);

    g_assert_cmpuint (len, <=, AMGW_AUDIO_MAX_RTP_BYTES);
    amgw_relay_push_rtp (r, pkt, len);
    bytes += len;
    /* Synchronous: it is there already. */
    g_assert_cmpuint (cap.packets, ==, i + 1);
    g_assert_true (cap.last_thread == g_thread_self ());
    g_assert_cmpuint (cap.last_len, ==, len);
    g_assert_cmpuint (cap.last[1], ==, (shapes[i].marker ? 0x80 : 0) | pc->out_pt);
    g_assert_cmpmem (cap.last, 1, pkt, 1);
    g_assert_cmpmem (cap.last + 2, len - 2, pkt + 2, len - 2);
  }

  amgw_relay_get_stats (r, &s);
  log_relay ("passthrough", &s);
  g_assert_cmpuint (s.packets_in, ==, G_N_ELEMENTS (shapes));
  g_assert_cmpuint (s.packets_out, ==, G_N_ELEMENTS (shapes));
  g_assert_cmpuint (s.bytes_in, ==, bytes);
  g_assert_cmpuint (s.bytes_out, ==, bytes);
  g_assert_cmpuint (s.packets_invalid, ==, 0);
  g_assert_cmpuint (s.packets_lost, ==, 0);
  g_assert_cmpuint (s.packets_late, ==, 0);
  g_assert_false (s.transcoding);
  g_assert_false (s.failed);

  amgw_relay_free (r);
  g_mutex_clear (&cap.lock);
}

/* Garbage into a passthrough relay: nothing of it comes out, everything
 * counted invalid, and a real packet afterwards still goes through. */
static void
test_passthrough_garbage (void)
{
  AmgwAudioFormat pcmu = fmt (AMGW_AUDIO_PCMU, 0, 0);
  GRand *rand = g_rand_new_with_seed (42);
  guint8 real[200];
  gsize real_len = make_rtp (real, 0, FALSE, 1, 0, 0x1234, 0, FALSE, 0, 160);
  Tap cap = { 0 };
  AmgwRelay *r;
  AmgwRelayStats s;
  guint pushed;
  GError *error = NULL;

  g_mutex_init (&cap.lock);
  r = amgw_relay_new (&pcmu, &pcmu, 0, NULL, tap_send, &cap, &error);
  g_assert_no_error (error);

  amgw_relay_push_rtp (r, real, real_len);      /* latches SSRC 0x1234 */
  pushed = push_garbage (r, real, real_len, 50, rand);
  g_assert_cmpuint (cap.packets, ==, 1);
  amgw_relay_push_rtp (r, real, real_len);
  g_assert_cmpuint (cap.packets, ==, 2);
  g_assert_cmpmem (cap.last, cap.last_len, real, real_len);

  amgw_relay_get_stats (r, &s);
  g_assert_cmpuint (s.packets_in, ==, pushed + 2);
  g_assert_cmpuint (s.packets_invalid, ==, pushed);
  g_assert_cmpuint (s.packets_out, ==, 2);
  g_assert_cmpuint (s.bytes_out, ==, 2 * real_len);

  amgw_relay_free (r);
  g_mutex_clear (&cap.lock);
  g_rand_free (rand);
}

/* The SSRC: an expected one refuses others; "any" latches on the first and
 * follows a new source only after a few packets in a row. */
static void
test_passthrough_ssrc (void)
{
  AmgwAudioFormat expect = fmt (AMGW_AUDIO_PCMA, 8, 0xaaaa), any = fmt (AMGW_AUDIO_PCMA, 8, 0);
  guint8 a[200], b[200];
  gsize len = make_rtp (a, 8, FALSE, 1, 0, 0xaaaa, 0, FALSE, 0, 160);
  Tap cap = { 0 };
  AmgwRelay *r;
  AmgwRelayStats s;
  GError *error = NULL;

  make_rtp (b, 8, FALSE, 1, 0, 0xbbbb, 0, FALSE, 0, 160);
  g_mutex_init (&cap.lock);

  r = amgw_relay_new (&expect, &expect, 0, "ssrc", tap_send, &cap, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < 10; i++)
    amgw_relay_push_rtp (r, b, len);
  amgw_relay_push_rtp (r, a, len);
  amgw_relay_get_stats (r, &s);
  g_assert_cmpuint (s.packets_invalid, ==, 10);
  g_assert_cmpuint (s.packets_out, ==, 1);
  amgw_relay_free (r);

  cap.packets = 0;
  r = amgw_relay_new (&any, &any, 0, "ssrc", tap_send, &cap, &error);
  g_assert_no_error (error);
  amgw_relay_push_rtp (r, a, len);
  amgw_relay_push_rtp (r, b, len);              /* a stray one */
  amgw_relay_push_rtp (r, a, len);
  g_assert_cmpuint (cap.packets, ==, 2);
  for (guint i = 0; i < 10; i++)                /* a real change of source */
    amgw_relay_push_rtp (r, b, len);
  /* The fifth in a row is adopted, and the five after it pass. */
  g_assert_cmpuint (cap.packets, ==, 2 + 6);
  g_assert_cmpmem (cap.last, cap.last_len, b, len);
  amgw_relay_free (r);
  g_mutex_clear (&cap.lock);
}

/* ---- creation and freeing ------------------------------------------------------ */

static void
test_bad_arguments (void)
{
  AmgwAudioFormat good = fmt (AMGW_AUDIO_PCMU, 0, 0);
  AmgwAudioFormat bad[] = {
    fmt (AMGW_AUDIO_OPUS, 0, 0),
    fmt ((AmgwAudioCodec) 42, 96, 0),
    { .codec = AMGW_AUDIO_G722, .pt = 9, .clock_rate = 16000 },
  };
  GError *error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_assert_null (amgw_relay_new (&bad[i], &good, 0, "bad", NULL, NULL, &error));
    g_assert_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_null (amgw_relay_new (&good, &bad[i], 0, "bad", NULL, NULL, &error));
    g_assert_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID);
    g_clear_error (&error);
  }
  g_assert_null (amgw_relay_new (&good, &good, AMGW_RELAY_MAX_LATENCY_MS + 1, "bad", NULL, NULL,
      &error));
  g_assert_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID);
  g_clear_error (&error);
  amgw_relay_free (NULL);
}

/* Transcoding relays freed at once, after a few packets, and while packets
 * still sit in the jitter buffer: no @send after free returns. */
static void
test_free_while_running (void)
{
  AmgwAudioFormat opus = fmt (AMGW_AUDIO_OPUS, 111, 0), pcmu = fmt (AMGW_AUDIO_PCMU, 0, 0);
  guint8 pkt[200];
  Tap cap = { 0 };
  GError *error = NULL;

  g_mutex_init (&cap.lock);
  for (guint i = 0; i < 3; i++) {
    g_autoptr (AmgwRelay) r = amgw_relay_new (&pcmu, &opus, AMGW_RELAY_MAX_LATENCY_MS, "free",
        tap_send, &cap, &error);
    guint64 after;

    g_assert_no_error (error);
    g_assert_false (amgw_relay_is_passthrough (r));
    for (guint n = 0; n < i * 10; n++) {
      gsize len = make_rtp (pkt, 0, n == 0, (guint16) n, 160 * n, 0x77, 0, FALSE, 0, 160);
      amgw_relay_push_rtp (r, pkt, len);
      amgw_test_spin_ms (5);
    }
    amgw_relay_free (g_steal_pointer (&r));
    g_mutex_lock (&cap.lock);
    after = cap.packets;
    g_mutex_unlock (&cap.lock);
    amgw_test_spin_ms (100);
    g_assert_cmpuint (cap.packets, ==, after);
  }
  g_mutex_clear (&cap.lock);
}

static guint64
tap_packets (Tap *t)
{
  guint64 n;

  g_mutex_lock (&t->lock);
  n = t->packets;
  g_mutex_unlock (&t->lock);
  return n;
}

/* The jitter stage, packet by packet (PCMU -> PCMA: one packet out per
 * 20-ms packet in, within the push, on the pushing thread): in order at
 * once; swapped packets put back in order; a duplicate and a packet behind
 * what went on are late; a gap waits for the latency, then counts as lost
 * and is concealed; a jump in the numbering starts anew. */
static void
test_jitter_stage (void)
{
  AmgwAudioFormat in = fmt (AMGW_AUDIO_PCMU, 0, 0), out = fmt (AMGW_AUDIO_PCMA, 8, 0);
  guint8 pkt[200];
  Tap tap = { 0 };
  AmgwRelay *r;
  AmgwRelayStats s;
  GError *error = NULL;

  g_mutex_init (&tap.lock);
  r = amgw_relay_new (&in, &out, 60, "jitter", tap_send, &tap, &error);
  g_assert_no_error (error);
#define PUSH(seq_) amgw_relay_push_rtp (r, pkt, make_rtp (pkt, 0, FALSE, (seq_), \
    (guint32) (seq_) * 160, 0x77, 0, FALSE, 0, 160))
#define OUT() tap_packets (&tap)

  for (guint seq = 0; seq < 10; seq++)
    PUSH (seq);
  g_assert_cmpuint (OUT (), ==, 10);
  g_assert_true (tap.last_thread == g_thread_self ());

  PUSH (11);
  g_assert_cmpuint (OUT (), ==, 10);            /* waits for 10 */
  PUSH (10);
  g_assert_cmpuint (OUT (), ==, 12);            /* both, in order */
  PUSH (10);
  PUSH (3);
  g_assert_cmpuint (OUT (), ==, 12);

  PUSH (13);                                    /* 12 missing */
  PUSH (14);
  g_assert_cmpuint (OUT (), ==, 12);
  amgw_test_spin_ms (150);                      /* past the 60-ms latency */
  PUSH (15);
  g_assert_cmpuint (OUT (), ==, 16);            /* 12 concealed, 13-15 */

  PUSH (5000);                                  /* a new start */
  PUSH (5001);
  g_assert_cmpuint (OUT (), ==, 18);
#undef PUSH
#undef OUT

  amgw_relay_get_stats (r, &s);
  log_relay ("jitter stage", &s);
  g_assert_cmpuint (s.packets_lost, ==, 1);
  g_assert_cmpuint (s.packets_late, ==, 2);
  g_assert_false (s.failed);
  amgw_relay_free (r);
  g_mutex_clear (&tap.lock);
}

/* Sequence numbers that jump while timestamps do not, timestamps that
 * hardly move, a stall then a burst: the jitter buffer turns these into
 * gaps of no or tiny duration, which spanplc must never see (they crashed
 * it: pipe-common.c).  The relay survives and keeps transcoding. */
static void
test_odd_gaps (gconstpointer data)
{
  AmgwAudioCodec from = (AmgwAudioCodec) GPOINTER_TO_INT (data);
  AmgwAudioFormat in = fmt (from, default_pt[from], 0), out = fmt (AMGW_AUDIO_OPUS, 111, 0);
  guint32 step = from == AMGW_AUDIO_OPUS ? 960 : 160;
  guint8 pkt[200];
  guint16 seq = 0;
  guint32 ts = 0;
  Tap tap = { 0 };
  AmgwRelay *r;
  AmgwRelayStats s;
  guint64 before;
  GError *error = NULL;

  if (from == AMGW_AUDIO_OPUS)
    out = fmt (AMGW_AUDIO_PCMU, 0, 0);
  g_mutex_init (&tap.lock);
  r = amgw_relay_new (&in, &out, 0, "gaps", tap_send, &tap, &error);
  g_assert_no_error (error);

#define PUSH(seq_, ts_) amgw_relay_push_rtp (r, pkt, make_rtp (pkt, in.pt, FALSE, (seq_), (ts_), 0x99, 0, FALSE, 0, 160))
  for (guint i = 0; i < 10; i++, ts += step) {
    PUSH (seq++, ts);
    amgw_test_spin_ms (20);
  }
  seq += 9;                                      /* 9 lost in no time */
  for (guint i = 0; i < 10; i++, ts += 4) {      /* 2 lost each time, in 4 ticks */
    PUSH (seq, ts);
    seq += 3;
    amgw_test_spin_ms (20);
  }
  amgw_test_spin_ms (300);                       /* a stall, then a burst with holes */
  for (guint i = 0; i < 20; i++, ts += step) {
    seq += i % 3 == 0;
    PUSH (seq++, ts);
  }
  amgw_test_spin_ms (300);
  amgw_relay_get_stats (r, &s);
  log_relay ("after odd gaps", &s);
  g_assert_false (s.failed);
  g_assert_cmpuint (s.packets_lost, >, 0);

  before = s.packets_out;
  for (guint i = 0; i < 25; i++, ts += step) {
    PUSH (seq++, ts);
    amgw_test_spin_ms (20);
  }
#undef PUSH
  amgw_test_spin_ms (300);
  amgw_relay_get_stats (r, &s);
  log_relay ("and after", &s);
  g_assert_cmpuint (s.packets_out, >, before + 10);
  g_assert_false (s.failed);
  amgw_relay_free (r);
  g_mutex_clear (&tap.lock);
}

/* ---- DTMF -------------------------------------------------------------------- */

typedef struct {
  guint32 ts;
  guint8 payload[4];
  gsize len;
  char digit;                    /* expected */
} DtmfStep;

static void
test_dtmf (void)
{
  static const DtmfStep steps[] = {
    /* '5': start, two updates, end, the end retransmitted three times. */
    { 1000, { 5, 0x0a, 0x00, 0xa0 }, 4, '5' },
    { 1000, { 5, 0x0a, 0x01, 0x40 }, 4, 0 },
    { 1000, { 5, 0x0a, 0x01, 0xe0 }, 4, 0 },
    { 1000, { 5, 0x8a, 0x03, 0x20 }, 4, 0 },
    { 1000, { 5, 0x8a, 0x03, 0x20 }, 4, 0 },
    { 1000, { 5, 0x8a, 0x03, 0x20 }, 4, 0 },
    { 1000, { 5, 0x8a, 0x03, 0x20 }, 4, 0 },
    /* The same digit again: a new timestamp is a new event. */
    { 2000, { 5, 0x0a, 0x00, 0xa0 }, 4, '5' },
    { 2000, { 5, 0x8a, 0x03, 0x20 }, 4, 0 },
    /* A late end packet of the first event. */
    { 1000, { 5, 0x8a, 0x03, 0x20 }, 4, 0 },
    /* Too short; outside 0-15 (flash, then an unassigned one). */
    { 3000, { 7, 0x0a, 0x00 }, 3, 0 },
    { 3000, { 16, 0x0a, 0x00, 0xa0 }, 4, 0 },
    { 3100, { 200, 0x8a, 0x00, 0xa0 }, 4, 0 },
    { 4000, { 10, 0x0a, 0x00, 0xa0 }, 4, '*' },
    { 5000, { 11, 0x8a, 0x00, 0xa0 }, 4, '#' },       /* an end packet alone still reports */
    { 5000, { 12, 0x0a, 0x00, 0xa0 }, 4, 'A' },       /* same timestamp, other event */
    { 6000, { 13, 0x0a, 0x00, 0xa0 }, 4, 'B' },
    { 7000, { 14, 0x0a, 0x00, 0xa0 }, 4, 'C' },
    { 8000, { 15, 0x0a, 0x00, 0xa0 }, 4, 'D' },
    { 9000, { 0, 0x0a, 0x00, 0xa0 }, 4, '0' },
    { 10000, { 9, 0x0a, 0x00, 0xa0 }, 4, '9' },
    /* A jump far away (a new stream), then across the timestamp wrap. */
    { 0x80000000u, { 3, 0x0a, 0x00, 0xa0 }, 4, '3' },
    { 0xffffff00u, { 1, 0x0a, 0x00, 0xa0 }, 4, '1' },
    { 0x00000100u, { 2, 0x0a, 0x00, 0xa0 }, 4, '2' },
    { 0xfffffff0u, { 1, 0x8a, 0x00, 0xa0 }, 4, 0 },   /* late: just behind, over the wrap */
  };
  AmgwDtmfDetector d = { 0 };
  guint8 longer[8] = { 4, 0x0a, 0x00, 0xa0, 4, 0x0a, 0x00, 0x50 };
  GString *got = g_string_new (NULL), *want = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (steps); i++) {
    char c = amgw_dtmf_detector_push (&d, steps[i].ts, steps[i].payload, steps[i].len);

    g_assert_cmpint (c, ==, steps[i].digit);
    if (c != 0)
      g_string_append_c (got, c);
    if (steps[i].digit != 0)
      g_string_append_c (want, steps[i].digit);
  }
  g_assert_cmpstr (got->str, ==, want->str);
  /* Longer than 4 bytes (a redundant block after it): the first block counts. */
  g_assert_cmpint (amgw_dtmf_detector_push (&d, 0x90000000u, longer, sizeof longer), ==, '4');
  g_assert_cmpint (amgw_dtmf_detector_push (&d, 0x90000000u, longer, sizeof longer), ==, 0);
  g_assert_cmpint (amgw_dtmf_detector_push (&d, 0x90001000u, NULL, 0), ==, 0);

  /* A fresh detector: the first packet, even an end, is a digit. */
  memset (&d, 0, sizeof d);
  g_assert_cmpint (amgw_dtmf_detector_push (&d, 0, (const guint8 *) "\x08\x8a\x00\xa0", 4), ==, '8');
  g_string_free (got, TRUE);
  g_string_free (want, TRUE);
}

/* ---- -m perf: CPU of a transcoding pair --------------------------------------- */

#define PERF_SECONDS 20
#define PERF_RECORDED 50         /* 1 s of packets, replayed in a loop */

static gboolean
recorded_cb (gpointer data)
{
  Tap *t = data;
  gboolean done;

  g_mutex_lock (&t->lock);
  done = t->recording->len == t->record_max;
  g_mutex_unlock (&t->lock);
  return done;
}

/* PERF_RECORDED packets of a tone in @codec.  (transfer full: GBytes) */
static GPtrArray *
record (AmgwAudioCodec codec)
{
  AmgwAudioFormat f = fmt (codec, default_pt[codec], 0x33);
  Tap tap = { .record_max = PERF_RECORDED };
  GError *error = NULL;
  AmgwAudio *a;

  g_mutex_init (&tap.lock);
  tap.recording = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  a = amgw_audio_new (&f, &f, tap_send, &tap, &error);
  g_assert_no_error (error);
  amgw_audio_play_tone (a, TONE_HZ, 0);
  g_assert_true (amgw_test_wait_until (recorded_cb, &tap, WAIT_MS));
  amgw_audio_free (a);
  g_mutex_clear (&tap.lock);
  return tap.recording;
}

/* Replays packet @n % PERF_RECORDED of @recording as the @n-th packet of an
 * endless stream: sequence numbers and timestamps carried on. */
static void
replay_one (AmgwRelay *r, GPtrArray *recording, guint64 n, guint32 ts_per_packet)
{
  guint8 pkt[AMGW_AUDIO_MAX_RTP_BYTES];
  gsize len;
  const guint8 *data = g_bytes_get_data (g_ptr_array_index (recording, n % recording->len), &len);

  memcpy (pkt, data, len);
  GST_WRITE_UINT16_BE (pkt + 2, (guint16) n);
  GST_WRITE_UINT32_BE (pkt + 4, (guint32) (n * ts_per_packet));
  amgw_relay_push_rtp (r, pkt, len);
}

/* The CPU time of the whole process (all its threads), in seconds. */
static double
process_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Opus -> PCMU and PCMU -> Opus (one call's two directions), fed recorded
 * packets in real time from this thread: the CPU of the process over
 * PERF_SECONDS is the relays' (the feeding costs next to nothing). */
static void
test_cpu (void)
{
  GPtrArray *opus, *pcmu;
  AmgwAudioFormat opus_fmt = fmt (AMGW_AUDIO_OPUS, 111, 0), pcmu_fmt = fmt (AMGW_AUDIO_PCMU, 0, 0);
  Tap to_pcmu = { 0 }, to_opus = { 0 };
  AmgwRelay *down, *up;
  AmgwRelayStats s_down, s_up;
  GError *error = NULL;
  gint64 start;
  double cpu;

  g_mutex_init (&to_pcmu.lock);
  g_mutex_init (&to_opus.lock);
  opus = record (AMGW_AUDIO_OPUS);
  pcmu = record (AMGW_AUDIO_PCMU);

  down = amgw_relay_new (&opus_fmt, &pcmu_fmt, 0, "perf-down", tap_send, &to_pcmu, &error);
  g_assert_no_error (error);
  up = amgw_relay_new (&pcmu_fmt, &opus_fmt, 0, "perf-up", tap_send, &to_opus, &error);
  g_assert_no_error (error);

  cpu = process_cpu_seconds ();
  start = g_get_monotonic_time ();
  for (guint64 n = 0; n < PERF_SECONDS * 50; n++) {
    gint64 due = start + (gint64) n * 20000;
    gint64 now = g_get_monotonic_time ();

    if (due > now)
      g_usleep ((gulong) (due - now));
    replay_one (down, opus, n, 960);
    replay_one (up, pcmu, n, 160);
  }
  amgw_test_spin_ms (200);
  cpu = process_cpu_seconds () - cpu;
  amgw_relay_get_stats (down, &s_down);
  amgw_relay_get_stats (up, &s_up);
  log_relay ("opus -> pcmu", &s_down);
  log_relay ("pcmu -> opus", &s_up);
  g_test_message ("%s: %.2f %% of a core for the pair (%.3f s of CPU in %d s of audio)",
      g_test_get_path (), cpu / PERF_SECONDS * 100, cpu, PERF_SECONDS);
  g_assert_cmpuint (s_down.packets_out, >, PERF_SECONDS * 40);
  g_assert_cmpuint (s_up.packets_out, >, PERF_SECONDS * 40);

  amgw_relay_free (down);
  amgw_relay_free (up);
  g_mutex_clear (&to_pcmu.lock);
  g_mutex_clear (&to_opus.lock);
  g_ptr_array_unref (opus);
  g_ptr_array_unref (pcmu);
}

static const char *const codec_names[] = {
  [AMGW_AUDIO_OPUS] = "opus", [AMGW_AUDIO_G722] = "g722",
  [AMGW_AUDIO_PCMU] = "pcmu", [AMGW_AUDIO_PCMA] = "pcma",
};

/* /relay/@kind/FROM-TO for each of @cases, on a chain. */
static void
add_chain_tests (const char *kind, const ChainCase *cases, guint n,
    void (*test) (Chain *, gconstpointer))
{
  for (guint i = 0; i < n; i++) {
    g_autofree char *path = g_strdup_printf ("/relay/%s/%s-%s", kind,
        codec_names[cases[i].from], codec_names[cases[i].to]);
    g_test_add (path, Chain, &cases[i], chain_setup, test, chain_teardown);
  }
}

int
main (int argc, char **argv)
{
  static const ChainCase tones[] = {
    { .from = AMGW_AUDIO_OPUS, .to = AMGW_AUDIO_PCMU },
    { .from = AMGW_AUDIO_PCMU, .to = AMGW_AUDIO_OPUS },
    { .from = AMGW_AUDIO_OPUS, .to = AMGW_AUDIO_G722 },
    { .from = AMGW_AUDIO_G722, .to = AMGW_AUDIO_OPUS },
    { .from = AMGW_AUDIO_PCMA, .to = AMGW_AUDIO_PCMU },
    { .from = AMGW_AUDIO_OPUS, .to = AMGW_AUDIO_OPUS, .out_pt = 96 },   /* passthrough */
  };
  static const ChainCase lossy[] = {
    { .from = AMGW_AUDIO_OPUS, .to = AMGW_AUDIO_PCMU, .drop_every = 10 },
    { .from = AMGW_AUDIO_PCMU, .to = AMGW_AUDIO_OPUS, .drop_every = 10 },
    { .from = AMGW_AUDIO_G722, .to = AMGW_AUDIO_PCMA, .drop_every = 10 },
  };
  static const ChainCase garbage[] = { { .from = AMGW_AUDIO_OPUS, .to = AMGW_AUDIO_PCMU } };
  static const PassCase pass[] = {
    { AMGW_AUDIO_PCMU, 0, 0 },
    { AMGW_AUDIO_OPUS, 111, 96 },
    { AMGW_AUDIO_G722, 9, 104 },
  };

  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/relay/passthrough/pcmu-0-0", &pass[0], test_passthrough);
  g_test_add_data_func ("/relay/passthrough/opus-111-96", &pass[1], test_passthrough);
  g_test_add_data_func ("/relay/passthrough/g722-9-104", &pass[2], test_passthrough);
  g_test_add_func ("/relay/passthrough/garbage", test_passthrough_garbage);
  g_test_add_func ("/relay/passthrough/ssrc", test_passthrough_ssrc);
  g_test_add_func ("/relay/bad-arguments", test_bad_arguments);
  g_test_add_func ("/relay/dtmf", test_dtmf);
  add_chain_tests ("tone", tones, G_N_ELEMENTS (tones), test_tone);
  add_chain_tests ("loss", lossy, G_N_ELEMENTS (lossy), test_loss);
  add_chain_tests ("garbage", garbage, G_N_ELEMENTS (garbage), test_garbage_transcoding);
  g_test_add_data_func ("/relay/odd-gaps/pcmu-opus", GINT_TO_POINTER (AMGW_AUDIO_PCMU), test_odd_gaps);
  g_test_add_data_func ("/relay/odd-gaps/g722-opus", GINT_TO_POINTER (AMGW_AUDIO_G722), test_odd_gaps);
  g_test_add_data_func ("/relay/odd-gaps/opus-pcmu", GINT_TO_POINTER (AMGW_AUDIO_OPUS), test_odd_gaps);
  g_test_add_func ("/relay/free-while-running", test_free_while_running);
  g_test_add_func ("/relay/jitter-stage", test_jitter_stage);
  if (g_test_perf ())
    g_test_add_func ("/relay/cpu/opus-pcmu-pair", test_cpu);
  return g_test_run ();
}
