// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio's AuthorizationPolicy semantics at L4, on one source and one
 * destination port. This is the reference the compiled tables are built
 * from, and what the unit tests check against Istio's documented examples.
 *
 * Within a rule, from, to and when must all match; each is a list matched
 * if any item matches (when: all conditions). Within a source or an
 * operation every field given must match; a field matches if any of its
 * values does, a not-field if none does. A source without an identity
 * matches no principal or namespace, and so every not-principal and
 * not-namespace. A rule that needs L7 never matches in an ALLOW policy and
 * is enforced without its L7 parts in DENY and AUDIT policies, as ztunnel
 * does.
 */
#include <stdio.h>
#include <string.h>

#include "authz.h"

bool sl_authz_str_match(const char *pattern, const char *value)
{
	size_t pl = strlen(pattern), vl = strlen(value);

	if (!strcmp(pattern, "*"))
		return vl > 0;
	if (pl && pattern[pl - 1] == '*')
		return vl >= pl - 1 && !strncmp(pattern, value, pl - 1);
	if (pattern[0] == '*')
		return vl >= pl - 1 && !strcmp(value + vl - (pl - 1), pattern + 1);
	return !strcmp(pattern, value);
}

static bool list_match(const struct sl_strlist *l, const char *value)
{
	if (!value)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (sl_authz_str_match(l->v[i], value))
			return true;
	return false;
}

/* Principals are written "cluster.local/ns/NS/sa/SA", optionally with
 * spiffe:// in front. */
static bool principal_match(const struct sl_strlist *l, const struct sl_authz_peer *p)
{
	char buf[512];
	const char *principal = p->principal;

	if (!p->namespace)
		return false;
	if (!principal) {
		snprintf(buf, sizeof(buf), "%s/ns/%s/sa/%s", SL_TRUST_DOMAIN,
			 p->namespace, p->service_account);
		principal = buf;
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *pat = l->v[i];

		if (!strncmp(pat, "spiffe://", 9))
			pat += 9;
		if (sl_authz_str_match(pat, principal))
			return true;
	}
	return false;
}

bool sl_authz_cidr_contains(const struct sl_cidr *c, const struct sl_ip *ip,
			    uint8_t plen)
{
	const uint8_t *a = (const uint8_t *)c->ip.addr.a;
	const uint8_t *b = (const uint8_t *)ip->addr.a;
	unsigned int full = c->plen / 8, rest = c->plen % 8;

	if (ip->family != c->ip.family || plen < c->plen)
		return false;
	if (memcmp(a, b, full))
		return false;
	if (!rest)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool cidr_match(const struct sl_cidrlist *l, const struct sl_authz_peer *p)
{
	if (!p->ip.family)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (sl_authz_cidr_contains(&l->v[i], &p->ip, p->plen))
			return true;
	return false;
}

static bool port_match(const struct sl_portlist *l, uint16_t port)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i] == port)
			return true;
	return false;
}

/* A field given (non-empty) must match; a not-field given must not. */
#define FIELD_OK(list, hit) ((list).n == 0 || (hit))
#define NOT_FIELD_OK(list, hit) ((list).n == 0 || !(hit))

static bool source_match(const struct sl_authz_source *s, const struct sl_authz_peer *p)
{
	return FIELD_OK(s->principals, principal_match(&s->principals, p)) &&
	       NOT_FIELD_OK(s->not_principals, principal_match(&s->not_principals, p)) &&
	       FIELD_OK(s->namespaces, list_match(&s->namespaces, p->namespace)) &&
	       NOT_FIELD_OK(s->not_namespaces, list_match(&s->not_namespaces, p->namespace)) &&
	       FIELD_OK(s->ip_blocks, cidr_match(&s->ip_blocks, p)) &&
	       NOT_FIELD_OK(s->not_ip_blocks, cidr_match(&s->not_ip_blocks, p));
}

static bool operation_match(const struct sl_authz_operation *o, uint16_t port)
{
	return FIELD_OK(o->ports, port_match(&o->ports, port)) &&
	       NOT_FIELD_OK(o->not_ports, port_match(&o->not_ports, port));
}

