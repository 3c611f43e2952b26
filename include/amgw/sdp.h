/* amgw — WebRTC audio SDP of the Alexa leg: parse, build, negotiate.
 *
 * SDP text goes through GStreamer's GstSDPMessage both ways; this module only
 * interprets the attributes the Alexa leg needs (ICE, DTLS, one audio
 * m-line, its codecs, candidates and SSRC) and checks each against a named
 * ceiling.  Audio only: the first audio m-line with a non-zero port is used;
 * the other m-lines are remembered (kind, profile, first format, mid) so that
 * an answer can reject them with port 0 in the offer's order (RFC 3264).
 *
 * Threads: pure functions, callable from any thread.
 */
#pragma once

#include <glib.h>
#include "amgw/leg.h"
#include "amgw/wire.h"   /* AMGW_MAX_SDP_BYTES */

G_BEGIN_DECLS

#define AMGW_SDP_ERROR (amgw_sdp_error_quark ())
GQuark amgw_sdp_error_quark (void);

typedef enum {
  AMGW_SDP_ERROR_INVALID,         /* not SDP, bad bytes, a malformed or missing required attribute */
  AMGW_SDP_ERROR_TOO_BIG,         /* over AMGW_MAX_SDP_BYTES or a count ceiling */
  AMGW_SDP_ERROR_UNSUPPORTED,     /* no usable audio m-line, another profile, only non-sha-256 fingerprints */
  AMGW_SDP_ERROR_NO_COMMON_CODEC, /* amgw_sdp_negotiate(): nothing in common */
} AmgwSdpError;

/* Count ceilings of a remote SDP (the byte ceiling is AMGW_MAX_SDP_BYTES). */
#define AMGW_MAX_SDP_CANDIDATES 64  /* a=candidate lines of the audio m-line */
#define AMGW_MAX_SDP_CODECS 32      /* payload types on the audio m-line */
#define AMGW_MAX_SDP_MEDIA 16       /* m-lines in the whole SDP */

typedef enum {
  AMGW_CODEC_OPUS,
  AMGW_CODEC_G722,
  AMGW_CODEC_PCMU,
  AMGW_CODEC_PCMA,
  AMGW_CODEC_TELEPHONE_EVENT,
  AMGW_CODEC_UNKNOWN,
} AmgwCodecId;

/* One payload type.  A known @id implies its canonical clock rate (opus
 * 48000, G722/PCMU/PCMA 8000 — G.722 samples at 16 kHz but its RTP clock is
 * 8000, RFC 3551); telephone-event may have any rate. */
typedef struct {
  AmgwCodecId id;
  guint pt;          /* 0..127 */
  guint clock_rate;  /* 0 for an unknown static payload type without a=rtpmap */
  guint channels;    /* 1 unless the rtpmap says otherwise */
  char *fmtp;        /* (nullable) (owned) the a=fmtp parameters, e.g. "minptime=10;useinbandfec=1" */
  char *name;        /* (nullable) (owned) the encoding name as the peer spelled it; NULL: amgw_codec_name() */
} AmgwCodec;

typedef enum {
  AMGW_DTLS_SETUP_ACTPASS,
  AMGW_DTLS_SETUP_ACTIVE,   /* the DTLS client */
  AMGW_DTLS_SETUP_PASSIVE,  /* the DTLS server */
} AmgwDtlsSetup;

