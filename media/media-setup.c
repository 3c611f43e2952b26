/* amgw — the daemon's media set-up: media loops, DTLS certificate, the
 * WebRTC leg. */
#include "amgw/webrtc-leg.h"
#include "amgw/dtls.h"
#include "amgw/media-loops.h"

static AmgwMediaLoops *loops;
static AmgwDtlsCert *cert;

gboolean
amgw_media_setup (const AmgwConfig *config, GError **error)
{
  if (config->dtls_certificate)
    cert = amgw_dtls_cert_load (config->dtls_certificate, config->dtls_private_key, error);
  else
    cert = amgw_dtls_cert_new_ephemeral (error);
  if (cert == NULL)
    return FALSE;
  loops = amgw_media_loops_new (0);
  amgw_webrtc_leg_register (config, loops, cert);
  g_print ("amgw: WebRTC leg ready: %u media loop(s), DTLS certificate sha-256 %s\n",
      amgw_media_loops_size (loops), amgw_dtls_cert_get_fingerprint (cert));
  return TRUE;
}

static gboolean
noop (gpointer data)
{
  return G_SOURCE_REMOVE;
}

void
amgw_media_teardown (void)
{
  amgw_leg_unregister_all ();
  if (loops) {
    /* Legs closed by the last calls queue their tear-down on the media
     * loops, and those queue their last reports back here: let both run
     * before the loops stop. */
    for (guint i = 0; i < amgw_media_loops_size (loops); i++)
      amgw_media_loops_invoke_sync (amgw_media_loops_get_context (loops, i), noop, NULL);
    while (g_main_context_iteration (NULL, FALSE))
      ;
  }
  g_clear_pointer (&loops, amgw_media_loops_free);
  g_clear_pointer (&cert, amgw_dtls_cert_unref);
}
