/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one service an endpoint belongs to, for Istio's metrics: a
 * connection made to a pod address dialled no service (and the server's
 * side never sees the VIP), so its destination_service is the service
 * whose endpoints include that address and port. Answered from the
 * state's frontends and backends, with an index built for one scrape:
 * a kept table of every endpoint was a fourth copy of them (4.8 MB at
 * 100,000).
 */
#ifndef SLUICE_EP_SERVICE_H
#define SLUICE_EP_SERVICE_H

#include <stdint.h>

#include "addr.h"
#include "state.h"

struct sl_ep_services {
	const struct sl_state *st;
	/* By backend id: 1 + the index in st->fe of the one service naming
	 * it, 0 none, SL_EP_SEVERAL when services disagree. */
	uint32_t *fe_of;
	uint32_t n;
};

#define SL_EP_SEVERAL UINT32_MAX

/* One pass over the members of st's frontends; -1 when out of memory.
 * Valid while st is unchanged. */
int sl_ep_services_build(struct sl_ep_services *x, const struct sl_state *st);
void sl_ep_services_free(struct sl_ep_services *x);
/* The frontend of the one service the TCP endpoint (ip, port in network
 * order) belongs to; NULL when none or several. Frontends of one service
 * (its ports, its VIPs) are one service. */
const struct sl_applied_fe *sl_ep_service(const struct sl_ep_services *x,
					  const struct sl_ip *ip, uint16_t port);

#endif
