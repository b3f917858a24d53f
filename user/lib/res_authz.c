// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Decoder for security.istio.io AuthorizationPolicy.
 *
 * Sluice enforces policies at L4, as ztunnel does: peer identities,
 * namespaces and addresses, destination ports, and the conditions on
 * those. A rule with a field that needs L7 (methods, paths, request
 * principals, headers...) cannot be fully evaluated: as in ztunnel, an
 * ALLOW rule with one never matches, a DENY or AUDIT rule applies on the
 * rest of it. Every such rule is warned about once the whole spec is read,
 * since the action may come after the rules.
 */
#include <string.h>

#include "config.h"

/* The first field of a rule that needs L7, for the warning. */
struct l7_use {
	yaml_node_t *node;
	const char *path;	/* "spec.rules[0].to[0].operation.methods" */
	const char *field;	/* "methods", or a when key */
};

struct rule_decode {
	struct sl_authz_rule rule;
	struct l7_use l7;
};

/* Where an L7 field is recorded: the l7_field of the source, operation or
 * rule being decoded, and the rule. */
struct l7_owner {
	const char **field;
	struct rule_decode *rd;
};

struct ap_decode {
	struct sl_authz_policy ap;	/* first: see sl_decode_meta */
	yaml_node_t *provider_node;
	struct l7_use *l7;		/* one per rule */
	size_t n_l7, cap_l7;
};

