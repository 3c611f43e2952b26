/* amgw — Login with Amazon token manager (WIRE.md section 4).
 *
 * State: the current access token (with its wall-clock expiry), the refresh
 * token and the link state.  get_token() callers queue as waiters; a valid
 * token is handed out from an idle source, otherwise the single refresh is
 * started (or joined).  When the refresh ends every waiter that was queued
 * before is answered.
 *
 * Secrets (tokens, client secret, codes) are only ever copied into request
 * bodies and callbacks; every copy is zeroed before it is freed.
 */
#include "amgw/lwa.h"
#include "amgw/debug.h"
#include "amgw/metrics.h"
#include "amgw/util.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <string.h>

#define GST_CAT_DEFAULT amgw_lwa_debug

/* Refresh at this share of the token's lifetime. */
#define LWA_REFRESH_AT_PERCENT 90
/* A token is not handed out when it expires within this margin (or 10 % of
 * its lifetime, when shorter). */
#define LWA_EXPIRY_MARGIN_MS 30000
/* After a proactive refresh failed for good, try again this much later at most. */
#define LWA_PROACTIVE_RETRY_MS 60000

#define M_REFRESHES "amgw_lwa_refreshes_total"
#define M_GRANTS "amgw_lwa_grants_total"
#define M_LINKED "amgw_lwa_linked"

G_DEFINE_QUARK (amgw-lwa-error-quark, amgw_lwa_error)

typedef struct {
  guint64 id;
  AmgwLwaCallback cb;
  gpointer user_data;
} Waiter;

typedef struct {
  AmgwLwa *lwa;
  guint64 id;
  guint64 http_id;        /* 0 when not in flight */
  GSource *idle;          /* (owned) (nullable) deferred failure */
  GError *early_error;    /* (owned) (nullable) */
  AmgwLwaCallback cb;
  gpointer user_data;
} Grant;

struct _AmgwLwa {
  AmgwHttpClient *http;   /* (transfer none) */
  AmgwStore *store;       /* (transfer none) (nullable) */
  char *lwa_url;
  char *client_id;        /* (nullable) */
  char *client_secret;    /* (nullable) secret */

  char *access_token;     /* (nullable) secret */
  char *refresh_token;    /* (nullable) secret */
  gint64 expires_at_ms;   /* wall clock; 0 = unknown */
  gint64 lifetime_ms;     /* expires_in of @access_token; 0 = unknown */
  AmgwLwaState state;

  guint64 next_id;
  GQueue waiters;         /* Waiter* (owned), get_token callers in id order */
  GSource *flush_idle;    /* (owned) (nullable) */
  GList *grants;          /* Grant* (owned) */

  gboolean refreshing;    /* the one refresh is in flight or waiting to retry */
  guint refresh_attempt;
  guint64 refresh_http_id;
  GSource *retry_timer;   /* (owned) (nullable) */
  GSource *proactive_timer; /* (owned) (nullable) */

  guint backoff_base_ms, backoff_cap_ms, max_attempts;

  guint dispatch_depth;   /* > 0 while user callbacks run */
  gboolean dying;
};

static void start_refresh (AmgwLwa *lwa, const char *why);

/* ---- small helpers ---- */

static void
secret_free (char *s)
{
  if (s != NULL) {
    memset (s, 0, strlen (s));
    g_free (s);
  }
}

#define secret_clear(pp) G_STMT_START { secret_free (*(pp)); *(pp) = NULL; } G_STMT_END

static void
source_clear (GSource **source)
{
  if (*source != NULL) {
    g_source_destroy (*source);
    g_source_unref (*source);
    *source = NULL;
  }
}

static GSource *
attach_timeout (AmgwLwa *lwa, guint ms, GSourceFunc fn, const char *name)
{
  GSource *s = g_timeout_source_new (ms);

  g_source_set_static_name (s, name);
  g_source_set_callback (s, fn, lwa, NULL);
  g_source_attach (s, amgw_http_client_get_context (lwa->http));
  return s;
}

/* Printable ASCII without spaces: safe in a header and a form. */
static gboolean
token_is_valid (const char *s)
{
  gsize n = 0;

  if (s == NULL || *s == '\0')
    return FALSE;
  for (; *s; s++, n++) {
    if ((guchar) *s <= 0x20 || (guchar) *s > 0x7e || n >= AMGW_MAX_LWA_TOKEN_BYTES)
      return FALSE;
  }
  return TRUE;
}

const char *
amgw_lwa_state_name (AmgwLwaState state)
{
  switch (state) {
    case AMGW_LWA_STATE_NOT_LINKED: return "NOT_LINKED";
    case AMGW_LWA_STATE_LINKED: return "LINKED";
    case AMGW_LWA_STATE_UNLINKED: return "UNLINKED";
  }
  return "UNKNOWN";
}

