/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Writing compiled authorization into the maps, atomically: the new state
 * goes into the bank not in force (prepare: only what differs from what
 * that bank holds, bank.h), one write of sl_settings.policy switches every
 * program to it (commit). Until commit nothing a program reads has
 * changed, so an update that fails half-way changes nothing in force.
 * A state the bank in force holds already is neither written nor
 * switched to.
 *
 * Policy and identity ids are stable across updates and restarts (they
 * name counters and appear in events): kept by name, recovered from the
 * info maps when the agent starts.
 */
#ifndef SLUICE_AUTHZ_MAPS_H
#define SLUICE_AUTHZ_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authz.h"
#include "authz_wl.h"
#include "bank.h"
#include "err.h"
#include "maps.h"
#include "state.h"

struct sl_named_id {
	char *name;		/* "namespace/name" or "namespace/sa" */
	uint32_t id;
	bool live;		/* named by the prepared state */
};

struct sl_authz_ids {
	struct sl_named_id *v;	/* sorted by name */
	size_t n, cap;
	struct sl_id_pool pool;
};

#define SL_BANKED_MAPS 3

struct sl_authz_state {
	struct sl_maps *maps;
	uint32_t in_force;		/* sl_settings.policy */
	struct sl_authz_ids policies;
	struct sl_authz_ids identities;
	bool prepared;
	uint32_t prepared_state;	/* what commit writes */
	/* Ids of the prepared state, by index in the compiled sl_authz. */
	uint32_t *policy_id;
	bool *policy_fresh;		/* id new: its counters start at zero */
	uint32_t *identity_id;
	struct sl_wl_set wl;		/* what sluice_workload_info holds */
	struct sl_wl_want wl_want;	/* what the prepared state names */
	uint32_t max_wl;		/* its capacity */
	size_t bank_changes;		/* by the last prepare */
	size_t names_written;
	struct sl_bank_map banks[SL_BANKED_MAPS];	/* ipcache, policy, policy_set */
};

struct sl_authz_report {
	size_t policies, identities, workloads, classes, sets, entries;
	bool unchanged;			/* the bank in force held it already */
	size_t names_written;		/* sluice_workload_info entries */
	size_t bank_changes;		/* bank entries written or deleted */
	double compile_ms, write_ms;	/* filled by the caller */
};

int sl_authz_state_load(struct sl_authz_state *st, struct sl_maps *maps,
			struct sl_err *err);
void sl_authz_state_free(struct sl_authz_state *st);

int sl_authz_prepare(struct sl_authz_state *st, const struct sl_authz *a,
		     struct sl_authz_report *report, struct sl_err *err);
/* Switches to the prepared bank (the other keeps its entries); frees the
 * ids of policies and identities that are gone. */
int sl_authz_commit(struct sl_authz_state *st, struct sl_err *err);
/* An address's name as an apply by parts sets it (set: false, removed). */
struct sl_authz_name {
	struct sl_workload_key key;
	bool set;
	struct sl_workload_info info;
};

/* The name of an EndpointSlice endpoint that is no Pod, as the compiled
 * state has it: its slice's namespace, its targetRef's or slice's name. */
void sl_authz_slice_endpoint_name(struct sl_workload_info *info, const char *namespace,
				  const char *name);
/* The names of EndpointSlice endpoints that are no Pod, changed by an
 * apply by parts without compiling the rest (possible only while no
 * policy is in force: then names are all authorization writes). An
 * address a Pod, WorkloadEntry or ServiceEntry endpoint names is left to
 * it. */
int sl_authz_set_names(struct sl_authz_state *st, const struct sl_authz_name *names,
		       size_t n, struct sl_err *err);
/* How many names the map holds that the compiled state a would not (or
 * would not hold alike): 0 when they agree. Writes nothing. */
int sl_authz_names_differ(struct sl_authz_state *st, const struct sl_authz *a,
			  size_t *differ, struct sl_err *err);
/* Forgets a prepared bank (a later step of the update failed). */
void sl_authz_abort(struct sl_authz_state *st);

#endif
