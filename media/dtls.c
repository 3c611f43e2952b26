/* amgw — DTLS-SRTP key agreement with OpenSSL 3.  See amgw/dtls.h.
 *
 * OpenSSL sees one custom BIO per connection that reads the datagram being
 * handed to amgw_dtls_receive() and turns each write into one datagram on an
 * outgoing queue.  Every OpenSSL call is followed by flushing that queue
 * through send() and re-arming the retransmission timer; callbacks therefore
 * run only when OpenSSL is not on the stack, so a callback may re-enter or
 * free the object.  A busy counter defers the memory release of an object
 * freed from inside one of its own callbacks.
 *
 * Memory.  Once connected, OpenSSL's record buffers (about 16 KB each for
 * reading and writing) are released whenever the connection is idle (no
 * retransmission timer running) and allocated again just before every later
 * call into OpenSSL: a retransmitted peer flight, an alert, close_notify.
 *
 * What is left, the SSL itself, is still about 39 KB a call (OpenSSL keeps
 * its 22-KB handshake buffer for as long as a DTLS connection lives, in case
 * the peer retransmits its last flight).  Once the owner has seen the peer
 * use the keys (amgw_dtls_confirm_peer(): a packet protected with them was
 * authenticated), the peer has finished its handshake, and DTLS has nothing
 * left to do for a WebRTC audio call but say close_notify at the end.  So
 * the close_notify record is made then (OpenSSL writes it, the next record
 * of the epoch, which nothing else will follow) and kept, a few dozen
 * bytes, for amgw_dtls_free() to send, and the SSL is freed.  Records the
 * peer sends after that (its close_notify, an alert) can no longer be
 * authenticated; they are dropped, and closed() is no longer called.
 */
#include "amgw/dtls.h"
#include "amgw/media-loops.h"

#include <gst/gst.h>
#include <string.h>
#include <glib/gstdio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

GST_DEBUG_CATEGORY_STATIC (amgw_dtls_debug);
#define GST_CAT_DEFAULT amgw_dtls_debug

/* SHA-256 digest bytes behind a fingerprint. */
#define FINGERPRINT_BYTES 32
G_STATIC_ASSERT (AMGW_DTLS_FINGERPRINT_LEN == FINGERPRINT_BYTES * 3 - 1);

/* Our own retransmission back-off (RFC 6347 4.2.4.1 allows any initial value
 * and a cap): OpenSSL's default starts at 1 s and doubles to 60 s, which gives
 * only three retransmissions inside the 10 s handshake deadline.  Starting at
 * 500 ms and capping at 3 s retransmits five times, still well spaced. */
#define RETRANSMIT_INITIAL_US (500 * 1000)
#define RETRANSMIT_MAX_US (3 * 1000 * 1000)

/* RSA keys we accept from files. */
#define MIN_RSA_BITS 2048

/* Validity of ephemeral certificates.  Peers pin the fingerprint, not the
 * dates, but some check them: start a day early against clock skew. */
#define EPHEMERAL_NOT_BEFORE_S (-24 * 3600L)
#define EPHEMERAL_NOT_AFTER_S (30 * 24 * 3600L)

/* Forward-secret suites only; AEAD first, CBC-SHA for older stacks. */
#define DTLS_CIPHERS \
  "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
  "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
  "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
  "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:" \
  "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"
/* X25519 first (what browsers prefer), P-256 for everyone else. */
#define DTLS_GROUPS "X25519:P-256"

/* SRTP profiles by OpenSSL name.
 *
 * Why AEAD_AES_128_GCM leads: the order only matters when we are the DTLS
 * server and the peer offers both (the server's preference wins in OpenSSL).
 * A peer that offers SHA1_80 alone still gets SHA1_80, so leading with GCM
 * costs no compatibility.  GCM has a 128-bit tag instead of 80 bits and one
 * AES pass per packet instead of AES-CTR plus HMAC-SHA1; Chromium and Firefox
 * offer it.  GCM is dropped from the offer if the linked libsrtp lacks it. */
static const struct {
  const char *name;
  AmgwSrtpProfile profile;
  unsigned long id;
} srtp_profiles[] = {
  { "SRTP_AEAD_AES_128_GCM", AMGW_SRTP_AEAD_AES_128_GCM, SRTP_AEAD_AES_128_GCM },
  { "SRTP_AES128_CM_SHA1_80", AMGW_SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_80 },
};

typedef enum {
  STATE_NEW,                 /* before amgw_dtls_start() */
  STATE_HANDSHAKING,
  STATE_AWAIT_FINGERPRINT,   /* handshake done, the SDP fingerprint not known yet */
  STATE_CONNECTED,
  STATE_FAILED,
  STATE_CLOSED,
} State;

struct _AmgwDtlsCert {
  gatomicrefcount ref;
  X509 *x509;            /* (owned) */
  EVP_PKEY *pkey;        /* (owned) */
  SSL_CTX *ctx;          /* (owned) DTLS context for this identity; only read after creation */
  char fingerprint[AMGW_DTLS_FINGERPRINT_LEN + 1];
};

struct _AmgwDtls {
  AmgwDtlsCert *cert;          /* (owned) ref */
  GMainContext *context;       /* (owned) ref */
  AmgwDtlsCallbacks cb;
  gpointer user_data;
  char *name;                  /* (owned) log label */
  char *profiles;              /* (owned) OpenSSL SRTP profile list */

  AmgwDtlsRole role;
  State state;
  SSL *ssl;                    /* (owned) (nullable) from start; owns the BIO */
  gboolean buffers_released;   /* SSL_free_buffers() ran; reallocate before using @ssl */
  gboolean confirmed;          /* amgw_dtls_confirm_peer(): retire @ssl when idle */
  GBytes *farewell;            /* (owned) (nullable) our close_notify, made when @ssl was
                                * retired (then NULL while still connected) */
  gboolean late_logged;        /* a record after retiring was logged */
  guint8 remote_fp[FINGERPRINT_BYTES];
  gboolean have_remote_fp;
  gboolean remote_fp_malformed;

  guint handshake_timeout_ms;
  gint64 started_us;           /* monotonic */
  AmgwMediaTimer *retransmit_timer;   /* (owned) (nullable) on context */
  AmgwMediaTimer *deadline_timer;     /* (owned) (nullable) on context */

