/* Operations: SIGTERM drains (no new meetings, active ones may finish within
 * [gateway] drain-timeout), /readyz's answers, and the /metrics families
 * operators chart (set-up time histogram, Alexa latency histogram).  The
 * real daemon with scripted legs (amgw-testd) against the fake Alexa cloud. */
#include "common.h"

#include <signal.h>
#include <sys/resource.h>

#define EXIT_WAIT_MS 20000

static guint
readyz (Fx *fx, char **body)
{
  g_autofree char *url = fx_url (fx, "/readyz");

  return amgw_test_http ("GET", url, NULL, NULL, NULL, 0, body);
}

static gboolean
readyz_is (gpointer data)
{
  Fx *fx = data;
  g_autofree char *body = NULL;

  return readyz (fx, &body) == 503 && body && strstr (body, "\"draining\"") != NULL;
}

static gboolean
daemon_gone (gpointer data)
{
  return !amgw_test_daemon_is_running (((Fx *) data)->d);
}

static void
sigterm (Fx *fx)
{
  g_assert_cmpint (kill (amgw_test_daemon_pid (fx->d), SIGTERM), ==, 0);
}

/* After the daemon left by itself: its exit status (0 expected). */
static int
exit_status (Fx *fx)
{
  g_assert_true (amgw_test_wait_until (daemon_gone, fx, EXIT_WAIT_MS));
  return amgw_test_daemon_stop (fx->d);
}

static void
test_drain_lets_calls_finish (void)
{
  FxOptions opt = { .drain_timeout_s = 120 };
  Fx *fx = fx_start (&opt);
  g_autofree char *sid = fx_join_and_accept (fx, "bridge.example");
  cJSON *answer;

  sigterm (fx);
  g_assert_true (amgw_test_wait_until (readyz_is, fx, WAIT_MS));
  /* No new meeting while draining. */
  answer = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-huddle",
      HUDDLE_TOKEN, "{\"meeting\": {\"id\": \"1234567\", \"pin\": \"7654321\","
      " \"endpoint\": \"bridge.example\", \"protocol\": \"SIP\", \"provider\": \"chime\"}}");
  assert_error_response (answer, "ENDPOINT_BUSY");
  cJSON_Delete (answer);
  /* The active call goes on... */
  amgw_test_spin_ms (1500);
  g_assert_true (amgw_test_daemon_is_running (fx->d));
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallEnded", sid, 10));
  /* ...until it ends; then the daemon stops by itself. */
  g_assert_cmpuint (fx_event (fx, "CallEnded", sid,
      "{\"callResult\": {\"code\": \"SUCCESS\"}}", NULL), ==, 200);
  g_assert_cmpint (exit_status (fx), ==, 0);
  g_assert_true (log_contains (fx, "drained: no call left"));
  fx_free (fx);
}

static void
test_drain_timeout_ends_calls (void)
{
  FxOptions opt = { .drain_timeout_s = 1 };
  Fx *fx = fx_start (&opt);
  g_autofree char *sid = fx_join_and_accept (fx, "bridge.example");
  FakeCloudRequest *ended;

  sigterm (fx);
  ended = fx_wait_accepted (fx, "CallEnded", sid);
  g_assert_nonnull (ended);
  g_assert_cmpint (exit_status (fx), ==, 0);
  g_assert_true (log_contains (fx, "drain-timeout is over with 1 call(s) still active"));
  fx_free (fx);
}

static void
test_second_sigterm_stops (void)
{
  FxOptions opt = { .drain_timeout_s = 3600 };
  Fx *fx = fx_start (&opt);
  g_autofree char *sid = fx_join_and_accept (fx, "bridge.example");

  sigterm (fx);
  g_assert_true (amgw_test_wait_until (readyz_is, fx, WAIT_MS));
  sigterm (fx);
  g_assert_nonnull (fx_wait_accepted (fx, "CallEnded", sid));
  g_assert_cmpint (exit_status (fx), ==, 0);
  fx_free (fx);
}

