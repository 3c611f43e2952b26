/* A packet capture on lo for the tests: see capture.h. */
#include "capture.h"
#include "baresip.h"

#include <signal.h>

AmgwCapture *
amgw_capture_start (guint duration_s)
{
  g_autofree char *dumpcap = g_find_program_in_path ("dumpcap");
  g_autofree char *duration = g_strdup_printf ("duration:%u", duration_s);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  AmgwCapture *c = g_new0 (AmgwCapture, 1);

  c->dir = g_dir_make_tmp ("amgw-pcap-XXXXXX", &error);
  g_assert_no_error (error);
  c->pcap = g_build_filename (c->dir, "lo.pcapng", NULL);
  c->log = g_build_filename (c->dir, "capture.log", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE
      | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, c->log);
  /* dumpcap (tshark's capture engine) rather than tshark: one process, that
   * SIGINT stops after it has written the file; tshark runs dumpcap as a
   * child that a killed tshark can leave behind. */
  c->proc = g_subprocess_launcher_spawn (launcher, &error, dumpcap ? "dumpcap" : "tshark",
      "-n", "-q", "-i", "lo", "-f", "udp", "-w", c->pcap, "-a", duration, NULL);
  /* "Capturing on 'Loopback: lo'" once the interface is open. */
  if (c->proc == NULL || !amgw_peer_wait_file_has (c->log, "Capturing on", 20000)) {
    g_test_fail_printf ("the capture did not start: %s", error ? error->message : c->log);
    amgw_capture_free (c);
    return NULL;
  }
  g_usleep (500 * 1000);    /* the filter in place */
  return c;
}

void
amgw_capture_stop (AmgwCapture *c)
{
  /* Let the last packets (the 200 to a BYE, say) reach the file. */
  g_usleep (300 * 1000);
  amgw_peer_stop_process (c->proc, SIGINT, 10000);
}

void
amgw_capture_free (AmgwCapture *c)
{
  if (c == NULL)
    return;
  amgw_peer_stop_process (c->proc, SIGKILL, 0);
  if (g_test_failed ()) {
    g_autofree char *log = amgw_peer_read_text (c->log);
    g_printerr ("---- capture log ----\n%s\n---------------------\n", log);
  }
  if (g_getenv ("AMGW_KEEP_TEST_FILES") == NULL)
    amgw_peer_remove_tree (c->dir);
  else
    g_printerr ("capture kept in %s\n", c->pcap);
  g_clear_object (&c->proc);
  g_free (c->pcap);
  g_free (c->log);
  g_free (c->dir);
  g_free (c);
}

GStrv
amgw_capture_read (AmgwCapture *c, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  GStrv lines;
  guint n;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) "tshark");
  g_ptr_array_add (argv, (gpointer) "-n");
  g_ptr_array_add (argv, (gpointer) "-r");
  g_ptr_array_add (argv, c->pcap);
  for (guint i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
          &err, &status, &error)) {
    g_test_fail_printf ("tshark -r: %s", error->message);
    return g_new0 (char *, 1);
  }
  if (!g_spawn_check_wait_status (status, NULL))
    g_test_fail_printf ("tshark -r failed: %s", err);
  /* One line a packet; the last one's trailing empty fields are kept (not
   * g_strchomp: it would eat their tabs). */
  lines = g_strsplit (out, "\n", -1);
  n = g_strv_length (lines);
  if (n > 0 && *lines[n - 1] == '\0') {
    g_free (lines[n - 1]);
    lines[n - 1] = NULL;
  }
  return lines;
}
