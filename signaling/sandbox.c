/* amgw — the sandbox: a built-in Alexa cloud simulator and the page where a
 * person plays the Alexa device.
 *
 * Why: an integrator with a meeting bridge and no Alexa skill yet (no LWA
 * client, no device) still wants to test a whole meeting.  Without
 * [alexa] client-id amgw cannot reach Alexa anyway, so it plays Alexa
 * itself, over loopback, with the very messages of WIRE.md:
 *
 *   page (browser, loopback only)           simulator (this file)                 amgw
 *   ------------------------------          ----------------------                ----
 *   Start the meeting  -- /sandbox/api/join -->  JoinMeeting directive  -- POST /v1/alexa/directives -->
 *                                                <-- POST {api-url}/v1/communications/signaling
 *   rings (long poll)  <-- /sandbox/api/poll --  InitiateInboundCall (the offer)
 *   Accept (answer SDP) -- /sandbox/api/call -->  CallRinging, CallInProgress, CallAccepted
 *                                                            -- POST /v1/alexa/events -->
 *                                                <-- CallRingingAck, ... (checked: was it sent?)
 *   Hang up            -- /sandbox/api/call -->  CallEnded                -- POST /v1/alexa/events -->
 *
 * The daemon points [alexa] api-url at http://127.0.0.1:PORT/sandbox/alexa
 * and lwa-url at .../sandbox/lwa/token on its own listener, and gives LWA the
 * sandbox client and refresh token below, so the account is linked from the
 * start.  These are not secrets: they only let amgw talk to this simulator,
 * which answers loopback clients only and protects nothing.  The access
 * tokens it issues are random and checked on every CallSignaling request, so
 * amgw's LWA path (refresh, 401, retry) runs as it would against Amazon.
 *
 * The simulator is a strict peer, like tests/support/fake-cloud.c: a
 * CallSignaling request that does not follow WIRE.md section 1 is answered
 * 400 with the reason, an unknown session 404, an ack of an event the device
 * never sent 400; the page shows every exchange (the "wire log"), with the
 * rooms' tokens and the meeting pin masked.  What the simulator sends is
 * built here with cJSON as the Alexa skill would send it (WIRE.md sections 2
 * and 3) and goes through amgw's own HTTP API with the forwarding secret: the
 * parsing, state machines and answers under test are the real ones.
 * Requests toward amgw go out one at a time, in order (one FIFO), so events
 * of a call arrive in the order the device produced them.
 *
 * The page (signaling/sandbox/index.html, compiled in as a GResource) talks
 * only to /sandbox/api/: JSON in and out, a long poll for what happens
 * (events numbered from 1; "after" says what the page has), and a view of
 * one call (amgw's own GET /v1/calls/{id} answer, for the sandbox's calls
 * only, without the secret).  /sandbox/ is served in sandbox mode only and
 * only to loopback clients that name a loopback host (DNS rebinding); its
 * POST routes need application/json (no cross-site form posts) and refuse a
 * foreign Origin.  Bodies are small and bounded (sandbox.h).
 *
 * Control loop only.
 */
#include "amgw/sandbox.h"
#include "amgw/http-api.h"
#include "amgw/http-client.h"
#include "amgw/lwa.h"
#include "amgw/metrics.h"
#include "amgw/store.h"
#include "amgw/util.h"
#include "amgw/wire.h"

#include "sandbox-resources.h"

#include <gst/gst.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (amgw_sandbox_debug);
#define GST_CAT_DEFAULT amgw_sandbox_debug

/* Every entry point may log, in sandbox mode or not (the 404 of /sandbox/). */
static void
debug_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_sandbox_debug, "amgw-sandbox", 0,
        "amgw sandbox: the Alexa cloud simulator and its page");
    g_once_init_leave (&once, 1);
  }
}

G_DEFINE_QUARK (amgw-sandbox-error-quark, amgw_sandbox_error)
#define AMGW_SANDBOX_ERROR (amgw_sandbox_error_quark ())

/* The sandbox's LWA client and refresh token (see above: not secrets). */
#define SANDBOX_CLIENT_ID "amzn1.application-oa2-client.amgw-sandbox"
#define SANDBOX_CLIENT_SECRET "amgw-sandbox-client-secret"
#define SANDBOX_REFRESH_TOKEN "Atzr|amgw-sandbox-refresh-token"
#define SANDBOX_TOKEN_LIFETIME_S 3600
#define SANDBOX_MAX_ACCESS_TOKENS 4

/* The room added when none is configured. */
#define SANDBOX_ROOM_NAME "sandbox"
#define SANDBOX_ROOM_ENDPOINT "amgw-sandbox-room"
#define SANDBOX_ROOM_ADDRESS "amzn1.comms.id.person.amgw-sandbox-device"

#define SIGNALING_ROUTE "/sandbox/alexa/v1/communications/signaling"
#define LWA_ROUTE "/sandbox/lwa/token"
#define PAGE_RESOURCE "/amgw/sandbox/index.html"

#define BIT(t) (1u << (t))

/* One call as the simulated device sees it. */
typedef struct {
  char *session_id;
  char *room;               /* endpoint id of the room called */
  char *caller;             /* customParams.callerName (nullable) */
  char *originator;         /* the originator's address */
  char *offer;              /* the last offer from amgw (nullable) */
  const char *state;        /* "incoming", "ringing", "accepted", "ended" */
  guint32 sent;             /* events the device sent, a bit per AmgwSignalType */
  AmgwRenegotiation reneg;  /* renegotiationType of the one under way */
  gboolean remote_update;   /* amgw's CallUpdate waits for the page's answer */
  gboolean local_update;    /* the page's CallUpdate waits for amgw's answer */
  char *result;             /* CallEnded: "CODE: message" (nullable) */
  guint64 order;
} SbCall;

/* One request of the simulator toward amgw. */
typedef struct {
  char *path;               /* "/v1/alexa/events", "/v1/alexa/directives", ... */
  char *op;                 /* "CallRinging", "JoinMeeting", "test-call" */
  char *session_id;         /* (nullable) */
  char *body;
  char *shown;              /* the body as the page may see it */
  AmgwSignalType type;      /* events: which one; else AMGW_SIGNAL_N */
  gboolean directive;
  char *room;               /* (nullable) the room (endpoint id) it starts a call in */
  gint64 sent_ms;           /* wall clock */
} SbOut;

/* Requests made for one page request, answered when the last is done. */
typedef struct {
  AmgwSandbox *sb;
  GQueue outs;              /* SbOut* */
  SoupServerMessage *reply_to;  /* (nullable) paused, ours to answer */
  guint finished_handler;
  cJSON *result;            /* the page's answer so far */
} SbBatch;

typedef struct {
  AmgwSandbox *sb;
  SoupServerMessage *msg;
  guint64 after;
  guint timer;
  guint finished_handler;   /* set while paused */
} SbPoll;

struct _AmgwSandbox {
  AmgwConfig *config;       /* the daemon's; outlives us */
  AmgwGateway *gw;
  const char *secret;
  char *base_url;           /* http://127.0.0.1:PORT: amgw's own API */
  AmgwHttpClient *http;
  GPtrArray *access_tokens; /* issued, oldest first */
  GHashTable *calls;        /* session id -> SbCall* */
  guint64 call_order;
  GQueue events;            /* char* page events, oldest first */
  guint64 first_seq;        /* seq of the head of @events */
  guint64 last_seq;
  GPtrArray *polls;         /* SbPoll* */
  GQueue batches;           /* SbBatch* waiting */
  SbBatch *current;
  guint64 current_request;
  GHashTable *watches;      /* session id -> room endpoint id: calls amgw started for the page */
  guint watch_timer;
  gboolean stopping;
};

/* ------------------------------------------------------------------------ */
/* Small helpers */

static char *
json_print (const cJSON *j)
{
  char *text = cJSON_PrintUnformatted (j);
  char *copy = g_strdup (text ? text : "null");

  cJSON_free (text);
  return copy;
}

static char *
json_take (cJSON *j)
{
  char *text = json_print (j);

  cJSON_Delete (j);
  return text;
}

static char *
random_token (const char *prefix)
{
  guint8 raw[24];
  g_autofree char *b64 = NULL;

  for (guint i = 0; i < sizeof raw; i += 4) {
    guint32 r = g_random_int ();
    memcpy (raw + i, &r, 4);
  }
  b64 = g_base64_encode (raw, sizeof raw);
  for (char *p = b64; *p; p++)
    if (*p == '+') *p = '-'; else if (*p == '/') *p = '_'; else if (*p == '=') *p = '\0';
  return g_strconcat (prefix, b64, NULL);
}

static char *
now_iso8601 (void)
{
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format (now, "%Y-%m-%dT%H:%M:%S.%fZ");
}

/* A JSON string member, or NULL when absent; FALSE (with @problem) when it is
 * present with another type or longer than @max bytes. */
static gboolean
opt_string (const cJSON *o, const char *key, gsize max, const char **out, char **problem)
{
  const cJSON *j = cJSON_GetObjectItemCaseSensitive (o, key);

  *out = NULL;
  if (j == NULL || cJSON_IsNull (j))
    return TRUE;
  if (!cJSON_IsString (j)) {
    *problem = g_strdup_printf ("%s: must be a string", key);
    return FALSE;
  }
  if (strlen (j->valuestring) > max) {
    *problem = g_strdup_printf ("%s: at most %" G_GSIZE_FORMAT " bytes", key, max);
    return FALSE;
  }
  *out = j->valuestring[0] ? j->valuestring : NULL;
  return TRUE;
}

static void
sb_call_free (gpointer p)
{
  SbCall *c = p;

  g_free (c->session_id);
  g_free (c->room);
  g_free (c->caller);
  g_free (c->originator);
  g_free (c->offer);
  g_free (c->result);
  g_free (c);
}

static void
sb_out_free (SbOut *o)
{
  g_free (o->path);
  g_free (o->op);
  g_free (o->session_id);
  g_free (o->body);
  g_free (o->shown);
  g_free (o->room);
  g_free (o);
}

static const AmgwRoom *
room_by_endpoint (AmgwSandbox *sb, const char *endpoint_id)
{
  return amgw_config_find_room (sb->config, endpoint_id);
}

static const AmgwRoom *
room_by_address (AmgwSandbox *sb, const AmgwParticipant *p)
{
  for (guint i = 0; i < sb->config->rooms->len; i++) {
    const AmgwRoom *room = g_ptr_array_index (sb->config->rooms, i);
    if (room->alexa_address_type == p->type && g_strcmp0 (room->alexa_address, p->value) == 0)
      return room;
  }
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Answers */

/* The sandbox's answers are never cached nor sniffed. */
static void
no_store (SoupServerMessage *msg)
{
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);

  soup_message_headers_replace (h, "Cache-Control", "no-store");
  soup_message_headers_replace (h, "X-Content-Type-Options", "nosniff");
}

