/* amgw — the installer's audio check on the Alexa leg: tone, echo, analysis.
 *
 * An AmgwAudio sends a tone (then an echo of what it hears) as RTP and
 * analyses the RTP it receives: packet counts, level and dominant frequency.
 * It sees plain RTP packets as bytes; ICE, DTLS and SRTP are the transport's.
 *
 * Threads: two small GStreamer pipelines per object (four streaming threads
 * in all); no main loop of its own.  Every function may be called from any
 * thread, but the object has a single owner: amgw_audio_free() must not race
 * with the other calls, nor run from inside @send.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest RTP packet accepted by amgw_audio_push_rtp(); bigger ones are
 * counted as invalid and dropped. */
#define AMGW_AUDIO_MAX_RTP_BYTES 1500
/* MTU of the packets we send (RTP header included). */
#define AMGW_AUDIO_MTU 1200

#define AMGW_AUDIO_ERROR (amgw_audio_error_quark ())
GQuark amgw_audio_error_quark (void);

typedef enum {
  AMGW_AUDIO_ERROR_INVALID,         /* a format the RTP elements cannot carry */
  AMGW_AUDIO_ERROR_MISSING_ELEMENT, /* a GStreamer plugin is not installed */
  AMGW_AUDIO_ERROR_FAILED,          /* the pipelines would not link or start */
} AmgwAudioError;

typedef enum {
  AMGW_AUDIO_OPUS,
  AMGW_AUDIO_G722,
  AMGW_AUDIO_PCMU,
  AMGW_AUDIO_PCMA,
} AmgwAudioCodec;

/* One direction of the negotiated media.
 * @pt: opus 96..127; G722 9 or 96..127; PCMU 0 or 96..127; PCMA 8 or 96..127.
 * @clock_rate: RTP clock: 48000 opus, 8000 G722/PCMU/PCMA (0 = that default;
 *   G.722 runs at 16 kHz but its RTP clock is 8000 by RFC 3551).
 * @ssrc: sending: our SSRC (0 = a random one); receiving: the expected
 *   remote SSRC (0 = any, latched on the first valid packet; a receiving SSRC
 *   equal to the sending one also means any). */
typedef struct {
  AmgwAudioCodec codec;
  guint pt;
  guint clock_rate;
  guint32 ssrc;
} AmgwAudioFormat;

/* A complete RTP packet to send (transfer none: valid during the call only).
 * Called on a GStreamer streaming thread, with no amgw lock held; it may call
 * amgw_audio_push_rtp() on any AmgwAudio, but not amgw_audio_free().
 * It should return quickly: it paces the sending pipeline. */
typedef void (*AmgwAudioSend) (const guint8 *rtp, gsize len, gpointer user_data);

typedef struct {
  guint64 packets_in, bytes_in;   /* everything pushed, valid or not */
  guint64 packets_out, bytes_out; /* handed to @send */
  guint64 packets_invalid;        /* pushed but dropped: not RTP, wrong PT or SSRC, too big */
  double level_dbov;              /* RMS level heard over the last ~0.5 s, dBov (-127 silence) */
  double frequency_hz;            /* dominant frequency heard (100..4000 Hz) over the last ~0.5 s; 0 if silence */
  double tone_hz;                 /* what we play now (0 = echoing or silent) */
  gboolean echoing;
  gboolean failed;                /* a pipeline posted an error (logged on amgw-pipe) */
} AmgwAudioStats;

typedef struct _AmgwAudio AmgwAudio;

/* Builds and starts the two pipelines.  It sends silence until told to play a
 * tone or to echo.  @send_fmt and @recv_fmt are copied; @send is nullable
 * (packets are then counted and dropped).  (transfer full) */
AmgwAudio *amgw_audio_new (const AmgwAudioFormat *send_fmt, const AmgwAudioFormat *recv_fmt,
    AmgwAudioSend send, gpointer user_data, GError **error);

/* Plays a sine of @hz (20..7000) for @duration_ms (rounded up to 20 ms
 * frames; 0 = until told otherwise), then echoes by itself.  Replaces a tone
 * in progress and stops echoing meanwhile. */
void amgw_audio_play_tone (AmgwAudio *a, double hz, guint duration_ms);

/* TRUE: echo what is heard from now on; FALSE: send silence.  Either way a
 * tone in progress stops. */
void amgw_audio_set_echo (AmgwAudio *a, gboolean echo);

/* Hold: FALSE stops handing packets to @send (the pipelines keep running, so
 * RTP timestamps keep advancing); TRUE resumes with contiguous sequence
 * numbers and the marker bit on the first packet.  Sending is on at start. */
void amgw_audio_set_sending (AmgwAudio *a, gboolean sending);

/* A received plain RTP packet (transfer none: copied).  Any thread; never
 * blocks: past ~64 KiB queued, the oldest packets are dropped. */
void amgw_audio_push_rtp (AmgwAudio *a, const guint8 *rtp, gsize len);

/* Thread-safe snapshot. */
void amgw_audio_get_stats (AmgwAudio *a, AmgwAudioStats *out);

/* Stops the pipelines (joining their threads); no @send call after it
 * returns.  NULL is accepted. */
void amgw_audio_free (AmgwAudio *a);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwAudio, amgw_audio_free)

G_END_DECLS
