/* Durable state across restarts: kill -9 in the middle of calls, restart,
 * and amgw tells Alexa CallEnded for every session it can no longer serve. */
#include "common.h"

#include <sqlite3.h>

static guint
count_rows (const char *state_dir, const char *table)
{
  g_autofree char *path = g_build_filename (state_dir, "amgw.db", NULL);
  g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM %s", table);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  guint n = G_MAXUINT;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step (st) == SQLITE_ROW)
    n = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return n;
}

static void
test_kill9_then_callended (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *accepted = NULL;
  g_autofree char *ringing = NULL;
  g_autofree char *outbound = NULL;
  const char *state = amgw_test_daemon_state_dir (fx->d);
  FakeCloudRequest *req;
  cJSON *call;
  guint status, refreshes;

  /* Three sessions in different phases. */
  accepted = fx_join_and_accept (fx, "bridge.test");
  {
    g_autofree char *payload = g_strdup (
        "{\"meeting\":{\"id\":\"77\",\"endpoint\":\"noanswer.test\",\"protocol\":\"SIP\",\"provider\":\"x\"}}");
    cJSON *a = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-huddle",
        HUDDLE_TOKEN, payload);
    assert_response (a);
    cJSON_Delete (a);
    req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
    g_assert_nonnull (req);
    ringing = g_strdup (req->session_id);
    g_assert_cmpuint (fx_event (fx, "CallRinging", ringing, NULL, NULL), ==, 200);
  }
  {
    g_autofree char *sdp = sdp_details (TRUE);
    g_autofree char *extra = g_strdup_printf ("{%.*s, \"participants\": ["
        "{\"id\": {\"type\": \"PHONE_NUMBER\", \"value\": \"+15551230000\"}, \"isOriginator\": true},"
        "{\"id\": {\"type\": \"RAW_ADDRESS\", \"value\": \"sip:noanswer@bridge.test\"}, \"isOriginator\": false}]}",
        (int) strlen (sdp) - 2, sdp + 1);
    outbound = g_strdup ("amzn1.comms.session.recovery-outbound");
    g_assert_cmpuint (fx_event (fx, "InitiateOutboundCall", outbound, extra, NULL), ==, 200);
    g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRinging", outbound, WAIT_MS));
  }
  g_assert_cmpuint (count_rows (state, "sessions"), ==, 3);
  refreshes = fake_cloud_refresh_count (fx->fc);

  /* The process dies with no chance to say goodbye. */
  amgw_test_daemon_kill (fx->d);
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallEnded", NULL, 300));

  g_assert_true (amgw_test_daemon_restart (fx->d, NULL));
  /* Alexa is busy for a moment: the recovery retries. */
  fake_cloud_push_response_for (fx->fc, "CallEnded", 503, "0", NULL);
  for (guint i = 0; i < 3; i++) {
    const char *sid = i == 0 ? accepted : i == 1 ? ringing : outbound;
    req = fx_wait_accepted (fx, "CallEnded", sid);
    g_assert_nonnull (req);
    g_assert_null (req->validation_error);
    g_assert_cmpstr (jstr (req->json, "callResult.code"), ==, "INTERNAL_ERROR");
    g_assert_nonnull (strstr (jstr (req->json, "callResult.message"), "restarted"));
  }
  /* The stored token was still good: no new refresh was needed. */
  g_assert_cmpuint (fake_cloud_refresh_count (fx->fc), ==, refreshes);

  /* The ghosts became call records. */
  g_assert_true (wait_log (fx, "recovered", WAIT_MS));
  for (guint tries = 0; tries < 100 && count_rows (state, "sessions") != 0; tries++)
    g_usleep (50000);
  g_assert_cmpuint (count_rows (state, "sessions"), ==, 0);
  call = fx_get_call (fx, accepted, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (jstr (call, "state"), ==, "ended");
  g_assert_cmpstr (jstr (call, "outcome"), ==, "INTERNAL_ERROR");
  g_assert_nonnull (jstr (call, "answered"));
  cJSON_Delete (call);

  /* And a third start has nothing left to end. */
  amgw_test_daemon_kill (fx->d);
  fake_cloud_reset_requests (fx->fc);
  g_assert_true (amgw_test_daemon_restart (fx->d, NULL));
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallEnded", NULL, 500));
  fx_free (fx);
}

/* SIGTERM ends calls cleanly: CallEnded to Alexa, bridge hung up, exit 0. */
static void
test_sigterm_ends_calls (void)
{
  Fx *fx = fx_start (NULL);
  g_autofree char *sid = fx_join_and_accept (fx, "bridge.test");
  FakeCloudRequest *req;

  g_assert_cmpint (amgw_test_daemon_stop (fx->d), ==, 0);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_true (log_contains (fx, "testleg bridge: hangup"));
  g_assert_cmpuint (count_rows (amgw_test_daemon_state_dir (fx->d), "sessions"), ==, 0);
  g_assert_cmpuint (count_rows (amgw_test_daemon_state_dir (fx->d), "call_records"), ==, 1);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/recovery/kill9-then-callended", test_kill9_then_callended);
  g_test_add_func ("/recovery/sigterm-ends-calls", test_sigterm_ends_calls);
  return g_test_run ();
}
