/* amgw — ICE with libnice (see ice.h).
 *
 * libnice does the protocol: gathering, STUN, TURN (UDP and TCP), checks,
 * nomination, keepalives and consent freshness.  This file chooses the
 * agent's options, turns the configuration into libnice calls, filters the
 * peer's candidates, applies the 1:1 NAT address to ours, maps libnice's
 * component states onto AmgwIceState, and makes callbacks safe to re-enter.
 *
 * Callback safety: libnice emits signals from inside its own calls (setting
 * remote candidates can change the component state at once), so the signal
 * handlers only queue events; one idle source on the media context delivers
 * them.  The user may free the AmgwIce in any callback: amgw_ice_free() then
 * only marks it closed, and whoever called the callback finishes the job when
 * it returns (ice->busy counts callbacks in progress).
 *
 * The direct path.  Once libnice has selected a pair on one of its UDP
 * sockets (a host candidate's, which server- and peer-reflexive ones share),
 * the datagrams of the call no longer go through libnice: per packet, its
 * receive path costs a wake-up of the agent's nest (GLib's prepare, check and
 * dispatch), the agent's lock, GIO's receive and, at the end of each batch, a
 * GError for the empty read; its send path the lock, a stream and component
 * lookup and GIO's send.  Together about a third of what amgw's CPU does per
 * forwarded packet in the passthrough benchmark.  So amgw binds a socket of
 * its own to the same address and port (SO_REUSEPORT on both) and has the
 * kernel share the datagrams out by their first byte (a classic BPF program,
 * SO_ATTACH_REUSEPORT_CBPF; RFC 7983's ranges): STUN (0-3) and TURN channel
 * data (64-79) to libnice's socket, which still does all of ICE (consent
 * freshness, the peer's checks, restarts, a new pair), everything else (DTLS,
 * SRTP, SRTCP) to amgw's, which a media watch reads in batches (recvmmsg)
 * and amgw_ice_send() sends from.  Same address and port, so the peer sees
 * the same 5-tuple.  Datagrams from anywhere but the selected pair's remote
 * address are dropped there (libnice drops data from addresses that no check
 * validated).  A relayed pair (TURN) keeps libnice's path: its datagrams are
 * wrapped.  When the socket cannot be made (an old kernel, say), libnice's
 * path simply stays, with an INFO line.
 */
#define _GNU_SOURCE   /* recvmmsg */
#include "amgw/ice.h"
#include "amgw/media-loops.h"

#include <gst/gst.h>
#include <nice/agent.h>

#include <errno.h>
#include <ifaddrs.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

GST_DEBUG_CATEGORY_STATIC (amgw_ice_debug);
#define GST_CAT_DEFAULT amgw_ice_debug

G_DEFINE_QUARK (amgw-ice-error-quark, amgw_ice_error)

#ifndef AMGW_VERSION
#define AMGW_VERSION "0"
#endif

#define ICE_COMPONENT 1                 /* rtcp-mux: RTP and RTCP share it */
#define ICE_DEFAULT_STUN_PORT 3478
#define ICE_MAX_PENDING_EVENTS 32       /* queued callbacks; more collapse */
#define ICE_MAX_CREDENTIAL_CHARS 256    /* RFC 8839 ice-ufrag / ice-pwd */
#define ICE_MIN_UFRAG_CHARS 4
#define ICE_MIN_PWD_CHARS 22
#define ICE_EVENT_GATHERING_DONE (-1)   /* in the event queue, next to states */
#define ICE_DIRECT_BATCH 8              /* datagrams per recvmmsg() on the direct path */
#define ICE_DIRECT_MAX_PER_WAKEUP 64    /* then the loop's other sources get a turn */
#define ICE_DIRECT_MAX_DATAGRAM 16384   /* as the DTLS layer's limit; longer is dropped */

static void
ensure_debug_category (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_ice_debug, "amgw-ice", 0, "amgw ICE (libnice)");
    g_once_init_leave (&once, 1);
  }
}

struct _AmgwIce {
  /* What a datagram on the direct path reads, first and together: the media
   * watch fetches them for a round's events before the first callback. */
  AmgwIceCallbacks cb;
  gpointer user_data;
  struct _IceDirect *direct;    /* NULL: every datagram through libnice (direct_lock) */
  guint64 direct_in;            /* datagrams delivered from amgw's socket */
  guint64 direct_dropped;       /* not from the selected remote, or STUN in the hand-over */
  guint busy;                   /* user callbacks in progress */
  gboolean closed;              /* amgw_ice_free() was called */
  /* Then what amgw_ice_send() reads. */
  gint sendable;                /* atomic: amgw_ice_send() may run on any thread */
  /* The direct path (file comment): @direct is set and cleared on the loop's
   * thread; amgw_ice_send() on another thread reads it under direct_lock. */
  GMutex direct_lock;

  guint id;                     /* for "[ice N]" in logs */
  GMainContext *context;        /* the media loop's (a ref) */
  AmgwMediaNest *nest;          /* libnice's sources: a context of their own on the loop */
  NiceAgent *agent;
  guint stream_id;

  gint state;                   /* AmgwIceState, atomic: the latest, maybe not yet delivered */
  gboolean ever_connected;      /* sending during a restart's checks is fine */
  gboolean no_direct_path;      /* AmgwIceConfig's */
  gboolean gathering_started;
  gboolean gathered;            /* candidate-gathering-done seen */

  gboolean has_public_addr;
  NiceAddress public_addr;      /* port 0 */

  GArray *events;               /* gint: an AmgwIceState or ICE_EVENT_GATHERING_DONE */
  GSource *notify_source;       /* delivers @events; NULL when idle */

  GSource *destroy_source;      /* deferred destruction after a receive */
};

#define ICE_ASSERT_THREAD(ice) g_assert (g_main_context_is_owner ((ice)->context))

const char *
amgw_ice_state_name (AmgwIceState state)
{
  switch (state) {
    case AMGW_ICE_NEW: return "new";
    case AMGW_ICE_GATHERING: return "gathering";
    case AMGW_ICE_CHECKING: return "checking";
    case AMGW_ICE_CONNECTED: return "connected";
    case AMGW_ICE_FAILED: return "failed";
    case AMGW_ICE_CLOSED: return "closed";
  }
  return "unknown";
}

static const char *
candidate_type_name (NiceCandidateType type)
{
  switch (type) {
    case NICE_CANDIDATE_TYPE_HOST: return "host";
    case NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE: return "srflx";
    case NICE_CANDIDATE_TYPE_PEER_REFLEXIVE: return "prflx";
    case NICE_CANDIDATE_TYPE_RELAYED: return "relay";
  }
  return "unknown";
}

