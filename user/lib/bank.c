// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE		/* qsort_r */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <xxhash.h>

#include "bank.h"
#include "maps.h"

#define HASH_SIZE sizeof(uint64_t)

static size_t stride(const struct sl_bank_map *m)
{
	return m->key_size + HASH_SIZE;
}

static char *kv_at(const struct sl_bank_map *m, const struct sl_kv *kv, size_t i)
{
	return kv->v + i * stride(m);
}

static uint64_t kv_hash(const struct sl_bank_map *m, const struct sl_kv *kv, size_t i)
{
	uint64_t h;

	memcpy(&h, kv_at(m, kv, i) + m->key_size, sizeof(h));
	return h;
}

static void kv_push(const struct sl_bank_map *m, struct sl_kv *kv, const void *key,
		    uint64_t hash)
{
	if (kv->n == kv->cap) {
		kv->cap = kv->cap ? kv->cap * 2 : 64;
		kv->v = realloc(kv->v, kv->cap * stride(m));
		if (!kv->v)
			abort();
	}
	memcpy(kv_at(m, kv, kv->n), key, m->key_size);
	memcpy(kv_at(m, kv, kv->n) + m->key_size, &hash, sizeof(hash));
	kv->n++;
}

static void kv_free(struct sl_kv *kv)
{
	free(kv->v);
	memset(kv, 0, sizeof(*kv));
}

static void set_bank(const struct sl_bank_map *m, void *key, uint32_t bank)
{
	if (m->bank_width == 1)
		((uint8_t *)key)[m->bank_off] = (uint8_t)bank;
	else
		memcpy((char *)key + m->bank_off, &bank, sizeof(bank));
}

static uint32_t get_bank(const struct sl_bank_map *m, const void *key)
{
	uint32_t bank = 0;

	if (m->bank_width == 1)
		return ((const uint8_t *)key)[m->bank_off];
	memcpy(&bank, (const char *)key + m->bank_off, sizeof(bank));
	return bank;
}

static int cmp_key(const void *a, const void *b, void *key_size)
{
	return memcmp(a, b, *(const size_t *)key_size);
}

void sl_bank_map_init(struct sl_bank_map *m, const char *name, const char *option, int fd,
		      uint32_t max, size_t key_size, size_t value_size, size_t bank_off,
		      size_t bank_width, bool batch)
{
	*m = (struct sl_bank_map){ .name = name, .option = option, .fd = fd, .max = max,
				   .key_size = key_size, .value_size = value_size,
				   .bank_off = bank_off, .bank_width = bank_width,
				   .batch = batch };
}

void sl_bank_map_free(struct sl_bank_map *m)
{
	for (int b = 0; b < SL_POLICY_BANKS; b++)
		kv_free(&m->have[b]);
}

static void load_one(struct sl_bank_map *m, const void *key, const void *val)
{
	char k[64];
	uint32_t b = get_bank(m, key);

	if (b >= SL_POLICY_BANKS)
		return;		/* no program reads it; never written by us */
	memcpy(k, key, m->key_size);
	set_bank(m, k, 0);
	kv_push(m, &m->have[b], k, XXH64(val, m->value_size, 0));
}

int sl_bank_load(struct sl_bank_map *m, struct sl_err *err)
{
	struct sl_map_dump d;

	if (m->key_size > 64)
		return sl_errf(err, "%s: keys too large to mirror", m->name);
	sl_bank_map_free(m);
	if (sl_map_dump(m->fd, m->key_size, m->value_size, &d) < 0) {
		sl_map_dump_free(&d);
		return sl_errf(err, "reading %s: %s", m->name, strerror(errno));
	}
	for (size_t i = 0; i < d.n; i++)
		load_one(m, sl_dump_key(&d, i), sl_dump_val(&d, i));
	sl_map_dump_free(&d);
	for (int b = 0; b < SL_POLICY_BANKS; b++)
		if (m->have[b].n)
			qsort_r(m->have[b].v, m->have[b].n, stride(m), cmp_key, &m->key_size);
	return 0;
}

void sl_kv_want_add(struct sl_kv_want *w, const struct sl_bank_map *m, const void *key,
		    const void *val)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->keys = realloc(w->keys, w->cap * m->key_size);
		w->vals = realloc(w->vals, w->cap * m->value_size);
		if (!w->keys || !w->vals)
			abort();
	}
	memcpy(w->keys + w->n * m->key_size, key, m->key_size);
	set_bank(m, w->keys + w->n * m->key_size, 0);
	memcpy(w->vals + w->n * m->value_size, val, m->value_size);
	w->n++;
	w->sorted = false;
}

