/* Unit tests of the tests' DTMF detector (tests/support/dtmf-detect.c):
 * synthesized Q.23 tone pairs with gaps and noise, at several rates, block
 * sizes, chunkings and through G.711; and what must give no digit: single
 * tones, off-group pairs, speech-like sound, noise, silence. */
#include "dtmf-detect.h"

#include <math.h>
#include <string.h>

#define SEED 20240611

static const double row_hz[4] = { 697, 770, 852, 941 };
static const double col_hz[4] = { 1209, 1336, 1477, 1633 };
static const char keypad[] = "123A456B789C*0#D";

/* ------------------------------------------------------------------------ */
/* Synthesis                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct {
  guint rate;
  GArray *x;            /* double, full scale = 1.0 */
  GRand *rand;
} Synth;

/* The amplitude (of full scale) of a sine at @dbfs (RMS; a full-scale sine
 * is -3.01 dBFS). */
static double
amp (double dbfs)
{
  return sqrt (2 * pow (10, dbfs / 10));
}

static Synth *
synth_new (guint rate)
{
  Synth *s = g_new0 (Synth, 1);

  s->rate = rate;
  s->x = g_array_new (FALSE, TRUE, sizeof (double));
  s->rand = g_rand_new_with_seed (SEED + rate);
  return s;
}

static void
synth_free (Synth *s)
{
  g_array_unref (s->x);
  g_rand_free (s->rand);
  g_free (s);
}

static gsize
ms_to_samples (Synth *s, double ms)
{
  return (gsize) llround (ms * s->rate / 1000);
}

static void
synth_silence (Synth *s, double ms)
{
  g_array_set_size (s->x, s->x->len + ms_to_samples (s, ms));
}

/* Two sines, each at its own level, random phases. */
static void
synth_pair (Synth *s, double f1, double db1, double f2, double db2, double ms)
{
  gsize n = ms_to_samples (s, ms), base = s->x->len;
  double a1 = amp (db1), a2 = amp (db2);
  double ph1 = g_rand_double_range (s->rand, 0, 2 * G_PI);
  double ph2 = g_rand_double_range (s->rand, 0, 2 * G_PI);

  g_array_set_size (s->x, base + n);
  for (gsize i = 0; i < n; i++) {
    double t = (double) i / s->rate;
    g_array_index (s->x, double, base + i) = a1 * sin (2 * G_PI * f1 * t + ph1)
        + a2 * sin (2 * G_PI * f2 * t + ph2);
  }
}

/* @digit's pair: @dbfs per tone, the row @twist dB above the column. */
static void
synth_digit (Synth *s, char digit, double dbfs, double twist, double ms)
{
  const char *at = strchr (keypad, digit);
  guint pos;

  g_assert_nonnull (at);
  pos = at - keypad;
  synth_pair (s, row_hz[pos / 4], dbfs + twist / 2, col_hz[pos % 4], dbfs - twist / 2, ms);
}

static double
gauss (GRand *r)
{
  double u1 = g_rand_double_range (r, 1e-12, 1), u2 = g_rand_double (r);
  return sqrt (-2 * log (u1)) * cos (2 * G_PI * u2);
}

/* White noise at @dbfs over everything so far. */
static void
synth_add_noise (Synth *s, double dbfs)
{
  double sigma = sqrt (pow (10, dbfs / 10));

  for (guint i = 0; i < s->x->len; i++)
    g_array_index (s->x, double, i) += sigma * gauss (s->rand);
}

/* Speech-like sound for @ms: voiced syllables (a glottal pulse train whose
 * pitch glides between 90 and 250 Hz, through two formants that move from
 * vowel to vowel), unvoiced hiss between them, a syllable envelope of about
 * 4 Hz; @peak_dbfs its loudest 10 ms. */
