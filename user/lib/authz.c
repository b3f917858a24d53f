// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Compiling identities and AuthorizationPolicies into the kernel's tables
 * (see authz.h for the shape). Every step sorts and deduplicates, so the
 * same configuration always gives the same tables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"

/* Which source wins when several describe one address. */
enum { PRIO_POD, PRIO_WORKLOAD_ENTRY, PRIO_SE_ENDPOINT, PRIO_SLICE_ENDPOINT };

struct addr_claim {
	struct sl_ip ip;
	int prio;
	uint32_t workload;	/* index */
};

static int cmp_policy(const void *a, const void *b)
{
	const struct sl_authz_policy *x = *(const struct sl_authz_policy *const *)a;
	const struct sl_authz_policy *y = *(const struct sl_authz_policy *const *)b;
	int c = strcmp(x->meta.namespace, y->meta.namespace);

	return c ? c : strcmp(x->meta.name, y->meta.name);
}

static int cmp_identity(const void *a, const void *b)
{
	const struct sl_authz_identity *x = a, *y = b;
	int c = strcmp(x->namespace, y->namespace);

	return c ? c : strcmp(x->service_account, y->service_account);
}

static int cmp_claim(const void *a, const void *b)
{
	const struct addr_claim *x = a, *y = b;
	int c = sl_ip_cmp(&x->ip, &y->ip);

	if (c)
		return c;
	if (x->prio != y->prio)
		return x->prio < y->prio ? -1 : 1;
	return x->workload < y->workload ? -1 : x->workload > y->workload;
}

static void add_identity(struct sl_authz *a, const char *ns, const char *sa)
{
	sl_arena_grow(&a->arena, (void **)&a->identities, &a->cap_identities,
		      a->n_identities + 1, sizeof(*a->identities));
	a->identities[a->n_identities++] = (struct sl_authz_identity){ ns, sa };
}

/* Workloads carry their identity as (namespace, service account) until
 * identities are numbered; kept here meanwhile. */
struct pending_identity {
	const char *sa;		/* NULL: no identity */
};

static uint32_t add_workload(struct sl_authz *a, struct pending_identity **pend,
			     size_t *cap_pend, const char *ns, const char *name,
			     uint32_t kind, const char *sa, const struct sl_label *labels,
			     size_t n_labels, struct sl_loc loc)
{
	struct sl_authz_workload *w;

	sl_arena_grow(&a->arena, (void **)&a->workloads, &a->cap_workloads,
		      a->n_workloads + 1, sizeof(*a->workloads));
	sl_arena_grow(&a->arena, (void **)pend, cap_pend, a->n_workloads + 1,
		      sizeof(**pend));
	w = &a->workloads[a->n_workloads];
	*w = (struct sl_authz_workload){ .namespace = ns, .name = name, .kind = kind,
					 .labels = labels, .n_labels = n_labels,
					 .loc = loc };
	(*pend)[a->n_workloads].sa = sa;
	if (sa)
		add_identity(a, ns, sa);
	return (uint32_t)a->n_workloads++;
}

static void claim(struct sl_authz *a, struct addr_claim **claims, size_t *n,
		  size_t *cap, const struct sl_ip *ip, int prio, uint32_t workload)
{
	sl_arena_grow(&a->arena, (void **)claims, cap, *n + 1, sizeof(**claims));
	(*claims)[(*n)++] = (struct addr_claim){ *ip, prio, workload };
}

struct collect {
	struct addr_claim *claims;
	size_t n_claims, cap_claims;
	struct pending_identity *pend;
	size_t cap_pend;
};

static void collect_pods_and_entries(struct sl_authz *a, const struct sl_config *cfg,
				     struct collect *c)
{
	for (size_t i = 0; i < cfg->n_pods; i++) {
		const struct sl_pod *p = &cfg->pods[i];
		uint32_t w;

		if (!p->n_ips)
			continue;
		w = add_workload(a, &c->pend, &c->cap_pend, p->meta.namespace, p->meta.name,
				 SL_WORKLOAD_POD, p->service_account, p->meta.labels,
				 p->meta.n_labels, p->meta.loc);
		for (size_t j = 0; j < p->n_ips; j++)
			claim(a, &c->claims, &c->n_claims, &c->cap_claims, &p->ips[j],
			      PRIO_POD, w);
	}
	for (size_t i = 0; i < cfg->n_workload_entries; i++) {
		const struct sl_workload_entry *e = &cfg->workload_entries[i];
		uint32_t w = add_workload(a, &c->pend, &c->cap_pend, e->meta.namespace,
					  e->meta.name, SL_WORKLOAD_ENTRY,
					  e->service_account, e->labels, e->n_labels,
					  e->meta.loc);

		claim(a, &c->claims, &c->n_claims, &c->cap_claims, &e->addr,
		      PRIO_WORKLOAD_ENTRY, w);
	}
}

