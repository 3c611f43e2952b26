/* Unit tests of the bridge leg's RTP session: two sessions on real UDP
 * sockets on 127.0.0.1, each on its own media loop. */
#include "amgw/rtp-session.h"
#include "amgw/media-loops.h"
#include "amgw/srtp.h"

#include <gio/gio.h>
#include <gst/gst.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_MS 60000   /* generous: shared machines, and valgrind in CI */

static const char config_text[] =
  "[sip]\n"
  "public-ip = 127.0.0.1\n"
  "[media]\n"
  "rtp-port-min = 31000\n"
  "rtp-port-max = 31999\n";

typedef struct {
  guint inactive;
  guint dtmf_done;
} Counts;

typedef struct {
  AmgwMediaLoops *loops;
  AmgwConfig *config;
  AmgwRtpSession *a, *b;
  Counts ca, cb;
} Fixture;

static void
on_inactive (const char *reason, gpointer user_data)
{
  Counts *c = user_data;

  g_assert_nonnull (reason);
  c->inactive++;
}

static void
on_dtmf_done (gpointer user_data)
{
  Counts *c = user_data;

  c->dtmf_done++;
}

static const AmgwRtpCallbacks callbacks = { on_inactive, on_dtmf_done };

static AmgwRtpSession *
make (Fixture *f, guint loop, AmgwRtpSecurity sec, guint timeout_ms, Counts *c)
{
  g_autoptr (GError) error = NULL;
  AmgwRtpSessionParams p = {
    .config = f->config,
    .media_context = amgw_media_loops_get_context (f->loops, loop),
    .security = sec,
    .inactivity_timeout_ms = timeout_ms,
    .log_id = loop ? "B" : "A",
  };
  AmgwRtpSession *s = amgw_rtp_session_new (&p, &callbacks, c, &error);

  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

static void
setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  (void) data;
  f->loops = amgw_media_loops_new (2);
  f->config = amgw_config_load_data (config_text, -1, "test.ini", NULL, &error);
  g_assert_no_error (error);
}

static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
noop (gpointer data)
{
  (void) data;
  return G_SOURCE_REMOVE;
}

static void
flush_loops (Fixture *f)
{
  for (guint i = 0; i < 2; i++)
    amgw_media_loops_invoke_sync (amgw_media_loops_get_context (f->loops, i), noop, NULL);
  drain ();
}

static void
teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  g_clear_pointer (&f->a, amgw_rtp_session_free);
  g_clear_pointer (&f->b, amgw_rtp_session_free);
  flush_loops (f);
  amgw_media_loops_free (f->loops);
  amgw_config_free (f->config);
}

static cJSON *
describe (AmgwRtpSession *s)
{
  cJSON *o = cJSON_CreateObject ();

  amgw_rtp_session_describe (s, o);
  return o;
}

/* A number at "media.<a>[.<b>]" of describe(). */
static double
num (AmgwRtpSession *s, const char *a, const char *b)
{
  cJSON *o = describe (s);
  cJSON *v = cJSON_GetObjectItem (cJSON_GetObjectItem (o, "media"), a);
  double d;

  if (b)
    v = cJSON_GetObjectItem (v, b);
  d = cJSON_IsNumber (v) ? v->valuedouble : cJSON_IsBool (v) ? (cJSON_IsTrue (v) ? 1 : 0) : -1;
  cJSON_Delete (o);
  return d;
}

static char *
str (AmgwRtpSession *s, const char *a)
{
  cJSON *o = describe (s);
  cJSON *v = cJSON_GetObjectItem (cJSON_GetObjectItem (o, "media"), a);
  char *r = g_strdup (cJSON_IsString (v) ? v->valuestring : NULL);

  cJSON_Delete (o);
  return r;
}

typedef gboolean (*Pred) (Fixture *f, gpointer data);

/* Runs the control loop, checking @pred every 100 ms, up to @ms. */
static gboolean
wait_for (Fixture *f, Pred pred, gpointer data, guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end) {
    drain ();
    if (pred (f, data))
      return TRUE;
    g_usleep (100 * 1000);
  }
  drain ();
  return pred (f, data);
}

