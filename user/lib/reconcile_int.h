/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside the reconciler: the plan (reconcile.c) and its execution, the
 * map writes in their safe order (reconcile_exec.c).
 */
#ifndef SLUICE_RECONCILE_INT_H
#define SLUICE_RECONCILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "reconcile.h"
#include "state.h"

struct want_be {
	struct sl_applied_be be;	/* tuple, id, locality */
	long old;			/* index in st->be, or -1 */
	bool allocated;			/* new, and holds an id from the pool */
	bool written;			/* new and now in the map */
};

enum plan_op { OP_NOOP, OP_WRITE, OP_REMOVE };

enum { OLD_BE_UNWANTED, OLD_BE_WANTED, OLD_BE_DELETED };

struct fe_plan {
	enum plan_op op;
	const struct sl_frontend *want;	/* NULL for OP_REMOVE */
	long old;			/* index in st->fe, or -1 */
	bool done;
	struct sl_applied_fe next;	/* the result of OP_WRITE */
	uint32_t *slots;		/* backend id per slot */
};

struct run {
	struct sl_state *st;
	const struct sl_model *model;
	const struct sl_model *prev;	/* what st was reconciled to, or NULL */
	uint8_t *touched;		/* by service id, or NULL */
	size_t prev_at;			/* cursor into prev->fe */
	struct want_be *want;
	size_t n_want;
	struct fe_plan *plan;
	size_t n_plan;
	uint8_t *old_be;		/* OLD_BE_* per st->be entry */
	struct sl_reconcile_report *rep;
	struct sl_err *err;
};

/* Removals, new backends, frontends (tables first, then the switch),
 * then the backends nothing points at any more. */
int sl_rc_execute(struct run *r);
/* The frontends new in the plan, their tables, state, names and service
 * entries each in one batch (reconcile_new.c): at 10,000 services that is
 * a few dozen syscalls instead of 50,000. */
int sl_rc_write_new_fes(struct run *r);
void sl_rc_fill_svc(const struct sl_applied_fe *n, struct sl_svc *v);
void sl_rc_delete_tables(struct sl_state *st, uint32_t id, uint32_t rev,
			 uint32_t n_members, uint32_t n_slots);

#endif
