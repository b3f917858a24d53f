// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apply.h"
#include "bandwidth.h"
#include "limit_src.h"
#include "config.h"
#include "log.h"
#include "reconcile.h"
#include "sys.h"

/* Fractions of a millisecond count in the stage timings. */
static double mono_ms(void)
{
	return (double)sl_mono_ns() / 1e6;
}

int sl_applier_init(struct sl_applier *a, struct sl_maps *maps,
		    const char *config_path, const char *cgroup_path,
		    uint64_t cgroup_id, const char *root_namespace,
		    const struct sl_locality *locality, struct sl_err *err)
{
	struct sl_status st;
	double t0 = mono_ms(), t1;

	memset(a, 0, sizeof(*a));
	a->maps = maps;
	a->locality = locality;
	a->root_namespace = root_namespace;
	a->config_path = config_path;
	a->cgroup_path = cgroup_path;
	a->cgroup_id = cgroup_id;
	sl_applier_set_source(a, NULL, NULL, NULL);
	if (sl_state_load(&a->state, maps, err) < 0)
		return -1;
	t1 = mono_ms();
	sl_info("adopted %zu frontends and %zu backends from the pinned maps in %.1f ms",
		a->state.n_fe, a->state.n_be, t1 - t0);
	if (sl_authz_state_load(&a->authz, maps, err) < 0)
		return -1;
	sl_info("adopted %zu policies and %zu identities; policy %s (%.1f ms)",
		a->authz.policies.n, a->authz.identities.n,
		a->authz.in_force ? "in force" : "not configured", mono_ms() - t1);
	if (sl_status_read(maps, &st, err) < 0)
		return -1;
	st.agent_pid = (uint32_t)getpid();
	st.cgroup_id = cgroup_id;
	snprintf(st.cgroup_path, sizeof(st.cgroup_path), "%s", cgroup_path);
	snprintf(st.config_path, sizeof(st.config_path), "%s", config_path);
	/* Published for the CLI: a restart with another locality changes it. */
	if (locality)
		sl_locality_format(locality, st.locality, sizeof(st.locality));
	else
		st.locality[0] = '\0';
	return sl_status_write(maps, &st, err);
}

void sl_applier_set_locality(struct sl_applier *a, const struct sl_locality *locality)
{
	struct sl_status st;
	struct sl_err err;

	if (a->locality == locality)
		return;
	a->locality = locality;
	if (sl_status_read(a->maps, &st, &err) < 0)
		return;
	if (locality)
		sl_locality_format(locality, st.locality, sizeof(st.locality));
	else
		st.locality[0] = '\0';
	sl_status_write(a->maps, &st, &err);
}

static int load_files(void *arg, struct sl_config *cfg, struct sl_err *err)
{
	const struct sl_applier *a = arg;

	return sl_config_load(a->config_path, cfg, err);
}

void sl_applier_set_source(struct sl_applier *a, sl_config_source_fn fn,
			   sl_config_exclude_fn exclude, void *arg)
{
	a->source = fn ? fn : load_files;
	a->exclude = fn ? exclude : NULL;
	a->source_arg = fn ? arg : a;
}

/* Errors across objects (two claims of one VIP:port, a route to a host
 * that does not exist) name the object at fault first. From a source
 * whose unit is the object, that object is left out and the rest built
 * again: one team's VirtualService must not hold back every other change
 * of the cluster. */
#define MAX_EXCLUDED 32

static int build_model(struct sl_applier *a, struct sl_config *cfg, struct sl_model *model,
		       struct sl_err *err)
{
	for (int i = 0;; i++) {
		if (sl_model_build_at(cfg, a->locality, model, err) == 0)
			return 0;
		if (!a->exclude || i == MAX_EXCLUDED || !a->exclude(a->source_arg, err->msg))
			return -1;
		sl_error("%s; that object is left out, the rest applied", err->msg);
		sl_config_free(cfg);
		if (a->source(a->source_arg, cfg, err) < 0)
			return -1;
	}
}

