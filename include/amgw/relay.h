/* amgw — media between the two legs of a call, one direction per AmgwRelay.
 *
 * A relay takes plain RTP packets of one leg (ICE, DTLS, SRTP are the legs')
 * and hands the other leg plain RTP packets in the format it negotiated:
 *
 *   passthrough  both sides agreed on one codec (same encoding and RTP
 *                clock): the packet goes through untouched but for its
 *                payload type, synchronously, on the pushing thread.  No
 *                jitter buffer: the receiving endpoint has its own.
 *   transcoding  otherwise: a jitter stage (reordering, loss declared
 *                after @latency_ms) and a GStreamer chain, depayloader !
 *                decoder (amgwopusdec with plc; G.711 and G.722 followed
 *                by spanplc) [! audioconvert ! audioresample] ! encoder !
 *                payloader -> @send, run synchronously on the pushing
 *                thread: no thread of its own (relay.c).
 *
 * Sequence numbers, timestamps and the SSRC of what @send gets are the
 * relay's own (the payloader's, or the source's in passthrough): the
 * receiving leg renumbers them into its outgoing stream.
 *
 * Threads: amgw_relay_push_rtp() from any thread (a media loop; one at a
 * time, or they wait for each other); @send on the pushing thread, within
 * the push: passthrough with no relay lock held, transcoding under the
 * relay's chain lock, so @send must not push into the same relay.
 * amgw_relay_free() must not race with the other calls nor run from inside
 * @send.
 */
#pragma once

#include <glib.h>
#include "amgw/audio.h"

G_BEGIN_DECLS

#define AMGW_RELAY_DEFAULT_LATENCY_MS 60
#define AMGW_RELAY_MAX_LATENCY_MS 500

typedef struct {
  guint64 packets_in, bytes_in;      /* everything pushed */
  guint64 packets_out, bytes_out;    /* handed to @send */
  guint64 packets_invalid;           /* not RTP, wrong payload type, too big */
  guint64 packets_lost;              /* transcoding: declared lost by the jitter stage */
  guint64 packets_late;              /* transcoding: arrived after later ones went on (dropped) */
  gboolean transcoding;
  gboolean failed;                   /* a pipeline posted an error (logged on amgw-pipe) */
} AmgwRelayStats;

typedef struct _AmgwRelay AmgwRelay;

/* @in: what arrives (codec, pt, clock rate; @in->ssrc 0 = any source, the
 * first one seen latched);
 * @out: what the other leg sends (codec, pt, clock rate; @out->ssrc is the
 * payloader's, 0 = random).  @latency_ms: the jitter buffer when transcoding
 * (0 = AMGW_RELAY_DEFAULT_LATENCY_MS; more than AMGW_RELAY_MAX_LATENCY_MS is
 * AMGW_AUDIO_ERROR_INVALID, as are formats amgw_audio_new() would refuse).
 * @log_id (nullable) names it in log lines (the call's session id).  @send
 * is nullable (packets are then counted and dropped).  (transfer full) */
AmgwRelay *amgw_relay_new (const AmgwAudioFormat *in, const AmgwAudioFormat *out,
    guint latency_ms, const char *log_id, AmgwAudioSend send, gpointer user_data,
    GError **error);

gboolean amgw_relay_is_passthrough (AmgwRelay *r);

/* A received plain RTP packet (transfer none: copied).  Packets that are not
 * RTP, of other payload types than @in->pt, of another SSRC than @in->ssrc
 * (when 0: than the latched one; a new source is followed after a few
 * packets in a row), or bigger than AMGW_AUDIO_MAX_RTP_BYTES are counted as
 * invalid and dropped.  Transcoding: a packet is decoded, re-encoded and
 * handed to @send within the call (or, ahead of a gap, held up to
 * @latency_ms); one more than 64 packets ahead restarts the stream. */
void amgw_relay_push_rtp (AmgwRelay *r, const guint8 *rtp, gsize len);

/* Thread-safe snapshot. */
void amgw_relay_get_stats (AmgwRelay *r, AmgwRelayStats *out);

/* Stops the pipeline (joining its threads); no @send after it returns.
 * NULL is accepted. */
void amgw_relay_free (AmgwRelay *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwRelay, amgw_relay_free)

/* RFC 4733 telephone-events received from a leg, turned into digits: one
 * digit per event (the first packet of an event reports it; retransmitted
 * end packets and later packets of the same event do not).  An event is its
 * RTP timestamp (and event code); a packet whose timestamp is a little
 * behind the current event's (up to 240000 ticks: 5 s at 48 kHz) is a late
 * one of an earlier event and reports nothing.  Zero-initialise it; not
 * thread-safe: one detector per receiving stream. */
typedef struct {
  gboolean active;
  guint32 ts;            /* the current event's RTP timestamp */
  guint8 event;
  gboolean ended;
} AmgwDtmfDetector;

#define AMGW_DTMF_EVENT_BYTES 4

/* Looks at one telephone-event payload (@payload, @len bytes) sent with RTP
 * timestamp @ts.  Returns the digit ('0'-'9', '*', '#', 'A'-'D') when this
 * packet starts a new DTMF event, 0 otherwise (a continuation, an event
 * outside 0-15, or a payload shorter than 4 bytes). */
char amgw_dtmf_detector_push (AmgwDtmfDetector *d, guint32 ts, const guint8 *payload, gsize len);

G_END_DECLS
