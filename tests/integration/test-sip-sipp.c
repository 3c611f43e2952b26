/* Integration test of the SIP bridge leg (signaling/sip-leg.c) against SIPp
 * (Debian package sip-tester) acting as the meeting bridge on 127.0.0.1.
 *
 * amgw-testd runs with AMGW_TESTD_REAL_SIP=1: the real SIP leg dials, the
 * Alexa leg stays scripted and the fake Alexa cloud records CallSignaling.
 * Each SIPp scenario (tests/integration/sipp/NAME.xml) plays one bridge
 * behaviour; SIPp's message trace shows what amgw sent. */
#include "common.h"
#include "sip-common.h"

#include <gio/gio.h>
#include <stdlib.h>

#define SIP_USER "amgw-test"
#define SIP_PASSWORD "test-sip-password"
#define MEETING_ID "1234567"
#define MEETING_PIN "7654321"

typedef struct {
  GSubprocess *proc;
  char *dir;
  char *trace;
  guint16 port;
} Sipp;

static gboolean have_sipp;
static gboolean have_sip_leg;
static const char *skip_reason;



/* SIPp on @port (0: a free one); @keys: NULL or "name", "value", ...,
 * NULL for SIPp's -key (the scenario's [name]). */
static Sipp *
sipp_start_full (const char *scenario, const char *transport, guint16 port_number,
    const char *const *keys)
{
  Sipp *s = g_new0 (Sipp, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *xml = g_test_build_filename (G_TEST_DIST, "integration", "sipp", scenario,
      NULL);
  g_autofree char *port = NULL, *mport = NULL, *errors = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();

  s->dir = g_dir_make_tmp ("amgw-sipp-XXXXXX", &error);
  g_assert_no_error (error);
  s->trace = g_build_filename (s->dir, "messages.log", NULL);
  errors = g_build_filename (s->dir, "errors.log", NULL);
  s->port = port_number ? port_number : free_port ();
  port = g_strdup_printf ("%u", s->port);
  mport = g_strdup_printf ("%u", free_port ());
  {
    const char *const base[] = { "sipp", "-sf", xml, "-i", "127.0.0.1", "-p", port, "-mi",
      "127.0.0.1", "-mp", mport, "-t", transport, "-m", "1", "-nostdin", "-timeout", "40",
      "-timeout_error", "-trace_msg", "-message_file", s->trace, "-trace_err", "-error_file",
      errors };
    for (guint i = 0; i < G_N_ELEMENTS (base); i++)
      g_ptr_array_add (argv, (gpointer) base[i]);
  }
  for (guint i = 0; keys && keys[i] && keys[i + 1]; i += 2) {
    g_ptr_array_add (argv, (gpointer) "-key");
    g_ptr_array_add (argv, (gpointer) keys[i]);
    g_ptr_array_add (argv, (gpointer) keys[i + 1]);
  }
  g_ptr_array_add (argv, NULL);
  s->proc = g_subprocess_newv ((const char *const *) argv->pdata,
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
  g_assert_no_error (error);
  /* Until SIPp listens. */
  g_usleep (400 * 1000);
  return s;
}

static Sipp *
sipp_start (const char *scenario, const char *transport)
{
  return sipp_start_full (scenario, transport, 0, NULL);
}

/* Waits for SIPp to finish its one call; returns its exit status. */
static int
sipp_wait (Sipp *s, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (g_subprocess_get_identifier (s->proc) != NULL && g_get_monotonic_time () < end)
    g_usleep (20 * 1000);
  if (g_subprocess_get_identifier (s->proc) != NULL) {
    g_subprocess_force_exit (s->proc);
    g_subprocess_wait (s->proc, NULL, NULL);
    return -1;
  }
  if (!g_subprocess_get_if_exited (s->proc)) {
    g_test_message ("SIPp was killed by signal %d", g_subprocess_get_term_sig (s->proc));
    return -2;
  }
  return g_subprocess_get_exit_status (s->proc);
}

static char *
sipp_trace (Sipp *s)
{
  char *text = NULL;

  if (!g_file_get_contents (s->trace, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

static void
sipp_free (Sipp *s)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (g_subprocess_get_identifier (s->proc) != NULL) {
    g_subprocess_force_exit (s->proc);
    g_subprocess_wait (s->proc, NULL, NULL);
  }
  if (g_test_failed ()) {
    g_autofree char *trace = sipp_trace (s);
    g_autofree char *errors_path = g_build_filename (s->dir, "errors.log", NULL);
    g_autofree char *errors = NULL;
    g_printerr ("---- SIPp messages ----\n%s\n-----------------------\n", trace);
    if (g_file_get_contents (errors_path, &errors, NULL, NULL))
      g_printerr ("---- SIPp errors ----\n%s\n---------------------\n", errors);
  }
  dir = g_dir_open (s->dir, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (s->dir, name, NULL);
    g_remove (path);
  }
  g_rmdir (s->dir);
  g_object_unref (s->proc);
  g_free (s->trace);
  g_free (s->dir);
  g_free (s);
}

typedef struct {
  guint inactivity_ms;
  guint invite_timeout_ms;
  const char *dtmf;
  const char *sip_extra;       /* more [sip] lines */
} SipOptions;

static guint16 amgw_sip_port;

static Fx *
fx_start_sip (const SipOptions *o)
{
  g_autofree char *extra = NULL;
  FxOptions opt = { 0, };
  guint16 rtp = free_port ();

  amgw_sip_port = free_port ();
  extra = g_strdup_printf ("\n[sip]\nlisten = 127.0.0.1:%u\nuser = " SIP_USER "\n"
      "password = " SIP_PASSWORD "\ndtmf-pause = 200\ndtmf = %s\n"
      "inactivity-timeout = %u\ninvite-timeout = %u\n%s"
      "\n[media]\nrtp-port-min = %u\nrtp-port-max = %u\n",
      amgw_sip_port, o && o->dtmf ? o->dtmf : "rfc4733",
      o && o->inactivity_ms ? o->inactivity_ms : 30000,
      o && o->invite_timeout_ms ? o->invite_timeout_ms : 20000,
      o && o->sip_extra ? o->sip_extra : "", rtp, rtp + 100);
  opt.extra = extra;
  g_setenv ("AMGW_TESTD_REAL_SIP", "1", TRUE);
  return fx_start (&opt);
}

static char *
join_payload (const char *endpoint, const char *protocol)
{
  return g_strdup_printf ("{\"meeting\": {\"id\": \"" MEETING_ID "\", \"pin\": \"" MEETING_PIN
      "\", \"endpoint\": \"%s\", \"protocol\": \"%s\", \"provider\": \"chime\"}}", endpoint,
      protocol);
}

/* JoinMeeting toward SIPp; returns the sessionId of InitiateInboundCall. */
static char *
join_sipp (Fx *fx, Sipp *s, gboolean accept)
{
  g_autofree char *endpoint = g_strdup_printf ("127.0.0.1:%u", s->port);
  g_autofree char *payload = join_payload (endpoint, "SIP");
  g_autofree char *answer_sdp = sdp_details (FALSE);
  cJSON *answer = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting",
      "room-boardroom", BOARDROOM_TOKEN, payload);
  FakeCloudRequest *req;
  char *sid;

  assert_response (answer);
  cJSON_Delete (answer);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  g_assert_nonnull (req);
  if (req == NULL)
    return g_strdup ("none");
  sid = g_strdup (req->session_id);
  if (accept) {
    g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
    g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid, WAIT_MS));
    g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, answer_sdp, NULL), ==, 200);
    g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));
  }
  return sid;
}

