/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The local mesh pods, found without any per-pod configuration: every
 * network namespace that a process of the mesh cgroup subtree lives in.
 * For each, the agent
 *  - attaches the ingress authorization program at the namespace's socket
 *    lookup (a bpf link pinned under <bpffs>/links/netns/<inode>, so it
 *    outlives the agent and a restarted agent adopts it), and
 *  - records the namespace cookie with the pod's addresses in
 *    sluice_netns_addr, which egress decisions use to know the client.
 *  - attaches the bandwidth policer (tc.h) while one of the pod's
 *    addresses has a limit in sluice_bw, and detaches it after.
 * The agent's own namespace (the host's) is never attached.
 *
 * Scans run when a cgroup appears or its population changes (inotify) and
 * every second in any case.
 */
#ifndef SLUICE_NETNS_H
#define SLUICE_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "maps.h"
#include "tc.h"

struct sl_netns_pod {
	uint64_t ino;		/* of the network namespace */
	uint64_t cookie;	/* 0 until learned */
	int pid;		/* a process that lives in it (last scan) */
	struct sl_netns_addr addrs;
	bool seen;		/* in the current scan */
	bool policed;		/* the bandwidth policer is attached */
};

struct sl_netns_watch {
	char cgroup[4096];
	char pin_dir[4096];
	int prog_fd;		/* sk_lookup program */
	struct sl_maps *maps;
	struct sl_tc *tc;	/* the bandwidth policer's programs */
	uint64_t self_ino;
	int self_fd;		/* the agent's own netns, to return to */
	int inotify_fd;
	struct sl_netns_pod *pods;
	size_t n_pods, cap_pods;
};

int sl_netns_init(struct sl_netns_watch *w, const char *bpffs, const char *cgroup,
		  int prog_fd, struct sl_maps *maps, struct sl_tc *tc, struct sl_err *err);
/* Attaches new namespaces, refreshes addresses, lets go of vanished ones. */
int sl_netns_scan(struct sl_netns_watch *w, struct sl_err *err);
/* Reads pending inotify events; true if a scan is due. */
bool sl_netns_drain(struct sl_netns_watch *w);
/* Calls fn inside each known pod network namespace, then returns to the
 * agent's own; returns how many namespaces fn ran in. */
size_t sl_netns_each(struct sl_netns_watch *w, void (*fn)(void *arg), void *arg);
void sl_netns_free(struct sl_netns_watch *w);

#endif
