/* Unit tests of the installer's audio check (pipelines/audio.c): two
 * AmgwAudio objects wired back to back through in-process "routes", in real
 * time.  Waits poll the stats every 100 ms with generous ceilings, since the
 * machines are shared and slow. */
#include <math.h>
#include <string.h>
#include <sys/resource.h>

#include <glib.h>

#include "amgw/audio.h"

#define POLL_MS 100
#define WAIT_MS 10000
#define FREQ_TOLERANCE_HZ 30.0

/* ---- routes: A's packets into B, optionally B's into A ------------------- */

typedef struct {
  GMutex lock;
  AmgwAudio *target;            /* nullable: packets go nowhere */
  guint64 packets;
  guint8 last[AMGW_AUDIO_MAX_RTP_BYTES];   /* the last packet, for the tests' inspection */
  gsize last_len;
  guint16 last_seq;
  gboolean seq_broken;          /* two consecutive packets not one apart */
  guint markers;
} Route;

static void
route_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  Route *r = user_data;

  g_mutex_lock (&r->lock);
  if (len >= 12) {
    guint16 seq = (guint16) (rtp[2] << 8 | rtp[3]);
    if (r->packets > 0 && seq != (guint16) (r->last_seq + 1))
      r->seq_broken = TRUE;
    r->last_seq = seq;
    if (rtp[1] & 0x80)
      r->markers++;
  }
  r->packets++;
  if (len <= sizeof r->last) {
    memcpy (r->last, rtp, len);
    r->last_len = len;
  }
  if (r->target != NULL)
    amgw_audio_push_rtp (r->target, rtp, len);
  g_mutex_unlock (&r->lock);
}

static void
route_set_target (Route *r, AmgwAudio *target)
{
  g_mutex_lock (&r->lock);
  r->target = target;
  g_mutex_unlock (&r->lock);
}

static guint64
route_packets (Route *r)
{
  guint64 n;

  g_mutex_lock (&r->lock);
  n = r->packets;
  g_mutex_unlock (&r->lock);
  return n;
}

typedef struct {
  Route a_to_b, b_to_a;
  AmgwAudio *a, *b;
} Pair;

static AmgwAudioFormat
format_for (AmgwAudioCodec codec, guint32 ssrc)
{
  AmgwAudioFormat f = { .codec = codec, .ssrc = ssrc };

  switch (codec) {
    case AMGW_AUDIO_OPUS: f.pt = 111; f.clock_rate = 48000; break;
    case AMGW_AUDIO_G722: f.pt = 9; f.clock_rate = 8000; break;
    case AMGW_AUDIO_PCMU: f.pt = 0; f.clock_rate = 8000; break;
    case AMGW_AUDIO_PCMA: f.pt = 8; f.clock_rate = 8000; break;
  }
  return f;
}

static void
pair_setup (Pair *p, gconstpointer data)
{
  AmgwAudioCodec codec = (AmgwAudioCodec) GPOINTER_TO_INT (data);
  AmgwAudioFormat a_send = format_for (codec, 0x11111111), b_send = format_for (codec, 0x22222222);
  AmgwAudioFormat recv = format_for (codec, 0);
  GError *error = NULL;

  memset (p, 0, sizeof *p);
  g_mutex_init (&p->a_to_b.lock);
  g_mutex_init (&p->b_to_a.lock);
  p->a = amgw_audio_new (&a_send, &recv, route_send, &p->a_to_b, &error);
  g_assert_no_error (error);
  p->b = amgw_audio_new (&b_send, &recv, route_send, &p->b_to_a, &error);
  g_assert_no_error (error);
  route_set_target (&p->a_to_b, p->b);
  route_set_target (&p->b_to_a, p->a);
}

static void
pair_teardown (Pair *p, gconstpointer data)
{
  /* Cut the routes first: a send callback may be running right now. */
  route_set_target (&p->a_to_b, NULL);
  route_set_target (&p->b_to_a, NULL);
  amgw_audio_free (p->a);
  amgw_audio_free (p->b);
  g_mutex_clear (&p->a_to_b.lock);
  g_mutex_clear (&p->b_to_a.lock);
}

/* ---- waiting -------------------------------------------------------------- */

static gboolean
quit_cb (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
spin_ms (guint ms)
{
  GMainLoop *loop = g_main_loop_new (NULL, FALSE);

  g_timeout_add (ms, quit_cb, loop);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
}

typedef gboolean (*StatsCond) (const AmgwAudioStats *s, gconstpointer data);

/* Polls @a's stats every POLL_MS until @cond holds or @timeout_ms passes;
 * @out gets the last stats seen. */
static gboolean
wait_stats (AmgwAudio *a, StatsCond cond, gconstpointer data, guint timeout_ms,
    AmgwAudioStats *out)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;) {
    amgw_audio_get_stats (a, out);
    if (cond (out, data))
      return TRUE;
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    spin_ms (POLL_MS);
  }
}

