/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Resetting the connections to endpoints that left their service (unless
 * the service says sluice.dev/reset-on-endpoint-removal: "false"): the
 * removed (service, endpoint) pairs go into sluice_doomed, the TCP socket
 * iterator (bpf/iter.bpf.c) runs in every local pod's network namespace
 * and destroys the client sockets balanced to them, and the map is
 * emptied again. Clients see a reset and reconnect to a live endpoint.
 */
#ifndef SLUICE_RESET_H
#define SLUICE_RESET_H

#include <stdbool.h>
#include <stddef.h>
#include <sluice/abi.h>

#include "err.h"
#include "maps.h"
#include "netns.h"
#include "model.h"
#include "state.h"

struct bpf_program;
struct bpf_link;

struct sl_pairs {
	struct sl_doomed_key *v;	/* sorted */
	size_t n;
};

struct sl_resetter {
	struct bpf_link *link;		/* the iterator, attached once */
	struct sl_maps *maps;
	struct sl_netns_watch *netns;
};

int sl_reset_init(struct sl_resetter *r, struct bpf_program *iter, struct sl_maps *maps,
		  struct sl_netns_watch *netns, struct sl_err *err);
void sl_reset_free(struct sl_resetter *r);
/* The (service, TCP endpoint) pairs the maps hold now, of the frontends
 * whose id is marked in ids (NULL: all), sorted. The state is the only
 * record of them: no copy is kept between applies (2.4 MB at 100,000
 * endpoints); the applier takes them before a reconcile and after. */
void sl_reset_pairs(const struct sl_state *st, const uint8_t *ids, struct sl_pairs *out);
/* The same pairs as the maps held before an apply by parts wrote the
 * frontends marked in ids, read from was, the model they were reconciled
 * to (the state's members are its members' tuples): no pass over every
 * backend before the change reaches the maps. */
void sl_reset_pairs_was(const struct sl_state *st, const uint8_t *ids,
			const struct sl_model *was, struct sl_pairs *out);
/* Keeps in p only the pairs of the frontends whose id is marked in ids
 * (of n_ids). */
void sl_pairs_keep(struct sl_pairs *p, const uint8_t *ids, uint32_t n_ids);
void sl_pairs_free(struct sl_pairs *p);
/* Does a frontend have connection timeouts (then sweep every second)? */
bool sl_reset_needs_sweep(const struct sl_state *st);
/* Runs the iterator in every pod: connections past their timeouts go. */
void sl_reset_sweep(struct sl_resetter *r);
/* Adds to into (sorted, each once) the pairs of before that after lacks. */
void sl_pairs_add_removed(struct sl_pairs *into, const struct sl_pairs *before,
			  const struct sl_pairs *after);
/* Resets the connections of the doomed pairs that st does not hold
 * (those back in their service keep theirs). */
void sl_reset_removed(struct sl_resetter *r, const struct sl_pairs *doomed,
		      const struct sl_state *st);

#endif
