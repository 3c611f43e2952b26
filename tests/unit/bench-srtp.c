/* bench-srtp — what SRTP costs per packet and per session with libsrtp's
 * built-in crypto and with amgw's OpenSSL cipher and auth types
 * (media/srtp-crypto.c).  Prints figures; asserts nothing.
 *
 * Installing amgw's types changes libsrtp for the whole process, so the
 * built-in crypto is measured first, in a child forked before anything calls
 * amgw_srtp, through libsrtp's plain API with the policies amgw builds.
 *
 * Per packet: the best of ROUNDS runs of PACKETS packets; protect includes
 * copying the plaintext into place (about 10 ns), unprotect works in place.
 * Per session: heap bytes (mallinfo2) that SESSIONS sessions add, divided by
 * SESSIONS, once each has protected and unprotected one RTP and one RTCP packet
 * (so its per-SSRC streams exist).
 */
#include "amgw/srtp.h"
#include "../../media/srtp-crypto.h"

#include <errno.h>
#include <glib.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RTP_LEN 172              /* PCMU 20 ms: 160 payload bytes + 12-byte header */
#define RTCP_LEN 100
#define SLOT_LEN (RTP_LEN + AMGW_SRTP_MAX_TRAILER)
#define PACKETS 20000
#define ROUNDS 5
#define SESSIONS 100

G_STATIC_ASSERT (PACKETS < 65536);   /* no rollover inside a run */

/* One way of doing SRTP.  A session protects with @key and unprotects with
 * it too, so it can read back what it wrote. */
typedef struct {
  const char *name;
  gpointer (*open) (AmgwSrtpProfile profile, const guint8 *key);
  void (*close) (gpointer session);
  gboolean (*protect) (gpointer session, guint8 *buf, gsize *len, gsize capacity, gboolean rtcp);
  gboolean (*unprotect) (gpointer session, guint8 *buf, gsize *len, gboolean rtcp);
} Backend;

typedef struct {
  double rtp_protect, rtp_unprotect, rtcp_protect, rtcp_unprotect;   /* ns */
  double heap_per_session;                                            /* bytes */
} Figures;

/* libsrtp alone: two sessions as media/srtp.c builds them. */

typedef struct {
  srtp_t tx, rx;
} Plain;

static srtp_t
plain_session (AmgwSrtpProfile profile, srtp_ssrc_type_t direction, const guint8 *key_salt)
{
  guint8 key[SRTP_MAX_KEY_LEN] = { 0 };
  srtp_policy_t policy;
  srtp_t session = NULL;

  memset (&policy, 0, sizeof policy);
  if (profile == AMGW_SRTP_AEAD_AES_128_GCM) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth (&policy.rtcp);
  } else {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80 (&policy.rtcp);
  }
  memcpy (key, key_salt, amgw_srtp_key_len (profile));
  policy.ssrc.type = direction;
  policy.key = key;
  policy.window_size = AMGW_SRTP_REPLAY_WINDOW;
  policy.allow_repeat_tx = direction == ssrc_any_outbound;
  if (srtp_create (&session, &policy) != srtp_err_status_ok)
    g_error ("srtp_create failed");
  return session;
}

static gpointer
plain_open (AmgwSrtpProfile profile, const guint8 *key)
{
  Plain *p = g_new0 (Plain, 1);

  p->tx = plain_session (profile, ssrc_any_outbound, key);
  p->rx = plain_session (profile, ssrc_any_inbound, key);
  return p;
}

static void
plain_close (gpointer session)
{
  Plain *p = session;

  srtp_dealloc (p->tx);
  srtp_dealloc (p->rx);
  g_free (p);
}

static gboolean
plain_protect (gpointer session, guint8 *buf, gsize *len, gsize capacity, gboolean rtcp)
{
  Plain *p = session;
  int n = (int) *len;
  srtp_err_status_t status = rtcp ? srtp_protect_rtcp (p->tx, buf, &n) : srtp_protect (p->tx, buf, &n);

  *len = (gsize) n;
  return status == srtp_err_status_ok;
}

static gboolean
plain_unprotect (gpointer session, guint8 *buf, gsize *len, gboolean rtcp)
{
  Plain *p = session;
  int n = (int) *len;
  srtp_err_status_t status = rtcp ? srtp_unprotect_rtcp (p->rx, buf, &n) :
      srtp_unprotect (p->rx, buf, &n);

  *len = (gsize) n;
  return status == srtp_err_status_ok;
}

