/* amgw — DTLS-SRTP key agreement (RFC 5763, RFC 5764) with OpenSSL 3.
 *
 * Transport-agnostic: datagrams come in through amgw_dtls_receive() and go out
 * through the send() callback; the owner demultiplexes them from STUN and
 * SRTP on the ICE component (RFC 7983: first byte 20..63 is DTLS).
 *
 * Threads: an AmgwDtls lives on one GMainContext (a media loop).  Every
 * function except amgw_dtls_new() must be called from the thread that runs
 * that context (or, before it runs, from its owner); the retransmission and
 * handshake timers run there too.  Callbacks are called on that thread, never
 * while amgw holds a lock, and synchronously from inside amgw_dtls_start(),
 * amgw_dtls_receive(), amgw_dtls_set_remote_fingerprint() or a timer.  The
 * object may be freed from inside any callback; nothing is called back after
 * amgw_dtls_free().
 *
 * Certificates are shared: one AmgwDtlsCert (refcounted, immutable) may serve
 * every call of every media loop at once.
 */
#pragma once

#include <glib.h>
#include "amgw/srtp.h"

G_BEGIN_DECLS

#define AMGW_DTLS_ERROR (amgw_dtls_error_quark ())
GQuark amgw_dtls_error_quark (void);

typedef enum {
  AMGW_DTLS_ERROR_CERTIFICATE,  /* a certificate or key cannot be made, read, written or used */
  AMGW_DTLS_ERROR_HANDSHAKE,    /* alert, protocol error, no certificate from the peer */
  AMGW_DTLS_ERROR_TIMEOUT,      /* the handshake did not finish in time */
  AMGW_DTLS_ERROR_FINGERPRINT,  /* the peer's certificate does not match the SDP */
  AMGW_DTLS_ERROR_NO_SRTP,      /* no common DTLS-SRTP profile */
  AMGW_DTLS_ERROR_INTERNAL,     /* OpenSSL could not do what should always work */
} AmgwDtlsError;

/* Datagrams we send stay within this (DTLS bytes, without UDP/IP or TURN). */
#define AMGW_DTLS_MTU 1200
/* A received datagram larger than this is dropped unread. */
#define AMGW_DTLS_MAX_DATAGRAM 16384
/* Datagrams kept from before amgw_dtls_start() (an early ClientHello). */
#define AMGW_DTLS_MAX_EARLY_DATAGRAMS 8
/* "AB:CD:...": 32 upper-case hex pairs joined by ':'. */
#define AMGW_DTLS_FINGERPRINT_LEN 95
#define AMGW_DTLS_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
/* What we offer and accept, best first (see dtls.c for why GCM leads). */
#define AMGW_DTLS_DEFAULT_SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"

/* ---- certificates ---- */

typedef struct _AmgwDtlsCert AmgwDtlsCert;

/* A fresh ECDSA P-256 key and a self-signed certificate for it: CN "amgw",
 * random 64-bit serial, valid from a day ago for 30 days.  (transfer full) */
AmgwDtlsCert *amgw_dtls_cert_new_ephemeral (GError **error);
/* Reads a PEM certificate and an unencrypted PEM private key from files.  The
 * key must be EC P-256 or RSA (>= 2048 bits) and match the certificate.
 * (transfer full) */
AmgwDtlsCert *amgw_dtls_cert_load (const char *cert_pem_path, const char *key_pem_path,
    GError **error);
/* Writes the certificate (mode 0644) and the unencrypted PKCS#8 key (mode 0600)
 * as PEM files, each replaced atomically. */
gboolean amgw_dtls_cert_save_pem (AmgwDtlsCert *cert, const char *cert_pem_path,
    const char *key_pem_path, GError **error);
/* The SDP a=fingerprint value for "sha-256": AMGW_DTLS_FINGERPRINT_LEN
 * characters.  (transfer none) valid as long as @cert */
const char *amgw_dtls_cert_get_fingerprint (AmgwDtlsCert *cert);
/* Thread-safe.  (transfer full) */
AmgwDtlsCert *amgw_dtls_cert_ref (AmgwDtlsCert *cert);
void amgw_dtls_cert_unref (AmgwDtlsCert *cert);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwDtlsCert, amgw_dtls_cert_unref)

/* ---- connections ---- */

/* SDP a=setup:active -> AMGW_DTLS_CLIENT, a=setup:passive -> AMGW_DTLS_SERVER. */
typedef enum {
  AMGW_DTLS_CLIENT,
  AMGW_DTLS_SERVER,
} AmgwDtlsRole;

/* Both directions' SRTP master key + salt (key_salt_len bytes each, as
 * amgw_srtp_new() takes them).  tx: what WE protect with; rx: what we
 * unprotect with.  A client sends with the client_write key. */
