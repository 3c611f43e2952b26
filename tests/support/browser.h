/* A real Chromium page that plays the Alexa device in e2e tests.
 *
 * amgw_browser_start() runs `node $AMGW_E2E_DIR/browser/device.mjs`, which
 * launches Debian's /usr/bin/chromium headless through playwright-core and
 * loads device.html from its own server on 127.0.0.1 (a secure context).  The
 * page holds one RTCPeerConnection (no ICE servers, so only loopback
 * candidates; ICE is not trickled: every SDP it returns has all candidates).
 * It sends a sine of the given frequency (by default Chromium's fake
 * microphone playing a WAV file, looped; or a WebAudio oscillator) and can
 * measure what it hears.
 *
 * All calls are synchronous request/response over the driver's stdin/stdout
 * (one JSON object per line); each times out after 30 s (hear: 30 s + ms).
 * The driver's and the page's logs go to a file (amgw_browser_log_path());
 * amgw_browser_free() prints its tail to stderr after a time-out, an exit of
 * the driver or a failed amgw_browser_wait_connected() (an error the page
 * reports is in the GError already).
 *
 * Not thread-safe: use one AmgwBrowser from one thread.
 */
#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <cjson/cJSON.h>

G_BEGIN_DECLS

typedef struct _AmgwBrowser AmgwBrowser;

/* Spawns the driver and waits (up to 60 s) for Chromium to be ready.  The page
 * sends a sine of @tone_hz (source: $AMGW_E2E_TONE_SOURCE, "file" by default,
 * or "oscillator").  Returns NULL with G_IO_ERROR_NOT_FOUND when node,
 * Chromium ($AMGW_CHROMIUM, default /usr/bin/chromium) or the npm packages
 * (node_modules of $AMGW_E2E_DIR/browser) are missing, so the caller can
 * g_test_skip(); with another error when Chromium failed to start.
 * (transfer full) */
AmgwBrowser *amgw_browser_start (double tone_hz, GError **error);
/* The same with an explicit tone source: "file" (--use-file-for-fake-audio-capture
 * with a WAV written here) or "oscillator" (OscillatorNode ->
 * MediaStreamAudioDestinationNode).  NULL = the default. */
AmgwBrowser *amgw_browser_start_with_source (double tone_hz, const char *source, GError **error);

/* A new peer connection (closing any previous one) and the local audio.
 * @codec (nullable) restricts the codecs through setCodecPreferences: one
 * name ("opus", "PCMU", "PCMA", "G722") or a comma-separated list in order
 * of preference ("PCMU,telephone-event"). */
gboolean amgw_browser_open (AmgwBrowser *b, const char *codec, GError **error);
/* Applies a remote offer and returns the answer, ICE gathering complete.
 * Works for the first offer and for re-offers (hold, resume, ICE restart).
 * (transfer full) */
char *amgw_browser_answer (AmgwBrowser *b, const char *offer_sdp, GError **error);
/* Creates an offer (the first one, or a re-offer with the transceiver's
 * current direction; @ice_restart: restartIce() and new ICE credentials),
 * sets it as local description and returns it, ICE gathering complete.
 * (transfer full) */
char *amgw_browser_offer (AmgwBrowser *b, gboolean ice_restart, GError **error);
/* Applies the remote answer to the page's last offer. */
gboolean amgw_browser_apply_answer (AmgwBrowser *b, const char *answer_sdp, GError **error);
/* transceiver.direction = @direction ("sendrecv", "sendonly", "recvonly",
 * "inactive"); the caller renegotiates (amgw_browser_offer + apply_answer). */
gboolean amgw_browser_set_direction (AmgwBrowser *b, const char *direction, GError **error);

/* The page's WebRTC statistics, with the names of the W3C statistics and of
 * the RTCPeerConnection / RTCRtpTransceiver attributes:
 *   {"connectionState", "iceConnectionState", "iceGatheringState",
 *    "signalingState", "dtlsState", "dtlsRole", "srtpCipher",
 *    "direction", "currentDirection",
 *    "inbound": {"packetsReceived", "bytesReceived", "packetsLost", "jitter",
 *                "audioLevel", "totalAudioEnergy", "concealedSamples",
 *                "totalSamplesReceived", "ssrc", "codec"} | null,
 *    "outbound": {"packetsSent", "bytesSent", "ssrc", "codec"} | null,
 *    "codec": {"mimeType", "payloadType", "clockRate", "channels"} | null,
 *    "selectedPair": {"state", "nominated", "currentRoundTripTime",
 *                     "local": {"address", "port", "protocol", "candidateType"},
 *                     "remote": {...}} | null}
 * "codec" is the inbound codec (the outbound one before anything arrived).
 * (transfer full) */
cJSON *amgw_browser_stats (AmgwBrowser *b, GError **error);
/* A number in a stats object by a dotted path ("inbound.packetsReceived");
 * @fallback when absent or not a number. */
double amgw_browser_stat_number (const cJSON *stats, const char *dotted_path, double fallback);
/* A string in a stats object by a dotted path ("codec.mimeType"). (transfer none) (nullable) */
const char *amgw_browser_stat_string (const cJSON *stats, const char *dotted_path);
/* Polls the stats until connectionState is "connected" and the statistics
 * show dtlsState "connected" (TRUE), connectionState is "failed" or "closed"
 * (FALSE), or @timeout_ms passes (FALSE, G_IO_ERROR_TIMED_OUT). */
gboolean amgw_browser_wait_connected (AmgwBrowser *b, guint timeout_ms, GError **error);

/* Listens to the received audio for @ms: the dominant frequency (averaged
 * power spectrum of a WebAudio AnalyserNode, 5.9 Hz bins, interpolated) and
 * the RMS level in dBFS (a full-scale sine is -3 dB; the page sends at -9 dB;
 * silence is -200).  Either out pointer may be NULL. */
gboolean amgw_browser_hear (AmgwBrowser *b, guint ms, double *frequency_hz, double *level_db,
    GError **error);
/* A PNG of the page (its status area: states, codec, packets, what it heard). */
gboolean amgw_browser_screenshot (AmgwBrowser *b, const char *path, GError **error);
/* Closes the peer connection (hangs up: the peer sees DTLS close) and stops
 * the local audio.  amgw_browser_open() may follow. */
gboolean amgw_browser_close (AmgwBrowser *b, GError **error);

/* Sends any request ({"cmd": ...} plus arguments; "id" is added) and returns
 * the response with "id" and "ok" removed; an {"ok": false} response becomes
 * @error.  @timeout_ms 0 = 30 s.  (transfer full) */
cJSON *amgw_browser_request (AmgwBrowser *b, cJSON *request /* transfer full */,
    guint timeout_ms, GError **error);
/* The file that gets the driver's and the page's logs. (transfer none) */
const char *amgw_browser_log_path (AmgwBrowser *b);

/* "quit", waits up to 10 s for the driver to end, then kills its process
 * group (node and Chromium).  Removes the temporary folder. */
void amgw_browser_free (AmgwBrowser *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwBrowser, amgw_browser_free)

/* Writes a pure sine, 48 kHz mono 16-bit PCM WAV at -6 dBFS, @seconds long
 * (whole cycles when @hz * @seconds is an integer, so a loop does not click). */
gboolean amgw_browser_write_tone_wav (const char *path, double hz, guint seconds, GError **error);

G_END_DECLS
