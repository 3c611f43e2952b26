/* A fake of Amazon's cloud for tests: Login with Amazon's token endpoint and
 * the Alexa CallSignaling endpoint (WIRE.md sections 1 and 4).
 *
 * Threading: the SoupServer lives in its own thread, on its own GMainContext.
 * Every piece of state the tests can see is behind fc->lock; fc->cond is
 * broadcast whenever a request is recorded, which is what wait_signal waits
 * for.  The server thread never calls back into test code.
 *
 * Recorded requests are never freed before fake_cloud_free(): reset only moves
 * them aside, so a FakeCloudRequest a test got from wait_signal stays valid.
 */
#include "fake-cloud.h"

#include <libsoup/soup.h>

#include <string.h>

#define SIGNALING_PATH "/v1/communications/signaling"
#define TOKEN_PATH "/auth/o2/token"
#define SIGNALING_PREFIX "Alexa.Comms.CallSignaling."

/* Ceiling on a request body; far above any SDP amgw sends. */
#define FAKE_CLOUD_MAX_BODY_BYTES (1024 * 1024)
#define FAKE_CLOUD_DEFAULT_EXPIRES_IN 3600

/* A recorded request and what only the fake needs to know about it.  The
 * public part comes first so the two pointers are interchangeable. */
typedef struct {
  FakeCloudRequest pub;
  gboolean consumed;       /* returned by a wait_signal already */
} FakeRecord;

typedef struct {
  guint status;
  char *retry_after;
  char *body;
} ScriptedResponse;

/* A token answer held back by fake_cloud_set_lwa_delay_ms().  Owned by its
 * timeout source; lives in the server thread only. */
typedef struct {
  FakeCloud *fc;
  SoupServerMessage *msg;  /* a reference: the client may go away meanwhile */
  gulong finished_id;
  gboolean finished;
  GSource *source;
  guint status;
  char *body;
} DelayedAnswer;

struct _FakeCloud {
  GMutex lock;
  GCond cond;

  /* Server thread.  Set before the thread starts or only read by it. */
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;      /* server thread only */
  GList *delayed;          /* DelayedAnswer*, server thread only */
  gboolean ready;          /* under lock: listening, or failed */
  char *start_error;

  char *api_url;
  char *lwa_url;

  /* Everything below: under lock. */
  char *client_id;         /* NULL: any non-empty pair is accepted */
  char *client_secret;
  GHashTable *refresh_tokens;  /* token -> GINT_TO_POINTER (TRUE valid / FALSE revoked) */
  GHashTable *auth_codes;      /* code -> refresh token it grants */
  GHashTable *access_tokens;   /* token -> gint64* monotonic expiry (us) */
  char *last_access_token;
  guint expires_in;
  gboolean rotate_refresh_token;
  guint lwa_delay_ms;

  GQueue responses;            /* ScriptedResponse* for any operation */
  GHashTable *responses_for;   /* operation -> GQueue* of ScriptedResponse* */

  GPtrArray *signaling;        /* FakeRecord*, owned */
  GPtrArray *lwa;              /* FakeRecord*, owned */
  GPtrArray *retired;          /* FakeRecord* dropped by reset, owned */
};

/* ---- small helpers ---- */

static void
fake_record_free (gpointer data)
{
  FakeCloudRequest *r = data;

  g_free (r->method);
  g_free (r->path);
  g_free (r->authorization);
  g_free (r->content_type);
  g_free (r->body);
  if (r->json != NULL)
    cJSON_Delete (r->json);
  if (r->form != NULL)
    g_hash_table_unref (r->form);
  g_free (r->type);
  g_free (r->session_id);
  g_free (r->validation_error);
  g_free (r);
}

static void
scripted_response_free (gpointer data)
{
  ScriptedResponse *s = data;

  g_free (s->retry_after);
  g_free (s->body);
  g_free (s);
}

static void
scripted_queue_free (gpointer data)
{
  g_queue_free_full (data, scripted_response_free);
}

/* @prefix followed by 32 random hex digits.  (transfer full) */
static char *
random_token (const char *prefix)
{
  GString *s = g_string_new (prefix);
  int i;

  for (i = 0; i < 4; i++)
    g_string_append_printf (s, "%08x", g_random_int ());
  return g_string_free (s, FALSE);
}

/* {"message": @text}.  (transfer full) */
static char *
message_body (const char *text)
{
  cJSON *o = cJSON_CreateObject ();
  char *printed, *ret;

  cJSON_AddStringToObject (o, "message", text);
  printed = cJSON_PrintUnformatted (o);
  ret = g_strdup (printed);
  cJSON_free (printed);
  cJSON_Delete (o);
  return ret;
}

static char *
json_to_string (cJSON *o)
{
  char *printed = cJSON_PrintUnformatted (o);
  char *ret = g_strdup (printed);

  cJSON_free (printed);
  return ret;
}

static void
respond (SoupServerMessage *msg, guint status, const char *retry_after, const char *body)
{
  soup_server_message_set_status (msg, status, NULL);
  if (retry_after != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg),
        "Retry-After", retry_after);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
      body, strlen (body));
}

