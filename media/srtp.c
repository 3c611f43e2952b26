/* amgw — SRTP and SRTCP with libsrtp2.  See amgw/srtp.h for the thread rules.
 *
 * Two libsrtp sessions per AmgwSrtp: one with an ssrc_any_outbound template for
 * what we send, one with an ssrc_any_inbound template for what we receive.
 * Keeping them apart lets the send and receive halves run on different
 * threads, and keeps a packet that claims one of our own SSRCs from ever
 * touching the outbound streams.
 *
 * Crypto: libsrtp does the SRTP (packet formats, key derivation, replay
 * windows, ROC), but its AES-CM, AES-GCM and HMAC-SHA1 are replaced at start-up
 * with our OpenSSL-backed types (srtp-crypto.c): Debian's libsrtp runs them on
 * NSS, which costs microseconds per packet and tens of KB per call.  Should
 * libsrtp refuse them, its built-in crypto stays in use.
 */
#include "amgw/srtp.h"
#include "srtp-crypto.h"

#include <gst/gst.h>
#include <limits.h>
#include <string.h>
#include <srtp2/srtp.h>

GST_DEBUG_CATEGORY_STATIC (amgw_srtp_debug);
#define GST_CAT_DEFAULT amgw_srtp_debug

/* Smallest packets worth handing to libsrtp: the fixed RTP header, the RTCP
 * header + sender SSRC. */
#define RTP_MIN_HEADER 12
#define RTCP_MIN_HEADER 8
/* E flag + 31-bit SRTCP index (RFC 3711 3.4). */
#define SRTCP_INDEX_LEN 4

G_STATIC_ASSERT (AMGW_SRTP_MAX_TRAILER >= SRTP_MAX_TAG_LEN + SRTCP_INDEX_LEN);
G_STATIC_ASSERT (AMGW_SRTP_MAX_PACKET + AMGW_SRTP_MAX_TRAILER < INT_MAX);

struct _AmgwSrtp {
  AmgwSrtpProfile profile;
  srtp_t tx;              /* (owned) outbound session: protect, protect_rtcp */
  srtp_t rx;              /* (owned) inbound session: unprotect, unprotect_rtcp */
  gint auth_failures;     /* atomic */
  gint replays;           /* atomic */
};

G_DEFINE_QUARK (amgw-srtp-error-quark, amgw_srtp_error)

/* Set once by srtp_global_init(). */
static srtp_err_status_t init_status = srtp_err_status_fail;
static gboolean gcm_supported;

static void
srtp_log_to_gst (srtp_log_level_t level, const char *msg, void *data)
{
  /* libsrtp's own messages never carry key material (its key dumps are
   * debug_print output, compiled out of release builds and not routed here). */
  switch (level) {
    case srtp_log_level_error:
      GST_WARNING ("libsrtp: %s", msg);
      break;
    case srtp_log_level_warning:
      GST_INFO ("libsrtp: %s", msg);
      break;
    default:
      GST_DEBUG ("libsrtp: %s", msg);
      break;
  }
}

static void
set_policy_profile (srtp_policy_t *policy, AmgwSrtpProfile profile)
{
  switch (profile) {
    case AMGW_SRTP_AEAD_AES_128_GCM:
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy->rtp);
      srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy->rtcp);
      break;
    case AMGW_SRTP_AES128_CM_SHA1_80:
    default:
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtp);
      srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy->rtcp);
      break;
  }
}

/* libsrtp is global state: initialise it once per process, thread-safely, put
 * our crypto in (before any session exists: the types are looked up at
 * srtp_create), and probe whether AES-GCM works. */
