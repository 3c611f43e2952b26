/* amgw — SRTP and SRTCP (RFC 3711, RFC 7714) with libsrtp2.
 *
 * libsrtp's AES-CM, AES-GCM and HMAC-SHA1 are replaced, process-wide, with
 * amgw's own types on OpenSSL 3 (media/srtp-crypto.c) when amgw_srtp_new() or
 * amgw_srtp_profile_is_supported() first runs; the packets are the same, the
 * cost per packet and per call much lower.  Code in the same process that uses
 * libsrtp directly gets them too.
 *
 * One AmgwSrtp protects what we send (tx keys) and checks what we receive (rx
 * keys) on one RTP session, whatever the SSRCs.  It knows nothing about where
 * the keys come from: DTLS-SRTP on the Alexa leg (amgw/dtls.h) or SDES
 * (a=crypto) on the bridge leg.
 *
 * Threads: the send half (amgw_srtp_protect, amgw_srtp_protect_rtcp) and the
 * receive half (amgw_srtp_unprotect, amgw_srtp_unprotect_rtcp) use separate
 * libsrtp sessions.  Each half must be used by one thread at a time (normally
 * the call's media loop, or one streaming thread each); the two halves may run
 * on different threads at once.  amgw_srtp_get_drops() may be called from any
 * thread.  amgw_srtp_free() must not race with any other call.
 *
 * The packet functions allocate nothing per packet (libsrtp allocates once
 * per new SSRC), except a GError when @error is non-NULL and they fail: on the
 * packet path pass NULL and count drops with amgw_srtp_get_drops().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define AMGW_SRTP_ERROR (amgw_srtp_error_quark ())
GQuark amgw_srtp_error_quark (void);

typedef enum {
  AMGW_SRTP_ERROR_AUTH,         /* authentication tag mismatch: drop quietly and count */
  AMGW_SRTP_ERROR_REPLAY,       /* already seen, or too old for the replay window: drop quietly */
  AMGW_SRTP_ERROR_INVALID,      /* bad arguments, a malformed or truncated packet, no room for the trailer */
  AMGW_SRTP_ERROR_UNSUPPORTED,  /* this libsrtp build lacks the profile's cipher */
  AMGW_SRTP_ERROR_FAILED,       /* any other libsrtp error */
} AmgwSrtpError;

/* The two profiles WebRTC peers offer in DTLS-SRTP (RFC 5764, RFC 7714).  The
 * same names serve SDES: AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM. */
typedef enum {
  AMGW_SRTP_AES128_CM_SHA1_80,
  AMGW_SRTP_AEAD_AES_128_GCM,
} AmgwSrtpProfile;

/* Master key + master salt bytes of one direction: 30 (16 + 14) for
 * AES128_CM_SHA1_80, 28 (16 + 12) for AEAD_AES_128_GCM. */
gsize amgw_srtp_key_len (AmgwSrtpProfile profile);
/* The master key part alone (16 for both). */
gsize amgw_srtp_master_key_len (AmgwSrtpProfile profile);
/* "AES_CM_128_HMAC_SHA1_80" / "AEAD_AES_128_GCM" (the SDES names). (transfer none) */
const char *amgw_srtp_profile_to_string (AmgwSrtpProfile profile);
/* Whether @profile can run (AEAD_AES_128_GCM needs amgw's OpenSSL types or a
 * libsrtp built with an OpenSSL or NSS crypto back end). */
gboolean amgw_srtp_profile_is_supported (AmgwSrtpProfile profile);

/* The largest number of bytes the protect functions append: a 16-byte tag
 * (GCM; 10 for SHA1_80) and, for SRTCP, the 4-byte E flag + SRTCP index.  amgw
 * never uses an MKI, so libsrtp's SRTP_MAX_TRAILER_LEN (which reserves 128
 * MKI bytes) does not apply. */
#define AMGW_SRTP_MAX_TRAILER 20
/* Ceiling on a packet handed to any function here (an RTP packet fits a UDP
 * datagram).  Longer input is AMGW_SRTP_ERROR_INVALID. */
#define AMGW_SRTP_MAX_PACKET 65535
/* Replay window (packets) of every inbound stream. */
#define AMGW_SRTP_REPLAY_WINDOW 1024

typedef struct _AmgwSrtp AmgwSrtp;

/* @tx_key_salt and @rx_key_salt each hold amgw_srtp_key_len (@profile) bytes
 * (master key, then master salt); they are copied, and the copies wiped when no
 * longer needed.  Outbound streams allow repeated sequence numbers (RTX or
 * re-sent packets); inbound ones have a window of AMGW_SRTP_REPLAY_WINDOW.
 * (transfer full) */
AmgwSrtp *amgw_srtp_new (AmgwSrtpProfile profile, const guint8 *tx_key_salt,
    const guint8 *rx_key_salt, GError **error);
AmgwSrtpProfile amgw_srtp_get_profile (AmgwSrtp *s);

/* Protects the RTP packet in @buf[0 .. *@len) in place; on success *@len grows
 * by the tag.  @capacity is @buf's size: it must be at least
 * *@len + AMGW_SRTP_MAX_TRAILER.  On failure @buf is unspecified. */
gboolean amgw_srtp_protect (AmgwSrtp *s, guint8 *buf, gsize *len, gsize capacity, GError **error);
/* Checks and decrypts the SRTP packet in @buf[0 .. *@len) in place; on success
 * *@len shrinks to the RTP packet.  AMGW_SRTP_ERROR_AUTH and
 * AMGW_SRTP_ERROR_REPLAY are routine on a hostile or lossy path: count, do not
 * log each. */
gboolean amgw_srtp_unprotect (AmgwSrtp *s, guint8 *buf, gsize *len, GError **error);
/* The same for (compound) RTCP packets; SRTCP appends the index as well. */
gboolean amgw_srtp_protect_rtcp (AmgwSrtp *s, guint8 *buf, gsize *len, gsize capacity,
    GError **error);
gboolean amgw_srtp_unprotect_rtcp (AmgwSrtp *s, guint8 *buf, gsize *len, GError **error);

/* Packets that failed authentication / replay checks so far (RTP and RTCP
 * together).  Either pointer may be NULL.  Any thread. */
void amgw_srtp_get_drops (AmgwSrtp *s, guint *auth_failures, guint *replays);

void amgw_srtp_free (AmgwSrtp *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwSrtp, amgw_srtp_free)

G_END_DECLS
