/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events from the kernel's ring buffer: each becomes a flow record for the
 * flow log (flowlog.h); policy events (denials, dry-run denials, audits),
 * limit refusals and ejections are also written to the agent's log with
 * the names of the policy and identities involved. At most SL_EVENTS_LOG_PER_SEC lines a second are
 * logged; the rest are counted and summarised, so a flood of denied
 * datagrams cannot drown the log.
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include <stdint.h>

#include "err.h"
#include "flowrec.h"
#include "maps.h"

#define SL_EVENTS_LOG_PER_SEC 100

struct ring_buffer;
struct sl_flowlog;

struct sl_events {
	struct ring_buffer *rb;
	struct sl_maps *maps;
	struct sl_flowlog *flows;
	int64_t window_start_ms;
	uint32_t logged_in_window;
	uint64_t suppressed;
};

int sl_events_open(struct sl_events *e, struct sl_maps *maps, struct sl_flowlog *flows,
		   struct sl_err *err);
int sl_events_fd(const struct sl_events *e);
void sl_events_drain(struct sl_events *e);
void sl_events_close(struct sl_events *e);

#endif
