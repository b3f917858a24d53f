/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The machine's facts: where cgroup v2 and bpffs are, cgroup ids. */
#ifndef SLUICE_SYS_H
#define SLUICE_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The first cgroup2 mount in /proc/mounts (hybrid layouts put it under
 * /sys/fs/cgroup/unified or elsewhere). */
/* CLOCK_MONOTONIC, bpf_ktime_get_ns()'s clock: what timeouts, latencies
 * and the kernel's timestamps are compared in. */
int64_t sl_mono_ns(void);
int64_t sl_mono_ms(void);

int sl_cgroup2_root(char *buf, size_t len, struct sl_err *err);
/* Ensures that path lies on a bpffs, mounting one at the longest existing
 * prefix under /sys/fs/bpf when none is mounted, and creates the
 * directory. */
int sl_bpffs_prepare(const char *path, struct sl_err *err);
/* Mounts tracefs at /sys/kernel/tracing unless one is mounted somewhere. */
int sl_tracefs_prepare(struct sl_err *err);
/* The kernel's id of a cgroup v2 directory (what bpf link info reports). */
int sl_cgroup_id(const char *path, uint64_t *id, struct sl_err *err);
/* Is path on a cgroup2 filesystem? */
int sl_is_cgroup2(const char *path, struct sl_err *err);
int sl_mkdir_p(const char *path, unsigned int mode, struct sl_err *err);



/* snprintf for paths: returns -1 (with a message) if the result would not
 * fit, instead of silently truncating a path. */
int sl_pathf(char *buf, size_t len, struct sl_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#endif
