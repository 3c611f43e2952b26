/* Shared by the SIP integration tests (SIPp, baresip, TLS). */
#pragma once

#include <gio/gio.h>

/* amgw-testd built without the SIP leg exits 2 when asked for it. */
static inline gboolean
testd_has_sip (void)
{
  const char *daemon = g_getenv ("AMGW_TEST_DAEMON");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) proc = NULL;

  if (daemon == NULL)
    return FALSE;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
      | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_setenv (launcher, "AMGW_TESTD_REAL_SIP", "1", TRUE);
  proc = g_subprocess_launcher_spawn (launcher, NULL, daemon, "--version", NULL);
  if (proc == NULL || !g_subprocess_wait (proc, NULL, NULL))
    return FALSE;
  return g_subprocess_get_if_exited (proc) && g_subprocess_get_exit_status (proc) == 0;
}

/* A port free for both UDP and TCP on 127.0.0.1 (the namespace is ours). */
static inline guint16
free_port (void)
{
  guint16 port = amgw_test_free_port ();

  if (port == 0)
    g_error ("no free port");
  return port;
}
