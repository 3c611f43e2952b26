/* The container image (docker/Dockerfile) in a whole meeting.
 *
 * /container/meeting runs the image that `scripts/container build` made
 * (scripts/test builds it before the suites: buildah's layer cache makes it
 * seconds when the daemon's sources are unchanged, about 3 minutes the first
 * time, base image included) in the meeting of /meeting/opus-pcmu (tests/support/meeting.h: Chromium as the
 * Alexa device, baresip as the bridge, transcoding both ways) against amgw
 * in the container: tests/e2e/container-amgw stands in for the binary
 * (`container-amgw --config FILE`, signalled and reaped as amgw would be).
 * It runs the image as it ships: amgw as uid 10001, the configuration and
 * the state bind-mounted, host networking, which here is the test's own
 * loopback-only network namespace.
 *
 * Needs root (rootful podman; no registry) and buildah and podman (scripts/deps
 * --test installs them); skipped without.  AMGW_IMAGE names another image. */
#include "meeting.h"

#include <stdio.h>
#include <unistd.h>

/* Root in the initial user namespace: under `unshare -r` (tests/netns-run
 * for other users) uid 0 is only a mapping, and rootful podman cannot run. */
static gboolean
is_real_root (void)
{
  g_autofree char *map = NULL;
  unsigned long inside = 1, outside = 1, count = 0;

  if (geteuid () != 0 || !g_file_get_contents ("/proc/self/uid_map", &map, NULL, NULL))
    return FALSE;
  return sscanf (map, "%lu %lu %lu", &inside, &outside, &count) == 3 && inside == 0
      && outside == 0 && count == 4294967295ul;
}

/* The image must have been built (scripts/container build: scripts/test
 * does it before the suites, outside the loopback-only namespace, since a
 * first build needs the Debian mirror).  Without it the test is skipped,
 * unless AMGW_CONTAINER_REQUIRED is set (scripts/test sets it): then it
 * fails. */
static gboolean
image_ready (void)
{
  const char *image = g_getenv ("AMGW_IMAGE") ? g_getenv ("AMGW_IMAGE") : "localhost/amgw:latest";
  const char *argv[] = { "podman", "image", "exists", image, NULL };
  int status = 1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
          G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL)) {
    g_autofree char *why = g_strdup_printf ("no image %s: build it first with scripts/container "
        "build (scripts/test does)", image);
    if (g_getenv ("AMGW_CONTAINER_REQUIRED"))
      g_test_fail_printf ("%s", why);
    else
      g_test_skip (why);
    return FALSE;
  }
  return TRUE;
}

static void
test_container_meeting (void)
{
  g_autofree char *buildah = g_find_program_in_path ("buildah");
  g_autofree char *podman = g_find_program_in_path ("podman");
  g_autofree char *wrapper = g_test_build_filename (G_TEST_DIST, "e2e", "container-amgw", NULL);

  if (buildah == NULL || podman == NULL) {
    g_test_skip ("buildah and podman are not installed (scripts/deps --test installs them)");
    return;
  }
  if (!is_real_root ()) {
    g_test_skip ("the image is built and run with rootful buildah and podman: run as root");
    return;
  }
  if (!g_file_test (wrapper, G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_fail_printf ("no %s: set G_TEST_SRCDIR to the tests folder", wrapper);
    return;
  }
  if (!image_ready ())
    return;
  meeting_case_run (&rig_opus_pcmu, &meet_opus_pcmu, wrapper);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A failed check still reaches the clean-up, which prints amgw's and
   * baresip's logs and ends every peer (and the container). */
  g_test_set_nonfatal_assertions ();
  /* amgw runs in the image, not under a tool of this machine. */
  g_unsetenv ("AMGW_TEST_DAEMON_WRAPPER");
  g_test_add_func ("/container/meeting", test_container_meeting);
  return g_test_run ();
}