/* TRUE if the Content-Type is @mime, with at most a UTF-8 charset parameter. */
static gboolean
content_type_is (SoupServerMessage *msg, const char *mime)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  GHashTable *params = NULL;
  const char *ct = soup_message_headers_get_content_type (h, &params);
  gboolean ok = FALSE;

  if (ct != NULL && g_ascii_strcasecmp (ct, mime) == 0) {
    GHashTableIter iter;
    gpointer key, value;

    ok = TRUE;
    if (params != NULL) {
      g_hash_table_iter_init (&iter, params);
      while (g_hash_table_iter_next (&iter, &key, &value)) {
        if (g_ascii_strcasecmp (key, "charset") != 0 || value == NULL ||
            g_ascii_strcasecmp (value, "utf-8") != 0)
          ok = FALSE;
      }
    }
  }
  if (params != NULL)
    g_hash_table_destroy (params);
  return ok;
}

/* A new record of what arrived; the caller fills in the rest. */
static FakeRecord *
record_new (SoupServerMessage *msg, const char *path)
{
  SoupMessageHeaders *h = soup_server_message_get_request_headers (msg);
  FakeRecord *rec = g_new0 (FakeRecord, 1);
  FakeCloudRequest *r = &rec->pub;
  g_autoptr (GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  r->received_us = g_get_monotonic_time ();
  r->method = g_strdup (soup_server_message_get_method (msg));
  r->path = g_strdup (path);
  r->authorization = g_strdup (soup_message_headers_get_one (h, "Authorization"));
  r->content_type = g_strdup (soup_message_headers_get_one (h, "Content-Type"));
  r->body = g_malloc (len + 1);
  if (len > 0)
    memcpy (r->body, data, len);
  r->body[len] = '\0';
  r->body_len = len;
  return rec;
}

/* ---- WIRE.md section 1: validation ---- */

typedef enum {
  SDP_NONE,
  SDP_OFFER,
  SDP_ANSWER,
} SdpKind;

typedef struct {
  const char *name;
  SdpKind sdp;
  gboolean participants;   /* InitiateInboundCall: participants, customParams */
  gboolean renegotiation;
  gboolean call_result;
} SignalOp;

/* The operations a partner sends to Alexa (WIRE.md section 1). */
static const SignalOp signal_ops[] = {
  { "InitiateInboundCall", SDP_OFFER, TRUE, FALSE, FALSE },
  { "CallRingingAck", SDP_NONE, FALSE, FALSE, FALSE },
  { "CallInProgressAck", SDP_NONE, FALSE, FALSE, FALSE },
  { "CallAcceptedAck", SDP_NONE, FALSE, FALSE, FALSE },
  { "CallRinging", SDP_NONE, FALSE, FALSE, FALSE },
  { "CallInProgress", SDP_ANSWER, FALSE, FALSE, FALSE },
  { "CallAccepted", SDP_ANSWER, FALSE, FALSE, FALSE },
  { "CallUpdate", SDP_OFFER, FALSE, TRUE, FALSE },
  { "CallUpdateResponse", SDP_ANSWER, FALSE, TRUE, FALSE },
  { "CallUpdateAck", SDP_NONE, FALSE, FALSE, FALSE },
  { "CallEnded", SDP_NONE, FALSE, FALSE, TRUE },
};

static const char *const participant_id_types[] = {
  "COMMUNICATION_PROFILE_ID", "PHONE_NUMBER", "RAW_ADDRESS", NULL
};
static const char *const renegotiation_types[] = {
  "CALL_HOLD", "CALL_RESUME", "CALL_UPDATE", NULL
};
static const char *const call_result_codes[] = {
  "SUCCESS", "DEVICE_BUSY", "SESSION_TIMEOUT", "UNAUTHORIZED", "INTERNAL_ERROR", NULL
};

static gboolean
in_list (const char *s, const char *const *list)
{
  return s != NULL && g_strv_contains (list, s);
}

/* The first member name that appears twice in any object of @item, or NULL. */
static const char *
find_duplicate_key (const cJSON *item)
{
  const cJSON *a, *b;

  for (a = item->child; a != NULL; a = a->next) {
    const char *dup;

    if (cJSON_IsObject (item) && a->string != NULL) {
      for (b = a->next; b != NULL; b = b->next) {
        if (b->string != NULL && strcmp (a->string, b->string) == 0)
          return a->string;
      }
    }
    dup = find_duplicate_key (a);
    if (dup != NULL)
      return dup;
  }
  return NULL;
}

/* The first member of object @o whose name is not in @allowed, or NULL. */
static const char *
find_unknown_member (const cJSON *o, const char *const *allowed)
{
  const cJSON *m;

  for (m = o->child; m != NULL; m = m->next) {
    if (!in_list (m->string, allowed))
      return m->string;
  }
  return NULL;
}

static gboolean
is_nonempty_string (const cJSON *item)
{
  return cJSON_IsString (item) && item->valuestring != NULL && item->valuestring[0] != '\0';
}

static char *
validate_sdp_details (const cJSON *sdp, SdpKind kind)
{
  static const char *const members[] = { "type", "value", NULL };
  const char *want = kind == SDP_OFFER ? "OFFER" : "ANSWER";
  const cJSON *type, *value;
  const char *unknown;

  if (!cJSON_IsObject (sdp))
    return g_strdup ("sdpDetails missing or not an object");
  unknown = find_unknown_member (sdp, members);
  if (unknown != NULL)
    return g_strdup_printf ("sdpDetails has an unexpected member \"%s\"", unknown);
  type = cJSON_GetObjectItemCaseSensitive (sdp, "type");
  if (!cJSON_IsString (type) || g_strcmp0 (type->valuestring, want) != 0)
    return g_strdup_printf ("sdpDetails.type must be \"%s\"", want);
  value = cJSON_GetObjectItemCaseSensitive (sdp, "value");
  if (!cJSON_IsString (value) || !g_str_has_prefix (value->valuestring, "v=0"))
    return g_strdup ("sdpDetails.value must be an SDP string starting with \"v=0\"");
  return NULL;
}

static char *
validate_participants (const cJSON *participants)
{
  static const char *const members[] = { "id", "isOriginator", NULL };
  static const char *const id_members[] = { "type", "value", NULL };
  const cJSON *p;
  guint originators = 0, others = 0, i = 0;

  if (!cJSON_IsArray (participants) || participants->child == NULL)
    return g_strdup ("participants missing or not a non-empty array");
  for (p = participants->child; p != NULL; p = p->next, i++) {
    const cJSON *id, *id_type, *id_value, *orig;
    const char *unknown;

    if (!cJSON_IsObject (p))
      return g_strdup_printf ("participants[%u] is not an object", i);
    unknown = find_unknown_member (p, members);
    if (unknown != NULL)
      return g_strdup_printf ("participants[%u] has an unexpected member \"%s\"", i, unknown);
    id = cJSON_GetObjectItemCaseSensitive (p, "id");
    if (!cJSON_IsObject (id))
      return g_strdup_printf ("participants[%u].id missing or not an object", i);
    unknown = find_unknown_member (id, id_members);
    if (unknown != NULL)
      return g_strdup_printf ("participants[%u].id has an unexpected member \"%s\"", i, unknown);
    id_type = cJSON_GetObjectItemCaseSensitive (id, "type");
    if (!cJSON_IsString (id_type) || !in_list (id_type->valuestring, participant_id_types))
      return g_strdup_printf ("participants[%u].id.type must be one of "
          "COMMUNICATION_PROFILE_ID, PHONE_NUMBER, RAW_ADDRESS", i);
    id_value = cJSON_GetObjectItemCaseSensitive (id, "value");
    if (!is_nonempty_string (id_value))
      return g_strdup_printf ("participants[%u].id.value must be a non-empty string", i);
    orig = cJSON_GetObjectItemCaseSensitive (p, "isOriginator");
    if (!cJSON_IsBool (orig))
      return g_strdup_printf ("participants[%u].isOriginator must be a boolean", i);
    if (cJSON_IsTrue (orig))
      originators++;
    else
      others++;
  }
  if (originators != 1)
    return g_strdup_printf ("participants must have exactly one originator, not %u", originators);
  if (others == 0)
    return g_strdup ("participants has no callee (non-originator)");
  return NULL;
}

static char *
validate_custom_params (const cJSON *params)
{
  static const char *const members[] = { "callerName", NULL };
  const cJSON *caller;
  const char *unknown;

  if (!cJSON_IsObject (params))
    return g_strdup ("customParams must be an object");
  unknown = find_unknown_member (params, members);
  if (unknown != NULL)
    return g_strdup_printf ("customParams has an unexpected member \"%s\"", unknown);
  caller = cJSON_GetObjectItemCaseSensitive (params, "callerName");
  if (caller != NULL && !cJSON_IsString (caller))
    return g_strdup ("customParams.callerName must be a string");
  return NULL;
}

static char *
validate_call_result (const cJSON *result)
{
  static const char *const members[] = { "code", "message", NULL };
  const cJSON *code, *message;
  const char *unknown;

  if (!cJSON_IsObject (result))
    return g_strdup ("callResult missing or not an object");
  unknown = find_unknown_member (result, members);
  if (unknown != NULL)
    return g_strdup_printf ("callResult has an unexpected member \"%s\"", unknown);
  code = cJSON_GetObjectItemCaseSensitive (result, "code");
  if (!cJSON_IsString (code) || !in_list (code->valuestring, call_result_codes))
    return g_strdup ("callResult.code must be one of SUCCESS, DEVICE_BUSY, "
        "SESSION_TIMEOUT, UNAUTHORIZED, INTERNAL_ERROR");
  message = cJSON_GetObjectItemCaseSensitive (result, "message");
  if (message != NULL && !cJSON_IsString (message))
    return g_strdup ("callResult.message must be a string");
  return NULL;
}

/* Checks a signaling body against WIRE.md section 1.  Returns the reason it
 * does not conform, or NULL.  (transfer full) */
static char *
validate_signal_body (const cJSON *root)
{
  const SignalOp *op = NULL;
  const cJSON *type, *session, *m;
  const char *dup, *name;
  char *err;
  gsize i;

  if (!cJSON_IsObject (root))
    return g_strdup ("body is not a JSON object");
  dup = find_duplicate_key (root);
  if (dup != NULL)
    return g_strdup_printf ("member \"%s\" appears twice", dup);

  type = cJSON_GetObjectItemCaseSensitive (root, "type");
  if (!cJSON_IsString (type))
    return g_strdup ("type missing or not a string");
  if (!g_str_has_prefix (type->valuestring, SIGNALING_PREFIX))
    return g_strdup_printf ("type \"%s\" does not start with \"" SIGNALING_PREFIX "\"",
        type->valuestring);
  name = type->valuestring + strlen (SIGNALING_PREFIX);
  for (i = 0; i < G_N_ELEMENTS (signal_ops); i++) {
    if (strcmp (signal_ops[i].name, name) == 0)
      op = &signal_ops[i];
  }
  if (op == NULL)
    return g_strdup_printf ("\"%s\" is not an operation a partner sends to Alexa", name);

  /* Only the members WIRE.md lists for this operation. */
  for (m = root->child; m != NULL; m = m->next) {
    const char *k = m->string;
    gboolean known = strcmp (k, "type") == 0 || strcmp (k, "sessionId") == 0 ||
        (op->sdp != SDP_NONE && strcmp (k, "sdpDetails") == 0) ||
        (op->participants && (strcmp (k, "participants") == 0 || strcmp (k, "customParams") == 0)) ||
        (op->renegotiation && strcmp (k, "renegotiationType") == 0) ||
        (op->call_result && strcmp (k, "callResult") == 0);
    if (!known)
      return g_strdup_printf ("unexpected member \"%s\" in %s", k, op->name);
  }

  session = cJSON_GetObjectItemCaseSensitive (root, "sessionId");
  if (!is_nonempty_string (session))
    return g_strdup ("sessionId missing or not a non-empty string");

  if (op->participants) {
    err = validate_participants (cJSON_GetObjectItemCaseSensitive (root, "participants"));
    if (err != NULL)
      return err;
    m = cJSON_GetObjectItemCaseSensitive (root, "customParams");
    if (m != NULL && (err = validate_custom_params (m)) != NULL)
      return err;
  }
  if (op->renegotiation) {
    m = cJSON_GetObjectItemCaseSensitive (root, "renegotiationType");
    if (!cJSON_IsString (m) || !in_list (m->valuestring, renegotiation_types))
      return g_strdup ("renegotiationType must be one of CALL_HOLD, CALL_RESUME, CALL_UPDATE");
  }
  if (op->sdp != SDP_NONE) {
    err = validate_sdp_details (cJSON_GetObjectItemCaseSensitive (root, "sdpDetails"), op->sdp);
    if (err != NULL)
      return err;
  }
  if (op->call_result) {
    err = validate_call_result (cJSON_GetObjectItemCaseSensitive (root, "callResult"));
    if (err != NULL)
      return err;
  }
  return NULL;
}

/* ---- the signaling endpoint ---- */

/* Must hold fc->lock. */
static gboolean
access_token_valid_locked (FakeCloud *fc, const char *authorization)
{
  const gint64 *expiry;

  if (authorization == NULL || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return FALSE;
  expiry = g_hash_table_lookup (fc->access_tokens, authorization + 7);
  return expiry != NULL && *expiry > g_get_monotonic_time ();
}

/* Must hold fc->lock.  (transfer full) (nullable) */
static ScriptedResponse *
pop_scripted_locked (FakeCloud *fc, const char *type)
{
  GQueue *q = type != NULL ? g_hash_table_lookup (fc->responses_for, type) : NULL;

  if (q != NULL && !g_queue_is_empty (q))
    return g_queue_pop_head (q);
  return g_queue_pop_head (&fc->responses);
}

static void
handle_signaling (FakeCloud *fc, SoupServerMessage *msg, const char *path)
{
  FakeRecord *rec = record_new (msg, path);
  FakeCloudRequest *r = &rec->pub;
  ScriptedResponse *scripted = NULL;
  g_autofree char *answer = NULL;
  const char *retry_after = NULL;
  guint status;

  r->json = cJSON_ParseWithLength (r->body, r->body_len);
  if (cJSON_IsObject (r->json)) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive (r->json, "type");
    const cJSON *session = cJSON_GetObjectItemCaseSensitive (r->json, "sessionId");

    /* Without the prefix the raw type is kept, so that a wait for it finds
     * the request and the test can report its validation_error. */
    if (cJSON_IsString (type))
      r->type = g_strdup (g_str_has_prefix (type->valuestring, SIGNALING_PREFIX) ?
          type->valuestring + strlen (SIGNALING_PREFIX) : type->valuestring);
    if (cJSON_IsString (session))
      r->session_id = g_strdup (session->valuestring);
  }

  /* A non-conforming request is reported even when it is refused for
   * another reason first. */
  if (r->body_len > FAKE_CLOUD_MAX_BODY_BYTES)
    r->validation_error = g_strdup_printf ("body of %" G_GSIZE_FORMAT " bytes is too large",
        r->body_len);
  else if (!content_type_is (msg, "application/json"))
    r->validation_error = g_strdup_printf ("Content-Type must be application/json, not \"%s\"",
        r->content_type != NULL ? r->content_type : "");
  else if (!g_utf8_validate (r->body, r->body_len, NULL))
    r->validation_error = g_strdup ("body is not UTF-8");
  else if (r->json == NULL)
    r->validation_error = g_strdup ("body is not JSON");
  else
    r->validation_error = validate_signal_body (r->json);

  g_mutex_lock (&fc->lock);
  if (strcmp (r->method, "POST") != 0) {
    status = SOUP_STATUS_METHOD_NOT_ALLOWED;
    answer = message_body ("only POST is allowed");
  } else if (!access_token_valid_locked (fc, r->authorization)) {
    status = SOUP_STATUS_UNAUTHORIZED;
    answer = message_body (r->authorization == NULL ? "missing bearer token" :
        "invalid or expired access token");
  } else if (r->validation_error != NULL) {
    status = SOUP_STATUS_BAD_REQUEST;
    answer = message_body (r->validation_error);
  } else if ((scripted = pop_scripted_locked (fc, r->type)) != NULL) {
    status = scripted->status;
    retry_after = scripted->retry_after;
    /* Without a body, a success gets the usual one below. */
    if (scripted->body != NULL)
      answer = g_strdup (scripted->body);
    else if (!SOUP_STATUS_IS_SUCCESSFUL (status))
      answer = g_strdup_printf ("{\"message\":\"scripted %u\"}", status);
  } else {
    status = SOUP_STATUS_OK;
  }
  if (answer == NULL) {
    cJSON *o = cJSON_CreateObject ();

    cJSON_AddStringToObject (o, "sessionId", r->session_id);
    answer = json_to_string (o);
    cJSON_Delete (o);
  }
  r->status = status;
  g_ptr_array_add (fc->signaling, rec);
  g_cond_broadcast (&fc->cond);
  g_mutex_unlock (&fc->lock);

  respond (msg, status, retry_after, answer);
  if (scripted != NULL)
    scripted_response_free (scripted);
}

/* ---- the token endpoint ---- */

static void
delayed_answer_free (gpointer data)
{
  DelayedAnswer *d = data;

  if (!d->finished)
    g_signal_handler_disconnect (d->msg, d->finished_id);
  d->fc->delayed = g_list_remove (d->fc->delayed, d);
  g_object_unref (d->msg);
  g_free (d->body);
  g_free (d);
}

static void
delayed_answer_finished (SoupServerMessage *msg, gpointer data)
{
  DelayedAnswer *d = data;

  /* The client went away, or the server is shutting down: there is no one
   * to answer.  The timeout still owns @d. */
  d->finished = TRUE;
  g_signal_handler_disconnect (msg, d->finished_id);
}

static gboolean
delayed_answer_send (gpointer data)
{
  DelayedAnswer *d = data;

  if (!d->finished) {
    respond (d->msg, d->status, NULL, d->body);
    soup_server_message_unpause (d->msg);
  }
  return G_SOURCE_REMOVE;
}

/* Must hold fc->lock.  Issues an access token.  (transfer none) */
static const char *
issue_access_token_locked (FakeCloud *fc)
{
  char *token = random_token ("Atza|");
  gint64 *expiry = g_new (gint64, 1);

  *expiry = g_get_monotonic_time () + (gint64) fc->expires_in * G_USEC_PER_SEC;
  g_hash_table_replace (fc->access_tokens, g_strdup (token), expiry);
  g_free (fc->last_access_token);
  fc->last_access_token = token;
  return token;
}

/* Must hold fc->lock. */
static gboolean
client_valid_locked (FakeCloud *fc, const char *client_id, const char *client_secret)
{
  if (client_id == NULL || client_secret == NULL || client_id[0] == '\0' ||
      client_secret[0] == '\0')
    return FALSE;
  if (fc->client_id == NULL)
    return TRUE;
  return strcmp (client_id, fc->client_id) == 0 && strcmp (client_secret, fc->client_secret) == 0;
}

static char *
token_error (const char *error, const char *description)
{
  cJSON *o = cJSON_CreateObject ();
  char *ret;

  cJSON_AddStringToObject (o, "error", error);
  cJSON_AddStringToObject (o, "error_description", description);
  ret = json_to_string (o);
  cJSON_Delete (o);
  return ret;
}

/* Must hold fc->lock.  Decides the answer to a token request; sets
 * validation_error when the request itself is malformed.  Returns the
 * status and sets @answer. */
static guint
token_answer_locked (FakeCloud *fc, FakeCloudRequest *r, char **answer)
{
  const char *grant_type, *client_id, *client_secret;
  const char *refresh_token = NULL;
  cJSON *o;

  if (strcmp (r->method, "POST") != 0) {
    r->validation_error = g_strdup ("only POST is allowed");
    *answer = token_error ("invalid_request", r->validation_error);
    return SOUP_STATUS_METHOD_NOT_ALLOWED;
  }
  if (r->form == NULL) {
    r->validation_error = g_strdup_printf ("Content-Type must be "
        "application/x-www-form-urlencoded, not \"%s\"", r->content_type ? r->content_type : "");
    goto invalid_request;
  }
  grant_type = g_hash_table_lookup (r->form, "grant_type");
  client_id = g_hash_table_lookup (r->form, "client_id");
  client_secret = g_hash_table_lookup (r->form, "client_secret");
  if (grant_type == NULL) {
    r->validation_error = g_strdup ("grant_type is missing");
    goto invalid_request;
  }
  if (strcmp (grant_type, "refresh_token") == 0) {
    refresh_token = g_hash_table_lookup (r->form, "refresh_token");
    if (refresh_token == NULL || refresh_token[0] == '\0') {
      r->validation_error = g_strdup ("refresh_token is missing");
      goto invalid_request;
    }
  } else if (strcmp (grant_type, "authorization_code") == 0) {
    const char *code = g_hash_table_lookup (r->form, "code");

    if (code == NULL || code[0] == '\0') {
      r->validation_error = g_strdup ("code is missing");
      goto invalid_request;
    }
  } else {
    r->validation_error = g_strdup_printf ("grant_type \"%s\" is not supported", grant_type);
    *answer = token_error ("unsupported_grant_type", r->validation_error);
    return SOUP_STATUS_BAD_REQUEST;
  }
  if (client_id == NULL || client_secret == NULL) {
    r->validation_error = g_strdup ("client_id and client_secret are required");
    goto invalid_client;
  }
  if (!client_valid_locked (fc, client_id, client_secret))
    goto invalid_client;

  o = cJSON_CreateObject ();
  if (refresh_token != NULL) {
    gpointer valid;

    if (!g_hash_table_lookup_extended (fc->refresh_tokens, refresh_token, NULL, &valid) ||
        !GPOINTER_TO_INT (valid)) {
      cJSON_Delete (o);
      goto invalid_grant;
    }
    cJSON_AddStringToObject (o, "access_token", issue_access_token_locked (fc));
    if (fc->rotate_refresh_token) {
      char *rotated = random_token ("Atzr|");

      /* The old one stays valid too, as LWA's does. */
      g_hash_table_replace (fc->refresh_tokens, rotated, GINT_TO_POINTER (TRUE));
      refresh_token = rotated;
    } else {
      refresh_token = NULL;
    }
  } else {
    const char *code = g_hash_table_lookup (r->form, "code");
    char *granted = NULL;
    char *code_key = NULL;

    /* One time only: the code is gone once looked up. */
    if (!g_hash_table_steal_extended (fc->auth_codes, code, (gpointer *) &code_key,
            (gpointer *) &granted)) {
      cJSON_Delete (o);
      goto invalid_grant;
    }
    g_free (code_key);
    if (granted == NULL)
      granted = random_token ("Atzr|");
    cJSON_AddStringToObject (o, "access_token", issue_access_token_locked (fc));
    g_hash_table_replace (fc->refresh_tokens, granted, GINT_TO_POINTER (TRUE));
    refresh_token = granted;
  }
  cJSON_AddStringToObject (o, "token_type", "bearer");
  cJSON_AddNumberToObject (o, "expires_in", fc->expires_in);
  if (refresh_token != NULL)
    cJSON_AddStringToObject (o, "refresh_token", refresh_token);
  *answer = json_to_string (o);
  cJSON_Delete (o);
  return SOUP_STATUS_OK;

  /* ERRORS */
invalid_request:
  *answer = token_error ("invalid_request", r->validation_error);
  return SOUP_STATUS_BAD_REQUEST;
invalid_client:
  *answer = token_error ("invalid_client", "client authentication failed");
  return SOUP_STATUS_BAD_REQUEST;
invalid_grant:
  *answer = token_error ("invalid_grant", "the grant is invalid, expired or revoked");
  return SOUP_STATUS_BAD_REQUEST;
}

static void
handle_token (FakeCloud *fc, SoupServerMessage *msg, const char *path)
{
  FakeRecord *rec = record_new (msg, path);
  FakeCloudRequest *r = &rec->pub;
  g_autofree char *answer = NULL;
  guint status, delay_ms;

  if (content_type_is (msg, "application/x-www-form-urlencoded") &&
      r->body_len <= FAKE_CLOUD_MAX_BODY_BYTES)
    r->form = soup_form_decode (r->body);

  g_mutex_lock (&fc->lock);
  status = token_answer_locked (fc, r, &answer);
  r->status = status;
  delay_ms = fc->lwa_delay_ms;
  g_ptr_array_add (fc->lwa, rec);
  g_cond_broadcast (&fc->cond);
  g_mutex_unlock (&fc->lock);

  if (delay_ms > 0) {
    DelayedAnswer *d = g_new0 (DelayedAnswer, 1);

    /* A timeout, not a sleep: the fake keeps serving other requests. */
    d->fc = fc;
    d->msg = g_object_ref (msg);
    d->status = status;
    d->body = g_steal_pointer (&answer);
    d->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (delayed_answer_finished), d);
    d->source = g_timeout_source_new (delay_ms);
    g_source_set_callback (d->source, delayed_answer_send, d, delayed_answer_free);
    fc->delayed = g_list_prepend (fc->delayed, d);
    soup_server_message_pause (msg);
    g_source_attach (d->source, fc->context);
    g_source_unref (d->source);
    return;
  }
  respond (msg, status, NULL, answer);
}

