/* amgw — the SIP and SIPS bridge leg: Sofia-SIP's NUA on the control loop,
 * media through AmgwRtpSession (rtp-session.h).
 *
 * One NUA for the process.  Each leg owns one nua_handle_t whose magic is a
 * small SipHandle that points back to the leg; finalize clears that pointer,
 * so NUA events that arrive for a handle after its leg is gone are ignored,
 * and the handle is destroyed once its dialog has terminated (the BYE or
 * CANCEL sent at hang-up has completed).
 *
 * SIPS legs go through a second NUA whose only transport is TLS (so plain
 * calls never advertise a sips: Contact), with SDES-SRTP media; see "The SIPS
 * certificate probe" for how a certificate that does not verify ends the call.
 *
 * SDP is amgw's own (NUTAG_MEDIA_ENABLE(0)): the offer and answers come from
 * the leg's AmgwRtpSession and travel as application/sdp payloads.
 */
#include "amgw/sip-leg.h"
#include "amgw/metrics.h"
#include "amgw/debug.h"
#include "amgw/dtls.h"
#include "amgw/leg.h"
#include "amgw/rtp-session.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <sofia-sip/su_glib.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/msg_header.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

#include <errno.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (amgw_sip_debug);
#define GST_CAT_DEFAULT amgw_sip_debug

G_DEFINE_QUARK (amgw-sip-error-quark, amgw_sip_error)

#define INFO_DIGIT_INTERVAL_MS 250     /* between two SIP INFO digits */
#define SIP_MAX_DTMF_QUEUE 64          /* relayed digits waiting for the sequence playing */
#define SHUTDOWN_WAIT_MS 3000          /* nua_shutdown: at most this long */
#define MAX_AUTH_ATTEMPTS 1            /* one digest answer per challenge chain */
#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"  /* [sip] ca-file not set */
#define MAX_CA_FILE_BYTES (4 * 1024 * 1024)  /* a bigger ca-file is refused */

static void
ensure_debug (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done)) {
    amgw_debug_init ();
    GST_DEBUG_CATEGORY_INIT (amgw_sip_debug, "amgw-sip", 0, "amgw SIP bridge leg");
    g_once_init_leave (&done, 1);
  }
}

/* ------------------------------------------------------------------------ */
/* The dial string                                                           */
/* ------------------------------------------------------------------------ */

/* RFC 3261 user = unreserved / escaped / user-unreserved; ';' and '?' are
 * escaped too (legal, but parsers disagree about them). */
static void
append_escaped_user (GString *out, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";

  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
    if (g_ascii_isalnum (*p) || strchr ("-_.!~*'()&=+$,/", *p) != NULL) {
      g_string_append_c (out, (char) *p);
    } else {
      g_string_append_c (out, '%');
      g_string_append_c (out, hex[*p >> 4]);
      g_string_append_c (out, hex[*p & 0xf]);
    }
  }
}

static gboolean
field_ok (const char *what, const char *s, GError **error)
{
  if (s == NULL)
    return TRUE;
  if (strlen (s) > AMGW_SIP_MAX_FIELD_CHARS) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET, "the %s is longer than %d bytes",
        what, AMGW_SIP_MAX_FIELD_CHARS);
    return FALSE;
  }
  for (const unsigned char *p = (const unsigned char *) s; *p != '\0'; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
          "the %s contains a control character", what);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
host_char_ok (char c)
{
  return g_ascii_isalnum (c) || c == '-' || c == '.' || c == '_';
}

static gboolean
param_char_ok (char c)
{
  /* unreserved / escaped / param-unreserved, and '=' between name and value */
  return g_ascii_isalnum (c) || strchr ("-_.!~*'()[]/:&+$%=", c) != NULL;
}

/* Checks "host", "host:port", "[v6]", "[v6]:port" or a bare IPv6 address;
 * appends the normalized form (bare IPv6 gets brackets) to @out. */
static gboolean
parse_hostport (const char *s, gsize n, GString *out, GError **error)
{
  const char *end = s + n, *port = NULL;

  if (n == 0)
    goto no_host;
  if (s[0] == '[') {
    const char *close = memchr (s, ']', n);
    g_autofree char *v6 = NULL;
    g_autoptr (GInetAddress) address = NULL;

    if (close == NULL)
      goto bad_host;
    v6 = g_strndup (s + 1, close - s - 1);
    address = g_inet_address_new_from_string (v6);
    if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
      goto bad_host;
    if (close + 1 < end) {
      if (close[1] != ':')
        goto bad_host;
      port = close + 2;
    }
    g_string_append_len (out, s, close + 1 - s);
  } else {
    const char *colon = memchr (s, ':', n);

    if (colon != NULL && memchr (colon + 1, ':', end - colon - 1) != NULL) {
      /* Two colons or more: a bare IPv6 address. */
      g_autofree char *v6 = g_strndup (s, n);
      g_autoptr (GInetAddress) address = g_inet_address_new_from_string (v6);

      if (address == NULL)
        goto bad_host;
      g_string_append_printf (out, "[%s]", v6);
      return TRUE;
    }
    if (colon == s)
      goto no_host;
    for (const char *p = s; p < (colon ? colon : end); p++) {
      if (!host_char_ok (*p))
        goto bad_host;
    }
    if (s[0] == '.' || s[0] == '-')
      goto bad_host;
    if (colon != NULL)
      port = colon + 1;
    g_string_append_len (out, s, (colon ? colon : end) - s);
  }
  if (port != NULL) {
    guint64 value;
    g_autofree char *text = g_strndup (port, end - port);

    if (*text == '\0' || strlen (text) > 5
        || !g_ascii_string_to_unsigned (text, 10, 1, 65535, &value, NULL)) {
      g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
          "the endpoint's port must be a number from 1 to 65535");
      return FALSE;
    }
    g_string_append_printf (out, ":%u", (guint) value);
  }
  return TRUE;

  /* ERRORS */
no_host:
  g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET, "the endpoint has no host");
  return FALSE;
bad_host:
  g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
      "the endpoint's host is not a host name, an IPv4 address or a bracketed IPv6 address");
  return FALSE;
}