/* ---- parsing ---- */

void
amgw_lwa_answer_clear (AmgwLwaAnswer *answer)
{
  if (answer == NULL)
    return;
  secret_clear (&answer->access_token);
  secret_clear (&answer->refresh_token);
  g_clear_pointer (&answer->token_type, g_free);
  g_clear_pointer (&answer->error, g_free);
  g_clear_pointer (&answer->error_description, g_free);
  answer->expires_in = 0;
  answer->http_status = 0;
}

/* cJSON keeps its own copies of the tokens: zero them before cJSON_Delete. */
static void
json_zero_strings (cJSON *item)
{
  for (; item != NULL; item = item->next) {
    if (cJSON_IsString (item) && item->valuestring != NULL)
      memset (item->valuestring, 0, strlen (item->valuestring));
    if (item->child != NULL)
      json_zero_strings (item->child);
  }
}

static gboolean
error_code_is_valid (const char *s)
{
  gsize n = 0;

  if (s == NULL || *s == '\0')
    return FALSE;
  for (; *s; s++, n++) {
    if (n >= AMGW_MAX_LWA_ERROR_CODE_BYTES)
      return FALSE;
    if (!g_ascii_isalnum (*s) && *s != '_' && *s != '-' && *s != '.')
      return FALSE;
  }
  return TRUE;
}

/* A printable, bounded copy of server text for logs. */
static char *
sanitize_text (const char *s, gsize max)
{
  GString *out = g_string_sized_new (64);

  for (; *s && out->len < max; s++)
    g_string_append_c (out, ((guchar) *s >= 0x20 && (guchar) *s < 0x7f) ? *s : '?');
  return g_string_free (out, FALSE);
}

gboolean
amgw_lwa_parse_answer (const char *body, gsize len, guint http_status, AmgwLwaAnswer *out,
    GError **error)
{
  cJSON *root = NULL;
  const cJSON *item;
  const char *problem = NULL;

  g_return_val_if_fail (out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (out, 0, sizeof (*out));
  out->http_status = http_status;

  if (http_status < 200 || (http_status >= 300 && http_status < 400) || http_status >= 500) {
    g_set_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_PARSE,
        "unexpected HTTP status %u from the token endpoint", http_status);
    return FALSE;
  }
  if (body == NULL || len == 0) {
    problem = "empty answer";
    goto bad;
  }
  if (len > AMGW_MAX_LWA_ANSWER_BYTES) {
    problem = "answer is too large";
    goto bad;
  }
  root = cJSON_ParseWithLength (body, len);
  if (root == NULL || !cJSON_IsObject (root)) {
    problem = "answer is not a JSON object";
    goto bad;
  }

  if (http_status < 300) {
    double v;

    item = cJSON_GetObjectItemCaseSensitive (root, "access_token");
    if (!cJSON_IsString (item) || !token_is_valid (item->valuestring)) {
      problem = "access_token is missing or not a valid token";
      goto bad;
    }
    out->access_token = g_strdup (item->valuestring);

    item = cJSON_GetObjectItemCaseSensitive (root, "expires_in");
    if (!cJSON_IsNumber (item)) {
      problem = "expires_in is missing or not a number";
      goto bad;
    }
    v = item->valuedouble;
    if (!isfinite (v) || v < 1 || v > AMGW_MAX_LWA_EXPIRES_IN_S) {
      problem = "expires_in is out of range";
      goto bad;
    }
    out->expires_in = (gint64) v;

    item = cJSON_GetObjectItemCaseSensitive (root, "token_type");
    if (item != NULL && !cJSON_IsNull (item)) {
      if (!cJSON_IsString (item) || g_ascii_strcasecmp (item->valuestring, "bearer") != 0) {
        problem = "token_type is not \"bearer\"";
        goto bad;
      }
      out->token_type = g_strdup ("bearer");
    }

    item = cJSON_GetObjectItemCaseSensitive (root, "refresh_token");
    if (item != NULL && !cJSON_IsNull (item)) {
      if (!cJSON_IsString (item) || !token_is_valid (item->valuestring)) {
        problem = "refresh_token is not a valid token";
        goto bad;
      }
      out->refresh_token = g_strdup (item->valuestring);
    }
  } else {
    item = cJSON_GetObjectItemCaseSensitive (root, "error");
    if (!cJSON_IsString (item) || !error_code_is_valid (item->valuestring)) {
      problem = "error answer without a valid \"error\" code";
      goto bad;
    }
    out->error = g_strdup (item->valuestring);
    item = cJSON_GetObjectItemCaseSensitive (root, "error_description");
    if (cJSON_IsString (item))
      out->error_description = sanitize_text (item->valuestring, AMGW_MAX_LWA_ERROR_DESCRIPTION_BYTES);
  }

  json_zero_strings (root);
  cJSON_Delete (root);
  return TRUE;

  /* ERRORS */
bad:
  {
    guint status = out->http_status;

    if (root != NULL) {
      json_zero_strings (root);
      cJSON_Delete (root);
    }
    amgw_lwa_answer_clear (out);
    out->http_status = status;
    g_set_error (error, AMGW_LWA_ERROR, AMGW_LWA_ERROR_PARSE,
        "token endpoint answer (HTTP %u): %s", http_status, problem);
    return FALSE;
  }
}

