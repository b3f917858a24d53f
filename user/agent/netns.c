// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"
#include "netns.h"
#include "sys.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static struct sl_netns_pod *find_pod(struct sl_netns_watch *w, uint64_t ino)
{
	for (size_t i = 0; i < w->n_pods; i++)
		if (w->pods[i].ino == ino)
			return &w->pods[i];
	return NULL;
}

static struct sl_netns_pod *add_pod(struct sl_netns_watch *w, uint64_t ino)
{
	if (w->n_pods == w->cap_pods) {
		w->cap_pods = w->cap_pods ? w->cap_pods * 2 : 32;
		w->pods = realloc(w->pods, w->cap_pods * sizeof(*w->pods));
		if (!w->pods)
			abort();
	}
	memset(&w->pods[w->n_pods], 0, sizeof(w->pods[0]));
	w->pods[w->n_pods].ino = ino;
	return &w->pods[w->n_pods++];
}

static int pin_path(const struct sl_netns_watch *w, uint64_t ino, char *buf, size_t len,
		    struct sl_err *err)
{
	return sl_pathf(buf, len, err, "%s/%" PRIu64, w->pin_dir, ino);
}

/* A pinned link from an earlier agent: keep it if its namespace lives,
 * with this agent's program in it. */
static void adopt_pin(struct sl_netns_watch *w, const char *name)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	char path[4096];
	struct sl_err err;
	int fd;

	if (sl_pathf(path, sizeof(path), &err, "%s/%s", w->pin_dir, name))
		return;
	fd = bpf_obj_get(path);
	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len) || !info.netns.netns_ino ||
	    bpf_link_update(fd, w->prog_fd, NULL)) {
		if (fd >= 0)
			close(fd);
		unlink(path);
		return;
	}
	close(fd);
	add_pod(w, info.netns.netns_ino);
}

static int adopt_pins(struct sl_netns_watch *w)
{
	DIR *d = opendir(w->pin_dir);
	struct dirent *de;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			adopt_pin(w, de->d_name);
	closedir(d);
	return 0;
}

/* Watch a cgroup directory for new children and its population. */
static void watch_cgroup(struct sl_netns_watch *w, const char *dir)
{
	char events[4096];
	struct sl_err err;

	inotify_add_watch(w->inotify_fd, dir, IN_CREATE | IN_ONLYDIR | IN_DONT_FOLLOW);
	if (!sl_pathf(events, sizeof(events), &err, "%s/cgroup.events", dir))
		inotify_add_watch(w->inotify_fd, events, IN_MODIFY);
}

int sl_netns_init(struct sl_netns_watch *w, const char *bpffs, const char *cgroup,
		  int prog_fd, struct sl_maps *maps, struct sl_tc *tc, struct sl_err *err)
{
	struct stat st;

	memset(w, 0, sizeof(*w));
	w->prog_fd = prog_fd;
	w->maps = maps;
	w->tc = tc;
	w->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (w->self_fd < 0 || fstat(w->self_fd, &st) < 0)
		return sl_errf(err, "/proc/self/ns/net: %s", strerror(errno));
	w->self_ino = st.st_ino;
	snprintf(w->cgroup, sizeof(w->cgroup), "%s", cgroup);
	if (sl_pathf(w->pin_dir, sizeof(w->pin_dir), err, "%s/%s/netns", bpffs,
		     SL_PIN_LINKS_DIR) || sl_mkdir_p(w->pin_dir, 0700, err) < 0)
		return -1;
	w->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->inotify_fd < 0)
		return sl_errf(err, "inotify: %s", strerror(errno));
	adopt_pins(w);
	for (size_t i = 0; i < w->n_pods; i++)
		w->pods[i].policed = sl_tc_attached(tc, w->pods[i].ino);
	sl_info("adopted %zu pod network namespaces from the pins", w->n_pods);
	return 0;
}