char *
amgw_sip_build_target (const char *protocol, const char *endpoint, const char *meeting_id,
    const char *pin, const char *template, GError **error)
{
  g_autoptr (GString) uri = g_string_new (NULL);
  g_autoptr (GString) hostport = g_string_new (NULL);
  const char *scheme, *rest, *params, *at;
  gboolean sips;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (protocol == NULL || (g_ascii_strcasecmp (protocol, "SIP") != 0
          && g_ascii_strcasecmp (protocol, "SIPS") != 0)) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
        "the protocol must be SIP or SIPS");
    return NULL;
  }
  sips = g_ascii_strcasecmp (protocol, "SIPS") == 0;
  scheme = sips ? "sips" : "sip";
  if (template == NULL)
    template = "{id}";
  if (!field_ok ("endpoint", endpoint, error) || !field_ok ("meeting id", meeting_id, error)
      || !field_ok ("pin", pin, error) || !field_ok ("dial template", template, error))
    return NULL;
  if (endpoint == NULL || *endpoint == '\0') {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET, "the endpoint is empty");
    return NULL;
  }
  if (strpbrk (endpoint, " \t<>\"\\") != NULL) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
        "the endpoint contains blanks, quotes or angle brackets");
    return NULL;
  }

  rest = endpoint;
  if (g_ascii_strncasecmp (rest, "sips:", 5) == 0) {
    if (!sips) {
      g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
          "a sips: endpoint needs the protocol SIPS");
      return NULL;
    }
    rest += 5;
  } else if (g_ascii_strncasecmp (rest, "sip:", 4) == 0) {
    rest += 4;
  }
  if (strchr (rest, '?') != NULL) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
        "the endpoint URI carries headers ('?'): not allowed");
    return NULL;
  }
  params = strchr (rest, ';');
  if (params == NULL)
    params = rest + strlen (rest);
  for (const char *p = params; *p != '\0'; p++) {
    if (*p != ';' && !param_char_ok (*p)) {
      g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
          "the endpoint's URI parameters contain a character that is not allowed");
      return NULL;
    }
  }
  if (*params == ';' && (params[1] == '\0' || params[1] == ';' || params[1] == '=')) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
        "the endpoint has an empty URI parameter");
    return NULL;
  }

  at = memchr (rest, '@', params - rest);
  if (at != NULL) {
    /* The endpoint names the meeting itself: user@host. */
    if (at == rest) {
      g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
          "the endpoint has an empty user part before '@'");
      return NULL;
    }
    for (const char *p = rest; p < at; p++) {
      if (!g_ascii_isalnum (*p) && strchr ("-_.!~*'()&=+$,/%#", *p) == NULL) {
        g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
            "the endpoint's user part contains a character that is not allowed");
        return NULL;
      }
    }
    if (!parse_hostport (at + 1, params - at - 1, hostport, error))
      return NULL;
    g_string_append_printf (uri, "%s:", scheme);
    for (const char *p = rest; p < at; p++) {
      if (*p == '#')
        g_string_append (uri, "%23");
      else
        g_string_append_c (uri, *p);
    }
    g_string_append_printf (uri, "@%s%s", hostport->str, params);
    goto done;
  }

  if (!parse_hostport (rest, params - rest, hostport, error))
    return NULL;

  g_string_append_printf (uri, "%s:", scheme);
  {
    gsize user_start = uri->len;

    for (const char *p = template; *p != '\0';) {
      const char *close;
      g_autofree char *chunk = NULL;

      if (*p != '{') {
        const char *next = strchr (p, '{');
        chunk = next ? g_strndup (p, next - p) : g_strdup (p);
        if (strchr (chunk, '}') != NULL || strchr (chunk, '@') != NULL) {
          g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
              "the dial template has a stray '}' or an '@'");
          return NULL;
        }
        append_escaped_user (uri, chunk);
        p = next ? next : p + strlen (p);
        continue;
      }
      close = strchr (p, '}');
      if (close == NULL)
        goto bad_placeholder;
      chunk = g_strndup (p + 1, close - p - 1);
      if (strcmp (chunk, "id") == 0)
        append_escaped_user (uri, meeting_id ? meeting_id : "");
      else if (strcmp (chunk, "pin") == 0)
        append_escaped_user (uri, pin ? pin : "");
      else if (strcmp (chunk, "endpoint") == 0)
        append_escaped_user (uri, hostport->str);
      else
        goto bad_placeholder;
      p = close + 1;
    }
    if (uri->len > user_start)
      g_string_append_c (uri, '@');
  }
  g_string_append (uri, hostport->str);
  g_string_append (uri, params);

done:
  if (uri->len > AMGW_SIP_MAX_TARGET_CHARS) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
        "the Request-URI would be longer than %d characters", AMGW_SIP_MAX_TARGET_CHARS);
    return NULL;
  }
  return g_string_free (g_steal_pointer (&uri), FALSE);

  /* ERRORS */
bad_placeholder:
  g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_TARGET,
      "the dial template has an unknown placeholder: use {id}, {pin} and {endpoint}");
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* The user agent                                                            */
/* ------------------------------------------------------------------------ */

typedef struct _SipLeg SipLeg;

/* The magic of one nua_handle_t. */
typedef struct {
  SipLeg *leg;              /* (nullable) cleared when the leg is finalized */
  nua_handle_t *nh;
  gboolean invited;         /* an INVITE went out: a dialog may exist */
  gboolean terminated;      /* the call state reached "terminated" */
} SipHandle;

struct _SipLeg {
  AmgwLeg parent;
  SipHandle *h;
  AmgwRtpSession *rtp;
  GMainContext *media_context;
  char *target;             /* the Request-URI (may carry the pin: not logged then) */
  char *host;               /* (nullable) its host[:port], made by leg_host() */
  gboolean target_has_pin;
  char *digits;             /* (nullable) secret: what DTMF enters after the answer */
  AmgwDtmfMode dtmf_mode;
  guint dtmf_pause_ms;
  guint info_pos;           /* next digit for SIP INFO */
  char *playing;            /* (nullable) secret: the SIP INFO sequence under way */
  gboolean dtmf_busy;       /* a sequence is playing (or the pin waits for its pause) */
  GString *dtmf_queue;      /* digits relayed from Alexa meanwhile (secret) */
  guint invite_timer;
  guint dtmf_timer;
  gboolean ringing;
  gboolean early;
  gboolean answered;
  gboolean ended;           /* ENDED emitted or hung up: report nothing more */
  gboolean auth_tried;
  gboolean reinvite_out;    /* our re-INVITE (set_direction) is in progress */
  AmgwMediaDirection local_direction;
  AmgwMediaDirection remote_direction;
  guint last_status;
  GCancellable *tls_probe;  /* (nullable) the SIPS certificate check under way */
};

static struct {
  const AmgwConfig *config;
  AmgwMediaLoops *loops;
  su_root_t *root;
  nua_t *nua;               /* sip: over UDP and TCP */
  nua_t *nua_tls;           /* (nullable) sips: over TLS only, so that plain calls
                             * never get a sips: Contact */
  nua_handle_t *reg_nh;     /* REGISTER, when [sip] register */
  gboolean reg_auth_tried;
  GList *handles;           /* SipHandle* with a live nua handle */
  char *from;               /* (nullable) From: header */
  gboolean have_tls;
  char *tls_dir;            /* (nullable) Sofia-SIP's certificate directory, ours, 0700 */
  char *tls_problem;        /* (nullable) why SIPS is off */
  GTlsDatabase *tls_db;     /* (nullable) the same CAs for the TLS probe (GIO) */
  gboolean shutdown_done;
  gboolean tls_shutdown_done;
  gboolean running;
} ua;

static const char *
leg_id (SipLeg *leg)
{
  return leg->parent.session_id;
}

/* The Request-URI's host[:port] (never its user part, which may carry the
 * pin), for messages; "the bridge" when there is none. */
static const char *
leg_host (SipLeg *leg)
{
  const char *start, *end;

  if (leg->target == NULL)
    return "the bridge";
  if (leg->host == NULL) {
    start = strchr (leg->target, '@');
    start = start ? start + 1 : strchr (leg->target, ':') ? strchr (leg->target, ':') + 1
                                                           : leg->target;
    end = start + strcspn (start, ";?>");
    leg->host = g_strndup (start, end - start);
  }
  return leg->host;
}

static void
handle_destroy (SipHandle *h)
{
  ua.handles = g_list_remove (ua.handles, h);
  if (h->nh != NULL) {
    nua_handle_bind (h->nh, NULL);
    nua_handle_destroy (h->nh);
  }
  g_free (h);
}

/* Reports ENDED once; the leg may be freed inside: nothing touches it after. */
static void
leg_end (SipLeg *leg, AmgwResultCode result, const char *message)
{
  AmgwLegEventInfo info = { .result = result, .message = message };

  if (leg->ended)
    return;
  leg->ended = TRUE;
  g_clear_handle_id (&leg->invite_timer, g_source_remove);
  g_clear_handle_id (&leg->dtmf_timer, g_source_remove);
  if (leg->tls_probe != NULL)
    g_cancellable_cancel (leg->tls_probe);
  GST_INFO ("[%s] SIP leg ends: %s (%s)", leg_id (leg), amgw_result_code_name (result), message);
  amgw_leg_emit (&leg->parent, AMGW_LEG_EVENT_ENDED, &info);
}

/* Sends BYE (answered) or CANCEL (ringing) if a dialog is open. */
static void
leg_release_dialog (SipLeg *leg)
{
  SipHandle *h = leg->h;

  if (h == NULL || !h->invited || h->terminated)
    return;
  if (leg->answered) {
    GST_INFO ("[%s] -> BYE", leg_id (leg));
    nua_bye (h->nh, TAG_END ());
  } else {
    GST_INFO ("[%s] -> CANCEL", leg_id (leg));
    nua_cancel (h->nh, TAG_END ());
  }
}

static AmgwResultCode
result_for_status (SipLeg *leg, int status)
{
  switch (status) {
    case 486:
    case 600:
      return AMGW_RESULT_DEVICE_BUSY;
    case 408:
    case 480:
    case 487:
      return AMGW_RESULT_SESSION_TIMEOUT;
    case 401:
    case 407:
      return AMGW_RESULT_UNAUTHORIZED;
    case 403:
      return leg->auth_tried ? AMGW_RESULT_UNAUTHORIZED : AMGW_RESULT_INTERNAL_ERROR;
    default:
      return AMGW_RESULT_INTERNAL_ERROR;
  }
}

