/* Helpers for amgw's integration and e2e tests.
 *
 * The daemon is spawned with G_SPAWN_DO_NOT_REAP_CHILD and reaped here with
 * waitpid(), so no GChildWatch (and no main context) is involved: the helpers
 * work from any thread, whatever the caller's contexts are doing.
 */
#include "test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define DAEMON_START_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define DAEMON_STOP_TIMEOUT_US (20 * G_USEC_PER_SEC)
#define HEALTHZ_POLL_US (50 * 1000)
#define HEALTHZ_REQUEST_TIMEOUT_S 2
#define HTTP_TIMEOUT_S 30
#define LOG_TAIL_BYTES 6000

struct _AmgwTestDaemon {
  char *binary;
  char *tmp_dir;           /* removed by free, unless AMGW_TEST_KEEP */
  char *state_dir;
  char *config_path;
  char *log_path;
  char *url;
  guint port;
  gboolean no_config;      /* run on the embedded default configuration */
  GPid pid;
  gboolean running;
  int wait_status;         /* of the last exit, as waitpid() gave it */
  gboolean exited;         /* wait_status is meaningful */
  guint starts;
};

/* ---- HTTP ---- */

static guint
http_request (const char *method, const char *url, const char *bearer,
    const char *content_type, const char *body, gsize body_len, guint timeout_s,
    char **response_body, GError **error)
{
  GMainContext *context = g_main_context_new ();
  SoupSession *session;
  SoupMessage *msg;
  GBytes *answer;
  guint status = 0;

  if (response_body != NULL)
    *response_body = NULL;

  /* A private context: the session's sources never run on the caller's
   * contexts, so this is safe from any thread and while a FakeCloud runs. */
  g_main_context_push_thread_default (context);
  session = soup_session_new_with_options ("timeout", timeout_s, NULL);
  /* Loopback only: an http_proxy in the environment must not apply. */
  soup_session_set_proxy_resolver (session, NULL);
  msg = soup_message_new (method, url);
  if (msg == NULL) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "invalid URL \"%s\"", url);
    goto out;
  }
  if (bearer != NULL) {
    g_autofree char *value = g_strconcat ("Bearer ", bearer, NULL);

    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", value);
  }
  if (body != NULL) {
    g_autoptr (GBytes) bytes = g_bytes_new (body, body_len > 0 ? body_len : strlen (body));

    soup_message_set_request_body_from_bytes (msg,
        content_type != NULL ? content_type : "application/json", bytes);
  } else if (content_type != NULL) {
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Content-Type",
        content_type);
  }

  answer = soup_session_send_and_read (session, msg, NULL, error);
  if (answer != NULL) {
    gsize len = 0;
    const char *data = g_bytes_get_data (answer, &len);

    status = soup_message_get_status (msg);
    if (response_body != NULL) {
      *response_body = g_malloc (len + 1);
      if (len > 0)
        memcpy (*response_body, data, len);
      (*response_body)[len] = '\0';
    }
    g_bytes_unref (answer);
  }
  g_object_unref (msg);

out:
  soup_session_abort (session);
  g_object_unref (session);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return status;
}

/* @body_len 0 means strlen (@body). */
guint
amgw_test_http (const char *method, const char *url, const char *bearer,
    const char *content_type, const char *body, gsize body_len, char **response_body)
{
  g_autoptr (GError) error = NULL;
  guint status;

  status = http_request (method, url, bearer, content_type, body, body_len, HTTP_TIMEOUT_S,
      response_body, &error);
  if (status == 0)
    g_test_message ("amgw_test_http: %s %s: %s", method, url,
        error != NULL ? error->message : "no answer");
  return status;
}

/* ---- the daemon ---- */

static guint
free_loopback_port (GError **error)
{
  g_autoptr (GSocket) sock = NULL;
  g_autoptr (GSocketAddress) any = NULL;
  g_autoptr (GSocketAddress) bound = NULL;
  guint port;

  sock = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (sock == NULL)
    return 0;
  any = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  if (!g_socket_bind (sock, any, FALSE, error))
    return 0;
  bound = g_socket_get_local_address (sock, error);
  if (bound == NULL)
    return 0;
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (sock, NULL);
  return port;
}