static void
end_meeting (Fx *fx)
{
  cJSON *answer = fx_directive (fx, "Alexa.MeetingClientController", "EndMeeting",
      "room-boardroom", BOARDROOM_TOKEN, "{}");

  if (g_strcmp0 (jstr (answer, "event.header.name"), "Response") != 0)
    g_test_fail_printf ("EndMeeting: %s", jstr (answer, "event.payload.message"));
  else
    assert_response (answer);
  cJSON_Delete (answer);
}

static const char *
call_ended_code (Fx *fx, const char *sid, guint timeout_ms)
{
  FakeCloudRequest *req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, timeout_ms);

  if (req == NULL)
    return NULL;
  return jstr (req->json, "callResult.code");
}

/* The first message amgw sent: the INVITE and its SDP offer. */
static void
assert_invite (const char *trace, guint16 port)
{
  g_autofree char *ruri = g_strdup_printf ("INVITE sip:" MEETING_ID "@127.0.0.1:%u SIP/2.0",
      port);

  if (strstr (trace, ruri) == NULL)
    g_error ("no \"%s\" in SIPp's trace", ruri);
  g_assert_nonnull (strstr (trace, "Content-Type: application/sdp"));
  g_assert_nonnull (strstr (trace, "m=audio "));
  g_assert_nonnull (strstr (trace, " RTP/AVP "));
  g_assert_nonnull (strstr (trace, "PCMU/8000"));
  g_assert_nonnull (strstr (trace, "telephone-event/8000"));
  g_assert_nonnull (strstr (trace, "From: <sip:" SIP_USER "@127.0.0.1>"));
  /* The pin goes as DTMF, never in the URI (template {id}). */
  g_assert_null (strstr (trace, "INVITE sip:" MEETING_PIN));
}

