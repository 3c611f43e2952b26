/* A process's CPU time, resident memory and threads from /proc, for the
 * benchmarks (scripts/bench-*): figures printed, never asserted. */
#pragma once

#include <glib.h>
#include <string.h>
#include <unistd.h>

/* User + system CPU seconds of @pid so far; -1 when it is gone. */
static inline double
proc_cpu_seconds (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  g_auto (GStrv) f = NULL;
  char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strrchr (text, ')')) == NULL)
    return -1;
  /* After the command name (which may hold spaces) and the state: utime and
   * stime are fields 14 and 15, i.e. 11 and 12 here. */
  f = g_strsplit (p + 2, " ", 0);
  if (g_strv_length (f) < 13)
    return -1;
  return (g_ascii_strtod (f[11], NULL) + g_ascii_strtod (f[12], NULL)) / sysconf (_SC_CLK_TCK);
}

/* A "Key:" number of /proc/PID/status (VmRSS in KiB, Threads); -1 if absent. */
static inline double
proc_status_value (GPid pid, const char *key)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", pid);
  g_autofree char *text = NULL;
  char *p;

  if (!g_file_get_contents (path, &text, NULL, NULL) || (p = strstr (text, key)) == NULL)
    return -1;
  return g_ascii_strtod (p + strlen (key), NULL);
}