static void
reply_text (SoupServerMessage *msg, const char *route, guint status, const char *content_type,
    char *body /* transfer full */)
{
  no_store (msg);
  amgw_http_reply (msg, route, status, content_type, body);
}

static void
reply_json (SoupServerMessage *msg, const char *route, guint status, cJSON *json)
{
  no_store (msg);
  amgw_http_reply_json (msg, route, status, json);
}

static void
reply_error (SoupServerMessage *msg, const char *route, guint status, const char *message)
{
  no_store (msg);
  amgw_http_reply_error (msg, route, status, message);
}

/* Alexa's own error bodies carry a "message" (WIRE.md section 1). */
static void
reply_alexa_error (SoupServerMessage *msg, guint status, const char *message)
{
  cJSON *o = cJSON_CreateObject ();

  cJSON_AddStringToObject (o, "message", message);
  GST_INFO ("CallSignaling request refused with %u: %s", status, message);
  reply_json (msg, "sandbox-alexa", status, o);
}

/* ------------------------------------------------------------------------ */
/* Page events and the long poll */

static void poll_answer (SbPoll *poll);

static GString *
events_after (AmgwSandbox *sb, guint64 after, gboolean *reset)
{
  GString *s = g_string_new ("[");
  guint64 seq = sb->first_seq;
  gboolean first = TRUE;

  /* The page has more than we ever made: we restarted.  Send all. */
  *reset = after > sb->last_seq;
  if (*reset)
    after = 0;
  for (GList *l = sb->events.head; l; l = l->next, seq++) {
    if (seq <= after)
      continue;
    if (!first)
      g_string_append_c (s, ',');
    g_string_append (s, l->data);
    first = FALSE;
  }
  g_string_append_c (s, ']');
  return s;
}

/* Forgets @poll: out of the list, no timer, no handler. */
static void
poll_free (SbPoll *poll)
{
  g_ptr_array_remove (poll->sb->polls, poll);
  g_clear_handle_id (&poll->timer, g_source_remove);
  if (poll->finished_handler)
    g_signal_handler_disconnect (poll->msg, poll->finished_handler);
  g_object_unref (poll->msg);
  g_free (poll);
}

static void
poll_answer (SbPoll *poll)
{
  AmgwSandbox *sb = poll->sb;
  SoupServerMessage *msg = g_object_ref (poll->msg);
  gboolean paused = poll->finished_handler != 0;
  gboolean reset = FALSE;
  g_autoptr (GString) events = events_after (sb, poll->after, &reset);
  char *body = g_strdup_printf ("{\"last\":%" G_GUINT64_FORMAT ",\"reset\":%s,\"events\":%s}",
      sb->last_seq, reset ? "true" : "false", events->str);

  /* Gone before the message moves on: unpausing may finish it. */
  poll_free (poll);
  reply_text (msg, "sandbox-api", SOUP_STATUS_OK, "application/json", body);
  if (paused)
    soup_server_message_unpause (msg);
  g_object_unref (msg);
}

static gboolean
poll_timeout (gpointer data)
{
  SbPoll *poll = data;

  poll->timer = 0;
  poll_answer (poll);
  return G_SOURCE_REMOVE;
}

/* The page went away (or the server is closing): forget the poll. */
static void
poll_finished (SoupServerMessage *msg, gpointer data)
{
  poll_free (data);
}

/* Appends @ev (transfer full) to the page's events: numbers it, stamps it,
 * wakes the polls. */
static void
page_event (AmgwSandbox *sb, cJSON *ev)
{
  g_autofree char *t = now_iso8601 ();
  g_autoptr (GPtrArray) polls = NULL;

  cJSON_AddNumberToObject (ev, "seq", (double) ++sb->last_seq);
  cJSON_AddStringToObject (ev, "time", t);
  if (sb->events.length == 0)
    sb->first_seq = sb->last_seq;
  g_queue_push_tail (&sb->events, json_take (ev));
  while (sb->events.length > AMGW_SANDBOX_MAX_EVENTS) {
    g_free (g_queue_pop_head (&sb->events));
    sb->first_seq++;
  }
  polls = g_ptr_array_copy (sb->polls, NULL, NULL);
  for (guint i = 0; i < polls->len; i++)
    poll_answer (polls->pdata[i]);
}

/* A wire-log entry: @dir "to-alexa" (amgw -> the simulator) or "to-amgw". */
static cJSON *
wire_event (const char *dir, const char *op, const char *session_id, guint status,
    const char *shown)
{
  cJSON *ev = cJSON_CreateObject ();

  cJSON_AddStringToObject (ev, "dir", dir);
  cJSON_AddStringToObject (ev, "op", op);
  if (session_id)
    cJSON_AddStringToObject (ev, "session", session_id);
  cJSON_AddNumberToObject (ev, "status", status);
  if (shown) {
    gsize len = strlen (shown);
    if (len > AMGW_SANDBOX_MAX_SHOWN_BYTES) {
      g_autofree char *cut = g_strdup_printf ("%.*s ... (%" G_GSIZE_FORMAT " bytes in all)",
          AMGW_SANDBOX_MAX_SHOWN_BYTES, shown, len);
      cJSON_AddStringToObject (ev, "wire", cut);
    } else {
      cJSON_AddStringToObject (ev, "wire", shown);
    }
  }
  return ev;
}

static void
handle_poll (AmgwSandbox *sb, SoupServerMessage *msg, GHashTable *query)
{
  const char *after_text = query ? g_hash_table_lookup (query, "after") : NULL;
  guint64 after = 0;
  SbPoll *poll;

  if (after_text && !g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after, NULL)) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, "after: a whole number");
    return;
  }
  poll = g_new0 (SbPoll, 1);
  poll->sb = sb;
  poll->msg = g_object_ref (msg);
  poll->after = after;
  if (after != sb->last_seq || sb->stopping) {
    g_ptr_array_add (sb->polls, poll);
    poll_answer (poll);  /* something new (or a restart): answer at once */
    return;
  }
  /* Too many waiting (tabs): the oldest gets its (empty) answer now. */
  if (sb->polls->len >= AMGW_SANDBOX_MAX_POLLS)
    poll_answer (sb->polls->pdata[0]);
  g_ptr_array_add (sb->polls, poll);
  poll->timer = g_timeout_add (AMGW_SANDBOX_POLL_WAIT_MS, poll_timeout, poll);
  poll->finished_handler = g_signal_connect (msg, "finished", G_CALLBACK (poll_finished), poll);
  soup_server_message_pause (msg);
}

/* ------------------------------------------------------------------------ */
/* Requests toward amgw: one FIFO, one in flight */

static void pump (AmgwSandbox *sb);

static void
batch_finished_cb (SoupServerMessage *msg, gpointer data)
{
  SbBatch *b = data;

  /* The page went away; nobody to answer. */
  g_signal_handler_disconnect (b->reply_to, b->finished_handler);
  b->finished_handler = 0;
  g_clear_object (&b->reply_to);
}

static SbBatch *
batch_new (AmgwSandbox *sb, SoupServerMessage *reply_to)
{
  SbBatch *b = g_new0 (SbBatch, 1);

  b->sb = sb;
  g_queue_init (&b->outs);
  b->result = cJSON_CreateObject ();
  if (reply_to) {
    b->reply_to = g_object_ref (reply_to);
    b->finished_handler = g_signal_connect (reply_to, "finished",
        G_CALLBACK (batch_finished_cb), b);
    soup_server_message_pause (reply_to);
  }
  return b;
}

/* Answers the page (if it still waits) with the batch's result and frees. */
static void
batch_done (SbBatch *b, guint status)
{
  if (b->reply_to) {
    g_signal_handler_disconnect (b->reply_to, b->finished_handler);
    reply_json (b->reply_to, "sandbox-api", status, b->result);
    b->result = NULL;
    soup_server_message_unpause (b->reply_to);
    g_clear_object (&b->reply_to);
  }
  cJSON_Delete (b->result);
  g_queue_clear_full (&b->outs, (GDestroyNotify) sb_out_free);
  g_free (b);
}

static SbOut *
batch_add (SbBatch *b, const char *path, const char *op, const char *session_id,
    AmgwSignalType type, char *body /* transfer full */, char *shown /* transfer full */)
{
  SbOut *o = g_new0 (SbOut, 1);

  o->path = g_strdup (path);
  o->op = g_strdup (op);
  o->session_id = g_strdup (session_id);
  o->type = type;
  o->directive = g_str_has_suffix (path, "/directives");
  o->body = body;
  o->shown = shown ? shown : g_strdup (body);
  g_queue_push_tail (&b->outs, o);
  return o;
}

static void
batch_submit (AmgwSandbox *sb, SbBatch *b)
{
  g_queue_push_tail (&sb->batches, b);
  pump (sb);
}

/* The device's view moves when an event goes out (amgw may ack before its
 * HTTP answer to the event comes back). */
static void
event_sent (AmgwSandbox *sb, const SbOut *o)
{
  SbCall *call = o->session_id ? g_hash_table_lookup (sb->calls, o->session_id) : NULL;

  if (call == NULL || o->type == AMGW_SIGNAL_N)
    return;
  call->sent |= BIT (o->type);
  switch (o->type) {
    case AMGW_SIGNAL_CALL_RINGING:
      call->state = "ringing";
      break;
    case AMGW_SIGNAL_CALL_ACCEPTED:
      call->state = "accepted";
      break;
    case AMGW_SIGNAL_CALL_ENDED:
      call->state = "ended";
      break;
    case AMGW_SIGNAL_CALL_UPDATE:
      call->local_update = TRUE;
      break;
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      call->remote_update = FALSE;
      break;
    default:
      break;
  }
}

/* ---- Calls amgw started for the page ----
 *
 * A call that ends before amgw has called the device (the bridge refused,
 * the offer failed) never reaches Alexa: amgw has nothing to tell it.  The
 * integrator still wants to know, so the simulator follows the calls its
 * JoinMeeting and audio checks started, in amgw's own view (the calls
 * registry, then the recently ended calls), and tells the page how each one
 * ended when the device did not hear of it. */

#define WATCH_INTERVAL_MS 500

static gboolean make_room_for_a_call (AmgwSandbox *sb);

