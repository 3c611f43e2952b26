/* amgw — libsrtp2's AES-CM, AES-GCM and HMAC-SHA1 on OpenSSL 3.
 *
 * Why: Debian's libsrtp2 does its crypto through NSS, whose softoken costs
 * about 5 µs a packet (libsrtp's NSS back end creates a PK11 context per
 * packet) and about 36 KB of key objects per call.  libsrtp keeps everything
 * that is SRTP (packet formats, key derivation, replay windows, ROC); only the
 * three primitives its crypto kernel looks up by id are ours, plugged in with
 * its public srtp_replace_cipher_type() / srtp_replace_auth_type().
 *
 * What libsrtp 2.5 expects of a type (from reading its source):
 *  - alloc fills in the srtp_cipher_t / srtp_auth_t fields libsrtp reads
 *    directly: type, state, key_len (a cipher's key *with* its salt),
 *    algorithm (srtp.c takes its AEAD path when algorithm is SRTP_AES_GCM_128;
 *    it picks the AES-CM IV layout by type->id), out_len and prefix_len (the
 *    keystream prefix of universal hashes: 0 for HMAC).
 *  - init may be called again on the same object with another key (the
 *    self-tests do), and must leave an auth object ready for compute.
 *  - AES-CM: set_iv gets 16 octets, the SSRC and packet index (RFC 3711
 *    4.1.1) or, for the key derivation, the label at octet 7 (4.3.1); they are
 *    XORed with the 14-octet salt followed by two zero octets, and the block
 *    counter starts at 0.  encrypt and decrypt are the same keystream XOR; the
 *    key derivation encrypts zeroed buffers to read keystream.  Any keystream
 *    left over from a partial block must not carry into the next set_iv.
 *  - AES-GCM: libsrtp hands 16 key octets + 12 salt octets, but forms each
 *    packet's IV from the salt itself (RFC 7714 8.1, 9.1), so init keys AES
 *    with the first 16 only.  set_iv gets the 12-octet IV and the direction;
 *    set_aad may come more than once per packet (SRTCP adds its E flag and
 *    index after the header); encrypt leaves out the tag and get_tag appends
 *    it; decrypt is handed ciphertext *and* tag, shortens the length by the
 *    tag, and must say srtp_err_status_auth_fail on a mismatch (amgw counts
 *    those as authentication drops).  alloc's tag_len is 16, or 8 for
 *    libsrtp's truncated-tag policies, whose test case libsrtp 2.5 chains
 *    into its own GCM test data.
 *  - replacing a type first runs the new type's own test_data through it
 *    (plus 128 random encrypt/decrypt round trips, lengths 0 .. 63), then the
 *    replaced type's test_data: alloc must accept the lengths those use.
 *
 * Packet path: nothing is allocated, and no OpenSSL parameter goes back and
 * forth.  OpenSSL 3.0 turns a new IV (EVP_CipherInit_ex) and a GCM tag
 * (EVP_CIPHER_CTX_ctrl) into OSSL_PARAM lists that the provider searches by
 * name, a dozen strcmp()s each: callgrind at 20 passthrough calls (GCM) put
 * 35 % of amgw's user-space instructions in SRTP, 14 points of them in
 * those two calls and about 3 in AES and GHASH themselves.  So each cipher
 * object keys one AES-128-ECB EVP_CIPHER_CTX at init and uses only EVP_EncryptUpdate() on
 * it, which goes straight to the provider's AES (AES-NI where the CPU has
 * it): counter mode is the counter blocks encrypted in one call and XORed
 * in, and GCM is OpenSSL's own GCM128 (openssl/modes.h: GHASH with the
 * CPU's carry-less multiply) driven by that same counter-mode function.  An
 * HMAC object keeps SHA-1 states that have already absorbed the padded key
 * and copies them per packet (see Hmac).
 *
 * Threads: libsrtp's own locking rules apply (one thread per srtp_t at a time,
 * amgw/srtp.h); the objects here have no shared state beyond one algorithm
 * handle fetched at install and an atomic object count.
 */

/* The low-level SHA1_* functions are deprecated in OpenSSL 3.0; see Hmac for
 * why they are used anyway. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "srtp-crypto.h"

#include <gst/gst.h>
#include <limits.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/modes.h>
#include <openssl/sha.h>
#include <srtp2/srtp.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>

GST_DEBUG_CATEGORY_STATIC (amgw_srtp_crypto_debug);
#define GST_CAT_DEFAULT amgw_srtp_crypto_debug

#define AES_128_KEY_LEN 16
#define ICM_SALT_LEN 14           /* RFC 3711 n_s: 112 bits */
#define GCM_SALT_LEN 12           /* RFC 7714 */
#define GCM_TAG_LEN 16            /* RFC 7714: AEAD_AES_128_GCM's tag */
#define GCM_SHORT_TAG_LEN 8       /* libsrtp's ..._8_auth policies */
#define COUNTER_LEN 16            /* one AES block: what set_iv gets for AES-CM */
#define HMAC_KEY_LEN 20           /* RFC 3711 n_a: 160 bits */
#define SHA1_BLOCK_LEN 64