static const char *
payload_sdp (const sip_t *sip)
{
  if (sip == NULL || sip->sip_payload == NULL || sip->sip_payload->pl_data == NULL
      || sip->sip_payload->pl_len == 0)
    return NULL;
  if (sip->sip_content_type != NULL && sip->sip_content_type->c_type != NULL
      && g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") != 0)
    return NULL;
  return sip->sip_payload->pl_data;
}

/* The payload is not NUL-terminated in every case: copy it. */
static char *
dup_sdp (const sip_t *sip)
{
  if (payload_sdp (sip) == NULL)
    return NULL;
  return g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

/* ---- DTMF after the answer ---- */

static void dtmf_next (SipLeg *leg);

static gboolean
info_next_digit (gpointer data)
{
  SipLeg *leg = data;
  char digit;
  g_autofree char *body = NULL;

  leg->dtmf_timer = 0;
  if (leg->ended || leg->playing == NULL || leg->h == NULL)
    return G_SOURCE_REMOVE;
  digit = leg->playing[leg->info_pos];
  if (digit == '\0') {
    GST_INFO ("[%s] DTMF (SIP INFO) sent", leg_id (leg));
    explicit_bzero (leg->playing, strlen (leg->playing));
    g_clear_pointer (&leg->playing, g_free);
    dtmf_next (leg);
    return G_SOURCE_REMOVE;
  }
  leg->info_pos++;
  if (digit == ',') {
    leg->dtmf_timer = g_timeout_add (leg->dtmf_pause_ms, info_next_digit, leg);
    return G_SOURCE_REMOVE;
  }
  body = g_strdup_printf ("Signal=%c\r\nDuration=160\r\n", digit);
  nua_info (leg->h->nh, SIPTAG_CONTENT_TYPE_STR ("application/dtmf-relay"),
      SIPTAG_PAYLOAD_STR (body), TAG_END ());
  explicit_bzero (body, strlen (body));
  leg->dtmf_timer = g_timeout_add (INFO_DIGIT_INTERVAL_MS, info_next_digit, leg);
  return G_SOURCE_REMOVE;
}

/* Plays @digits now, in the leg's DTMF mode. */
static void
dtmf_play (SipLeg *leg, const char *digits)
{
  g_autoptr (GError) error = NULL;

  leg->dtmf_busy = TRUE;
  if (leg->dtmf_mode == AMGW_DTMF_INFO) {
    g_free (leg->playing);
    leg->playing = g_strdup (digits);
    leg->info_pos = 0;
    info_next_digit (leg);
    return;
  }
  if (!amgw_rtp_session_send_dtmf (leg->rtp, digits, leg->dtmf_mode, leg->dtmf_pause_ms,
          &error)) {
    GST_WARNING ("[%s] cannot send DTMF: %s", leg_id (leg), error->message);
    leg->dtmf_busy = FALSE;
  }
}

/* A sequence ended: play what was relayed meanwhile. */
static void
dtmf_next (SipLeg *leg)
{
  g_autofree char *digits = NULL;

  leg->dtmf_busy = FALSE;
  if (leg->ended || leg->dtmf_queue == NULL || leg->dtmf_queue->len == 0)
    return;
  digits = g_strdup (leg->dtmf_queue->str);
  explicit_bzero (leg->dtmf_queue->str, leg->dtmf_queue->len);
  g_string_truncate (leg->dtmf_queue, 0);
  dtmf_play (leg, digits);
  explicit_bzero (digits, strlen (digits));
}

static gboolean
dtmf_start (gpointer data)
{
  SipLeg *leg = data;

  leg->dtmf_timer = 0;
  if (leg->ended || leg->digits == NULL)
    return G_SOURCE_REMOVE;
  GST_INFO ("[%s] entering the meeting: %u DTMF digit(s) as %s", leg_id (leg),
      (guint) strlen (leg->digits), amgw_dtmf_mode_to_string (leg->dtmf_mode));
  dtmf_play (leg, leg->digits);
  if (!leg->dtmf_busy)
    dtmf_next (leg);
  return G_SOURCE_REMOVE;
}

/* DTMF from the Alexa device, relayed in the bridge's DTMF mode: after the
 * pin, one sequence at a time. */
static gboolean
sip_send_dtmf (AmgwLeg *base, const char *digits, GError **error)
{
  SipLeg *leg = (SipLeg *) base;

  if (leg->ended || !leg->answered || leg->rtp == NULL) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_FAILED, "DTMF needs an answered call");
    return FALSE;
  }
  if (leg->dtmf_queue == NULL)
    leg->dtmf_queue = g_string_new (NULL);
  if (leg->dtmf_queue->len + strlen (digits) > SIP_MAX_DTMF_QUEUE) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_FAILED,
        "more than %d DTMF digits waiting", SIP_MAX_DTMF_QUEUE);
    return FALSE;
  }
  GST_DEBUG ("[%s] relaying %u DTMF digit(s) as %s", leg_id (leg), (guint) strlen (digits),
      amgw_dtmf_mode_to_string (leg->dtmf_mode));
  g_string_append (leg->dtmf_queue, digits);
  if (!leg->dtmf_busy && leg->dtmf_timer == 0)
    dtmf_next (leg);
  return TRUE;
}

/* ---- Media callbacks (control loop) ---- */

static void
on_rtp_inactive (const char *reason, gpointer user_data)
{
  SipLeg *leg = user_data;

  if (leg->ended)
    return;
  GST_WARNING ("[%s] the bridge's media stopped: %s", leg_id (leg), reason);
  leg_release_dialog (leg);
  leg_end (leg, AMGW_RESULT_SESSION_TIMEOUT, reason);
}

static void
on_dtmf_done (gpointer user_data)
{
  SipLeg *leg = user_data;

  GST_INFO ("[%s] DTMF played out", leg_id (leg));
  dtmf_next (leg);
}

/* ---- NUA events for one leg ---- */