static void
report_ended (AmgwSandbox *sb, const char *session_id, const char *room, const cJSON *view)
{
  const char *outcome = cJSON_GetStringValue (cJSON_GetObjectItem (view, "outcome"));
  const char *reason = cJSON_GetStringValue (cJSON_GetObjectItem (view, "reason"));
  SbCall *call = g_hash_table_lookup (sb->calls, session_id);
  cJSON *ev = wire_event ("amgw", "call-ended", session_id, 200, NULL);

  /* The device never heard of it; the simulator keeps it as one of its
   * calls all the same, so that the page may look at amgw's view of it. */
  if (call == NULL && make_room_for_a_call (sb)) {
    call = g_new0 (SbCall, 1);
    call->session_id = g_strdup (session_id);
    call->room = g_strdup (room);
    call->originator = g_strdup ("");
    call->order = ++sb->call_order;
    g_hash_table_insert (sb->calls, call->session_id, call);
  }
  if (call) {
    call->state = "ended";
    g_free (call->result);
    call->result = g_strdup_printf ("%s%s%s", outcome ? outcome : "ended", reason ? ": " : "",
        reason ? reason : "");
  }
  cJSON_AddStringToObject (ev, "room", room);
  cJSON_AddStringToObject (ev, "code", outcome ? outcome : "ended");
  if (reason)
    cJSON_AddStringToObject (ev, "message", reason);
  GST_INFO ("[%s] amgw ended the call without telling the device: %s%s%s", session_id,
      outcome ? outcome : "ended", reason ? ", " : "", reason ? reason : "");
  page_event (sb, ev);
}

static gboolean
check_watches (gpointer data)
{
  AmgwSandbox *sb = data;
  GHashTableIter it;
  gpointer k, v;

  g_hash_table_iter_init (&it, sb->watches);
  while (g_hash_table_iter_next (&it, &k, &v)) {
    SbCall *call = g_hash_table_lookup (sb->calls, k);
    cJSON *view;

    if (call && strcmp (call->state, "ended") == 0) {
      g_hash_table_iter_remove (&it);     /* the device knows */
      continue;
    }
    if (amgw_gateway_find_call (sb->gw, k) != NULL)
      continue;                           /* under way */
    view = amgw_gateway_recent_call (sb->gw, k);
    if (view == NULL) {
      g_autoptr (AmgwCallRecord) rec = amgw_store_get_call_record (
          amgw_gateway_get_store (sb->gw), k, NULL);
      view = rec ? amgw_call_record_to_json (rec) : NULL;
    }
    report_ended (sb, k, v, view);
    cJSON_Delete (view);
    g_hash_table_iter_remove (&it);
  }
  if (g_hash_table_size (sb->watches) > 0)
    return G_SOURCE_CONTINUE;
  sb->watch_timer = 0;
  return G_SOURCE_REMOVE;
}

static void
watch (AmgwSandbox *sb, const char *session_id, const char *room)
{
  if (g_hash_table_size (sb->watches) >= AMGW_SANDBOX_MAX_CALLS)
    return;
  g_hash_table_replace (sb->watches, g_strdup (session_id), g_strdup (room));
  if (sb->watch_timer == 0)
    sb->watch_timer = g_timeout_add (WATCH_INTERVAL_MS, check_watches, sb);
}

/* The session amgw made for a JoinMeeting in @room sent at @since_ms: the
 * room's active call, else its call record (it may have ended already).
 * (transfer full) (nullable) */
static char *
find_room_call (AmgwSandbox *sb, const char *room_endpoint, gint64 since_ms)
{
  const AmgwRoom *room = room_by_endpoint (sb, room_endpoint);
  cJSON *calls, *c;
  char *found = NULL;

  if (room == NULL)
    return NULL;
  calls = amgw_gateway_calls_to_json (sb->gw);
  cJSON_ArrayForEach (c, calls) {
    if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (c, "room")), room->name) == 0 &&
        cJSON_IsString (cJSON_GetObjectItem (c, "id"))) {
      found = g_strdup (cJSON_GetObjectItem (c, "id")->valuestring);
      break;
    }
  }
  cJSON_Delete (calls);
  if (found == NULL) {
    g_autoptr (GPtrArray) recs = amgw_store_list_call_records (amgw_gateway_get_store (sb->gw),
        8, NULL);
    for (guint i = 0; recs && i < recs->len && !found; i++) {
      AmgwCallRecord *rec = recs->pdata[i];
      if (g_strcmp0 (rec->room, room->name) == 0 && rec->started_ms >= since_ms - 1000)
        found = g_strdup (rec->session_id);
    }
  }
  return found;
}

/* Masks the room token amgw echoes in a directive's answer. */
static void
mask_answer (cJSON *answer)
{
  cJSON *scope = cJSON_GetObjectItem (cJSON_GetObjectItem (cJSON_GetObjectItem (answer, "event"),
      "endpoint"), "scope");

  if (cJSON_GetObjectItem (scope, "token"))
    cJSON_ReplaceItemInObject (scope, "token", cJSON_CreateString ("(the room's token)"));
}

static void
on_out_done (const AmgwHttpResponse *resp, gpointer data)
{
  AmgwSandbox *sb = data;
  SbBatch *b = sb->current;
  SbOut *o = g_queue_pop_head (&b->outs);
  cJSON *answer = NULL, *ev;
  const char *message = NULL;
  gboolean ok = resp->status >= 200 && resp->status < 300;
  const char *error_type = NULL;

  sb->current_request = 0;
  if (resp->body && resp->body_len > 0)
    answer = cJSON_ParseWithLength (resp->body, resp->body_len);
  if (o->directive)
    mask_answer (answer);
  if (resp->status == 0)
    message = resp->error ? resp->error : "no answer";
  else if (cJSON_IsObject (answer) && cJSON_IsString (cJSON_GetObjectItem (answer, "message")))
    message = cJSON_GetObjectItem (answer, "message")->valuestring;
  if (o->directive && ok) {
    /* A directive's answer is always HTTP 200: the event says how it went. */
    const cJSON *ev_header = cJSON_GetObjectItem (cJSON_GetObjectItem (answer, "event"), "header");
    const cJSON *payload = cJSON_GetObjectItem (cJSON_GetObjectItem (answer, "event"), "payload");
    const cJSON *name = cJSON_GetObjectItem (ev_header, "name");

    if (!cJSON_IsString (name)) {
      ok = FALSE;
      message = "amgw's answer is not an event envelope";
    } else if (strcmp (name->valuestring, "ErrorResponse") == 0) {
      ok = FALSE;
      error_type = cJSON_GetStringValue (cJSON_GetObjectItem (payload, "type"));
      message = cJSON_GetStringValue (cJSON_GetObjectItem (payload, "message"));
    }
  }
  GST_INFO ("%s%s%s%s -> amgw: %u%s%s%s", o->session_id ? "[" : "",
      o->session_id ? o->session_id : "", o->session_id ? "] " : "", o->op, resp->status,
      error_type ? " " : "", error_type ? error_type : "", ok ? "" : " (refused)");
  GST_DEBUG ("%s: %s", o->op, message ? message : "ok");

  ev = wire_event ("to-amgw", o->op, o->session_id, resp->status, o->shown);
  cJSON_AddBoolToObject (ev, "ok", ok);
  if (message)
    cJSON_AddStringToObject (ev, "message", message);
  if (error_type)
    cJSON_AddStringToObject (ev, "error_type", error_type);
  if (answer) {
    g_autofree char *shown = json_print (answer);
    if (strlen (shown) > AMGW_SANDBOX_MAX_SHOWN_BYTES)
      shown[AMGW_SANDBOX_MAX_SHOWN_BYTES] = '\0';
    cJSON_AddStringToObject (ev, "answer", shown);
  } else if (resp->body && resp->body_len > 0 && !o->directive) {
    g_autofree char *shown = g_strndup (resp->body, MIN (resp->body_len, AMGW_SANDBOX_MAX_SHOWN_BYTES));
    cJSON_AddStringToObject (ev, "answer", shown);
  }
  page_event (sb, ev);

  /* What the page gets back: the last request's outcome. */
  cJSON_DeleteItemFromObject (b->result, "ok");
  cJSON_DeleteItemFromObject (b->result, "op");
  cJSON_DeleteItemFromObject (b->result, "status");
  cJSON_DeleteItemFromObject (b->result, "message");
  cJSON_DeleteItemFromObject (b->result, "error_type");
  cJSON_DeleteItemFromObject (b->result, "answer");
  cJSON_DeleteItemFromObject (b->result, "session");
  /* Follow the call this started (see above). */
  if (ok && o->room) {
    g_autofree char *sid = NULL;
    if (o->directive)
      sid = find_room_call (sb, o->room, o->sent_ms);
    else if (cJSON_IsString (cJSON_GetObjectItem (answer, "id")))
      sid = g_strdup (cJSON_GetObjectItem (answer, "id")->valuestring);
    if (sid) {
      cJSON_AddStringToObject (b->result, "session", sid);
      watch (sb, sid, o->room);
    }
  }
  cJSON_AddBoolToObject (b->result, "ok", ok);
  cJSON_AddStringToObject (b->result, "op", o->op);
  cJSON_AddNumberToObject (b->result, "status", resp->status);
  if (message)
    cJSON_AddStringToObject (b->result, "message", message);
  if (error_type)
    cJSON_AddStringToObject (b->result, "error_type", error_type);
  if (answer) {
    cJSON_AddItemToObject (b->result, "answer", answer);
    answer = NULL;
  }
  cJSON_Delete (answer);
  sb_out_free (o);

  if (!ok || b->outs.length == 0) {
    /* A refusal ends the batch: what followed depended on it. */
    sb->current = NULL;
    batch_done (b, SOUP_STATUS_OK);
  }
  pump (sb);
}

static void
pump (AmgwSandbox *sb)
{
  SbOut *o;
  g_autofree char *url = NULL;

  if (sb->current_request != 0 || sb->stopping)
    return;
  if (sb->current == NULL)
    sb->current = g_queue_pop_head (&sb->batches);
  if (sb->current == NULL)
    return;
  o = g_queue_peek_head (&sb->current->outs);
  if (o == NULL) {
    SbBatch *b = sb->current;
    sb->current = NULL;
    batch_done (b, SOUP_STATUS_OK);
    pump (sb);
    return;
  }
  url = g_strconcat (sb->base_url, o->path, NULL);
  GST_INFO ("%s%s%s%s -> amgw", o->session_id ? "[" : "", o->session_id ? o->session_id : "",
      o->session_id ? "] " : "", o->op);
  event_sent (sb, o);
  o->sent_ms = amgw_wall_ms ();
  sb->current_request = amgw_http_client_post (sb->http, url, "application/json", sb->secret,
      o->body, strlen (o->body), on_out_done, sb);
}

/* ------------------------------------------------------------------------ */
/* What the skill would send: event envelopes and directives */

/* A custom-skill request envelope forwarding a CallSignaling event (WIRE.md
 * section 2).  (transfer full) */