/* amgw_srtp, which installs amgw's types at its first call. */

static gpointer
amgw_open (AmgwSrtpProfile profile, const guint8 *key)
{
  GError *error = NULL;
  AmgwSrtp *s = amgw_srtp_new (profile, key, key, &error);

  if (s == NULL)
    g_error ("amgw_srtp_new: %s", error->message);
  return s;
}

static void
amgw_close (gpointer session)
{
  amgw_srtp_free (session);
}

static gboolean
amgw_protect (gpointer session, guint8 *buf, gsize *len, gsize capacity, gboolean rtcp)
{
  return rtcp ? amgw_srtp_protect_rtcp (session, buf, len, capacity, NULL) :
      amgw_srtp_protect (session, buf, len, capacity, NULL);
}

static gboolean
amgw_unprotect (gpointer session, guint8 *buf, gsize *len, gboolean rtcp)
{
  return rtcp ? amgw_srtp_unprotect_rtcp (session, buf, len, NULL) :
      amgw_srtp_unprotect (session, buf, len, NULL);
}

static double
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

static void
make_key (guint8 *key, guint seed)
{
  guint i;

  for (i = 0; i < 30; i++)
    key[i] = (guint8) (seed * 131 + i * 7 + 1);
}

static gsize
make_rtp (guint8 *buf, guint16 seq, guint32 ssrc)
{
  gsize i;

  buf[0] = 0x80;
  buf[1] = 0;   /* PCMU */
  buf[2] = seq >> 8;
  buf[3] = seq & 0xff;
  buf[4] = buf[5] = 0;
  buf[6] = (seq * 160) >> 8;
  buf[7] = (seq * 160) & 0xff;
  buf[8] = ssrc >> 24;
  buf[9] = (ssrc >> 16) & 0xff;
  buf[10] = (ssrc >> 8) & 0xff;
  buf[11] = ssrc & 0xff;
  for (i = 12; i < RTP_LEN; i++)
    buf[i] = (guint8) (0xd5 ^ i);
  return RTP_LEN;
}

/* A receiver report with three report blocks and 4 bytes to spare: 100 bytes. */
static gsize
make_rtcp (guint8 *buf, guint32 ssrc)
{
  gsize i;

  memset (buf, 0, RTCP_LEN);
  buf[0] = 0x83;
  buf[1] = 201;
  buf[3] = RTCP_LEN / 4 - 1;
  buf[4] = ssrc >> 24;
  buf[5] = (ssrc >> 16) & 0xff;
  buf[6] = (ssrc >> 8) & 0xff;
  buf[7] = ssrc & 0xff;
  for (i = 8; i < RTCP_LEN; i++)
    buf[i] = (guint8) (i * 3);
  return RTCP_LEN;
}

static void
check (gboolean ok, const Backend *b, const char *what)
{
  if (!ok)
    g_error ("%s: %s failed", b->name, what);
}

/* ns per packet for @rtcp packets: protect into slots, then unprotect them. */
static void
time_packets (const Backend *b, gpointer s, gboolean rtcp, guint8 *slots, gsize *lens,
    double *protect_ns, double *unprotect_ns)
{
  guint8 plain[SLOT_LEN];
  gsize plain_len = rtcp ? make_rtcp (plain, 0x1234) : make_rtp (plain, 0, 0x1234);
  double t;
  guint i;

  t = now_ns ();
  for (i = 0; i < PACKETS; i++) {
    guint8 *slot = slots + (gsize) i * SLOT_LEN;

    memcpy (slot, plain, plain_len);
    if (!rtcp) {
      slot[2] = i >> 8;
      slot[3] = i & 0xff;
    }
    lens[i] = plain_len;
    check (b->protect (s, slot, &lens[i], SLOT_LEN, rtcp), b, "protect");
  }
  *protect_ns = MIN (*protect_ns, (now_ns () - t) / PACKETS);

  t = now_ns ();
  for (i = 0; i < PACKETS; i++)
    check (b->unprotect (s, slots + (gsize) i * SLOT_LEN, &lens[i], rtcp), b, "unprotect");
  *unprotect_ns = MIN (*unprotect_ns, (now_ns () - t) / PACKETS);
}