static bool when_match(const struct sl_authz_when *w, const struct sl_authz_peer *p,
		       uint16_t port)
{
	switch (w->key) {
	case SL_WHEN_SOURCE_IP:
		return FIELD_OK(w->cidrs, cidr_match(&w->cidrs, p)) &&
		       NOT_FIELD_OK(w->not_cidrs, cidr_match(&w->not_cidrs, p));
	case SL_WHEN_SOURCE_NAMESPACE:
		return FIELD_OK(w->values, list_match(&w->values, p->namespace)) &&
		       NOT_FIELD_OK(w->not_values, list_match(&w->not_values, p->namespace));
	case SL_WHEN_SOURCE_PRINCIPAL:
		return FIELD_OK(w->values, principal_match(&w->values, p)) &&
		       NOT_FIELD_OK(w->not_values, principal_match(&w->not_values, p));
	case SL_WHEN_DESTINATION_PORT:
		return FIELD_OK(w->ports, port_match(&w->ports, port)) &&
		       NOT_FIELD_OK(w->not_ports, port_match(&w->not_ports, port));
	}
	return false;
}

static bool rule_needs_l7(const struct sl_authz_rule *r)
{
	if (r->l7_field)
		return true;
	for (size_t i = 0; i < r->n_from; i++)
		if (r->from[i].l7_field)
			return true;
	for (size_t i = 0; i < r->n_to; i++)
		if (r->to[i].l7_field)
			return true;
	return false;
}

static bool rule_match(const struct sl_authz_rule *r, enum sl_authz_action action,
		       const struct sl_authz_peer *p, uint16_t port)
{
	bool from = r->n_from == 0, to = r->n_to == 0;

	if (action == SL_AUTHZ_ALLOW && rule_needs_l7(r))
		return false;
	for (size_t i = 0; i < r->n_from && !from; i++)
		from = source_match(&r->from[i], p);
	for (size_t i = 0; i < r->n_to && !to; i++)
		to = operation_match(&r->to[i], port);
	if (!from || !to)
		return false;
	for (size_t i = 0; i < r->n_when; i++)
		if (!when_match(&r->when[i], p, port))
			return false;
	return true;
}

/* The first rule of p that matches, as index + 1; 0 if none. */
static uint32_t policy_match(const struct sl_authz_policy *p,
			     const struct sl_authz_peer *src, uint16_t port)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (rule_match(&p->rules[i], p->action, src, port))
			return (uint32_t)i + 1;
	return 0;
}

static void decide(const struct sl_authz_policy *const *all, const uint32_t *pols,
		   size_t n, const struct sl_authz_peer *src, uint16_t port,
		   bool with_dry_run, uint8_t *verdict, uint32_t *policy, uint32_t *rule)
{
	bool any_allow = false;

	for (int pass = 0; pass < 2; pass++) {
		enum sl_authz_action want = pass == 0 ? SL_AUTHZ_DENY : SL_AUTHZ_ALLOW;

		for (size_t i = 0; i < n; i++) {
			const struct sl_authz_policy *p = all[pols[i]];
			uint32_t r;

			if (p->action != want || (p->dry_run && !with_dry_run))
				continue;
			any_allow |= want == SL_AUTHZ_ALLOW;
			r = policy_match(p, src, port);
			if (!r)
				continue;
			*verdict = want == SL_AUTHZ_DENY ? SL_VERDICT_DENY : SL_VERDICT_ALLOW;
			*policy = pols[i] + 1;
			*rule = r;
			return;
		}
	}
	*verdict = any_allow ? SL_VERDICT_DENY : SL_VERDICT_ALLOW;
	*policy = 0;
	*rule = 0;
}

void sl_authz_eval(const struct sl_authz_policy *const *all, const uint32_t *pols,
		   size_t n, const struct sl_authz_peer *src, uint16_t port,
		   struct sl_authz_decision *d)
{
	memset(d, 0, sizeof(*d));
	decide(all, pols, n, src, port, false, &d->verdict, &d->policy, &d->rule);
	decide(all, pols, n, src, port, true, &d->shadow, &d->shadow_policy,
	       &d->shadow_rule);
	for (size_t i = 0; i < n; i++) {
		const struct sl_authz_policy *p = all[pols[i]];
		uint32_t r;

		if (p->action != SL_AUTHZ_AUDIT || !(r = policy_match(p, src, port)))
			continue;
		d->audit = true;
		d->audit_policy = pols[i] + 1;
		d->audit_rule = r;
		break;
	}
}

