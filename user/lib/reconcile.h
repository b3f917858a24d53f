/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bringing the maps to the desired model with the fewest writes.
 *
 * Each frontend changes atomically: its new member and slot tables are
 * written under a fresh revision, then one update of the service entry
 * switches connections to them, then the old revision is deleted. Backends
 * are added before anything points at them and deleted after nothing does.
 * Capacity is checked before the first write, so a full map refuses the
 * whole update instead of applying half of it.
 */
#ifndef SLUICE_RECONCILE_H
#define SLUICE_RECONCILE_H

#include <stddef.h>

#include "err.h"
#include "model.h"
#include "state.h"

struct sl_reconcile_report {
	size_t fe_added;
	size_t fe_updated;
	size_t fe_removed;
	size_t fe_unchanged;
	size_t be_added;
	size_t be_removed;
	size_t be_updated;
};

/* On error the maps and st still agree (st mirrors whatever was done), and
 * the caller may reconcile back to the previous model. */
int sl_reconcile(struct sl_state *st, const struct sl_model *model,
		 struct sl_reconcile_report *report, struct sl_err *err);
/* The same, when st holds exactly what reconciling prev wrote: frontends
 * the same in both models are left alone without building their tables
 * again (at 10,000 services that is most of the work of a small change). */
int sl_reconcile_from(struct sl_state *st, const struct sl_model *model,
		      const struct sl_model *prev, struct sl_reconcile_report *report,
		      struct sl_err *err);
/* The same, marking in touched (indexed by service id, st->svc_ids.size
 * bytes) the ids of frontends written or removed, before and after: the
 * only ones whose (service, endpoint) pairs can have changed. */
int sl_reconcile_touched(struct sl_state *st, const struct sl_model *model,
			 const struct sl_model *prev, uint8_t *touched,
			 struct sl_reconcile_report *report, struct sl_err *err);
/* Brings only the frontends listed (fes[0..n), sorted by key, distinct keys)
 * to their content and leaves every other frontend in st as it is: a change
 * of a few services (one EndpointSlice) costs those services, not the
 * 10,000 others. A listed frontend not in st is added; none is removed.
 * touched and report as for sl_reconcile_touched(). Same guarantees: capacity
 * checked before the first write; on error st still mirrors the maps exactly. */
int sl_reconcile_partial(struct sl_state *st, const struct sl_frontend *fes, size_t n,
			 uint8_t *touched, struct sl_reconcile_report *report,
			 struct sl_err *err);

#endif