/* ---- the server thread ---- */

static void
server_callback (SoupServer *server, SoupServerMessage *msg, const char *path,
    GHashTable *query, gpointer user_data)
{
  FakeCloud *fc = user_data;

  if (strcmp (path, SIGNALING_PATH) == 0) {
    handle_signaling (fc, msg, path);
  } else if (strcmp (path, TOKEN_PATH) == 0) {
    handle_token (fc, msg, path);
  } else {
    g_autofree char *answer = message_body ("not found");

    respond (msg, SOUP_STATUS_NOT_FOUND, NULL, answer);
  }
}

static gboolean
quit_loop (gpointer data)
{
  FakeCloud *fc = data;

  g_main_loop_quit (fc->loop);
  return G_SOURCE_REMOVE;
}

static gpointer
server_thread (gpointer data)
{
  FakeCloud *fc = data;
  g_autoptr (GError) error = NULL;
  GSList *uris;
  guint port = 0;

  g_main_context_push_thread_default (fc->context);
  fc->server = soup_server_new ("server-header", "amgw-fake-cloud ", NULL);
  soup_server_add_handler (fc->server, NULL, server_callback, fc, NULL);
  if (soup_server_listen_local (fc->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error)) {
    uris = soup_server_get_uris (fc->server);
    if (uris != NULL)
      port = g_uri_get_port (uris->data);
    g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  }

  g_mutex_lock (&fc->lock);
  if (port == 0) {
    fc->start_error = g_strdup (error != NULL ? error->message : "no listening address");
  } else {
    fc->api_url = g_strdup_printf ("http://127.0.0.1:%u", port);
    fc->lwa_url = g_strdup_printf ("http://127.0.0.1:%u" TOKEN_PATH, port);
  }
  fc->ready = TRUE;
  g_cond_broadcast (&fc->cond);
  g_mutex_unlock (&fc->lock);

  if (port != 0)
    g_main_loop_run (fc->loop);

  /* Held-back answers go first: they hold messages of the server. */
  while (fc->delayed != NULL)
    g_source_destroy (((DelayedAnswer *) fc->delayed->data)->source);
  soup_server_disconnect (fc->server);
  g_clear_object (&fc->server);
  while (g_main_context_iteration (fc->context, FALSE))
    ;
  g_main_context_pop_thread_default (fc->context);
  return NULL;
}