/* ---- lifetime ---- */

static void
grant_free (Grant *g)
{
  if (g->http_id != 0)
    amgw_http_client_cancel (g->lwa->http, g->http_id);
  source_clear (&g->idle);
  g_clear_error (&g->early_error);
  g_free (g);
}

static void
lwa_destroy (AmgwLwa *lwa)
{
  g_assert (g_queue_is_empty (&lwa->waiters) && lwa->grants == NULL);
  g_free (lwa->lwa_url);
  g_free (lwa->client_id);
  secret_free (lwa->client_secret);
  secret_free (lwa->access_token);
  secret_free (lwa->refresh_token);
  g_free (lwa);
}

static void
lwa_enter (AmgwLwa *lwa)
{
  lwa->dispatch_depth++;
}

/* Returns FALSE when @lwa is gone (or going): the caller must not touch it. */
static gboolean
lwa_leave (AmgwLwa *lwa)
{
  g_assert (lwa->dispatch_depth > 0);
  lwa->dispatch_depth--;
  if (lwa->dying) {
    if (lwa->dispatch_depth == 0)
      lwa_destroy (lwa);
    return FALSE;
  }
  return TRUE;
}

void
amgw_lwa_free (AmgwLwa *lwa)
{
  Waiter *w;

  if (lwa == NULL)
    return;
  g_return_if_fail (!lwa->dying);

  lwa->dying = TRUE;
  while ((w = g_queue_pop_head (&lwa->waiters)) != NULL)
    g_free (w);
  g_list_free_full (g_steal_pointer (&lwa->grants), (GDestroyNotify) grant_free);
  if (lwa->refresh_http_id != 0)
    amgw_http_client_cancel (lwa->http, lwa->refresh_http_id);
  lwa->refresh_http_id = 0;
  source_clear (&lwa->flush_idle);
  source_clear (&lwa->retry_timer);
  source_clear (&lwa->proactive_timer);
  if (lwa->dispatch_depth == 0)
    lwa_destroy (lwa);
}

/* ---- tokens and state ---- */

static gboolean
token_is_fresh (AmgwLwa *lwa)
{
  gint64 margin = LWA_EXPIRY_MARGIN_MS;

  if (lwa->access_token == NULL || lwa->expires_at_ms == 0)
    return FALSE;
  if (lwa->lifetime_ms > 0)
    margin = MIN (margin, lwa->lifetime_ms / 10);
  return amgw_wall_ms () + margin < lwa->expires_at_ms;
}

static void
set_state (AmgwLwa *lwa, AmgwLwaState state)
{
  if (lwa->state != state)
    GST_INFO ("link state %s -> %s", amgw_lwa_state_name (lwa->state), amgw_lwa_state_name (state));
  lwa->state = state;
  amgw_metrics_set (M_LINKED, state == AMGW_LWA_STATE_LINKED ? 1 : 0, NULL);
}

static void
save_tokens (AmgwLwa *lwa)
{
  g_autoptr (GError) error = NULL;
  AmgwTokens t;

  if (lwa->store == NULL)
    return;
  t.access_token = lwa->access_token;
  t.refresh_token = lwa->refresh_token;
  t.expires_at_ms = lwa->expires_at_ms;
  t.unlinked = lwa->state == AMGW_LWA_STATE_UNLINKED;
  if (!amgw_store_save_tokens (lwa->store, &t, &error))
    GST_ERROR ("cannot store the LWA tokens: %s", error->message);
}

static gboolean
proactive_cb (gpointer user_data)
{
  AmgwLwa *lwa = user_data;

  g_clear_pointer (&lwa->proactive_timer, g_source_unref);
  if (lwa->state == AMGW_LWA_STATE_LINKED && !lwa->refreshing)
    start_refresh (lwa, "proactive");
  return G_SOURCE_REMOVE;
}