static void
negotiate (Fixture *f, AmgwMediaDirection dir)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = amgw_rtp_session_create_offer (f->a, dir, &error);
  g_autofree char *answer = NULL;

  g_assert_no_error (error);
  answer = amgw_rtp_session_create_answer (f->b, offer, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_true (amgw_rtp_session_apply_answer (f->a, answer, &error));
  g_assert_no_error (error);
}

static gboolean
hears (AmgwRtpSession *s, double hz)
{
  return fabs (num (s, "audio_check", "heard_hz") - hz) < 60;
}

static gboolean
both_hear (Fixture *f, gpointer data)
{
  (void) data;
  return hears (f->b, 1000) && hears (f->a, 600);
}

static void
start_checks (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (amgw_rtp_session_start_audio_check (f->a, 1000, 8000, &error));
  g_assert_no_error (error);
  g_assert_true (amgw_rtp_session_start_audio_check (f->b, 600, 8000, &error));
  g_assert_no_error (error);
}

static void
test_plain_tone (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *sec = NULL;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 0, &f->ca);
  f->b = make (f, 1, AMGW_RTP_PLAIN, 0, &f->cb);
  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (offer, " RTP/AVP "));
  g_assert_nonnull (strstr (offer, "c=IN IP4 127.0.0.1"));
  g_assert_null (strstr (offer, "a=crypto"));
  negotiate (f, AMGW_MEDIA_SENDRECV);
  start_checks (f);
  g_assert_true (wait_for (f, both_hear, NULL, WAIT_MS));
  sec = str (f->a, "security");
  g_assert_cmpstr (sec, ==, "RTP/AVP");
  g_assert_cmpfloat (num (f->b, "rtp", "packets_in"), >, 10);
  g_assert_cmpfloat (num (f->a, "rtp", "packets_out"), >, 10);
  g_assert_cmpfloat (num (f->b, "rtp", "last_packet_in_s"), <, 2);
}

static void
test_sdes_tone (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *sec = NULL;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_SDES_SRTP, 0, &f->ca);
  f->b = make (f, 1, AMGW_RTP_SDES_SRTP, 0, &f->cb);
  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (offer, " RTP/SAVP "));
  g_assert_nonnull (strstr (offer, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
  negotiate (f, AMGW_MEDIA_SENDRECV);
  start_checks (f);
  g_assert_true (wait_for (f, both_hear, NULL, WAIT_MS));
  sec = str (f->b, "security");
  g_assert_cmpstr (sec, ==, "RTP/SAVP AES_CM_128_HMAC_SHA1_80");
  g_assert_cmpfloat (num (f->b, "rtp", "srtp_auth_failures"), ==, 0);
}

static gboolean
auth_failures (Fixture *f, gpointer data)
{
  (void) data;
  return num (f->b, "rtp", "srtp_auth_failures") > 20;
}

/* B gets a mangled key for A's packets: it hears nothing, and counts. */
static void
test_sdes_wrong_key (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  char *p;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_SDES_SRTP, 0, &f->ca);
  f->b = make (f, 1, AMGW_RTP_SDES_SRTP, 0, &f->cb);
  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_SENDRECV, &error);
  for (p = strstr (offer, "inline:"); p; p = strstr (p + 1, "inline:"))
    p[7] = p[7] == 'A' ? 'B' : 'A';
  answer = amgw_rtp_session_create_answer (f->b, offer, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_true (amgw_rtp_session_apply_answer (f->a, answer, &error));
  start_checks (f);
  g_assert_true (wait_for (f, auth_failures, NULL, WAIT_MS));
  g_assert_cmpfloat (num (f->b, "rtp", "packets_in"), ==, 0);
  g_assert_cmpfloat (num (f->b, "audio_check", "heard_hz"), ==, 0);
}