static void take_addr(struct sl_netns_addr *a, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET && !a->has4) {
		const struct sockaddr_in *in = (const void *)sa;
		uint8_t first = (uint8_t)(ntohl(in->sin_addr.s_addr) >> 24);

		if (first == 127 || (ntohl(in->sin_addr.s_addr) >> 16) == 0xa9fe)
			return;
		a->addr4.a[0] = in->sin_addr.s_addr;
		a->has4 = 1;
	} else if (sa->sa_family == AF_INET6 && !a->has6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		    IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr))
			return;
		memcpy(a->addr6.a, &in6->sin6_addr, 16);
		a->has6 = 1;
	}
}

static bool has_limit(const struct sl_netns_watch *w, const struct sl_netns_addr *a)
{
	struct sl_workload_key key;
	struct sl_bw bw;

	memset(&key, 0, sizeof(key));
	key.family = SL_AF_INET;
	key.addr = a->addr4;
	if (a->has4 && !bpf_map_lookup_elem(w->maps->bw, &key, &bw))
		return true;
	key.family = SL_AF_INET6;
	key.addr = a->addr6;
	return a->has6 && !bpf_map_lookup_elem(w->maps->bw, &key, &bw);
}

/* Inside the pod's namespace: the policer follows the pod's limits. */
static void police(struct sl_netns_watch *w, struct sl_netns_pod *p)
{
	bool want = has_limit(w, &p->addrs);
	struct sl_err err;

	if (want && !p->policed) {
		if (sl_tc_attach_here(w->tc, p->ino, &err) < 0) {
			sl_error("%s", err.msg);
			sl_tc_detach(w->tc, p->ino);	/* all interfaces or none */
			return;
		}
		p->policed = true;
		sl_info("pod network namespace %" PRIu64 ": bandwidth policer attached",
			p->ino);
	} else if (!want && p->policed) {
		sl_tc_detach(w->tc, p->ino);
		p->policed = false;
		sl_info("pod network namespace %" PRIu64 ": bandwidth policer detached",
			p->ino);
	}
}

/* Inside the pod's namespace: its cookie and its first global addresses. */
static int learn(struct sl_netns_watch *w, int ns_fd, struct sl_netns_pod *p,
		 struct sl_err *err)
{
	struct ifaddrs *ifs = NULL;
	socklen_t len = sizeof(p->cookie);
	int s, ret = 0;

	if (setns(ns_fd, CLONE_NEWNET) < 0)
		return sl_errf(err, "entering netns %" PRIu64 ": %s", p->ino, strerror(errno));
	memset(&p->addrs, 0, sizeof(p->addrs));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_NETNS_COOKIE, &p->cookie, &len) < 0)
		ret = sl_errf(err, "netns cookie (Linux >= 5.14): %s", strerror(errno));
	if (s >= 0)
		close(s);
	if (!ret && getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next)
			if (i->ifa_addr)
				take_addr(&p->addrs, i->ifa_addr);
		freeifaddrs(ifs);
		police(w, p);
	}
	if (setns(w->self_fd, CLONE_NEWNET) < 0) {
		sl_error("returning to the agent's netns: %s", strerror(errno));
		abort();	/* the agent cannot go on in a pod's namespace */
	}
	return ret;
}

