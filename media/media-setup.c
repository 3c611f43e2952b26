/* amgw — the daemon's media set-up: media loops, DTLS certificate, the
 * WebRTC leg. */
#define _GNU_SOURCE  /* dladdr */
#include "amgw/webrtc-leg.h"
#include "amgw/join.h"
#include "amgw/dtls.h"
#include "amgw/media-loops.h"
#include "amgw/sip-leg.h"

#include <gio/gio.h>
#include <dlfcn.h>
#include <string.h>

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

/* libnice and Sofia-SIP both export stun_message_length().  The one loaded
 * first serves both, and libnice's STUN parsing reads past its buffers with
 * Sofia-SIP's (a crash on the first connectivity check).  The build links
 * libnice first; refuse to run if something changed that. */
static gboolean
check_stun_symbols (GError **error)
{
  void *sym = dlsym (RTLD_DEFAULT, "stun_message_length");
  Dl_info info;

  if (sym == NULL || !dladdr (sym, &info) || info.dli_fname == NULL ||
      strstr (info.dli_fname, "libnice") == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
        "libnice's STUN functions are shadowed by %s (link libnice before Sofia-SIP)",
        sym && dladdr (sym, &info) && info.dli_fname ? info.dli_fname : "another library");
    return FALSE;
  }
  return TRUE;
}

gboolean
amgw_media_setup (const AmgwConfig *config, GError **error)
{
  if (!check_stun_symbols (error))
    return FALSE;
  if (config->dtls_certificate)
    cert = amgw_dtls_cert_load (config->dtls_certificate, config->dtls_private_key, error);
  else
    cert = amgw_dtls_cert_new_ephemeral (error);
  if (cert == NULL)
    return FALSE;
  loops = amgw_media_loops_new (0);
  amgw_media_loops_set_batching (loops, config->batching_us);
  amgw_webrtc_leg_register (config, loops, cert);
  {
    g_autofree char *stun = NULL;
    g_autofree char *turn = NULL;

    if (!resolve ("stun-server", config->stun_server, &stun, error) ||
        !resolve ("turn-server", config->turn_server, &turn, error))
      return FALSE;
    amgw_webrtc_leg_set_ice_servers (stun, turn);
  }
  /* The bridge leg for SIP and SIPS, on the same media loops. */
  amgw_sip_leg_register (config, loops, error);
  if (error != NULL && *error != NULL)
    return FALSE;
  /* Calls join their legs' media through relays. */
  amgw_join_register (config);
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
  amgw_sip_leg_shutdown ();
  amgw_leg_unregister_all ();
  amgw_leg_set_joiner (NULL);
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
