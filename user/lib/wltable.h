/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Workload labels by address, for Istio's standard metrics: the kernel
 * counts connections by address (sluice_traffic), Istio labels them by
 * workload, namespace, principal, app, version, canonical service and
 * destination service (that one from the state: ep_service.h). Built by
 * the applier from the configuration it applied; owns its memory, so it
 * outlives it.
 */
#ifndef SLUICE_WLTABLE_H
#define SLUICE_WLTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "arena.h"
#include "config.h"
#include "err.h"
#include "strtab.h"

/* Istio's cluster id when none is configured. */
#define SL_WL_CLUSTER "Kubernetes"
#define SL_WL_UNKNOWN "unknown"

/* Every field is set: "unknown" where the configuration says nothing. */
struct sl_wl_labels {
	const char *workload;
	const char *namespace;
	const char *principal;		/* spiffe://cluster.local/ns/NS/sa/SA */
	const char *app;
	const char *version;
	const char *canonical_service;
	const char *canonical_revision;
	const char *cluster;
};

/* 32 bytes: one per workload address, 20,000 pods at scale; the labels
 * are one set shared by every address of a workload. */
struct sl_wl_addr {
	struct sl_ip ip;
	uint32_t order;			/* of the document: the first wins */
	const struct sl_wl_labels *l;
};

struct sl_wltable {
	struct sl_arena arena;
	struct sl_wl_addr *addrs;	/* sorted by address */
	size_t n_addrs, cap_addrs;
	/* While building: every string once (a namespace, a principal, a
	 * label are shared by many pods), every set of labels once. */
	struct sl_pset strings, sets;
};

/* Pods, WorkloadEntries and ServiceEntry endpoints of cfg. The first
 * document naming an address wins. */
int sl_wltable_build(struct sl_wltable *t, const struct sl_config *cfg, struct sl_err *err);
void sl_wltable_free(struct sl_wltable *t);
/* Labels of an address; NULL when no workload has it. */
const struct sl_wl_labels *sl_wltable_addr(const struct sl_wltable *t, const struct sl_ip *ip);
/* Labels that are all "unknown". */
const struct sl_wl_labels *sl_wl_unknown(void);

/* Istio's workload name of a pod: its controller's, from the pod name
 * (ownerReferences are not decoded): "web-7d4b9c8f6-x2x9q" is "web". */
void sl_wl_pod_workload(const char *pod, const struct sl_label *labels, size_t n_labels,
			char *buf, size_t len);

#endif