/* "ip:port" or "[ip6]:port" into @buf. */
static void
format_address (const NiceAddress *addr, char *buf, gsize size)
{
  char ip[NICE_ADDRESS_STRING_LEN];

  nice_address_to_string (addr, ip);
  if (nice_address_ip_version (addr) == 6)
    g_snprintf (buf, size, "[%s]:%u", ip, nice_address_get_port (addr));
  else
    g_snprintf (buf, size, "%s:%u", ip, nice_address_get_port (addr));
}

/* ---- configuration ---- */

/* "ip", "ip:port", "[ip6]:port" -> @ip (transfer full) and @port.  Host names
 * are refused: see ice.h. */
static gboolean
parse_server (const char *what, const char *value, char **ip, guint16 *port, GError **error)
{
  g_autoptr (GSocketConnectable) parsed = NULL;
  g_autoptr (GError) parse_error = NULL;
  const char *host;

  parsed = g_network_address_parse (value, ICE_DEFAULT_STUN_PORT, &parse_error);
  if (parsed == NULL)
    goto bad;
  host = g_network_address_get_hostname (G_NETWORK_ADDRESS (parsed));
  if (host == NULL || !g_hostname_is_ip_address (host))
    goto not_ip;
  if (g_network_address_get_port (G_NETWORK_ADDRESS (parsed)) == 0)
    goto bad;

  *ip = g_strdup (host);
  *port = g_network_address_get_port (G_NETWORK_ADDRESS (parsed));
  return TRUE;

  /* ERRORS */
bad:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "%s: \"%s\" is not ip:port", what, value);
  return FALSE;
not_ip:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "%s: \"%s\" must be an IP address (host names are resolved before amgw_ice_new)",
      what, value);
  return FALSE;
}

static gboolean
address_usable (const struct sockaddr *sa)
{
  if (sa == NULL)
    return FALSE;
  if (sa->sa_family == AF_INET)
    return TRUE;
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *) sa;
    /* Link-local needs a scope id in every peer's candidate: useless here. */
    return !IN6_IS_ADDR_LINKLOCAL (&sin6->sin6_addr);
  }
  return FALSE;
}

static void
append_unique (GArray *addrs, const NiceAddress *addr)
{
  for (guint i = 0; i < addrs->len; i++) {
    if (nice_address_equal (&g_array_index (addrs, NiceAddress, i), addr))
      return;
  }
  g_array_append_val (addrs, *addr);
}

/* The local addresses host candidates come from (see ice.h, interfaces).
 * libnice would find addresses itself, but without the loopback fallback and
 * without an allow-list by name. */
static GArray *
collect_local_addresses (guint id, const char *const *interfaces, GError **error)
{
  g_autoptr (GArray) addrs = g_array_new (FALSE, TRUE, sizeof (NiceAddress));
  struct ifaddrs *list = NULL;
  guint n_interfaces = interfaces != NULL ? g_strv_length ((char **) interfaces) : 0;

  if (n_interfaces > AMGW_ICE_MAX_INTERFACES)
    goto too_many;

  if (getifaddrs (&list) != 0)
    goto no_ifaddrs;

  for (guint i = 0; i < n_interfaces; i++) {
    const char *entry = interfaces[i];
    gboolean found = FALSE;

    if (g_hostname_is_ip_address (entry)) {
      NiceAddress addr;

      nice_address_init (&addr);
      if (nice_address_set_from_string (&addr, entry)) {
        append_unique (addrs, &addr);
        found = TRUE;
      }
    } else {
      for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
        NiceAddress addr;

        if (g_strcmp0 (ifa->ifa_name, entry) != 0 || !(ifa->ifa_flags & IFF_UP)
            || !address_usable (ifa->ifa_addr))
          continue;
        nice_address_init (&addr);
        nice_address_set_from_sockaddr (&addr, ifa->ifa_addr);
        nice_address_set_port (&addr, 0);
        append_unique (addrs, &addr);
        found = TRUE;
      }
    }
    if (!found)
      GST_WARNING ("[ice %u] interfaces: \"%s\" gives no usable address", id, entry);
  }

  if (n_interfaces == 0) {
    /* Every non-loopback address; loopback only when there is nothing else. */
    for (int pass = 0; pass < 2 && addrs->len == 0; pass++) {
      for (struct ifaddrs *ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
        NiceAddress addr;
        gboolean loopback = (ifa->ifa_flags & IFF_LOOPBACK) != 0;

        if (!(ifa->ifa_flags & IFF_UP) || !address_usable (ifa->ifa_addr)
            || loopback != (pass == 1))
          continue;
        nice_address_init (&addr);
        nice_address_set_from_sockaddr (&addr, ifa->ifa_addr);
        nice_address_set_port (&addr, 0);
        append_unique (addrs, &addr);
      }
      if (pass == 1 && addrs->len > 0)
        GST_INFO ("[ice %u] no address but loopback: using loopback", id);
    }
  }
  freeifaddrs (list);

  if (addrs->len == 0)
    goto none;
  return g_steal_pointer (&addrs);

  /* ERRORS */
too_many:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "interfaces: more than %u entries", AMGW_ICE_MAX_INTERFACES);
  return NULL;
no_ifaddrs:
  {
    int saved = errno;
    g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_NO_ADDRESS,
        "cannot list local addresses: %s", g_strerror (saved));
    return NULL;
  }
none:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_NO_ADDRESS,
      n_interfaces > 0 ? "interfaces: no listed interface has a usable address"
                       : "no usable local address");
  return NULL;
}

/* ---- events: libnice signals -> queued user callbacks ---- */

static void ice_destroy (AmgwIce *ice);

static gboolean
notify_dispatch (gpointer data)
{
  AmgwIce *ice = data;
  g_autoptr (GArray) events = ice->events;

  g_clear_pointer (&ice->notify_source, g_source_unref);
  ice->events = g_array_new (FALSE, FALSE, sizeof (gint));

  ice->busy++;
  for (guint i = 0; i < events->len && !ice->closed; i++) {
    gint event = g_array_index (events, gint, i);

    if (event == ICE_EVENT_GATHERING_DONE) {
      if (ice->cb.gathering_done != NULL)
        ice->cb.gathering_done (ice->user_data);
    } else if (ice->cb.state_changed != NULL) {
      ice->cb.state_changed ((AmgwIceState) event, ice->user_data);
    }
  }
  ice->busy--;

  if (ice->closed && ice->busy == 0)
    ice_destroy (ice);
  return G_SOURCE_REMOVE;
}

