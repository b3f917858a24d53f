/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table
 * of M entries (M prime) filled from per-member permutations, so that each
 * member owns about M/n entries and removing one member moves only the
 * entries it owned. Members are named by a 64-bit key (their address and
 * port), so a member keeps its permutation whatever else changes.
 * Weights are honoured by letting a member take as many turns per round
 * as its weight.
 */
#ifndef SLUICE_MAGLEV_H
#define SLUICE_MAGLEV_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SL_MAGLEV_DEFAULT_SIZE 16381	/* prime */
#define SL_MAGLEV_MAX_SIZE 65521	/* the largest prime that fits a slot table */

int sl_maglev_is_prime(uint32_t m);
/* table[m] receives member indices; members with weight 0 get none. */
int sl_maglev_build(const uint64_t *keys, const uint32_t *weights, size_t n,
		    uint32_t m, uint32_t *table, struct sl_err *err);

/* sl_slots_build's interface over a Maglev table of m entries: weights are
 * reduced (common divisor, then at most 64 turns a round) first. */
int sl_maglev_slots(const uint64_t *keys, const uint32_t *weights, size_t n, uint32_t m,
		    uint32_t **table, size_t *n_slots, uint32_t *per_member,
		    struct sl_err *err);

#endif
