/* amgw — outbound HTTP client: libcurl's multi interface driven by a GMainContext.
 *
 * One AmgwHttpClient owns one curl multi handle, so connections (and TLS
 * sessions) to the Alexa API and the LWA endpoint are kept alive and reused.
 * Sockets and curl's timer are watched by GSources attached to the client's
 * context; nothing blocks the loop.
 *
 * Threading: a client is used from the thread that iterates its context only.
 * Callbacks are always invoked from that context, never synchronously from
 * amgw_http_client_post(), and never with a curl call on the stack.
 *
 * Secrets: the bearer and the request body may carry secrets (tokens, client
 * secrets); the client never logs a request body, a header value or a response
 * body.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest response body accepted; past it the transfer fails with a clear
 * error ("response body exceeds ... bytes"). */
#define AMGW_MAX_HTTP_RESPONSE_BYTES (256 * 1024)
/* Largest request body accepted by amgw_http_client_post(). */
#define AMGW_MAX_HTTP_REQUEST_BYTES (1024 * 1024)
/* Connections kept per host (HTTP/2 multiplexes over fewer). */
#define AMGW_HTTP_MAX_HOST_CONNECTIONS 16
/* Idle connections kept in the cache. */
#define AMGW_HTTP_MAX_CACHED_CONNECTIONS 32
/* Connect time-out, when the request time-out is longer. */
#define AMGW_HTTP_CONNECT_TIMEOUT_MS 10000
/* Longest Retry-After header value kept. */
#define AMGW_MAX_RETRY_AFTER_BYTES 128

typedef struct _AmgwHttpClient AmgwHttpClient;

typedef struct {
  guint status;              /* HTTP status; 0 = transport failure (see @error) */
  const char *body;          /* (nullable) NUL-terminated response body; never NULL when status != 0 */
  gsize body_len;
  const char *retry_after;   /* (nullable) the Retry-After header value */
  const char *error;         /* (nullable) transport error text when status == 0 */
  gint64 elapsed_ms;         /* from amgw_http_client_post() to completion */
} AmgwHttpResponse;

/* @response and everything it points to are valid during the call only. */
typedef void (*AmgwHttpCallback) (const AmgwHttpResponse *response, gpointer user_data);

/* @context: (nullable) the context whose thread drives the client; NULL = the
 * thread-default context at the time of the call.
 * @timeout_ms: total time-out of every request (0 = 10000).
 * TLS peers are verified; $AMGW_CA_FILE, when set, names the CA bundle.
 * (transfer full) */
AmgwHttpClient *amgw_http_client_new (GMainContext *context, guint timeout_ms);

/* Starts a POST of @body (copied) to @url.  @content_type: (nullable);
 * @bearer: (nullable) sent as "Authorization: Bearer @bearer", a secret, it
 * must be printable ASCII without spaces (else the request fails).
 * A URL refused by amgw_url_is_allowed() fails the request with status 0
 * (from the loop, like every other completion).  No redirect is followed.
 * @cb is called exactly once, unless the request is cancelled first.
 * Returns the request id, never 0. */
guint64 amgw_http_client_post (AmgwHttpClient *client, const char *url,
    const char *content_type, const char *bearer, const char *body, gsize body_len,
    AmgwHttpCallback cb, gpointer user_data);

/* Cancels request @id: its callback will not be called.  Unknown or finished
 * ids are ignored.  May be called from any callback. */
void amgw_http_client_cancel (AmgwHttpClient *client, guint64 id);

/* The context the client runs on. (transfer none) */
GMainContext *amgw_http_client_get_context (AmgwHttpClient *client);

/* Requests not finished yet (for tests and shutdown). */
guint amgw_http_client_pending (AmgwHttpClient *client);

/* Cancels every request (no callback is called afterwards) and frees the
 * client.  May be called from inside one of its callbacks: the memory then
 * goes when that callback returns. */
void amgw_http_client_free (AmgwHttpClient *client);

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", compared with the wall clock).  Returns
 * FALSE when @value is not one of those; a date in the past gives 0.
 * @delay_ms saturates at G_MAXUINT. */
gboolean amgw_http_parse_retry_after (const char *value, guint *delay_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwHttpClient, amgw_http_client_free)

G_END_DECLS
