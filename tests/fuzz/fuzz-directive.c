/* Fuzz target: amgw_directive_parse(), then the answer the gateway would
 * send — an ErrorResponse from the partial directive on failure, a Response
 * (or Discover.Response) on success — which must always be valid JSON. */
#include "amgw/wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef cJSON FuzzJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FuzzJson, cJSON_Delete)

#define CHECK(cond) G_STMT_START { if (!(cond)) { \
  g_printerr ("fuzz-directive: check failed: %s (line %d)\n", #cond, __LINE__); abort (); } } G_STMT_END

static void
check_answer (const char *answer, const AmgwDirective *d)
{
  g_autoptr (FuzzJson) json = NULL;
  const cJSON *header;

  CHECK (answer != NULL);
  CHECK (g_utf8_validate (answer, -1, NULL));
  json = cJSON_Parse (answer);
  CHECK (cJSON_IsObject (json));
  header = cJSON_GetObjectItemCaseSensitive (cJSON_GetObjectItemCaseSensitive (json, "event"), "header");
  CHECK (cJSON_IsObject (header));
  CHECK (g_uuid_string_is_valid (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (header, "messageId"))));
  if (d != NULL && d->correlation_token != NULL)
    CHECK (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (header, "correlationToken")),
        d->correlation_token) == 0);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (AmgwDirective) d = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *answer = NULL;
  gboolean ok;

  ok = amgw_directive_parse ((const char *) data, size, &d, &error);
  CHECK (ok == (error == NULL));
  if (!ok) {
    CHECK (g_error_matches (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_DIRECTIVE)
        || g_error_matches (error, AMGW_WIRE_ERROR, AMGW_WIRE_ERROR_INVALID_VALUE));
    answer = amgw_error_response_build (d, g_error_matches (error, AMGW_WIRE_ERROR,
        AMGW_WIRE_ERROR_INVALID_VALUE) ? "INVALID_VALUE" : "INVALID_DIRECTIVE", error->message);
    check_answer (answer, d);
    return 0;
  }

  CHECK (d != NULL && d->namespace_ != NULL && d->name != NULL && d->message_id != NULL);
  CHECK (g_strcmp0 (d->payload_version, "3") == 0);
  switch (d->kind) {
    case AMGW_DIRECTIVE_DISCOVER: {
      AmgwDiscoverEndpoint ep = { "room-1", "Room 1", NULL, TRUE };
      CHECK (d->scope_token != NULL);
      answer = amgw_discover_response_build (d, &ep, 1);
      break;
    }
    case AMGW_DIRECTIVE_ACCEPT_GRANT:
      CHECK (d->grant_code != NULL);
      CHECK (g_strcmp0 (d->grant_type, "OAuth2.AuthorizationCode") == 0);
      answer = amgw_response_build (d, "Alexa.Authorization", "AcceptGrant.Response", NULL);
      break;
    case AMGW_DIRECTIVE_JOIN_MEETING:
      CHECK (d->meeting_endpoint != NULL && d->meeting_provider != NULL);
      CHECK (g_strcmp0 (d->meeting_protocol, "SIP") == 0 || g_strcmp0 (d->meeting_protocol, "SIPS") == 0
          || g_strcmp0 (d->meeting_protocol, "H323") == 0);
      G_GNUC_FALLTHROUGH;
    case AMGW_DIRECTIVE_END_MEETING:
    case AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING:
    case AMGW_DIRECTIVE_GET_CURRENT_MEETING:
      CHECK (d->endpoint_id != NULL && d->scope_token != NULL);
      CHECK (d->kind != AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING || d->calendar_event_id != NULL);
      answer = amgw_response_build (d, NULL, NULL, NULL);
      break;
    case AMGW_DIRECTIVE_UNKNOWN:
    default:
      answer = amgw_error_response_build (d, "INVALID_DIRECTIVE", "unsupported directive");
      break;
  }
  check_answer (answer, d);
  return 0;
}