static void
queue_event (AmgwIce *ice, gint event)
{
  if (ice->events->len >= ICE_MAX_PENDING_EVENTS) {
    /* Nobody runs the loop?  Keep the newest state rather than grow. */
    GST_WARNING ("[ice %u] %u events pending: collapsing", ice->id, ice->events->len);
    g_array_remove_index (ice->events, 0);
  }
  g_array_append_val (ice->events, event);

  if (ice->notify_source == NULL) {
    ice->notify_source = g_idle_source_new ();
    g_source_set_priority (ice->notify_source, G_PRIORITY_DEFAULT);
    g_source_set_callback (ice->notify_source, notify_dispatch, ice, NULL);
    g_source_set_static_name (ice->notify_source, "amgw-ice-notify");
    g_source_attach (ice->notify_source, ice->context);
  }
}

static void
set_state (AmgwIce *ice, AmgwIceState state)
{
  if ((gint) state == ice->state)
    return;
  GST_INFO ("[ice %u] %s -> %s", ice->id, amgw_ice_state_name ((AmgwIceState) ice->state),
      amgw_ice_state_name (state));
  g_atomic_int_set (&ice->state, (gint) state);
  if (state == AMGW_ICE_CONNECTED)
    ice->ever_connected = TRUE;
  /* During a restart's checks the old pair still carries data. */
  g_atomic_int_set (&ice->sendable, state == AMGW_ICE_CONNECTED
      || (state == AMGW_ICE_CHECKING && ice->ever_connected));
  queue_event (ice, (gint) state);
}

static void
on_gathering_done (NiceAgent *agent, guint stream_id, gpointer data)
{
  AmgwIce *ice = data;

  if (ice->closed || stream_id != ice->stream_id)
    return;
  GST_DEBUG ("[ice %u] gathering done", ice->id);
  ice->gathered = TRUE;
  queue_event (ice, ICE_EVENT_GATHERING_DONE);
}

static void
on_component_state_changed (NiceAgent *agent, guint stream_id, guint component_id,
    guint nice_state, gpointer data)
{
  AmgwIce *ice = data;

  if (ice->closed || stream_id != ice->stream_id || component_id != ICE_COMPONENT)
    return;
  GST_DEBUG ("[ice %u] libnice component %s", ice->id,
      nice_component_state_to_string ((NiceComponentState) nice_state));

  switch ((NiceComponentState) nice_state) {
    case NICE_COMPONENT_STATE_GATHERING:
      /* A restart goes through "gathering" too, but keeps its candidates. */
      set_state (ice, ice->gathered ? AMGW_ICE_CHECKING : AMGW_ICE_GATHERING);
      break;
    case NICE_COMPONENT_STATE_CONNECTING:
      set_state (ice, AMGW_ICE_CHECKING);
      break;
    case NICE_COMPONENT_STATE_CONNECTED:
    case NICE_COMPONENT_STATE_READY:
      set_state (ice, AMGW_ICE_CONNECTED);
      break;
    case NICE_COMPONENT_STATE_FAILED:
      ice->ever_connected = FALSE;   /* no consent: nothing may be sent (RFC 7675) */
      set_state (ice, AMGW_ICE_FAILED);
      break;
    case NICE_COMPONENT_STATE_DISCONNECTED:
    case NICE_COMPONENT_STATE_LAST:
      break;
  }
}

static void direct_update (AmgwIce *ice, NiceCandidate *local, NiceCandidate *remote);

static void
on_new_selected_pair (NiceAgent *agent, guint stream_id, guint component_id,
    NiceCandidate *local, NiceCandidate *remote, gpointer data)
{
  AmgwIce *ice = data;
  char l[NICE_ADDRESS_STRING_LEN + 8], r[NICE_ADDRESS_STRING_LEN + 8];

  if (ice->closed || stream_id != ice->stream_id)
    return;
  format_address (&local->addr, l, sizeof l);
  format_address (&remote->addr, r, sizeof r);
  GST_INFO ("[ice %u] selected pair %s <-> %s (%s/%s)", ice->id, l, r,
      candidate_type_name (local->type), candidate_type_name (remote->type));
  direct_update (ice, local, remote);
}

static gboolean
destroy_idle_cb (gpointer data)
{
  AmgwIce *ice = data;

  g_clear_pointer (&ice->destroy_source, g_source_unref);
  ice_destroy (ice);
  return G_SOURCE_REMOVE;
}

/* After a receive callback: if it freed @ice, destroy it from an idle, not
 * while libnice (or the direct path's watch) is dispatching. */
static void
receive_done (AmgwIce *ice)
{
  if (ice->closed && ice->busy == 0 && ice->destroy_source == NULL) {
    ice->destroy_source = g_idle_source_new ();
    g_source_set_priority (ice->destroy_source, G_PRIORITY_HIGH);
    g_source_set_callback (ice->destroy_source, destroy_idle_cb, ice, NULL);
    g_source_set_static_name (ice->destroy_source, "amgw-ice-destroy");
    g_source_attach (ice->destroy_source, ice->context);
  }
}

static void
on_receive (NiceAgent *agent, guint stream_id, guint component_id, guint len, gchar *buf,
    gpointer data)
{
  AmgwIce *ice = data;

  if (ice->closed || ice->cb.receive == NULL)
    return;
  amgw_media_loops_unblock_current_source ();   /* libnice's socket source */
  ice->busy++;
  ice->cb.receive ((guint8 *) buf, len, ice->user_data);
  ice->busy--;
  receive_done (ice);
}

/* ---- the direct path (file comment) ---- */

typedef struct _IceDirect {
  /* First, what a datagram reads: prefetch_direct() fetches them early. */
  GSocket *sock;                /* amgw's, bound to the address of ... */
  int fd;                       /* (sock's, kept here: the send path stays off the GSocket) */
  socklen_t remote_len;
  struct sockaddr_storage remote;   /* the selected pair's remote address */

  int base_fd;                  /* ... libnice's socket of the selected pair (not ours) */
  dev_t base_dev;               /* which socket base_fd was, as numbers are reused */
  ino_t base_ino;
  AmgwMediaWatch *watch;
} IceDirect;

/* Which socket of the reuseport group gets a datagram, by its first byte
 * (RFC 7983): 0 (libnice's, the first in the group) for STUN, 0-3, and TURN
 * channel data, 64-79; 1 (amgw's) for the rest.  An empty datagram fails the
 * load, which returns 0: libnice's. */
