/* amgw — Alexa CallSignaling client (WIRE.md section 1).
 *
 * Each message is an Op in its session's FIFO; the head is the active one and
 * goes through: WAIT_TOKEN (amgw_lwa_get_token) -> IN_FLIGHT (HTTP POST) ->
 * done, or BACKOFF -> WAIT_TOKEN again.  When an Op ends the next one of the
 * session starts before the user callback runs, so a callback that sends
 * more for the session queues behind it.
 */
#include "amgw/alexa-client.h"
#include "amgw/debug.h"
#include "amgw/metrics.h"
#include "amgw/util.h"

#include <cjson/cJSON.h>

#include <string.h>

#define GST_CAT_DEFAULT amgw_alexa_debug

#define SIGNALING_PATH "/v1/communications/signaling"

#define M_REQUESTS "amgw_alexa_requests_total"
#define M_SECONDS "amgw_alexa_request_seconds"
#define M_RETRIES "amgw_alexa_retries_total"

typedef enum {
  OP_QUEUED,
  OP_WAIT_TOKEN,
  OP_IN_FLIGHT,
  OP_BACKOFF,
  OP_REFUSED,             /* never queued: its refusal is delivered from an idle */
} OpPhase;

typedef struct _Session Session;

typedef struct {
  AmgwAlexaClient *client;
  Session *session;       /* (nullable) NULL when refused */
  char *session_id;
  char *operation;
  char *json;             /* (owned) */
  gsize json_len;
  AmgwAlexaCallback cb;   /* (nullable) */
  gpointer user_data;

  OpPhase phase;
  guint64 lwa_id;         /* in WAIT_TOKEN */
  guint64 http_id;        /* in IN_FLIGHT */
  GSource *timer;         /* (owned) (nullable) in BACKOFF, or the refusal idle */
  char *bearer;           /* (owned) (nullable) secret: the token of the last attempt */

  guint attempts;         /* HTTP requests made */
  guint retries;          /* retries spent on 409 / 429 / 5xx / transport */
  gboolean refreshed;     /* the one 401 refresh + retry was spent */
  gint64 first_ms;        /* amgw_now_ms() at send */
  char *refusal;          /* (owned) (nullable) why it was refused */
} Op;

struct _Session {
  char *id;
  GQueue queue;           /* Op* (owned); the head is active once started */
  gboolean active;
};

struct _AmgwAlexaClient {
  AmgwHttpClient *http;   /* (transfer none) */
  AmgwLwa *lwa;           /* (transfer none) */
  char *url;
  guint max_retries;
  guint backoff_base_ms, backoff_cap_ms, max_retry_after_ms;
  GHashTable *sessions;   /* id -> Session* (owned) */
  GList *refused;         /* Op* (owned) waiting for their refusal callback */
  guint pending;          /* queued + in flight */
  guint dispatch_depth;
  gboolean dying;
};

static void op_start_attempt (Op *op);

const char *
amgw_alexa_outcome_name (AmgwAlexaOutcome outcome)
{
  switch (outcome) {
    case AMGW_ALEXA_OK: return "OK";
    case AMGW_ALEXA_REJECTED: return "REJECTED";
    case AMGW_ALEXA_UNAUTHORIZED: return "UNAUTHORIZED";
    case AMGW_ALEXA_GAVE_UP: return "GAVE_UP";
  }
  return "UNKNOWN";
}

static void
secret_free (char *s)
{
  if (s != NULL) {
    memset (s, 0, strlen (s));
    g_free (s);
  }
}

/* Stops whatever @op waits for; no callback of it runs afterwards. */
static void
op_stop (Op *op)
{
  AmgwAlexaClient *client = op->client;

  if (op->lwa_id != 0)
    amgw_lwa_cancel (client->lwa, op->lwa_id);
  if (op->http_id != 0)
    amgw_http_client_cancel (client->http, op->http_id);
  op->lwa_id = op->http_id = 0;
  if (op->timer != NULL) {
    g_source_destroy (op->timer);
    g_clear_pointer (&op->timer, g_source_unref);
  }
}

