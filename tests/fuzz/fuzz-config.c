/* Fuzz target: the configuration parser (amgw_config_load_data). */
#include "amgw/config.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  GError *error = NULL;
  AmgwConfig *config;

  config = amgw_config_load_data ((const char *) data, (gssize) size, "fuzz.conf", problems,
      &error);
  /* Either a config or an error, never both, never neither. */
  g_assert ((config == NULL) != (error == NULL));
  if (config != NULL) {
    g_assert (problems->len == 0);
    for (guint i = 0; i < config->rooms->len; i++) {
      const AmgwRoom *room = g_ptr_array_index (config->rooms, i);
      g_assert (amgw_config_find_room (config, room->endpoint_id) == room);
      g_assert (amgw_config_find_room_by_name (config, room->name) == room);
    }
  } else {
    g_assert (problems->len > 0);
  }
  amgw_config_free (config);
  g_clear_error (&error);
  g_ptr_array_unref (problems);
  return 0;
}
