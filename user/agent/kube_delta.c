// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Which Services an apply must build again. Most of a cluster's changes
 * are EndpointSlices (a pod ready, a pod gone): those change the frontends
 * of their own Service and nothing else, when no route joins the Service
 * to others (the model checks that) and each endpoint is a Pod the store
 * holds (authorization then reads the Pod, not the endpoint). Anything
 * else, and any doubt, makes the next apply a full one.
 */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "kube.h"

static unsigned int kind_index(const struct sl_kube *k, const char *kind)
{
	for (size_t i = 0; i < k->n_watches; i++)
		if (!strcmp(k->watches[i].res->kind, kind))
			return k->watches[i].index;
	return SL_KSTORE_KINDS;
}

void sl_kube_full_change(struct sl_kube *k)
{
	k->delta_full = true;
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

/* Is every endpoint a Pod of the store? Then authorization, which
 * describes a pod by its own document, does not read the slice. */
static bool endpoints_are_pods(struct sl_kube *k, const struct sl_endpoint_slice *s)
{
	unsigned int pods = kind_index(k, "Pod");
	char key[512];

	for (size_t i = 0; i < s->n_endpoints; i++) {
		const struct sl_slice_endpoint *e = &s->endpoints[i];
		const struct sl_kstore_obj *o;
		struct sl_config v;

		if (!e->pod_name)
			return false;
		snprintf(key, sizeof(key), "%s/%s", e->pod_namespace, e->pod_name);
		o = sl_kstore_get(&k->store, pods, key);
		if (!o || o->excluded)
			return false;
		sl_kept_view(&o->value, &v);
		if (!v.n_pods)
			return false;
	}
	return true;
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

/* One version's part: false when only a full apply is exact. */
static bool note_version(struct sl_kube *k, const struct sl_config *cfg)
{
	char group[512];

	if (!cfg)
		return true;
	/* Warnings are reported with the whole configuration. */
	if (cfg->warnings.n || !sl_kube_slice_group(cfg, group, sizeof(group)) ||
	    !endpoints_are_pods(k, &cfg->slices[0]))
		return false;
	note_service(k, group);
	return true;
}

void sl_kube_slice_changed(struct sl_kube *k, const struct sl_config *old,
			   const struct sl_config *now)
{
	/* A long batch is no cheaper by parts than whole. */
	if (k->delta_full || !note_version(k, old) || !note_version(k, now) ||
	    k->n_delta_services > 64)
		k->delta_full = true;
}

void sl_kube_delta_reset(struct sl_kube *k)
{
	for (size_t i = 0; i < k->n_delta_services; i++)
		free(k->delta_services[i]);
	k->n_delta_services = 0;
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

static void add(struct sl_kstore_obj *o, void *arg)
{
	sl_kstore_add_to(o, arg);
}

int sl_kube_delta_config(struct sl_kube *k, struct sl_config *part)
{
	unsigned int services = kind_index(k, "Service");
	unsigned int slices = kind_index(k, "EndpointSlice");
	static const char *const rules[] = { "DestinationRule", "VirtualService",
					     "ServiceEntry" };

	memset(part, 0, sizeof(*part));
	/* Objects left out last time are tried again by a full apply. */
	if (k->delta_full || !k->n_delta_services || k->store.n_excluded)
		return 0;
	for (size_t i = 0; i < k->n_delta_services; i++) {
		struct sl_kstore_obj *o = sl_kstore_get(&k->store, services,
							k->delta_services[i]);

		if (o)
			add(o, part);
		sl_kstore_group_each(&k->store, slices, k->delta_services[i], add, part);
	}
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		sl_kstore_kind_each(&k->store, kind_index(k, rules[i]), add, part);
	part->digest = sl_kube_digest(k);
	return 1;
}