static const struct sock_filter direct_steering[] = {
  BPF_STMT (BPF_LD | BPF_B | BPF_ABS, 0),
  BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, 4, 0, 3),      /* 0-3: to libnice */
  BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, 64, 0, 1),     /* 4-63: to amgw */
  BPF_JUMP (BPF_JMP | BPF_JGE | BPF_K, 80, 0, 1),     /* 64-79: to libnice */
  BPF_STMT (BPF_RET | BPF_K, 1),
  BPF_STMT (BPF_RET | BPF_K, 0),
};

static gboolean
fd_is (int fd, dev_t dev, ino_t ino)
{
  struct stat st;

  return fstat (fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static gboolean
same_sockaddr (const struct sockaddr_storage *a, socklen_t a_len,
    const struct sockaddr_storage *b, socklen_t b_len)
{
  if (a->ss_family != b->ss_family)
    return FALSE;
  if (a->ss_family == AF_INET && a_len >= sizeof (struct sockaddr_in)
      && b_len >= sizeof (struct sockaddr_in)) {
    const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;

    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a->ss_family == AF_INET6 && a_len >= sizeof (struct sockaddr_in6)
      && b_len >= sizeof (struct sockaddr_in6)) {
    const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;

    return x->sin6_port == y->sin6_port
        && memcmp (&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return FALSE;
}

static void
direct_free (IceDirect *d)
{
  amgw_media_watch_clear (&d->watch);
  g_clear_object (&d->sock);    /* closes it: the group is libnice's socket alone again */
  g_free (d);
}

/* Back to libnice's path.  Any datagram still queued on amgw's socket goes
 * with it (a few at most: libnice's socket gets the next ones). */
static void
direct_stop (AmgwIce *ice, const char *why)
{
  IceDirect *d;

  g_mutex_lock (&ice->direct_lock);
  d = g_steal_pointer (&ice->direct);
  g_mutex_unlock (&ice->direct_lock);
  if (d == NULL)
    return;
  GST_DEBUG ("[ice %u] direct path off: %s (%" G_GUINT64_FORMAT " datagrams dropped)", ice->id,
      why, ice->direct_dropped);
  direct_free (d);   /* no sender holds it: they do under the lock */
}

/* The media watch: every datagram that the steering gave amgw's socket. */
static gboolean
on_direct_readable (GSocket *sock, int fd, GIOCondition cond, gpointer data)
{
  static GPrivate buf_key = G_PRIVATE_INIT (g_free);
  AmgwIce *ice = data;
  IceDirect *d = ice->direct;
  guint8 *bufs = g_private_get (&buf_key);
  struct sockaddr_storage from[ICE_DIRECT_BATCH];
  struct iovec iov[ICE_DIRECT_BATCH];
  struct mmsghdr msgs[ICE_DIRECT_BATCH];
  guint total = 0;

  (void) cond;
  if (ice->closed || d == NULL || d->sock != sock)
    return FALSE;
  if (bufs == NULL) {
    /* Per loop thread, not per call: 128 KiB would double a call's memory. */
    bufs = g_malloc (ICE_DIRECT_BATCH * ICE_DIRECT_MAX_DATAGRAM);
    g_private_set (&buf_key, bufs);
  }
  while (total < ICE_DIRECT_MAX_PER_WAKEUP) {
    int n = amgw_media_recv_batch (fd, bufs, ICE_DIRECT_MAX_DATAGRAM, from, iov, msgs,
        ICE_DIRECT_BATCH);

    if (n < 0)   /* empty, or an error read out: then look again */
      return errno != EAGAIN && errno != EWOULDBLOCK;
    for (int i = 0; i < n; i++) {
      guint8 *buf = iov[i].iov_base;
      gsize len = msgs[i].msg_len;

      if (len == 0 || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) || buf[0] < 4
          || (buf[0] >= 64 && buf[0] < 80)
          || !same_sockaddr (&from[i], msgs[i].msg_hdr.msg_namelen, &d->remote, d->remote_len)) {
        /* Not the peer's, or STUN that came in before the steering was on:
         * the peer repeats its checks. */
        ice->direct_dropped++;
        GST_LOG ("[ice %u] direct path: dropped a datagram of %" G_GSIZE_FORMAT " bytes",
            ice->id, len);
        continue;
      }
      ice->direct_in++;
      ice->busy++;
      ice->cb.receive (buf, len, ice->user_data);
      ice->busy--;
      if (ice->closed || ice->direct != d) {
        /* Freed, or the path changed, from inside the callback: @d may be
         * gone (the watch keeps @sock). */
        receive_done (ice);
        return FALSE;
      }
    }
    total += (guint) n;
    if (n < ICE_DIRECT_BATCH)
      return FALSE;   /* drained */
  }
  return TRUE;   /* the rest at the next wake-up: the loop's other sockets first */
}

/* The direct watch's AmgwMediaPrefetchFunc: AmgwIce's first block is in.
 * Until @ice is closed its user (@user_data) is alive. */
static void
prefetch_direct (gconstpointer data, AmgwMediaPrefetch *next)
{
  const AmgwIce *ice = data;

  if (ice->closed)
    return;
  if (ice->direct != NULL)
    amgw_prefetch_span (ice->direct, G_STRUCT_OFFSET (IceDirect, remote) + sizeof (struct sockaddr_in6));
  if (ice->cb.prefetch != NULL)
    ice->cb.prefetch (ice->user_data, next);
}

/* Makes amgw's socket on @base's address, or NULL (with why in @error). */
static IceDirect *
direct_new (AmgwIce *ice, GSocket *base, GError **error)
{
  struct sock_fprog prog;
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  struct stat st;
  int one = 1, zero = 0, fd = -1;
  int base_fd = g_socket_get_fd (base);
  IceDirect *d;
  GSocket *sock;

  memset (&prog, 0, sizeof prog);   /* the kernel reads the padding too */
  prog.len = G_N_ELEMENTS (direct_steering);
  prog.filter = (struct sock_filter *) direct_steering;
  if (getsockname (base_fd, (struct sockaddr *) &local, &local_len) != 0
      || fstat (base_fd, &st) != 0)
    goto failed;
  if (setsockopt (base_fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    goto failed;
  fd = socket (local.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
  if (fd < 0)
    goto failed_base;
  if (setsockopt (fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0
      || bind (fd, (struct sockaddr *) &local, local_len) != 0
      || setsockopt (fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) != 0)
    goto failed_base;
  sock = g_socket_new_from_fd (fd, error);
  if (sock == NULL)
    goto cleanup;
  d = g_new0 (IceDirect, 1);
  d->sock = sock;
  d->fd = fd;
  d->base_fd = base_fd;
  d->base_dev = st.st_dev;
  d->base_ino = st.st_ino;
  d->watch = amgw_media_watch_new (ice->context, sock, on_direct_readable, ice);
  amgw_media_watch_set_prefetch (d->watch, G_STRUCT_OFFSET (AmgwIce, id), prefetch_direct);
  return d;

  /* ERRORS */
failed_base:
  /* Nobody else may join libnice's socket's group. */
  setsockopt (base_fd, SOL_SOCKET, SO_REUSEPORT, &zero, sizeof zero);
failed:
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
cleanup:
  if (fd >= 0)
    close (fd);
  return NULL;
}

/* After libnice selected a pair: the direct path for it, or none. */
static void
direct_update (AmgwIce *ice, NiceCandidate *local, NiceCandidate *remote)
{
  g_autoptr (GSocket) base = NULL;
  g_autoptr (GError) error = NULL;
  struct sockaddr_storage addr = { 0, };
  socklen_t addr_len;
  IceDirect *d = ice->direct;

  if (ice->no_direct_path)
    return;
  if (local->type == NICE_CANDIDATE_TYPE_RELAYED || local->transport != NICE_CANDIDATE_TRANSPORT_UDP
      || remote->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
    direct_stop (ice, "a relayed pair");
    return;
  }
  base = nice_agent_get_selected_socket (ice->agent, ice->stream_id, ICE_COMPONENT);
  if (base == NULL || g_socket_get_socket_type (base) != G_SOCKET_TYPE_DATAGRAM) {
    direct_stop (ice, "no socket of libnice's to share");
    return;
  }
  nice_address_copy_to_sockaddr (&remote->addr, (struct sockaddr *) &addr);
  addr_len = addr.ss_family == AF_INET6 ? sizeof (struct sockaddr_in6)
      : sizeof (struct sockaddr_in);

  if (d != NULL && (d->base_fd != g_socket_get_fd (base)
          || !fd_is (d->base_fd, d->base_dev, d->base_ino))) {
    direct_stop (ice, "the pair is on another socket now");
    d = NULL;
  }
  if (d == NULL) {
    d = direct_new (ice, base, &error);
    if (d == NULL) {
      GST_INFO ("[ice %u] no direct path, datagrams stay with libnice: %s", ice->id,
          error->message);
      return;
    }
    GST_DEBUG ("[ice %u] direct path on (libnice keeps STUN)", ice->id);
  }
  g_mutex_lock (&ice->direct_lock);
  d->remote = addr;
  d->remote_len = addr_len;
  ice->direct = d;
  g_mutex_unlock (&ice->direct_lock);
}

/* ---- life cycle ---- */

AmgwIce *
amgw_ice_new (GMainContext *media_context, const AmgwIceConfig *cfg, gboolean controlling,
    const AmgwIceCallbacks *cb, gpointer user_data, GError **error)
{
  static const AmgwIceConfig no_config = { 0, };
  static gint next_id = 0;
  g_autoptr (GArray) addrs = NULL;
  g_autofree char *stun_ip = NULL, *turn_ip = NULL;
  guint16 stun_port = 0, turn_port = 0;
  AmgwIce *ice;

  g_return_val_if_fail (media_context != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_assert (g_main_context_is_owner (media_context));

  ensure_debug_category ();
  if (cfg == NULL)
    cfg = &no_config;

  ice = g_new0 (AmgwIce, 1);
  ice->id = (guint) g_atomic_int_add (&next_id, 1);
  ice->no_direct_path = cfg->no_direct_path;
  ice->context = g_main_context_ref (media_context);
  ice->state = AMGW_ICE_NEW;
  ice->events = g_array_new (FALSE, FALSE, sizeof (gint));
  g_mutex_init (&ice->direct_lock);
  ice->user_data = user_data;
  if (cb != NULL)
    ice->cb = *cb;

  /* Check everything before libnice sees any of it. */
  if ((cfg->port_min == 0) != (cfg->port_max == 0) || cfg->port_min > cfg->port_max)
    goto bad_port_range;
  if (cfg->public_ip != NULL) {
    nice_address_init (&ice->public_addr);
    if (!nice_address_set_from_string (&ice->public_addr, cfg->public_ip))
      goto bad_public_ip;
    ice->has_public_addr = TRUE;
  }
  if (cfg->stun_server != NULL && !parse_server ("stun-server", cfg->stun_server, &stun_ip,
          &stun_port, error))
    goto failed;
  if (cfg->turn_server != NULL) {
    if (!parse_server ("turn-server", cfg->turn_server, &turn_ip, &turn_port, error))
      goto failed;
    if (cfg->turn_user == NULL || cfg->turn_password == NULL)
      goto turn_without_credentials;
  }
  if (cfg->force_relay && turn_ip == NULL)
    goto relay_without_turn;
  addrs = collect_local_addresses (ice->id, cfg->interfaces, error);
  if (addrs == NULL)
    goto failed;

  /* libnice's sockets and timers on a context of their own, which the loop
   * iterates only when one of them is due (media-loops.h, nests). */
  ice->nest = amgw_media_nest_new (media_context);
  ice->agent = nice_agent_new_full (amgw_media_nest_get_context (ice->nest),
      NICE_COMPATIBILITY_RFC5245,
      NICE_AGENT_OPTION_CONSENT_FRESHNESS | NICE_AGENT_OPTION_REGULAR_NOMINATION);
  g_object_set (ice->agent,
      "controlling-mode", controlling,
      "upnp", FALSE,            /* no SSDP multicast from a media gateway */
      "ice-tcp", FALSE,         /* ICE-UDP; TURN over TCP covers UDP-hostile networks */
      "ice-udp", TRUE,
      "force-relay", cfg->force_relay,
      NULL);
  nice_agent_set_software (ice->agent, "amgw/" AMGW_VERSION);
  if (stun_ip != NULL)
    g_object_set (ice->agent, "stun-server", stun_ip, "stun-server-port", (guint) stun_port,
        NULL);

  for (guint i = 0; i < addrs->len; i++) {
    NiceAddress *addr = &g_array_index (addrs, NiceAddress, i);
    char s[NICE_ADDRESS_STRING_LEN];

    nice_address_to_string (addr, s);
    GST_DEBUG ("[ice %u] local address %s", ice->id, s);
    nice_agent_add_local_address (ice->agent, addr);
  }

  ice->stream_id = nice_agent_add_stream (ice->agent, 1);
  if (ice->stream_id == 0)
    goto no_stream;
  nice_agent_set_stream_name (ice->agent, ice->stream_id, "audio");
  if (cfg->port_min != 0)
    nice_agent_set_port_range (ice->agent, ice->stream_id, ICE_COMPONENT, cfg->port_min,
        cfg->port_max);
  if (turn_ip != NULL) {
    if (!nice_agent_set_relay_info (ice->agent, ice->stream_id, ICE_COMPONENT, turn_ip,
            turn_port, cfg->turn_user, cfg->turn_password, NICE_RELAY_TYPE_TURN_UDP)
        || !nice_agent_set_relay_info (ice->agent, ice->stream_id, ICE_COMPONENT, turn_ip,
            turn_port, cfg->turn_user, cfg->turn_password, NICE_RELAY_TYPE_TURN_TCP))
      goto bad_turn;
  }

  g_signal_connect (ice->agent, "candidate-gathering-done", G_CALLBACK (on_gathering_done), ice);
  g_signal_connect (ice->agent, "component-state-changed",
      G_CALLBACK (on_component_state_changed), ice);
  g_signal_connect (ice->agent, "new-selected-pair-full", G_CALLBACK (on_new_selected_pair), ice);

  GST_INFO ("[ice %u] new: %s, %u local address(es), ports %u-%u, public ip %s, "
      "stun %s, turn %s%s%s%s", ice->id, controlling ? "controlling" : "controlled", addrs->len,
      cfg->port_min, cfg->port_max, cfg->public_ip ? cfg->public_ip : "-",
      cfg->stun_server ? cfg->stun_server : "-", cfg->turn_server ? cfg->turn_server : "-",
      cfg->turn_server ? " (user " : "", cfg->turn_server ? cfg->turn_user : "",
      cfg->turn_server ? ")" : "");
  if (cfg->force_relay)
    GST_INFO ("[ice %u] relay only", ice->id);
  return ice;

  /* ERRORS */
bad_port_range:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "port range %u-%u: give both ends (or neither), the lower first",
      cfg->port_min, cfg->port_max);
  goto failed;
bad_public_ip:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "public-ip: \"%s\" is not an IP address", cfg->public_ip);
  goto failed;
turn_without_credentials:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "turn-server needs turn-user and turn-password");
  goto failed;
relay_without_turn:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG, "force_relay needs a TURN server");
  goto failed;
no_stream:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG, "libnice refused a stream");
  goto failed;
bad_turn:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_CONFIG,
      "libnice refused the TURN server %s:%u", turn_ip, turn_port);
  goto failed;
failed:
  GST_WARNING ("[ice %u] %s", ice->id, error && *error ? (*error)->message : "failed");
  ice->closed = TRUE;
  ice_destroy (ice);
  return NULL;
}

typedef struct {
  guint id;
  AmgwMediaNest *nest;
} Closing;

/* On the media loop (the task's context is the thread-default one of the
 * thread that closed: the loop's). */
static void
close_done (GObject *agent, GAsyncResult *result, gpointer data)
{
  Closing *closing = data;

  GST_DEBUG ("[ice %u] agent closed (TURN allocations released)", closing->id);
  amgw_media_nest_free (closing->nest);
  g_free (closing);
}

/* Really frees; @ice is closed and no callback is running. */
static void
ice_destroy (AmgwIce *ice)
{
  if (ice->notify_source != NULL) {
    g_source_destroy (ice->notify_source);
    g_clear_pointer (&ice->notify_source, g_source_unref);
  }
  if (ice->destroy_source != NULL) {
    g_source_destroy (ice->destroy_source);
    g_clear_pointer (&ice->destroy_source, g_source_unref);
  }
  direct_stop (ice, "closed");
  if (ice->agent != NULL) {
    Closing *closing = g_new0 (Closing, 1);

    if (ice->stream_id != 0)
      nice_agent_attach_recv (ice->agent, ice->stream_id, ICE_COMPONENT,
          amgw_media_nest_get_context (ice->nest), NULL, NULL);
    g_signal_handlers_disconnect_by_data (ice->agent, ice);
    /* The task keeps the agent alive until the TURN allocations are gone,
     * and the nest must keep running it till then. */
    closing->id = ice->id;
    closing->nest = g_steal_pointer (&ice->nest);
    nice_agent_close_async (ice->agent, close_done, closing);
    g_clear_object (&ice->agent);
  }
  g_clear_pointer (&ice->nest, amgw_media_nest_free);
  GST_DEBUG ("[ice %u] freed", ice->id);
  g_array_unref (ice->events);
  g_mutex_clear (&ice->direct_lock);
  g_main_context_unref (ice->context);
  g_free (ice);
}

void
amgw_ice_free (AmgwIce *ice)
{
  if (ice == NULL)
    return;
  ICE_ASSERT_THREAD (ice);
  g_return_if_fail (!ice->closed);

  GST_INFO ("[ice %u] close (was %s)", ice->id,
      amgw_ice_state_name ((AmgwIceState) ice->state));
  g_atomic_int_set (&ice->sendable, FALSE);
  ice->closed = TRUE;
  g_atomic_int_set (&ice->state, AMGW_ICE_CLOSED);
  if (ice->busy > 0)
    return;   /* the running callback's caller destroys it: see the file comment */
  ice_destroy (ice);
}

/* ---- operations ---- */

gboolean
amgw_ice_gather (AmgwIce *ice, GError **error)
{
  g_return_val_if_fail (ice != NULL, FALSE);
  ICE_ASSERT_THREAD (ice);

  if (ice->closed || ice->gathering_started)
    goto bad_state;
  ice->gathering_started = TRUE;
  set_state (ice, AMGW_ICE_GATHERING);
  if (!nice_agent_gather_candidates (ice->agent, ice->stream_id))
    goto gather_failed;
  nice_agent_attach_recv (ice->agent, ice->stream_id, ICE_COMPONENT,
      amgw_media_nest_get_context (ice->nest), on_receive, ice);
  GST_DEBUG ("[ice %u] gathering", ice->id);
  return TRUE;

  /* ERRORS */
bad_state:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_STATE,
      "gather: already gathering, or closed");
  return FALSE;
gather_failed:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_GATHER,
      "cannot gather candidates (no free port in the range, or an address is not local)");
  GST_WARNING ("[ice %u] %s", ice->id, (*error != NULL) ? (*error)->message : "gather failed");
  set_state (ice, AMGW_ICE_FAILED);
  return FALSE;
}

