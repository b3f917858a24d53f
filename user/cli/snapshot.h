/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A consistent read of the services in the maps, joined with their
 * members, backends and counters, for the commands that show them.
 */
#ifndef SLUICECTL_SNAPSHOT_H
#define SLUICECTL_SNAPSHOT_H

#include <stdbool.h>
#include <sluice/abi.h>

#include "err.h"
#include "maps.h"

struct snap_member {
	struct sl_member member;
	struct sl_backend backend;
	struct sl_backend_info info;
	struct sl_backend_state stats;
};

struct snap_fe {
	struct sl_svc_key key;
	struct sl_svc svc;
	struct sl_svc_info info;
	struct sl_svc_state stats;
	struct snap_member *members;
};

struct snapshot {
	struct snap_fe *fe;	/* sorted by namespace, name, VIP, port */
	size_t n_fe;
};

int snapshot_read(const struct sl_maps *m, struct snapshot *s, struct sl_err *err);
void snapshot_free(struct snapshot *s);

const char *snap_kind_name(uint32_t kind);
/* "ready", "serving,terminating", "not-ready"... */
void snap_member_state(uint32_t flags, char *buf, size_t len);
/* Frontends whose service is ns/name; "name" alone means namespace default. */
bool snap_fe_matches(const struct snap_fe *fe, const char *filter);

/* Calls fn once for every entry of a hash map (the identity and policy
 * maps, read whole). Keys are collected first and deduplicated, as a
 * walk racing with the agent's deletions can restart; an entry deleted
 * meanwhile is skipped. */
typedef void (*snap_walk_fn)(const void *key, const void *value, void *arg);
int snap_map_walk(int fd, size_t key_size, size_t value_size, snap_walk_fn fn, void *arg,
		  struct sl_err *err);

#endif