static void
schedule_proactive (AmgwLwa *lwa, gint64 delay_ms)
{
  source_clear (&lwa->proactive_timer);
  delay_ms = CLAMP (delay_ms, 0, (gint64) G_MAXINT32);
  GST_DEBUG ("next refresh in %" G_GINT64_FORMAT " ms", delay_ms);
  lwa->proactive_timer = attach_timeout (lwa, (guint) delay_ms, proactive_cb, "amgw-lwa-proactive");
}

/* Takes over the tokens of a successful answer. */
static void
accept_answer (AmgwLwa *lwa, AmgwLwaAnswer *a)
{
  secret_clear (&lwa->access_token);
  lwa->access_token = g_steal_pointer (&a->access_token);
  if (a->refresh_token != NULL) {
    secret_clear (&lwa->refresh_token);
    lwa->refresh_token = g_steal_pointer (&a->refresh_token);
  }
  lwa->lifetime_ms = a->expires_in * 1000;
  lwa->expires_at_ms = amgw_wall_ms () + lwa->lifetime_ms;
  set_state (lwa, AMGW_LWA_STATE_LINKED);
  save_tokens (lwa);
  schedule_proactive (lwa, lwa->lifetime_ms * LWA_REFRESH_AT_PERCENT / 100);
}

/* ---- waiters ---- */

/* Answers the waiters queued so far, from the head: with @failure when set,
 * else with the current token or the state's error.  Stops (leaving them
 * queued) when a refresh is needed, and starts it. */
static void
flush_waiters (AmgwLwa *lwa, const GError *failure)
{
  guint64 last = lwa->next_id - 1;
  Waiter *w;

  lwa_enter (lwa);
  while (!lwa->dying && (w = g_queue_peek_head (&lwa->waiters)) != NULL && w->id <= last) {
    g_autoptr (GError) state_error = NULL;
    char *token = NULL;

    if (failure == NULL) {
      if (lwa->state == AMGW_LWA_STATE_NOT_LINKED)
        state_error = g_error_new (AMGW_LWA_ERROR, AMGW_LWA_ERROR_NOT_LINKED,
            "no Alexa account is linked (no refresh token)");
      else if (lwa->state == AMGW_LWA_STATE_UNLINKED)
        state_error = g_error_new (AMGW_LWA_ERROR, AMGW_LWA_ERROR_UNLINKED,
            "the Alexa account link is gone (invalid_grant): link again with AcceptGrant");
      else if (token_is_fresh (lwa))
        token = g_strdup (lwa->access_token);
      else {
        if (!lwa->refreshing)
          start_refresh (lwa, "on demand");
        break;
      }
    }
    g_queue_pop_head (&lwa->waiters);
    /* A copy: the callback may invalidate the current token. */
    w->cb (token, token != NULL ? NULL : failure != NULL ? failure : state_error, w->user_data);
    secret_free (token);
    g_free (w);
  }
  lwa_leave (lwa);
}

static gboolean
flush_idle_cb (gpointer user_data)
{
  AmgwLwa *lwa = user_data;

  g_clear_pointer (&lwa->flush_idle, g_source_unref);
  flush_waiters (lwa, NULL);
  return G_SOURCE_REMOVE;
}

static void
schedule_flush (AmgwLwa *lwa)
{
  if (lwa->flush_idle != NULL)
    return;
  lwa->flush_idle = g_idle_source_new ();
  g_source_set_static_name (lwa->flush_idle, "amgw-lwa-flush");
  g_source_set_callback (lwa->flush_idle, flush_idle_cb, lwa, NULL);
  g_source_attach (lwa->flush_idle, amgw_http_client_get_context (lwa->http));
}

/* ---- the refresh ---- */

static void
append_form (GString *s, const char *name, const char *value)
{
  g_autofree char *escaped = NULL;

  if (value == NULL)
    return;
  escaped = g_uri_escape_string (value, NULL, FALSE);
  if (s->len > 0)
    g_string_append_c (s, '&');
  g_string_append (s, name);
  g_string_append_c (s, '=');
  g_string_append (s, escaped);
  memset (escaped, 0, strlen (escaped));
}

static void
string_free_secret (GString *s)
{
  memset (s->str, 0, s->allocated_len);
  g_string_free (s, TRUE);
}

static guint64
post_form (AmgwLwa *lwa, GString *form, AmgwHttpCallback cb, gpointer user_data)
{
  guint64 id;

  append_form (form, "client_id", lwa->client_id);
  append_form (form, "client_secret", lwa->client_secret);
  id = amgw_http_client_post (lwa->http, lwa->lwa_url, "application/x-www-form-urlencoded",
      NULL, form->str, form->len, cb, user_data);
  string_free_secret (form);
  return id;
}

