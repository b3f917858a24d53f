// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The frontends of Services whose EndpointSlices alone changed, built as
 * a full build builds them but without the other services: at 10,000
 * services, one endpoint's change costs its own service.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static bool in_part(const struct sl_config *part, const char *ns, const char *name)
{
	for (size_t i = 0; i < part->n_services; i++)
		if (!strcmp(part->services[i].meta.name, name) &&
		    !strcmp(part->services[i].meta.namespace, ns))
			return true;
	return false;
}

static bool names_part(struct sl_model *m, const struct sl_config *part, const char *host,
		       const char *ns)
{
	for (size_t i = 0; i < part->n_services; i++)
		if (sl_model_host_is(m, part, host, ns, part->services[i].meta.namespace,
				     part->services[i].meta.name))
			return true;
	return false;
}

/* A VirtualService routing one of these services, or to one: members then
 * come from other services' endpoints and go to other frontends. */
static bool routed(struct sl_model *m, const struct sl_config *part)
{
	for (size_t i = 0; i < part->n_vservices; i++) {
		const struct sl_virtual_service *vs = &part->vservices[i];

		for (size_t h = 0; h < vs->n_hosts; h++)
			if (names_part(m, part, vs->hosts[h], vs->meta.namespace))
				return true;
		for (size_t t = 0; t < vs->n_tcp; t++)
			for (size_t d = 0; d < vs->tcp[t].n_route; d++)
				if (names_part(m, part, vs->tcp[t].route[d].host,
					       vs->meta.namespace))
					return true;
	}
	return false;
}

/* The rules of these services only: a full build's warnings about the
 * others' rules are not repeated with every endpoint's change. */
static struct sl_config rules_view(struct sl_model *m, const struct sl_config *part)
{
	struct sl_config view = { 0 };

	view.entries = part->entries;
	view.n_entries = part->n_entries;
	view.drules = calloc(part->n_drules + 1, sizeof(*view.drules));
	if (!view.drules)
		abort();
	for (size_t i = 0; i < part->n_drules; i++)
		if (names_part(m, part, part->drules[i].host, part->drules[i].meta.namespace))
			view.drules[view.n_drules++] = part->drules[i];
	return view;
}

static int cmp_key_fe(const void *key, const void *fe)
{
	return sl_svc_key_cmp(key, &((const struct sl_frontend *)fe)->key);
}

static struct sl_frontend *find(const struct sl_model *m, const struct sl_svc_key *key)
{
	return m->n_fe ? bsearch(key, m->fe, m->n_fe, sizeof(*m->fe), cmp_key_fe) : NULL;
}

/* What a TrafficLimit set on each frontend, from prev: no EndpointSlice
 * changes it. False when the frontends are not prev's (a service gained
 * or lost one: a full build decides). */
static bool take_from_prev(const struct sl_model *prev, const struct sl_config *part,
			   struct sl_model *out)
{
	size_t n_prev = 0;

	for (size_t i = 0; i < out->n_fe; i++) {
		struct sl_frontend *fe = &out->fe[i];
		const struct sl_frontend *p = find(prev, &fe->key);

		if (!p || p->kind != SL_KIND_SERVICE || strcmp(p->namespace, fe->namespace) ||
		    strcmp(p->name, fe->name))
			return false;
		fe->limit = p->limit;
		fe->conn_rate = p->conn_rate;
		fe->conn_burst = p->conn_burst;
		fe->limit_src = p->limit_src;
		fe->n_limit_src = p->n_limit_src;
		fe->flags |= p->flags & SL_SVC_F_LIMIT_SOURCES;
	}
	for (size_t i = 0; i < prev->n_fe; i++)
		n_prev += prev->fe[i].kind == SL_KIND_SERVICE &&
			  in_part(part, prev->fe[i].namespace, prev->fe[i].name);
	return n_prev == out->n_fe;
}

int sl_model_delta(const struct sl_model *prev, const struct sl_config *part,
		   const struct sl_locality *node, struct sl_model *out)
{
	struct sl_config view;

	memset(out, 0, sizeof(*out));
	if (routed(out, part)) {
		sl_model_free(out);
		return 0;
	}
	sl_model_add_services(out, part);
	sl_model_sort(out);
	view = rules_view(out, part);
	sl_model_apply_pools(out, &view);
	sl_model_apply_locality(out, &view, node);
	free(view.drules);
	sl_model_forget_labels(out);
	if (!take_from_prev(prev, part, out)) {
		sl_model_free(out);
		return 0;
	}
	return 1;
}

/* The localities of a frontend's members are a handful of texts: the
 * previous members' copies are used again. */
static const char *keep_locality(struct sl_model *m, const struct sl_frontend *old,
				 const char *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < old->n_members; i++)
		if (old->members[i].locality && !strcmp(old->members[i].locality, s))
			return old->members[i].locality;
	return sl_arena_strdup(&m->arena, s);
}

void sl_model_patch(struct sl_model *prev, const struct sl_model *delta)
{
	for (size_t i = 0; i < delta->n_fe; i++) {
		const struct sl_frontend *d = &delta->fe[i];
		struct sl_frontend *p = find(prev, &d->key);
		struct sl_frontend old = *p;
		size_t size = d->n_members * sizeof(*d->members);

		*p = *d;
		/* Same texts: prev's copies stay. */
		p->namespace = old.namespace;
		p->name = old.name;
		p->port_name = old.port_name;
		p->host = old.host;
		p->loc = old.loc;
		p->limit_src = old.limit_src;
		p->members = size ? sl_arena_alloc(&prev->arena, size) : NULL;
		if (size)
			memcpy(p->members, d->members, size);
		for (size_t k = 0; k < p->n_members; k++)
			p->members[k].locality = keep_locality(prev, &old, d->members[k].locality);
		prev->n_members += p->n_members;
		prev->n_members -= old.n_members;
		prev->n_replaced += old.n_members;
	}
	/* The replaced members stay in the arena until it is copied: once
	 * they are an eighth of the live ones (the copy takes a few ms at
	 * 100,000; the agent's memory grows by that eighth at most). */
	if (prev->n_replaced > prev->n_members / 8 + 64) {
		sl_model_compact(prev);
		prev->n_replaced = 0;
	}
}

static bool same_localities(const struct sl_frontend *a, const struct sl_frontend *b)
{
	for (size_t k = 0; k < a->n_members; k++) {
		const char *x = a->members[k].locality, *y = b->members[k].locality;

		if (x != y && (!x || !y || strcmp(x, y)))
			return false;
	}
	return true;
}

bool sl_model_same(const struct sl_model *a, const struct sl_model *b, char *where,
		   size_t len)
{
	size_t n = a->n_fe < b->n_fe ? a->n_fe : b->n_fe;

	for (size_t i = 0; i < n; i++) {
		const struct sl_frontend *x = &a->fe[i], *y = &b->fe[i];

		if (!sl_frontend_same(x, y) || !same_localities(x, y) ||
		    x->n_limit_src != y->n_limit_src || (x->host != y->host &&
		    (!x->host || !y->host || strcmp(x->host, y->host)))) {
			snprintf(where, len, "frontend %zu (%s/%s port %s)", i, x->namespace,
				 x->name, x->port_name ? x->port_name : "");
			return false;
		}
	}
	if (a->n_fe != b->n_fe || a->n_members != b->n_members) {
		snprintf(where, len, "%zu frontends / %zu members against %zu / %zu", a->n_fe,
			 a->n_members, b->n_fe, b->n_members);
		return false;
	}
	return true;
}
