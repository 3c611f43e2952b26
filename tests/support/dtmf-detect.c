/* DTMF detection for tests.  See dtmf-detect.h. */
#include "dtmf-detect.h"

#include <math.h>
#include <string.h>

#define DTMF_MIN_RATE 4000
#define DTMF_MAX_RATE 192000
#define DTMF_MAX_TONES 4096        /* far above any test's digits */
/* A block that is no digit but holds this much of a tone pair's energy
 * shows where that tone starts or ends. */
#define DTMF_EDGE_FRACTION 0.2

static const double row_hz[4] = { 697, 770, 852, 941 };
static const double col_hz[4] = { 1209, 1336, 1477, 1633 };
/* The keypad: row by row. */
static const char keypad[4][4] = {
  { '1', '2', '3', 'A' },
  { '4', '5', '6', 'B' },
  { '7', '8', '9', 'C' },
  { '*', '0', '#', 'D' },
};

/* What one block shows. */
typedef struct {
  char digit;                  /* '\0': none */
  gint pair;                   /* the strongest row * 4 + column; -1 in silence */
  double row_dbfs, col_dbfs;
  double fraction;             /* the two tones' share of the block's energy */
} Block;

struct _AmgwInbandDtmf {
  AmgwInbandDtmfParams p;
  guint rate;
  guint block;                 /* samples per block */
  guint hop;                   /* samples between block starts */
  guint min_blocks;            /* blocks a digit must hold */
  guint min_gap;               /* samples */
  double coeff[8];             /* Goertzel: 2 cos (2 pi f / rate), rows then columns */
  double *buf;                 /* the block being filled, scaled to [-1, 1) */
  guint fill;
  guint64 buf_start;           /* the position of buf[0] */
  guint64 position;            /* samples pushed */
  gboolean finished;

  /* The tone being followed (tone_digit != '\0') */
  char tone_digit;
  gint tone_pair;
  guint64 tone_first;          /* estimated start */
  guint64 tone_last_end;       /* estimated end so far */
  guint tone_blocks;
  double twist_sum;
  double max_row, max_col;
  double inner_fraction;       /* the lowest of the blocks inside the tone, 2 if none yet */
  double max_fraction;
  double pending_fraction;     /* the previous block's, < 0 when it was the first */
  gboolean reported;           /* in @tones (its last element) */
  Block prev;                  /* the block before */
  gboolean prev_hit;           /* it held the tone's digit */

  GArray *tones;               /* AmgwInbandDtmfTone */
};

void
amgw_inband_dtmf_params_init (AmgwInbandDtmfParams *params)
{
  g_return_if_fail (params != NULL);
  params->block_ms = 20;
  params->min_level_dbfs = -36;
  params->max_normal_twist_db = 8;
  params->max_reverse_twist_db = 4;
  params->min_peak_ratio_db = 6;
  params->min_tone_fraction = 0.8;
  params->min_tone_ms = 40;
  params->min_gap_ms = 25;
}

AmgwInbandDtmf *
amgw_inband_dtmf_new (guint rate, const AmgwInbandDtmfParams *params)
{
  AmgwInbandDtmf *d;

  g_return_val_if_fail (rate >= DTMF_MIN_RATE && rate <= DTMF_MAX_RATE, NULL);
  d = g_new0 (AmgwInbandDtmf, 1);
  d->prev.pair = -1;
  if (params != NULL)
    d->p = *params;
  else
    amgw_inband_dtmf_params_init (&d->p);
  d->p.block_ms = CLAMP (d->p.block_ms, 10, 20);
  d->rate = rate;
  d->block = rate * d->p.block_ms / 1000;
  d->hop = d->block / 2;
  /* A tone of min_tone_ms holds at least (min_tone_ms - block) / hop whole
   * blocks, however it falls on them (blocks it fills only partly may not
   * count: their spectrum is wider).  Two at least. */
  d->min_blocks = d->p.min_tone_ms > d->p.block_ms
      ? MAX (2, (d->p.min_tone_ms - d->p.block_ms) * 2 / d->p.block_ms) : 2;
  d->min_gap = rate * d->p.min_gap_ms / 1000;
  for (guint i = 0; i < 4; i++) {
    d->coeff[i] = 2 * cos (2 * G_PI * row_hz[i] / rate);
    d->coeff[4 + i] = 2 * cos (2 * G_PI * col_hz[i] / rate);
  }
  d->buf = g_new (double, d->block);
  d->tones = g_array_new (FALSE, FALSE, sizeof (AmgwInbandDtmfTone));
  return d;
}

