/* The WebRTC leg against a real browser: headless Chromium acts as the Alexa
 * device.  The fake Alexa cloud hands amgw's InitiateInboundCall offer to the
 * page, and the page's answer comes back to amgw as CallRinging,
 * CallInProgress and CallAccepted events: the same path as production.  The
 * real amgw binary runs the installer's audio check (tone, then echo). */
#include "../integration/common.h"
#include "browser.h"

#include <signal.h>
#include <sys/wait.h>

#define AMGW_TONE 1000.0
#define PAGE_TONE 440.0
#define MEDIA_CONFIG \
  "\n[media]\nrtp-port-min = 20000\nrtp-port-max = 20199\nice-timeout = 5000\n"

typedef struct {
  Fx *fx;
  AmgwBrowser *browser;
  char *sid;
} Call;

static gboolean
near (double value, double target, double tolerance)
{
  return value > target - tolerance && value < target + tolerance;
}

static AmgwBrowser *
browser_or_skip (void)
{
  g_autoptr (GError) error = NULL;
  AmgwBrowser *b = amgw_browser_start (PAGE_TONE, &error);

  if (b == NULL) {
    g_test_skip (error ? error->message : "no browser");
    return NULL;
  }
  return b;
}

/* A test call from amgw to the page, answered by the page.  @mangle may edit
 * the answer on its way to amgw (failure tests). */
