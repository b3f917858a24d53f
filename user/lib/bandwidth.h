/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The model's bandwidth limits written into sluice_bw: a diff, so the
 * buckets (and counters) of unchanged limits keep running, and
 * sl_settings.bandwidth set to the number of limited addresses, which
 * the connection hooks check before looking anything up.
 */
#ifndef SLUICE_BANDWIDTH_H
#define SLUICE_BANDWIDTH_H

#include "maps.h"
#include "model.h"

/* Bucket depth for a rate in bytes/s: 10 ms of it, and at least what a
 * segmentation-offloaded packet (64 KiB) and its neighbour need. */
uint64_t sl_bw_burst(uint64_t rate);

/* Before anything is written: does the model's table fit sluice_bw? */
int sl_bw_check(const struct sl_maps *maps, const struct sl_model *model,
		struct sl_err *err);
/* Makes sluice_bw hold exactly the model's limits. */
int sl_bw_reconcile(const struct sl_maps *maps, const struct sl_model *model,
		    struct sl_err *err);

#endif
