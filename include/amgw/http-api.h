/* amgw — the HTTP API (libsoup 3): Alexa directives and events, health,
 * readiness, metrics, and the operators' view of calls.  ARCHITECTURE.md,
 * "HTTP API", and README.md document every route. */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>
#include <libsoup/soup.h>
#include "amgw/call.h"

G_BEGIN_DECLS

/* Request bodies larger than this are refused with 413 before they are read. */
#define AMGW_MAX_REQUEST_BYTES (256 * 1024)

typedef struct _AmgwHttpApi AmgwHttpApi;

/* @forwarding_secret: the bearer secret required on /v1/ routes (borrowed).
 * @gw: (nullable) see amgw_http_api_set_gateway(). */
AmgwHttpApi *amgw_http_api_new (AmgwGateway *gw, const char *forwarding_secret);
/* Listens on @host:@port (port 0: any free port). */
gboolean amgw_http_api_listen (AmgwHttpApi *api, const char *host, guint16 port, GError **error);
/* The port actually bound. */
guint16 amgw_http_api_get_port (AmgwHttpApi *api);
/* Sets the gateway when it is made after the API listens (@gw of
 * amgw_http_api_new may then be NULL: no request is served before the main
 * loop runs). */
void amgw_http_api_set_gateway (AmgwHttpApi *api, AmgwGateway *gw);
/* Sandbox mode: /sandbox/ is served by @sandbox (borrowed; NULL: 404). */
typedef struct _AmgwSandbox AmgwSandbox;
void amgw_http_api_set_sandbox (AmgwHttpApi *api, AmgwSandbox *sandbox);
void amgw_http_api_free (AmgwHttpApi *api);

/* Answers a request (for the routes of amgw_http_api and the sandbox):
 * @status, a body (transfer full; nullable) and one count in
 * amgw_http_requests_total{route, status}.  _error: {"error", "message"},
 * the message logged at INFO (never pass a secret). */
void amgw_http_reply (SoupServerMessage *msg, const char *route, guint status,
    const char *content_type, char *body);
void amgw_http_reply_json (SoupServerMessage *msg, const char *route, guint status, cJSON *json);
void amgw_http_reply_error (SoupServerMessage *msg, const char *route, guint status,
    const char *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwHttpApi, amgw_http_api_free)

G_END_DECLS