static size_t seq_len(yaml_node_t *node)
{
	if (node->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
}

static void note_l7(struct sl_yctx *ctx, yaml_node_t *node,
		    const struct l7_owner *o, const char *field)
{
	if (!*o->field)
		*o->field = field;
	if (!o->rd->l7.node) {
		o->rd->l7.node = node;
		o->rd->l7.path = sl_arena_strdup(ctx->arena, ctx->path);
		o->rd->l7.field = field;
	}
}

/* A field of a source or an operation that needs L7; obj starts with a
 * struct l7_owner. sl_y_map has pushed ".<field>": its name ends the path. */
static int l7_field(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	const char *dot;

	if (sl_check_l7_list(ctx, node) < 0)
		return -1;
	if (!seq_len(node))
		return 0;
	dot = strrchr(ctx->path, '.');
	note_l7(ctx, node, obj, sl_arena_strdup(ctx->arena, dot ? dot + 1 : ctx->path));
	return 0;
}

/* sl_y_map callbacks decoding a list field into a member of the state. */
#define LIST_FIELD(fn, type, decode, member)				\
	static int fn(struct sl_yctx *ctx, yaml_node_t *node, void *obj) \
	{								\
		return decode(ctx, node, &((type *)obj)->member);	\
	}

/* ---- rules[].from[].source ---- */

struct src_decode {
	struct l7_owner l7;		/* first: see l7_field */
	struct sl_authz_source src;
	struct sl_strlist sa, not_sa;	/* as principals */
	struct sl_cidrlist remote;	/* remoteIpBlocks */
	bool given;
};

LIST_FIELD(src_principals, struct src_decode, sl_decode_strlist, src.principals)
LIST_FIELD(src_not_principals, struct src_decode, sl_decode_strlist, src.not_principals)
LIST_FIELD(src_namespaces, struct src_decode, sl_decode_strlist, src.namespaces)
LIST_FIELD(src_not_namespaces, struct src_decode, sl_decode_strlist, src.not_namespaces)
LIST_FIELD(src_ip_blocks, struct src_decode, sl_decode_cidrlist, src.ip_blocks)
LIST_FIELD(src_not_ip_blocks, struct src_decode, sl_decode_cidrlist, src.not_ip_blocks)
LIST_FIELD(src_remote_ip_blocks, struct src_decode, sl_decode_cidrlist, remote)
LIST_FIELD(src_sa, struct src_decode, sl_decode_salist, sa)
LIST_FIELD(src_not_sa, struct src_decode, sl_decode_salist, not_sa)

static const struct sl_yfield src_fields[] = {
	{ "principals", SL_YF_DECODE, src_principals },
	{ "notPrincipals", SL_YF_DECODE, src_not_principals },
	{ "namespaces", SL_YF_DECODE, src_namespaces },
	{ "notNamespaces", SL_YF_DECODE, src_not_namespaces },
	{ "serviceAccounts", SL_YF_DECODE, src_sa },
	{ "notServiceAccounts", SL_YF_DECODE, src_not_sa },
	{ "ipBlocks", SL_YF_DECODE, src_ip_blocks },
	{ "notIpBlocks", SL_YF_DECODE, src_not_ip_blocks },
	/* With no proxy in between, the remote address is the peer's: these
	 * are ipBlocks too (ANDed with them, see src_finish). Not being in
	 * either of two lists is not being in their union: the negated ones
	 * share one list. */
	{ "remoteIpBlocks", SL_YF_DECODE, src_remote_ip_blocks },
	{ "notRemoteIpBlocks", SL_YF_DECODE, src_not_ip_blocks },
	{ "requestPrincipals", SL_YF_DECODE, l7_field },
	{ "notRequestPrincipals", SL_YF_DECODE, l7_field },
	{ NULL, 0, NULL },
};

static int src_finish(struct sl_yctx *ctx, yaml_node_t *node, struct src_decode *d)
{
	struct sl_authz_source *s = &d->src;

	/* Istio forbids mixing these, so they can share the principal lists. */
	if (d->sa.n || d->not_sa.n) {
		if (s->principals.n || s->not_principals.n || s->namespaces.n ||
		    s->not_namespaces.n)
			return sl_y_fail(ctx, node, "serviceAccounts cannot be combined "
					 "with principals or namespaces");
		s->principals = d->sa;
		s->not_principals = d->not_sa;
	}
	if (d->remote.n && !s->ip_blocks.n) {
		s->ip_blocks = d->remote;
	} else if (d->remote.n) {
		/* Istio ANDs the two; both are the peer's address here. */
		sl_cidrlist_intersect(ctx->arena, &s->ip_blocks, &d->remote);
		if (!s->ip_blocks.n)
			return sl_y_fail(ctx, node, "ipBlocks and remoteIpBlocks have "
					 "no address in common; with no proxy in "
					 "between both are the peer's address, so "
					 "this source could never match");
	}
	if (!s->principals.n && !s->not_principals.n && !s->namespaces.n &&
	    !s->not_namespaces.n && !s->ip_blocks.n && !s->not_ip_blocks.n &&
	    !s->l7_field)
		return sl_y_fail(ctx, node, "a source must not be empty (to match "
				 "any source, leave out \"from\")");
	return 0;
}

static int from_source(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct src_decode *d = obj;

	d->given = true;
	if (sl_y_map(ctx, node, src_fields, d) < 0)
		return -1;
	return src_finish(ctx, node, d);
}

static const struct sl_yfield from_fields[] = {
	{ "source", SL_YF_DECODE, from_source },
	{ NULL, 0, NULL },
};

static int from_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		     void *obj)
{
	struct rule_decode *rd = obj;
	struct sl_authz_rule *r = &rd->rule;
	struct src_decode d;

	(void)index;
	memset(&d, 0, sizeof(d));
	d.l7.field = &d.src.l7_field;
	d.l7.rd = rd;
	if (sl_y_map(ctx, item, from_fields, &d) < 0)
		return -1;
	if (!d.given)
		return sl_y_fail(ctx, item, "missing field source");
	sl_arena_grow(ctx->arena, (void **)&r->from, &r->cap_from, r->n_from + 1,
		      sizeof(d.src));
	r->from[r->n_from++] = d.src;
	return 0;
}

/* ---- rules[].to[].operation ---- */

struct op_decode {
	struct l7_owner l7;		/* first: see l7_field */
	struct sl_authz_operation op;
	bool given;
};

LIST_FIELD(op_ports, struct op_decode, sl_decode_portlist, op.ports)
LIST_FIELD(op_not_ports, struct op_decode, sl_decode_portlist, op.not_ports)

