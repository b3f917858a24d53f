// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <xxhash.h>

#include "authz_wl.h"

/* Entries a batch syscall moves at most: big enough that 100,000 entries
 * take a few dozen syscalls, small enough for the stack of buffers. */
#define WL_BATCH 4096

uint64_t sl_wl_hash(const struct sl_workload_info *info)
{
	return XXH64(info, sizeof(*info), 0);
}

/* Family first, then address: the order of the compiled authorization's
 * addresses (sl_ip_cmp), so that they usually need no sort here. */
static int cmp_key(const void *a, const void *b)
{
	const struct sl_workload_key *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(&x->addr, &y->addr, sizeof(x->addr));
}

static void grow(struct sl_wl_set *s, size_t *cap)
{
	if (s->n < *cap)
		return;
	*cap = *cap ? *cap * 2 : 1024;
	s->v = realloc(s->v, *cap * sizeof(*s->v));
	if (!s->v)
		abort();
}

int sl_wl_load(int fd, struct sl_wl_set *out, struct sl_err *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct sl_workload_key *keys = calloc(WL_BATCH, sizeof(*keys));
	struct sl_workload_info *vals = calloc(WL_BATCH, sizeof(*vals));
	__u32 token = 0, *in = NULL;
	size_t cap = 0;
	int ret = 0;

	if (!keys || !vals)
		abort();
	memset(out, 0, sizeof(*out));
	for (;;) {
		__u32 count = WL_BATCH;
		int r = bpf_map_lookup_batch(fd, in, &token, keys, vals, &count, &opts);

		if (r && errno != ENOENT) {
			ret = sl_errf(err, "reading sluice_workload_info: %s", strerror(errno));
			break;
		}
		for (__u32 i = 0; i < count; i++) {
			grow(out, &cap);
			out->v[out->n].key = keys[i];
			out->v[out->n++].hash = sl_wl_hash(&vals[i]);
		}
		if (r)
			break;
		in = &token;
	}
	free(keys);
	free(vals);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_key);
	return ret;
}

struct order {
	struct sl_workload_key key;
	uint32_t index;
};

static int cmp_order(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	int c = cmp_key(&x->key, &y->key);

	return c ? c : (x->index > y->index) - (x->index < y->index);
}

static void push_write(struct sl_wl_want *want, const struct sl_workload_key *key,
		       const struct sl_workload_info *info)
{
	if (want->n_write == want->cap_write) {
		want->cap_write = want->cap_write ? want->cap_write * 2 : 64;
		want->keys = realloc(want->keys, want->cap_write * sizeof(*want->keys));
		want->vals = realloc(want->vals, want->cap_write * sizeof(*want->vals));
		if (!want->keys || !want->vals)
			abort();
	}
	want->keys[want->n_write] = *key;
	want->vals[want->n_write++] = *info;
}

/* Sorted keys with the index of their value, of equal keys the last. */
static struct order *sort_keys(const struct sl_workload_key *keys, size_t *n)
{
	struct order *o = calloc(*n + 1, sizeof(*o));
	size_t out = 0;
	bool sorted = true;

	if (!o)
		abort();
	for (size_t i = 0; i < *n; i++) {
		o[i] = (struct order){ keys[i], (uint32_t)i };
		sorted = sorted && (!i || cmp_key(&keys[i - 1], &keys[i]) < 0);
	}
	if (sorted)
		return o;
	qsort(o, *n, sizeof(*o), cmp_order);
	for (size_t i = 0; i < *n; i++)
		if (i + 1 == *n || cmp_key(&o[i].key, &o[i + 1].key))
			o[out++] = o[i];
	*n = out;
	return o;
}

int sl_wl_plan(uint32_t max, const struct sl_wl_set *have, struct sl_wl_want *want,
	       const struct sl_workload_key *keys, size_t n, sl_wl_fill_fn *fill,
	       const void *ctx, struct sl_err *err)
{
	struct order *o = sort_keys(keys, &n);
	size_t n_new = 0, j = 0;

	sl_wl_want_free(want);
	want->set.v = calloc(n + 1, sizeof(*want->set.v));
	if (!want->set.v)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct sl_wl_entry *e = &want->set.v[want->set.n++];
		struct sl_workload_info info;
		bool found;

		memset(&info, 0, sizeof(info));
		fill(ctx, o[i].index, &info);
		e->key = o[i].key;
		e->hash = sl_wl_hash(&info);
		while (j < have->n && cmp_key(&have->v[j].key, &e->key) < 0)
			j++;
		found = j < have->n && !cmp_key(&have->v[j].key, &e->key);
		if (found && have->v[j].hash == e->hash)
			continue;
		n_new += !found;
		push_write(want, &e->key, &info);
	}
	free(o);
	/* Old names stay until the switch: the new ones need room of their own. */
	if (have->n + n_new > max)
		return sl_errf(err, "sluice_workload_info is full: the configuration needs "
			       "%zu new entries next to the %zu in force, capacity %u "
			       "(--max-workloads); nothing was applied", n_new, have->n, max);
	return 0;
}

