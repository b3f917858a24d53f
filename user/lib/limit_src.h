/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_limit_src from the model: (service id, client address) for every
 * frontend whose rate limit has sources. Written after the reconciler
 * gave the frontends their ids; a diff, like every other map.
 */
#ifndef SLUICE_LIMIT_SRC_H
#define SLUICE_LIMIT_SRC_H

#include "maps.h"
#include "model.h"
#include "state.h"

/* Before anything is written: do the pairs fit sluice_limit_src? */
int sl_limit_src_check(const struct sl_maps *maps, const struct sl_model *model,
		       struct sl_err *err);
/* Makes sluice_limit_src hold exactly the model's pairs, by the ids in st. */
int sl_limit_src_reconcile(const struct sl_maps *maps, const struct sl_state *st,
			   const struct sl_model *model, struct sl_err *err);

#endif
