/* amgw — Alexa CallSignaling client (WIRE.md section 1).
 *
 * Sends ready-made CallSignaling JSON bodies to
 * POST {api-url}/v1/communications/signaling with the LWA access token, and
 * acts on the answer: 2xx done; 401 refresh the token and retry once; 409,
 * 429, 5xx and transport failures retried with exponential back-off and full
 * jitter (at least Retry-After when given); 400, 403, 404 (and any other
 * status) rejected at once.
 *
 * Ordering: one FIFO per sessionId with one request in flight, so Alexa sees
 * a call's messages in order; different sessions proceed in parallel.
 *
 * Used from the control loop (the context of its AmgwHttpClient) only; never
 * blocks it.  Callbacks come from the loop, never from inside a call to this
 * API.
 *
 * Metrics: amgw_alexa_requests_total{operation,status} (per HTTP attempt;
 * status "error" for transport failures), amgw_alexa_request_seconds_sum and
 * _count{operation} (per attempt), amgw_alexa_retries_total{operation}.
 */
#pragma once

#include <glib.h>

#include "amgw/http-client.h"
#include "amgw/lwa.h"

G_BEGIN_DECLS

/* Ceiling of the messages queued per session and in total. */
#define AMGW_ALEXA_MAX_QUEUED_PER_SESSION 64
#define AMGW_ALEXA_MAX_QUEUED 4096
/* Longest Alexa error message passed to callbacks and logs. */
#define AMGW_ALEXA_MAX_MESSAGE_BYTES 512

#define AMGW_ALEXA_DEFAULT_BACKOFF_BASE_MS 250
#define AMGW_ALEXA_DEFAULT_BACKOFF_CAP_MS 8000
#define AMGW_ALEXA_DEFAULT_MAX_RETRY_AFTER_MS 30000

typedef enum {
  AMGW_ALEXA_OK,            /* 2xx */
  AMGW_ALEXA_REJECTED,      /* 400, 403, 404 (or another non-retryable status, or a full queue): not retried */
  AMGW_ALEXA_UNAUTHORIZED,  /* 401 again after one refresh and retry, or no token (not linked,
                             * unlinked, or the token endpoint refused the client) */
  AMGW_ALEXA_GAVE_UP,       /* retries exhausted on 409, 429, 5xx, transport failures; or the
                             * token endpoint unreachable after its own retries */
} AmgwAlexaOutcome;

/* "OK", "REJECTED", "UNAUTHORIZED", "GAVE_UP" */
const char *amgw_alexa_outcome_name (AmgwAlexaOutcome outcome);

/* @http_status: the last answer's status, 0 when none (transport failure, no
 * token).  @message: (nullable) (transfer none) Alexa's error body "message",
 * or the transport / token error; valid during the call only. */
typedef void (*AmgwAlexaCallback) (AmgwAlexaOutcome outcome, guint http_status,
    const char *message, gpointer user_data);

typedef struct _AmgwAlexaClient AmgwAlexaClient;

/* @http, @lwa: (transfer none) must outlive the client.  @api_url: e.g.
 * "https://api.amazonalexa.com" (no trailing path).  @max_retries: retries
 * after the first attempt on 409 / 429 / 5xx / transport failures.
 * (transfer full) */
AmgwAlexaClient *amgw_alexa_client_new (AmgwHttpClient *http, AmgwLwa *lwa, const char *api_url,
    guint max_retries);

/* Back-off before retry n (1-based): a uniformly random delay in
 * [0, min(@cap_ms, @base_ms * 2^(n-1))]; with Retry-After at least that,
 * capped at @max_retry_after_ms.  Defaults: 250, 8000, 30000. */
void amgw_alexa_client_set_backoff (AmgwAlexaClient *client, guint base_ms, guint cap_ms,
    guint max_retry_after_ms);

/* Queues @json (transfer full: a CallSignaling body) for @session_id.
 * @operation (e.g. "CallRingingAck") names it in logs and metrics.
 * @cb: (nullable) called once with the final outcome, unless the session is
 * cancelled or the client freed first. */
void amgw_alexa_client_send (AmgwAlexaClient *client, const char *session_id,
    const char *operation, char *json, AmgwAlexaCallback cb, gpointer user_data);

/* Drops what is queued or in flight for @session_id; their callbacks are not
 * called.  May be called from a callback. */
void amgw_alexa_client_cancel_session (AmgwAlexaClient *client, const char *session_id);

/* Messages queued + in flight, over all sessions. */
guint amgw_alexa_client_pending (AmgwAlexaClient *client);

/* Drops everything (no callback is called afterwards) and frees.  May be
 * called from inside one of its callbacks. */
void amgw_alexa_client_free (AmgwAlexaClient *client);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwAlexaClient, amgw_alexa_client_free)

G_END_DECLS