void sl_kv_want_free(struct sl_kv_want *w)
{
	free(w->keys);
	free(w->vals);
	memset(w, 0, sizeof(*w));
}

struct sort_ctx {
	const struct sl_bank_map *m;
	const char *keys;
};

static int cmp_index(const void *a, const void *b, void *arg)
{
	const struct sort_ctx *c = arg;
	const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int r = memcmp(c->keys + x * c->m->key_size, c->keys + y * c->m->key_size,
		       c->m->key_size);

	return r ? r : (x > y) - (x < y);
}

/* Sorts want by key, keeping of equal keys the last added (as BPF_ANY
 * writes in that order would). */
static void want_sort(const struct sl_bank_map *m, struct sl_kv_want *w)
{
	uint32_t *idx;
	char *keys, *vals;
	struct sort_ctx c = { m, w->keys };
	size_t out = 0;

	if (w->sorted)
		return;
	/* The compiled tables usually come in key order already. */
	w->sorted = true;
	for (size_t i = 1; w->sorted && i < w->n; i++)
		w->sorted = memcmp(w->keys + (i - 1) * m->key_size, w->keys + i * m->key_size,
				   m->key_size) < 0;
	if (w->sorted)
		return;
	idx = calloc(w->n + 1, sizeof(*idx));
	keys = malloc(w->n * m->key_size + 1);
	vals = malloc(w->n * m->value_size + 1);
	if (!idx || !keys || !vals)
		abort();
	for (size_t i = 0; i < w->n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, w->n, sizeof(*idx), cmp_index, &c);
	for (size_t i = 0; i < w->n; i++) {
		const char *k = w->keys + idx[i] * m->key_size;

		if (i + 1 < w->n && !memcmp(k, w->keys + idx[i + 1] * m->key_size, m->key_size))
			continue;
		memcpy(keys + out * m->key_size, k, m->key_size);
		memcpy(vals + out * m->value_size, w->vals + idx[i] * m->value_size,
		       m->value_size);
		out++;
	}
	free(w->keys);
	free(w->vals);
	w->keys = keys;
	w->vals = vals;
	w->n = out;
	w->sorted = true;
	free(idx);
}

/* The difference between bank b and want: the entries to write (index in
 * want) and to delete (index in have[b]). */
struct diff {
	size_t *write, n_write;
	size_t *del, n_del;
};

static void diff(struct sl_bank_map *m, struct sl_kv_want *want, int b, struct diff *d)
{
	const struct sl_kv *have = &m->have[b];
	size_t i = 0, j = 0;

	want_sort(m, want);
	d->write = calloc(want->n + 1, sizeof(*d->write));
	d->del = calloc(have->n + 1, sizeof(*d->del));
	d->n_write = d->n_del = 0;
	if (!d->write || !d->del)
		abort();
	while (i < want->n || j < have->n) {
		const char *wk = want->keys + i * m->key_size;
		int c = i == want->n ? 1 : j == have->n ? -1 :
			memcmp(wk, kv_at(m, have, j), m->key_size);

		if (c > 0) {
			d->del[d->n_del++] = j++;
			continue;
		}
		if (c < 0 || kv_hash(m, have, j) !=
			     XXH64(want->vals + i * m->value_size, m->value_size, 0))
			d->write[d->n_write++] = i;
		i++;
		j += c == 0;
	}
}

static void diff_free(struct diff *d)
{
	free(d->write);
	free(d->del);
}

bool sl_bank_same(struct sl_bank_map *m, struct sl_kv_want *want, int b)
{
	struct diff d;
	bool same;

	diff(m, want, b, &d);
	same = !d.n_write && !d.n_del;
	diff_free(&d);
	return same;
}

int sl_bank_check(const struct sl_bank_map *m, const struct sl_kv_want *want, int b,
		  struct sl_err *err)
{
	size_t other = m->have[b ^ 1].n;

	/* Stale entries go first, so the peak is the other bank plus want. */
	if (other + want->n > m->max)
		return sl_errf(err, "%s is full: the configuration needs %zu entries next "
			       "to the %zu in force, capacity %u (%s); nothing was applied",
			       m->name, want->n, other, m->max, m->option);
	return 0;
}

static bool no_batch(int e)
{
	return e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP;
}

