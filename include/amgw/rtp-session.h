/* amgw — the bridge leg's media: one RTP/AVP or SDES-SRTP (RTP/SAVP) audio
 * stream toward a meeting bridge, on a media loop.
 *
 * No ICE: the session binds its UDP socket at creation (a port from
 * [media] rtp-port-min..max, RTCP on the next port, or on the same one when
 * the peer offers rtcp-mux), so SDP is made synchronously.  Symmetric RTP:
 * amgw sends to where the peer's packets come from once they arrive.
 * Called on the control loop; callbacks come back on the control loop.
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>
#include "amgw/config.h"
#include "amgw/leg.h"

G_BEGIN_DECLS

#define AMGW_RTP_SESSION_ERROR (amgw_rtp_session_error_quark ())
GQuark amgw_rtp_session_error_quark (void);

typedef enum {
  AMGW_RTP_SESSION_ERROR_SDP,        /* the remote SDP is unusable (with why) */
  AMGW_RTP_SESSION_ERROR_NO_CODEC,   /* no common codec */
  AMGW_RTP_SESSION_ERROR_CRYPTO,     /* SDES: no usable a=crypto, or required and absent */
  AMGW_RTP_SESSION_ERROR_SOCKET,     /* no port free in the range */
  AMGW_RTP_SESSION_ERROR_FAILED,
} AmgwRtpSessionError;

typedef enum {
  AMGW_RTP_PLAIN,        /* RTP/AVP: SIP over UDP or TCP */
  AMGW_RTP_SDES_SRTP,    /* RTP/SAVP with a=crypto (RFC 4568): SIPS */
} AmgwRtpSecurity;

typedef struct {
  /* The peer sent nothing for the inactivity time-out while media should
   * flow (a vanished bridge): end the call with this reason. */
  void (*inactive) (const char *reason, gpointer user_data);
  /* A DTMF sequence (amgw_rtp_session_send_dtmf) has been played out. */
  void (*dtmf_done) (gpointer user_data);
} AmgwRtpCallbacks;

typedef struct _AmgwRtpSession AmgwRtpSession;

typedef struct {
  const AmgwConfig *config;         /* [media] rtp ports, [sip] public-ip */
  GMainContext *media_context;      /* the media loop it lives on */
  AmgwRtpSecurity security;
  guint inactivity_timeout_ms;      /* 0 = default 30000 */
  const char *log_id;               /* the call's session id, for log lines */
} AmgwRtpSessionParams;

AmgwRtpSession *amgw_rtp_session_new (const AmgwRtpSessionParams *params,
    const AmgwRtpCallbacks *callbacks, gpointer user_data, GError **error);

/* Puts @encoding ("OPUS", "G722", "PCMU", "PCMA"; NULL: none) first in
 * the offers that follow, ahead of [sip] codecs' order. */
void amgw_rtp_session_set_preferred_codec (AmgwRtpSession *s, const char *encoding);

/* amgw's SDP offer (for an INVITE): PCMU, PCMA, G722, opus/48000/2 and
 * telephone-event/8000 (and /48000), a=sendrecv (or @direction), c= with
 * [sip] public-ip when set; RTP/SAVP and a=crypto (AES_CM_128_HMAC_SHA1_80,
 * and AEAD_AES_128_GCM) for SDES.  Each call makes a new o= version.
 * (transfer full) */
char *amgw_rtp_session_create_offer (AmgwRtpSession *s, AmgwMediaDirection direction,
    GError **error);
/* An answer to the bridge's offer (an INVITE or re-INVITE from the bridge). */
char *amgw_rtp_session_create_answer (AmgwRtpSession *s, const char *remote_offer,
    AmgwMediaDirection direction, GError **error);
/* The bridge's answer to amgw's offer (200 OK, or 183 for early media). */
gboolean amgw_rtp_session_apply_answer (AmgwRtpSession *s, const char *remote_answer,
    GError **error);
/* The direction the remote SDP asked for last (hold detection). */
AmgwMediaDirection amgw_rtp_session_get_remote_direction (AmgwRtpSession *s);

/* Plays @digits (0-9 * # A-D, ',' = a pause of @pause_ms) as RFC 4733
 * telephone-events or, for AMGW_DTMF_INBAND, as in-band Q.23 tone pairs
 * (G.711 only: PCMU or PCMA must be the negotiated codec); calls dtmf_done
 * when finished.  AMGW_DTMF_INFO belongs to the SIP leg. */
gboolean amgw_rtp_session_send_dtmf (AmgwRtpSession *s, const char *digits, AmgwDtmfMode mode,
    guint pause_ms, GError **error);

/* The installer-style audio check toward the bridge (until transcoding
 * joins the legs): a tone for @tone_ms, then echo; stats in describe(). */
gboolean amgw_rtp_session_start_audio_check (AmgwRtpSession *s, double tone_hz, guint tone_ms,
    GError **error);

/* Joined media (include/amgw/leg.h: get_media, set_media_sink,
 * send_media): the negotiated codec; received packets to @sink (NULL:
 * nowhere; when it returns the previous sink is not running); a packet of
 * the other leg renumbered into this stream and sent (any thread; dropped
 * while on hold or while DTMF plays). */
gboolean amgw_rtp_session_get_media (AmgwRtpSession *s, AmgwLegMedia *out);
/* The generation get_media() would give, without a lock (any thread). */
guint amgw_rtp_session_get_media_generation (AmgwRtpSession *s);
void amgw_rtp_session_set_sink (AmgwRtpSession *s, AmgwLegRtpSink sink,
    AmgwMediaPrefetchFunc prefetch, gpointer user_data);
void amgw_rtp_session_send_media (AmgwRtpSession *s, const guint8 *rtp, gsize len);

/* Adds state and statistics: codec, local/remote address, security,
 * packets and bytes each way, last-packet age, audio check. */
void amgw_rtp_session_describe (AmgwRtpSession *s, cJSON *obj);

/* No callback after it returns. */
void amgw_rtp_session_free (AmgwRtpSession *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwRtpSession, amgw_rtp_session_free)

G_END_DECLS
