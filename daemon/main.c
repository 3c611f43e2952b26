/* amgw — the Alexa meeting gateway.  Entry point. */
#include "amgw/daemon.h"

int
main (int argc, char **argv)
{
  return amgw_daemon_main (argc, argv);
}
