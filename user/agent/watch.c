// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "watch.h"

#define WATCH_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | \
		      IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

static int arm(struct sl_watch *w)
{
	w->wd = inotify_add_watch(w->fd, w->dir, WATCH_EVENTS);
	return w->wd < 0 ? -1 : 0;
}

int sl_watch_init(struct sl_watch *w, const char *config_path, struct sl_err *err)
{
	struct stat st;
	char copy[4096];

	w->wd = -1;
	snprintf(copy, sizeof(copy), "%s", config_path);
	if (stat(config_path, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(w->dir, sizeof(w->dir), "%s", config_path);
	else
		snprintf(w->dir, sizeof(w->dir), "%s", dirname(copy));
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0)
		return sl_errf(err, "inotify: %s", strerror(errno));
	if (arm(w) < 0) {
		int e = errno;

		close(w->fd);
		w->fd = -1;
		return sl_errf(err, "watching %s: %s", w->dir, strerror(e));
	}
	return 0;
}

bool sl_watch_drain(struct sl_watch *w)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false, lost = false;
	ssize_t n;

	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			changed = true;
			if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
				lost = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (lost || w->wd < 0) {
		if (w->wd >= 0)
			inotify_rm_watch(w->fd, w->wd);
		if (arm(w) < 0)
			sl_warn("watching %s: %s; retrying", w->dir, strerror(errno));
		changed = true;
	}
	return changed;
}

void sl_watch_close(struct sl_watch *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