/* One RTP and one RTCP packet each way through @s. */
static void
first_packets (const Backend *b, gpointer s)
{
  guint8 buf[SLOT_LEN];
  gsize len;

  len = make_rtp (buf, 1, 0xabcd);
  check (b->protect (s, buf, &len, sizeof buf, FALSE), b, "protect");
  check (b->unprotect (s, buf, &len, FALSE), b, "unprotect");
  len = make_rtcp (buf, 0xabcd);
  check (b->protect (s, buf, &len, sizeof buf, TRUE), b, "protect RTCP");
  check (b->unprotect (s, buf, &len, TRUE), b, "unprotect RTCP");
}

static void
measure (const Backend *b, AmgwSrtpProfile profile, Figures *f)
{
  guint8 *slots = g_malloc ((gsize) PACKETS * SLOT_LEN);
  gsize *lens = g_new (gsize, PACKETS);
  gpointer sessions[SESSIONS], keep;
  guint8 key[30];
  size_t before, after;
  guint round, i;

  f->rtp_protect = f->rtp_unprotect = f->rtcp_protect = f->rtcp_unprotect = G_MAXDOUBLE;
  for (round = 0; round < ROUNDS; round++) {
    gpointer s;

    make_key (key, round);
    s = b->open (profile, key);
    time_packets (b, s, FALSE, slots, lens, &f->rtp_protect, &f->rtp_unprotect);
    time_packets (b, s, TRUE, slots, lens, &f->rtcp_protect, &f->rtcp_unprotect);
    b->close (s);
  }

  /* One session stays open meanwhile: a crypto library that sets itself up
   * on its first user and down after its last (NSS does) is not counted. */
  make_key (key, 999);
  keep = b->open (profile, key);
  first_packets (b, keep);
  before = mallinfo2 ().uordblks;
  for (i = 0; i < SESSIONS; i++) {
    make_key (key, 1000 + i);
    sessions[i] = b->open (profile, key);
    first_packets (b, sessions[i]);
  }
  after = mallinfo2 ().uordblks;
  f->heap_per_session = ((double) after - (double) before) / SESSIONS;
  for (i = 0; i < SESSIONS; i++)
    b->close (sessions[i]);
  b->close (keep);

  g_free (lens);
  g_free (slots);
}

static void
run (const Backend *b)
{
  static const AmgwSrtpProfile profiles[] = {
    AMGW_SRTP_AES128_CM_SHA1_80, AMGW_SRTP_AEAD_AES_128_GCM,
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (profiles); i++) {
    Figures f;

    measure (b, profiles[i], &f);
    printf ("%-19s %-24s %12.0f %14.0f %13.0f %15.0f %13.0f\n", b->name,
        amgw_srtp_profile_to_string (profiles[i]), f.rtp_protect, f.rtp_unprotect,
        f.rtcp_protect, f.rtcp_unprotect, f.heap_per_session);
  }
  fflush (stdout);
}

int
main (int argc, char **argv)
{
  static const Backend builtin = {
    "libsrtp built-in", plain_open, plain_close, plain_protect, plain_unprotect,
  };
  static const Backend ours = {
    "amgw OpenSSL types", amgw_open, amgw_close, amgw_protect, amgw_unprotect,
  };
  int wstatus = 0;
  pid_t pid;

  printf ("bench-srtp: %s, %s\n", srtp_get_version_string (), OpenSSL_version (OPENSSL_VERSION));
  printf ("ns per packet (best of %d runs of %d), heap bytes per session (mean of %d)\n",
      ROUNDS, PACKETS, SESSIONS);
  printf ("%-19s %-24s %12s %14s %13s %15s %13s\n", "crypto", "profile", "RTP protect",
      "RTP unprotect", "RTCP protect", "RTCP unprotect", "heap/session");
  fflush (stdout);

  /* libsrtp's own crypto: in a child, before our types exist anywhere. */
  pid = fork ();
  if (pid < 0)
    g_error ("fork failed");
  if (pid == 0) {
    if (srtp_init () != srtp_err_status_ok)
      _exit (2);
    run (&builtin);
    srtp_shutdown ();
    _exit (0);
  }
  while (waitpid (pid, &wstatus, 0) < 0 && errno == EINTR)
    ;
  if (!WIFEXITED (wstatus) || WEXITSTATUS (wstatus) != 0)
    g_printerr ("the built-in crypto run failed (wait status 0x%x)\n", (guint) wstatus);

  run (&ours);
  if (!amgw_srtp_crypto_is_installed ())
    printf ("(amgw's types were NOT installed: both rows are libsrtp's built-in crypto)\n");
  return 0;
}