static char *
build_event (const SbCall *call, AmgwSignalType type, AmgwSdpType sdp_type, const char *sdp,
    AmgwRenegotiation reneg, AmgwResultCode code, const char *message)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *system, *o, *session, *request;
  g_autofree char *u1 = g_uuid_string_random ();
  g_autofree char *u2 = g_uuid_string_random ();
  g_autofree char *skill_session = g_strconcat ("amzn1.echo-api.session.", u1, NULL);
  g_autofree char *request_id = g_strconcat ("amzn1.echo-api.request.", u2, NULL);
  g_autofree char *type_name = g_strconcat (AMGW_SIGNAL_TYPE_PREFIX,
      amgw_signal_type_name (type), NULL);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *timestamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");

  cJSON_AddStringToObject (root, "version", "1.0");
  system = cJSON_AddObjectToObject (cJSON_AddObjectToObject (root, "context"), "System");
  o = cJSON_AddObjectToObject (system, "application");
  cJSON_AddStringToObject (o, "applicationId", "amzn1.ask.skill.amgw-sandbox");
  o = cJSON_AddObjectToObject (system, "user");
  cJSON_AddStringToObject (o, "userId", "amzn1.ask.account.amgw-sandbox");
  o = cJSON_AddObjectToObject (system, "device");
  cJSON_AddStringToObject (o, "deviceId", "amzn1.ask.device.amgw-sandbox");
  cJSON_AddObjectToObject (o, "supportedInterfaces");

  session = cJSON_AddObjectToObject (root, "session");
  cJSON_AddFalseToObject (session, "new");
  cJSON_AddStringToObject (session, "sessionId", skill_session);
  o = cJSON_AddObjectToObject (session, "application");
  cJSON_AddStringToObject (o, "applicationId", "amzn1.ask.skill.amgw-sandbox");

  request = cJSON_AddObjectToObject (root, "request");
  cJSON_AddStringToObject (request, "type", type_name);
  cJSON_AddStringToObject (request, "requestId", request_id);
  cJSON_AddStringToObject (request, "timestamp", timestamp);
  cJSON_AddStringToObject (request, "locale", "en-US");
  cJSON_AddStringToObject (request, "sessionId", call->session_id);
  if (reneg != AMGW_RENEGOTIATION_NONE)
    cJSON_AddStringToObject (request, "renegotiationType", amgw_renegotiation_name (reneg));
  if (sdp_type != AMGW_SDP_NONE) {
    o = cJSON_AddObjectToObject (request, "sdpDetails");
    cJSON_AddStringToObject (o, "type", amgw_sdp_type_name (sdp_type));
    cJSON_AddStringToObject (o, "value", sdp);
  }
  if (code != AMGW_RESULT_NONE) {
    o = cJSON_AddObjectToObject (request, "callResult");
    cJSON_AddStringToObject (o, "code", amgw_result_code_name (code));
    if (message)
      cJSON_AddStringToObject (o, "message", message);
  }
  return json_take (root);
}

static void
add_event (SbBatch *b, const SbCall *call, AmgwSignalType type, AmgwSdpType sdp_type,
    const char *sdp, AmgwRenegotiation reneg, AmgwResultCode code, const char *message)
{
  batch_add (b, "/v1/alexa/events", amgw_signal_type_name (type), call->session_id, type,
      build_event (call, type, sdp_type, sdp, reneg, code, message), NULL);
}

/* A directive envelope for @room (WIRE.md section 3); @payload transfer
 * full.  @shown gets the same with the scope token (and a pin) masked. */
static char *
build_directive (const char *namespace_, const char *name, const AmgwRoom *room,
    cJSON *payload, char **shown)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON *directive = cJSON_AddObjectToObject (root, "directive");
  cJSON *header = cJSON_AddObjectToObject (directive, "header");
  cJSON *endpoint = cJSON_AddObjectToObject (directive, "endpoint");
  cJSON *scope, *meeting;
  g_autofree char *message_id = g_uuid_string_random ();
  g_autofree char *correlation = random_token ("sandbox-correlation-");
  char *text;

  cJSON_AddStringToObject (header, "namespace", namespace_);
  cJSON_AddStringToObject (header, "name", name);
  cJSON_AddStringToObject (header, "messageId", message_id);
  cJSON_AddStringToObject (header, "correlationToken", correlation);
  cJSON_AddStringToObject (header, "payloadVersion", "3");
  cJSON_AddStringToObject (endpoint, "endpointId", room->endpoint_id);
  cJSON_AddObjectToObject (endpoint, "cookie");
  scope = cJSON_AddObjectToObject (endpoint, "scope");
  cJSON_AddStringToObject (scope, "type", "BearerToken");
  cJSON_AddStringToObject (scope, "token", room->token);
  cJSON_AddItemToObject (directive, "payload", payload);
  text = json_print (root);

  cJSON_ReplaceItemInObject (scope, "token", cJSON_CreateString ("(the room's token)"));
  meeting = cJSON_GetObjectItem (payload, "meeting");
  if (cJSON_GetObjectItem (meeting, "pin"))
    cJSON_ReplaceItemInObject (meeting, "pin", cJSON_CreateString ("****"));
  *shown = json_take (root);
  return text;
}

/* ------------------------------------------------------------------------ */
/* /sandbox/alexa/v1/communications/signaling: amgw -> "Alexa" */

static gboolean
bearer_known (AmgwSandbox *sb, SoupServerMessage *msg)
{
  const char *auth = soup_message_headers_get_one (
      soup_server_message_get_request_headers (msg), "Authorization");
  gboolean known = FALSE;

  if (auth == NULL || g_ascii_strncasecmp (auth, "Bearer ", 7) != 0)
    return FALSE;
  /* Every token is compared, in constant time each. */
  for (guint i = 0; i < sb->access_tokens->len; i++)
    known |= amgw_secret_equal (auth + 7, sb->access_tokens->pdata[i]);
  return known;
}

static gboolean
read_sdp_details (const cJSON *o, AmgwSdpType expected, AmgwSignal *s, char **problem)
{
  const cJSON *d = cJSON_GetObjectItemCaseSensitive (o, "sdpDetails");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (d, "type");
  const cJSON *value = cJSON_GetObjectItemCaseSensitive (d, "value");

  if (!cJSON_IsObject (d)) {
    *problem = g_strdup ("sdpDetails: a required object is missing");
    return FALSE;
  }
  if (!cJSON_IsString (type) || !amgw_sdp_type_from_name (type->valuestring, &s->sdp_type) ||
      s->sdp_type != expected) {
    *problem = g_strdup_printf ("sdpDetails.type: must be \"%s\"", amgw_sdp_type_name (expected));
    return FALSE;
  }
  if (!cJSON_IsString (value) || value->valuestring[0] == '\0' ||
      strlen (value->valuestring) > AMGW_MAX_SDP_BYTES ||
      !g_str_has_prefix (value->valuestring, "v=0")) {
    *problem = g_strdup ("sdpDetails.value: must be an SDP body (\"v=0...\", at most 64 KiB)");
    return FALSE;
  }
  s->sdp = g_strdup (value->valuestring);
  return TRUE;
}

