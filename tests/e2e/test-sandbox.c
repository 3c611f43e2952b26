/* The sandbox end to end, as an integrator would use it: the real amgw run
 * with no --config (so in sandbox mode, its Alexa cloud simulated over
 * loopback), baresip as the meeting bridge, and headless Chromium on amgw's
 * own page http://127.0.0.1:8080/sandbox/, driven by
 * tests/e2e/browser/sandbox.mjs the way a person clicks through it:
 *
 *   fill in the meeting (id = baresip's account, pin, endpoint, SIP), pick
 *   the page's built-in test tone (PAGE_TONE), "Start the meeting"; the page
 *   rings (amgw's InitiateInboundCall); "Accept"; the page says connected and
 *   its live statistics count packets both ways and hear BRIDGE_TONE; amgw's
 *   view (through the page) shows the relay; baresip decoded the pin and
 *   hears PAGE_TONE; a screenshot (PNG) is taken while the state is
 *   "connected" and checked (PNG header, size, and the DOM at that moment);
 *   "Hang up" sends CallEnded: baresip gets its BYE and the page says ended.
 *
 * The screenshot stays in the build folder (tests/sandbox-e2e.png) for a
 * person to look at.  Every wait is a generous bounded poll. */
#include "baresip.h"
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_URL "http://127.0.0.1:8080/sandbox/"
#define PAGE_TONE 1000.0
#define BRIDGE_TONE 440.0
#define TONE_TOLERANCE 30.0
#define BRIDGE_USER "8642"          /* the meeting id: the Request-URI user ([sip] dial-template {id}) */
#define MEETING_PIN "1357"
#define STEP_MS 30000
#define MEDIA_MS 45000
#define DRIVER_TIMEOUT_MS 60000

/* ------------------------------------------------------------------------ */
/* The page's driver: node sandbox.mjs, one JSON line each way              */
/* ------------------------------------------------------------------------ */

typedef struct {
  GSubprocess *proc;
  GOutputStream *to_driver;
  GAsyncQueue *lines;       /* char* from its stdout; "" at the end */
  GThread *reader;
  char *log_path;
  char *dir;
  gint next_id;
} Driver;

static gpointer
reader_thread (gpointer data)
{
  Driver *d = data;
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (d->proc));

  for (;;) {
    char *line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, NULL);
    if (line == NULL)
      break;
    g_async_queue_push (d->lines, line);
  }
  g_async_queue_push (d->lines, g_strdup (""));
  return NULL;
}

static void
child_setup (gpointer data)
{
  setpgid (0, 0);   /* node and its Chromium, killed together */
}

static void
driver_free (Driver *d)
{
  if (d == NULL)
    return;
  if (d->proc) {
    const char *ident = g_subprocess_get_identifier (d->proc);
    GPid pid = ident ? (GPid) atoi (ident) : 0;

    /* "quit", up to 10 s to close Chromium, then the whole group goes. */
    if (d->to_driver)
      g_output_stream_write_all (d->to_driver, "{\"cmd\":\"quit\"}\n", 15, NULL, NULL, NULL);
    g_clear_object (&d->to_driver);
    for (int i = 0; i < 100 && g_subprocess_get_identifier (d->proc) != NULL; i++)
      g_usleep (100 * 1000);
    if (pid > 0)
      kill (-pid, SIGKILL);
    g_subprocess_wait (d->proc, NULL, NULL);
  }
  if (d->reader)
    g_thread_join (d->reader);
  if (g_test_failed () && d->log_path) {
    g_autofree char *log = amgw_peer_read_text (d->log_path);
    g_printerr ("---- the page's driver ----\n%s\n---------------------------\n", log);
  }
  if (d->dir && g_getenv ("AMGW_KEEP_TEST_FILES") == NULL)
    amgw_peer_remove_tree (d->dir);
  g_clear_object (&d->proc);
  if (d->lines)
    g_async_queue_unref (d->lines);
  g_free (d->log_path);
  g_free (d->dir);
  g_free (d);
}

/* The next line within @timeout_ms (transfer full), NULL on time-out or end. */
static char *
driver_line (Driver *d, guint timeout_ms)
{
  char *line = g_async_queue_timeout_pop (d->lines, (guint64) timeout_ms * 1000);

  if (line && *line == '\0') {
    g_free (line);
    g_async_queue_push (d->lines, g_strdup (""));  /* stays at the end */
    return NULL;
  }
  return line;
}

