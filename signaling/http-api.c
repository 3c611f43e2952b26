/* amgw — the HTTP API on libsoup 3. */
#include "amgw/http-api.h"
#include "amgw/alexa-client.h"
#include "amgw/debug.h"
#include "amgw/directives.h"
#include "amgw/lwa.h"
#include "amgw/metrics.h"
#include "amgw/sandbox.h"
#include "amgw/util.h"

#include <libsoup/soup.h>
#include <string.h>
#include <math.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#define GST_CAT_DEFAULT amgw_http_debug

struct _AmgwHttpApi {
  AmgwGateway *gw;
  const char *secret;
  SoupServer *server;
  guint16 port;
  AmgwSandbox *sandbox;     /* (nullable) sandbox mode: /sandbox/ */

  /* amgw accepts the connections and hands them to libsoup: see accept_cb. */
  GSocket *listener;
  GSource *accept_source;   /* (nullable) none while backing off */
  guint resume_id;          /* the back-off after a failed accept */
  GHashTable *conns;        /* "address:port" of the client -> Conn (owned) */
};

#define ACCEPT_BACKOFF_MS 250

/* An accepted connection while libsoup has it (the entry goes when the
 * connection is finalized): how a request whose body runs on is cut off. */
typedef struct {
  AmgwHttpApi *api;
  GSocketConnection *conn;  /* (weak) */
  char *key;
} Conn;

static gboolean
is_sandbox_path (const char *path)
{
  return strcmp (path, "/sandbox") == 0 || g_str_has_prefix (path, "/sandbox/");
}

/* ------------------------------------------------------------------------ */
/* Answers */

static void
count (const char *route, guint status)
{
  char code[8];

  g_snprintf (code, sizeof code, "%u", status);
  amgw_metrics_add ("amgw_http_requests_total", 1, "route", route, "status", code, NULL);
}

void
amgw_http_reply (SoupServerMessage *msg, const char *route, guint status, const char *content_type,
    char *body /* transfer full, nullable */)
{
  soup_server_message_set_status (msg, status, NULL);
  if (body)
    soup_server_message_set_response (msg, content_type, SOUP_MEMORY_TAKE, body, strlen (body));
  count (route, status);
}

void
amgw_http_reply_json (SoupServerMessage *msg, const char *route, guint status,
    cJSON *json /* transfer full */)
{
  char *text = cJSON_PrintUnformatted (json);

  cJSON_Delete (json);
  amgw_http_reply (msg, route, status, "application/json", g_strdup (text));
  cJSON_free (text);
}

void
amgw_http_reply_error (SoupServerMessage *msg, const char *route, guint status, const char *message)
{
  cJSON *o = cJSON_CreateObject ();

  cJSON_AddStringToObject (o, "error", soup_status_get_phrase (status));
  cJSON_AddStringToObject (o, "message", message);
  GST_INFO ("%s %s -> %u: %s", soup_server_message_get_method (msg),
      g_uri_get_path (soup_server_message_get_uri (msg)), status, message);
  amgw_http_reply_json (msg, route, status, o);
}

/* ------------------------------------------------------------------------ */
/* Checks shared by the routes */

static gboolean
authorized (AmgwHttpApi *api, SoupServerMessage *msg)
{
  const char *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");

  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return FALSE;
  return amgw_secret_equal (auth + 7, api->secret);
}

static gboolean
is_json (SoupServerMessage *msg)
{
  const char *ct = soup_message_headers_get_content_type (
      soup_server_message_get_request_headers (msg), NULL);

  return ct != NULL && g_ascii_strcasecmp (ct, "application/json") == 0;
}

/* A refused request's body is read and thrown away (so the answer can be
 * sent on a connection in a known state), but only up to this much; past it
 * the connection is dropped. */
#define AMGW_MAX_DISCARD_BYTES (16 * 1024 * 1024)

static void
refuse_too_large (SoupServerMessage *msg)
{
  amgw_http_reply_error (msg, "too-large", SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
      "the request body is larger than 256 KiB");
}

/* Runs once the headers are in, before the body is read: refuses what is
 * too big, or not authorized, and stops buffering the body of what it
 * refuses. */
