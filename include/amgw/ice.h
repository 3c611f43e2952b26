/* amgw — ICE for the Alexa (WebRTC) leg, with libnice.
 *
 * One AmgwIce per call: one libnice agent (RFC 5245 compatibility, full mode,
 * no trickle, RFC 7675 consent freshness, regular nomination), one stream,
 * ONE component (rtcp-mux always).  ICE-UDP only: host candidates, a
 * server-reflexive one when a STUN server is configured, relayed ones (TURN
 * over UDP and over TCP) when a TURN server is.  No ICE-TCP host candidates
 * and no UPnP (which would multicast on the LAN).  Once a pair that is not
 * relayed is selected, its datagrams bypass libnice through a socket of
 * amgw's on the same port, and STUN stays with libnice (ice.c, the direct
 * path).
 *
 * Threads: an AmgwIce lives on one media loop (media-loops.h).  Every function
 * below, amgw_ice_new() included, must be called on the thread that owns
 * @media_context (asserted), and every callback runs there.  From another
 * thread use amgw_media_loops_invoke_sync() or g_main_context_invoke().  The
 * exceptions are amgw_ice_send() and amgw_ice_get_state(): any thread, see
 * there.
 *
 * Callbacks: state_changed and gathering_done are delivered from an idle
 * source of their own, never from inside an amgw_ice_* call, so a callback may
 * call any amgw_ice_* function, amgw_ice_free() included.  receive is called
 * straight from the socket (per packet); it may call amgw_ice_free() too (the
 * agent then goes once the callback has returned).
 *
 * Logs: GST_DEBUG=amgw-ice:5; lines start with "[ice N]" (N counts agents in
 * the process).  TURN passwords and ICE passwords are never logged.
 */
#pragma once

#include <glib.h>
#include "amgw/prefetch.h"

G_BEGIN_DECLS

#define AMGW_ICE_ERROR (amgw_ice_error_quark ())
GQuark amgw_ice_error_quark (void);

typedef enum {
  AMGW_ICE_ERROR_CONFIG,      /* a bad address, port range, or TURN settings */
  AMGW_ICE_ERROR_NO_ADDRESS,  /* no local address to gather host candidates from */
  AMGW_ICE_ERROR_GATHER,      /* libnice could not gather (e.g. no free port in the range) */
  AMGW_ICE_ERROR_REMOTE,      /* remote credentials or candidates unusable */
  AMGW_ICE_ERROR_STATE,       /* not possible in this state (closed, not gathered) */
} AmgwIceErrorCode;

/* Ceilings. */
#define AMGW_ICE_MAX_REMOTE_CANDIDATES 64   /* more in one set_remote is an error */
#define AMGW_ICE_MAX_CANDIDATE_CHARS   512  /* a longer candidate line is ignored */
#define AMGW_ICE_MAX_INTERFACES        32   /* more entries in interfaces is an error */

typedef enum {
  AMGW_ICE_NEW,        /* created, not gathering yet */
  AMGW_ICE_GATHERING,  /* gathering local candidates */
  AMGW_ICE_CHECKING,   /* connectivity checks running */
  AMGW_ICE_CONNECTED,  /* a working pair: data flows */
  AMGW_ICE_FAILED,     /* checks failed, or consent (RFC 7675) was lost; a restart may recover */
  AMGW_ICE_CLOSED,     /* only seen through amgw_ice_get_state() on a closing agent */
} AmgwIceState;

typedef struct {
  /* (nullable) NULL-terminated allow-list of interface names ("eth0") or IP
   * addresses: only these give host candidates.  NULL or empty: every
   * non-loopback address of every interface that is up; when the machine has
   * none (a test's network namespace with only lo), the loopback addresses. */
  const char *const *interfaces;
  /* Local port range of host candidates (TURN over UDP leaves from those
   * sockets too; TURN over TCP uses an ephemeral port); 0 and 0 = any.
   * Gathering fails when no port in the range is free. */
  guint16 port_min, port_max;
  /* (nullable) 1:1 NAT: host candidates of the same address family are
   * advertised with this address instead of the local one (in the strings of
   * amgw_ice_get_local_candidates(), the ones that go into SDP). */
  const char *public_ip;
  /* (nullable) "ip:port", "ip" (port 3478) or "[v6]:port".  Must be an IP
   * address (a host name is an AMGW_ICE_ERROR_CONFIG): resolving is the
   * caller's job, once at start-up and off the media threads (GResolver),
   * rather than one DNS lookup per call on a media loop. */
  const char *stun_server;
  /* (nullable) TURN server, same form as stun_server; with user and password
   * required.  amgw allocates a relay over UDP and another over TCP (to the
   * same address and port). */
  const char *turn_server, *turn_user, *turn_password;
  /* Tests: gather and use relayed candidates only. */
  gboolean force_relay;
  /* Benchmarks: the call's datagrams stay on libnice's path (no direct
   * path, ice.c), as a browser's would: the benchmark's devices then cost
   * amgw's sends no reuseport steering that a real device does not have. */
  gboolean no_direct_path;
} AmgwIceConfig;

