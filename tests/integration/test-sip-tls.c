/* Integration test of SIPS in the SIP bridge leg (signaling/sip-leg.c): the
 * INVITE goes to a sips: Request-URI over TLS, the bridge's certificate is
 * verified against [sip] ca-file, and the media is SDES-SRTP (RTP/SAVP with
 * a=crypto).
 *
 * The bridge is a small TLS SIP responder in this file (GIO's
 * GTlsServerConnection on a thread): Debian's SIPp is built without TLS
 * (its -t has no l1).  The test PKI comes from the openssl command: a test CA,
 * a server certificate for 127.0.0.1 signed by it, a certificate for another
 * name signed by it, and an unrelated CA. */
#include "common.h"
#include "sip-common.h"

#include <gio/gio.h>
#include <stdlib.h>

#define MEETING_ID "1234567"
#define MEETING_PIN "7654321"
#define MAX_SIP_MESSAGE 65536
/* RFC 4568's example key: 30 bytes, base64. */
#define BRIDGE_SRTP_KEY "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

static char *pki_dir;
static const char *skip_reason;

/* ------------------------------------------------------------------------ */
/* The test PKI                                                              */
/* ------------------------------------------------------------------------ */

static gboolean
run_openssl (const char *const *argv)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) proc = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_set_cwd (launcher, pki_dir);
  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, &error)) {
    g_printerr ("openssl: %s\n", error->message);
    return FALSE;
  }
  if (!g_subprocess_get_successful (proc)) {
    g_printerr ("openssl %s failed: %s\n", argv[1], err);
    return FALSE;
  }
  return TRUE;
}

static gboolean
make_ca (const char *name, const char *cn)
{
  g_autofree char *key = g_strdup_printf ("%s.key", name);
  g_autofree char *crt = g_strdup_printf ("%s.crt", name);
  g_autofree char *subj = g_strdup_printf ("/CN=%s", cn);
  const char *const argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
    "-keyout", key, "-out", crt, "-days", "2", "-subj", subj,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
    NULL };

  return run_openssl (argv);
}

/* A server certificate for @cn / @san signed by the CA @ca. */
static gboolean
make_server (const char *name, const char *ca, const char *cn, const char *san)
{
  g_autofree char *key = g_strdup_printf ("%s.key", name);
  g_autofree char *csr = g_strdup_printf ("%s.csr", name);
  g_autofree char *crt = g_strdup_printf ("%s.crt", name);
  g_autofree char *ext = g_strdup_printf ("%s.ext", name);
  g_autofree char *ca_key = g_strdup_printf ("%s.key", ca);
  g_autofree char *ca_crt = g_strdup_printf ("%s.crt", ca);
  g_autofree char *subj = g_strdup_printf ("/CN=%s", cn);
  g_autofree char *ext_path = g_build_filename (pki_dir, ext, NULL);
  g_autofree char *ext_text = g_strdup_printf ("subjectAltName=%s\n"
      "extendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n", san);
  const char *const req[] = { "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
    "-out", csr, "-subj", subj, NULL };
  const char *const sign[] = { "openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey",
    ca_key, "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext, NULL };

  if (!g_file_set_contents (ext_path, ext_text, -1, NULL))
    return FALSE;
  return run_openssl (req) && run_openssl (sign);
}

static gboolean
make_pki (void)
{
  g_autoptr (GError) error = NULL;

  pki_dir = g_dir_make_tmp ("amgw-sip-tls-test-XXXXXX", &error);
  if (pki_dir == NULL)
    return FALSE;
  return make_ca ("ca", "amgw test CA") && make_ca ("other-ca", "unrelated CA")
      && make_server ("server", "ca", "127.0.0.1", "IP:127.0.0.1")
      && make_server ("misnamed", "ca", "bridge.invalid", "DNS:bridge.invalid");
}

static void
remove_pki (void)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (pki_dir == NULL)
    return;
  dir = g_dir_open (pki_dir, 0, NULL);
  while (dir && (name = g_dir_read_name (dir)) != NULL) {
    g_autofree char *path = g_build_filename (pki_dir, name, NULL);
    g_remove (path);
  }
  g_rmdir (pki_dir);
  g_clear_pointer (&pki_dir, g_free);
}

static char *
pki_path (const char *name)
{
  return g_build_filename (pki_dir, name, NULL);
}

/* ------------------------------------------------------------------------ */
/* The bridge: a TLS SIP responder                                           */
/* ------------------------------------------------------------------------ */