/* ---- public API ---- */

FakeCloud *
fake_cloud_new (void)
{
  FakeCloud *fc = g_new0 (FakeCloud, 1);

  g_mutex_init (&fc->lock);
  g_cond_init (&fc->cond);
  fc->refresh_tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fc->auth_codes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  fc->access_tokens = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  fc->responses_for = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, scripted_queue_free);
  g_queue_init (&fc->responses);
  fc->signaling = g_ptr_array_new_with_free_func (fake_record_free);
  fc->lwa = g_ptr_array_new_with_free_func (fake_record_free);
  fc->retired = g_ptr_array_new_with_free_func (fake_record_free);
  fc->expires_in = FAKE_CLOUD_DEFAULT_EXPIRES_IN;

  fc->context = g_main_context_new ();
  fc->loop = g_main_loop_new (fc->context, FALSE);
  fc->thread = g_thread_new ("fake-cloud", server_thread, fc);

  g_mutex_lock (&fc->lock);
  while (!fc->ready)
    g_cond_wait (&fc->cond, &fc->lock);
  g_mutex_unlock (&fc->lock);

  if (fc->start_error != NULL)
    g_error ("fake cloud: cannot listen on 127.0.0.1: %s", fc->start_error);
  return fc;
}

void
fake_cloud_free (FakeCloud *fc)
{
  GSource *quit;

  if (fc == NULL)
    return;

  /* Quit from inside the loop: a quit sent before the loop runs is lost. */
  quit = g_idle_source_new ();
  g_source_set_callback (quit, quit_loop, fc, NULL);
  g_source_attach (quit, fc->context);
  g_source_unref (quit);
  g_thread_join (fc->thread);

  g_main_loop_unref (fc->loop);
  g_main_context_unref (fc->context);
  g_free (fc->start_error);
  g_free (fc->api_url);
  g_free (fc->lwa_url);
  g_free (fc->client_id);
  g_free (fc->client_secret);
  g_hash_table_unref (fc->refresh_tokens);
  g_hash_table_unref (fc->auth_codes);
  g_hash_table_unref (fc->access_tokens);
  g_free (fc->last_access_token);
  g_queue_clear_full (&fc->responses, scripted_response_free);
  g_hash_table_unref (fc->responses_for);
  g_ptr_array_unref (fc->signaling);
  g_ptr_array_unref (fc->lwa);
  g_ptr_array_unref (fc->retired);
  g_cond_clear (&fc->cond);
  g_mutex_clear (&fc->lock);
  g_free (fc);
}