static void collect_endpoints(struct sl_authz *a, const struct sl_config *cfg,
			      struct collect *c)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		const struct sl_service_entry *se = &cfg->entries[i];

		for (size_t j = 0; j < se->n_endpoints; j++) {
			const struct sl_se_endpoint *ep = &se->endpoints[j];
			uint32_t w;

			if (!ep->addr.family)
				continue;
			w = add_workload(a, &c->pend, &c->cap_pend, se->meta.namespace,
					 se->meta.name, SL_WORKLOAD_SE_ENDPOINT,
					 ep->service_account ? ep->service_account : "default",
					 ep->labels, ep->n_labels, ep->loc);
			claim(a, &c->claims, &c->n_claims, &c->cap_claims, &ep->addr,
			      PRIO_SE_ENDPOINT, w);
		}
	}
}

static void collect_slice_endpoints(struct sl_authz *a, const struct sl_config *cfg,
				    struct collect *c)
{
	struct sl_pod_index pods;

	sl_pod_index_build(&pods, cfg->pods, cfg->n_pods);
	for (size_t i = 0; i < cfg->n_slices; i++) {
		const struct sl_endpoint_slice *s = &cfg->slices[i];

		for (size_t j = 0; j < s->n_endpoints; j++) {
			const struct sl_slice_endpoint *ep = &s->endpoints[j];
			uint32_t w;

			/* The Pod's own document describes it better. */
			if (ep->pod_name &&
			    sl_pod_index_find(&pods, ep->pod_namespace, ep->pod_name))
				continue;
			w = add_workload(a, &c->pend, &c->cap_pend, s->meta.namespace,
					 ep->pod_name ? ep->pod_name : s->meta.name,
					 SL_WORKLOAD_SLICE_ENDPOINT, NULL, NULL, 0,
					 (struct sl_loc){ s->meta.loc.file, ep->line });
			for (size_t k = 0; k < ep->n_addrs; k++)
				claim(a, &c->claims, &c->n_claims, &c->cap_claims,
				      &ep->addrs[k], PRIO_SLICE_ENDPOINT, w);
		}
	}
	sl_pod_index_free(&pods);
}

static uint32_t identity_index(const struct sl_authz *a, const char *ns, const char *sa)
{
	struct sl_authz_identity key = { ns, sa };
	struct sl_authz_identity *hit = bsearch(&key, a->identities, a->n_identities,
						sizeof(key), cmp_identity);

	return hit ? (uint32_t)(hit - a->identities) + 1 : 0;
}

static void number_identities(struct sl_authz *a, const struct collect *c)
{
	size_t n = 0;

	if (a->n_identities)
		qsort(a->identities, a->n_identities, sizeof(*a->identities), cmp_identity);
	for (size_t i = 0; i < a->n_identities; i++)
		if (!n || cmp_identity(&a->identities[n - 1], &a->identities[i]))
			a->identities[n++] = a->identities[i];
	a->n_identities = n;
	for (size_t i = 0; i < a->n_workloads; i++)
		if (c->pend[i].sa)
			a->workloads[i].identity =
				identity_index(a, a->workloads[i].namespace, c->pend[i].sa);
}

static void add_ip(struct sl_authz *a, const struct sl_ip *ip, uint8_t plen,
		   uint32_t workload)
{
	sl_arena_grow(&a->arena, (void **)&a->ips, &a->cap_ips, a->n_ips + 1,
		      sizeof(*a->ips));
	a->ips[a->n_ips++] = (struct sl_authz_ip){ .ip = *ip, .plen = plen,
						   .workload = workload };
}

/* One address, one workload: the best-placed source of each address wins;
 * two of the same rank with different identities are a contradiction the
 * operator must resolve. */