static void
test_rtcp_mux (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *plain_offer = NULL;
  g_autofree char *answer2 = NULL;
  char *mux;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 0, &f->ca);
  f->b = make (f, 1, AMGW_RTP_PLAIN, 0, &f->cb);
  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_SENDRECV, &error);
  g_assert_nonnull (strstr (offer, "a=rtcp-mux"));
  answer = amgw_rtp_session_create_answer (f->b, offer, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (answer, "a=rtcp-mux"));
  g_assert_true (amgw_rtp_session_apply_answer (f->a, answer, &error));
  g_assert_cmpfloat (num (f->a, "rtcp_mux", NULL), ==, 1);
  g_assert_cmpfloat (num (f->b, "rtcp_mux", NULL), ==, 1);

  /* Not offered: not used. */
  mux = strstr (offer, "a=rtcp-mux\r\n");
  plain_offer = g_strdup (offer);
  memcpy (plain_offer + (mux - offer), "a=x-none  \r\n", 12);
  answer2 = amgw_rtp_session_create_answer (f->b, plain_offer, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_null (strstr (answer2, "a=rtcp-mux"));
  g_assert_cmpfloat (num (f->b, "rtcp_mux", NULL), ==, 0);
}

#define OFFER_HEAD "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"

static void
test_codecs (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *m;
    const char *expect;     /* in the answer; NULL: NO_CODEC */
  } cases[] = {
    { "m=audio 4000 RTP/AVP 0\r\n", "a=rtpmap:0 PCMU/8000" },
    { "m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n", "a=rtpmap:101 telephone-event/8000" },
    { "m=audio 4000 RTP/AVP 9 0 8\r\n", "a=rtpmap:9 G722/8000" },
    { "m=audio 4000 RTP/AVP 0 9\r\n", "a=rtpmap:9 G722/8000" },
    { "m=audio 4000 RTP/AVP 0 98\r\na=rtpmap:98 opus/48000/2\r\n", "a=rtpmap:98 opus/48000/2" },
    { "m=audio 4000 RTP/AVP 97\r\na=rtpmap:97 PCMU/8000\r\n", "a=rtpmap:97 PCMU/8000" },
    { "m=audio 4000 RTP/AVP 18 3\r\n", NULL },
    { "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 AMR/8000\r\n", NULL },
    { "m=audio 4000 RTP/AVP 96\r\na=rtpmap:96 opus/16000/2\r\n", NULL },
  };

  (void) data;
  f->b = make (f, 1, AMGW_RTP_PLAIN, 0, &f->cb);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    g_autofree char *offer = g_strconcat (OFFER_HEAD, cases[i].m, NULL);
    g_autofree char *answer = amgw_rtp_session_create_answer (f->b, offer, AMGW_MEDIA_SENDRECV,
        &error);
    if (cases[i].expect) {
      g_assert_no_error (error);
      if (!strstr (answer, cases[i].expect))
        g_error ("case %u: %s not in\n%s", i, cases[i].expect, answer);
    } else {
      g_assert_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_NO_CODEC);
      g_assert_null (answer);
    }
  }
}

