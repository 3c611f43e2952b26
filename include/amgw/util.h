/* amgw — small helpers shared by the control plane. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Compares two secrets in time that depends only on the length of @expected.
 * Either may be NULL (never equal then).  Use for every bearer secret. */
gboolean amgw_secret_equal (const char *given, const char *expected);

/* A new random identifier: a version-4 UUID string.  (transfer full) */
char *amgw_uuid_new (void);

/* Monotonic time in milliseconds. */
gint64 amgw_now_ms (void);

/* Wall-clock time in milliseconds since the epoch. */
gint64 amgw_wall_ms (void);

/* TRUE if @url is https://, or http:// to a loopback host (127.0.0.0/8,
 * [::1], localhost).  ARCHITECTURE.md: every other http:// URL is refused. */
gboolean amgw_url_is_allowed (const char *url);

G_END_DECLS
