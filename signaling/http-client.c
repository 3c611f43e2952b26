/* amgw — outbound HTTP client: libcurl's multi interface driven by a GMainContext.
 *
 * curl tells us which sockets to watch (socket_cb) and when to wake it up
 * (timer_cb); each watched socket is a g_unix_fd_source on the client's
 * context, the timer one timeout source.  When one fires we hand the event to
 * curl_multi_socket_action(), then collect finished transfers with
 * curl_multi_info_read() and only after that, with no curl call on the stack,
 * invoke the callbacks.
 */
#include "amgw/http-client.h"
#include "amgw/debug.h"
#include "amgw/util.h"

#include <curl/curl.h>
#include <glib-unix.h>

#include <string.h>

#define GST_CAT_DEFAULT amgw_curl_debug

#define AMGW_HTTP_DEFAULT_TIMEOUT_MS 10000

typedef struct {
  AmgwHttpClient *client;
  curl_socket_t fd;
  int what;               /* CURL_POLL_IN / OUT / INOUT */
  GSource *source;        /* (owned) */
} SocketWatch;

typedef struct {
  AmgwHttpClient *client;
  guint64 id;
  AmgwHttpCallback cb;
  gpointer user_data;

  CURL *easy;             /* (owned) (nullable): NULL when failed before start */
  gboolean attached;      /* @easy is in the multi handle */
  struct curl_slist *headers;  /* (owned) may hold the bearer: zeroed before free */
  char *request_body;     /* (owned) (nullable) may hold secrets: zeroed before free */
  gsize request_body_len;
  GByteArray *body;       /* (owned) response body */
  char *retry_after;      /* (owned) (nullable) */
  gboolean too_big;       /* the body went past AMGW_MAX_HTTP_RESPONSE_BYTES */
  CURLcode result;
  char *log_url;          /* (owned) the URL without user info, query or fragment */
  gint64 start_ms;

  GSource *idle;          /* (owned) (nullable) deferred failure */
  char *fail_reason;      /* (owned) (nullable) why it failed before start */
  char *error_text;       /* (owned) (nullable) a transport error built at completion */

  char errbuf[CURL_ERROR_SIZE];
} Request;

struct _AmgwHttpClient {
  GMainContext *context;  /* (owned) */
  CURLM *multi;           /* (owned) */
  guint timeout_ms;
  char *ca_file;          /* (owned) (nullable) */
  GSource *timer;         /* (owned) (nullable) curl's single timer */
  GHashTable *watches;    /* fd -> SocketWatch* (owned) */
  GHashTable *requests;   /* &Request.id -> Request* (owned) */
  guint64 next_id;
  guint dispatch_depth;   /* > 0 while user callbacks run */
  gboolean dying;         /* amgw_http_client_free() was called during a callback */
};

static void
curl_global_once (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    CURLcode rc = curl_global_init (CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
      g_error ("curl_global_init failed: %s", curl_easy_strerror (rc));
    g_once_init_leave (&once, 1);
  }
}

static void
zero_slist (struct curl_slist *list)
{
  for (; list != NULL; list = list->next) {
    if (list->data != NULL)
      memset (list->data, 0, strlen (list->data));
  }
}

static void
request_free (Request *req)
{
  if (req->idle != NULL) {
    g_source_destroy (req->idle);
    g_source_unref (req->idle);
  }
  if (req->easy != NULL) {
    if (req->attached)
      curl_multi_remove_handle (req->client->multi, req->easy);
    curl_easy_cleanup (req->easy);
  }
  if (req->request_body != NULL) {
    memset (req->request_body, 0, req->request_body_len);
    g_free (req->request_body);
  }
  zero_slist (req->headers);
  curl_slist_free_all (req->headers);
  if (req->body != NULL) {
    /* Responses of the token endpoint carry tokens. */
    if (req->body->len > 0)
      memset (req->body->data, 0, req->body->len);
    g_byte_array_unref (req->body);
  }
  g_free (req->retry_after);
  g_free (req->log_url);
  g_free (req->fail_reason);
  g_free (req->error_text);
  g_free (req);
}