  const guint8 *in_data;       /* (nullable) the datagram OpenSSL may read now */
  gsize in_len;
  GQueue outgoing;             /* (element-type GBytes) written by OpenSSL, to send() */
  GQueue early;                /* (element-type GBytes) received before start */

  guint busy;                  /* depth of our frames that may call back */
  gboolean freed;              /* amgw_dtls_free() was called */
};

G_DEFINE_QUARK (amgw-dtls-error-quark, amgw_dtls_error)

static BIO_METHOD *datagram_bio_method;

static void drive (AmgwDtls *d);

/* ------------------------------------------------------------------------ */
/* helpers */

/* The newest OpenSSL error on this thread as text; clears the queue. */
static char *
openssl_error_string (void)
{
  unsigned long e = ERR_peek_last_error ();
  char buf[256];

  if (e == 0) {
    ERR_clear_error ();
    return g_strdup ("unknown error");
  }
  ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  return g_strdup (buf);
}

static void
format_fingerprint (const guint8 *md, char out[AMGW_DTLS_FINGERPRINT_LEN + 1])
{
  static const char hex[] = "0123456789ABCDEF";
  guint i;

  for (i = 0; i < FINGERPRINT_BYTES; i++) {
    out[i * 3] = hex[md[i] >> 4];
    out[i * 3 + 1] = hex[md[i] & 0xf];
    out[i * 3 + 2] = i + 1 < FINGERPRINT_BYTES ? ':' : '\0';
  }
}

/* "AB:cd:.." (95 characters, any case, optional "sha-256 " prefix and
 * surrounding blanks) -> 32 bytes. */
static gboolean
parse_fingerprint (const char *text, guint8 out[FINGERPRINT_BYTES])
{
  gsize len;
  guint i;

  while (g_ascii_isspace (*text))
    text++;
  if (g_ascii_strncasecmp (text, "sha-256", 7) == 0 && g_ascii_isspace (text[7])) {
    text += 7;
    while (g_ascii_isspace (*text))
      text++;
  }
  len = strlen (text);
  while (len > 0 && g_ascii_isspace (text[len - 1]))
    len--;
  if (len != AMGW_DTLS_FINGERPRINT_LEN)
    return FALSE;

  for (i = 0; i < FINGERPRINT_BYTES; i++) {
    int hi = g_ascii_xdigit_value (text[i * 3]);
    int lo = g_ascii_xdigit_value (text[i * 3 + 1]);

    if (hi < 0 || lo < 0)
      return FALSE;
    if (i + 1 < FINGERPRINT_BYTES && text[i * 3 + 2] != ':')
      return FALSE;
    out[i] = (guint8) (hi << 4 | lo);
  }
  return TRUE;
}

static gboolean
x509_sha256 (X509 *x509, guint8 md[FINGERPRINT_BYTES])
{
  unsigned int n = 0;

  return X509_digest (x509, EVP_sha256 (), md, &n) == 1 && n == FINGERPRINT_BYTES;
}

gboolean
amgw_dtls_looks_like_dtls (const guint8 *data, gsize len)
{
  return data != NULL && len > 0 && data[0] >= 20 && data[0] <= 63;
}

/* ------------------------------------------------------------------------ */
/* the datagram BIO: reads the datagram being received, queues each write */

static int
bio_write (BIO *bio, const char *data, int len)
{
  AmgwDtls *d = BIO_get_data (bio);

  BIO_clear_retry_flags (bio);
  if (len <= 0)
    return 0;
  if (len > AMGW_DTLS_MTU)
    GST_WARNING ("[%s] OpenSSL wrote a %d-byte datagram (MTU %d)", d->name, len, AMGW_DTLS_MTU);
  g_queue_push_tail (&d->outgoing, g_bytes_new (data, (gsize) len));
  return len;
}

static int
bio_read (BIO *bio, char *out, int outl)
{
  AmgwDtls *d = BIO_get_data (bio);
  gsize n;

  BIO_clear_retry_flags (bio);
  if (d->in_data == NULL) {
    BIO_set_retry_read (bio);
    return -1;
  }
  /* A datagram is read whole or its tail is lost, as with a UDP socket;
   * OpenSSL's DTLS read buffer exceeds AMGW_DTLS_MAX_DATAGRAM anyway. */
  n = MIN (d->in_len, (gsize) MAX (outl, 0));
  memcpy (out, d->in_data, n);
  d->in_data = NULL;
  d->in_len = 0;
  return (int) n;
}

static long
bio_ctrl (BIO *bio, int cmd, long num, void *ptr)
{
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return AMGW_DTLS_MTU;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:   /* AMGW_DTLS_MTU counts DTLS bytes only */
    case BIO_CTRL_PENDING:
    case BIO_CTRL_WPENDING:
      return 0;
    default:
      return 0;
  }
}

static int
bio_create (BIO *bio)
{
  BIO_set_init (bio, 1);
  return 1;
}

static int
bio_destroy (BIO *bio)
{
  BIO_set_data (bio, NULL);
  return 1;
}

/* ------------------------------------------------------------------------ */
/* process-wide set-up */

static void
dtls_global_init (void)
{
  static gsize once = 0;

  if (!g_once_init_enter (&once))
    return;

  GST_DEBUG_CATEGORY_INIT (amgw_dtls_debug, "amgw-dtls", 0, "amgw DTLS-SRTP");

  /* One method for the process, never freed. */
  datagram_bio_method = BIO_meth_new (BIO_get_new_index () | BIO_TYPE_SOURCE_SINK,
      "amgw datagram");
  if (datagram_bio_method == NULL ||
      !BIO_meth_set_write (datagram_bio_method, bio_write) ||
      !BIO_meth_set_read (datagram_bio_method, bio_read) ||
      !BIO_meth_set_ctrl (datagram_bio_method, bio_ctrl) ||
      !BIO_meth_set_create (datagram_bio_method, bio_create) ||
      !BIO_meth_set_destroy (datagram_bio_method, bio_destroy))
    g_error ("amgw-dtls: cannot create the datagram BIO method");

  GST_INFO ("%s", OpenSSL_version (OPENSSL_VERSION));
  g_once_init_leave (&once, 1);
}

/* The peer's certificate is self-signed; its identity is the SDP fingerprint,
 * checked once the handshake is done.  So accept any chain here (also expired
 * or not yet valid ones: browsers do not check dates on these either). */
static int
accept_any_certificate (int preverify_ok, X509_STORE_CTX *store)
{
  return 1;
}

