/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Real, unpinned BPF maps with the ABI's shapes, for the tests of code
 * that reads and writes maps. Nothing in the kernel is mocked.
 */
#ifndef SLUICE_TEST_MAPS_FIXTURE_H
#define SLUICE_TEST_MAPS_FIXTURE_H

#include <unistd.h>
#include <bpf/bpf.h>

#include "helpers.h"
#include "maps.h"
#include "reconcile.h"

static inline int fixture_map(enum bpf_map_type type, const char *name, size_t key,
			      size_t value, uint32_t max, uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	int fd = bpf_map_create(type, name, (uint32_t)key, (uint32_t)value, max, &opts);

	if (fd < 0)
		fail_msg("creating map %s: %s", name, strerror(errno));
	return fd;
}

static inline void fixture_maps_create(struct sl_maps *m, uint32_t services,
				       uint32_t backends, uint32_t slots)
{
	const uint32_t np = BPF_F_NO_PREALLOC;
	struct sl_status st = { .abi_version = SL_ABI_VERSION };
	struct sl_err err;

	sl_maps_init(m);
	m->owned = true;
	m->svc = fixture_map(BPF_MAP_TYPE_HASH, "t_svc", sizeof(struct sl_svc_key),
			     sizeof(struct sl_svc), services, np);
	m->slot = fixture_map(BPF_MAP_TYPE_HASH, "t_slot", sizeof(struct sl_slot_key),
			      sizeof(struct sl_slot), slots, np);
	m->member = fixture_map(BPF_MAP_TYPE_HASH, "t_member", sizeof(struct sl_member_key),
				sizeof(struct sl_member), slots, np);
	m->backend = fixture_map(BPF_MAP_TYPE_HASH, "t_backend", 4,
				 sizeof(struct sl_backend), backends, np);
	m->revnat = fixture_map(BPF_MAP_TYPE_LRU_HASH, "t_revnat", sizeof(struct sl_revnat_key),
				sizeof(struct sl_revnat), 1024, 0);
	m->svc_state = fixture_map(BPF_MAP_TYPE_ARRAY, "t_svc_state", 4,
				   sizeof(struct sl_svc_state), services, 0);
	m->backend_state = fixture_map(BPF_MAP_TYPE_ARRAY, "t_be_state", 4,
				       sizeof(struct sl_backend_state), backends, 0);
	m->svc_info = fixture_map(BPF_MAP_TYPE_HASH, "t_svc_info", 4,
				  sizeof(struct sl_svc_info), services, np);
	m->backend_info = fixture_map(BPF_MAP_TYPE_HASH, "t_be_info", 4,
				      sizeof(struct sl_backend_info), backends, np);
	m->status = fixture_map(BPF_MAP_TYPE_ARRAY, "t_status", 4, sizeof(struct sl_status), 1, 0);
	if (sl_maps_read_limits(m, &err) < 0 || sl_status_write(m, &st, &err) < 0)
		fail_msg("%s", err.msg);
}

static inline uint32_t fixture_count(int fd, size_t key_size)
{
	uint32_t n;

	if (sl_map_count(fd, (uint32_t)key_size, 1u << 24, &n) < 0)
		fail_msg("counting map entries failed");
	return n;
}

/* Reconciles st to the model of text, which must be valid and fit. */
static inline void reconcile_text(struct sl_state *st, const char *yaml,
				  struct sl_reconcile_report *rep)
{
	struct sl_model m;
	struct sl_err err;

	build_model(yaml, &m);
	if (sl_reconcile(st, &m, rep, &err) < 0)
		fail_msg("reconcile: %s", err.msg);
	sl_model_free(&m);
}

#endif