static void
log_stats (const char *who, const AmgwAudioStats *s)
{
  g_test_message ("%s: in %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " invalid), out %"
      G_GUINT64_FORMAT ", %.1f dBov, %.1f Hz, tone %.0f, echoing %d, failed %d", who,
      s->packets_in, s->packets_invalid, s->packets_out, s->level_dbov, s->frequency_hz,
      s->tone_hz, s->echoing, s->failed);
}

static gboolean
hears_tone (const AmgwAudioStats *s, gconstpointer data)
{
  const double *hz = data;

  return s->packets_in > 40 && fabs (s->frequency_hz - *hz) <= FREQ_TOLERANCE_HZ &&
      s->level_dbov > -40.0;
}

static gboolean
packets_over (const AmgwAudioStats *s, gconstpointer data)
{
  return s->packets_in > GPOINTER_TO_UINT (data);
}

static void
assert_hears (AmgwAudio *a, const char *who, double hz)
{
  AmgwAudioStats s;
  gboolean ok = wait_stats (a, hears_tone, &hz, WAIT_MS, &s);

  log_stats (who, &s);
  g_assert_true (ok);
  g_assert_false (s.failed);
}

/* ---- tests ------------------------------------------------------------------ */

static gboolean
is_echoing (const AmgwAudioStats *s, gconstpointer data)
{
  return s->echoing && s->tone_hz == 0;
}

/* A plays 1000 Hz into B; then A plays 700 Hz for 1 s while B echoes it
 * back, and A hears 700 Hz. */
static void
test_tone_then_echo (Pair *p, gconstpointer data)
{
  AmgwAudioStats s;

  amgw_audio_play_tone (p->a, 1000, 0);
  amgw_audio_get_stats (p->a, &s);
  g_assert_cmpfloat (s.tone_hz, ==, 1000);
  g_assert_false (s.echoing);
  assert_hears (p->b, "B hears A", 1000);
  amgw_audio_get_stats (p->b, &s);
  g_assert_cmpuint (s.packets_invalid, ==, 0);
  g_assert_cmpfloat (s.tone_hz, ==, 0);

  amgw_audio_play_tone (p->a, 700, 1000);
  amgw_audio_set_echo (p->b, TRUE);
  amgw_audio_get_stats (p->b, &s);
  g_assert_true (s.echoing);
  assert_hears (p->a, "A hears B's echo", 700);

  /* The timed tone ends by itself and A echoes in turn. */
  g_assert_true (wait_stats (p->a, is_echoing, NULL, WAIT_MS, &s));
}

static gboolean
hears_silence (const AmgwAudioStats *s, gconstpointer data)
{
  return s->frequency_hz == 0 && s->level_dbov < -60.0;
}

/* Nobody plays: B hears packets but silence.  Then a tone, then silence
 * again: the analysis follows (packets keep flowing, so this is not the
 * "nothing heard" fallback). */
static void
test_silence (Pair *p, gconstpointer data)
{
  AmgwAudioStats s;
  guint64 packets;

  /* 80 packets: well past one 0.5 s analysis window. */
  g_assert_true (wait_stats (p->b, packets_over, GUINT_TO_POINTER (80), WAIT_MS, &s));
  amgw_audio_get_stats (p->b, &s);
  log_stats ("B hears silence", &s);
  g_assert_true (hears_silence (&s, NULL));
  g_assert_false (s.echoing);
  g_assert_cmpfloat (s.tone_hz, ==, 0);

  amgw_audio_play_tone (p->a, 1000, 0);
  assert_hears (p->b, "B hears A", 1000);
  amgw_audio_set_echo (p->a, FALSE);
  amgw_audio_get_stats (p->a, &s);
  g_assert_cmpfloat (s.tone_hz, ==, 0);
  amgw_audio_get_stats (p->b, &s);
  packets = s.packets_in;
  g_assert_true (wait_stats (p->b, hears_silence, NULL, WAIT_MS, &s));
  log_stats ("B hears silence again", &s);
  g_assert_cmpuint (s.packets_in, >, packets + 10);
  g_assert_false (s.failed);
}

/* Garbage pushed among real packets: counted, dropped, and the real stream
 * is still heard. */
