/* amgw — the daemon's media set-up: media loops, DTLS certificate, the
 * WebRTC leg. */
#include "amgw/webrtc-leg.h"
#include "amgw/dtls.h"
#include "amgw/media-loops.h"

#include <gio/gio.h>

static AmgwMediaLoops *loops;

/* "host:port" -> "ip:port", resolved once (NULL stays NULL).  A name that
 * does not resolve is an error: better a clear failure at start than calls
 * that cannot reach the Alexa device through NAT. */
static gboolean
resolve (const char *key, const char *host_port, char **out, GError **error)
{
  g_autoptr (GNetworkAddress) na = NULL;
  g_autoptr (GResolver) resolver = NULL;
  g_autolist (GInetAddress) addrs = NULL;
  g_autofree char *ip = NULL;

  *out = NULL;
  if (host_port == NULL)
    return TRUE;
  na = G_NETWORK_ADDRESS (g_network_address_parse (host_port, 3478, error));
  if (na == NULL)
    return FALSE;
  if (g_hostname_is_ip_address (g_network_address_get_hostname (na))) {
    *out = g_strdup (host_port);
    return TRUE;
  }
  resolver = g_resolver_get_default ();
  addrs = g_resolver_lookup_by_name (resolver, g_network_address_get_hostname (na), NULL, error);
  if (addrs == NULL) {
    g_prefix_error (error, "[media] %s: ", key);
    return FALSE;
  }
  ip = g_inet_address_to_string (addrs->data);
  *out = g_strdup_printf (strchr (ip, ':') ? "[%s]:%u" : "%s:%u", ip,
      g_network_address_get_port (na));
  return TRUE;
}
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
  {
    g_autofree char *stun = NULL;
    g_autofree char *turn = NULL;

    if (!resolve ("stun-server", config->stun_server, &stun, error) ||
        !resolve ("turn-server", config->turn_server, &turn, error))
      return FALSE;
    amgw_webrtc_leg_set_ice_servers (stun, turn);
  }
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
