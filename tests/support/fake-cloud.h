/* A fake of Amazon's cloud for tests: the Login with Amazon token endpoint and
 * the Alexa CallSignaling endpoint, on loopback.
 *
 * Written from ../shared/docs/WIRE.md (sections 1 and 4), never from what amgw
 * happens to send: every request is checked against WIRE.md and a request
 * that does not conform is recorded with a validation_error and answered 400.
 *
 * The fake runs its own thread and GMainContext, so a test may block (on a
 * synchronous HTTP call to amgw, or in fake_cloud_wait_signal) while the fake
 * keeps answering.  All functions are thread-safe.
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>

G_BEGIN_DECLS

typedef struct _FakeCloud FakeCloud;

typedef struct {
  char *method;
  char *path;
  char *authorization;     /* the Authorization header, or NULL */
  char *content_type;
  char *body;              /* NUL-terminated copy */
  gsize body_len;
  cJSON *json;             /* signaling: the parsed body (NULL if not JSON) */
  GHashTable *form;        /* LWA: the parsed form fields (NULL otherwise) */
  char *type;              /* signaling: the operation without prefix, e.g. "CallRingingAck" */
  char *session_id;        /* signaling: sessionId, or NULL */
  char *validation_error;  /* NULL when the request conforms to WIRE.md */
  guint status;            /* what the fake answered */
  gint64 received_us;      /* g_get_monotonic_time() at arrival */
} FakeCloudRequest;

/* Starts the fake on 127.0.0.1, on a free port. (transfer full) */
FakeCloud *fake_cloud_new (void);
void fake_cloud_free (FakeCloud *fc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeCloud, fake_cloud_free)

/* "http://127.0.0.1:PORT" — the [alexa] api-url. (transfer none) */
const char *fake_cloud_api_url (FakeCloud *fc);
/* "http://127.0.0.1:PORT/auth/o2/token" — the [alexa] lwa-url. (transfer none) */
const char *fake_cloud_lwa_url (FakeCloud *fc);

/* ---- Login with Amazon ---- */
/* The client credentials the token endpoint accepts (others: 400 invalid_client). */
void fake_cloud_set_client (FakeCloud *fc, const char *client_id, const char *client_secret);
/* A refresh token the endpoint accepts; each use issues a new access token. */
void fake_cloud_add_refresh_token (FakeCloud *fc, const char *refresh_token);
/* A one-time authorization code; exchanging it issues an access token and
 * @refresh_token (which becomes valid). */
void fake_cloud_add_auth_code (FakeCloud *fc, const char *code, const char *refresh_token);
/* Revokes a refresh token: its next use answers 400 invalid_grant. */
void fake_cloud_revoke_refresh_token (FakeCloud *fc, const char *refresh_token);
/* expires_in of the access tokens issued from now on (default 3600). */
void fake_cloud_set_expires_in (FakeCloud *fc, guint seconds);
/* Whether refresh answers carry a new refresh_token (default FALSE: WIRE.md
 * says it may be absent). */
void fake_cloud_set_rotate_refresh_token (FakeCloud *fc, gboolean rotate);
/* Makes every access token issued so far invalid: signaling answers 401. */
void fake_cloud_expire_access_tokens (FakeCloud *fc);
/* The last access token issued, or NULL. (transfer full) */
char *fake_cloud_dup_access_token (FakeCloud *fc);
/* How many token requests were made, and how many were grant_type=refresh_token. */
guint fake_cloud_lwa_count (FakeCloud *fc);
guint fake_cloud_refresh_count (FakeCloud *fc);
/* Delay before the token endpoint answers (to test single-flight). */
void fake_cloud_set_lwa_delay_ms (FakeCloud *fc, guint ms);

/* ---- CallSignaling ---- */
/* Queues a scripted answer for the next signaling request that carries a
 * valid token: @status with optional Retry-After header and body (default
 * body {"message": "..."}).  Unqueued requests are answered 200. */
void fake_cloud_push_response (FakeCloud *fc, guint status, const char *retry_after, const char *body);
/* Scripted answers for requests of one operation only (e.g. "CallEnded"). */
void fake_cloud_push_response_for (FakeCloud *fc, const char *type, guint status,
    const char *retry_after, const char *body);

/* Every signaling request so far, in arrival order. (transfer container) */
GPtrArray *fake_cloud_signaling_requests (FakeCloud *fc);
guint fake_cloud_signaling_count (FakeCloud *fc);
/* Every LWA request so far. (transfer container) */
GPtrArray *fake_cloud_lwa_requests (FakeCloud *fc);

/* Blocks until a signaling request of @type ("CallEnded", ...) for
 * @session_id (NULL = any) arrives that no earlier wait returned, or
 * @timeout_ms passes.  (transfer none) (nullable): owned by the fake. */
FakeCloudRequest *fake_cloud_wait_signal (FakeCloud *fc, const char *type,
    const char *session_id, guint timeout_ms);

/* Forgets what wait_signal consumed and the recorded requests. */
void fake_cloud_reset_requests (FakeCloud *fc);

G_END_DECLS
