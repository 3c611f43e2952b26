/* amgw — the leg interface: one side of a call.
 *
 * A call has two legs (ARCHITECTURE.md): the Alexa leg (WebRTC media toward
 * the Alexa device; its signaling is CallSignaling, done by the call module)
 * and the bridge leg (SIP, SIPS or H.323 toward the meeting bridge; it does
 * its own signaling).  Implementations register a factory per protocol; the
 * call module creates legs through amgw_leg_create() and reacts to what they
 * report through amgw_leg_emit().  When no factory is registered for a
 * protocol, amgw_leg_create() fails with AMGW_LEG_ERROR_UNAVAILABLE and the
 * directive is answered ENDPOINT_UNREACHABLE: never a pretended success.
 *
 * Threads: legs are created, driven and report on the control loop.  Media
 * work happens on the media loops; a leg marshals its reports back.
 *
 * Lifetime: the call owns its legs.  amgw_leg_hangup() ends signaling toward
 * the peer (BYE, CANCEL, RELEASE COMPLETE) and emits nothing back;
 * amgw_leg_free() releases it and may be called from inside the leg's own
 * report: implementations must not touch themselves after emitting.
 */
#pragma once

#include <glib.h>
#include <cjson/cJSON.h>
#include "amgw/wire.h"
#include "amgw/prefetch.h"

G_BEGIN_DECLS

#define AMGW_LEG_ERROR (amgw_leg_error_quark ())
GQuark amgw_leg_error_quark (void);

typedef enum {
  AMGW_LEG_ERROR_UNAVAILABLE,   /* no implementation for this protocol in this build */
  AMGW_LEG_ERROR_UNREACHABLE,   /* the peer cannot be reached (resolve, connect, TLS) */
  AMGW_LEG_ERROR_INVALID,       /* bad target or SDP */
  AMGW_LEG_ERROR_FAILED,
} AmgwLegError;

typedef enum {
  AMGW_LEG_ALEXA,
  AMGW_LEG_BRIDGE,
} AmgwLegRole;

typedef enum {
  AMGW_MEDIA_SENDRECV,
  AMGW_MEDIA_SENDONLY,
  AMGW_MEDIA_RECVONLY,
  AMGW_MEDIA_INACTIVE,
} AmgwMediaDirection;

/* What a bridge leg dials.  Strings are borrowed for the duration of dial(). */
typedef struct {
  const char *protocol;     /* "SIP", "SIPS", "H323" */
  const char *endpoint;     /* host, host:port, or a URI (JoinMeeting's meeting.endpoint) */
  const char *meeting_id;   /* (nullable) */
  const char *pin;          /* (nullable) secret: never logged */
  const char *provider;     /* (nullable) for per-provider dial plans */
  const char *callee;       /* (nullable) InitiateOutboundCall: the address Alexa called */
  const char *codec;        /* (nullable) offer this codec first ("OPUS", "PCMU", ...): the
                             * Alexa leg's, so that both legs may agree (passthrough) */
} AmgwDialTarget;

typedef enum {
  AMGW_LEG_EVENT_RINGING,   /* bridge: the far end rings (180) */
  AMGW_LEG_EVENT_PROGRESS,  /* bridge: early media (183 with SDP) */
  AMGW_LEG_EVENT_ANSWERED,  /* bridge: answered (200 OK + ACK) */
  AMGW_LEG_EVENT_MEDIA,     /* media is flowing (first packet in) */
  AMGW_LEG_EVENT_DIRECTION, /* the peer changed direction (hold/resume): info.direction */
  AMGW_LEG_EVENT_ENDED,     /* the peer hung up or the leg failed: info.result, info.message */
} AmgwLegEventType;

typedef struct {
  AmgwMediaDirection direction;
  AmgwResultCode result;    /* for ENDED */
  const char *message;      /* (nullable) for ENDED: why, for logs and CallEnded */
} AmgwLegEventInfo;

typedef struct _AmgwLeg AmgwLeg;

#define AMGW_LEG_MAX_CODECS 8

/* The media a leg negotiated, for joining it to the other leg. */
typedef struct {
  /* First, what the join reads per packet. */
  guint generation;         /* changes whenever the negotiated media change */
  guint recv_pt;            /* @recv_encoding's payload type */
  gint dtmf_pt;             /* telephone-event's payload type; -1: none */
  char encoding[8];         /* what amgw sends: "OPUS", "G722", "PCMU" or "PCMA" */
  guint pt;                 /* its payload type */
  guint clock_rate;         /* its RTP clock */
  char recv_encoding[8];    /* what the peer is expected to send */
  guint recv_clock_rate;
  /* Every codec the peer may send (what it sends shows in the packets'
   * payload types): the relays follow it. */
  struct {
    char encoding[8];
    guint pt;
    guint clock_rate;
  } may_recv[AMGW_LEG_MAX_CODECS];
  guint n_may_recv;
  guint dtmf_clock_rate;
} AmgwLegMedia;

/* Plain RTP packets the leg received from its peer (audio and
 * telephone-events; RTCP stays with the leg).  Called on the leg's media
 * loop; transfer none. */