static gboolean
read_renegotiation (const cJSON *o, AmgwSignal *s, char **problem)
{
  const cJSON *r = cJSON_GetObjectItemCaseSensitive (o, "renegotiationType");

  if (!cJSON_IsString (r) || !amgw_renegotiation_from_name (r->valuestring, &s->renegotiation) ||
      s->renegotiation == AMGW_RENEGOTIATION_NONE) {
    *problem = g_strdup ("renegotiationType: CALL_HOLD, CALL_RESUME or CALL_UPDATE");
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_participants (const cJSON *o, AmgwSignal *s, char **problem)
{
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive (o, "participants");
  const cJSON *p;
  guint originators = 0, n = 0;

  if (!cJSON_IsArray (arr) || cJSON_GetArraySize (arr) < 2 ||
      cJSON_GetArraySize (arr) > AMGW_MAX_PARTICIPANTS) {
    *problem = g_strdup_printf ("participants: an array of 2 to %u participants",
        AMGW_MAX_PARTICIPANTS);
    return FALSE;
  }
  cJSON_ArrayForEach (p, arr) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive (p, "id");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive (id, "type");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive (id, "value");
    const cJSON *orig = cJSON_GetObjectItemCaseSensitive (p, "isOriginator");
    AmgwAddressType t;

    if (!cJSON_IsString (type) || !amgw_address_type_from_string (type->valuestring, &t)) {
      *problem = g_strdup_printf ("participants[%u].id.type: COMMUNICATION_PROFILE_ID, "
          "PHONE_NUMBER or RAW_ADDRESS", n);
      return FALSE;
    }
    if (!cJSON_IsString (value) || value->valuestring[0] == '\0' ||
        strlen (value->valuestring) > AMGW_MAX_ADDRESS_LEN) {
      *problem = g_strdup_printf ("participants[%u].id.value: a non-empty string", n);
      return FALSE;
    }
    if (!cJSON_IsBool (orig)) {
      *problem = g_strdup_printf ("participants[%u].isOriginator: true or false", n);
      return FALSE;
    }
    originators += cJSON_IsTrue (orig);
    amgw_signal_add_participant (s, t, value->valuestring, cJSON_IsTrue (orig));
    n++;
  }
  if (originators != 1) {
    *problem = g_strdup_printf ("participants: exactly one originator (there are %u)", originators);
    return FALSE;
  }
  return TRUE;
}

/* A partner -> Alexa body (WIRE.md section 1), checked as Alexa would.
 * (transfer full) (nullable) */
AmgwSignal *
amgw_sandbox_parse_signaling (const char *body, gsize len, char **problem)
{
  g_autoptr (AmgwSignal) s = NULL;
  cJSON *o = cJSON_ParseWithLength (body, len);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (o, "type");
  const cJSON *sid = cJSON_GetObjectItemCaseSensitive (o, "sessionId");
  AmgwSignalType t;
  gboolean ok = FALSE;

  if (!cJSON_IsObject (o)) {
    *problem = g_strdup ("the body is not a JSON object");
    goto out;
  }
  if (!cJSON_IsString (type) || !g_str_has_prefix (type->valuestring, AMGW_SIGNAL_TYPE_PREFIX) ||
      !amgw_signal_type_from_name (type->valuestring, &t) ||
      t == AMGW_SIGNAL_INITIATE_OUTBOUND_CALL) {
    *problem = g_strdup ("type: an Alexa.Comms.CallSignaling operation a partner sends");
    goto out;
  }
  if (!cJSON_IsString (sid) || sid->valuestring[0] == '\0' ||
      strlen (sid->valuestring) > AMGW_MAX_SESSION_ID_LEN) {
    *problem = g_strdup_printf ("sessionId: a string of 1 to %u characters",
        AMGW_MAX_SESSION_ID_LEN);
    goto out;
  }
  s = amgw_signal_new (t, sid->valuestring);
  switch (t) {
    case AMGW_SIGNAL_INITIATE_INBOUND_CALL: {
      const cJSON *caller = cJSON_GetObjectItemCaseSensitive (
          cJSON_GetObjectItemCaseSensitive (o, "customParams"), "callerName");
      if (!read_participants (o, s, problem) || !read_sdp_details (o, AMGW_SDP_OFFER, s, problem))
        goto out;
      if (cJSON_IsString (caller))
        s->caller_name = g_utf8_make_valid (caller->valuestring,
            MIN (strlen (caller->valuestring), AMGW_MAX_TEXT_LEN));
      break;
    }
    case AMGW_SIGNAL_CALL_IN_PROGRESS:
    case AMGW_SIGNAL_CALL_ACCEPTED:
      if (!read_sdp_details (o, AMGW_SDP_ANSWER, s, problem))
        goto out;
      break;
    case AMGW_SIGNAL_CALL_UPDATE:
      if (!read_renegotiation (o, s, problem) || !read_sdp_details (o, AMGW_SDP_OFFER, s, problem))
        goto out;
      break;
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      if (!read_renegotiation (o, s, problem) || !read_sdp_details (o, AMGW_SDP_ANSWER, s, problem))
        goto out;
      break;
    case AMGW_SIGNAL_CALL_ENDED: {
      const cJSON *r = cJSON_GetObjectItemCaseSensitive (o, "callResult");
      const cJSON *code = cJSON_GetObjectItemCaseSensitive (r, "code");
      const cJSON *message = cJSON_GetObjectItemCaseSensitive (r, "message");
      if (!cJSON_IsString (code) || !amgw_result_code_from_name (code->valuestring, &s->result_code) ||
          s->result_code == AMGW_RESULT_NONE) {
        *problem = g_strdup ("callResult.code: SUCCESS, DEVICE_BUSY, SESSION_TIMEOUT, "
            "UNAUTHORIZED or INTERNAL_ERROR");
        goto out;
      }
      if (message != NULL && !cJSON_IsString (message)) {
        *problem = g_strdup ("callResult.message: must be a string");
        goto out;
      }
      if (message)
        s->result_message = g_utf8_make_valid (message->valuestring,
            MIN (strlen (message->valuestring), AMGW_MAX_TEXT_LEN));
      break;
    }
    default:
      break;
  }
  ok = TRUE;

out:
  cJSON_Delete (o);
  return ok ? g_steal_pointer (&s) : NULL;
}

/* Keeps at most AMGW_SANDBOX_MAX_CALLS: drops the oldest ended one.  FALSE
 * when all are active. */
static gboolean
make_room_for_a_call (AmgwSandbox *sb)
{
  GHashTableIter it;
  gpointer v;
  SbCall *oldest = NULL;

  if (g_hash_table_size (sb->calls) < AMGW_SANDBOX_MAX_CALLS)
    return TRUE;
  g_hash_table_iter_init (&it, sb->calls);
  while (g_hash_table_iter_next (&it, NULL, &v)) {
    SbCall *c = v;
    if (strcmp (c->state, "ended") == 0 && (oldest == NULL || c->order < oldest->order))
      oldest = c;
  }
  if (oldest == NULL)
    return FALSE;
  g_hash_table_remove (sb->calls, oldest->session_id);
  return TRUE;
}

/* What the device does with a request it accepted; FALSE with @status and
 * @problem when the request does not fit the call's state. */
static gboolean
apply_signaling (AmgwSandbox *sb, const AmgwSignal *s, cJSON *ev, guint *status, char **problem)
{
  SbCall *call = g_hash_table_lookup (sb->calls, s->session_id);
  const char *op = amgw_signal_type_name (s->type);

  if (s->type == AMGW_SIGNAL_INITIATE_INBOUND_CALL) {
    const AmgwParticipant *callee = NULL, *originator = NULL;
    const AmgwRoom *room = NULL;

    if (call) {
      *status = 400;
      *problem = g_strdup_printf ("session %s exists already", s->session_id);
      return FALSE;
    }
    for (guint i = 0; i < s->participants->len; i++) {
      const AmgwParticipant *p = s->participants->pdata[i];
      if (p->is_originator)
        originator = p;
      else if (room == NULL && (room = room_by_address (sb, p)) != NULL)
        callee = p;
    }
    if (room == NULL) {
      *status = 404;
      *problem = g_strdup ("no device of the sandbox has the callee's address (a room's "
          "alexa-address and alexa-address-type)");
      return FALSE;
    }
    if (!make_room_for_a_call (sb)) {
      *status = 429;
      *problem = g_strdup ("the sandbox has too many active calls");
      return FALSE;
    }
    call = g_new0 (SbCall, 1);
    call->session_id = g_strdup (s->session_id);
    call->room = g_strdup (room->endpoint_id);
    call->caller = g_strdup (s->caller_name);
    call->originator = g_strdup (originator->value);
    call->offer = g_strdup (s->sdp);
    call->state = "incoming";
    call->order = ++sb->call_order;
    g_hash_table_insert (sb->calls, call->session_id, call);
    cJSON_AddStringToObject (ev, "room", room->endpoint_id);
    cJSON_AddStringToObject (ev, "room_name", room->friendly_name ? room->friendly_name : room->name);
    cJSON_AddStringToObject (ev, "callee", callee->value);
    cJSON_AddStringToObject (ev, "originator", originator->value);
    if (s->caller_name)
      cJSON_AddStringToObject (ev, "caller", s->caller_name);
    cJSON_AddStringToObject (ev, "sdp", s->sdp);
    GST_INFO ("[%s] InitiateInboundCall for room %s: the page rings", s->session_id,
        room->endpoint_id);
    return TRUE;
  }

  if (call == NULL || strcmp (call->state, "ended") == 0) {
    *status = 404;
    *problem = g_strdup_printf ("no active session %s", s->session_id);
    return FALSE;
  }
  switch (s->type) {
    case AMGW_SIGNAL_CALL_RINGING_ACK:
    case AMGW_SIGNAL_CALL_IN_PROGRESS_ACK:
    case AMGW_SIGNAL_CALL_ACCEPTED_ACK: {
      AmgwSignalType acked = s->type == AMGW_SIGNAL_CALL_RINGING_ACK ? AMGW_SIGNAL_CALL_RINGING
          : s->type == AMGW_SIGNAL_CALL_IN_PROGRESS_ACK ? AMGW_SIGNAL_CALL_IN_PROGRESS
          : AMGW_SIGNAL_CALL_ACCEPTED;
      if (!(call->sent & BIT (acked))) {
        *status = 400;
        *problem = g_strdup_printf ("%s, but the device sent no %s", op,
            amgw_signal_type_name (acked));
        return FALSE;
      }
      break;
    }
    case AMGW_SIGNAL_CALL_UPDATE_ACK:
      if (!(call->sent & BIT (AMGW_SIGNAL_CALL_UPDATE_RESPONSE))) {
        *status = 400;
        *problem = g_strdup ("CallUpdateAck, but the device sent no CallUpdateResponse");
        return FALSE;
      }
      break;
    case AMGW_SIGNAL_CALL_UPDATE:
      if (strcmp (call->state, "accepted") != 0 || call->remote_update) {
        *status = 400;
        *problem = g_strdup_printf ("CallUpdate in state %s%s", call->state,
            call->remote_update ? " (another CallUpdate waits for its answer)" : "");
        return FALSE;
      }
      call->remote_update = TRUE;
      call->reneg = s->renegotiation;
      g_free (call->offer);
      call->offer = g_strdup (s->sdp);
      cJSON_AddStringToObject (ev, "renegotiation", amgw_renegotiation_name (s->renegotiation));
      cJSON_AddStringToObject (ev, "sdp", s->sdp);
      break;
    case AMGW_SIGNAL_CALL_UPDATE_RESPONSE:
      if (!call->local_update) {
        *status = 400;
        *problem = g_strdup ("CallUpdateResponse, but the device sent no CallUpdate");
        return FALSE;
      }
      call->local_update = FALSE;
      cJSON_AddStringToObject (ev, "renegotiation", amgw_renegotiation_name (s->renegotiation));
      cJSON_AddStringToObject (ev, "sdp", s->sdp);
      break;
    case AMGW_SIGNAL_CALL_ENDED:
      call->state = "ended";
      g_free (call->result);
      call->result = g_strdup_printf ("%s%s%s", amgw_result_code_name (s->result_code),
          s->result_message ? ": " : "", s->result_message ? s->result_message : "");
      cJSON_AddStringToObject (ev, "code", amgw_result_code_name (s->result_code));
      if (s->result_message)
        cJSON_AddStringToObject (ev, "message", s->result_message);
      GST_INFO ("[%s] CallEnded from amgw: %s", s->session_id, call->result);
      break;
    case AMGW_SIGNAL_CALL_RINGING:
    case AMGW_SIGNAL_CALL_IN_PROGRESS:
    case AMGW_SIGNAL_CALL_ACCEPTED:
      /* Answers to an InitiateOutboundCall: the sandbox device places none. */
      *status = 400;
      *problem = g_strdup_printf ("%s, but the device placed no call in session %s", op,
          s->session_id);
      return FALSE;
    default:
      break;
  }
  return TRUE;
}

static void
handle_signaling (AmgwSandbox *sb, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr (AmgwSignal) s = NULL;
  g_autofree char *problem = NULL;
  g_autofree char *shown = NULL;
  const char *ct;
  guint status = SOUP_STATUS_OK;
  cJSON *ev;

  if (strcmp (soup_server_message_get_method (msg), "POST") != 0) {
    reply_alexa_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  if (!bearer_known (sb, msg)) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "WWW-Authenticate", "Bearer");
    reply_alexa_error (msg, SOUP_STATUS_UNAUTHORIZED,
        "the access token is missing, unknown or expired");
    return;
  }
  ct = soup_message_headers_get_content_type (soup_server_message_get_request_headers (msg), NULL);
  if (ct == NULL || g_ascii_strcasecmp (ct, "application/json") != 0) {
    reply_alexa_error (msg, SOUP_STATUS_BAD_REQUEST, "Content-Type must be application/json");
    return;
  }
  if (body->length == 0 || body->data == NULL) {
    reply_alexa_error (msg, SOUP_STATUS_BAD_REQUEST, "the body is empty");
    return;
  }
  shown = g_strndup (body->data, MIN (body->length, AMGW_SANDBOX_MAX_SHOWN_BYTES + 64));
  s = amgw_sandbox_parse_signaling (body->data, body->length, &problem);
  if (s == NULL) {
    ev = wire_event ("to-alexa", "invalid", NULL, 400, shown);
    cJSON_AddStringToObject (ev, "message", problem);
    page_event (sb, ev);
    reply_alexa_error (msg, SOUP_STATUS_BAD_REQUEST, problem);
    return;
  }
  ev = wire_event ("to-alexa", amgw_signal_type_name (s->type), s->session_id, 0, shown);
  if (!apply_signaling (sb, s, ev, &status, &problem)) {
    cJSON_ReplaceItemInObject (ev, "status", cJSON_CreateNumber (status));
    cJSON_AddStringToObject (ev, "message", problem);
    page_event (sb, ev);
    reply_alexa_error (msg, status, problem);
    return;
  }
  cJSON_ReplaceItemInObject (ev, "status", cJSON_CreateNumber (200));
  page_event (sb, ev);
  GST_DEBUG ("[%s] %s from amgw accepted", s->session_id, amgw_signal_type_name (s->type));
  reply_json (msg, "sandbox-alexa", SOUP_STATUS_OK, cJSON_CreateObject ());

  /* amgw answered the page's CallUpdate: the device acknowledges. */
  if (s->type == AMGW_SIGNAL_CALL_UPDATE_RESPONSE) {
    SbCall *call = g_hash_table_lookup (sb->calls, s->session_id);
    SbBatch *b = batch_new (sb, NULL);

    add_event (b, call, AMGW_SIGNAL_CALL_UPDATE_ACK, AMGW_SDP_NONE, NULL,
        AMGW_RENEGOTIATION_NONE, AMGW_RESULT_NONE, NULL);
    batch_submit (sb, b);
  }
}

