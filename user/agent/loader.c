// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "links.h"
#include "loader.h"
#include "log.h"
#include "sock_lb.skel.h"
#include "sys.h"

/* libbpf's messages during load: the verifier's log among them. Kept so
 * that a rejected program is reported with the kernel's reason. */
static char load_log[16384];
static size_t load_log_len;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n <= 0)
		return 0;
	if (level != LIBBPF_DEBUG) {
		size_t room = sizeof(load_log) - load_log_len;

		if (room > 1) {
			size_t take = (size_t)n < room - 1 ? (size_t)n : room - 1;

			memcpy(load_log + load_log_len, line, take);
			load_log_len += take;
			load_log[load_log_len] = '\0';
		}
	}
	if (sl_log_get_level() >= SL_LOG_DEBUG)
		fputs(line, stderr);	/* libbpf prefixes its own lines */
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

static void set_limits(struct sock_lb_bpf *skel, const struct sl_limits *lim)
{
	bpf_map__set_max_entries(skel->maps.sluice_svc, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_svc_state, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_svc_info, lim->max_services);
	bpf_map__set_max_entries(skel->maps.sluice_backend, lim->max_backends);
	bpf_map__set_max_entries(skel->maps.sluice_backend_state, lim->max_backends);
	bpf_map__set_max_entries(skel->maps.sluice_backend_info, lim->max_backends);
	bpf_map__set_max_entries(skel->maps.sluice_slot, lim->max_slots);
	bpf_map__set_max_entries(skel->maps.sluice_member, lim->max_slots);
	bpf_map__set_max_entries(skel->maps.sluice_revnat, lim->max_revnat);
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
	l->skel = sock_lb_bpf__open_opts(&opts);
	if (!l->skel)
		return sl_errf(err, "opening the BPF object: %s", strerror(errno));
	set_limits(l->skel, lim);
	bpf_object__for_each_map(map, l->skel->obj)
		if (check_pinned_map(map, maps_dir, err) < 0)
			return -1;
	load_log_len = 0;
	load_log[0] = '\0';
	ret = sock_lb_bpf__load(l->skel);
	if (ret)
		return sl_errf(err, "loading the BPF programs failed (%s); the kernel "
			       "said:\n%s\nSluice needs Linux >= 5.18 with cgroup v2 "
			       "socket hooks and bpf_set_retval", strerror(-ret),
			       load_log_len ? load_log : "(nothing)");
	return 0;
}

static int init_maps(struct sl_loader *l, struct sl_err *err)
{
	struct sl_status st;

	sl_maps_init(&l->maps);
	l->maps.owned = false;
	l->maps.svc = bpf_map__fd(l->skel->maps.sluice_svc);
	l->maps.slot = bpf_map__fd(l->skel->maps.sluice_slot);
	l->maps.member = bpf_map__fd(l->skel->maps.sluice_member);
	l->maps.backend = bpf_map__fd(l->skel->maps.sluice_backend);
	l->maps.revnat = bpf_map__fd(l->skel->maps.sluice_revnat);
	l->maps.sock_vip = bpf_map__fd(l->skel->maps.sluice_sock_vip);
	l->maps.svc_state = bpf_map__fd(l->skel->maps.sluice_svc_state);
	l->maps.backend_state = bpf_map__fd(l->skel->maps.sluice_backend_state);
	l->maps.svc_info = bpf_map__fd(l->skel->maps.sluice_svc_info);
	l->maps.backend_info = bpf_map__fd(l->skel->maps.sluice_backend_info);
	l->maps.status = bpf_map__fd(l->skel->maps.sluice_status);
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

/* One hook: replace the program of the pinned link in place when it is
 * attached to our cgroup; otherwise attach anew, then retire the old link,
 * so that there is never a moment without a program. */
static int attach_one(struct sl_loader *l, struct bpf_program *prog, int cgroup_fd,
		      struct sl_err *err)
{
	const char *name = bpf_program__name(prog) + 3;	/* "sl_connect4" */
	const struct sl_link_desc *d = sl_link_desc_find(name);
	struct sl_link_state st;
	struct bpf_link *link;
	char path[4096];

	if (!d)
		return sl_errf(err, "program %s has no link description", name);
	if (sl_pathf(path, sizeof(path), err, "%s/%s/%s", l->bpffs, SL_PIN_LINKS_DIR, name))
		return -1;
	sl_link_inspect(l->bpffs, d, &st);
	if (st.present && st.attached && st.cgroup_id == l->cgroup_id) {
		link = bpf_link__open(path);
		if (!link)
			return sl_errf(err, "opening link %s: %s", path, strerror(errno));
		if (bpf_link__update_program(link, prog)) {
			int e = errno;

			bpf_link__destroy(link);
			return sl_errf(err, "replacing the program of %s: %s", path,
				       strerror(e));
		}
		sl_debug("%s: program replaced in place", name);
		bpf_link__disconnect(link);
		bpf_link__destroy(link);
		return 0;
	}
	link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (!link)
		return sl_errf(err, "attaching %s to %s: %s", name, l->cgroup,
			       strerror(errno));
	if (st.present) {
		int old = bpf_obj_get(path);

		if (old >= 0) {
			bpf_link_detach(old);
			close(old);
		}
		unlink(path);
		sl_info("%s: moved from cgroup id %llu to %s", name,
			(unsigned long long)st.cgroup_id, l->cgroup);
	}
	if (bpf_link__pin(link, path)) {
		int e = errno;

		bpf_link__destroy(link);
		return sl_errf(err, "pinning %s: %s", path, strerror(e));
	}
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return 0;
}

static int attach_all(struct sl_loader *l, struct sl_err *err)
{
	struct bpf_program *prog;
	char links_dir[4096];
	int cgroup_fd, ret = 0;

	if (sl_pathf(links_dir, sizeof(links_dir), err, "%s/%s", l->bpffs, SL_PIN_LINKS_DIR) ||
	    sl_mkdir_p(links_dir, 0700, err) < 0)
		return -1;
	cgroup_fd = open(l->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0)
		return sl_errf(err, "cgroup %s: %s", l->cgroup, strerror(errno));
	bpf_object__for_each_program(prog, l->skel->obj) {
		ret = attach_one(l, prog, cgroup_fd, err);
		if (ret < 0)
			break;
	}
	close(cgroup_fd);
	return ret;
}

int sl_loader_start(struct sl_loader *l, const char *bpffs, const char *cgroup,
		    const struct sl_limits *limits, struct sl_err *err)
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
	if (open_and_load(l, limits, err) < 0 || init_maps(l, err) < 0 ||
	    attach_all(l, err) < 0) {
		sl_loader_stop(l);
		return -1;
	}
	return 0;
}

