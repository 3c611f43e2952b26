/* amgw — WebRTC audio SDP of the Alexa leg (see sdp.h).
 *
 * GstSDPMessage does the SDP syntax both ways; this file checks the bytes
 * before it (GstSDPMessage is lenient: it skips what it cannot read and stops
 * a line at a bare CR), then reads and bounds the attribute values amgw uses.
 * Every value that amgw_sdp_build() writes back was checked here to be
 * printable ASCII of bounded length, so a parsed SDP always builds into one
 * that parses again, under AMGW_MAX_SDP_BYTES (see the budget below).
 */
#include "amgw/sdp.h"
#include "amgw/debug.h"

#include <gst/sdp/sdp.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (amgw_sdp_debug);
#define GST_CAT_DEFAULT amgw_sdp_debug

G_DEFINE_QUARK (amgw-sdp-error-quark, amgw_sdp_error)

/* Ceilings of single values. */
#define SDP_ICE_UFRAG_MIN 4              /* RFC 8839 5.4 */
#define SDP_ICE_UFRAG_MAX 256
#define SDP_ICE_PWD_MIN 22
#define SDP_ICE_PWD_MAX 256
#define SDP_SHA256_BYTES 32
#define SDP_SHA256_CHARS (SDP_SHA256_BYTES * 3 - 1)  /* "AB:CD:...": 95 */
#define SDP_MAX_MID_LEN 32
#define SDP_MAX_CANDIDATE_LEN 512        /* after "candidate:" */
#define SDP_MAX_FMTP_LEN 256
#define SDP_MAX_ENCODING_NAME_LEN 32
#define SDP_MAX_CLOCK_RATE 1000000
#define SDP_MAX_CHANNELS 8
#define SDP_MAX_CNAME_LEN 255
#define SDP_MAX_MSID_ID_LEN 64           /* RFC 8830: 1*64token-char */
#define SDP_MAX_ADDRESS_LEN 255
#define SDP_MAX_MLINE_TOKEN_LEN 64       /* kind, profile, format of an m-line we only echo */
#define SDP_MAX_PTIME_MS 5000
#define SDP_MAX_PT 127

/* What amgw_sdp_build() can write at most for a parsed SDP, line by line
 * with CRLF: it must stay under AMGW_MAX_SDP_BYTES so that the result parses
 * again.  Fixed lines (v, o, s, t, c, a=rtcp, setup, direction, rtcp-mux,
 * ptime, end-of-candidates, ...) are counted generously as 1024 bytes. */
#define SDP_BUILD_BUDGET \
  (1024 \
   + AMGW_MAX_SDP_CANDIDATES * (12 + SDP_MAX_CANDIDATE_LEN + 2) \
   + AMGW_MAX_SDP_CODECS * (4 + 13 + SDP_MAX_ENCODING_NAME_LEN + 11 + 2 + 11 + SDP_MAX_FMTP_LEN + 2) \
   + AMGW_MAX_SDP_MEDIA * (2 + 3 * (SDP_MAX_MLINE_TOKEN_LEN + 1) + 4 + 20 + 6 + SDP_MAX_MID_LEN + 2) \
   + 2 * (12 + SDP_ICE_PWD_MAX + 2) + 24 + SDP_SHA256_CHARS \
   + 3 * (SDP_MAX_ADDRESS_LEN + 32) \
   + 40 + SDP_MAX_CNAME_LEN \
   + 4 * (40 + 2 * SDP_MAX_MSID_ID_LEN))
G_STATIC_ASSERT (SDP_BUILD_BUDGET < AMGW_MAX_SDP_BYTES);

#define SDP_PROTO_SAVPF "UDP/TLS/RTP/SAVPF"
#define SDP_PROTO_SAVP "UDP/TLS/RTP/SAVP"

static void
sdp_debug_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (amgw_sdp_debug, "amgw-sdp", 0, "amgw WebRTC SDP");
    g_once_init_leave (&once, 1);
  }
}

/* ---- names ---- */

static const char *const codec_names[] = {
  [AMGW_CODEC_OPUS] = "opus",
  [AMGW_CODEC_G722] = "G722",
  [AMGW_CODEC_PCMU] = "PCMU",
  [AMGW_CODEC_PCMA] = "PCMA",
  [AMGW_CODEC_TELEPHONE_EVENT] = "telephone-event",
};

const char *
amgw_codec_name (AmgwCodecId id)
{
  return (guint) id < G_N_ELEMENTS (codec_names) ? codec_names[id] : NULL;
}

guint
amgw_codec_prefs (char *const *names, gint first, AmgwCodecId prefs[AMGW_CODEC_PREFS_MAX])
{
  static const AmgwCodecId fallback[] = { AMGW_CODEC_OPUS, AMGW_CODEC_G722, AMGW_CODEC_PCMU,
                                          AMGW_CODEC_PCMA };
  guint n = 0, named = 0;
  AmgwCodecId id;

  if (first >= 0)
    prefs[n++] = (AmgwCodecId) first;
  for (guint i = 0; names && names[i]; i++) {
    if (!amgw_codec_from_name (names[i], &id))
      continue;
    named++;
    if ((gint) id != first && n < AMGW_CODEC_PREFS_MAX)
      prefs[n++] = id;
  }
  for (guint i = 0; named == 0 && i < G_N_ELEMENTS (fallback); i++)
    if ((gint) fallback[i] != first)
      prefs[n++] = fallback[i];
  return n;
}

void
amgw_codec_upper_name (AmgwCodecId id, char *buf, gsize size)
{
  const char *name = amgw_codec_name (id);

  g_strlcpy (buf, name ? name : "", size);
  for (char *p = buf; *p; p++)
    *p = g_ascii_toupper (*p);
}

gboolean
amgw_codec_from_name (const char *encoding_name, AmgwCodecId *out)
{
  if (encoding_name == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (codec_names); i++) {
    if (g_ascii_strcasecmp (encoding_name, codec_names[i]) == 0) {
      if (out != NULL)
        *out = (AmgwCodecId) i;
      return TRUE;
    }
  }
  return FALSE;
}

static const char *const setup_names[] = {
  [AMGW_DTLS_SETUP_ACTPASS] = "actpass",
  [AMGW_DTLS_SETUP_ACTIVE] = "active",
  [AMGW_DTLS_SETUP_PASSIVE] = "passive",
};

const char *
amgw_dtls_setup_name (AmgwDtlsSetup setup)
{
  return (guint) setup < G_N_ELEMENTS (setup_names) ? setup_names[setup] : NULL;
}

/* Our own table: media/ does not link the signaling library's. */
static const char *const direction_names[] = {
  [AMGW_MEDIA_SENDRECV] = "sendrecv",
  [AMGW_MEDIA_SENDONLY] = "sendonly",
  [AMGW_MEDIA_RECVONLY] = "recvonly",
  [AMGW_MEDIA_INACTIVE] = "inactive",
};

static const char *
direction_name (AmgwMediaDirection direction)
{
  return (guint) direction < G_N_ELEMENTS (direction_names) ? direction_names[direction]
      : "sendrecv";
}