static unsigned int
retransmit_backoff (SSL *ssl, unsigned int timer_us)
{
  if (timer_us == 0)
    return RETRANSMIT_INITIAL_US;
  return MIN ((guint64) timer_us * 2, (guint64) RETRANSMIT_MAX_US);
}

/* ------------------------------------------------------------------------ */
/* certificates */

static AmgwDtlsCert *
cert_finish (X509 *x509, EVP_PKEY *pkey, GError **error)
{
  AmgwDtlsCert *cert = g_new0 (AmgwDtlsCert, 1);
  guint8 md[FINGERPRINT_BYTES];
  g_autofree char *reason = NULL;

  g_atomic_ref_count_init (&cert->ref);
  cert->x509 = x509;
  cert->pkey = pkey;

  if (!x509_sha256 (x509, md))
    goto openssl_failed;
  format_fingerprint (md, cert->fingerprint);

  cert->ctx = SSL_CTX_new (DTLS_method ());
  if (cert->ctx == NULL ||
      !SSL_CTX_set_min_proto_version (cert->ctx, DTLS1_2_VERSION) ||
      SSL_CTX_use_certificate (cert->ctx, x509) != 1 ||
      SSL_CTX_use_PrivateKey (cert->ctx, pkey) != 1 ||
      SSL_CTX_check_private_key (cert->ctx) != 1 ||
      SSL_CTX_set_cipher_list (cert->ctx, DTLS_CIPHERS) != 1 ||
      SSL_CTX_set1_groups_list (cert->ctx, DTLS_GROUPS) != 1)
    goto openssl_failed;
  /* No resumption or renegotiation in WebRTC: nothing shared between calls. */
  SSL_CTX_set_session_cache_mode (cert->ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options (cert->ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
      SSL_OP_CIPHER_SERVER_PREFERENCE);
  /* Both sides must present a certificate (RFC 5763 5). */
  SSL_CTX_set_verify (cert->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
      accept_any_certificate);

  GST_DEBUG ("certificate ready, sha-256 %s", cert->fingerprint);
  return cert;

  /* ERRORS */
openssl_failed:
  {
    reason = openssl_error_string ();
    GST_WARNING ("cannot set up the DTLS context: %s", reason);
    g_set_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE,
        "Cannot set up DTLS with this certificate: %s", reason);
    amgw_dtls_cert_unref (cert);
    return NULL;
  }
}

AmgwDtlsCert *
amgw_dtls_cert_new_ephemeral (GError **error)
{
  EVP_PKEY *pkey = NULL;
  X509 *x509 = NULL;
  X509_NAME *name = NULL;
  BIGNUM *serial_bn = NULL;
  guint8 serial[8];
  g_autofree char *reason = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  dtls_global_init ();
  ERR_clear_error ();

  pkey = EVP_EC_gen ("P-256");
  if (pkey == NULL)
    goto failed;

  x509 = X509_new ();
  if (x509 == NULL || !X509_set_version (x509, X509_VERSION_3))
    goto failed;

  /* A random positive 64-bit serial (RFC 5280 4.1.2.2: positive, <= 20 bytes). */
  if (RAND_bytes (serial, sizeof serial) != 1)
    goto failed;
  serial[0] &= 0x7f;
  serial[0] |= 0x01 << 6;   /* never zero, always 8 bytes */
  serial_bn = BN_bin2bn (serial, sizeof serial, NULL);
  if (serial_bn == NULL || BN_to_ASN1_INTEGER (serial_bn, X509_get_serialNumber (x509)) == NULL)
    goto failed;

  if (X509_gmtime_adj (X509_getm_notBefore (x509), EPHEMERAL_NOT_BEFORE_S) == NULL ||
      X509_gmtime_adj (X509_getm_notAfter (x509), EPHEMERAL_NOT_AFTER_S) == NULL)
    goto failed;

  name = X509_get_subject_name (x509);
  if (X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_ASC, (const unsigned char *) "amgw",
          -1, -1, 0) != 1 ||
      X509_set_issuer_name (x509, name) != 1 ||
      X509_set_pubkey (x509, pkey) != 1 ||
      X509_sign (x509, pkey, EVP_sha256 ()) <= 0)
    goto failed;

  BN_free (serial_bn);
  return cert_finish (x509, pkey, error);

  /* ERRORS */
failed:
  {
    reason = openssl_error_string ();
    GST_WARNING ("cannot make an ephemeral certificate: %s", reason);
    g_set_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE,
        "Cannot make a DTLS certificate: %s", reason);
    BN_free (serial_bn);
    X509_free (x509);
    EVP_PKEY_free (pkey);
    return NULL;
  }
}

/* Encrypted keys are refused instead of prompting on the terminal. */
static int
no_passphrase (char *buf, int size, int rwflag, void *user_data)
{
  return -1;
}

static gboolean
key_is_acceptable (EVP_PKEY *pkey, char **why)
{
  if (EVP_PKEY_is_a (pkey, "EC")) {
    char group[64] = "";

    if (EVP_PKEY_get_group_name (pkey, group, sizeof group, NULL) != 1 ||
        (g_strcmp0 (group, "prime256v1") != 0 && g_strcmp0 (group, "P-256") != 0)) {
      *why = g_strdup_printf ("an EC key on curve '%s' (only P-256 is supported)", group);
      return FALSE;
    }
    return TRUE;
  }
  if (EVP_PKEY_is_a (pkey, "RSA")) {
    if (EVP_PKEY_get_bits (pkey) < MIN_RSA_BITS) {
      *why = g_strdup_printf ("a %d-bit RSA key (at least %d bits)", EVP_PKEY_get_bits (pkey),
          MIN_RSA_BITS);
      return FALSE;
    }
    return TRUE;
  }
  *why = g_strdup_printf ("a %s key (EC P-256 or RSA only)", EVP_PKEY_get0_type_name (pkey));
  return FALSE;
}

