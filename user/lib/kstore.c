// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "arena.h"
#include "kstore.h"

#define INITIAL_BUCKETS 1024


int sl_kstore_init(struct sl_kstore *s, struct sl_err *err)
{
	memset(s, 0, sizeof(*s));
	s->buckets = calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
	if (!s->buckets)
		return sl_errf(err, "out of memory");
	s->n_buckets = INITIAL_BUCKETS;
	return 0;
}

static size_t bucket_of(const struct sl_kstore *s, unsigned int kind, const char *key)
{
	return (XXH3_64bits_withSeed(key, strlen(key), kind)) & (s->n_buckets - 1);
}

/* The digest of a configuration is that of its objects' identities and
 * contents (what the decoders read, kobj.h), in any order: the same
 * objects give the same digest after a restart, so an unchanged cluster
 * keeps its generation. A refused version counts by its resourceVersion. */
static uint64_t object_digest(const struct sl_kstore_obj *o)
{
	uint64_t d = XXH3_64bits_withSeed(o->key, strlen(o->key), o->kind) ^ o->value.digest;

	if (o->error) {
		const char *rv = sl_kstore_rv(o);

		d ^= XXH3_64bits(rv ? rv : "", rv ? strlen(rv) : 0);
	}
	return d;
}

/* An object's part of the digest; one left out counts apart: leaving it
 * out changes what is applied. */
static uint64_t contribution(const struct sl_kstore_obj *o)
{
	uint64_t d = object_digest(o);

	return o->excluded ? ~d : d;
}

static void count(struct sl_kstore *s, unsigned int kind, int delta)
{
	if (kind < SL_KSTORE_KINDS)
		s->n_by_kind[kind] += (size_t)delta;
}

/* The head of the objects of one kind in one group. */
struct sl_kstore_group {
	struct sl_kstore_group *next;	/* in its hash chain */
	unsigned int kind;
	char *name;
	struct sl_kstore_obj *first;
};

static size_t group_bucket(const struct sl_kstore *s, unsigned int kind, const char *name)
{
	return XXH3_64bits_withSeed(name, strlen(name), kind) & (s->n_groups_buckets - 1);
}

static struct sl_kstore_group **group_find(struct sl_kstore *s, unsigned int kind,
					   const char *name)
{
	struct sl_kstore_group **p;

	if (!s->n_groups_buckets)
		return NULL;
	p = &s->groups[group_bucket(s, kind, name)];
	for (; *p; p = &(*p)->next)
		if ((*p)->kind == kind && !strcmp((*p)->name, name))
			return p;
	return NULL;
}

static void groups_grow(struct sl_kstore *s)
{
	size_t old_n = s->n_groups_buckets, n = old_n ? old_n * 2 : INITIAL_BUCKETS;
	struct sl_kstore_group **old = s->groups;

	s->groups = sl_xcalloc(n, sizeof(*s->groups));
	s->n_groups_buckets = n;
	for (size_t b = 0; b < old_n; b++) {
		struct sl_kstore_group *g = old[b], *next;

		for (; g; g = next) {
			size_t i = group_bucket(s, g->kind, g->name);

			next = g->next;
			g->next = s->groups[i];
			s->groups[i] = g;
		}
	}
	free(old);
}

static struct sl_kstore_group *group_get(struct sl_kstore *s, unsigned int kind,
					 const char *name)
{
	struct sl_kstore_group **p = group_find(s, kind, name), *g;
	size_t b;

	if (p)
		return *p;
	if (s->n_groups >= s->n_groups_buckets)
		groups_grow(s);
	g = sl_xcalloc(1, sizeof(*g));
	g->kind = kind;
	g->name = sl_xstrdup(name);
	b = group_bucket(s, kind, name);
	g->next = s->groups[b];
	s->groups[b] = g;
	s->n_groups++;
	return g;
}

