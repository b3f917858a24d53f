// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Workload labels by address (see wltable.h), with Istio's rules for
 * naming a workload, its app, version and canonical service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "wltable.h"

#define TRUST_DOMAIN "cluster.local"

_Static_assert(sizeof(struct sl_wl_addr) == 32, "one per workload address, 20,000 at scale");

static const struct sl_wl_labels unknown = {
	.workload = SL_WL_UNKNOWN, .namespace = SL_WL_UNKNOWN, .principal = SL_WL_UNKNOWN,
	.app = SL_WL_UNKNOWN, .version = SL_WL_UNKNOWN,
	.canonical_service = SL_WL_UNKNOWN, .canonical_revision = SL_WL_UNKNOWN,
	.cluster = SL_WL_UNKNOWN,
};

const struct sl_wl_labels *sl_wl_unknown(void)
{
	return &unknown;
}

static const char *label(const struct sl_label *labels, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(labels[i].key, key))
			return labels[i].value;
	return NULL;
}

/* Kubernetes' generated suffixes use consonants and the digits 2, 4-9
 * only, so that they never spell words: a word seldom looks like one. */
static bool generated(const char *s, size_t n, size_t min, size_t max)
{
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("bcdfghjklmnpqrstvwxz2456789", s[i]))
			return false;
	return true;
}

static bool digits(const char *s, size_t n, size_t min)
{
	if (n < min)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* The part after the last '-' of name[0..*len), NULL if none. */
static const char *last_part(const char *name, size_t len, size_t *part_len)
{
	for (size_t i = len; i > 1; i--) {
		if (name[i - 1] == '-') {
			*part_len = len - i;
			return name + i;
		}
	}
	return NULL;
}

/*
 * Istio names a pod's workload after its top controller (Deployment,
 * CronJob, StatefulSet, DaemonSet, ...). Without ownerReferences the
 * controllers show in the name: a ReplicaSet's pod is RS-xxxxx and a
 * Deployment's ReplicaSet DEPLOY-HASH (HASH also in the label
 * pod-template-hash); a CronJob's Job is CRON-MINUTES; a StatefulSet's pod
 * STS-N (label statefulset.kubernetes.io/pod-name).
 */
void sl_wl_pod_workload(const char *pod, const struct sl_label *labels, size_t n_labels,
			char *buf, size_t len)
{
	const char *hash = label(labels, n_labels, "pod-template-hash");
	size_t n = strlen(pod), plen;
	const char *part = last_part(pod, n, &plen);

	if (part && generated(part, plen, 5, 5)) {
		n -= plen + 1;
		part = last_part(pod, n, &plen);
		if (part && ((hash && strlen(hash) == plen && !strncmp(part, hash, plen)) ||
			     generated(part, plen, 6, 10) || digits(part, plen, 8)))
			n -= plen + 1;
	} else if (part && label(labels, n_labels, "statefulset.kubernetes.io/pod-name") &&
		   digits(part, plen, 1)) {
		n -= plen + 1;
	}
	snprintf(buf, len, "%.*s", (int)n, pod);
}

static const char *first_label(const struct sl_label *labels, size_t n, const char *a,
			       const char *b)
{
	const char *v = label(labels, n, a);

	return v ? v : label(labels, n, b);
}

/* Sets of interned strings: the same text is the same pointer. */
static uint64_t labels_hash(const void *x)
{
	return XXH64(x, sizeof(struct sl_wl_labels), 0);
}

static bool labels_same(const void *x, const void *y)
{
	return !memcmp(x, y, sizeof(struct sl_wl_labels));
}

static const struct sl_pset_ops labels_ops = { labels_hash, labels_same };

/* The table's copy of s, shared with every equal string. */
static const char *intern(struct sl_wltable *t, const char *s)
{
	size_t at;
	const char *found = sl_pset_find(&t->strings, &sl_pset_strings, s, &at);

	if (found)
		return found;
	t->strings.v[at] = sl_arena_strdup(&t->arena, s);
	t->strings.n++;
	return t->strings.v[at];
}

/* The table's copy of l (its strings interned), shared likewise. */
static const struct sl_wl_labels *intern_labels(struct sl_wltable *t,
						const struct sl_wl_labels *l)
{
	struct sl_wl_labels *copy;
	size_t at;
	const struct sl_wl_labels *found = sl_pset_find(&t->sets, &labels_ops, l, &at);

	if (found)
		return found;
	copy = sl_arena_alloc(&t->arena, sizeof(*copy));
	*copy = *l;
	t->sets.v[at] = copy;
	t->sets.n++;
	return copy;
}

/* A label's value interned, or the fallback (a constant or interned). */
static const char *value_or(struct sl_wltable *t, const char *v, const char *fallback)
{
	return v ? intern(t, v) : fallback;
}

static void add_addr(struct sl_wltable *t, const struct sl_ip *ip, const char *workload,
		     const char *ns, const char *sa, const struct sl_label *labels,
		     size_t n_labels)
{
	struct sl_wl_labels l;
	struct sl_wl_addr *a;
	char buf[512];

	l.workload = intern(t, workload);
	l.namespace = ns;
	snprintf(buf, sizeof(buf), "spiffe://" TRUST_DOMAIN "/ns/%s/sa/%s", ns,
		 sa ? sa : "default");
	l.principal = intern(t, buf);
	l.app = value_or(t, first_label(labels, n_labels, "app", "app.kubernetes.io/name"),
			 SL_WL_UNKNOWN);
	l.version = value_or(t, first_label(labels, n_labels, "version",
					    "app.kubernetes.io/version"), SL_WL_UNKNOWN);
	l.canonical_service = label(labels, n_labels, "service.istio.io/canonical-name");
	if (!l.canonical_service)
		l.canonical_service = first_label(labels, n_labels, "app.kubernetes.io/name", "app");
	l.canonical_service = value_or(t, l.canonical_service, l.workload);
	l.canonical_revision = label(labels, n_labels, "service.istio.io/canonical-revision");
	if (!l.canonical_revision)
		l.canonical_revision = first_label(labels, n_labels, "app.kubernetes.io/version",
						   "version");
	l.canonical_revision = value_or(t, l.canonical_revision, "latest");
	l.cluster = SL_WL_CLUSTER;
	sl_arena_grow(&t->arena, (void **)&t->addrs, &t->cap_addrs, t->n_addrs + 1,
		      sizeof(*t->addrs));
	a = &t->addrs[t->n_addrs++];
	a->ip = *ip;
	a->order = (uint32_t)t->n_addrs;
	a->l = intern_labels(t, &l);
}

/* Sized once: grown by doubling, the arena would keep every smaller copy
 * (at 100,000 pods, 12 MB more than the table). */
static void reserve_addrs(struct sl_wltable *t, const struct sl_config *cfg)
{
	size_t n = cfg->n_workload_entries;

	for (size_t i = 0; i < cfg->n_pods; i++)
		n += cfg->pods[i].n_ips;
	for (size_t i = 0; i < cfg->n_entries; i++)
		n += cfg->entries[i].n_endpoints;
	sl_arena_grow(&t->arena, (void **)&t->addrs, &t->cap_addrs, n + 1, sizeof(*t->addrs));
}

static void add_pods(struct sl_wltable *t, const struct sl_config *cfg)
{
	char wl[SL_NAME_LEN * 2];

	for (size_t i = 0; i < cfg->n_pods; i++) {
		const struct sl_pod *p = &cfg->pods[i];
		const char *ns = intern(t, p->meta.namespace);

		sl_wl_pod_workload(p->meta.name, p->meta.labels, p->meta.n_labels, wl, sizeof(wl));
		for (size_t k = 0; k < p->n_ips; k++)
			add_addr(t, &p->ips[k], wl, ns, p->service_account, p->meta.labels,
				 p->meta.n_labels);
	}
}

/* A WorkloadEntry is a workload of its own; a ServiceEntry's endpoints
 * are named after the ServiceEntry, as `sluicectl identities` does. */
static void add_entries(struct sl_wltable *t, const struct sl_config *cfg)
{
	for (size_t i = 0; i < cfg->n_workload_entries; i++) {
		const struct sl_workload_entry *w = &cfg->workload_entries[i];

		add_addr(t, &w->addr, w->meta.name, intern(t, w->meta.namespace),
			 w->service_account, w->labels, w->n_labels);
	}
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct sl_service_entry *se = &cfg->entries[i];
		const char *ns = intern(t, se->meta.namespace);

		for (size_t k = 0; k < se->n_endpoints; k++) {
			const struct sl_se_endpoint *e = &se->endpoints[k];

			add_addr(t, &e->addr, se->meta.name, ns, e->service_account, e->labels,
				 e->n_labels);
		}
	}
}

