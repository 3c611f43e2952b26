/* amgw — GStreamer debug categories, one per module.
 *
 * Every module defines GST_CAT_DEFAULT to its own category, so that
 * GST_DEBUG=amgw-alexa:6 follows the Alexa client alone and GST_DEBUG=amgw*:5
 * follows a whole call.  Lines about a call start with "[<session id>]".
 */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (amgw_daemon_debug);    /* amgw-daemon */
GST_DEBUG_CATEGORY_EXTERN (amgw_config_debug);    /* amgw-config */
GST_DEBUG_CATEGORY_EXTERN (amgw_http_debug);      /* amgw-http: the HTTP API */
GST_DEBUG_CATEGORY_EXTERN (amgw_curl_debug);      /* amgw-curl: outbound HTTP */
GST_DEBUG_CATEGORY_EXTERN (amgw_alexa_debug);     /* amgw-alexa: CallSignaling client */
GST_DEBUG_CATEGORY_EXTERN (amgw_lwa_debug);       /* amgw-lwa: Login with Amazon tokens */
GST_DEBUG_CATEGORY_EXTERN (amgw_wire_debug);      /* amgw-wire: JSON formats */
GST_DEBUG_CATEGORY_EXTERN (amgw_call_debug);      /* amgw-call: calls, legs, state machines */
GST_DEBUG_CATEGORY_EXTERN (amgw_directive_debug); /* amgw-directive: smart-home directives */
GST_DEBUG_CATEGORY_EXTERN (amgw_store_debug);     /* amgw-store: SQLite state */
GST_DEBUG_CATEGORY_EXTERN (amgw_directory_debug); /* amgw-directory: meeting directory */

/* Idempotent; calls gst_init() if GStreamer is not initialised yet. */
void amgw_debug_init (void);

G_END_DECLS
