/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Watching the configuration with inotify. A file is watched through its
 * directory, so that editors that write a new file and rename it over the
 * old one, and Kubernetes ConfigMap volumes that swap a symlink, are seen.
 */
#ifndef SLUICE_WATCH_H
#define SLUICE_WATCH_H

#include <stdbool.h>

#include "err.h"

struct sl_watch {
	int fd;
	int wd;
	char dir[4096];
};

int sl_watch_init(struct sl_watch *w, const char *config_path, struct sl_err *err);
/* Reads pending events; true if any may have changed the configuration.
 * Re-arms the watch if the directory was replaced. */
bool sl_watch_drain(struct sl_watch *w);
void sl_watch_close(struct sl_watch *w);

#endif