typedef struct {
  GThread *thread;
  GSocketListener *listener;
  GCancellable *cancel;
  GTlsCertificate *cert;
  guint16 port;
  GPtrArray *threads;       /* one per connection (bridge_thread only) */
  GMutex lock;
  GString *trace;           /* every SIP message received, decrypted */
  guint connections;
  guint handshakes;         /* completed on our side */
  guint invites;
  gboolean got_ack;
  gboolean got_bye;
} Bridge;

/* A response to @msg: its Via, From, To (with our tag), Call-ID and CSeq. */
static char *
make_response (const char *msg, const char *status, guint16 port, const char *sdp)
{
  g_auto (GStrv) lines = g_strsplit (msg, "\r\n", -1);
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "SIP/2.0 %s\r\n", status);
  for (guint i = 1; lines[i] && *lines[i]; i++) {
    if (g_ascii_strncasecmp (lines[i], "Via:", 4) == 0
        || g_ascii_strncasecmp (lines[i], "From:", 5) == 0
        || g_ascii_strncasecmp (lines[i], "Call-ID:", 8) == 0
        || g_ascii_strncasecmp (lines[i], "CSeq:", 5) == 0) {
      g_string_append_printf (out, "%s\r\n", lines[i]);
    } else if (g_ascii_strncasecmp (lines[i], "To:", 3) == 0) {
      g_string_append_printf (out, "%s%s\r\n", lines[i],
          strstr (lines[i], ";tag=") ? "" : ";tag=bridge-tls-1");
    }
  }
  g_string_append_printf (out, "Contact: <sips:bridge@127.0.0.1:%u>\r\n", port);
  if (sdp != NULL)
    g_string_append_printf (out, "Content-Type: application/sdp\r\nContent-Length: %u\r\n\r\n%s",
        (guint) strlen (sdp), sdp);
  else
    g_string_append (out, "Content-Length: 0\r\n\r\n");
  return g_string_free (out, FALSE);
}

/* The SDP answer: RTP/SAVP with our key, under the tag of the offer's
 * AES_CM_128_HMAC_SHA1_80 line. */
static char *
make_sdp_answer (const char *offer)
{
  const char *line = strstr (offer, "a=crypto:");
  g_autofree char *tag = NULL;

  while (line != NULL) {
    const char *eol = strstr (line, "\r\n");
    g_autofree char *text = g_strndup (line, eol ? (gsize) (eol - line) : strlen (line));

    if (strstr (text, " AES_CM_128_HMAC_SHA1_80 ") != NULL) {
      tag = g_strndup (text + 9, strcspn (text + 9, " "));
      break;
    }
    line = strstr (line + 1, "a=crypto:");
  }
  return g_strdup_printf ("v=0\r\no=bridge 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
      "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/SAVP 0 101\r\n"
      "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
      "a=crypto:%s AES_CM_128_HMAC_SHA1_80 inline:" BRIDGE_SRTP_KEY "\r\na=sendrecv\r\n",
      tag ? tag : "1");
}

/* One SIP message: headers to the blank line, then Content-Length bytes.
 * NULL at the end of the stream or on an error. */
static char *
read_message (GDataInputStream *in, GCancellable *cancel)
{
  GString *msg = g_string_new (NULL);
  guint64 length = 0;

  for (;;) {
    gsize n = 0;
    g_autofree char *line = g_data_input_stream_read_line (in, &n, cancel, NULL);

    if (line == NULL || msg->len > MAX_SIP_MESSAGE)
      goto failed;
    if (n > 0 && line[n - 1] == '\r')
      line[--n] = '\0';
    if (n == 0 && msg->len == 0)
      continue;                 /* a keep-alive CRLF */
    g_string_append_printf (msg, "%s\r\n", line);
    if (n == 0)
      break;
    if (g_ascii_strncasecmp (line, "Content-Length:", 15) == 0)
      length = g_ascii_strtoull (line + 15, NULL, 10);
  }
  if (length > MAX_SIP_MESSAGE)
    goto failed;
  if (length > 0) {
    g_autofree char *body = g_malloc0 (length + 1);
    gsize got = 0;

    if (!g_input_stream_read_all (G_INPUT_STREAM (in), body, length, &got, cancel, NULL)
        || got != length)
      goto failed;
    g_string_append (msg, body);
  }
  return g_string_free (msg, FALSE);

failed:
  g_string_free (msg, TRUE);
  return NULL;
}

static void
bridge_send (GOutputStream *out, const char *text, GCancellable *cancel)
{
  g_output_stream_write_all (out, text, strlen (text), NULL, cancel, NULL);
}

/* Serves one TLS connection: answers INVITE (180, 200 with SDP), takes ACK,
 * answers BYE with 200. */