static void
early_handler (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  AmgwHttpApi *api = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  goffset length = soup_message_headers_get_content_length (headers);

  /* One request per connection: libsoup 3.2 keeps an idle keep-alive
   * connection that the client closed in CLOSE-WAIT for good, and a busy
   * gateway would run out of file descriptors (seen in the benchmark: 4
   * per call).  Callers are the skill's forwarder and monitoring. */
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Connection",
      "close");
  if (g_str_has_prefix (path, "/v1/") && !authorized (api, msg)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "WWW-Authenticate", "Bearer");
    amgw_http_reply_error (msg, "unauthorized", SOUP_STATUS_UNAUTHORIZED,
        "a valid Authorization: Bearer <forwarding-secret> header is required");
  } else if (is_sandbox_path (path) && !amgw_sandbox_early (api->sandbox, msg, path)) {
    ; /* answered: not in sandbox mode, not a loopback client, over the route's limit */
  } else if (length > AMGW_MAX_REQUEST_BYTES) {
    refuse_too_large (msg);
  } else {
    return;
  }
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
      "Connection", "close");
}

/* The socket of the connection a request came on (libsoup 3.2 has none for a
 * connection given to it as a stream). */
static GSocket *
connection_socket (AmgwHttpApi *api, SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autofree char *key = NULL;
  Conn *c;

  if (remote == NULL)
    return NULL;
  key = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  c = g_hash_table_lookup (api->conns, key);
  return c != NULL ? g_socket_connection_get_socket (c->conn) : NULL;
}

/* Counts the body as it arrives (a chunked body has no length up front). */
static void
on_got_chunk (SoupServerMessage *msg, GBytes *chunk, gpointer user_data)
{
  gsize total = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "amgw-read")) +
      g_bytes_get_size (chunk);

  g_object_set_data (G_OBJECT (msg), "amgw-read", GSIZE_TO_POINTER (total));
  if (total > AMGW_MAX_REQUEST_BYTES && soup_server_message_get_status (msg) == SOUP_STATUS_NONE) {
    refuse_too_large (msg);
    soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Connection", "close");
  }
  if (total > AMGW_MAX_DISCARD_BYTES) {
    GSocket *sock = connection_socket (user_data, msg);
    GST_WARNING ("a request body passed %u bytes; dropping the connection",
        AMGW_MAX_DISCARD_BYTES);
    if (sock)
      g_socket_shutdown (sock, TRUE, TRUE, NULL);
    g_signal_handlers_disconnect_by_func (msg, on_got_chunk, user_data);
  }
}

static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), user_data);
}

/* ------------------------------------------------------------------------ */
/* /v1/alexa/directives */

typedef struct {
  SoupServerMessage *msg;
  gboolean paused;
  gboolean answered;
  gboolean finished;
} Pending;

static void
pending_finished (SoupServerMessage *msg, gpointer user_data)
{
  Pending *p = user_data;
  p->finished = TRUE;
}

static void
directive_done (const char *response, gpointer user_data)
{
  Pending *p = user_data;

  if (!p->finished) {
    amgw_http_reply (p->msg, "directives", SOUP_STATUS_OK, "application/json", g_strdup (response));
    if (p->paused)
      soup_server_message_unpause (p->msg);
  }
  p->answered = TRUE;
  if (p->paused) {
    /* Asynchronous: the handler returned long ago; Pending is ours to free. */
    g_signal_handlers_disconnect_by_func (p->msg, pending_finished, p);
    g_object_unref (p->msg);
    g_free (p);
  }
}

