/* amgw — the Alexa meeting gateway.  Entry point. */
#include "amgw/daemon.h"
#ifdef AMGW_HAVE_WEBRTC
#include "amgw/webrtc-leg.h"
#endif

int
main (int argc, char **argv)
{
#ifdef AMGW_HAVE_WEBRTC
  amgw_daemon_set_media (amgw_media_setup, amgw_media_teardown);
#endif
  return amgw_daemon_main (argc, argv);
}
