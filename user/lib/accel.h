/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Reading the state of same-node acceleration from the maps. */
#ifndef SLUICE_ACCEL_H
#define SLUICE_ACCEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sluice/abi.h>

#include "err.h"
#include "maps.h"

struct sl_accel_view {
	bool enabled;			/* sluice_settings.redirect */
	uint32_t sockhash_id;		/* kernel id of sluice_sockhash */
	uint32_t members;		/* sockets in the sockhash now */
	struct sl_redir_stats stats;
};

int sl_accel_read(const struct sl_maps *m, struct sl_accel_view *v, struct sl_err *err);

#endif