/* ------------------------------------------------------------------------ */
/* /sandbox/lwa/token: Login with Amazon */

static void
reply_lwa_error (AmgwSandbox *sb, SoupServerMessage *msg, const char *error,
    const char *description)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *ev;

  cJSON_AddStringToObject (o, "error", error);
  cJSON_AddStringToObject (o, "error_description", description);
  GST_INFO ("token request refused: %s (%s)", error, description);
  ev = wire_event ("to-alexa", "LWA token", NULL, 400, NULL);
  cJSON_AddStringToObject (ev, "message", description);
  page_event (sb, ev);
  reply_json (msg, "sandbox-lwa", SOUP_STATUS_BAD_REQUEST, o);
}

static void
handle_lwa (AmgwSandbox *sb, SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autofree char *text = NULL;
  g_autoptr (GHashTable) form = NULL;
  const char *grant, *client_id, *client_secret, *refresh;
  g_autofree char *access = NULL;
  cJSON *o, *ev;

  if (strcmp (soup_server_message_get_method (msg), "POST") != 0) {
    reply_error (msg, "sandbox-lwa", SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  text = g_strndup (body->data ? body->data : "", body->length);
  if ((goffset) strlen (text) != body->length) {
    reply_lwa_error (sb, msg, "invalid_request", "the body holds a NUL byte");
    return;
  }
  form = soup_form_decode (text);
  grant = g_hash_table_lookup (form, "grant_type");
  client_id = g_hash_table_lookup (form, "client_id");
  client_secret = g_hash_table_lookup (form, "client_secret");
  refresh = g_hash_table_lookup (form, "refresh_token");
  if (!amgw_secret_equal (client_id, SANDBOX_CLIENT_ID) ||
      !amgw_secret_equal (client_secret, SANDBOX_CLIENT_SECRET)) {
    reply_lwa_error (sb, msg, "invalid_client", "not the sandbox's client");
    return;
  }
  if (g_strcmp0 (grant, "authorization_code") == 0) {
    reply_lwa_error (sb, msg, "invalid_grant",
        "the sandbox issues no authorization codes: it is linked from the start");
    return;
  }
  if (g_strcmp0 (grant, "refresh_token") != 0) {
    reply_lwa_error (sb, msg, "unsupported_grant_type", "grant_type: refresh_token");
    return;
  }
  if (!amgw_secret_equal (refresh, SANDBOX_REFRESH_TOKEN)) {
    reply_lwa_error (sb, msg, "invalid_grant", "not the sandbox's refresh token");
    return;
  }
  access = random_token ("Atza|sandbox-");
  g_ptr_array_add (sb->access_tokens, g_strdup (access));
  while (sb->access_tokens->len > SANDBOX_MAX_ACCESS_TOKENS)
    g_ptr_array_remove_index (sb->access_tokens, 0);

  o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "access_token", access);
  cJSON_AddStringToObject (o, "token_type", "bearer");
  cJSON_AddNumberToObject (o, "expires_in", SANDBOX_TOKEN_LIFETIME_S);
  cJSON_AddStringToObject (o, "refresh_token", SANDBOX_REFRESH_TOKEN);
  GST_INFO ("issued an access token (refresh_token grant)");
  ev = wire_event ("to-alexa", "LWA token", NULL, 200,
      "grant_type=refresh_token&refresh_token=...&client_id=...&client_secret=...");
  page_event (sb, ev);
  reply_json (msg, "sandbox-lwa", SOUP_STATUS_OK, o);
}

/* ------------------------------------------------------------------------ */
/* The page's API */

static cJSON *
parse_page_body (SoupServerMessage *msg, char **problem)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  cJSON *o;

  if (body->length == 0 || body->data == NULL) {
    *problem = g_strdup ("the body must be a JSON object");
    return NULL;
  }
  o = cJSON_ParseWithLength (body->data, body->length);
  if (!cJSON_IsObject (o)) {
    cJSON_Delete (o);
    *problem = g_strdup ("the body must be a JSON object");
    return NULL;
  }
  return o;
}

static cJSON *
room_to_json (const AmgwRoom *room)
{
  cJSON *r = cJSON_CreateObject ();

  cJSON_AddStringToObject (r, "name", room->name);
  cJSON_AddStringToObject (r, "endpoint_id", room->endpoint_id);
  cJSON_AddStringToObject (r, "friendly_name", room->friendly_name ? room->friendly_name : room->name);
  cJSON_AddStringToObject (r, "alexa_address", room->alexa_address);
  return r;
}

static cJSON *
call_to_json (const SbCall *c)
{
  cJSON *o = cJSON_CreateObject ();

  cJSON_AddStringToObject (o, "session", c->session_id);
  cJSON_AddStringToObject (o, "room", c->room);
  cJSON_AddStringToObject (o, "state", c->state);
  if (c->caller)
    cJSON_AddStringToObject (o, "caller", c->caller);
  cJSON_AddStringToObject (o, "originator", c->originator);
  /* An offer still to answer: a reloaded page can pick the call up. */
  if (c->offer && (strcmp (c->state, "incoming") == 0 || strcmp (c->state, "ringing") == 0))
    cJSON_AddStringToObject (o, "sdp", c->offer);
  if (c->result)
    cJSON_AddStringToObject (o, "result", c->result);
  return o;
}

static void
handle_state (AmgwSandbox *sb, SoupServerMessage *msg)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *rooms = cJSON_AddArrayToObject (o, "rooms");
  cJSON *calls = cJSON_AddArrayToObject (o, "calls");
  g_autoptr (GList) values = g_hash_table_get_values (sb->calls);

  for (guint i = 0; i < sb->config->rooms->len; i++)
    cJSON_AddItemToArray (rooms, room_to_json (g_ptr_array_index (sb->config->rooms, i)));
  for (GList *l = values; l; l = l->next)
    cJSON_AddItemToArray (calls, call_to_json (l->data));
  cJSON_AddNumberToObject (o, "last", (double) sb->last_seq);
  cJSON_AddStringToObject (o, "alexa_link",
      amgw_lwa_state_name (amgw_lwa_get_state (amgw_gateway_get_lwa (sb->gw))));
  cJSON_AddStringToObject (o, "version", AMGW_VERSION);
  reply_json (msg, "sandbox-api", SOUP_STATUS_OK, o);
}

static const AmgwRoom *
page_room (AmgwSandbox *sb, SoupServerMessage *msg, const cJSON *req)
{
  const char *endpoint = NULL;
  g_autofree char *problem = NULL;
  const AmgwRoom *room;

  if (!opt_string (req, "room", AMGW_MAX_ENDPOINT_ID_LEN, &endpoint, &problem)) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    return NULL;
  }
  if (endpoint == NULL && sb->config->rooms->len == 1)
    return g_ptr_array_index (sb->config->rooms, 0);
  room = endpoint ? room_by_endpoint (sb, endpoint) : NULL;
  if (room == NULL)
    reply_error (msg, "sandbox-api", SOUP_STATUS_NOT_FOUND,
        "room: the endpoint id of one of the rooms (GET /sandbox/api/state)");
  return room;
}

/* POST /sandbox/api/join {"room", "id", "pin", "endpoint", "protocol", "provider"}:
 * the JoinMeeting directive "Alexa, start the meeting" makes. */
static void
handle_join (AmgwSandbox *sb, SoupServerMessage *msg)
{
  g_autofree char *problem = NULL;
  cJSON *req = parse_page_body (msg, &problem);
  const char *id = NULL, *pin = NULL, *endpoint = NULL, *protocol = NULL, *provider = NULL;
  const AmgwRoom *room;
  cJSON *payload, *meeting;
  char *body, *shown = NULL;
  SbBatch *b;

  if (req == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    return;
  }
  room = page_room (sb, msg, req);
  if (room == NULL)
    goto out;
  /* Only shapes and sizes here: what the values mean is amgw's to judge,
   * and its ErrorResponse is what the integrator wants to see. */
  if (!opt_string (req, "id", AMGW_MAX_FIELD_LEN, &id, &problem) ||
      !opt_string (req, "pin", AMGW_MAX_FIELD_LEN, &pin, &problem) ||
      !opt_string (req, "endpoint", AMGW_MAX_MEETING_ENDPOINT_LEN, &endpoint, &problem) ||
      !opt_string (req, "protocol", 16, &protocol, &problem) ||
      !opt_string (req, "provider", AMGW_MAX_FIELD_LEN, &provider, &problem)) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    goto out;
  }
  if (endpoint == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST,
        "endpoint: the meeting bridge's host (or host:port) is required");
    goto out;
  }
  payload = cJSON_CreateObject ();
  meeting = cJSON_AddObjectToObject (payload, "meeting");
  if (id)
    cJSON_AddStringToObject (meeting, "id", id);
  if (pin)
    cJSON_AddStringToObject (meeting, "pin", pin);
  cJSON_AddStringToObject (meeting, "endpoint", endpoint);
  cJSON_AddStringToObject (meeting, "protocol", protocol ? protocol : "SIP");
  cJSON_AddStringToObject (meeting, "provider", provider ? provider : "sandbox");
  body = build_directive ("Alexa.MeetingClientController", "JoinMeeting", room, payload, &shown);
  GST_INFO ("the page starts a meeting in room %s: %s %s", room->endpoint_id,
      protocol ? protocol : "SIP", endpoint);
  b = batch_new (sb, msg);
  batch_add (b, "/v1/alexa/directives", "JoinMeeting", NULL, AMGW_SIGNAL_N, body, shown)->room =
      g_strdup (room->endpoint_id);
  batch_submit (sb, b);

out:
  cJSON_Delete (req);
}

/* POST /sandbox/api/end {"room"}: "Alexa, end the meeting". */
static void
handle_end (AmgwSandbox *sb, SoupServerMessage *msg)
{
  g_autofree char *problem = NULL;
  cJSON *req = parse_page_body (msg, &problem);
  const AmgwRoom *room;
  char *body, *shown = NULL;
  SbBatch *b;

  if (req == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    return;
  }
  room = page_room (sb, msg, req);
  cJSON_Delete (req);
  if (room == NULL)
    return;
  body = build_directive ("Alexa.MeetingClientController", "EndMeeting", room,
      cJSON_CreateObject (), &shown);
  b = batch_new (sb, msg);
  batch_add (b, "/v1/alexa/directives", "EndMeeting", NULL, AMGW_SIGNAL_N, body, shown);
  batch_submit (sb, b);
}