static void
skip_without_sipp (void)
{
  if (skip_reason != NULL)
    g_test_skip (skip_reason);
}

static void
test_answer (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *trace = NULL;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start ("answer.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  g_assert_true (wait_log (fx, "the bridge answered", WAIT_MS));
  /* The pin follows as RFC 4733 events after dtmf-pause. */
  g_assert_true (wait_log (fx, "entering the meeting: 8 DTMF digit(s) as rfc4733", WAIT_MS));
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  assert_invite (trace, s->port);
  g_assert_nonnull (strstr (trace, "Supported: ") );
  g_assert_nonnull (strstr (trace, "timer"));
  g_assert_nonnull (strstr (trace, "BYE sip:"));
  g_assert_false (log_contains (fx, MEETING_PIN));
  g_assert_false (log_contains (fx, SIP_PASSWORD));
  sipp_free (s);
  fx_free (fx);
}

static void
test_fail_code (const char *scenario, const char *code, gboolean accept, const char *reason)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *trace = NULL;
  FakeCloudRequest *req;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start (scenario, "u1");
  sid = join_sipp (fx, s, accept);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "callResult.code") : NULL, ==, code);
  if (req && reason && !strstr (jstr (req->json, "callResult.message"), reason))
    g_error ("CallEnded message \"%s\" lacks \"%s\"", jstr (req->json, "callResult.message"),
        reason);
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  assert_invite (trace, s->port);
  sipp_free (s);
  fx_free (fx);
}

static void
test_busy (void)
{
  test_fail_code ("busy.xml", "DEVICE_BUSY", FALSE, "486 Busy Here");
}

static void
test_unavailable (void)
{
  test_fail_code ("unavailable.xml", "INTERNAL_ERROR", FALSE, "503");
}

static void
test_bye_from_bridge (void)
{
  test_fail_code ("bye.xml", "SUCCESS", TRUE, "BYE");
}

static void
test_cancel (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *trace = NULL;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start ("cancel.xml", "u1");
  sid = join_sipp (fx, s, FALSE);
  g_assert_true (wait_log (fx, "the bridge rings", WAIT_MS));
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  assert_invite (trace, s->port);
  g_assert_nonnull (strstr (trace, "CANCEL sip:" MEETING_ID "@127.0.0.1"));
  sipp_free (s);
  fx_free (fx);
}

