/* amgw — smart-home directives: Discover, JoinMeeting, EndMeeting,
 * JoinScheduledMeeting, Calendar GetCurrentMeeting, AcceptGrant. */
#include "amgw/directives.h"
#include "amgw/debug.h"
#include "amgw/directory.h"
#include "amgw/lwa.h"
#include "amgw/metrics.h"
#include "amgw/util.h"

#define GST_CAT_DEFAULT amgw_directive_debug

static void
count (const char *name, const char *outcome)
{
  amgw_metrics_add ("amgw_directives_total", 1, "name", name ? name : "unknown",
      "outcome", outcome, NULL);
}

static void
answer_error (const AmgwDirective *d, const char *type, const char *message,
    AmgwDirectiveCallback cb, gpointer user_data)
{
  g_autofree char *json = amgw_error_response_build (d, type, message);

  GST_INFO ("%s%s%s -> ErrorResponse %s: %s", d && d->namespace_ ? d->namespace_ : "",
      d && d->name ? "." : "", d && d->name ? d->name : "(unreadable directive)", type, message);
  count (d ? d->name : NULL, type);
  cb (json, user_data);
}

static void
answer_ok (const AmgwDirective *d, const char *namespace_, const char *name, cJSON *payload,
    AmgwDirectiveCallback cb, gpointer user_data)
{
  g_autofree char *json = amgw_response_build (d, namespace_, name, payload);

  count (d->name, "ok");
  cb (json, user_data);
}

/* The room of the directive's endpoint, if the scope's token is the one the
 * room accepts; otherwise answers the error and returns NULL. */
static const AmgwRoom *
authorize_room (AmgwGateway *gw, const AmgwDirective *d, AmgwDirectiveCallback cb,
    gpointer user_data)
{
  const AmgwRoom *room = amgw_config_find_room (amgw_gateway_get_config (gw), d->endpoint_id);

  if (room == NULL) {
    g_autofree char *msg = g_strdup_printf ("no room has endpointId %s", d->endpoint_id);
    answer_error (d, "NO_SUCH_ENDPOINT", msg, cb, user_data);
    return NULL;
  }
  if (!amgw_secret_equal (d->scope_token, room->token)) {
    answer_error (d, "INVALID_AUTHORIZATION_CREDENTIAL",
        "the scope token is not the one configured for this endpoint", cb, user_data);
    return NULL;
  }
  return room;
}

static void
handle_discover (AmgwGateway *gw, const AmgwDirective *d, AmgwDirectiveCallback cb,
    gpointer user_data)
{
  const AmgwConfig *cfg = amgw_gateway_get_config (gw);
  g_autofree AmgwDiscoverEndpoint *eps = g_new0 (AmgwDiscoverEndpoint, cfg->rooms->len + 1);
  g_autoptr (GPtrArray) descriptions = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *json = NULL;
  guint n = 0;

  /* A scope token lists the rooms it may control: each room names the token
   * its account-linked users present. */
  for (guint i = 0; i < cfg->rooms->len; i++) {
    const AmgwRoom *room = cfg->rooms->pdata[i];
    char *desc;

    if (!amgw_secret_equal (d->scope_token, room->token))
      continue;
    desc = g_strdup_printf ("Meeting room %s, joined to meetings by amgw", room->friendly_name);
    g_ptr_array_add (descriptions, desc);
    eps[n].endpoint_id = room->endpoint_id;
    eps[n].friendly_name = room->friendly_name;
    eps[n].description = desc;
    eps[n].supports_scheduled_meeting = room->supports_scheduled_meeting;
    n++;
  }
  if (n == 0 && cfg->rooms->len > 0) {
    answer_error (d, "INVALID_AUTHORIZATION_CREDENTIAL",
        "the scope token is not configured for any room", cb, user_data);
    return;
  }
  GST_INFO ("Discover: %u room(s)", n);
  json = amgw_discover_response_build (d, eps, n);
  count (d->name, "ok");
  cb (json, user_data);
}