static void
test_malformed (Fixture *f, gconstpointer data)
{
  static const struct {
    const char *sdp;
    gint code;
    gboolean srtp;
  } cases[] = {
    { "", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { "hello", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { "v=0\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=video 4000 RTP/AVP 96\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 0 RTP/AVP 0\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 4000 UDP/TLS/RTP/SAVPF 0\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 4000 RTP/AVP abc\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 4000 RTP/AVP 300\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 bridge.example\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\rx\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 4000 RTP/SAVP 0\r\n", AMGW_RTP_SESSION_ERROR_SDP, FALSE },
    { OFFER_HEAD "m=audio 4000 RTP/AVP 0\r\n", AMGW_RTP_SESSION_ERROR_CRYPTO, TRUE },
    { OFFER_HEAD "m=audio 4000 RTP/SAVP 0\r\n", AMGW_RTP_SESSION_ERROR_CRYPTO, TRUE },
    { OFFER_HEAD "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 "
      "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n",
      AMGW_RTP_SESSION_ERROR_CRYPTO, TRUE },
    { OFFER_HEAD "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=\r\n",
      AMGW_RTP_SESSION_ERROR_CRYPTO, TRUE },
    { OFFER_HEAD "m=audio 4000 RTP/SAVP 0\r\na=crypto:1 F8_128_HMAC_SHA1_80 "
      "inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n", AMGW_RTP_SESSION_ERROR_CRYPTO, TRUE },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) big = g_string_new (OFFER_HEAD "m=audio 4000 RTP/AVP 0\r\n");
  char *answer;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 0, &f->ca);
  f->b = make (f, 1, AMGW_RTP_SDES_SRTP, 0, &f->cb);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) e1 = NULL;
    g_autoptr (GError) e2 = NULL;
    AmgwRtpSession *s = cases[i].srtp ? f->b : f->a;

    answer = amgw_rtp_session_create_answer (s, cases[i].sdp, AMGW_MEDIA_SENDRECV, &e1);
    if (answer)
      g_error ("case %u accepted:\n%s", i, answer);
    g_assert_error (e1, AMGW_RTP_SESSION_ERROR, cases[i].code);
    g_assert_true (g_str_has_prefix (e1->message, "SDP: "));
    g_assert_false (amgw_rtp_session_apply_answer (s, cases[i].sdp, &e2));
    g_assert_nonnull (e2);
  }
  /* Over the size limit. */
  while (big->len <= 64 * 1024)
    g_string_append (big, "a=x-padding:0123456789012345678901234567890123456789\r\n");
  answer = amgw_rtp_session_create_answer (f->a, big->str, AMGW_MEDIA_SENDRECV, &error);
  g_assert_null (answer);
  g_assert_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_SDP);
  g_clear_error (&error);

  /* Unknown lines are ignored; the session still answers. */
  answer = amgw_rtp_session_create_answer (f->a, OFFER_HEAD "x=whatever\r\n"
      "m=audio 4000 RTP/AVP 0\r\na=foo:bar\r\na=rtpmap:zz\r\n", AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_nonnull (answer);
  g_free (answer);

  /* DTMF this module does not do, or not yet. */
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "1", AMGW_DTMF_INFO, 0, &error));
  g_assert_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (amgw_rtp_session_send_dtmf (f->b, "1", AMGW_DTMF_INBAND, 0, &error));
  g_assert_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "1x", AMGW_DTMF_RFC4733, 0, &error));
  g_clear_error (&error);
}

static gboolean
both_exchange (Fixture *f, gpointer data)
{
  (void) data;
  return num (f->a, "rtp", "packets_in") > 20 && num (f->b, "rtp", "packets_in") > 20;
}

static void
test_hold (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  double before;
  guint ia, ib;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 1500, &f->ca);
  f->b = make (f, 1, AMGW_RTP_PLAIN, 1500, &f->cb);
  negotiate (f, AMGW_MEDIA_SENDRECV);
  start_checks (f);
  g_assert_true (wait_for (f, both_exchange, NULL, WAIT_MS));
  /* (A slow start, e.g. under valgrind, may count before the hold.) */
  ia = f->ca.inactive;
  ib = f->cb.inactive;

  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_INACTIVE, &error);
  g_assert_nonnull (strstr (offer, "a=inactive"));
  answer = amgw_rtp_session_create_answer (f->b, offer, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (answer, "a=inactive"));
  g_assert_cmpint (amgw_rtp_session_get_remote_direction (f->b), ==, AMGW_MEDIA_INACTIVE);
  g_assert_true (amgw_rtp_session_apply_answer (f->a, answer, &error));
  g_assert_cmpint (amgw_rtp_session_get_remote_direction (f->a), ==, AMGW_MEDIA_INACTIVE);

  /* Nothing flows, and neither side calls it a vanished peer. */
  g_usleep (300 * 1000);
  before = num (f->b, "rtp", "packets_in");
  for (guint i = 0; i < 30; i++) {
    drain ();
    g_usleep (100 * 1000);
  }
  drain ();
  g_assert_cmpfloat (num (f->b, "rtp", "packets_in"), <=, before + 2);
  g_assert_cmpuint (f->ca.inactive, ==, ia);
  g_assert_cmpuint (f->cb.inactive, ==, ib);
}

static gboolean
a_inactive (Fixture *f, gpointer data)
{
  (void) data;
  return f->ca.inactive > 0;
}

