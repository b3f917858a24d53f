// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "bandwidth.h"

#define SL_BW_MIN_BURST (128u * 1024)

uint64_t sl_bw_burst(uint64_t rate)
{
	uint64_t b = rate / 100;

	return b > SL_BW_MIN_BURST ? b : SL_BW_MIN_BURST;
}

static void wanted_value(const struct sl_bw_limit *l, struct sl_bw *v)
{
	memset(v, 0, sizeof(*v));
	v->dir[SL_BW_EGRESS].rate = l->egress_bps / 8;
	v->dir[SL_BW_INGRESS].rate = l->ingress_bps / 8;
	for (int d = 0; d < 2; d++)
		if (v->dir[d].rate)
			v->dir[d].burst = sl_bw_burst(v->dir[d].rate);
}

static void key_of(const struct sl_ip *ip, struct sl_workload_key *key)
{
	memset(key, 0, sizeof(*key));
	key->addr = ip->addr;
	key->family = ip->family;
}

static const struct sl_bw_limit *find(const struct sl_model *m,
				      const struct sl_workload_key *key)
{
	struct sl_bw_limit probe;

	memset(&probe, 0, sizeof(probe));
	probe.ip.addr = key->addr;
	probe.ip.family = key->family;
	for (size_t lo = 0, hi = m->n_bw; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		int c = sl_ip_cmp(&m->bw[mid].ip, &probe.ip);

		if (!c)
			return &m->bw[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int sl_bw_check(const struct sl_maps *maps, const struct sl_model *model,
		struct sl_err *err)
{
	uint32_t max;

	if (sl_map_max_entries(maps->bw, &max, err) < 0)
		return -1;
	if (model->n_bw > max)
		return sl_errf(err, "%zu workload addresses have bandwidth limits but "
			       "sluice_bw holds %u (sluiced --max-workloads)", model->n_bw, max);
	return 0;
}

/* Entries the model no longer has go first, so new ones always fit. */
static int delete_stale(const struct sl_maps *maps, const struct sl_model *model,
			struct sl_err *err)
{
	struct sl_workload_key key, next, *prev = NULL;
	struct sl_workload_key *stale = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	while (!bpf_map_get_next_key(maps->bw, prev, &next)) {
		if (!find(model, &next)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				stale = realloc(stale, cap * sizeof(*stale));
				if (!stale)
					return sl_errf(err, "out of memory");
			}
			stale[n++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n && !ret; i++)
		if (bpf_map_delete_elem(maps->bw, &stale[i]) && errno != ENOENT)
			ret = sl_errf(err, "deleting from sluice_bw: %s", strerror(errno));
	free(stale);
	return ret;
}

static bool same_limits(const struct sl_bw *a, const struct sl_bw *b)
{
	for (int d = 0; d < 2; d++)
		if (a->dir[d].rate != b->dir[d].rate || a->dir[d].burst != b->dir[d].burst)
			return false;
	return true;
}

static int set_count(const struct sl_maps *maps, uint32_t n, struct sl_err *err)
{
	struct sl_settings s;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(maps->settings, &zero, &s))
		return sl_errf(err, "reading sluice_settings: %s", strerror(errno));
	if (s.bandwidth == n)
		return 0;
	s.bandwidth = n;
	if (bpf_map_update_elem(maps->settings, &zero, &s, BPF_ANY))
		return sl_errf(err, "writing sluice_settings: %s", strerror(errno));
	return 0;
}

int sl_bw_reconcile(const struct sl_maps *maps, const struct sl_model *model,
		    struct sl_err *err)
{
	if (delete_stale(maps, model, err) < 0)
		return -1;
	for (size_t i = 0; i < model->n_bw; i++) {
		struct sl_workload_key key;
		struct sl_bw want, have;

		key_of(&model->bw[i].ip, &key);
		wanted_value(&model->bw[i], &want);
		if (!bpf_map_lookup_elem(maps->bw, &key, &have) && same_limits(&have, &want))
			continue;
		if (bpf_map_update_elem(maps->bw, &key, &want, BPF_ANY))
			return sl_errf(err, "writing sluice_bw: %s", strerror(errno));
	}
	return set_count(maps, (uint32_t)model->n_bw, err);
}