static void
bridge_serve (Bridge *b, GIOStream *tls)
{
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_io_stream_get_input_stream (tls));
  GOutputStream *out = g_io_stream_get_output_stream (tls);
  char *msg;

  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  while ((msg = read_message (in, b->cancel)) != NULL) {
    g_mutex_lock (&b->lock);
    g_string_append_printf (b->trace, "%s\n----\n", msg);
    g_mutex_unlock (&b->lock);
    if (g_str_has_prefix (msg, "INVITE ")) {
      g_autofree char *ringing = make_response (msg, "180 Ringing", b->port, NULL);
      g_autofree char *sdp = make_sdp_answer (msg);
      g_autofree char *ok = make_response (msg, "200 OK", b->port, sdp);

      g_mutex_lock (&b->lock);
      b->invites++;
      g_mutex_unlock (&b->lock);
      bridge_send (out, ringing, b->cancel);
      bridge_send (out, ok, b->cancel);
    } else if (g_str_has_prefix (msg, "ACK ")) {
      g_mutex_lock (&b->lock);
      b->got_ack = TRUE;
      g_mutex_unlock (&b->lock);
    } else if (g_str_has_prefix (msg, "BYE ") || g_str_has_prefix (msg, "OPTIONS ")
        || g_str_has_prefix (msg, "INFO ")) {
      g_autofree char *ok = make_response (msg, "200 OK", b->port, NULL);

      bridge_send (out, ok, b->cancel);
      if (g_str_has_prefix (msg, "BYE ")) {
        g_mutex_lock (&b->lock);
        b->got_bye = TRUE;
        g_mutex_unlock (&b->lock);
      }
    }
    g_free (msg);
  }
}

typedef struct {
  Bridge *bridge;
  GSocketConnection *conn;
} Connection;

static gpointer
connection_thread (gpointer data)
{
  Connection *c = data;
  Bridge *b = c->bridge;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = g_tls_server_connection_new (G_IO_STREAM (c->conn), b->cert,
      &error);

  if (tls != NULL && g_tls_connection_handshake (G_TLS_CONNECTION (tls), b->cancel, &error)) {
    g_mutex_lock (&b->lock);
    b->handshakes++;
    g_mutex_unlock (&b->lock);
    bridge_serve (b, tls);
    g_io_stream_close (tls, NULL, NULL);
  } else if (error != NULL) {
    g_test_message ("bridge: TLS handshake failed: %s", error->message);
  }
  g_object_unref (c->conn);
  g_free (c);
  return NULL;
}

static gpointer
bridge_thread (gpointer data)
{
  Bridge *b = data;

  for (;;) {
    GSocketConnection *conn = g_socket_listener_accept (b->listener, NULL, b->cancel, NULL);
    Connection *c;

    if (conn == NULL)
      break;
    g_mutex_lock (&b->lock);
    b->connections++;
    g_mutex_unlock (&b->lock);
    c = g_new0 (Connection, 1);
    c->bridge = b;
    c->conn = conn;
    g_ptr_array_add (b->threads, g_thread_new ("tls-bridge-conn", connection_thread, c));
  }
  return NULL;
}