void
amgw_ice_get_local_credentials (AmgwIce *ice, char **ufrag, char **pwd)
{
  g_return_if_fail (ice != NULL && ufrag != NULL && pwd != NULL);
  ICE_ASSERT_THREAD (ice);

  *ufrag = NULL;
  *pwd = NULL;
  if (!nice_agent_get_local_credentials (ice->agent, ice->stream_id, ufrag, pwd))
    g_critical ("[ice %u] libnice has no local credentials", ice->id);
}

/* A candidate line without its "a=". */
static char *
candidate_sdp (NiceAgent *agent, NiceCandidate *candidate)
{
  g_autofree char *line = nice_agent_generate_local_candidate_sdp (agent, candidate);

  if (line == NULL)
    return NULL;
  if (g_str_has_prefix (line, "a="))
    return g_strdup (line + 2);
  return g_steal_pointer (&line);
}

GPtrArray *
amgw_ice_get_local_candidates (AmgwIce *ice)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  GSList *list, *l;

  g_return_val_if_fail (ice != NULL, out);
  ICE_ASSERT_THREAD (ice);
  if (ice->closed)
    return out;

  list = nice_agent_get_local_candidates (ice->agent, ice->stream_id, ICE_COMPONENT);

  /* The 1:1 NAT address replaces the host address of the same family. */
  if (ice->has_public_addr) {
    for (l = list; l != NULL; l = l->next) {
      NiceCandidate *c = l->data;

      if (c->type == NICE_CANDIDATE_TYPE_HOST
          && nice_address_ip_version (&c->addr) == nice_address_ip_version (&ice->public_addr)) {
        guint port = nice_address_get_port (&c->addr);

        /* base_addr too: libnice would write the private one as raddr. */
        c->addr = ice->public_addr;
        nice_address_set_port (&c->addr, port);
        c->base_addr = c->addr;
      }
    }
  }

  for (l = list; l != NULL; l = l->next) {
    NiceCandidate *c = l->data;
    char *line;

    /* A STUN server behind the same NAT finds the public address again. */
    if (ice->has_public_addr && c->type == NICE_CANDIDATE_TYPE_SERVER_REFLEXIVE) {
      gboolean duplicate = FALSE;

      for (GSList *h = list; h != NULL && !duplicate; h = h->next) {
        NiceCandidate *host = h->data;
        duplicate = host->type == NICE_CANDIDATE_TYPE_HOST
            && nice_address_equal (&host->addr, &c->addr);
      }
      if (duplicate)
        continue;
    }
    line = candidate_sdp (ice->agent, c);
    if (line != NULL)
      g_ptr_array_add (out, line);
  }
  g_slist_free_full (list, (GDestroyNotify) nice_candidate_free);
  return out;
}