const char *
fake_cloud_api_url (FakeCloud *fc)
{
  return fc->api_url;
}

const char *
fake_cloud_lwa_url (FakeCloud *fc)
{
  return fc->lwa_url;
}

/* Without a call to this (or after one with NULL, NULL), any non-empty
 * client_id/client_secret pair is accepted. */
void
fake_cloud_set_client (FakeCloud *fc, const char *client_id, const char *client_secret)
{
  g_return_if_fail ((client_id == NULL) == (client_secret == NULL));
  g_mutex_lock (&fc->lock);
  g_free (fc->client_id);
  g_free (fc->client_secret);
  fc->client_id = g_strdup (client_id);
  fc->client_secret = g_strdup (client_secret);
  g_mutex_unlock (&fc->lock);
}

void
fake_cloud_add_refresh_token (FakeCloud *fc, const char *refresh_token)
{
  g_return_if_fail (refresh_token != NULL);
  g_mutex_lock (&fc->lock);
  g_hash_table_replace (fc->refresh_tokens, g_strdup (refresh_token), GINT_TO_POINTER (TRUE));
  g_mutex_unlock (&fc->lock);
}

/* @refresh_token NULL: a random one is issued. */
void
fake_cloud_add_auth_code (FakeCloud *fc, const char *code, const char *refresh_token)
{
  g_return_if_fail (code != NULL);
  g_mutex_lock (&fc->lock);
  g_hash_table_replace (fc->auth_codes, g_strdup (code), g_strdup (refresh_token));
  g_mutex_unlock (&fc->lock);
}

