/* amgw — the daemon: options, configuration, wiring, main loop, signals. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* `amgw --config FILE`, `amgw --check-config FILE`, `amgw --version`; without
 * --config it runs on the embedded default configuration.  Returns the exit
 * status.  Leg implementations register themselves (amgw_leg_register)
 * before this is called. */
int amgw_daemon_main (int argc, char **argv);

G_END_DECLS