/* ---- codecs ---- */

static void
codec_clear (gpointer data)
{
  AmgwCodec *codec = data;

  g_clear_pointer (&codec->fmtp, g_free);
  g_clear_pointer (&codec->name, g_free);
}

GArray *
amgw_sdp_codecs_new (void)
{
  GArray *codecs = g_array_new (FALSE, TRUE, sizeof (AmgwCodec));

  g_array_set_clear_func (codecs, codec_clear);
  return codecs;
}

static void
codecs_append_copy (GArray *codecs, const AmgwCodec *codec)
{
  AmgwCodec copy = *codec;

  copy.fmtp = g_strdup (codec->fmtp);
  copy.name = g_strdup (codec->name);
  g_array_append_val (codecs, copy);
}

void
amgw_sdp_codecs_add (GArray *codecs, AmgwCodecId id, guint pt, guint clock_rate,
    guint channels, const char *fmtp)
{
  AmgwCodec codec = { id, pt, clock_rate, channels, (char *) fmtp, NULL };

  g_return_if_fail (codecs != NULL);
  g_return_if_fail (pt <= SDP_MAX_PT);
  codecs_append_copy (codecs, &codec);
}

GArray *
amgw_sdp_default_codecs (void)
{
  GArray *codecs = amgw_sdp_codecs_new ();

  amgw_sdp_codecs_add (codecs, AMGW_CODEC_OPUS, 111, 48000, 2, "minptime=10;useinbandfec=1");
  amgw_sdp_codecs_add (codecs, AMGW_CODEC_G722, 9, 8000, 1, NULL);
  amgw_sdp_codecs_add (codecs, AMGW_CODEC_PCMU, 0, 8000, 1, NULL);
  amgw_sdp_codecs_add (codecs, AMGW_CODEC_PCMA, 8, 8000, 1, NULL);
  amgw_sdp_codecs_add (codecs, AMGW_CODEC_TELEPHONE_EVENT, 126, 48000, 1, "0-15");
  amgw_sdp_codecs_add (codecs, AMGW_CODEC_TELEPHONE_EVENT, 101, 8000, 1, "0-15");
  return codecs;
}

/* A known name only counts at its canonical RTP clock rate (RFC 3551, RFC
 * 7587); anything else is a codec amgw does not speak. */
static AmgwCodecId
codec_identify (const char *name, guint clock_rate, guint channels)
{
  AmgwCodecId id;

  if (!amgw_codec_from_name (name, &id))
    return AMGW_CODEC_UNKNOWN;
  switch (id) {
    case AMGW_CODEC_OPUS:
      return clock_rate == 48000 && channels <= 2 ? id : AMGW_CODEC_UNKNOWN;
    case AMGW_CODEC_G722:
    case AMGW_CODEC_PCMU:
    case AMGW_CODEC_PCMA:
      return clock_rate == 8000 && channels == 1 ? id : AMGW_CODEC_UNKNOWN;
    case AMGW_CODEC_TELEPHONE_EVENT:
      return id;
    case AMGW_CODEC_UNKNOWN:
    default:
      return AMGW_CODEC_UNKNOWN;
  }
}

/* The static payload types amgw knows when there is no a=rtpmap (RFC 3551). */
static void
codec_static_defaults (AmgwCodec *codec)
{
  codec->id = AMGW_CODEC_UNKNOWN;
  codec->clock_rate = 0;
  codec->channels = 1;
  switch (codec->pt) {
    case 0:
      codec->id = AMGW_CODEC_PCMU;
      codec->clock_rate = 8000;
      break;
    case 8:
      codec->id = AMGW_CODEC_PCMA;
      codec->clock_rate = 8000;
      break;
    case 9:
      codec->id = AMGW_CODEC_G722;
      codec->clock_rate = 8000;
      break;
    default:
      break;
  }
}

/* ---- AmgwSdpMedia ---- */

AmgwSdpMedia *
amgw_sdp_media_new (void)
{
  AmgwSdpMedia *m = g_new0 (AmgwSdpMedia, 1);

  m->setup = AMGW_DTLS_SETUP_ACTPASS;
  m->direction = AMGW_MEDIA_SENDRECV;
  m->rtcp_mux = TRUE;
  m->bundle = TRUE;
  m->codecs = amgw_sdp_codecs_new ();
  m->candidates = g_ptr_array_new_with_free_func (g_free);
  return m;
}

void
amgw_sdp_media_free (AmgwSdpMedia *m)
{
  if (m == NULL)
    return;
  g_free (m->ice_ufrag);
  g_free (m->ice_pwd);
  g_free (m->fingerprint);
  g_free (m->mid);
  g_clear_pointer (&m->codecs, g_array_unref);
  g_clear_pointer (&m->candidates, g_ptr_array_unref);
  g_free (m->connection_address);
  g_free (m->proto);
  g_free (m->cname);
  g_free (m->msid);
  g_strfreev (m->media_mids);
  g_strfreev (m->media_kinds);
  g_strfreev (m->media_protos);
  g_strfreev (m->media_formats);
  g_free (m);
}

AmgwSdpMedia *
amgw_sdp_media_copy (const AmgwSdpMedia *m)
{
  AmgwSdpMedia *copy;

  g_return_val_if_fail (m != NULL, NULL);

  copy = amgw_sdp_media_new ();
  copy->ice_ufrag = g_strdup (m->ice_ufrag);
  copy->ice_pwd = g_strdup (m->ice_pwd);
  copy->ice_lite = m->ice_lite;
  copy->fingerprint = g_strdup (m->fingerprint);
  copy->setup = m->setup;
  copy->mid = g_strdup (m->mid);
  copy->rtcp_mux = m->rtcp_mux;
  copy->bundle = m->bundle;
  copy->direction = m->direction;
  for (guint i = 0; m->codecs != NULL && i < m->codecs->len; i++)
    codecs_append_copy (copy->codecs, &g_array_index (m->codecs, AmgwCodec, i));
  for (guint i = 0; m->candidates != NULL && i < m->candidates->len; i++)
    g_ptr_array_add (copy->candidates, g_strdup (g_ptr_array_index (m->candidates, i)));
  copy->end_of_candidates = m->end_of_candidates;
  copy->connection_address = g_strdup (m->connection_address);
  copy->port = m->port;
  copy->proto = g_strdup (m->proto);
  copy->ssrc = m->ssrc;
  copy->cname = g_strdup (m->cname);
  copy->msid = g_strdup (m->msid);
  copy->ptime = m->ptime;
  copy->maxptime = m->maxptime;
  copy->media_index = m->media_index;
  copy->n_media = m->n_media;
  copy->media_mids = g_strdupv (m->media_mids);
  copy->media_kinds = g_strdupv (m->media_kinds);
  copy->media_protos = g_strdupv (m->media_protos);
  copy->media_formats = g_strdupv (m->media_formats);
  return copy;
}

/* ---- value checks ---- */

typedef gboolean (*CharClass) (char c);

