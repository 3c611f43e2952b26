/* Fuzz target: the RFC 7983 classifier must never read past the datagram. */
#include "amgw/demux.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* An exact-size copy, so a sanitizer sees any read past the end. */
  guint8 *copy = size ? malloc (size) : NULL;

  if (size)
    memcpy (copy, data, size);
  (void) amgw_packet_classify (copy, size);
  for (size_t cut = 0; cut < size && cut < 16; cut++)
    (void) amgw_packet_classify (copy, cut);
  free (copy);
  return 0;
}
