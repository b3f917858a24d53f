/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Localities as Istio writes them, "region/zone/subzone", and the rules
 * that compare them: an endpoint's priority seen from this node, and the
 * patterns of localityLbSetting.distribute, whose last part may be "*".
 */
#ifndef SLUICE_LOCALITY_H
#define SLUICE_LOCALITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sluice/abi.h>

/* Empty strings are unknown parts. A zone-only locality (an EndpointSlice
 * endpoint's zone) has zone_only set: its region is unknown, and taken to
 * be the node's when compared (see sl_locality_resolve). */
struct sl_locality {
	char region[SL_LOCALITY_LEN];
	char zone[SL_LOCALITY_LEN];
	char subzone[SL_LOCALITY_LEN];
	bool zone_only;
};

/* Locality priorities, best first, as Istio numbers them before it closes
 * the gaps: same region, zone and subzone; same region and zone; same
 * region; a region failover[].to names for the node's region; the rest
 * (only when failover names the node's region, else the rest is 3). */
#define SL_LOCALITY_PRIORITIES 5

/* "region[/zone[/subzone]]", every part non-empty, no "*": the node's
 * --locality. Returns NULL, or why it is not one. */
const char *sl_locality_parse(const char *s, struct sl_locality *out);
/* An endpoint's locality as written (ServiceEntry endpoint locality, split
 * like Istio's SplitLocalityLabel: anything past the second '/' is the
 * subzone), or an EndpointSlice zone when zone_only. Never fails. */
void sl_locality_split(const char *s, bool zone_only, struct sl_locality *out);
/* A zone-only locality takes the node's region: an EndpointSlice says
 * nothing of regions, and a Kubernetes cluster's zones lie in its region. */
void sl_locality_resolve(struct sl_locality *l, const struct sl_locality *node);
/* A distribute pattern: "region", "region/zone", "region/zone/subzone"
 * with at most one "*", standing alone as the last part (the whole
 * pattern, or after the last '/'). Returns NULL, or why it is not one. */
const char *sl_locality_check_pattern(const char *p);
/* Istio's LocalityMatch: the parts a pattern names equal the locality's,
 * "*" and missing parts match anything. */
bool sl_locality_match(const struct sl_locality *l, const char *pattern);
/* Istio's LbPriority: 0 same region, zone and subzone, 1 same region and
 * zone, 2 same region, 3 otherwise. */
unsigned int sl_locality_priority(const struct sl_locality *node,
				  const struct sl_locality *ep);
/* "region/zone/subzone" without the trailing empty parts. */
void sl_locality_format(const struct sl_locality *l, char *buf, size_t len);

#endif