static void group_unlink(struct sl_kstore *s, struct sl_kstore_obj *o)
{
	struct sl_kstore_group **p, *g;

	if (!o->group)
		return;
	p = group_find(s, o->kind, o->group);
	g = *p;
	if (o->group_prev)
		o->group_prev->group_next = o->group_next;
	else
		g->first = o->group_next;
	if (o->group_next)
		o->group_next->group_prev = o->group_prev;
	o->group_next = o->group_prev = NULL;
	o->group = NULL;
	if (g->first)
		return;
	*p = g->next;
	free(g->name);
	free(g);
	s->n_groups--;
}

static void groups_free(struct sl_kstore *s)
{
	for (size_t b = 0; b < s->n_groups_buckets; b++) {
		struct sl_kstore_group *g = s->groups[b], *next;

		for (; g; g = next) {
			next = g->next;
			free(g->name);
			free(g);
		}
	}
	free(s->groups);
}

void sl_kstore_set_group(struct sl_kstore *s, struct sl_kstore_obj *o, const char *group)
{
	struct sl_kstore_group *g;

	if (o->group && group && !strcmp(o->group, group))
		return;
	group_unlink(s, o);
	if (!group)
		return;
	g = group_get(s, o->kind, group);
	o->group = g->name;
	o->group_next = g->first;
	if (g->first)
		g->first->group_prev = o;
	g->first = o;
}

void sl_kstore_group_each(struct sl_kstore *s, unsigned int kind, const char *group,
			  void (*fn)(struct sl_kstore_obj *o, void *arg), void *arg)
{
	struct sl_kstore_group **p = group_find(s, kind, group);

	for (struct sl_kstore_obj *o = p ? (*p)->first : NULL, *next; o; o = next) {
		next = o->group_next;
		fn(o, arg);
	}
}

void sl_kstore_kind_each(struct sl_kstore *s, unsigned int kind,
			 void (*fn)(struct sl_kstore_obj *o, void *arg), void *arg)
{
	for (struct sl_kstore_obj *o = kind < SL_KSTORE_KINDS ? s->kind_head[kind] : NULL, *next;
	     o; o = next) {
		next = o->kind_next;
		fn(o, arg);
	}
}

const char *sl_kstore_rv(const struct sl_kstore_obj *o)
{
	switch (o->rv_where) {
	case SL_KSTORE_RV_IN:
		return o->rv.in;
	case SL_KSTORE_RV_OUT:
		return o->rv.out;
	default:
		return NULL;
	}
}

static void set_rv(struct sl_kstore_obj *o, const char *rv)
{
	if (rv && rv == sl_kstore_rv(o))
		return;
	if (o->rv_where == SL_KSTORE_RV_OUT)
		free(o->rv.out);
	if (!rv) {
		o->rv_where = SL_KSTORE_RV_NONE;
	} else if (strlen(rv) < SL_KSTORE_RV_INLINE) {
		strcpy(o->rv.in, rv);
		o->rv_where = SL_KSTORE_RV_IN;
	} else {
		o->rv.out = sl_xstrdup(rv);
		o->rv_where = SL_KSTORE_RV_OUT;
	}
}

static void obj_free(struct sl_kstore_obj *o)
{
	sl_kept_free(&o->value);
	free(o->excluded);
	set_rv(o, NULL);
	free(o->error);
	free(o);
}

void sl_kstore_free(struct sl_kstore *s)
{
	for (size_t b = 0; b < s->n_buckets; b++) {
		struct sl_kstore_obj *o = s->buckets[b], *next;

		for (; o; o = next) {
			next = o->next;
			obj_free(o);
		}
	}
	free(s->buckets);
	groups_free(s);
	memset(s, 0, sizeof(*s));
}

/* Doubles the table when it holds more objects than buckets. */
static void grow(struct sl_kstore *s)
{
	size_t n = s->n_buckets * 2;
	struct sl_kstore_obj **nb = sl_xcalloc(n, sizeof(*nb));
	struct sl_kstore_obj **old = s->buckets;
	size_t old_n = s->n_buckets;

	s->buckets = nb;
	s->n_buckets = n;
	for (size_t b = 0; b < old_n; b++) {
		struct sl_kstore_obj *o = old[b], *next;

		for (; o; o = next) {
			size_t i = bucket_of(s, o->kind, o->key);

			next = o->next;
			o->next = nb[i];
			nb[i] = o;
		}
	}
	free(old);
}