static gboolean
is_ice_char (char c)
{
  return g_ascii_isalnum (c) || c == '+' || c == '/';
}

/* RFC 4566 token-char. */
static gboolean
is_token_char (char c)
{
  return c == '!' || (c >= '#' && c <= '\'') || c == '*' || c == '+' || c == '-' || c == '.'
      || g_ascii_isdigit (c) || (c >= 'A' && c <= 'Z') || (c >= '^' && c <= '~');
}

static gboolean
is_visible_char (char c)
{
  return c > ' ' && c < 0x7f;
}

static gboolean
is_printable_char (char c)
{
  return c >= ' ' && c < 0x7f;
}

static gboolean
is_name_char (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '_' || c == '.';
}

static gboolean
is_address_char (char c)
{
  return g_ascii_isalnum (c) || c == '.' || c == ':' || c == '-';
}

/* @s has @min..@max characters, all of @klass. */
static gboolean
chars_ok (const char *s, gsize min, gsize max, CharClass klass)
{
  gsize n;

  if (s == NULL)
    return FALSE;
  for (n = 0; s[n] != '\0'; n++) {
    if (n >= max || !klass (s[n]))
      return FALSE;
  }
  return n >= min;
}

/* A decimal number without sign or spaces, at most @max (< 2^60). */
static gboolean
parse_uint (const char *s, guint64 max, guint64 *out)
{
  guint64 v = 0;

  if (s == NULL || *s == '\0')
    return FALSE;
  for (; *s != '\0'; s++) {
    if (!g_ascii_isdigit (*s))
      return FALSE;
    v = v * 10 + (guint64) (*s - '0');
    if (v > max)
      return FALSE;
  }
  *out = v;
  return TRUE;
}

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

/* An attribute value without the blanks around it.  (transfer full) */
static char *
value_strip (const char *value)
{
  return g_strstrip (g_strdup (value != NULL ? value : ""));
}

/* Splits "<number> <rest>" as in a=rtpmap, a=fmtp, a=ssrc.  @rest
 * (transfer full) is stripped and may be empty. */
static gboolean
split_number (const char *value, guint64 max, guint64 *num, char **rest)
{
  g_autofree char *v = value_strip (value);
  gsize n = 0;

  while (v[n] != '\0' && !is_blank (v[n]))
    n++;
  if (v[n] != '\0')
    v[n++] = '\0';
  if (!parse_uint (v, max, num))
    return FALSE;
  *rest = value_strip (v + n);
  return TRUE;
}

/* "<stream> [<track>]", each 1..64 token-chars (RFC 8830), normalised to
 * single spaces.  (transfer full) (nullable): NULL when malformed. */
static char *
msid_normalize (const char *value)
{
  g_autofree char *v = value_strip (value);
  g_auto (GStrv) parts = NULL;
  GPtrArray *ids = g_ptr_array_new ();
  char *result = NULL;

  parts = g_strsplit_set (v, " \t", -1);
  for (guint i = 0; parts[i] != NULL; i++) {
    if (parts[i][0] == '\0')
      continue;
    if (!chars_ok (parts[i], 1, SDP_MAX_MSID_ID_LEN, is_token_char) || ids->len == 2)
      goto out;
    g_ptr_array_add (ids, parts[i]);
  }
  if (ids->len > 0) {
    g_ptr_array_add (ids, NULL);
    result = g_strjoinv (" ", (char **) ids->pdata);
  }
out:
  g_ptr_array_unref (ids);
  return result;
}

/* ---- attribute access ---- */

/* The value of the first @key in @attrs (GstSDPAttribute), "" for a flag;
 * NULL when absent. */
static const char *
attrs_get (const GArray *attrs, const char *key)
{
  for (guint i = 0; attrs != NULL && i < attrs->len; i++) {
    const GstSDPAttribute *a = &g_array_index (attrs, GstSDPAttribute, i);
    if (a->key != NULL && strcmp (a->key, key) == 0)
      return a->value != NULL ? a->value : "";
  }
  return NULL;
}

/* Media level first, then session level (RFC 8866: media overrides). */
static const char *
attr_get_either (const GstSDPMessage *msg, const GstSDPMedia *media, const char *key)
{
  const char *value = attrs_get (media->attributes, key);

  return value != NULL ? value : attrs_get (msg->attributes, key);
}

/* ---- parsing ---- */

/* Bytes GstSDPMessage must never see: it reads up to a NUL and ends a line
 * at a bare CR, dropping the rest of the SDP silently. */
static gboolean
check_bytes (const char *sdp, gsize len, GError **error)
{
  if (len == 0)
    goto empty;
  if (len > AMGW_MAX_SDP_BYTES)
    goto too_big;
  if (memchr (sdp, '\0', len) != NULL)
    goto nul;
  if (!g_utf8_validate_len (sdp, len, NULL))
    goto not_utf8;
  for (gsize i = 0; i < len; i++) {
    guchar c = (guchar) sdp[i];
    if (c == '\r' && (i + 1 == len || sdp[i + 1] != '\n'))
      goto bare_cr;
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
      goto control;
  }
  if (len < 3 || memcmp (sdp, "v=0", 3) != 0 || (len > 3 && sdp[3] != '\r' && sdp[3] != '\n'))
    goto not_sdp;
  return TRUE;

  /* ERRORS */
empty:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID, "SDP: empty");
  return FALSE;
too_big:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG,
      "SDP: %" G_GSIZE_FORMAT " bytes, more than %u", len, (guint) AMGW_MAX_SDP_BYTES);
  return FALSE;
nul:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID, "SDP: contains a NUL byte");
  return FALSE;
not_utf8:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID, "SDP: not valid UTF-8");
  return FALSE;
bare_cr:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a CR without LF (line ends must be CRLF or LF)");
  return FALSE;
control:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: contains control characters");
  return FALSE;
not_sdp:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: does not start with v=0");
  return FALSE;
}

/* The first format of an m-line that is not empty (GStreamer adds an empty
 * one for a trailing blank). */
static const char *
first_format (const GstSDPMedia *media)
{
  for (guint i = 0; i < gst_sdp_media_formats_len (media); i++) {
    const char *f = gst_sdp_media_get_format (media, i);
    if (f != NULL && f[0] != '\0')
      return f;
  }
  return NULL;
}

/* Records every m-line (kind, profile, first format, mid) and picks the
 * first audio one with a non-zero port. */
