/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The policy banks, mirrored: for each banked map (ipcache, policy,
 * policy_set) and each bank, the keys it holds (bank field zeroed, sorted)
 * with a hash of each value.
 *
 * Both banks stay populated: the one not in force keeps the generation
 * before, so preparing the next one writes only what differs from that
 * and deletes only what it no longer has (a changed endpoint is a few
 * entries, not the whole bank), and a state equal to the one in force
 * needs no write and no switch at all (a restart, a change that does not
 * touch authorization). Room: the bank in force plus the new one, as when
 * the standby bank was rewritten from empty.
 */
#ifndef SLUICE_BANK_H
#define SLUICE_BANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sluice/abi.h>

#include "err.h"

/* Entries: key_size bytes of key then a 64-bit hash of the value. */
struct sl_kv {
	char *v;
	size_t n, cap;
};

/* The content a bank should have: keys (bank field zero) and values. */
struct sl_kv_want {
	char *keys, *vals;
	size_t n, cap;
	bool sorted;
};

struct sl_bank_map {
	const char *name;		/* for errors: "sluice_ipcache" */
	const char *option;		/* what sizes it: "--max-workloads" */
	int fd;
	uint32_t max;			/* capacity, both banks together */
	size_t key_size, value_size;
	size_t bank_off;		/* the bank field in the key */
	size_t bank_width;		/* 1 or 4 bytes */
	bool batch;			/* batch syscalls (off where the kernel has none) */
	size_t n_changed;		/* by the last sl_bank_write */
	struct sl_kv have[SL_POLICY_BANKS];
};

void sl_bank_map_init(struct sl_bank_map *m, const char *name, const char *option, int fd,
		      uint32_t max, size_t key_size, size_t value_size, size_t bank_off,
		      size_t bank_width, bool batch);
void sl_bank_map_free(struct sl_bank_map *m);
/* Reads both banks of the map into the mirrors. */
int sl_bank_load(struct sl_bank_map *m, struct sl_err *err);

/* Adds an entry (the key's bank field is ignored). */
void sl_kv_want_add(struct sl_kv_want *w, const struct sl_bank_map *m, const void *key,
		    const void *val);
void sl_kv_want_free(struct sl_kv_want *w);

/* Does bank b hold exactly want? */
bool sl_bank_same(struct sl_bank_map *m, struct sl_kv_want *want, int b);
/* Checks that bank b can become want next to the other bank, as in the
 * message "needs N entries next to the M in force". */
int sl_bank_check(const struct sl_bank_map *m, const struct sl_kv_want *want, int b,
		  struct sl_err *err);
/* Makes bank b hold want: deletes what it has and want lacks, then writes
 * what is new or differs. On failure the mirror is read again from the
 * map (it holds part of the change). */
int sl_bank_write(struct sl_bank_map *m, struct sl_kv_want *want, int b,
		  struct sl_err *err);
/* Empties bank b (b < 0: both). */
void sl_bank_clear(struct sl_bank_map *m, int b);

#endif