static void
socket_watch_free (gpointer data)
{
  SocketWatch *w = data;

  if (w->source != NULL) {
    g_source_destroy (w->source);
    g_source_unref (w->source);
  }
  g_free (w);
}

static void
client_destroy (AmgwHttpClient *client)
{
  g_assert (g_hash_table_size (client->requests) == 0);
  g_hash_table_unref (client->requests);
  /* May call socket_cb and timer_cb one last time: the tables are still here. */
  curl_multi_cleanup (client->multi);
  g_hash_table_unref (client->watches);
  if (client->timer != NULL) {
    g_source_destroy (client->timer);
    g_source_unref (client->timer);
  }
  g_main_context_unref (client->context);
  g_free (client->ca_file);
  g_free (client);
}

/* Called after user callbacks ran: finishes a deferred free. */
static void
client_leave_dispatch (AmgwHttpClient *client)
{
  g_assert (client->dispatch_depth > 0);
  client->dispatch_depth--;
  if (client->dispatch_depth == 0 && client->dying)
    client_destroy (client);
}

/* Invokes the callback of @req (already out of the table) and frees it. */
static void
request_complete (Request *req)
{
  AmgwHttpClient *client = req->client;
  AmgwHttpResponse r = { 0 };
  long code = 0;

  r.elapsed_ms = amgw_now_ms () - req->start_ms;

  if (req->fail_reason != NULL) {
    r.error = req->fail_reason;
  } else if (req->result == CURLE_OK) {
    curl_easy_getinfo (req->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code >= 100 && code <= 999) {
      guint8 nul = 0;
      r.status = (guint) code;
      r.body_len = req->body->len;
      g_byte_array_append (req->body, &nul, 1);
      r.body = (const char *) req->body->data;
      r.retry_after = req->retry_after;
    } else {
      r.error = "no HTTP status in the answer";
    }
  } else if (req->too_big || req->result == CURLE_FILESIZE_EXCEEDED) {
    req->error_text = g_strdup_printf ("response body exceeds %u bytes",
        (guint) AMGW_MAX_HTTP_RESPONSE_BYTES);
    r.error = req->error_text;
  } else if (req->errbuf[0] != '\0') {
    r.error = req->errbuf;
  } else {
    r.error = curl_easy_strerror (req->result);
  }

  if (r.status != 0) {
    long connects = 0;
    curl_easy_getinfo (req->easy, CURLINFO_NUM_CONNECTS, &connects);
    GST_DEBUG ("request %" G_GUINT64_FORMAT ": POST %s -> %u (%" G_GINT64_FORMAT " ms, %"
        G_GSIZE_FORMAT " bytes, %s connection)", req->id, req->log_url, r.status, r.elapsed_ms,
        r.body_len, connects == 0 ? "reused" : "new");
  } else
    GST_DEBUG ("request %" G_GUINT64_FORMAT ": POST %s failed after %" G_GINT64_FORMAT " ms: %s",
        req->id, req->log_url, r.elapsed_ms, r.error);

  client->dispatch_depth++;
  req->cb (&r, req->user_data);
  request_free (req);
  client_leave_dispatch (client);
}

/* Collects every finished transfer, then invokes their callbacks.  A callback
 * may cancel a later one, post new requests or free the client. */