/* Removes @path and everything below it, without following symlinks. */
static void
remove_recursive (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode)) {
    GDir *dir = g_dir_open (path, 0, NULL);
    const char *name;

    if (dir != NULL) {
      while ((name = g_dir_read_name (dir)) != NULL) {
        g_autofree char *child = g_build_filename (path, name, NULL);

        remove_recursive (child);
      }
      g_dir_close (dir);
    }
  }
  g_remove (path);
}

/* The end of the log, starting at a line.  (transfer full) */
static char *
log_tail (AmgwTestDaemon *d)
{
  g_autofree char *log = amgw_test_daemon_log (d);
  gsize len = strlen (log);
  const char *start = log;

  if (len > LOG_TAIL_BYTES) {
    const char *nl;

    start = log + len - LOG_TAIL_BYTES;
    nl = strchr (start, '\n');
    if (nl != NULL)
      start = nl + 1;
  }
  return g_strdup (start);
}

/* Reaps the daemon if it has exited; TRUE while it runs. */
static gboolean
daemon_poll (AmgwTestDaemon *d)
{
  int st;
  pid_t r;

  if (!d->running)
    return FALSE;
  do
    r = waitpid (d->pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == 0)
    return TRUE;
  d->running = FALSE;
  d->exited = r == d->pid;
  d->wait_status = st;
  g_spawn_close_pid (d->pid);
  return FALSE;
}

static void
daemon_reap_blocking (AmgwTestDaemon *d)
{
  int st = 0;
  pid_t r;

  do
    r = waitpid (d->pid, &st, 0);
  while (r < 0 && errno == EINTR);
  d->running = FALSE;
  d->exited = r == d->pid;
  d->wait_status = st;
  g_spawn_close_pid (d->pid);
}

static char *
describe_exit (AmgwTestDaemon *d)
{
  if (!d->exited)
    return g_strdup ("vanished");
  if (WIFEXITED (d->wait_status))
    return g_strdup_printf ("exited with status %d", WEXITSTATUS (d->wait_status));
  if (WIFSIGNALED (d->wait_status))
    return g_strdup_printf ("was killed by signal %d (%s)", WTERMSIG (d->wait_status),
        g_strsignal (WTERMSIG (d->wait_status)));
  return g_strdup ("stopped");
}

static void
child_setup (gpointer data)
{
#ifdef __linux__
  /* A test that crashes must not leave its daemon running.  Note: the
   * signal comes when the *thread* that spawned the daemon ends. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

static gboolean
daemon_spawn (AmgwTestDaemon *d, GError **error)
{
  const char *own_argv[] = { d->binary, "--config", d->config_path, NULL };
  const char *wrapper = g_getenv ("AMGW_TEST_DAEMON_WRAPPER");
  g_auto (GStrv) wrap_argv = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *const *argv;
  g_auto (GStrv) envp = NULL;
  g_autofree char *marker = NULL;
  int log_fd;
  gboolean ok;

  /* AMGW_TEST_DAEMON_WRAPPER="valgrind --error-exitcode=99 ..." runs the
   * daemon under a tool; the tests' clean stop then checks its verdict. */
  if (wrapper && *wrapper && !g_shell_parse_argv (wrapper, NULL, &wrap_argv, error))
    return FALSE;
  for (guint i = 0; wrap_argv && wrap_argv[i]; i++)
    g_ptr_array_add (args, wrap_argv[i]);
  for (guint i = 0; own_argv[i] && (i == 0 || !d->no_config); i++)
    g_ptr_array_add (args, (gpointer) own_argv[i]);
  g_ptr_array_add (args, NULL);
  argv = (const char *const *) args->pdata;

  log_fd = open (d->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    int e = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot open %s: %s",
        d->log_path, g_strerror (e));
    return FALSE;
  }
  d->starts++;
  marker = g_strdup_printf ("---- amgw-test: start %u: %s --config %s ----\n", d->starts,
      d->binary, d->config_path);
  if (write (log_fd, marker, strlen (marker)) < 0)
    g_test_message ("cannot write to %s: %s", d->log_path, g_strerror (errno));

  /* A debug log helps most when a test fails; the caller's GST_DEBUG wins. */
  envp = g_get_environ ();
  envp = g_environ_setenv (envp, "GST_DEBUG", "amgw*:6", FALSE);
  if (d->no_config) {
    /* The embedded default keeps its state under $XDG_DATA_HOME/amgw. */
    g_autofree char *data_home = g_path_get_dirname (d->state_dir);
    envp = g_environ_setenv (envp, "XDG_DATA_HOME", data_home, TRUE);
  }

  ok = g_spawn_async_with_pipes_and_fds (d->tmp_dir, argv, (const char *const *) envp,
      G_SPAWN_DO_NOT_REAP_CHILD | (wrap_argv ? G_SPAWN_SEARCH_PATH : 0), child_setup, NULL, -1, log_fd, log_fd, NULL, NULL, 0,
      &d->pid, NULL, NULL, NULL, error);
  close (log_fd);
  if (!ok)
    return FALSE;
  d->running = TRUE;
  d->exited = FALSE;
  return TRUE;
}