static void refresh_done_cb (const AmgwHttpResponse *r, gpointer user_data);

static void
send_refresh (AmgwLwa *lwa)
{
  GString *form = g_string_new (NULL);

  lwa->refresh_attempt++;
  GST_DEBUG ("refresh attempt %u", lwa->refresh_attempt);
  append_form (form, "grant_type", "refresh_token");
  append_form (form, "refresh_token", lwa->refresh_token);
  lwa->refresh_http_id = post_form (lwa, form, refresh_done_cb, lwa);
}

static void
start_refresh (AmgwLwa *lwa, const char *why)
{
  g_assert (!lwa->refreshing);
  g_assert (lwa->refresh_token != NULL);

  GST_DEBUG ("refreshing the access token (%s)", why);
  lwa->refreshing = TRUE;
  lwa->refresh_attempt = 0;
  source_clear (&lwa->proactive_timer);
  send_refresh (lwa);
}

static gboolean
retry_timer_cb (gpointer user_data)
{
  AmgwLwa *lwa = user_data;

  g_clear_pointer (&lwa->retry_timer, g_source_unref);
  send_refresh (lwa);
  return G_SOURCE_REMOVE;
}

/* The refresh ended (any outcome): the next one may start. */
static void
refresh_finished (AmgwLwa *lwa)
{
  lwa->refreshing = FALSE;
  lwa->refresh_attempt = 0;
  lwa->refresh_http_id = 0;
  source_clear (&lwa->retry_timer);
}

static void
refresh_failed_for_good (AmgwLwa *lwa, AmgwLwaError code, const char *what)
{
  g_autoptr (GError) error = g_error_new (AMGW_LWA_ERROR, code,
      "cannot refresh the LWA access token: %s", what);

  refresh_finished (lwa);
  amgw_metrics_add (M_REFRESHES, 1, "outcome", "error", NULL);
  GST_ERROR ("%s", error->message);
  /* Without waiters this was a proactive refresh: try again later, while the
   * current token lasts. */
  if (g_queue_is_empty (&lwa->waiters) && lwa->access_token != NULL) {
    gint64 left = lwa->expires_at_ms - amgw_wall_ms ();
    if (left > 0)
      schedule_proactive (lwa, MIN (left / 2, LWA_PROACTIVE_RETRY_MS));
  }
  flush_waiters (lwa, error);
}

static void
unlink_account (AmgwLwa *lwa, const char *description)
{
  refresh_finished (lwa);
  amgw_metrics_add (M_REFRESHES, 1, "outcome", "invalid_grant", NULL);
  GST_WARNING ("the token endpoint refused the refresh token (invalid_grant%s%s): the Alexa "
      "account link is gone; calls to Alexa fail until AcceptGrant links again",
      description != NULL ? ": " : "", description != NULL ? description : "");
  secret_clear (&lwa->access_token);
  secret_clear (&lwa->refresh_token);
  lwa->expires_at_ms = 0;
  lwa->lifetime_ms = 0;
  source_clear (&lwa->proactive_timer);
  set_state (lwa, AMGW_LWA_STATE_UNLINKED);
  save_tokens (lwa);
  flush_waiters (lwa, NULL);
}

/* Server text may in theory echo what we sent: never let a secret through. */
static const char *
safe_description (AmgwLwa *lwa, const char *description)
{
  if (description == NULL)
    return NULL;
  if ((lwa->refresh_token != NULL && strstr (description, lwa->refresh_token) != NULL)
      || (lwa->client_secret != NULL && *lwa->client_secret != '\0'
          && strstr (description, lwa->client_secret) != NULL))
    return "<withheld>";
  return description;
}

