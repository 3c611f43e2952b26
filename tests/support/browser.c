/* The C side of the e2e browser harness: drives tests/e2e/browser/device.mjs
 * (node + playwright-core + Debian's Chromium) over a line protocol on its
 * stdin/stdout.  See browser.h. */
#include "browser.h"

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define BROWSER_COMMAND_TIMEOUT_MS 30000
#define BROWSER_READY_TIMEOUT_MS 60000
#define BROWSER_QUIT_TIMEOUT_MS 10000

/* Pushed by the reader thread when the driver's stdout ends. */
static char eof_marker[] = "<eof>";

struct _AmgwBrowser {
  GSubprocess *proc;
  GPid pid;
  GOutputStream *to_driver;
  GAsyncQueue *lines;     /* char * from the driver's stdout, then eof_marker */
  GThread *reader;
  gboolean eof;
  gboolean failed;        /* the driver failed (time-out, exit, no connection): print the log on free */
  gint next_id;
  char *tmp_dir;
  char *log_path;
  char *wav_path;
};

static gpointer
reader_thread (gpointer data)
{
  GDataInputStream *in = data;
  AmgwBrowser *b = g_object_get_data (G_OBJECT (in), "amgw-browser");
  for (;;) {
    gsize len = 0;
    GError *err = NULL;
    char *line = g_data_input_stream_read_line_utf8 (in, &len, NULL, &err);
    if (line == NULL) {
      g_clear_error (&err);
      break;
    }
    g_async_queue_push (b->lines, line);
  }
  g_async_queue_push (b->lines, eof_marker);
  g_object_unref (in);
  return NULL;
}

static void
child_setup (gpointer user_data)
{
  (void) user_data;
  /* Its own process group, so that a stuck driver and its Chromium can be
   * killed together. */
  setpgid (0, 0);
}

static char *
log_tail (AmgwBrowser *b, gsize max)
{
  char *text = NULL;
  gsize len = 0;
  if (b->log_path == NULL || !g_file_get_contents (b->log_path, &text, &len, NULL))
    return g_strdup ("");
  if (len > max) {
    char *tail = g_strdup (text + len - max);
    g_free (text);
    return tail;
  }
  return text;
}

gboolean
amgw_browser_write_tone_wav (const char *path, double hz, guint seconds, GError **error)
{
  const guint32 rate = 48000;
  guint32 n = rate * (seconds ? seconds : 10);
  gsize size = 44 + (gsize) n * 2;
  guint8 *buf = g_malloc (size);
  gboolean ok;

#define PUT32(off, v) G_STMT_START { guint32 v_ = GUINT32_TO_LE (v); memcpy (buf + (off), &v_, 4); } G_STMT_END
#define PUT16(off, v) G_STMT_START { guint16 v_ = GUINT16_TO_LE (v); memcpy (buf + (off), &v_, 2); } G_STMT_END
  memcpy (buf, "RIFF", 4);
  PUT32 (4, 36 + n * 2);
  memcpy (buf + 8, "WAVEfmt ", 8);
  PUT32 (16, 16);
  PUT16 (20, 1);          /* PCM */
  PUT16 (22, 1);          /* mono */
  PUT32 (24, rate);
  PUT32 (28, rate * 2);
  PUT16 (32, 2);
  PUT16 (34, 16);
  memcpy (buf + 36, "data", 4);
  PUT32 (40, n * 2);
  for (guint32 i = 0; i < n; i++) {
    gint16 s = (gint16) lrint (16384.0 * sin (2.0 * G_PI * hz * (double) i / rate));
    PUT16 (44 + (gsize) i * 2, (guint16) s);
  }
#undef PUT32
#undef PUT16
  ok = g_file_set_contents (path, (const char *) buf, (gssize) size, error);
  g_free (buf);
  return ok;
}

static gboolean
check_file (const char *path, const char *what, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s not found (%s)", what, path);
    return FALSE;
  }
  return TRUE;
}

/* One line from the driver within @timeout_ms.  (transfer full); NULL on
 * time-out or end of output (with @error). */
static char *
next_line (AmgwBrowser *b, guint timeout_ms, GError **error)
{
  char *line;
  if (b->eof) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
        "the browser driver has exited (log: %s)", b->log_path);
    return NULL;
  }
  line = g_async_queue_timeout_pop (b->lines, (guint64) timeout_ms * 1000);
  if (line == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
        "no answer from the browser driver in %u ms (log: %s)", timeout_ms, b->log_path);
    return NULL;
  }
  if (line == eof_marker) {
    b->eof = TRUE;
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
        "the browser driver has exited (log: %s)", b->log_path);
    return NULL;
  }
  return line;
}

