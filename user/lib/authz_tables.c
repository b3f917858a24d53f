// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Destination sets and verdict entries. Workloads selected by the same
 * policies share a set; for each set, every class is evaluated on every
 * port its policies name and on port 0, which no policy names and so
 * stands for every other port. An entry is kept only where the verdict
 * differs from what the kernel would fall back to: (set, class, port)
 * falls back to (set, class, 0), which falls back to the set's default,
 * the verdict of an unknown peer on an unnamed port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"

struct set_ref {
	char *sig;
	uint32_t *policies;
	size_t n_policies;
	size_t workload;
};

static int cmp_set_ref(const void *a, const void *b)
{
	const struct set_ref *x = a, *y = b;
	int c = strcmp(x->sig, y->sig);

	return c ? c : (x->workload > y->workload) - (x->workload < y->workload);
}

/* Policies are sorted by namespace: those of one namespace are a range. */
static size_t ns_first(const struct sl_authz *a, const char *ns)
{
	size_t lo = 0, hi = a->n_policies;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(a->policies[mid]->meta.namespace, ns) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void select_range(const struct sl_authz *a, const char *root_ns, const char *ns,
			 const struct sl_authz_workload *w, struct set_ref *r, size_t *cap)
{
	for (size_t i = ns_first(a, ns); i < a->n_policies &&
	     !strcmp(a->policies[i]->meta.namespace, ns); i++) {
		if (!sl_authz_selects(a->policies[i], root_ns, w->namespace, w->labels,
				      w->n_labels))
			continue;
		if (r->n_policies == *cap) {
			*cap = *cap ? *cap * 2 : 8;
			r->policies = realloc(r->policies, *cap * sizeof(*r->policies));
			if (!r->policies)
				abort();
		}
		r->policies[r->n_policies++] = (uint32_t)i;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static char *policies_signature(const struct set_ref *r)
{
	size_t cap = 16 + r->n_policies * 11, len = 0;
	char *sig = malloc(cap);

	if (!sig)
		abort();
	sig[0] = '\0';
	for (size_t i = 0; i < r->n_policies; i++)
		len += (size_t)snprintf(sig + len, cap - len, "%u,", r->policies[i]);
	return sig;
}

static void add_set(struct sl_authz *a, const struct set_ref *r)
{
	struct sl_authz_set *s;

	sl_arena_grow(&a->arena, (void **)&a->sets, &a->cap_sets, a->n_sets + 1,
		      sizeof(*a->sets));
	s = &a->sets[a->n_sets++];
	memset(s, 0, sizeof(*s));
	if (!r)
		return;
	s->policies = sl_arena_alloc(&a->arena, r->n_policies * sizeof(*s->policies));
	memcpy(s->policies, r->policies, r->n_policies * sizeof(*s->policies));
	s->n_policies = r->n_policies;
}

static void assign_sets(struct sl_authz *a, const char *root_ns)
{
	struct set_ref *refs = calloc(a->n_workloads + 1, sizeof(*refs));
	uint32_t *set_of = calloc(a->n_workloads + 1, sizeof(*set_of));
	size_t n = 0;

	if (!refs || !set_of)
		abort();
	add_set(a, NULL);	/* set 0: selected by no policy */
	for (size_t i = 0; i < a->n_workloads; i++) {
		const struct sl_authz_workload *w = &a->workloads[i];
		struct set_ref r = { .workload = i };
		size_t cap = 0;

		select_range(a, root_ns, root_ns, w, &r, &cap);
		if (strcmp(w->namespace, root_ns))
			select_range(a, root_ns, w->namespace, w, &r, &cap);
		if (!r.n_policies)
			continue;
		qsort(r.policies, r.n_policies, sizeof(*r.policies), cmp_u32);
		r.sig = policies_signature(&r);
		refs[n++] = r;
	}
	if (n)
		qsort(refs, n, sizeof(*refs), cmp_set_ref);
	for (size_t i = 0; i < n; i++) {
		if (!i || strcmp(refs[i - 1].sig, refs[i].sig))
			add_set(a, &refs[i]);
		set_of[refs[i].workload] = (uint32_t)a->n_sets - 1;
	}
	for (size_t i = 0; i < a->n_ips; i++)
		if (a->ips[i].workload)
			a->ips[i].dst_set = set_of[a->ips[i].workload - 1];
	for (size_t i = 0; i < n; i++) {
		free(refs[i].sig);
		free(refs[i].policies);
	}
	free(refs);
	free(set_of);
}

static void add_port(uint16_t **v, size_t *n, size_t *cap, uint16_t port)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = realloc(*v, *cap * sizeof(**v));
		if (!*v)
			abort();
	}
	(*v)[(*n)++] = port;
}

static void add_ports(uint16_t **v, size_t *n, size_t *cap, const struct sl_portlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		add_port(v, n, cap, l->v[i]);
}

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/* Every port the policies of a set name, sorted, once each. */
static size_t set_ports(const struct sl_authz *a, const struct sl_authz_set *s,
			uint16_t **out)
{
	uint16_t *v = NULL;
	size_t n = 0, cap = 0, k = 0;

	for (size_t i = 0; i < s->n_policies; i++) {
		const struct sl_authz_policy *p = a->policies[s->policies[i]];

		for (size_t r = 0; r < p->n_rules; r++) {
			const struct sl_authz_rule *rule = &p->rules[r];

			for (size_t t = 0; t < rule->n_to; t++) {
				add_ports(&v, &n, &cap, &rule->to[t].ports);
				add_ports(&v, &n, &cap, &rule->to[t].not_ports);
			}
			for (size_t w = 0; w < rule->n_when; w++) {
				add_ports(&v, &n, &cap, &rule->when[w].ports);
				add_ports(&v, &n, &cap, &rule->when[w].not_ports);
			}
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_u16);
	for (size_t i = 0; i < n; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	*out = v;
	return k;
}

static void add_entry(struct sl_authz *a, uint32_t set, uint32_t class, uint16_t port,
		      const struct sl_authz_decision *d)
{
	sl_arena_grow(&a->arena, (void **)&a->entries, &a->cap_entries, a->n_entries + 1,
		      sizeof(*a->entries));
	a->entries[a->n_entries++] = (struct sl_authz_entry){ set, class, port, *d };
}

static bool same(const struct sl_authz_decision *x, const struct sl_authz_decision *y)
{
	return !memcmp(x, y, sizeof(*x));
}

/* Rules that can only match sources they name exactly are found by the
 * source's principal or namespace; the others are tried for every class.
 * This keeps a set with one rule per identity linear, not quadratic. */
struct key_ref {
	const char *key;
	struct sl_authz_rule_ref ref;
};

struct rule_index {
	struct key_ref *keyed;
	size_t n_keyed, cap_keyed;
	struct sl_authz_rule_ref *open;
	size_t n_open, cap_open;
	bool any_allow[2];
};

static int cmp_ref(const void *a, const void *b)
{
	const struct sl_authz_rule_ref *x = a, *y = b;

	if (x->pol != y->pol)
		return x->pol < y->pol ? -1 : 1;
	return (x->rule > y->rule) - (x->rule < y->rule);
}

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : cmp_ref(&x->ref, &y->ref);
}

static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return v;
	*cap = *cap ? *cap * 2 : 64;
	if (*cap < need)
		*cap = need;
	v = realloc(v, *cap * size);
	if (!v)
		abort();
	return v;
}

static void index_rules(struct sl_authz *a, const struct sl_authz_set *s,
			struct rule_index *ix)
{
	const char *keys[64];

	memset(ix, 0, sizeof(*ix));
	for (uint32_t pos = 0; pos < s->n_policies; pos++) {
		const struct sl_authz_policy *p = a->policies[s->policies[pos]];

		if (p->action == SL_AUTHZ_ALLOW) {
			ix->any_allow[1] = true;
			ix->any_allow[0] |= !p->dry_run;
		}
		for (uint32_t r = 0; r < p->n_rules; r++) {
			struct sl_authz_rule_ref ref = { pos, r };
			int n = sl_authz_rule_keys(&a->arena, &p->rules[r], keys, 64);

			if (n < 0) {
				ix->open = grow(ix->open, &ix->cap_open, ix->n_open + 1,
						sizeof(*ix->open));
				ix->open[ix->n_open++] = ref;
				continue;
			}
			ix->keyed = grow(ix->keyed, &ix->cap_keyed, ix->n_keyed + (size_t)n,
					 sizeof(*ix->keyed));
			for (int k = 0; k < n; k++)
				ix->keyed[ix->n_keyed++] = (struct key_ref){ keys[k], ref };
		}
	}
	if (ix->n_keyed)
		qsort(ix->keyed, ix->n_keyed, sizeof(*ix->keyed), cmp_key_ref);
}

/* Appends the rules filed under key to *out. */
static void add_keyed(const struct rule_index *ix, const char *key,
		      struct sl_authz_rule_ref **out, size_t *n, size_t *cap)
{
	size_t lo = 0, hi = ix->n_keyed;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(ix->keyed[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < ix->n_keyed && !strcmp(ix->keyed[lo].key, key); lo++) {
		*out = grow(*out, cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = ix->keyed[lo].ref;
	}
}

/* The rules that may match a class, in policy and rule order. */
static size_t candidates(const struct rule_index *ix, const struct sl_authz_peer *c,
			 struct sl_authz_rule_ref **out, size_t *cap)
{
	char key[600];
	size_t n = 0, k = 0;

	*out = grow(*out, cap, ix->n_open + 1, sizeof(**out));
	if (ix->n_open)
		memcpy(*out, ix->open, ix->n_open * sizeof(**out));
	n = ix->n_open;
	if (c->principal) {
		snprintf(key, sizeof(key), "p:%s", c->principal);
		add_keyed(ix, key, out, &n, cap);
		snprintf(key, sizeof(key), "n:%s", c->namespace);
		add_keyed(ix, key, out, &n, cap);
	}
	if (n)
		qsort(*out, n, sizeof(**out), cmp_ref);
	for (size_t i = 0; i < n; i++)
		if (!k || cmp_ref(&(*out)[k - 1], &(*out)[i]))
			(*out)[k++] = (*out)[i];
	return k;
}

static void compile_set(struct sl_authz *a, uint32_t si)
{
	struct sl_authz_set *s = &a->sets[si];
	struct sl_authz_rule_ref *cand = NULL;
	size_t cap = 0, n_cand;
	uint16_t *ports = NULL;
	size_t n_ports = set_ports(a, s, &ports);
	struct rule_index ix;

	index_rules(a, s, &ix);
	n_cand = candidates(&ix, &a->classes[0], &cand, &cap);
	sl_authz_eval_rules(a->policies, s->policies, ix.any_allow, cand, n_cand,
			    &a->classes[0], 0, &s->dflt);
	for (uint32_t c = 0; c < a->n_classes; c++) {
		struct sl_authz_decision base, d;

		n_cand = candidates(&ix, &a->classes[c], &cand, &cap);
		if (c == 0) {
			base = s->dflt;
		} else {
			sl_authz_eval_rules(a->policies, s->policies, ix.any_allow, cand,
					    n_cand, &a->classes[c], 0, &base);
			if (!same(&base, &s->dflt))
				add_entry(a, si, c, 0, &base);
		}
		for (size_t i = 0; i < n_ports; i++) {
			sl_authz_eval_rules(a->policies, s->policies, ix.any_allow, cand,
					    n_cand, &a->classes[c], ports[i], &d);
			if (!same(&d, &base))
				add_entry(a, si, c, ports[i], &d);
		}
	}
	free(cand);
	free(ix.keyed);
	free(ix.open);
	free(ports);
}

void sl_authz_compile_tables(struct sl_authz *a, const char *root_namespace)
{
	assign_sets(a, root_namespace);
	for (uint32_t s = 1; s < a->n_sets; s++)
		compile_set(a, s);
}