static const struct sl_yfield op_fields[] = {
	{ "ports", SL_YF_DECODE, op_ports },
	{ "notPorts", SL_YF_DECODE, op_not_ports },
	{ "hosts", SL_YF_DECODE, l7_field },
	{ "notHosts", SL_YF_DECODE, l7_field },
	{ "methods", SL_YF_DECODE, l7_field },
	{ "notMethods", SL_YF_DECODE, l7_field },
	{ "paths", SL_YF_DECODE, l7_field },
	{ "notPaths", SL_YF_DECODE, l7_field },
	{ NULL, 0, NULL },
};

static int to_operation(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct op_decode *d = obj;

	d->given = true;
	if (sl_y_map(ctx, node, op_fields, d) < 0)
		return -1;
	if (!d->op.ports.n && !d->op.not_ports.n && !d->op.l7_field)
		return sl_y_fail(ctx, node, "an operation must not be empty (to "
				 "match any operation, leave out \"to\")");
	return 0;
}

static const struct sl_yfield to_fields[] = {
	{ "operation", SL_YF_DECODE, to_operation },
	{ NULL, 0, NULL },
};

static int to_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	struct rule_decode *rd = obj;
	struct sl_authz_rule *r = &rd->rule;
	struct op_decode d;

	(void)index;
	memset(&d, 0, sizeof(d));
	d.l7.field = &d.op.l7_field;
	d.l7.rd = rd;
	if (sl_y_map(ctx, item, to_fields, &d) < 0)
		return -1;
	if (!d.given)
		return sl_y_fail(ctx, item, "missing field operation");
	sl_arena_grow(ctx->arena, (void **)&r->to, &r->cap_to, r->n_to + 1,
		      sizeof(d.op));
	r->to[r->n_to++] = d.op;
	return 0;
}

/* ---- rules[].when[] ---- */

enum when_type {
	WHEN_CIDRS,
	WHEN_STRINGS,
	WHEN_SERVICE_ACCOUNTS,	/* matched as principals */
	WHEN_PORTS,
	WHEN_L7,		/* not matchable by Sluice: the rule's l7_field */
	WHEN_L7_CIDRS,
};

/* Istio's condition keys. destination.ip is L4 but not implemented by
 * Sluice; connection.sni needs TLS inspection: both count as L7. A key
 * Istio does not know is an error, as in Istio, rather than an
 * unmatchable condition: a typo must not turn into a rule that never
 * matches (ALLOW) or matches more (DENY). */
static const struct when_key {
	const char *name;
	bool map;		/* a prefix, then "[key]" */
	enum when_type type;
	enum sl_authz_when_key key;
} when_keys[] = {
	{ "source.ip", false, WHEN_CIDRS, SL_WHEN_SOURCE_IP },
	{ "remote.ip", false, WHEN_CIDRS, SL_WHEN_SOURCE_IP },
	{ "source.namespace", false, WHEN_STRINGS, SL_WHEN_SOURCE_NAMESPACE },
	{ "source.principal", false, WHEN_STRINGS, SL_WHEN_SOURCE_PRINCIPAL },
	{ "source.serviceAccount", false, WHEN_SERVICE_ACCOUNTS, SL_WHEN_SOURCE_PRINCIPAL },
	{ "destination.port", false, WHEN_PORTS, SL_WHEN_DESTINATION_PORT },
	{ "destination.ip", false, WHEN_L7_CIDRS, 0 },
	{ "connection.sni", false, WHEN_L7, 0 },
	{ "request.auth.principal", false, WHEN_L7, 0 },
	{ "request.auth.audiences", false, WHEN_L7, 0 },
	{ "request.auth.presenter", false, WHEN_L7, 0 },
	{ "request.auth.claims", true, WHEN_L7, 0 },
	{ "request.headers", true, WHEN_L7, 0 },
	{ "experimental.envoy.filters.", true, WHEN_L7, 0 },
};