static void
test_inactivity (Fixture *f, gconstpointer data)
{
  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 1500, &f->ca);
  f->b = make (f, 1, AMGW_RTP_PLAIN, 1500, &f->cb);
  negotiate (f, AMGW_MEDIA_SENDRECV);
  start_checks (f);
  g_assert_true (wait_for (f, both_exchange, NULL, WAIT_MS));
  drain ();
  f->ca.inactive = 0;   /* packets flow now: a new silence is reported anew */
  g_clear_pointer (&f->b, amgw_rtp_session_free);
  g_assert_true (wait_for (f, a_inactive, NULL, WAIT_MS));
  g_assert_cmpuint (f->ca.inactive, ==, 1);
}

/* Symmetric RTP with a hold-down: while A is live, a third address's packets
 * to B are dropped and B keeps sending to A; once A has gone quiet, the new
 * source takes over. */
static GSocket *
stray_socket (void)
{
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, NULL);

  g_assert_nonnull (sock);
  g_assert_true (g_socket_bind (sock, any, FALSE, NULL));
  g_socket_set_blocking (sock, FALSE);
  return sock;
}

static void
stray_send (GSocket *sock, GSocketAddress *to, guint16 seq)
{
  guint8 pkt[12 + 20] = { 0x80, 111 };

  GST_WRITE_UINT16_BE (pkt + 2, seq);
  GST_WRITE_UINT32_BE (pkt + 4, seq * 960u);
  GST_WRITE_UINT32_BE (pkt + 8, 0x5757a7a7);
  g_assert_cmpint (g_socket_send_to (sock, to, (const char *) pkt, sizeof pkt, NULL, NULL), ==,
      sizeof pkt);
}

static guint
stray_received (GSocket *sock)
{
  guint8 buf[1500];
  guint n = 0;

  while (g_socket_receive (sock, (char *) buf, sizeof buf, NULL, NULL) > 0)
    n++;
  return n;
}

static void
test_latch (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) stray = stray_socket ();
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) to_b = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  const char *m;
  double a_in;
  guint got = 0;
  gint64 end;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 0, &f->ca);
  f->b = make (f, 1, AMGW_RTP_PLAIN, 0, &f->cb);
  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_SENDRECV, &error);
  answer = amgw_rtp_session_create_answer (f->b, offer, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  g_assert_true (amgw_rtp_session_apply_answer (f->a, answer, &error));
  m = strstr (answer, "m=audio ");
  g_assert_nonnull (m);
  to_b = g_inet_socket_address_new (lo, (guint16) atoi (m + 8));
  g_assert_true (amgw_rtp_session_start_audio_check (f->a, 1000, 60000, &error));
  g_assert_true (amgw_rtp_session_start_audio_check (f->b, 600, 60000, &error));
  g_assert_true (wait_for (f, both_exchange, NULL, WAIT_MS));

  /* A is live: the stray burst is dropped, and B still answers A alone. */
  a_in = num (f->a, "rtp", "packets_in");
  for (guint16 i = 0; i < 20; i++)
    stray_send (stray, to_b, i);
  g_usleep (300 * 1000);
  drain ();
  g_assert_cmpfloat (num (f->b, "rtp", "foreign_in"), >=, 1);
  g_assert_cmpuint (stray_received (stray), ==, 0);
  g_assert_true (wait_for (f, both_exchange, NULL, WAIT_MS));
  g_assert_cmpfloat (num (f->a, "rtp", "packets_in"), >, a_in);

  /* A goes away: after the hold-down the stray source is B's peer. */
  g_clear_pointer (&f->a, amgw_rtp_session_free);
  end = g_get_monotonic_time () + (gint64) WAIT_MS * 1000;
  for (guint16 i = 20; got == 0 && g_get_monotonic_time () < end; i++) {
    stray_send (stray, to_b, i);
    g_usleep (20 * 1000);
    drain ();
    got = stray_received (stray);
  }
  g_assert_cmpuint (got, >, 0);
}

static gboolean
dtmf_heard (Fixture *f, gpointer data)
{
  g_autofree char *got = str (f->b, "dtmf_received");

  return f->ca.dtmf_done == 1 && g_strcmp0 (got, data) == 0;
}