/* POST /sandbox/api/test-call {"room", "tone_hz"?, "codec"?}: the installer's
 * audio check through amgw's own route. */
static void
handle_test_call (AmgwSandbox *sb, SoupServerMessage *msg)
{
  g_autofree char *problem = NULL;
  g_autofree char *path = NULL;
  g_autofree char *escaped = NULL;
  cJSON *req = parse_page_body (msg, &problem);
  const cJSON *tone, *codec;
  const AmgwRoom *room;
  cJSON *out;
  SbBatch *b;

  if (req == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    return;
  }
  room = page_room (sb, msg, req);
  if (room == NULL) {
    cJSON_Delete (req);
    return;
  }
  out = cJSON_CreateObject ();
  tone = cJSON_GetObjectItemCaseSensitive (req, "tone_hz");
  codec = cJSON_GetObjectItemCaseSensitive (req, "codec");
  if (cJSON_IsNumber (tone))
    cJSON_AddNumberToObject (out, "tone_hz", tone->valuedouble);
  if (cJSON_IsString (codec) && codec->valuestring[0] && strlen (codec->valuestring) < 16)
    cJSON_AddStringToObject (out, "codec", codec->valuestring);
  cJSON_Delete (req);
  escaped = g_uri_escape_string (room->name, NULL, FALSE);
  path = g_strdup_printf ("/v1/rooms/%s/test-call", escaped);
  b = batch_new (sb, msg);
  batch_add (b, path, "test-call", NULL, AMGW_SIGNAL_N, json_take (out), NULL)->room =
      g_strdup (room->endpoint_id);
  batch_submit (sb, b);
}

/* POST /sandbox/api/call {"session", "action", "sdp"?}: what the person does
 * on the device. */
static void
handle_call (AmgwSandbox *sb, SoupServerMessage *msg)
{
  g_autofree char *problem = NULL;
  cJSON *req = parse_page_body (msg, &problem);
  const char *session = NULL, *action = NULL, *sdp = NULL;
  SbCall *call;
  SbBatch *b = NULL;
  guint status = SOUP_STATUS_CONFLICT;

  if (req == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    return;
  }
  if (!opt_string (req, "session", AMGW_MAX_SESSION_ID_LEN, &session, &problem) ||
      !opt_string (req, "action", 32, &action, &problem) ||
      !opt_string (req, "sdp", AMGW_MAX_SDP_BYTES, &sdp, &problem)) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, problem);
    goto out;
  }
  call = session ? g_hash_table_lookup (sb->calls, session) : NULL;
  if (call == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_NOT_FOUND, "session: no such call");
    goto out;
  }
  if (action == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST,
        "action: ringing, accept, hangup, hold, resume or update-answer");
    goto out;
  }
  if (strcmp (call->state, "ended") == 0) {
    problem = g_strdup_printf ("the call has ended%s%s", call->result ? ": " : "",
        call->result ? call->result : "");
    goto refuse;
  }
  if ((strcmp (action, "accept") == 0 || strcmp (action, "hold") == 0 ||
       strcmp (action, "resume") == 0 || strcmp (action, "update-answer") == 0) &&
      (sdp == NULL || !g_str_has_prefix (sdp, "v=0"))) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST, "sdp: the page's SDP (\"v=0...\")");
    goto out;
  }

  if (strcmp (action, "ringing") == 0) {
    if (strcmp (call->state, "incoming") != 0) {
      problem = g_strdup_printf ("the call is %s, not incoming", call->state);
      goto refuse;
    }
    b = batch_new (sb, msg);
    add_event (b, call, AMGW_SIGNAL_CALL_RINGING, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
        AMGW_RESULT_NONE, NULL);
  } else if (strcmp (action, "accept") == 0) {
    if (strcmp (call->state, "incoming") != 0 && strcmp (call->state, "ringing") != 0) {
      problem = g_strdup_printf ("the call is %s: nothing to accept", call->state);
      goto refuse;
    }
    /* The device's answer: first provisional, then final, as the device
     * reports its progress. */
    b = batch_new (sb, msg);
    if (strcmp (call->state, "incoming") == 0)
      add_event (b, call, AMGW_SIGNAL_CALL_RINGING, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
          AMGW_RESULT_NONE, NULL);
    add_event (b, call, AMGW_SIGNAL_CALL_IN_PROGRESS, AMGW_SDP_ANSWER, sdp,
        AMGW_RENEGOTIATION_NONE, AMGW_RESULT_NONE, NULL);
    add_event (b, call, AMGW_SIGNAL_CALL_ACCEPTED, AMGW_SDP_ANSWER, sdp,
        AMGW_RENEGOTIATION_NONE, AMGW_RESULT_NONE, NULL);
  } else if (strcmp (action, "hangup") == 0) {
    b = batch_new (sb, msg);
    add_event (b, call, AMGW_SIGNAL_CALL_ENDED, AMGW_SDP_NONE, NULL, AMGW_RENEGOTIATION_NONE,
        AMGW_RESULT_SUCCESS, strcmp (call->state, "accepted") == 0
            ? "the user hung up on the sandbox device" : "declined on the sandbox device");
  } else if (strcmp (action, "hold") == 0 || strcmp (action, "resume") == 0) {
    if (strcmp (call->state, "accepted") != 0 || call->local_update || call->remote_update) {
      problem = g_strdup_printf ("the call is %s%s: no renegotiation now", call->state,
          call->local_update || call->remote_update ? " and renegotiating" : "");
      goto refuse;
    }
    b = batch_new (sb, msg);
    add_event (b, call, AMGW_SIGNAL_CALL_UPDATE, AMGW_SDP_OFFER, sdp,
        strcmp (action, "hold") == 0 ? AMGW_RENEGOTIATION_CALL_HOLD : AMGW_RENEGOTIATION_CALL_RESUME,
        AMGW_RESULT_NONE, NULL);
  } else if (strcmp (action, "update-answer") == 0) {
    if (!call->remote_update) {
      problem = g_strdup ("amgw sent no CallUpdate to answer");
      goto refuse;
    }
    b = batch_new (sb, msg);
    add_event (b, call, AMGW_SIGNAL_CALL_UPDATE_RESPONSE, AMGW_SDP_ANSWER, sdp, call->reneg,
        AMGW_RESULT_NONE, NULL);
  } else {
    reply_error (msg, "sandbox-api", SOUP_STATUS_BAD_REQUEST,
        "action: ringing, accept, hangup, hold, resume or update-answer");
    goto out;
  }
  batch_submit (sb, b);
  goto out;

refuse:
  reply_error (msg, "sandbox-api", status, problem);
out:
  cJSON_Delete (req);
}

/* GET /sandbox/api/calls/{id}: amgw's own view of one of the sandbox's
 * calls (what GET /v1/calls/{id} answers), without the forwarding secret. */
static void
handle_call_view (AmgwSandbox *sb, SoupServerMessage *msg, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwCallRecord) rec = NULL;
  AmgwCall *call;
  cJSON *view;

  if (strcmp (soup_server_message_get_method (msg), "GET") != 0) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
    return;
  }
  if (strlen (id) > AMGW_MAX_SESSION_ID_LEN || g_hash_table_lookup (sb->calls, id) == NULL) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_NOT_FOUND, "no such call of the sandbox");
    return;
  }
  call = amgw_gateway_find_call (sb->gw, id);
  if (call) {
    reply_json (msg, "sandbox-api", SOUP_STATUS_OK, amgw_call_to_json (call));
    return;
  }
  view = amgw_gateway_recent_call (sb->gw, id);
  if (view) {
    reply_json (msg, "sandbox-api", SOUP_STATUS_OK, view);
    return;
  }
  rec = amgw_store_get_call_record (amgw_gateway_get_store (sb->gw), id, &error);
  if (rec)
    reply_json (msg, "sandbox-api", SOUP_STATUS_OK, amgw_call_record_to_json (rec));
  else
    reply_error (msg, "sandbox-api", error ? SOUP_STATUS_INTERNAL_SERVER_ERROR
        : SOUP_STATUS_NOT_FOUND, error ? error->message : "amgw has no view of this call yet");
}

static void
handle_page (AmgwSandbox *sb, SoupServerMessage *msg)
{
  g_autoptr (GBytes) page = NULL;
  SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
  const char *method = soup_server_message_get_method (msg);

  if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0) {
    reply_error (msg, "sandbox-page", SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
    return;
  }
  page = g_resource_lookup_data (amgw_sandbox_get_resource (), PAGE_RESOURCE,
      G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (page != NULL);  /* compiled in */
  /* Everything the page needs is in it: nothing may come from elsewhere. */
  soup_message_headers_replace (h, "Content-Security-Policy",
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
      "connect-src 'self'; img-src data:; media-src 'self' blob: mediastream:; "
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  soup_message_headers_replace (h, "Referrer-Policy", "no-referrer");
  soup_message_headers_replace (h, "X-Frame-Options", "DENY");
  reply_text (msg, "sandbox-page", SOUP_STATUS_OK, "text/html; charset=utf-8",
      g_strndup (g_bytes_get_data (page, NULL), g_bytes_get_size (page)));
}

/* ------------------------------------------------------------------------ */
/* Routing and the loopback-only rule */

static gboolean
host_is_loopback_name (const char *host_header)
{
  g_autofree char *host = NULL;
  g_autoptr (GInetAddress) addr = NULL;
  const char *colon;

  if (host_header == NULL || *host_header == '\0')
    return FALSE;
  if (host_header[0] == '[') {
    const char *end = strchr (host_header, ']');
    if (end == NULL)
      return FALSE;
    host = g_strndup (host_header + 1, end - host_header - 1);
  } else {
    colon = strrchr (host_header, ':');
    host = colon ? g_strndup (host_header, colon - host_header) : g_strdup (host_header);
  }
  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  addr = g_inet_address_new_from_string (host);
  return addr != NULL && g_inet_address_get_is_loopback (addr);
}

static gboolean
client_is_local (SoupServerMessage *msg, const char **why)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  const char *origin = soup_message_headers_get_one (h, "Origin");

  if (!G_IS_INET_SOCKET_ADDRESS (remote) || !g_inet_address_get_is_loopback (
          g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)))) {
    *why = "the sandbox is a local tool: it answers loopback clients only";
    return FALSE;
  }
  /* A page of another site that resolves its name to 127.0.0.1 (DNS
   * rebinding) names its own host. */
  if (!host_is_loopback_name (soup_message_headers_get_one (h, "Host"))) {
    *why = "the sandbox answers requests for localhost, 127.0.0.1 or [::1] only";
    return FALSE;
  }
  if (origin != NULL) {
    g_autoptr (GUri) uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
    g_autofree char *host = NULL;
    if (uri == NULL || g_uri_get_host (uri) == NULL) {
      *why = "the sandbox's API is for its own page only (Origin)";
      return FALSE;
    }
    host = g_strdup_printf (strchr (g_uri_get_host (uri), ':') ? "[%s]" : "%s",
        g_uri_get_host (uri));
    if (!host_is_loopback_name (host)) {
      *why = "the sandbox's API is for its own page only (Origin)";
      return FALSE;
    }
  }
  return TRUE;
}