typedef struct {
  /* (nullable) Local candidates are complete: time to build SDP. */
  void (*gathering_done) (gpointer user_data);
  /* (nullable) Every change, in order.  FAILED also when consent freshness is
   * lost: with libnice 0.1.21 about 10 s after the peer stopped answering. */
  void (*state_changed) (AmgwIceState state, gpointer user_data);
  /* (nullable) One datagram from the peer (STUN is consumed by libnice).
   * @data is valid during the call only. */
  void (*receive) (guint8 *data, gsize len, gpointer user_data);
  /* (nullable) Prefetches what @receive reads first of @user_data's
   * (amgw/prefetch.h), from the address alone: in this sweep it reads
   * nothing of @user_data's; it may name a hook for the next. */
  AmgwMediaPrefetchFunc prefetch;
} AmgwIceCallbacks;

typedef struct _AmgwIce AmgwIce;

/* Creates the agent on @media_context (which must be owned by the calling
 * thread: it is a media loop's, see above).  @controlling: the offerer's role
 * (can change with amgw_ice_set_controlling() before checks start).  @cb is
 * copied; @user_data is handed to every callback.  NULL with @error on a bad
 * @cfg.  (transfer full) */
AmgwIce *amgw_ice_new (GMainContext *media_context, const AmgwIceConfig *cfg,
    gboolean controlling, const AmgwIceCallbacks *cb, gpointer user_data, GError **error);

/* Starts gathering; gathering_done follows (asynchronously). */
gboolean amgw_ice_gather (AmgwIce *ice, GError **error);

/* Local ICE credentials (for a=ice-ufrag and a=ice-pwd).  (transfer full) */
void amgw_ice_get_local_credentials (AmgwIce *ice, char **ufrag, char **pwd);

/* The local candidates gathered so far, as SDP attribute values without "a="
 * ("candidate:1 1 UDP 2013266431 192.0.2.7 40000 typ host"), with public_ip
 * applied.  (transfer full): a GPtrArray of char* that frees its strings. */
GPtrArray *amgw_ice_get_local_candidates (AmgwIce *ice);

/* Sets the peer's credentials and candidates (the "candidate:..." values of
 * its a=candidate lines, with or without "a=").  Candidates that do not parse,
 * mDNS ones (".local"), ones of another component, and TCP ones are ignored
 * with a DEBUG line; none usable is an error, and so are more than
 * AMGW_ICE_MAX_REMOTE_CANDIDATES.  Connectivity checks start. */
gboolean amgw_ice_set_remote (AmgwIce *ice, const char *ufrag, const char *pwd,
    const GPtrArray *candidates, GError **error);

void amgw_ice_set_controlling (AmgwIce *ice, gboolean controlling);

/* ICE restart: new local credentials (nice_agent_restart_stream), the same
 * local candidates; the remote ones are forgotten.  The caller sends the new
 * credentials in an offer and then calls amgw_ice_set_remote() with the
 * answer's.  While the new checks run, data keeps flowing on the old pair. */
gboolean amgw_ice_restart (AmgwIce *ice, GError **error);

/* Sends one datagram on the selected pair.  Returns the bytes sent, or -1 when
 * not connected (or on a send error).  Packet path: no allocation, no
 * callback.  Any thread (libnice's send takes the agent's lock), as long as
 * the caller makes sure amgw_ice_free() cannot run at the same time (e.g. the
 * streaming thread that sends is stopped before the free). */
gssize amgw_ice_send (AmgwIce *ice, const guint8 *data, gsize len);
/* Whether the selected pair's datagrams go through amgw's own socket rather
 * than libnice's (ice.c, the direct path): a UDP pair that is not relayed,
 * on a kernel with SO_ATTACH_REUSEPORT_CBPF.  STUN stays with libnice. */
gboolean amgw_ice_is_direct (AmgwIce *ice);
/* Datagrams the direct path delivered, and dropped (not from the selected
 * pair's remote address; STUN in the instant the path is set up), over the
 * agent's life. */
void amgw_ice_get_direct_counts (AmgwIce *ice, guint64 *received, guint64 *dropped);

/* The latest state (possibly not delivered through state_changed yet).  Any
 * thread, for a glance; decisions belong on the media thread. */
AmgwIceState amgw_ice_get_state (AmgwIce *ice);

/* The selected pair, for logs and the calls API:
 * "127.0.0.1:40000 <-> 127.0.0.1:50000 (host/host)" (local <-> remote, local
 * addresses as the host sees them, no public_ip), or "none".  (transfer full) */
char *amgw_ice_describe_pair (AmgwIce *ice);

/* Closes the agent (TURN allocations are released in the background) and
 * frees @ice.  No callback is called after it returns.  On the media thread
 * (or through invoke), possibly from inside a callback.  NULL is fine. */
void amgw_ice_free (AmgwIce *ice);

const char *amgw_ice_state_name (AmgwIceState state);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwIce, amgw_ice_free)

G_END_DECLS
