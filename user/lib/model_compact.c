// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <string.h>

#include "model.h"

/* Building grows every list by doubling in the arena, which keeps the
 * smaller copies: at 10,000 services of 10 endpoints the model held three
 * times what it uses. The applier keeps the model it applied until the
 * next apply, so it is copied once into an arena of exact sizes, of one
 * block: at scale one mapping of its own (malloc maps blocks of 128 KiB
 * and more), never pieces of the heap between the apply's temporaries,
 * whose freed space the heap could not give back. */

/* The last string copied, shared while the same text repeats (one
 * namespace, one file, one locality for many entries). */
struct str_cache {
	const char *copy;
};

static const char *copy_str(struct sl_arena *a, const char *s, struct str_cache *c)
{
	if (!s)
		return NULL;
	if (!c->copy || strcmp(c->copy, s))
		c->copy = sl_arena_strdup(a, s);
	return c->copy;
}

static void *copy_mem(struct sl_arena *a, const void *src, size_t size)
{
	void *p;

	if (!src || !size)
		return NULL;
	p = sl_arena_alloc(a, size);
	memcpy(p, src, size);
	return p;
}

struct caches {
	struct str_cache ns, name, port, host, file, locality, from;
	const struct sl_ip *limit_src, *limit_src_copy;
};

static void copy_fe(struct sl_arena *a, struct sl_frontend *fe, struct caches *c)
{
	fe->namespace = copy_str(a, fe->namespace, &c->ns);
	fe->name = copy_str(a, fe->name, &c->name);
	fe->port_name = copy_str(a, fe->port_name, &c->port);
	fe->host = copy_str(a, fe->host, &c->host);
	fe->loc.file = copy_str(a, fe->loc.file, &c->file);
	/* Shared by the frontends of one TrafficLimit: copied once. */
	if (fe->limit_src && fe->limit_src != c->limit_src) {
		c->limit_src = fe->limit_src;
		c->limit_src_copy = copy_mem(a, fe->limit_src,
					     fe->n_limit_src * sizeof(*fe->limit_src));
	}
	if (fe->limit_src)
		fe->limit_src = c->limit_src_copy;
	fe->members = copy_mem(a, fe->members, fe->n_members * sizeof(*fe->members));
	for (size_t k = 0; k < fe->n_members; k++)
		fe->members[k].locality = copy_str(a, fe->members[k].locality, &c->locality);
}

/* What the copy takes at most: every string counted, shared or not
 * (pages of the block never written are never resident). */
static size_t str_bound(const char *s)
{
	return s ? strlen(s) + 1 : 0;
}

static size_t mem_bound(size_t size)
{
	return size + _Alignof(max_align_t);
}

static size_t bound(const struct sl_model *m)
{
	size_t n = mem_bound(m->n_fe * sizeof(*m->fe)) + mem_bound(m->n_bw * sizeof(*m->bw));

	for (size_t i = 0; i < m->n_fe; i++) {
		const struct sl_frontend *fe = &m->fe[i];

		n += str_bound(fe->namespace) + str_bound(fe->name) + str_bound(fe->port_name) +
		     str_bound(fe->host) + str_bound(fe->loc.file) +
		     mem_bound(fe->n_limit_src * sizeof(*fe->limit_src)) +
		     mem_bound(fe->n_members * sizeof(*fe->members));
		for (size_t k = 0; k < fe->n_members; k++)
			n += str_bound(fe->members[k].locality);
	}
	for (size_t i = 0; i < m->n_bw; i++)
		n += str_bound(m->bw[i].egress_from) + str_bound(m->bw[i].ingress_from);
	return n;
}

void sl_model_compact(struct sl_model *m)
{
	struct sl_arena a = { 0 };
	struct caches c = { 0 };

	sl_arena_reserve(&a, bound(m));
	m->fe = copy_mem(&a, m->fe, m->n_fe * sizeof(*m->fe));
	m->cap_fe = m->n_fe;
	for (size_t i = 0; i < m->n_fe; i++)
		copy_fe(&a, &m->fe[i], &c);
	m->bw = copy_mem(&a, m->bw, m->n_bw * sizeof(*m->bw));
	m->cap_bw = m->n_bw;
	for (size_t i = 0; i < m->n_bw; i++) {
		m->bw[i].egress_from = copy_str(&a, m->bw[i].egress_from, &c.from);
		m->bw[i].ingress_from = copy_str(&a, m->bw[i].ingress_from, &c.from);
	}
	sl_arena_free(&m->arena);
	m->arena = a;
}
