/* Unit tests of the bridge leg's RTP session: two sessions on real UDP
 * sockets on 127.0.0.1, each on its own media loop. */
#include "amgw/rtp-session.h"
#include "amgw/media-loops.h"
#include "amgw/srtp.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

#define WAIT_MS 10000

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

  /* DTMF modes this module does not do. */
  g_assert_false (amgw_rtp_session_send_dtmf (f->a, "1", AMGW_DTMF_INBAND, 0, &error));
  g_assert_error (error, AMGW_RTP_SESSION_ERROR, AMGW_RTP_SESSION_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "not supported yet"));
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
  g_test_add ("/rtp-session/dtmf/plain", Fixture, NULL, setup, test_dtmf, teardown);
  g_test_add ("/rtp-session/dtmf/sdes-with-audio", Fixture, NULL, setup, test_dtmf_srtp_audio,
      teardown);
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