void
amgw_inband_dtmf_free (AmgwInbandDtmf *d)
{
  if (d == NULL)
    return;
  g_free (d->buf);
  g_array_unref (d->tones);
  g_free (d);
}

/* |X(f)|^2 of the block at the filter's frequency (Goertzel). */
static double
goertzel (const double *x, guint n, double coeff)
{
  double s1 = 0, s2 = 0;

  for (guint i = 0; i < n; i++) {
    double s0 = x[i] + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

static double
to_db (double power)
{
  return power > 1e-20 ? 10 * log10 (power) : -200;
}

/* The strongest of four powers, and whether it stands @ratio above the
 * other three. */
static guint
strongest (const double *p, double ratio, gboolean *clear)
{
  guint best = 0;

  for (guint i = 1; i < 4; i++)
    if (p[i] > p[best])
      best = i;
  *clear = TRUE;
  for (guint i = 0; i < 4; i++)
    if (i != best && p[i] * ratio > p[best])
      *clear = FALSE;
  return best;
}

static void
analyse_block (AmgwInbandDtmf *d, Block *b)
{
  const guint n = d->block;
  double energy = 0, p[8], row_power, col_power, twist;
  double ratio = pow (10, d->p.min_peak_ratio_db / 10);
  guint r, c;
  gboolean row_clear, col_clear;

  memset (b, 0, sizeof *b);
  b->pair = -1;
  b->row_dbfs = b->col_dbfs = -200;
  for (guint i = 0; i < n; i++)
    energy += d->buf[i] * d->buf[i];
  if (energy <= 0)
    return;
  /* A sine of amplitude A over n samples: |X|^2 = (A n / 2)^2, so its mean
   * power A^2 / 2 is 2 |X|^2 / n^2. */
  for (guint i = 0; i < 8; i++)
    p[i] = 2 * goertzel (d->buf, n, d->coeff[i]) / ((double) n * n);
  r = strongest (p, ratio, &row_clear);
  c = strongest (p + 4, ratio, &col_clear);
  row_power = p[r];
  col_power = p[4 + c];
  b->row_dbfs = to_db (row_power);
  b->col_dbfs = to_db (col_power);
  b->fraction = (row_power + col_power) * n / energy;
  b->pair = (gint) (r * 4 + c);
  twist = b->row_dbfs - b->col_dbfs;
  if (!row_clear || !col_clear)
    return;
  if (b->row_dbfs < d->p.min_level_dbfs || b->col_dbfs < d->p.min_level_dbfs)
    return;
  if (twist > d->p.max_normal_twist_db || -twist > d->p.max_reverse_twist_db)
    return;
  if (b->fraction < d->p.min_tone_fraction)
    return;
  b->digit = keypad[r][c];
}

/* The tone followed so far has ended. */
static void
tone_close (AmgwInbandDtmf *d)
{
  d->tone_digit = '\0';
  d->reported = FALSE;
}

static void
tone_update_report (AmgwInbandDtmf *d)
{
  AmgwInbandDtmfTone *t;

  if (!d->reported) {
    AmgwInbandDtmfTone fresh = { .digit = d->tone_digit };
    if (d->tone_blocks < d->min_blocks || d->tones->len >= DTMF_MAX_TONES)
      return;
    g_array_append_val (d->tones, fresh);
    d->reported = TRUE;
  }
  t = &g_array_index (d->tones, AmgwInbandDtmfTone, d->tones->len - 1);
  t->start = d->tone_first;
  t->end = d->tone_last_end;
  t->row_dbfs = d->max_row;
  t->col_dbfs = d->max_col;
  t->twist_db = d->twist_sum / d->tone_blocks;
  /* The edge blocks hold part of the tone: the inner ones say how clean it is. */
  t->fraction = d->inner_fraction <= 1 ? d->inner_fraction : d->max_fraction;
  t->blocks = d->tone_blocks;
}

/* How much of @b the tone covers, in samples: a clean block that holds
 * a tone over part of its length has that share of its energy in it. */
static guint64
covered (AmgwInbandDtmf *d, const Block *b)
{
  return (guint64) lrint (CLAMP (b->fraction, 0, 1) * d->block);
}

/* Whether @b (not itself a digit) holds the edge of a tone of @pair. */
static gboolean
is_edge_of (const Block *b, gint pair)
{
  return b->pair == pair && b->fraction >= DTMF_EDGE_FRACTION;
}

/* The block at d->buf_start has been analysed into @b. */
static void
follow (AmgwInbandDtmf *d, const Block *b)
{
  guint64 start = d->buf_start, end = start + d->block;
  gboolean prev_hit = d->prev_hit;

  d->prev_hit = FALSE;
  if (d->tone_digit != '\0' && b->digit != d->tone_digit) {
    /* The block after the tone's last one: it ends in there. */
    if (prev_hit && is_edge_of (b, d->tone_pair)) {
      d->tone_last_end = MAX (d->tone_last_end, start + covered (d, b));
      tone_update_report (d);
    }
    /* Another digit, or none for min_gap after the tone: it is over. */
    if (b->digit != '\0' || start + d->hop >= d->tone_last_end + d->min_gap)
      tone_close (d);
  }
  if (b->digit == '\0') {
    d->prev = *b;
    return;
  }
  if (d->tone_digit == '\0') {
    d->tone_digit = b->digit;
    d->tone_pair = b->pair;
    d->tone_first = end - covered (d, b);
    /* The block before holds its start? */
    if (start >= d->hop && is_edge_of (&d->prev, b->pair))
      d->tone_first = MIN (d->tone_first, start - d->hop + d->block - covered (d, &d->prev));
    d->tone_last_end = 0;
    d->tone_blocks = 0;
    d->twist_sum = 0;
    d->max_row = d->max_col = -200;
    d->inner_fraction = 2;
    d->max_fraction = 0;
    d->pending_fraction = -1;
  }
  /* The previous block was not the last: if not the first either, it lay
   * inside the tone. */
  if (d->pending_fraction >= 0)
    d->inner_fraction = MIN (d->inner_fraction, d->pending_fraction);
  d->pending_fraction = d->tone_blocks > 0 ? b->fraction : -1;
  d->max_fraction = MAX (d->max_fraction, b->fraction);
  d->tone_blocks++;
  d->tone_last_end = MAX (d->tone_last_end, start + covered (d, b));
  d->twist_sum += b->row_dbfs - b->col_dbfs;
  d->max_row = MAX (d->max_row, b->row_dbfs);
  d->max_col = MAX (d->max_col, b->col_dbfs);
  d->prev_hit = TRUE;
  d->prev = *b;
  tone_update_report (d);
}

static void
push_one (AmgwInbandDtmf *d, double v)
{
  Block b;

  d->buf[d->fill++] = v;
  d->position++;
  if (d->fill < d->block)
    return;
  analyse_block (d, &b);
  follow (d, &b);
  memmove (d->buf, d->buf + d->hop, (d->block - d->hop) * sizeof (double));
  d->fill = d->block - d->hop;
  d->buf_start += d->hop;
}

void
amgw_inband_dtmf_push (AmgwInbandDtmf *d, const gint16 *samples, gsize n)
{
  g_return_if_fail (d != NULL && (samples != NULL || n == 0));
  if (d->finished)
    return;
  for (gsize i = 0; i < n; i++)
    push_one (d, samples[i] / 32768.0);
}

void
amgw_inband_dtmf_push_g711 (AmgwInbandDtmf *d, const guint8 *payload, gsize n,
    gboolean alaw)
{
  g_return_if_fail (d != NULL && (payload != NULL || n == 0));
  if (d->finished)
    return;
  for (gsize i = 0; i < n; i++)
    push_one (d, (alaw ? amgw_test_alaw_to_linear (payload[i])
                       : amgw_test_ulaw_to_linear (payload[i])) / 32768.0);
}

void
amgw_inband_dtmf_push_silence (AmgwInbandDtmf *d, gsize n)
{
  g_return_if_fail (d != NULL);
  if (d->finished)
    return;
  for (gsize i = 0; i < n; i++)
    push_one (d, 0);
}

void
amgw_inband_dtmf_finish (AmgwInbandDtmf *d)
{
  g_return_if_fail (d != NULL);
  if (d->finished)
    return;
  /* The tail shorter than a block is not analysed: a tone ending there was
   * seen by the blocks before. */
  tone_close (d);
  d->finished = TRUE;
}

guint64
amgw_inband_dtmf_get_position (AmgwInbandDtmf *d)
{
  g_return_val_if_fail (d != NULL, 0);
  return d->position;
}

guint
amgw_inband_dtmf_get_rate (AmgwInbandDtmf *d)
{
  g_return_val_if_fail (d != NULL, 0);
  return d->rate;
}

const AmgwInbandDtmfTone *
amgw_inband_dtmf_get_tones (AmgwInbandDtmf *d, guint *n_tones)
{
  g_return_val_if_fail (d != NULL && n_tones != NULL, NULL);
  *n_tones = d->tones->len;
  return (const AmgwInbandDtmfTone *) d->tones->data;
}

char *
amgw_inband_dtmf_get_digits (AmgwInbandDtmf *d)
{
  GString *s;

  g_return_val_if_fail (d != NULL, NULL);
  s = g_string_sized_new (d->tones->len);
  for (guint i = 0; i < d->tones->len; i++)
    g_string_append_c (s, g_array_index (d->tones, AmgwInbandDtmfTone, i).digit);
  return g_string_free (s, FALSE);
}

char *
amgw_inband_dtmf_detect (const gint16 *samples, gsize n, guint rate,
    const AmgwInbandDtmfParams *params, GArray **tones)
{
  g_autoptr (AmgwInbandDtmf) d = amgw_inband_dtmf_new (rate, params);

  if (tones != NULL)
    *tones = NULL;
  if (d == NULL)
    return NULL;
  amgw_inband_dtmf_push (d, samples, n);
  amgw_inband_dtmf_finish (d);
  if (tones != NULL)
    *tones = g_array_ref (d->tones);
  return amgw_inband_dtmf_get_digits (d);
}

/* ------------------------------------------------------------------------ */
/* G.711 */

/* µ-law: the code's bits inverted; a sign, a 3-bit segment and a 4-bit
 * step; magnitudes carry a bias of 132 (33 on the 14-bit scale). */
gint16
amgw_test_ulaw_to_linear (guint8 code)
{
  guint u = (guint8) ~code;
  guint seg = (u >> 4) & 7, step = u & 0x0f;
  gint mag = (gint) (((step << 3) + 0x84) << seg) - 0x84;

  return (gint16) ((u & 0x80) ? -mag : mag);
}

/* A-law: even bits inverted; sign bit set for positive values; segment 0
 * and 1 share a step size; each value decodes to the middle of its step. */
gint16
amgw_test_alaw_to_linear (guint8 code)
{
  guint a = code ^ 0x55;
  guint seg = (a >> 4) & 7, step = a & 0x0f;
  gint mag = seg == 0 ? (gint) (step << 4) + 8 : (gint) (((step << 4) + 0x108) << (seg - 1));

  return (gint16) ((a & 0x80) ? mag : -mag);
}
