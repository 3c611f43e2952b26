/* baresip (Debian package baresip-core, 1.0.0) as a meeting bridge in
 * integration and e2e tests, and the WAV helpers that go with it.
 *
 * amgw_baresip_start() writes a configuration into a fresh temporary folder
 * and runs `baresip -4 -s -n 127.0.0.1 -f DIR -t TIMEOUT` on 127.0.0.1 and a
 * free port.  baresip then:
 *
 *  - answers at once every INVITE whose Request-URI user part is the
 *    account's (<sip:USER@127.0.0.1>;regint=0;answermode=auto), one call at
 *    a time (call_max_calls 1); consecutive calls are fine;
 *  - plays a sine WAV written here as its microphone (module aufile).
 *    aufile loads the file once per call and ends the call when the file
 *    ends ("menu: audio error (0,end of file)"), so the tone lasts
 *    tone_seconds: keep every call shorter;
 *  - records what it hears (module sndfile: SNDPATH/dump-<time>-dec.wav,
 *    the decoded audio at the codec's rate, one file per call, named to the
 *    second; -enc.wav is what it sends), through a player that needs no
 *    sound card (aubridge);
 *  - logs every SIP message it sends and receives (-s), the call's progress
 *    and the DTMF it decodes (menu) to DIR/baresip.log.
 *
 * Only loopback: -n 127.0.0.1, because in a namespace with only loopback
 * baresip finds no network address of its own and would open no socket.
 *
 * Not thread-safe: one AmgwBaresip from one thread.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  /* The account's user part: the Request-URI user baresip answers. */
  const char *user;
  /* The audio codecs baresip offers and accepts, in order, comma-separated,
   * by baresip's names: "PCMU", "PCMA", "G722", "opus", or a list such as
   * "PCMU,PCMA".  Only the modules these need are loaded; the account's
   * audio_codecs restricts to exactly these.  NULL: the g711 module (PCMU
   * and PCMA) and no restriction.  The WAV is written at the first codec's
   * rate (8 kHz for G.711, 16 kHz for G.722, 48 kHz for Opus), as aufile
   * requires. */
  const char *codecs;
  double tone_hz;            /* 0: 440 Hz */
  guint tone_seconds;        /* how long the WAV lasts; 0: timeout_s */
  /* baresip's audio jitter buffer: jitter_buffer_delay 5-10 (frames, its
   * default) when TRUE; 0 (none) when FALSE. */
  gboolean jitter_buffer;
  guint timeout_s;           /* -t: baresip quits on its own after this; 0: 120 */
} AmgwBaresipOptions;

typedef struct _AmgwBaresip AmgwBaresip;

/* Starts baresip and waits (up to 20 s) for "baresip is ready".  On
 * failure returns NULL with @error (the log's tail in the message).
 * (transfer full) */
AmgwBaresip *amgw_baresip_start (const AmgwBaresipOptions *options, GError **error);

guint16 amgw_baresip_get_port (AmgwBaresip *b);
/* The temporary folder (configuration, log, WAVs). (transfer none) */
const char *amgw_baresip_get_dir (AmgwBaresip *b);
const char *amgw_baresip_get_log_path (AmgwBaresip *b);
/* The rate of the WAV baresip plays (Hz). */
guint amgw_baresip_get_tone_rate (AmgwBaresip *b);

/* The log so far (transfer full; "" when unreadable), and its length: an
 * offset for the _since functions below, to look at one call of several. */
char *amgw_baresip_log (AmgwBaresip *b);
gsize amgw_baresip_log_mark (AmgwBaresip *b);
/* Polls the log (from @from) until it has @needle or @timeout_ms passes. */
gboolean amgw_baresip_wait_log (AmgwBaresip *b, const char *needle, gsize from, guint timeout_ms);

/* The digits baresip's log says it received after @from, in order: RFC 4733
 * events ("received event: 'D' (end=1)", one per event) or, with @info,
 * SIP INFO ("call: received DTMF: 'D'").  (transfer full) */
char *amgw_baresip_digits (AmgwBaresip *b, gboolean info, gsize from);

/* The SIP requests of @method that baresip received (its -s trace) after
 * @from, in order, each the whole message text (start line, headers, body).
 * Retransmissions appear once per copy.  (transfer full: GPtrArray of char *) */
GPtrArray *amgw_baresip_requests (AmgwBaresip *b, const char *method, gsize from);

/* The recordings of what baresip heard (the -dec.wav files), oldest first
 * (by name: to the second).  (transfer full: GPtrArray of char *, full paths) */
GPtrArray *amgw_baresip_recordings (AmgwBaresip *b);

/* SIGTERM (baresip hangs up and closes its recordings), SIGKILL after 3 s;
 * waits for the exit.  Idempotent. */
void amgw_baresip_stop (AmgwBaresip *b);
/* Stops it; prints the log when the test failed; removes the folder unless
 * AMGW_KEEP_TEST_FILES is set. */
void amgw_baresip_free (AmgwBaresip *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwBaresip, amgw_baresip_free)

/* ---- WAV files and tone analysis ---- */

/* Writes a 16-bit mono PCM WAV of a sine at @amplitude (of 32767). */
gboolean amgw_wav_write_sine (const char *path, guint rate, double hz, guint seconds,
    double amplitude, GError **error);

/* Reads a 16-bit PCM WAV (the first channel).  A file still being written
 * (its RIFF and data sizes not yet filled in) reads up to its current end.
 * (transfer full: @samples) */
gboolean amgw_wav_read (const char *path, guint *rate, gint16 **samples, gsize *n_samples,
    GError **error);

/* The dominant frequency of @n samples at @rate: the strongest of a scan of
 * Goertzel filters (10 Hz steps from 50 Hz to below Nyquist, 7 kHz at most)
 * over a Hann window, refined in 1 Hz steps.  @level_db (nullable): the RMS
 * level in dBFS (a full-scale sine is -3 dB; silence -200).  Returns 0 Hz
 * for silence. */
double amgw_audio_dominant_hz (const gint16 *samples, gsize n, guint rate, double *level_db);

/* amgw_audio_dominant_hz() over a window of a WAV file: from @from_s
 * seconds (negative: counted from the end) for @len_s seconds (clipped to
 * the file).  @total_s (nullable): the file's length.  FALSE with @error
 * when the file is unreadable or the window is empty. */
gboolean amgw_wav_dominant_hz (const char *path, double from_s, double len_s, double *hz,
    double *level_db, double *total_s, GError **error);

/* ---- Helpers shared by the peers' harnesses ---- */

/* The file's text, or "" (transfer full). */
char *amgw_peer_read_text (const char *path);
/* Polls @path (every 20 ms) until it contains @needle or @timeout_ms passes. */
gboolean amgw_peer_wait_file_has (const char *path, const char *needle, guint timeout_ms);
/* Removes @dir's files and @dir (one level, as the harnesses make them). */
void amgw_peer_remove_tree (const char *dir);
/* Stops a child we started: @sig first, SIGKILL after @grace_ms; reaps it. */
void amgw_peer_stop_process (GSubprocess *proc, int sig, guint grace_ms);

G_END_DECLS
