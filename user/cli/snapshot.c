// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE		/* qsort_r */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "snapshot.h"

/* The agent may switch a service to a new revision between our reads of
 * the service and of its members; then read the service again. */
static int read_members(const struct sl_maps *m, struct snap_fe *fe)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		bool complete = true;

		if (attempt && bpf_map_lookup_elem(m->svc, &fe->key, &fe->svc))
			return -1;
		free(fe->members);
		fe->members = calloc(fe->svc.n_members + 1, sizeof(*fe->members));
		if (!fe->members)
			return -1;
		for (uint32_t i = 0; i < fe->svc.n_members && complete; i++) {
			struct sl_member_key k = { fe->svc.id, fe->svc.rev, i };
			struct snap_member *sm = &fe->members[i];

			if (bpf_map_lookup_elem(m->member, &k, &sm->member)) {
				complete = false;
				break;
			}
			bpf_map_lookup_elem(m->backend, &sm->member.backend_id, &sm->backend);
			bpf_map_lookup_elem(m->backend_info, &sm->member.backend_id, &sm->info);
			bpf_map_lookup_elem(m->backend_state, &sm->member.backend_id, &sm->stats);
			sm->info.locality[sizeof(sm->info.locality) - 1] = '\0';
		}
		if (complete)
			return 0;
	}
	return -1;
}

static int cmp_fe(const void *a, const void *b)
{
	const struct snap_fe *x = a, *y = b;
	int c = strcmp(x->info.namespace, y->info.namespace);

	if (c)
		return c;
	c = strcmp(x->info.name, y->info.name);
	if (c)
		return c;
	return memcmp(&x->key, &y->key, sizeof(x->key));
}

int snapshot_read(const struct sl_maps *m, struct snapshot *s, struct sl_err *err)
{
	struct sl_svc_key key, prev_key, *prev = NULL;
	size_t cap = 0;

	memset(s, 0, sizeof(*s));
	while (bpf_map_get_next_key(m->svc, prev, &key) == 0) {
		struct snap_fe *fe;

		prev_key = key;
		prev = &prev_key;
		if (s->n_fe == cap) {
			cap = cap ? cap * 2 : 64;
			fe = realloc(s->fe, cap * sizeof(*fe));
			if (!fe) {
				snapshot_free(s);
				return sl_errf(err, "out of memory");
			}
			s->fe = fe;
		}
		fe = &s->fe[s->n_fe];
		memset(fe, 0, sizeof(*fe));
		fe->key = key;
		if (bpf_map_lookup_elem(m->svc, &key, &fe->svc))
			continue;
		bpf_map_lookup_elem(m->svc_info, &fe->svc.id, &fe->info);
		bpf_map_lookup_elem(m->svc_state, &fe->svc.id, &fe->stats);
		fe->info.namespace[sizeof(fe->info.namespace) - 1] = '\0';
		fe->info.name[sizeof(fe->info.name) - 1] = '\0';
		fe->info.port_name[sizeof(fe->info.port_name) - 1] = '\0';
		if (read_members(m, fe) < 0) {
			free(fe->members);
			continue;	/* removed while we read it */
		}
		s->n_fe++;
	}
	if (errno != ENOENT) {
		int e = errno;

		snapshot_free(s);
		return sl_errf(err, "walking sluice_svc: %s", strerror(e));
	}
	if (s->n_fe)
		qsort(s->fe, s->n_fe, sizeof(*s->fe), cmp_fe);
	return 0;
}

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n_fe; i++)
		free(s->fe[i].members);
	free(s->fe);
	memset(s, 0, sizeof(*s));
}

const char *snap_kind_name(uint32_t kind)
{
	switch (kind) {
	case SL_KIND_SERVICE:
		return "Service";
	case SL_KIND_SERVICE_ENTRY:
		return "ServiceEntry";
	default:
		return "?";
	}
}

void snap_member_state(uint32_t flags, char *buf, size_t len)
{
	if (flags & SL_MEMBER_F_READY)
		snprintf(buf, len, "ready");
	else if ((flags & SL_MEMBER_F_SERVING) && (flags & SL_MEMBER_F_TERMINATING))
		snprintf(buf, len, "serving,terminating");
	else if (flags & SL_MEMBER_F_TERMINATING)
		snprintf(buf, len, "terminating");
	else
		snprintf(buf, len, "not-ready");
}

bool snap_fe_matches(const struct snap_fe *fe, const char *filter)
{
	const char *slash;

	if (!filter)
		return true;
	slash = strchr(filter, '/');
	if (!slash)
		return !strcmp(fe->info.namespace, "default") && !strcmp(fe->info.name, filter);
	return strlen(fe->info.namespace) == (size_t)(slash - filter) &&
	       !strncmp(fe->info.namespace, filter, (size_t)(slash - filter)) &&
	       !strcmp(fe->info.name, slash + 1);
}

static int cmp_key(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(size_t *)size);
}

/* Every key of a hash map, sorted and unique. A walk restarts from the
 * first key when the previous one was deleted under it, so it takes at
 * most twice the capacity in steps rather than being trusted to end. */
static char *collect_keys(int fd, size_t key_size, size_t *n_out)
{
	struct bpf_map_info info;
	__u32 info_len = sizeof(info);
	size_t n = 0, cap = 64, limit, k = 0;
	char *keys = malloc(cap * key_size), *grown;

	memset(&info, 0, sizeof(info));
	if (!keys || bpf_obj_get_info_by_fd(fd, &info, &info_len))
		goto fail;
	for (limit = (size_t)info.max_entries * 2 + 16; n < limit; n++) {
		if (n == cap) {
			cap *= 2;
			grown = realloc(keys, cap * key_size);
			if (!grown)
				goto fail;
			keys = grown;
		}
		if (bpf_map_get_next_key(fd, n ? keys + (n - 1) * key_size : NULL,
					 keys + n * key_size))
			break;
	}
	if (n == limit)
		errno = EAGAIN;		/* kept restarting: changing too fast */
	if (n == limit || errno != ENOENT)
		goto fail;
	if (n)
		qsort_r(keys, n, key_size, cmp_key, &key_size);
	for (size_t i = 0; i < n; i++)
		if (!k || memcmp(keys + (k - 1) * key_size, keys + i * key_size, key_size))
			memmove(keys + k++ * key_size, keys + i * key_size, key_size);
	*n_out = k;
	return keys;
fail:
	free(keys);
	return NULL;
}

int snap_map_walk(int fd, size_t key_size, size_t value_size, snap_walk_fn fn, void *arg,
		  struct sl_err *err)
{
	char *keys, *value = malloc(value_size);
	size_t n = 0;

	keys = value ? collect_keys(fd, key_size, &n) : NULL;
	if (!keys) {
		free(value);
		return sl_errf(err, "walking a map failed: %s", strerror(errno));
	}
	for (size_t i = 0; i < n; i++)
		if (!bpf_map_lookup_elem(fd, keys + i * key_size, value))
			fn(keys + i * key_size, value, arg);
	free(keys);
	free(value);
	return 0;
}
