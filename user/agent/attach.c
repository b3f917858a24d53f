// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attaching programs through pinned links, so that a restarted agent finds
 * them and swaps its own programs in without a gap.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
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

static int link_path(const struct sl_loader *l, const struct sl_link_desc *d,
		     char *path, size_t len, struct sl_err *err)
{
	return sl_pathf(path, len, err, "%s/%s/%s", l->bpffs, SL_PIN_LINKS_DIR, d->name);
}

static void retire_link(const char *path)
{
	int fd = bpf_obj_get(path);

	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	unlink(path);
}

static int pin_fd(int fd, const char *path, const char *name, struct sl_err *err)
{
	if (bpf_obj_pin(fd, path))
		return sl_errf(err, "pinning %s: %s", name, strerror(errno));
	return 0;
}

/* Pins a new link and lets go of it: the pin keeps it attached. */
static int pin_link(struct bpf_link *link, const char *path, struct sl_err *err)
{
	int ret = 0;

	if (bpf_link__pin(link, path))
		ret = sl_errf(err, "pinning %s: %s", path, strerror(errno));
	else
		bpf_link__disconnect(link);
	bpf_link__destroy(link);
	return ret;
}

/* Replaces the program inside a pinned, live link. */
static int update_in_place(const char *path, struct bpf_program *prog,
			   const char *name, struct sl_err *err)
{
	int fd = bpf_obj_get(path), ret = 0;

	if (fd < 0)
		return sl_errf(err, "opening link %s: %s", path, strerror(errno));
	if (bpf_link_update(fd, bpf_program__fd(prog), NULL))
		ret = sl_errf(err, "replacing the program of %s: %s", path, strerror(errno));
	close(fd);
	if (!ret)
		sl_debug("%s: program replaced in place", name);
	return ret;
}

/* A cgroup hook: replace in place when the pinned link is attached to our
 * cgroup; otherwise attach anew, then retire the old link. */
static int attach_cgroup(struct sl_loader *l, struct bpf_program *prog,
			 const struct sl_link_desc *d, int cgroup_fd, struct sl_err *err)
{
	struct sl_link_state st;
	struct bpf_link *link;
	char path[4096];

	if (link_path(l, d, path, sizeof(path), err))
		return -1;
	sl_link_inspect(l->bpffs, d, &st);
	if (st.present && st.attached && st.cgroup_id == l->cgroup_id)
		return update_in_place(path, prog, d->name, err);
	link = bpf_program__attach_cgroup(prog, cgroup_fd);
	if (!link)
		return sl_errf(err, "attaching %s to %s: %s", d->name, l->cgroup,
			       strerror(errno));
	if (st.present) {
		retire_link(path);
		sl_info("%s: moved from cgroup id %llu to %s", d->name,
			(unsigned long long)st.cgroup_id, l->cgroup);
	}
	return pin_link(link, path, err);
}