static void
op_free (Op *op)
{
  op_stop (op);
  secret_free (op->bearer);
  g_free (op->session_id);
  g_free (op->operation);
  g_free (op->json);
  g_free (op->refusal);
  g_free (op);
}

static void
session_free (Session *s)
{
  Op *op;

  while ((op = g_queue_pop_head (&s->queue)) != NULL)
    op_free (op);
  g_free (s->id);
  g_free (s);
}

static void
client_destroy (AmgwAlexaClient *client)
{
  g_hash_table_unref (client->sessions);
  g_free (client->url);
  g_free (client);
}

static void
client_leave (AmgwAlexaClient *client)
{
  g_assert (client->dispatch_depth > 0);
  client->dispatch_depth--;
  if (client->dying && client->dispatch_depth == 0)
    client_destroy (client);
}

/* A printable, bounded copy of Alexa's error "message" (or NULL). */
static char *
error_message_from_body (const char *body, gsize len)
{
  cJSON *root;
  const cJSON *m;
  GString *out;

  if (body == NULL || len == 0)
    return NULL;
  root = cJSON_ParseWithLength (body, len);
  m = cJSON_GetObjectItemCaseSensitive (root, "message");
  if (!cJSON_IsString (m) || m->valuestring == NULL) {
    cJSON_Delete (root);
    return NULL;
  }
  out = g_string_new (NULL);
  for (const char *p = m->valuestring; *p && out->len < AMGW_ALEXA_MAX_MESSAGE_BYTES; p++)
    g_string_append_c (out, ((guchar) *p >= 0x20 && (guchar) *p != 0x7f) ? *p : ' ');
  cJSON_Delete (root);
  return g_string_free (out, FALSE);
}

/* Starts the head of @s if nothing of it is active. */
static void
session_kick (Session *s)
{
  Op *op;

  if (s->active || (op = g_queue_peek_head (&s->queue)) == NULL)
    return;
  s->active = TRUE;
  op_start_attempt (op);
}

/* @op (the active head of its session) ends: the session moves on, then the
 * callback runs and @op is freed. */
static void
op_finish (Op *op, AmgwAlexaOutcome outcome, guint status, const char *message)
{
  AmgwAlexaClient *client = op->client;
  Session *s = op->session;
  gint64 took = amgw_now_ms () - op->first_ms;
  g_autofree char *status_text = status != 0 ? g_strdup_printf ("%u", status) : g_strdup ("error");

  g_assert (g_queue_peek_head (&s->queue) == op);
  g_queue_pop_head (&s->queue);
  s->active = FALSE;
  client->pending--;
  op_stop (op);

  if (outcome == AMGW_ALEXA_OK || outcome == AMGW_ALEXA_REJECTED)
    GST_INFO ("[%s] %s -> %s%s%s (%u attempt%s, %" G_GINT64_FORMAT " ms)%s%s", op->session_id,
        op->operation, status_text, outcome == AMGW_ALEXA_OK ? "" : " ",
        outcome == AMGW_ALEXA_OK ? "" : amgw_alexa_outcome_name (outcome), op->attempts,
        op->attempts == 1 ? "" : "s", took, message != NULL ? ": " : "", message != NULL ? message : "");
  else
    GST_WARNING ("[%s] %s -> %s %s (%u attempt%s, %" G_GINT64_FORMAT " ms)%s%s", op->session_id,
        op->operation, status_text, amgw_alexa_outcome_name (outcome), op->attempts,
        op->attempts == 1 ? "" : "s", took, message != NULL ? ": " : "", message != NULL ? message : "");

  if (g_queue_is_empty (&s->queue))
    g_hash_table_remove (client->sessions, s->id);
  else
    session_kick (s);

  client->dispatch_depth++;
  if (op->cb != NULL)
    op->cb (outcome, status, message, op->user_data);
  op_free (op);
  client_leave (client);
}