static void
srtp_global_init (void)
{
  static gsize once = 0;

  if (!g_once_init_enter (&once))
    return;

  GST_DEBUG_CATEGORY_INIT (amgw_srtp_debug, "amgw-srtp", 0, "amgw SRTP / SRTCP");

  init_status = srtp_init ();
  if (init_status == srtp_err_status_ok) {
    guint8 probe_key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = { 0 };
    srtp_policy_t policy;
    srtp_t probe = NULL;

    srtp_install_log_handler (srtp_log_to_gst, NULL);

    if (amgw_srtp_crypto_install ())
      GST_INFO ("SRTP crypto: OpenSSL (amgw's cipher and auth types)");
    else
      GST_WARNING ("SRTP crypto: libsrtp's built-in, at least in part (amgw's OpenSSL types "
          "were not all accepted)");

    memset (&policy, 0, sizeof policy);
    set_policy_profile (&policy, AMGW_SRTP_AEAD_AES_128_GCM);
    policy.ssrc.type = ssrc_any_outbound;
    policy.key = probe_key;
    policy.window_size = AMGW_SRTP_REPLAY_WINDOW;
    gcm_supported = srtp_create (&probe, &policy) == srtp_err_status_ok;
    if (probe != NULL)
      srtp_dealloc (probe);
    GST_INFO ("libsrtp %s initialised, AEAD_AES_128_GCM %s", srtp_get_version_string (),
        gcm_supported ? "supported" : "NOT supported");
  } else {
    GST_ERROR ("srtp_init failed: %d", (int) init_status);
  }

  g_once_init_leave (&once, 1);
}

gsize
amgw_srtp_key_len (AmgwSrtpProfile profile)
{
  switch (profile) {
    case AMGW_SRTP_AEAD_AES_128_GCM:
      return SRTP_AES_GCM_128_KEY_LEN_WSALT;   /* 16 + 12 */
    case AMGW_SRTP_AES128_CM_SHA1_80:
      return SRTP_AES_ICM_128_KEY_LEN_WSALT;   /* 16 + 14 */
  }
  g_return_val_if_reached (0);
}

gsize
amgw_srtp_master_key_len (AmgwSrtpProfile profile)
{
  switch (profile) {
    case AMGW_SRTP_AEAD_AES_128_GCM:
    case AMGW_SRTP_AES128_CM_SHA1_80:
      return 16;
  }
  g_return_val_if_reached (0);
}

const char *
amgw_srtp_profile_to_string (AmgwSrtpProfile profile)
{
  switch (profile) {
    case AMGW_SRTP_AEAD_AES_128_GCM:
      return "AEAD_AES_128_GCM";
    case AMGW_SRTP_AES128_CM_SHA1_80:
      return "AES_CM_128_HMAC_SHA1_80";
  }
  return "unknown";
}

gboolean
amgw_srtp_profile_is_supported (AmgwSrtpProfile profile)
{
  srtp_global_init ();
  if (init_status != srtp_err_status_ok)
    return FALSE;
  switch (profile) {
    case AMGW_SRTP_AES128_CM_SHA1_80:
      return TRUE;
    case AMGW_SRTP_AEAD_AES_128_GCM:
      return gcm_supported;
  }
  return FALSE;
}

static srtp_err_status_t
create_session (srtp_t *session, AmgwSrtpProfile profile, srtp_ssrc_type_t direction,
    const guint8 *key_salt)
{
  guint8 key[SRTP_MAX_KEY_LEN];
  srtp_policy_t policy;
  srtp_err_status_t status;
  gsize key_len = amgw_srtp_key_len (profile);

  g_assert (key_len <= sizeof key);
  /* libsrtp wants a non-const pointer; give it a private copy and wipe it
   * afterwards (libsrtp expands the key into its own state at create). */
  memcpy (key, key_salt, key_len);

  memset (&policy, 0, sizeof policy);
  set_policy_profile (&policy, profile);
  policy.ssrc.type = direction;
  policy.key = key;
  policy.window_size = AMGW_SRTP_REPLAY_WINDOW;
  policy.allow_repeat_tx = direction == ssrc_any_outbound;
  policy.next = NULL;

  status = srtp_create (session, &policy);
  explicit_bzero (key, sizeof key);
  return status;
}