/* RFC 8839 ice-char: ALPHA / DIGIT / "+" / "/". */
static gboolean
credential_ok (const char *s, gsize min_chars)
{
  gsize n;

  if (s == NULL)
    return FALSE;
  n = strnlen (s, ICE_MAX_CREDENTIAL_CHARS + 1);
  if (n < min_chars || n > ICE_MAX_CREDENTIAL_CHARS)
    return FALSE;
  for (gsize i = 0; i < n; i++) {
    if (!g_ascii_isalnum (s[i]) && s[i] != '+' && s[i] != '/')
      return FALSE;
  }
  return TRUE;
}

/* Parses one remote "candidate:..." value; NULL (with a DEBUG line) when it
 * is not usable.  (transfer full) */
static NiceCandidate *
parse_remote_candidate (AmgwIce *ice, const char *value)
{
  g_autofree char *line = NULL;
  g_auto (GStrv) fields = NULL;
  gsize foundation_len;
  NiceCandidate *c;

  if (value == NULL)
    return NULL;
  if (g_str_has_prefix (value, "a="))
    value += 2;
  if (strnlen (value, AMGW_ICE_MAX_CANDIDATE_CHARS + 1) > AMGW_ICE_MAX_CANDIDATE_CHARS) {
    GST_DEBUG ("[ice %u] remote candidate ignored: longer than %u", ice->id,
        AMGW_ICE_MAX_CANDIDATE_CHARS);
    return NULL;
  }
  if (!g_str_has_prefix (value, "candidate:"))
    goto unparsable;

  /* candidate:FOUNDATION COMPONENT TRANSPORT PRIORITY ADDRESS PORT typ TYPE ... */
  fields = g_strsplit (value, " ", 8);
  if (g_strv_length (fields) < 8)
    goto unparsable;
  if (g_str_has_suffix (fields[4], ".local") || g_str_has_suffix (fields[4], ".local.")) {
    GST_DEBUG ("[ice %u] remote candidate ignored: mDNS: %s", ice->id, value);
    return NULL;
  }
  /* libnice reads numbers with strtoul: "x" would be priority 0.  RFC 8839:
   * foundation 1*32 ice-char, component-id 1*3 DIGIT, priority 1*10 DIGIT. */
  foundation_len = strlen (fields[0]) - strlen ("candidate:");
  if (foundation_len < 1 || foundation_len > 32
      || !g_ascii_string_to_unsigned (fields[1], 10, 1, 256, NULL, NULL)
      || !g_ascii_string_to_unsigned (fields[3], 10, 1, G_MAXUINT32, NULL, NULL)
      || !g_ascii_string_to_unsigned (fields[5], 10, 0, 65535, NULL, NULL)
      || strcmp (fields[6], "typ") != 0)
    goto unparsable;

  line = g_strconcat ("a=", value, NULL);
  c = nice_agent_parse_remote_candidate_sdp (ice->agent, ice->stream_id, line);
  if (c == NULL)
    goto unparsable;
  if (c->component_id != ICE_COMPONENT) {
    GST_DEBUG ("[ice %u] remote candidate ignored: component %u (rtcp-mux): %s", ice->id,
        c->component_id, value);
    nice_candidate_free (c);
    return NULL;
  }
  if (c->transport != NICE_CANDIDATE_TRANSPORT_UDP) {
    GST_DEBUG ("[ice %u] remote candidate ignored: not UDP: %s", ice->id, value);
    nice_candidate_free (c);
    return NULL;
  }
  GST_DEBUG ("[ice %u] remote candidate %s", ice->id, value);
  return c;

  /* ERRORS */
unparsable:
  GST_DEBUG ("[ice %u] remote candidate ignored: unparsable: %s", ice->id, value);
  return NULL;
}