static void
synth_speech (Synth *s, double ms, double peak_dbfs)
{
  gsize n = ms_to_samples (s, ms), base = s->x->len;
  double phase = 0, f0 = 140, f0_target = 140, f1 = 600, f2 = 1500, f1t = 600, f2t = 1500;
  /* Two-pole resonators for the formants. */
  double y1[2] = { 0, 0 }, y2[2] = { 0, 0 };
  guint syllable = 0, syllable_len = 1;
  gboolean voiced = TRUE;

  g_array_set_size (s->x, base + n);
  for (gsize i = 0; i < n; i++) {
    double src, out, r1, r2, c1, c2, env;

    if (--syllable_len == 0 || syllable == 0) {
      syllable++;
      syllable_len = (guint) (s->rate * g_rand_double_range (s->rand, 0.12, 0.3));
      voiced = g_rand_double (s->rand) < 0.75;
      f0_target = g_rand_double_range (s->rand, 90, 250);
      f1t = g_rand_double_range (s->rand, 300, 900);
      f2t = g_rand_double_range (s->rand, 900, 2500);
    }
    f0 += (f0_target - f0) * 20.0 / s->rate;
    f1 += (f1t - f1) * 30.0 / s->rate;
    f2 += (f2t - f2) * 30.0 / s->rate;
    phase += f0 / s->rate;
    if (voiced) {
      /* A narrow pulse per pitch period: rich in harmonics. */
      src = phase - floor (phase) < 0.1 ? 1 : 0;
    } else {
      src = 0.3 * gauss (s->rand);
    }
    r1 = exp (-G_PI * 80.0 / s->rate);
    r2 = exp (-G_PI * 120.0 / s->rate);
    c1 = 2 * r1 * cos (2 * G_PI * f1 / s->rate);
    c2 = 2 * r2 * cos (2 * G_PI * f2 / s->rate);
    out = src + c1 * y1[0] - r1 * r1 * y1[1];
    y1[1] = y1[0];
    y1[0] = out;
    out = out + c2 * y2[0] - r2 * r2 * y2[1];
    y2[1] = y2[0];
    y2[0] = out;
    env = 0.5 - 0.5 * cos (2 * G_PI * (double) (syllable_len) / (s->rate * 0.25));
    g_array_index (s->x, double, base + i) = out * env;
  }
  /* Scale to @peak_dbfs over the loudest 10 ms. */
  {
    double peak = 0;
    gsize w = ms_to_samples (s, 10);
    for (gsize i = base; i + w <= base + n; i += w) {
      double e = 0;
      for (gsize j = 0; j < w; j++)
        e += g_array_index (s->x, double, i + j) * g_array_index (s->x, double, i + j);
      peak = MAX (peak, e / w);
    }
    if (peak > 0) {
      double g = sqrt (pow (10, peak_dbfs / 10) / peak);
      for (gsize i = base; i < base + n; i++)
        g_array_index (s->x, double, i) *= g;
    }
  }
}

/* 16-bit samples, clipped. (transfer full) */
static gint16 *
synth_pcm (Synth *s)
{
  gint16 *pcm = g_new (gint16, s->x->len ? s->x->len : 1);

  for (guint i = 0; i < s->x->len; i++)
    pcm[i] = (gint16) CLAMP (lrint (g_array_index (s->x, double, i) * 32768), -32768, 32767);
  return pcm;
}

/* G.711 by the nearest code (what an encoder's quantizer does, give or
 * take a half step). */
static guint8
g711_encode (gint16 v, gboolean alaw)
{
  guint8 best = 0;
  gint best_err = G_MAXINT;

  for (guint c = 0; c < 256; c++) {
    gint d = (alaw ? amgw_test_alaw_to_linear (c) : amgw_test_ulaw_to_linear (c)) - v;
    if (ABS (d) < best_err) {
      best_err = ABS (d);
      best = (guint8) c;
    }
  }
  return best;
}

/* ------------------------------------------------------------------------ */
/* Detection                                                                 */
/* ------------------------------------------------------------------------ */