struct sl_kstore_obj *sl_kstore_get(struct sl_kstore *s, unsigned int kind, const char *key)
{
	struct sl_kstore_obj *o = s->buckets[bucket_of(s, kind, key)];

	for (; o; o = o->next)
		if (o->kind == kind && !strcmp(o->key, key))
			return o;
	return NULL;
}

static struct sl_kstore_obj *get_or_add(struct sl_kstore *s, unsigned int kind, const char *key)
{
	struct sl_kstore_obj *o = sl_kstore_get(s, kind, key);
	size_t b;

	if (o)
		return o;
	if (kind > UINT16_MAX) {
		/* The source's resources number a dozen. */
		fprintf(stderr, "kstore: resource index %u out of range\n", kind);
		abort();
	}
	if (s->n_objects >= s->n_buckets)
		grow(s);
	/* The key in the same allocation: 40,000 objects at scale. */
	o = sl_xcalloc(1, sizeof(*o) + strlen(key) + 1);
	o->kind = (uint16_t)kind;
	memcpy(o->key, key, strlen(key) + 1);
	b = bucket_of(s, kind, key);
	o->next = s->buckets[b];
	s->buckets[b] = o;
	s->n_objects++;
	count(s, kind, 1);
	if (kind < SL_KSTORE_KINDS) {
		o->kind_next = s->kind_head[kind];
		if (o->kind_next)
			o->kind_next->kind_prev = o;
		s->kind_head[kind] = o;
	}
	s->digest += contribution(o);
	return o;
}

struct sl_kstore_obj *sl_kstore_put(struct sl_kstore *s, unsigned int kind, const char *key,
				    const char *rv, struct sl_config *cfg)
{
	struct sl_kstore_obj *o = get_or_add(s, kind, key);

	s->digest -= contribution(o);
	sl_kept_free(&o->value);
	sl_kept_take(&o->value, cfg);
	if (o->excluded)
		s->n_excluded--;
	sl_xstrset(&o->excluded, NULL);
	set_rv(o, rv);
	if (o->error)
		s->n_refused--;
	sl_xstrset(&o->error, NULL);
	o->seen = true;
	s->digest += contribution(o);
	return o;
}

void sl_kstore_refuse(struct sl_kstore *s, unsigned int kind, const char *key,
		      const char *rv, const char *error)
{
	struct sl_kstore_obj *o = get_or_add(s, kind, key);

	s->digest -= contribution(o);
	if (!o->error)
		s->n_refused++;
	sl_xstrset(&o->error, error);
	/* A later watch resumes after this version, not the kept one. */
	set_rv(o, rv);
	o->seen = true;
	s->digest += contribution(o);
}

/* Takes *p out of its chain and frees it. */
static void unlink_obj(struct sl_kstore *s, struct sl_kstore_obj **p)
{
	struct sl_kstore_obj *o = *p;

	*p = o->next;
	s->digest -= contribution(o);
	group_unlink(s, o);
	if (o->kind < SL_KSTORE_KINDS) {
		if (o->kind_prev)
			o->kind_prev->kind_next = o->kind_next;
		else
			s->kind_head[o->kind] = o->kind_next;
		if (o->kind_next)
			o->kind_next->kind_prev = o->kind_prev;
	}
	if (o->error)
		s->n_refused--;
	if (o->excluded)
		s->n_excluded--;
	count(s, o->kind, -1);
	obj_free(o);
	s->n_objects--;
}

bool sl_kstore_remove(struct sl_kstore *s, unsigned int kind, const char *key)
{
	struct sl_kstore_obj **p = &s->buckets[bucket_of(s, kind, key)];

	for (; *p; p = &(*p)->next) {
		struct sl_kstore_obj *o = *p;

		if (o->kind != kind || strcmp(o->key, key))
			continue;
		unlink_obj(s, p);
		return true;
	}
	return false;
}

bool sl_kstore_exclude(struct sl_kstore *s, unsigned int kind, const char *key,
		       const char *why)
{
	struct sl_kstore_obj *o = sl_kstore_get(s, kind, key);

	if (!o || o->excluded)
		return false;
	s->digest -= contribution(o);
	o->excluded = sl_xstrdup(why);
	s->n_excluded++;
	s->digest += contribution(o);
	return true;
}

