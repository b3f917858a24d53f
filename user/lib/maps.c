// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "maps.h"
#include "sys.h"

#define DESC(field) { "sluice_" #field, offsetof(struct sl_maps, field) }

const struct sl_map_desc sl_map_descs[] = {
	DESC(svc),
	DESC(slot),
	DESC(member),
	DESC(backend),
	DESC(revnat),
	DESC(sock_vip),
	DESC(svc_state),
	DESC(backend_state),
	DESC(svc_info),
	DESC(backend_info),
	DESC(status),
	DESC(sockhash),
	DESC(flow),
	DESC(local_addr),
	DESC(redir_stats),
	DESC(settings),
	DESC(reader),
	DESC(short_pair),
	DESC(ipcache),
	DESC(netns_addr),
	DESC(policy),
	DESC(policy_set),
	DESC(policy_stats),
	DESC(policy_info),
	DESC(identity_info),
	DESC(workload_info),
	DESC(udp_peer),
	DESC(conn_bucket),
	DESC(doomed),
	DESC(events),
	DESC(bw),
	DESC(limit_src),
	DESC(traffic),
	DESC(conn),
	DESC(event_stats),
};
const size_t sl_n_map_descs = sizeof(sl_map_descs) / sizeof(sl_map_descs[0]);

void sl_maps_init(struct sl_maps *m)
{
	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < sl_n_map_descs; i++)
		*sl_maps_fd(m, &sl_map_descs[i]) = -1;
}

int sl_map_max_entries(int fd, uint32_t *max, struct sl_err *err)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return sl_errf(err, "reading map info: %s", strerror(errno));
	*max = info.max_entries;
	return 0;
}

int sl_maps_read_limits(struct sl_maps *m, struct sl_err *err)
{
	if (sl_map_max_entries(m->svc_state, &m->max_services, err) ||
	    sl_map_max_entries(m->backend_state, &m->max_backends, err) ||
	    sl_map_max_entries(m->slot, &m->max_slots, err))
		return -1;
	return 0;
}

int sl_maps_open_pinned(const char *bpffs, struct sl_maps *m, struct sl_err *err)
{
	struct sl_status st;

	sl_maps_init(m);
	m->owned = true;
	for (size_t i = 0; i < sl_n_map_descs; i++) {
		char path[4096];
		int fd;

		if (sl_pathf(path, sizeof(path), err, "%s/%s/%s", bpffs, SL_PIN_MAPS_DIR,
			     sl_map_descs[i].name)) {
			sl_maps_close(m);
			return -1;
		}
		fd = bpf_obj_get(path);
		if (fd < 0) {
			int e = errno;

			sl_maps_close(m);
			if (e == ENOENT)
				return sl_errf(err, "%s: no such pin: is Sluice installed "
					       "with --bpffs %s?", path, bpffs);
			return sl_errf(err, "%s: %s", path, strerror(e));
		}
		*sl_maps_fd(m, &sl_map_descs[i]) = fd;
	}
	if (sl_maps_read_limits(m, err) < 0 || sl_status_read(m, &st, err) < 0) {
		sl_maps_close(m);
		return -1;
	}
	if (st.abi_version != SL_ABI_VERSION) {
		sl_maps_close(m);
		return sl_errf(err, "%s holds state of ABI version %u; this build "
			       "speaks version %u", bpffs, st.abi_version, SL_ABI_VERSION);
	}
	return 0;
}

