/* amgw — joining a call's legs: the media library's AmgwLegJoiner
 * (include/amgw/leg.h), relaying media both ways (include/amgw/relay.h). */
#pragma once

#include "amgw/config.h"

G_BEGIN_DECLS

/* Registers the joiner; @config ([media] jitter-buffer) must outlive it. */
void amgw_join_register (const AmgwConfig *config);

G_END_DECLS
