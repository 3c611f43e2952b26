/* amgw — the sandbox: a built-in Alexa cloud simulator and a page at
 * /sandbox/ where a person plays the Alexa device.
 *
 * Without Alexa credentials (no [alexa] client-id: the embedded default
 * configuration) amgw cannot reach Alexa, so it plays Alexa itself: its
 * CallSignaling requests and Login with Amazon token requests go over
 * loopback to routes of its own HTTP listener (/sandbox/alexa,
 * /sandbox/lwa/token), and what the device does in the page comes back as
 * the events and directives the Alexa skill would forward (WIRE.md), posted
 * to amgw's own /v1/alexa/events and /v1/alexa/directives.  signaling/
 * sandbox.c explains the design; signaling/sandbox/README-sandbox.md the use.
 *
 * Control loop only.
 */
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include "amgw/call.h"
#include "amgw/config.h"

G_BEGIN_DECLS

/* Page API bodies over this are refused (413); the one that carries an SDP
 * answer or offer may be larger. */
#define AMGW_SANDBOX_MAX_API_BYTES (4 * 1024)
#define AMGW_SANDBOX_MAX_SDP_API_BYTES (96 * 1024)
/* A token request body. */
#define AMGW_SANDBOX_MAX_LWA_BYTES (16 * 1024)
/* Calls the simulator keeps (active and recently ended), and page events kept
 * for the page's long poll. */
#define AMGW_SANDBOX_MAX_CALLS 32
#define AMGW_SANDBOX_MAX_EVENTS 256
/* A wire message is shown to the page up to this much. */
#define AMGW_SANDBOX_MAX_SHOWN_BYTES (16 * 1024)
/* Long polls waiting at the same time, and how long one waits. */
#define AMGW_SANDBOX_MAX_POLLS 8
#define AMGW_SANDBOX_POLL_WAIT_MS 25000

typedef struct _AmgwSandbox AmgwSandbox;

/* TRUE when @config has no Alexa credentials ([alexa] client-id unset), so
 * that amgw runs in sandbox mode.  Never with a client-id. */
gboolean amgw_sandbox_wanted (const AmgwConfig *config);

/* Sandbox mode: changes @config before anything uses it.  The state goes to
 * STATE-DIR/sandbox (apart from a real deployment's tokens and calls); the
 * LWA client id, secret and bootstrap refresh token become ones made up for
 * this run (so the account is linked, to the simulator); a [room sandbox] is
 * added when no room is configured.  Fails when the HTTP API listens on an
 * address that is neither loopback nor a wildcard (the simulator is reached
 * over loopback).  (transfer full) */
AmgwSandbox *amgw_sandbox_new (AmgwConfig *config, GError **error);

/* Once the HTTP API listens on @port: points @config's api-url and lwa-url
 * at the simulator's routes (http://127.0.0.1:PORT/sandbox/alexa,
 * .../sandbox/lwa/token; [::1] when listening on IPv6 only).  Call before the
 * LWA and Alexa clients are made. */
void amgw_sandbox_set_port (AmgwSandbox *sandbox, AmgwConfig *config, guint16 port);

/* Starts serving.  @gw (transfer none) gives the calls' view; @forwarding_secret
 * (transfer none) authorizes what the simulator posts to /v1/.  Both must
 * outlive the sandbox.  Prints the page's address. */
void amgw_sandbox_start (AmgwSandbox *sandbox, AmgwGateway *gw, const char *forwarding_secret);

/* The HTTP API's early handler, for paths under /sandbox: FALSE when it has
 * answered already (404 outside sandbox mode, 403 to a client that is not on
 * loopback or names another host, 413 over the route's size limit); the
 * caller then stops reading the body.  @sandbox may be NULL. */
gboolean amgw_sandbox_early (AmgwSandbox *sandbox, SoupServerMessage *msg, const char *path);

/* The HTTP API's handler for paths under /sandbox.  @sandbox may be NULL
 * (404). */
void amgw_sandbox_handle (AmgwSandbox *sandbox, SoupServerMessage *msg, const char *path,
    GHashTable *query);

/* The simulator's parser of amgw's CallSignaling request bodies (WIRE.md
 * section 1), checked as Alexa would: the signal, or NULL with @problem
 * (transfer full) saying why.  The body is at most AMGW_MAX_REQUEST_BYTES
 * (the HTTP API refuses more before it is read).  Public for its fuzz
 * target.  (transfer full) */
AmgwSignal *amgw_sandbox_parse_signaling (const char *body, gsize len, char **problem);

/* Answers what waits (503), cancels what is in flight, frees.  Before the
 * HTTP API and the gateway go. */
void amgw_sandbox_free (AmgwSandbox *sandbox);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwSandbox, amgw_sandbox_free)

G_END_DECLS