static gboolean
parse_mlines (const GstSDPMessage *msg, AmgwSdpMedia *out, GError **error)
{
  guint n = gst_sdp_message_medias_len (msg);
  gboolean any_audio = FALSE;
  gint chosen = -1;
  guint bad = 0;

  if (n == 0)
    goto no_audio;
  if (n > AMGW_MAX_SDP_MEDIA)
    goto too_many;

  out->n_media = n;
  out->media_mids = g_new0 (char *, n + 1);
  out->media_kinds = g_new0 (char *, n + 1);
  out->media_protos = g_new0 (char *, n + 1);
  out->media_formats = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++) {
    const GstSDPMedia *media = gst_sdp_message_get_media (msg, i);
    const char *kind = gst_sdp_media_get_media (media);
    const char *proto = gst_sdp_media_get_proto (media);
    const char *format = first_format (media);
    const char *mid_value = attrs_get (media->attributes, "mid");
    g_autofree char *mid = mid_value != NULL ? value_strip (mid_value) : g_strdup ("");

    bad = i;
    if (!chars_ok (kind, 1, SDP_MAX_MLINE_TOKEN_LEN, is_visible_char)
        || !chars_ok (proto, 1, SDP_MAX_MLINE_TOKEN_LEN, is_visible_char)
        || !chars_ok (format, 1, SDP_MAX_MLINE_TOKEN_LEN, is_visible_char))
      goto bad_mline;
    if (mid_value != NULL && !chars_ok (mid, 1, SDP_MAX_MID_LEN, is_token_char))
      goto bad_mid;
    for (guint j = 0; mid[0] != '\0' && j < i; j++) {
      if (strcmp (out->media_mids[j], mid) == 0)
        goto duplicate_mid;
    }
    out->media_kinds[i] = g_strdup (kind);
    out->media_protos[i] = g_strdup (proto);
    out->media_formats[i] = g_strdup (format);
    out->media_mids[i] = g_steal_pointer (&mid);

    if (strcmp (kind, "audio") == 0) {
      any_audio = TRUE;
      if (chosen < 0 && gst_sdp_media_get_port (media) != 0)
        chosen = (gint) i;
    }
  }
  if (chosen < 0)
    goto no_audio;
  out->media_index = (guint) chosen;
  return TRUE;

  /* ERRORS */
too_many:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG, "SDP: %u m-lines, more than %u",
      n, (guint) AMGW_MAX_SDP_MEDIA);
  return FALSE;
bad_mline:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: m-line %u is malformed (m=<media> <port> <proto> <fmt> ...)", bad + 1);
  return FALSE;
bad_mid:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a=mid of m-line %u must be 1 to %u token characters", bad + 1, SDP_MAX_MID_LEN);
  return FALSE;
duplicate_mid:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: m-line %u repeats an earlier a=mid", bad + 1);
  return FALSE;
no_audio:
  if (any_audio)
    g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_UNSUPPORTED,
        "SDP: the audio m-line is rejected (port 0)");
  else
    g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_UNSUPPORTED,
        "SDP: no audio m-line");
  return FALSE;
}

static gboolean
parse_transport (const GstSDPMessage *msg, const GstSDPMedia *media, AmgwSdpMedia *out,
    GError **error)
{
  const char *proto = gst_sdp_media_get_proto (media);
  const GstSDPConnection *conn;
  guint port = gst_sdp_media_get_port (media);

  if (strcmp (proto, SDP_PROTO_SAVPF) != 0 && strcmp (proto, SDP_PROTO_SAVP) != 0)
    goto bad_proto;
  if (port > 65535)
    goto bad_port;
  out->proto = g_strdup (proto);
  out->port = port;

  conn = gst_sdp_media_connections_len (media) > 0 ? gst_sdp_media_get_connection (media, 0)
      : gst_sdp_message_get_connection (msg);
  /* GStreamer leaves every field NULL when there is no c= line at all. */
  if (conn != NULL && (conn->nettype != NULL || conn->address != NULL)) {
    if (!chars_ok (conn->address, 1, SDP_MAX_ADDRESS_LEN, is_address_char))
      goto bad_address;
    out->connection_address = g_strdup (conn->address);
  }
  return TRUE;

  /* ERRORS */
bad_proto:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_UNSUPPORTED,
      "SDP: the audio m-line's profile is %s, not " SDP_PROTO_SAVPF, proto);
  return FALSE;
bad_port:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: the audio m-line's port %u is over 65535", port);
  return FALSE;
bad_address:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: the c= address is not an IP address or host name");
  return FALSE;
}

/* @key's value at media, else session level, checked as @min..@max ice-chars. */
static gboolean
parse_ice_value (const GstSDPMessage *msg, const GstSDPMedia *media, const char *key, gsize min,
    gsize max, char **out, GError **error)
{
  const char *value = attr_get_either (msg, media, key);
  g_autofree char *v = NULL;

  if (value == NULL)
    goto missing;
  v = value_strip (value);
  if (!chars_ok (v, min, max, is_ice_char))
    goto bad;
  *out = g_steal_pointer (&v);
  return TRUE;

  /* ERRORS */
missing:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID, "SDP: no a=%s", key);
  return FALSE;
bad:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a=%s must be %" G_GSIZE_FORMAT " to %" G_GSIZE_FORMAT " ice-chars (RFC 8839)",
      key, min, max);
  return FALSE;
}

/* "AB:cd:..." (32 bytes) into upper case.  (transfer full) (nullable) */
static char *
fingerprint_normalize (const char *hex)
{
  if (strlen (hex) != SDP_SHA256_CHARS)
    return NULL;
  for (guint i = 0; i < SDP_SHA256_CHARS; i++) {
    if (i % 3 == 2 ? hex[i] != ':' : !g_ascii_isxdigit (hex[i]))
      return NULL;
  }
  return g_ascii_strup (hex, -1);
}

typedef enum {
  FINGERPRINT_NONE,
  FINGERPRINT_OTHER_HASH,
  FINGERPRINT_FOUND,
  FINGERPRINT_MALFORMED,
} FingerprintResult;

static FingerprintResult
find_fingerprint (const GArray *attrs, char **out)
{
  FingerprintResult result = FINGERPRINT_NONE;

  for (guint i = 0; attrs != NULL && i < attrs->len; i++) {
    const GstSDPAttribute *a = &g_array_index (attrs, GstSDPAttribute, i);
    g_autofree char *v = NULL;
    char *hex;

    if (a->key == NULL || strcmp (a->key, "fingerprint") != 0)
      continue;
    v = value_strip (a->value);
    hex = v;
    while (*hex != '\0' && !is_blank (*hex))
      hex++;
    if (*hex != '\0')
      *hex++ = '\0';
    if (g_ascii_strcasecmp (v, "sha-256") != 0) {
      result = FINGERPRINT_OTHER_HASH;
      continue;
    }
    while (is_blank (*hex))
      hex++;
    *out = fingerprint_normalize (hex);
    return *out != NULL ? FINGERPRINT_FOUND : FINGERPRINT_MALFORMED;
  }
  return result;
}

