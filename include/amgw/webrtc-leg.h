/* amgw — the Alexa leg: WebRTC media toward the Alexa device.
 *
 * ICE (libnice) on one of the media loops, DTLS-SRTP (OpenSSL, libsrtp2),
 * SDP through GstSDPMessage, rtcp-mux and BUNDLE on one audio stream.  The
 * leg is driven from the control loop (include/amgw/leg.h); its transport
 * lives on a media loop; reports come back to the control loop.
 */
#pragma once

#include "amgw/config.h"
#include "amgw/leg.h"

G_BEGIN_DECLS

typedef struct _AmgwMediaLoops AmgwMediaLoops;
typedef struct _AmgwDtlsCert AmgwDtlsCert;

/* Registers the WebRTC implementation as the "ALEXA" leg.  All borrowed:
 * they must outlive every leg. */
void amgw_webrtc_leg_register (const AmgwConfig *config, AmgwMediaLoops *loops, AmgwDtlsCert *cert);

/* The STUN and TURN servers as ip:port (the ICE agent takes addresses;
 * amgw_media_setup resolves the configured names once at start-up). */
void amgw_webrtc_leg_set_ice_servers (const char *stun_server, const char *turn_server);

/* Benchmarks: the legs made from now on keep their datagrams on libnice's
 * path (AmgwIceConfig's no_direct_path).  amgw itself never calls this. */
void amgw_webrtc_leg_set_direct_path (gboolean enabled);

/* The daemon's media set-up from its configuration: media loops, the DTLS
 * certificate ([media] dtls-certificate / dtls-private-key, or one made now),
 * then amgw_webrtc_leg_register().  amgw_media_teardown() undoes it. */
gboolean amgw_media_setup (const AmgwConfig *config, GError **error);
void amgw_media_teardown (void);

G_END_DECLS
