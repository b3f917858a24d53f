/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Weighted slot tables: the sequence a service's cursor walks through.
 */
#ifndef SLUICE_SLOTS_H
#define SLUICE_SLOTS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * From n weights (0 = receives nothing), builds a table of member indices
 * in which member i appears in proportion to weights[i], spread evenly
 * (smooth weighted round-robin): any window of the table's length holds
 * each member its exact share. Weights are reduced by their greatest
 * common divisor; if the table would still exceed max_slots it is scaled
 * down, every member with a weight keeping at least one slot.
 *
 * On success *table (malloc'd, caller frees) holds *n_slots entries and
 * per_member[i] the slots of member i.
 */
int sl_slots_build(const uint32_t *weights, size_t n, size_t max_slots,
		   uint32_t **table, size_t *n_slots, uint32_t *per_member,
		   struct sl_err *err);

#endif