static int attach(struct sl_netns_watch *w, int ns_fd, uint64_t ino, struct sl_err *err)
{
	char path[4096];
	int fd;

	if (pin_path(w, ino, path, sizeof(path), err))
		return -1;
	fd = bpf_link_create(w->prog_fd, ns_fd, BPF_SK_LOOKUP, NULL);
	if (fd < 0)
		return sl_errf(err, "attaching sk_lookup to netns %" PRIu64 " (Linux >= "
			       "5.9): %s", ino, strerror(errno));
	if (bpf_obj_pin(fd, path)) {
		int e = errno;

		close(fd);
		return sl_errf(err, "pinning %s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* One process of the mesh: its namespace attached and learned. */
static void visit_pid(struct sl_netns_watch *w, const char *pid)
{
	struct sl_netns_pod *p;
	struct sl_err err;
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%s/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;		/* exited meanwhile */
	if (fstat(fd, &st) < 0 || st.st_ino == w->self_ino) {
		close(fd);
		return;
	}
	p = find_pod(w, st.st_ino);
	if (p && p->seen) {
		close(fd);
		return;
	}
	if (!p) {
		if (attach(w, fd, st.st_ino, &err) < 0) {
			sl_error("%s", err.msg);
			close(fd);
			return;
		}
		p = add_pod(w, st.st_ino);
		sl_info("pod network namespace %" PRIu64 " (pid %s): ingress policy attached",
			p->ino, pid);
	}
	p->seen = true;
	p->pid = atoi(pid);
	if (learn(w, fd, p, &err) < 0)
		sl_warn("%s", err.msg);
	else if (bpf_map_update_elem(w->maps->netns_addr, &p->cookie, &p->addrs, BPF_ANY))
		sl_warn("writing sluice_netns_addr: %s", strerror(errno));
	close(fd);
}

static void visit_cgroup(struct sl_netns_watch *w, const char *dir, int depth)
{
	char path[4096], line[32];
	struct sl_err err;
	struct dirent *de;
	FILE *f;
	DIR *d;

	watch_cgroup(w, dir);
	if (!sl_pathf(path, sizeof(path), &err, "%s/cgroup.procs", dir) &&
	    (f = fopen(path, "re"))) {
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = '\0';
			visit_pid(w, line);
		}
		fclose(f);
	}
	if (depth > 32 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && de->d_name[0] != '.' &&
		    !sl_pathf(path, sizeof(path), &err, "%s/%s", dir, de->d_name))
			visit_cgroup(w, path, depth + 1);
	closedir(d);
}

/* A namespace no process of the mesh lives in any more: detach. */
static void let_go(struct sl_netns_watch *w, struct sl_netns_pod *p)
{
	char path[4096];
	struct sl_err err;
	int fd;

	if (!pin_path(w, p->ino, path, sizeof(path), &err)) {
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
		}
		unlink(path);
	}
	if (p->cookie)
		bpf_map_delete_elem(w->maps->netns_addr, &p->cookie);
	sl_tc_detach(w->tc, p->ino);
	sl_info("pod network namespace %" PRIu64 " left the mesh", p->ino);
}

/* Cookies of namespaces that are gone (or were, before a restart). */
static void prune_cookies(struct sl_netns_watch *w)
{
	__u64 key, next, *prev = NULL;
	__u64 stale[64];
	size_t n = 0;

	while (n < 64 && !bpf_map_get_next_key(w->maps->netns_addr, prev, &next)) {
		bool live = false;

		for (size_t i = 0; i < w->n_pods && !live; i++)
			live = w->pods[i].cookie == next;
		if (!live)
			stale[n++] = next;
		key = next;
		prev = &key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(w->maps->netns_addr, &stale[i]);
}

int sl_netns_scan(struct sl_netns_watch *w, struct sl_err *err)
{
	size_t k = 0;

	(void)err;
	for (size_t i = 0; i < w->n_pods; i++)
		w->pods[i].seen = false;
	visit_cgroup(w, w->cgroup, 0);
	for (size_t i = 0; i < w->n_pods; i++) {
		if (w->pods[i].seen)
			w->pods[k++] = w->pods[i];
		else
			let_go(w, &w->pods[i]);
	}
	w->n_pods = k;
	prune_cookies(w);
	return 0;
}

bool sl_netns_drain(struct sl_netns_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;

	while (read(w->inotify_fd, buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

size_t sl_netns_each(struct sl_netns_watch *w, void (*fn)(void *arg), void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n_pods; i++) {
		char path[64];
		int fd;

		if (!w->pods[i].pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", w->pods[i].pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;	/* gone since the last scan */
		if (setns(fd, CLONE_NEWNET) == 0) {
			fn(arg);
			n++;
			if (setns(w->self_fd, CLONE_NEWNET) < 0) {
				sl_error("returning to the agent's netns: %s", strerror(errno));
				abort();
			}
		}
		close(fd);
	}
	return n;
}

void sl_netns_free(struct sl_netns_watch *w)
{
	if (w->inotify_fd > 0)
		close(w->inotify_fd);
	if (w->self_fd > 0)
		close(w->self_fd);
	free(w->pods);
	memset(w, 0, sizeof(*w));
}