static gboolean
daemon_wait_healthy (AmgwTestDaemon *d, GError **error)
{
  g_autofree char *healthz = g_strconcat (d->url, "/healthz", NULL);
  gint64 deadline = g_get_monotonic_time () + DAEMON_START_TIMEOUT_US;
  g_autofree char *tail = NULL;
  g_autofree char *how = NULL;

  for (;;) {
    guint status;

    if (!daemon_poll (d))
      goto exited;
    status = http_request ("GET", healthz, NULL, NULL, NULL, 0, HEALTHZ_REQUEST_TIMEOUT_S,
        NULL, NULL);
    if (status == SOUP_STATUS_OK)
      return TRUE;
    if (g_get_monotonic_time () > deadline)
      goto timeout;
    g_usleep (HEALTHZ_POLL_US);
  }

  /* ERRORS */
exited:
  how = describe_exit (d);
  tail = log_tail (d);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
      "%s %s before /healthz answered 200; its log ends with:\n%s", d->binary, how, tail);
  return FALSE;
timeout:
  amgw_test_daemon_kill (d);
  tail = log_tail (d);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
      "%s: /healthz did not answer 200 within 20 s; its log ends with:\n%s", d->binary, tail);
  return FALSE;
}

AmgwTestDaemon *
amgw_test_daemon_start_binary (const char *binary, const char *config_text, GError **error)
{
  g_autoptr (GString) config = NULL;
  g_autofree char *port_text = NULL;
  AmgwTestDaemon *d;

  g_return_val_if_fail (config_text != NULL, NULL);
  if (binary == NULL || binary[0] == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
        "no amgw binary: set AMGW_TEST_DAEMON or AMGW_BINARY");
    return NULL;
  }

  d = g_new0 (AmgwTestDaemon, 1);
  d->binary = g_strdup (binary);
  d->tmp_dir = g_dir_make_tmp ("amgw-test-XXXXXX", error);
  if (d->tmp_dir == NULL)
    goto failed;
  d->state_dir = g_build_filename (d->tmp_dir, "state", NULL);
  d->config_path = g_build_filename (d->tmp_dir, "amgw.conf", NULL);
  d->log_path = g_build_filename (d->tmp_dir, "amgw.log", NULL);
  if (g_mkdir_with_parents (d->state_dir, 0700) != 0) {
    int e = errno;

    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (e), "cannot create %s: %s",
        d->state_dir, g_strerror (e));
    goto failed;
  }
  d->port = free_loopback_port (error);
  if (d->port == 0)
    goto failed;
  d->url = g_strdup_printf ("http://127.0.0.1:%u", d->port);

  port_text = g_strdup_printf ("%u", d->port);
  config = g_string_new (config_text);
  g_string_replace (config, "@PORT@", port_text, 0);
  g_string_replace (config, "@STATE@", d->state_dir, 0);
  if (!g_file_set_contents (d->config_path, config->str, (gssize) config->len, error))
    goto failed;

  if (!daemon_spawn (d, error) || !daemon_wait_healthy (d, error))
    goto failed;
  return d;

  /* ERRORS */