static void
test_garbage (Pair *p, gconstpointer data)
{
  GRand *rand = g_rand_new_with_seed (0x5eed);
  guint8 pkt[AMGW_AUDIO_MAX_RTP_BYTES + 100];
  AmgwAudioStats before, s;
  guint pushed = 0;

  amgw_audio_play_tone (p->a, 1000, 0);
  assert_hears (p->b, "B before garbage", 1000);
  amgw_audio_get_stats (p->b, &before);

  for (guint round = 0; round < 20; round++) {
    gsize real_len;
    guint8 real[AMGW_AUDIO_MAX_RTP_BYTES];

    g_mutex_lock (&p->a_to_b.lock);
    real_len = p->a_to_b.last_len;
    memcpy (real, p->a_to_b.last, real_len);
    g_mutex_unlock (&p->a_to_b.lock);
    g_assert_cmpuint (real_len, >=, 12);

    /* Random bytes of random sizes, including empty and oversized. */
    for (guint i = 0; i < 10; i++) {
      gsize len = (gsize) g_rand_int_range (rand, 0, sizeof pkt);
      for (gsize j = 0; j < len; j++)
        pkt[j] = (guint8) g_rand_int (rand);
      amgw_audio_push_rtp (p->b, pkt, len);
      pushed++;
    }
    amgw_audio_push_rtp (p->b, NULL, 0);
    amgw_audio_push_rtp (p->b, pkt, sizeof pkt);
    pushed += 2;

    /* Truncated RTP: a real header cut short, 15 CSRCs announced, an
     * extension running past the end, padding longer than the packet. */
    memcpy (pkt, real, real_len);
    amgw_audio_push_rtp (p->b, pkt, 11);
    pkt[0] = 0x8f;
    amgw_audio_push_rtp (p->b, pkt, 20);
    pkt[0] = 0x90;
    pkt[12] = 0xbe; pkt[13] = 0xde; pkt[14] = 0xff; pkt[15] = 0xff;
    amgw_audio_push_rtp (p->b, pkt, real_len);
    memcpy (pkt, real, real_len);
    pkt[0] = 0xa0;
    pkt[real_len - 1] = 0xff;
    amgw_audio_push_rtp (p->b, pkt, real_len);
    pushed += 4;

    /* Right shape, wrong PT; right PT, stray SSRC; RTCP. */
    memcpy (pkt, real, real_len);
    pkt[1] = (guint8) ((pkt[1] & 0x80) | ((pkt[1] + 1) & 0x7f));
    amgw_audio_push_rtp (p->b, pkt, real_len);
    memcpy (pkt, real, real_len);
    pkt[8] ^= 0x5a;
    amgw_audio_push_rtp (p->b, pkt, real_len);
    memcpy (pkt, real, real_len);
    pkt[1] = 200;
    amgw_audio_push_rtp (p->b, pkt, 28);
    pushed += 3;

    /* Valid header of the real stream, the next sequence number, payload
     * garbage: it reaches the decoder ahead of the real packet. */
    memcpy (pkt, real, real_len);
    {
      guint16 seq = (guint16) ((pkt[2] << 8 | pkt[3]) + 1);
      pkt[2] = (guint8) (seq >> 8);
      pkt[3] = (guint8) seq;
    }
    for (gsize j = 12; j < real_len; j++)
      pkt[j] = (guint8) g_rand_int (rand);
    amgw_audio_push_rtp (p->b, pkt, real_len);
    pushed++;

    spin_ms (20);
  }

  amgw_audio_get_stats (p->b, &s);
  log_stats ("B after garbage", &s);
  g_assert_cmpuint (s.packets_in, >=, before.packets_in + pushed);
  /* All but the 20 corrupt-payload packets are refused (random bytes pass
   * the header checks with a chance well under 1 %). */
  g_assert_cmpuint (s.packets_invalid, >=, before.packets_invalid + pushed - 20 - 10);
  g_assert_false (s.failed);

  /* Still hearing the tone afterwards (the window must clear the garbage). */
  spin_ms (600);
  assert_hears (p->b, "B after garbage", 1000);
  g_rand_free (rand);
}

typedef struct {
  GMutex lock;
  AmgwAudio *targets[3];
} Fanout;

static void
fanout_send (const guint8 *rtp, gsize len, gpointer user_data)
{
  Fanout *f = user_data;

  g_mutex_lock (&f->lock);
  for (guint i = 0; i < G_N_ELEMENTS (f->targets); i++)
    if (f->targets[i] != NULL)
      amgw_audio_push_rtp (f->targets[i], rtp, len);
  g_mutex_unlock (&f->lock);
}

