/* amgw — Login with Amazon token manager (WIRE.md section 4).
 *
 * Holds the gateway's one linked account: access token, refresh token and
 * expiry.  They are loaded from the store at start (the configuration's
 * bootstrap refresh token is used when the store holds none) and saved after
 * every change.  The access token is refreshed at about 90 % of its lifetime
 * and on demand; exactly one refresh is in flight at a time and concurrent
 * requests wait for it.
 *
 * invalid_grant on a refresh means the link is gone: the state becomes
 * UNLINKED (stored, so it survives restarts) until AcceptGrant links again.
 *
 * Used from the control loop (the context of its AmgwHttpClient) only.
 * Tokens, the client secret and authorization codes never reach a log line,
 * an error message or a metric.
 *
 * Metrics: amgw_lwa_refreshes_total{outcome="ok"|"invalid_grant"|"error"},
 * amgw_lwa_linked (gauge, 1 when LINKED).
 */
#pragma once

#include <glib.h>

#include "amgw/http-client.h"
#include "amgw/store.h"

G_BEGIN_DECLS

#define AMGW_LWA_ERROR (amgw_lwa_error_quark ())
GQuark amgw_lwa_error_quark (void);

typedef enum {
  AMGW_LWA_ERROR_NOT_LINKED,  /* no refresh token: nothing was ever linked */
  AMGW_LWA_ERROR_UNLINKED,    /* invalid_grant seen: the link is gone */
  AMGW_LWA_ERROR_FAILED,      /* the token endpoint could not be used (after retries) */
  AMGW_LWA_ERROR_REJECTED,    /* the token endpoint refused the request (400: bad code, bad client) */
  AMGW_LWA_ERROR_PARSE,       /* the answer is not what WIRE.md section 4 says */
} AmgwLwaError;

typedef enum {
  AMGW_LWA_STATE_NOT_LINKED,  /* no refresh token */
  AMGW_LWA_STATE_LINKED,      /* a refresh token that was not refused */
  AMGW_LWA_STATE_UNLINKED,    /* invalid_grant seen */
} AmgwLwaState;

/* Largest token endpoint answer parsed. */
#define AMGW_MAX_LWA_ANSWER_BYTES (16 * 1024)
/* Longest token accepted (LWA tokens are a few hundred characters). */
#define AMGW_MAX_LWA_TOKEN_BYTES 4096
/* Longest "error" code and "error_description" kept from an error answer. */
#define AMGW_MAX_LWA_ERROR_CODE_BYTES 64
#define AMGW_MAX_LWA_ERROR_DESCRIPTION_BYTES 512
/* expires_in accepted: 1 s .. 1 year. */
#define AMGW_MAX_LWA_EXPIRES_IN_S (366 * 24 * 3600)
/* Attempts per refresh (the first plus retries) on 429, 5xx and transport
 * failures, and their back-off. */
#define AMGW_LWA_DEFAULT_MAX_ATTEMPTS 4
#define AMGW_LWA_DEFAULT_BACKOFF_BASE_MS 500
#define AMGW_LWA_DEFAULT_BACKOFF_CAP_MS 8000

/* A parsed token endpoint answer.  Success (2xx): @access_token, @expires_in
 * and maybe @refresh_token.  Error (4xx): @error and maybe
 * @error_description.  Strings are owned; clear with amgw_lwa_answer_clear(). */
typedef struct {
  guint http_status;
  char *access_token;       /* (nullable) secret */
  char *refresh_token;      /* (nullable) secret; NULL = keep the old one */
  char *token_type;         /* (nullable) "bearer" */
  gint64 expires_in;        /* seconds; 0 on errors */
  char *error;              /* (nullable) e.g. "invalid_grant" */
  char *error_description;  /* (nullable) printable ASCII, truncated */
} AmgwLwaAnswer;

/* Parses a token endpoint answer of status @http_status.  Returns TRUE and
 * fills @out (which must be zeroed) for a well-formed success (2xx) or error
 * (4xx) answer; FALSE with AMGW_LWA_ERROR_PARSE otherwise (the message never
 * quotes the body).  Bounded by AMGW_MAX_LWA_ANSWER_BYTES. */
gboolean amgw_lwa_parse_answer (const char *body, gsize len, guint http_status,
    AmgwLwaAnswer *out, GError **error);
/* Frees the strings after overwriting them with zeros. */
void amgw_lwa_answer_clear (AmgwLwaAnswer *answer);

typedef struct _AmgwLwa AmgwLwa;

/* @access_token: (nullable) (transfer none) valid during the call only; NULL
 * exactly when @error is set. */
typedef void (*AmgwLwaCallback) (const char *access_token, const GError *error, gpointer user_data);

/* @http: (transfer none) must outlive the AmgwLwa.  @store: (nullable)
 * (transfer none) must outlive it too.  @bootstrap_refresh_token: (nullable)
 * used when the store holds no refresh token (and does not say UNLINKED).
 * (transfer full) */
AmgwLwa *amgw_lwa_new (AmgwHttpClient *http, AmgwStore *store, const char *lwa_url,
    const char *client_id, const char *client_secret, const char *bootstrap_refresh_token);

/* Back-off of refresh retries: the first attempt plus up to
 * @max_attempts - 1 retries, waiting min(@cap_ms, @base_ms * 2^n) with full
 * jitter.  Defaults: AMGW_LWA_DEFAULT_*. */
void amgw_lwa_set_backoff (AmgwLwa *lwa, guint base_ms, guint cap_ms, guint max_attempts);

/* Calls @cb with a valid access token, refreshing first when needed.  Always
 * calls back from the main loop, never synchronously.  Returns an id for
 * amgw_lwa_cancel(), never 0. */
guint64 amgw_lwa_get_token (AmgwLwa *lwa, AmgwLwaCallback cb, gpointer user_data);

/* Cancels a get_token or accept_grant request: its callback will not be
 * called.  Unknown ids are ignored. */
void amgw_lwa_cancel (AmgwLwa *lwa, guint64 id);

/* A 401 was seen with @access_token: forget it if it is still the current
 * one, so that the next get_token refreshes. */
void amgw_lwa_invalidate (AmgwLwa *lwa, const char *access_token);

/* Exchanges the authorization code @code (AcceptGrant) for tokens, stores
 * them and becomes LINKED.  One attempt, no retry (a code is single-use).
 * Calls back from the main loop with the new access token.  Returns an id
 * for amgw_lwa_cancel(), never 0. */
guint64 amgw_lwa_accept_grant (AmgwLwa *lwa, const char *code, AmgwLwaCallback cb, gpointer user_data);

AmgwLwaState amgw_lwa_get_state (AmgwLwa *lwa);
/* "NOT_LINKED", "LINKED", "UNLINKED" */
const char *amgw_lwa_state_name (AmgwLwaState state);

/* Drops every pending request (their callbacks are not called) and frees.
 * May be called from inside one of its callbacks. */
void amgw_lwa_free (AmgwLwa *lwa);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwLwa, amgw_lwa_free)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (AmgwLwaAnswer, amgw_lwa_answer_clear)

G_END_DECLS