AmgwSrtp *
amgw_srtp_new (AmgwSrtpProfile profile, const guint8 *tx_key_salt, const guint8 *rx_key_salt,
    GError **error)
{
  AmgwSrtp *s;
  srtp_err_status_t status;

  g_return_val_if_fail (tx_key_salt != NULL, NULL);
  g_return_val_if_fail (rx_key_salt != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  srtp_global_init ();

  if (profile != AMGW_SRTP_AES128_CM_SHA1_80 && profile != AMGW_SRTP_AEAD_AES_128_GCM)
    goto bad_profile;
  if (init_status != srtp_err_status_ok)
    goto init_failed;
  if (!amgw_srtp_profile_is_supported (profile))
    goto unsupported;

  s = g_new0 (AmgwSrtp, 1);
  s->profile = profile;

  status = create_session (&s->tx, profile, ssrc_any_outbound, tx_key_salt);
  if (status != srtp_err_status_ok)
    goto create_failed;
  status = create_session (&s->rx, profile, ssrc_any_inbound, rx_key_salt);
  if (status != srtp_err_status_ok)
    goto create_failed;

  GST_DEBUG ("new SRTP session %p, %s", (void *) s, amgw_srtp_profile_to_string (profile));
  return s;

  /* ERRORS */
bad_profile:
  {
    GST_WARNING ("unknown SRTP profile %d", (int) profile);
    g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID,
        "Unknown SRTP profile %d", (int) profile);
    return NULL;
  }
init_failed:
  {
    g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_FAILED,
        "libsrtp could not be initialised (error %d)", (int) init_status);
    return NULL;
  }
unsupported:
  {
    GST_WARNING ("SRTP profile %s unsupported by this libsrtp",
        amgw_srtp_profile_to_string (profile));
    g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_UNSUPPORTED,
        "SRTP profile %s is not supported by this libsrtp build",
        amgw_srtp_profile_to_string (profile));
    return NULL;
  }
create_failed:
  {
    GST_WARNING ("srtp_create failed: %d", (int) status);
    g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_FAILED,
        "Cannot create the SRTP session (libsrtp error %d)", (int) status);
    amgw_srtp_free (s);
    return NULL;
  }
}

AmgwSrtpProfile
amgw_srtp_get_profile (AmgwSrtp *s)
{
  g_return_val_if_fail (s != NULL, AMGW_SRTP_AES128_CM_SHA1_80);
  return s->profile;
}

void
amgw_srtp_free (AmgwSrtp *s)
{
  if (s == NULL)
    return;
  /* srtp_dealloc wipes the session keys before releasing them. */
  if (s->tx != NULL)
    srtp_dealloc (s->tx);
  if (s->rx != NULL)
    srtp_dealloc (s->rx);
  g_free (s);
}

void
amgw_srtp_get_drops (AmgwSrtp *s, guint *auth_failures, guint *replays)
{
  g_return_if_fail (s != NULL);
  if (auth_failures != NULL)
    *auth_failures = (guint) g_atomic_int_get (&s->auth_failures);
  if (replays != NULL)
    *replays = (guint) g_atomic_int_get (&s->replays);
}

/* Maps a libsrtp status to our error codes; counts drops.  Allocation only
 * when @error is wanted. */
static gboolean
check_status (AmgwSrtp *s, srtp_err_status_t status, const char *what, GError **error)
{
  switch (status) {
    case srtp_err_status_ok:
      return TRUE;
    case srtp_err_status_auth_fail:
      g_atomic_int_inc (&s->auth_failures);
      g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH,
          "%s: authentication failed", what);
      return FALSE;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      g_atomic_int_inc (&s->replays);
      g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_REPLAY,
          "%s: replayed or too old packet", what);
      return FALSE;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_bad_mki:
      g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID,
          "%s: malformed packet (libsrtp error %d)", what, (int) status);
      return FALSE;
    default:
      g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_FAILED,
          "%s: libsrtp error %d", what, (int) status);
      return FALSE;
  }
}