/* The sk_msg program, on the pinned sockhash (a link since Linux 6.10). */
static int attach_sockmap(struct sl_loader *l, struct bpf_program *prog,
			  const struct sl_link_desc *d, struct sl_err *err)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct sl_link_state st;
	char path[4096];
	int fd;

	if (link_path(l, d, path, sizeof(path), err))
		return -1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(l->maps.sockhash, &info, &len))
		return sl_errf(err, "reading sluice_sockhash: %s", strerror(errno));
	sl_link_inspect(l->bpffs, d, &st);
	if (st.present && st.attached && st.map_id == info.id)
		return update_in_place(path, prog, d->name, err);
	if (st.present)
		retire_link(path);
	fd = bpf_link_create(bpf_program__fd(prog), l->maps.sockhash, d->attach_type, NULL);
	if (fd < 0)
		return sl_errf(err, "attaching the sk_msg program to sluice_sockhash: %s "
			       "(same-node acceleration needs sockmap links, Linux 6.10; "
			       "run with --no-redirect on older kernels)", strerror(errno));
	if (pin_fd(fd, path, d->name, err) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Tracepoint links cannot swap programs: attach the new one, then retire
 * the old one (both only observe, so overlapping is harmless). */
static int attach_tracepoint(struct sl_loader *l, struct bpf_program *prog,
			     const struct sl_link_desc *d, struct sl_err *err)
{
	struct bpf_link *link;
	char path[4096];

	if (link_path(l, d, path, sizeof(path), err) || sl_tracefs_prepare(err) < 0)
		return -1;
	link = bpf_program__attach_tracepoint(prog, d->tp_category, d->tp_name);
	if (!link)
		return sl_errf(err, "attaching to the tracepoint %s:%s: %s (same-node "
			       "redirect needs syscall tracepoints, CONFIG_FTRACE_SYSCALLS, "
			       "to keep splice(2) readers safe; run with --no-redirect "
			       "without them)", d->tp_category, d->tp_name, strerror(errno));
	retire_link(path);
	return pin_link(link, path, err);
}

/* The same for a BTF-typed tracepoint (the section names it). */
static int attach_raw_tp(struct sl_loader *l, struct bpf_program *prog,
			 const struct sl_link_desc *d, struct sl_err *err)
{
	struct bpf_link *link;
	char path[4096];

	if (link_path(l, d, path, sizeof(path), err))
		return -1;
	link = bpf_program__attach(prog);
	if (!link)
		return sl_errf(err, "attaching to the BTF tracepoint %s:%s: %s (connection "
			       "telemetry needs BTF-typed tracepoints, Linux 5.5)",
			       d->tp_category, d->tp_name, strerror(errno));
	retire_link(path);
	return pin_link(link, path, err);
}

static int attach_one(struct sl_loader *l, struct bpf_program *prog,
		      const struct sl_link_desc *d, int cgroup_fd, struct sl_err *err)
{
	switch (d->kind) {
	case SL_LINK_CGROUP:
		return attach_cgroup(l, prog, d, cgroup_fd, err);
	case SL_LINK_SOCKMAP:
		return attach_sockmap(l, prog, d, err);
	case SL_LINK_TRACEPOINT:
		return attach_tracepoint(l, prog, d, err);
	case SL_LINK_RAW_TP:
		return attach_raw_tp(l, prog, d, err);
	}
	return sl_errf(err, "%s: unknown link kind", d->name);
}

int sl_attach_all(struct sl_loader *l, bool redirect, struct sl_err *err)
{
	char links_dir[4096];
	int cgroup_fd, ret = 0;

	if (sl_pathf(links_dir, sizeof(links_dir), err, "%s/%s", l->bpffs, SL_PIN_LINKS_DIR) ||
	    sl_mkdir_p(links_dir, 0700, err) < 0)
		return -1;
	cgroup_fd = open(l->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0)
		return sl_errf(err, "cgroup %s: %s", l->cgroup, strerror(errno));
	for (size_t i = 0; i < sl_n_link_descs && ret == 0; i++) {
		const struct sl_link_desc *d = &sl_link_descs[i];
		struct bpf_program *prog;
		char path[4096];

		if (d->accel && !redirect) {
			/* Members already in the sockhash keep their sk_msg
			 * program, which sends everything through TCP once
			 * sluice_config says so: nothing queued is lost. */
			if (link_path(l, d, path, sizeof(path), err) == 0)
				retire_link(path);
			continue;
		}
		prog = bpf_object__find_program_by_name(l->skel->obj, d->prog);
		if (!prog)
			ret = sl_errf(err, "the BPF object has no program %s", d->prog);
		else
			ret = attach_one(l, prog, d, cgroup_fd, err);
	}
	close(cgroup_fd);
	return ret;
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
		/* links/netns/: the per-pod socket lookup links. */
		if (de->d_type == DT_DIR) {
			ret = remove_pins(path, detach_links, err);
			if (ret < 0)
				break;
			continue;
		}
		if (detach_links) {
			int fd = bpf_obj_get(path);

			/* Detach first: another holder of the link (a process
			 * that opened the pin) must not keep it attached.
			 * Tracepoint (perf) links cannot be detached
			 * (EOPNOTSUPP); they go with their last reference. */
			if (fd >= 0) {
				if (bpf_link_detach(fd) && errno != EINVAL &&
				    errno != EOPNOTSUPP &&
				    errno != ENOLINK)
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
