// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Endpoint to service (see ep_service.h): which frontends name each
 * backend, from the state that mirrors the maps, so the answer follows
 * every apply, whole or by parts, without a table of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "ep_service.h"

/* Frontends of one service (ports, VIPs, families) do not make an
 * endpoint ambiguous. */
static bool same_service(const struct sl_applied_fe *a, const struct sl_applied_fe *b)
{
	return !strcmp(a->name, b->name) && !strcmp(a->namespace, b->namespace);
}

static void note(struct sl_ep_services *x, uint32_t id, uint32_t fe)
{
	uint32_t *at = &x->fe_of[id];

	if (!*at)
		*at = fe + 1;
	else if (*at != SL_EP_SEVERAL &&
		 !same_service(&x->st->fe[*at - 1], &x->st->fe[fe]))
		*at = SL_EP_SEVERAL;
}

int sl_ep_services_build(struct sl_ep_services *x, const struct sl_state *st)
{
	memset(x, 0, sizeof(*x));
	x->st = st;
	x->n = st->be_ids.size;
	x->fe_of = calloc(x->n + 1, sizeof(*x->fe_of));
	if (!x->fe_of)
		return -1;
	for (size_t i = 0; i < st->n_fe; i++)
		for (uint32_t k = 0; k < st->fe[i].n_members; k++)
			if (st->fe[i].members[k].backend_id < x->n)
				note(x, st->fe[i].members[k].backend_id, (uint32_t)i);
	return 0;
}

void sl_ep_services_free(struct sl_ep_services *x)
{
	free(x->fe_of);
	memset(x, 0, sizeof(*x));
}

static int be_cmp(const void *tuple, const void *be)
{
	return sl_backend_tuple_cmp(tuple, &((const struct sl_applied_be *)be)->be);
}

const struct sl_applied_fe *sl_ep_service(const struct sl_ep_services *x,
					  const struct sl_ip *ip, uint16_t port)
{
	struct sl_backend tuple = {
		.addr = ip->addr, .port = port, .proto = SL_PROTO_TCP, .family = ip->family,
	};
	const struct sl_applied_be *be;
	uint32_t fe;

	if (!x->fe_of || !x->st->n_be)
		return NULL;
	be = bsearch(&tuple, x->st->be, x->st->n_be, sizeof(*be), be_cmp);
	if (!be || be->id >= x->n)
		return NULL;
	fe = x->fe_of[be->id];
	return fe && fe != SL_EP_SEVERAL ? &x->st->fe[fe - 1] : NULL;
}