static void
run_dtmf (Fixture *f, AmgwRtpSecurity sec, gboolean with_audio)
{
  g_autoptr (GError) error = NULL;

  f->a = make (f, 0, sec, 0, &f->ca);
  f->b = make (f, 1, sec, 0, &f->cb);
  negotiate (f, AMGW_MEDIA_SENDRECV);
  if (with_audio) {
    start_checks (f);
    g_assert_true (wait_for (f, both_exchange, NULL, WAIT_MS));
  }
  g_assert_true (amgw_rtp_session_send_dtmf (f->a, "1234#", AMGW_DTMF_RFC4733, 0, &error));
  g_assert_no_error (error);
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "5", AMGW_DTMF_RFC4733, 0, &error));
  g_clear_error (&error);
  g_assert_true (wait_for (f, dtmf_heard, "1234#", WAIT_MS));
  g_assert_cmpfloat (num (f->a, "dtmf_sent", NULL), ==, 5);
}

static void
test_dtmf (Fixture *f, gconstpointer data)
{
  (void) data;
  run_dtmf (f, AMGW_RTP_PLAIN, FALSE);
}

static void
test_dtmf_srtp_audio (Fixture *f, gconstpointer data)
{
  (void) data;
  run_dtmf (f, AMGW_RTP_SDES_SRTP, TRUE);
}

/* ------------------------------------------------------------------------ */
/* In-band DTMF: A sends to a raw UDP socket that answered A's offer; the
 * test decodes G.711 and finds the tone pairs itself (Goertzel, 20 ms). */

static const double row_hz[4] = { 697, 770, 852, 941 };
static const double col_hz[4] = { 1209, 1336, 1477, 1633 };
static const char keypad[4][5] = { "123A", "456B", "789C", "*0#D" };

static gint16
ulaw_to_linear (guint8 u)
{
  gint t;

  u = (guint8) ~u;
  t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  return (gint16) ((u & 0x80) ? 0x84 - t : t - 0x84);
}

static gint16
alaw_to_linear (guint8 a)
{
  gint t, seg;

  a ^= 0x55;
  t = (a & 0x0f) << 4;
  seg = (a & 0x70) >> 4;
  if (seg == 0)
    t += 8;
  else
    t = (t + 0x108) << (seg - 1);
  return (gint16) ((a & 0x80) ? t : -t);
}

