/* amgw — the daemon: options, configuration, wiring, main loop, signals. */
#include "amgw/daemon.h"
#include "amgw/alexa-client.h"
#include "amgw/call.h"
#include "amgw/config.h"
#include "amgw/debug.h"
#include "amgw/directory.h"
#include "amgw/http-api.h"
#include "amgw/http-client.h"
#include "amgw/lwa.h"
#include "amgw/sandbox.h"
#include "amgw/store.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <libsoup/soup.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#define GST_CAT_DEFAULT amgw_daemon_debug

/* How long a stop waits for the last CallEnded requests to reach Alexa. */
#define AMGW_STOP_FLUSH_MS 5000

static AmgwMediaSetup media_setup;
static AmgwMediaTeardown media_teardown;

void
amgw_daemon_set_media (AmgwMediaSetup setup, AmgwMediaTeardown teardown)
{
  media_setup = setup;
  media_teardown = teardown;
}

typedef struct {
  GMainLoop *loop;
  AmgwDirectory *directory;
  int signal;
  AmgwGateway *gw;
  guint drain_timeout_s;
  gint64 drain_deadline_us;  /* 0: not draining */
  guint drain_timer;
} Daemon;

static gboolean
on_stop_signal (gpointer user_data)
{
  Daemon *d = user_data;

  GST_INFO ("stop requested; ending calls");
  g_print ("amgw: stopping\n");
  g_main_loop_quit (d->loop);
  return G_SOURCE_CONTINUE;
}

/* While draining, once a second: stop when the last call has ended or the
 * grace period is over. */
