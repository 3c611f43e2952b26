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

    if (!g_socket_bind (udp, any, FALSE, NULL))
      continue;
    bound = g_socket_get_local_address (udp, NULL);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    same = g_inet_socket_address_new (lo, port);
    if (port >= 20000 && g_socket_bind (tcp, same, FALSE, NULL))
      return port;
  }
  g_error ("no free port");
  return 0;
}