static void
test_digest (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *trace = NULL;
  g_autofree char *uri = NULL;
  const char *auth;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start ("auth.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  g_assert_true (wait_log (fx, "the bridge answered", WAIT_MS));
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  assert_invite (trace, s->port);
  auth = strstr (trace, "Authorization: Digest ");
  g_assert_nonnull (auth);
  uri = g_strdup_printf ("uri=\"sip:" MEETING_ID "@127.0.0.1:%u\"", s->port);
  {
    g_autofree char *line = g_strndup (auth, strcspn (auth, "\r\n"));
    g_assert_nonnull (strstr (line, "username=\"" SIP_USER "\""));
    g_assert_nonnull (strstr (line, "realm=\"bridge.test\""));
    g_assert_nonnull (strstr (line, "nonce=\"6f1b2c3d4e5f60718293a4b5c6d7e8f9\""));
    g_assert_nonnull (strstr (line, uri));
    g_assert_nonnull (strstr (line, "response=\""));
    g_assert_null (strstr (line, SIP_PASSWORD));
  }
  g_assert_false (log_contains (fx, SIP_PASSWORD));
  sipp_free (s);
  fx_free (fx);
}

static void
test_hold_from_bridge (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *trace = NULL;
  FakeCloudRequest *req;
  const char *reinvite_answer;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start ("hold.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  req = fx_wait_accepted (fx, "CallUpdate", sid);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "renegotiationType") : NULL, ==, "CALL_HOLD");
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  /* amgw's 200 to the re-INVITE (the second 200 in the trace with SDP). */
  reinvite_answer = strstr (trace, "a=sendonly");
  g_assert_nonnull (reinvite_answer);
  g_assert_nonnull (strstr (reinvite_answer, "a=recvonly"));
  sipp_free (s);
  fx_free (fx);
}

/* A re-INVITE from the bridge that changes the codec (PCMU -> PCMA): amgw
 * answers PCMA and sends it from then on; the call goes on. */
static gboolean
bridge_codec_is_pcma (gpointer data)
{
  gpointer *args = data;
  guint status = 0;
  cJSON *view = fx_get_call (args[0], args[1], &status);
  gboolean pcma = g_strcmp0 (jstr (view, "bridge_leg.media.codec"), "PCMA") == 0;

  cJSON_Delete (view);
  return pcma;
}

static void
test_codec_change (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL;
  gpointer args[2];

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start ("codec-change.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  args[0] = fx;
  args[1] = sid;
  g_assert_true (amgw_test_wait_until (bridge_codec_is_pcma, args, WAIT_MS));
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  /* SIPp checked amgw's answer to the re-INVITE (m= RTP/AVP 8). */
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  sipp_free (s);
  fx_free (fx);
}

static void
test_vanish (void)
{
  Fx *fx;
  Sipp *s;
  SipOptions o = { .inactivity_ms = 3000 };
  g_autofree char *sid = NULL;
  FakeCloudRequest *req;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (&o);
  s = sipp_start ("vanish.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, 15000);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "callResult.code") : NULL, ==, "SESSION_TIMEOUT");
  /* ... and the bridge got a BYE. */
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  sipp_free (s);
  fx_free (fx);
}

static void
test_unreachable (gconstpointer data)
{
  const char *transport = data;
  SipOptions o = { .invite_timeout_ms = 3000 };
  Fx *fx;

  if (!have_sip_leg) {
    g_test_skip ("amgw-testd has no SIP leg");
    return;
  }
  fx = fx_start_sip (&o);
  guint16 closed = free_port ();
  g_autofree char *endpoint = g_strdup_printf ("127.0.0.1:%u%s", closed,
      g_strcmp0 (transport, "tcp") == 0 ? ";transport=tcp" : "");
  g_autofree char *payload = join_payload (endpoint, "SIP");
  cJSON *answer;
  gint64 start;

  answer = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting",
      "room-boardroom", BOARDROOM_TOKEN, payload);
  start = g_get_monotonic_time ();

  if (g_strcmp0 (jstr (answer, "event.header.name"), "ErrorResponse") == 0) {
    assert_error_response (answer, "ENDPOINT_UNREACHABLE");
  } else {
    FakeCloudRequest *req;
    assert_response (answer);
    req = fake_cloud_wait_signal (fx->fc, "CallEnded", NULL, 15000);
    if (req == NULL) {
      /* The bridge failed before amgw called the Alexa device: there is
       * nobody to tell, and the call is over. */
      g_assert_null (fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, 0));
      g_assert_true (log_contains (fx, "call ends: "));
      goto out;
    }
    g_assert_cmpstr (jstr (req->json, "callResult.code"), !=, "SUCCESS");
    g_test_message ("%s: CallEnded %s after %" G_GINT64_FORMAT " ms: %s", transport,
        jstr (req->json, "callResult.code"), (g_get_monotonic_time () - start) / 1000,
        jstr (req->json, "callResult.message"));
    if (g_strcmp0 (transport, "tcp") == 0)
      g_assert_cmpint (g_get_monotonic_time () - start, <, 2500 * 1000);
  }
out:
  cJSON_Delete (answer);
  fx_free (fx);
}

static void
test_malformed (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *url = NULL;
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) dest = NULL;
  static const char *const junk[] = {
    "\x00\x01\x02garbage\xff\xfe",
    "INVITE\r\n\r\n",
    "INVITE sip:x@127.0.0.1 SIP/2.0\r\nVia: nonsense\r\nContent-Length: 99999\r\n\r\nv=0",
    "INVITE sip:1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\n"
    "From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: broken\r\nCSeq: notanumber INVITE\r\n"
    "Content-Length: 0\r\n\r\n",
    "SIP/2.0 200 OK\r\n\r\n",
    "OPTIONS sip:amgw@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKy\r\n"
    "From: <sip:a@b>;tag=2\r\nTo: <sip:amgw@127.0.0.1>\r\nCall-ID: ok-options\r\n"
    "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
  };

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  dest = g_inet_socket_address_new (lo, amgw_sip_port);
  for (guint round = 0; round < 20; round++) {
    for (guint i = 0; i < G_N_ELEMENTS (junk); i++) {
      gsize len = i == 0 ? 14 : strlen (junk[i]);
      g_socket_send_to (sock, dest, junk[i], len, NULL, NULL);
    }
  }
  g_usleep (300 * 1000);
  url = fx_url (fx, "/healthz");
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, NULL), ==, 200);

  s = sipp_start ("answer.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  g_assert_true (wait_log (fx, "the bridge answered", WAIT_MS));
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  sipp_free (s);
  fx_free (fx);
}