static gboolean
on_drain_tick (gpointer user_data)
{
  Daemon *d = user_data;
  guint calls = amgw_gateway_count_calls (d->gw);

  if (calls > 0 && g_get_monotonic_time () < d->drain_deadline_us)
    return G_SOURCE_CONTINUE;
  if (calls > 0)
    GST_WARNING ("drain-timeout is over with %u call(s) still active: ending them", calls);
  else
    GST_INFO ("drained: no call left");
  d->drain_timer = 0;
  g_print ("amgw: stopping\n");
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

/* SIGTERM: drain (no new meetings; active ones may finish within
 * [gateway] drain-timeout), then stop.  A second SIGTERM stops at once. */
static gboolean
on_term_signal (gpointer user_data)
{
  Daemon *d = user_data;
  guint calls = amgw_gateway_count_calls (d->gw);

  if (d->drain_deadline_us != 0 || calls == 0 || d->drain_timeout_s == 0)
    return on_stop_signal (d);
  d->drain_deadline_us = g_get_monotonic_time () + (gint64) d->drain_timeout_s * G_USEC_PER_SEC;
  amgw_gateway_set_accepting (d->gw, FALSE);
  GST_INFO ("SIGTERM: draining %u call(s) for at most %u s", calls, d->drain_timeout_s);
  g_print ("amgw: draining %u call(s) for at most %u s (SIGTERM again: stop now)\n", calls,
      d->drain_timeout_s);
  d->drain_timer = g_timeout_add (1000, on_drain_tick, d);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_hup (gpointer user_data)
{
  Daemon *d = user_data;
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;

  if (d->directory && !amgw_directory_reload (d->directory, problems, &error)) {
    GST_WARNING ("meeting directory not reloaded: %s", error->message);
    for (guint i = 0; i < problems->len; i++)
      GST_WARNING ("%s", (char *) problems->pdata[i]);
  } else {
    GST_INFO ("meeting directory reloaded (%u meetings)",
        d->directory ? amgw_directory_size (d->directory) : 0);
  }
  return G_SOURCE_CONTINUE;
}

/* The forwarding secret from the configuration, or else the one kept in the
 * state folder (made on first start, mode 0600) so that the embedded default
 * configuration is never open to anyone who can reach the port. */
static char *
forwarding_secret (const AmgwConfig *cfg, GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  guint8 raw[24];

  if (cfg->forwarding_secret)
    return g_strdup (cfg->forwarding_secret);

  path = g_build_filename (cfg->state_dir, "forwarding-secret", NULL);
  if (g_file_get_contents (path, &text, NULL, NULL)) {
    g_strstrip (text);
    if (strlen (text) >= 16)
      return g_steal_pointer (&text);
  }
  for (guint i = 0; i < sizeof raw; i += 4) {
    guint32 r = g_random_int ();
    memcpy (raw + i, &r, 4);
  }
  g_free (text);
  text = g_base64_encode (raw, sizeof raw);
  for (char *p = text; *p; p++)
    if (*p == '+') *p = '-'; else if (*p == '/') *p = '_';
  if (g_mkdir_with_parents (cfg->state_dir, 0700) != 0 ||
      !g_file_set_contents_full (path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return NULL;
  g_print ("amgw: no [gateway] forwarding-secret configured; made one in %s\n", path);
  return g_steal_pointer (&text);
}

static int
check_config (const char *path)
{
  g_autoptr (GPtrArray) problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) error = NULL;
  g_autoptr (AmgwConfig) cfg = amgw_config_load_file (path, problems, &error);

  for (guint i = 0; i < problems->len; i++)
    g_printerr ("%s\n", (char *) problems->pdata[i]);
  if (cfg == NULL) {
    if (problems->len == 0)
      g_printerr ("%s: %s\n", path, error->message);
    return 1;
  }
  if (cfg->meetings_directory) {
    g_autoptr (GPtrArray) dprob = g_ptr_array_new_with_free_func (g_free);
    AmgwDirectory *dir = amgw_directory_new (cfg->meetings_directory);
    gboolean ok = amgw_directory_reload (dir, dprob, &error);

    for (guint i = 0; i < dprob->len; i++)
      g_printerr ("%s\n", (char *) dprob->pdata[i]);
    if (!ok && dprob->len == 0)
      g_printerr ("%s: %s\n", cfg->meetings_directory, error->message);
    amgw_directory_free (dir);
    if (!ok)
      return 1;
  }
  g_print ("%s: OK (%u room%s)\n", path, cfg->rooms->len, cfg->rooms->len == 1 ? "" : "s");
  return 0;
}

static void
print_version (void)
{
  curl_version_info_data *cv = curl_version_info (CURLVERSION_NOW);
  g_autofree char *gst = gst_version_string ();

  g_print ("amgw %s\n", AMGW_VERSION);
  g_print ("  GLib %u.%u.%u, %s, libsoup %u.%u.%u, libcurl %s, SQLite %s\n",
      glib_major_version, glib_minor_version, glib_micro_version, gst,
      soup_get_major_version (), soup_get_minor_version (), soup_get_micro_version (),
      cv->version, sqlite3_libversion ());
}

/* Each call holds a dozen or so descriptors (ICE, DTLS, RTP and RTCP
 * sockets, the direct path's socket, wake-up eventfds), so the soft limit
 * of 1024 that many hosts give a process runs out well below max-calls =
 * 100.  Take the hard limit, which is the operator's to set, and say so
 * when even that is short of what max-calls needs. */
#define AMGW_FDS_PER_CALL 16
#define AMGW_FDS_BASE 256

static void
raise_open_file_limit (guint max_calls)
{
  struct rlimit rl;
  rlim_t before, need = AMGW_FDS_BASE + (rlim_t) max_calls * AMGW_FDS_PER_CALL;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0) {
    GST_WARNING ("cannot read the open-file limit: %s", g_strerror (errno));
    return;
  }
  before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &rl) == 0)
      GST_INFO ("open-file limit raised from %llu to the hard limit %llu",
          (unsigned long long) before, (unsigned long long) rl.rlim_cur);
    else
      rl.rlim_cur = before;
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
    GST_WARNING ("the open-file limit is %llu, below the %llu that max-calls = %u needs (about %u "
        "a call): calls may fail before max-calls; raise the hard limit (LimitNOFILE= for "
        "systemd, --ulimit nofile= for podman and docker)",
        (unsigned long long) rl.rlim_cur, (unsigned long long) need, max_calls,
        AMGW_FDS_PER_CALL);
}

