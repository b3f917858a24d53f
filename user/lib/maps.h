/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Handles on Sluice's maps, either taken from the agent's loaded object or
 * opened from the pins (the CLI, which works while the agent is down).
 */
#ifndef SLUICE_MAPS_H
#define SLUICE_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sluice/abi.h>

#include "err.h"

struct sl_maps {
	int svc;
	int slot;
	int member;
	int backend;
	int revnat;
	int sock_vip;
	int svc_state;
	int backend_state;
	int svc_info;
	int backend_info;
	int status;
	int sockhash;
	int flow;
	int local_addr;
	int redir_stats;
	int settings;
	int reader;
	int short_pair;
	int ipcache;
	int netns_addr;
	int policy;
	int policy_set;
	int policy_stats;
	int policy_info;
	int identity_info;
	int workload_info;
	int udp_peer;
	int conn_bucket;
	int doomed;
	int events;
	int bw;
	int limit_src;
	int traffic;
	int conn;
	int event_stats;
	bool owned;		/* close the fds in sl_maps_close */
	uint32_t max_services;
	uint32_t max_backends;
	uint32_t max_slots;
};

struct sl_map_desc {
	const char *name;
	size_t offset;		/* of the fd in struct sl_maps */
};

/* Every map, in one table, so nothing that walks them forgets one. */
extern const struct sl_map_desc sl_map_descs[];
extern const size_t sl_n_map_descs;

static inline int *sl_maps_fd(struct sl_maps *m, const struct sl_map_desc *d)
{
	return (int *)((char *)m + d->offset);
}

void sl_maps_init(struct sl_maps *m);
/* Opens <bpffs>/maps/<name> for every map and checks the ABI version. */
int sl_maps_open_pinned(const char *bpffs, struct sl_maps *m, struct sl_err *err);
/* Reads the capacities of the open maps into m->max_*. */
int sl_maps_read_limits(struct sl_maps *m, struct sl_err *err);
void sl_maps_close(struct sl_maps *m);

int sl_status_read(const struct sl_maps *m, struct sl_status *st,
		   struct sl_err *err);
int sl_status_write(const struct sl_maps *m, const struct sl_status *st,
		    struct sl_err *err);

/* The capacity of an open map. */
int sl_map_max_entries(int fd, uint32_t *max, struct sl_err *err);
/* Counts the entries of a hash map by walking its keys; gives up (-1)
 * after `limit` keys, as a walk racing with deletions can restart. */
int sl_map_count(int fd, uint32_t key_size, uint32_t limit, uint32_t *count);
/* Every entry of a hash map, read with batch syscalls (a walk with one
 * lookup per key where the kernel has none): keys and values as arrays. */
struct sl_map_dump {
	char *keys, *vals;
	size_t n, key_size, value_size;
};

int sl_map_dump(int fd, size_t key_size, size_t value_size, struct sl_map_dump *d);
void sl_map_dump_free(struct sl_map_dump *d);
static inline const void *sl_dump_key(const struct sl_map_dump *d, size_t i)
{
	return d->keys + i * d->key_size;
}
static inline const void *sl_dump_val(const struct sl_map_dump *d, size_t i)
{
	return d->vals + i * d->value_size;
}

/* Writes n entries (keys and values laid out as arrays) with as few
 * syscalls as the kernel takes; *done: how many were written, also on
 * failure (then errno says why the next one was not). */
int sl_map_update_batch(int fd, const void *keys, const void *values, size_t n,
			size_t key_size, size_t value_size, size_t *done);

#endif