typedef struct {
  AmgwSrtpProfile profile;
  guint8 tx_key_salt[64];
  guint8 rx_key_salt[64];
  gsize key_salt_len;
} AmgwSrtpKeys;

typedef struct {
  /* One DTLS datagram for the wire: whole records, at most AMGW_DTLS_MTU
   * bytes.  @data is valid during the call only.  Required. */
  void (*send) (const guint8 *data, gsize len, gpointer user_data);
  /* The handshake is done, the peer's certificate matches the SDP fingerprint
   * and the keys are exported.  @keys is wiped after the call: copy what you
   * need (and wipe your copy when done).  Required. */
  void (*connected) (const AmgwSrtpKeys *keys, gpointer user_data);
  /* The connection is over: fingerprint mismatch, time-out, alert ...; the
   * message says which.  Called at most once, never after closed(); may
   * follow connected() (a fatal alert later).  Required. */
  void (*failed) (const GError *error, gpointer user_data);
  /* The peer sent close_notify (after connected(), and before
   * amgw_dtls_confirm_peer() took effect).  (nullable) */
  void (*closed) (gpointer user_data);
} AmgwDtlsCallbacks;

typedef struct _AmgwDtls AmgwDtls;

/* @remote_fingerprint: the peer's SDP a=fingerprint sha-256 value ("AB:CD:..",
 * any case; a leading "sha-256 " is tolerated); (nullable) when the SDP has not
 * arrived yet: then connected() waits for amgw_dtls_set_remote_fingerprint().
 * @callbacks is copied.  Keeps a reference on @cert and @context.  Never
 * fails: problems surface through failed() once started.  (transfer full) */
AmgwDtls *amgw_dtls_new (AmgwDtlsCert *cert, AmgwDtlsRole role, const char *remote_fingerprint,
    GMainContext *context, const AmgwDtlsCallbacks *callbacks, gpointer user_data);
/* Before amgw_dtls_start() only. */
void amgw_dtls_set_role (AmgwDtls *d, AmgwDtlsRole role);
AmgwDtlsRole amgw_dtls_get_role (AmgwDtls *d);
/* OpenSSL's names joined by ':', best first, e.g. "SRTP_AEAD_AES_128_GCM".
 * Before amgw_dtls_start() only; FALSE (and no change) for an unknown or
 * unsupported name.  Default AMGW_DTLS_DEFAULT_SRTP_PROFILES. */
gboolean amgw_dtls_set_srtp_profiles (AmgwDtls *d, const char *profiles);
/* Sets or replaces the expected fingerprint until the peer's certificate has
 * been checked; if the handshake already finished and waits for it, checks
 * now and calls connected() or failed() from inside this call. */
void amgw_dtls_set_remote_fingerprint (AmgwDtls *d, const char *remote_fingerprint);
/* A label for the log ("[call-id]"), e.g. the session id.  Default: the
 * object's address. */
void amgw_dtls_set_name (AmgwDtls *d, const char *name);
/* Default AMGW_DTLS_DEFAULT_HANDSHAKE_TIMEOUT_MS, counted from
 * amgw_dtls_start() to connected(); then failed ("DTLS handshake timed out").
 * May be changed while the handshake runs. */
void amgw_dtls_set_handshake_timeout (AmgwDtls *d, guint ms);
/* Client: sends the ClientHello; server: waits for one (and handles those
 * that arrived before).  Once only. */
void amgw_dtls_start (AmgwDtls *d);
/* One datagram from the wire.  Anything that is not DTLS (RFC 7983), is empty
 * or larger than AMGW_DTLS_MAX_DATAGRAM is dropped silently, as are datagrams
 * after failed() or closed().  @data is not kept. */
void amgw_dtls_receive (AmgwDtls *d, const guint8 *data, gsize len);
gboolean amgw_dtls_is_connected (AmgwDtls *d);
/* Tells a connected AmgwDtls that the peer has finished its handshake: a
 * packet protected with the keys from connected() was authenticated.  The
 * OpenSSL state (~39 KB) is then freed as soon as no retransmission is due;
 * our close_notify is made at that moment and kept for amgw_dtls_free().
 * DTLS records received after that are dropped unread (nothing could
 * authenticate them) and closed() is not called.  Once is enough; later
 * calls, and calls before connected(), do nothing. */
void amgw_dtls_confirm_peer (AmgwDtls *d);
/* Sends close_notify (through send(), from inside this call) if connected,
 * cancels the timers and releases everything; no callback after it returns.
 * From inside a callback, the memory goes when that callback returns. */
void amgw_dtls_free (AmgwDtls *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (AmgwDtls, amgw_dtls_free)

/* RFC 7983 demultiplexing: whether the first byte is in 20..63. */
gboolean amgw_dtls_looks_like_dtls (const guint8 *data, gsize len);

G_END_DECLS
