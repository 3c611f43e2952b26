/* Helpers for amgw's integration and e2e tests: run the real amgw binary on a
 * generated configuration, talk to its HTTP API, and build Alexa messages as
 * WIRE.md documents them. */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>

G_BEGIN_DECLS

typedef struct _AmgwTestDaemon AmgwTestDaemon;

/* Writes @config_text to a file in @state_dir's parent, starts
 * $AMGW_BINARY --config FILE (stdout/stderr to STATE_DIR/../amgw.log), and
 * waits (up to 20 s) until GET /healthz answers.  @config_text may contain
 * "@PORT@", replaced by a free loopback port, and "@STATE@", replaced by a
 * fresh state folder (kept across restarts of the same daemon).  (transfer full) */
AmgwTestDaemon *amgw_test_daemon_start (const char *config_text, GError **error);
/* The same with an explicit binary (amgw_test_daemon_start uses
 * $AMGW_TEST_DAEMON, falling back to $AMGW_BINARY). */
AmgwTestDaemon *amgw_test_daemon_start_binary (const char *binary, const char *config_text,
    GError **error);
/* Starts @binary with no --config: the embedded default configuration
 * (HTTP API on 127.0.0.1:8080, so only in a test's own network namespace;
 * the state under a fresh $XDG_DATA_HOME).  (transfer full) */
AmgwTestDaemon *amgw_test_daemon_start_default (const char *binary, GError **error);
/* Starts it again on the same configuration and state (after kill/stop). */
gboolean amgw_test_daemon_restart (AmgwTestDaemon *d, GError **error);
/* SIGKILL, and reap. */
void amgw_test_daemon_kill (AmgwTestDaemon *d);
/* SIGTERM and wait (up to 20 s); returns the exit status. */
int amgw_test_daemon_stop (AmgwTestDaemon *d);
void amgw_test_daemon_free (AmgwTestDaemon *d);
/* "http://127.0.0.1:PORT" (transfer none) */
const char *amgw_test_daemon_url (AmgwTestDaemon *d);
const char *amgw_test_daemon_state_dir (AmgwTestDaemon *d);
/* The daemon's log so far. (transfer full) */
char *amgw_test_daemon_log (AmgwTestDaemon *d);
gboolean amgw_test_daemon_is_running (AmgwTestDaemon *d);
/* A port free for both UDP and TCP on 127.0.0.1, at 20000 or above (away
 * from the peers' own RTP ports); 0 when none was found. */
guint16 amgw_test_free_port (void);
/* The daemon's process id (0 when not running), for benchmarks. */
GPid amgw_test_daemon_pid (AmgwTestDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwTestDaemon, amgw_test_daemon_free)

/* A synchronous HTTP request (own context; safe while a FakeCloud runs).
 * @bearer NULL = no Authorization header; @content_type NULL = application/json
 * when there is a body.  Returns the status (0 on transport failure) and sets
 * @response_body (transfer full, nullable). */
guint amgw_test_http (const char *method, const char *url, const char *bearer,
    const char *content_type, const char *body, gsize body_len, char **response_body);

/* The correlationToken every amgw_test_directive() carries. */
#define AMGW_TEST_CORRELATION_TOKEN "amgw-test-correlation-token"

/* A directive envelope exactly as WIRE.md section 3 shows it.  @payload is
 * JSON text ("{}" when NULL); @token is the scope token.  (transfer full) */
char *amgw_test_directive (const char *namespace_, const char *name,
    const char *endpoint_id, const char *token, const char *payload_json);

/* A skill request envelope forwarding an Alexa CallSignaling event (WIRE.md
 * section 2): @type without prefix ("CallRinging"), @extra_json NULL or a JSON
 * object whose members are added to "request".  (transfer full) */
char *amgw_test_event (const char *type, const char *session_id, const char *extra_json);

/* A small but valid WebRTC-style SDP (offer or answer). (transfer none) */
const char *amgw_test_sdp (gboolean offer);

/* Iterates the default main context until @cond returns TRUE or @timeout_ms
 * passes. */
gboolean amgw_test_wait_until (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms);

/* Iterates the default main context until *@flag is TRUE or @timeout_ms
 * passes; returns *@flag. */
gboolean amgw_test_wait_flag (const gboolean *flag, guint timeout_ms);
/* Iterates the default main context for @ms. */
void amgw_test_spin_ms (guint ms);

/* Whether one of @problems (strings, as the configuration and directory
 * loaders report them) contains @needle. */
gboolean amgw_test_problems_contain (GPtrArray *problems, const char *needle);
/* Each problem as a test message (for a failing case). */
void amgw_test_dump_problems (GPtrArray *problems);

G_END_DECLS
