/* amgw — debug categories. */
#include "amgw/debug.h"

GST_DEBUG_CATEGORY (amgw_daemon_debug);
GST_DEBUG_CATEGORY (amgw_config_debug);
GST_DEBUG_CATEGORY (amgw_http_debug);
GST_DEBUG_CATEGORY (amgw_curl_debug);
GST_DEBUG_CATEGORY (amgw_alexa_debug);
GST_DEBUG_CATEGORY (amgw_lwa_debug);
GST_DEBUG_CATEGORY (amgw_wire_debug);
GST_DEBUG_CATEGORY (amgw_call_debug);
GST_DEBUG_CATEGORY (amgw_directive_debug);
GST_DEBUG_CATEGORY (amgw_store_debug);
GST_DEBUG_CATEGORY (amgw_directory_debug);

void
amgw_debug_init (void)
{
  static gsize once = 0;

  if (!g_once_init_enter (&once))
    return;

  if (!gst_is_initialized ())
    gst_init (NULL, NULL);

  GST_DEBUG_CATEGORY_INIT (amgw_daemon_debug, "amgw-daemon", 0, "amgw daemon");
  GST_DEBUG_CATEGORY_INIT (amgw_config_debug, "amgw-config", 0, "amgw configuration");
  GST_DEBUG_CATEGORY_INIT (amgw_http_debug, "amgw-http", 0, "amgw HTTP API");
  GST_DEBUG_CATEGORY_INIT (amgw_curl_debug, "amgw-curl", 0, "amgw outbound HTTP");
  GST_DEBUG_CATEGORY_INIT (amgw_alexa_debug, "amgw-alexa", 0, "amgw Alexa CallSignaling client");
  GST_DEBUG_CATEGORY_INIT (amgw_lwa_debug, "amgw-lwa", 0, "amgw Login with Amazon tokens");
  GST_DEBUG_CATEGORY_INIT (amgw_wire_debug, "amgw-wire", 0, "amgw Alexa JSON formats");
  GST_DEBUG_CATEGORY_INIT (amgw_call_debug, "amgw-call", 0, "amgw calls and legs");
  GST_DEBUG_CATEGORY_INIT (amgw_directive_debug, "amgw-directive", 0, "amgw smart-home directives");
  GST_DEBUG_CATEGORY_INIT (amgw_store_debug, "amgw-store", 0, "amgw SQLite state store");
  GST_DEBUG_CATEGORY_INIT (amgw_directory_debug, "amgw-directory", 0, "amgw meeting directory");

  g_once_init_leave (&once, 1);
}