static void
join (AmgwGateway *gw, const AmgwDirective *d, const AmgwRoom *room,
    const AmgwMeetingRequest *request, AmgwDirectiveCallback cb, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  AmgwCall *call = amgw_gateway_join_meeting (gw, room, request, &error);
  const char *type = "INTERNAL_ERROR";

  if (call != NULL) {
    GST_INFO ("[%s] %s for room %s: joining", amgw_call_get_session_id (call), d->name, room->name);
    answer_ok (d, "Alexa", "Response", NULL, cb, user_data);
    return;
  }
  if (error->domain == AMGW_CALL_ERROR) {
    switch (error->code) {
      case AMGW_CALL_ERROR_BUSY: type = "ENDPOINT_BUSY"; break;
      case AMGW_CALL_ERROR_ALREADY: type = "ALREADY_IN_OPERATION"; break;
      case AMGW_CALL_ERROR_UNREACHABLE: type = "ENDPOINT_UNREACHABLE"; break;
      case AMGW_CALL_ERROR_INVALID: type = "INVALID_VALUE"; break;
      default: break;
    }
  }
  answer_error (d, type, error->message, cb, user_data);
}

static void
handle_join_meeting (AmgwGateway *gw, const AmgwDirective *d, AmgwDirectiveCallback cb,
    gpointer user_data)
{
  const AmgwRoom *room = authorize_room (gw, d, cb, user_data);
  AmgwMeetingRequest request = {
    .protocol = d->meeting_protocol,
    .endpoint = d->meeting_endpoint,
    .meeting_id = d->meeting_id,
    .pin = d->meeting_pin,
    .provider = d->meeting_provider,
  };

  if (room)
    join (gw, d, room, &request, cb, user_data);
}

static void
handle_join_scheduled_meeting (AmgwGateway *gw, const AmgwDirective *d,
    AmgwDirectiveCallback cb, gpointer user_data)
{
  const AmgwRoom *room = authorize_room (gw, d, cb, user_data);
  AmgwDirectory *dir = amgw_gateway_get_directory (gw);
  const AmgwMeeting *m;
  AmgwMeetingRequest request = { 0, };

  if (room == NULL)
    return;
  m = dir ? amgw_directory_lookup (dir, d->calendar_event_id) : NULL;
  if (m == NULL || (m->room && g_strcmp0 (m->room, room->name) != 0 &&
                    g_strcmp0 (m->room, room->endpoint_id) != 0)) {
    g_autofree char *msg = g_strdup_printf (
        "calendarEventId %s is not in the meeting directory for this room", d->calendar_event_id);
    answer_error (d, "INVALID_VALUE", msg, cb, user_data);
    return;
  }
  request.protocol = m->protocol;
  request.endpoint = m->endpoint;
  request.meeting_id = m->id;
  request.pin = m->pin;
  request.provider = m->provider;
  join (gw, d, room, &request, cb, user_data);
}

static void
handle_end_meeting (AmgwGateway *gw, const AmgwDirective *d, AmgwDirectiveCallback cb,
    gpointer user_data)
{
  const AmgwRoom *room = authorize_room (gw, d, cb, user_data);

  if (room == NULL)
    return;
  if (amgw_gateway_end_room (gw, room, "the meeting was ended from the Alexa device") == 0) {
    answer_error (d, "NOT_IN_OPERATION", "no meeting is active in this room", cb, user_data);
    return;
  }
  answer_ok (d, "Alexa", "Response", NULL, cb, user_data);
}

static void
handle_get_current_meeting (AmgwGateway *gw, const AmgwDirective *d, AmgwDirectiveCallback cb,
    gpointer user_data)
{
  const AmgwRoom *room = authorize_room (gw, d, cb, user_data);
  AmgwDirectory *dir = amgw_gateway_get_directory (gw);
  const AmgwMeeting *m;
  cJSON *payload;

  if (room == NULL)
    return;
  m = dir ? amgw_directory_current (dir, room->name, room->endpoint_id, amgw_wall_ms ()) : NULL;
  payload = cJSON_CreateObject ();
  /* No current meeting: an empty payload, and Alexa falls back to asking
   * for a meeting id (JoinMeeting). */
  if (m) {
    cJSON_AddStringToObject (payload, "organizerName", m->organizer ? m->organizer : "");
    cJSON_AddStringToObject (payload, "calendarEventId", m->calendar_event_id);
  }
  answer_ok (d, "Alexa.Calendar", "Response", payload, cb, user_data);
}

