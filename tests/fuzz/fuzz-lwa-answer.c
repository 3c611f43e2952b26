/* Fuzz target: the LWA token endpoint answer parser, as a success (200) and
 * as an error (400) answer. */
#include "amgw/lwa.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const guint statuses[] = { 200, 400 };

  for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++) {
    AmgwLwaAnswer answer;
    GError *error = NULL;

    if (amgw_lwa_parse_answer ((const char *) data, size, statuses[i], &answer, &error)) {
      /* What a success promises. */
      g_assert (error == NULL);
      if (statuses[i] == 200) {
        g_assert (answer.access_token != NULL && answer.access_token[0] != '\0');
        g_assert (strlen (answer.access_token) <= AMGW_MAX_LWA_TOKEN_BYTES);
        g_assert (strpbrk (answer.access_token, " \r\n") == NULL);
        g_assert (answer.expires_in >= 1 && answer.expires_in <= AMGW_MAX_LWA_EXPIRES_IN_S);
        g_assert (answer.error == NULL);
      } else {
        g_assert (answer.error != NULL && answer.access_token == NULL);
      }
    } else {
      g_assert (error != NULL && error->domain == AMGW_LWA_ERROR);
      g_assert (answer.access_token == NULL && answer.refresh_token == NULL);
      g_error_free (error);
    }
    amgw_lwa_answer_clear (&answer);
  }
  return 0;
}