G_STATIC_ASSERT (AES_128_KEY_LEN + ICM_SALT_LEN == SRTP_AES_ICM_128_KEY_LEN_WSALT);
G_STATIC_ASSERT (AES_128_KEY_LEN + GCM_SALT_LEN == SRTP_AES_GCM_128_KEY_LEN_WSALT);
G_STATIC_ASSERT (GCM_TAG_LEN <= SRTP_MAX_TAG_LEN);
G_STATIC_ASSERT (HMAC_KEY_LEN <= SHA1_BLOCK_LEN);

/* Fetched once by amgw_srtp_crypto_install() and kept for the process:
 * binding a context to a fetched algorithm skips OpenSSL's implicit fetch
 * (a locked method-store lookup) at every alloc. */
static EVP_CIPHER *aes_128_ecb;

static gint live_objects;   /* atomic */
static gboolean installed;

static const srtp_cipher_type_t amgw_aes_icm_128;
static const srtp_cipher_type_t amgw_aes_gcm_128;
static const srtp_auth_type_t amgw_hmac_sha1;

#define AES_BLOCK 16
#define CTR_CHUNK_BLOCKS 32       /* counter blocks encrypted per EVP call: 512 octets on the stack */

/* One cipher object: libsrtp's srtp_cipher_t first, so that the pointer libsrtp
 * holds and its ->state are both this struct. */
typedef struct {
  srtp_cipher_t base;
  EVP_CIPHER_CTX *ecb;            /* (owned) AES-128-ECB, no padding, keyed at init */
  gboolean keyed;
  /* AES-CM */
  guint8 salt[COUNTER_LEN];       /* the salt, then two zero octets */
  guint8 counter[AES_BLOCK];      /* the next block's counter */
  guint8 keystream[AES_BLOCK];    /* of the last block, when it was used only in part */
  guint keystream_used;           /* octets of it used: AES_BLOCK when none is left */
  /* AES-GCM */
  GCM128_CONTEXT *gcm;            /* (owned) made at the first init */
  gboolean failed;                /* OpenSSL refused a block under GCM128: the message fails */
  gboolean decrypting;            /* direction of the last set_iv */
  guint tag_len;
} Cipher;

/* ----------------------------------------------------------------------------
 * Both ciphers
 */

static srtp_err_status_t
cipher_new (srtp_cipher_t **cp, const srtp_cipher_type_t *type, int key_len, int algorithm_id)
{
  Cipher *c;

  if (cp == NULL || aes_128_ecb == NULL)
    return srtp_err_status_bad_param;

  c = g_try_new0 (Cipher, 1);
  if (c == NULL)
    return srtp_err_status_alloc_fail;
  /* Bind the algorithm now: OpenSSL allocates its state here, not at init. */
  c->ecb = EVP_CIPHER_CTX_new ();
  if (c->ecb == NULL || !EVP_EncryptInit_ex (c->ecb, aes_128_ecb, NULL, NULL, NULL) ||
      !EVP_CIPHER_CTX_set_padding (c->ecb, 0)) {
    EVP_CIPHER_CTX_free (c->ecb);
    g_free (c);
    return srtp_err_status_alloc_fail;
  }
  c->keystream_used = AES_BLOCK;

  c->base.type = type;
  c->base.state = c;
  c->base.key_len = key_len;
  c->base.algorithm = algorithm_id;
  g_atomic_int_inc (&live_objects);
  *cp = &c->base;
  return srtp_err_status_ok;
}

static srtp_err_status_t
cipher_dealloc (srtp_cipher_t *base)
{
  Cipher *c;

  if (base == NULL)
    return srtp_err_status_bad_param;
  c = (Cipher *) base->state;
  /* OpenSSL wipes its key schedule when it frees the context, and GCM128's
   * hash key when it releases that. */
  EVP_CIPHER_CTX_free (c->ecb);
  if (c->gcm != NULL)
    CRYPTO_gcm128_release (c->gcm);
  OPENSSL_cleanse (c, sizeof *c);
  g_free (c);
  g_atomic_int_add (&live_objects, -1);
  return srtp_err_status_ok;
}

/* Keys the ECB context with the first 16 octets of @key. */
static gboolean
cipher_key (Cipher *c, const uint8_t *key)
{
  c->keyed = EVP_EncryptInit_ex (c->ecb, NULL, NULL, key, NULL) == 1;
  return c->keyed;
}

/* Encrypts @n_blocks whole blocks from @in to @out (AES-ECB: n_blocks * 16
 * octets; in place is fine). */
static gboolean
ecb_blocks (Cipher *c, const guint8 *in, guint8 *out, gsize n_blocks)
{
  int out_len = 0;

  return EVP_EncryptUpdate (c->ecb, out, &out_len, in, (int) (n_blocks * AES_BLOCK)) == 1 &&
      out_len == (int) (n_blocks * AES_BLOCK);
}

/* GCM128's block function: one block, with our ECB context as its key. */
static void
gcm_block (const unsigned char in[16], unsigned char out[16], const void *key)
{
  Cipher *c = (Cipher *) key;

  if (!ecb_blocks (c, in, out, 1)) {
    memset (out, 0, AES_BLOCK);   /* not with a keyed context; the message fails anyway */
    c->failed = TRUE;
  }
}

/* XORs @n_blocks blocks of keystream into @in -> @out, the counter blocks
 * being @counter, @counter + 1, ...: added to its last @ctr_octets octets
 * only (4 for GCM's inc32, RFC 7714 / SP 800-38D; 16 for RFC 3711 4.1.1's
 * IV + i mod 2^128).  @counter is left as the block after the last. */
