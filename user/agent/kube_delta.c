// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which Services an apply must build again. Most of a cluster's changes
 * are EndpointSlices (a pod ready, a pod gone): those change the frontends
 * of their own Service and nothing else, when no route joins the Service
 * to others (the model checks that). Authorization reads an endpoint
 * only when it is no Pod of the store (then the Pod's own document
 * describes it): such "bare" endpoints' addresses get their names by
 * parts while no policy is in force and one endpoint at most lists each
 * (kube_bare.c). Anything else, and any doubt, makes the next apply a
 * full one.
 */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "kube.h"

unsigned int sl_kube_kind_index(const struct sl_kube *k, const char *kind)
{
	for (size_t i = 0; i < k->n_watches; i++)
		if (!strcmp(k->watches[i].res->kind, kind))
			return k->watches[i].index;
	return SL_KSTORE_KINDS;
}

void sl_kube_full_change(struct sl_kube *k)
{
	k->delta_full = true;
	k->bare_counted = false;	/* Pods may have come or gone */
}

const char *sl_kube_slice_group(const struct sl_config *cfg, char *buf, size_t len)
{
	const struct sl_endpoint_slice *s;

	if (cfg->n_slices != 1 || !cfg->slices[0].service_name)
		return NULL;
	s = &cfg->slices[0];
	snprintf(buf, len, "%s/%s", s->meta.namespace, s->service_name);
	return buf;
}

static void note_service(struct sl_kube *k, const char *key)
{
	for (size_t i = 0; i < k->n_delta_services; i++)
		if (!strcmp(k->delta_services[i], key))
			return;
	if (k->n_delta_services == k->cap_delta_services) {
		k->cap_delta_services = k->cap_delta_services ? k->cap_delta_services * 2 : 8;
		k->delta_services = sl_xrealloc(k->delta_services,
						k->cap_delta_services * sizeof(char *));
	}
	k->delta_services[k->n_delta_services++] = sl_xstrdup(key);
}

/* One version's part (delta: 1 listed, -1 unlisted): false when only a
 * full apply is exact. */
static bool note_version(struct sl_kube *k, const struct sl_config *cfg, int delta)
{
	char group[512];

	if (!cfg)
		return true;
	/* Warnings are reported with the whole configuration. */
	if (cfg->warnings.n || !sl_kube_slice_group(cfg, group, sizeof(group)))
		return false;
	note_service(k, group);
	sl_kube_bare_note(k, &cfg->slices[0], delta);
	return true;
}

void sl_kube_slice_changed(struct sl_kube *k, const struct sl_config *old,
			   const struct sl_config *now)
{
	/* A long batch is no cheaper by parts than whole. */
	if (k->delta_full || !note_version(k, old, -1) || !note_version(k, now, 1) ||
	    k->n_delta_services > 64)
		sl_kube_full_change(k);
}

void sl_kube_delta_reset(struct sl_kube *k)
{
	for (size_t i = 0; i < k->n_delta_services; i++)
		free(k->delta_services[i]);
	k->n_delta_services = 0;
	k->n_touched = 0;
	k->delta_full = false;
}

uint64_t sl_kube_digest(const struct sl_kube *k)
{
	uint64_t d = k->store.digest;

	/* The Node's locality changes what is applied, as a file would. */
	if (k->has_locality)
		d ^= XXH3_64bits(&k->locality, sizeof(k->locality));
	return d;
}

/* The bare endpoint of part that lists ip: what authorization names it. */
static bool name_of(struct sl_kube *k, const struct sl_config *part, const struct sl_ip *ip,
		    struct sl_workload_info *info)
{
	for (size_t s = 0; s < part->n_slices; s++) {
		const struct sl_endpoint_slice *sl = &part->slices[s];

		for (size_t i = 0; i < sl->n_endpoints; i++) {
			const struct sl_slice_endpoint *e = &sl->endpoints[i];

			for (size_t a = 0; a < e->n_addrs; a++) {
				if (sl_ip_cmp(&e->addrs[a], ip) || !sl_kube_is_bare(k, e))
					continue;
				sl_authz_slice_endpoint_name(info, sl->meta.namespace,
							     e->pod_name ? e->pod_name :
							     sl->meta.name);
				return true;
			}
		}
	}
	return false;
}

static int cmp_ip(const void *a, const void *b)
{
	return sl_ip_cmp(a, b);
}

/* The names of the bare addresses the changes listed or unlisted; false
 * when a whole build decides (a policy in force compiles classes from
 * them; two endpoints list one address). */
static bool bare_names(struct sl_kube *k, const struct sl_config *part,
		       struct sl_authz_name **names, size_t *n_names)
{
	size_t n = 0;

	*names = NULL;
	*n_names = 0;
	if (!k->n_touched)
		return true;
	if (k->kind_policy < SL_KSTORE_KINDS && k->store.n_by_kind[k->kind_policy])
		return false;
	qsort(k->touched, k->n_touched, sizeof(*k->touched), cmp_ip);
	*names = sl_xcalloc(k->n_touched, sizeof(**names));
	for (size_t i = 0; i < k->n_touched; i++) {
		const struct sl_ip *ip = &k->touched[i];
		struct sl_authz_name *nm = &(*names)[n];
		uint32_t count;

		if (i && !sl_ip_cmp(&k->touched[i - 1], ip))
			continue;
		count = sl_kube_bare_count(k, ip);
		if (count > 1 || (count == 1 && !name_of(k, part, ip, &nm->info))) {
			free(*names);
			*names = NULL;
			return false;
		}
		nm->key.addr = ip->addr;
		nm->key.family = ip->family;
		nm->set = count == 1;
		n++;
	}
	*n_names = n;
	return true;
}

int sl_kube_delta_config(struct sl_kube *k, struct sl_config *part,
			 struct sl_authz_name **names, size_t *n_names)
{
	static const char *const rules[] = { "DestinationRule", "VirtualService",
					     "ServiceEntry" };

	memset(part, 0, sizeof(*part));
	*names = NULL;
	*n_names = 0;
	/* (Objects left out last time made the changes full: kube_step.) */
	if (k->delta_full || !k->n_delta_services)
		return 0;
	for (size_t i = 0; i < k->n_delta_services; i++) {
		struct sl_kstore_obj *o = sl_kstore_get(&k->store, k->kind_service,
							k->delta_services[i]);

		if (o)
			sl_kstore_add_to(o, part);
		sl_kstore_group_each(&k->store, k->kind_slice, k->delta_services[i],
				     sl_kstore_add_to, part);
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		sl_kstore_kind_each(&k->store, sl_kube_kind_index(k, rules[i]),
				    sl_kstore_add_to, part);
	part->digest = sl_kube_digest(k);
	if (!bare_names(k, part, names, n_names)) {
		sl_config_free(part);
		return 0;
	}
	return 1;
}