typedef enum { FEED_WHOLE, FEED_CHUNKS, FEED_ULAW, FEED_ALAW } Feed;

/* Runs the detector over @s; returns the digits, @tones (nullable) the
 * tones.  FEED_CHUNKS pushes random chunk sizes (1-400 samples). */
static char *
detect (Synth *s, const AmgwInbandDtmfParams *params, Feed feed, GArray **tones)
{
  g_autofree gint16 *pcm = synth_pcm (s);
  g_autoptr (AmgwInbandDtmf) d = amgw_inband_dtmf_new (s->rate, params);
  const AmgwInbandDtmfTone *t;
  guint n_tones;
  gsize n = s->x->len;

  g_assert_nonnull (d);
  switch (feed) {
    case FEED_WHOLE:
      amgw_inband_dtmf_push (d, pcm, n);
      break;
    case FEED_CHUNKS:
      for (gsize i = 0; i < n;) {
        gsize k = (gsize) g_rand_int_range (s->rand, 1, 401);     /* not in MIN (): once */
        k = MIN (k, n - i);
        amgw_inband_dtmf_push (d, pcm + i, k);
        i += k;
      }
      break;
    case FEED_ULAW:
    case FEED_ALAW: {
      /* 20 ms payloads, as RTP carries them. */
      g_autofree guint8 *g = g_new (guint8, n ? n : 1);
      for (gsize i = 0; i < n; i++)
        g[i] = g711_encode (pcm[i], feed == FEED_ALAW);
      for (gsize i = 0; i < n; i += 160)
        amgw_inband_dtmf_push_g711 (d, g + i, MIN (160, n - i), feed == FEED_ALAW);
      break;
    }
  }
  g_assert_cmpuint (amgw_inband_dtmf_get_position (d), ==, n);
  amgw_inband_dtmf_finish (d);
  t = amgw_inband_dtmf_get_tones (d, &n_tones);
  if (tones) {
    *tones = g_array_new (FALSE, FALSE, sizeof (AmgwInbandDtmfTone));
    g_array_append_vals (*tones, t, n_tones);
  }
  return amgw_inband_dtmf_get_digits (d);
}

static AmgwInbandDtmfParams
params_block (guint block_ms)
{
  AmgwInbandDtmfParams p;

  amgw_inband_dtmf_params_init (&p);
  p.block_ms = block_ms;
  return p;
}

/* ------------------------------------------------------------------------ */
/* G.711                                                                     */
/* ------------------------------------------------------------------------ */

static void
test_g711 (void)
{
  gint prev;

  /* µ-law: 0xff and 0x7f are the two zeros, 0x80/0x00 the extremes. */
  g_assert_cmpint (amgw_test_ulaw_to_linear (0xff), ==, 0);
  g_assert_cmpint (amgw_test_ulaw_to_linear (0x7f), ==, 0);
  g_assert_cmpint (amgw_test_ulaw_to_linear (0x80), ==, 32124);
  g_assert_cmpint (amgw_test_ulaw_to_linear (0x00), ==, -32124);
  g_assert_cmpint (amgw_test_ulaw_to_linear (0xfe), ==, 8);
  g_assert_cmpint (amgw_test_ulaw_to_linear (0xef), ==, 132);
  /* A-law: 0xd5 and 0x55 the smallest steps (+-8), 0xaa/0x2a the extremes. */
  g_assert_cmpint (amgw_test_alaw_to_linear (0xd5), ==, 8);
  g_assert_cmpint (amgw_test_alaw_to_linear (0x55), ==, -8);
  g_assert_cmpint (amgw_test_alaw_to_linear (0xaa), ==, 32256);
  g_assert_cmpint (amgw_test_alaw_to_linear (0x2a), ==, -32256);
  g_assert_cmpint (amgw_test_alaw_to_linear (0xc5), ==, 264);
  /* Both are odd-symmetric and monotonic over the positive codes. */
  prev = -1;
  for (guint m = 0; m < 128; m++) {
    guint8 u = (guint8) (0xff - m), a = (guint8) ((0x80 | m) ^ 0x55);
    gint vu = amgw_test_ulaw_to_linear (u), va = amgw_test_alaw_to_linear (a);

    g_assert_cmpint (amgw_test_ulaw_to_linear (u & 0x7f), ==, -vu);
    g_assert_cmpint (amgw_test_alaw_to_linear (a ^ 0x80), ==, -va);
    g_assert_cmpint (vu, >, prev);
    prev = vu;
  }
  prev = -1;
  for (guint m = 0; m < 128; m++) {
    gint va = amgw_test_alaw_to_linear ((guint8) ((0x80 | m) ^ 0x55));
    g_assert_cmpint (va, >, prev);
    prev = va;
  }
}