void
fake_cloud_revoke_refresh_token (FakeCloud *fc, const char *refresh_token)
{
  g_return_if_fail (refresh_token != NULL);
  g_mutex_lock (&fc->lock);
  g_hash_table_replace (fc->refresh_tokens, g_strdup (refresh_token), GINT_TO_POINTER (FALSE));
  g_mutex_unlock (&fc->lock);
}

void
fake_cloud_set_expires_in (FakeCloud *fc, guint seconds)
{
  g_mutex_lock (&fc->lock);
  fc->expires_in = seconds;
  g_mutex_unlock (&fc->lock);
}

void
fake_cloud_set_rotate_refresh_token (FakeCloud *fc, gboolean rotate)
{
  g_mutex_lock (&fc->lock);
  fc->rotate_refresh_token = rotate;
  g_mutex_unlock (&fc->lock);
}

void
fake_cloud_expire_access_tokens (FakeCloud *fc)
{
  g_mutex_lock (&fc->lock);
  g_hash_table_remove_all (fc->access_tokens);
  g_mutex_unlock (&fc->lock);
}

char *
fake_cloud_dup_access_token (FakeCloud *fc)
{
  char *ret;

  g_mutex_lock (&fc->lock);
  ret = g_strdup (fc->last_access_token);
  g_mutex_unlock (&fc->lock);
  return ret;
}