typedef void (*AmgwLegRtpSink) (const guint8 *rtp, gsize len, gpointer user_data);

/* Where a leg sends what it received: set_media_sink()'s arguments, kept by
 * each kind of leg on its packet path.  @lock is never taken with the leg's
 * own lock held. */
typedef struct {
  GMutex lock;
  AmgwLegRtpSink fn;
  AmgwMediaPrefetchFunc prefetch;   /* read without @lock too: amgw_leg_sink_prefetch() */
  gpointer data;
} AmgwLegSink;

/* When it returns, the previous sink is not running (set_media_sink()). */
static inline void
amgw_leg_sink_set (AmgwLegSink *s, AmgwLegRtpSink fn, AmgwMediaPrefetchFunc prefetch,
    gpointer data)
{
  g_mutex_lock (&s->lock);
  s->fn = fn;
  s->prefetch = prefetch;
  s->data = data;
  g_mutex_unlock (&s->lock);
}

static inline void
amgw_leg_sink_deliver (AmgwLegSink *s, const guint8 *rtp, gsize len)
{
  g_mutex_lock (&s->lock);
  if (s->fn)
    s->fn (rtp, len, s->data);
  g_mutex_unlock (&s->lock);
}

/* An AmgwMediaPrefetchFunc's step toward the sink, @s being in the cache:
 * without @lock, as a stale pair only prefetches lines that are not needed. */
static inline void
amgw_leg_sink_prefetch (const AmgwLegSink *s, AmgwMediaPrefetch *next)
{
  AmgwMediaPrefetchFunc fn = s->prefetch;

  if (fn != NULL)
    fn (s->data, next);
}

typedef void (*AmgwLegNotify) (AmgwLeg *leg, AmgwLegEventType type,
    const AmgwLegEventInfo *info, gpointer user_data);

/* Completion of an SDP operation; exactly one of @sdp and @error is set. */
typedef void (*AmgwLegSdpCallback) (AmgwLeg *leg, const char *sdp,
    const GError *error, gpointer user_data);

typedef struct {
  const char *kind;         /* "webrtc", "sip", "h323" — for logs and metrics */

  /* Alexa leg: SDP offer/answer (the call carries them in CallSignaling).
   * Callbacks may come later from the control loop, or before return. */
  void (*create_offer) (AmgwLeg *leg, AmgwMediaDirection direction, gboolean ice_restart,
      AmgwLegSdpCallback cb, gpointer user_data);
  void (*create_answer) (AmgwLeg *leg, const char *remote_offer, AmgwMediaDirection direction,
      AmgwLegSdpCallback cb, gpointer user_data);
  gboolean (*apply_answer) (AmgwLeg *leg, const char *remote_answer, gboolean provisional,
      GError **error);

  /* Bridge leg: dial, then report RINGING / PROGRESS / ANSWERED / ENDED. */
  gboolean (*dial) (AmgwLeg *leg, const AmgwDialTarget *target, GError **error);
  /* Hold and resume toward the peer (re-INVITE with a direction). */
  gboolean (*set_direction) (AmgwLeg *leg, AmgwMediaDirection direction, GError **error);

  /* Both. */
  void (*hangup) (AmgwLeg *leg, AmgwResultCode reason);
  void (*finalize) (AmgwLeg *leg);

  /* Optional: adds live state and statistics (transport, codec, packets,
   * levels) to the operators' view of the call (GET /v1/calls/{id}). */
  void (*describe) (AmgwLeg *leg, cJSON *obj);
  /* Optional, Alexa leg: the installer's audio check in place of a bridge:
   * once media flows, play @tone_hz for @tone_ms, then echo what is heard. */
  gboolean (*start_audio_check) (AmgwLeg *leg, double tone_hz, guint tone_ms,
      const char *codec /* nullable: any; else offer only this one */, GError **error);

  /* Media between the legs (both; optional).  get_media: FALSE until the
   * media are negotiated.  prefer_codec: send @encoding from now on if the
   * peer accepted it too (TRUE), for passthrough.  set_media_sink: packets
   * received go to @sink (NULL: nowhere); when it returns, the previous
   * sink is not running and will not be called again; @prefetch (nullable)
   * is what the media loop may call with @user_data, ahead of a packet for
   * @sink (amgw/prefetch.h: from the address alone, it reads nothing of
   * @user_data's, which a stale read may give after the sink changed).
   * send_media: a plain
   * RTP packet for the peer, from any thread; the leg renumbers it into
   * its own stream (SSRC, sequence numbers, timestamps) and encrypts it;
   * dropped while the direction forbids sending. */
  gboolean (*get_media) (AmgwLeg *leg, AmgwLegMedia *out);
  /* get_media()'s generation, read without a lock: cheap enough for every
   * packet (a change means get_media() again). */
  guint (*get_media_generation) (AmgwLeg *leg);
  gboolean (*prefer_codec) (AmgwLeg *leg, const char *encoding);
  void (*set_media_sink) (AmgwLeg *leg, AmgwLegRtpSink sink, AmgwMediaPrefetchFunc prefetch,
      gpointer user_data);
  void (*send_media) (AmgwLeg *leg, const guint8 *rtp, gsize len);
  /* Bridge leg: DTMF toward the peer in the leg's own DTMF mode. */
  gboolean (*send_dtmf) (AmgwLeg *leg, const char *digits, GError **error);
} AmgwLegClass;