static Bridge *
bridge_start (const char *name)
{
  Bridge *b = g_new0 (Bridge, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *crt_name = g_strdup_printf ("%s.crt", name);
  g_autofree char *key_name = g_strdup_printf ("%s.key", name);
  g_autofree char *crt = pki_path (crt_name);
  g_autofree char *key = pki_path (key_name);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_mutex_init (&b->lock);
  b->threads = g_ptr_array_new ();
  b->trace = g_string_new (NULL);
  b->cancel = g_cancellable_new ();
  b->cert = g_tls_certificate_new_from_files (crt, key, &error);
  g_assert_no_error (error);
  b->listener = g_socket_listener_new ();
  g_socket_listener_add_address (b->listener, any, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
      NULL, &bound, &error);
  g_assert_no_error (error);
  b->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  b->thread = g_thread_new ("tls-bridge", bridge_thread, b);
  return b;
}

static char *
bridge_trace (Bridge *b)
{
  char *text;

  g_mutex_lock (&b->lock);
  text = g_strdup (b->trace->str);
  g_mutex_unlock (&b->lock);
  return text;
}

static gboolean
bridge_wait_bye (Bridge *b, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean done = FALSE;

  while (!done && g_get_monotonic_time () < end) {
    g_mutex_lock (&b->lock);
    done = b->got_bye;
    g_mutex_unlock (&b->lock);
    if (!done)
      g_usleep (20 * 1000);
  }
  return done;
}

static void
bridge_free (Bridge *b)
{
  g_cancellable_cancel (b->cancel);
  g_socket_listener_close (b->listener);
  g_thread_join (b->thread);
  for (guint i = 0; i < b->threads->len; i++)
    g_thread_join (b->threads->pdata[i]);
  g_ptr_array_free (b->threads, TRUE);
  if (g_test_failed ()) {
    g_autofree char *trace = bridge_trace (b);
    g_printerr ("---- bridge received ----\n%s\n-------------------------\n", trace);
  }
  g_object_unref (b->listener);
  g_object_unref (b->cancel);
  g_object_unref (b->cert);
  g_string_free (b->trace, TRUE);
  g_mutex_clear (&b->lock);
  g_free (b);
}

/* ------------------------------------------------------------------------ */
/* amgw                                                                      */
/* ------------------------------------------------------------------------ */


static Fx *
fx_start_sips (const char *ca_name)
{
  g_autofree char *ca = pki_path (ca_name);
  g_autofree char *extra = NULL;
  FxOptions opt = { 0, };
  guint16 rtp = free_port ();

  extra = g_strdup_printf ("\n[sip]\nlisten = 127.0.0.1:%u\nca-file = %s\ndtmf-pause = 200\n"
      "invite-timeout = 20000\n\n[media]\nrtp-port-min = %u\nrtp-port-max = %u\n",
      free_port (), ca, rtp, rtp + 100);
  opt.extra = extra;
  g_setenv ("AMGW_TESTD_REAL_SIP", "1", TRUE);
  return fx_start (&opt);
}

static cJSON *
join_sips (Fx *fx, Bridge *b)
{
  g_autofree char *payload = g_strdup_printf ("{\"meeting\": {\"id\": \"" MEETING_ID
      "\", \"pin\": \"" MEETING_PIN "\", \"endpoint\": \"127.0.0.1:%u\", \"protocol\": \"SIPS\","
      " \"provider\": \"chime\"}}", b->port);

  return fx_directive (fx, "Alexa.MeetingClientController", "JoinMeeting", "room-boardroom",
      BOARDROOM_TOKEN, payload);
}

static void
skip_if_needed (void)
{
  if (skip_reason != NULL)
    g_test_skip (skip_reason);
}

static void
test_answer (void)
{
  Fx *fx;
  Bridge *b;
  cJSON *answer;
  FakeCloudRequest *req;
  g_autofree char *sid = NULL, *trace = NULL, *ruri = NULL, *accepted = sdp_details (FALSE);
  g_autofree char *ack_ruri = NULL;
  const char *invite_sdp;

  skip_if_needed ();
  if (skip_reason != NULL)
    return;
  b = bridge_start ("server");
  fx = fx_start_sips ("ca.crt");
  answer = join_sips (fx, b);
  assert_response (answer);
  cJSON_Delete (answer);
  req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, WAIT_MS);
  g_assert_nonnull (req);
  if (req != NULL) {
    sid = g_strdup (req->session_id);
    g_assert_cmpuint (fx_event (fx, "CallRinging", sid, NULL, NULL), ==, 200);
    g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallRingingAck", sid, WAIT_MS));
    g_assert_cmpuint (fx_event (fx, "CallAccepted", sid, accepted, NULL), ==, 200);
    g_assert_nonnull (fake_cloud_wait_signal (fx->fc, "CallAcceptedAck", sid, WAIT_MS));
  }
  g_assert_true (wait_log (fx, "the bridge answered", WAIT_MS));
  {
    cJSON *end = fx_directive (fx, "Alexa.MeetingClientController", "EndMeeting",
        "room-boardroom", BOARDROOM_TOKEN, "{}");
    assert_response (end);
    cJSON_Delete (end);
  }
  req = fake_cloud_wait_signal (fx->fc, "CallEnded", sid, WAIT_MS);
  g_assert_nonnull (req);
  g_assert_cmpstr (req ? jstr (req->json, "callResult.code") : NULL, ==, "SUCCESS");
  g_assert_true (bridge_wait_bye (b, WAIT_MS));

  trace = bridge_trace (b);
  ruri = g_strdup_printf ("INVITE sips:" MEETING_ID "@127.0.0.1:%u SIP/2.0\r\n", b->port);
  if (!g_str_has_prefix (trace, ruri))
    g_error ("the first message is not \"%s\"", ruri);
  g_assert_nonnull (strstr (trace, "Via: SIP/2.0/TLS "));
  invite_sdp = strstr (trace, "\r\n\r\nv=0");
  g_assert_nonnull (invite_sdp);
  g_assert_nonnull (strstr (invite_sdp, " RTP/SAVP "));
  g_assert_nonnull (strstr (invite_sdp, "a=crypto:"));
  g_assert_nonnull (strstr (invite_sdp, "AES_CM_128_HMAC_SHA1_80 inline:"));
  g_assert_null (strstr (invite_sdp, " RTP/AVP "));
  ack_ruri = g_strdup_printf ("ACK sips:bridge@127.0.0.1:%u", b->port);
  g_assert_nonnull (strstr (trace, ack_ruri));
  g_assert_nonnull (strstr (trace, "BYE sips:bridge@127.0.0.1"));
  g_assert_cmpuint (b->handshakes, >=, 1);
  /* Neither the pin nor the keys reach the log. */
  g_assert_false (log_contains (fx, MEETING_PIN));
  g_assert_false (log_contains (fx, BRIDGE_SRTP_KEY));
  g_assert_false (log_contains (fx, "PRIVATE KEY"));
  fx_free (fx);
  bridge_free (b);
}