static gboolean
ctr_xor (Cipher *c, const guint8 *in, guint8 *out, gsize n_blocks, guint8 counter[AES_BLOCK],
    guint ctr_octets)
{
  guint8 blocks[CTR_CHUNK_BLOCKS * AES_BLOCK];
  gsize used = MIN (n_blocks, CTR_CHUNK_BLOCKS) * AES_BLOCK;

  while (n_blocks > 0) {
    gsize n = MIN (n_blocks, CTR_CHUNK_BLOCKS);
    guint32 low;

    /* The counter's last 32 bits, big-endian: carried further only when
     * they wrap, and only as far as @ctr_octets allows. */
    memcpy (&low, counter + AES_BLOCK - 4, 4);
    low = GUINT32_FROM_BE (low);
    for (gsize b = 0; b < n; b++) {
      guint32 be = GUINT32_TO_BE (low);

      memcpy (counter + AES_BLOCK - 4, &be, 4);
      memcpy (blocks + b * AES_BLOCK, counter, AES_BLOCK);
      if (++low == 0) {
        for (guint i = AES_BLOCK - 4; i > AES_BLOCK - ctr_octets; i--) {
          if (++counter[i - 1] != 0)
            break;
        }
      }
    }
    {
      guint32 be = GUINT32_TO_BE (low);
      memcpy (counter + AES_BLOCK - 4, &be, 4);
    }
    if (!ecb_blocks (c, blocks, blocks, n))
      return FALSE;
    for (gsize i = 0; i < n * AES_BLOCK; i += 8) {
      guint64 a, k;

      memcpy (&a, in + i, 8);
      memcpy (&k, blocks + i, 8);
      a ^= k;
      memcpy (out + i, &a, 8);
    }
    in += n * AES_BLOCK;
    out += n * AES_BLOCK;
    n_blocks -= n;
  }
  OPENSSL_cleanse (blocks, used);   /* keystream */
  return TRUE;
}

/* GCM128's counter-mode function (ctr128_f): its counter is not advanced. */
static void
gcm_ctr32 (const unsigned char *in, unsigned char *out, size_t blocks, const void *key,
    const unsigned char ivec[16])
{
  guint8 counter[AES_BLOCK];

  memcpy (counter, ivec, AES_BLOCK);
  if (!ctr_xor ((Cipher *) key, in, out, blocks, counter, 4)) {
    memset (out, 0, blocks * AES_BLOCK);
    ((Cipher *) key)->failed = TRUE;
  }
}

/* ----------------------------------------------------------------------------
 * AES-128 counter mode (RFC 3711 4.1.1), also libsrtp's key derivation
 */

static srtp_err_status_t
aes_icm_alloc (srtp_cipher_t **cp, int key_len, int tag_len)
{
  /* @tag_len is the policy's auth tag length (0 from the key derivation):
   * nothing to a stream cipher.  Only AES-128 with its 14-octet salt: the
   * 192- and 256-bit variants are other ids and stay libsrtp's. */
  if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
    return srtp_err_status_bad_param;
  return cipher_new (cp, &amgw_aes_icm_128, key_len, SRTP_AES_ICM_128);
}

/* @key: the 16-octet AES key, then the 14-octet salt. */
static srtp_err_status_t
aes_icm_init (void *state, const uint8_t *key)
{
  Cipher *c = state;

  memset (c->salt, 0, sizeof c->salt);
  memcpy (c->salt, key + AES_128_KEY_LEN, ICM_SALT_LEN);
  c->keystream_used = AES_BLOCK;
  return cipher_key (c, key) ? srtp_err_status_ok : srtp_err_status_init_fail;
}

/* Counter mode has no direction: the same keystream encrypts and decrypts. */
static srtp_err_status_t
aes_icm_set_iv (void *state, uint8_t *iv, srtp_cipher_direction_t direction)
{
  Cipher *c = state;

  if (G_UNLIKELY (!c->keyed || iv == NULL))
    return srtp_err_status_bad_param;
  for (guint i = 0; i < COUNTER_LEN; i++)
    c->counter[i] = iv[i] ^ c->salt[i];
  /* A new IV also drops the unused keystream of a previous partial block. */
  c->keystream_used = AES_BLOCK;
  return srtp_err_status_ok;
}

/* XORs the keystream into @buf, going on where the last call stopped (the
 * key derivation reads keystream in pieces). */
static srtp_err_status_t
aes_icm_crypt (void *state, uint8_t *buf, unsigned int *len)
{
  Cipher *c = state;
  gsize left, whole;

  if (G_UNLIKELY (len == NULL || !c->keyed))
    return srtp_err_status_bad_param;
  left = *len;
  /* Zero-length input: nothing to do (libsrtp may pass a NULL buffer then). */
  if (left == 0)
    return srtp_err_status_ok;
  while (left > 0 && c->keystream_used < AES_BLOCK) {
    *buf++ ^= c->keystream[c->keystream_used++];
    left--;
  }
  whole = left / AES_BLOCK;
  if (whole > 0 && !ctr_xor (c, buf, buf, whole, c->counter, AES_BLOCK))
    return srtp_err_status_cipher_fail;
  buf += whole * AES_BLOCK;
  left -= whole * AES_BLOCK;
  if (left > 0) {
    memset (c->keystream, 0, AES_BLOCK);
    if (!ctr_xor (c, c->keystream, c->keystream, 1, c->counter, AES_BLOCK))
      return srtp_err_status_cipher_fail;
    for (c->keystream_used = 0; c->keystream_used < left; c->keystream_used++)
      buf[c->keystream_used] ^= c->keystream[c->keystream_used];
  }
  return srtp_err_status_ok;
}