/* Authentication tag bytes appended by both profiles (RFC 3711, RFC 7714). */
static gsize
tag_len (AmgwSrtpProfile profile)
{
  return profile == AMGW_SRTP_AEAD_AES_128_GCM ? 16 : 10;
}

static gboolean
check_input (const guint8 *buf, gsize len, gsize min_len, const char *what, GError **error)
{
  if (G_UNLIKELY (buf == NULL || len < min_len || len > AMGW_SRTP_MAX_PACKET)) {
    g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID,
        "%s: %" G_GSIZE_FORMAT "-byte packet (allowed %u .. %u)", what, len,
        (guint) min_len, (guint) AMGW_SRTP_MAX_PACKET);
    return FALSE;
  }
  return TRUE;
}

static gboolean
check_room (gsize len, gsize capacity, const char *what, GError **error)
{
  if (G_UNLIKELY (capacity < len || capacity - len < AMGW_SRTP_MAX_TRAILER)) {
    g_set_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID,
        "%s: no room for the %d-byte trailer (%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT
        " bytes used)", what, AMGW_SRTP_MAX_TRAILER, len, capacity);
    return FALSE;
  }
  return TRUE;
}

gboolean
amgw_srtp_protect (AmgwSrtp *s, guint8 *buf, gsize *len, gsize capacity, GError **error)
{
  int n;

  g_return_val_if_fail (s != NULL && len != NULL, FALSE);

  if (!check_input (buf, *len, RTP_MIN_HEADER, "SRTP protect", error) ||
      !check_room (*len, capacity, "SRTP protect", error))
    return FALSE;
  n = (int) *len;
  if (!check_status (s, srtp_protect (s->tx, buf, &n), "SRTP protect", error))
    return FALSE;
  *len = (gsize) n;
  return TRUE;
}

gboolean
amgw_srtp_unprotect (AmgwSrtp *s, guint8 *buf, gsize *len, GError **error)
{
  int n;

  g_return_val_if_fail (s != NULL && len != NULL, FALSE);

  if (!check_input (buf, *len, RTP_MIN_HEADER + tag_len (s->profile), "SRTP unprotect", error))
    return FALSE;
  n = (int) *len;
  if (!check_status (s, srtp_unprotect (s->rx, buf, &n), "SRTP unprotect", error))
    return FALSE;
  *len = (gsize) n;
  return TRUE;
}

gboolean
amgw_srtp_protect_rtcp (AmgwSrtp *s, guint8 *buf, gsize *len, gsize capacity, GError **error)
{
  int n;

  g_return_val_if_fail (s != NULL && len != NULL, FALSE);

  if (!check_input (buf, *len, RTCP_MIN_HEADER, "SRTCP protect", error) ||
      !check_room (*len, capacity, "SRTCP protect", error))
    return FALSE;
  n = (int) *len;
  if (!check_status (s, srtp_protect_rtcp (s->tx, buf, &n), "SRTCP protect", error))
    return FALSE;
  *len = (gsize) n;
  return TRUE;
}

gboolean
amgw_srtp_unprotect_rtcp (AmgwSrtp *s, guint8 *buf, gsize *len, GError **error)
{
  int n;

  g_return_val_if_fail (s != NULL && len != NULL, FALSE);

  if (!check_input (buf, *len, RTCP_MIN_HEADER + SRTCP_INDEX_LEN + tag_len (s->profile),
          "SRTCP unprotect", error))
    return FALSE;
  n = (int) *len;
  if (!check_status (s, srtp_unprotect_rtcp (s->rx, buf, &n), "SRTCP unprotect", error))
    return FALSE;
  *len = (gsize) n;
  return TRUE;
}
