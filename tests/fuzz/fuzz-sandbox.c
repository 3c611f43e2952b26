/* Fuzz target: the sandbox simulator's parser of amgw's CallSignaling
 * request bodies (amgw_sandbox_parse_signaling).  Whatever it accepts must
 * build back to valid JSON of the same type and session; what it refuses
 * must say why. */
#include "amgw/sandbox.h"
#include "amgw/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-sandbox: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* An exact-size copy, so a sanitizer sees any read past the end. */
  char *copy = size ? malloc (size) : NULL;
  g_autofree char *problem = NULL;
  g_autoptr (AmgwSignal) s = NULL;

  if (size)
    memcpy (copy, data, size);
  s = amgw_sandbox_parse_signaling (copy, size, &problem);
  if (s == NULL) {
    CHECK (problem != NULL && *problem != '\0');
  } else {
    g_autofree char *json = amgw_signal_to_json (s, NULL);
    cJSON *back = json ? cJSON_Parse (json) : NULL;

    CHECK (problem == NULL);
    CHECK (cJSON_IsObject (back));
    CHECK (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (back, "sessionId")),
        s->session_id) == 0);
    cJSON_Delete (back);
  }
  free (copy);
  return 0;
}