gboolean
amgw_ice_set_remote (AmgwIce *ice, const char *ufrag, const char *pwd,
    const GPtrArray *candidates, GError **error)
{
  GSList *usable = NULL;
  guint n_usable = 0;
  gint added;

  g_return_val_if_fail (ice != NULL, FALSE);
  ICE_ASSERT_THREAD (ice);

  if (ice->closed)
    goto closed;
  if (!credential_ok (ufrag, ICE_MIN_UFRAG_CHARS) || !credential_ok (pwd, ICE_MIN_PWD_CHARS))
    goto bad_credentials;
  if (candidates == NULL || candidates->len == 0)
    goto none;
  if (candidates->len > AMGW_ICE_MAX_REMOTE_CANDIDATES)
    goto too_many;

  for (guint i = 0; i < candidates->len; i++) {
    NiceCandidate *c = parse_remote_candidate (ice, g_ptr_array_index (candidates, i));

    if (c != NULL) {
      usable = g_slist_prepend (usable, c);
      n_usable++;
    }
  }
  if (n_usable == 0)
    goto none;
  usable = g_slist_reverse (usable);

  if (!nice_agent_set_remote_credentials (ice->agent, ice->stream_id, ufrag, pwd))
    goto bad_credentials;
  added = nice_agent_set_remote_candidates (ice->agent, ice->stream_id, ICE_COMPONENT, usable);
  g_slist_free_full (usable, (GDestroyNotify) nice_candidate_free);
  if (added < 0)
    goto refused;

  GST_INFO ("[ice %u] remote ufrag %s, %u of %u candidates usable (%d new)", ice->id, ufrag,
      n_usable, candidates->len, added);
  return TRUE;

  /* ERRORS */
closed:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_STATE, "set_remote: closed");
  return FALSE;