/* Every object (any order). */
static void each(struct sl_kstore *s, void (*fn)(struct sl_kstore_obj *o, void *arg),
		 void *arg)
{
	for (size_t b = 0; b < s->n_buckets; b++)
		for (struct sl_kstore_obj *o = s->buckets[b]; o; o = o->next)
			fn(o, arg);
}

static void clear_exclusion(struct sl_kstore_obj *o, void *arg)
{
	struct sl_kstore *s = arg;

	if (!o->excluded)
		return;
	s->digest -= contribution(o);
	free(o->excluded);
	o->excluded = NULL;
	s->n_excluded--;
	s->digest += contribution(o);
}

void sl_kstore_clear_exclusions(struct sl_kstore *s)
{
	if (s->n_excluded)
		each(s, clear_exclusion, s);
}

void sl_kstore_mark(struct sl_kstore *s, unsigned int kind)
{
	if (kind < SL_KSTORE_KINDS) {
		for (struct sl_kstore_obj *o = s->kind_head[kind]; o; o = o->kind_next)
			o->seen = false;
		return;
	}
	for (size_t b = 0; b < s->n_buckets; b++)
		for (struct sl_kstore_obj *o = s->buckets[b]; o; o = o->next)
			if (o->kind == kind)
				o->seen = false;
}

size_t sl_kstore_sweep(struct sl_kstore *s, unsigned int kind)
{
	size_t removed = 0;

	if (kind < SL_KSTORE_KINDS) {
		for (struct sl_kstore_obj *o = s->kind_head[kind], *next; o; o = next) {
			next = o->kind_next;
			if (!o->seen)
				removed += sl_kstore_remove(s, kind, o->key);
		}
		return removed;
	}
	for (size_t b = 0; b < s->n_buckets; b++) {
		struct sl_kstore_obj **p = &s->buckets[b];

		while (*p) {
			struct sl_kstore_obj *o = *p;

			if (o->kind != kind || o->seen) {
				p = &o->next;
				continue;
			}
			unlink_obj(s, p);
			removed++;
		}
	}
	return removed;
}


static void add_object(struct sl_kstore_obj *o, void *arg)
{
	struct sl_config *out = arg;

	if (o->excluded) {
		sl_warnings_add(&out->warnings, &out->arena, o->excluded);
		return;
	}
	sl_kept_append(&o->value, out);
	if (o->error)
		sl_warnings_add(&out->warnings, &out->arena, o->error);
	out->n_files++;
}

static void sum_digest(struct sl_kstore_obj *o, void *arg)
{
	*(uint64_t *)arg += contribution(o);
}

uint64_t sl_kstore_digest_recount(struct sl_kstore *s)
{
	uint64_t d = 0;

	each(s, sum_digest, &d);
	return d;
}

void sl_kstore_add_to(struct sl_kstore_obj *o, void *cfg)
{
	add_object(o, cfg);
}

/* Every array of the configuration, counted over the objects first, is
 * then sized once: at 20,000 objects, growing them by doubling was a
 * tenth of an apply. */
#define FIELDS(X) X(drules) X(vservices) X(limits) X(workload_entries) X(pods) \
	X(policies) X(services) X(slices) X(entries)
#define RESERVE(f) sl_arena_grow(&cfg->arena, (void **)&cfg->f, &cfg->cap_##f, \
				 total.n_##f, sizeof(*cfg->f));

static void count_object(struct sl_kstore_obj *o, void *arg)
{
	if (!o->excluded)
		sl_kept_count(&o->value, arg);
}

int sl_kstore_config(struct sl_kstore *s, struct sl_config *cfg, struct sl_err *err)
{
	struct sl_config total = { 0 };

	memset(cfg, 0, sizeof(*cfg));
	each(s, count_object, &total);
	FIELDS(RESERVE)
	(void)err;
	/* No sl_config_check: the store holds one object per kind and
	 * namespace/name by construction, as the API server does. */
	each(s, add_object, cfg);
	cfg->digest = s->digest;
	return 0;
}
