/* The e2e browser harness against itself, with no amgw: two Chromium pages
 * (tests/support/browser.c) call each other over loopback.  Proves offer and
 * answer in both roles, codec restriction, hold and resume through the
 * transceiver direction, ICE restarts, the tone each page sends and hears,
 * statistics, screenshots, error reporting and hang-up, so that the amgw e2e
 * tests can trust the page.
 *
 * Skipped when node, Chromium or the npm packages are missing (unless
 * AMGW_E2E_REQUIRE_BROWSER is set, then that fails). */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "browser.h"

#define TONE_A 440.0
#define TONE_B 1000.0
#define TOLERANCE_HZ 30.0

static AmgwBrowser *A, *B;
static char *start_error;

static gboolean
have_pair (void)
{
  if (A != NULL && B != NULL)
    return TRUE;
  if (g_getenv ("AMGW_E2E_REQUIRE_BROWSER") != NULL)
    g_test_fail_printf ("the browser did not start: %s", start_error);
  else
    g_test_skip (start_error);
  return FALSE;
}

/* The value of the first SDP line starting with @prefix, or NULL. (transfer full) */
static char *
sdp_line (const char *sdp, const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_strchomp (*l);
    if (g_str_has_prefix (*l, prefix))
      return g_strdup (*l + strlen (prefix));
  }
  return NULL;
}

static guint
count_lines (const char *sdp, const char *prefix)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\n", -1);
  guint n = 0;
  for (char **l = lines; *l; l++)
    if (g_str_has_prefix (*l, prefix))
      n++;
  return n;
}

/* Non-trickle SDP with loopback candidates only, no mDNS names. */
static void
check_sdp (const char *sdp)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\n", -1);
  guint candidates = 0;
  g_assert_nonnull (strstr (sdp, "a=ice-ufrag:"));
  g_assert_nonnull (strstr (sdp, "a=fingerprint:sha-256 "));
  for (char **l = lines; *l; l++) {
    if (!g_str_has_prefix (*l, "a=candidate:"))
      continue;
    candidates++;
    g_assert_null (strstr (*l, ".local"));
    g_assert_nonnull (strstr (*l, " 127.0.0.1 "));
  }
  g_assert_cmpuint (candidates, >=, 1);
}

static double
stat_num (AmgwBrowser *b, const char *path)
{
  g_autoptr (GError) error = NULL;
  cJSON *s = amgw_browser_stats (b, &error);
  double v;
  g_assert_no_error (error);
  v = amgw_browser_stat_number (s, path, -1);
  cJSON_Delete (s);
  return v;
}

