/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The bpf links the agent pins, one per cgroup hook. */
#ifndef SLUICE_LINKS_H
#define SLUICE_LINKS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct sl_link_desc {
	const char *name;	/* pin name under <bpffs>/links */
	uint32_t attach_type;	/* enum bpf_attach_type */
};

extern const struct sl_link_desc sl_link_descs[];
extern const size_t sl_n_link_descs;

const struct sl_link_desc *sl_link_desc_find(const char *name);

struct sl_link_state {
	const char *name;
	int present;		/* pinned */
	int attached;		/* to a live cgroup, with the expected hook */
	uint64_t cgroup_id;
	uint32_t prog_id;
};

/* Inspects the pinned link of one hook. */
void sl_link_inspect(const char *bpffs, const struct sl_link_desc *d,
		     struct sl_link_state *out);

#endif
