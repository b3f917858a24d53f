/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The bandwidth policer's TC programs (bpf/tc.bpf.c) on the interfaces
 * inside a pod's network namespace, as tcx links (Linux >= 6.6) pinned
 * under <bpffs>/links/tc/<netns inode>-<ifindex>-<in|eg>: they outlive the
 * agent, a restarted agent adopts them, and they go with the pod's
 * interfaces. Only pods with a bandwidth limit get them.
 */
#ifndef SLUICE_TC_H
#define SLUICE_TC_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct sl_tc {
	char pin_dir[4096];
	int ingress_fd;		/* programs */
	int egress_fd;
};

/* Creates the pin directory and adopts earlier pins: links still attached
 * get this agent's programs, the others are removed. */
int sl_tc_init(struct sl_tc *t, const char *bpffs, int ingress_fd, int egress_fd,
	       struct sl_err *err);
/* Whether the namespace has links. */
bool sl_tc_attached(const struct sl_tc *t, uint64_t ino);
/* Inside the pod's namespace (the caller entered it): attach both
 * directions to every Ethernet interface but loopback. */
int sl_tc_attach_here(struct sl_tc *t, uint64_t ino, struct sl_err *err);
/* Detaches and unpins every link of the namespace. */
void sl_tc_detach(struct sl_tc *t, uint64_t ino);

#endif