/* As many whole warnings as fit, one per line, so that `sluicectl status`
 * names the fields even when the agent's log is not at hand. */
static void join_warnings(const struct sl_warnings *w, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < w->n; i++) {
		size_t need = strlen(w->msgs[i]) + 1;

		if (off + need + 32 >= len) {
			snprintf(buf + off, len - off, "... and %zu more", w->n - i);
			return;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s\n", w->msgs[i]);
	}
}

/* Returns the generation in force afterwards. */
static uint64_t record(struct sl_applier *a, uint32_t result, const char *error,
		       uint64_t digest, const struct sl_warnings *warnings)
{
	struct sl_status st;
	struct sl_err err;
	uint64_t now = (uint64_t)time(NULL);

	if (sl_status_read(a->maps, &st, &err) < 0) {
		sl_error("%s", err.msg);
		return 0;
	}
	st.attempted_at = now;
	st.result = result;
	st.agent_pid = (uint32_t)getpid();
	snprintf(st.error, sizeof(st.error), "%s", error);
	st.n_services = (uint32_t)a->state.n_fe;
	st.n_backends = (uint32_t)a->state.n_be;
	if (result == SL_RESULT_APPLIED) {
		if (digest != st.config_digest || st.generation == 0)
			st.generation++;
		st.config_digest = digest;
		st.applied_at = now;
		/* An apply by parts changes no warning: they stay. */
		if (warnings) {
			st.n_warnings = (uint32_t)warnings->n;
			join_warnings(warnings, st.warnings, sizeof(st.warnings));
		}
	}
	if (sl_status_write(a->maps, &st, &err) < 0)
		sl_error("%s", err.msg);
	return st.generation;
}

static void reject(struct sl_applier *a, const char *msg)
{
	sl_error("configuration rejected, previous state stays in force: %s", msg);
	record(a, SL_RESULT_REJECTED, msg, 0, NULL);
	a->whole_next = true;
}

/* What the agent holds between applies (the configuration is freed by
 * now): at 100,000 endpoints memory is a budget too. Freed memory goes
 * back to the system first, so that RSS says the same. */
