/* Fuzz target: amgw_sip_build_target().  Input: protocol, endpoint, meeting
 * id, pin and template separated by '\n' (missing fields are NULL).  What it
 * builds must be a bounded sip:/sips: URI without blanks, control characters,
 * angle brackets or quotes, so it can go into a Request-URI and a To header
 * as it is. */
#include "amgw/sip-leg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-dialstring: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) f = g_strsplit (text, "\n", 5);
  const char *field[5] = { NULL, };
  g_autoptr (GError) error = NULL;
  g_autofree char *uri = NULL;
  guint n = g_strv_length (f);

  if (size > 4096)
    return 0;
  for (guint i = 0; i < 5 && i < n; i++)
    field[i] = f[i];
  uri = amgw_sip_build_target (field[0], field[1], field[2], field[3], field[4], &error);
  if (uri == NULL) {
    CHECK (error != NULL);
    CHECK (error->domain == AMGW_SIP_ERROR);
    return 0;
  }
  CHECK (error == NULL);
  CHECK (strlen (uri) <= AMGW_SIP_MAX_TARGET_CHARS);
  CHECK (g_str_has_prefix (uri, "sip:") || g_str_has_prefix (uri, "sips:"));
  CHECK (g_str_has_prefix (uri, "sips:") == (g_ascii_strcasecmp (field[0], "SIPS") == 0));
  for (const unsigned char *p = (const unsigned char *) uri; *p; p++) {
    CHECK (*p > 0x20 && *p < 0x7f);
    CHECK (strchr ("<>\"\\#{} ", *p) == NULL);
  }
  /* At most one '@' before the parameters. */
  {
    const char *params = strchr (uri, ';');
    const char *at = strchr (uri, '@');
    if (at && (!params || at < params))
      CHECK (memchr (at + 1, '@', (params ? params : uri + strlen (uri)) - at - 1) == NULL);
  }
  return 0;
}