/* Both counts are of the recorded requests: fake_cloud_reset_requests()
 * starts them again from zero. */
guint
fake_cloud_lwa_count (FakeCloud *fc)
{
  guint n;

  g_mutex_lock (&fc->lock);
  n = fc->lwa->len;
  g_mutex_unlock (&fc->lock);
  return n;
}

guint
fake_cloud_refresh_count (FakeCloud *fc)
{
  guint i, n = 0;

  g_mutex_lock (&fc->lock);
  for (i = 0; i < fc->lwa->len; i++) {
    FakeCloudRequest *r = g_ptr_array_index (fc->lwa, i);
    const char *grant = r->form != NULL ? g_hash_table_lookup (r->form, "grant_type") : NULL;

    if (g_strcmp0 (grant, "refresh_token") == 0)
      n++;
  }
  g_mutex_unlock (&fc->lock);
  return n;
}

void
fake_cloud_set_lwa_delay_ms (FakeCloud *fc, guint ms)
{
  g_mutex_lock (&fc->lock);
  fc->lwa_delay_ms = ms;
  g_mutex_unlock (&fc->lock);
}

static ScriptedResponse *
scripted_response_new (guint status, const char *retry_after, const char *body)
{
  ScriptedResponse *s = g_new0 (ScriptedResponse, 1);

  s->status = status;
  s->retry_after = g_strdup (retry_after);
  s->body = g_strdup (body);
  return s;
}