AmgwDtlsCert *
amgw_dtls_cert_load (const char *cert_pem_path, const char *key_pem_path, GError **error)
{
  BIO *bio = NULL;
  X509 *x509 = NULL;
  EVP_PKEY *pkey = NULL;
  g_autofree char *reason = NULL;
  const char *path;

  g_return_val_if_fail (cert_pem_path != NULL && key_pem_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  dtls_global_init ();
  ERR_clear_error ();

  path = cert_pem_path;
  bio = BIO_new_file (cert_pem_path, "r");
  if (bio == NULL)
    goto unreadable;
  x509 = PEM_read_bio_X509 (bio, NULL, no_passphrase, NULL);
  BIO_free (bio);
  if (x509 == NULL)
    goto unreadable;

  path = key_pem_path;
  bio = BIO_new_file (key_pem_path, "r");
  if (bio == NULL)
    goto unreadable;
  pkey = PEM_read_bio_PrivateKey (bio, NULL, no_passphrase, NULL);
  BIO_free (bio);
  if (pkey == NULL)
    goto unreadable;

  if (!key_is_acceptable (pkey, &reason))
    goto bad_key;
  if (X509_check_private_key (x509, pkey) != 1)
    goto mismatch;
  if (X509_cmp_current_time (X509_get0_notAfter (x509)) < 0)
    GST_WARNING ("%s has expired (peers pin its fingerprint, most do not check dates)",
        cert_pem_path);

  return cert_finish (x509, pkey, error);

  /* ERRORS */
unreadable:
  {
    reason = openssl_error_string ();
    GST_WARNING ("cannot read %s: %s", path, reason);
    g_set_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE,
        "Cannot read %s from %s: %s", path == cert_pem_path ? "a PEM certificate" :
        "an unencrypted PEM private key", path, reason);
    X509_free (x509);
    return NULL;
  }
bad_key:
  {
    GST_WARNING ("%s holds %s", key_pem_path, reason);
    g_set_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE,
        "%s holds %s", key_pem_path, reason);
    X509_free (x509);
    EVP_PKEY_free (pkey);
    return NULL;
  }
mismatch:
  {
    ERR_clear_error ();
    GST_WARNING ("%s does not match %s", key_pem_path, cert_pem_path);
    g_set_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE,
        "The private key in %s does not match the certificate in %s", key_pem_path,
        cert_pem_path);
    X509_free (x509);
    EVP_PKEY_free (pkey);
    return NULL;
  }
}

/* Writes what @write_pem puts in a memory BIO to @path with @mode; wipes the
 * buffer (it may hold a private key). */
static gboolean
save_pem (const char *path, int mode, gboolean (*write_pem) (BIO *, AmgwDtlsCert *),
    AmgwDtlsCert *cert, GError **error)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  BUF_MEM *mem = NULL;
  gboolean ok;

  if (bio == NULL || !write_pem (bio, cert) || BIO_get_mem_ptr (bio, &mem) != 1 || mem == NULL) {
    g_autofree char *reason = openssl_error_string ();

    g_set_error (error, AMGW_DTLS_ERROR, AMGW_DTLS_ERROR_CERTIFICATE,
        "Cannot encode %s: %s", path, reason);
    BIO_free (bio);
    return FALSE;
  }
  ok = g_file_set_contents_full (path, mem->data, (gssize) mem->length,
      G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
  OPENSSL_cleanse (mem->data, mem->length);
  BIO_free (bio);
  if (!ok)
    g_prefix_error (error, "Cannot write a DTLS PEM file: ");
  return ok;
}

static gboolean
write_cert_pem (BIO *bio, AmgwDtlsCert *cert)
{
  return PEM_write_bio_X509 (bio, cert->x509) == 1;
}

static gboolean
write_key_pem (BIO *bio, AmgwDtlsCert *cert)
{
  return PEM_write_bio_PrivateKey (bio, cert->pkey, NULL, NULL, 0, NULL, NULL) == 1;
}