void sl_loader_stop(struct sl_loader *l)
{
	if (l->skel)
		sock_lb_bpf__destroy(l->skel);
	l->skel = NULL;
	sl_maps_init(&l->maps);
	if (l->bpffs_fd >= 0)
		close(l->bpffs_fd);
	l->bpffs_fd = -1;
}

static int remove_pins(const char *dir, bool detach_links, struct sl_err *err)
{
	char path[4096];
	struct dirent *de;
	DIR *d = opendir(dir);
	int ret = 0;

	if (!d)
		return errno == ENOENT ? 0 : sl_errf(err, "%s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (sl_pathf(path, sizeof(path), err, "%s/%s", dir, de->d_name)) {
			ret = -1;
			break;
		}
		if (detach_links) {
			int fd = bpf_obj_get(path);

			/* Detach first: another holder of the link (a process
			 * that opened the pin) must not keep it attached. */
			if (fd >= 0) {
				if (bpf_link_detach(fd) && errno != EINVAL)
					sl_warn("detaching %s: %s", path, strerror(errno));
				close(fd);
			}
		}
		if (unlink(path) < 0) {
			ret = sl_errf(err, "removing %s: %s", path, strerror(errno));
			break;
		}
	}
	closedir(d);
	if (ret == 0 && rmdir(dir) < 0 && errno != ENOENT)
		ret = sl_errf(err, "removing %s: %s", dir, strerror(errno));
	return ret;
}

int sl_uninstall(const char *bpffs, struct sl_err *err)
{
	char dir[4096];
	int fd;

	fd = open(bpffs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			sl_info("%s does not exist: nothing to uninstall", bpffs);
			return 0;
		}
		return sl_errf(err, "%s: %s", bpffs, strerror(errno));
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		close(fd);
		return sl_errf(err, "a sluiced is running with --bpffs %s: stop it first",
			       bpffs);
	}
	/* Links first, so that no program runs against maps being removed. */
	if (sl_pathf(dir, sizeof(dir), err, "%s/%s", bpffs, SL_PIN_LINKS_DIR) ||
	    remove_pins(dir, true, err) < 0)
		goto fail;
	if (sl_pathf(dir, sizeof(dir), err, "%s/%s", bpffs, SL_PIN_MAPS_DIR) ||
	    remove_pins(dir, false, err) < 0)
		goto fail;
	close(fd);
	if (rmdir(bpffs) < 0)
		return sl_errf(err, "removing %s: %s (does it hold pins Sluice did not "
			       "create?)", bpffs, strerror(errno));
	return 0;
fail:
	close(fd);
	return -1;
}