AmgwBrowser *
amgw_browser_start_with_source (double tone_hz, const char *source, GError **error)
{
  const char *e2e_dir = g_getenv ("AMGW_E2E_DIR");
  const char *chromium = g_getenv ("AMGW_CHROMIUM");
  g_autofree char *dir_fallback = NULL;
  g_autofree char *script = NULL;
  g_autofree char *modules = NULL;
  g_autofree char *node = NULL;
  g_autofree char *arg_tone = NULL;
  g_autofree char *arg_source = NULL;
  g_autofree char *arg_wav = NULL;
  g_autofree char *arg_chromium = NULL;
  g_autofree char *arg_name = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  GDataInputStream *in;
  AmgwBrowser *b;
  static gint counter;
  gint64 deadline;

  if (source == NULL || *source == '\0')
    source = g_getenv ("AMGW_E2E_TONE_SOURCE");
  if (source == NULL || *source == '\0')
    source = "file";
  if (strcmp (source, "file") != 0 && strcmp (source, "oscillator") != 0) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "unknown tone source \"%s\"", source);
    return NULL;
  }
  if (e2e_dir == NULL || *e2e_dir == '\0') {
    const char *srcdir = g_getenv ("G_TEST_SRCDIR");
    if (srcdir == NULL) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
          "AMGW_E2E_DIR is not set (meson test sets it to tests/e2e)");
      return NULL;
    }
    e2e_dir = dir_fallback = g_build_filename (srcdir, "e2e", NULL);
  }
  if (chromium == NULL || *chromium == '\0')
    chromium = "/usr/bin/chromium";

  script = g_build_filename (e2e_dir, "browser", "device.mjs", NULL);
  modules = g_build_filename (e2e_dir, "browser", "node_modules", "playwright-core", "package.json", NULL);
  node = g_find_program_in_path ("node");
  if (node == NULL)
    node = g_find_program_in_path ("nodejs");
  if (node == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "node is not installed (apt-get install nodejs)");
    return NULL;
  }
  if (!check_file (script, "the browser driver", error)
      || !check_file (chromium, "Chromium (apt-get install chromium)", error)
      || !check_file (modules, "playwright-core (scripts/deps --test, or npm ci in tests/e2e/browser)", error))
    return NULL;
  if (!g_file_test (chromium, G_FILE_TEST_IS_EXECUTABLE)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s is not executable", chromium);
    return NULL;
  }

  /* A write to a driver that has died must be an error, not SIGPIPE. */
  {
    struct sigaction sa;
    if (sigaction (SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
      signal (SIGPIPE, SIG_IGN);
  }

  b = g_new0 (AmgwBrowser, 1);
  b->lines = g_async_queue_new ();
  b->tmp_dir = g_dir_make_tmp ("amgw-browser-XXXXXX", error);
  if (b->tmp_dir == NULL) {
    amgw_browser_free (b);
    return NULL;
  }
  b->log_path = g_build_filename (b->tmp_dir, "device.log", NULL);
  if (strcmp (source, "file") == 0) {
    g_autofree char *name = g_strdup_printf ("tone-%g.wav", tone_hz);
    b->wav_path = g_build_filename (b->tmp_dir, name, NULL);
    if (!amgw_browser_write_tone_wav (b->wav_path, tone_hz, 10, error)) {
      amgw_browser_free (b);
      return NULL;
    }
    arg_wav = g_strdup_printf ("--wav=%s", b->wav_path);
  }

  arg_tone = g_strdup_printf ("--tone-hz=%g", tone_hz);
  arg_source = g_strdup_printf ("--source=%s", source);
  arg_chromium = g_strdup_printf ("--chromium=%s", chromium);
  arg_name = g_strdup_printf ("--name=%d", g_atomic_int_add (&counter, 1) + 1);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (launcher, b->log_path);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  b->proc = g_subprocess_launcher_spawn (launcher, error, node, script, arg_tone, arg_source,
      arg_chromium, arg_name, arg_wav /* may be NULL: ends the list */, NULL);
  if (b->proc == NULL) {
    amgw_browser_free (b);
    return NULL;
  }
  b->pid = (GPid) atoi (g_subprocess_get_identifier (b->proc));
  b->to_driver = g_object_ref (g_subprocess_get_stdin_pipe (b->proc));
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (b->proc));
  g_data_input_stream_set_newline_type (in, G_DATA_STREAM_NEWLINE_TYPE_LF);
  g_object_set_data (G_OBJECT (in), "amgw-browser", b);
  b->reader = g_thread_new ("amgw-browser-reader", reader_thread, in);

  deadline = g_get_monotonic_time () + (gint64) BROWSER_READY_TIMEOUT_MS * 1000;
  for (;;) {
    gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
    g_autofree char *line = NULL;
    cJSON *msg, *ready;
    if (left_ms <= 0) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "Chromium was not ready in %d s",
          BROWSER_READY_TIMEOUT_MS / 1000);
      break;
    }
    line = next_line (b, (guint) left_ms, error);
    if (line == NULL)
      break;
    msg = cJSON_Parse (line);
    ready = msg ? cJSON_GetObjectItemCaseSensitive (msg, "ready") : NULL;
    if (ready == NULL) {
      cJSON_Delete (msg);
      continue;    /* not the ready line: ignore */
    }
    if (cJSON_IsTrue (ready)) {
      cJSON_Delete (msg);
      return b;
    }
    {
      const cJSON *e = cJSON_GetObjectItemCaseSensitive (msg, "error");
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the browser did not start: %s",
          cJSON_IsString (e) ? e->valuestring : "unknown error");
    }
    cJSON_Delete (msg);
    break;
  }
  /* Failed to start: add what the driver said. */
  if (error != NULL && *error != NULL) {
    g_autofree char *tail = log_tail (b, 1500);
    char *msg = g_strdup_printf ("%s\n--- %s (tail) ---\n%s", (*error)->message, b->log_path, tail);
    g_free ((*error)->message);
    (*error)->message = msg;
  }
  amgw_browser_free (b);
  return NULL;
}