/* The audio side of one SDP.  Every string is owned; (nullable) unless said. */
typedef struct {
  char *ice_ufrag;              /* 4..256 ice-chars (RFC 8839); required to build */
  char *ice_pwd;                /* 22..256 ice-chars; required to build */
  gboolean ice_lite;
  char *fingerprint;            /* sha-256: 32 upper-case hex bytes joined by ':'; required to build */
  AmgwDtlsSetup setup;
  char *mid;
  gboolean rtcp_mux;            /* a=rtcp-mux */
  gboolean bundle;              /* a=group:BUNDLE lists our mid */
  AmgwMediaDirection direction; /* SENDRECV when the SDP says nothing */
  GArray *codecs;               /* AmgwCodec, in the m-line's order; never NULL */
  GPtrArray *candidates;        /* char*: "candidate:<foundation> ..." as written, without "a="; never NULL */
  gboolean end_of_candidates;
  char *connection_address;     /* c= address (media level, else session level); build: NULL = 0.0.0.0 */
  guint port;                   /* the m-line's port */
  char *proto;                  /* UDP/TLS/RTP/SAVPF or UDP/TLS/RTP/SAVP; build: NULL = the offer's, else SAVPF */
  guint32 ssrc;                 /* 0 when absent */
  char *cname;                  /* a=ssrc:<ssrc> cname: */
  char *msid;                   /* "<stream> <track>" from a=msid (else a=ssrc:<ssrc> msid:) */
  guint ptime, maxptime;        /* ms; 0 when absent (malformed values are ignored) */

  /* Parse only: every m-line of the SDP, so an answer can reject the others.
   * Each array has n_media entries plus a NULL terminator (GStrv). */
  guint media_index;            /* which m-line this audio one is */
  guint n_media;
  char **media_mids;            /* "" for an m-line without a=mid */
  char **media_kinds;           /* "audio", "video", "application", ... */
  char **media_protos;
  char **media_formats;         /* the first format of each m-line */
} AmgwSdpMedia;

/* Empty, with setup ACTPASS, direction SENDRECV, rtcp_mux and bundle TRUE,
 * empty codecs and candidates.  (transfer full) */
AmgwSdpMedia *amgw_sdp_media_new (void);
/* A deep copy.  (transfer full) */
AmgwSdpMedia *amgw_sdp_media_copy (const AmgwSdpMedia *m);
/* NULL-safe. */
void amgw_sdp_media_free (AmgwSdpMedia *m);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwSdpMedia, amgw_sdp_media_free)

/* Parses a remote SDP defensively.  Bytes: 1..AMGW_MAX_SDP_BYTES, no NUL,
 * valid UTF-8, no control characters but TAB, CR and LF, line ends CRLF or LF
 * (a bare CR is an error: GstSDPMessage would silently drop the rest), first
 * line v=0.  Then GstSDPMessage parses it and these must hold: an audio
 * m-line with a non-zero port and profile UDP/TLS/RTP/SAVPF or
 * UDP/TLS/RTP/SAVP; a=ice-ufrag and a=ice-pwd (media level, else session
 * level; RFC 8839 lengths); a=fingerprint:sha-256 (media, else session; other
 * hashes alone are AMGW_SDP_ERROR_UNSUPPORTED); a=setup actpass, active or
 * passive; well-formed a=rtpmap, a=fmtp, a=ssrc, a=msid, a=mid, c= values;
 * at most AMGW_MAX_SDP_MEDIA m-lines, AMGW_MAX_SDP_CODECS payload types and
 * AMGW_MAX_SDP_CANDIDATES candidates.  Unknown lines and attributes are
 * ignored.  Messages start with "SDP: ", e.g. "SDP: no a=fingerprint:sha-256".
 * Whatever this returns, amgw_sdp_build() writes an SDP that this parses again.
 * @sdp (nullable) when @len is 0.  (transfer full) */
AmgwSdpMedia *amgw_sdp_parse (const char *sdp, gsize len, GError **error);

/* Builds a complete SDP with CRLF line ends: v=0, o=- @session_id @version IN
 * IP4 127.0.0.1, s=-, t=0 0, a=group:BUNDLE <mid> (when @m->bundle and there
 * is a mid), a=msid-semantic: WMS [<stream>], a=ice-lite (when set), then the
 * audio m-line: m=audio <port> <proto> <pts>, c=, a=rtcp:<port>, the
 * candidates, a=end-of-candidates (when set), a=ice-ufrag, a=ice-pwd,
 * a=fingerprint:sha-256, a=setup, a=mid, a=<direction>, a=msid, a=rtcp-mux
 * (when set), a=rtpmap and a=fmtp per codec (a codec without a name and
 * without amgw_codec_name() gets no rtpmap), a=ptime, a=maxptime (when
 * non-zero), a=ssrc cname: and msid: (when @m->ssrc and a value).  No
 * a=ice-options:trickle: amgw sends its candidates in the SDP.  No
 * a=rtcp-fb: amgw implements none.
 *
 * @answer_to (nullable): the remote offer being answered.  Its m-lines are
 * all answered, in order: ours at @answer_to->media_index, the others as
 * "m=<kind> 0 <proto> <format>" with their mid.  When @m has no mid, the
 * offer's mid of that m-line is used; without either, no a=mid and no BUNDLE.
 * @m->media_* and @m->n_media are not used.  (transfer full) */
