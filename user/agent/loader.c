// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "links.h"
#include "loader.h"
#include "log.h"
#include "sluice.skel.h"
#include "sys.h"

/* libbpf's messages during load: the verifier's log among them. Kept so
 * that a rejected program is reported with the kernel's reason. */
static char load_log[16384];
static size_t load_log_len;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *line = NULL;
	int n = vasprintf(&line, fmt, ap);

	if (n <= 0) {
		free(line);
		return 0;
	}
	if (level != LIBBPF_DEBUG) {
		size_t room = sizeof(load_log) - load_log_len;

		/* Keep the end: the verifier's reason comes last. */
		if ((size_t)n >= sizeof(load_log)) {
			load_log_len = 0;
			room = sizeof(load_log);
			memcpy(load_log, line + n - (sizeof(load_log) - 1), sizeof(load_log) - 1);
			load_log_len = sizeof(load_log) - 1;
		} else if ((size_t)n < room) {
			memcpy(load_log + load_log_len, line, (size_t)n);
			load_log_len += (size_t)n;
		}
		load_log[load_log_len] = '\0';
	}
	if (sl_log_get_level() >= SL_LOG_DEBUG)
		fputs(line, stderr);	/* libbpf prefixes its own lines */
	free(line);
	return 0;
}

static int take_lock(struct sl_loader *l, struct sl_err *err)
{
	l->bpffs_fd = open(l->bpffs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->bpffs_fd < 0)
		return sl_errf(err, "%s: %s", l->bpffs, strerror(errno));
	if (flock(l->bpffs_fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(l->bpffs_fd);
		l->bpffs_fd = -1;
		if (e == EWOULDBLOCK)
			return sl_errf(err, "another sluiced already runs with --bpffs %s",
				       l->bpffs);
		return sl_errf(err, "locking %s: %s", l->bpffs, strerror(e));
	}
	return 0;
}

static void set_limits(struct sluice_bpf *skel, const struct sl_limits *lim)
{
	bpf_map__set_max_entries(skel->maps.sluice_svc, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_svc_state, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_svc_info, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_conn_bucket, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_backend, lim->max_backends);
	bpf_map__set_max_entries(skel->maps.sluice_backend_state, lim->max_backends);
	bpf_map__set_max_entries(skel->maps.sluice_backend_info, lim->max_backends);
	bpf_map__set_max_entries(skel->maps.sluice_slot, lim->max_slots);
	bpf_map__set_max_entries(skel->maps.sluice_member, lim->max_slots);
	bpf_map__set_max_entries(skel->maps.sluice_revnat, lim->max_revnat);
	bpf_map__set_max_entries(skel->maps.sluice_sockhash, lim->max_sockets);
	/* Two policy banks live side by side (both kept populated). */
	bpf_map__set_max_entries(skel->maps.sluice_ipcache, lim->max_workloads * 2);
	bpf_map__set_max_entries(skel->maps.sluice_workload_info, lim->max_workloads * 2);
	bpf_map__set_max_entries(skel->maps.sluice_policy, lim->max_verdicts * 2);
	bpf_map__set_max_entries(skel->maps.sluice_bw, lim->max_workloads);
	bpf_map__set_max_entries(skel->maps.sluice_limit_src, lim->max_workloads);
	bpf_map__set_max_entries(skel->maps.sluice_traffic, lim->max_traffic);
}

/* libbpf refuses a pinned map whose shape differs with a terse message;
 * say which map and which property, and what to do about it. */
static int check_pinned_map(struct bpf_map *map, const char *dir, struct sl_err *err)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	char path[4096];
	int fd;

	if (sl_pathf(path, sizeof(path), err, "%s/%s", dir, bpf_map__name(map)))
		return -1;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : sl_errf(err, "%s: %s", path, strerror(errno));
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return sl_errf(err, "%s: %s", path, strerror(errno));
	}
	close(fd);
	if (info.max_entries != bpf_map__max_entries(map))
		return sl_errf(err, "pinned map %s holds %u entries but this agent was "
			       "asked for %u: capacities cannot change while state is "
			       "pinned; restart with the old sizes, or run sluiced "
			       "--uninstall first (this drops live state)", path,
			       info.max_entries, bpf_map__max_entries(map));
	if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
	    info.value_size != bpf_map__value_size(map) ||
	    info.map_flags != bpf_map__map_flags(map))
		return sl_errf(err, "pinned map %s has another layout than this build "
			       "expects (ABI version %u); run sluiced --uninstall first",
			       path, SL_ABI_VERSION);
	return 0;
}

static int open_and_load(struct sl_loader *l, const struct sl_limits *lim,
			 struct sl_err *err)
{
	char maps_dir[4096];
	struct bpf_map *map;
	int ret;