/* Writes keys[0..n) with vals, in batches. */
static int update_batch(int fd, const struct sl_workload_key *keys,
			const struct sl_workload_info *vals, size_t n, struct sl_err *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	for (size_t done = 0; done < n;) {
		__u32 count = (__u32)(n - done < WL_BATCH ? n - done : WL_BATCH);

		if (bpf_map_update_batch(fd, keys + done, vals + done, &count, &opts))
			return sl_errf(err, "writing sluice_workload_info: %s",
				       strerror(errno));
		done += count;
	}
	return 0;
}

/* Deletes keys[0..n) in batches; a key already gone is no error. */
static int delete_batch(int fd, const struct sl_workload_key *keys, size_t n,
			struct sl_err *err)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (size_t done = 0; done < n;) {
		__u32 count = (__u32)(n - done < WL_BATCH ? n - done : WL_BATCH);
		int r = bpf_map_delete_batch(fd, keys + done, &count, &opts);

		done += count;
		if (r && errno != ENOENT)
			return sl_errf(err, "deleting from sluice_workload_info: %s",
				       strerror(errno));
		if (r)
			done++;	/* the missing key the batch stopped at */
	}
	return 0;
}

int sl_wl_write(int fd, struct sl_wl_set *have, struct sl_wl_want *want,
		struct sl_err *err)
{
	struct sl_err ignored;
	int ret = update_batch(fd, want->keys, want->vals, want->n_write, err);

	/* Written or not, the values are not needed again: 160 bytes an
	 * address, the agent's largest buffer at scale. */
	free(want->keys);
	free(want->vals);
	want->keys = NULL;
	want->vals = NULL;
	want->n_write = want->cap_write = 0;
	if (ret == 0)
		return 0;
	sl_wl_set_free(have);
	sl_wl_load(fd, have, &ignored);
	return -1;
}

int sl_wl_prune(int fd, struct sl_wl_set *have, struct sl_wl_want *want,
		struct sl_err *err)
{
	const struct sl_wl_set *w = &want->set;
	struct sl_workload_key *gone = calloc(have->n + 1, sizeof(*gone));
	size_t n = 0, j = 0;
	int ret;

	if (!gone)
		abort();
	for (size_t i = 0; i < have->n; i++) {
		while (j < w->n && cmp_key(&w->v[j].key, &have->v[i].key) < 0)
			j++;
		if (j == w->n || cmp_key(&w->v[j].key, &have->v[i].key))
			gone[n++] = have->v[i].key;
	}
	ret = delete_batch(fd, gone, n, err);
	free(gone);
	sl_wl_set_free(have);
	*have = want->set;
	memset(&want->set, 0, sizeof(want->set));
	return ret;
}

void sl_wl_merge(struct sl_wl_set *have, struct sl_wl_want *want)
{
	const struct sl_wl_set *w = &want->set;
	struct sl_wl_set u = { calloc(have->n + w->n + 1, sizeof(*u.v)), 0 };
	size_t i = 0, j = 0;

	if (!u.v)
		abort();
	while (i < have->n || j < w->n) {
		int c = i == have->n ? 1 : j == w->n ? -1 :
			cmp_key(&have->v[i].key, &w->v[j].key);

		if (c < 0)
			u.v[u.n++] = have->v[i++];
		else {
			u.v[u.n++] = w->v[j++];
			i += c == 0;
		}
	}
	sl_wl_set_free(have);
	*have = u;
	sl_wl_want_free(want);
}

void sl_wl_want_free(struct sl_wl_want *want)
{
	sl_wl_set_free(&want->set);
	free(want->keys);
	free(want->vals);
	memset(want, 0, sizeof(*want));
}

void sl_wl_set_free(struct sl_wl_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* Where key is in s, or where it would go. */
static size_t lower_bound(const struct sl_wl_set *s, const struct sl_workload_key *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (cmp_key(&s->v[mid].key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int sl_wl_set_one(int fd, uint32_t max, struct sl_wl_set *have,
		  const struct sl_workload_key *key, const struct sl_workload_info *info,
		  struct sl_err *err)
{
	size_t i = lower_bound(have, key);
	bool found = i < have->n && !cmp_key(&have->v[i].key, key);
	uint64_t hash = info ? sl_wl_hash(info) : 0;

	if (!info) {
		if (!found)
			return 0;
		if (bpf_map_delete_elem(fd, key) && errno != ENOENT)
			return sl_errf(err, "deleting from sluice_workload_info: %s",
				       strerror(errno));
		memmove(&have->v[i], &have->v[i + 1], (have->n - i - 1) * sizeof(*have->v));
		have->n--;
		return 0;
	}
	if (found && have->v[i].hash == hash)
		return 0;
	if (!found && have->n + 1 > max)
		return sl_errf(err, "map sluice_workload_info is full: %zu names, capacity is "
			       "%u (raise --max-workloads)", have->n + 1, max);
	if (bpf_map_update_elem(fd, key, info, BPF_ANY))
		return sl_errf(err, "writing sluice_workload_info: %s", strerror(errno));
	if (!found) {
		have->v = realloc(have->v, (have->n + 1) * sizeof(*have->v));
		if (!have->v)
			abort();
		memmove(&have->v[i + 1], &have->v[i], (have->n - i) * sizeof(*have->v));
		have->v[i].key = *key;
		have->n++;
	}
	have->v[i].hash = hash;
	return 0;
}