/* ----------------------------------------------------------------------------
 * AES-128-GCM (RFC 7714)
 */

static srtp_err_status_t
aes_gcm_alloc (srtp_cipher_t **cp, int key_len, int tag_len)
{
  srtp_err_status_t status;

  /* RFC 7714's 16-octet tag, and the 8-octet one of libsrtp's ..._8_auth
   * policies (its own GCM test data checks both, so a replacement must too).
   * Any other length is refused rather than quietly given another tag. */
  if (key_len != SRTP_AES_GCM_128_KEY_LEN_WSALT ||
      (tag_len != GCM_TAG_LEN && tag_len != GCM_SHORT_TAG_LEN))
    return srtp_err_status_bad_param;
  status = cipher_new (cp, &amgw_aes_gcm_128, key_len, SRTP_AES_GCM_128);
  if (status == srtp_err_status_ok)
    ((Cipher *) (*cp)->state)->tag_len = (guint) tag_len;
  return status;
}

/* @key: 16 AES key octets, then the 12-octet salt, which libsrtp applies
 * itself when it forms the IV. */
static srtp_err_status_t
aes_gcm_init (void *state, const uint8_t *key)
{
  Cipher *c = state;

  if (!cipher_key (c, key))
    return srtp_err_status_init_fail;
  /* GCM128 derives its hash key with the block function: E(K, 0). */
  c->failed = FALSE;
  if (c->gcm == NULL)
    c->gcm = CRYPTO_gcm128_new (c, gcm_block);
  else
    CRYPTO_gcm128_init (c->gcm, c, gcm_block);
  if (c->gcm == NULL || c->failed) {
    c->keyed = FALSE;
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

/* @iv: the 12-octet IV.  Starts a message: the AAD and tag state of the
 * previous one is gone. */
static srtp_err_status_t
aes_gcm_set_iv (void *state, uint8_t *iv, srtp_cipher_direction_t direction)
{
  Cipher *c = state;

  if (G_UNLIKELY (!c->keyed || iv == NULL))
    return srtp_err_status_bad_param;
  switch (direction) {
    case srtp_direction_encrypt:
      c->decrypting = FALSE;
      break;
    case srtp_direction_decrypt:
      c->decrypting = TRUE;
      break;
    default:
      return srtp_err_status_bad_param;
  }
  c->failed = FALSE;
  CRYPTO_gcm128_setiv (c->gcm, iv, GCM_SALT_LEN);
  return c->failed ? srtp_err_status_cipher_fail : srtp_err_status_ok;
}

/* Adds to the AAD; may be called more than once, before any payload. */
static srtp_err_status_t
aes_gcm_set_aad (void *state, const uint8_t *aad, uint32_t aad_len)
{
  Cipher *c = state;

  if (aad_len == 0)
    return srtp_err_status_ok;
  if (G_UNLIKELY (!c->keyed || aad == NULL))
    return srtp_err_status_bad_param;
  if (CRYPTO_gcm128_aad (c->gcm, aad, aad_len) != 0)
    return srtp_err_status_cipher_fail;   /* after the payload began, or too long */
  return srtp_err_status_ok;
}

/* Encrypts in place; the tag comes from get_tag. */
static srtp_err_status_t
aes_gcm_encrypt (void *state, uint8_t *buf, unsigned int *len)
{
  Cipher *c = state;

  if (G_UNLIKELY (!c->keyed || c->decrypting || len == NULL))
    return srtp_err_status_bad_param;
  if (*len == 0)
    return srtp_err_status_ok;
  if (CRYPTO_gcm128_encrypt_ctr32 (c->gcm, buf, buf, *len, gcm_ctr32) != 0 || c->failed)
    return srtp_err_status_cipher_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t
aes_gcm_get_tag (void *state, uint8_t *tag, uint32_t *len)
{
  Cipher *c = state;

  if (G_UNLIKELY (!c->keyed || c->decrypting || tag == NULL || len == NULL))
    return srtp_err_status_bad_param;
  /* A short tag is the full one truncated (NIST SP 800-38D 5.2.1.2). */
  CRYPTO_gcm128_tag (c->gcm, tag, c->tag_len);
  if (c->failed)
    return srtp_err_status_cipher_fail;
  *len = c->tag_len;
  return srtp_err_status_ok;
}

/* @buf holds the ciphertext followed by the tag; on success *@len loses the
 * tag.  On a mismatch @buf holds unauthenticated plaintext (libsrtp drops the
 * packet). */
static srtp_err_status_t
aes_gcm_decrypt (void *state, uint8_t *buf, unsigned int *len)
{
  Cipher *c = state;
  unsigned int payload_len;

  if (G_UNLIKELY (!c->keyed || !c->decrypting || len == NULL || *len < c->tag_len))
    return srtp_err_status_bad_param;
  payload_len = *len - c->tag_len;
  if (payload_len > 0 &&
      CRYPTO_gcm128_decrypt_ctr32 (c->gcm, buf, buf, payload_len, gcm_ctr32) != 0)
    return srtp_err_status_cipher_fail;
  /* CRYPTO_gcm128_finish compares in constant time; 0 is a match. */
  if (CRYPTO_gcm128_finish (c->gcm, buf + payload_len, c->tag_len) != 0 || c->failed)
    return srtp_err_status_auth_fail;
  *len = payload_len;
  return srtp_err_status_ok;
}

/* ----------------------------------------------------------------------------
 * HMAC-SHA1 (RFC 2104), truncated to the policy's tag (RFC 3711 4.2.1)
 *
 * Why the deprecated low-level SHA1_* functions: an HMAC object restarts from
 * its key at every packet, and in OpenSSL 3.0 every EVP way of doing that
 * allocates: EVP_MAC_init() with a NULL key, HMAC_Init_ex() with a NULL key
 * and EVP_MD_CTX_copy_ex() all duplicate the provider's digest context (two
 * mallocs a packet), and even EVP_DigestInit_ex2() on a used context frees and
 * re-creates it.  Measured on this machine for a 172-octet packet:
 * SHA1_* with saved states 126 ns and no allocation; EVP_MD_CTX_copy_ex
 * 188 ns, EVP_MAC_init 223 ns, EVP_DigestInit_ex2 + key pads 264 ns, each
 * with 2 mallocs.  The SHA1_* functions run the same assembly as the
 * provider, and a SHA_CTX is a plain struct that can be copied.  Should an
 * OpenSSL build lack them (no-deprecated), EVP_MAC_init() with a NULL key is
 * the correct, slower replacement.
 */

typedef struct {
  srtp_auth_t base;               /* first: libsrtp's pointer and ->state */
  SHA_CTX inner;                  /* after (key XOR ipad): where a message starts */
  SHA_CTX outer;                  /* after (key XOR opad) */
  SHA_CTX running;                /* the message being authenticated */
} Hmac;

static srtp_err_status_t
hmac_alloc (srtp_auth_t **ap, int key_len, int out_len)
{
  Hmac *h;

  /* SRTP derives a 160-bit key (RFC 3711 n_a); tags are truncated, to 80 or
   * 32 bits for SRTP, other lengths for the self-tests. */
  if (ap == NULL || key_len != HMAC_KEY_LEN || out_len < 1 || out_len > SHA_DIGEST_LENGTH)
    return srtp_err_status_bad_param;

  h = g_try_new0 (Hmac, 1);
  if (h == NULL)
    return srtp_err_status_alloc_fail;
  h->base.type = &amgw_hmac_sha1;
  h->base.state = h;
  h->base.out_len = out_len;
  h->base.key_len = key_len;
  h->base.prefix_len = 0;
  g_atomic_int_inc (&live_objects);
  *ap = &h->base;
  return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_dealloc (srtp_auth_t *base)
{
  Hmac *h;

  if (base == NULL)
    return srtp_err_status_bad_param;
  h = (Hmac *) base->state;
  /* The saved states are as good as the key. */
  OPENSSL_cleanse (h, sizeof *h);
  g_free (h);
  g_atomic_int_add (&live_objects, -1);
  return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_init (void *state, const uint8_t *key, int key_len)
{
  Hmac *h = state;
  guint8 pad[SHA1_BLOCK_LEN];
  int i;

  if (key == NULL || key_len != HMAC_KEY_LEN)
    return srtp_err_status_bad_param;

  memset (pad, 0x36, sizeof pad);
  for (i = 0; i < key_len; i++)
    pad[i] ^= key[i];
  SHA1_Init (&h->inner);
  SHA1_Update (&h->inner, pad, sizeof pad);

  memset (pad, 0x5c, sizeof pad);
  for (i = 0; i < key_len; i++)
    pad[i] ^= key[i];
  SHA1_Init (&h->outer);
  SHA1_Update (&h->outer, pad, sizeof pad);

  OPENSSL_cleanse (pad, sizeof pad);
  /* Ready for a message: libsrtp's self-test computes right after init. */
  h->running = h->inner;
  return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_start (void *state)
{
  Hmac *h = state;

  h->running = h->inner;
  return srtp_err_status_ok;
}

static srtp_err_status_t
hmac_update (void *state, const uint8_t *buf, int len)
{
  Hmac *h = state;

  if (G_UNLIKELY (len < 0 || (len > 0 && buf == NULL)))
    return srtp_err_status_bad_param;
  SHA1_Update (&h->running, buf, (size_t) len);
  return srtp_err_status_ok;
}

/* Absorbs @buf, writes the first @tag_len octets of the MAC to @tag, and
 * starts the next message. */
static srtp_err_status_t
hmac_compute (void *state, const uint8_t *buf, int len, int tag_len, uint8_t *tag)
{
  Hmac *h = state;
  guint8 digest[SHA_DIGEST_LENGTH];

  if (G_UNLIKELY (len < 0 || (len > 0 && buf == NULL) || tag_len < 0 ||
          tag_len > SHA_DIGEST_LENGTH || tag == NULL))
    return srtp_err_status_bad_param;

  SHA1_Update (&h->running, buf, (size_t) len);
  SHA1_Final (digest, &h->running);
  h->running = h->outer;
  SHA1_Update (&h->running, digest, sizeof digest);
  SHA1_Final (digest, &h->running);
  memcpy (tag, digest, (size_t) tag_len);
  h->running = h->inner;
  return srtp_err_status_ok;
}

/* ----------------------------------------------------------------------------
 * Known answers, run by libsrtp whenever a type is installed
 */

static const guint8 zeros[64];

/* RFC 3711 B.2: AES-CM keystream, session key 2B7E..3C, salt F0F1..FD, SSRC,
 * ROC and SEQ all 0: the first three keystream blocks. */
static const guint8 icm_b2_key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {
  0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static guint8 icm_zero_iv[COUNTER_LEN];
static const guint8 icm_b2_keystream[48] = {
  0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
  0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
  0x41, 0xe9, 0x5b, 0x3b, 0xb0, 0xa2, 0xe8, 0xdd, 0x47, 0x79, 0x01, 0xe4, 0xfc, 0xa8, 0x94, 0xc0,
};

/* RFC 3711 B.3: the key derivation, which is AES-CM keyed with the master key
 * and salt, the label at octet 7 of the IV.  Labels 0 (cipher key), 1 (auth
 * key, first 20 octets) and 2 (salt): partial blocks, and an IV that is not
 * all salt. */
static const guint8 icm_b3_key[SRTP_AES_ICM_128_KEY_LEN_WSALT] = {
  0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39,
  0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
};
static guint8 icm_b3_label1_iv[COUNTER_LEN] = { [7] = 0x01 };
static guint8 icm_b3_label2_iv[COUNTER_LEN] = { [7] = 0x02 };
static const guint8 icm_b3_cipher_key[16] = {
  0xc6, 0x1e, 0x7a, 0x93, 0x74, 0x4f, 0x39, 0xee, 0x10, 0x73, 0x4a, 0xfe, 0x3f, 0xf7, 0xa0, 0x87,
};
static const guint8 icm_b3_auth_key[20] = {
  0xce, 0xbe, 0x32, 0x1f, 0x6f, 0xf7, 0x71, 0x6b, 0x6f, 0xd4, 0xab, 0x49, 0xaf, 0x25, 0x6a, 0x15,
  0x6d, 0x38, 0xba, 0xa4,
};
static const guint8 icm_b3_salt[14] = {
  0x30, 0xcb, 0xbc, 0x08, 0x86, 0x3d, 0x8c, 0x85, 0xd4, 0x9d, 0xb3, 0x4a, 0x9a, 0xe1,
};

static const srtp_cipher_test_case_t icm_test_b3_salt = {
  SRTP_AES_ICM_128_KEY_LEN_WSALT, icm_b3_key, icm_b3_label2_iv,
  sizeof icm_b3_salt, zeros, sizeof icm_b3_salt, icm_b3_salt, 0, NULL, 0, NULL,
};
static const srtp_cipher_test_case_t icm_test_b3_auth_key = {
  SRTP_AES_ICM_128_KEY_LEN_WSALT, icm_b3_key, icm_b3_label1_iv,
  sizeof icm_b3_auth_key, zeros, sizeof icm_b3_auth_key, icm_b3_auth_key, 0, NULL, 0,
  &icm_test_b3_salt,
};
static const srtp_cipher_test_case_t icm_test_b3_cipher_key = {
  SRTP_AES_ICM_128_KEY_LEN_WSALT, icm_b3_key, icm_zero_iv,
  sizeof icm_b3_cipher_key, zeros, sizeof icm_b3_cipher_key, icm_b3_cipher_key, 0, NULL, 0,
  &icm_test_b3_auth_key,
};
static const srtp_cipher_test_case_t icm_test_b2 = {
  SRTP_AES_ICM_128_KEY_LEN_WSALT, icm_b2_key, icm_zero_iv,
  sizeof icm_b2_keystream, zeros, sizeof icm_b2_keystream, icm_b2_keystream, 0, NULL, 0,
  &icm_test_b3_cipher_key,
};

/* AES-128-GCM.  libsrtp's key is 16 + 12 octets; the salt part is unused
 * by the cipher, so the first two cases give zeros there. */

/* The GCM specification's test case 2 (McGrew and Viega; NIST's
 * gcmEncryptExtIV128): zero key and IV, one zero block, no AAD. */
static const guint8 gcm_2_key[SRTP_AES_GCM_128_KEY_LEN_WSALT];
static guint8 gcm_2_iv[12];
static const guint8 gcm_2_sealed[16 + GCM_TAG_LEN] = {
  0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92, 0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78,
  /* tag */
  0xab, 0x6e, 0x47, 0xd4, 0x2c, 0xec, 0x13, 0xbd, 0xf5, 0x3a, 0x67, 0xb2, 0x12, 0x57, 0xbd, 0xdf,
};

/* Its test case 4: AAD, and a plaintext that ends in a partial block. */
static const guint8 gcm_4_key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {
  0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
};
static guint8 gcm_4_iv[12] = {
  0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88,
};
static const guint8 gcm_4_aad[20] = {
  0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef,
  0xab, 0xad, 0xda, 0xd2,
};
static const guint8 gcm_4_plain[60] = {
  0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26, 0x9a,
  0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72,
  0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
  0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39,
};
static const guint8 gcm_4_sealed[60 + GCM_TAG_LEN] = {
  0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c,
  0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e,
  0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
  0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
  /* tag */
  0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47,
};

/* RFC 7714 16.1.1: an SRTP packet (header as AAD, 38-octet payload) with the
 * session key and salt "Quid pro quo", SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b;
 * the IV is what 8.1 forms from them. */
static const guint8 gcm_7714_key[SRTP_AES_GCM_128_KEY_LEN_WSALT] = {
  0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
  0x51, 0x75, 0x69, 0x64, 0x20, 0x70, 0x72, 0x6f, 0x20, 0x71, 0x75, 0x6f,
};
static guint8 gcm_7714_iv[12] = {
  0x51, 0x75, 0x3c, 0x65, 0x80, 0xc2, 0x72, 0x6f, 0x20, 0x71, 0x84, 0x14,
};
static const guint8 gcm_7714_header[12] = {
  0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41, 0xf8, 0xd3, 0x55, 0x01, 0xa0, 0xb2,
};
static const guint8 gcm_7714_plain[38] = "Gallia est omnis divisa in partes tres";
static const guint8 gcm_7714_sealed[38 + GCM_TAG_LEN] = {
  0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c, 0xac, 0xba, 0x86, 0x1c, 0x9d, 0x7e, 0x4b, 0xca,
  0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f, 0x42, 0xa5, 0xf4, 0x7a, 0x51, 0xc7, 0xd1, 0x9b,
  0x36, 0xde, 0x3a, 0xdf, 0x88, 0x33,
  /* tag */
  0x89, 0x9d, 0x7f, 0x27, 0xbe, 0xb1, 0x6a, 0x91, 0x52, 0xcf, 0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce,
};

static const srtp_cipher_test_case_t gcm_test_7714 = {
  SRTP_AES_GCM_128_KEY_LEN_WSALT, gcm_7714_key, gcm_7714_iv,
  sizeof gcm_7714_plain, gcm_7714_plain, sizeof gcm_7714_sealed, gcm_7714_sealed,
  sizeof gcm_7714_header, gcm_7714_header, GCM_TAG_LEN, NULL,
};
/* Test case 4 again with the tag cut to 8 octets. */
static const srtp_cipher_test_case_t gcm_test_4_short = {
  SRTP_AES_GCM_128_KEY_LEN_WSALT, gcm_4_key, gcm_4_iv,
  sizeof gcm_4_plain, gcm_4_plain, sizeof gcm_4_plain + GCM_SHORT_TAG_LEN, gcm_4_sealed,
  sizeof gcm_4_aad, gcm_4_aad, GCM_SHORT_TAG_LEN, &gcm_test_7714,
};
static const srtp_cipher_test_case_t gcm_test_4 = {
  SRTP_AES_GCM_128_KEY_LEN_WSALT, gcm_4_key, gcm_4_iv,
  sizeof gcm_4_plain, gcm_4_plain, sizeof gcm_4_sealed, gcm_4_sealed,
  sizeof gcm_4_aad, gcm_4_aad, GCM_TAG_LEN, &gcm_test_4_short,
};
static const srtp_cipher_test_case_t gcm_test_2 = {
  SRTP_AES_GCM_128_KEY_LEN_WSALT, gcm_2_key, gcm_2_iv,
  16, zeros, sizeof gcm_2_sealed, gcm_2_sealed, 0, NULL, GCM_TAG_LEN, &gcm_test_4,
};

/* RFC 2202 section 3, HMAC-SHA1 test cases 1, 3 and 5 (the ones with 20-octet
 * keys), and case 1 truncated to SRTP's 80 bits. */
static const guint8 hmac_1_key[20] = {
  0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
  0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
};
static const guint8 hmac_1_data[8] = "Hi There";
static const guint8 hmac_1_digest[20] = {
  0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
  0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00,
};
static const guint8 hmac_3_key[20] = {
  0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
  0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
};
static const guint8 hmac_3_data[50] = {
  0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
  0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
  0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd,
  0xdd, 0xdd,
};
static const guint8 hmac_3_digest[20] = {
  0x12, 0x5d, 0x73, 0x42, 0xb9, 0xac, 0x11, 0xcd, 0x91, 0xa3,
  0x9a, 0xf4, 0x8a, 0xa1, 0x7b, 0x4f, 0x63, 0xf1, 0x75, 0xd3,
};
static const guint8 hmac_5_key[20] = {
  0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c,
  0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c, 0x0c,
};
static const guint8 hmac_5_data[20] = "Test With Truncation";
static const guint8 hmac_5_digest_96[12] = {
  0x4c, 0x1a, 0x03, 0x42, 0x4b, 0x55, 0xe0, 0x7f, 0xe7, 0xf2, 0x7b, 0xe1,
};

static const srtp_auth_test_case_t hmac_test_1_80 = {
  sizeof hmac_1_key, hmac_1_key, sizeof hmac_1_data, hmac_1_data, 10, hmac_1_digest, NULL,
};
static const srtp_auth_test_case_t hmac_test_5 = {
  sizeof hmac_5_key, hmac_5_key, sizeof hmac_5_data, hmac_5_data,
  sizeof hmac_5_digest_96, hmac_5_digest_96, &hmac_test_1_80,
};
static const srtp_auth_test_case_t hmac_test_3 = {
  sizeof hmac_3_key, hmac_3_key, sizeof hmac_3_data, hmac_3_data,
  sizeof hmac_3_digest, hmac_3_digest, &hmac_test_5,
};
static const srtp_auth_test_case_t hmac_test_1 = {
  sizeof hmac_1_key, hmac_1_key, sizeof hmac_1_data, hmac_1_data,
  sizeof hmac_1_digest, hmac_1_digest, &hmac_test_3,
};

/* ----------------------------------------------------------------------------
 * The types
 */

static const srtp_cipher_type_t amgw_aes_icm_128 = {
  .alloc = aes_icm_alloc,
  .dealloc = cipher_dealloc,
  .init = aes_icm_init,
  .set_aad = NULL,
  .encrypt = aes_icm_crypt,
  .decrypt = aes_icm_crypt,
  .set_iv = aes_icm_set_iv,
  .get_tag = NULL,
  .description = "AES-128 counter mode (amgw, OpenSSL)",
  .test_data = &icm_test_b2,
  .id = SRTP_AES_ICM_128,
};

static const srtp_cipher_type_t amgw_aes_gcm_128 = {
  .alloc = aes_gcm_alloc,
  .dealloc = cipher_dealloc,
  .init = aes_gcm_init,
  .set_aad = aes_gcm_set_aad,
  .encrypt = aes_gcm_encrypt,
  .decrypt = aes_gcm_decrypt,
  .set_iv = aes_gcm_set_iv,
  .get_tag = aes_gcm_get_tag,
  .description = "AES-128 GCM (amgw, OpenSSL)",
  .test_data = &gcm_test_2,
  .id = SRTP_AES_GCM_128,
};

static const srtp_auth_type_t amgw_hmac_sha1 = {
  .alloc = hmac_alloc,
  .dealloc = hmac_dealloc,
  .init = hmac_init,
  .compute = hmac_compute,
  .update = hmac_update,
  .start = hmac_start,
  .description = "HMAC-SHA1 (amgw, OpenSSL)",
  .test_data = &hmac_test_1,
  .id = SRTP_HMAC_SHA1,
};

gboolean
amgw_srtp_crypto_install (void)
{
  static const srtp_cipher_type_t *const ciphers[] = { &amgw_aes_icm_128, &amgw_aes_gcm_128 };
  srtp_err_status_t status;
  gboolean all = TRUE;
  guint i;

  GST_DEBUG_CATEGORY_INIT (amgw_srtp_crypto_debug, "amgw-srtp", 0, "amgw SRTP / SRTCP");

  if (installed)
    return TRUE;

  if (aes_128_ecb == NULL)
    aes_128_ecb = EVP_CIPHER_fetch (NULL, "AES-128-ECB", NULL);
  if (aes_128_ecb == NULL)
    goto no_algorithms;

  /* Our own known answers first, all of them, so that a type that fails them
   * leaves libsrtp's crypto untouched.  Replacing runs them again, then the
   * replaced type's: only those can still refuse one type of three. */
  for (i = 0; i < G_N_ELEMENTS (ciphers); i++) {
    status = srtp_cipher_type_self_test (ciphers[i]);
    if (status != srtp_err_status_ok)
      goto self_test_failed;
  }
  status = srtp_auth_type_self_test (&amgw_hmac_sha1);
  if (status != srtp_err_status_ok)
    goto self_test_failed;

  for (i = 0; i < G_N_ELEMENTS (ciphers); i++) {
    status = srtp_replace_cipher_type (ciphers[i], ciphers[i]->id);
    if (status != srtp_err_status_ok) {
      GST_WARNING ("libsrtp refused %s: error %d", ciphers[i]->description, (int) status);
      all = FALSE;
    }
  }
  status = srtp_replace_auth_type (&amgw_hmac_sha1, SRTP_HMAC_SHA1);
  if (status != srtp_err_status_ok) {
    GST_WARNING ("libsrtp refused %s: error %d", amgw_hmac_sha1.description, (int) status);
    all = FALSE;
  }

  installed = all;
  GST_DEBUG ("OpenSSL cipher and auth types %s", all ? "installed" : "partly installed");
  return all;

  /* ERRORS */
no_algorithms:
  {
    GST_WARNING ("OpenSSL has no AES-128-ECB");
    return FALSE;
  }
self_test_failed:
  {
    GST_WARNING ("amgw's SRTP crypto failed its self-test (libsrtp error %d): not installed",
        (int) status);
    return FALSE;
  }
}

gboolean
amgw_srtp_crypto_is_installed (void)
{
  return installed;
}

const struct srtp_cipher_type_t *
amgw_srtp_crypto_cipher_type (guint32 id)
{
  switch (id) {
    case SRTP_AES_ICM_128:
      return &amgw_aes_icm_128;
    case SRTP_AES_GCM_128:
      return &amgw_aes_gcm_128;
    default:
      return NULL;
  }
}

const struct srtp_auth_type_t *
amgw_srtp_crypto_auth_type (guint32 id)
{
  return id == SRTP_HMAC_SHA1 ? &amgw_hmac_sha1 : NULL;
}

gint
amgw_srtp_crypto_live_objects (void)
{
  return g_atomic_int_get (&live_objects);
}
