/* amgw — the SIP and SIPS bridge leg (Sofia-SIP's NUA on the control loop).
 *
 * amgw_sip_leg_register() starts one user agent on the default GMainContext
 * and registers the "SIP" and "SIPS" bridge leg factories (amgw_leg_register);
 * each leg dials the bridge with an INVITE carrying the SDP offer of its
 * AmgwRtpSession (rtp-session.h), enters the meeting pin as DTMF, follows
 * re-INVITEs both ways and hangs up with CANCEL or BYE.
 * amgw_sip_leg_shutdown() ends every dialog and stops the user agent.
 */
#pragma once

#include <glib.h>
#include "amgw/config.h"
#include "amgw/media-loops.h"

G_BEGIN_DECLS

#define AMGW_SIP_ERROR (amgw_sip_error_quark ())
GQuark amgw_sip_error_quark (void);

typedef enum {
  AMGW_SIP_ERROR_TARGET,    /* the endpoint, meeting id or template make no usable URI */
  AMGW_SIP_ERROR_STACK,     /* the user agent cannot start (address in use, ...) */
} AmgwSipError;

#define AMGW_SIP_MAX_TARGET_CHARS 1024  /* a longer Request-URI is refused */
#define AMGW_SIP_MAX_FIELD_CHARS 256    /* endpoint, meeting id, pin, template each */

/* Starts the user agent on [sip] listen ("sip:*:5060" when not set: UDP and
 * TCP) and, for SIPS, a second one with a TLS-only transport on the same host
 * (ephemeral port) that verifies bridges against [sip] ca-file (else
 * /etc/ssl/certs/ca-certificates.crt) and the Request-URI's host; its
 * certificate directory is a private temp directory removed by
 * amgw_sip_leg_shutdown().  Without a usable CA file SIPS is off (a SIPS dial
 * fails with AMGW_LEG_ERROR_UNREACHABLE) and SIP still works.  Registers the
 * factories.  @config and @loops must outlive
 * amgw_sip_leg_shutdown().  On failure nothing is registered and @error is
 * set.  Call on the control loop's thread, once. */
void amgw_sip_leg_register (const AmgwConfig *config, AmgwMediaLoops *loops, GError **error);

/* Ends the dialogs still open (BYE, CANCEL), then stops the user agent,
 * iterating the default context (for at most a few seconds) until it has.
 * Idempotent; legs still owned by calls report nothing afterwards. */
void amgw_sip_leg_shutdown (void);

/* The Request-URI for dialling @endpoint (a host, host:port, [IPv6]:port,
 * or a sip:/sips: URI; optionally with ";transport=tcp" or other URI
 * parameters) with @template as the user part ({id}, {pin} and {endpoint}
 * replaced by @meeting_id, @pin and the endpoint's host[:port]; NULL means
 * "{id}").  @protocol is "SIP" (sip:) or "SIPS" (sips:).  Characters outside
 * RFC 3261's user set are %-escaped.  An endpoint URI that has a user part
 * already is used as it is.  (transfer full) (nullable): NULL with
 * AMGW_SIP_ERROR_TARGET when there is no usable URI. */
char *amgw_sip_build_target (const char *protocol, const char *endpoint, const char *meeting_id,
    const char *pin, const char *template, GError **error);

G_END_DECLS
