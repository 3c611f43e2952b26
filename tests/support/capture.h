/* A packet capture on lo for the tests (dumpcap, else tshark), read back
 * with tshark: what really crossed the wire, not amgw's own word. */
#pragma once

#include <glib.h>
#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  GSubprocess *proc;
  char *dir;
  char *pcap;
  char *log;
} AmgwCapture;

/* Captures UDP on lo for at most @duration_s into a fresh temporary folder;
 * returns once the capture runs.  NULL (the test failed with why) when it
 * cannot start.  (transfer full) */
AmgwCapture *amgw_capture_start (guint duration_s);
/* SIGINT after a moment for the last packets: the file is complete after. */
void amgw_capture_stop (AmgwCapture *c);
/* Kills what still runs; prints the capture's log when the test failed;
 * removes the folder unless AMGW_KEEP_TEST_FILES is set.  NULL-safe. */
void amgw_capture_free (AmgwCapture *c);
/* `tshark -n -r FILE @args...`: its lines (one a packet; -T fields gives
 * tab-separated fields), none when it failed (the test failed then).
 * (transfer full) */
GStrv amgw_capture_read (AmgwCapture *c, const char *const *args);

G_END_DECLS