static goffset
route_limit (const char *path)
{
  if (strcmp (path, SIGNALING_ROUTE) == 0)
    return AMGW_MAX_REQUEST_BYTES;
  if (strcmp (path, LWA_ROUTE) == 0)
    return AMGW_SANDBOX_MAX_LWA_BYTES;
  if (strcmp (path, "/sandbox/api/call") == 0)
    return AMGW_SANDBOX_MAX_SDP_API_BYTES;
  return AMGW_SANDBOX_MAX_API_BYTES;
}

gboolean
amgw_sandbox_early (AmgwSandbox *sb, SoupServerMessage *msg, const char *path)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  const char *why = NULL;

  debug_init ();
  if (sb == NULL) {
    reply_error (msg, "sandbox", SOUP_STATUS_NOT_FOUND,
        "the sandbox runs only on a configuration without [alexa] client-id");
    return FALSE;
  }
  if (!client_is_local (msg, &why)) {
    reply_error (msg, "sandbox", SOUP_STATUS_FORBIDDEN, why);
    return FALSE;
  }
  if (soup_message_headers_get_content_length (h) > route_limit (path)) {
    g_autofree char *m = g_strdup_printf ("the body is larger than this route takes (%"
        G_GOFFSET_FORMAT " bytes)", route_limit (path));
    reply_error (msg, "sandbox", SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE, m);
    return FALSE;
  }
  return TRUE;
}

void
amgw_sandbox_handle (AmgwSandbox *sb, SoupServerMessage *msg, const char *path,
    GHashTable *query)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  const char *method = soup_server_message_get_method (msg);
  const char *why = NULL;

  debug_init ();
  if (sb == NULL || !sb->gw) {
    reply_error (msg, "sandbox", SOUP_STATUS_NOT_FOUND,
        "the sandbox runs only on a configuration without [alexa] client-id");
    return;
  }
  /* The early handler saw the headers; a chunked body is measured here. */
  if (!client_is_local (msg, &why)) {
    reply_error (msg, "sandbox", SOUP_STATUS_FORBIDDEN, why);
    return;
  }
  if ((goffset) body->length > route_limit (path)) {
    reply_error (msg, "sandbox", SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
        "the body is larger than this route takes");
    return;
  }
  if (sb->stopping) {
    reply_error (msg, "sandbox", SOUP_STATUS_SERVICE_UNAVAILABLE, "amgw is stopping");
    return;
  }

  if (strcmp (path, "/sandbox") == 0) {
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Location",
        "/sandbox/");
    amgw_http_reply (msg, "sandbox-page", SOUP_STATUS_PERMANENT_REDIRECT, NULL, NULL);
    return;
  }
  if (strcmp (path, "/sandbox/") == 0 || strcmp (path, "/sandbox/index.html") == 0) {
    handle_page (sb, msg);
    return;
  }
  if (strcmp (path, SIGNALING_ROUTE) == 0) {
    handle_signaling (sb, msg);
    return;
  }
  if (strcmp (path, LWA_ROUTE) == 0) {
    handle_lwa (sb, msg);
    return;
  }
  if (!g_str_has_prefix (path, "/sandbox/api/")) {
    reply_error (msg, "sandbox", SOUP_STATUS_NOT_FOUND, "no such route");
    return;
  }

  if (g_str_has_prefix (path, "/sandbox/api/calls/")) {
    handle_call_view (sb, msg, path + strlen ("/sandbox/api/calls/"));
    return;
  }
  if (strcmp (path, "/sandbox/api/state") == 0 || strcmp (path, "/sandbox/api/rooms") == 0 ||
      strcmp (path, "/sandbox/api/poll") == 0) {
    if (strcmp (method, "GET") != 0) {
      reply_error (msg, "sandbox-api", SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET");
      return;
    }
    if (strcmp (path, "/sandbox/api/poll") == 0)
      handle_poll (sb, msg, query);
    else
      handle_state (sb, msg);
    return;
  }

  if (strcmp (path, "/sandbox/api/join") != 0 && strcmp (path, "/sandbox/api/end") != 0 &&
      strcmp (path, "/sandbox/api/test-call") != 0 && strcmp (path, "/sandbox/api/call") != 0) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_NOT_FOUND, "no such route");
    return;
  }
  if (strcmp (method, "POST") != 0) {
    reply_error (msg, "sandbox-api", SOUP_STATUS_METHOD_NOT_ALLOWED, "use POST");
    return;
  }
  {
    /* application/json: a cross-site page cannot send it without a CORS
     * preflight, which the sandbox never grants. */
    const char *ct = soup_message_headers_get_content_type (
        soup_server_message_get_request_headers (msg), NULL);
    if (ct == NULL || g_ascii_strcasecmp (ct, "application/json") != 0) {
      reply_error (msg, "sandbox-api", SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
          "the body must be application/json");
      return;
    }
  }
  if (strcmp (path, "/sandbox/api/join") == 0)
    handle_join (sb, msg);
  else if (strcmp (path, "/sandbox/api/end") == 0)
    handle_end (sb, msg);
  else if (strcmp (path, "/sandbox/api/test-call") == 0)
    handle_test_call (sb, msg);
  else
    handle_call (sb, msg);
}

/* ------------------------------------------------------------------------ */
/* Life */

gboolean
amgw_sandbox_wanted (const AmgwConfig *config)
{
  debug_init ();
  return config->client_id == NULL || config->client_id[0] == '\0';
}

static gboolean
listen_host_usable (const char *host)
{
  g_autoptr (GInetAddress) addr = NULL;

  if (g_ascii_strcasecmp (host, "localhost") == 0)
    return TRUE;
  addr = g_inet_address_new_from_string (host);
  return addr != NULL && (g_inet_address_get_is_loopback (addr) || g_inet_address_get_is_any (addr));
}

AmgwSandbox *
amgw_sandbox_new (AmgwConfig *config, GError **error)
{
  AmgwSandbox *sb;
  char *dir;

  debug_init ();
  g_return_val_if_fail (amgw_sandbox_wanted (config), NULL);

  if (!listen_host_usable (config->listen_host)) {
    g_set_error (error, AMGW_SANDBOX_ERROR, 0,
        "[gateway] listen is on %s: the sandbox needs a loopback or wildcard address, since amgw "
        "reaches its simulator over loopback", config->listen_host);
    return NULL;
  }

  /* Apart from a real deployment's tokens, sessions and call records. */
  dir = g_build_filename (config->state_dir, "sandbox", NULL);
  g_free (config->state_dir);
  config->state_dir = dir;

  g_free (config->client_id);
  config->client_id = g_strdup (SANDBOX_CLIENT_ID);
  g_free (config->client_secret);
  config->client_secret = g_strdup (SANDBOX_CLIENT_SECRET);
  g_free (config->refresh_token);
  config->refresh_token = g_strdup (SANDBOX_REFRESH_TOKEN);

  if (config->rooms->len == 0) {
    AmgwRoom *room = g_new0 (AmgwRoom, 1);

    room->name = g_strdup (SANDBOX_ROOM_NAME);
    room->endpoint_id = g_strdup (SANDBOX_ROOM_ENDPOINT);
    room->friendly_name = g_strdup ("Sandbox room");
    room->token = random_token ("sandbox-room-token-");
    room->alexa_address_type = AMGW_ADDRESS_COMMUNICATION_PROFILE_ID;
    room->alexa_address = g_strdup (SANDBOX_ROOM_ADDRESS);
    g_ptr_array_add (config->rooms, room);
  }

  sb = g_new0 (AmgwSandbox, 1);
  sb->config = config;
  sb->access_tokens = g_ptr_array_new_with_free_func (g_free);
  sb->calls = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, sb_call_free);
  sb->polls = g_ptr_array_new ();
  sb->watches = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&sb->events);
  g_queue_init (&sb->batches);
  GST_INFO ("sandbox mode: state in %s, %u room(s)", config->state_dir, config->rooms->len);
  return sb;
}

void
amgw_sandbox_set_port (AmgwSandbox *sb, AmgwConfig *config, guint16 port)
{
  g_autoptr (GInetAddress) addr = g_inet_address_new_from_string (config->listen_host);
  const char *host = "127.0.0.1";

  /* Where the listener is reachable on loopback. */
  if (addr && g_inet_address_get_family (addr) == G_SOCKET_FAMILY_IPV6)
    host = "[::1]";
  else if (addr && g_inet_address_get_is_loopback (addr))
    host = config->listen_host;
  g_free (sb->base_url);
  sb->base_url = g_strdup_printf ("http://%s:%u", host, port);
  g_free (config->api_url);
  config->api_url = g_strconcat (sb->base_url, "/sandbox/alexa", NULL);
  g_free (config->lwa_url);
  config->lwa_url = g_strconcat (sb->base_url, LWA_ROUTE, NULL);
}

void
amgw_sandbox_start (AmgwSandbox *sb, AmgwGateway *gw, const char *forwarding_secret)
{
  g_return_if_fail (sb->base_url != NULL);

  sb->gw = gw;
  sb->secret = forwarding_secret;
  sb->http = amgw_http_client_new (NULL, sb->config->request_timeout_ms);
  g_print ("amgw: sandbox mode (no [alexa] client-id): amgw plays the Alexa cloud itself.\n"
      "amgw: open %s/sandbox/ in a browser on this machine to be the Alexa device.\n",
      sb->base_url);
  GST_INFO ("sandbox at %s/sandbox/", sb->base_url);
}

void
amgw_sandbox_free (AmgwSandbox *sb)
{
  if (sb == NULL)
    return;
  sb->stopping = TRUE;
  while (sb->polls->len > 0)
    poll_answer (sb->polls->pdata[0]);
  /* No callback after this: the batches are answered here. */
  if (sb->http)
    amgw_http_client_free (sb->http);
  if (sb->current) {
    cJSON_AddStringToObject (sb->current->result, "message", "amgw is stopping");
    batch_done (sb->current, SOUP_STATUS_SERVICE_UNAVAILABLE);
  }
  while (sb->batches.length > 0) {
    SbBatch *b = g_queue_pop_head (&sb->batches);
    cJSON_AddStringToObject (b->result, "message", "amgw is stopping");
    batch_done (b, SOUP_STATUS_SERVICE_UNAVAILABLE);
  }
  g_clear_handle_id (&sb->watch_timer, g_source_remove);
  g_hash_table_unref (sb->watches);
  g_queue_clear_full (&sb->events, g_free);
  g_ptr_array_unref (sb->polls);
  g_hash_table_unref (sb->calls);
  g_ptr_array_unref (sb->access_tokens);
  g_free (sb->base_url);
  g_free (sb);
}