static gboolean
parse_dtls (const GstSDPMessage *msg, const GstSDPMedia *media, AmgwSdpMedia *out,
    GError **error)
{
  FingerprintResult fp;
  const char *setup;
  g_autofree char *s = NULL;

  fp = find_fingerprint (media->attributes, &out->fingerprint);
  if (fp == FINGERPRINT_NONE || fp == FINGERPRINT_OTHER_HASH) {
    FingerprintResult session = find_fingerprint (msg->attributes, &out->fingerprint);
    fp = session == FINGERPRINT_NONE ? fp : session;
  }
  if (fp == FINGERPRINT_NONE)
    goto no_fingerprint;
  if (fp == FINGERPRINT_OTHER_HASH)
    goto other_hash;
  if (fp == FINGERPRINT_MALFORMED)
    goto bad_fingerprint;

  setup = attr_get_either (msg, media, "setup");
  if (setup == NULL)
    goto no_setup;
  s = value_strip (setup);
  if (g_ascii_strcasecmp (s, "actpass") == 0)
    out->setup = AMGW_DTLS_SETUP_ACTPASS;
  else if (g_ascii_strcasecmp (s, "active") == 0)
    out->setup = AMGW_DTLS_SETUP_ACTIVE;
  else if (g_ascii_strcasecmp (s, "passive") == 0)
    out->setup = AMGW_DTLS_SETUP_PASSIVE;
  else if (g_ascii_strcasecmp (s, "holdconn") == 0)
    goto holdconn;
  else
    goto bad_setup;
  return TRUE;

  /* ERRORS */
no_fingerprint:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: no a=fingerprint:sha-256");
  return FALSE;
other_hash:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_UNSUPPORTED,
      "SDP: no a=fingerprint:sha-256 (only other hash functions, which amgw does not accept)");
  return FALSE;
bad_fingerprint:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a=fingerprint:sha-256 is not 32 hex bytes separated by colons");
  return FALSE;
no_setup:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID, "SDP: no a=setup");
  return FALSE;
holdconn:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_UNSUPPORTED,
      "SDP: a=setup:holdconn is not supported");
  return FALSE;
bad_setup:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a=setup must be actpass, active or passive");
  return FALSE;
}

static AmgwCodec *
codec_by_pt (GArray *codecs, guint64 pt)
{
  for (guint i = 0; i < codecs->len; i++) {
    AmgwCodec *c = &g_array_index (codecs, AmgwCodec, i);
    if (c->pt == pt)
      return c;
  }
  return NULL;
}

/* "<name>/<rate>[/<channels>]" into @codec (whose pt is set). */
static gboolean
rtpmap_apply (const char *encoding, AmgwCodec *codec)
{
  g_auto (GStrv) parts = g_strsplit (encoding, "/", 4);
  guint n = g_strv_length (parts);
  guint64 rate, channels = 1;

  if (n < 2 || n > 3)
    return FALSE;
  if (!chars_ok (parts[0], 1, SDP_MAX_ENCODING_NAME_LEN, is_name_char))
    return FALSE;
  if (!parse_uint (parts[1], SDP_MAX_CLOCK_RATE, &rate) || rate == 0)
    return FALSE;
  if (n == 3 && (!parse_uint (parts[2], SDP_MAX_CHANNELS, &channels) || channels == 0))
    return FALSE;
  codec->clock_rate = (guint) rate;
  codec->channels = (guint) channels;
  codec->name = g_strdup (parts[0]);
  codec->id = codec_identify (codec->name, codec->clock_rate, codec->channels);
  return TRUE;
}

static gboolean
parse_codecs (const GstSDPMedia *media, AmgwSdpMedia *out, GError **error)
{
  const GArray *attrs = media->attributes;
  g_autofree gboolean *mapped = NULL;
  guint n_formats = gst_sdp_media_formats_len (media);
  guint64 pt = 0;

  for (guint i = 0; i < n_formats; i++) {
    const char *format = gst_sdp_media_get_format (media, i);
    AmgwCodec codec = { 0 };

    if (format == NULL || format[0] == '\0')
      continue;
    if (!parse_uint (format, SDP_MAX_PT, &pt))
      goto bad_format;
    if (codec_by_pt (out->codecs, pt) != NULL)
      goto duplicate_pt;
    if (out->codecs->len == AMGW_MAX_SDP_CODECS)
      goto too_many;
    codec.pt = (guint) pt;
    codec_static_defaults (&codec);
    g_array_append_val (out->codecs, codec);
  }
  if (out->codecs->len == 0)
    goto no_formats;

  /* The first a=rtpmap and a=fmtp of each listed payload type count; the
   * others, and those of payload types not listed, are ignored. */
  mapped = g_new0 (gboolean, out->codecs->len);
  for (guint i = 0; i < attrs->len; i++) {
    const GstSDPAttribute *a = &g_array_index (attrs, GstSDPAttribute, i);
    gboolean is_rtpmap, is_fmtp;
    g_autofree char *rest = NULL;
    AmgwCodec *codec;

    if (a->key == NULL)
      continue;
    is_rtpmap = strcmp (a->key, "rtpmap") == 0;
    is_fmtp = strcmp (a->key, "fmtp") == 0;
    if (!is_rtpmap && !is_fmtp)
      continue;
    if (!split_number (a->value, SDP_MAX_PT, &pt, &rest))
      goto bad_attribute;
    codec = codec_by_pt (out->codecs, pt);
    if (codec == NULL)
      continue;
    if (is_rtpmap) {
      gboolean *done = &mapped[codec - &g_array_index (out->codecs, AmgwCodec, 0)];
      if (*done)
        continue;
      g_clear_pointer (&codec->name, g_free);
      if (!rtpmap_apply (rest, codec))
        goto bad_rtpmap;
      *done = TRUE;
    } else if (codec->fmtp == NULL && rest[0] != '\0') {
      if (!chars_ok (rest, 1, SDP_MAX_FMTP_LEN, is_printable_char))
        goto bad_fmtp;
      codec->fmtp = g_steal_pointer (&rest);
    }
  }
  return TRUE;

  /* ERRORS */
bad_format:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: the audio m-line lists a format that is not a payload type 0..%u", SDP_MAX_PT);
  return FALSE;
duplicate_pt:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: the audio m-line lists payload type %u twice", (guint) pt);
  return FALSE;
too_many:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG,
      "SDP: the audio m-line lists more than %u payload types", (guint) AMGW_MAX_SDP_CODECS);
  return FALSE;
no_formats:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: the audio m-line lists no payload types");
  return FALSE;
bad_attribute:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: an a=rtpmap or a=fmtp does not start with a payload type 0..127");
  return FALSE;
bad_rtpmap:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a=rtpmap of payload type %u is not <name>/<rate>[/<channels>]", (guint) pt);
  return FALSE;
bad_fmtp:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a=fmtp of payload type %u is longer than %u characters or not printable ASCII",
      (guint) pt, SDP_MAX_FMTP_LEN);
  return FALSE;
}

static gboolean
parse_candidates (const GstSDPMedia *media, AmgwSdpMedia *out, GError **error)
{
  const GArray *attrs = media->attributes;

  for (guint i = 0; i < attrs->len; i++) {
    const GstSDPAttribute *a = &g_array_index (attrs, GstSDPAttribute, i);
    g_autofree char *v = NULL;

    if (a->key == NULL)
      continue;
    if (strcmp (a->key, "end-of-candidates") == 0) {
      out->end_of_candidates = TRUE;
      continue;
    }
    if (strcmp (a->key, "candidate") != 0)
      continue;
    if (out->candidates->len == AMGW_MAX_SDP_CANDIDATES)
      goto too_many;
    v = value_strip (a->value);
    if (!chars_ok (v, 1, SDP_MAX_CANDIDATE_LEN, is_printable_char))
      goto bad_candidate;
    g_ptr_array_add (out->candidates, g_strconcat ("candidate:", v, NULL));
  }
  return TRUE;

  /* ERRORS */
too_many:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_TOO_BIG,
      "SDP: more than %u a=candidate lines", (guint) AMGW_MAX_SDP_CANDIDATES);
  return FALSE;