AmgwBrowser *
amgw_browser_start (double tone_hz, GError **error)
{
  return amgw_browser_start_with_source (tone_hz, NULL, error);
}

const char *
amgw_browser_log_path (AmgwBrowser *b)
{
  return b->log_path;
}

cJSON *
amgw_browser_request (AmgwBrowser *b, cJSON *request, guint timeout_ms, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *line = NULL;
  gint id = ++b->next_id;
  g_autofree char *cmd = NULL;
  gint64 deadline;

  g_return_val_if_fail (b != NULL && request != NULL, NULL);
  if (timeout_ms == 0)
    timeout_ms = BROWSER_COMMAND_TIMEOUT_MS;
  cJSON_DeleteItemFromObjectCaseSensitive (request, "id");
  cJSON_AddNumberToObject (request, "id", id);
  cmd = g_strdup (cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (request, "cmd")));
  if (b->eof) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE,
        "\"%s\": the browser driver has exited (log: %s)", cmd ? cmd : "?", b->log_path);
    cJSON_Delete (request);
    return NULL;
  }
  text = cJSON_PrintUnformatted (request);
  line = g_strconcat (text, "\n", NULL);
  if (!g_output_stream_write_all (b->to_driver, line, strlen (line), NULL, NULL, error)
      || !g_output_stream_flush (b->to_driver, NULL, error)) {
    g_prefix_error (error, "sending \"%s\" to the browser driver: ", cmd ? cmd : "?");
    cJSON_Delete (request);
    b->failed = TRUE;
    return NULL;
  }
  cJSON_Delete (request);

  deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;) {
    gint64 left_ms = (deadline - g_get_monotonic_time ()) / 1000;
    g_autofree char *answer = NULL;
    cJSON *msg;
    const cJSON *jid;
    if (left_ms <= 0) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
          "no answer to \"%s\" from the browser in %u ms (log: %s)", cmd ? cmd : "?", timeout_ms, b->log_path);
      b->failed = TRUE;
      return NULL;
    }
    answer = next_line (b, (guint) left_ms, error);
    if (answer == NULL) {
      g_prefix_error (error, "\"%s\": ", cmd ? cmd : "?");
      b->failed = TRUE;
      return NULL;
    }
    msg = cJSON_Parse (answer);
    jid = msg ? cJSON_GetObjectItemCaseSensitive (msg, "id") : NULL;
    if (!cJSON_IsNumber (jid) || jid->valueint != id) {
      cJSON_Delete (msg);   /* an answer to an earlier, timed-out request */
      continue;
    }
    if (!cJSON_IsTrue (cJSON_GetObjectItemCaseSensitive (msg, "ok"))) {
      const char *e = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (msg, "error"));
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "browser \"%s\": %s", cmd ? cmd : "?",
          e ? e : "failed");
      cJSON_Delete (msg);
      return NULL;
    }
    cJSON_DeleteItemFromObjectCaseSensitive (msg, "id");
    cJSON_DeleteItemFromObjectCaseSensitive (msg, "ok");
    return msg;
  }
}