static guint
log_count (Fx *fx, const char *needle)
{
  g_autofree char *log = amgw_test_daemon_log (fx->d);
  guint n = 0;

  for (const char *p = log; p && (p = strstr (p, needle)) != NULL; p += strlen (needle))
    n++;
  return n;
}

static gboolean
wait_log_count (Fx *fx, const char *needle, guint count, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (log_count (fx, needle) < count && g_get_monotonic_time () < end)
    g_usleep (20 * 1000);
  return log_count (fx, needle) >= count;
}

/* The first message in SIPp's trace @trace that starts with @start, up to the next entry. */
static char *
trace_message (const char *trace, const char *start)
{
  const char *m = strstr (trace, start);
  const char *end;

  if (m == NULL)
    return NULL;
  end = strstr (m, "\n\n---");
  if (end == NULL)
    end = m + strlen (m);
  return g_strndup (m, end - m);
}

/* Alexa holds and resumes (CallUpdate): amgw re-INVITEs the bridge with
 * a=sendonly, then a=sendrecv; SIPp's scenario checks each offer. */
static void
test_hold_from_alexa (void)
{
  Fx *fx;
  Sipp *s;
  g_autofree char *sid = NULL, *trace = NULL, *offer = sdp_details (TRUE);
  g_autofree char *hold = g_strdup_printf ("{\"renegotiationType\": \"CALL_HOLD\", %s", offer + 1);
  g_autofree char *resume = g_strdup_printf ("{\"renegotiationType\": \"CALL_RESUME\", %s",
      offer + 1);
  FakeCloudRequest *req;
  const char *hold_invite, *resume_invite;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (NULL);
  s = sipp_start ("hold-from-alexa.xml", "u1");
  sid = join_sipp (fx, s, TRUE);
  g_assert_true (wait_log (fx, "the bridge answered", WAIT_MS));
  g_assert_true (wait_log_count (fx, "<- 200 OK", 1, WAIT_MS));

  g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, hold, NULL), ==, 200);
  req = fx_wait_accepted (fx, "CallUpdateResponse", sid);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "renegotiationType") : NULL, ==, "CALL_HOLD");
  g_assert_cmpstr (req ? jstr (req->json, "sdpDetails.type") : NULL, ==, "ANSWER");
  g_assert_cmpuint (fx_event (fx, "CallUpdateAck", sid, NULL, NULL), ==, 200);
  g_assert_true (wait_log (fx, "-> re-INVITE (sendonly)", WAIT_MS));
  /* The bridge's 200 (a=recvonly) to the hold, before the resume. */
  g_assert_true (wait_log_count (fx, "<- 200 OK", 2, WAIT_MS));

  g_assert_cmpuint (fx_event (fx, "CallUpdate", sid, resume, NULL), ==, 200);
  req = fx_wait_accepted (fx, "CallUpdateResponse", sid);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "renegotiationType") : NULL, ==, "CALL_RESUME");
  g_assert_cmpuint (fx_event (fx, "CallUpdateAck", sid, NULL, NULL), ==, 200);
  g_assert_true (wait_log (fx, "-> re-INVITE (sendrecv)", WAIT_MS));
  g_assert_true (wait_log_count (fx, "<- 200 OK", 3, WAIT_MS));
  g_assert_false (log_contains (fx, "refused the re-INVITE"));
  g_assert_false (log_contains (fx, "answer to the re-INVITE is unusable"));

  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  assert_invite (trace, s->port);
  /* The initial INVITE, then the two re-INVITEs, each in order. */
  hold_invite = strstr (trace, "a=sendonly");
  g_assert_nonnull (hold_invite);
  resume_invite = hold_invite ? strstr (hold_invite, "INVITE sip:") : NULL;
  g_assert_nonnull (resume_invite);
  g_assert_nonnull (resume_invite ? strstr (resume_invite, "a=sendrecv") : NULL);
  g_assert_nonnull (hold_invite ? strstr (hold_invite, "a=recvonly") : NULL);
  g_assert_nonnull (strstr (trace, "BYE sip:"));
  sipp_free (s);
  fx_free (fx);
}