/* Deletes keys[0..n) in batches (one by one where the kernel has no
 * batch for the map); a key already gone is no error. */
static int delete_keys(struct sl_bank_map *m, const char *keys, size_t n, struct sl_err *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (size_t done = 0; done < n;) {
		__u32 count = (__u32)(n - done);
		int r = m->batch ? bpf_map_delete_batch(m->fd, keys + done * m->key_size,
							&count, &opts) : -1;

		if (r && m->batch && !count && no_batch(errno))
			m->batch = false;
		if (!m->batch) {
			count = 1;
			r = bpf_map_delete_elem(m->fd, keys + done * m->key_size);
		}
		done += count;
		if (r && errno != ENOENT)
			return sl_errf(err, "deleting from %s: %s", m->name, strerror(errno));
		if (r && m->batch)
			done++;	/* the missing key the batch stopped at */
	}
	return 0;
}

static int delete_stale(struct sl_bank_map *m, const struct diff *d, int b,
			struct sl_err *err)
{
	char *keys = malloc(d->n_del * m->key_size + 1);
	int ret;

	if (!keys)
		abort();
	for (size_t k = 0; k < d->n_del; k++) {
		memcpy(keys + k * m->key_size, kv_at(m, &m->have[b], d->del[k]), m->key_size);
		set_bank(m, keys + k * m->key_size, (uint32_t)b);
	}
	ret = delete_keys(m, keys, d->n_del, err);
	free(keys);
	return ret;
}

/* The changed entries with their bank set, as arrays for one batch. */
static int write_changed(struct sl_bank_map *m, const struct sl_kv_want *want,
			 const struct diff *d, int b, struct sl_err *err)
{
	char *keys = malloc(d->n_write * m->key_size + 1);
	char *vals = malloc(d->n_write * m->value_size + 1);
	size_t done = 0;
	int ret = 0;

	if (!keys || !vals)
		abort();
	for (size_t k = 0; k < d->n_write; k++) {
		memcpy(keys + k * m->key_size, want->keys + d->write[k] * m->key_size,
		       m->key_size);
		set_bank(m, keys + k * m->key_size, (uint32_t)b);
		memcpy(vals + k * m->value_size, want->vals + d->write[k] * m->value_size,
		       m->value_size);
	}
	if (m->batch) {
		ret = sl_map_update_batch(m->fd, keys, vals, d->n_write, m->key_size,
					  m->value_size, &done);
		if (ret && !done && no_batch(errno)) {
			m->batch = false;
			ret = 0;
		}
	}
	for (size_t k = done; !m->batch && !ret && k < d->n_write; k++)
		ret = bpf_map_update_elem(m->fd, keys + k * m->key_size,
					  vals + k * m->value_size, BPF_ANY);
	if (ret)
		ret = sl_errf(err, "writing %s: %s", m->name, strerror(errno));
	free(keys);
	free(vals);
	return ret;
}

int sl_bank_write(struct sl_bank_map *m, struct sl_kv_want *want, int b,
		  struct sl_err *err)
{
	struct sl_kv next = { 0 };
	struct diff d;
	int ret;

	diff(m, want, b, &d);
	m->n_changed = d.n_write + d.n_del;
	ret = delete_stale(m, &d, b, err);
	if (!ret)
		ret = write_changed(m, want, &d, b, err);
	diff_free(&d);
	if (ret) {
		struct sl_err ignored;

		sl_bank_load(m, &ignored);
		return -1;
	}
	for (size_t i = 0; i < want->n; i++)
		kv_push(m, &next, want->keys + i * m->key_size,
			XXH64(want->vals + i * m->value_size, m->value_size, 0));
	kv_free(&m->have[b]);
	m->have[b] = next;
	return 0;
}

void sl_bank_clear(struct sl_bank_map *m, int b)
{
	struct sl_err ignored;

	for (int k = 0; k < SL_POLICY_BANKS; k++) {
		char *keys;

		if (b >= 0 && k != b)
			continue;
		keys = malloc(m->have[k].n * m->key_size + 1);
		if (!keys)
			abort();
		for (size_t i = 0; i < m->have[k].n; i++) {
			memcpy(keys + i * m->key_size, kv_at(m, &m->have[k], i), m->key_size);
			set_bank(m, keys + i * m->key_size, (uint32_t)k);
		}
		delete_keys(m, keys, m->have[k].n, &ignored);
		free(keys);
		kv_free(&m->have[k]);
	}
}