static cJSON *
command (const char *cmd)
{
  cJSON *req = cJSON_CreateObject ();
  cJSON_AddStringToObject (req, "cmd", cmd);
  return req;
}

/* Runs a request and keeps only success. */
static gboolean
simple (AmgwBrowser *b, cJSON *req, GError **error)
{
  cJSON *res = amgw_browser_request (b, req, 0, error);
  cJSON_Delete (res);
  return res != NULL;
}

/* Runs a request whose answer carries "sdp". */
static char *
sdp_request (AmgwBrowser *b, cJSON *req, GError **error)
{
  cJSON *res = amgw_browser_request (b, req, 0, error);
  const char *sdp;
  char *out = NULL;
  if (res == NULL)
    return NULL;
  sdp = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (res, "sdp"));
  if (sdp != NULL)
    out = g_strdup (sdp);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the browser's answer has no \"sdp\"");
  cJSON_Delete (res);
  return out;
}

gboolean
amgw_browser_open (AmgwBrowser *b, const char *codec, GError **error)
{
  cJSON *req = command ("open");
  if (codec != NULL && *codec != '\0') {
    g_auto (GStrv) names = g_strsplit (codec, ",", -1);
    cJSON *list = cJSON_AddArrayToObject (req, "codecs");
    for (char **n = names; *n; n++) {
      g_strstrip (*n);
      if (**n)
        cJSON_AddItemToArray (list, cJSON_CreateString (*n));
    }
  }
  return simple (b, req, error);
}

char *
amgw_browser_answer (AmgwBrowser *b, const char *offer_sdp, GError **error)
{
  cJSON *req = command ("answer");
  cJSON_AddStringToObject (req, "sdp", offer_sdp);
  return sdp_request (b, req, error);
}

char *
amgw_browser_offer (AmgwBrowser *b, gboolean ice_restart, GError **error)
{
  cJSON *req = command ("offer");
  if (ice_restart)
    cJSON_AddTrueToObject (req, "iceRestart");
  return sdp_request (b, req, error);
}

gboolean
amgw_browser_apply_answer (AmgwBrowser *b, const char *answer_sdp, GError **error)
{
  cJSON *req = command ("apply_answer");
  cJSON_AddStringToObject (req, "sdp", answer_sdp);
  return simple (b, req, error);
}

gboolean
amgw_browser_set_direction (AmgwBrowser *b, const char *direction, GError **error)
{
  cJSON *req = command ("set_direction");
  cJSON_AddStringToObject (req, "direction", direction);
  return simple (b, req, error);
}

cJSON *
amgw_browser_stats (AmgwBrowser *b, GError **error)
{
  return amgw_browser_request (b, command ("stats"), 0, error);
}

static const cJSON *
stat_item (const cJSON *stats, const char *dotted_path)
{
  g_auto (GStrv) parts = g_strsplit (dotted_path, ".", -1);
  const cJSON *it = stats;
  for (char **p = parts; *p && it; p++)
    it = cJSON_IsObject (it) ? cJSON_GetObjectItemCaseSensitive (it, *p) : NULL;
  return it;
}

double
amgw_browser_stat_number (const cJSON *stats, const char *dotted_path, double fallback)
{
  const cJSON *it = stat_item (stats, dotted_path);
  return cJSON_IsNumber (it) ? it->valuedouble : fallback;
}

const char *
amgw_browser_stat_string (const cJSON *stats, const char *dotted_path)
{
  const cJSON *it = stat_item (stats, dotted_path);
  return cJSON_IsString (it) ? it->valuestring : NULL;
}

gboolean
amgw_browser_wait_connected (AmgwBrowser *b, guint timeout_ms, GError **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  g_autofree char *last = g_strdup ("unknown");
  for (;;) {
    cJSON *st = amgw_browser_stats (b, error);
    const char *state, *dtls;
    gboolean dtls_up;
    if (st == NULL)
      return FALSE;
    state = amgw_browser_stat_string (st, "connectionState");
    dtls = amgw_browser_stat_string (st, "dtlsState");
    g_free (last);
    last = g_strdup (state ? state : "unknown");
    /* connectionState is live, the statistics can be a snapshot up to 50 ms
     * old (Chromium caches them): wait for both. */
    dtls_up = g_strcmp0 (dtls, "connected") == 0;
    cJSON_Delete (st);
    if (g_strcmp0 (last, "connected") == 0 && dtls_up)
      return TRUE;
    if (g_strcmp0 (last, "failed") == 0 || g_strcmp0 (last, "closed") == 0) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the peer connection is %s", last);
      b->failed = TRUE;
      return FALSE;
    }
    if (g_get_monotonic_time () >= deadline) {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
          "not connected after %u ms (connection state %s)", timeout_ms, last);
      b->failed = TRUE;
      return FALSE;
    }
    g_usleep (100 * 1000);
  }
}