/* [sip] register: SIPp as the registrar challenges, checks the digest,
 * accepts; amgw un-registers when it stops. */
static void
test_register (void)
{
  Fx *fx;
  Sipp *s;
  guint16 port = free_port ();
  g_autofree char *extra = g_strdup_printf ("register = true\nregistrar = sip:127.0.0.1:%u\n",
      port);
  SipOptions o = { .sip_extra = extra };
  g_autofree char *trace = NULL, *url = NULL, *first = NULL, *second = NULL, *last = NULL;
  const char *auth, *p;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  s = sipp_start_full ("register.xml", "u1", port, NULL);
  fx = fx_start_sip (&o);
  g_assert_true (wait_log (fx, "registered with sip:127.0.0.1:", WAIT_MS));
  g_assert_false (log_contains (fx, "registration with"));
  g_assert_false (log_contains (fx, SIP_PASSWORD));
  url = fx_url (fx, "/healthz");
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, NULL), ==, 200);

  g_assert_cmpint (amgw_test_daemon_stop (fx->d), ==, 0);
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  g_assert_null (strstr (trace, "403 Forbidden"));
  first = trace_message (trace, "REGISTER sip:127.0.0.1");
  g_assert_nonnull (first);
  g_assert_nonnull (first ? strstr (first, "From: <sip:" SIP_USER "@") : NULL);
  g_assert_nonnull (first ? strstr (first, "Contact: ") : NULL);
  g_assert_null (first ? strstr (first, "Authorization:") : NULL);
  /* The second REGISTER, with credentials. */
  p = first ? strstr (strstr (trace, "REGISTER sip:127.0.0.1") + 1, "REGISTER sip:127.0.0.1") : NULL;
  second = p ? trace_message (p, "REGISTER") : NULL;
  g_assert_nonnull (second);
  auth = second ? strstr (second, "Authorization: Digest ") : NULL;
  g_assert_nonnull (auth);
  if (auth) {
    g_autofree char *line = g_strndup (auth, strcspn (auth, "\r\n"));
    g_assert_nonnull (strstr (line, "username=\"" SIP_USER "\""));
    g_assert_nonnull (strstr (line, "realm=\"registrar.test\""));
    g_assert_nonnull (strstr (line, "response=\""));
    g_assert_null (strstr (line, SIP_PASSWORD));
  }
  /* The un-REGISTER on stop. */
  p = p ? strstr (p + 1, "REGISTER sip:127.0.0.1") : NULL;
  last = p ? trace_message (p, "REGISTER") : NULL;
  g_assert_nonnull (last);
  g_assert_true (last && (strstr (last, "Expires: 0") || strstr (last, "expires=0")));
  sipp_free (s);
  fx_free (fx);
}

/* [sip] outbound-proxy: the INVITE goes to the proxy (SIPp) with the
 * bridge's Request-URI; SIPp answers as the bridge with a Contact where
 * nobody listens, so the ACK and the BYE arrive only through the proxy. */