gboolean
amgw_dtls_cert_save_pem (AmgwDtlsCert *cert, const char *cert_pem_path, const char *key_pem_path,
    GError **error)
{
  g_return_val_if_fail (cert != NULL, FALSE);
  g_return_val_if_fail (cert_pem_path != NULL && key_pem_path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return save_pem (key_pem_path, 0600, write_key_pem, cert, error) &&
      save_pem (cert_pem_path, 0644, write_cert_pem, cert, error);
}

const char *
amgw_dtls_cert_get_fingerprint (AmgwDtlsCert *cert)
{
  g_return_val_if_fail (cert != NULL, NULL);
  return cert->fingerprint;
}

AmgwDtlsCert *
amgw_dtls_cert_ref (AmgwDtlsCert *cert)
{
  g_return_val_if_fail (cert != NULL, NULL);
  g_atomic_ref_count_inc (&cert->ref);
  return cert;
}

void
amgw_dtls_cert_unref (AmgwDtlsCert *cert)
{
  if (cert == NULL || !g_atomic_ref_count_dec (&cert->ref))
    return;
  SSL_CTX_free (cert->ctx);
  X509_free (cert->x509);
  EVP_PKEY_free (cert->pkey);   /* clears the key material */
  g_free (cert);
}

/* ------------------------------------------------------------------------ */
/* timers: one-shot media timers on the connection's context */

static void
stop_timers (AmgwDtls *d)
{
  amgw_media_timer_clear (&d->retransmit_timer);
  amgw_media_timer_clear (&d->deadline_timer);
}

static void
arm_deadline (AmgwDtls *d)
{
  if (d->deadline_timer != NULL)
    amgw_media_timer_set_ready_time (d->deadline_timer,
        d->started_us + (gint64) d->handshake_timeout_ms * 1000);
}

/* Follows OpenSSL's retransmission timer after every call into it. */
static void
arm_retransmit (AmgwDtls *d)
{
  struct timeval tv;

  if (d->retransmit_timer == NULL)
    return;
  if (DTLSv1_get_timeout (d->ssl, &tv) == 1)
    amgw_media_timer_set_ready_time (d->retransmit_timer, g_get_monotonic_time () +
        (gint64) tv.tv_sec * G_USEC_PER_SEC + tv.tv_usec);
  else
    amgw_media_timer_set_ready_time (d->retransmit_timer, -1);
}

/* ------------------------------------------------------------------------ */
/* OpenSSL's record buffers while connected */

static gboolean restore_buffers (AmgwDtls *d);

/* Connected, confirmed by the peer and idle (no retransmission due): makes
 * our close_notify and keeps it, then frees the SSL.  See the file comment. */
static void
retire_ssl (AmgwDtls *d)
{
  GBytes *datagram;

  if (!g_queue_is_empty (&d->outgoing) || !restore_buffers (d))
    return;   /* not idle after all, or out of memory: try again when next idle */
  ERR_clear_error ();
  SSL_shutdown (d->ssl);   /* writes close_notify to d->outgoing */
  ERR_clear_error ();
  /* One record, so one datagram; anything else would be unexpected. */
  datagram = g_queue_pop_head (&d->outgoing);
  if (datagram != NULL && g_queue_is_empty (&d->outgoing)) {
    d->farewell = datagram;
  } else {
    GST_WARNING ("[%s] close_notify was not one datagram: none will be sent", d->name);
    g_clear_pointer (&datagram, g_bytes_unref);
    g_queue_clear_full (&d->outgoing, (GDestroyNotify) g_bytes_unref);
  }
  stop_timers (d);
  SSL_free (d->ssl);   /* and the BIO */
  d->ssl = NULL;
  d->buffers_released = FALSE;
  GST_DEBUG ("[%s] the peer uses the keys: DTLS state freed, close_notify kept (%"
      G_GSIZE_FORMAT " bytes)", d->name, d->farewell ? g_bytes_get_size (d->farewell) : 0);
}

/* Connected (or closed by the peer) and idle: retire the SSL if the peer
 * confirmed, else give the read and write buffers back (SSL_free_buffers
 * refuses while a record is half read or written).  Not while a timer runs:
 * a retransmission would need them at once. */
static void
release_buffers (AmgwDtls *d)
{
  struct timeval tv;

  if (d->freed || d->ssl == NULL ||
      (d->state != STATE_CONNECTED && d->state != STATE_CLOSED))
    return;
  if (DTLSv1_get_timeout (d->ssl, &tv) == 1)
    return;
  if (d->confirmed && d->state == STATE_CONNECTED) {
    retire_ssl (d);
    return;
  }
  if (d->buffers_released)
    return;
  if (SSL_free_buffers (d->ssl) == 1) {
    d->buffers_released = TRUE;
    GST_LOG ("[%s] record buffers released", d->name);
  }
}

/* Before any call into OpenSSL that may read or write a record.  FALSE: out
 * of memory (nothing allocated). */
static gboolean
restore_buffers (AmgwDtls *d)
{
  if (!d->buffers_released)
    return TRUE;
  if (SSL_alloc_buffers (d->ssl) != 1)
    return FALSE;
  d->buffers_released = FALSE;
  return TRUE;
}

/* ------------------------------------------------------------------------ */
/* callbacks out, guarded against being freed inside them */

static void
finalize (AmgwDtls *d)
{
  GST_DEBUG ("[%s] released", d->name);
  stop_timers (d);
  g_queue_clear_full (&d->outgoing, (GDestroyNotify) g_bytes_unref);
  g_queue_clear_full (&d->early, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&d->farewell, g_bytes_unref);
  if (d->ssl != NULL)
    SSL_free (d->ssl);   /* and the BIO */
  amgw_dtls_cert_unref (d->cert);
  g_main_context_unref (d->context);
  g_free (d->name);
  g_free (d->profiles);
  g_free (d);
}

static void
enter (AmgwDtls *d)
{
  d->busy++;
}

/* After this, @d may be gone. */
static void
leave (AmgwDtls *d)
{
  g_assert (d->busy > 0);
  if (--d->busy == 0 && d->freed)
    finalize (d);
}

/* Hands the datagrams OpenSSL wrote to send(), oldest first; stops if the
 * object is freed meanwhile. */
static void
flush_outgoing (AmgwDtls *d)
{
  GBytes *datagram;

  while (!d->freed && (datagram = g_queue_pop_head (&d->outgoing)) != NULL) {
    gsize len;
    const guint8 *data = g_bytes_get_data (datagram, &len);

    GST_LOG ("[%s] sending %" G_GSIZE_FORMAT " bytes", d->name, len);
    d->cb.send (data, len, d->user_data);
    g_bytes_unref (datagram);
  }
}

static void G_GNUC_PRINTF (3, 4)
fail (AmgwDtls *d, AmgwDtlsError code, const char *format, ...)
{
  g_autoptr (GError) error = NULL;
  va_list args;

  if (d->freed || d->state == STATE_FAILED || d->state == STATE_CLOSED)
    return;
  d->state = STATE_FAILED;
  stop_timers (d);

  va_start (args, format);
  error = g_error_new_valist (AMGW_DTLS_ERROR, (gint) code, format, args);
  va_end (args);
  GST_WARNING ("[%s] %s", d->name, error->message);

  flush_outgoing (d);   /* an alert OpenSSL queued tells the peer at once */
  g_queue_clear_full (&d->outgoing, (GDestroyNotify) g_bytes_unref);
  if (!d->freed)
    d->cb.failed (error, d->user_data);
}

/* @what: "handshake" or "connection" */
static void
fail_openssl (AmgwDtls *d, int ssl_error, const char *what)
{
  g_autofree char *reason = NULL;

  if (ssl_error == SSL_ERROR_ZERO_RETURN) {
    ERR_clear_error ();
    fail (d, AMGW_DTLS_ERROR_HANDSHAKE,
        "DTLS: the peer closed the connection before it was established");
    return;
  }
  reason = openssl_error_string ();
  fail (d, AMGW_DTLS_ERROR_HANDSHAKE, "DTLS %s failed: %s", what, reason);
}

/* ------------------------------------------------------------------------ */
/* the connection */

static const char *
role_name (AmgwDtlsRole role)
{
  return role == AMGW_DTLS_CLIENT ? "client" : "server";
}

AmgwDtls *
amgw_dtls_new (AmgwDtlsCert *cert, AmgwDtlsRole role, const char *remote_fingerprint,
    GMainContext *context, const AmgwDtlsCallbacks *callbacks, gpointer user_data)
{
  AmgwDtls *d;

  g_return_val_if_fail (cert != NULL, NULL);
  g_return_val_if_fail (role == AMGW_DTLS_CLIENT || role == AMGW_DTLS_SERVER, NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);
  g_return_val_if_fail (callbacks->send != NULL && callbacks->connected != NULL &&
      callbacks->failed != NULL, NULL);
  dtls_global_init ();

  d = g_new0 (AmgwDtls, 1);
  d->cert = amgw_dtls_cert_ref (cert);
  d->context = g_main_context_ref (context != NULL ? context : g_main_context_default ());
  d->cb = *callbacks;
  d->user_data = user_data;
  d->name = g_strdup_printf ("%p", (void *) d);
  d->role = role;
  d->state = STATE_NEW;
  d->handshake_timeout_ms = AMGW_DTLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
  g_queue_init (&d->outgoing);
  g_queue_init (&d->early);

  /* Leave GCM out if libsrtp cannot run it. */
  if (amgw_srtp_profile_is_supported (AMGW_SRTP_AEAD_AES_128_GCM))
    d->profiles = g_strdup (AMGW_DTLS_DEFAULT_SRTP_PROFILES);
  else
    d->profiles = g_strdup ("SRTP_AES128_CM_SHA1_80");

  if (remote_fingerprint != NULL)
    amgw_dtls_set_remote_fingerprint (d, remote_fingerprint);
  return d;
}

void
amgw_dtls_set_name (AmgwDtls *d, const char *name)
{
  g_return_if_fail (d != NULL && name != NULL);
  g_free (d->name);
  d->name = g_strdup (name);
}

void
amgw_dtls_set_role (AmgwDtls *d, AmgwDtlsRole role)
{
  g_return_if_fail (d != NULL);
  g_return_if_fail (role == AMGW_DTLS_CLIENT || role == AMGW_DTLS_SERVER);
  g_return_if_fail (d->state == STATE_NEW);
  d->role = role;
}

AmgwDtlsRole
amgw_dtls_get_role (AmgwDtls *d)
{
  g_return_val_if_fail (d != NULL, AMGW_DTLS_CLIENT);
  return d->role;
}

gboolean
amgw_dtls_set_srtp_profiles (AmgwDtls *d, const char *profiles)
{
  g_auto (GStrv) names = NULL;
  guint i, j;

  g_return_val_if_fail (d != NULL && profiles != NULL, FALSE);
  g_return_val_if_fail (d->state == STATE_NEW, FALSE);

  names = g_strsplit (profiles, ":", -1);
  if (names[0] == NULL)
    return FALSE;
  for (i = 0; names[i] != NULL; i++) {
    gboolean known = FALSE;

    for (j = 0; j < G_N_ELEMENTS (srtp_profiles); j++)
      if (g_strcmp0 (names[i], srtp_profiles[j].name) == 0)
        known = amgw_srtp_profile_is_supported (srtp_profiles[j].profile);
    if (!known) {
      GST_WARNING ("[%s] unknown or unsupported SRTP profile '%s'", d->name, names[i]);
      return FALSE;
    }
  }
  g_free (d->profiles);
  d->profiles = g_strdup (profiles);
  return TRUE;
}

void
amgw_dtls_set_handshake_timeout (AmgwDtls *d, guint ms)
{
  g_return_if_fail (d != NULL);
  d->handshake_timeout_ms = ms;
  if (d->state == STATE_HANDSHAKING || d->state == STATE_AWAIT_FINGERPRINT)
    arm_deadline (d);
}

gboolean
amgw_dtls_is_connected (AmgwDtls *d)
{
  g_return_val_if_fail (d != NULL, FALSE);
  return d->state == STATE_CONNECTED;
}

/* The handshake is done and the expected fingerprint is known: check the
 * peer, export the keys, report.  May call back. */
static void
verify_and_connect (AmgwDtls *d)
{
  X509 *peer = SSL_get0_peer_certificate (d->ssl);   /* (transfer none) */
  const SRTP_PROTECTION_PROFILE *selected;
  AmgwSrtpKeys keys;
  guint8 peer_md[FINGERPRINT_BYTES];
  guint8 material[2 * sizeof keys.tx_key_salt];
  static const char label[] = "EXTRACTOR-dtls_srtp";
  gsize key_len, salt_len, i;
  const guint8 *client_key, *server_key, *client_salt, *server_salt;
  guint8 *client_side, *server_side;

  g_assert (d->have_remote_fp || d->remote_fp_malformed);

  if (peer == NULL) {
    fail (d, AMGW_DTLS_ERROR_HANDSHAKE, "DTLS: the peer sent no certificate");
    return;
  }
  if (!x509_sha256 (peer, peer_md)) {
    g_autofree char *reason = openssl_error_string ();
    fail (d, AMGW_DTLS_ERROR_INTERNAL, "DTLS: cannot hash the peer's certificate: %s", reason);
    return;
  }
  /* Constant time: how much of a forged certificate's digest matched must not
   * show in timing. */
  if (d->remote_fp_malformed || CRYPTO_memcmp (peer_md, d->remote_fp, FINGERPRINT_BYTES) != 0) {
    char seen[AMGW_DTLS_FINGERPRINT_LEN + 1];

    format_fingerprint (peer_md, seen);
    GST_WARNING ("[%s] peer certificate sha-256 %s is not the SDP's%s", d->name, seen,
        d->remote_fp_malformed ? " (the SDP value is malformed)" : "");
    /* Tell the peer it is over (it finished its side of the handshake). */
    ERR_clear_error ();
    SSL_shutdown (d->ssl);
    ERR_clear_error ();
    fail (d, AMGW_DTLS_ERROR_FINGERPRINT,
        "DTLS: the peer's certificate does not match the SDP fingerprint");
    return;
  }

  selected = SSL_get_selected_srtp_profile (d->ssl);
  memset (&keys, 0, sizeof keys);
  for (i = 0; selected != NULL && i < G_N_ELEMENTS (srtp_profiles); i++)
    if (srtp_profiles[i].id == selected->id)
      break;
  if (selected == NULL || i == G_N_ELEMENTS (srtp_profiles)) {
    fail (d, AMGW_DTLS_ERROR_NO_SRTP, "DTLS: no SRTP profile was negotiated (offered %s)",
        d->profiles);
    return;
  }
  keys.profile = srtp_profiles[i].profile;
  keys.key_salt_len = amgw_srtp_key_len (keys.profile);
  key_len = amgw_srtp_master_key_len (keys.profile);
  salt_len = keys.key_salt_len - key_len;
  g_assert (2 * keys.key_salt_len <= sizeof material);
  g_assert (keys.key_salt_len <= sizeof keys.tx_key_salt);

  /* RFC 5764 4.2: client_write_key | server_write_key | client_salt | server_salt */
  if (SSL_export_keying_material (d->ssl, material, 2 * keys.key_salt_len, label,
          sizeof label - 1, NULL, 0, 0) != 1) {
    g_autofree char *reason = openssl_error_string ();
    fail (d, AMGW_DTLS_ERROR_INTERNAL, "DTLS: cannot export the SRTP keys: %s", reason);
    return;
  }
  client_key = material;
  server_key = material + key_len;
  client_salt = material + 2 * key_len;
  server_salt = material + 2 * key_len + salt_len;

  /* The client sends with the client_write key and salt, the server with
   * the server's. */
  client_side = d->role == AMGW_DTLS_CLIENT ? keys.tx_key_salt : keys.rx_key_salt;
  server_side = d->role == AMGW_DTLS_CLIENT ? keys.rx_key_salt : keys.tx_key_salt;
  memcpy (client_side, client_key, key_len);
  memcpy (client_side + key_len, client_salt, salt_len);
  memcpy (server_side, server_key, key_len);
  memcpy (server_side + key_len, server_salt, salt_len);
  OPENSSL_cleanse (material, sizeof material);

  d->state = STATE_CONNECTED;
  amgw_media_timer_clear (&d->deadline_timer);
  GST_INFO ("[%s] DTLS connected as %s: %s, %s, SRTP %s, %" G_GINT64_FORMAT " ms", d->name,
      role_name (d->role), SSL_get_version (d->ssl), SSL_get_cipher_name (d->ssl),
      amgw_srtp_profile_to_string (keys.profile),
      (g_get_monotonic_time () - d->started_us) / 1000);

  d->cb.connected (&keys, d->user_data);
  OPENSSL_cleanse (&keys, sizeof keys);
  release_buffers (d);
}

static void
handshake_done (AmgwDtls *d)
{
  if (!d->have_remote_fp && !d->remote_fp_malformed) {
    d->state = STATE_AWAIT_FINGERPRINT;
    GST_INFO ("[%s] DTLS handshake done; waiting for the SDP fingerprint", d->name);
    return;
  }
  verify_and_connect (d);
}

/* Runs OpenSSL on what there is (the datagram in d->in_data, or nothing), then
 * sends what it wrote, re-arms the timer and reports.  Call between
 * enter()/leave(). */
static void
drive (AmgwDtls *d)
{
  gboolean just_connected = FALSE;
  int ret, err;

  if (!restore_buffers (d)) {
    d->in_data = NULL;
    fail (d, AMGW_DTLS_ERROR_INTERNAL, "DTLS: out of memory for the record buffers");
    return;
  }

  if (d->state == STATE_HANDSHAKING) {
    ERR_clear_error ();
    ret = SSL_do_handshake (d->ssl);
    d->in_data = NULL;
    if (ret == 1) {
      just_connected = TRUE;
    } else {
      err = SSL_get_error (d->ssl, ret);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        fail_openssl (d, err, "handshake");
        return;
      }
    }
  }

  if (d->state == STATE_HANDSHAKING || d->state == STATE_AWAIT_FINGERPRINT ||
      d->state == STATE_CONNECTED) {
    /* Past the handshake: records after it (retransmitted Finished, alerts,
     * application data we have no use for). */
    while (SSL_is_init_finished (d->ssl)) {
      guint8 sink[2048];

      ERR_clear_error ();
      ret = SSL_read (d->ssl, sink, sizeof sink);
      if (ret > 0) {
        GST_LOG ("[%s] ignoring %d bytes of application data", d->name, ret);
        continue;
      }
      err = SSL_get_error (d->ssl, ret);
      if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        break;
      d->in_data = NULL;
      if (err == SSL_ERROR_ZERO_RETURN && d->state == STATE_CONNECTED) {
        GST_INFO ("[%s] close_notify from the peer", d->name);
        d->state = STATE_CLOSED;
        stop_timers (d);
        ERR_clear_error ();
        SSL_shutdown (d->ssl);   /* our close_notify in answer */
        flush_outgoing (d);
        release_buffers (d);     /* OpenSSL is not called again */
        if (!d->freed && d->cb.closed != NULL)
          d->cb.closed (d->user_data);
        return;
      }
      fail_openssl (d, err, d->state == STATE_CONNECTED ? "connection" : "handshake");
      return;
    }
  }
  d->in_data = NULL;

  flush_outgoing (d);
  if (d->freed)
    return;
  arm_retransmit (d);

  if (just_connected)
    handshake_done (d);
  release_buffers (d);
}

