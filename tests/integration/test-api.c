/* The public contract outside the Alexa routes: the command line, health,
 * readiness, metrics and the operators' calls view. */
#include "common.h"

static int
run (const char *const *argv, char **out, char **err)
{
  g_autoptr (GError) error = NULL;
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err,
      &status, &error));
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

static void
test_command_line (void)
{
  const char *amgw = g_getenv ("AMGW_BINARY");
  g_autofree char *dir = g_dir_make_tmp ("amgw-cli-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (dir, "good.conf", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.conf", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_true (g_file_set_contents (good,
      "[gateway]\nlisten = 127.0.0.1:0\nforwarding-secret = 0123456789abcdef\n"
      "[room a]\nendpoint-id = room-a\ntoken = secret-room-token\nalexa-address = amzn1.x\n", -1, NULL));
  g_assert_true (g_file_set_contents (bad,
      "[gateway]\n"
      "listen = 127.0.0.1:99999\n"             /* line 2 */
      "forwarding-secret = short-secret\n"     /* line 3: too short, value never echoed */
      "colour = blue\n"                        /* line 4: unknown key */
      "[alexa]\n"
      "api-url = http://api.example.com\n"     /* line 6: http to a non-loopback host */
      "[room a]\n"
      "token = t\n", -1, NULL));               /* room without endpoint-id, alexa-address */

  {
    const char *argv[] = { amgw, "--version", NULL };
    g_assert_cmpint (run (argv, &out, &err), ==, 0);
    g_assert_true (g_str_has_prefix (out, "amgw "));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *argv[] = { amgw, "--check-config", good, NULL };
    g_assert_cmpint (run (argv, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "OK"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *argv[] = { amgw, "--check-config", bad, NULL };
    g_autofree char *l2 = g_strdup_printf ("%s:2:", bad);
    g_autofree char *l3 = g_strdup_printf ("%s:3:", bad);
    g_autofree char *l4 = g_strdup_printf ("%s:4:", bad);
    g_autofree char *l6 = g_strdup_printf ("%s:6:", bad);

    g_assert_cmpint (run (argv, &out, &err), !=, 0);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, l2));
    g_assert_nonnull (strstr (err, "listen"));
    g_assert_nonnull (strstr (err, l3));
    g_assert_nonnull (strstr (err, "forwarding-secret"));
    g_assert_null (strstr (err, "short-secret"));
    g_assert_nonnull (strstr (err, l4));
    g_assert_nonnull (strstr (err, "colour"));
    g_assert_nonnull (strstr (err, l6));
    g_assert_nonnull (strstr (err, "endpoint-id"));
    g_assert_nonnull (strstr (err, "alexa-address"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    /* Running on a broken file fails the same way, before listening. */
    const char *argv[] = { amgw, "--config", bad, NULL };
    g_assert_cmpint (run (argv, &out, &err), !=, 0);
    g_assert_nonnull (strstr (err, "listen"));
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  {
    const char *argv[] = { amgw, "--no-such-option", NULL };
    g_assert_cmpint (run (argv, &out, &err), !=, 0);
  }
  g_unlink (good);
  g_unlink (bad);
  g_rmdir (dir);
}

static void
test_health_ready_metrics (void)
{
  FxOptions opt = { .max_calls = 1 };
  Fx *fx = fx_start (&opt);
  g_autofree char *healthz = fx_url (fx, "/healthz");
  g_autofree char *readyz = fx_url (fx, "/readyz");
  g_autofree char *metrics = fx_url (fx, "/metrics");
  g_autofree char *calls = fx_url (fx, "/v1/calls");
  g_autofree char *body = NULL;
  g_autofree char *sid = NULL;
  cJSON *j;

  g_assert_cmpuint (amgw_test_http ("GET", healthz, NULL, NULL, NULL, 0, NULL), ==, 200);
  g_assert_cmpuint (amgw_test_http ("GET", readyz, NULL, NULL, NULL, 0, &body), ==, 200);
  g_clear_pointer (&body, g_free);

  /* At max-calls (1): not ready (429), and the calls view lists the call. */
  sid = fx_join (fx, "noanswer.bridge.test");
  g_assert_cmpuint (amgw_test_http ("GET", readyz, NULL, NULL, NULL, 0, &body), ==, 429);
  g_clear_pointer (&body, g_free);
  g_assert_cmpuint (amgw_test_http ("GET", calls, SECRET, NULL, NULL, 0, &body), ==, 200);
  j = cJSON_Parse (body);
  g_assert_cmpint (cJSON_GetArraySize (jget (j, "calls")), ==, 1);
  g_assert_cmpstr (jstr (cJSON_GetArrayItem (jget (j, "calls"), 0), "id"), ==, sid);
  cJSON_Delete (j);
  g_clear_pointer (&body, g_free);

  /* JoinMeeting is answered before InitiateInboundCall has come back from the
   * cloud: wait for it (generously: the daemon may run under valgrind). */
  for (gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;;) {
    g_clear_pointer (&body, g_free);
    g_assert_cmpuint (amgw_test_http ("GET", metrics, NULL, NULL, NULL, 0, &body), ==, 200);
    if (strstr (body, "amgw_alexa_requests_total{operation=\"InitiateInboundCall\",status=\"200\"} 1")
        || g_get_monotonic_time () > end)
      break;
    g_usleep (50 * 1000);
  }
  g_assert_nonnull (strstr (body, "# TYPE amgw_calls gauge"));
  g_assert_nonnull (strstr (body, "amgw_calls{state=\"offered\"} 1"));
  g_assert_nonnull (strstr (body, "amgw_alexa_requests_total{operation=\"InitiateInboundCall\",status=\"200\"} 1"));
  g_assert_nonnull (strstr (body, "amgw_lwa_refreshes_total{outcome=\"ok\"} 1"));
  g_assert_nonnull (strstr (body, "amgw_directives_total{name=\"JoinMeeting\",outcome=\"ok\"} 1"));
  g_clear_pointer (&body, g_free);

  /* The operator hangs up: CallEnded SUCCESS to Alexa, ready again. */
  {
    g_autofree char *path = g_strdup_printf ("/v1/calls/%s", sid);
    g_autofree char *url = fx_url (fx, path);
    FakeCloudRequest *req;

    g_assert_cmpuint (amgw_test_http ("DELETE", url, SECRET, NULL, NULL, 0, NULL), ==, 200);
    req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
    g_assert_nonnull (req);
    g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "SUCCESS");
    g_assert_cmpuint (amgw_test_http ("DELETE", url, SECRET, NULL, NULL, 0, NULL), ==, 404);
    g_assert_cmpuint (amgw_test_http ("GET", url, SECRET, NULL, NULL, 0, &body), ==, 200);
    g_assert_nonnull (strstr (body, "ended by an operator"));
  }
  g_assert_cmpuint (amgw_test_http ("GET", readyz, NULL, NULL, NULL, 0, NULL), ==, 200);
  /* The installer's test call needs a leg that can run the audio check
   * (the scripted test leg cannot): a clear 503; bad parameters: 400. */
  {
    g_autofree char *url = fx_url (fx, "/v1/rooms/boardroom/test-call");
    g_autofree char *url404 = fx_url (fx, "/v1/rooms/nowhere/test-call");
    g_autofree char *resp = NULL;
    g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, "{}", 2, &resp), ==, 503);
    g_assert_nonnull (strstr (resp, "audio check"));
    g_assert_cmpuint (amgw_test_http ("POST", url, SECRET, NULL, "{\"tone_hz\": 5}", 14, NULL), ==, 400);
    g_assert_cmpuint (amgw_test_http ("POST", url404, SECRET, NULL, "{}", 2, NULL), ==, 404);
  }
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/api/command-line", test_command_line);
  g_test_add_func ("/api/health-ready-metrics", test_health_ready_metrics);
  return g_test_run ();
}
