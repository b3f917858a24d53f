// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "limit_src.h"

static size_t count_pairs(const struct sl_model *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->n_fe; i++)
		if (m->fe[i].flags & SL_SVC_F_LIMIT_SOURCES)
			n += m->fe[i].n_limit_src;
	return n;
}

int sl_limit_src_check(const struct sl_maps *maps, const struct sl_model *model,
		       struct sl_err *err)
{
	size_t n = count_pairs(model);
	uint32_t max;

	if (sl_map_max_entries(maps->limit_src, &max, err) < 0)
		return -1;
	if (n > max)
		return sl_errf(err, "TrafficLimit sources make %zu (service, client) pairs "
			       "but sluice_limit_src holds %u (sluiced --max-workloads)", n, max);
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sl_limit_src_key));
}

static const struct sl_applied_fe *applied(const struct sl_state *st,
					   const struct sl_svc_key *key)
{
	for (size_t lo = 0, hi = st->n_fe; lo < hi;) {
		size_t mid = (lo + hi) / 2;
		int c = sl_svc_key_cmp(&st->fe[mid].key, key);

		if (!c)
			return &st->fe[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The pairs wanted, sorted; NULL with *n = 0 when there are none. */
static struct sl_limit_src_key *wanted(const struct sl_state *st, const struct sl_model *m,
				       size_t *n)
{
	struct sl_limit_src_key *v = calloc(count_pairs(m) + 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < m->n_fe; i++) {
		const struct sl_frontend *fe = &m->fe[i];
		const struct sl_applied_fe *a;

		if (!(fe->flags & SL_SVC_F_LIMIT_SOURCES) || !(a = applied(st, &fe->key)))
			continue;
		for (size_t k = 0; k < fe->n_limit_src; k++) {
			struct sl_limit_src_key *key = &v[(*n)++];

			key->svc_id = a->id;
			key->family = fe->limit_src[k].family;
			key->addr = fe->limit_src[k].addr;
		}
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_key);
	return v;
}

int sl_limit_src_reconcile(const struct sl_maps *maps, const struct sl_state *st,
			   const struct sl_model *model, struct sl_err *err)
{
	struct sl_limit_src_key key, next, *prev = NULL, *want;
	size_t n, n_stale = 0;
	struct sl_limit_src_key *stale = NULL;
	__u32 one = 1;
	int ret = 0;

	want = wanted(st, model, &n);
	if (!want)
		return sl_errf(err, "out of memory");
	while (!ret && !bpf_map_get_next_key(maps->limit_src, prev, &next)) {
		if (!bsearch(&next, want, n, sizeof(*want), cmp_key)) {
			stale = realloc(stale, (n_stale + 1) * sizeof(*stale));
			if (!stale)
				ret = sl_errf(err, "out of memory");
			else
				stale[n_stale++] = next;
		}
		key = next;
		prev = &key;
	}
	for (size_t i = 0; !ret && i < n_stale; i++)
		if (bpf_map_delete_elem(maps->limit_src, &stale[i]) && errno != ENOENT)
			ret = sl_errf(err, "deleting from sluice_limit_src: %s", strerror(errno));
	for (size_t i = 0; !ret && i < n; i++)
		if (bpf_map_update_elem(maps->limit_src, &want[i], &one, BPF_ANY))
			ret = sl_errf(err, "writing sluice_limit_src: %s", strerror(errno));
	free(stale);
	free(want);
	return ret;
}