/* ------------------------------------------------------------------------ */
/* Digits found                                                              */
/* ------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  guint rate;
  guint block_ms;
  Feed feed;
  double noise_dbfs;           /* white noise; < -150: none */
} Variant;

static const Variant variants[] = {
  { "8k-20ms", 8000, 20, FEED_WHOLE, -200 },
  { "8k-20ms-noise", 8000, 20, FEED_WHOLE, -36 },
  { "8k-10ms-noise", 8000, 10, FEED_WHOLE, -40 },
  { "8k-chunks", 8000, 20, FEED_CHUNKS, -50 },
  { "8k-ulaw", 8000, 20, FEED_ULAW, -50 },
  { "8k-alaw", 8000, 20, FEED_ALAW, -50 },
  { "16k", 16000, 20, FEED_CHUNKS, -50 },
  { "44k1-15ms", 44100, 15, FEED_WHOLE, -50 },
  { "48k", 48000, 20, FEED_CHUNKS, -50 },
};

/* All sixteen keys as amgw plays them (100 ms tone, 100 ms gap, -16 dBFS
 * per tone), then a second round with a 1 s pause: each found once, where
 * it was, at its level. */
static void
test_all_keys (gconstpointer data)
{
  const Variant *v = data;
  AmgwInbandDtmfParams p = params_block (v->block_ms);
  Synth *s = synth_new (v->rate);
  g_autoptr (GArray) tones = NULL;
  g_autofree char *got = NULL;
  g_autofree char *want = g_strconcat (keypad, keypad, NULL);
  GArray *starts = g_array_new (FALSE, FALSE, sizeof (gsize));

  synth_silence (s, 137);
  for (guint round = 0; round < 2; round++) {
    for (guint i = 0; keypad[i]; i++) {
      gsize at = s->x->len;
      g_array_append_val (starts, at);
      synth_digit (s, keypad[i], -16.4, 0, 100);
      synth_silence (s, 100);
    }
    synth_silence (s, 1000);
  }
  if (v->noise_dbfs > -150)
    synth_add_noise (s, v->noise_dbfs);
  got = detect (s, &p, v->feed, &tones);
  g_assert_cmpstr (got, ==, want);
  for (guint i = 0; i < tones->len && i < starts->len; i++) {
    const AmgwInbandDtmfTone *t = &g_array_index (tones, AmgwInbandDtmfTone, i);
    double start_ms = ((double) t->start - g_array_index (starts, gsize, i)) * 1000 / v->rate;
    double len_ms = (double) (t->end - t->start) * 1000 / v->rate;

    if (i == 0)
      g_test_message ("'%c': %+.1f ms, %.1f ms long, row %.2f col %.2f dBFS, twist %+.2f dB, "
          "fraction %.3f, %u blocks", t->digit, start_ms, len_ms, t->row_dbfs, t->col_dbfs,
          t->twist_db, t->fraction, t->blocks);
    g_assert_cmpfloat (fabs (start_ms), <=, 3);
    g_assert_cmpfloat (fabs (len_ms - 100), <=, 5);
    g_assert_cmpfloat (fabs (t->row_dbfs + 16.4), <=, 1);
    g_assert_cmpfloat (fabs (t->col_dbfs + 16.4), <=, 1);
    g_assert_cmpfloat (fabs (t->twist_db), <=, 1);
    /* The energy share is an estimate: shorter blocks, rougher. */
    g_assert_cmpfloat (t->fraction, >, v->block_ms >= 15 ? 0.9 : 0.85);
  }
  g_array_unref (starts);
  synth_free (s);
}