bad_credentials:
  g_slist_free_full (usable, (GDestroyNotify) nice_candidate_free);
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE,
      "remote ICE credentials are missing or malformed");
  GST_WARNING ("[ice %u] %s", ice->id, (*error != NULL) ? (*error)->message : "");
  return FALSE;
too_many:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE,
      "%u remote candidates: more than %u", candidates->len, AMGW_ICE_MAX_REMOTE_CANDIDATES);
  GST_WARNING ("[ice %u] %s", ice->id, (*error != NULL) ? (*error)->message : "");
  return FALSE;
none:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE,
      "no usable remote candidate (of %u)", candidates != NULL ? candidates->len : 0);
  GST_WARNING ("[ice %u] %s", ice->id, (*error != NULL) ? (*error)->message : "");
  return FALSE;
refused:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_REMOTE,
      "libnice refused the remote candidates");
  GST_WARNING ("[ice %u] %s", ice->id, (*error != NULL) ? (*error)->message : "");
  return FALSE;
}

void
amgw_ice_set_controlling (AmgwIce *ice, gboolean controlling)
{
  g_return_if_fail (ice != NULL);
  ICE_ASSERT_THREAD (ice);

  if (ice->closed)
    return;
  GST_DEBUG ("[ice %u] %s", ice->id, controlling ? "controlling" : "controlled");
  g_object_set (ice->agent, "controlling-mode", controlling, NULL);
}

gboolean
amgw_ice_restart (AmgwIce *ice, GError **error)
{
  g_autofree char *ufrag = NULL, *pwd = NULL;

  g_return_val_if_fail (ice != NULL, FALSE);
  ICE_ASSERT_THREAD (ice);

  if (ice->closed || !ice->gathering_started)
    goto bad_state;
  if (!nice_agent_restart_stream (ice->agent, ice->stream_id))
    goto refused;
  nice_agent_get_local_credentials (ice->agent, ice->stream_id, &ufrag, &pwd);
  GST_INFO ("[ice %u] restart: local ufrag now %s", ice->id, ufrag ? ufrag : "?");
  return TRUE;

  /* ERRORS */
bad_state:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_STATE,
      "restart: not gathered yet, or closed");
  return FALSE;
refused:
  g_set_error (error, AMGW_ICE_ERROR, AMGW_ICE_ERROR_STATE, "libnice refused the restart");
  return FALSE;
}

gssize
amgw_ice_send (AmgwIce *ice, const guint8 *data, gsize len)
{
  gssize sent;

  /* Packet path, any thread (see ice.h): the atomic flag, then the direct
   * path's socket under its lock, or libnice, whose send takes the agent's
   * lock. */
  if (G_UNLIKELY (ice == NULL || len > G_MAXUINT16 || !g_atomic_int_get (&ice->sendable)))
    return -1;
  g_mutex_lock (&ice->direct_lock);
  if (G_LIKELY (ice->direct != NULL)) {
    IceDirect *d = ice->direct;

    sent = sendto (d->fd, data, len, MSG_DONTWAIT,
        (const struct sockaddr *) &d->remote, d->remote_len);
    g_mutex_unlock (&ice->direct_lock);
    return sent < 0 ? -1 : sent;
  }
  g_mutex_unlock (&ice->direct_lock);
  sent = nice_agent_send (ice->agent, ice->stream_id, ICE_COMPONENT, (guint) len,
      (const gchar *) data);
  return sent < 0 ? -1 : sent;
}

gboolean
amgw_ice_is_direct (AmgwIce *ice)
{
  g_return_val_if_fail (ice != NULL, FALSE);
  ICE_ASSERT_THREAD (ice);
  return ice->direct != NULL;
}

void
amgw_ice_get_direct_counts (AmgwIce *ice, guint64 *received, guint64 *dropped)
{
  g_return_if_fail (ice != NULL);
  ICE_ASSERT_THREAD (ice);
  if (received != NULL)
    *received = ice->direct_in;
  if (dropped != NULL)
    *dropped = ice->direct_dropped;
}

AmgwIceState
amgw_ice_get_state (AmgwIce *ice)
{
  g_return_val_if_fail (ice != NULL, AMGW_ICE_CLOSED);
  return (AmgwIceState) g_atomic_int_get (&ice->state);
}

char *
amgw_ice_describe_pair (AmgwIce *ice)
{
  NiceCandidate *local = NULL, *remote = NULL;
  char l[NICE_ADDRESS_STRING_LEN + 8], r[NICE_ADDRESS_STRING_LEN + 8];

  g_return_val_if_fail (ice != NULL, g_strdup ("none"));
  ICE_ASSERT_THREAD (ice);

  if (ice->closed
      || !nice_agent_get_selected_pair (ice->agent, ice->stream_id, ICE_COMPONENT, &local,
          &remote)
      || local == NULL || remote == NULL)
    return g_strdup ("none");
  format_address (&local->addr, l, sizeof l);
  format_address (&remote->addr, r, sizeof r);
  return g_strdup_printf ("%s <-> %s (%s/%s)", l, r, candidate_type_name (local->type),
      candidate_type_name (remote->type));
}