static void
test_outbound_proxy (void)
{
  Fx *fx;
  Sipp *s;
  guint16 proxy_port = free_port (), bridge_port = free_port ();
  g_autofree char *extra = g_strdup_printf ("outbound-proxy = sip:127.0.0.1:%u\n", proxy_port);
  g_autofree char *bridge = g_strdup_printf ("%u", bridge_port);
  const char *const keys[] = { "bridge_port", bridge, NULL };
  SipOptions o = { .sip_extra = extra };
  g_autofree char *sid = NULL, *trace = NULL, *endpoint = NULL, *payload = NULL;
  g_autofree char *ruri = NULL, *bye = NULL, *answer_sdp = sdp_details (FALSE);
  cJSON *answer;
  FakeCloudRequest *req;

  skip_without_sipp ();
  if (skip_reason != NULL)
    return;
  fx = fx_start_sip (&o);
  s = sipp_start_full ("proxy.xml", "u1", proxy_port, keys);
  endpoint = g_strdup_printf ("127.0.0.1:%u", bridge_port);
  payload = join_payload (endpoint, "SIP");
  answer = fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, payload);
  assert_response (answer);
  cJSON_Delete (answer);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  g_assert_nonnull (req);
  sid = g_strdup (req ? req->session_id : "none");
  g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid, WAIT_MS));
  g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, answer_sdp, NULL), ==, 200);
  g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));
  g_assert_true (wait_log (fx, "the bridge answered", WAIT_MS));
  g_assert_true (wait_log (fx, "entering the meeting: 8 DTMF digit(s) as rfc4733", WAIT_MS));
  /* The call holds. */
  g_assert_null (fake_cloud_wait_signal (fx->fc, "CallEnded", sid, 1000));
  end_meeting (fx);
  g_assert_cmpstr (call_ended_code (fx, sid, WAIT_MS), ==, "SUCCESS");
  g_assert_cmpint (sipp_wait (s, WAIT_MS), ==, 0);
  trace = sipp_trace (s);
  /* The Request-URI is the bridge's, not the proxy's. */
  assert_invite (trace, bridge_port);
  ruri = g_strdup_printf ("BYE sip:bridge@127.0.0.1:%u", bridge_port);
  bye = trace_message (trace, "BYE sip:");
  g_assert_nonnull (bye);
  g_assert_nonnull (bye ? strstr (bye, ruri) : NULL);
  sipp_free (s);
  fx_free (fx);
}

int
main (int argc, char **argv)
{
  g_autofree char *sipp = g_find_program_in_path ("sipp");

  g_test_init (&argc, &argv, NULL);
  /* A failed check still reaches fx_free and sipp_free, which print amgw's
   * log and SIPp's trace. */
  g_test_set_nonfatal_assertions ();
  have_sipp = sipp != NULL;
  have_sip_leg = testd_has_sip ();
  if (!have_sipp)
    skip_reason = "sipp (Debian package sip-tester) is not installed";
  else if (!have_sip_leg)
    skip_reason = "amgw-testd has no SIP leg (it needs amgw_media_dep and -DAMGW_TESTD_HAVE_SIP)";
  if (!have_sip_leg) {
    /* Exit 77: meson shows the whole test as SKIP, not as a pass. */
    g_printerr ("SKIP: amgw-testd has no SIP leg (it needs amgw_media_dep and "
        "-DAMGW_TESTD_HAVE_SIP in tests/meson.build)\n");
    return 77;
  }
  g_test_add_func ("/sip-sipp/answer", test_answer);
  g_test_add_func ("/sip-sipp/busy", test_busy);
  g_test_add_func ("/sip-sipp/cancel", test_cancel);
  g_test_add_func ("/sip-sipp/digest", test_digest);
  g_test_add_func ("/sip-sipp/hold-from-bridge", test_hold_from_bridge);
  g_test_add_func ("/sip-sipp/bye-from-bridge", test_bye_from_bridge);
  g_test_add_func ("/sip-sipp/unavailable", test_unavailable);
  g_test_add_data_func ("/sip-sipp/unreachable/udp", "udp", test_unreachable);
  g_test_add_data_func ("/sip-sipp/unreachable/tcp", "tcp", test_unreachable);
  g_test_add_func ("/sip-sipp/malformed", test_malformed);
  g_test_add_func ("/sip-sipp/codec-change", test_codec_change);
  g_test_add_func ("/sip-sipp/vanish", test_vanish);
  g_test_add_func ("/sip-sipp/hold-from-alexa", test_hold_from_alexa);
  g_test_add_func ("/sip-sipp/register", test_register);
  g_test_add_func ("/sip-sipp/outbound-proxy", test_outbound_proxy);
  return g_test_run ();
}