struct when_decode {
	struct sl_authz_when w;
	const struct when_key *wk;
	size_t n_values;	/* of values and notValues */
};

/* "a[b]", as Istio wants map keys. */
static bool is_map_key(const char *k)
{
	const char *open = strchr(k, '[');
	size_t n = strlen(k);

	return open && open > k && k[n - 1] == ']' && open < k + n - 2;
}

static const struct when_key *find_when_key(const char *k)
{
	for (size_t i = 0; i < sizeof(when_keys) / sizeof(when_keys[0]); i++) {
		const struct when_key *wk = &when_keys[i];

		if (!wk->map && !strcmp(k, wk->name))
			return wk;
		if (wk->map && !strncmp(k, wk->name, strlen(wk->name)) && is_map_key(k))
			return wk;
	}
	return NULL;
}

static int when_list(struct sl_yctx *ctx, yaml_node_t *node,
		     struct when_decode *d, bool negated)
{
	struct sl_authz_when *w = &d->w;
	struct sl_cidrlist unused = { NULL, 0, 0 };

	d->n_values += seq_len(node);
	switch (d->wk->type) {
	case WHEN_CIDRS:
		return sl_decode_cidrlist(ctx, node, negated ? &w->not_cidrs : &w->cidrs);
	case WHEN_STRINGS:
		return sl_decode_strlist(ctx, node, negated ? &w->not_values : &w->values);
	case WHEN_SERVICE_ACCOUNTS:
		return sl_decode_salist(ctx, node, negated ? &w->not_values : &w->values);
	case WHEN_PORTS:
		return sl_decode_portlist(ctx, node, negated ? &w->not_ports : &w->ports);
	case WHEN_L7_CIDRS:
		return sl_decode_cidrlist(ctx, node, &unused);
	default:
		return sl_check_l7_list(ctx, node);
	}
}

static int when_values(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return when_list(ctx, node, obj, false);
}

static int when_not_values(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return when_list(ctx, node, obj, true);
}

static const struct sl_yfield when_fields[] = {
	/* Decoded first, by decode_when_key: the values depend on it. */
	{ "key", SL_YF_ACCEPT, NULL },
	{ "values", SL_YF_DECODE, when_values },
	{ "notValues", SL_YF_DECODE, when_not_values },
	{ NULL, 0, NULL },
};

static int decode_when_key(struct sl_yctx *ctx, yaml_node_t *node,
			   struct when_decode *d, struct rule_decode *rd)
{
	const struct l7_owner owner = { &rd->rule.l7_field, rd };
	const char *k;

	if (sl_decode_nonempty(ctx, node, &k) < 0)
		return -1;
	d->wk = find_when_key(k);
	if (!d->wk)
		return sl_y_fail(ctx, node, "unknown condition key \"%s\"", k);
	if (d->wk->type >= WHEN_L7)
		note_l7(ctx, node, &owner, k);
	d->w.key = d->wk->key;
	return 0;
}

static int when_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		     void *obj)
{
	struct rule_decode *rd = obj;
	struct sl_authz_rule *r = &rd->rule;
	struct when_decode d;
	yaml_node_t *key;
	size_t mark;
	int ret;

	(void)index;
	memset(&d, 0, sizeof(d));
	if (sl_y_expect_map(ctx, item) < 0)
		return -1;
	key = sl_y_get(ctx, item, "key");
	if (!key)
		return sl_y_fail(ctx, item, "missing field key");
	mark = sl_y_push(ctx, ".key");
	ret = decode_when_key(ctx, key, &d, rd);
	sl_y_pop(ctx, mark);
	if (ret < 0 || sl_y_map(ctx, item, when_fields, &d) < 0)
		return -1;
	if (!d.n_values)
		return sl_y_fail(ctx, item, "at least one of values or notValues must "
				 "be given");
	if (d.wk->type >= WHEN_L7)
		return 0;
	sl_arena_grow(ctx->arena, (void **)&r->when, &r->cap_when, r->n_when + 1,
		      sizeof(d.w));
	r->when[r->n_when++] = d.w;
	return 0;
}

