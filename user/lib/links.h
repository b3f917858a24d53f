/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The bpf links the agent pins, one per hook. */
#ifndef SLUICE_LINKS_H
#define SLUICE_LINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum sl_link_kind {
	SL_LINK_CGROUP,		/* attached to the mesh cgroup */
	SL_LINK_SOCKMAP,	/* attached to sluice_sockhash */
	SL_LINK_TRACEPOINT,	/* a kernel tracepoint */
	SL_LINK_RAW_TP,		/* a BTF-typed (raw) tracepoint: SEC("tp_btf/...") */
};

struct sl_link_desc {
	const char *name;	/* pin name under <bpffs>/links */
	const char *prog;	/* program name in the BPF object */
	uint32_t attach_type;	/* enum bpf_attach_type; for tracepoints, 0 */
	enum sl_link_kind kind;
	bool accel;		/* part of same-node acceleration */
	const char *tp_category;	/* SL_LINK_TRACEPOINT */
	const char *tp_name;
};

extern const struct sl_link_desc sl_link_descs[];
extern const size_t sl_n_link_descs;

const struct sl_link_desc *sl_link_desc_by_prog(const char *prog);

struct sl_link_state {
	const char *name;
	int present;		/* pinned */
	int attached;		/* live, with the expected hook */
	uint64_t cgroup_id;	/* SL_LINK_CGROUP */
	uint32_t map_id;	/* SL_LINK_SOCKMAP */
	uint32_t prog_id;
};

/* Inspects the pinned link of one hook. */
void sl_link_inspect(const char *bpffs, const struct sl_link_desc *d,
		     struct sl_link_state *out);

#endif