failed:
  amgw_test_daemon_free (d);
  return NULL;
}

AmgwTestDaemon *
amgw_test_daemon_start_default (const char *binary, GError **error)
{
  AmgwTestDaemon *d;

  if (binary == NULL || binary[0] == '\0') {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no amgw binary: set AMGW_BINARY");
    return NULL;
  }
  d = g_new0 (AmgwTestDaemon, 1);
  d->binary = g_strdup (binary);
  d->no_config = TRUE;
  d->tmp_dir = g_dir_make_tmp ("amgw-test-XXXXXX", error);
  if (d->tmp_dir == NULL)
    goto failed;
  /* $XDG_DATA_HOME = TMP/data, so the state is TMP/data/amgw. */
  d->state_dir = g_build_filename (d->tmp_dir, "data", "amgw", NULL);
  d->config_path = g_strdup ("(the embedded default)");
  d->log_path = g_build_filename (d->tmp_dir, "amgw.log", NULL);
  d->port = 8080;
  d->url = g_strdup ("http://127.0.0.1:8080");
  if (!daemon_spawn (d, error) || !daemon_wait_healthy (d, error))
    goto failed;
  return d;

  /* ERRORS */
failed:
  amgw_test_daemon_free (d);
  return NULL;
}

AmgwTestDaemon *
amgw_test_daemon_start (const char *config_text, GError **error)
{
  const char *binary = g_getenv ("AMGW_TEST_DAEMON");

  if (binary == NULL || binary[0] == '\0')
    binary = g_getenv ("AMGW_BINARY");
  return amgw_test_daemon_start_binary (binary, config_text, error);
}

/* Fails while the daemon still runs: kill or stop it first. */
gboolean
amgw_test_daemon_restart (AmgwTestDaemon *d, GError **error)
{
  g_return_val_if_fail (d != NULL, FALSE);
  if (daemon_poll (d)) {
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
        "amgw (pid %d) is still running; kill or stop it first", (int) d->pid);
    return FALSE;
  }
  return daemon_spawn (d, error) && daemon_wait_healthy (d, error);
}

void
amgw_test_daemon_kill (AmgwTestDaemon *d)
{
  g_return_if_fail (d != NULL);
  if (!daemon_poll (d))
    return;
  kill (d->pid, SIGKILL);
  daemon_reap_blocking (d);
}

/* Returns the exit code, 128 + the signal number if a signal ended the
 * daemon (as a shell reports it), or -1 if it never ran. */
int
amgw_test_daemon_stop (AmgwTestDaemon *d)
{
  gint64 deadline;

  g_return_val_if_fail (d != NULL, -1);
  if (daemon_poll (d)) {
    kill (d->pid, SIGTERM);
    deadline = g_get_monotonic_time () + DAEMON_STOP_TIMEOUT_US;
    while (daemon_poll (d) && g_get_monotonic_time () < deadline)
      g_usleep (10 * 1000);
    if (d->running) {
      g_test_message ("amgw (pid %d) ignored SIGTERM for 20 s; killing it", (int) d->pid);
      kill (d->pid, SIGKILL);
      daemon_reap_blocking (d);
    }
  }
  if (!d->exited)
    return -1;
  if (WIFEXITED (d->wait_status))
    return WEXITSTATUS (d->wait_status);
  if (WIFSIGNALED (d->wait_status))
    return 128 + WTERMSIG (d->wait_status);
  return -1;
}