gboolean
amgw_browser_hear (AmgwBrowser *b, guint ms, double *frequency_hz, double *level_db, GError **error)
{
  cJSON *req = command ("hear");
  cJSON *res;
  cJSON_AddNumberToObject (req, "ms", ms);
  res = amgw_browser_request (b, req, BROWSER_COMMAND_TIMEOUT_MS + ms, error);
  if (res == NULL)
    return FALSE;
  if (frequency_hz)
    *frequency_hz = amgw_browser_stat_number (res, "frequency_hz", 0);
  if (level_db)
    *level_db = amgw_browser_stat_number (res, "level_db", -200);
  cJSON_Delete (res);
  return TRUE;
}

gboolean
amgw_browser_screenshot (AmgwBrowser *b, const char *path, GError **error)
{
  cJSON *req = command ("screenshot");
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  cJSON_AddStringToObject (req, "path", abs);
  return simple (b, req, error);
}

gboolean
amgw_browser_close (AmgwBrowser *b, GError **error)
{
  return simple (b, command ("close"), error);
}

static void
remove_tmp_dir (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;
  if (d != NULL) {
    while ((name = g_dir_read_name (d)) != NULL) {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
    g_dir_close (d);
  }
  g_rmdir (dir);
}

void
amgw_browser_free (AmgwBrowser *b)
{
  if (b == NULL)
    return;
  if (b->proc != NULL) {
    gint64 deadline = g_get_monotonic_time () + (gint64) BROWSER_QUIT_TIMEOUT_MS * 1000;
    gboolean ended = b->eof;
    if (!b->eof) {
      g_autofree char *line = g_strdup_printf ("{\"id\":%d,\"cmd\":\"quit\"}\n", ++b->next_id);
      g_output_stream_write_all (b->to_driver, line, strlen (line), NULL, NULL, NULL);
      g_output_stream_flush (b->to_driver, NULL, NULL);
    }
    g_output_stream_close (b->to_driver, NULL, NULL);   /* end of stdin = quit, too */
    while (!ended) {
      gint64 left = deadline - g_get_monotonic_time ();
      char *line;
      if (left <= 0)
        break;
      line = g_async_queue_timeout_pop (b->lines, (guint64) left);
      if (line == NULL)
        break;
      if (line == eof_marker) {
        b->eof = ended = TRUE;
      } else {
        g_free (line);
      }
    }
    if (!ended) {
      g_printerr ("amgw-browser: the driver did not quit in %d s; killing it\n",
          BROWSER_QUIT_TIMEOUT_MS / 1000);
      b->failed = TRUE;
    }
    /* The whole group: node, and whatever of Chromium is still there. */
    if (!ended && b->pid > 0)
      kill (-b->pid, SIGKILL);
    g_subprocess_wait (b->proc, NULL, NULL);
    if (b->pid > 0)
      kill (-b->pid, SIGKILL);   /* leftovers of a clean exit, if any (else ESRCH) */
  }
  if (b->reader != NULL)
    g_thread_join (b->reader);
  if (b->lines != NULL) {
    char *line;
    while ((line = g_async_queue_try_pop (b->lines)) != NULL)
      if (line != eof_marker)
        g_free (line);
    g_async_queue_unref (b->lines);
  }
  if (b->failed && b->log_path != NULL) {
    g_autofree char *tail = log_tail (b, 8000);
    g_printerr ("--- browser log %s (tail) ---\n%s--- end of browser log ---\n", b->log_path, tail);
  }
  g_clear_object (&b->to_driver);
  g_clear_object (&b->proc);
  if (b->tmp_dir != NULL) {
    if (g_getenv ("AMGW_E2E_KEEP") == NULL)
      remove_tmp_dir (b->tmp_dir);
    else
      g_printerr ("amgw-browser: kept %s\n", b->tmp_dir);
  }
  g_free (b->tmp_dir);
  g_free (b->log_path);
  g_free (b->wav_path);
  g_free (b);
}