static void
leg_on_invite_response (SipLeg *leg, int status, const char *phrase, const sip_t *sip,
    nua_handle_t *nh)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = NULL;
  g_autofree char *message = NULL;

  if (status < 100)
    return;
  leg->last_status = status;
  GST_INFO ("[%s] <- %d %s", leg_id (leg), status, phrase ? phrase : "");

  if (leg->answered) {
    /* The answer to our re-INVITE (set_direction). */
    if (status < 200)
      return;
    leg->reinvite_out = FALSE;
    if (status < 300) {
      sdp = dup_sdp (sip);
      if (sdp && !amgw_rtp_session_apply_answer (leg->rtp, sdp, &error))
        GST_WARNING ("[%s] the bridge's answer to the re-INVITE is unusable: %s", leg_id (leg),
            error->message);
      return;
    }
    if (status == 481 || status == 408) {
      message = g_strdup_printf ("the bridge answered the re-INVITE with %d %s", status,
          phrase ? phrase : "");
      leg_release_dialog (leg);
      leg_end (leg, AMGW_RESULT_INTERNAL_ERROR, message);
    } else {
      GST_WARNING ("[%s] the bridge refused the re-INVITE: %d %s", leg_id (leg), status,
          phrase ? phrase : "");
    }
    return;
  }

  if (status < 200) {
    sdp = dup_sdp (sip);
    if (sdp != NULL) {
      if (!amgw_rtp_session_apply_answer (leg->rtp, sdp, &error)) {
        GST_WARNING ("[%s] the early-media SDP is unusable: %s", leg_id (leg), error->message);
        return;
      }
      if (!leg->early) {
        leg->early = TRUE;
        amgw_leg_emit (&leg->parent, AMGW_LEG_EVENT_PROGRESS, NULL);
      }
      return;
    }
    if (status >= 180 && !leg->ringing) {
      leg->ringing = TRUE;
      amgw_leg_emit (&leg->parent, AMGW_LEG_EVENT_RINGING, NULL);
    }
    return;
  }

  if (status < 300) {
    sdp = dup_sdp (sip);
    g_clear_handle_id (&leg->invite_timer, g_source_remove);
    leg->answered = TRUE;
    if (sdp == NULL && !leg->early) {
      leg_release_dialog (leg);
      leg_end (leg, AMGW_RESULT_INTERNAL_ERROR, "the bridge answered without SDP");
      return;
    }
    if (sdp != NULL && !amgw_rtp_session_apply_answer (leg->rtp, sdp, &error)) {
      message = g_strdup_printf ("the bridge's SDP answer is unusable: %s", error->message);
      leg_release_dialog (leg);
      leg_end (leg, AMGW_RESULT_INTERNAL_ERROR, message);
      return;
    }
    leg->remote_direction = amgw_rtp_session_get_remote_direction (leg->rtp);
    if (leg->digits != NULL)
      leg->dtmf_timer = g_timeout_add (leg->dtmf_pause_ms, dtmf_start, leg);
    amgw_leg_emit (&leg->parent, AMGW_LEG_EVENT_ANSWERED, NULL);
    return;
  }

  if ((status == 401 || status == 407) && !leg->auth_tried && sip != NULL
      && ua.config->sip_user != NULL && ua.config->sip_password != NULL) {
    const msg_auth_t *au = status == 401 ? (const msg_auth_t *) sip->sip_www_authenticate
                                         : (const msg_auth_t *) sip->sip_proxy_authenticate;
    const char *realm = au ? msg_params_find (au->au_params, "realm=") : NULL;

    if (au != NULL && realm != NULL) {
      g_autofree char *cred = NULL;

      leg->auth_tried = TRUE;
      cred = g_strdup_printf ("%s:%s%s%s:%s:%s", au->au_scheme, realm[0] == '"' ? "" : "\"",
          realm, realm[0] == '"' ? "" : "\"", ua.config->sip_user, ua.config->sip_password);
      GST_INFO ("[%s] -> INVITE with credentials of user %s", leg_id (leg), ua.config->sip_user);
      nua_authenticate (nh, NUTAG_AUTH (cred), TAG_END ());
      explicit_bzero (cred, strlen (cred));
      return;
    }
  }

  GST_DEBUG ("[%s] final answer %d: via %s, to-tag %s", leg_id (leg), status,
      sip && sip->sip_via ? "yes" : "no", sip && sip->sip_to && sip->sip_to->a_tag ? "yes" : "no");
  /* Sofia-SIP answers for the network when a request cannot be sent (503)
   * or gets no response (408): that is no answer of the bridge's. */
  if ((sip == NULL || sip->sip_via == NULL) && status == 503)
    message = g_strdup_printf ("cannot reach the bridge at %s: the connection failed "
        "(nothing listens there, or the network refused it)", leg_host (leg));
  else if ((sip == NULL || sip->sip_via == NULL) && status == 408)
    message = g_strdup_printf ("the bridge at %s never answered the INVITE (SIP transaction "
        "time-out)", leg_host (leg));
  else if (status == 401 || status == 407)
    message = g_strdup_printf ("the bridge answered %d %s%s", status, phrase ? phrase : "",
        leg->auth_tried ? " to amgw's credentials"
        : ua.config->sip_user == NULL ? " and [sip] user/password are not set" : "");
  else
    message = g_strdup_printf ("the bridge answered %d %s", status, phrase ? phrase : "");
  leg_end (leg, result_for_status (leg, status), message);
}

/* After the bridge's SDP: tells the call when its direction changed (hold,
 * resume). */
static void
note_remote_direction (SipLeg *leg)
{
  AmgwLegEventInfo info = { 0, };
  AmgwMediaDirection direction = amgw_rtp_session_get_remote_direction (leg->rtp);

  if (direction == leg->remote_direction)
    return;
  leg->remote_direction = direction;
  info.direction = direction;
  amgw_leg_emit (&leg->parent, AMGW_LEG_EVENT_DIRECTION, &info);
}

/* An INVITE inside the dialog: the bridge renegotiates (hold, resume, codec). */
static void
leg_on_reinvite (SipLeg *leg, nua_handle_t *nh, const sip_t *sip)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = dup_sdp (sip);
  g_autofree char *answer = NULL;

  GST_INFO ("[%s] <- re-INVITE%s", leg_id (leg), offer ? "" : " without SDP");
  if (offer == NULL) {
    /* Offer-less re-INVITE: offer in the 200, the answer comes in the ACK. */
    answer = amgw_rtp_session_create_offer (leg->rtp, leg->local_direction, &error);
  } else {
    answer = amgw_rtp_session_create_answer (leg->rtp, offer, leg->local_direction, &error);
  }
  if (answer == NULL) {
    GST_WARNING ("[%s] cannot answer the re-INVITE: %s", leg_id (leg), error->message);
    nua_respond (nh, SIP_488_NOT_ACCEPTABLE, TAG_END ());
    return;
  }
  nua_respond (nh, SIP_200_OK, SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
      SIPTAG_PAYLOAD_STR (answer), TAG_END ());
  if (offer == NULL)
    return;
  note_remote_direction (leg);
}

static void
leg_on_ack (SipLeg *leg, const sip_t *sip)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = dup_sdp (sip);

  if (sdp == NULL)
    return;
  if (!amgw_rtp_session_apply_answer (leg->rtp, sdp, &error)) {
    GST_WARNING ("[%s] the SDP in the ACK is unusable: %s", leg_id (leg), error->message);
    return;
  }
  note_remote_direction (leg);
}

static void
ua_on_register (int status, const char *phrase, const sip_t *sip, nua_handle_t *nh)
{
  if (status < 200)
    return;
  if ((status == 401 || status == 407) && !ua.reg_auth_tried && sip != NULL
      && ua.config->sip_password != NULL) {
    const msg_auth_t *au = status == 401 ? (const msg_auth_t *) sip->sip_www_authenticate
                                         : (const msg_auth_t *) sip->sip_proxy_authenticate;
    const char *realm = au ? msg_params_find (au->au_params, "realm=") : NULL;

    if (au != NULL && realm != NULL) {
      g_autofree char *cred = g_strdup_printf ("%s:%s%s%s:%s:%s", au->au_scheme,
          realm[0] == '"' ? "" : "\"", realm, realm[0] == '"' ? "" : "\"", ua.config->sip_user,
          ua.config->sip_password);
      ua.reg_auth_tried = TRUE;
      nua_authenticate (nh, NUTAG_AUTH (cred), TAG_END ());
      explicit_bzero (cred, strlen (cred));
      return;
    }
  }
  if (status < 300) {
    ua.reg_auth_tried = FALSE;
    GST_INFO ("registered with %s: %d %s", ua.config->sip_registrar, status, phrase);
  } else {
    GST_WARNING ("registration with %s failed: %d %s", ua.config->sip_registrar, status, phrase);
  }
}

/* SIP responses to amgw's requests, by method and code, for /metrics;
 * origin "amgw" when Sofia-SIP made the response itself (a transport
 * failure or a time-out), "peer" when it came over the network. */
static void
count_response (nua_event_t event, int status, const sip_t *sip)
{
  static const struct { nua_event_t event; const char *method; } methods[] = {
    { nua_r_invite, "INVITE" }, { nua_r_bye, "BYE" }, { nua_r_cancel, "CANCEL" },
    { nua_r_info, "INFO" }, { nua_r_register, "REGISTER" }, { nua_r_unregister, "REGISTER" },
    { nua_r_options, "OPTIONS" }, { nua_r_update, "UPDATE" }, { nua_r_prack, "PRACK" },
  };
  char code[8];

  if (status < 100 || status > 699)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (methods); i++) {
    if (methods[i].event != event)
      continue;
    g_snprintf (code, sizeof code, "%d", status);
    amgw_metrics_add ("amgw_sip_responses_total", 1, "method", methods[i].method, "code", code,
        "origin", sip != NULL && sip->sip_via != NULL ? "peer" : "amgw", NULL);
    return;
  }
}

