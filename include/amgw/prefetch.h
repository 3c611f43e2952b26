/* amgw — prefetch hints along the packet path.
 *
 * A call's state was last touched a packet time ago (20 ms) and is out of
 * the cache by the time its next packet comes.  A media loop asks for it
 * for all of a wake-up's events before the first callback runs, so the
 * misses overlap instead of each stalling its own callback
 * (amgw_media_watch_set_prefetch()).  What a packet reads lies in chains
 * (the socket's owner, then the leg, then the join): a hook prefetches one
 * link and names the hook for the next, which the loop calls in its next
 * sweep over the events, when this sweep's lines have had time to arrive.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _AmgwMediaPrefetch AmgwMediaPrefetch;

/* Prefetches (__builtin_prefetch) and nothing else: no locks, no writes, no
 * calls that do more.  It reads only what its caller says it may (usually
 * the start of @data that the previous sweep requested) and may set @next
 * (zeroed on entry) for the next sweep. */
typedef void (*AmgwMediaPrefetchFunc) (gconstpointer data, AmgwMediaPrefetch *next);

struct _AmgwMediaPrefetch {
  AmgwMediaPrefetchFunc fn;
  gconstpointer data;
};

/* Prefetches [@p, @p + @bytes). */
static inline void
amgw_prefetch_span (gconstpointer p, gsize bytes)
{
  const char *c = p;

  for (gsize k = 0; k < bytes; k += 64)
    __builtin_prefetch (c + k);
  if (bytes > 0)
    __builtin_prefetch (c + bytes - 1);   /* the last line, wherever @p starts */
}

G_END_DECLS