bad_candidate:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: an a=candidate is empty, longer than %u characters or not printable ASCII",
      SDP_MAX_CANDIDATE_LEN);
  return FALSE;
}

/* a=ssrc (the first SSRC and its cname and msid) and a=msid. */
static gboolean
parse_source (const GstSDPMedia *media, AmgwSdpMedia *out, GError **error)
{
  const GArray *attrs = media->attributes;
  const char *msid = attrs_get (attrs, "msid");
  g_autofree char *ssrc_msid = NULL;

  if (msid != NULL && (out->msid = msid_normalize (msid)) == NULL)
    goto bad_msid;

  for (guint i = 0; i < attrs->len; i++) {
    const GstSDPAttribute *a = &g_array_index (attrs, GstSDPAttribute, i);
    g_autofree char *rest = NULL;
    guint64 ssrc;

    if (a->key == NULL || strcmp (a->key, "ssrc") != 0)
      continue;
    if (!split_number (a->value, G_MAXUINT32, &ssrc, &rest))
      goto bad_ssrc;
    if (out->ssrc == 0)
      out->ssrc = (guint32) ssrc;
    /* 0 cannot be told from "absent": its attributes are not kept. */
    if (ssrc == 0 || ssrc != out->ssrc)
      continue;
    if (out->cname == NULL && g_str_has_prefix (rest, "cname:")) {
      if (!chars_ok (rest + 6, 1, SDP_MAX_CNAME_LEN, is_visible_char))
        goto bad_cname;
      out->cname = g_strdup (rest + 6);
    } else if (ssrc_msid == NULL && g_str_has_prefix (rest, "msid:")) {
      if ((ssrc_msid = msid_normalize (rest + 5)) == NULL)
        goto bad_msid;
    }
  }
  if (out->msid == NULL)
    out->msid = g_steal_pointer (&ssrc_msid);
  return TRUE;

  /* ERRORS */
bad_msid:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: an msid is not <stream> [<track>] of 1 to %u token characters each",
      SDP_MAX_MSID_ID_LEN);
  return FALSE;
bad_ssrc:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: an a=ssrc does not start with a 32-bit number");
  return FALSE;
bad_cname:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: a cname must be 1 to %u visible ASCII characters", SDP_MAX_CNAME_LEN);
  return FALSE;
}

static AmgwMediaDirection
find_direction (const GArray *attrs, gboolean *found)
{
  for (guint i = 0; attrs != NULL && i < attrs->len; i++) {
    const GstSDPAttribute *a = &g_array_index (attrs, GstSDPAttribute, i);
    for (guint d = 0; a->key != NULL && d < G_N_ELEMENTS (direction_names); d++) {
      if (strcmp (a->key, direction_names[d]) == 0) {
        *found = TRUE;
        return (AmgwMediaDirection) d;
      }
    }
  }
  *found = FALSE;
  return AMGW_MEDIA_SENDRECV;
}

/* A hint: a malformed value leaves 0. */
static guint
parse_ms (const GstSDPMedia *media, const char *key)
{
  const char *value = attrs_get (media->attributes, key);
  g_autofree char *v = NULL;
  guint64 ms;

  if (value == NULL)
    return 0;
  v = value_strip (value);
  if (!parse_uint (v, SDP_MAX_PTIME_MS, &ms) || ms == 0) {
    GST_DEBUG ("ignoring a malformed a=%s", key);
    return 0;
  }
  return (guint) ms;
}

/* Flags and hints that cannot fail. */
static void
parse_flags (const GstSDPMessage *msg, const GstSDPMedia *media, AmgwSdpMedia *out)
{
  gboolean found;

  out->direction = find_direction (media->attributes, &found);
  if (!found)
    out->direction = find_direction (msg->attributes, &found);
  out->rtcp_mux = attrs_get (media->attributes, "rtcp-mux") != NULL;
  out->ice_lite = attr_get_either (msg, media, "ice-lite") != NULL;
  if (attrs_get (msg->attributes, "end-of-candidates") != NULL)
    out->end_of_candidates = TRUE;
  out->ptime = parse_ms (media, "ptime");
  out->maxptime = parse_ms (media, "maxptime");

  out->bundle = FALSE;
  for (guint i = 0; out->mid != NULL && i < msg->attributes->len; i++) {
    const GstSDPAttribute *a = &g_array_index (msg->attributes, GstSDPAttribute, i);
    g_auto (GStrv) tags = NULL;

    if (a->key == NULL || strcmp (a->key, "group") != 0 || a->value == NULL)
      continue;
    tags = g_strsplit_set (a->value, " \t", -1);
    if (tags[0] == NULL || g_ascii_strcasecmp (tags[0], "BUNDLE") != 0)
      continue;
    for (guint t = 1; tags[t] != NULL; t++) {
      if (strcmp (tags[t], out->mid) == 0)
        out->bundle = TRUE;
    }
  }
}

