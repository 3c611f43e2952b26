/* amgw — the daemon: options, configuration, wiring, main loop, signals. */
#pragma once

#include <glib.h>
#include "amgw/config.h"

G_BEGIN_DECLS

/* `amgw --config FILE`, `amgw --check-config FILE`, `amgw --version`; without
 * --config it runs on the embedded default configuration.  Returns the exit
 * status.  Leg implementations register themselves (amgw_leg_register)
 * before this is called. */
int amgw_daemon_main (int argc, char **argv);

/* The media half, set up once the configuration is loaded and torn down
 * after the last call: the amgw binary passes amgw_media_setup/teardown;
 * the test daemon with scripted legs passes nothing. */
typedef gboolean (*AmgwMediaSetup) (const AmgwConfig *config, GError **error);
typedef void (*AmgwMediaTeardown) (void);
void amgw_daemon_set_media (AmgwMediaSetup setup, AmgwMediaTeardown teardown);

G_END_DECLS