static void
ua_callback (nua_event_t event, int status, char const *phrase, nua_t *nua, nua_magic_t *magic,
    nua_handle_t *nh, nua_hmagic_t *hmagic, sip_t const *sip, tagi_t tags[])
{
  SipHandle *h = (SipHandle *) hmagic;
  SipLeg *leg;

  GST_LOG ("nua event %s %d %s", nua_event_name (event), status, phrase ? phrase : "");
  count_response (event, status, sip);

  if (event == nua_r_shutdown) {
    if (status >= 200)
      *(nua == ua.nua_tls ? &ua.tls_shutdown_done : &ua.shutdown_done) = TRUE;
    return;
  }
  if (nh != NULL && nh == ua.reg_nh) {
    if (event == nua_r_register)
      ua_on_register (status, phrase, sip, nh);
    return;
  }
  if (h == NULL) {
    /* A handle NUA made for a request from outside: no call of ours. */
    if (nh == NULL)
      return;
    if (event == nua_i_invite) {
      GST_INFO ("refusing an incoming INVITE from %s: amgw only dials out",
          sip && sip->sip_from && sip->sip_from->a_url->url_host
              ? sip->sip_from->a_url->url_host : "?");
      nua_respond (nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END ());
    }
    if (event == nua_i_invite || event == nua_i_options || event == nua_i_message
        || event == nua_i_info || event == nua_i_method || event == nua_i_subscribe
        || event == nua_i_refer || event == nua_i_publish || event == nua_i_register
        || event == nua_i_notify || event == nua_i_bye)
      nua_handle_destroy (nh);
    return;
  }

  if (event == nua_i_state) {
    int state = nua_callstate_init;

    tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());
    if (state == nua_callstate_terminated) {
      h->terminated = TRUE;
      if (h->leg == NULL) {
        handle_destroy (h);
        return;
      }
      leg = h->leg;
      if (!leg->ended && leg->answered)
        leg_end (leg, AMGW_RESULT_INTERNAL_ERROR, "the SIP session ended");
    }
    return;
  }

  leg = h->leg;
  if (leg == NULL || leg->ended) {
    if (event == nua_i_invite)
      nua_respond (nh, SIP_481_NO_TRANSACTION, TAG_END ());
    return;
  }

  switch (event) {
    case nua_r_invite:
      leg_on_invite_response (leg, status, phrase, sip, nh);
      break;
    case nua_i_invite:
      leg_on_reinvite (leg, nh, sip);
      break;
    case nua_i_ack:
      leg_on_ack (leg, sip);
      break;
    case nua_i_bye:
      GST_INFO ("[%s] <- BYE", leg_id (leg));
      leg_end (leg, AMGW_RESULT_SUCCESS, "the bridge hung up (BYE)");
      break;
    case nua_r_info:
      if (status >= 300)
        GST_WARNING ("[%s] the bridge refused a DTMF INFO: %d %s", leg_id (leg), status, phrase);
      break;
    case nua_i_error:
      GST_WARNING ("[%s] SIP error: %d %s", leg_id (leg), status, phrase ? phrase : "");
      break;
    default:
      break;
  }
}

/* ------------------------------------------------------------------------ */
/* The leg class                                                             */
/* ------------------------------------------------------------------------ */

static gboolean
on_invite_timeout (gpointer data)
{
  SipLeg *leg = data;
  g_autofree char *message = NULL;

  leg->invite_timer = 0;
  if (leg->ended || leg->answered)
    return G_SOURCE_REMOVE;
  message = g_strdup_printf ("the bridge did not answer within %u ms (invite-timeout)",
      ua.config->sip_invite_timeout_ms);
  leg_release_dialog (leg);
  leg_end (leg, AMGW_RESULT_SESSION_TIMEOUT, message);
  return G_SOURCE_REMOVE;
}

/* The digits DTMF enters: what the template did not put in the URI. */
static char *
dtmf_digits (const char *template, const AmgwDialTarget *target)
{
  GString *digits = g_string_new (NULL);

  if (target->meeting_id && *target->meeting_id && strstr (template, "{id}") == NULL)
    g_string_append_printf (digits, "%s#", target->meeting_id);
  if (target->pin && *target->pin && strstr (template, "{pin}") == NULL) {
    if (digits->len > 0)
      g_string_append_c (digits, ',');
    g_string_append_printf (digits, "%s#", target->pin);
  }
  if (digits->len == 0) {
    g_string_free (digits, TRUE);
    return NULL;
  }
  /* Only what a keypad has. */
  for (gsize i = 0; i < digits->len; i++) {
    if (strchr ("0123456789*#ABCD,", g_ascii_toupper (digits->str[i])) == NULL) {
      explicit_bzero (digits->str, digits->len);
      g_string_free (digits, TRUE);
      return NULL;
    }
    digits->str[i] = g_ascii_toupper (digits->str[i]);
  }
  return g_string_free (digits, FALSE);
}

/* ---- The SIPS certificate probe ----
 *
 * Sofia-SIP verifies the bridge's certificate and, when it does not verify,
 * closes the connection without telling NUA: the INVITE would only time out.
 * So next to each SIPS INVITE amgw makes one TLS handshake of its own (GIO,
 * same CAs, the Request-URI's host as the identity) and nothing else; if the
 * certificate is refused, the call ends at once with the reason.  A probe
 * that cannot connect says nothing (Sofia-SIP reports that), and one that
 * succeeds is dropped: the call goes on over Sofia-SIP's own verified
 * connection, never in the clear. */

typedef struct {
  SipLeg *leg;              /* valid while @cancel is not cancelled */
  GCancellable *cancel;
  GSocketConnectable *identity;
  GTlsCertificateFlags errors;
} TlsProbe;

static void
tls_probe_free (TlsProbe *probe)
{
  g_object_unref (probe->cancel);
  g_object_unref (probe->identity);
  g_free (probe);
}

static gboolean
tls_probe_accept (GTlsConnection *conn, GTlsCertificate *peer, GTlsCertificateFlags errors,
    gpointer data)
{
  TlsProbe *probe = data;

  probe->errors = errors;
  return FALSE;
}

static char *
tls_probe_reason (GTlsCertificateFlags errors, const char *host)
{
  if (errors & (G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_INSECURE))
    return g_strdup ("certificate not trusted (not signed by a CA of [sip] ca-file)");
  if (errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
    return g_strdup_printf ("certificate not valid for %s", host);
  if (errors & (G_TLS_CERTIFICATE_EXPIRED | G_TLS_CERTIFICATE_NOT_ACTIVATED))
    return g_strdup ("certificate expired or not yet valid");
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    return g_strdup ("certificate revoked");
  return g_strdup ("certificate not trusted");
}

static void
tls_probe_handshaked (GObject *source, GAsyncResult *result, gpointer data)
{
  TlsProbe *probe = data;
  GTlsConnection *tls = G_TLS_CONNECTION (source);
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL, *message = NULL;
  gboolean ok = g_tls_connection_handshake_finish (tls, result, &error);
  SipLeg *leg = probe->leg;

  g_io_stream_close_async (G_IO_STREAM (tls), G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_object_unref (tls);
  if (g_cancellable_is_cancelled (probe->cancel)) {
    tls_probe_free (probe);
    return;
  }
  if (ok) {
    GST_DEBUG ("[%s] the bridge's TLS certificate verifies", leg_id (leg));
  } else if (g_error_matches (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE)) {
    reason = tls_probe_reason (probe->errors,
        g_network_address_get_hostname (G_NETWORK_ADDRESS (probe->identity)));
  } else if (error->domain == G_TLS_ERROR) {
    reason = g_strdup_printf ("handshake failed: %s", error->message);
  } else {
    GST_DEBUG ("[%s] TLS probe: %s", leg_id (leg), error->message);
  }
  tls_probe_free (probe);
  if (reason == NULL || leg->ended || leg->answered)
    return;
  message = g_strdup_printf ("TLS to the bridge failed: %s", reason);
  GST_WARNING ("[%s] %s", leg_id (leg), message);
  leg_release_dialog (leg);
  leg_end (leg, AMGW_RESULT_INTERNAL_ERROR, message);
}

static void
tls_probe_connected (GObject *source, GAsyncResult *result, gpointer data)
{
  TlsProbe *probe = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) conn = g_socket_client_connect_finish (G_SOCKET_CLIENT (source),
      result, &error);
  GIOStream *tls;

  if (conn == NULL || g_cancellable_is_cancelled (probe->cancel)) {
    if (conn == NULL && !g_cancellable_is_cancelled (probe->cancel))
      GST_DEBUG ("[%s] TLS probe: %s", leg_id (probe->leg), error->message);
    tls_probe_free (probe);
    return;
  }
  tls = g_tls_client_connection_new (G_IO_STREAM (conn), probe->identity, &error);
  if (tls == NULL) {
    GST_DEBUG ("[%s] TLS probe: %s", leg_id (probe->leg), error->message);
    tls_probe_free (probe);
    return;
  }
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), ua.tls_db);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (tls_probe_accept), probe);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, probe->cancel,
      tls_probe_handshaked, probe);
}

/* Starts the probe toward the host and port of the leg's sips: target (5061
 * when it has none).  Not with an outbound proxy: Sofia-SIP connects there. */