/* NULL (with g_test_skip) when node, Chromium or playwright-core is missing. */
static Driver *
driver_start (GError **error)
{
  const char *e2e = g_getenv ("AMGW_E2E_DIR");
  g_autofree char *script = NULL;
  g_autofree char *modules = NULL;
  g_autofree char *node = g_find_program_in_path ("node");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autofree char *line = NULL;
  cJSON *ready;
  Driver *d;

  if (e2e == NULL)
    e2e = "tests/e2e";
  script = g_build_filename (e2e, "browser", "sandbox.mjs", NULL);
  modules = g_build_filename (e2e, "browser", "node_modules", "playwright-core", "package.json", NULL);
  if (node == NULL || !g_file_test (modules, G_FILE_TEST_EXISTS) ||
      !g_file_test ("/usr/bin/chromium", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("node, playwright-core (npm ci in tests/e2e/browser) or Chromium is missing");
    return NULL;
  }
  signal (SIGPIPE, SIG_IGN);
  d = g_new0 (Driver, 1);
  d->lines = g_async_queue_new_full (g_free);
  d->dir = g_dir_make_tmp ("amgw-sandbox-e2e-XXXXXX", error);
  if (d->dir == NULL)
    goto failed;
  d->log_path = g_build_filename (d->dir, "driver.log", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, d->log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  d->proc = g_subprocess_launcher_spawn (launcher, error, node, script, NULL);
  if (d->proc == NULL)
    goto failed;
  d->to_driver = g_object_ref (g_subprocess_get_stdin_pipe (d->proc));
  d->reader = g_thread_new ("sandbox-driver", reader_thread, d);
  line = driver_line (d, DRIVER_TIMEOUT_MS);
  ready = line ? cJSON_Parse (line) : NULL;
  if (!cJSON_IsTrue (cJSON_GetObjectItem (ready, "ready"))) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Chromium did not start: %s",
        line ? line : "(no answer)");
    cJSON_Delete (ready);
    goto failed;
  }
  g_test_message ("Chromium %s", cJSON_GetStringValue (cJSON_GetObjectItem (ready, "browser")));
  cJSON_Delete (ready);
  return d;

failed:
  driver_free (d);
  return NULL;
}

/* Sends @req (transfer full) and returns the answer, or NULL and fails the
 * test. */
static cJSON *
driver_do (Driver *d, cJSON *req, guint timeout_ms)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  char *printed;
  cJSON *answer;
  gint id = ++d->next_id;

  cJSON_AddNumberToObject (req, "id", id);
  if (timeout_ms)
    cJSON_AddNumberToObject (req, "timeout_ms", timeout_ms);
  printed = cJSON_PrintUnformatted (req);
  text = g_strconcat (printed, "\n", NULL);
  cJSON_free (printed);
  cJSON_Delete (req);
  if (!g_output_stream_write_all (d->to_driver, text, strlen (text), NULL, NULL, NULL) ||
      !g_output_stream_flush (d->to_driver, NULL, NULL)) {
    g_test_fail_printf ("the page's driver is gone");
    return NULL;
  }
  line = driver_line (d, (timeout_ms ? timeout_ms : 15000) + 15000);
  answer = line ? cJSON_Parse (line) : NULL;
  if (answer == NULL || !cJSON_IsTrue (cJSON_GetObjectItem (answer, "ok"))) {
    g_test_fail_printf ("the page's driver: %s: %s", text,
        line ? line : "no answer in time");
    cJSON_Delete (answer);
    return NULL;
  }
  return answer;
}

static gboolean
page_cmd (Driver *d, const char *cmd, const char *selector, const char *value, guint timeout_ms)
{
  cJSON *req = cJSON_CreateObject ();
  cJSON *answer;

  cJSON_AddStringToObject (req, "cmd", cmd);
  if (selector)
    cJSON_AddStringToObject (req, "selector", selector);
  if (value)
    cJSON_AddStringToObject (req, strcmp (cmd, "wait_text") == 0 ? "text"
        : strcmp (cmd, "goto") == 0 ? "url" : "value", value);
  answer = driver_do (d, req, timeout_ms);
  cJSON_Delete (answer);
  return answer != NULL;
}