static int resolve_claims(struct sl_authz *a, struct collect *c, struct sl_err *err)
{
	if (c->n_claims)
		qsort(c->claims, c->n_claims, sizeof(*c->claims), cmp_claim);
	for (size_t i = 0; i < c->n_claims; i++) {
		const struct addr_claim *x = &c->claims[i];
		const struct sl_authz_workload *wx = &a->workloads[x->workload];

		if (i && !sl_ip_cmp(&c->claims[i - 1].ip, &x->ip)) {
			const struct addr_claim *p = &c->claims[i - 1];
			const struct sl_authz_workload *wp = &a->workloads[p->workload];
			char buf[SL_ADDR_STR_LEN];

			if (p->prio == x->prio && wp->identity != wx->identity) {
				sl_ip_format(&x->ip.addr, x->ip.family, buf, sizeof(buf));
				return sl_errf(err, "%s:%u: address %s of %s/%s is also the "
					       "address of %s/%s (%s:%u) with another "
					       "service account", wx->loc.file, wx->loc.line,
					       buf, wx->namespace, wx->name, wp->namespace,
					       wp->name, wp->loc.file, wp->loc.line);
			}
			continue;
		}
		add_ip(a, &x->ip, x->ip.family == SL_AF_INET ? 32 : 128, x->workload + 1);
	}
	return 0;
}

static void add_named_cidr(struct sl_authz *a, struct sl_cidr **v, size_t *n,
			   size_t *cap, const struct sl_cidrlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		sl_arena_grow(&a->arena, (void **)v, cap, *n + 1, sizeof(**v));
		(*v)[(*n)++] = l->v[i];
	}
}

static int cmp_cidr(const void *a, const void *b)
{
	const struct sl_cidr *x = a, *y = b;
	int c = sl_ip_cmp(&x->ip, &y->ip);

	return c ? c : (int)x->plen - (int)y->plen;
}

static int cmp_ip_entry(const void *a, const void *b)
{
	const struct sl_authz_ip *x = a, *y = b;
	int c = sl_ip_cmp(&x->ip, &y->ip);

	return c ? c : (int)x->plen - (int)y->plen;
}

/* Every CIDR a policy names is an ipcache entry of its own, so that an
 * address outside every workload still finds the class of its CIDRs. */