static void
tls_probe_start (SipLeg *leg)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url;
  TlsProbe *probe;
  g_autoptr (GSocketClient) client = NULL;
  g_autofree char *host = NULL;
  guint64 port = 5061;

  if (ua.tls_db == NULL || ua.config->sip_outbound_proxy != NULL)
    return;
  url = url_make (home, leg->target);
  if (url == NULL || url->url_host == NULL) {
    su_home_deinit (home);
    return;
  }
  host = url->url_host[0] == '[' ? g_strndup (url->url_host + 1, strlen (url->url_host) - 2)
                                 : g_strdup (url->url_host);
  if (url->url_port != NULL)
    g_ascii_string_to_unsigned (url->url_port, 10, 1, 65535, &port, NULL);
  su_home_deinit (home);

  probe = g_new0 (TlsProbe, 1);
  probe->leg = leg;
  probe->cancel = g_cancellable_new ();
  probe->identity = g_network_address_new (host, (guint16) port);
  leg->tls_probe = g_object_ref (probe->cancel);
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, ua.config->sip_invite_timeout_ms / 1000 + 1);
  g_socket_client_connect_async (client, probe->identity, probe->cancel, tls_probe_connected,
      probe);
}

static gboolean
sip_dial (AmgwLeg *base, const AmgwDialTarget *target, GError **error)
{
  SipLeg *leg = (SipLeg *) base;
  const AmgwConfig *cfg = ua.config;
  const AmgwSipProvider *provider = amgw_config_find_provider (cfg, target->provider);
  const char *template = provider && provider->dial_template ? provider->dial_template
                                                               : cfg->sip_dial_template;
  gboolean sips = g_ascii_strcasecmp (target->protocol, "SIPS") == 0;
  g_autoptr (GError) local = NULL;
  g_autofree char *offer = NULL;
  AmgwRtpSessionParams params = { 0, };
  AmgwRtpCallbacks callbacks = { .inactive = on_rtp_inactive, .dtmf_done = on_dtmf_done };
  SipHandle *h;

  if (ua.nua == NULL) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNAVAILABLE,
        "the SIP user agent is not running");
    return FALSE;
  }
  if (sips && !ua.have_tls) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNREACHABLE,
        "SIPS needs TLS, and this amgw has no TLS transport for SIP: %s",
        ua.tls_problem ? ua.tls_problem : "not started");
    return FALSE;
  }
  if (target->callee != NULL)
    leg->target = amgw_sip_build_target (target->protocol, target->callee, NULL, NULL, "",
        &local);
  else
    leg->target = amgw_sip_build_target (target->protocol, target->endpoint, target->meeting_id,
        target->pin, template, &local);
  if (leg->target == NULL) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_INVALID, "%s", local->message);
    return FALSE;
  }
  leg->target_has_pin = target->pin && *target->pin && strstr (template, "{pin}") != NULL;
  leg->dtmf_mode = provider && provider->has_dtmf ? provider->dtmf : cfg->sip_dtmf;
  leg->dtmf_pause_ms = provider && provider->has_dtmf_pause ? provider->dtmf_pause_ms
                                                             : cfg->sip_dtmf_pause_ms;
  if (target->callee == NULL)
    leg->digits = dtmf_digits (template, target);

  /* The call's other leg runs on the same loop (the key: the call's id). */
  leg->media_context = amgw_media_loops_acquire_keyed (ua.loops, leg_id (leg));
  params.config = cfg;
  params.media_context = leg->media_context;
  params.security = sips ? AMGW_RTP_SDES_SRTP : AMGW_RTP_PLAIN;
  params.inactivity_timeout_ms = cfg->sip_inactivity_timeout_ms;
  params.log_id = leg_id (leg);
  leg->rtp = amgw_rtp_session_new (&params, &callbacks, leg, &local);
  if (leg->rtp == NULL)
    goto media_failed;
  amgw_rtp_session_set_preferred_codec (leg->rtp, target->codec);
  offer = amgw_rtp_session_create_offer (leg->rtp, AMGW_MEDIA_SENDRECV, &local);
  if (offer == NULL)
    goto media_failed;

  h = g_new0 (SipHandle, 1);
  h->leg = leg;
  h->nh = nua_handle (sips ? ua.nua_tls : ua.nua, (nua_hmagic_t *) h, NUTAG_URL (leg->target),
      SIPTAG_TO_STR (leg->target), TAG_IF (ua.from != NULL, SIPTAG_FROM_STR (ua.from)),
      TAG_END ());
  if (h->nh == NULL) {
    g_free (h);
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_FAILED, "cannot make a SIP handle");
    return FALSE;
  }
  leg->h = h;
  ua.handles = g_list_prepend (ua.handles, h);
  GST_INFO ("[%s] -> INVITE %s (%s, DTMF %s)", leg_id (leg),
      leg->target_has_pin ? "(Request-URI with the pin)" : leg->target,
      sips ? "SDES-SRTP" : "RTP", leg->digits ? amgw_dtmf_mode_to_string (leg->dtmf_mode) : "none");
  nua_invite (h->nh, SIPTAG_CONTENT_TYPE_STR ("application/sdp"), SIPTAG_PAYLOAD_STR (offer),
      TAG_END ());
  h->invited = TRUE;
  leg->invite_timer = g_timeout_add (cfg->sip_invite_timeout_ms, on_invite_timeout, leg);
  if (sips)
    tls_probe_start (leg);
  return TRUE;

  /* ERRORS */
media_failed:
  {
    GST_WARNING ("[%s] cannot set up the bridge's media: %s", leg_id (leg), local->message);
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_FAILED, "cannot set up media: %s",
        local->message);
    return FALSE;
  }
}

static gboolean
sip_set_direction (AmgwLeg *base, AmgwMediaDirection direction, GError **error)
{
  SipLeg *leg = (SipLeg *) base;
  g_autofree char *offer = NULL;

  if (leg->ended || leg->h == NULL || !leg->answered) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_FAILED,
        "the SIP call is not answered: no re-INVITE");
    return FALSE;
  }
  if (leg->local_direction == direction)
    return TRUE;
  offer = amgw_rtp_session_create_offer (leg->rtp, direction, error);
  if (offer == NULL)
    return FALSE;
  leg->local_direction = direction;
  leg->reinvite_out = TRUE;
  GST_INFO ("[%s] -> re-INVITE (%s)", leg_id (leg), amgw_media_direction_name (direction));
  nua_invite (leg->h->nh, SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
      SIPTAG_PAYLOAD_STR (offer), TAG_END ());
  return TRUE;
}

static void
sip_hangup (AmgwLeg *base, AmgwResultCode reason)
{
  SipLeg *leg = (SipLeg *) base;

  if (leg->tls_probe != NULL)
    g_cancellable_cancel (leg->tls_probe);
  g_clear_handle_id (&leg->invite_timer, g_source_remove);
  g_clear_handle_id (&leg->dtmf_timer, g_source_remove);
  if (!leg->ended)
    leg_release_dialog (leg);
  leg->ended = TRUE;
}

static void
sip_finalize (AmgwLeg *base)
{
  SipLeg *leg = (SipLeg *) base;

  g_clear_handle_id (&leg->invite_timer, g_source_remove);
  g_clear_handle_id (&leg->dtmf_timer, g_source_remove);
  if (leg->tls_probe != NULL) {
    /* The probe's callbacks see the cancellation and never touch the leg. */
    g_cancellable_cancel (leg->tls_probe);
    g_clear_object (&leg->tls_probe);
  }
  g_clear_pointer (&leg->rtp, amgw_rtp_session_free);
  if (leg->media_context != NULL) {
    amgw_media_loops_release_keyed (ua.loops, leg->media_context, leg_id (leg));
    g_main_context_unref (leg->media_context);
  }
  if (leg->h != NULL) {
    leg->h->leg = NULL;
    /* Still in a dialog (BYE or CANCEL under way): the handle goes when
     * its call state reaches "terminated". */
    if (!leg->h->invited || leg->h->terminated)
      handle_destroy (leg->h);
  }
  if (leg->digits != NULL)
    explicit_bzero (leg->digits, strlen (leg->digits));
  g_free (leg->digits);
  if (leg->playing != NULL)
    explicit_bzero (leg->playing, strlen (leg->playing));
  g_free (leg->playing);
  if (leg->dtmf_queue != NULL) {
    explicit_bzero (leg->dtmf_queue->str, leg->dtmf_queue->len);
    g_string_free (leg->dtmf_queue, TRUE);
  }
  if (leg->target != NULL)
    explicit_bzero (leg->target, strlen (leg->target));
  g_free (leg->target);
  g_free (leg->host);
  g_free (leg);
}