static guint
backoff_delay (AmgwAlexaClient *client, guint retry, const char *retry_after)
{
  guint ceiling = client->backoff_base_ms, delay, ra_ms = 0;

  for (guint i = 1; i < retry && ceiling < client->backoff_cap_ms; i++)
    ceiling = ceiling > G_MAXUINT / 2 ? G_MAXUINT : ceiling * 2;
  ceiling = MIN (ceiling, client->backoff_cap_ms);
  ceiling = MIN (ceiling, (guint) G_MAXINT32 - 1);
  delay = (guint) g_random_int_range (0, (gint32) ceiling + 1);
  if (retry_after != NULL && amgw_http_parse_retry_after (retry_after, &ra_ms))
    delay = MAX (delay, MIN (ra_ms, client->max_retry_after_ms));
  return delay;
}

static gboolean
backoff_done_cb (gpointer user_data)
{
  Op *op = user_data;

  g_clear_pointer (&op->timer, g_source_unref);
  op_start_attempt (op);
  return G_SOURCE_REMOVE;
}

static void
http_done_cb (const AmgwHttpResponse *r, gpointer user_data)
{
  Op *op = user_data;
  AmgwAlexaClient *client = op->client;
  g_autofree char *status_text = r->status != 0 ? g_strdup_printf ("%u", r->status) : g_strdup ("error");
  g_autofree char *message = NULL;
  guint st = r->status;

  op->http_id = 0;
  amgw_metrics_add (M_REQUESTS, 1, "operation", op->operation, "status", status_text, NULL);
  amgw_metrics_observe (M_SECONDS, r->elapsed_ms / 1000.0, "operation", op->operation,
      "status", status_text, NULL);
  GST_DEBUG ("[%s] %s attempt %u -> %s (%" G_GINT64_FORMAT " ms)%s%s", op->session_id, op->operation,
      op->attempts, status_text, r->elapsed_ms, r->error != NULL ? ": " : "",
      r->error != NULL ? r->error : "");
  if (r->status != 0 && r->body_len > 0)
    GST_LOG ("[%s] %s answer body: %.*s", op->session_id, op->operation,
        (int) MIN (r->body_len, 4096), r->body);

  if (st >= 200 && st < 300) {
    op_finish (op, AMGW_ALEXA_OK, st, NULL);
    return;
  }
  if (st != 0)
    message = error_message_from_body (r->body, r->body_len);
  else
    message = g_strdup (r->error);

  if (st == 401) {
    if (op->refreshed) {
      op_finish (op, AMGW_ALEXA_UNAUTHORIZED, st, message);
      return;
    }
    op->refreshed = TRUE;
    amgw_lwa_invalidate (client->lwa, op->bearer);
    amgw_metrics_add (M_RETRIES, 1, "operation", op->operation, NULL);
    GST_DEBUG ("[%s] %s: 401, refreshing the token and retrying once", op->session_id, op->operation);
    op_start_attempt (op);
    return;
  }
  if (st == 0 || st == 409 || st == 429 || (st >= 500 && st <= 599)) {
    guint delay;

    if (op->retries >= client->max_retries) {
      op_finish (op, AMGW_ALEXA_GAVE_UP, st, message);
      return;
    }
    op->retries++;
    delay = backoff_delay (client, op->retries, r->retry_after);
    amgw_metrics_add (M_RETRIES, 1, "operation", op->operation, NULL);
    GST_DEBUG ("[%s] %s: retry %u of %u in %u ms%s%s", op->session_id, op->operation, op->retries,
        client->max_retries, delay, r->retry_after != NULL ? ", Retry-After: " : "",
        r->retry_after != NULL ? r->retry_after : "");
    op->phase = OP_BACKOFF;
    op->timer = g_timeout_source_new (delay);
    g_source_set_static_name (op->timer, "amgw-alexa-backoff");
    g_source_set_callback (op->timer, backoff_done_cb, op, NULL);
    g_source_attach (op->timer, amgw_http_client_get_context (client->http));
    return;
  }
  /* 400, 403, 404, and anything else (3xx, other 4xx) would not get better. */
  op_finish (op, AMGW_ALEXA_REJECTED, st, message);
}