static Call *
call_start (const char *codec, double tone_ms, char *(*mangle) (const char *sdp))
{
  FxOptions opt = { .binary = g_getenv ("AMGW_BINARY"), .extra = MEDIA_CONFIG };
  Call *c;
  g_autoptr (GError) error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *body = NULL;
  g_autofree char *resp = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *details = NULL;
  FakeCloudRequest *req;
  AmgwBrowser *b = browser_or_skip ();
  cJSON *j;

  if (b == NULL)
    return NULL;
  c = g_new0 (Call, 1);
  c->browser = b;
  g_assert_true (amgw_browser_open (b, codec, &error));
  g_assert_no_error (error);
  c->fx = fx_start (&opt);

  url = fx_url (c->fx, "/v1/rooms/boardroom/test-call");
  body = g_strdup_printf ("{\"tone_hz\": %g, \"tone_ms\": %g, \"duration_ms\": 120000, "
      "\"codec\": \"%s\"}", AMGW_TONE, tone_ms, codec);
  g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, body, strlen (body), &resp), ==, 201);
  j = cJSON_Parse (resp);
  c->sid = g_strdup (jstr (j, "id"));
  cJSON_Delete (j);

  req = fake_cloud_wait_signal (c->fx->fc, "InitiateInboundCall", c->sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_null (req->validation_error);
  answer = amgw_browser_answer (b, jstr (req->json, "sdpDetails.value"), &error);
  g_assert_no_error (error);
  if (mangle) {
    char *m = mangle (answer);
    g_free (answer);
    answer = m;
  }
  {
    cJSON *o = cJSON_CreateObject ();
    cJSON *d = cJSON_AddObjectToObject (o, "sdpDetails");
    char *t;
    cJSON_AddStringToObject (d, "type", "ANSWER");
    cJSON_AddStringToObject (d, "value", answer);
    t = cJSON_PrintUnformatted (o);
    details = g_strdup (t);
    cJSON_free (t);
    cJSON_Delete (o);
  }
  g_assert_cmpuint (fx_event (c->fx, "CallRinging", c->sid, NULL, NULL), ==, 200);
  g_assert_cmpuint (fx_event (c->fx, "CallInProgress", c->sid, details, NULL), ==, 200);
  g_assert_cmpuint (fx_event (c->fx, "CallAccepted", c->sid, details, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (c->fx->fc, "CallAcceptedAck", c->sid, WAIT_MS));
  return c;
}

static void
call_free (Call *c)
{
  if (c == NULL)
    return;
  amgw_browser_free (c->browser);
  fx_free (c->fx);
  g_free (c->sid);
  g_free (c);
}

static cJSON *
call_view (Call *c)
{
  guint status;
  cJSON *j = fx_get_call (c->fx, c->sid, &status);

  g_assert_cmpuint (status, ==, 200);
  return j;
}

static double
jnum (const cJSON *root, const char *path)
{
  const cJSON *j = jget (root, path);
  return cJSON_IsNumber (j) ? j->valuedouble : -1;
}

/* Polls until amgw hears @hz from the page (generous: shared machines). */
static gboolean
amgw_hears (Call *c, double hz, double *heard)
{
  for (guint i = 0; i < 150; i++) {
    cJSON *v = call_view (c);
    *heard = jnum (v, "alexa_leg.media.audio_check.heard_hz");
    cJSON_Delete (v);
    if (near (*heard, hz, 30))
      return TRUE;
    g_usleep (100 * 1000);
  }
  return FALSE;
}

static gboolean
page_hears (Call *c, double hz, double *heard)
{
  g_autoptr (GError) error = NULL;
  double level = -200;

  for (guint i = 0; i < 15; i++) {
    g_assert_true (amgw_browser_hear (c->browser, 1000, heard, &level, &error));
    if (near (*heard, hz, 30))
      return TRUE;
  }
  return FALSE;
}

static double
page_inbound_packets (Call *c)
{
  g_autoptr (GError) error = NULL;
  cJSON *s = amgw_browser_stats (c->browser, &error);
  double n;

  g_assert_no_error (error);
  n = jnum (s, "inbound.packetsReceived");
  cJSON_Delete (s);
  return n;
}

/* Both directions: the page hears amgw's tone, amgw hears the page's. */
static void
run_tones (const char *codec)
{
  Call *c = call_start (codec, 60000, NULL);
  double heard = 0, p1, p2;
  cJSON *v;

  if (c == NULL)
    return;
  if (!page_hears (c, AMGW_TONE, &heard))
    g_error ("the page heard %.0f Hz, not %.0f Hz", heard, AMGW_TONE);
  if (!amgw_hears (c, PAGE_TONE, &heard)) {
    cJSON *v = call_view (c);
    g_error ("amgw heard %.0f Hz, not %.0f Hz: %s", heard, PAGE_TONE, cJSON_PrintUnformatted (v));
  }
  /* Inbound packets keep growing at about 50 a second (20 ms frames). */
  p1 = page_inbound_packets (c);
  g_usleep (1500 * 1000);
  p2 = page_inbound_packets (c);
  g_assert_cmpfloat (p2 - p1, >, 40);

  v = call_view (c);
  g_test_message ("call view: %s", cJSON_PrintUnformatted (v));
  g_assert_cmpstr (jstr (v, "alexa_leg.media.ice"), ==, "connected");
  g_assert_cmpstr (jstr (v, "alexa_leg.media.dtls"), ==, "connected");
  g_assert_cmpstr (jstr (v, "alexa_leg.media.codec"), ==, codec);
  g_assert_cmpfloat (jnum (v, "alexa_leg.media.rtp.packets_in"), >, 50);
  g_assert_cmpfloat (jnum (v, "alexa_leg.media.rtp.packets_out"), >, 50);
  g_assert_cmpfloat (jnum (v, "alexa_leg.media.rtp.srtp_dropped"), ==, 0);
  cJSON_Delete (v);
  /* The device's RTCP reports arrive (SRTCP over rtcp-mux) and are read.
   * Chromium sends them every few seconds: wait, generously. */
  {
    double rtcp_in = 0;
    for (guint i = 0; i < 300 && rtcp_in <= 0; i++) {
      v = call_view (c);
      rtcp_in = jnum (v, "alexa_leg.media.rtp.rtcp_in");
      cJSON_Delete (v);
      if (rtcp_in <= 0)
        g_usleep (100 * 1000);
    }
    g_assert_cmpfloat (rtcp_in, >, 0);
  }
  call_free (c);
}

static void
test_tones_opus (void)
{
  run_tones ("opus");
}

static void
test_tones_pcmu (void)
{
  run_tones ("PCMU");
}

/* After the tone, amgw echoes: the page hears its own tone back. */
static void
test_echo (void)
{
  Call *c = call_start ("opus", 1500, NULL);
  double heard = 0;

  if (c == NULL)
    return;
  if (!page_hears (c, PAGE_TONE, &heard))
    g_error ("the page heard %.0f Hz, not its own %.0f Hz echoed", heard, PAGE_TONE);
  call_free (c);
}

/* Renegotiation from the Alexa side: CallUpdate with the page's new offer,
 * CallUpdateResponse with amgw's answer back to the page. */
static void
renegotiate (Call *c, const char *type, gboolean ice_restart, const char *direction)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *extra = NULL;
  FakeCloudRequest *req;
  cJSON *o = cJSON_CreateObject ();
  cJSON *d;
  char *t;

  if (direction)
    g_assert_true (amgw_browser_set_direction (c->browser, direction, &error));
  offer = amgw_browser_offer (c->browser, ice_restart, &error);
  g_assert_no_error (error);
  cJSON_AddStringToObject (o, "renegotiationType", type);
  d = cJSON_AddObjectToObject (o, "sdpDetails");
  cJSON_AddStringToObject (d, "type", "OFFER");
  cJSON_AddStringToObject (d, "value", offer);
  t = cJSON_PrintUnformatted (o);
  extra = g_strdup (t);
  cJSON_free (t);
  cJSON_Delete (o);
  fake_cloud_reset_requests (c->fx->fc);
  g_assert_cmpuint (fx_event (c->fx, "CallUpdate", c->sid, extra, NULL), ==, 200);
  req = fake_cloud_wait_signal (c->fx->fc, "CallUpdateResponse", c->sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_null (req->validation_error);
  g_assert_true (amgw_browser_apply_answer (c->browser, jstr (req->json, "sdpDetails.value"), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fx_event (c->fx, "CallUpdateAck", c->sid, NULL, NULL), ==, 200);
}

static double growth (Call *c, guint ms);

static double
growth (Call *c, guint ms)
{
  double a = page_inbound_packets (c), b;
  g_usleep (ms * 1000);
  b = page_inbound_packets (c);
  return b - a;
}

static void
test_hold_resume_ice_restart (void)
{
  Call *c = call_start ("opus", 60000, NULL);
  double heard = 0;

  if (c == NULL)
    return;
  g_assert_true (page_hears (c, AMGW_TONE, &heard));
  g_assert_cmpfloat (growth (c, 1000), >, 20);

  /* Hold: the page stops receiving (amgw answers recvonly). */
  renegotiate (c, "CALL_HOLD", FALSE, "sendonly");
  g_usleep (500 * 1000);
  g_assert_cmpfloat (growth (c, 1500), <, 5);

  /* Resume: media again. */
  renegotiate (c, "CALL_RESUME", FALSE, "sendrecv");
  {
    double g = 0;
    for (guint i = 0; i < 10 && g < 20; i++)
      g = growth (c, 1000);
    g_assert_cmpfloat (g, >=, 20);
  }

  /* ICE restart: new credentials both ways, the call goes on. */
  renegotiate (c, "CALL_UPDATE", TRUE, NULL);
  {
    double g = 0;
    for (guint i = 0; i < 10 && g < 20; i++)
      g = growth (c, 1000);
    g_assert_cmpfloat (g, >=, 20);
  }
  g_assert_true (page_hears (c, AMGW_TONE, &heard));
  call_free (c);
}

/* tshark on loopback: STUN and DTLS go by, and every RTP packet is SRTP
 * (PCMU 20 ms = 160 bytes of payload: plain RTP would be 172 bytes, SRTP
 * adds its authentication tag). */
static void
test_wire_is_encrypted (void)
{
  g_autofree char *dir = g_dir_make_tmp ("amgw-cap-XXXXXX", NULL);
  g_autofree char *pcap = g_build_filename (dir, "call.pcapng", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *cap_argv[] = { "tshark", "-q", "-i", "lo", "-f", "udp", "-w", pcap, NULL };
  GPid pid;
  g_autoptr (GError) error = NULL;
  Call *c;
  double heard;
  guint stun = 0, dtls = 0, rtp = 0, plain = 0;
  int status;

  if (!g_find_program_in_path ("tshark")) {
    g_test_skip ("tshark is not installed");
    return;
  }
  g_assert_true (g_spawn_async (NULL, (char **) cap_argv, NULL,
      G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
      G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_usleep (1500 * 1000);   /* tshark needs a moment to open the interface */

  c = call_start ("PCMU", 60000, NULL);
  if (c == NULL) {
    kill (pid, SIGTERM);
    waitpid (pid, NULL, 0);
    return;
  }
  g_assert_true (page_hears (c, AMGW_TONE, &heard));
  g_assert_true (amgw_hears (c, PAGE_TONE, &heard));
  g_usleep (2 * G_USEC_PER_SEC);   /* a few hundred packets each way */
  call_free (c);
  kill (pid, SIGTERM);
  waitpid (pid, NULL, 0);

  {
    /* One line per UDP datagram on the media ports: length and payload,
     * classified by the first byte as RFC 7983 does. */
    const char *argv[] = { "tshark", "-r", pcap, "-Y", "udp.port >= 20000 && udp.port <= 20199",
      "-T", "fields", "-e", "udp.length", "-e", "udp.payload", NULL };
    g_autofree char *fields = NULL;
    g_auto (GStrv) lines = NULL;

    g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
        &fields, &err, &status, &error));
    g_assert_no_error (error);
    lines = g_strsplit (fields, "\n", 0);
    for (guint i = 0; lines[i]; i++) {
      g_auto (GStrv) f = g_strsplit (lines[i], "\t", 0);
      char hex[3] = { 0, };
      guint udp_len;
      guint first;

      if (g_strv_length (f) < 2 || strlen (f[1]) < 2)
        continue;
      udp_len = atoi (f[0]) - 8;
      hex[0] = f[1][0];
      hex[1] = f[1][1];
      first = (guint) g_ascii_strtoull (hex, NULL, 16);
      if (first <= 3)
        stun++;
      else if (first >= 20 && first <= 63)
        dtls++;
      else if (first >= 128 && first <= 191 && udp_len >= 160) {
        rtp++;
        if (udp_len == 12 + 160)
          plain++;
      }
    }
  }
  g_test_message ("on the wire: %u STUN, %u DTLS, %u RTP-sized (%u plain)", stun, dtls, rtp, plain);
  g_assert_cmpuint (stun, >, 0);
  g_assert_cmpuint (dtls, >, 0);
  g_assert_cmpuint (rtp, >, 100);
  g_assert_cmpuint (plain, ==, 0);
  g_unlink (pcap);
  g_rmdir (dir);
}

/* ---- failures end the call with CallEnded and a reason, in bounded time ---- */

static char *
mangle_fingerprint (const char *sdp)
{
  GString *s = g_string_new (sdp);
  char *p = strstr (s->str, "a=fingerprint:sha-256 ");

  g_assert_nonnull (p);
  p += strlen ("a=fingerprint:sha-256 ");
  /* Flip the first hex digit. */
  *p = (*p == 'A') ? 'B' : 'A';
  return g_string_free (s, FALSE);
}

static char *
mangle_ice_password (const char *sdp)
{
  g_auto (GStrv) lines = g_strsplit (sdp, "\r\n", 0);
  GString *s = g_string_new (NULL);

  /* amgw's checks then fail authentication at the browser, and amgw (the
   * controlling agent) can never nominate a pair, whatever candidates
   * either side tries: a real ICE failure. */
  for (guint i = 0; lines[i]; i++) {
    if (g_str_has_prefix (lines[i], "a=ice-pwd:"))
      g_string_append (s, "a=ice-pwd:wrongwrongwrongwrongwrong\r\n");
    else if (*lines[i])
      g_string_append_printf (s, "%s\r\n", lines[i]);
  }
  return g_string_free (s, FALSE);
}

static char *
mangle_setup (const char *sdp)
{
  GString *s = g_string_new (sdp);
  /* Both sides believe they are the DTLS client: the handshake fails (the
   * silent-peer time-out is covered by tests/unit/test-dtls.c). */
  g_assert_nonnull (strstr (s->str, "a=setup:active"));
  g_string_replace (s, "a=setup:active", "a=setup:passive", 0);
  return g_string_free (s, FALSE);
}

static void
run_failure (char *(*mangle) (const char *), const char *reason_part)
{
  Call *c = call_start ("opus", 60000, mangle);
  FakeCloudRequest *req;
  gint64 t0 = g_get_monotonic_time ();

  if (c == NULL)
    return;
  req = fake_cloud_wait_signal (c->fx->fc, "CallEnded", c->sid, 30000);
  g_assert_nonnull (req);
  g_test_message ("CallEnded after %.1f s: %s", (g_get_monotonic_time () - t0) / 1e6,
      jstr (req->json, "callResult.message"));
  g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "INTERNAL_ERROR");
  g_assert_nonnull (strstr (jstr (req->json, "callResult.message"), reason_part));
  call_free (c);
}

static void
test_fingerprint_mismatch (void)
{
  run_failure (mangle_fingerprint, "fingerprint");
}

static void
test_ice_failure (void)
{
  run_failure (mangle_ice_password, "ICE");
}

static void
test_dtls_failure (void)
{
  run_failure (mangle_setup, "DTLS");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/webrtc/tones-opus", test_tones_opus);
  g_test_add_func ("/webrtc/tones-pcmu", test_tones_pcmu);
  g_test_add_func ("/webrtc/echo", test_echo);
  g_test_add_func ("/webrtc/hold-resume-ice-restart", test_hold_resume_ice_restart);
  g_test_add_func ("/webrtc/wire-is-encrypted", test_wire_is_encrypted);
  g_test_add_func ("/webrtc/fingerprint-mismatch", test_fingerprint_mismatch);
  g_test_add_func ("/webrtc/ice-failure", test_ice_failure);
  g_test_add_func ("/webrtc/dtls-failure", test_dtls_failure);
  return g_test_run ();
}