typedef struct {
  AmgwDirective *directive;
  AmgwDirectiveCallback cb;
  gpointer user_data;
} GrantCtx;

static void
grant_done (const char *access_token, const GError *error, gpointer user_data)
{
  GrantCtx *ctx = user_data;
  const AmgwDirective *d = ctx->directive;

  if (access_token != NULL) {
    GST_INFO ("AcceptGrant: linked to an Alexa account");
    answer_ok (d, "Alexa.Authorization", "AcceptGrant.Response", NULL, ctx->cb, ctx->user_data);
  } else {
    /* Alexa.Authorization has its own error type for this. */
    cJSON *payload = cJSON_CreateObject ();
    g_autofree char *json = NULL;
    g_autofree char *msg = g_strdup_printf ("the authorization code could not be exchanged: %s",
        error ? error->message : "unknown error");

    cJSON_AddStringToObject (payload, "type", "ACCEPT_GRANT_FAILED");
    cJSON_AddStringToObject (payload, "message", msg);
    json = amgw_response_build (d, "Alexa.Authorization", "ErrorResponse", payload);
    GST_WARNING ("AcceptGrant failed: %s", msg);
    count (d->name, "ACCEPT_GRANT_FAILED");
    ctx->cb (json, ctx->user_data);
  }
  amgw_directive_free (ctx->directive);
  g_free (ctx);
}

static void
handle_accept_grant (AmgwGateway *gw, AmgwDirective *d, AmgwDirectiveCallback cb,
    gpointer user_data)
{
  GrantCtx *ctx = g_new0 (GrantCtx, 1);

  ctx->directive = d;
  ctx->cb = cb;
  ctx->user_data = user_data;
  amgw_lwa_accept_grant (amgw_gateway_get_lwa (gw), d->grant_code, grant_done, ctx);
}

void
amgw_directive_handle (AmgwGateway *gw, const char *body, gsize len,
    AmgwDirectiveCallback cb, gpointer user_data)
{
  AmgwDirective *d = NULL;
  g_autoptr (GError) error = NULL;

  if (!amgw_directive_parse (body, len, &d, &error)) {
    answer_error (d, error->domain == AMGW_WIRE_ERROR && error->code == AMGW_WIRE_ERROR_INVALID_VALUE
        ? "INVALID_VALUE" : "INVALID_DIRECTIVE", error->message, cb, user_data);
    goto out;
  }
  GST_DEBUG ("directive %s.%s messageId %s", d->namespace_, d->name, d->message_id);

  switch (d->kind) {
    case AMGW_DIRECTIVE_DISCOVER:
      handle_discover (gw, d, cb, user_data);
      break;
    case AMGW_DIRECTIVE_JOIN_MEETING:
      handle_join_meeting (gw, d, cb, user_data);
      break;
    case AMGW_DIRECTIVE_END_MEETING:
      handle_end_meeting (gw, d, cb, user_data);
      break;
    case AMGW_DIRECTIVE_JOIN_SCHEDULED_MEETING:
      handle_join_scheduled_meeting (gw, d, cb, user_data);
      break;
    case AMGW_DIRECTIVE_GET_CURRENT_MEETING:
      handle_get_current_meeting (gw, d, cb, user_data);
      break;
    case AMGW_DIRECTIVE_ACCEPT_GRANT:
      handle_accept_grant (gw, g_steal_pointer (&d), cb, user_data);
      break;
    default: {
      g_autofree char *msg = g_strdup_printf ("amgw does not handle %s.%s", d->namespace_, d->name);
      answer_error (d, "INVALID_DIRECTIVE", msg, cb, user_data);
      break;
    }
  }

out:
  if (d)
    amgw_directive_free (d);
}
