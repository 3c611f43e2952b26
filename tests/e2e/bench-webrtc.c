/* bench-webrtc: figures for the WebRTC leg, printed, never asserted.
 *
 * The real amgw against headless Chromium (the e2e harness), on loopback:
 *  - set-up time from InitiateInboundCall to the first media packet amgw
 *    receives (which includes the browser's answer and the events' trip);
 *  - CPU and resident memory of the amgw process with no call, with one
 *    idle call (on hold, no media either way) and with one call with media
 *    flowing both ways (Opus, the audio check's tone and echo).
 * Run it with scripts/bench-webrtc (a loopback-only network namespace). */
#include "../integration/common.h"
#include "browser.h"
#include "proc-stat.h"

#include <unistd.h>

#define RUNS 5
#define SAMPLE_S 10

static void
sample (const char *what, GPid pid)
{
  double c0 = proc_cpu_seconds (pid), c1;

  g_usleep (SAMPLE_S * G_USEC_PER_SEC);
  c1 = proc_cpu_seconds (pid);
  g_print ("%-34s CPU %5.2f %% of a core, RSS %6.0f KiB\n", what, 100.0 * (c1 - c0) / SAMPLE_S,
      proc_status_value (pid, "VmRSS:"));
}

static char *
details (const char *type, const char *sdp, const char *reneg)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON *d;
  char *t, *r;

  if (reneg)
    cJSON_AddStringToObject (o, "renegotiationType", reneg);
  d = cJSON_AddObjectToObject (o, "sdpDetails");
  cJSON_AddStringToObject (d, "type", type);
  cJSON_AddStringToObject (d, "value", sdp);
  t = cJSON_PrintUnformatted (o);
  r = g_strdup (t);
  cJSON_free (t);
  cJSON_Delete (o);
  return r;
}

/* One audio-check call answered by the page; returns the session id and
 * the set-up time in ms. */
static char *
call (Fx *fx, AmgwBrowser *b, double *setup_ms)
{
  g_autofree char *url = fx_url (fx, "/v1/rooms/boardroom/test-call");
  const char *body = "{\"tone_hz\": 1000, \"tone_ms\": 60000, \"duration_ms\": 600000, \"codec\": \"opus\"}";
  g_autofree char *resp = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *ev = NULL;
  g_autoptr (GError) error = NULL;
  FakeCloudRequest *req;
  cJSON *j;
  char *sid;

  g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, body, strlen (body), &resp), ==, 201);
  j = cJSON_Parse (resp);
  sid = g_strdup (jstr (j, "id"));
  cJSON_Delete (j);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", sid, WAIT_MS);
  g_assert_nonnull (req);
  answer = amgw_browser_answer (b, jstr (req->json, "sdpDetails.value"), &error);
  g_assert_no_error (error);
  ev = details ("ANSWER", answer, NULL);
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, ev, NULL), ==, 200);
  for (;;) {
    guint status;
    cJSON *v = fx_get_call (fx, sid, &status);
    const cJSON *n = jget (v, "alexa_leg.media.rtp.packets_in");
    gboolean up = cJSON_IsNumber (n) && n->valuedouble > 0;
    cJSON_Delete (v);
    if (up)
      break;
    g_usleep (2000);
  }
  *setup_ms = (g_get_monotonic_time () - req->received_us) / 1000.0;
  return sid;
}

static void
end_call (Fx *fx, const char *sid)
{
  g_autofree char *path = g_strdup_printf ("/v1/calls/%s", sid);
  g_autofree char *url = fx_url (fx, path);

  amgw_test_http ("DELETE", url, SECRET, NULL, NULL, 0, NULL);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS));
}

int
main (int argc, char **argv)
{
  FxOptions opt = { .binary = g_getenv ("AMGW_BINARY"),
    .extra = "\n[media]\nrtp-port-min = 20000\nrtp-port-max = 20199\n" };
  g_autoptr (GError) error = NULL;
  double setup[RUNS], sum = 0, min = 1e9, max = 0;
  Fx *fx;
  GPid pid;
  char *sid;

  g_test_init (&argc, &argv, NULL);   /* for g_assert in the helpers */
  fx = fx_start (&opt);
  pid = amgw_test_daemon_pid (fx->d);
  g_print ("amgw pid %d, %u-s samples\n", pid, SAMPLE_S);
  sample ("no call", pid);

  for (guint i = 0; i < RUNS; i++) {
    AmgwBrowser *b = amgw_browser_start (440, &error);
    if (b == NULL) {
      g_printerr ("bench-webrtc: no browser: %s\n", error->message);
      return 77;
    }
    g_assert_true (amgw_browser_open (b, "opus", &error));
    sid = call (fx, b, &setup[i]);
    sum += setup[i];
    min = MIN (min, setup[i]);
    max = MAX (max, setup[i]);
    if (i == RUNS - 1) {
      /* The last call: media both ways, then idle (held: inactive). */
      g_autofree char *offer = NULL;
      g_autofree char *ev = NULL;
      FakeCloudRequest *req;

      sample ("one call, media both ways (Opus)", pid);
      g_assert_true (amgw_browser_set_direction (b, "inactive", &error));
      offer = amgw_browser_offer (b, FALSE, &error);
      ev = details ("OFFER", offer, "CALL_HOLD");
      fake_cloud_reset_requests (fx->fc);
      g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, ev, NULL), ==, 200);
      req = fake_cloud_wait_signal (fx->fc, "CallUpdateResponse", sid, WAIT_MS);
      g_assert_true (amgw_browser_apply_answer (b, jstr (req->json, "sdpDetails.value"), &error));
      g_assert_cmpuint (fx_event (fx, "CallUpdateAck", sid, NULL, NULL), ==, 200);
      sample ("one idle call (on hold, inactive)", pid);
    }
    end_call (fx, sid);
    g_free (sid);
    amgw_browser_free (b);
  }
  g_print ("set-up, InitiateInboundCall to first media packet: mean %.0f ms, min %.0f, max %.0f "
      "(%d calls)\n", sum / RUNS, min, max, RUNS);
  sample ("after the calls", pid);
  g_print ("amgw stopped with status %d\n", amgw_test_daemon_stop (fx->d));
  amgw_test_daemon_free (fx->d);
  fake_cloud_free (fx->fc);
  g_free (fx);
  return 0;
}