static void
refresh_done_cb (const AmgwHttpResponse *r, gpointer user_data)
{
  AmgwLwa *lwa = user_data;
  AmgwLwaAnswer a = { 0 };
  g_autoptr (GError) error = NULL;
  g_autofree char *what = NULL;

  lwa->refresh_http_id = 0;

  if (r->status == 0) {
    what = g_strdup_printf ("transport failure: %s", r->error);
  } else if (r->status == 429 || r->status >= 500) {
    what = g_strdup_printf ("HTTP %u", r->status);
  } else if (!amgw_lwa_parse_answer (r->body, r->body_len, r->status, &a, &error)) {
    /* A malformed success may be a glitch of one node: retried.  A malformed
     * error is not going to change. */
    if (r->status >= 300) {
      refresh_failed_for_good (lwa, AMGW_LWA_ERROR_FAILED, error->message);
      return;
    }
    what = g_strdup (error->message);
  } else if (a.error != NULL) {
    const char *desc = safe_description (lwa, a.error_description);

    if (strcmp (a.error, "invalid_grant") == 0) {
      unlink_account (lwa, desc);
    } else {
      g_autofree char *msg = g_strdup_printf ("the token endpoint refused it: HTTP %u %s%s%s%s",
          r->status, a.error, desc != NULL ? " (" : "", desc != NULL ? desc : "", desc != NULL ? ")" : "");
      refresh_failed_for_good (lwa, AMGW_LWA_ERROR_REJECTED, msg);
    }
    amgw_lwa_answer_clear (&a);
    return;
  } else {
    gboolean rotated = a.refresh_token != NULL;

    refresh_finished (lwa);
    accept_answer (lwa, &a);
    amgw_lwa_answer_clear (&a);
    amgw_metrics_add (M_REFRESHES, 1, "outcome", "ok", NULL);
    GST_INFO ("access token refreshed (expires in %" G_GINT64_FORMAT " s%s, %" G_GINT64_FORMAT " ms)",
        lwa->lifetime_ms / 1000, rotated ? ", new refresh token" : "", r->elapsed_ms);
    flush_waiters (lwa, NULL);
    return;
  }

  /* Transient: retry with back-off while attempts remain. */
  if (lwa->refresh_attempt < lwa->max_attempts) {
    guint ceiling = lwa->backoff_base_ms;
    guint delay, retry_after = 0;

    for (guint i = 1; i < lwa->refresh_attempt && ceiling < lwa->backoff_cap_ms; i++)
      ceiling *= 2;
    ceiling = MIN (ceiling, lwa->backoff_cap_ms);
    delay = (guint) g_random_int_range (0, (gint32) MIN (ceiling, (guint) G_MAXINT32 - 1) + 1);
    if (r->retry_after != NULL && amgw_http_parse_retry_after (r->retry_after, &retry_after))
      delay = MAX (delay, MIN (retry_after, lwa->backoff_cap_ms));
    GST_WARNING ("refresh attempt %u failed (%s): retrying in %u ms", lwa->refresh_attempt, what, delay);
    lwa->retry_timer = attach_timeout (lwa, delay, retry_timer_cb, "amgw-lwa-retry");
    return;
  }
  {
    g_autofree char *msg = g_strdup_printf ("%s (after %u attempts)", what, lwa->refresh_attempt);
    refresh_failed_for_good (lwa, AMGW_LWA_ERROR_FAILED, msg);
  }
}

/* ---- public API ---- */

AmgwLwa *
amgw_lwa_new (AmgwHttpClient *http, AmgwStore *store, const char *lwa_url, const char *client_id,
    const char *client_secret, const char *bootstrap_refresh_token)
{
  AmgwLwa *lwa;
  AmgwTokens stored = { 0 };
  g_autoptr (GError) error = NULL;
  const char *source = "none";

  g_return_val_if_fail (http != NULL, NULL);
  g_return_val_if_fail (lwa_url != NULL, NULL);

  amgw_debug_init ();
  amgw_metrics_describe (M_REFRESHES, AMGW_METRIC_COUNTER,
      "LWA access token refreshes by outcome (ok, invalid_grant, error).");
  amgw_metrics_describe (M_GRANTS, AMGW_METRIC_COUNTER,
      "LWA authorization code exchanges (AcceptGrant) by outcome (ok, rejected, error).");
  amgw_metrics_describe (M_LINKED, AMGW_METRIC_GAUGE,
      "1 when an Alexa account is linked (a usable LWA refresh token), else 0.");

  lwa = g_new0 (AmgwLwa, 1);
  lwa->http = http;
  lwa->store = store;
  lwa->lwa_url = g_strdup (lwa_url);
  lwa->client_id = g_strdup (client_id);
  lwa->client_secret = g_strdup (client_secret);
  lwa->next_id = 1;
  lwa->backoff_base_ms = AMGW_LWA_DEFAULT_BACKOFF_BASE_MS;
  lwa->backoff_cap_ms = AMGW_LWA_DEFAULT_BACKOFF_CAP_MS;
  lwa->max_attempts = AMGW_LWA_DEFAULT_MAX_ATTEMPTS;
  g_queue_init (&lwa->waiters);

  if (store != NULL) {
    if (amgw_store_load_tokens (store, &stored, &error)) {
      if (stored.unlinked) {
        lwa->state = AMGW_LWA_STATE_UNLINKED;
        source = "store (unlinked)";
      } else if (stored.refresh_token != NULL && token_is_valid (stored.refresh_token)) {
        lwa->refresh_token = g_steal_pointer (&stored.refresh_token);
        if (stored.access_token != NULL && token_is_valid (stored.access_token)) {
          lwa->access_token = g_steal_pointer (&stored.access_token);
          lwa->expires_at_ms = stored.expires_at_ms;
        }
        lwa->state = AMGW_LWA_STATE_LINKED;
        source = "store";
      }
      amgw_tokens_clear (&stored);
    } else if (error != NULL) {
      GST_ERROR ("cannot load the LWA tokens: %s", error->message);
    }
  }
  if (lwa->state == AMGW_LWA_STATE_NOT_LINKED && bootstrap_refresh_token != NULL
      && *bootstrap_refresh_token != '\0') {
    if (token_is_valid (bootstrap_refresh_token)) {
      lwa->refresh_token = g_strdup (bootstrap_refresh_token);
      lwa->state = AMGW_LWA_STATE_LINKED;
      source = "configuration (bootstrap refresh-token)";
    } else {
      GST_ERROR ("the configured refresh-token is not a valid token (printable, no spaces, at most "
          G_STRINGIFY (AMGW_MAX_LWA_TOKEN_BYTES) " bytes): ignored");
    }
  } else if (lwa->state == AMGW_LWA_STATE_UNLINKED && bootstrap_refresh_token != NULL) {
    GST_WARNING ("the stored link state is UNLINKED: the configured refresh-token is not used; "
        "link again with AcceptGrant");
  }
  amgw_metrics_set (M_LINKED, lwa->state == AMGW_LWA_STATE_LINKED ? 1 : 0, NULL);
  GST_INFO ("LWA endpoint %s, state %s, tokens from %s%s", lwa_url, amgw_lwa_state_name (lwa->state),
      source, lwa->access_token != NULL ? " (with an access token)" : "");

  /* A stored token that is still good: refresh it before it expires. */
  if (lwa->access_token != NULL && lwa->expires_at_ms > 0) {
    gint64 left = lwa->expires_at_ms - amgw_wall_ms ();
    if (left > LWA_EXPIRY_MARGIN_MS)
      schedule_proactive (lwa, left - left / 10 - LWA_EXPIRY_MARGIN_MS / 2);
  }
  return lwa;
}

