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
	const struct sl_frontend *fes;	/* partial: the frontends to bring */
	size_t n_fes;
	uint8_t *touched;		/* by service id, or NULL */
	size_t prev_at;			/* cursor into prev->fe */
	struct want_be *want;
	size_t n_want;
	struct fe_plan *plan;
	size_t n_plan;
	uint8_t *old_be;		/* OLD_BE_* per st->be entry */
	/* Partial only, by backend id: its index in st->be, -2 - its index
	 * in want when new, -1: none. */
	int32_t *be_at;
	uint32_t n_be_at;		/* ids below it are in be_at */
	struct sl_reconcile_report *rep;
	struct sl_err *err;
};

/* Plans with plan, checks capacity, executes and commits with commit;
 * frees what the run holds. */
int sl_rc_run(struct run *r, int (*plan)(struct run *r), int (*commit)(struct run *r));
void sl_rc_tuple_of(const struct sl_model_member *m, struct sl_backend *be);
/* Sorts want[0..n) by tuple and keeps one of each (n_want). */
void sl_rc_sort_wants(struct run *r, size_t n);
/* Checks that n_new more backends fit, then gives each new want an id. */
int sl_rc_alloc_new(struct run *r, size_t n_new);
/* Builds p->want's tables into p->next: OP_WRITE, or OP_NOOP when they
 * come out as st->fe[p->old] holds them. */
int sl_rc_plan_write(struct run *r, struct fe_plan *p);
void sl_rc_mark_touched(struct run *r, const struct fe_plan *p);
/* st->be without the backends deleted, with the new ones written. */
void sl_rc_commit_backends(struct run *r);

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