static gboolean
on_retransmit_timer (gpointer user_data)
{
  AmgwDtls *d = user_data;
  int ret;

  enter (d);
  if (d->state == STATE_HANDSHAKING || d->state == STATE_AWAIT_FINGERPRINT ||
      d->state == STATE_CONNECTED) {
    ERR_clear_error ();
    if (!restore_buffers (d)) {
      fail (d, AMGW_DTLS_ERROR_INTERNAL, "DTLS: out of memory for the record buffers");
      leave (d);
      return G_SOURCE_CONTINUE;
    }
    ret = DTLSv1_handle_timeout (d->ssl);
    if (ret < 0) {
      g_autofree char *reason = openssl_error_string ();
      fail (d, AMGW_DTLS_ERROR_TIMEOUT, "DTLS handshake timed out (%s)", reason);
    } else {
      if (ret > 0)
        GST_DEBUG ("[%s] retransmitting", d->name);
      flush_outgoing (d);
      if (!d->freed)
        arm_retransmit (d);
      release_buffers (d);
    }
  }
  leave (d);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_deadline_timer (gpointer user_data)
{
  AmgwDtls *d = user_data;

  enter (d);
  if (d->state == STATE_HANDSHAKING || d->state == STATE_AWAIT_FINGERPRINT)
    fail (d, AMGW_DTLS_ERROR_TIMEOUT, "DTLS handshake timed out");
  leave (d);
  return G_SOURCE_CONTINUE;
}

void
amgw_dtls_set_remote_fingerprint (AmgwDtls *d, const char *remote_fingerprint)
{
  g_return_if_fail (d != NULL && remote_fingerprint != NULL);

  if (d->state != STATE_NEW && d->state != STATE_HANDSHAKING &&
      d->state != STATE_AWAIT_FINGERPRINT) {
    GST_DEBUG ("[%s] fingerprint already checked; ignoring the new one", d->name);
    return;
  }
  d->have_remote_fp = parse_fingerprint (remote_fingerprint, d->remote_fp);
  d->remote_fp_malformed = !d->have_remote_fp;
  if (d->remote_fp_malformed)
    GST_WARNING ("[%s] malformed SDP fingerprint '%s'", d->name, remote_fingerprint);

  if (d->state == STATE_AWAIT_FINGERPRINT) {
    enter (d);
    verify_and_connect (d);
    leave (d);
  }
}

/* Creates the SSL for this connection; FALSE after reporting failed(). */
static gboolean
setup_ssl (AmgwDtls *d)
{
  BIO *bio;

  ERR_clear_error ();
  d->ssl = SSL_new (d->cert->ctx);
  if (d->ssl == NULL)
    goto failed;
  bio = BIO_new (datagram_bio_method);
  if (bio == NULL)
    goto failed;
  BIO_set_data (bio, d);
  SSL_set_bio (d->ssl, bio, bio);   /* one reference, taken by the SSL */

  /* We know the path MTU budget (ICE, maybe TURN): never probe it. */
  SSL_set_options (d->ssl, SSL_OP_NO_QUERY_MTU);
  if (!DTLS_set_link_mtu (d->ssl, AMGW_DTLS_MTU))
    goto failed;
  DTLS_set_timer_cb (d->ssl, retransmit_backoff);
  /* Returns 0 on success (sic). */
  if (SSL_set_tlsext_use_srtp (d->ssl, d->profiles) != 0)
    goto failed;

  if (d->role == AMGW_DTLS_CLIENT)
    SSL_set_connect_state (d->ssl);
  else
    SSL_set_accept_state (d->ssl);
  return TRUE;

  /* ERRORS */
failed:
  {
    g_autofree char *reason = openssl_error_string ();
    fail (d, AMGW_DTLS_ERROR_INTERNAL, "DTLS: cannot set up the connection: %s", reason);
    return FALSE;
  }
}

void
amgw_dtls_start (AmgwDtls *d)
{
  GBytes *datagram;

  g_return_if_fail (d != NULL);
  g_return_if_fail (d->state == STATE_NEW);
  g_return_if_fail (!d->freed);

  enter (d);
  d->state = STATE_HANDSHAKING;
  d->started_us = g_get_monotonic_time ();
  GST_DEBUG ("[%s] starting as %s, offering %s, local sha-256 %s", d->name,
      role_name (d->role), d->profiles, d->cert->fingerprint);

  if (!setup_ssl (d))
    goto out;
  d->retransmit_timer = amgw_media_timer_new (d->context, 0, on_retransmit_timer, d);
  d->deadline_timer = amgw_media_timer_new (d->context, 0, on_deadline_timer, d);
  arm_deadline (d);

  if (d->role == AMGW_DTLS_CLIENT)
    drive (d);   /* ClientHello */

  /* What came before start, in order (the peer may be faster than our SDP). */
  while (!d->freed && d->state == STATE_HANDSHAKING &&
      (datagram = g_queue_pop_head (&d->early)) != NULL) {
    d->in_data = g_bytes_get_data (datagram, &d->in_len);
    drive (d);
    d->in_data = NULL;
    g_bytes_unref (datagram);
  }

out:
  leave (d);
}

void
amgw_dtls_receive (AmgwDtls *d, const guint8 *data, gsize len)
{
  g_return_if_fail (d != NULL);

  if (d->freed)
    return;
  if (!amgw_dtls_looks_like_dtls (data, len) || len > AMGW_DTLS_MAX_DATAGRAM) {
    GST_LOG ("[%s] dropping a %" G_GSIZE_FORMAT "-byte non-DTLS datagram", d->name, len);
    return;
  }

  switch (d->state) {
    case STATE_NEW:
      if (g_queue_get_length (&d->early) >= AMGW_DTLS_MAX_EARLY_DATAGRAMS) {
        GST_DEBUG ("[%s] dropping an early datagram: %d already kept", d->name,
            AMGW_DTLS_MAX_EARLY_DATAGRAMS);
        return;
      }
      g_queue_push_tail (&d->early, g_bytes_new (data, len));
      return;
    case STATE_FAILED:
    case STATE_CLOSED:
      GST_LOG ("[%s] dropping a datagram after the end", d->name);
      return;
    case STATE_CONNECTED:
      if (d->ssl == NULL) {
        /* Retired: nothing can authenticate it (the peer's close_notify,
         * most likely, or a forgery). */
        if (!d->late_logged)
          GST_INFO ("[%s] ignoring DTLS records after the handshake (the first: content "
              "type %u, %" G_GSIZE_FORMAT " bytes): the connection's state is released",
              d->name, data[0], len);
        d->late_logged = TRUE;
        return;
      }
      break;
    case STATE_HANDSHAKING:
    case STATE_AWAIT_FINGERPRINT:
      break;
  }

  enter (d);
  d->in_data = data;
  d->in_len = len;
  drive (d);
  d->in_data = NULL;
  leave (d);
}

void
amgw_dtls_confirm_peer (AmgwDtls *d)
{
  g_return_if_fail (d != NULL);

  if (d->freed || d->confirmed || d->state != STATE_CONNECTED)
    return;
  d->confirmed = TRUE;
  release_buffers (d);   /* retires the SSL now if idle, else when it is */
}

void
amgw_dtls_free (AmgwDtls *d)
{
  GBytes *datagram;

  if (d == NULL)
    return;
  g_return_if_fail (!d->freed);

  /* From here on: no callback but the send() of close_notify just below, and
   * a second free is caught. */
  d->freed = TRUE;
  stop_timers (d);
  g_queue_clear_full (&d->outgoing, (GDestroyNotify) g_bytes_unref);
  if (d->state == STATE_CONNECTED && d->ssl == NULL && d->farewell != NULL) {
    GST_DEBUG ("[%s] sending close_notify (made when the state was released)", d->name);
    g_queue_push_tail (&d->outgoing, g_steal_pointer (&d->farewell));
  } else if (d->state == STATE_CONNECTED && d->ssl != NULL && restore_buffers (d)) {
    GST_DEBUG ("[%s] sending close_notify", d->name);
    ERR_clear_error ();
    SSL_shutdown (d->ssl);
    ERR_clear_error ();
  }
  /* Sent here, while the caller's transport surely still exists. */
  while ((datagram = g_queue_pop_head (&d->outgoing)) != NULL) {
    gsize len;
    const guint8 *data = g_bytes_get_data (datagram, &len);

    d->cb.send (data, len, d->user_data);
    g_bytes_unref (datagram);
  }
  d->state = STATE_CLOSED;
  if (d->busy == 0)
    finalize (d);
  else
    GST_DEBUG ("[%s] freed from a callback: released when it returns", d->name);
}