/* The base every implementation embeds first. */
struct _AmgwLeg {
  const AmgwLegClass *klass;
  AmgwLegRole role;
  char *session_id;         /* for log lines: "[session] ..." */
  char *protocol;
  AmgwLegNotify notify;
  gpointer notify_data;
  gboolean hung_up;
};

/* A factory makes a leg of @protocol for @role; it calls amgw_leg_init() on
 * the new leg.  @data is what was registered. */
typedef AmgwLeg *(*AmgwLegFactory) (AmgwLegRole role, const char *protocol,
    const char *session_id, gpointer data, GError **error);

/* Registers the implementation of @protocol ("ALEXA" for the Alexa leg, or
 * "SIP", "SIPS", "H323"); a later registration replaces an earlier one. */
void amgw_leg_register (const char *protocol, AmgwLegFactory factory, gpointer data);
void amgw_leg_unregister_all (void);
gboolean amgw_leg_is_available (const char *protocol);

/* (transfer full) */
AmgwLeg *amgw_leg_create (AmgwLegRole role, const char *protocol, const char *session_id,
    AmgwLegNotify notify, gpointer notify_data, GError **error);

/* For implementations. */
void amgw_leg_init (AmgwLeg *leg, const AmgwLegClass *klass, AmgwLegRole role,
    const char *protocol, const char *session_id);
void amgw_leg_emit (AmgwLeg *leg, AmgwLegEventType type, const AmgwLegEventInfo *info);

/* Dispatchers: each fails cleanly (AMGW_LEG_ERROR_UNAVAILABLE) when the leg
 * does not implement the operation. */
void amgw_leg_create_offer (AmgwLeg *leg, AmgwMediaDirection direction, gboolean ice_restart,
    AmgwLegSdpCallback cb, gpointer user_data);
void amgw_leg_create_answer (AmgwLeg *leg, const char *remote_offer, AmgwMediaDirection direction,
    AmgwLegSdpCallback cb, gpointer user_data);
gboolean amgw_leg_apply_answer (AmgwLeg *leg, const char *remote_answer, gboolean provisional,
    GError **error);
gboolean amgw_leg_dial (AmgwLeg *leg, const AmgwDialTarget *target, GError **error);
gboolean amgw_leg_set_direction (AmgwLeg *leg, AmgwMediaDirection direction, GError **error);
/* Adds the leg's live view to @obj (nothing if the leg has none). */
void amgw_leg_describe (AmgwLeg *leg, cJSON *obj);
gboolean amgw_leg_start_audio_check (AmgwLeg *leg, double tone_hz, guint tone_ms,
    const char *codec, GError **error);
/* Idempotent. */
void amgw_leg_hangup (AmgwLeg *leg, AmgwResultCode reason);
/* Hangs up if needed, then releases.  NULL-safe. */
void amgw_leg_free (AmgwLeg *leg);

gboolean amgw_leg_get_media (AmgwLeg *leg, AmgwLegMedia *out);
/* FALSE when the leg cannot tell cheaply: call amgw_leg_get_media(). */
gboolean amgw_leg_get_media_generation (AmgwLeg *leg, guint *generation);
gboolean amgw_leg_prefer_codec (AmgwLeg *leg, const char *encoding);
void amgw_leg_set_media_sink (AmgwLeg *leg, AmgwLegRtpSink sink, AmgwMediaPrefetchFunc prefetch,
    gpointer user_data);
void amgw_leg_send_media (AmgwLeg *leg, const guint8 *rtp, gsize len);
gboolean amgw_leg_send_dtmf (AmgwLeg *leg, const char *digits, GError **error);

const char *amgw_media_direction_name (AmgwMediaDirection direction);

/* Joining the legs' media: the media library registers how
 * (amgw_media_setup); without a joiner, calls connect no media. */
typedef struct _AmgwLegJoin AmgwLegJoin;

typedef struct {
  /* A digit the Alexa device sent as an RFC 4733 event; on the control loop. */
  void (*dtmf) (char digit, gpointer user_data);
} AmgwLegJoinCallbacks;

typedef struct {
  /* Connects the legs' media (both must have get_media); (transfer full). */
  AmgwLegJoin *(*join) (AmgwLeg *alexa, AmgwLeg *bridge, const char *session_id,
      const AmgwLegJoinCallbacks *callbacks, gpointer user_data, GError **error);
  /* Adds the join's live view (mode, codecs, counters) to @obj. */
  void (*describe) (AmgwLegJoin *join, cJSON *obj);
  /* Disconnects (no callback after it returns) and frees. */
  void (*unjoin) (AmgwLegJoin *join);
} AmgwLegJoiner;

void amgw_leg_set_joiner (const AmgwLegJoiner *joiner);
const AmgwLegJoiner *amgw_leg_get_joiner (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwLeg, amgw_leg_free)

G_END_DECLS