char *amgw_sdp_build (const AmgwSdpMedia *m, guint64 session_id, guint version,
    const AmgwSdpMedia *answer_to);

/* An empty AmgwCodec array that frees its entries' strings.  (transfer full) */
GArray *amgw_sdp_codecs_new (void);
/* Appends a copy of the given codec to @codecs.  @fmtp (nullable). */
void amgw_sdp_codecs_add (GArray *codecs, AmgwCodecId id, guint pt, guint clock_rate,
    guint channels, const char *fmtp);

/* The codecs of amgw's own offers, most preferred first: opus/48000/2 (111,
 * minptime=10;useinbandfec=1), G722/8000 (9), PCMU/8000 (0), PCMA/8000 (8),
 * telephone-event/48000 (126) and /8000 (101), both 0-15.  (transfer full) */
GArray *amgw_sdp_default_codecs (void);

/* Answer negotiation: the first of @prefs (amgw's order of preference; a
 * TELEPHONE_EVENT or UNKNOWN entry is skipped) that @offer has, with the
 * REMOTE's payload type, fmtp and channels; then the offer's telephone-event
 * at that codec's clock rate, when there is one.  *@codecs_out (transfer
 * full) is set only on success.  AMGW_SDP_ERROR_NO_COMMON_CODEC otherwise. */
gboolean amgw_sdp_negotiate (const AmgwSdpMedia *offer, const AmgwCodecId *prefs, guint n_prefs,
    GArray **codecs_out, GError **error);

/* The direction to answer with (RFC 3264 6.1): the offer's mirrored
 * (sendonly -> recvonly, recvonly -> sendonly, inactive -> inactive,
 * sendrecv -> sendrecv) and intersected with @wanted, so with @wanted
 * SENDRECV it is the plain mirror, and we never send or receive what
 * @wanted excludes (sendonly offered, sendonly wanted -> inactive). */
AmgwMediaDirection amgw_sdp_answer_direction (AmgwMediaDirection offered, AmgwMediaDirection wanted);

/* The DTLS role amgw takes, which is also the a=setup it answers with:
 * ACTIVE means amgw is the DTLS client, PASSIVE the server.
 * @remote_is_offer TRUE: amgw answers @remote_setup's offer — actpass and
 * passive -> ACTIVE, active -> PASSIVE.
 * @remote_is_offer FALSE: @remote_setup is the answer to amgw's offer (which
 * said actpass) — active -> PASSIVE, passive -> ACTIVE, actpass -> FALSE with
 * AMGW_SDP_ERROR_INVALID (RFC 5763: an answer must choose). */
gboolean amgw_sdp_dtls_role (AmgwDtlsSetup remote_setup, gboolean remote_is_offer,
    AmgwDtlsSetup *role_out, GError **error);

/* "actpass", "active", "passive"; NULL when out of range.  (transfer none) */
const char *amgw_dtls_setup_name (AmgwDtlsSetup setup);

/* "opus", "G722", "PCMU", "PCMA", "telephone-event"; NULL for UNKNOWN and
 * out-of-range values.  (transfer none) */
const char *amgw_codec_name (AmgwCodecId id);
/* A codec preference ([media] codecs, [sip] codecs: names) as ids, with
 * @first (a codec id, or -1) ahead of them; the four audio codecs in
 * amgw's default order when @names gives none.  Returns how many (1..4). */
#define AMGW_CODEC_PREFS_MAX 4
guint amgw_codec_prefs (char *const *names, gint first, AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX]);

/* The same in upper case ("OPUS", ...) into @buf; "" for UNKNOWN. */
void amgw_codec_upper_name (AmgwCodecId id, char *buf, gsize size);
/* The reverse, case-insensitive; FALSE (and @out untouched) for other or
 * NULL names. */
gboolean amgw_codec_from_name (const char *encoding_name, AmgwCodecId *out);

G_END_DECLS