void
fake_cloud_push_response (FakeCloud *fc, guint status, const char *retry_after, const char *body)
{
  g_return_if_fail (status >= 100 && status <= 599);
  g_mutex_lock (&fc->lock);
  g_queue_push_tail (&fc->responses, scripted_response_new (status, retry_after, body));
  g_mutex_unlock (&fc->lock);
}

void
fake_cloud_push_response_for (FakeCloud *fc, const char *type, guint status,
    const char *retry_after, const char *body)
{
  GQueue *q;

  g_return_if_fail (type != NULL);
  g_return_if_fail (status >= 100 && status <= 599);
  g_mutex_lock (&fc->lock);
  q = g_hash_table_lookup (fc->responses_for, type);
  if (q == NULL) {
    q = g_queue_new ();
    g_hash_table_insert (fc->responses_for, g_strdup (type), q);
  }
  g_queue_push_tail (q, scripted_response_new (status, retry_after, body));
  g_mutex_unlock (&fc->lock);
}

static GPtrArray *
copy_records (FakeCloud *fc, GPtrArray *records)
{
  GPtrArray *ret;
  guint i;

  g_mutex_lock (&fc->lock);
  ret = g_ptr_array_sized_new (records->len);
  for (i = 0; i < records->len; i++)
    g_ptr_array_add (ret, g_ptr_array_index (records, i));
  g_mutex_unlock (&fc->lock);
  return ret;
}

GPtrArray *
fake_cloud_signaling_requests (FakeCloud *fc)
{
  return copy_records (fc, fc->signaling);
}

guint
fake_cloud_signaling_count (FakeCloud *fc)
{
  guint n;

  g_mutex_lock (&fc->lock);
  n = fc->signaling->len;
  g_mutex_unlock (&fc->lock);
  return n;
}

GPtrArray *
fake_cloud_lwa_requests (FakeCloud *fc)
{
  return copy_records (fc, fc->lwa);
}

/* Must hold fc->lock. */
static FakeCloudRequest *
take_signal_locked (FakeCloud *fc, const char *type, const char *session_id)
{
  guint i;

  for (i = 0; i < fc->signaling->len; i++) {
    FakeRecord *rec = g_ptr_array_index (fc->signaling, i);

    if (rec->consumed || g_strcmp0 (rec->pub.type, type) != 0)
      continue;
    if (session_id != NULL && g_strcmp0 (rec->pub.session_id, session_id) != 0)
      continue;
    rec->consumed = TRUE;
    return &rec->pub;
  }
  return NULL;
}

FakeCloudRequest *
fake_cloud_wait_signal (FakeCloud *fc, const char *type, const char *session_id,
    guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  FakeCloudRequest *r;

  g_return_val_if_fail (type != NULL, NULL);
  g_mutex_lock (&fc->lock);
  while ((r = take_signal_locked (fc, type, session_id)) == NULL) {
    if (!g_cond_wait_until (&fc->cond, &fc->lock, deadline)) {
      r = take_signal_locked (fc, type, session_id);
      break;
    }
  }
  g_mutex_unlock (&fc->lock);
  return r;
}

void
fake_cloud_reset_requests (FakeCloud *fc)
{
  g_mutex_lock (&fc->lock);
  /* Retired, not freed: pointers a test holds stay valid until free. */
  g_ptr_array_extend_and_steal (fc->retired, g_steal_pointer (&fc->signaling));
  g_ptr_array_extend_and_steal (fc->retired, g_steal_pointer (&fc->lwa));
  fc->signaling = g_ptr_array_new_with_free_func (fake_record_free);
  fc->lwa = g_ptr_array_new_with_free_func (fake_record_free);
  g_mutex_unlock (&fc->lock);
}