static void
check_connected (AmgwBrowser *b, const char *mime_type)
{
  g_autoptr (GError) error = NULL;
  cJSON *s;
  g_assert_true (amgw_browser_wait_connected (b, 10000, &error));
  g_assert_no_error (error);
  s = amgw_browser_stats (b, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (amgw_browser_stat_string (s, "dtlsState"), ==, "connected");
  g_assert_cmpstr (amgw_browser_stat_string (s, "selectedPair.local.address"), ==, "127.0.0.1");
  g_assert_cmpstr (amgw_browser_stat_string (s, "selectedPair.remote.address"), ==, "127.0.0.1");
  g_assert_cmpstr (amgw_browser_stat_string (s, "selectedPair.local.protocol"), ==, "udp");
  g_assert_cmpstr (amgw_browser_stat_string (s, "outbound.codec.mimeType"), ==, mime_type);
  cJSON_Delete (s);
}

/* A offers, B answers, A applies; both connected with @mime_type.  Returns
 * the offer and answer when asked. */
static void
connect_pair (const char *codec, const char *mime_type, char **offer_out, char **answer_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  gint64 t0 = g_get_monotonic_time ();

  g_assert_true (amgw_browser_open (A, codec, &error));
  g_assert_no_error (error);
  g_assert_true (amgw_browser_open (B, codec, &error));
  g_assert_no_error (error);
  offer = amgw_browser_offer (A, FALSE, &error);
  g_assert_no_error (error);
  check_sdp (offer);
  g_assert_nonnull (strstr (offer, "a=setup:actpass"));
  answer = amgw_browser_answer (B, offer, &error);
  g_assert_no_error (error);
  check_sdp (answer);
  g_assert_null (strstr (answer, "a=setup:actpass"));
  g_assert_true (amgw_browser_apply_answer (A, answer, &error));
  g_assert_no_error (error);
  check_connected (A, mime_type);
  check_connected (B, mime_type);
  g_test_message ("connected (%s) in %.0f ms", mime_type, (g_get_monotonic_time () - t0) / 1000.0);
  if (offer_out)
    *offer_out = g_steal_pointer (&offer);
  if (answer_out)
    *answer_out = g_steal_pointer (&answer);
}

/* One renegotiation, @offerer -> @answerer. */
static void
renegotiate (AmgwBrowser *offerer, AmgwBrowser *answerer, gboolean ice_restart,
    char **offer_out, char **answer_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = amgw_browser_offer (offerer, ice_restart, &error);
  g_autofree char *answer = NULL;
  g_assert_no_error (error);
  check_sdp (offer);
  answer = amgw_browser_answer (answerer, offer, &error);
  g_assert_no_error (error);
  check_sdp (answer);
  g_assert_true (amgw_browser_apply_answer (offerer, answer, &error));
  g_assert_no_error (error);
  if (offer_out)
    *offer_out = g_steal_pointer (&offer);
  if (answer_out)
    *answer_out = g_steal_pointer (&answer);
}

/* Listens for up to @tries seconds until @b hears @hz. */
static void
assert_hears (AmgwBrowser *b, const char *who, double hz, guint tries)
{
  double f = 0, level = -200;
  for (guint i = 0; i < tries; i++) {
    g_autoptr (GError) error = NULL;
    g_assert_true (amgw_browser_hear (b, 1000, &f, &level, &error));
    g_assert_no_error (error);
    g_test_message ("%s hears %.1f Hz at %.1f dBFS", who, f, level);
    if (fabs (f - hz) <= TOLERANCE_HZ && level > -30)
      return;
  }
  g_error ("%s heard %.1f Hz at %.1f dBFS, not %.0f Hz", who, f, level, hz);
}

static void
assert_silent (AmgwBrowser *b, const char *who)
{
  g_autoptr (GError) error = NULL;
  double f = 0, level = 0;
  g_assert_true (amgw_browser_hear (b, 600, &f, &level, &error));
  g_assert_no_error (error);
  g_test_message ("%s hears %.1f Hz at %.1f dBFS (expected silence)", who, f, level);
  g_assert_cmpfloat (level, <, -60);
}

/* Inbound packets of A and B over @ms. */
static void
inbound_growth (guint ms, double *a_delta, double *b_delta)
{
  double a0 = stat_num (A, "inbound.packetsReceived");
  double b0 = stat_num (B, "inbound.packetsReceived");
  g_usleep (ms * 1000);
  *a_delta = stat_num (A, "inbound.packetsReceived") - a0;
  *b_delta = stat_num (B, "inbound.packetsReceived") - b0;
  g_test_message ("inbound packets in %u ms: A +%.0f, B +%.0f", ms, *a_delta, *b_delta);
}

static void
test_opus (void)
{
  double da, db;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;

  if (!have_pair ())
    return;
  connect_pair (NULL, "audio/opus", &offer, &answer);
  g_assert_cmpuint (count_lines (offer, "m=audio "), ==, 1);
  assert_hears (A, "A", TONE_B, 5);
  assert_hears (B, "B", TONE_A, 5);
  inbound_growth (1000, &da, &db);
  /* 20 ms packets: about 50 a second each way. */
  g_assert_cmpfloat (da, >, 30);
  g_assert_cmpfloat (db, >, 30);
  g_assert_cmpfloat (stat_num (A, "inbound.bytesReceived"), >, 1000);
  g_assert_cmpfloat (stat_num (B, "outbound.packetsSent"), >, 50);
  /* Played out too (the <audio> element), so Chromium measures its level. */
  g_assert_cmpfloat (stat_num (A, "inbound.totalAudioEnergy"), >, 0);
}

static void
test_pcmu (void)
{
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *m_offer = NULL;
  g_autofree char *m_answer = NULL;
  double da, db;

  if (!have_pair ())
    return;
  connect_pair ("PCMU", "audio/PCMU", &offer, &answer);
  m_offer = sdp_line (offer, "m=audio ");
  m_answer = sdp_line (answer, "m=audio ");
  g_test_message ("offer m=audio %s; answer m=audio %s", m_offer, m_answer);
  g_assert_true (g_str_has_suffix (m_offer, "UDP/TLS/RTP/SAVPF 0"));
  g_assert_true (g_str_has_suffix (m_answer, "UDP/TLS/RTP/SAVPF 0"));
  g_assert_cmpfloat (stat_num (A, "codec.clockRate"), ==, 8000);
  assert_hears (A, "A", TONE_B, 5);
  assert_hears (B, "B", TONE_A, 5);
  inbound_growth (1000, &da, &db);
  g_assert_cmpfloat (da, >, 30);
  g_assert_cmpfloat (db, >, 30);
}

/* Hold as amgw does it: only the direction changes.  A "sendonly" keeps
 * sending (music on hold) and B, answering "recvonly", stops; "inactive"
 * stops both; "sendrecv" resumes. */
static void
test_hold (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *dir_offer = NULL;
  g_autofree char *dir_answer = NULL;
  double da, db;
  cJSON *s;

  if (!have_pair ())
    return;
  connect_pair (NULL, "audio/opus", NULL, NULL);

  g_assert_true (amgw_browser_set_direction (A, "sendonly", &error));
  g_assert_no_error (error);
  renegotiate (A, B, FALSE, &offer, &answer);
  g_assert_cmpuint (count_lines (offer, "a=sendonly"), ==, 1);
  g_assert_cmpuint (count_lines (answer, "a=recvonly"), ==, 1);
  s = amgw_browser_stats (B, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (amgw_browser_stat_string (s, "currentDirection"), ==, "recvonly");
  cJSON_Delete (s);
  g_usleep (300 * 1000);
  inbound_growth (1000, &da, &db);
  g_assert_cmpfloat (da, <=, 2);
  g_assert_cmpfloat (db, >, 30);
  assert_hears (B, "B (A holds, sendonly)", TONE_A, 3);
  assert_silent (A, "A (holding)");

  g_assert_true (amgw_browser_set_direction (A, "inactive", &error));
  g_assert_no_error (error);
  g_clear_pointer (&offer, g_free);
  g_clear_pointer (&answer, g_free);
  renegotiate (A, B, FALSE, &offer, &answer);
  g_assert_cmpuint (count_lines (offer, "a=inactive"), ==, 1);
  g_assert_cmpuint (count_lines (answer, "a=inactive"), ==, 1);
  g_usleep (300 * 1000);
  inbound_growth (1000, &da, &db);
  g_assert_cmpfloat (da, <=, 2);
  g_assert_cmpfloat (db, <=, 2);

  g_assert_true (amgw_browser_set_direction (A, "sendrecv", &error));
  g_assert_no_error (error);
  g_clear_pointer (&offer, g_free);
  g_clear_pointer (&answer, g_free);
  renegotiate (A, B, FALSE, &offer, &answer);
  g_assert_cmpuint (count_lines (offer, "a=sendrecv"), ==, 1);
  g_assert_cmpuint (count_lines (answer, "a=sendrecv"), ==, 1);
  inbound_growth (1000, &da, &db);
  g_assert_cmpfloat (da, >, 30);
  g_assert_cmpfloat (db, >, 30);
  assert_hears (A, "A (resumed)", TONE_B, 3);
  assert_hears (B, "B (resumed)", TONE_A, 3);
}

/* ICE restarts from either side: new credentials, still connected, media
 * keeps flowing. */
static void
test_ice_restart (void)
{
  g_autofree char *offer0 = NULL;
  g_autofree char *answer0 = NULL;
  g_autofree char *offer1 = NULL;
  g_autofree char *answer1 = NULL;
  g_autofree char *offer2 = NULL;
  g_autofree char *answer2 = NULL;
  char *u[6] = { NULL };
  double da, db;

  if (!have_pair ())
    return;
  connect_pair (NULL, "audio/opus", &offer0, &answer0);

  renegotiate (A, B, TRUE, &offer1, &answer1);
  check_connected (A, "audio/opus");
  check_connected (B, "audio/opus");
  inbound_growth (1000, &da, &db);
  g_assert_cmpfloat (da, >, 30);
  g_assert_cmpfloat (db, >, 30);

  /* Now B offers: the answering page re-offers, with a restart. */
  renegotiate (B, A, TRUE, &offer2, &answer2);
  check_connected (A, "audio/opus");
  check_connected (B, "audio/opus");
  inbound_growth (1000, &da, &db);
  g_assert_cmpfloat (da, >, 30);
  g_assert_cmpfloat (db, >, 30);

  u[0] = sdp_line (offer0, "a=ice-ufrag:");
  u[1] = sdp_line (answer0, "a=ice-ufrag:");
  u[2] = sdp_line (offer1, "a=ice-ufrag:");
  u[3] = sdp_line (answer1, "a=ice-ufrag:");
  u[4] = sdp_line (offer2, "a=ice-ufrag:");
  u[5] = sdp_line (answer2, "a=ice-ufrag:");
  g_test_message ("ufrags A/B: %s/%s, restart %s/%s, restart by B %s/%s", u[0], u[1], u[2], u[3], u[5], u[4]);
  g_assert_cmpstr (u[0], !=, u[2]);   /* A's */
  g_assert_cmpstr (u[2], !=, u[5]);
  g_assert_cmpstr (u[1], !=, u[3]);   /* B's */
  g_assert_cmpstr (u[3], !=, u[4]);
  assert_hears (A, "A (after ICE restarts)", TONE_B, 3);
  for (guint i = 0; i < G_N_ELEMENTS (u); i++)
    g_free (u[i]);
}

/* Errors come back as errors; the driver and the page go on. */
static void
test_errors (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *sdp = NULL;
  cJSON *req, *res;

  if (!have_pair ())
    return;
  g_assert_true (amgw_browser_open (A, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (amgw_browser_apply_answer (A, "v=0\r\nthis is not SDP\r\n", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_test_message ("bad answer: %s", error->message);
  g_clear_error (&error);
  sdp = amgw_browser_answer (A, "garbage", &error);
  g_assert_null (sdp);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_test_message ("bad offer: %s", error->message);
  g_clear_error (&error);
  g_assert_false (amgw_browser_open (A, "no-such-codec", &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);
  req = cJSON_CreateObject ();
  cJSON_AddStringToObject (req, "cmd", "no-such-command");
  res = amgw_browser_request (A, req, 0, &error);
  g_assert_null (res);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);
  /* Still serving. */
  g_assert_true (amgw_browser_open (A, NULL, &error));
  g_assert_no_error (error);
  sdp = amgw_browser_offer (A, FALSE, &error);
  g_assert_no_error (error);
  check_sdp (sdp);
}

/* A screenshot of a connected page, then A hangs up: B sees the DTLS close. */
static void
test_screenshot_and_close (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *png = NULL;
  g_autofree char *data = NULL;
  const char *artifacts = g_getenv ("AMGW_E2E_ARTIFACTS");
  gsize len = 0;
  gint64 deadline;
  char *state = NULL;
  cJSON *s;

  if (!have_pair ())
    return;
  connect_pair (NULL, "audio/opus", NULL, NULL);
  assert_hears (A, "A", TONE_B, 5);
  g_usleep (600 * 1000);   /* the status area refreshes twice a second */
  if (artifacts != NULL) {
    g_mkdir_with_parents (artifacts, 0755);
    png = g_build_filename (artifacts, "browser-harness-A.png", NULL);
  } else {
    dir = g_dir_make_tmp ("amgw-harness-XXXXXX", &error);
    g_assert_no_error (error);
    png = g_build_filename (dir, "A.png", NULL);
  }
  g_assert_true (amgw_browser_screenshot (A, png, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (png, &data, &len, &error));
  g_assert_no_error (error);
  g_test_message ("screenshot %s: %" G_GSIZE_FORMAT " bytes", png, len);
  g_assert_cmpuint (len, >, 5000);
  g_assert_cmpmem (data, 8, "\x89PNG\r\n\x1a\n", 8);
  if (dir != NULL) {
    g_unlink (png);
    g_rmdir (dir);
  }

  g_assert_true (amgw_browser_close (A, &error));
  g_assert_no_error (error);
  s = amgw_browser_stats (A, &error);
  g_assert_null (s);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&error);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;) {
    s = amgw_browser_stats (B, &error);
    g_assert_no_error (error);
    g_free (state);
    state = g_strdup_printf ("%s/%s", amgw_browser_stat_string (s, "connectionState"),
        amgw_browser_stat_string (s, "dtlsState"));
    cJSON_Delete (s);
    if (g_str_has_suffix (state, "/closed") || g_str_has_prefix (state, "closed/")
        || g_str_has_prefix (state, "failed/"))
      break;
    if (g_get_monotonic_time () > deadline)
      g_error ("B did not see the hang-up: %s", state);
    g_usleep (100 * 1000);
  }
  g_test_message ("B after A closed: %s", state);
  g_free (state);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  gint64 t0;
  int ret;

  g_test_init (&argc, &argv, NULL);

  t0 = g_get_monotonic_time ();
  A = amgw_browser_start (TONE_A, &error);
  if (A != NULL)
    B = amgw_browser_start (TONE_B, &error);
  if (B == NULL) {
    start_error = g_strdup_printf ("no browser: %s", error->message);
    g_clear_pointer (&A, amgw_browser_free);
  } else {
    g_test_message ("two browsers ready in %.0f ms", (g_get_monotonic_time () - t0) / 1000.0);
  }

  g_test_add_func ("/browser-harness/opus", test_opus);
  g_test_add_func ("/browser-harness/pcmu", test_pcmu);
  g_test_add_func ("/browser-harness/hold", test_hold);
  g_test_add_func ("/browser-harness/ice-restart", test_ice_restart);
  g_test_add_func ("/browser-harness/errors", test_errors);
  g_test_add_func ("/browser-harness/screenshot-and-close", test_screenshot_and_close);
  ret = g_test_run ();

  t0 = g_get_monotonic_time ();
  amgw_browser_free (A);
  amgw_browser_free (B);
  if (A != NULL)
    g_test_message ("browsers ended in %.0f ms", (g_get_monotonic_time () - t0) / 1000.0);
  g_free (start_error);
  return ret;
}