/* ---- rules ---- */

static int rule_from(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, from_item, obj);
}

static int rule_to(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, to_item, obj);
}

static int rule_when(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, when_item, obj);
}

static const struct sl_yfield rule_fields[] = {
	{ "from", SL_YF_DECODE, rule_from },
	{ "to", SL_YF_DECODE, rule_to },
	{ "when", SL_YF_DECODE, rule_when },
	{ NULL, 0, NULL },
};

static int rule_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		     void *obj)
{
	struct ap_decode *d = obj;
	struct sl_authz_policy *ap = &d->ap;
	struct rule_decode rd;

	(void)index;
	if (sl_y_is_null(item))
		return sl_y_fail(ctx, item, "a rule must not be null ({} matches "
				 "every connection)");
	memset(&rd, 0, sizeof(rd));
	rd.rule.loc = sl_y_loc(ctx, item);
	if (sl_y_map(ctx, item, rule_fields, &rd) < 0)
		return -1;
	sl_arena_grow(ctx->arena, (void **)&ap->rules, &ap->cap_rules,
		      ap->n_rules + 1, sizeof(rd.rule));
	ap->rules[ap->n_rules++] = rd.rule;
	sl_arena_grow(ctx->arena, (void **)&d->l7, &d->cap_l7, d->n_l7 + 1,
		      sizeof(rd.l7));
	d->l7[d->n_l7++] = rd.l7;
	return 0;
}

/* ---- spec ---- */

static int spec_rules(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_seq(ctx, node, rule_item, obj);
}

static int spec_action(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	static const char *const names[] = { "ALLOW", "DENY", "AUDIT", "CUSTOM", NULL };
	static const enum sl_authz_action actions[] = {
		SL_AUTHZ_ALLOW, SL_AUTHZ_DENY, SL_AUTHZ_AUDIT,
	};
	struct ap_decode *d = obj;
	int i;

	if (sl_y_enum(ctx, node, names, false, &i) < 0)
		return -1;
	if (i == 3)
		return sl_y_fail(ctx, node, "action CUSTOM needs an external "
				 "authorizer, which Sluice does not implement");
	d->ap.action = actions[i];
	return 0;
}

/* Only valid with CUSTOM, which is refused; checked once the action is
 * known, so that CUSTOM is what gets reported. */
static int spec_provider(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)ctx;
	((struct ap_decode *)obj)->provider_node = node;
	return 0;
}

static int match_labels(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct sl_authz_policy *ap = obj;

	if (sl_decode_labels(ctx, node, &ap->match_labels, &ap->n_match_labels,
			     &ap->cap_match_labels) < 0)
		return -1;
	for (size_t i = 0; i < ap->n_match_labels; i++) {
		const struct sl_label *l = &ap->match_labels[i];

		if (!l->key[0] || strchr(l->key, '*') || strchr(l->value, '*'))
			return sl_y_fail(ctx, node, "\"%s: %s\": a selector label needs "
					 "a key and takes no wildcard", l->key, l->value);
	}
	return 0;
}

static const struct sl_yfield selector_fields[] = {
	{ "matchLabels", SL_YF_DECODE, match_labels },
	{ NULL, 0, NULL },
};

/* An empty selector selects every workload of the namespace, like none;
 * has_selector still tells them apart. */
static int spec_selector(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	struct ap_decode *d = obj;

	d->ap.has_selector = true;
	return sl_y_map(ctx, node, selector_fields, &d->ap);
}

/* Refused rather than skipped: a policy left out could let through what
 * it was written to deny. */
static int spec_target_ref(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	(void)obj;
	if (node->type == YAML_SEQUENCE_NODE && !seq_len(node))
		return 0;
	return sl_y_fail(ctx, node, "targetRef(s) (waypoint and gateway policies) "
			 "are not implemented by Sluice");
}

