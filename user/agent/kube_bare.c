// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Addresses of EndpointSlice endpoints that are no Pod of the store
 * ("bare"): authorization names each such address after its endpoint
 * unless a Pod, WorkloadEntry or ServiceEntry endpoint does. An apply by
 * parts may name or unname one only when at most one endpoint lists it
 * (with two, which one a whole build names depends on their order), so
 * the source counts them. Pods coming or going change which endpoints
 * are bare: any change not noted in parts marks the count stale, and it
 * is counted again from the store when next needed.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "kube.h"

bool sl_kube_is_bare(struct sl_kube *k, const struct sl_slice_endpoint *e)
{
	const struct sl_kstore_obj *o;
	struct sl_config v;
	char key[512];

	if (!e->pod_name)
		return true;
	snprintf(key, sizeof(key), "%s/%s", e->pod_namespace, e->pod_name);
	o = sl_kstore_get(&k->store, k->kind_pod, key);
	if (!o || o->excluded)
		return true;
	sl_kept_view(&o->value, &v);
	return !v.n_pods;
}

static size_t find(const struct sl_kube *k, const struct sl_ip *ip, bool *found)
{
	size_t lo = 0, hi = k->n_bare;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = sl_ip_cmp(&k->bare[mid].ip, ip);

		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void count_add(struct sl_kube *k, const struct sl_ip *ip, int delta)
{
	bool found;
	size_t i = find(k, ip, &found);

	if (found) {
		k->bare[i].count += (uint32_t)delta;
		if (!k->bare[i].count) {
			memmove(&k->bare[i], &k->bare[i + 1], (k->n_bare - i - 1) * sizeof(*k->bare));
			k->n_bare--;
		}
		return;
	}
	if (delta < 0)
		return;		/* counted stale: rebuilt before use */
	if (k->n_bare == k->cap_bare) {
		k->cap_bare = k->cap_bare ? k->cap_bare * 2 : 256;
		k->bare = sl_xrealloc(k->bare, k->cap_bare * sizeof(*k->bare));
	}
	memmove(&k->bare[i + 1], &k->bare[i], (k->n_bare - i) * sizeof(*k->bare));
	k->bare[i] = (struct sl_kube_bare){ *ip, (uint32_t)delta };
	k->n_bare++;
}

static void touch(struct sl_kube *k, const struct sl_ip *ip)
{
	if (k->n_touched == k->cap_touched) {
		k->cap_touched = k->cap_touched ? k->cap_touched * 2 : 64;
		k->touched = sl_xrealloc(k->touched, k->cap_touched * sizeof(*k->touched));
	}
	k->touched[k->n_touched++] = *ip;
}

void sl_kube_bare_note(struct sl_kube *k, const struct sl_endpoint_slice *s, int delta)
{
	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct sl_slice_endpoint *e = &s->endpoints[i];

		if (!sl_kube_is_bare(k, e))
			continue;
		for (size_t a = 0; a < e->n_addrs; a++) {
			touch(k, &e->addrs[a]);
			if (k->bare_counted)
				count_add(k, &e->addrs[a], delta);
		}
	}
}

static int cmp_bare(const void *a, const void *b)
{
	return sl_ip_cmp(&((const struct sl_kube_bare *)a)->ip,
			 &((const struct sl_kube_bare *)b)->ip);
}

static void collect(struct sl_kstore_obj *o, void *arg)
{
	struct sl_kube *k = arg;
	struct sl_config v;

	if (o->excluded)
		return;
	sl_kept_view(&o->value, &v);
	for (size_t s = 0; s < v.n_slices; s++)
		for (size_t i = 0; i < v.slices[s].n_endpoints; i++) {
			const struct sl_slice_endpoint *e = &v.slices[s].endpoints[i];

			if (!sl_kube_is_bare(k, e))
				continue;
			for (size_t a = 0; a < e->n_addrs; a++) {
				if (k->n_bare == k->cap_bare) {
					k->cap_bare = k->cap_bare ? k->cap_bare * 2 : 256;
					k->bare = sl_xrealloc(k->bare,
							      k->cap_bare * sizeof(*k->bare));
				}
				k->bare[k->n_bare++] = (struct sl_kube_bare){ e->addrs[a], 1 };
			}
		}
}

/* Counted again from every EndpointSlice of the store. */
static void rebuild(struct sl_kube *k)
{
	size_t out = 0;

	k->n_bare = 0;
	sl_kstore_kind_each(&k->store, k->kind_slice, collect, k);
	if (k->n_bare)
		qsort(k->bare, k->n_bare, sizeof(*k->bare), cmp_bare);
	for (size_t i = 0; i < k->n_bare; i++) {
		if (out && !sl_ip_cmp(&k->bare[out - 1].ip, &k->bare[i].ip))
			k->bare[out - 1].count++;
		else
			k->bare[out++] = k->bare[i];
	}
	k->n_bare = out;
	k->bare_counted = true;
}

uint32_t sl_kube_bare_count(struct sl_kube *k, const struct sl_ip *ip)
{
	bool found;
	size_t i;

	if (!k->bare_counted)
		rebuild(k);
	i = find(k, ip, &found);
	return found ? k->bare[i].count : 0;
}

void sl_kube_bare_free(struct sl_kube *k)
{
	free(k->bare);
	free(k->touched);
	k->bare = NULL;
	k->touched = NULL;
	k->n_bare = k->cap_bare = k->n_touched = k->cap_touched = 0;
}
