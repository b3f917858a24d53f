// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "reset.h"

int sl_reset_init(struct sl_resetter *r, struct bpf_program *iter, struct sl_maps *maps,
		  struct sl_netns_watch *netns, struct sl_err *err)
{
	memset(r, 0, sizeof(*r));
	r->maps = maps;
	r->netns = netns;
	if (!iter)
		return sl_errf(err, "the BPF object has no socket iterator");
	r->link = bpf_program__attach_iter(iter, NULL);
	if (!r->link)
		return sl_errf(err, "attaching the TCP socket iterator (Linux >= 6.5 for "
			       "bpf_sock_destroy): %s", strerror(errno));
	return 0;
}

void sl_reset_free(struct sl_resetter *r)
{
	bpf_link__destroy(r->link);
	r->link = NULL;
}

static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct sl_doomed_key));
}

static int cmp_be_id(const void *a, const void *b)
{
	const struct sl_applied_be *x = *(const struct sl_applied_be *const *)a;
	const struct sl_applied_be *y = *(const struct sl_applied_be *const *)b;

	return (x->id > y->id) - (x->id < y->id);
}

static const struct sl_applied_be *be_by_id(const struct sl_applied_be **by_id, size_t n,
					    uint32_t id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (by_id[mid]->id == id)
			return by_id[mid];
		if (by_id[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void sl_reset_pairs(const struct sl_state *st, struct sl_pairs *out)
{
	const struct sl_applied_be **by_id = calloc(st->n_be + 1, sizeof(*by_id));
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	if (!by_id)
		abort();
	for (size_t i = 0; i < st->n_be; i++)
		by_id[i] = &st->be[i];
	if (st->n_be)
		qsort(by_id, st->n_be, sizeof(*by_id), cmp_be_id);
	for (size_t i = 0; i < st->n_fe; i++) {
		const struct sl_applied_fe *fe = &st->fe[i];

		if (fe->key.proto != SL_PROTO_TCP || (fe->flags & SL_SVC_F_KEEP_ON_REMOVAL))
			continue;
		for (uint32_t m = 0; m < fe->n_members; m++) {
			const struct sl_applied_be *be =
				be_by_id(by_id, st->n_be, fe->members[m].backend_id);
			struct sl_doomed_key k;

			if (!be)
				continue;
			memset(&k, 0, sizeof(k));
			k.backend = be->be.addr;
			k.backend_port = be->be.port;
			k.family = be->be.family;
			k.svc_id = fe->id;
			if (out->n == cap) {
				cap = cap ? cap * 2 : 256;
				out->v = realloc(out->v, cap * sizeof(*out->v));
				if (!out->v)
					abort();
			}
			out->v[out->n++] = k;
		}
	}
	free(by_id);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_key);
}

void sl_pairs_free(struct sl_pairs *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/* In a pod's namespace: walking its TCP sockets runs the program. */
static void run_iterator(void *arg)
{
	struct sl_resetter *r = arg;
	char buf[256];
	int fd = bpf_iter_create(bpf_link__fd(r->link));

	if (fd < 0) {
		sl_warn("starting the socket iterator: %s", strerror(errno));
		return;
	}
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
}

bool sl_reset_needs_sweep(const struct sl_state *st)
{
	for (size_t i = 0; i < st->n_fe; i++)
		if (st->fe[i].idle_ms || st->fe[i].max_age_ms)
			return true;
	return false;
}

void sl_reset_sweep(struct sl_resetter *r)
{
	if (r->link)
		sl_netns_each(r->netns, run_iterator, r);
}

void sl_reset_removed(struct sl_resetter *r, const struct sl_pairs *before,
		      const struct sl_pairs *after)
{
	size_t n = 0, resets = 0;
	__u32 zero = 0, count;
	size_t *doomed;

	if (!r->link)
		return;
	/* Only the pairs written are read back: at 100,000 endpoints a
	 * lookup of every pair costs more than the rest of the apply. */
	doomed = calloc(before->n + 1, sizeof(*doomed));
	if (!doomed)
		abort();
	for (size_t i = 0; i < before->n; i++) {
		if (after->n && bsearch(&before->v[i], after->v, after->n,
					sizeof(*after->v), cmp_key))
			continue;
		if (!bpf_map_update_elem(r->maps->doomed, &before->v[i], &zero, BPF_ANY))
			doomed[n++] = i;
	}
	if (n)
		sl_netns_each(r->netns, run_iterator, r);
	for (size_t i = 0; i < n; i++) {
		if (!bpf_map_lookup_elem(r->maps->doomed, &before->v[doomed[i]], &count)) {
			resets += count;
			bpf_map_delete_elem(r->maps->doomed, &before->v[doomed[i]]);
		}
	}
	free(doomed);
	if (!n)
		return;
	sl_info("%zu endpoints left their services: %zu open connections to them reset",
		n, resets);
}
