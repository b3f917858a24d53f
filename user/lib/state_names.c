// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The frontends' names in the state. sluice_svc_info holds them in fixed
 * arrays (392 bytes a frontend); the state holds each frontend's names at
 * their length in one block of st->names, truncated as the arrays
 * truncate them, so that comparing with a model tells what the map holds.
 *
 * A frontend rewritten with its names keeps its block: endpoint churn
 * allocates nothing. A renamed, added or removed frontend leaves garbage,
 * copied away once it outweighs the live blocks: the arena stays under
 * twice what the state names (plus NAMES_SLACK), whatever the churn, and
 * the copy, O(frontends), comes after as many bytes of renames.
 */
#include <stdio.h>
#include <string.h>

#include "state.h"

/* Garbage below this is left: a small state would otherwise copy itself
 * at nearly every rename. */
#define NAMES_SLACK (16 * 1024)

static bool names_same(const struct sl_applied_fe *a, const struct sl_applied_fe *b)
{
	return !strncmp(a->namespace, b->namespace, SL_NAMESPACE_LEN - 1) &&
	       !strncmp(a->name, b->name, SL_NAME_LEN - 1) &&
	       !strncmp(a->port_name, b->port_name, SL_PORT_NAME_LEN - 1);
}

bool sl_fe_info_same(const struct sl_applied_fe *a, const struct sl_applied_fe *b)
{
	return a->kind == b->kind && names_same(a, b);
}

void sl_fe_info_fill(const struct sl_applied_fe *fe, struct sl_svc_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->namespace, sizeof(info->namespace), "%s", fe->namespace);
	snprintf(info->name, sizeof(info->name), "%s", fe->name);
	snprintf(info->port_name, sizeof(info->port_name), "%s", fe->port_name);
	info->kind = fe->kind;
}

/* Copies s, at most size - 1 bytes of it (s need not be terminated
 * within them: a map's array), to at; returns what follows. */
static char *put(char *at, const char *s, size_t size)
{
	size_t n = strnlen(s, size - 1);

	memcpy(at, s, n);
	at[n] = '\0';
	return at + n + 1;
}

/* Points fe's names at a copy in a; returns what the block counts in a. */
static size_t copy_names(struct sl_arena *a, struct sl_applied_fe *fe)
{
	const char *ns = fe->namespace, *name = fe->name, *port = fe->port_name;
	size_t len = strnlen(ns, SL_NAMESPACE_LEN - 1) + strnlen(name, SL_NAME_LEN - 1) +
		     strnlen(port, SL_PORT_NAME_LEN - 1) + 3;
	char *at = sl_arena_alloc_chars(a, len);

	fe->namespace = at;
	fe->name = at = put(at, ns, SL_NAMESPACE_LEN);
	fe->port_name = at = put(at, name, SL_NAME_LEN);
	put(at, port, SL_PORT_NAME_LEN);
	return len;
}

void sl_state_own_names(struct sl_state *st, struct sl_applied_fe *fe,
			const struct sl_applied_fe *old)
{
	if (old && names_same(old, fe)) {
		fe->namespace = old->namespace;
		fe->name = old->name;
		fe->port_name = old->port_name;
		return;
	}
	if (old)
		sl_state_drop_names(st, old);
	st->names_live += copy_names(&st->names, fe);
}

void sl_state_drop_names(struct sl_state *st, const struct sl_applied_fe *fe)
{
	st->names_live -= strlen(fe->namespace) + strlen(fe->name) + strlen(fe->port_name) + 3;
}

void sl_state_compact_names(struct sl_state *st)
{
	struct sl_arena fresh = { 0 };

	if (st->names.used <= 2 * st->names_live + NAMES_SLACK)
		return;
	if (st->names_live)
		sl_arena_reserve(&fresh, st->names_live);
	for (size_t i = 0; i < st->n_fe; i++)
		copy_names(&fresh, &st->fe[i]);
	sl_arena_free(&st->names);
	st->names = fresh;
}
