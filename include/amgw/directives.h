/* amgw — smart-home directives (WIRE.md section 3), answered synchronously.
 *
 * POST /v1/alexa/directives hands the body here; the answer is an event
 * envelope (Response, ErrorResponse, Discover.Response, AcceptGrant.Response).
 * Most directives answer before amgw_directive_handle() returns; AcceptGrant
 * waits for Login with Amazon, so the answer always comes through @cb.
 */
#pragma once

#include <glib.h>
#include "amgw/call.h"

G_BEGIN_DECLS

/* @response (transfer none) is the JSON envelope to send with HTTP 200. */
typedef void (*AmgwDirectiveCallback) (const char *response, gpointer user_data);

void amgw_directive_handle (AmgwGateway *gw, const char *body, gsize len,
    AmgwDirectiveCallback cb, gpointer user_data);

G_END_DECLS