void
amgw_lwa_set_backoff (AmgwLwa *lwa, guint base_ms, guint cap_ms, guint max_attempts)
{
  g_return_if_fail (lwa != NULL);
  lwa->backoff_base_ms = MAX (base_ms, 1);
  lwa->backoff_cap_ms = MAX (cap_ms, lwa->backoff_base_ms);
  lwa->max_attempts = MAX (max_attempts, 1);
}

guint64
amgw_lwa_get_token (AmgwLwa *lwa, AmgwLwaCallback cb, gpointer user_data)
{
  Waiter *w;

  g_return_val_if_fail (lwa != NULL, 0);
  g_return_val_if_fail (!lwa->dying, 0);
  g_return_val_if_fail (cb != NULL, 0);

  w = g_new0 (Waiter, 1);
  w->id = lwa->next_id++;
  w->cb = cb;
  w->user_data = user_data;
  g_queue_push_tail (&lwa->waiters, w);

  if (lwa->state != AMGW_LWA_STATE_LINKED || token_is_fresh (lwa))
    schedule_flush (lwa);
  else if (!lwa->refreshing)
    start_refresh (lwa, "on demand");
  return w->id;
}

void
amgw_lwa_cancel (AmgwLwa *lwa, guint64 id)
{
  g_return_if_fail (lwa != NULL);

  for (GList *l = lwa->waiters.head; l != NULL; l = l->next) {
    Waiter *w = l->data;
    if (w->id == id) {
      g_queue_delete_link (&lwa->waiters, l);
      g_free (w);
      return;
    }
  }
  for (GList *l = lwa->grants; l != NULL; l = l->next) {
    Grant *g = l->data;
    if (g->id == id) {
      lwa->grants = g_list_delete_link (lwa->grants, l);
      grant_free (g);
      return;
    }
  }
}

void
amgw_lwa_invalidate (AmgwLwa *lwa, const char *access_token)
{
  g_return_if_fail (lwa != NULL);

  if (access_token == NULL || lwa->access_token == NULL
      || !amgw_secret_equal (access_token, lwa->access_token))
    return;
  GST_DEBUG ("the current access token was refused (401): forgotten");
  secret_clear (&lwa->access_token);
  lwa->expires_at_ms = 0;
  lwa->lifetime_ms = 0;
}

static void
grant_finish (Grant *g, const char *token, const GError *error)
{
  AmgwLwa *lwa = g->lwa;

  lwa->grants = g_list_remove (lwa->grants, g);
  g->http_id = 0;
  lwa_enter (lwa);
  g->cb (token, error, g->user_data);
  grant_free (g);
  lwa_leave (lwa);
}