/* A tone of @ms at @offset_ms into the audio, between silences: found? */
static char *
one_tone (guint rate, guint block_ms, char digit, double ms, double offset_ms)
{
  AmgwInbandDtmfParams p = params_block (block_ms);
  Synth *s = synth_new (rate);
  char *got;

  synth_silence (s, offset_ms);
  synth_digit (s, digit, -20, 0, ms);
  synth_silence (s, 200);
  synth_add_noise (s, -60);
  got = detect (s, &p, FEED_WHOLE, NULL);
  synth_free (s);
  return got;
}

/* Q.24: 40 ms must count, whatever the alignment to the blocks; 20 ms
 * must not. */
static void
test_duration (void)
{
  static const guint blocks[] = { 10, 20 };

  for (guint b = 0; b < G_N_ELEMENTS (blocks); b++) {
    for (double off = 0; off < 20; off += 1.25) {
      g_autofree char *d40 = one_tone (8000, blocks[b], '5', 40, 50 + off);
      g_autofree char *d60 = one_tone (8000, blocks[b], '9', 60, 50 + off);
      g_autofree char *d20 = one_tone (8000, blocks[b], '5', 20, 50 + off);
      g_autofree char *d2s = one_tone (8000, blocks[b], '#', 2000, 50 + off);

      g_assert_cmpstr (d40, ==, "5");
      g_assert_cmpstr (d60, ==, "9");
      g_assert_cmpstr (d20, ==, "");
      g_assert_cmpstr (d2s, ==, "#");
    }
  }
}

/* The same digit twice needs a gap between (40 ms is enough); a break of
 * 10 ms inside one tone does not repeat it; a different digit straight
 * after is a new digit. */
static void
test_gaps (void)
{
  static const guint blocks[] = { 10, 20 };

  for (guint b = 0; b < G_N_ELEMENTS (blocks); b++) {
    for (double off = 0; off < 20; off += 2.5) {
      AmgwInbandDtmfParams p = params_block (blocks[b]);
      Synth *s = synth_new (8000);
      g_autofree char *got = NULL;

      synth_silence (s, 30 + off);
      synth_digit (s, '5', -20, 0, 100);
      synth_silence (s, 40);                  /* a pause: "55" */
      synth_digit (s, '5', -20, 0, 100);
      synth_silence (s, 150);
      synth_digit (s, '8', -20, 0, 100);
      synth_silence (s, 10);                  /* a break: still one '8' */
      synth_digit (s, '8', -20, 0, 100);
      synth_silence (s, 150);
      synth_digit (s, '1', -20, 0, 80);       /* no gap: '1' then '2' */
      synth_digit (s, '2', -20, 0, 80);
      synth_silence (s, 150);
      synth_add_noise (s, -55);
      got = detect (s, &p, FEED_WHOLE, NULL);
      g_assert_cmpstr (got, ==, "55812");
      synth_free (s);
    }
  }
}

typedef struct {
  const char *name;
  double dbfs;                 /* per tone, on average */
  double twist;                /* row above column, dB */
  gboolean found;
} LevelCase;