/* Istio's order over candidate rules only (see sl_authz_eval_rules). */
static void decide_rules(const struct sl_authz_policy *const *all, const uint32_t *pols,
			 bool any_allow, const struct sl_authz_rule_ref *rules, size_t n,
			 const struct sl_authz_peer *src, uint16_t port, bool with_dry_run,
			 uint8_t *verdict, uint32_t *policy, uint32_t *rule)
{
	for (int pass = 0; pass < 2; pass++) {
		enum sl_authz_action want = pass == 0 ? SL_AUTHZ_DENY : SL_AUTHZ_ALLOW;

		for (size_t i = 0; i < n; i++) {
			const struct sl_authz_policy *p = all[pols[rules[i].pol]];

			if (p->action != want || (p->dry_run && !with_dry_run) ||
			    !rule_match(&p->rules[rules[i].rule], p->action, src, port))
				continue;
			*verdict = want == SL_AUTHZ_DENY ? SL_VERDICT_DENY : SL_VERDICT_ALLOW;
			*policy = pols[rules[i].pol] + 1;
			*rule = rules[i].rule + 1;
			return;
		}
	}
	*verdict = any_allow ? SL_VERDICT_DENY : SL_VERDICT_ALLOW;
	*policy = 0;
	*rule = 0;
}

void sl_authz_eval_rules(const struct sl_authz_policy *const *all, const uint32_t *pols,
			 const bool any_allow[2], const struct sl_authz_rule_ref *rules,
			 size_t n_rules, const struct sl_authz_peer *src, uint16_t port,
			 struct sl_authz_decision *d)
{
	memset(d, 0, sizeof(*d));
	decide_rules(all, pols, any_allow[0], rules, n_rules, src, port, false,
		     &d->verdict, &d->policy, &d->rule);
	decide_rules(all, pols, any_allow[1], rules, n_rules, src, port, true,
		     &d->shadow, &d->shadow_policy, &d->shadow_rule);
	for (size_t i = 0; i < n_rules; i++) {
		const struct sl_authz_policy *p = all[pols[rules[i].pol]];

		if (p->action != SL_AUTHZ_AUDIT ||
		    !rule_match(&p->rules[rules[i].rule], p->action, src, port))
			continue;
		d->audit = true;
		d->audit_policy = pols[rules[i].pol] + 1;
		d->audit_rule = rules[i].rule + 1;
		break;
	}
}

static bool is_exact(const struct sl_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strchr(l->v[i], '*'))
			return false;
	return l->n > 0;
}

int sl_authz_rule_keys(struct sl_arena *arena, const struct sl_authz_rule *r,
		       const char **keys, size_t max)
{
	size_t n = 0;

	if (!r->n_from)
		return -1;
	for (size_t i = 0; i < r->n_from; i++) {
		const struct sl_authz_source *s = &r->from[i];
		const struct sl_strlist *l = is_exact(&s->principals) ? &s->principals :
					     is_exact(&s->namespaces) ? &s->namespaces : NULL;
		const char *tag = l == &s->principals ? "p:" : "n:";

		if (!l || n + l->n > max)
			return -1;
		for (size_t j = 0; j < l->n; j++) {
			const char *v = l->v[j];
			char *k;

			if (l == &s->principals && !strncmp(v, "spiffe://", 9))
				v += 9;
			k = sl_arena_alloc(arena, strlen(v) + 3);
			memcpy(k, tag, 2);
			memcpy(k + 2, v, strlen(v) + 1);
			keys[n++] = k;
		}
	}
	return (int)n;
}

bool sl_authz_selects(const struct sl_authz_policy *p, const char *root_namespace,
		      const char *namespace, const struct sl_label *labels,
		      size_t n_labels)
{
	if (strcmp(p->meta.namespace, root_namespace) &&
	    strcmp(p->meta.namespace, namespace))
		return false;
	return sl_labels_select(p->match_labels, p->n_match_labels, labels, n_labels);
}