/* Relative power of @hz in @x (Goertzel). */
static double
goertzel (const double *x, guint n, double hz)
{
  double k = 2 * cos (2 * G_PI * hz / 8000), s1 = 0, s2 = 0;

  for (guint i = 0; i < n; i++) {
    double s0 = x[i] + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / n;
}

/* The key in one 20 ms frame, or 0: the strongest row and column each well
 * above the others and above a floor; @level_dbov: the row tone's level. */
static char
detect (const double *x, guint n, double *level_dbov)
{
  double rp[4], cp[4];
  guint r = 0, c = 0;

  for (guint i = 0; i < 4; i++) {
    rp[i] = goertzel (x, n, row_hz[i]);
    cp[i] = goertzel (x, n, col_hz[i]);
    if (rp[i] > rp[r])
      r = i;
    if (cp[i] > cp[c])
      c = i;
  }
  /* A full-scale sine (amplitude 1) gives n / 4. */
  *level_dbov = 10 * log10 (MAX (rp[r], 1e-12) / (n / 4.0));
  if (*level_dbov < -30 || 10 * log10 (MAX (cp[c], 1e-12) / (n / 4.0)) < -30)
    return 0;
  for (guint i = 0; i < 4; i++)
    if ((i != r && rp[i] * 10 > rp[r]) || (i != c && cp[i] * 10 > cp[c]))
      return 0;
  return keypad[r][c];
}

typedef struct {
  GString *digits;
  guint markers;             /* packets with M set */
  guint marked_tones;        /* ... that start a tone */
  guint packets;
  guint bad_numbering;       /* seq not +1, or ts not +160, from the first tone to the last */
  guint bad_size;
  double max_level, min_level;
} Heard;

static void
listen_inband (Fixture *f, GSocket *sock, guint pt, Heard *h)
{
  gint64 end = g_get_monotonic_time () + (gint64) WAIT_MS * 1000;
  gint64 quiet_until = 0;
  char prev = 0;
  gboolean have_prev = FALSE;
  guint16 last_seq = 0;
  guint32 last_ts = 0;
  guint bad_since_tone = 0;
  gboolean in_tones = FALSE;

  h->min_level = 100;
  h->max_level = -100;
  while (g_get_monotonic_time () < end) {
    guint8 buf[1500];
    double x[160];
    gssize r;
    char key;
    double level;

    drain ();
    if (f->ca.dtmf_done && quiet_until == 0)
      quiet_until = g_get_monotonic_time () + 200 * 1000;
    if (quiet_until && g_get_monotonic_time () > quiet_until)
      break;
    if (!g_socket_condition_timed_wait (sock, G_IO_IN, 20 * 1000, NULL, NULL))
      continue;
    r = g_socket_receive (sock, (char *) buf, sizeof buf, NULL, NULL);
    if (r < 12 || (buf[1] & 0x7f) != pt)
      continue;
    if (r != 12 + 160) {
      h->bad_size++;
      continue;
    }
    if (in_tones && (GST_READ_UINT16_BE (buf + 2) != (guint16) (last_seq + 1) ||
            GST_READ_UINT32_BE (buf + 4) != last_ts + 160))
      bad_since_tone++;
    last_seq = GST_READ_UINT16_BE (buf + 2);
    last_ts = GST_READ_UINT32_BE (buf + 4);
    h->packets++;
    for (guint i = 0; i < 160; i++)
      x[i] = (pt == 0 ? ulaw_to_linear (buf[12 + i]) : alaw_to_linear (buf[12 + i])) / 32768.0;
    key = detect (x, 160, &level);
    if (buf[1] & 0x80) {
      h->markers++;
      if (key)
        h->marked_tones++;
    }
    if (key) {
      /* Glitches up to this tone were inside the sequence. */
      h->bad_numbering += bad_since_tone;
      bad_since_tone = 0;
      in_tones = TRUE;
      h->max_level = MAX (h->max_level, level);
      h->min_level = MIN (h->min_level, level);
      if (!have_prev || key != prev)
        g_string_append_c (h->digits, key);
    }
    prev = key;
    have_prev = TRUE;
  }
}

/* A offers; the "bridge" is a raw socket answering with @codec_pt only. */
static GSocket *
answer_raw (Fixture *f, guint codec_pt)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  GSocket *sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
      G_SOCKET_PROTOCOL_UDP, &error);
  guint port;

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (sock, any, FALSE, &error));
  g_socket_set_blocking (sock, FALSE);
  bound = g_socket_get_local_address (sock, &error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  offer = amgw_rtp_session_create_offer (f->a, AMGW_MEDIA_SENDRECV, &error);
  g_assert_no_error (error);
  answer = g_strdup_printf (OFFER_HEAD "m=audio %u RTP/AVP %u\r\na=rtcp-mux\r\na=sendrecv\r\n",
      port, codec_pt);
  g_assert_true (amgw_rtp_session_apply_answer (f->a, answer, &error));
  g_assert_no_error (error);
  return sock;
}

static void
run_inband (Fixture *f, guint pt, gboolean with_audio)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock = NULL;
  Heard h = { 0, };

  h.digits = g_string_new (NULL);
  f->a = make (f, 0, AMGW_RTP_PLAIN, 0, &f->ca);
  sock = answer_raw (f, pt);
  if (with_audio) {
    /* 400 Hz: far from every DTMF bin; its frames must give way. */
    g_assert_true (amgw_rtp_session_start_audio_check (f->a, 400, 60000, &error));
    g_assert_no_error (error);
  }
  /* No telephone-event was negotiated: RFC 4733 is refused, in-band is not. */
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "1", AMGW_DTMF_RFC4733, 0, &error));
  g_clear_error (&error);
  g_assert_true (amgw_rtp_session_send_dtmf (f->a, "159#", AMGW_DTMF_INBAND, 0, &error));
  g_assert_no_error (error);
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "2", AMGW_DTMF_INBAND, 0, &error));
  g_clear_error (&error);
  listen_inband (f, sock, pt, &h);
  if (g_strcmp0 (h.digits->str, "159#") != 0)
    g_error ("heard \"%s\" (%u packets)", h.digits->str, h.packets);
  g_test_message ("heard %s in %u packets, %u markers, tones %.1f..%.1f dBov", h.digits->str,
      h.packets, h.markers, h.min_level, h.max_level);
  g_assert_cmpuint (f->ca.dtmf_done, ==, 1);
  g_assert_cmpfloat (num (f->a, "dtmf_sent", NULL), ==, 4);
  g_assert_cmpuint (h.bad_size, ==, 0);
  g_assert_cmpuint (h.marked_tones, ==, 4);
  /* Tones and gaps are ours alone: one numbering, no pipeline frame between. */
  g_assert_cmpuint (h.bad_numbering, ==, 0);
  if (!with_audio)
    g_assert_cmpuint (h.markers, ==, 4);
  /* About -10 dBm0 (-13 dBov) per tone; G.711 and the window cost a little. */
  g_assert_cmpfloat (h.max_level, <, -10);
  g_assert_cmpfloat (h.min_level, >, -17);
  g_string_free (h.digits, TRUE);
}