static void
test_readyz_full_and_metrics (void)
{
  FxOptions opt = { .max_calls = 1 };
  Fx *fx = fx_start (&opt);
  g_autofree char *sid = NULL;
  g_autofree char *body = NULL;
  g_autofree char *metrics = NULL;
  g_autofree char *url = fx_url (fx, "/metrics");
  cJSON *j;

  g_assert_cmpuint (readyz (fx, &body), ==, 200);
  j = cJSON_Parse (body);
  g_assert_cmpstr (jstr (j, "status"), ==, "ready");
  g_assert_true (cJSON_IsNumber (cJSON_GetObjectItem (j, "cpu_percent")));
  cJSON_Delete (j);
  g_clear_pointer (&body, g_free);

  sid = fx_join_and_accept (fx, "bridge.example");
  g_assert_cmpuint (readyz (fx, &body), ==, 429);
  g_assert_nonnull (strstr (body, "\"full\""));

  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, &metrics), ==, 200);
  g_assert_nonnull (strstr (metrics, "# TYPE amgw_call_setup_seconds histogram"));
  g_assert_nonnull (strstr (metrics,
      "amgw_call_setup_seconds_bucket{direction=\"to-alexa\",le=\"+Inf\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "amgw_call_setup_seconds_count{direction=\"to-alexa\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "# TYPE amgw_alexa_request_seconds histogram"));
  g_assert_nonnull (strstr (metrics,
      "amgw_alexa_request_seconds_count{operation=\"InitiateInboundCall\",status=\"200\"} 1\n"));
  g_assert_nonnull (strstr (metrics, "amgw_rtp_packets_total{leg=\"alexa\",direction=\"in\"}"));
  /* Never a secret or a party's address in a label. */
  g_assert_null (strstr (metrics, SECRET));
  g_assert_null (strstr (metrics, BOARDROOM_TOKEN));
  g_assert_null (strstr (metrics, "amzn1.comms.id.person.boardroom"));
  g_assert_null (strstr (metrics, "7654321"));
  fx_free (fx);
}

/* The soft "Max open files" of a running process, from /proc. */
static guint64
proc_open_file_soft_limit (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/limits", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  line = strstr (text, "Max open files");
  g_assert_nonnull (line);
  line += strlen ("Max open files");
  return g_ascii_strtoull (line, NULL, 10);
}

/* A process started with a low soft open-file limit (1024 is common) would
 * run out of descriptors long before max-calls: amgw takes the hard limit,
 * and warns when even that is short of what max-calls needs. */
static void
test_open_file_limit (void)
{
  struct rlimit saved, low;
  Fx *fx;
  gboolean wrapped = g_getenv ("AMGW_TEST_DAEMON_WRAPPER") != NULL &&
      *g_getenv ("AMGW_TEST_DAEMON_WRAPPER") != '\0';
  FxOptions opt = { .max_calls = 100000 };

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 1024) {
    g_test_skip ("the hard open-file limit here is below 1024");
    return;
  }
  low = saved;
  low.rlim_cur = 200;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  fx = fx_start (&opt);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);

  /* valgrind gives its guest a hard limit equal to the soft one it was
   * started with, so there is nothing to raise under it. */
  if (!wrapped) {
    g_assert_true (wait_log (fx, "open-file limit raised from 200 to the hard limit", WAIT_MS));
    g_assert_cmpuint (proc_open_file_soft_limit (amgw_test_daemon_pid (fx->d)), ==,
        saved.rlim_max == RLIM_INFINITY ? G_MAXUINT64 : (guint64) saved.rlim_max);
  }
  /* 100000 calls need about 1.6 million descriptors, more than Linux lets
   * a process have unless fs.nr_open was raised. */
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 256 + 100000 * 16)
    g_assert_true (wait_log (fx, "below the 1600256 that max-calls = 100000 needs", WAIT_MS));
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/operations/drain/lets-calls-finish", test_drain_lets_calls_finish);
  g_test_add_func ("/operations/drain/timeout-ends-calls", test_drain_timeout_ends_calls);
  g_test_add_func ("/operations/drain/second-sigterm-stops", test_second_sigterm_stops);
  g_test_add_func ("/operations/readyz-full-and-metrics", test_readyz_full_and_metrics);
  g_test_add_func ("/operations/open-file-limit", test_open_file_limit);
  return g_test_run ();
}
