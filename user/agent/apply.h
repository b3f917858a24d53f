/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * One configuration attempt: load, validate, build the model, reconcile,
 * and record the outcome in sluice_status. A rejected attempt changes no
 * service: the previous state stays in force.
 */
#ifndef SLUICE_APPLY_H
#define SLUICE_APPLY_H

#include <stdbool.h>

#include "authz_maps.h"
#include "locality.h"
#include "reset.h"
#include "maps.h"
#include "model.h"
#include "state.h"
#include "wltable.h"

/* Where configurations come from: files, or the Kubernetes source. */
typedef int (*sl_config_source_fn)(void *arg, struct sl_config *cfg, struct sl_err *err);
/* A source whose unit is the object may leave out the object an error of
 * the model names (true) and hand over the rest at the next call. */
typedef bool (*sl_config_exclude_fn)(void *arg, const char *error);

/* What changed since the last apply, when a source can tell
 * (kube_delta.c): the changed Services' part of the configuration (as
 * sl_model_delta takes it, digest of the whole) and the names of
 * EndpointSlice endpoints that are no Pod (malloc'd). */
struct sl_delta {
	struct sl_config part;
	struct sl_authz_name *names;
	size_t n_names;
};

/* 1: *d filled; 0: only the whole configuration is exact. */
typedef int (*sl_config_delta_fn)(void *arg, struct sl_delta *d);

struct sl_applier {
	const char *config_path;	/* files, or what the source is called */
	sl_config_source_fn source;
	sl_config_exclude_fn exclude;	/* NULL: errors refuse everything */
	void *source_arg;
	sl_config_delta_fn delta;	/* NULL: every apply is whole */
	/* After each apply by parts, build the whole model too and compare
	 * (--check-delta, for tests): a difference is logged and repaired
	 * by a whole apply. */
	bool check_delta;
	/* The next apply builds everything: the last one was rejected, or
	 * --check-delta found a difference. */
	bool whole_next;
	const char *cgroup_path;
	uint64_t cgroup_id;
	struct sl_maps *maps;
	struct sl_state state;
	struct sl_model applied;	/* what the maps hold, to roll back to */
	bool have_applied;
	bool in_sync;			/* the maps hold exactly `applied` */
	/* Workload labels by address, of the configuration applied: what
	 * Istio's metrics are labelled with (metrics_traffic.c). Empty
	 * before the first configuration: every address is unknown. Applies
	 * by parts change EndpointSlices only, never the Pods, WorkloadEntries
	 * and ServiceEntries it is built from (kube_delta.c). */
	struct sl_wltable workloads;
	const char *root_namespace;	/* policies there apply mesh-wide */
	struct sl_authz_state authz;
	struct sl_resetter *resetter;	/* NULL: endpoints removed, connections kept */
	/* Pairs that left their services in applies by parts: their
	 * connections are reset together, SL_RESET_DELAY_MS after the first
	 * (a reset walks every pod's sockets: 5-10 ms at each change of a
	 * churn otherwise). 0: none waiting. */
	struct sl_pairs doomed;
	int64_t doomed_since_ms;
	bool last_by_parts;		/* the last apply was by parts */
	const struct sl_locality *locality;	/* the node's, NULL: unknown */
	bool locality_fixed;		/* given by --locality, not the Node */
	/* When the oldest change of the next apply arrived (monotonic ns,
	 * 0: unknown): logged as how long it took to reach the maps. */
	int64_t changed_at_ns;
	double last_change_ms;		/* of the last apply, -1: unknown */
	/* For the metrics, read by the same thread (the event loop). */
	uint64_t n_applied;		/* attempts that changed the maps */
	uint64_t n_by_parts;		/* of those, applies by parts */
	uint64_t n_rejected;
	double last_run_s;		/* how long the last of those took */
};

int sl_applier_init(struct sl_applier *a, struct sl_maps *maps,
		    const char *config_path, const char *cgroup_path,
		    uint64_t cgroup_id, const char *root_namespace,
		    const struct sl_locality *locality, struct sl_err *err);
/* The node's locality from now on (NULL: unknown), also in the status. */
void sl_applier_set_locality(struct sl_applier *a, const struct sl_locality *locality);
/* Takes configurations from fn instead of the files at config_path;
 * exclude may be NULL. */
void sl_applier_set_source(struct sl_applier *a, sl_config_source_fn fn,
			   sl_config_exclude_fn exclude, void *arg);
/* Returns 0 when the configuration is in force (applied now or already),
 * -1 when it was rejected. force: reconcile even if the files did not
 * change (at start, to repair the maps). */
int sl_applier_run(struct sl_applier *a, bool force);
#define SL_RESET_DELAY_MS 100

/* Resets the connections of pairs that waited long enough (force: all);
 * returns when the next is due (monotonic ms), -1 when nothing waits. */
int64_t sl_applier_resets(struct sl_applier *a, bool force);
/* Marks the agent as stopped in the status; the datapath runs on. */
void sl_applier_stop(struct sl_applier *a);
void sl_applier_free(struct sl_applier *a);

#endif