static gboolean
flush_done (gpointer user_data)
{
  return amgw_alexa_client_pending (user_data) == 0;
}

int
amgw_daemon_main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *check_path = NULL;
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Run with the configuration in FILE (default: the embedded configuration)", "FILE" },
    { "check-config", 0, 0, G_OPTION_ARG_FILENAME, &check_path,
      "Check FILE, print every problem with its line and key, and exit", "FILE" },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) problems = NULL;
  g_autoptr (AmgwConfig) cfg = NULL;
  g_autofree char *secret = NULL;
  AmgwStore *store = NULL;
  AmgwHttpClient *http = NULL;
  AmgwLwa *lwa = NULL;
  AmgwAlexaClient *alexa = NULL;
  AmgwGateway *gw = NULL;
  AmgwHttpApi *api = NULL;
  AmgwSandbox *sandbox = NULL;
  Daemon d = { 0, };
  guint sig_int = 0, sig_term = 0, sig_hup = 0;
  int status = 1;

  ctx = g_option_context_new ("- the Alexa meeting gateway");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_set_description (ctx,
      "Debug log: GST_DEBUG=amgw*:5 (one category per module: amgw-http, amgw-alexa, amgw-lwa,\n"
      "amgw-call, amgw-store, ...). Every line about a call starts with [sessionId].\n");
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("amgw: %s\n", error->message);
    return 2;
  }
  amgw_debug_init ();

  if (version) {
    print_version ();
    return 0;
  }
  if (check_path)
    return check_config (check_path);

  problems = g_ptr_array_new_with_free_func (g_free);
  if (config_path)
    cfg = amgw_config_load_file (config_path, problems, &error);
  else
    cfg = amgw_config_new_default ();
  if (cfg == NULL) {
    for (guint i = 0; i < problems->len; i++)
      g_printerr ("%s\n", (char *) problems->pdata[i]);
    if (problems->len == 0)
      g_printerr ("amgw: %s\n", error->message);
    return 1;
  }

  /* No Alexa credentials: amgw plays Alexa itself (signaling/sandbox.c).
   * This changes cfg (state folder, LWA client, a room) before its use. */
  if (amgw_sandbox_wanted (cfg)) {
    sandbox = amgw_sandbox_new (cfg, &error);
    if (sandbox == NULL) {
      g_printerr ("amgw: no Alexa credentials and no sandbox: %s\n", error->message);
      g_clear_error (&error);
    }
  }

  raise_open_file_limit (cfg->max_calls);
  secret = forwarding_secret (cfg, &error);
  if (secret == NULL)
    goto no_secret;
  store = amgw_store_open (cfg->state_dir, &error);
  if (store == NULL)
    goto no_store;
  if (cfg->meetings_directory) {
    d.directory = amgw_directory_new (cfg->meetings_directory);
    g_clear_pointer (&problems, g_ptr_array_unref);
    problems = g_ptr_array_new_with_free_func (g_free);
    if (!amgw_directory_reload (d.directory, problems, &error)) {
      for (guint i = 0; i < problems->len; i++)
        g_printerr ("%s\n", (char *) problems->pdata[i]);
      g_printerr ("amgw: meeting directory: %s\n", error->message);
      g_clear_error (&error);
    }
  } else {
    d.directory = amgw_directory_new (NULL);
  }

  if (media_setup && !media_setup (cfg, &error))
    goto no_media;

  http = amgw_http_client_new (NULL, cfg->request_timeout_ms);
  /* The API listens before the Alexa side is made: in sandbox mode the
   * Alexa and LWA URLs are routes of this listener, on the port it got. */
  api = amgw_http_api_new (NULL, secret);
  if (!amgw_http_api_listen (api, cfg->listen_host, cfg->listen_port, &error))
    goto no_listen;
  if (sandbox)
    amgw_sandbox_set_port (sandbox, cfg, amgw_http_api_get_port (api));
  lwa = amgw_lwa_new (http, store, cfg->lwa_url, cfg->client_id, cfg->client_secret,
      cfg->refresh_token);
  alexa = amgw_alexa_client_new (http, lwa, cfg->api_url, cfg->max_retries);
  gw = amgw_gateway_new (cfg, store, alexa, lwa, d.directory);
  amgw_http_api_set_gateway (api, gw);
  if (sandbox) {
    amgw_sandbox_start (sandbox, gw, secret);
    amgw_http_api_set_sandbox (api, sandbox);
  }

  g_print ("amgw %s: HTTP API on http://%s%s%s:%u (configuration: %s, state: %s)\n", AMGW_VERSION,
      strchr (cfg->listen_host, ':') ? "[" : "", cfg->listen_host,
      strchr (cfg->listen_host, ':') ? "]" : "", amgw_http_api_get_port (api), cfg->source,
      amgw_store_get_path (store));
  GST_INFO ("amgw %s started; %u room(s); Alexa link: %s", AMGW_VERSION, cfg->rooms->len,
      amgw_lwa_state_name (amgw_lwa_get_state (lwa)));

  d.loop = g_main_loop_new (NULL, FALSE);
  sig_int = g_unix_signal_add (SIGINT, on_stop_signal, &d);
  d.gw = gw;
  d.drain_timeout_s = cfg->drain_timeout_s;
  sig_term = g_unix_signal_add (SIGTERM, on_term_signal, &d);
  sig_hup = g_unix_signal_add (SIGHUP, on_hup, &d);

  amgw_gateway_recover (gw);
  g_main_loop_run (d.loop);
  g_clear_handle_id (&d.drain_timer, g_source_remove);

  /* Stop: no new calls, end the active ones, give their CallEnded a few
   * seconds to reach Alexa. */
  amgw_gateway_set_accepting (gw, FALSE);
  amgw_gateway_end_all (gw, AMGW_RESULT_INTERNAL_ERROR, "the gateway is shutting down");
  {
    gint64 deadline = g_get_monotonic_time () + AMGW_STOP_FLUSH_MS * 1000;
    while (!flush_done (alexa) && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
    if (!flush_done (alexa))
      GST_WARNING ("%u request(s) to Alexa were still pending at exit",
          amgw_alexa_client_pending (alexa));
  }
  /* Let deferred frees run. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  status = 0;
  g_source_remove (sig_int);
  g_source_remove (sig_term);
  g_source_remove (sig_hup);
  g_main_loop_unref (d.loop);
  goto out;

  /* ERRORS */
no_secret:
  g_printerr ("amgw: cannot make a forwarding secret in %s: %s\n", cfg->state_dir, error->message);
  goto out;
no_store:
  g_printerr ("amgw: state store: %s\n", error->message);
  goto out;
no_media:
  g_printerr ("amgw: media: %s\n", error->message);
  goto out;
no_listen:
  g_printerr ("amgw: cannot listen on %s:%u: %s\n", cfg->listen_host, cfg->listen_port,
      error->message);
  goto out;

out:
  amgw_sandbox_free (sandbox);  /* before the API and the gateway it uses */
  amgw_http_api_free (api);
  amgw_gateway_free (gw);
  if (alexa)
    amgw_alexa_client_free (alexa);
  if (lwa)
    amgw_lwa_free (lwa);
  if (http)
    amgw_http_client_free (http);
  if (d.directory)
    amgw_directory_free (d.directory);
  if (media_setup && media_teardown)
    media_teardown ();
  if (store)
    amgw_store_close (store);
  return status;
}