/* The receiving SSRC: the expected one is heard, another is refused, and one
 * format passed for both directions (our SSRC as the remote's) means any. */
static void
test_ssrc (void)
{
  AmgwAudioFormat a_send = format_for (AMGW_AUDIO_PCMU, 0x11111111);
  AmgwAudioFormat expect = format_for (AMGW_AUDIO_PCMU, 0x11111111);
  AmgwAudioFormat other = format_for (AMGW_AUDIO_PCMU, 0x99999999);
  AmgwAudioFormat both = format_for (AMGW_AUDIO_PCMU, 0x77777777);
  AmgwAudioFormat any = format_for (AMGW_AUDIO_PCMU, 0);
  Fanout f = { 0 };
  AmgwAudio *a;
  AmgwAudioStats s;
  GError *error = NULL;

  g_mutex_init (&f.lock);
  f.targets[0] = amgw_audio_new (&any, &expect, NULL, NULL, &error);
  g_assert_no_error (error);
  f.targets[1] = amgw_audio_new (&any, &other, NULL, NULL, &error);
  g_assert_no_error (error);
  f.targets[2] = amgw_audio_new (&both, &both, NULL, NULL, &error);
  g_assert_no_error (error);
  a = amgw_audio_new (&a_send, &any, fanout_send, &f, &error);
  g_assert_no_error (error);

  amgw_audio_play_tone (a, 1000, 0);
  assert_hears (f.targets[0], "expected SSRC", 1000);
  assert_hears (f.targets[2], "one format for both", 1000);
  amgw_audio_get_stats (f.targets[1], &s);
  log_stats ("other SSRC", &s);
  g_assert_cmpuint (s.packets_in, >, 40);
  g_assert_cmpuint (s.packets_invalid, ==, s.packets_in);
  g_assert_cmpfloat (s.frequency_hz, ==, 0);

  amgw_audio_free (a);
  for (guint i = 0; i < G_N_ELEMENTS (f.targets); i++)
    amgw_audio_free (f.targets[i]);
  g_mutex_clear (&f.lock);
}

/* Hold stops packets; resume keeps sequence numbers contiguous and marks the
 * first packet. */
static void
test_hold (Pair *p, gconstpointer data)
{
  AmgwAudioStats s;
  guint64 held, markers;

  amgw_audio_play_tone (p->a, 1000, 0);
  g_assert_true (wait_stats (p->b, packets_over, GUINT_TO_POINTER (10), WAIT_MS, &s));
  g_mutex_lock (&p->a_to_b.lock);
  markers = p->a_to_b.markers;
  g_mutex_unlock (&p->a_to_b.lock);
  g_assert_cmpuint (markers, >=, 1);

  amgw_audio_set_sending (p->a, FALSE);
  spin_ms (100);
  held = route_packets (&p->a_to_b);
  spin_ms (400);
  g_assert_cmpuint (route_packets (&p->a_to_b), ==, held);

  amgw_audio_set_sending (p->a, TRUE);
  spin_ms (300);
  g_assert_cmpuint (route_packets (&p->a_to_b), >, held + 5);
  g_mutex_lock (&p->a_to_b.lock);
  g_assert_false (p->a_to_b.seq_broken);
  g_assert_cmpuint (p->a_to_b.markers, ==, markers + 1);
  g_mutex_unlock (&p->a_to_b.lock);
}

/* Freed while packets flow both ways, and right after creation: no send
 * call after free returns. */
static void
test_free_while_running (void)
{
  AmgwAudioFormat fmt = format_for (AMGW_AUDIO_OPUS, 0);
  Pair p;
  guint64 after;
  GError *error = NULL;

  for (guint i = 0; i < 3; i++) {
    AmgwAudio *quick = amgw_audio_new (&fmt, &fmt, NULL, NULL, &error);
    g_assert_no_error (error);
    if (i > 0)
      spin_ms (i * 30);
    amgw_audio_free (quick);
  }

  pair_setup (&p, GINT_TO_POINTER (AMGW_AUDIO_OPUS));
  amgw_audio_play_tone (p.a, 1000, 200);
  amgw_audio_set_echo (p.b, TRUE);
  spin_ms (500);
  g_assert_cmpuint (route_packets (&p.a_to_b), >, 0);

  /* A goes while it sends into B and B sends into it. */
  route_set_target (&p.b_to_a, NULL);
  amgw_audio_free (p.a);
  after = route_packets (&p.a_to_b);
  spin_ms (200);
  g_assert_cmpuint (route_packets (&p.a_to_b), ==, after);

  /* B goes while A's last packets may still sit in its queue. */
  amgw_audio_free (p.b);
  after = route_packets (&p.b_to_a);
  spin_ms (100);
  g_assert_cmpuint (route_packets (&p.b_to_a), ==, after);
  g_mutex_clear (&p.a_to_b.lock);
  g_mutex_clear (&p.b_to_a.lock);
}

