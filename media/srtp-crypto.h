/* amgw — libsrtp2 cipher and auth types backed by OpenSSL 3 (internal to
 * media/; see srtp-crypto.c for why and for what libsrtp expects of them).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

struct srtp_cipher_type_t;
struct srtp_auth_type_t;

/* Replaces libsrtp's SRTP_AES_ICM_128, SRTP_AES_GCM_128 and SRTP_HMAC_SHA1
 * with ours.  Call once, after a successful srtp_init() and before the first
 * srtp_create(); not thread-safe (srtp.c calls it under its g_once).  Returns
 * whether libsrtp accepted all three (each passes its self-test first); on
 * FALSE, libsrtp keeps its own crypto for every type that was not accepted. */
gboolean amgw_srtp_crypto_install (void);

/* Whether amgw_srtp_crypto_install() has succeeded in this process. */
gboolean amgw_srtp_crypto_is_installed (void);

/* For tests.  Our type for @id (SRTP_AES_ICM_128, SRTP_AES_GCM_128 /
 * SRTP_HMAC_SHA1), or NULL; usable through libsrtp's srtp_cipher_* API once
 * amgw_srtp_crypto_install() has run.  (transfer none) */
const struct srtp_cipher_type_t *amgw_srtp_crypto_cipher_type (guint32 id);
const struct srtp_auth_type_t *amgw_srtp_crypto_auth_type (guint32 id);

/* Cipher and auth objects of ours that exist right now, whoever allocated
 * them: shows that libsrtp really builds its sessions from our types. */
gint amgw_srtp_crypto_live_objects (void);

G_END_DECLS
