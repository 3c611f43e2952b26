/* Unit tests for SRTP / SRTCP (media/srtp.c): round trips for both profiles,
 * tampering, replays, the trailer room, SRTCP, and the error codes. */
#include "amgw/srtp.h"

#include <gst/gst.h>
#include <string.h>

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

  g_test_init (&argc, &argv, NULL);
  gst_init (NULL, NULL);

  g_test_add_func ("/srtp/key-lengths", test_key_lengths);
  g_test_add_func ("/srtp/bad-profile", test_bad_profile);
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *cm_path = g_strdup_printf ("/srtp/aes-cm/%s", cases[i].name);
    g_autofree char *gcm_path = g_strdup_printf ("/srtp/aes-gcm/%s", cases[i].name);

    g_test_add (cm_path, Fixture, &cm, fixture_set_up, cases[i].fn, fixture_tear_down);
    g_test_add (gcm_path, Fixture, &gcm, fixture_set_up, cases[i].fn, fixture_tear_down);
  }
  return g_test_run ();
}