static void
test_bad_formats (void)
{
  struct { AmgwAudioCodec codec; guint pt, clock_rate; } bad[] = {
    { AMGW_AUDIO_OPUS, 0, 48000 },
    { AMGW_AUDIO_OPUS, 111, 8000 },
    { AMGW_AUDIO_G722, 9, 16000 },
    { AMGW_AUDIO_PCMU, 8, 8000 },
    { AMGW_AUDIO_PCMA, 200, 8000 },
    { (AmgwAudioCodec) 42, 96, 8000 },
  };
  AmgwAudioFormat good = format_for (AMGW_AUDIO_PCMU, 0);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    AmgwAudioFormat f = { .codec = bad[i].codec, .pt = bad[i].pt, .clock_rate = bad[i].clock_rate };
    GError *error = NULL;

    g_assert_null (amgw_audio_new (&f, &good, NULL, NULL, &error));
    g_assert_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_null (amgw_audio_new (&good, &f, NULL, NULL, &error));
    g_assert_error (error, AMGW_AUDIO_ERROR, AMGW_AUDIO_ERROR_INVALID);
    g_clear_error (&error);
  }
}

static double
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static guint
count_threads (void)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  if (dir == NULL)
    return 0;
  while (g_dir_read_name (dir) != NULL)
    n++;
  g_dir_close (dir);
  return n;
}

/* -m perf: CPU of one AmgwAudio pair (tone one way, echo back) over 5 s. */
static void
test_cpu (Pair *p, gconstpointer data)
{
  double t0, cpu;

  amgw_audio_play_tone (p->a, 1000, 0);
  amgw_audio_set_echo (p->b, TRUE);
  spin_ms (1000);
  g_test_message ("%s: %u threads in the process with 2 objects running", g_test_get_path (),
      count_threads ());
  t0 = cpu_seconds ();
  spin_ms (5000);
  cpu = cpu_seconds () - t0;
  g_test_message ("%s: %.2f %% of a core per running AmgwAudio (%.3f s of CPU in 5 s, 2 objects)",
      g_test_get_path (), cpu / 5 / 2 * 100, cpu);
}

int
main (int argc, char **argv)
{
  static const struct { const char *name; AmgwAudioCodec codec; } codecs[] = {
    { "opus", AMGW_AUDIO_OPUS },
    { "g722", AMGW_AUDIO_G722 },
    { "pcmu", AMGW_AUDIO_PCMU },
    { "pcma", AMGW_AUDIO_PCMA },
  };

  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (codecs); i++) {
    g_autofree char *path = g_strdup_printf ("/audio/%s/tone-then-echo", codecs[i].name);
    g_test_add (path, Pair, GINT_TO_POINTER (codecs[i].codec), pair_setup, test_tone_then_echo,
        pair_teardown);
  }
  g_test_add ("/audio/opus/silence", Pair, GINT_TO_POINTER (AMGW_AUDIO_OPUS), pair_setup,
      test_silence, pair_teardown);
  g_test_add ("/audio/pcmu/silence", Pair, GINT_TO_POINTER (AMGW_AUDIO_PCMU), pair_setup,
      test_silence, pair_teardown);
  g_test_add ("/audio/opus/garbage", Pair, GINT_TO_POINTER (AMGW_AUDIO_OPUS), pair_setup,
      test_garbage, pair_teardown);
  g_test_add ("/audio/pcma/hold", Pair, GINT_TO_POINTER (AMGW_AUDIO_PCMA), pair_setup,
      test_hold, pair_teardown);
  g_test_add_func ("/audio/pcmu/ssrc", test_ssrc);
  g_test_add_func ("/audio/free-while-running", test_free_while_running);
  g_test_add_func ("/audio/bad-formats", test_bad_formats);
  if (g_test_perf ()) {
    g_test_add ("/audio/opus/cpu", Pair, GINT_TO_POINTER (AMGW_AUDIO_OPUS), pair_setup,
        test_cpu, pair_teardown);
    g_test_add ("/audio/pcmu/cpu", Pair, GINT_TO_POINTER (AMGW_AUDIO_PCMU), pair_setup,
        test_cpu, pair_teardown);
  }
  return g_test_run ();
}