	if (sl_pathf(maps_dir, sizeof(maps_dir), err, "%s/%s", l->bpffs, SL_PIN_MAPS_DIR) ||
	    sl_mkdir_p(maps_dir, 0700, err) < 0)
		return -1;
	LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = maps_dir);
	l->skel = sluice_bpf__open_opts(&opts);
	if (!l->skel)
		return sl_errf(err, "opening the BPF object: %s", strerror(errno));
	set_limits(l->skel, lim);
	bpf_object__for_each_map(map, l->skel->obj)
		if (check_pinned_map(map, maps_dir, err) < 0)
			return -1;
	load_log_len = 0;
	load_log[0] = '\0';
	ret = sluice_bpf__load(l->skel);
	if (ret)
		return sl_errf(err, "loading the BPF programs failed (%s); the kernel "
			       "said:\n%s\nSluice needs Linux >= 6.5 with BTF, cgroup v2 "
			       "socket hooks, bpf_set_retval and the bpf_sock_destroy "
			       "kfunc", strerror(-ret),
			       load_log_len ? load_log : "(nothing)");
	return 0;
}

static int init_maps(struct sl_loader *l, bool redirect, bool telemetry, bool flows,
		     struct sl_err *err)
{
	struct sl_settings cfg;
	struct sl_status st;
	__u32 zero = 0;

	sl_maps_init(&l->maps);
	l->maps.owned = false;
	for (size_t i = 0; i < sl_n_map_descs; i++) {
		struct bpf_map *map = bpf_object__find_map_by_name(l->skel->obj,
								    sl_map_descs[i].name);

		if (!map)
			return sl_errf(err, "the BPF object has no map %s", sl_map_descs[i].name);
		*sl_maps_fd(&l->maps, &sl_map_descs[i]) = bpf_map__fd(map);
	}
	/* The policy bank in force stays in force across a restart. */
	if (bpf_map_lookup_elem(l->maps.settings, &zero, &cfg))
		return sl_errf(err, "reading sluice_settings: %s", strerror(errno));
	cfg.redirect = redirect;
	cfg.telemetry = telemetry;
	cfg.flows = telemetry && flows;
	if (bpf_map_update_elem(l->maps.settings, &zero, &cfg, BPF_ANY))
		return sl_errf(err, "writing sluice_settings: %s", strerror(errno));
	if (sl_maps_read_limits(&l->maps, err) < 0 || sl_status_read(&l->maps, &st, err) < 0)
		return -1;
	if (st.abi_version == 0) {
		st.abi_version = SL_ABI_VERSION;
		return sl_status_write(&l->maps, &st, err);
	}
	if (st.abi_version != SL_ABI_VERSION)
		return sl_errf(err, "%s holds state of ABI version %u, this agent speaks "
			       "%u; run sluiced --uninstall first", l->bpffs,
			       st.abi_version, SL_ABI_VERSION);
	return 0;
}

int sl_loader_start(struct sl_loader *l, const char *bpffs, const char *cgroup,
		    const struct sl_limits *limits, bool redirect, bool telemetry,
		    bool flows, struct sl_err *err)
{
	memset(l, 0, sizeof(*l));
	l->bpffs_fd = -1;
	sl_maps_init(&l->maps);
	snprintf(l->bpffs, sizeof(l->bpffs), "%s", bpffs);
	snprintf(l->cgroup, sizeof(l->cgroup), "%s", cgroup);
	libbpf_set_print(libbpf_print);
	if (sl_is_cgroup2(cgroup, err) < 0 || sl_cgroup_id(cgroup, &l->cgroup_id, err) < 0)
		return -1;
	if (sl_bpffs_prepare(bpffs, err) < 0 || take_lock(l, err) < 0)
		return -1;
	if (open_and_load(l, limits, err) < 0 || init_maps(l, redirect, telemetry, flows, err) < 0 ||
	    sl_attach_all(l, redirect, err) < 0) {
		sl_loader_stop(l);
		return -1;
	}
	return 0;
}

struct bpf_program *sl_loader_prog(const struct sl_loader *l, const char *name)
{
	return bpf_object__find_program_by_name(l->skel->obj, name);
}

int sl_loader_prog_fd(const struct sl_loader *l, const char *name)
{
	struct bpf_program *prog = sl_loader_prog(l, name);

	return prog ? bpf_program__fd(prog) : -1;
}

void sl_loader_stop(struct sl_loader *l)
{
	if (l->skel)
		sluice_bpf__destroy(l->skel);
	l->skel = NULL;
	sl_maps_init(&l->maps);
	if (l->bpffs_fd >= 0)
		close(l->bpffs_fd);
	l->bpffs_fd = -1;
}