static void
drain_completions (AmgwHttpClient *client)
{
  g_autoptr (GArray) done = g_array_new (FALSE, FALSE, sizeof (guint64));
  CURLMsg *msg;
  int left;

  while ((msg = curl_multi_info_read (client->multi, &left)) != NULL) {
    Request *req = NULL;

    if (msg->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
    if (req == NULL)
      continue;
    req->result = msg->data.result;
    g_array_append_val (done, req->id);
  }

  for (guint i = 0; i < done->len; i++) {
    Request *req = g_hash_table_lookup (client->requests, &g_array_index (done, guint64, i));
    if (req != NULL && req->attached) {
      curl_multi_remove_handle (client->multi, req->easy);
      req->attached = FALSE;
    }
  }

  client->dispatch_depth++;
  for (guint i = 0; i < done->len && !client->dying; i++) {
    guint64 id = g_array_index (done, guint64, i);
    Request *req = g_hash_table_lookup (client->requests, &id);
    if (req == NULL)
      continue;           /* cancelled by an earlier callback */
    g_hash_table_steal (client->requests, &id);
    request_complete (req);
  }
  client_leave_dispatch (client);
}

static gboolean
socket_ready_cb (gint fd, GIOCondition condition, gpointer user_data)
{
  SocketWatch *w = user_data;
  AmgwHttpClient *client = w->client;
  int flags = 0, running = 0;
  CURLMcode mrc;

  /* @w may be freed by socket_cb during the call below: not used after it. */
  if (condition & (G_IO_IN | G_IO_HUP))
    flags |= CURL_CSELECT_IN;
  if (condition & G_IO_OUT)
    flags |= CURL_CSELECT_OUT;
  if (condition & (G_IO_ERR | G_IO_NVAL))
    flags |= CURL_CSELECT_ERR;
  mrc = curl_multi_socket_action (client->multi, fd, flags, &running);
  if (mrc != CURLM_OK)
    GST_WARNING ("curl_multi_socket_action: %s", curl_multi_strerror (mrc));
  drain_completions (client);
  return G_SOURCE_CONTINUE;
}

static int
socket_cb (CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
  AmgwHttpClient *client = userp;
  SocketWatch *w = g_hash_table_lookup (client->watches, GINT_TO_POINTER (fd));
  GIOCondition cond = G_IO_ERR | G_IO_HUP;

  if (what == CURL_POLL_REMOVE) {
    g_hash_table_remove (client->watches, GINT_TO_POINTER (fd));
    return 0;
  }
  if (w != NULL && w->what == what && w->source != NULL)
    return 0;
  if (w == NULL) {
    w = g_new0 (SocketWatch, 1);
    w->client = client;
    w->fd = fd;
    g_hash_table_insert (client->watches, GINT_TO_POINTER (fd), w);
  } else if (w->source != NULL) {
    /* A g_unix_fd_source watches fixed conditions: replace it. */
    g_source_destroy (w->source);
    g_clear_pointer (&w->source, g_source_unref);
  }
  w->what = what;
  if (what & CURL_POLL_IN)
    cond |= G_IO_IN;
  if (what & CURL_POLL_OUT)
    cond |= G_IO_OUT;
  w->source = g_unix_fd_source_new (fd, cond);
  g_source_set_static_name (w->source, "amgw-curl-socket");
  g_source_set_callback (w->source, G_SOURCE_FUNC (socket_ready_cb), w, NULL);
  g_source_attach (w->source, client->context);
  return 0;
}

static gboolean
timer_fired_cb (gpointer user_data)
{
  AmgwHttpClient *client = user_data;
  int running = 0;
  CURLMcode mrc;

  /* The loop holds its own reference while we run. */
  g_clear_pointer (&client->timer, g_source_unref);
  mrc = curl_multi_socket_action (client->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  if (mrc != CURLM_OK)
    GST_WARNING ("curl_multi_socket_action: %s", curl_multi_strerror (mrc));
  drain_completions (client);
  return G_SOURCE_REMOVE;
}

static int
timer_cb (CURLM *multi, long timeout_ms, void *userp)
{
  AmgwHttpClient *client = userp;

  if (client->timer != NULL) {
    g_source_destroy (client->timer);
    g_clear_pointer (&client->timer, g_source_unref);
  }
  if (timeout_ms < 0)
    return 0;
  /* Even 0 goes through the loop: curl asks not to be re-entered from here. */
  client->timer = g_timeout_source_new ((guint) MIN (timeout_ms, (long) G_MAXINT32));
  g_source_set_static_name (client->timer, "amgw-curl-timer");
  g_source_set_callback (client->timer, timer_fired_cb, client, NULL);
  g_source_attach (client->timer, client->context);
  return 0;
}

AmgwHttpClient *
amgw_http_client_new (GMainContext *context, guint timeout_ms)
{
  AmgwHttpClient *client;
  const char *ca_file;

  amgw_debug_init ();
  curl_global_once ();

  client = g_new0 (AmgwHttpClient, 1);
  client->context = context != NULL ? g_main_context_ref (context)
                                    : g_main_context_ref_thread_default ();
  client->timeout_ms = timeout_ms > 0 ? timeout_ms : AMGW_HTTP_DEFAULT_TIMEOUT_MS;
  ca_file = g_getenv ("AMGW_CA_FILE");
  if (ca_file != NULL && *ca_file != '\0')
    client->ca_file = g_strdup (ca_file);
  client->watches = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, socket_watch_free);
  client->requests = g_hash_table_new (g_int64_hash, g_int64_equal);
  client->next_id = 1;

  client->multi = curl_multi_init ();
  if (client->multi == NULL)
    g_error ("curl_multi_init failed");
  curl_multi_setopt (client->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
  curl_multi_setopt (client->multi, CURLMOPT_SOCKETDATA, client);
  curl_multi_setopt (client->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
  curl_multi_setopt (client->multi, CURLMOPT_TIMERDATA, client);
  curl_multi_setopt (client->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long) AMGW_HTTP_MAX_HOST_CONNECTIONS);
  curl_multi_setopt (client->multi, CURLMOPT_MAXCONNECTS, (long) AMGW_HTTP_MAX_CACHED_CONNECTIONS);

  GST_DEBUG ("new HTTP client: time-out %u ms%s", client->timeout_ms,
      client->ca_file != NULL ? ", CA file from AMGW_CA_FILE" : "");
  return client;
}

static gboolean
deferred_fail_cb (gpointer user_data)
{
  Request *req = user_data;
  AmgwHttpClient *client = req->client;

  g_clear_pointer (&req->idle, g_source_unref);
  g_hash_table_steal (client->requests, &req->id);
  client->dispatch_depth++;
  request_complete (req);
  client_leave_dispatch (client);
  return G_SOURCE_REMOVE;
}

/* Fails @req from the loop (never synchronously).  Returns its id. */
static guint64
fail_later (Request *req, const char *reason)
{
  if (req->easy != NULL) {
    curl_easy_cleanup (req->easy);
    req->easy = NULL;
  }
  req->fail_reason = g_strdup (reason);
  req->idle = g_idle_source_new ();
  g_source_set_static_name (req->idle, "amgw-curl-fail");
  g_source_set_callback (req->idle, deferred_fail_cb, req, NULL);
  g_source_attach (req->idle, req->client->context);
  return req->id;
}

/* A header value must not be able to end the header: printable ASCII only. */
static gboolean
is_header_token (const char *s, gboolean allow_space)
{
  if (s == NULL || *s == '\0')
    return FALSE;
  for (; *s; s++) {
    if ((guchar) *s < 0x20 || (guchar) *s > 0x7e || (!allow_space && *s == ' '))
      return FALSE;
  }
  return TRUE;
}

static char *
url_for_log (const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  if (uri == NULL)
    return g_strdup ("<invalid URL>");
  return g_uri_to_string_partial (uri, G_URI_HIDE_USERINFO | G_URI_HIDE_QUERY | G_URI_HIDE_FRAGMENT);
}

static size_t
write_cb (char *ptr, size_t size, size_t nmemb, void *userdata)
{
  Request *req = userdata;
  size_t n = size * nmemb;

  if (n > AMGW_MAX_HTTP_RESPONSE_BYTES || req->body->len + n > AMGW_MAX_HTTP_RESPONSE_BYTES) {
    req->too_big = TRUE;
    return 0;             /* != n: curl fails the transfer */
  }
  g_byte_array_append (req->body, (const guint8 *) ptr, (guint) n);
  return n;
}

static size_t
header_cb (char *buf, size_t size, size_t nitems, void *userdata)
{
  Request *req = userdata;
  size_t n = size * nitems;
  static const char name[] = "retry-after:";
  const size_t name_len = sizeof (name) - 1;

  if (n >= 5 && g_ascii_strncasecmp (buf, "HTTP/", 5) == 0) {
    /* A new response (after a 100 Continue, say): forget the previous one's. */
    g_clear_pointer (&req->retry_after, g_free);
    g_byte_array_set_size (req->body, 0);
    return n;
  }
  if (n > name_len && g_ascii_strncasecmp (buf, name, name_len) == 0) {
    const char *v = buf + name_len, *end = buf + n;
    while (v < end && (*v == ' ' || *v == '\t'))
      v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
      end--;
    g_clear_pointer (&req->retry_after, g_free);
    if (end > v && (size_t) (end - v) <= AMGW_MAX_RETRY_AFTER_BYTES)
      req->retry_after = g_strndup (v, end - v);
  }
  return n;
}

guint64
amgw_http_client_post (AmgwHttpClient *client, const char *url, const char *content_type,
    const char *bearer, const char *body, gsize body_len, AmgwHttpCallback cb, gpointer user_data)
{
  Request *req;
  CURLcode rc = CURLE_OK;
  CURLMcode mrc;

  g_return_val_if_fail (client != NULL, 0);
  g_return_val_if_fail (!client->dying, 0);
  g_return_val_if_fail (url != NULL, 0);
  g_return_val_if_fail (cb != NULL, 0);
  g_return_val_if_fail (body != NULL || body_len == 0, 0);

  req = g_new0 (Request, 1);
  req->client = client;
  req->id = client->next_id++;
  req->cb = cb;
  req->user_data = user_data;
  req->body = g_byte_array_new ();
  req->log_url = url_for_log (url);
  req->start_ms = amgw_now_ms ();
  g_hash_table_insert (client->requests, &req->id, req);

  if (!amgw_url_is_allowed (url))
    return fail_later (req, "URL refused: only https://, or http:// to a loopback host");
  if (body_len > AMGW_MAX_HTTP_REQUEST_BYTES) {
    g_autofree char *why = g_strdup_printf ("request body exceeds %u bytes",
        (guint) AMGW_MAX_HTTP_REQUEST_BYTES);
    return fail_later (req, why);
  }
  if (bearer != NULL && !is_header_token (bearer, FALSE))
    return fail_later (req, "bearer token is not a valid header value");
  if (content_type != NULL && !is_header_token (content_type, TRUE))
    return fail_later (req, "content type is not a valid header value");

  req->easy = curl_easy_init ();
  if (req->easy == NULL)
    return fail_later (req, "curl_easy_init failed");

  if (content_type != NULL) {
    g_autofree char *h = g_strconcat ("Content-Type: ", content_type, NULL);
    req->headers = curl_slist_append (req->headers, h);
  }
  if (bearer != NULL) {
    char *h = g_strconcat ("Authorization: Bearer ", bearer, NULL);
    req->headers = curl_slist_append (req->headers, h);
    memset (h, 0, strlen (h));
    g_free (h);
  }
  req->headers = curl_slist_append (req->headers, "Accept: application/json");
  /* No "Expect: 100-continue" round trip for bodies over 1 KiB. */
  req->headers = curl_slist_append (req->headers, "Expect:");

#define SETOPT(opt, val) G_STMT_START { if (rc == CURLE_OK) rc = curl_easy_setopt (req->easy, opt, val); } G_STMT_END
  SETOPT (CURLOPT_URL, url);
  SETOPT (CURLOPT_PRIVATE, (char *) req);
  SETOPT (CURLOPT_ERRORBUFFER, req->errbuf);
  SETOPT (CURLOPT_NOSIGNAL, 1L);
  SETOPT (CURLOPT_PROTOCOLS_STR, "http,https");
  SETOPT (CURLOPT_REDIR_PROTOCOLS_STR, "https");
  SETOPT (CURLOPT_FOLLOWLOCATION, 0L);
  SETOPT (CURLOPT_SSL_VERIFYPEER, 1L);
  SETOPT (CURLOPT_SSL_VERIFYHOST, 2L);
  if (client->ca_file != NULL)
    SETOPT (CURLOPT_CAINFO, client->ca_file);
  SETOPT (CURLOPT_TIMEOUT_MS, (long) client->timeout_ms);
  SETOPT (CURLOPT_CONNECTTIMEOUT_MS, (long) MIN (client->timeout_ms, AMGW_HTTP_CONNECT_TIMEOUT_MS));
  SETOPT (CURLOPT_TCP_KEEPALIVE, 1L);
  SETOPT (CURLOPT_PIPEWAIT, 1L);
  SETOPT (CURLOPT_USERAGENT, "amgw/" AMGW_VERSION);
  SETOPT (CURLOPT_HTTPHEADER, req->headers);
  SETOPT (CURLOPT_POST, 1L);
  /* Our own copy (not CURLOPT_COPYPOSTFIELDS): it may hold secrets, and we
   * zero it when done. */
  req->request_body = g_malloc (body_len + 1);
  req->request_body_len = body_len + 1;
  if (body_len > 0)
    memcpy (req->request_body, body, body_len);
  req->request_body[body_len] = '\0';
  SETOPT (CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) body_len);
  SETOPT (CURLOPT_POSTFIELDS, req->request_body);
  SETOPT (CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) AMGW_MAX_HTTP_RESPONSE_BYTES);
  SETOPT (CURLOPT_WRITEFUNCTION, write_cb);
  SETOPT (CURLOPT_WRITEDATA, req);
  SETOPT (CURLOPT_HEADERFUNCTION, header_cb);
  SETOPT (CURLOPT_HEADERDATA, req);
#undef SETOPT
  if (rc != CURLE_OK) {
    g_autofree char *why = g_strdup_printf ("curl option refused: %s", curl_easy_strerror (rc));
    return fail_later (req, why);
  }

  mrc = curl_multi_add_handle (client->multi, req->easy);
  if (mrc != CURLM_OK) {
    g_autofree char *why = g_strdup_printf ("curl_multi_add_handle: %s", curl_multi_strerror (mrc));
    return fail_later (req, why);
  }
  req->attached = TRUE;

  GST_DEBUG ("request %" G_GUINT64_FORMAT ": POST %s (%" G_GSIZE_FORMAT " bytes)", req->id,
      req->log_url, body_len);
  return req->id;
}