static void
grant_done_cb (const AmgwHttpResponse *r, gpointer user_data)
{
  Grant *g = user_data;
  AmgwLwa *lwa = g->lwa;
  AmgwLwaAnswer a = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) parse_error = NULL;

  g->http_id = 0;
  if (r->status == 0) {
    error = g_error_new (AMGW_LWA_ERROR, AMGW_LWA_ERROR_FAILED,
        "authorization code exchange failed: %s", r->error);
  } else if (!amgw_lwa_parse_answer (r->body, r->body_len, r->status, &a, &parse_error)) {
    error = g_error_new (AMGW_LWA_ERROR, r->status >= 500 || r->status == 429
        ? AMGW_LWA_ERROR_FAILED : AMGW_LWA_ERROR_PARSE,
        "authorization code exchange failed: %s", parse_error->message);
  } else if (a.error != NULL) {
    const char *desc = safe_description (lwa, a.error_description);
    error = g_error_new (AMGW_LWA_ERROR, AMGW_LWA_ERROR_REJECTED,
        "the token endpoint refused the authorization code: HTTP %u %s%s%s%s", r->status, a.error,
        desc != NULL ? " (" : "", desc != NULL ? desc : "", desc != NULL ? ")" : "");
  } else if (a.refresh_token == NULL) {
    error = g_error_new (AMGW_LWA_ERROR, AMGW_LWA_ERROR_PARSE,
        "authorization code exchange failed: the answer has no refresh_token");
  }

  if (error != NULL) {
    amgw_lwa_answer_clear (&a);
    amgw_metrics_add (M_GRANTS, 1, "outcome",
        error->code == AMGW_LWA_ERROR_REJECTED ? "rejected" : "error", NULL);
    GST_WARNING ("AcceptGrant: %s", error->message);
    grant_finish (g, NULL, error);
    return;
  }

  /* A refresh still running would only overwrite the new link with the old. */
  if (lwa->refreshing) {
    if (lwa->refresh_http_id != 0)
      amgw_http_client_cancel (lwa->http, lwa->refresh_http_id);
    refresh_finished (lwa);
  }
  accept_answer (lwa, &a);
  amgw_lwa_answer_clear (&a);
  amgw_metrics_add (M_GRANTS, 1, "outcome", "ok", NULL);
  GST_INFO ("AcceptGrant: Alexa account linked (access token expires in %" G_GINT64_FORMAT " s)",
      lwa->lifetime_ms / 1000);
  {
    char *token = g_strdup (lwa->access_token);
    lwa_enter (lwa);
    grant_finish (g, token, NULL);
    secret_free (token);
    if (lwa_leave (lwa) && !g_queue_is_empty (&lwa->waiters))
      schedule_flush (lwa);
  }
}

static gboolean
grant_idle_cb (gpointer user_data)
{
  Grant *g = user_data;
  g_autoptr (GError) error = g_steal_pointer (&g->early_error);

  g_clear_pointer (&g->idle, g_source_unref);
  grant_finish (g, NULL, error);
  return G_SOURCE_REMOVE;
}

guint64
amgw_lwa_accept_grant (AmgwLwa *lwa, const char *code, AmgwLwaCallback cb, gpointer user_data)
{
  Grant *g;
  GString *form;

  g_return_val_if_fail (lwa != NULL, 0);
  g_return_val_if_fail (!lwa->dying, 0);
  g_return_val_if_fail (cb != NULL, 0);

  g = g_new0 (Grant, 1);
  g->lwa = lwa;
  g->id = lwa->next_id++;
  g->cb = cb;
  g->user_data = user_data;
  lwa->grants = g_list_append (lwa->grants, g);

  if (!token_is_valid (code)) {
    g->early_error = g_error_new (AMGW_LWA_ERROR, AMGW_LWA_ERROR_REJECTED,
        "the authorization code is empty, too long or not printable");
    g->idle = g_idle_source_new ();
    g_source_set_static_name (g->idle, "amgw-lwa-grant-fail");
    g_source_set_callback (g->idle, grant_idle_cb, g, NULL);
    g_source_attach (g->idle, amgw_http_client_get_context (lwa->http));
    return g->id;
  }

  GST_DEBUG ("AcceptGrant: exchanging an authorization code");
  form = g_string_new (NULL);
  append_form (form, "grant_type", "authorization_code");
  append_form (form, "code", code);
  g->http_id = post_form (lwa, form, grant_done_cb, g);
  return g->id;
}

AmgwLwaState
amgw_lwa_get_state (AmgwLwa *lwa)
{
  g_return_val_if_fail (lwa != NULL, AMGW_LWA_STATE_NOT_LINKED);
  return lwa->state;
}
