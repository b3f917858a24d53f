/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the BPF objects, adopting pinned maps and links left by a
 * previous agent, and attaching to the mesh cgroup.
 */
#ifndef SLUICE_LOADER_H
#define SLUICE_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "maps.h"

struct sluice_bpf;

struct sl_limits {
	uint32_t max_services;
	uint32_t max_backends;
	uint32_t max_slots;
	uint32_t max_revnat;
	uint32_t max_sockets;
	uint32_t max_workloads;		/* addresses and named CIDRs, per bank */
	uint32_t max_verdicts;		/* compiled policy verdicts, per bank */
	uint32_t max_traffic;		/* telemetry series (reporter, client,
					 * endpoint, service) */
};

struct sl_loader {
	struct sluice_bpf *skel;
	struct sl_maps maps;
	char bpffs[4096];
	char cgroup[4096];
	uint64_t cgroup_id;
	int bpffs_fd;		/* held with flock: one agent per pin dir */
};

/* Takes the instance lock, loads the programs reusing pinned maps, and
 * attaches them, replacing the programs of pinned links in place (so the
 * datapath never has a gap). */
int sl_loader_start(struct sl_loader *l, const char *bpffs, const char *cgroup,
		    const struct sl_limits *limits, bool redirect, bool telemetry,
		    bool flows, struct sl_err *err);
struct bpf_program;
/* A loaded program, by name; NULL if there is none. */
struct bpf_program *sl_loader_prog(const struct sl_loader *l, const char *name);
/* The fd of a loaded program, by name; -1 if there is none. */
int sl_loader_prog_fd(const struct sl_loader *l, const char *name);
/* Releases the agent's handles; pins keep maps and links alive. */
void sl_loader_stop(struct sl_loader *l);
/* Attaches every program its hook: in place of the pinned programs where
 * links are pinned. Without redirect, the same-node acceleration hooks are
 * detached instead. (attach.c) */
int sl_attach_all(struct sl_loader *l, bool redirect, struct sl_err *err);
/* Detaches and unpins everything under bpffs. (attach.c) */
int sl_uninstall(const char *bpffs, struct sl_err *err);

#endif
