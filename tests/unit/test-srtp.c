/* Unit tests for SRTP / SRTCP (media/srtp.c): round trips for both profiles,
 * tampering, replays, the trailer room, SRTCP, and the error codes.
 *
 * The crypto under them is amgw's own (media/srtp-crypto.c, OpenSSL), put into
 * libsrtp process-wide by the first amgw_srtp call.  It is checked three ways:
 * known answers from the RFCs, a byte-for-byte comparison with libsrtp's
 * built-in crypto running in a child process forked before that first call,
 * and a count of our crypto objects while sessions exist. */
#include "amgw/srtp.h"
#include "../../media/srtp-crypto.h"

#include <errno.h>
#include <gst/gst.h>
#include <openssl/evp.h>
#include <srtp2/srtp.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUF_SIZE 1500
#define PAYLOAD_LEN 160

static const AmgwSrtpProfile cm = AMGW_SRTP_AES128_CM_SHA1_80;
static const AmgwSrtpProfile gcm = AMGW_SRTP_AEAD_AES_128_GCM;

/* Two sides of one session: alice sends with key_a, bob with key_b. */
typedef struct {
  AmgwSrtpProfile profile;
  guint8 key_a[30];
  guint8 key_b[30];
  AmgwSrtp *alice;
  AmgwSrtp *bob;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint i;

  f->profile = *(const AmgwSrtpProfile *) data;
  if (!amgw_srtp_profile_is_supported (f->profile)) {
    g_test_skip ("profile not supported by this libsrtp");
    return;
  }
  for (i = 0; i < sizeof f->key_a; i++) {
    f->key_a[i] = (guint8) (0x10 + i);
    f->key_b[i] = (guint8) (0xa0 + 3 * i);
  }
  f->alice = amgw_srtp_new (f->profile, f->key_a, f->key_b, &error);
  g_assert_no_error (error);
  f->bob = amgw_srtp_new (f->profile, f->key_b, f->key_a, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_pointer (&f->alice, amgw_srtp_free);
  g_clear_pointer (&f->bob, amgw_srtp_free);
}

/* A valid RTP packet: V=2, PT 111, one CSRC-less header, @payload_len bytes. */
static gsize
build_rtp (guint8 *buf, guint16 seq, guint32 ts, guint32 ssrc, gsize payload_len)
{
  gsize i;

  buf[0] = 0x80;
  buf[1] = 111;
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  buf[4] = ts >> 24;
  buf[5] = (ts >> 16) & 0xff;
  buf[6] = (ts >> 8) & 0xff;
  buf[7] = ts & 0xff;
  buf[8] = ssrc >> 24;
  buf[9] = (ssrc >> 16) & 0xff;
  buf[10] = (ssrc >> 8) & 0xff;
  buf[11] = ssrc & 0xff;
  for (i = 0; i < payload_len; i++)
    buf[12 + i] = (guint8) (seq + i);
  return 12 + payload_len;
}

/* An RTCP sender report without report blocks (28 bytes). */
static gsize
build_rtcp_sr (guint8 *buf, guint32 ssrc, guint32 packets)
{
  memset (buf, 0, 28);
  buf[0] = 0x80;
  buf[1] = 200;
  buf[3] = 6;   /* length in words - 1 */
  buf[4] = ssrc >> 24;
  buf[5] = (ssrc >> 16) & 0xff;
  buf[6] = (ssrc >> 8) & 0xff;
  buf[7] = ssrc & 0xff;
  buf[8] = 0xe5;   /* NTP time, arbitrary */
  buf[15] = 0x42;
  buf[20] = packets >> 24;
  buf[23] = packets & 0xff;
  return 28;
}

static gsize
tag_len (AmgwSrtpProfile p)
{
  return p == AMGW_SRTP_AEAD_AES_128_GCM ? 16 : 10;
}

static void
test_key_lengths (void)
{
  g_assert_cmpuint (amgw_srtp_key_len (cm), ==, 30);
  g_assert_cmpuint (amgw_srtp_key_len (gcm), ==, 28);
  g_assert_cmpuint (amgw_srtp_master_key_len (cm), ==, 16);
  g_assert_cmpuint (amgw_srtp_master_key_len (gcm), ==, 16);
  g_assert_cmpstr (amgw_srtp_profile_to_string (cm), ==, "AES_CM_128_HMAC_SHA1_80");
  g_assert_cmpstr (amgw_srtp_profile_to_string (gcm), ==, "AEAD_AES_128_GCM");
  g_assert_true (amgw_srtp_profile_is_supported (cm));
  g_assert_cmpint (AMGW_SRTP_MAX_TRAILER, >=, 16 + 4);
}

static void
test_round_trip (Fixture *f, gconstpointer data)
{
  guint8 plain[BUF_SIZE], buf[BUF_SIZE];
  g_autoptr (GError) error = NULL;
  guint16 seq;

  if (f->alice == NULL)
    return;
  g_assert_cmpint (amgw_srtp_get_profile (f->alice), ==, f->profile);

  for (seq = 65530; seq != 10; seq++) {   /* across the rollover */
    gsize plain_len = build_rtp (plain, seq, seq * 960u, 0x11223344, PAYLOAD_LEN);
    gsize len = plain_len;

    memcpy (buf, plain, len);
    g_assert_true (amgw_srtp_protect (f->alice, buf, &len, sizeof buf, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (len, ==, plain_len + tag_len (f->profile));
    g_assert_cmpmem (buf, 12, plain, 12);                         /* header in clear */
    g_assert_true (memcmp (buf + 12, plain + 12, PAYLOAD_LEN) != 0);  /* payload not */

    g_assert_true (amgw_srtp_unprotect (f->bob, buf, &len, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (buf, len, plain, plain_len);
  }

  /* The other way, another SSRC. */
  for (seq = 1; seq < 5; seq++) {
    gsize plain_len = build_rtp (plain, seq, seq, 0xcafe, 20);
    gsize len = plain_len;

    memcpy (buf, plain, len);
    g_assert_true (amgw_srtp_protect (f->bob, buf, &len, sizeof buf, &error));
    g_assert_true (amgw_srtp_unprotect (f->alice, buf, &len, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (buf, len, plain, plain_len);
  }
}

/* The send and receive halves have different keys: our own packets do not
 * authenticate as received ones. */
static void
test_directions_are_separate (Fixture *f, gconstpointer data)
{
  guint8 buf[BUF_SIZE];
  gsize len = build_rtp (buf, 7, 7, 1, 40);
  g_autoptr (GError) error = NULL;

  if (f->alice == NULL)
    return;
  g_assert_true (amgw_srtp_protect (f->alice, buf, &len, sizeof buf, NULL));
  g_assert_false (amgw_srtp_unprotect (f->alice, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH);
}

static void
test_tamper (Fixture *f, gconstpointer data)
{
  guint8 orig[BUF_SIZE], buf[BUF_SIZE];
  gsize orig_len, len;
  guint auth = 99, replays = 99;
  gsize positions[4];
  guint i;

  if (f->alice == NULL)
    return;
  orig_len = build_rtp (orig, 100, 100, 0x5555, PAYLOAD_LEN);
  g_assert_true (amgw_srtp_protect (f->alice, orig, &orig_len, sizeof orig, NULL));

  positions[0] = 1;                  /* header (authenticated, in clear) */
  positions[1] = 12 + 5;             /* payload */
  positions[2] = orig_len - 1;       /* tag */
  positions[3] = 11;                 /* SSRC: an unknown stream, still checked */
  for (i = 0; i < G_N_ELEMENTS (positions); i++) {
    g_autoptr (GError) error = NULL;

    memcpy (buf, orig, orig_len);
    len = orig_len;
    buf[positions[i]] ^= 0x01;
    g_assert_false (amgw_srtp_unprotect (f->bob, buf, &len, &error));
    g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH);
  }
  /* Without an error pointer too (the packet path). */
  memcpy (buf, orig, orig_len);
  len = orig_len;
  buf[20] ^= 0x80;
  g_assert_false (amgw_srtp_unprotect (f->bob, buf, &len, NULL));

  amgw_srtp_get_drops (f->bob, &auth, &replays);
  g_assert_cmpuint (auth, ==, G_N_ELEMENTS (positions) + 1);
  g_assert_cmpuint (replays, ==, 0);

  /* Failed attempts did not burn the sequence number. */
  len = orig_len;
  g_assert_true (amgw_srtp_unprotect (f->bob, orig, &len, NULL));
}

static void
test_replay (Fixture *f, gconstpointer data)
{
  guint8 first[BUF_SIZE], buf[BUF_SIZE];
  gsize first_len, len;
  g_autoptr (GError) error = NULL;
  guint replays = 0;
  guint16 seq;

  if (f->alice == NULL)
    return;
  first_len = build_rtp (first, 1, 0, 0x77, PAYLOAD_LEN);
  g_assert_true (amgw_srtp_protect (f->alice, first, &first_len, sizeof first, NULL));

  memcpy (buf, first, first_len);
  len = first_len;
  g_assert_true (amgw_srtp_unprotect (f->bob, buf, &len, NULL));
  memcpy (buf, first, first_len);
  len = first_len;
  g_assert_false (amgw_srtp_unprotect (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_REPLAY);
  g_clear_error (&error);

  /* Move 1100 packets on: seq 1 is now outside the 1024-packet window. */
  for (seq = 2; seq <= 1101; seq++) {
    len = build_rtp (buf, seq, seq, 0x77, 10);
    g_assert_true (amgw_srtp_protect (f->alice, buf, &len, sizeof buf, NULL));
    if (seq == 1101)
      g_assert_true (amgw_srtp_unprotect (f->bob, buf, &len, NULL));
  }
  memcpy (buf, first, first_len);
  len = first_len;
  g_assert_false (amgw_srtp_unprotect (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_REPLAY);

  amgw_srtp_get_drops (f->bob, NULL, &replays);
  g_assert_cmpuint (replays, ==, 2);
}

/* A retransmission (same sequence number) may be protected again. */
static void
test_repeat_tx (Fixture *f, gconstpointer data)
{
  guint8 a[BUF_SIZE], b[BUF_SIZE];
  gsize a_len, b_len;

  if (f->alice == NULL)
    return;
  a_len = build_rtp (a, 42, 42, 0x99, 50);
  b_len = build_rtp (b, 42, 42, 0x99, 50);
  g_assert_true (amgw_srtp_protect (f->alice, a, &a_len, sizeof a, NULL));
  g_assert_true (amgw_srtp_protect (f->alice, b, &b_len, sizeof b, NULL));
  g_assert_cmpmem (a, a_len, b, b_len);
  g_assert_true (amgw_srtp_unprotect (f->bob, b, &b_len, NULL));
}

static void
test_rtcp (Fixture *f, gconstpointer data)
{
  guint8 plain[BUF_SIZE], buf[BUF_SIZE], saved[BUF_SIZE];
  gsize plain_len, len, saved_len;
  g_autoptr (GError) error = NULL;
  guint i;

  if (f->alice == NULL)
    return;
  for (i = 0; i < 3; i++) {
    plain_len = build_rtcp_sr (plain, 0x11223344, i);
    len = plain_len;
    memcpy (buf, plain, len);
    g_assert_true (amgw_srtp_protect_rtcp (f->alice, buf, &len, sizeof buf, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (len, ==, plain_len + 4 + tag_len (f->profile));
    g_assert_cmpuint (len - plain_len, <=, AMGW_SRTP_MAX_TRAILER);
    memcpy (saved, buf, len);
    saved_len = len;
    g_assert_true (amgw_srtp_unprotect_rtcp (f->bob, buf, &len, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (buf, len, plain, plain_len);
  }

  /* Replay of the last one. */
  len = saved_len;
  memcpy (buf, saved, len);
  g_assert_false (amgw_srtp_unprotect_rtcp (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_REPLAY);
  g_clear_error (&error);

  /* Tampered. */
  plain_len = build_rtcp_sr (buf, 0x11223344, 9);
  len = plain_len;
  g_assert_true (amgw_srtp_protect_rtcp (f->alice, buf, &len, sizeof buf, NULL));
  buf[10] ^= 0x04;
  g_assert_false (amgw_srtp_unprotect_rtcp (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH);
  g_clear_error (&error);

  /* The other way. */
  plain_len = build_rtcp_sr (plain, 0xcafe, 1);
  len = plain_len;
  memcpy (buf, plain, len);
  g_assert_true (amgw_srtp_protect_rtcp (f->bob, buf, &len, sizeof buf, NULL));
  g_assert_true (amgw_srtp_unprotect_rtcp (f->alice, buf, &len, NULL));
  g_assert_cmpmem (buf, len, plain, plain_len);
}

static void
test_invalid (Fixture *f, gconstpointer data)
{
  guint8 buf[BUF_SIZE];
  gsize len;
  g_autoptr (GError) error = NULL;

  if (f->alice == NULL)
    return;

  /* No room for the trailer. */
  len = build_rtp (buf, 1, 1, 1, 100);
  g_assert_false (amgw_srtp_protect (f->alice, buf, &len, len + AMGW_SRTP_MAX_TRAILER - 1, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
  g_assert_cmpuint (len, ==, 112);
  g_clear_error (&error);
  g_assert_false (amgw_srtp_protect_rtcp (f->alice, buf, &len, 50, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
  g_clear_error (&error);
  /* Exactly enough room. */
  g_assert_true (amgw_srtp_protect (f->alice, buf, &len, len + AMGW_SRTP_MAX_TRAILER, NULL));

  /* Shorter than a header. */
  len = 11;
  g_assert_false (amgw_srtp_protect (f->alice, buf, &len, sizeof buf, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
  g_clear_error (&error);
  len = 7;
  g_assert_false (amgw_srtp_unprotect_rtcp (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
  g_clear_error (&error);

  /* A header alone is too short to carry a tag. */
  len = build_rtp (buf, 1, 1, 1, 0);
  g_assert_false (amgw_srtp_unprotect (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
  g_clear_error (&error);
  len = 8 + 4 + tag_len (f->profile) - 1;
  g_assert_false (amgw_srtp_unprotect_rtcp (f->bob, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
  g_clear_error (&error);

  /* An RTP header that claims more CSRCs than the packet holds. */
  len = build_rtp (buf, 2, 2, 1, 8);
  buf[0] = 0x8f;
  g_assert_false (amgw_srtp_unprotect (f->bob, buf, &len, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* Longer than the ceiling. */
  {
    g_autofree guint8 *big = g_malloc0 (AMGW_SRTP_MAX_PACKET + 100);
    gsize big_len = AMGW_SRTP_MAX_PACKET + 1;

    build_rtp (big, 3, 3, 1, 0);
    g_assert_false (amgw_srtp_protect (f->alice, big, &big_len, AMGW_SRTP_MAX_PACKET + 100,
            &error));
    g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
    g_clear_error (&error);
  }
}

/* Buffers of exactly len + AMGW_SRTP_MAX_TRAILER bytes on the heap: valgrind
 * and ASan catch libsrtp writing past what the header promises. */
static void
test_exact_capacity (Fixture *f, gconstpointer data)
{
  guint8 plain[BUF_SIZE];
  gsize plain_len, len;
  guint8 *buf;

  if (f->alice == NULL)
    return;

  plain_len = build_rtp (plain, 9, 9, 0x42, 33);
  buf = g_malloc (plain_len + AMGW_SRTP_MAX_TRAILER);
  memcpy (buf, plain, plain_len);
  len = plain_len;
  g_assert_true (amgw_srtp_protect (f->alice, buf, &len, plain_len + AMGW_SRTP_MAX_TRAILER, NULL));
  g_assert_true (amgw_srtp_unprotect (f->bob, buf, &len, NULL));
  g_assert_cmpmem (buf, len, plain, plain_len);
  g_free (buf);

  plain_len = build_rtcp_sr (plain, 0x42, 1);
  buf = g_malloc (plain_len + AMGW_SRTP_MAX_TRAILER);
  memcpy (buf, plain, plain_len);
  len = plain_len;
  g_assert_true (amgw_srtp_protect_rtcp (f->alice, buf, &len,
          plain_len + AMGW_SRTP_MAX_TRAILER, NULL));
  g_assert_true (amgw_srtp_unprotect_rtcp (f->bob, buf, &len, NULL));
  g_assert_cmpmem (buf, len, plain, plain_len);
  g_free (buf);
}

static void
test_bad_profile (void)
{
  guint8 key[30] = { 0 };
  g_autoptr (GError) error = NULL;
  AmgwSrtp *s = amgw_srtp_new ((AmgwSrtpProfile) 42, key, key, &error);

  g_assert_null (s);
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_INVALID);
}

/* Different keys on the two sides: nothing authenticates. */
static void
test_wrong_key (Fixture *f, gconstpointer data)
{
  guint8 other[30], buf[BUF_SIZE];
  g_autoptr (AmgwSrtp) eve = NULL;
  g_autoptr (GError) error = NULL;
  gsize len;

  if (f->alice == NULL)
    return;
  memcpy (other, f->key_a, sizeof other);
  other[29 - (f->profile == gcm ? 2 : 0)] ^= 1;   /* salt only */
  eve = amgw_srtp_new (f->profile, f->key_b, other, &error);
  g_assert_no_error (error);

  len = build_rtp (buf, 5, 5, 5, 30);
  g_assert_true (amgw_srtp_protect (f->alice, buf, &len, sizeof buf, NULL));
  g_assert_false (amgw_srtp_unprotect (eve, buf, &len, &error));
  g_assert_error (error, AMGW_SRTP_ERROR, AMGW_SRTP_ERROR_AUTH);
}

/* ----------------------------------------------------------------------------
 * The reference: libsrtp's built-in crypto, in a child process
 *
 * Installing amgw's crypto changes libsrtp for the whole process, so the
 * child is forked before the first amgw_srtp call and runs libsrtp's plain
 * API there, with the same policies amgw builds.  It serves requests on a
 * socket: create a session pair (tx, rx), protect or unprotect one packet.
 */

enum {
  REF_CREATE = 1,        /* payload: profile, tx key (30), rx key (30); reply: handle */
  REF_PROTECT,
  REF_PROTECT_RTCP,
  REF_UNPROTECT,
  REF_UNPROTECT_RTCP,
};

#define REF_MAX_SESSIONS 16
#define REF_KEY_LEN 30
#define REF_CREATE_LEN (1 + 2 * REF_KEY_LEN)

typedef struct {
  guint32 op;
  guint32 handle;
  guint32 len;           /* payload bytes that follow */
} RefRequest;

typedef struct {
  gint32 status;         /* srtp_err_status_t */
  guint32 handle;
  guint32 len;           /* packet bytes that follow */
} RefReply;

static int reference_fd = -1;
static pid_t reference_pid = -1;

static gboolean
read_full (int fd, void *data, gsize len)
{
  guint8 *p = data;

  while (len > 0) {
    ssize_t n = read (fd, p, len);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    p += n;
    len -= (gsize) n;
  }
  return TRUE;
}

static gboolean
write_full (int fd, const void *data, gsize len)
{
  const guint8 *p = data;

  while (len > 0) {
    /* MSG_NOSIGNAL: a dead peer is an error here, not SIGPIPE. */
    ssize_t n = send (fd, p, len, MSG_NOSIGNAL);

    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return FALSE;
    p += n;
    len -= (gsize) n;
  }
  return TRUE;
}

/* What media/srtp.c's create_session() builds, on libsrtp's API alone. */
static srtp_err_status_t
reference_session (srtp_t *session, AmgwSrtpProfile profile, srtp_ssrc_type_t direction,
    const guint8 *key_salt)
{
  guint8 key[SRTP_MAX_KEY_LEN] = { 0 };
  srtp_policy_t policy;

  memset (&policy, 0, sizeof policy);
  if (profile == AMGW_SRTP_AEAD_AES_128_GCM) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtcp);
  }
  memcpy (key, key_salt, REF_KEY_LEN);
  policy.ssrc.type = direction;
  policy.key = key;
  policy.window_size = AMGW_SRTP_REPLAY_WINDOW;
  policy.allow_repeat_tx = direction == ssrc_any_outbound;
  return srtp_create (session, &policy);
}

static void G_GNUC_NORETURN
reference_main (int fd)
{
  static guint8 buf[BUF_SIZE];
  srtp_t tx[REF_MAX_SESSIONS], rx[REF_MAX_SESSIONS];
  guint n_sessions = 0, i;
  int code = 0;

  if (srtp_init () != srtp_err_status_ok)
    _exit (3);

  for (;;) {
    RefRequest req;
    RefReply rep = { srtp_err_status_ok, 0, 0 };
    srtp_t session = NULL;
    int len;

    if (!read_full (fd, &req, sizeof req))
      break;   /* the parent is done (or gone) */
    if (req.len > BUF_SIZE - AMGW_SRTP_MAX_TRAILER || !read_full (fd, buf, req.len)) {
      code = 4;
      break;
    }
    len = (int) req.len;
    if (req.op != REF_CREATE) {
      if (req.handle >= n_sessions) {
        rep.status = srtp_err_status_bad_param;
        len = 0;
      } else {
        session = req.op == REF_PROTECT || req.op == REF_PROTECT_RTCP ?
            tx[req.handle] : rx[req.handle];
      }
    }
    switch (session != NULL ? req.op : 0) {
      case REF_PROTECT:
        rep.status = srtp_protect (session, buf, &len);
        break;
      case REF_PROTECT_RTCP:
        rep.status = srtp_protect_rtcp (session, buf, &len);
        break;
      case REF_UNPROTECT:
        rep.status = srtp_unprotect (session, buf, &len);
        break;
      case REF_UNPROTECT_RTCP:
        rep.status = srtp_unprotect_rtcp (session, buf, &len);
        break;
      default:
        if (req.op != REF_CREATE)
          break;
        len = 0;
        if (n_sessions == REF_MAX_SESSIONS || req.len != REF_CREATE_LEN) {
          rep.status = srtp_err_status_bad_param;
          break;
        }
        rep.status = reference_session (&tx[n_sessions], buf[0], ssrc_any_outbound, buf + 1);
        if (rep.status != srtp_err_status_ok)
          break;
        rep.status = reference_session (&rx[n_sessions], buf[0], ssrc_any_inbound,
            buf + 1 + REF_KEY_LEN);
        if (rep.status != srtp_err_status_ok) {
          srtp_dealloc (tx[n_sessions]);
          break;
        }
        rep.handle = n_sessions++;
        break;
    }
    rep.len = rep.status == srtp_err_status_ok ? (guint32) len : 0;
    if (!write_full (fd, &rep, sizeof rep) || !write_full (fd, buf, rep.len)) {
      code = 5;
      break;
    }
  }

  for (i = 0; i < n_sessions; i++) {
    srtp_dealloc (tx[i]);
    srtp_dealloc (rx[i]);
  }
  srtp_shutdown ();
  close (fd);
  /* _exit, not exit: the atexit handlers and stdio buffers are the parent's. */
  _exit (code);
}

/* Must run before anything calls an amgw_srtp function. */
static void
reference_spawn (void)
{
  int sv[2];

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    g_error ("socketpair: %s", g_strerror (errno));
  reference_pid = fork ();
  if (reference_pid < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (reference_pid == 0) {
    close (sv[0]);
    reference_main (sv[1]);
  }
  close (sv[1]);
  reference_fd = sv[0];
}

/* Ends the child; whether it exited cleanly (under valgrind: with no errors). */
static gboolean
reference_stop (void)
{
  int wstatus = 0;
  pid_t pid;

  if (reference_pid <= 0)
    return TRUE;
  close (reference_fd);
  reference_fd = -1;
  do
    pid = waitpid (reference_pid, &wstatus, 0);
  while (pid < 0 && errno == EINTR);
  reference_pid = -1;
  if (pid < 0 || !WIFEXITED (wstatus) || WEXITSTATUS (wstatus) != 0) {
    g_printerr ("reference process failed (wait status 0x%x)\n", (guint) wstatus);
    return FALSE;
  }
  return TRUE;
}

/* One request.  @buf (BUF_SIZE bytes) holds *@len bytes in, the reply out. */
static srtp_err_status_t
reference_call (guint32 op, guint32 handle, guint8 *buf, gsize *len, guint32 *new_handle)
{
  RefRequest req = { op, handle, (guint32) *len };
  RefReply rep;

  g_assert_cmpint (reference_fd, >=, 0);
  g_assert_true (write_full (reference_fd, &req, sizeof req));
  g_assert_true (write_full (reference_fd, buf, *len));
  g_assert_true (read_full (reference_fd, &rep, sizeof rep));
  g_assert_cmpuint (rep.len, <=, BUF_SIZE);
  g_assert_true (read_full (reference_fd, buf, rep.len));
  *len = rep.len;
  if (new_handle != NULL)
    *new_handle = rep.handle;
  return (srtp_err_status_t) rep.status;
}

static guint32
reference_create (AmgwSrtpProfile profile, const guint8 *tx_key, const guint8 *rx_key)
{
  guint8 buf[BUF_SIZE];
  gsize len = REF_CREATE_LEN;
  guint32 handle = 0;

  buf[0] = (guint8) profile;
  memcpy (buf + 1, tx_key, REF_KEY_LEN);
  memcpy (buf + 1 + REF_KEY_LEN, rx_key, REF_KEY_LEN);
  g_assert_cmpint (reference_call (REF_CREATE, 0, buf, &len, &handle), ==, srtp_err_status_ok);
  return handle;
}

/* An RTCP packet of @len bytes (a multiple of 4, at least 8): an empty
 * receiver report for 8, else an APP packet; libsrtp only reads the header. */
static gsize
build_rtcp (guint8 *buf, guint32 ssrc, gsize len, guint8 fill)
{
  gsize i;

  g_assert (len >= 8 && len % 4 == 0 && len <= BUF_SIZE - AMGW_SRTP_MAX_TRAILER);
  buf[0] = 0x80;
  buf[1] = len == 8 ? 201 : 204;
  buf[2] = (guint8) ((len / 4 - 1) >> 8);
  buf[3] = (guint8) ((len / 4 - 1) & 0xff);
  buf[4] = ssrc >> 24;
  buf[5] = (ssrc >> 16) & 0xff;
  buf[6] = (ssrc >> 8) & 0xff;
  buf[7] = ssrc & 0xff;
  for (i = 8; i < len; i++)
    buf[i] = (guint8) (fill + 7 * i);
  return len;
}

typedef struct {
  AmgwSrtp *alice;       /* ours: tx key_a, rx key_b */
  AmgwSrtp *bob;         /* ours: tx key_b, rx key_a */
  guint32 ref_alice;     /* the reference's mirror of alice */
  guint32 ref_bob;
  guint packets;
} CrossCheck;

/* Protects @plain with ours and with the reference, which hold the same keys
 * and have seen the same packets: SRTP is deterministic, so the bytes must be
 * the same.  Leaves them in @out. */
static void
protect_both (AmgwSrtp *ours, guint32 reference, gboolean rtcp, const guint8 *plain,
    gsize plain_len, guint8 *out, gsize *out_len)
{
  guint8 buf[BUF_SIZE];
  gsize len = plain_len;
  g_autoptr (GError) error = NULL;

  memcpy (buf, plain, plain_len);
  if (rtcp)
    g_assert_true (amgw_srtp_protect_rtcp (ours, buf, &len, sizeof buf, &error));
  else
    g_assert_true (amgw_srtp_protect (ours, buf, &len, sizeof buf, &error));
  g_assert_no_error (error);

  memcpy (out, plain, plain_len);
  *out_len = plain_len;
  g_assert_cmpint (reference_call (rtcp ? REF_PROTECT_RTCP : REF_PROTECT, reference, out, out_len,
          NULL), ==, srtp_err_status_ok);
  g_assert_cmpmem (buf, len, out, *out_len);
}

/* @plain from alice to bob and from bob to alice, each time protected by both
 * and unprotected by the other crypto. */
static void
cross_check_packet (CrossCheck *x, gboolean rtcp, const guint8 *plain, gsize plain_len)
{
  guint8 buf[BUF_SIZE];
  gsize len;
  g_autoptr (GError) error = NULL;

  /* alice -> bob: libsrtp's built-in crypto accepts what ours protected. */
  protect_both (x->alice, x->ref_alice, rtcp, plain, plain_len, buf, &len);
  g_assert_cmpint (reference_call (rtcp ? REF_UNPROTECT_RTCP : REF_UNPROTECT, x->ref_bob, buf, &len,
          NULL), ==, srtp_err_status_ok);
  g_assert_cmpmem (buf, len, plain, plain_len);

  /* bob -> alice: ours accepts what the built-in crypto protected. */
  protect_both (x->bob, x->ref_bob, rtcp, plain, plain_len, buf, &len);
  if (rtcp)
    g_assert_true (amgw_srtp_unprotect_rtcp (x->alice, buf, &len, &error));
  else
    g_assert_true (amgw_srtp_unprotect (x->alice, buf, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buf, len, plain, plain_len);
  x->packets++;
}

static void
test_cross_check (gconstpointer data)
{
  const AmgwSrtpProfile profile = *(const AmgwSrtpProfile *) data;
  static const guint32 ssrcs[] = { 0x11223344, 0xdeadbeef, 0x00000001 };
  static const gsize payloads[] = { 0, 1, 160, 1200 };
  static const gsize rtcp_lens[] = { 8, 28, 100, 1200 };
  guint8 key_a[REF_KEY_LEN], key_b[REF_KEY_LEN], plain[BUF_SIZE];
  g_autoptr (GRand) rand = g_rand_new_with_seed (0x5eed0 + (guint32) profile);
  g_autoptr (GError) error = NULL;
  CrossCheck x = { 0 };
  guint i, k;

  if (reference_fd < 0) {
    g_test_skip ("no reference process");
    return;
  }
  for (i = 0; i < REF_KEY_LEN; i++) {
    key_a[i] = (guint8) g_rand_int (rand);
    key_b[i] = (guint8) g_rand_int (rand);
  }
  x.alice = amgw_srtp_new (profile, key_a, key_b, &error);
  g_assert_no_error (error);
  x.bob = amgw_srtp_new (profile, key_b, key_a, &error);
  g_assert_no_error (error);
  /* Else both sides would be libsrtp's built-in crypto. */
  g_assert_true (amgw_srtp_crypto_is_installed ());
  x.ref_alice = reference_create (profile, key_a, key_b);
  x.ref_bob = reference_create (profile, key_b, key_a);

  /* Three SSRCs interleaved, each crossing 65535 -> 0 (the ROC goes to 1) at
   * a different packet, with every payload size. */
  for (k = 0; k < 10; k++) {
    for (i = 0; i < G_N_ELEMENTS (ssrcs); i++) {
      guint16 seq = (guint16) (65533 + i + k);
      gsize len = build_rtp (plain, seq, seq * 160u, ssrcs[i],
          payloads[(k + i) % G_N_ELEMENTS (payloads)]);

      cross_check_packet (&x, FALSE, plain, len);
    }
  }
  /* SRTCP: the index counts per SSRC; every length, the header alone too. */
  for (k = 0; k < 6; k++) {
    for (i = 0; i < G_N_ELEMENTS (ssrcs); i++) {
      gsize len = build_rtcp (plain, ssrcs[i], rtcp_lens[(k + i) % G_N_ELEMENTS (rtcp_lens)],
          (guint8) (k * 31 + i));

      cross_check_packet (&x, TRUE, plain, len);
    }
  }
  g_assert_cmpuint (x.packets, ==, 10 * 3 + 6 * 3);

  amgw_srtp_free (x.alice);
  amgw_srtp_free (x.bob);
}

/* ----------------------------------------------------------------------------
 * Known answers and the crypto's identity
 */

static gsize
unhex (const char *hex, guint8 *out, gsize max)
{
  gsize n = 0;

  for (; *hex != '\0'; hex++) {
    if (g_ascii_isspace (*hex))
      continue;
    g_assert_true (g_ascii_isxdigit (hex[0]) && g_ascii_isxdigit (hex[1]));
    g_assert_cmpuint (n, <, max);
    out[n++] = (guint8) (g_ascii_xdigit_value (hex[0]) << 4 | g_ascii_xdigit_value (hex[1]));
    hex++;
  }
  return n;
}

static void
test_crypto_installed (void)
{
  guint8 key[REF_KEY_LEN] = { 0x42, 0x17 };
  guint8 buf[BUF_SIZE];
  AmgwSrtp *s;
  gsize len;
  gint before;

  g_assert_true (amgw_srtp_profile_is_supported (cm));   /* initialises */
  g_assert_true (amgw_srtp_crypto_is_installed ());
  g_assert_true (amgw_srtp_profile_is_supported (gcm));

  /* libsrtp builds its sessions from our types: per direction, an AES-CM
   * cipher and an HMAC for RTP and again for RTCP... */
  before = amgw_srtp_crypto_live_objects ();
  s = amgw_srtp_new (cm, key, key, NULL);
  g_assert_nonnull (s);
  g_assert_cmpint (amgw_srtp_crypto_live_objects (), ==, before + 8);
  /* ...which every SSRC's stream shares. */
  len = build_rtp (buf, 1, 1, 0xabc, 20);
  g_assert_true (amgw_srtp_protect (s, buf, &len, sizeof buf, NULL));
  len = build_rtp (buf, 1, 1, 0xdef, 20);
  g_assert_true (amgw_srtp_protect (s, buf, &len, sizeof buf, NULL));
  g_assert_cmpint (amgw_srtp_crypto_live_objects (), ==, before + 8);
  amgw_srtp_free (s);
  g_assert_cmpint (amgw_srtp_crypto_live_objects (), ==, before);

  /* GCM: one cipher for RTP and one for RTCP per direction (no HMAC). */
  s = amgw_srtp_new (gcm, key, key, NULL);
  g_assert_nonnull (s);
  g_assert_cmpint (amgw_srtp_crypto_live_objects (), ==, before + 4);
  amgw_srtp_free (s);
  g_assert_cmpint (amgw_srtp_crypto_live_objects (), ==, before);
}

/* Our types refuse what they do not implement rather than misbehave. */
static void
test_crypto_lengths (void)
{
  const srtp_cipher_type_t *icm = amgw_srtp_crypto_cipher_type (SRTP_AES_ICM_128);
  const srtp_cipher_type_t *aead = amgw_srtp_crypto_cipher_type (SRTP_AES_GCM_128);
  const srtp_auth_type_t *hmac = amgw_srtp_crypto_auth_type (SRTP_HMAC_SHA1);
  srtp_cipher_t *c = NULL;
  srtp_auth_t *a = NULL;

  g_assert_true (amgw_srtp_profile_is_supported (cm));
  g_assert_nonnull (icm);
  g_assert_nonnull (aead);
  g_assert_nonnull (hmac);
  g_assert_null (amgw_srtp_crypto_cipher_type (SRTP_AES_ICM_256));

  g_assert_cmpint (srtp_cipher_type_alloc (icm, &c, SRTP_AES_ICM_256_KEY_LEN_WSALT, 0), ==,
      srtp_err_status_bad_param);
  g_assert_cmpint (srtp_cipher_type_alloc (icm, &c, 16, 0), ==, srtp_err_status_bad_param);
  g_assert_cmpint (srtp_cipher_type_alloc (aead, &c, SRTP_AES_GCM_256_KEY_LEN_WSALT, 16), ==,
      srtp_err_status_bad_param);
  g_assert_cmpint (srtp_cipher_type_alloc (aead, &c, SRTP_AES_GCM_128_KEY_LEN_WSALT, 12), ==,
      srtp_err_status_bad_param);
  g_assert_cmpint (srtp_auth_type_alloc (hmac, &a, 16, 10), ==, srtp_err_status_bad_param);
  g_assert_cmpint (srtp_auth_type_alloc (hmac, &a, 20, 21), ==, srtp_err_status_bad_param);
  g_assert_null (c);
  g_assert_null (a);

  g_assert_cmpint (srtp_cipher_type_alloc (icm, &c, SRTP_AES_ICM_128_KEY_LEN_WSALT, 10), ==,
      srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_get_key_length (c), ==, SRTP_AES_ICM_128_KEY_LEN_WSALT);
  g_assert_cmpint (c->algorithm, ==, SRTP_AES_ICM_128);
  g_assert_cmpint (srtp_cipher_dealloc (c), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_auth_type_alloc (hmac, &a, 20, 10), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_auth_get_tag_length (a), ==, 10);
  g_assert_cmpint (srtp_auth_get_prefix_length (a), ==, 0);
  g_assert_cmpint (srtp_auth_dealloc (a), ==, srtp_err_status_ok);
}

/* Seals @payload (in place) under our AES-GCM type, @aad given in the pieces
 * libsrtp gives it; appends the tag. */
static void
gcm_seal (const guint8 *key, const guint8 *iv, const guint8 *aad1, gsize aad1_len,
    const guint8 *aad2, gsize aad2_len, guint8 *payload, gsize *len)
{
  srtp_cipher_t *c = NULL;
  unsigned int n = (unsigned int) *len;
  uint32_t tag_len = 0;
  guint8 iv_copy[12];

  memcpy (iv_copy, iv, sizeof iv_copy);
  g_assert_cmpint (srtp_cipher_type_alloc (amgw_srtp_crypto_cipher_type (SRTP_AES_GCM_128), &c,
          SRTP_AES_GCM_128_KEY_LEN_WSALT, 16), ==, srtp_err_status_ok);
  g_assert_cmpint (c->algorithm, ==, SRTP_AES_GCM_128);
  g_assert_cmpint (srtp_cipher_init (c, key), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_set_iv (c, iv_copy, srtp_direction_encrypt), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_set_aad (c, aad1, (uint32_t) aad1_len), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_set_aad (c, aad2, (uint32_t) aad2_len), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_encrypt (c, payload, &n), ==, srtp_err_status_ok);
  g_assert_cmpuint (n, ==, *len);
  g_assert_cmpint (srtp_cipher_get_tag (c, payload + n, &tag_len), ==, srtp_err_status_ok);
  g_assert_cmpuint (tag_len, ==, 16);
  *len = n + tag_len;
  g_assert_cmpint (srtp_cipher_dealloc (c), ==, srtp_err_status_ok);
}

/* The reverse: srtp_err_status_auth_fail on a bad tag. */
static srtp_err_status_t
gcm_open (const guint8 *key, const guint8 *iv, const guint8 *aad1, gsize aad1_len,
    const guint8 *aad2, gsize aad2_len, guint8 *sealed, gsize *len)
{
  srtp_cipher_t *c = NULL;
  unsigned int n = (unsigned int) *len;
  srtp_err_status_t status;
  guint8 iv_copy[12];

  memcpy (iv_copy, iv, sizeof iv_copy);
  g_assert_cmpint (srtp_cipher_type_alloc (amgw_srtp_crypto_cipher_type (SRTP_AES_GCM_128), &c,
          SRTP_AES_GCM_128_KEY_LEN_WSALT, 16), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_init (c, key), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_set_iv (c, iv_copy, srtp_direction_decrypt), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_set_aad (c, aad1, (uint32_t) aad1_len), ==, srtp_err_status_ok);
  g_assert_cmpint (srtp_cipher_set_aad (c, aad2, (uint32_t) aad2_len), ==, srtp_err_status_ok);
  status = srtp_cipher_decrypt (c, sealed, &n);
  if (status == srtp_err_status_ok)
    *len = n;
  g_assert_cmpint (srtp_cipher_dealloc (c), ==, srtp_err_status_ok);
  return status;
}

/* RFC 7714 16.1.1 and 17.1: AEAD_AES_128_GCM SRTP and SRTCP packets.  The RFC
 * gives session keys, and libsrtp takes only master keys, so these go through
 * our GCM type directly, with the IV formed as RFC 7714 8.1 and 9.1 say and
 * the AAD handed over in libsrtp's pieces.  (The packet path around the
 * cipher is the cross-check's business.) */
static void
test_rfc7714 (void)
{
  guint8 key[28], pkt[BUF_SIZE], expected[BUF_SIZE], iv[12], want_iv[12], plain[BUF_SIZE];
  guint8 trailer[4];
  gsize key_len, pkt_len, expected_len, plain_len, len;
  guint32 ssrc, index;
  guint i;

  g_assert_true (amgw_srtp_profile_is_supported (gcm));   /* installs our types */
  key_len = unhex ("000102030405060708090a0b0c0d0e0f" "517569642070726f2071756f", key, sizeof key);
  g_assert_cmpuint (key_len, ==, 28);

  /* 16.1.1: SSRC 0x5501a0b2, ROC 0, SEQ 0xf17b.  IV = salt XOR
   * (00 00 || SSRC || ROC || SEQ). */
  plain_len = unhex ("8040f17b 8041f8d3 5501a0b2"
      "47616c6c 69612065 7374206f 6d6e6973 20646976 69736120 696e2070 61727465"
      "73207472 6573", plain, sizeof plain);
  expected_len = unhex ("8040f17b 8041f8d3 5501a0b2"
      "f24de3a3 fb34de6c acba861c 9d7e4bca be633bd5 0d294e6f 42a5f47a 51c7d19b"
      "36de3adf 8833 899d7f27 beb16a91 52cf765e e4390cce", expected, sizeof expected);
  unhex ("51753c6580c2726f20718414", want_iv, sizeof want_iv);
  ssrc = 0x5501a0b2;
  memset (iv, 0, sizeof iv);
  iv[2] = ssrc >> 24;
  iv[3] = (ssrc >> 16) & 0xff;
  iv[4] = (ssrc >> 8) & 0xff;
  iv[5] = ssrc & 0xff;
  iv[10] = 0xf1;
  iv[11] = 0x7b;
  for (i = 0; i < 12; i++)
    iv[i] ^= key[16 + i];
  g_assert_cmpmem (iv, 12, want_iv, 12);

  memcpy (pkt, plain, plain_len);
  len = plain_len - 12;
  gcm_seal (key, iv, pkt, 12, NULL, 0, pkt + 12, &len);
  pkt_len = 12 + len;
  g_assert_cmpmem (pkt, pkt_len, expected, expected_len);

  len = pkt_len - 12;
  g_assert_cmpint (gcm_open (key, iv, pkt, 12, NULL, 0, pkt + 12, &len), ==, srtp_err_status_ok);
  g_assert_cmpmem (pkt, 12 + len, plain, plain_len);
  memcpy (pkt, expected, expected_len);
  pkt[3] ^= 0x01;   /* the header is authenticated */
  len = expected_len - 12;
  g_assert_cmpint (gcm_open (key, iv, pkt, 12, NULL, 0, pkt + 12, &len), ==,
      srtp_err_status_auth_fail);
  memcpy (pkt, expected, expected_len);
  pkt[expected_len - 1] ^= 0x80;   /* and so is the tag */
  len = expected_len - 12;
  g_assert_cmpint (gcm_open (key, iv, pkt, 12, NULL, 0, pkt + 12, &len), ==,
      srtp_err_status_auth_fail);

  /* 17.1: SRTCP, SSRC "Mars", index 0x5d4, E set.  AAD = header and
   * E || index (libsrtp hands them over in two calls); the packet is header,
   * ciphertext, tag, E || index.  IV = salt XOR (00 00 || SSRC || 00 00 ||
   * 0 || index). */
  plain_len = unhex ("81c8000d 4d617273 4e545031 4e545032 52545020 0000042a 0000e930"
      "4c756e61 deadbeef deadbeef deadbeef deadbeef deadbeef", plain, sizeof plain);
  expected_len = unhex ("81c8000d 4d617273"
      "63e94885 dcdab67c a727d766 2f6b7e99 7ff5c0f7 6c06f32d c676a5f1 730d6fda"
      "4ce09b46 86303ded 0bb9275b"
      "c84aa458 96cf4d2f c5abf872 45d9eade"
      "800005d4", expected, sizeof expected);
  unhex ("517524055203726f207170bb", want_iv, sizeof want_iv);
  ssrc = 0x4d617273;
  index = 0x5d4;
  memset (iv, 0, sizeof iv);
  iv[2] = ssrc >> 24;
  iv[3] = (ssrc >> 16) & 0xff;
  iv[4] = (ssrc >> 8) & 0xff;
  iv[5] = ssrc & 0xff;
  iv[8] = (index >> 24) & 0x7f;
  iv[9] = (index >> 16) & 0xff;
  iv[10] = (index >> 8) & 0xff;
  iv[11] = index & 0xff;
  for (i = 0; i < 12; i++)
    iv[i] ^= key[16 + i];
  g_assert_cmpmem (iv, 12, want_iv, 12);
  trailer[0] = 0x80 | ((index >> 24) & 0x7f);
  trailer[1] = (index >> 16) & 0xff;
  trailer[2] = (index >> 8) & 0xff;
  trailer[3] = index & 0xff;

  memcpy (pkt, plain, plain_len);
  len = plain_len - 8;
  gcm_seal (key, iv, pkt, 8, trailer, 4, pkt + 8, &len);
  memcpy (pkt + 8 + len, trailer, 4);
  pkt_len = 8 + len + 4;
  g_assert_cmpmem (pkt, pkt_len, expected, expected_len);

  len = pkt_len - 8 - 4;
  g_assert_cmpint (gcm_open (key, iv, pkt, 8, trailer, 4, pkt + 8, &len), ==,
      srtp_err_status_ok);
  g_assert_cmpmem (pkt, 8 + len, plain, plain_len);
  /* The index is authenticated too. */
  memcpy (pkt, expected, expected_len);
  trailer[3] ^= 0x01;
  len = expected_len - 8 - 4;
  g_assert_cmpint (gcm_open (key, iv, pkt, 8, trailer, 4, pkt + 8, &len), ==,
      srtp_err_status_auth_fail);
}

/* RFC 3711 4.1.1 and 4.2, from the session keys, in a few lines of OpenSSL:
 * what a protected AES_CM_128_HMAC_SHA1_80 packet must be. */
static gsize
rfc3711_protect (const guint8 *cipher_key, const guint8 *salt, const guint8 *auth_key,
    guint32 roc, guint8 *pkt, gsize len)
{
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new ();
  guint8 iv[16] = { 0 }, mac[EVP_MAX_MD_SIZE], authed[BUF_SIZE + 4];
  guint64 index = ((guint64) roc << 16) | (guint64) (pkt[2] << 8 | pkt[3]);
  gsize mac_len = 0;
  int out_len = 0;
  guint i;

  /* IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16) */
  memcpy (iv, salt, 14);
  for (i = 0; i < 4; i++)
    iv[4 + i] ^= pkt[8 + i];
  for (i = 0; i < 6; i++)
    iv[8 + i] ^= (guint8) (index >> (8 * (5 - i)));
  g_assert_true (EVP_EncryptInit_ex (ctx, EVP_aes_128_ctr (), NULL, cipher_key, iv));
  g_assert_true (EVP_EncryptUpdate (ctx, pkt + 12, &out_len, pkt + 12, (int) len - 12));
  EVP_CIPHER_CTX_free (ctx);

  /* tag = HMAC-SHA1 (k_a, packet || ROC), first 80 bits */
  memcpy (authed, pkt, len);
  authed[len] = roc >> 24;
  authed[len + 1] = (roc >> 16) & 0xff;
  authed[len + 2] = (roc >> 8) & 0xff;
  authed[len + 3] = roc & 0xff;
  g_assert_nonnull (EVP_Q_mac (NULL, "HMAC", NULL, "SHA1", NULL, auth_key, 20, authed, len + 4,
          mac, sizeof mac, &mac_len));
  memcpy (pkt + len, mac, 10);
  return len + 10;
}

/* RFC 3711 B.3's master key and salt through amgw_srtp: the packets must be
 * what B.3's session keys give (RTP labels 0, 1, 2; B.3 lists no SRTCP keys). */
static void
test_rfc3711_b3 (void)
{
  static const guint16 seqs[] = { 65534, 65535, 0, 1 };   /* ROC 0, 0, 1, 1 */
  guint8 master[30], cipher_key[16], salt[14], auth_key[20];
  guint8 plain[BUF_SIZE], ours[BUF_SIZE], expected[BUF_SIZE];
  g_autoptr (AmgwSrtp) s = NULL;
  g_autoptr (GError) error = NULL;
  guint i;

  g_assert_cmpuint (unhex ("E1F97A0D3E018BE0D64FA32C06DE4139" "0EC675AD498AFEEBB6960B3AABE6",
          master, sizeof master), ==, 30);
  unhex ("C61E7A93744F39EE10734AFE3FF7A087", cipher_key, sizeof cipher_key);
  unhex ("30CBBC08863D8C85D49DB34A9AE1", salt, sizeof salt);
  unhex ("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4", auth_key, sizeof auth_key);

  s = amgw_srtp_new (cm, master, master, &error);
  g_assert_no_error (error);
  for (i = 0; i < G_N_ELEMENTS (seqs); i++) {
    gsize plain_len = build_rtp (plain, seqs[i], 1000 + i, 0xcafebabe, 33 + i);
    gsize len = plain_len, expected_len;

    memcpy (ours, plain, plain_len);
    memcpy (expected, plain, plain_len);
    g_assert_true (amgw_srtp_protect (s, ours, &len, sizeof ours, &error));
    g_assert_no_error (error);
    expected_len = rfc3711_protect (cipher_key, salt, auth_key, i < 2 ? 0 : 1, expected,
        plain_len);
    g_assert_cmpmem (ours, len, expected, expected_len);

    g_assert_true (amgw_srtp_unprotect (s, ours, &len, &error));
    g_assert_no_error (error);
    g_assert_cmpmem (ours, len, plain, plain_len);
  }
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *name;
    void (*fn) (Fixture *, gconstpointer);
  } cases[] = {
    { "round-trip", test_round_trip },
    { "directions-are-separate", test_directions_are_separate },
    { "tamper", test_tamper },
    { "replay", test_replay },
    { "repeat-tx", test_repeat_tx },
    { "rtcp", test_rtcp },
    { "invalid", test_invalid },
    { "exact-capacity", test_exact_capacity },
    { "wrong-key", test_wrong_key },
  };
  guint i;

  gboolean reference_ok;
  int ret;

  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);
  /* Before the first amgw_srtp call installs our crypto into libsrtp. */
  reference_spawn ();

  g_test_add_func ("/srtp/key-lengths", test_key_lengths);
  g_test_add_func ("/srtp/bad-profile", test_bad_profile);
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *cm_path = g_strdup_printf ("/srtp/aes-cm/%s", cases[i].name);
    g_autofree char *gcm_path = g_strdup_printf ("/srtp/aes-gcm/%s", cases[i].name);

    g_test_add (cm_path, Fixture, &cm, fixture_set_up, cases[i].fn, fixture_tear_down);
    g_test_add (gcm_path, Fixture, &gcm, fixture_set_up, cases[i].fn, fixture_tear_down);
  }
  g_test_add_data_func ("/srtp/aes-cm/cross-check-builtin", &cm, test_cross_check);
  g_test_add_data_func ("/srtp/aes-gcm/cross-check-builtin", &gcm, test_cross_check);
  g_test_add_func ("/srtp/crypto/installed", test_crypto_installed);
  g_test_add_func ("/srtp/crypto/lengths", test_crypto_lengths);
  g_test_add_func ("/srtp/crypto/rfc7714", test_rfc7714);
  g_test_add_func ("/srtp/crypto/rfc3711-b3", test_rfc3711_b3);

  ret = g_test_run ();
  reference_ok = reference_stop ();
  return ret != 0 ? ret : reference_ok ? 0 : 1;
}