void sl_maps_close(struct sl_maps *m)
{
	for (size_t i = 0; i < sl_n_map_descs; i++) {
		int *fd = sl_maps_fd(m, &sl_map_descs[i]);

		if (m->owned && *fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

int sl_status_read(const struct sl_maps *m, struct sl_status *st,
		   struct sl_err *err)
{
	__u32 key = 0;

	if (bpf_map_lookup_elem(m->status, &key, st))
		return sl_errf(err, "reading sluice_status: %s", strerror(errno));
	st->error[sizeof(st->error) - 1] = '\0';
	st->config_path[sizeof(st->config_path) - 1] = '\0';
	st->cgroup_path[sizeof(st->cgroup_path) - 1] = '\0';
	st->warnings[sizeof(st->warnings) - 1] = '\0';
	st->locality[sizeof(st->locality) - 1] = '\0';
	return 0;
}

int sl_status_write(const struct sl_maps *m, const struct sl_status *st,
		    struct sl_err *err)
{
	__u32 key = 0;

	if (bpf_map_update_elem(m->status, &key, st, BPF_ANY))
		return sl_errf(err, "writing sluice_status: %s", strerror(errno));
	return 0;
}

int sl_map_count(int fd, uint32_t key_size, uint32_t limit, uint32_t *count)
{
	char key[256], next[256];
	void *prev = NULL;

	if (key_size > sizeof(key))
		return -1;
	*count = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		if (++(*count) > limit)
			return -1;
		memcpy(key, next, key_size);
		prev = key;
	}
	return errno == ENOENT ? 0 : -1;
}

/* Large enough that a table of 100,000 entries takes a few dozen calls. */
#define SL_BATCH_MAX 4096

int sl_map_update_batch(int fd, const void *keys, const void *values, size_t n,
			size_t key_size, size_t value_size, size_t *done)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);

	*done = 0;
	while (*done < n) {
		__u32 count = (__u32)(n - *done < SL_BATCH_MAX ? n - *done : SL_BATCH_MAX);
		int ret = bpf_map_update_batch(fd, (const char *)keys + *done * key_size,
					       (const char *)values + *done * value_size,
					       &count, &opts);

		*done += count;
		if (ret)
			return -1;
	}
	return 0;
}

static void dump_reserve(struct sl_map_dump *d, size_t need, size_t *cap)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : SL_BATCH_MAX;
	d->keys = realloc(d->keys, *cap * d->key_size);
	d->vals = realloc(d->vals, *cap * d->value_size);
	if (!d->keys || !d->vals)
		abort();
}

/* One lookup per key: for maps without batch operations. */
static int dump_walk(int fd, struct sl_map_dump *d, size_t *cap)
{
	char key[256], *prev = NULL;

	if (d->key_size > sizeof(key))
		return -1;
	d->n = 0;
	for (;;) {
		dump_reserve(d, d->n + 1, cap);
		if (bpf_map_get_next_key(fd, prev, d->keys + d->n * d->key_size))
			return errno == ENOENT ? 0 : -1;
		memcpy(key, d->keys + d->n * d->key_size, d->key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, d->vals + d->n * d->value_size) == 0)
			d->n++;
	}
}

int sl_map_dump(int fd, size_t key_size, size_t value_size, struct sl_map_dump *d)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	/* The kernel's position between calls: a bucket for hash maps, a
	 * whole key for the others (an LPM trie's is 24 bytes). */
	__u64 token[32] = { 0 }, *in = NULL;
	size_t cap = 0;

	memset(d, 0, sizeof(*d));
	d->key_size = key_size;
	d->value_size = value_size;
	if (key_size > sizeof(token))
		return dump_walk(fd, d, &cap);
	for (;;) {
		__u32 count = SL_BATCH_MAX;
		int ret;

		dump_reserve(d, d->n + count, &cap);
		ret = bpf_map_lookup_batch(fd, in, token, d->keys + d->n * key_size,
					   d->vals + d->n * value_size, &count, &opts);
		if (ret && !in && (errno == EINVAL || errno == ENOTSUP ||
				   errno == EOPNOTSUPP))
			return dump_walk(fd, d, &cap);
		d->n += count;
		if (ret)
			return errno == ENOENT ? 0 : -1;
		in = token;
	}
}

void sl_map_dump_free(struct sl_map_dump *d)
{
	free(d->keys);
	free(d->vals);
	memset(d, 0, sizeof(*d));
}