static double trim_heap_mb(void)
{
	struct mallinfo2 mi;

	malloc_trim(0);
	mi = mallinfo2();
	return (double)(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

/* Milliseconds spent in each stage of one apply, for the log: what the
 * agent does at scale must be visible without a profiler. */
struct stage_ms {
	double load, model, reconcile, finish;
	double heap_mb;			/* held afterwards */
};

static void log_report(const struct sl_reconcile_report *r,
		       const struct sl_authz_report *z, const struct stage_ms *t,
		       uint64_t generation)
{
	sl_info("configuration applied (generation %llu): frontends +%zu ~%zu -%zu "
		"=%zu, backends +%zu ~%zu -%zu; %zu policies, %zu identities, "
		"%zu workloads compiled into %zu classes, %zu destination sets, "
		"%zu verdicts (compiled in %.1f ms, written in %.1f ms: %zu names, %zu bank "
		"entries%s); stages: "
		"load %.1f ms, model %.1f ms, services %.1f ms, commit %.1f ms; "
		"heap in use %.1f MB",
		(unsigned long long)generation, r->fe_added, r->fe_updated,
		r->fe_removed, r->fe_unchanged, r->be_added, r->be_updated,
		r->be_removed, z->policies, z->identities, z->workloads, z->classes,
		z->sets, z->entries, z->compile_ms, z->write_ms, z->names_written,
		z->bank_changes, z->unchanged ? ", tables unchanged" : "", t->load, t->model,
		t->reconcile, t->finish, t->heap_mb);
}

/* Compiles authorization and writes it into the bank not in force; the
 * switch to it comes after the services are reconciled. */
static int prepare_authz(struct sl_applier *a, const struct sl_config *cfg,
			 struct sl_authz_report *rep, struct sl_err *err)
{
	double t0 = mono_ms(), t1;
	struct sl_authz az;
	int ret;

	if (sl_authz_build(cfg, a->root_namespace, &az, err) < 0)
		return -1;
	t1 = mono_ms();
	ret = sl_authz_prepare(&a->authz, &az, rep, err);
	rep->compile_ms = t1 - t0;
	rep->write_ms = mono_ms() - t1;
	sl_authz_free(&az);
	return ret;
}

/* A write failed half-way: go back to what was in force before. */
static void roll_back(struct sl_applier *a)
{
	struct sl_reconcile_report rep;
	struct sl_err err;

	if (!a->have_applied) {
		sl_error("no earlier configuration to return to; the maps hold a "
			 "partial update until the next successful one");
		return;
	}
	if (sl_reconcile(&a->state, &a->applied, &rep, &err) < 0 ||
	    sl_bw_reconcile(a->maps, &a->applied, &err) < 0 ||
	    sl_limit_src_reconcile(a->maps, &a->state, &a->applied, &err) < 0) {
		sl_error("rolling back failed too: %s", err.msg);
		return;
	}
	a->in_sync = true;
	sl_info("rolled back to the previous configuration");
}

/* The metrics' labels follow the configuration in force; a table that
 * cannot be built keeps the previous one (labels lag, traffic flows). */
static void set_workloads(struct sl_applier *a, const struct sl_config *cfg)
{
	struct sl_wltable t;
	struct sl_err err;

	if (sl_wltable_build(&t, cfg, &err) < 0) {
		sl_error("workload labels for the metrics: %s", err.msg);
		return;
	}
	sl_wltable_free(&a->workloads);
	a->workloads = t;
}

/* The (endpoint, service) pairs of every frontend before a whole
 * reconcile: the state, which the reconcile rewrites, is the maps' only
 * record of what a frontend held (an apply by parts reads the model in
 * force instead: sl_reset_pairs_was). */
static void pairs_before(struct sl_applier *a, struct sl_pairs *before)
{
	memset(before, 0, sizeof(*before));
	if (a->resetter)
		sl_reset_pairs(&a->state, NULL, before);
}

/* Services, bandwidth limits and source limits brought to the model;
 * touched marks the frontends written or removed. */
static int reconcile_all(struct sl_applier *a, const struct sl_model *model,
			 uint8_t *touched, struct sl_reconcile_report *rep, struct sl_err *err)
{
	if (sl_reconcile_touched(&a->state, model, a->in_sync ? &a->applied : NULL, touched,
				 rep, err) < 0 ||
	    sl_bw_reconcile(a->maps, model, err) < 0 ||
	    sl_limit_src_reconcile(a->maps, &a->state, model, err) < 0)
		return -1;
	return 0;
}

/* Connections to endpoints that left their services are reset; only the
 * frontends touched can have lost any, so only their pairs are compared
 * (before, taken by pairs_before, is left with those).
 * After an apply by parts they wait (SL_RESET_DELAY_MS) with the others
 * of a churn, for one walk of every pod's sockets; a whole apply resets
 * at once, with whatever waited. */
static void reset_removed(struct sl_applier *a, struct sl_pairs *before, const uint8_t *touched,
			  bool wait)
{
	struct sl_pairs now;

	if (!a->resetter)
		return;
	sl_pairs_keep(before, touched, a->state.svc_ids.size);
	sl_reset_pairs(&a->state, touched, &now);
	sl_pairs_add_removed(&a->doomed, before, &now);
	sl_pairs_free(&now);
	if (a->doomed.n && !a->doomed_since_ms)
		a->doomed_since_ms = sl_mono_ms();
	if (!wait)
		sl_applier_resets(a, true);
}

int64_t sl_applier_resets(struct sl_applier *a, bool force)
{
	if (!a->doomed_since_ms)
		return -1;
	if (!force && sl_mono_ms() < a->doomed_since_ms + SL_RESET_DELAY_MS)
		return a->doomed_since_ms + SL_RESET_DELAY_MS;
	/* Those back in a service meanwhile keep their connections. */
	sl_reset_removed(a->resetter, &a->doomed, &a->state);
	sl_pairs_free(&a->doomed);
	a->doomed_since_ms = 0;
	return -1;
}

/* The datapath's maps hold the change now: how long since its first
 * event arrived. What follows (resets of removed endpoints' connections,
 * the metrics' labels, the status) is not on its way there. */
static void maps_hold_change(struct sl_applier *a)
{
	a->last_change_ms = a->changed_at_ns ?
			    (double)(sl_mono_ns() - a->changed_at_ns) / 1e6 : -1;
}

static void log_change(struct sl_applier *a, uint64_t generation)
{
	if (a->changed_at_ns)
		sl_info("configuration generation %llu in the maps %.2f ms after its first "
			"change arrived", (unsigned long long)generation, a->last_change_ms);
	a->changed_at_ns = 0;
}

/* A write to the services' maps failed half-way: back to the model in
 * force, the attempt rejected. */
static void write_failed(struct sl_applier *a, const char *msg)
{
	/* What the pairs waiting became is unknown now: none is reset
	 * rather than one that came back. */
	sl_pairs_free(&a->doomed);
	a->doomed_since_ms = 0;
	a->in_sync = false;
	roll_back(a);
	reject(a, msg);
}

/* --check-delta, for names: the map holds what compiling the whole
 * authorization would write. */
static void check_names(struct sl_applier *a, const struct sl_config *cfg)
{
	struct sl_authz az;
	struct sl_err err;
	size_t differ;

	if (sl_authz_build(cfg, a->root_namespace, &az, &err) < 0) {
		sl_error("--check-delta: %s", err.msg);
		return;
	}
	if (sl_authz_names_differ(&a->authz, &az, &differ, &err) < 0) {
		sl_error("--check-delta: %s", err.msg);
	} else if (differ) {
		sl_error("--check-delta: %zu workload names differ from a whole build; "
			 "the next apply is whole", differ);
		a->whole_next = true;
	}
	sl_authz_free(&az);
}

/* --check-delta: the whole model built beside the one patched by parts;
 * a difference is a bug, logged, and repaired by the next apply, whole. */
static void check_whole(struct sl_applier *a)
{
	struct sl_config cfg;
	struct sl_model whole;
	struct sl_err err;
	char where[256];

	if (a->source(a->source_arg, &cfg, &err) < 0) {
		sl_error("--check-delta: %s", err.msg);
		return;
	}
	if (sl_model_build_at(&cfg, a->locality, &whole, &err) < 0) {
		sl_error("--check-delta: %s", err.msg);
	} else {
		if (!sl_model_same(&a->applied, &whole, where, sizeof(where))) {
			sl_error("--check-delta: the apply by parts differs from a whole "
				 "build at %s; the next apply is whole", where);
			a->whole_next = true;
		}
		sl_model_free(&whole);
	}
	check_names(a, &cfg);
	sl_config_free(&cfg);
}

/* --check-delta: the next apply by parts takes the pairs it replaces
 * from the model in force (sl_reset_pairs_was); they must be the
 * state's. */
static void check_pairs(struct sl_applier *a, const uint8_t *touched)
{
	struct sl_pairs of_state, of_model;

	if (!a->resetter)
		return;
	sl_reset_pairs(&a->state, touched, &of_state);
	sl_reset_pairs_was(&a->state, touched, &a->applied, &of_model);
	if (of_state.n != of_model.n ||
	    (of_state.n && memcmp(of_state.v, of_model.v, of_state.n * sizeof(*of_state.v)))) {
		sl_error("--check-delta: the model in force holds %zu (service, endpoint) "
			 "pairs of the frontends written, the state %zu, not the same; the "
			 "next apply is whole", of_model.n, of_state.n);
		a->whole_next = true;
	}
	sl_pairs_free(&of_state);
	sl_pairs_free(&of_model);
}

/* Services whose EndpointSlices alone changed: their frontends built
 * again and written, nothing else walked (authorization reads pods, not
 * these endpoints: kube_delta.c). 1: applied, 0: unchanged, -1: rejected,
 * 2: only a whole apply is exact. */
static int run_delta(struct sl_applier *a, const struct sl_delta *d)
{
	const struct sl_config *part = &d->part;
	struct sl_reconcile_report rep;
	struct sl_status prev;
	struct sl_model delta;
	struct sl_pairs before;
	struct sl_err err;
	uint64_t generation;
	uint8_t *touched;
	double t0 = mono_ms(), t_model, t_names;

	if (sl_status_read(a->maps, &prev, &err) < 0) {
		reject(a, err.msg);
		return -1;
	}
	if (prev.result == SL_RESULT_APPLIED && prev.config_digest == part->digest)
		return 0;
	if (!sl_model_delta(&a->applied, part, a->locality, &delta))
		return 2;
	t_model = mono_ms() - t0;
	t0 = mono_ms();
	/* Names first: a new endpoint's first connection is named. */
	if (sl_authz_set_names(&a->authz, d->names, d->n_names, &err) < 0) {
		sl_model_free(&delta);
		reject(a, err.msg);
		return -1;
	}
	t_names = mono_ms() - t0;
	t0 = mono_ms();
	touched = sl_xcalloc(a->state.svc_ids.size + 1, 1);
	if (sl_reconcile_partial(&a->state, delta.fe, delta.n_fe, touched, &rep, &err) < 0) {
		free(touched);
		sl_model_free(&delta);
		write_failed(a, err.msg);
		return -1;
	}
	maps_hold_change(a);
	/* The model in force is still the one before (patched below). */
	memset(&before, 0, sizeof(before));
	if (a->resetter)
		sl_reset_pairs_was(&a->state, touched, &a->applied, &before);
	reset_removed(a, &before, touched, true);
	sl_pairs_free(&before);
	sl_model_patch(&a->applied, &delta);
	sl_model_free(&delta);
	if (a->check_delta)
		check_pairs(a, touched);
	free(touched);
	a->last_by_parts = true;
	a->n_by_parts++;
	generation = record(a, SL_RESULT_APPLIED, "", part->digest, NULL);
	sl_info("configuration generation %llu applied by parts (%zu services, %zu names): "
		"frontends ~%zu =%zu, backends +%zu ~%zu -%zu; model %.2f ms, names %.2f ms, "
		"services %.2f ms", (unsigned long long)generation, part->n_services,
		d->n_names, rep.fe_updated, rep.fe_unchanged, rep.be_added, rep.be_updated,
		rep.be_removed, t_model, t_names, mono_ms() - t0);
	log_change(a, generation);
	if (a->check_delta)
		check_whole(a);
	return 1;
}

/* The source's part of the configuration when only some Services
 * changed; 2 when it has none or only a whole apply is exact. */
static int try_delta(struct sl_applier *a)
{
	struct sl_delta d;
	int ret;

	if (!a->delta || !a->have_applied || !a->in_sync || a->whole_next ||
	    a->delta(a->source_arg, &d) <= 0)
		return 2;
	ret = run_delta(a, &d);
	sl_config_free(&d.part);
	free(d.names);
	return ret;
}

/* 1: applied, 0: unchanged, -1: rejected. */
static int run(struct sl_applier *a, bool force)
{
	struct sl_authz_report zrep;
	struct sl_reconcile_report rep;
	struct sl_status prev;
	struct sl_config cfg;
	struct sl_model model;
	struct sl_pairs before;
	struct stage_ms t;
	struct sl_err err;
	uint64_t generation;
	uint8_t *touched;
	double t0 = mono_ms();
	int ret = force ? 2 : try_delta(a);

	if (ret != 2)
		return ret;
	if (a->source(a->source_arg, &cfg, &err) < 0) {
		reject(a, err.msg);
		return -1;
	}
	if (sl_status_read(a->maps, &prev, &err) < 0) {
		sl_config_free(&cfg);
		reject(a, err.msg);
		return -1;
	}
	if (!force && prev.result == SL_RESULT_APPLIED && prev.config_digest == cfg.digest) {
		sl_debug("configuration unchanged");
		sl_config_free(&cfg);
		return 0;
	}
	for (size_t i = 0; i < cfg.warnings.n; i++)
		sl_warn("%s", cfg.warnings.msgs[i]);
	t.load = mono_ms() - t0;
	t0 = mono_ms();
	if (build_model(a, &cfg, &model, &err) < 0) {
		sl_config_free(&cfg);
		reject(a, err.msg);
		return -1;
	}
	if (sl_bw_check(a->maps, &model, &err) < 0 ||
	    sl_limit_src_check(a->maps, &model, &err) < 0 ||
	    prepare_authz(a, &cfg, &zrep, &err) < 0) {
		sl_model_free(&model);
		sl_config_free(&cfg);
		reject(a, err.msg);
		return -1;
	}
	t.model = mono_ms() - t0 - zrep.compile_ms - zrep.write_ms;
	t0 = mono_ms();
	touched = calloc(a->state.svc_ids.size + 1, 1);
	if (!touched)
		abort();
	pairs_before(a, &before);
	if (reconcile_all(a, &model, touched, &rep, &err) < 0) {
		sl_pairs_free(&before);
		free(touched);
		sl_authz_abort(&a->authz);
		sl_model_free(&model);
		sl_config_free(&cfg);
		write_failed(a, err.msg);
		return -1;
	}
	t.reconcile = mono_ms() - t0;
	t0 = mono_ms();
	if (sl_authz_commit(&a->authz, &err) < 0)
		sl_error("switching to the new policy tables: %s", err.msg);
	maps_hold_change(a);
	reset_removed(a, &before, touched, false);
	sl_pairs_free(&before);
	free(touched);
	set_workloads(a, &cfg);
	if (a->have_applied)
		sl_model_free(&a->applied);
	a->applied = model;
	a->have_applied = true;
	a->in_sync = true;
	a->whole_next = false;
	a->last_by_parts = false;
	t.finish = mono_ms() - t0;
	generation = record(a, SL_RESULT_APPLIED, "", cfg.digest, &cfg.warnings);
	log_change(a, generation);
	sl_config_free(&cfg);
	t.heap_mb = trim_heap_mb();
	log_report(&rep, &zrep, &t, generation);
	return 1;
}

int sl_applier_run(struct sl_applier *a, bool force)
{
	double t0 = mono_ms();
	int ret = run(a, force);

	/* A read that found the files unchanged is not a reconcile: it
	 * would hide how long the last real one took. */
	if (ret)
		a->last_run_s = (mono_ms() - t0) / 1e3;
	if (ret > 0)
		a->n_applied++;
	else if (ret < 0)
		a->n_rejected++;
	return ret < 0 ? -1 : 0;
}

void sl_applier_stop(struct sl_applier *a)
{
	struct sl_status st;
	struct sl_err err;

	sl_applier_resets(a, true);
	if (sl_status_read(a->maps, &st, &err) < 0)
		return;
	st.agent_pid = 0;
	sl_status_write(a->maps, &st, &err);
}

void sl_applier_free(struct sl_applier *a)
{
	if (a->have_applied)
		sl_model_free(&a->applied);
	sl_state_free(&a->state);
	sl_pairs_free(&a->doomed);
	sl_authz_state_free(&a->authz);
	sl_wltable_free(&a->workloads);
}