static void
sip_describe (AmgwLeg *base, cJSON *obj)
{
  SipLeg *leg = (SipLeg *) base;
  cJSON *sip = cJSON_AddObjectToObject (obj, "sip");

  if (leg->target && !leg->target_has_pin)
    cJSON_AddStringToObject (sip, "request_uri", leg->target);
  cJSON_AddStringToObject (sip, "state", leg->ended ? "ended" : leg->answered ? "answered"
      : leg->early ? "early" : leg->ringing ? "ringing" : "calling");
  if (leg->last_status)
    cJSON_AddNumberToObject (sip, "last_status", leg->last_status);
  cJSON_AddStringToObject (sip, "dtmf", amgw_dtmf_mode_to_string (leg->dtmf_mode));
  cJSON_AddStringToObject (sip, "remote_direction",
      amgw_media_direction_name (leg->remote_direction));
  if (leg->rtp)
    amgw_rtp_session_describe (leg->rtp, obj);
}

static gboolean
sip_get_media (AmgwLeg *base, AmgwLegMedia *out)
{
  SipLeg *leg = (SipLeg *) base;

  return leg->rtp != NULL && amgw_rtp_session_get_media (leg->rtp, out);
}

/* Any thread: the session lives until the leg is finalized. */
static guint
sip_get_media_generation (AmgwLeg *base)
{
  SipLeg *leg = (SipLeg *) base;

  return leg->rtp != NULL ? amgw_rtp_session_get_media_generation (leg->rtp) : 0;
}

static void
sip_set_media_sink (AmgwLeg *base, AmgwLegRtpSink sink, AmgwMediaPrefetchFunc prefetch,
    gpointer user_data)
{
  SipLeg *leg = (SipLeg *) base;

  if (leg->rtp != NULL)
    amgw_rtp_session_set_sink (leg->rtp, sink, prefetch, user_data);
}

/* Any thread; the session lives until the leg is finalized, after the call
 * has unjoined the media. */
static void
sip_send_media (AmgwLeg *base, const guint8 *rtp, gsize len)
{
  SipLeg *leg = (SipLeg *) base;

  if (leg->rtp != NULL)
    amgw_rtp_session_send_media (leg->rtp, rtp, len);
}

static const AmgwLegClass sip_leg_class = {
  .kind = "sip",
  .get_media = sip_get_media,
  .get_media_generation = sip_get_media_generation,
  .set_media_sink = sip_set_media_sink,
  .send_media = sip_send_media,
  .send_dtmf = sip_send_dtmf,
  .dial = sip_dial,
  .set_direction = sip_set_direction,
  .hangup = sip_hangup,
  .finalize = sip_finalize,
  .describe = sip_describe,
};

static AmgwLeg *
sip_factory (AmgwLegRole role, const char *protocol, const char *session_id, gpointer data,
    GError **error)
{
  SipLeg *leg;

  if (role != AMGW_LEG_BRIDGE) {
    g_set_error (error, AMGW_LEG_ERROR, AMGW_LEG_ERROR_UNAVAILABLE,
        "the SIP leg is a bridge leg only");
    return NULL;
  }
  leg = g_new0 (SipLeg, 1);
  amgw_leg_init (&leg->parent, &sip_leg_class, role, protocol, session_id);
  leg->local_direction = AMGW_MEDIA_SENDRECV;
  leg->remote_direction = AMGW_MEDIA_SENDRECV;
  return &leg->parent;
}

/* ------------------------------------------------------------------------ */
/* Start and stop                                                            */
/* ------------------------------------------------------------------------ */

static gboolean
host_is_wildcard (const char *host)
{
  return host == NULL || *host == '\0' || strcmp (host, "*") == 0 || strcmp (host, "0.0.0.0") == 0
      || strcmp (host, "::") == 0;
}

/* Removes Sofia-SIP's certificate directory (our files only: agent.pem
 * holds the ephemeral key, cafile.pem a copy of the CAs). */
static void
tls_dir_remove (void)
{
  static const char *const names[] = { "agent.pem", "cafile.pem", "cert.pem", "key.pem" };

  if (ua.tls_dir == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    g_autofree char *path = g_build_filename (ua.tls_dir, names[i], NULL);
    g_remove (path);
  }
  if (g_rmdir (ua.tls_dir) != 0)
    GST_WARNING ("cannot remove %s: %s", ua.tls_dir, g_strerror (errno));
  g_clear_pointer (&ua.tls_dir, g_free);
}

/* Sofia-SIP's TLS wants a directory: agent.pem (amgw's certificate and key:
 * an ephemeral self-signed one, since bridges do not ask for client
 * certificates) and cafile.pem (the CAs that verify the bridge: [sip] ca-file,
 * else the system bundle).  Builds it in a fresh private temp directory. */
static gboolean
tls_dir_prepare (const AmgwConfig *config, GError **error)
{
  const char *ca_file = config->sip_ca_file ? config->sip_ca_file : SYSTEM_CA_FILE;
  g_autofree char *ca = NULL, *cert_pem = NULL, *key_pem = NULL, *agent = NULL;
  g_autofree char *ca_path = NULL, *cert_path = NULL, *key_path = NULL, *agent_path = NULL;
  g_autoptr (AmgwDtlsCert) cert = NULL;
  gsize ca_len = 0, key_len = 0;
  gboolean ok;

  if (!g_file_get_contents (ca_file, &ca, &ca_len, error)) {
    g_prefix_error (error, "cannot read the CA file for SIPS%s: ",
        config->sip_ca_file ? " ([sip] ca-file)" : "");
    return FALSE;
  }
  if (ca_len > MAX_CA_FILE_BYTES || g_strstr_len (ca, ca_len, "-----BEGIN CERTIFICATE-----")
      == NULL) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_STACK,
        "the CA file for SIPS (%s) has no PEM certificate or is larger than %d bytes", ca_file,
        MAX_CA_FILE_BYTES);
    return FALSE;
  }
  cert = amgw_dtls_cert_new_ephemeral (error);
  if (cert == NULL)
    return FALSE;
  ua.tls_dir = g_dir_make_tmp ("amgw-sip-tls-XXXXXX", error);
  if (ua.tls_dir == NULL)
    return FALSE;
  ca_path = g_build_filename (ua.tls_dir, "cafile.pem", NULL);
  cert_path = g_build_filename (ua.tls_dir, "cert.pem", NULL);
  key_path = g_build_filename (ua.tls_dir, "key.pem", NULL);
  agent_path = g_build_filename (ua.tls_dir, "agent.pem", NULL);
  if (!g_file_set_contents_full (ca_path, ca, ca_len, G_FILE_SET_CONTENTS_NONE, 0644, error)
      || !amgw_dtls_cert_save_pem (cert, cert_path, key_path, error)
      || !g_file_get_contents (cert_path, &cert_pem, NULL, error)
      || !g_file_get_contents (key_path, &key_pem, &key_len, error))
    goto failed;
  agent = g_strconcat (cert_pem, key_pem, NULL);
  explicit_bzero (key_pem, key_len);
  g_remove (key_path);
  g_remove (cert_path);
  ok = g_file_set_contents_full (agent_path, agent, -1, G_FILE_SET_CONTENTS_NONE, 0600, error);
  explicit_bzero (agent, strlen (agent));
  if (!ok)
    goto failed;
  GST_INFO ("SIPS: verifying bridges with the CAs of %s", ca_file);
  return TRUE;

  /* ERRORS */
failed:
  {
    g_prefix_error (error, "cannot prepare the SIPS certificate directory: ");
    tls_dir_remove ();
    return FALSE;
  }
}

/* One NUA on @url: sip: (UDP and TCP), or sips: (TLS only) that verifies
 * the bridge's certificate chain against cafile.pem and its name against the
 * Request-URI's host (TPTAG_TLS_VERSION 0 lets OpenSSL negotiate TLS 1.2 or
 * newer; Sofia-SIP's default 1 would pin TLS 1.0).  NULL when the transport
 * cannot start. */