/* The page's text at @selector (transfer full; "" when it fails). */
static char *
page_text (Driver *d, const char *selector)
{
  cJSON *req = cJSON_CreateObject ();
  cJSON *answer;
  char *text;

  cJSON_AddStringToObject (req, "cmd", "text");
  cJSON_AddStringToObject (req, "selector", selector);
  answer = driver_do (d, req, 0);
  text = g_strdup (cJSON_GetStringValue (cJSON_GetObjectItem (answer, "text")) ?
      cJSON_GetStringValue (cJSON_GetObjectItem (answer, "text")) : "");
  cJSON_Delete (answer);
  return text;
}

static double
page_number (Driver *d, const char *selector)
{
  g_autofree char *text = page_text (d, selector);
  return g_ascii_strtod (text, NULL);
}

/* ------------------------------------------------------------------------ */
/* The PNG                                                                   */
/* ------------------------------------------------------------------------ */

/* Checks the signature and the IHDR chunk; returns the size. */
static void
check_png (const char *path, guint *width, guint *height, gsize *bytes)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  g_autofree guint8 *data = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, (char **) &data, &len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (len, >, 33);
  g_assert_cmpmem (data, 8, sig, 8);
  g_assert_cmpmem (data + 12, 4, "IHDR", 4);
  *width = (guint) data[16] << 24 | (guint) data[17] << 16 | (guint) data[18] << 8 | data[19];
  *height = (guint) data[20] << 24 | (guint) data[21] << 16 | (guint) data[22] << 8 | data[23];
  *bytes = len;
}

/* ------------------------------------------------------------------------ */

static gboolean
near (double value, double target)
{
  return value > target - TONE_TOLERANCE && value < target + TONE_TOLERANCE;
}

/* The dominant frequency of the last 2 s of baresip's newest recording. */
static double
bridge_hears (AmgwBaresip *bridge, double *level)
{
  g_autoptr (GPtrArray) recordings = amgw_baresip_recordings (bridge);
  double hz = 0, total = 0;

  *level = -200;
  if (recordings->len == 0)
    return 0;
  if (!amgw_wav_dominant_hz (recordings->pdata[recordings->len - 1], -2.0, 2.0, &hz, level,
          &total, NULL) || total < 2.0)
    return 0;
  return hz;
}