AmgwSdpMedia *
amgw_sdp_parse (const char *sdp, gsize len, GError **error)
{
  g_autoptr (AmgwSdpMedia) out = NULL;
  g_autoptr (GstSDPMessage) msg = NULL;
  g_autofree char *text = NULL;
  GError *local_error = NULL;
  const GstSDPMedia *media;

  g_return_val_if_fail (sdp != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  sdp_debug_init ();

  if (!check_bytes (sdp, len, &local_error))
    goto failed;

  /* GstSDPMessage reads up to a NUL: give it a terminated copy. */
  text = g_strndup (sdp, len);
  gst_sdp_message_new (&msg);
  if (gst_sdp_message_parse_buffer ((const guint8 *) text, (guint) len, msg) != GST_SDP_OK)
    goto unparsable;
  if (g_strcmp0 (gst_sdp_message_get_version (msg), "0") != 0)
    goto unparsable;

  out = amgw_sdp_media_new ();
  if (!parse_mlines (msg, out, &local_error))
    goto failed;
  media = gst_sdp_message_get_media (msg, out->media_index);
  if (out->media_mids[out->media_index][0] != '\0')
    out->mid = g_strdup (out->media_mids[out->media_index]);

  if (!parse_transport (msg, media, out, &local_error)
      || !parse_ice_value (msg, media, "ice-ufrag", SDP_ICE_UFRAG_MIN, SDP_ICE_UFRAG_MAX,
          &out->ice_ufrag, &local_error)
      || !parse_ice_value (msg, media, "ice-pwd", SDP_ICE_PWD_MIN, SDP_ICE_PWD_MAX,
          &out->ice_pwd, &local_error)
      || !parse_dtls (msg, media, out, &local_error)
      || !parse_codecs (media, out, &local_error)
      || !parse_candidates (media, out, &local_error)
      || !parse_source (media, out, &local_error))
    goto failed;
  parse_flags (msg, media, out);

  GST_DEBUG ("parsed: %u m-lines, audio is #%u (mid %s), %u payload types, %u candidates, "
      "setup %s, %s", out->n_media, out->media_index, GST_STR_NULL (out->mid),
      out->codecs->len, out->candidates->len, amgw_dtls_setup_name (out->setup),
      direction_name (out->direction));
  return g_steal_pointer (&out);

  /* ERRORS */
unparsable:
  g_set_error_literal (&local_error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: GstSDPMessage could not read it as SDP version 0");
  goto failed;
failed:
  GST_INFO ("rejected: %s", local_error->message);
  g_propagate_error (error, local_error);
  return NULL;
}

/* ---- building ---- */

static void
add_attr (GstSDPMedia *media, const char *key, const char *value)
{
  gst_sdp_media_add_attribute (media, key, value);
}

static void
add_attr_printf (GstSDPMedia *media, const char *key, const char *format, ...) G_GNUC_PRINTF (3, 4);

static void
add_attr_printf (GstSDPMedia *media, const char *key, const char *format, ...)
{
  g_autofree char *value = NULL;
  va_list args;

  va_start (args, format);
  value = g_strdup_vprintf (format, args);
  va_end (args);
  gst_sdp_media_add_attribute (media, key, value);
}

static const char *
address_type (const char *address)
{
  return strchr (address, ':') != NULL ? "IP6" : "IP4";
}

/* The first word of "<stream> <track>".  (transfer full) (nullable) */
static char *
msid_stream (const char *msid)
{
  if (msid == NULL)
    return NULL;
  return g_strndup (msid, strcspn (msid, " "));
}

/* Appends amgw's audio m-line to @msg (which takes the GstSDPMedia's contents). */
static void
add_audio_media (GstSDPMessage *msg, const AmgwSdpMedia *m, const char *proto, const char *mid)
{
  GstSDPMedia media;
  const char *address = m->connection_address != NULL ? m->connection_address : "0.0.0.0";

  memset (&media, 0, sizeof media);
  gst_sdp_media_init (&media);
  gst_sdp_media_set_media (&media, "audio");
  gst_sdp_media_set_port_info (&media, m->port, 0);
  gst_sdp_media_set_proto (&media, proto);
  for (guint i = 0; i < m->codecs->len; i++) {
    g_autofree char *pt = g_strdup_printf ("%u", g_array_index (m->codecs, AmgwCodec, i).pt);
    gst_sdp_media_add_format (&media, pt);
  }
  gst_sdp_media_add_connection (&media, "IN", address_type (address), address, 0, 0);
  add_attr_printf (&media, "rtcp", "%u IN %s %s", m->port, address_type (address), address);

  for (guint i = 0; m->candidates != NULL && i < m->candidates->len; i++) {
    const char *c = g_ptr_array_index (m->candidates, i);
    add_attr (&media, "candidate", g_str_has_prefix (c, "candidate:") ? c + 10 : c);
  }
  if (m->end_of_candidates)
    add_attr (&media, "end-of-candidates", NULL);

  add_attr (&media, "ice-ufrag", m->ice_ufrag);
  add_attr (&media, "ice-pwd", m->ice_pwd);
  add_attr_printf (&media, "fingerprint", "sha-256 %s", m->fingerprint);
  add_attr (&media, "setup", amgw_dtls_setup_name (m->setup));
  if (mid != NULL)
    add_attr (&media, "mid", mid);
  add_attr (&media, direction_name (m->direction), NULL);
  if (m->msid != NULL)
    add_attr (&media, "msid", m->msid);
  if (m->rtcp_mux)
    add_attr (&media, "rtcp-mux", NULL);

  for (guint i = 0; i < m->codecs->len; i++) {
    const AmgwCodec *c = &g_array_index (m->codecs, AmgwCodec, i);
    const char *name = c->name != NULL ? c->name : amgw_codec_name (c->id);

    if (name != NULL && c->clock_rate > 0) {
      if (c->channels > 1)
        add_attr_printf (&media, "rtpmap", "%u %s/%u/%u", c->pt, name, c->clock_rate, c->channels);
      else
        add_attr_printf (&media, "rtpmap", "%u %s/%u", c->pt, name, c->clock_rate);
    }
    if (c->fmtp != NULL && c->fmtp[0] != '\0')
      add_attr_printf (&media, "fmtp", "%u %s", c->pt, c->fmtp);
  }
  if (m->ptime > 0)
    add_attr_printf (&media, "ptime", "%u", m->ptime);
  if (m->maxptime > 0)
    add_attr_printf (&media, "maxptime", "%u", m->maxptime);

  if (m->ssrc != 0 && m->cname != NULL)
    add_attr_printf (&media, "ssrc", "%u cname:%s", m->ssrc, m->cname);
  if (m->ssrc != 0 && m->msid != NULL)
    add_attr_printf (&media, "ssrc", "%u msid:%s", m->ssrc, m->msid);

  gst_sdp_message_add_media (msg, &media);
}

/* An offer's m-line that amgw does not take: port 0, same kind, profile and
 * a format of the offer's, and its mid (RFC 3264 6, RFC 8843 7.3.3). */
static void
add_rejected_media (GstSDPMessage *msg, const AmgwSdpMedia *offer, guint i)
{
  GstSDPMedia media;

  memset (&media, 0, sizeof media);
  gst_sdp_media_init (&media);
  gst_sdp_media_set_media (&media, offer->media_kinds[i]);
  gst_sdp_media_set_port_info (&media, 0, 0);
  gst_sdp_media_set_proto (&media, offer->media_protos[i]);
  gst_sdp_media_add_format (&media, offer->media_formats[i]);
  gst_sdp_media_add_connection (&media, "IN", "IP4", "0.0.0.0", 0, 0);
  if (offer->media_mids[i][0] != '\0')
    add_attr (&media, "mid", offer->media_mids[i]);
  gst_sdp_message_add_media (msg, &media);
}

char *
amgw_sdp_build (const AmgwSdpMedia *m, guint64 session_id, guint version,
    const AmgwSdpMedia *answer_to)
{
  g_autoptr (GstSDPMessage) msg = NULL;
  g_autofree char *sess_id = NULL, *sess_version = NULL, *stream = NULL;
  const char *mid, *proto;
  guint n_media = 1, ours = 0;
  char *text;

  g_return_val_if_fail (m != NULL, NULL);
  g_return_val_if_fail (m->ice_ufrag != NULL && m->ice_pwd != NULL && m->fingerprint != NULL,
      NULL);
  g_return_val_if_fail (m->codecs != NULL && m->codecs->len > 0, NULL);
  if (answer_to != NULL && answer_to->n_media > 0) {
    g_return_val_if_fail (answer_to->media_index < answer_to->n_media, NULL);
    g_return_val_if_fail (answer_to->media_kinds != NULL && answer_to->media_protos != NULL
        && answer_to->media_formats != NULL && answer_to->media_mids != NULL, NULL);
    n_media = answer_to->n_media;
    ours = answer_to->media_index;
  }
  sdp_debug_init ();

  mid = m->mid != NULL ? m->mid : answer_to != NULL ? answer_to->mid : NULL;
  proto = m->proto != NULL ? m->proto
      : answer_to != NULL && answer_to->proto != NULL ? answer_to->proto : SDP_PROTO_SAVPF;
  stream = msid_stream (m->msid);

  gst_sdp_message_new (&msg);
  gst_sdp_message_set_version (msg, "0");
  sess_id = g_strdup_printf ("%" G_GUINT64_FORMAT, session_id);
  sess_version = g_strdup_printf ("%u", version);
  gst_sdp_message_set_origin (msg, "-", sess_id, sess_version, "IN", "IP4", "127.0.0.1");
  gst_sdp_message_set_session_name (msg, "-");
  gst_sdp_message_add_time (msg, "0", "0", NULL);
  if (m->bundle && mid != NULL && (answer_to == NULL || answer_to->bundle)) {
    g_autofree char *group = g_strconcat ("BUNDLE ", mid, NULL);
    gst_sdp_message_add_attribute (msg, "group", group);
  }
  {
    /* Chromium's spelling, with the blank after the colon. */
    g_autofree char *wms = g_strconcat (" WMS", stream != NULL ? " " : "", stream, NULL);
    gst_sdp_message_add_attribute (msg, "msid-semantic", wms);
  }
  if (m->ice_lite)
    gst_sdp_message_add_attribute (msg, "ice-lite", NULL);

  for (guint i = 0; i < n_media; i++) {
    if (i == ours)
      add_audio_media (msg, m, proto, mid);
    else
      add_rejected_media (msg, answer_to, i);
  }

  text = gst_sdp_message_as_text (msg);
  GST_LOG ("built %" G_GSIZE_FORMAT " bytes, %u m-lines", strlen (text), n_media);
  return text;
}

/* ---- negotiation ---- */

gboolean
amgw_sdp_negotiate (const AmgwSdpMedia *offer, const AmgwCodecId *prefs, guint n_prefs,
    GArray **codecs_out, GError **error)
{
  const AmgwCodec *chosen = NULL;
  GArray *codecs;
  g_autoptr (GString) offered = NULL;

  g_return_val_if_fail (offer != NULL && offer->codecs != NULL, FALSE);
  g_return_val_if_fail (prefs != NULL || n_prefs == 0, FALSE);
  g_return_val_if_fail (codecs_out != NULL, FALSE);
  sdp_debug_init ();

  for (guint p = 0; chosen == NULL && p < n_prefs; p++) {
    if (prefs[p] == AMGW_CODEC_TELEPHONE_EVENT || prefs[p] == AMGW_CODEC_UNKNOWN)
      continue;
    for (guint i = 0; i < offer->codecs->len; i++) {
      const AmgwCodec *c = &g_array_index (offer->codecs, AmgwCodec, i);
      if (c->id == prefs[p]) {
        chosen = c;
        break;
      }
    }
  }
  if (chosen == NULL)
    goto no_common;

  codecs = amgw_sdp_codecs_new ();
  codecs_append_copy (codecs, chosen);
  /* RFC 4733 2.1: events run at the clock rate of the audio they go with. */
  for (guint i = 0; i < offer->codecs->len; i++) {
    const AmgwCodec *c = &g_array_index (offer->codecs, AmgwCodec, i);
    if (c->id == AMGW_CODEC_TELEPHONE_EVENT && c->clock_rate == chosen->clock_rate) {
      codecs_append_copy (codecs, c);
      break;
    }
  }
  GST_DEBUG ("negotiated %s/%u as payload type %u%s", amgw_codec_name (chosen->id),
      chosen->clock_rate, chosen->pt, codecs->len > 1 ? " with telephone-event" : "");
  *codecs_out = codecs;
  return TRUE;

  /* ERRORS */
no_common:
  offered = g_string_new (NULL);
  for (guint i = 0; i < offer->codecs->len; i++) {
    const AmgwCodec *c = &g_array_index (offer->codecs, AmgwCodec, i);
    const char *name = c->name != NULL ? c->name : amgw_codec_name (c->id);
    g_string_append_printf (offered, "%s%s/%u", i > 0 ? ", " : "",
        name != NULL ? name : "?", c->clock_rate);
  }
  GST_INFO ("no audio codec in common (offered: %s)", offered->str);
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_NO_COMMON_CODEC,
      "SDP: no audio codec in common (offered: %s)", offered->len > 0 ? offered->str : "none");
  return FALSE;
}

AmgwMediaDirection
amgw_sdp_answer_direction (AmgwMediaDirection offered, AmgwMediaDirection wanted)
{
  gboolean peer_sends = offered == AMGW_MEDIA_SENDRECV || offered == AMGW_MEDIA_SENDONLY;
  gboolean peer_receives = offered == AMGW_MEDIA_SENDRECV || offered == AMGW_MEDIA_RECVONLY;
  gboolean want_send = wanted == AMGW_MEDIA_SENDRECV || wanted == AMGW_MEDIA_SENDONLY;
  gboolean want_receive = wanted == AMGW_MEDIA_SENDRECV || wanted == AMGW_MEDIA_RECVONLY;
  gboolean send = peer_receives && want_send;
  gboolean receive = peer_sends && want_receive;

  if (send && receive)
    return AMGW_MEDIA_SENDRECV;
  if (send)
    return AMGW_MEDIA_SENDONLY;
  if (receive)
    return AMGW_MEDIA_RECVONLY;
  return AMGW_MEDIA_INACTIVE;
}

gboolean
amgw_sdp_dtls_role (AmgwDtlsSetup remote_setup, gboolean remote_is_offer,
    AmgwDtlsSetup *role_out, GError **error)
{
  AmgwDtlsSetup role;

  g_return_val_if_fail (role_out != NULL, FALSE);

  switch (remote_setup) {
    case AMGW_DTLS_SETUP_ACTPASS:
      if (!remote_is_offer)
        goto actpass_answer;
      /* RFC 5763 5: the answerer of actpass should be active. */
      role = AMGW_DTLS_SETUP_ACTIVE;
      break;
    case AMGW_DTLS_SETUP_ACTIVE:
      role = AMGW_DTLS_SETUP_PASSIVE;
      break;
    case AMGW_DTLS_SETUP_PASSIVE:
      role = AMGW_DTLS_SETUP_ACTIVE;
      break;
    default:
      goto invalid;
  }
  *role_out = role;
  return TRUE;

  /* ERRORS */
actpass_answer:
  g_set_error_literal (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID,
      "SDP: the answer says a=setup:actpass; it must be active or passive");
  return FALSE;
invalid:
  g_set_error (error, AMGW_SDP_ERROR, AMGW_SDP_ERROR_INVALID, "SDP: unknown a=setup value %d",
      (int) remote_setup);
  return FALSE;
}