/* By address, then the order added: the first document wins. */
static int addr_cmp(const void *a, const void *b)
{
	const struct sl_wl_addr *x = a, *y = b;
	int c = sl_ip_cmp(&x->ip, &y->ip);

	return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

int sl_wltable_build(struct sl_wltable *t, const struct sl_config *cfg, struct sl_err *err)
{
	size_t out = 0;

	(void)err;	/* allocation failure aborts, as everywhere in the agent */
	memset(t, 0, sizeof(*t));
	reserve_addrs(t, cfg);
	add_pods(t, cfg);
	add_entries(t, cfg);
	sl_pset_free(&t->strings);
	sl_pset_free(&t->sets);
	if (t->n_addrs)
		qsort(t->addrs, t->n_addrs, sizeof(*t->addrs), addr_cmp);
	for (size_t i = 0; i < t->n_addrs; i++)
		if (!out || sl_ip_cmp(&t->addrs[out - 1].ip, &t->addrs[i].ip))
			t->addrs[out++] = t->addrs[i];
	t->n_addrs = out;
	return 0;
}

void sl_wltable_free(struct sl_wltable *t)
{
	sl_arena_free(&t->arena);
	memset(t, 0, sizeof(*t));
}

const struct sl_wl_labels *sl_wltable_addr(const struct sl_wltable *t, const struct sl_ip *ip)
{
	size_t lo = 0, hi = t->n_addrs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = sl_ip_cmp(&t->addrs[mid].ip, ip);

		if (!c)
			return t->addrs[mid].l;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