static void collect_cidrs(struct sl_authz *a)
{
	struct sl_cidr *v = NULL;
	size_t n = 0, cap = 0, n_workload_ips = a->n_ips;

	for (size_t i = 0; i < a->n_policies; i++) {
		const struct sl_authz_policy *p = a->policies[i];

		for (size_t r = 0; r < p->n_rules; r++) {
			const struct sl_authz_rule *rule = &p->rules[r];

			for (size_t f = 0; f < rule->n_from; f++) {
				add_named_cidr(a, &v, &n, &cap, &rule->from[f].ip_blocks);
				add_named_cidr(a, &v, &n, &cap, &rule->from[f].not_ip_blocks);
			}
			for (size_t w = 0; w < rule->n_when; w++) {
				add_named_cidr(a, &v, &n, &cap, &rule->when[w].cidrs);
				add_named_cidr(a, &v, &n, &cap, &rule->when[w].not_cidrs);
			}
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_cidr);
	for (size_t i = 0; i < n; i++) {
		struct sl_authz_ip key = { .ip = v[i].ip, .plen = v[i].plen };

		if (i && !cmp_cidr(&v[i - 1], &v[i]))
			continue;
		/* A /32 naming a workload's address adds nothing. */
		if (bsearch(&key, a->ips, n_workload_ips, sizeof(key), cmp_ip_entry))
			continue;
		add_ip(a, &v[i].ip, v[i].plen, 0);
	}
	/* The workloads' addresses came sorted out of resolve_claims(). */
	if (a->n_ips > n_workload_ips)
		qsort(a->ips, a->n_ips, sizeof(*a->ips), cmp_ip_entry);
}

/* The class signature of an entry: its identity and the named CIDRs
 * containing it, as text, so classes can be sorted and shared. */
static char *class_signature(struct sl_authz *a, const struct sl_authz_ip *e,
			     const size_t *cidrs, size_t n_cidrs)
{
	uint32_t id = e->workload ? a->workloads[e->workload - 1].identity : 0;
	size_t len = 0, cap = 64;
	char *sig = malloc(cap);

	if (!sig)
		abort();
	len = (size_t)snprintf(sig, cap, "%u", id);
	for (size_t j = 0; j < n_cidrs; j++) {
		size_t i = cidrs[j];
		const struct sl_authz_ip *c = &a->ips[i];
		struct sl_cidr cidr = { c->ip, c->plen };

		if (!sl_authz_cidr_contains(&cidr, &e->ip, e->plen))
			continue;
		if (len + 16 > cap) {
			cap *= 2;
			sig = realloc(sig, cap);
			if (!sig)
				abort();
		}
		len += (size_t)snprintf(sig + len, cap - len, ",%zu", i);
	}
	return sig;
}

struct sig_ref {
	char *sig;
	size_t entry;
};

static int cmp_sig(const void *a, const void *b)
{
	const struct sig_ref *x = a, *y = b;
	int c = strcmp(x->sig, y->sig);

	return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

static void add_class(struct sl_authz *a, const struct sl_authz_ip *e)
{
	uint32_t id = e->workload ? a->workloads[e->workload - 1].identity : 0;
	struct sl_authz_peer *p;

	sl_arena_grow(&a->arena, (void **)&a->classes, &a->cap_classes,
		      a->n_classes + 1, sizeof(*a->classes));
	p = &a->classes[a->n_classes++];
	memset(p, 0, sizeof(*p));
	if (id) {
		char buf[512];

		p->namespace = a->identities[id - 1].namespace;
		p->service_account = a->identities[id - 1].service_account;
		snprintf(buf, sizeof(buf), "%s/ns/%s/sa/%s", SL_TRUST_DOMAIN,
			 p->namespace, p->service_account);
		p->principal = sl_arena_strdup(&a->arena, buf);
	}
	p->ip = e->ip;
	p->plen = e->plen;
}

static uint32_t ip_identity(const struct sl_authz *a, const struct sl_authz_ip *e)
{
	return e->workload ? a->workloads[e->workload - 1].identity : 0;
}

/* Identity numbers in the order of their text, as signatures sort. */
static int cmp_id_text(const void *a, const void *b)
{
	char x[16], y[16];

	snprintf(x, sizeof(x), "%u", *(const uint32_t *)a);
	snprintf(y, sizeof(y), "%u", *(const uint32_t *)b);
	return strcmp(x, y);
}

/* Without named CIDRs a signature is the identity's number alone: the
 * same classes, numbered alike, without a string per address to build
 * and sort (100,000 of them at scale). */
static void classes_by_identity(struct sl_authz *a)
{
	size_t n_ids = a->n_identities + 1, n = 0;
	size_t *first = malloc(n_ids * sizeof(*first));
	uint32_t *order = calloc(n_ids, sizeof(*order));
	uint32_t *class_of = calloc(n_ids, sizeof(*class_of));

	if (!first || !order || !class_of)
		abort();
	memset(first, 0xff, n_ids * sizeof(*first));
	for (size_t i = 0; i < a->n_ips; i++) {
		uint32_t id = ip_identity(a, &a->ips[i]);

		if (first[id] == SIZE_MAX) {
			first[id] = i;	/* the class's peer: its first address */
			order[n++] = id;
		}
	}
	qsort(order, n, sizeof(*order), cmp_id_text);
	for (size_t k = 0; k < n; k++) {
		add_class(a, &a->ips[first[order[k]]]);
		class_of[order[k]] = (uint32_t)a->n_classes - 1;
	}
	for (size_t i = 0; i < a->n_ips; i++)
		a->ips[i].src_class = class_of[ip_identity(a, &a->ips[i])];
	free(first);
	free(order);
	free(class_of);
}

static void assign_classes(struct sl_authz *a)
{
	struct sig_ref *refs = calloc(a->n_ips ? a->n_ips : 1, sizeof(*refs));
	size_t *cidrs = calloc(a->n_ips ? a->n_ips : 1, sizeof(*cidrs)), n_cidrs = 0;

	if (!refs || !cidrs)
		abort();
	for (size_t i = 0; i < a->n_ips; i++)
		if (!a->ips[i].workload)
			cidrs[n_cidrs++] = i;
	a->n_classes = 0;
	sl_arena_grow(&a->arena, (void **)&a->classes, &a->cap_classes, 1,
		      sizeof(*a->classes));
	memset(&a->classes[0], 0, sizeof(a->classes[0]));	/* unknown peers */
	a->n_classes = 1;
	if (!n_cidrs) {
		classes_by_identity(a);
		free(refs);
		free(cidrs);
		return;
	}
	for (size_t i = 0; i < a->n_ips; i++)
		refs[i] = (struct sig_ref){ class_signature(a, &a->ips[i], cidrs, n_cidrs), i };
	if (a->n_ips)
		qsort(refs, a->n_ips, sizeof(*refs), cmp_sig);
	for (size_t i = 0; i < a->n_ips; i++) {
		if (!i || strcmp(refs[i - 1].sig, refs[i].sig))
			add_class(a, &a->ips[refs[i].entry]);
		a->ips[refs[i].entry].src_class = (uint32_t)a->n_classes - 1;
	}
	for (size_t i = 0; i < a->n_ips; i++)
		free(refs[i].sig);
	free(refs);
	free(cidrs);
}

/* Room for every workload and address at once: grown one by one, the
 * arena keeps each smaller copy (at 100,000 endpoints, tens of MB to
 * allocate and fault in on every apply). */
static void reserve(struct sl_authz *a, const struct sl_config *cfg, struct collect *c)
{
	size_t wl = cfg->n_pods + cfg->n_workload_entries, addrs = cfg->n_workload_entries;

	for (size_t i = 0; i < cfg->n_pods; i++)
		addrs += cfg->pods[i].n_ips;
	for (size_t i = 0; i < cfg->n_entries; i++) {
		wl += cfg->entries[i].n_endpoints;
		addrs += cfg->entries[i].n_endpoints;
	}
	for (size_t i = 0; i < cfg->n_slices; i++) {
		wl += cfg->slices[i].n_endpoints;
		for (size_t j = 0; j < cfg->slices[i].n_endpoints; j++)
			addrs += cfg->slices[i].endpoints[j].n_addrs;
	}
	sl_arena_grow(&a->arena, (void **)&a->workloads, &a->cap_workloads, wl + 1,
		      sizeof(*a->workloads));
	sl_arena_grow(&a->arena, (void **)&c->pend, &c->cap_pend, wl + 1, sizeof(*c->pend));
	sl_arena_grow(&a->arena, (void **)&c->claims, &c->cap_claims, addrs + 1,
		      sizeof(*c->claims));
	sl_arena_grow(&a->arena, (void **)&a->ips, &a->cap_ips, addrs + 1, sizeof(*a->ips));
}

int sl_authz_build(const struct sl_config *cfg, const char *root_namespace,
		   struct sl_authz *out, struct sl_err *err)
{
	struct collect c = { 0 };
	struct sl_authz *a = out;

	memset(a, 0, sizeof(*a));
	a->policies = sl_arena_alloc(&a->arena, (cfg->n_policies + 1) * sizeof(*a->policies));
	for (size_t i = 0; i < cfg->n_policies; i++)
		a->policies[i] = &cfg->policies[i];
	a->n_policies = cfg->n_policies;
	if (a->n_policies)
		qsort(a->policies, a->n_policies, sizeof(*a->policies), cmp_policy);
	reserve(a, cfg, &c);
	collect_pods_and_entries(a, cfg, &c);
	collect_endpoints(a, cfg, &c);
	collect_slice_endpoints(a, cfg, &c);
	number_identities(a, &c);
	if (resolve_claims(a, &c, err) < 0) {
		sl_authz_free(a);
		return -1;
	}
	collect_cidrs(a);
	/* Without a policy the kernel reads no class, set or verdict: only
	 * the workloads' names are written (at 100,000 addresses the
	 * classes alone cost tens of milliseconds an apply). */
	if (!a->n_policies) {
		sl_arena_grow(&a->arena, (void **)&a->classes, &a->cap_classes, 1,
			      sizeof(*a->classes));
		memset(&a->classes[0], 0, sizeof(a->classes[0]));	/* unknown peers */
		a->n_classes = 1;
		return 0;
	}
	assign_classes(a);
	sl_authz_compile_tables(a, root_namespace);
	return 0;
}

void sl_authz_free(struct sl_authz *a)
{
	sl_arena_free(&a->arena);
	memset(a, 0, sizeof(*a));
}
