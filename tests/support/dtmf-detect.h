/* A DTMF detector for tests: finds the Q.23 tone pairs in 16-bit PCM, as a
 * meeting bridge's DTMF receiver would, to check what a peer heard (a WAV
 * recording) or what went on the wire (G.711 payloads decoded from a
 * capture).
 *
 * Written from the Q.23/Q.24 principles: the signal's power at the eight
 * DTMF frequencies (Goertzel filters, rectangular window) over blocks of
 * block_ms, the blocks overlapping by half.  A block holds a digit when
 *
 *  - one row (low group: 697, 770, 852, 941 Hz) and one column (high group:
 *    1209, 1336, 1477, 1633 Hz) each stand min_peak_ratio_db above the
 *    other three of their group;
 *  - both are above min_level_dbfs;
 *  - the twist (row level minus column level) is within
 *    [-max_reverse_twist_db, max_normal_twist_db];
 *  - the two tones carry min_tone_fraction of the block's energy (speech
 *    and noise spread theirs; a block half tone, half silence fails too).
 *
 * A digit is reported once it has held for about min_tone_ms, and once per
 * tone: a break shorter than min_gap_ms inside a tone does not repeat it.
 *
 * Levels are RMS in dBFS, 0 dB being the power of a square wave at full
 * scale: a full-scale sine is -3.01 dBFS, and a G.711 sine at -10 dBm0
 * about -16.4 dBFS (full-scale G.711, 32124, is +3.17 dBm0).
 *
 * Frequencies are not checked against Q.24's ±1.5 %/±3.5 % tolerances:
 * blocks of 10-20 ms cannot resolve them.
 *
 * Streaming: samples go in by any chunk size (amgw_inband_dtmf_push), or
 * as G.711 payloads; positions are counted in samples from the first one
 * pushed.  No I/O, no clock, no GLib main loop; not thread-safe.
 *
 * Named "in-band" apart from amgw's own AmgwDtmfDetector (amgw/relay.h),
 * which follows RFC 4733 events. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint block_ms;              /* analysis block, 10-20 ms; blocks overlap by half */
  double min_level_dbfs;       /* each tone's floor */
  double max_normal_twist_db;  /* row (low group) louder than column */
  double max_reverse_twist_db; /* column (high group) louder than row */
  double min_peak_ratio_db;    /* a group's tone above the group's other three */
  double min_tone_fraction;    /* of the block's energy in the two tones, 0-1 */
  guint min_tone_ms;           /* a digit must hold this long */
  guint min_gap_ms;            /* a shorter break does not end a digit */
} AmgwInbandDtmfParams;

/* The defaults: 20 ms, -36 dBFS (about -30 dBm0), twist 8 dB normal and
 * 4 dB reverse, 6 dB above the group, 80 % of the energy, 40 ms, 25 ms. */
void amgw_inband_dtmf_params_init (AmgwInbandDtmfParams *params);

/* One digit found. */
typedef struct {
  char digit;                  /* 0-9 * # A-D */
  guint64 start;               /* the tone's first sample (estimated to a few ms) */
  guint64 end;                 /* one past its last sample (same) */
  double row_dbfs, col_dbfs;   /* each tone's level, the strongest block's */
  double twist_db;             /* row minus column level, mean over the blocks; > 0: normal */
  double fraction;             /* the tones' lowest energy fraction in a block inside the
                                * tone (the highest when no block lay inside) */
  guint blocks;                /* blocks that held the digit */
} AmgwInbandDtmfTone;

typedef struct _AmgwInbandDtmf AmgwInbandDtmf;

/* A detector for audio at @rate Hz (at least 4000: the highest DTMF
 * frequency must be below Nyquist).  @params (nullable): the defaults.
 * (transfer full) */
AmgwInbandDtmf *amgw_inband_dtmf_new (guint rate, const AmgwInbandDtmfParams *params);
void amgw_inband_dtmf_free (AmgwInbandDtmf *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwInbandDtmf, amgw_inband_dtmf_free)

/* Feeds @n samples, continuing where the last push ended. */
void amgw_inband_dtmf_push (AmgwInbandDtmf *d, const gint16 *samples, gsize n);
/* Feeds @n G.711 bytes (an RTP payload of PCMU, or PCMA when @alaw). */
void amgw_inband_dtmf_push_g711 (AmgwInbandDtmf *d, const guint8 *payload, gsize n,
    gboolean alaw);
/* Feeds @n samples of silence: a gap in the timeline (lost packets, a
 * timestamp jump). */
void amgw_inband_dtmf_push_silence (AmgwInbandDtmf *d, gsize n);
/* The end of the audio: a digit still sounding is closed.  Further pushes
 * are ignored. */
void amgw_inband_dtmf_finish (AmgwInbandDtmf *d);

/* Samples pushed so far. */
guint64 amgw_inband_dtmf_get_position (AmgwInbandDtmf *d);
guint amgw_inband_dtmf_get_rate (AmgwInbandDtmf *d);
/* The digits found so far, in order; the last one's end and levels may
 * still change until the tone ends.  (transfer none: valid until the next
 * push or free) */
const AmgwInbandDtmfTone *amgw_inband_dtmf_get_tones (AmgwInbandDtmf *d, guint *n_tones);
/* The same as a string.  (transfer full) */
char *amgw_inband_dtmf_get_digits (AmgwInbandDtmf *d);

/* One shot over a whole buffer: the digits (transfer full), and the tones
 * (nullable; transfer full: GArray of AmgwInbandDtmfTone). */
char *amgw_inband_dtmf_detect (const gint16 *samples, gsize n, guint rate,
    const AmgwInbandDtmfParams *params, GArray **tones);

/* G.711 (ITU-T G.711 tables) to 16-bit linear PCM. */
gint16 amgw_test_ulaw_to_linear (guint8 code);
gint16 amgw_test_alaw_to_linear (guint8 code);

G_END_DECLS