/* Level floor (-36 dBFS) and twist limits (8 dB normal, 4 dB reverse). */
static const LevelCase level_cases[] = {
  { "loud", -6, 0, TRUE },
  { "amgw", -16.4, 0, TRUE },
  { "quiet", -32, 0, TRUE },
  { "below-floor", -40, 0, FALSE },
  { "normal-twist-6", -20, 6, TRUE },
  { "normal-twist-10", -20, 10, FALSE },
  { "reverse-twist-3", -20, -3, TRUE },
  { "reverse-twist-6", -20, -6, FALSE },
};

static void
test_levels (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (level_cases); i++) {
    const LevelCase *lc = &level_cases[i];
    AmgwInbandDtmfParams p = params_block (20);
    Synth *s = synth_new (8000);
    g_autoptr (GArray) tones = NULL;
    g_autofree char *got = NULL;

    synth_silence (s, 50);
    synth_digit (s, '6', lc->dbfs, lc->twist, 100);
    synth_silence (s, 100);
    synth_add_noise (s, -65);
    got = detect (s, &p, FEED_WHOLE, &tones);
    g_test_message ("%s: \"%s\"", lc->name, got);
    g_assert_cmpstr (got, ==, lc->found ? "6" : "");
    if (lc->found) {
      const AmgwInbandDtmfTone *t = &g_array_index (tones, AmgwInbandDtmfTone, 0);
      g_assert_cmpfloat (fabs (t->twist_db - lc->twist), <=, 0.5);
    }
    synth_free (s);
  }
}

/* A digit under noise at 10 dB below each tone is still found; buried in
 * noise louder than it, it is not (the tones' share of the energy). */
static void
test_noise (void)
{
  AmgwInbandDtmfParams p = params_block (20);
  Synth *s = synth_new (8000);
  g_autofree char *got = NULL;

  synth_silence (s, 100);
  synth_digit (s, '3', -20, 0, 100);
  synth_silence (s, 100);
  synth_digit (s, '0', -20, 0, 100);
  synth_silence (s, 100);
  synth_add_noise (s, -30);
  got = detect (s, &p, FEED_WHOLE, NULL);
  g_assert_cmpstr (got, ==, "30");
  synth_free (s);

  s = synth_new (8000);
  synth_silence (s, 100);
  synth_digit (s, '3', -20, 0, 100);
  synth_silence (s, 100);
  synth_add_noise (s, -14);
  g_clear_pointer (&got, g_free);
  got = detect (s, &p, FEED_WHOLE, NULL);
  g_assert_cmpstr (got, ==, "");
  synth_free (s);
}

/* ------------------------------------------------------------------------ */
/* No digits                                                                 */
/* ------------------------------------------------------------------------ */

static void
test_single_tones (void)
{
  AmgwInbandDtmfParams p = params_block (20);

  for (guint i = 0; i < 8; i++) {
    Synth *s = synth_new (8000);
    double hz = i < 4 ? row_hz[i] : col_hz[i - 4];
    g_autofree char *got = NULL;

    /* One tone alone (the other of the pair far below the floor). */
    synth_silence (s, 50);
    synth_pair (s, hz, -10, 2500, -90, 500);
    synth_silence (s, 50);
    synth_add_noise (s, -60);
    got = detect (s, &p, FEED_WHOLE, NULL);
    g_assert_cmpstr (got, ==, "");
    synth_free (s);
  }
}

/* Two rows (or two columns) together are no digit; nor a dial tone
 * (350 + 440 Hz), nor a 1 kHz test tone. */
static void
test_wrong_pairs (void)
{
  static const double pairs[][2] = {
    { 697, 852 }, { 770, 941 }, { 1209, 1477 }, { 1336, 1633 }, { 350, 440 }, { 1000, 1000 },
  };
  AmgwInbandDtmfParams p = params_block (20);

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++) {
    Synth *s = synth_new (8000);
    g_autofree char *got = NULL;

    synth_pair (s, pairs[i][0], -16, pairs[i][1], -16, 500);
    synth_add_noise (s, -60);
    got = detect (s, &p, FEED_WHOLE, NULL);
    g_assert_cmpstr (got, ==, "");
    synth_free (s);
  }
}