void
amgw_test_daemon_free (AmgwTestDaemon *d)
{
  if (d == NULL)
    return;
  amgw_test_daemon_kill (d);
  if (d->tmp_dir != NULL) {
    if (g_getenv ("AMGW_TEST_KEEP") != NULL)
      g_printerr ("amgw-test: keeping %s\n", d->tmp_dir);
    else
      remove_recursive (d->tmp_dir);
  }
  g_free (d->binary);
  g_free (d->tmp_dir);
  g_free (d->state_dir);
  g_free (d->config_path);
  g_free (d->log_path);
  g_free (d->url);
  g_free (d);
}

const char *
amgw_test_daemon_url (AmgwTestDaemon *d)
{
  return d->url;
}

const char *
amgw_test_daemon_state_dir (AmgwTestDaemon *d)
{
  return d->state_dir;
}

char *
amgw_test_daemon_log (AmgwTestDaemon *d)
{
  char *contents = NULL;

  if (d->log_path == NULL || !g_file_get_contents (d->log_path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

gboolean
amgw_test_daemon_is_running (AmgwTestDaemon *d)
{
  return d != NULL && daemon_poll (d);
}

/* ---- Alexa messages ---- */

static char *
json_take_string (cJSON *o)
{
  char *printed = cJSON_PrintUnformatted (o);
  char *ret = g_strdup (printed);

  cJSON_free (printed);
  cJSON_Delete (o);
  return ret;
}

static cJSON *
scope_new (const char *token)
{
  cJSON *scope = cJSON_CreateObject ();

  cJSON_AddStringToObject (scope, "type", "BearerToken");
  if (token != NULL)
    cJSON_AddStringToObject (scope, "token", token);
  return scope;
}

/* @endpoint_id NULL leaves the endpoint out (besides Discover and
 * AcceptGrant, which never have one); @token NULL leaves the scope's token
 * out.  Returns NULL (with a critical) if @payload_json is not an object. */
char *
amgw_test_directive (const char *namespace_, const char *name, const char *endpoint_id,
    const char *token, const char *payload_json)
{
  cJSON *root, *directive, *header, *payload;
  g_autofree char *message_id = g_uuid_string_random ();
  gboolean discover, accept_grant;

  g_return_val_if_fail (namespace_ != NULL && name != NULL, NULL);
  payload = cJSON_Parse (payload_json != NULL ? payload_json : "{}");
  if (!cJSON_IsObject (payload)) {
    g_critical ("amgw_test_directive: payload is not a JSON object: %s", payload_json);
    cJSON_Delete (payload);
    return NULL;
  }
  discover = strcmp (namespace_, "Alexa.Discovery") == 0 && strcmp (name, "Discover") == 0;
  accept_grant = strcmp (namespace_, "Alexa.Authorization") == 0 &&
      strcmp (name, "AcceptGrant") == 0;

  root = cJSON_CreateObject ();
  directive = cJSON_AddObjectToObject (root, "directive");
  header = cJSON_AddObjectToObject (directive, "header");
  cJSON_AddStringToObject (header, "namespace", namespace_);
  cJSON_AddStringToObject (header, "name", name);
  cJSON_AddStringToObject (header, "messageId", message_id);
  cJSON_AddStringToObject (header, "correlationToken", AMGW_TEST_CORRELATION_TOKEN);
  cJSON_AddStringToObject (header, "payloadVersion", "3");
  if (discover) {
    cJSON_DeleteItemFromObjectCaseSensitive (payload, "scope");
    cJSON_AddItemToObject (payload, "scope", scope_new (token));
  } else if (!accept_grant && endpoint_id != NULL) {
    cJSON *endpoint = cJSON_AddObjectToObject (directive, "endpoint");

    cJSON_AddStringToObject (endpoint, "endpointId", endpoint_id);
    cJSON_AddObjectToObject (endpoint, "cookie");
    cJSON_AddItemToObject (endpoint, "scope", scope_new (token));
  }
  cJSON_AddItemToObject (directive, "payload", payload);
  return json_take_string (root);
}

/* @session_id NULL leaves request.sessionId out.  Members of @extra_json
 * replace those of the same name.  Returns NULL (with a critical) if
 * @extra_json is not an object. */
char *
amgw_test_event (const char *type, const char *session_id, const char *extra_json)
{
  cJSON *root, *context, *system, *o, *session, *request, *extra = NULL, *m;
  g_autofree char *skill_session = NULL;
  g_autofree char *request_id = NULL;
  g_autofree char *type_name = NULL;
  g_autofree char *timestamp = NULL;
  g_autofree char *u1 = g_uuid_string_random ();
  g_autofree char *u2 = g_uuid_string_random ();
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

  g_return_val_if_fail (type != NULL, NULL);
  if (extra_json != NULL) {
    extra = cJSON_Parse (extra_json);
    if (!cJSON_IsObject (extra)) {
      g_critical ("amgw_test_event: extra is not a JSON object: %s", extra_json);
      cJSON_Delete (extra);
      return NULL;
    }
  }
  skill_session = g_strconcat ("amzn1.echo-api.session.", u1, NULL);
  request_id = g_strconcat ("amzn1.echo-api.request.", u2, NULL);
  type_name = g_strconcat ("Alexa.Comms.CallSignaling.", type, NULL);
  timestamp = g_date_time_format (now, "%Y-%m-%dT%H:%M:%SZ");

  root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "version", "1.0");
  context = cJSON_AddObjectToObject (root, "context");
  system = cJSON_AddObjectToObject (context, "System");
  o = cJSON_AddObjectToObject (system, "application");
  cJSON_AddStringToObject (o, "applicationId", "amzn1.ask.skill.test");
  o = cJSON_AddObjectToObject (system, "user");
  cJSON_AddStringToObject (o, "userId", "amzn1.ask.account.test");
  o = cJSON_AddObjectToObject (system, "device");
  cJSON_AddStringToObject (o, "deviceId", "amzn1.ask.device.test");
  cJSON_AddObjectToObject (o, "supportedInterfaces");
  cJSON_AddStringToObject (system, "apiEndpoint", "https://api.amazonalexa.com");
  cJSON_AddStringToObject (system, "apiAccessToken", "amgw-test-api-access-token");

  session = cJSON_AddObjectToObject (root, "session");
  cJSON_AddFalseToObject (session, "new");
  cJSON_AddStringToObject (session, "sessionId", skill_session);
  o = cJSON_AddObjectToObject (session, "application");
  cJSON_AddStringToObject (o, "applicationId", "amzn1.ask.skill.test");

  request = cJSON_AddObjectToObject (root, "request");
  cJSON_AddStringToObject (request, "type", type_name);
  cJSON_AddStringToObject (request, "requestId", request_id);
  cJSON_AddStringToObject (request, "timestamp", timestamp);
  cJSON_AddStringToObject (request, "locale", "en-US");
  if (session_id != NULL)
    cJSON_AddStringToObject (request, "sessionId", session_id);
  if (extra != NULL) {
    while ((m = extra->child) != NULL) {
      char *key = g_strdup (m->string);

      cJSON_DetachItemViaPointer (extra, m);
      cJSON_DeleteItemFromObjectCaseSensitive (request, key);
      cJSON_AddItemToObject (request, key, m);
      g_free (key);
    }
    cJSON_Delete (extra);
  }
  return json_take_string (root);
}

static const char sdp_offer[] =
    "v=0\r\n"
    "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS amgw-test\r\n"
    "m=audio 40000 UDP/TLS/RTP/SAVPF 111 9 0 8 101\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=rtcp:40000 IN IP4 127.0.0.1\r\n"
    "a=candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:tEsT\r\n"
    "a=ice-pwd:amgwTestOfferIcePwd0123\r\n"
    "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:"
    "19:E5:7C:AB:3E:4A:C5:D8:2F:49:A1:E7:12:33:84:10\r\n"
    "a=setup:actpass\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:amgw-test amgw-test-audio\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-15\r\n"
    "a=ssrc:1001 cname:amgw-test\r\n";

static const char sdp_answer[] =
    "v=0\r\n"
    "o=- 7309816523764031117 2 IN IP4 127.0.0.1\r\n"
    "s=-\r\n"
    "t=0 0\r\n"
    "a=group:BUNDLE 0\r\n"
    "a=msid-semantic: WMS amgw-test-peer\r\n"
    "m=audio 40002 UDP/TLS/RTP/SAVPF 111\r\n"
    "c=IN IP4 127.0.0.1\r\n"
    "a=rtcp:40002 IN IP4 127.0.0.1\r\n"
    "a=candidate:1 1 udp 2130706431 127.0.0.1 40002 typ host\r\n"
    "a=end-of-candidates\r\n"
    "a=ice-ufrag:pEeR\r\n"
    "a=ice-pwd:amgwTestAnswerIcePwd012\r\n"
    "a=fingerprint:sha-256 7B:1C:0E:55:A3:9D:F2:64:08:BE:31:C7:5A:92:E6:0F:"
    "D4:21:8C:7E:B3:46:09:FA:65:D8:2C:11:9E:70:AB:C3\r\n"
    "a=setup:active\r\n"
    "a=mid:0\r\n"
    "a=sendrecv\r\n"
    "a=msid:amgw-test-peer amgw-test-peer-audio\r\n"
    "a=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\n"
    "a=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=ssrc:2002 cname:amgw-test-peer\r\n";

const char *
amgw_test_sdp (gboolean offer)
{
  return offer ? sdp_offer : sdp_answer;
}

/* ---- waiting ---- */

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
amgw_test_wait_until (gboolean (*cond) (gpointer), gpointer data, guint timeout_ms)
{
  GMainContext *context = g_main_context_default ();
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  GSource *tick;
  gboolean done;

  /* The tick bounds each blocking iteration, so the deadline is honoured
   * even when nothing else happens on the context. */
  tick = g_timeout_source_new (10);
  g_source_set_callback (tick, wake_up, NULL, NULL);
  g_source_attach (tick, context);
  while (!(done = cond (data)) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  return done;
}

static gboolean
flag_timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
amgw_test_wait_flag (const gboolean *flag, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, flag_timeout_cb, &timed_out);

  while (!*flag && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return *flag;
}

void
amgw_test_spin_ms (guint ms)
{
  gboolean done = FALSE;
  amgw_test_wait_flag (&done, ms);
}

GPid
amgw_test_daemon_pid (AmgwTestDaemon *d)
{
  return d->running ? d->pid : 0;
}

gboolean
amgw_test_problems_contain (GPtrArray *problems, const char *needle)
{
  for (guint i = 0; i < problems->len; i++) {
    if (strstr (g_ptr_array_index (problems, i), needle) != NULL)
      return TRUE;
  }
  return FALSE;
}

void
amgw_test_dump_problems (GPtrArray *problems)
{
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("problem: %s", (const char *) g_ptr_array_index (problems, i));
}

guint16
amgw_test_free_port (void)
{
  for (guint attempt = 0; attempt < 50; attempt++) {
    g_autoptr (GSocket) udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
        G_SOCKET_PROTOCOL_UDP, NULL);
    g_autoptr (GSocket) tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
        G_SOCKET_PROTOCOL_TCP, NULL);
    g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
    g_autoptr (GSocketAddress) bound = NULL;
    g_autoptr (GSocketAddress) same = NULL;
    guint16 port;

    if (udp == NULL || tcp == NULL || !g_socket_bind (udp, any, FALSE, NULL))
      continue;
    bound = g_socket_get_local_address (udp, NULL);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    same = g_inet_socket_address_new (lo, port);
    if (port >= 20000 && g_socket_bind (tcp, same, FALSE, NULL))
      return port;
  }
  return 0;
}