static void
handle_directives (AmgwHttpApi *api, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  Pending *p;

  if (strcmp (soup_server_message_get_method (msg), "POST") != 0) {
    amgw_http_reply_error (msg, "directives", SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  if (!is_json (msg)) {
    amgw_http_reply_error (msg, "directives", SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
        "the body must be application/json");
    return;
  }
  p = g_new0 (Pending, 1);
  p->msg = g_object_ref (msg);
  g_signal_connect (msg, "finished", G_CALLBACK (pending_finished), p);
  amgw_directive_handle (api->gw, body->data, body->length, directive_done, p);
  if (p->answered) {
    g_signal_handlers_disconnect_by_func (msg, pending_finished, p);
    g_object_unref (p->msg);
    g_free (p);
    return;
  }
  p->paused = TRUE;
  soup_server_message_pause (msg);
}

/* ------------------------------------------------------------------------ */
/* /v1/alexa/events */

static void
handle_events (AmgwHttpApi *api, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwSignal) event = NULL;
  g_autofree char *message = NULL;
  guint status;
  cJSON *o;

  if (strcmp (soup_server_message_get_method (msg), "POST") != 0) {
    amgw_http_reply_error (msg, "events", SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  if (!is_json (msg)) {
    amgw_http_reply_error (msg, "events", SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
        "the body must be application/json");
    return;
  }
  event = amgw_signal_parse_event (body->data, body->length, &error);
  if (event == NULL) {
    amgw_metrics_add ("amgw_events_total", 1, "type", "invalid", "status", "400", NULL);
    amgw_http_reply_error (msg, "events", SOUP_STATUS_BAD_REQUEST, error->message);
    return;
  }
  status = amgw_gateway_handle_event (api->gw, event, &message);
  {
    char code[8];
    g_snprintf (code, sizeof code, "%u", status);
    amgw_metrics_add ("amgw_events_total", 1, "type", amgw_signal_type_name (event->type),
        "status", code, NULL);
  }
  if (status != SOUP_STATUS_OK) {
    amgw_http_reply_error (msg, "events", status, message ? message : soup_status_get_phrase (status));
    return;
  }
  /* A skill response envelope, as the seeds describe responses. */
  o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "version", "1.0");
  cJSON_AddObjectToObject (cJSON_AddObjectToObject (o, "response"), "sessionAttributes");
  amgw_http_reply_json (msg, "events", SOUP_STATUS_OK, o);
}

/* ------------------------------------------------------------------------ */
/* Health, readiness, metrics */

static void
handle_healthz (AmgwHttpApi *api, SoupServerMessage *msg)
{
  cJSON *o = cJSON_CreateObject ();

  cJSON_AddStringToObject (o, "status", "ok");
  cJSON_AddStringToObject (o, "version", AMGW_VERSION);
  amgw_http_reply_json (msg, "healthz", SOUP_STATUS_OK, o);
}

/* The process's CPU use as a share of all cores, averaged since the
 * previous sample (at most one a second; the first since the start). */
static double
cpu_percent (void)
{
  static gint64 last_wall_us, last_cpu_us;
  static double last_percent;
  static gint64 start_wall_us;
  struct rusage ru;
  gint64 now = g_get_monotonic_time (), cpu_us, since;

  if (start_wall_us == 0)
    start_wall_us = now;
  if (last_wall_us != 0 && now - last_wall_us < G_USEC_PER_SEC)
    return last_percent;
  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return last_percent;
  cpu_us = (gint64) ru.ru_utime.tv_sec * G_USEC_PER_SEC + ru.ru_utime.tv_usec +
      (gint64) ru.ru_stime.tv_sec * G_USEC_PER_SEC + ru.ru_stime.tv_usec;
  since = now - (last_wall_us ? last_wall_us : start_wall_us);
  if (since > 0)
    last_percent = 100.0 * (double) (cpu_us - last_cpu_us) / (double) since /
        MAX (g_get_num_processors (), 1);
  last_wall_us = now;
  last_cpu_us = cpu_us;
  return last_percent;
}

static void
handle_readyz (AmgwHttpApi *api, SoupServerMessage *msg)
{
  cJSON *o = cJSON_CreateObject ();
  guint calls = amgw_gateway_count_calls (api->gw);
  const AmgwConfig *cfg = amgw_gateway_get_config (api->gw);
  guint max = cfg->max_calls;
  guint status = SOUP_STATUS_OK;
  const char *state = "ready";
  double cpu = cpu_percent ();

  if (!amgw_gateway_is_accepting (api->gw)) {
    status = SOUP_STATUS_SERVICE_UNAVAILABLE;
    state = "draining";
  } else if (calls >= max) {
    status = 429;  /* Too Many Requests (no constant in libsoup 3.2) */
    state = "full";
  } else if (cfg->cpu_limit_percent > 0 && cpu > cfg->cpu_limit_percent) {
    status = 429;
    state = "busy";
  }
  cJSON_AddStringToObject (o, "status", state);
  cJSON_AddNumberToObject (o, "calls", calls);
  cJSON_AddNumberToObject (o, "max_calls", max);
  cJSON_AddNumberToObject (o, "cpu_percent", floor (cpu * 10) / 10);
  cJSON_AddNumberToObject (o, "cpu_limit_percent", cfg->cpu_limit_percent);
  cJSON_AddStringToObject (o, "alexa_link",
      amgw_lwa_state_name (amgw_lwa_get_state (amgw_gateway_get_lwa (api->gw))));
  amgw_http_reply_json (msg, "readyz", status, o);
}

static void
handle_metrics (AmgwHttpApi *api, SoupServerMessage *msg)
{
  count ("metrics", SOUP_STATUS_OK);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  {
    char *text = amgw_metrics_render ();
    soup_server_message_set_response (msg, "text/plain; version=0.0.4; charset=utf-8",
        SOUP_MEMORY_TAKE, text, strlen (text));
  }
}

/* ------------------------------------------------------------------------ */
/* Operators: /v1/calls, /v1/rooms/{room}/test-call */

static void
handle_calls (AmgwHttpApi *api, SoupServerMessage *msg, const char *path)
{
  const char *method = soup_server_message_get_method (msg);
  const char *id = NULL;
  AmgwCall *call;

  if (strcmp (path, "/v1/calls") == 0 || strcmp (path, "/v1/calls/") == 0) {
    cJSON *o;
    if (strcmp (method, "GET") != 0) {
      amgw_http_reply_error (msg, "calls", SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
      return;
    }
    o = cJSON_CreateObject ();
    cJSON_AddItemToObject (o, "calls", amgw_gateway_calls_to_json (api->gw));
    amgw_http_reply_json (msg, "calls", SOUP_STATUS_OK, o);
    return;
  }

  id = path + strlen ("/v1/calls/");
  if (strchr (id, '/') != NULL || strlen (id) > AMGW_MAX_SESSION_ID_LEN) {
    amgw_http_reply_error (msg, "calls", SOUP_STATUS_NOT_FOUND, "no such call");
    return;
  }
  call = amgw_gateway_find_call (api->gw, id);

  if (strcmp (method, "GET") == 0) {
    g_autoptr (GError) error = NULL;
    g_autoptr (AmgwCallRecord) rec = NULL;

    cJSON *recent;

    if (call) {
      amgw_http_reply_json (msg, "calls", SOUP_STATUS_OK, amgw_call_to_json (call));
      return;
    }
    recent = amgw_gateway_recent_call (api->gw, id);
    if (recent) {
      amgw_http_reply_json (msg, "calls", SOUP_STATUS_OK, recent);
      return;
    }
    rec = amgw_store_get_call_record (amgw_gateway_get_store (api->gw), id, &error);
    if (rec) {
      amgw_http_reply_json (msg, "calls", SOUP_STATUS_OK, amgw_call_record_to_json (rec));
      return;
    }
    if (error)
      amgw_http_reply_error (msg, "calls", SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
    else
      amgw_http_reply_error (msg, "calls", SOUP_STATUS_NOT_FOUND, "no such call");
    return;
  }
  if (strcmp (method, "DELETE") == 0) {
    if (call == NULL) {
      amgw_http_reply_error (msg, "calls", SOUP_STATUS_NOT_FOUND, "no such active call");
      return;
    }
    GST_INFO ("[%s] hang-up requested through the API", id);
    amgw_call_hangup (call, AMGW_RESULT_SUCCESS, "ended by an operator");
    {
      cJSON *o = cJSON_CreateObject ();
      cJSON_AddStringToObject (o, "id", id);
      cJSON_AddStringToObject (o, "state", "ended");
      amgw_http_reply_json (msg, "calls", SOUP_STATUS_OK, o);
    }
    return;
  }
  amgw_http_reply_error (msg, "calls", SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET or DELETE");
}

/* Reads an optional number from the request's JSON object. */
static gboolean
number_in (const cJSON *o, const char *key, double min, double max, double *value,
    char **problem)
{
  const cJSON *j = cJSON_GetObjectItemCaseSensitive (o, key);

  if (j == NULL)
    return TRUE;
  if (!cJSON_IsNumber (j) || j->valuedouble < min || j->valuedouble > max) {
    *problem = g_strdup_printf ("%s: a number from %g to %g", key, min, max);
    return FALSE;
  }
  *value = j->valuedouble;
  return TRUE;
}

static gboolean
codec_in (const cJSON *o, char **codec, char **problem)
{
  static const char *const known[] = { "opus", "G722", "PCMU", "PCMA", NULL };
  const cJSON *j = cJSON_GetObjectItemCaseSensitive (o, "codec");

  if (j == NULL)
    return TRUE;
  for (guint i = 0; cJSON_IsString (j) && known[i]; i++) {
    if (g_ascii_strcasecmp (j->valuestring, known[i]) == 0) {
      *codec = g_strdup (known[i]);
      return TRUE;
    }
  }
  *problem = g_strdup ("codec: one of opus, G722, PCMU, PCMA");
  return FALSE;
}

static void
handle_rooms (AmgwHttpApi *api, SoupServerMessage *msg, const char *path)
{
  g_auto (GStrv) parts = g_strsplit (path, "/", 0);
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const AmgwRoom *room;
  double tone_hz = 1000, tone_ms = 3000, duration_ms = 15000;
  g_autofree char *codec = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *problem = NULL;
  cJSON *req = NULL, *o;
  AmgwCall *call;

  /* "", "v1", "rooms", NAME, "test-call" */
  if (g_strv_length (parts) != 5 || strcmp (parts[4], "test-call") != 0) {
    amgw_http_reply_error (msg, "rooms", SOUP_STATUS_NOT_FOUND, "no such route");
    return;
  }
  if (strcmp (soup_server_message_get_method (msg), "POST") != 0) {
    amgw_http_reply_error (msg, "rooms", SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  room = amgw_config_find_room_by_name (amgw_gateway_get_config (api->gw), parts[3]);
  if (room == NULL) {
    amgw_http_reply_error (msg, "rooms", SOUP_STATUS_NOT_FOUND, "no such room");
    return;
  }
  /* An optional JSON body: {"tone_hz": 1000, "tone_ms": 3000, "duration_ms": 15000,
   * "codec": "opus" | "G722" | "PCMU" | "PCMA"}. */
  if (body->length > 0) {
    req = cJSON_ParseWithLength (body->data, body->length);
    if (!cJSON_IsObject (req) ||
        !number_in (req, "tone_hz", 100, 4000, &tone_hz, &problem) ||
        !number_in (req, "tone_ms", 0, 60000, &tone_ms, &problem) ||
        !number_in (req, "duration_ms", 1000, 600000, &duration_ms, &problem) ||
        !codec_in (req, &codec, &problem)) {
      cJSON_Delete (req);
      amgw_http_reply_error (msg, "rooms", SOUP_STATUS_BAD_REQUEST,
          problem ? problem : "the body must be a JSON object");
      return;
    }
    cJSON_Delete (req);
  }
  call = amgw_gateway_test_call (api->gw, room, tone_hz, (guint) tone_ms, (guint) duration_ms,
      codec, &error);
  if (call == NULL) {
    amgw_http_reply_error (msg, "rooms", SOUP_STATUS_SERVICE_UNAVAILABLE, error->message);
    return;
  }
  o = amgw_call_to_json (call);
  amgw_http_reply_json (msg, "rooms", SOUP_STATUS_CREATED, o);
}

/* ------------------------------------------------------------------------ */

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
    gpointer user_data)
{
  AmgwHttpApi *api = user_data;

  /* The early handler may have answered already (401, 413). */
  if (soup_server_message_get_status (msg) != 0 &&
      soup_server_message_get_status (msg) != SOUP_STATUS_NONE)
    return;

  if (strcmp (path, "/v1/alexa/directives") == 0)
    handle_directives (api, msg);
  else if (strcmp (path, "/v1/alexa/events") == 0)
    handle_events (api, msg);
  else if (strcmp (path, "/healthz") == 0)
    handle_healthz (api, msg);
  else if (strcmp (path, "/readyz") == 0)
    handle_readyz (api, msg);
  else if (strcmp (path, "/metrics") == 0)
    handle_metrics (api, msg);
  else if (g_str_has_prefix (path, "/v1/calls"))
    handle_calls (api, msg, path);
  else if (g_str_has_prefix (path, "/v1/rooms/"))
    handle_rooms (api, msg, path);
  else if (is_sandbox_path (path))
    amgw_sandbox_handle (api->sandbox, msg, path, query);
  else
    amgw_http_reply_error (msg, "other", SOUP_STATUS_NOT_FOUND, "no such route");
}

static void
conn_forget (Conn *c)
{
  g_free (c->key);
  g_free (c);
}

static void
conn_finalized (gpointer data, GObject *gone)
{
  Conn *c = data;

  g_hash_table_remove (c->api->conns, c->key);
}

AmgwHttpApi *
amgw_http_api_new (AmgwGateway *gw, const char *forwarding_secret)
{
  AmgwHttpApi *api = g_new0 (AmgwHttpApi, 1);

  api->gw = gw;
  api->secret = forwarding_secret;
  api->server = soup_server_new ("server-header", "amgw/" AMGW_VERSION " ", NULL);
  api->conns = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) conn_forget);
  soup_server_add_early_handler (api->server, NULL, early_handler, api, NULL);
  soup_server_add_handler (api->server, NULL, handler, api, NULL);
  g_signal_connect (api->server, "request-started", G_CALLBACK (on_request_started), api);
  amgw_metrics_describe ("amgw_http_requests_total", AMGW_METRIC_COUNTER,
      "HTTP API requests by route and status.");
  amgw_metrics_describe ("amgw_directives_total", AMGW_METRIC_COUNTER,
      "Alexa directives by name and outcome (ok, or the ErrorResponse type).");
  amgw_metrics_describe ("amgw_events_total", AMGW_METRIC_COUNTER,
      "Alexa CallSignaling events received, by type and HTTP status.");
  return api;
}

static gboolean accept_cb (GSocket *listener, GIOCondition condition, gpointer user_data);

static void
watch_listener (AmgwHttpApi *api)
{
  api->accept_source = g_socket_create_source (api->listener, G_IO_IN, NULL);
  g_source_set_callback (api->accept_source, G_SOURCE_FUNC (accept_cb), api, NULL);
  g_source_set_static_name (api->accept_source, "amgw-http-accept");
  g_source_attach (api->accept_source, NULL);
}

static gboolean
resume_accept (gpointer user_data)
{
  AmgwHttpApi *api = user_data;

  api->resume_id = 0;
  watch_listener (api);
  return G_SOURCE_REMOVE;
}

/* amgw accepts and hands each connection to libsoup as a stream, instead of
 * soup_server_listen(): libsoup 3.2's own listener leaks the GSocket of
 * every connection it accepts (~350 bytes a request: a health check every
 * 10 s alone grows a gateway by 3 MB a day; the bridged-call benchmark saw
 * 1.4 KB a call). */
static gboolean
accept_cb (GSocket *listener, GIOCondition condition, gpointer user_data)
{
  AmgwHttpApi *api = user_data;

  for (guint i = 0; i < 64; i++) {
    g_autoptr (GError) error = NULL;
    g_autoptr (GSocket) sock = g_socket_accept (listener, NULL, &error);
    g_autoptr (GSocketConnection) conn = NULL;
    g_autoptr (GSocketAddress) local = NULL, remote = NULL;
    Conn *c, *old;

    if (sock == NULL) {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      /* Out of descriptors, say: the listener stays readable, so pause
       * rather than spin; the connection waits in the backlog. */
      GST_WARNING ("HTTP API: accept failed (%s); trying again in %u ms", error->message,
          ACCEPT_BACKOFF_MS);
      g_source_destroy (api->accept_source);
      g_clear_pointer (&api->accept_source, g_source_unref);
      api->resume_id = g_timeout_add (ACCEPT_BACKOFF_MS, resume_accept, api);
      return G_SOURCE_REMOVE;
    }
    local = g_socket_get_local_address (sock, NULL);
    remote = g_socket_get_remote_address (sock, NULL);
    if (local == NULL || remote == NULL)
      continue;   /* already gone */
    g_socket_set_option (sock, IPPROTO_TCP, TCP_NODELAY, TRUE, NULL);
    conn = g_socket_connection_factory_create_connection (sock);
    c = g_new0 (Conn, 1);
    c->api = api;
    c->conn = conn;
    c->key = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
    old = g_hash_table_lookup (api->conns, c->key);
    if (old != NULL) {   /* the client's port is reused while libsoup still holds the old one */
      g_object_weak_unref (G_OBJECT (old->conn), conn_finalized, old);
      g_hash_table_remove (api->conns, old->key);
    }
    g_hash_table_insert (api->conns, c->key, c);
    g_object_weak_ref (G_OBJECT (conn), conn_finalized, c);
    if (!soup_server_accept_iostream (api->server, G_IO_STREAM (conn), local, remote, &error))
      GST_WARNING ("HTTP API: cannot serve a connection: %s", error->message);
  }
  return G_SOURCE_CONTINUE;
}

gboolean
amgw_http_api_listen (AmgwHttpApi *api, const char *host, guint16 port, GError **error)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (host);
  g_autoptr (GSocketAddress) sa = NULL, bound = NULL;
  g_autoptr (GSocket) sock = NULL;

  g_return_val_if_fail (api->listener == NULL, FALSE);
  if (addr == NULL) {
    if (g_ascii_strcasecmp (host, "localhost") == 0)
      addr = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    else {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
          "listen: %s is not an IP address", host);
      return FALSE;
    }
  }
  sa = g_inet_socket_address_new (addr, port);
  sock = g_socket_new (g_inet_address_get_family (addr), G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return FALSE;
  g_socket_set_blocking (sock, FALSE);
  g_socket_set_listen_backlog (sock, 128);
  /* [::]:port is IPv6 only, as it was with libsoup's listener (and nginx's). */
  if (g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (sock, IPPROTO_IPV6, IPV6_V6ONLY, TRUE, NULL);
  if (!g_socket_bind (sock, sa, TRUE, error) || !g_socket_listen (sock, error))
    return FALSE;
  bound = g_socket_get_local_address (sock, error);
  if (bound == NULL)
    return FALSE;
  api->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  api->listener = g_steal_pointer (&sock);
  watch_listener (api);
  GST_INFO ("HTTP API on %s:%u", host, api->port);
  return TRUE;
}

guint16
amgw_http_api_get_port (AmgwHttpApi *api)
{
  return api->port;
}

void
amgw_http_api_set_gateway (AmgwHttpApi *api, AmgwGateway *gw)
{
  api->gw = gw;
}

void
amgw_http_api_set_sandbox (AmgwHttpApi *api, AmgwSandbox *sandbox)
{
  api->sandbox = sandbox;
}

void
amgw_http_api_free (AmgwHttpApi *api)
{
  GHashTableIter iter;
  gpointer value;

  if (api == NULL)
    return;
  if (api->accept_source != NULL) {
    g_source_destroy (api->accept_source);
    g_source_unref (api->accept_source);
  }
  g_clear_handle_id (&api->resume_id, g_source_remove);
  if (api->listener != NULL) {
    g_socket_close (api->listener, NULL);
    g_object_unref (api->listener);
  }
  soup_server_disconnect (api->server);
  g_object_unref (api->server);
  /* Connections still alive (held by a request in progress): no callback. */
  g_hash_table_iter_init (&iter, api->conns);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    Conn *c = value;

    g_object_weak_unref (G_OBJECT (c->conn), conn_finalized, c);
  }
  g_hash_table_unref (api->conns);
  g_free (api);
}