static void
test_inband_pcmu (Fixture *f, gconstpointer data)
{
  (void) data;
  run_inband (f, 0, FALSE);
}

static void
test_inband_pcma (Fixture *f, gconstpointer data)
{
  (void) data;
  run_inband (f, 8, FALSE);
}

static void
test_inband_pcmu_audio (Fixture *f, gconstpointer data)
{
  (void) data;
  run_inband (f, 0, TRUE);
}

static void
test_inband_g722 (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) sock = NULL;

  (void) data;
  f->a = make (f, 0, AMGW_RTP_PLAIN, 0, &f->ca);
  sock = answer_raw (f, 9);
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "1", AMGW_DTMF_INBAND, 0, &error));
  g_assert_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==,
      "in-band DTMF needs G.711 (PCMU or PCMA) toward the bridge; use rfc4733 or info");
  g_assert_cmpuint (f->ca.dtmf_done, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gst_init (&argc, &argv);
  g_test_add ("/rtp-session/plain/tone", Fixture, NULL, setup, test_plain_tone, teardown);
  g_test_add ("/rtp-session/sdes/tone", Fixture, NULL, setup, test_sdes_tone, teardown);
  g_test_add ("/rtp-session/sdes/wrong-key", Fixture, NULL, setup, test_sdes_wrong_key, teardown);
  g_test_add ("/rtp-session/rtcp-mux", Fixture, NULL, setup, test_rtcp_mux, teardown);
  g_test_add ("/rtp-session/codecs", Fixture, NULL, setup, test_codecs, teardown);
  g_test_add ("/rtp-session/malformed", Fixture, NULL, setup, test_malformed, teardown);
  g_test_add ("/rtp-session/hold", Fixture, NULL, setup, test_hold, teardown);
  g_test_add ("/rtp-session/inactivity", Fixture, NULL, setup, test_inactivity, teardown);
  g_test_add ("/rtp-session/latch", Fixture, NULL, setup, test_latch, teardown);
  g_test_add ("/rtp-session/dtmf/plain", Fixture, NULL, setup, test_dtmf, teardown);
  g_test_add ("/rtp-session/dtmf/sdes-with-audio", Fixture, NULL, setup, test_dtmf_srtp_audio,
      teardown);
  g_test_add ("/rtp-session/dtmf/inband-pcmu", Fixture, NULL, setup, test_inband_pcmu, teardown);
  g_test_add ("/rtp-session/dtmf/inband-pcma", Fixture, NULL, setup, test_inband_pcma, teardown);
  g_test_add ("/rtp-session/dtmf/inband-with-audio", Fixture, NULL, setup,
      test_inband_pcmu_audio, teardown);
  g_test_add ("/rtp-session/dtmf/inband-g722", Fixture, NULL, setup, test_inband_g722, teardown);
  {
    /* libsrtp's NSS back end shuts NSS down with its last session and leaks
     * a little on each re-initialisation (valgrind): keep one session for
     * the whole run, as the daemon's steady state would. */
    static const guint8 zeros[30];
    AmgwSrtp *keeper = amgw_srtp_new (AMGW_SRTP_AES128_CM_SHA1_80, zeros, zeros, NULL);
    int rc = g_test_run ();

    amgw_srtp_free (keeper);
    return rc;
  }
}
