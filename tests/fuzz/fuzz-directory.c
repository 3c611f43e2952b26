/* Fuzz target: the meeting directory parser (amgw_directory_load_data). */
#include "amgw/directory.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;
  AmgwDirectory *dir;

  dir = amgw_directory_load_data ((const char *) data, (gssize) size, "fuzz.ini", problems,
      &error);
  g_assert ((dir == NULL) != (error == NULL));
  if (dir != NULL) {
    const AmgwMeeting *m;

    g_assert (problems->len == 0);
    m = amgw_directory_lookup (dir, "a");
    g_assert (m == NULL || m->start_ms < m->end_ms);
    m = amgw_directory_current (dir, "Board", "board-1", G_GINT64_CONSTANT (1795338000000));
    g_assert (m == NULL || (m->start_ms <= G_GINT64_CONSTANT (1795338000000)
            && G_GINT64_CONSTANT (1795338000000) < m->end_ms));
    (void) amgw_directory_size (dir);
  } else {
    g_assert (problems->len > 0);
  }
  amgw_directory_free (dir);
  g_clear_error (&error);
  g_ptr_array_unref (problems);
  return 0;
}