static const struct sl_yfield spec_fields[] = {
	{ "selector", SL_YF_DECODE, spec_selector },
	{ "targetRef", SL_YF_DECODE, spec_target_ref },
	{ "targetRefs", SL_YF_DECODE, spec_target_ref },
	{ "rules", SL_YF_DECODE, spec_rules },
	{ "action", SL_YF_DECODE, spec_action },
	{ "provider", SL_YF_DECODE, spec_provider },
	{ NULL, 0, NULL },
};

static int ap_spec(struct sl_yctx *ctx, yaml_node_t *node, void *obj)
{
	return sl_y_map(ctx, node, spec_fields, obj);
}

static const struct sl_yfield ap_fields[] = {
	{ "apiVersion", SL_YF_ACCEPT, NULL },
	{ "kind", SL_YF_ACCEPT, NULL },
	{ "metadata", SL_YF_DECODE, sl_decode_meta },
	{ "spec", SL_YF_DECODE, ap_spec },
	{ "status", SL_YF_ACCEPT, NULL },
	{ NULL, 0, NULL },
};

/* Checks that need the whole spec. Istio rejects a DENY policy without
 * rules as meaningless; so does Sluice, rather than load a policy that
 * denies nothing. */
static int ap_check(struct sl_yctx *ctx, yaml_node_t *root, struct ap_decode *d)
{
	yaml_node_t *spec = sl_y_get(ctx, root, "spec");
	size_t mark;
	int ret = 0;

	if (d->provider_node) {
		mark = sl_y_push(ctx, "spec.provider");
		ret = sl_y_fail(ctx, d->provider_node, "provider is only valid with "
				"action CUSTOM");
		sl_y_pop(ctx, mark);
	} else if (d->ap.action == SL_AUTHZ_DENY && !d->ap.n_rules) {
		mark = sl_y_push(ctx, "spec");
		ret = sl_y_fail(ctx, spec ? spec : root, "action DENY without rules "
				"never matches; add the rule {} to deny every "
				"connection");
		sl_y_pop(ctx, mark);
	}
	return ret;
}

static void ap_warn_l7(struct sl_yctx *ctx, const struct ap_decode *d)
{
	static const char *const effect[] = {
		[SL_AUTHZ_ALLOW] = "this rule never matches (L4 enforcement, as ztunnel)",
		[SL_AUTHZ_DENY] = "enforced on the rest of the rule (all of its ports)",
		[SL_AUTHZ_AUDIT] = "audited on the rest of the rule (all of its ports)",
	};
	const struct sl_authz_policy *ap = &d->ap;

	for (size_t i = 0; i < d->n_l7; i++) {
		const struct l7_use *u = &d->l7[i];
		size_t mark;

		if (!u->node)
			continue;
		mark = sl_y_push(ctx, "%s", u->path);
		sl_y_warn(ctx, u->node, "AuthorizationPolicy %s/%s: %s needs L7; %s",
			  ap->meta.namespace, ap->meta.name, u->field, effect[ap->action]);
		sl_y_pop(ctx, mark);
	}
}

int sl_decode_authz_policy(struct sl_yctx *ctx, yaml_node_t *root,
			   struct sl_config *cfg)
{
	struct ap_decode d;

	memset(&d, 0, sizeof(d));
	d.ap.action = SL_AUTHZ_ALLOW;
	if (sl_y_map(ctx, root, ap_fields, &d) < 0)
		return -1;
	if (sl_meta_finish(ctx, root, &d.ap.meta) < 0 ||
	    sl_meta_no_redirect_here(ctx, root, &d.ap.meta, "AuthorizationPolicy") < 0 ||
	    ap_check(ctx, root, &d) < 0)
		return -1;
	d.ap.dry_run = d.ap.meta.dry_run;
	ap_warn_l7(ctx, &d);
	sl_arena_grow(&cfg->arena, (void **)&cfg->policies, &cfg->cap_policies,
		      cfg->n_policies + 1, sizeof(d.ap));
	cfg->policies[cfg->n_policies++] = d.ap;
	return 0;
}
