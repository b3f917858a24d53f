/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One object's decoded form as the Kubernetes source keeps it: the one
 * array of a configuration it fills (an EndpointSlice is one entry of
 * slices), in an arena of its own. A whole struct sl_config per object
 * took 272 bytes, mostly empty arrays, 40,000 times at 100,000 endpoints.
 */
#ifndef SLUICE_KEPT_H
#define SLUICE_KEPT_H

#include <stdint.h>

#include "config.h"

/* 40 bytes: 40,000 of them at 100,000 endpoints. */
struct sl_kept {
	struct sl_arena_block *block;	/* the arena's, one block once kept */
	void *items;
	char **warnings;
	uint64_t digest;		/* of what the decoders read (kobj.h) */
	uint32_t n;
	uint16_t n_warnings;
	uint8_t field;			/* which array of struct sl_config */
};

/* Takes over what cfg holds (cfg is zeroed): one object's decoding, so at
 * most one array is filled. */
void sl_kept_take(struct sl_kept *k, struct sl_config *cfg);
void sl_kept_free(struct sl_kept *k);
/* A configuration of k's entries alone, sharing k's memory: read it,
 * never free or grow it. */
void sl_kept_view(const struct sl_kept *k, struct sl_config *view);
/* k's entries and warnings appended to cfg's arrays (in cfg's arena). */
void sl_kept_append(const struct sl_kept *k, struct sl_config *cfg);
/* k's entries added to the counts of total's arrays (n_* only). */
void sl_kept_count(const struct sl_kept *k, struct sl_config *total);

#endif
