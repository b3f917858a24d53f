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

static void count(struct sl_kstore *s, unsigned int kind, int delta)
{
	if (kind < SL_KSTORE_KINDS)
		s->n_by_kind[kind] += (size_t)delta;
}

static void obj_free(struct sl_kstore_obj *o)
{
	sl_config_free(&o->cfg);
	free(o->excluded);
	free(o->key);
	free(o->rv);
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
	if (s->n_objects >= s->n_buckets)
		grow(s);
	o = sl_xcalloc(1, sizeof(*o));
	o->kind = kind;
	o->key = sl_xstrdup(key);
	b = bucket_of(s, kind, key);
	o->next = s->buckets[b];
	s->buckets[b] = o;
	s->n_objects++;
	count(s, kind, 1);
	return o;
}

static void set_str(char **field, const char *v)
{
	free(*field);
	*field = v ? sl_xstrdup(v) : NULL;
}

struct sl_kstore_obj *sl_kstore_put(struct sl_kstore *s, unsigned int kind, const char *key,
				    const char *rv, struct sl_config *cfg)
{
	struct sl_kstore_obj *o = get_or_add(s, kind, key);

	sl_config_free(&o->cfg);
	o->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (o->excluded)
		s->n_excluded--;
	set_str(&o->excluded, NULL);
	set_str(&o->rv, rv);
	if (o->error)
		s->n_refused--;
	set_str(&o->error, NULL);
	o->seen = true;
	return o;
}

void sl_kstore_refuse(struct sl_kstore *s, unsigned int kind, const char *key,
		      const char *rv, const char *error)
{
	struct sl_kstore_obj *o = get_or_add(s, kind, key);

	if (!o->error)
		s->n_refused++;
	set_str(&o->error, error);
	/* A later watch resumes after this version, not the kept one. */
	set_str(&o->rv, rv);
	o->seen = true;
}

/* Takes *p out of its chain and frees it. */
static void unlink_obj(struct sl_kstore *s, struct sl_kstore_obj **p)
{
	struct sl_kstore_obj *o = *p;

	*p = o->next;
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
	o->excluded = sl_xstrdup(why);
	s->n_excluded++;
	return true;
}

static void clear_exclusion(struct sl_kstore_obj *o, void *arg)
{
	struct sl_kstore *s = arg;

	if (!o->excluded)
		return;
	free(o->excluded);
	o->excluded = NULL;
	s->n_excluded--;
}

void sl_kstore_clear_exclusions(struct sl_kstore *s)
{
	if (s->n_excluded)
		sl_kstore_each(s, clear_exclusion, s);
}

void sl_kstore_mark(struct sl_kstore *s, unsigned int kind)
{
	for (size_t b = 0; b < s->n_buckets; b++)
		for (struct sl_kstore_obj *o = s->buckets[b]; o; o = o->next)
			if (o->kind == kind)
				o->seen = false;
}

size_t sl_kstore_sweep(struct sl_kstore *s, unsigned int kind)
{
	size_t removed = 0;

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

void sl_kstore_each(struct sl_kstore *s, void (*fn)(struct sl_kstore_obj *o, void *arg),
		    void *arg)
{
	for (size_t b = 0; b < s->n_buckets; b++)
		for (struct sl_kstore_obj *o = s->buckets[b]; o; o = o->next)
			fn(o, arg);
}

/* Appends n structs of size elem from src to the array *dst. */
static void append(struct sl_arena *arena, void **dst, size_t *n_dst, size_t *cap,
		   const void *src, size_t n, size_t elem)
{
	if (!n)
		return;
	sl_arena_grow(arena, dst, cap, *n_dst + n, elem);
	memcpy((char *)*dst + *n_dst * elem, src, n * elem);
	*n_dst += n;
}

#define APPEND(out, in, field)                                                     \
	append(&(out)->arena, (void **)&(out)->field, &(out)->n_##field,             \
	       &(out)->cap_##field, (in)->field, (in)->n_##field, sizeof(*(out)->field))

/* The digest of a configuration is that of its objects' identities and
 * contents (what the decoders read, kobj.h), in any order: the same
 * objects give the same digest after a restart, so an unchanged cluster
 * keeps its generation. A refused version counts by its resourceVersion. */
static uint64_t object_digest(const struct sl_kstore_obj *o)
{
	uint64_t d = XXH3_64bits_withSeed(o->key, strlen(o->key), o->kind) ^ o->cfg.digest;

	if (o->error)
		d ^= XXH3_64bits(o->rv ? o->rv : "", o->rv ? strlen(o->rv) : 0);
	return d;
}

static void add_object(struct sl_kstore_obj *o, void *arg)
{
	struct sl_config *out = arg;
	const struct sl_config *in = &o->cfg;

	if (o->excluded) {
		/* Counted apart: leaving it out changes what is applied. */
		out->digest += ~object_digest(o);
		sl_warnings_add(&out->warnings, &out->arena, o->excluded);
		return;
	}
	out->digest += object_digest(o);
	APPEND(out, in, drules);
	APPEND(out, in, vservices);
	APPEND(out, in, limits);
	APPEND(out, in, workload_entries);
	APPEND(out, in, pods);
	APPEND(out, in, policies);
	APPEND(out, in, services);
	APPEND(out, in, slices);
	APPEND(out, in, entries);
	for (size_t i = 0; i < in->warnings.n; i++)
		sl_warnings_add(&out->warnings, &out->arena, in->warnings.msgs[i]);
	if (o->error)
		sl_warnings_add(&out->warnings, &out->arena, o->error);
	out->n_files++;
}

/* Every array of the configuration, counted over the objects first, is
 * then sized once: at 20,000 objects, growing them by doubling was a
 * tenth of an apply. */
#define FIELDS(X) X(drules) X(vservices) X(limits) X(workload_entries) X(pods) \
	X(policies) X(services) X(slices) X(entries)
#define COUNT(f) total->n_##f += o->excluded ? 0 : o->cfg.n_##f;
#define RESERVE(f) sl_arena_grow(&cfg->arena, (void **)&cfg->f, &cfg->cap_##f, \
				 total.n_##f, sizeof(*cfg->f));

static void count_object(struct sl_kstore_obj *o, void *arg)
{
	struct sl_config *total = arg;

	FIELDS(COUNT)
}

int sl_kstore_config(struct sl_kstore *s, struct sl_config *cfg, struct sl_err *err)
{
	struct sl_config total = { 0 };

	memset(cfg, 0, sizeof(*cfg));
	sl_kstore_each(s, count_object, &total);
	FIELDS(RESERVE)
	(void)err;
	/* No sl_config_check: the store holds one object per kind and
	 * namespace/name by construction, as the API server does. */
	sl_kstore_each(s, add_object, cfg);
	return 0;
}