static void
token_cb (const char *access_token, const GError *error, gpointer user_data)
{
  Op *op = user_data;
  AmgwAlexaClient *client = op->client;

  op->lwa_id = 0;
  if (error != NULL) {
    /* The token endpoint failing (after its own retries) is not the link
     * being gone: the caller may try again later. */
    op_finish (op, g_error_matches (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_FAILED)
        ? AMGW_ALEXA_GAVE_UP : AMGW_ALEXA_UNAUTHORIZED, 0, error->message);
    return;
  }
  secret_free (op->bearer);
  op->bearer = g_strdup (access_token);
  op->attempts++;
  op->phase = OP_IN_FLIGHT;
  GST_DEBUG ("[%s] %s attempt %u: POST %s (%" G_GSIZE_FORMAT " bytes)", op->session_id, op->operation,
      op->attempts, client->url, op->json_len);
  GST_LOG ("[%s] %s body: %s", op->session_id, op->operation, op->json);
  op->http_id = amgw_http_client_post (client->http, client->url, "application/json", op->bearer,
      op->json, op->json_len, http_done_cb, op);
}

static void
op_start_attempt (Op *op)
{
  op->phase = OP_WAIT_TOKEN;
  op->lwa_id = amgw_lwa_get_token (op->client->lwa, token_cb, op);
}

AmgwAlexaClient *
amgw_alexa_client_new (AmgwHttpClient *http, AmgwLwa *lwa, const char *api_url, guint max_retries)
{
  AmgwAlexaClient *client;
  gsize n;

  g_return_val_if_fail (http != NULL, NULL);
  g_return_val_if_fail (lwa != NULL, NULL);
  g_return_val_if_fail (api_url != NULL, NULL);

  amgw_debug_init ();
  amgw_metrics_describe (M_REQUESTS, AMGW_METRIC_COUNTER,
      "CallSignaling HTTP requests to Alexa by operation and status (HTTP code, or error).");
  {
    static const double bounds[] = { 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
    amgw_metrics_describe_histogram (M_SECONDS,
        "Latency of CallSignaling HTTP requests (each attempt), by operation and status.",
        bounds, G_N_ELEMENTS (bounds));
  }
  amgw_metrics_describe (M_RETRIES, AMGW_METRIC_COUNTER,
      "CallSignaling retries (409, 429, 5xx, transport failures, one per 401), by operation.");

  client = g_new0 (AmgwAlexaClient, 1);
  client->http = http;
  client->lwa = lwa;
  n = strlen (api_url);
  while (n > 0 && api_url[n - 1] == '/')
    n--;
  client->url = g_strdup_printf ("%.*s%s", (int) n, api_url, SIGNALING_PATH);
  client->max_retries = max_retries;
  client->backoff_base_ms = AMGW_ALEXA_DEFAULT_BACKOFF_BASE_MS;
  client->backoff_cap_ms = AMGW_ALEXA_DEFAULT_BACKOFF_CAP_MS;
  client->max_retry_after_ms = AMGW_ALEXA_DEFAULT_MAX_RETRY_AFTER_MS;
  client->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) session_free);
  if (!amgw_url_is_allowed (client->url))
    GST_ERROR ("api-url %s is refused (https://, or http:// to loopback only): every request will fail",
        client->url);
  GST_DEBUG ("CallSignaling to %s, %u retries", client->url, max_retries);
  return client;
}

void
amgw_alexa_client_set_backoff (AmgwAlexaClient *client, guint base_ms, guint cap_ms,
    guint max_retry_after_ms)
{
  g_return_if_fail (client != NULL);
  client->backoff_base_ms = MAX (base_ms, 1);
  client->backoff_cap_ms = MAX (cap_ms, client->backoff_base_ms);
  client->max_retry_after_ms = max_retry_after_ms;
}

static gboolean
refusal_idle_cb (gpointer user_data)
{
  Op *op = user_data;
  AmgwAlexaClient *client = op->client;

  g_clear_pointer (&op->timer, g_source_unref);
  client->refused = g_list_remove (client->refused, op);
  GST_WARNING ("[%s] %s -> REJECTED (not sent): %s", op->session_id, op->operation, op->refusal);
  client->dispatch_depth++;
  if (op->cb != NULL)
    op->cb (AMGW_ALEXA_REJECTED, 0, op->refusal, op->user_data);
  op_free (op);
  client_leave (client);
  return G_SOURCE_REMOVE;
}

