/* amgw — the HTTP API (libsoup 3): Alexa directives and events, health,
 * readiness, metrics, and the operators' view of calls.  ARCHITECTURE.md,
 * "HTTP API", and README.md document every route. */
#pragma once

#include <glib.h>
#include "amgw/call.h"

G_BEGIN_DECLS

/* Request bodies larger than this are refused with 413 before they are read. */
#define AMGW_MAX_REQUEST_BYTES (256 * 1024)

typedef struct _AmgwHttpApi AmgwHttpApi;

/* @forwarding_secret: the bearer secret required on /v1/ routes (borrowed). */
AmgwHttpApi *amgw_http_api_new (AmgwGateway *gw, const char *forwarding_secret);
/* Listens on @host:@port (port 0: any free port). */
gboolean amgw_http_api_listen (AmgwHttpApi *api, const char *host, guint16 port, GError **error);
/* The port actually bound. */
guint16 amgw_http_api_get_port (AmgwHttpApi *api);
void amgw_http_api_free (AmgwHttpApi *api);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwHttpApi, amgw_http_api_free)

G_END_DECLS
