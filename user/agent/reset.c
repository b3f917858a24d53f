// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
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

static void pairs_push(struct sl_pairs *p, size_t *cap, const struct sl_doomed_key *k)
{
	if (p->n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		p->v = realloc(p->v, *cap * sizeof(*p->v));
		if (!p->v)
			abort();
	}
	p->v[p->n++] = *k;
}

static bool resets_on_removal(const struct sl_applied_fe *fe, const uint8_t *marked)
{
	return (!marked || marked[fe->id]) && fe->key.proto == SL_PROTO_TCP &&
	       !(fe->flags & SL_SVC_F_KEEP_ON_REMOVAL);
}

/* Backends are found through a table by id, as large as the highest id
 * in use (the pool's 262,144, a megabyte mapped and faulted in, cost
 * more than the reconcile of one change). */
void sl_reset_pairs(const struct sl_state *st, const uint8_t *marked, struct sl_pairs *out)
{
	const struct sl_applied_be **by_id;
	uint32_t n_ids = 0;
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < st->n_be; i++)
		if (st->be[i].id >= n_ids)
			n_ids = st->be[i].id + 1;
	by_id = calloc(n_ids + 1, sizeof(*by_id));
	if (!by_id)
		abort();
	for (size_t i = 0; i < st->n_be; i++)
		by_id[st->be[i].id] = &st->be[i];
	for (size_t i = 0; i < st->n_fe; i++) {
		const struct sl_applied_fe *fe = &st->fe[i];

		if (!resets_on_removal(fe, marked))
			continue;
		for (uint32_t m = 0; m < fe->n_members; m++) {
			uint32_t id = fe->members[m].backend_id;
			struct sl_doomed_key k;

			if (id >= n_ids || !by_id[id])
				continue;
			memset(&k, 0, sizeof(k));
			k.backend = by_id[id]->be.addr;
			k.backend_port = by_id[id]->be.port;
			k.family = by_id[id]->be.family;
			k.svc_id = fe->id;
			pairs_push(out, &cap, &k);
		}
	}
	free(by_id);
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_key);
}

static int cmp_model_fe(const void *key, const void *fe)
{
	return sl_svc_key_cmp(key, &((const struct sl_frontend *)fe)->key);
}

void sl_reset_pairs_was(const struct sl_state *st, const uint8_t *ids,
			const struct sl_model *was, struct sl_pairs *out)
{
	size_t cap = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; was->n_fe && i < st->n_fe; i++) {
		const struct sl_applied_fe *fe = &st->fe[i];
		const struct sl_frontend *m;

		if (!resets_on_removal(fe, ids))
			continue;
		m = bsearch(&fe->key, was->fe, was->n_fe, sizeof(*was->fe), cmp_model_fe);
		for (size_t k = 0; m && k < m->n_members; k++) {
			struct sl_doomed_key key;

			memset(&key, 0, sizeof(key));
			key.backend = m->members[k].ip.addr;
			key.backend_port = htons(m->members[k].port);
			key.family = m->members[k].ip.family;
			key.svc_id = fe->id;
			pairs_push(out, &cap, &key);
		}
	}
	if (out->n)
		qsort(out->v, out->n, sizeof(*out->v), cmp_key);
}

void sl_pairs_keep(struct sl_pairs *p, const uint8_t *ids, uint32_t n_ids)
{
	size_t keep = 0;

	for (size_t k = 0; k < p->n; k++) {
		uint32_t id = p->v[k].svc_id;

		if (id < n_ids && ids[id])
			p->v[keep++] = p->v[k];
	}
	p->n = keep;
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

/* The pairs st holds of the frontends that doomed names. */
static void pairs_in_force(const struct sl_state *st, const struct sl_pairs *doomed,
			   struct sl_pairs *out)
{
	uint32_t n_ids = st->svc_ids.size;
	uint8_t *ids = calloc(n_ids + 1, 1);

	if (!ids)
		abort();
	for (size_t i = 0; i < doomed->n; i++)
		if (doomed->v[i].svc_id < n_ids)
			ids[doomed->v[i].svc_id] = 1;
	sl_reset_pairs(st, ids, out);
	free(ids);
}

void sl_reset_removed(struct sl_resetter *r, const struct sl_pairs *doomed,
		      const struct sl_state *st)
{
	size_t n = 0, resets = 0;
	__u32 zero = 0, count;
	struct sl_pairs in_force;
	size_t *written;

	if (!r->link || !doomed->n)
		return;
	pairs_in_force(st, doomed, &in_force);
	/* Only the pairs written are read back: at 100,000 endpoints a
	 * lookup of every pair costs more than the rest of the apply. */
	written = calloc(doomed->n + 1, sizeof(*written));
	if (!written)
		abort();
	for (size_t i = 0; i < doomed->n; i++) {
		if (in_force.n && bsearch(&doomed->v[i], in_force.v, in_force.n,
					  sizeof(*in_force.v), cmp_key))
			continue;
		if (!bpf_map_update_elem(r->maps->doomed, &doomed->v[i], &zero, BPF_ANY))
			written[n++] = i;
	}
	if (n)
		sl_netns_each(r->netns, run_iterator, r);
	for (size_t i = 0; i < n; i++) {
		if (!bpf_map_lookup_elem(r->maps->doomed, &doomed->v[written[i]], &count)) {
			resets += count;
			bpf_map_delete_elem(r->maps->doomed, &doomed->v[written[i]]);
		}
	}
	free(written);
	sl_pairs_free(&in_force);
	if (!n)
		return;
	sl_info("%zu endpoints left their services: %zu open connections to them reset",
		n, resets);
}

void sl_pairs_add_removed(struct sl_pairs *into, const struct sl_pairs *before,
			  const struct sl_pairs *after)
{
	size_t cap = into->n, out = 0;

	for (size_t i = 0; i < before->n; i++)
		if (!after->n || !bsearch(&before->v[i], after->v, after->n, sizeof(*after->v),
					  cmp_key))
			pairs_push(into, &cap, &before->v[i]);
	if (!into->n)
		return;
	qsort(into->v, into->n, sizeof(*into->v), cmp_key);
	for (size_t i = 0; i < into->n; i++)
		if (!out || cmp_key(&into->v[out - 1], &into->v[i]))
			into->v[out++] = into->v[i];
	into->n = out;
}