static void
test_whole_meeting (void)
{
  const char *binary = g_getenv ("AMGW_BINARY");
  const char *builddir = g_getenv ("G_TEST_BUILDDIR");
  AmgwBaresipOptions bopt = {
    .user = BRIDGE_USER, .codecs = "PCMU", .tone_hz = BRIDGE_TONE, .tone_seconds = 240,
    .jitter_buffer = TRUE, .timeout_s = 300,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwTestDaemon) amgw = NULL;
  g_autoptr (AmgwBaresip) bridge = NULL;
  g_autofree char *endpoint = NULL;
  g_autofree char *png = NULL;
  g_autofree char *text = NULL;
  g_autofree char *digits = NULL;
  g_autoptr (GPtrArray) byes = NULL;
  Driver *page = NULL;
  gsize mark, png_bytes = 0;
  guint width = 0, height = 0;
  double hz = 0, level = -200;
  gint64 end;

  if (binary == NULL || !g_file_test (binary, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("AMGW_BINARY does not name the amgw binary");
    return;
  }
  if (!g_file_test ("/usr/bin/baresip", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("baresip is not installed (apt-get install baresip-core)");
    return;
  }
  page = driver_start (&error);
  if (page == NULL) {
    if (error)
      g_test_fail_printf ("%s", error->message);
    return;
  }
  bridge = amgw_baresip_start (&bopt, &error);
  g_assert_no_error (error);
  mark = amgw_baresip_log_mark (bridge);
  amgw = amgw_test_daemon_start_default (binary, &error);
  g_assert_no_error (error);

  /* The person opens the page and fills in the meeting. */
  if (!page_cmd (page, "goto", NULL, PAGE_URL, STEP_MS))
    goto out;
  endpoint = g_strdup_printf ("127.0.0.1:%u", amgw_baresip_get_port (bridge));
  if (!page_cmd (page, "fill", "#meeting-id", BRIDGE_USER, 0) ||
      !page_cmd (page, "fill", "#meeting-pin", MEETING_PIN, 0) ||
      !page_cmd (page, "fill", "#meeting-endpoint", endpoint, 0) ||
      !page_cmd (page, "select", "#meeting-protocol", "SIP", 0) ||
      !page_cmd (page, "check", "#source-tone", NULL, 0) ||
      !page_cmd (page, "fill", "#tone-hz", "1000", 0))
    goto out;

  /* "Alexa, start the meeting": amgw answers, dials, and the page rings. */
  if (!page_cmd (page, "click", "#start", NULL, 0) ||
      !page_cmd (page, "wait_text", "#directive-result", "amgw answered Response", STEP_MS) ||
      !page_cmd (page, "wait_text", "#state", "ringing", STEP_MS))
    goto out;
  text = page_text (page, "#state-detail");
  g_test_message ("the page rings: %s", text);
  g_assert_nonnull (strstr (text, "sandbox meeting"));

  /* Accept: the page answers with its WebRTC and connects. */
  if (!page_cmd (page, "click", "#accept", NULL, 0) ||
      !page_cmd (page, "wait_text", "#state", "connected", STEP_MS))
    goto out;
  g_assert_true (amgw_baresip_wait_log (bridge, "Call established", mark, STEP_MS));

  /* Media both ways: the page's statistics count, the page hears the
   * bridge's tone, baresip hears the page's. */
  end = g_get_monotonic_time () + (gint64) MEDIA_MS * 1000;
  do {
    g_free (text);
    text = page_text (page, "#heard-hz");
    if (page_number (page, "#st-packets-received") > 100 &&
        page_number (page, "#st-packets-sent") > 100 && near (g_ascii_strtod (text, NULL), BRIDGE_TONE))
      break;
    g_usleep (250 * 1000);
  } while (g_get_monotonic_time () < end);
  g_test_message ("the page: %g packets in, %g out, hears %s", page_number (page, "#st-packets-received"),
      page_number (page, "#st-packets-sent"), text);
  g_assert_cmpfloat (page_number (page, "#st-packets-received"), >, 100);
  g_assert_cmpfloat (page_number (page, "#st-packets-sent"), >, 100);
  g_assert_true (near (g_ascii_strtod (text, NULL), BRIDGE_TONE));

  end = g_get_monotonic_time () + (gint64) MEDIA_MS * 1000;
  do {
    hz = bridge_hears (bridge, &level);
    if (near (hz, PAGE_TONE) && level > -50)
      break;
    g_usleep (250 * 1000);
  } while (g_get_monotonic_time () < end);
  g_test_message ("baresip hears %.1f Hz at %.1f dBFS", hz, level);
  g_assert_true (near (hz, PAGE_TONE));

  /* The pin reached the bridge as RFC 4733 digits. */
  end = g_get_monotonic_time () + (gint64) STEP_MS * 1000;
  do {
    g_free (digits);
    digits = amgw_baresip_digits (bridge, FALSE, mark);
    if (strcmp (digits, MEETING_PIN "#") == 0)
      break;
    g_usleep (200 * 1000);
  } while (g_get_monotonic_time () < end);
  g_assert_cmpstr (digits, ==, MEETING_PIN "#");

  /* amgw's own view, shown by the page: the relay between the legs. */
  if (!page_cmd (page, "wait_text", "#gw-to-bridge", "packets", STEP_MS) ||
      !page_cmd (page, "wait_text", "#gw-state", "accepted", STEP_MS))
    goto out;
  g_free (text);
  text = page_text (page, "#gw-to-bridge");
  g_test_message ("amgw relays to the bridge: %s", text);
  g_free (text);
  text = page_text (page, "#gw-to-alexa");
  g_test_message ("amgw relays to the device: %s", text);
  /* The wire log shows the exchange, acks included. */
  if (!page_cmd (page, "wait_text", "#wire", "CallAcceptedAck", STEP_MS))
    goto out;
  g_free (text);
  text = page_text (page, "#wire");
  g_assert_nonnull (strstr (text, "InitiateInboundCall"));
  g_assert_nonnull (strstr (text, "CallRingingAck"));
  g_assert_nonnull (strstr (text, "JoinMeeting"));

  /* The screenshot, while the page says connected. */
  png = g_build_filename (builddir ? builddir : ".", "sandbox-e2e.png", NULL);
  g_remove (png);
  {
    cJSON *req = cJSON_CreateObject ();
    cJSON *answer;

    cJSON_AddStringToObject (req, "cmd", "screenshot");
    cJSON_AddStringToObject (req, "path", png);
    answer = driver_do (page, req, 0);
    if (answer == NULL)
      goto out;
    cJSON_Delete (answer);
  }
  g_free (text);
  text = page_text (page, "#state");
  g_assert_cmpstr (text, ==, "connected");
  check_png (png, &width, &height, &png_bytes);
  g_test_message ("screenshot %s: %ux%u, %" G_GSIZE_FORMAT " bytes", png, width, height, png_bytes);
  g_assert_cmpuint (width, ==, 1280);
  g_assert_cmpuint (height, >=, 900);
  g_assert_cmpuint (png_bytes, >, 40000);   /* a real page, not a blank one */

  /* Hold and resume from the device: CallUpdate (CALL_HOLD, then
   * CALL_RESUME) with the page's re-offer; amgw's CallUpdateResponse; the
   * device's CallUpdateAck; a re-INVITE to the bridge each time. */
  if (!page_cmd (page, "click", "#hold", NULL, 0) ||
      !page_cmd (page, "wait_text", "#state", "on hold", STEP_MS) ||
      !page_cmd (page, "wait_text", "#wire", "CallUpdateAck", STEP_MS) ||
      !page_cmd (page, "click", "#resume", NULL, 0) ||
      !page_cmd (page, "wait_text", "#state", "connected", STEP_MS))
    goto out;
  {
    g_autoptr (GPtrArray) invites = NULL;

    end = g_get_monotonic_time () + (gint64) STEP_MS * 1000;
    do {
      g_clear_pointer (&invites, g_ptr_array_unref);
      invites = amgw_baresip_requests (bridge, "INVITE", mark);
      if (invites->len >= 3)
        break;
      g_usleep (200 * 1000);
    } while (g_get_monotonic_time () < end);
    g_test_message ("baresip got %u INVITEs (the call, hold, resume)", invites->len);
    g_assert_cmpuint (invites->len, >=, 3);
  }
  {
    /* Every exchange of the renegotiation was accepted. */
    cJSON *req = cJSON_CreateObject ();
    cJSON *answer;

    cJSON_AddStringToObject (req, "cmd", "eval");
    cJSON_AddStringToObject (req, "expression",
        "[...document.querySelectorAll('#wire summary')].map((s) => s.textContent)"
        ".filter((t) => /CallUpdate/.test(t)).join('\\n')");
    answer = driver_do (page, req, 0);
    if (answer == NULL)
      goto out;
    g_free (text);
    text = g_strdup (cJSON_GetStringValue (cJSON_GetObjectItem (answer, "value")));
    cJSON_Delete (answer);
    g_test_message ("the renegotiations:\n%s", text);
    g_assert_nonnull (strstr (text, "CallUpdate  200"));
    g_assert_nonnull (strstr (text, "CallUpdateResponse  200"));
    g_assert_nonnull (strstr (text, "CallUpdateAck  200"));
    g_assert_null (strstr (text, "  4"));   /* no 4xx (the status follows two spaces) */
  }

  /* Hang up: CallEnded; amgw sends the bridge its BYE. */
  if (!page_cmd (page, "click", "#hangup", NULL, 0) ||
      !page_cmd (page, "wait_text", "#state", "ended", STEP_MS) ||
      !page_cmd (page, "wait_text", "#state-detail", "CallEnded SUCCESS", STEP_MS) ||
      !page_cmd (page, "wait_text", "#gw-outcome", "SUCCESS", STEP_MS))
    goto out;
  g_assert_true (amgw_baresip_wait_log (bridge, "BYE", mark, STEP_MS));
  byes = amgw_baresip_requests (bridge, "BYE", mark);
  g_assert_cmpuint (byes->len, >=, 1);

  g_assert_cmpint (amgw_test_daemon_stop (amgw), ==, 0);

out:
  if (g_test_failed () && amgw) {
    g_autofree char *log = amgw_test_daemon_log (amgw);
    gsize len = strlen (log);
    g_printerr ("---- amgw log (tail) ----\n%s\n-------------------------\n",
        len > 20000 ? log + len - 20000 : log);
  }
  driver_free (page);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sandbox/whole-meeting", test_whole_meeting);
  return g_test_run ();
}