/* The certificate does not verify: the call fails at once with a reason that
 * says so, nothing reaches the bridge in the clear, amgw keeps serving. */
static void
test_refused (const char *server, const char *ca, const char *reason)
{
  Fx *fx;
  Bridge *b;
  cJSON *answer;
  gint64 start;
  g_autofree char *url = NULL, *message = NULL;

  skip_if_needed ();
  if (skip_reason != NULL)
    return;
  b = bridge_start (server);
  fx = fx_start_sips (ca);
  start = g_get_monotonic_time ();
  answer = join_sips (fx, b);
  if (g_strcmp0 (jstr (answer, "event.header.name"), "ErrorResponse") == 0) {
    assert_error_response (answer, "ENDPOINT_UNREACHABLE");
    message = g_strdup (jstr (answer, "event.payload.message"));
  } else {
    FakeCloudRequest *req;

    assert_response (answer);
    req = fake_cloud_wait_signal (fx->fc, "InitiateInboundCall", NULL, 3000);
    if (req != NULL)
      req = fake_cloud_wait_signal (fx->fc, "CallEnded", req->session_id, WAIT_MS);
    if (req != NULL) {
      g_assert_cmpstr (jstr (req->json, "callResult.code"), !=, "SUCCESS");
      message = g_strdup (jstr (req->json, "callResult.message"));
    } else {
      /* The bridge failed before amgw called the Alexa device: nobody to
       * tell; the reason is in the log. */
      g_assert_true (wait_log (fx, "call ends: ", WAIT_MS));
      g_assert_true (log_contains (fx, reason));
      message = g_strdup (reason);
    }
  }
  cJSON_Delete (answer);
  g_test_message ("failed after %" G_GINT64_FORMAT " ms: %s",
      (g_get_monotonic_time () - start) / 1000, message);
  if (message == NULL || strstr (message, reason) == NULL)
    g_error ("the failure \"%s\" does not say \"%s\"", message, reason);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 8000 * 1000);
  g_assert_cmpuint (b->invites, ==, 0);
  g_assert_cmpuint (b->connections, >=, 1);

  url = fx_url (fx, "/healthz");
  g_assert_cmpuint (amgw_test_http ("GET", url, NULL, NULL, NULL, 0, NULL), ==, 200);
  fx_free (fx);
  bridge_free (b);
}

static void
test_untrusted_ca (void)
{
  test_refused ("server", "other-ca.crt", "TLS to the bridge failed: certificate not trusted");
}

static void
test_wrong_name (void)
{
  test_refused ("misnamed", "ca.crt", "TLS to the bridge failed");
}

int
main (int argc, char **argv)
{
  g_autofree char *openssl = g_find_program_in_path ("openssl");
  int rc;

  g_test_init (&argc, &argv, NULL);
  g_test_set_nonfatal_assertions ();
  if (g_getenv ("AMGW_TEST_DAEMON") == NULL) {
    g_printerr ("SKIP: AMGW_TEST_DAEMON is not set\n");
    return 77;
  }
  if (openssl == NULL)
    skip_reason = "the openssl command is not installed";
  else if (!g_tls_backend_supports_tls (g_tls_backend_get_default ()))
    skip_reason = "GIO has no TLS backend (glib-networking) for the test bridge";
  else if (!make_pki ())
    skip_reason = "cannot make the test PKI with openssl";
  g_test_add_func ("/sip-tls/answer", test_answer);
  g_test_add_func ("/sip-tls/untrusted-ca", test_untrusted_ca);
  g_test_add_func ("/sip-tls/wrong-name", test_wrong_name);
  rc = g_test_run ();
  remove_pki ();
  return rc;
}
