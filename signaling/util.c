/* amgw — small helpers shared by the control plane. */
#include "amgw/util.h"

#include <gio/gio.h>

#include <string.h>

gboolean
amgw_secret_equal (const char *given, const char *expected)
{
  gsize n, glen, i;
  guint8 diff;

  if (given == NULL || expected == NULL)
    return FALSE;

  n = strlen (expected);
  glen = strnlen (given, n + 1);
  /* Length differences count as a mismatch, but the loop still runs over
   * all of @expected so the time does not depend on where they differ. */
  diff = (glen != n);
  for (i = 0; i < n; i++) {
    guint8 g = i < glen ? (guint8) given[i] : 0;
    diff |= g ^ (guint8) expected[i];
  }
  return diff == 0 && n > 0;
}

char *
amgw_uuid_new (void)
{
  return g_uuid_string_random ();
}

gint64
amgw_now_ms (void)
{
  return g_get_monotonic_time () / 1000;
}

gint64
amgw_wall_ms (void)
{
  return g_get_real_time () / 1000;
}

gboolean
amgw_url_is_allowed (const char *url)
{
  g_autoptr (GUri) uri = NULL;
  const char *scheme, *host;

  if (url == NULL)
    return FALSE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL)
    return FALSE;
  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  if (host == NULL || *host == '\0')
    return FALSE;
  if (g_ascii_strcasecmp (scheme, "https") == 0)
    return TRUE;
  if (g_ascii_strcasecmp (scheme, "http") != 0)
    return FALSE;
  if (g_ascii_strcasecmp (host, "localhost") == 0 || strcmp (host, "::1") == 0)
    return TRUE;
  if (g_str_has_prefix (host, "127.")) {
    g_autoptr (GInetAddress) a = g_inet_address_new_from_string (host);
    return a != NULL && g_inet_address_get_is_loopback (a);
  }
  return FALSE;
}
