/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluice_workload_info (address -> workload name) is not banked: names
 * only label events and metrics, so an entry is overwritten in place.
 * The agent keeps a mirror of what the map holds (key and a hash of the
 * value, not the value: 32 bytes an address instead of 160), so an apply
 * writes only the addresses whose name changed and deletes only the ones
 * gone, and needs room only for the addresses that are new.
 */
#ifndef SLUICE_AUTHZ_WL_H
#define SLUICE_AUTHZ_WL_H

#include <stddef.h>
#include <stdint.h>
#include <sluice/abi.h>

#include "err.h"

struct sl_wl_entry {
	struct sl_workload_key key;
	uint64_t hash;			/* of the sl_workload_info */
};

/* Sorted by key (family, then address), one entry per key. */
struct sl_wl_set {
	struct sl_wl_entry *v;
	size_t n;
};

/* A prepared update: the entries it names (sorted by key), and the ones
 * that differ from the map, to write. */
struct sl_wl_want {
	struct sl_wl_set set;
	struct sl_workload_key *keys;	/* to write */
	struct sl_workload_info *vals;
	size_t n_write, cap_write;
};

/* Gives the value of the i-th address handed to sl_wl_plan. */
typedef void sl_wl_fill_fn(const void *ctx, size_t i, struct sl_workload_info *out);

uint64_t sl_wl_hash(const struct sl_workload_info *info);
/* Reads every entry of the map into out. */
int sl_wl_load(int fd, struct sl_wl_set *out, struct sl_err *err);
/* From n addresses (keys[i], value from fill; of equal keys the last
 * wins) makes want, picks the entries that are new or differ from have,
 * and checks room for the new keys next to the old (capacity max).
 * Values are built one at a time: only the ones to write are kept.
 * Writes nothing. */
int sl_wl_plan(uint32_t max, const struct sl_wl_set *have, struct sl_wl_want *want,
	       const struct sl_workload_key *keys, size_t n, sl_wl_fill_fn *fill,
	       const void *ctx, struct sl_err *err);
/* Writes what sl_wl_plan picked (and frees it). On failure have is
 * reloaded from the map: it holds part of the writes. */
int sl_wl_write(int fd, struct sl_wl_set *have, struct sl_wl_want *want,
		struct sl_err *err);
/* After the switch: deletes the keys of have that want lacks; have
 * becomes want's set (taken over, want->set emptied). */
int sl_wl_prune(int fd, struct sl_wl_set *have, struct sl_wl_want *want,
		struct sl_err *err);
/* An update abandoned after sl_wl_write: have becomes what the map holds,
 * the union of both with want's values. */
void sl_wl_merge(struct sl_wl_set *have, struct sl_wl_want *want);
void sl_wl_want_free(struct sl_wl_want *want);
void sl_wl_set_free(struct sl_wl_set *s);

/* One address's name written (info) or removed (NULL), in the map and in
 * have: an apply by parts changes a few names among 100,000. Capacity max
 * as for sl_wl_plan. */
int sl_wl_set_one(int fd, uint32_t max, struct sl_wl_set *have,
		  const struct sl_workload_key *key, const struct sl_workload_info *info,
		  struct sl_err *err);

#endif