void
amgw_http_client_cancel (AmgwHttpClient *client, guint64 id)
{
  Request *req;

  g_return_if_fail (client != NULL);

  req = g_hash_table_lookup (client->requests, &id);
  if (req == NULL)
    return;
  g_hash_table_steal (client->requests, &id);
  GST_DEBUG ("request %" G_GUINT64_FORMAT ": cancelled", id);
  request_free (req);
}

GMainContext *
amgw_http_client_get_context (AmgwHttpClient *client)
{
  g_return_val_if_fail (client != NULL, NULL);
  return client->context;
}

guint
amgw_http_client_pending (AmgwHttpClient *client)
{
  g_return_val_if_fail (client != NULL, 0);
  return g_hash_table_size (client->requests);
}

void
amgw_http_client_free (AmgwHttpClient *client)
{
  GHashTableIter iter;
  gpointer value;

  if (client == NULL)
    return;
  g_return_if_fail (!client->dying);

  client->dying = TRUE;
  g_hash_table_iter_init (&iter, client->requests);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    g_hash_table_iter_steal (&iter);
    request_free (value);
  }
  if (client->dispatch_depth > 0)
    return;               /* client_leave_dispatch() finishes */
  client_destroy (client);
}

gboolean
amgw_http_parse_retry_after (const char *value, guint *delay_ms)
{
  const char *p;
  guint64 seconds = 0;
  time_t when;

  g_return_val_if_fail (delay_ms != NULL, FALSE);

  if (value == NULL || *value == '\0' || strlen (value) > AMGW_MAX_RETRY_AFTER_BYTES)
    return FALSE;
  if (g_ascii_isdigit (*value)) {
    for (p = value; g_ascii_isdigit (*p); p++) {
      seconds = seconds * 10 + (guint64) (*p - '0');
      if (seconds > G_MAXUINT / 1000)
        seconds = G_MAXUINT / 1000 + 1;   /* saturate, keep scanning */
    }
    while (*p == ' ' || *p == '\t')
      p++;
    if (*p != '\0')
      return FALSE;
    *delay_ms = seconds > G_MAXUINT / 1000 ? G_MAXUINT : (guint) (seconds * 1000);
    return TRUE;
  }
  /* An HTTP-date must start with a day name. */
  if (!g_ascii_isalpha (*value))
    return FALSE;
  when = curl_getdate (value, NULL);
  if (when == (time_t) -1)
    return FALSE;
  {
    gint64 delta = (gint64) when * 1000 - amgw_wall_ms ();
    *delay_ms = delta <= 0 ? 0 : delta >= G_MAXUINT ? G_MAXUINT : (guint) delta;
  }
  return TRUE;
}
