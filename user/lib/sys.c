// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "sys.h"

int sl_cgroup2_root(char *buf, size_t len, struct sl_err *err)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	int ret = -1;

	if (!f)
		return sl_errf(err, "/proc/mounts: %s", strerror(errno));
	while ((m = getmntent(f))) {
		if (strcmp(m->mnt_type, "cgroup2") == 0) {
			snprintf(buf, len, "%s", m->mnt_dir);
			ret = 0;
			break;
		}
	}
	endmntent(f);
	if (ret < 0)
		return sl_errf(err, "no cgroup2 filesystem in /proc/mounts: Sluice "
			       "needs cgroup v2 (kernel feature CONFIG_CGROUP_BPF)");
	return 0;
}

static bool mounted(const char *fstype)
{
	FILE *f = setmntent("/proc/mounts", "r");
	struct mntent *m;
	bool found = false;

	if (!f)
		return false;
	while ((m = getmntent(f)) && !found)
		found = strcmp(m->mnt_type, fstype) == 0;
	endmntent(f);
	return found;
}

int sl_tracefs_prepare(struct sl_err *err)
{
	if (mounted("tracefs"))
		return 0;
	if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) < 0)
		return sl_errf(err, "mounting tracefs at /sys/kernel/tracing: %s",
			       strerror(errno));
	return 0;
}

int sl_mkdir_p(const char *path, unsigned int mode, struct sl_err *err)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return sl_errf(err, "mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return sl_errf(err, "mkdir %s: %s", buf, strerror(errno));
	return 0;
}

static int fs_magic(const char *path, long *magic)
{
	struct statfs st;

	if (statfs(path, &st) < 0)
		return -1;
	*magic = (long)st.f_type;
	return 0;
}

/* The deepest existing ancestor of path (path itself if it exists). */
static void existing_prefix(const char *path, char *out, size_t len)
{
	struct stat st;

	snprintf(out, len, "%s", path);
	while (stat(out, &st) < 0) {
		char *slash = strrchr(out, '/');

		if (!slash || slash == out) {
			snprintf(out, len, "/");
			return;
		}
		*slash = '\0';
	}
}

int sl_bpffs_prepare(const char *path, struct sl_err *err)
{
	char prefix[4096];
	long magic;

	if (path[0] != '/')
		return sl_errf(err, "bpffs directory %s: must be an absolute path", path);
	existing_prefix(path, prefix, sizeof(prefix));
	if (fs_magic(prefix, &magic) < 0)
		return sl_errf(err, "statfs %s: %s", prefix, strerror(errno));
	if (magic != (long)BPF_FS_MAGIC) {
		/* Only the conventional mount point is mounted for the user;
		 * anywhere else a missing bpffs is the operator's choice. */
		if (strcmp(prefix, "/sys/fs/bpf") != 0)
			return sl_errf(err, "%s is not on a bpf filesystem (mount one "
				       "with: mount -t bpf bpf /sys/fs/bpf)", path);
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") < 0)
			return sl_errf(err, "mounting bpffs at /sys/fs/bpf: %s",
				       strerror(errno));
	}
	return sl_mkdir_p(path, 0700, err);
}

int sl_is_cgroup2(const char *path, struct sl_err *err)
{
	long magic;

	if (fs_magic(path, &magic) < 0)
		return sl_errf(err, "cgroup %s: %s", path, strerror(errno));
	if (magic != (long)CGROUP2_SUPER_MAGIC)
		return sl_errf(err, "%s is not a cgroup v2 directory", path);
	return 0;
}

int sl_cgroup_id(const char *path, uint64_t *id, struct sl_err *err)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} handle;
	int mount_id;

	handle.fh.handle_bytes = sizeof(handle.id);
	if (name_to_handle_at(AT_FDCWD, path, &handle.fh, &mount_id, 0) < 0)
		return sl_errf(err, "cgroup id of %s: %s", path, strerror(errno));
	if (handle.fh.handle_bytes != sizeof(handle.id))
		return sl_errf(err, "cgroup id of %s: unexpected handle size %u", path,
			       handle.fh.handle_bytes);
	memcpy(id, handle.fh.f_handle, sizeof(*id));
	return 0;
}

int sl_pathf(char *buf, size_t len, struct sl_err *err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		return sl_errf(err, "path too long: %.64s...", buf);
	return 0;
}

int64_t sl_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t sl_mono_ms(void)
{
	return sl_mono_ns() / 1000000;
}