static nua_t *
ua_create (const AmgwConfig *config, const char *url)
{
  gboolean tls = g_str_has_prefix (url, "sips:");

  return nua_create (ua.root, ua_callback, NULL,
      NUTAG_URL (url),
      TAG_IF (tls, NUTAG_CERTIFICATE_DIR (ua.tls_dir)),
      TAG_IF (tls, TPTAG_TLS_VERSION (0)),
      TAG_IF (tls, TPTAG_TLS_VERIFY_POLICY (TPTLS_VERIFY_SUBJECTS_OUT)),
      TAG_IF (tls, TPTAG_TLS_VERIFY_DATE (1)),
      NUTAG_MEDIA_ENABLE (0),
      NUTAG_AUTOANSWER (0),
      NUTAG_AUTOACK (1),
      NUTAG_ALLOW ("INFO"),
      NUTAG_SESSION_TIMER (config->sip_session_expires_s),
      NUTAG_MIN_SE (90),
      NUTAG_ENABLEMESSAGE (0),
      NUTAG_ENABLEINVITE (1),
      SIPTAG_USER_AGENT_STR ("amgw/" AMGW_VERSION),
      TAG_IF (config->sip_outbound_proxy != NULL,
          NUTAG_PROXY (URL_STRING_MAKE (config->sip_outbound_proxy))),
      TAG_IF (config->sip_user != NULL, NUTAG_M_USERNAME (config->sip_user)),
      TAG_IF (ua.from != NULL, SIPTAG_FROM_STR (ua.from)),
      TAG_END ());
}

void
amgw_sip_leg_register (const AmgwConfig *config, AmgwMediaLoops *loops, GError **error)
{
  g_autofree char *url = NULL, *host = NULL, *user = NULL, *sips_url = NULL;
  g_autoptr (GString) escaped_user = g_string_new (NULL);
  const char *from_host;
  GSource *source;

  g_return_if_fail (config != NULL && loops != NULL);
  g_return_if_fail (error == NULL || *error == NULL);
  amgw_metrics_describe ("amgw_sip_responses_total", AMGW_METRIC_COUNTER,
      "SIP responses to amgw's requests by method, code and origin (peer, or amgw: made by the "
      "SIP stack for a transport failure or a time-out).");
  ensure_debug ();
  if (ua.running) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_STACK, "the SIP user agent runs already");
    return;
  }

  if (config->sip_listen != NULL) {
    const char *colon = strrchr (config->sip_listen, ':');
    host = g_strndup (config->sip_listen, colon - config->sip_listen);
    if (host[0] == '[') {
      /* keep the brackets for the URI */
    } else if (strchr (host, ':') != NULL) {
      char *b = g_strdup_printf ("[%s]", host);
      g_free (host);
      host = b;
    }
    if (strcmp (colon + 1, "0") == 0)
      url = g_strdup_printf ("sip:%s:*", host);
    else
      url = g_strdup_printf ("sip:%s", config->sip_listen);
  } else {
    url = g_strdup ("sip:*:5060");
  }

  su_init ();
  ua.config = config;
  ua.loops = loops;
  ua.shutdown_done = FALSE;
  ua.tls_shutdown_done = FALSE;
  ua.root = su_glib_root_create (NULL);
  if (ua.root == NULL) {
    su_deinit ();
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_STACK, "cannot create the SIP event loop");
    return;
  }
  source = su_glib_root_gsource (ua.root);
  g_source_attach (source, NULL);

  from_host = config->sip_public_ip ? config->sip_public_ip : host;
  append_escaped_user (escaped_user, config->sip_user ? config->sip_user : "amgw");
  if (!host_is_wildcard (from_host)) {
    gboolean v6 = strchr (from_host, ':') != NULL && from_host[0] != '[';
    ua.from = g_strdup_printf ("<sip:%s@%s%s%s>", escaped_user->str, v6 ? "[" : "", from_host,
        v6 ? "]" : "");
  }
  /* else NUA's own From, with its Contact host. */

  ua.nua = ua_create (config, url);
  if (ua.nua == NULL) {
    g_set_error (error, AMGW_SIP_ERROR, AMGW_SIP_ERROR_STACK,
        "cannot start the SIP user agent on %s (address in use?)", url);
    su_root_destroy (ua.root);
    ua.root = NULL;
    g_clear_pointer (&ua.from, g_free);
    su_deinit ();
    return;
  }
  {
    g_autoptr (GError) tls_error = NULL;

    if (tls_dir_prepare (config, &tls_error)) {
      sips_url = g_strdup_printf ("sips:%s:*", host != NULL ? host : "*");
      ua.nua_tls = ua_create (config, sips_url);
      if (ua.nua_tls == NULL) {
        ua.tls_problem = g_strdup_printf ("cannot start the TLS transport on %s", sips_url);
        tls_dir_remove ();
      } else if (g_tls_backend_supports_tls (g_tls_backend_get_default ())) {
        g_autofree char *ca = g_build_filename (ua.tls_dir, "cafile.pem", NULL);

        ua.tls_db = g_tls_file_database_new (ca, &tls_error);
        if (ua.tls_db == NULL)
          GST_WARNING ("SIPS: no certificate probe: %s", tls_error->message);
      }
    } else {
      ua.tls_problem = g_strdup (tls_error->message);
    }
  }
  if (ua.tls_problem != NULL)
    GST_WARNING ("SIPS is off: %s", ua.tls_problem);
  ua.running = TRUE;
  ua.have_tls = ua.tls_problem == NULL;

  if (config->sip_register && config->sip_registrar != NULL) {
    ua.reg_nh = nua_handle (ua.nua, NULL, TAG_END ());
    nua_register (ua.reg_nh, NUTAG_REGISTRAR (URL_STRING_MAKE (config->sip_registrar)),
        TAG_IF (config->sip_user != NULL, NUTAG_M_USERNAME (config->sip_user)), TAG_END ());
  }

  amgw_leg_register ("SIP", sip_factory, NULL);
  amgw_leg_register ("SIPS", sip_factory, NULL);
  GST_INFO ("SIP user agent on %s%s%s%s%s", url, ua.have_tls ? " and " : "",
      ua.have_tls ? sips_url : "", config->sip_outbound_proxy ? ", outbound proxy " : "",
      config->sip_outbound_proxy ? config->sip_outbound_proxy : "");
  g_print ("amgw: SIP leg ready on %s%s%s\n", url, ua.have_tls ? " and " : " (SIPS off)",
      ua.have_tls ? sips_url : "");
}

static gboolean
wake_up (gpointer data)
{
  gboolean *expired = data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

void
amgw_sip_leg_shutdown (void)
{
  gboolean expired = FALSE;
  guint timer;

  if (!ua.running)
    return;
  ensure_debug ();
  /* Dialogs of legs the calls still own: BYE or CANCEL now, and no more
   * reports to them. */
  for (GList *l = ua.handles; l != NULL; l = l->next) {
    SipHandle *h = l->data;

    if (h->leg != NULL) {
      sip_hangup (&h->leg->parent, AMGW_RESULT_SUCCESS);
      h->leg->h = NULL;
      h->leg = NULL;
    }
  }
  if (ua.reg_nh != NULL)
    nua_unregister (ua.reg_nh, TAG_END ());
  nua_shutdown (ua.nua);
  if (ua.nua_tls != NULL)
    nua_shutdown (ua.nua_tls);
  else
    ua.tls_shutdown_done = TRUE;
  timer = g_timeout_add (SHUTDOWN_WAIT_MS, wake_up, &expired);
  while (!(ua.shutdown_done && ua.tls_shutdown_done) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timer);
  if (!ua.shutdown_done || !ua.tls_shutdown_done)
    GST_WARNING ("the SIP user agent did not finish its shutdown in %u ms", SHUTDOWN_WAIT_MS);
  while (ua.handles != NULL)
    handle_destroy (ua.handles->data);
  if (ua.reg_nh != NULL) {
    nua_handle_destroy (ua.reg_nh);
    ua.reg_nh = NULL;
  }
  nua_destroy (ua.nua);
  ua.nua = NULL;
  g_clear_pointer (&ua.nua_tls, nua_destroy);
  su_root_destroy (ua.root);
  ua.root = NULL;
  g_clear_pointer (&ua.from, g_free);
  g_clear_pointer (&ua.tls_problem, g_free);
  g_clear_object (&ua.tls_db);
  tls_dir_remove ();
  su_deinit ();
  ua.running = FALSE;
  GST_INFO ("SIP user agent stopped");
}