static void
test_silence (void)
{
  Synth *s = synth_new (8000);
  g_autofree char *got = NULL, *one_shot = NULL;
  g_autofree gint16 *pcm = NULL;

  synth_silence (s, 5000);
  got = detect (s, NULL, FEED_WHOLE, NULL);
  g_assert_cmpstr (got, ==, "");
  /* Nothing at all, and less than a block. */
  one_shot = amgw_inband_dtmf_detect (NULL, 0, 8000, NULL, NULL);
  g_assert_cmpstr (one_shot, ==, "");
  g_clear_pointer (&one_shot, g_free);
  pcm = synth_pcm (s);
  one_shot = amgw_inband_dtmf_detect (pcm, 100, 8000, NULL, NULL);
  g_assert_cmpstr (one_shot, ==, "");
  synth_free (s);
}

static void
test_noise_only (void)
{
  Synth *s = synth_new (8000);
  g_autofree char *got = NULL;

  synth_silence (s, 10000);
  synth_add_noise (s, -20);
  got = detect (s, NULL, FEED_WHOLE, NULL);
  g_assert_cmpstr (got, ==, "");
  synth_free (s);
}

/* Talk-off: speech-like sound gives no digit; a digit over it does. */
static void
test_speech (void)
{
  for (guint rate = 8000; rate <= 16000; rate *= 2) {
    Synth *s = synth_new (rate);
    g_autofree char *got = NULL;

    /* Loud: the level floor is no help. */
    synth_speech (s, 30000, -10);
    synth_add_noise (s, -60);
    got = detect (s, NULL, FEED_WHOLE, NULL);
    g_test_message ("speech-like sound at %u Hz, 30 s: \"%s\"", rate, got);
    g_assert_cmpstr (got, ==, "");
    synth_free (s);
  }
}

static void
test_speech_and_digit (void)
{
  Synth *s = synth_new (8000);
  g_autofree char *got = NULL;
  GArray *speech;

  /* amgw's level (-16.4 dBFS per tone) over speech-like sound 10 dB below. */
  synth_digit (s, '7', -16.4, 0, 150);
  synth_silence (s, 3000 - 150);
  speech = g_array_copy (s->x);
  g_array_set_size (s->x, 0);
  synth_speech (s, 3000, -23.4);
  for (guint i = 0; i < s->x->len && i < speech->len; i++)
    g_array_index (s->x, double, i) += g_array_index (speech, double, i);
  g_array_unref (speech);
  got = detect (s, NULL, FEED_WHOLE, NULL);
  g_assert_cmpstr (got, ==, "7");
  synth_free (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/dtmf-detect/g711", test_g711);
  for (guint i = 0; i < G_N_ELEMENTS (variants); i++) {
    g_autofree char *path = g_strdup_printf ("/dtmf-detect/all-keys/%s", variants[i].name);
    g_test_add_data_func (path, &variants[i], test_all_keys);
  }
  g_test_add_func ("/dtmf-detect/duration", test_duration);
  g_test_add_func ("/dtmf-detect/gaps", test_gaps);
  g_test_add_func ("/dtmf-detect/levels", test_levels);
  g_test_add_func ("/dtmf-detect/noise", test_noise);
  g_test_add_func ("/dtmf-detect/none/single-tones", test_single_tones);
  g_test_add_func ("/dtmf-detect/none/wrong-pairs", test_wrong_pairs);
  g_test_add_func ("/dtmf-detect/none/silence", test_silence);
  g_test_add_func ("/dtmf-detect/none/noise", test_noise_only);
  g_test_add_func ("/dtmf-detect/none/speech", test_speech);
  g_test_add_func ("/dtmf-detect/speech-and-digit", test_speech_and_digit);
  return g_test_run ();
}
