/* Replay main for fuzz targets: feeds every file named on the command line
 * (folders are walked one level) to LLVMFuzzerTestOneInput, so every fuzz
 * target runs over its corpus in each CI build without libFuzzer. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
run_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;

  if (!g_file_get_contents (path, &data, &len, &error)) {
    g_printerr ("replay: %s\n", error->message);
    return 1;
  }
  LLVMFuzzerTestOneInput ((const uint8_t *) data, len);
  return 0;
}

int
main (int argc, char **argv)
{
  int n = 0, failed = 0;

  for (int i = 1; i < argc; i++) {
    if (g_file_test (argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr (GDir) dir = g_dir_open (argv[i], 0, NULL);
      const char *name;
      while (dir && (name = g_dir_read_name (dir)) != NULL) {
        g_autofree char *p = g_build_filename (argv[i], name, NULL);
        failed |= run_file (p);
        n++;
      }
    } else {
      failed |= run_file (argv[i]);
      n++;
    }
  }
  /* Plus the degenerate inputs every parser must survive. */
  LLVMFuzzerTestOneInput ((const uint8_t *) "", 0);
  LLVMFuzzerTestOneInput ((const uint8_t *) "{", 1);
  printf ("replayed %d inputs\n", n + 2);
  return failed;
}