void
amgw_alexa_client_send (AmgwAlexaClient *client, const char *session_id, const char *operation,
    char *json, AmgwAlexaCallback cb, gpointer user_data)
{
  Op *op;
  Session *s;

  g_return_if_fail (client != NULL);
  g_return_if_fail (!client->dying);
  g_return_if_fail (session_id != NULL && *session_id != '\0');
  g_return_if_fail (operation != NULL);
  g_return_if_fail (json != NULL);

  op = g_new0 (Op, 1);
  op->client = client;
  op->session_id = g_strdup (session_id);
  op->operation = g_strdup (operation);
  op->json = json;
  op->json_len = strlen (json);
  op->cb = cb;
  op->user_data = user_data;
  op->first_ms = amgw_now_ms ();

  s = g_hash_table_lookup (client->sessions, session_id);
  if (client->pending >= AMGW_ALEXA_MAX_QUEUED
      || (s != NULL && g_queue_get_length (&s->queue) >= AMGW_ALEXA_MAX_QUEUED_PER_SESSION)) {
    op->phase = OP_REFUSED;
    op->refusal = g_strdup_printf ("too many messages queued (%s)", s != NULL
        && g_queue_get_length (&s->queue) >= AMGW_ALEXA_MAX_QUEUED_PER_SESSION
        ? "session limit " G_STRINGIFY (AMGW_ALEXA_MAX_QUEUED_PER_SESSION)
        : "limit " G_STRINGIFY (AMGW_ALEXA_MAX_QUEUED));
    op->timer = g_idle_source_new ();
    g_source_set_static_name (op->timer, "amgw-alexa-refusal");
    g_source_set_callback (op->timer, refusal_idle_cb, op, NULL);
    g_source_attach (op->timer, amgw_http_client_get_context (client->http));
    client->refused = g_list_append (client->refused, op);
    return;
  }

  if (s == NULL) {
    s = g_new0 (Session, 1);
    s->id = g_strdup (session_id);
    g_queue_init (&s->queue);
    g_hash_table_insert (client->sessions, s->id, s);
  }
  op->session = s;
  op->phase = OP_QUEUED;
  g_queue_push_tail (&s->queue, op);
  client->pending++;
  GST_DEBUG ("[%s] %s queued (%u for the session)", session_id, operation, g_queue_get_length (&s->queue));
  session_kick (s);
}

void
amgw_alexa_client_cancel_session (AmgwAlexaClient *client, const char *session_id)
{
  Session *s;
  GList *l, *next;

  g_return_if_fail (client != NULL);
  g_return_if_fail (session_id != NULL);

  for (l = client->refused; l != NULL; l = next) {
    Op *op = l->data;
    next = l->next;
    if (strcmp (op->session_id, session_id) == 0) {
      client->refused = g_list_delete_link (client->refused, l);
      op_free (op);
    }
  }
  s = g_hash_table_lookup (client->sessions, session_id);
  if (s == NULL)
    return;
  GST_DEBUG ("[%s] cancelled: %u message(s) dropped", session_id, g_queue_get_length (&s->queue));
  client->pending -= g_queue_get_length (&s->queue);
  g_hash_table_remove (client->sessions, session_id);
}

guint
amgw_alexa_client_pending (AmgwAlexaClient *client)
{
  g_return_val_if_fail (client != NULL, 0);
  return client->pending;
}

void
amgw_alexa_client_free (AmgwAlexaClient *client)
{
  if (client == NULL)
    return;
  g_return_if_fail (!client->dying);

  client->dying = TRUE;
  g_list_free_full (g_steal_pointer (&client->refused), (GDestroyNotify) op_free);
  g_hash_table_remove_all (client->sessions);
  client->pending = 0;
  if (client->dispatch_depth == 0)
    client_destroy (client);
}
