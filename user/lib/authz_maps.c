// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "authz_maps.h"
#include "bank.h"
#include "log.h"

/* ---- stable ids by name ---- */

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct sl_named_id *)a)->name,
		      ((const struct sl_named_id *)b)->name);
}

static struct sl_named_id *ids_find(struct sl_authz_ids *ids, const char *name)
{
	struct sl_named_id key = { .name = (char *)name };

	return ids->n ? bsearch(&key, ids->v, ids->n, sizeof(key), cmp_named) : NULL;
}

static void ids_insert(struct sl_authz_ids *ids, const char *name, uint32_t id)
{
	size_t at = 0;

	if (ids->n == ids->cap) {
		ids->cap = ids->cap ? ids->cap * 2 : 64;
		ids->v = realloc(ids->v, ids->cap * sizeof(*ids->v));
		if (!ids->v)
			abort();
	}
	while (at < ids->n && strcmp(ids->v[at].name, name) < 0)
		at++;
	memmove(&ids->v[at + 1], &ids->v[at], (ids->n - at) * sizeof(*ids->v));
	ids->v[at] = (struct sl_named_id){ strdup(name), id, false };
	if (!ids->v[at].name)
		abort();
	ids->n++;
	sl_id_mark(&ids->pool, id);
}

/* The id of name, allocated if new (*fresh set); 0 when none is left. */
static uint32_t ids_get(struct sl_authz_ids *ids, const char *name, bool *fresh)
{
	struct sl_named_id *hit = ids_find(ids, name);
	int64_t id;

	*fresh = false;
	if (!hit) {
		id = sl_id_alloc(&ids->pool);
		if (id <= 0)
			return 0;
		ids_insert(ids, name, (uint32_t)id);
		hit = ids_find(ids, name);
		*fresh = true;
	}
	hit->live = true;
	return hit->id;
}

static void ids_free(struct sl_authz_ids *ids)
{
	for (size_t i = 0; i < ids->n; i++)
		free(ids->v[i].name);
	free(ids->v);
	free(ids->pool.used);
	memset(ids, 0, sizeof(*ids));
}

/* ---- map walks ---- */

/* Calls fn for every key of a map; keys are collected first, so fn may
 * delete. */
static int walk_keys(int fd, size_t key_size, void (*fn)(int fd, const void *key, void *arg),
		     void *arg, struct sl_err *err)
{
	size_t n = 0, cap = 256;
	char *keys = malloc(cap * key_size), *prev = NULL;

	if (!keys)
		abort();
	for (;;) {
		if (n == cap) {
			cap *= 2;
			keys = realloc(keys, cap * key_size);
			if (!keys)
				abort();
			prev = n ? keys + (n - 1) * key_size : NULL;
		}
		if (bpf_map_get_next_key(fd, prev, keys + n * key_size)) {
			if (errno == ENOENT)
				break;
			free(keys);
			return sl_errf(err, "walking a map: %s", strerror(errno));
		}
		prev = keys + n * key_size;
		n++;
	}
	for (size_t i = 0; i < n; i++)
		fn(fd, keys + i * key_size, arg);
	free(keys);
	return 0;
}

static void adopt_policy(int fd, const void *key, void *arg)
{
	struct sl_authz_ids *ids = arg;
	struct sl_policy_info info;
	char name[SL_NAMESPACE_LEN + SL_NAME_LEN + 2];

	if (bpf_map_lookup_elem(fd, key, &info))
		return;
	snprintf(name, sizeof(name), "%s/%s", info.namespace, info.name);
	ids_insert(ids, name, *(const uint32_t *)key);
}

static void adopt_identity(int fd, const void *key, void *arg)
{
	struct sl_authz_ids *ids = arg;
	struct sl_identity_info info;
	char name[SL_NAMESPACE_LEN + SL_SA_LEN + 2];

	if (bpf_map_lookup_elem(fd, key, &info))
		return;
	snprintf(name, sizeof(name), "%s/%s", info.namespace, info.service_account);
	ids_insert(ids, name, *(const uint32_t *)key);
}

static int read_settings(struct sl_maps *m, struct sl_settings *s, struct sl_err *err)
{
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->settings, &zero, s))
		return sl_errf(err, "reading sluice_settings: %s", strerror(errno));
	return 0;
}

static int banks_init(struct sl_authz_state *st, struct sl_err *err)
{
	struct sl_maps *m = st->maps;
	uint32_t max[SL_BANKED_MAPS];

	if (sl_map_max_entries(m->ipcache, &max[0], err) < 0 ||
	    sl_map_max_entries(m->policy, &max[1], err) < 0 ||
	    sl_map_max_entries(m->policy_set, &max[2], err) < 0)
		return -1;
	/* Batches also for the LPM trie (generic ones, Linux >= 5.6 has
	 * them); bank.c writes one by one where the kernel has none. */
	sl_bank_map_init(&st->banks[0], "sluice_ipcache", "--max-workloads", m->ipcache,
			 max[0], sizeof(struct sl_ipcache_key), sizeof(struct sl_ipcache),
			 offsetof(struct sl_ipcache_key, bank), 1, true);
	sl_bank_map_init(&st->banks[1], "sluice_policy", "--max-verdicts", m->policy, max[1],
			 sizeof(struct sl_policy_key), sizeof(struct sl_policy_verdict),
			 offsetof(struct sl_policy_key, bank), 1, true);
	sl_bank_map_init(&st->banks[2], "sluice_policy_set",
			 "one per set of policies selecting a workload", m->policy_set, max[2],
			 sizeof(struct sl_policy_set_key), sizeof(struct sl_policy_verdict),
			 offsetof(struct sl_policy_set_key, bank), 4, true);
	return 0;
}

int sl_authz_state_load(struct sl_authz_state *st, struct sl_maps *maps,
			struct sl_err *err)
{
	struct sl_settings s;

	memset(st, 0, sizeof(*st));
	st->maps = maps;
	if (read_settings(maps, &s, err) < 0)
		return -1;
	st->in_force = s.policy;
	if (sl_id_pool_init(&st->policies.pool, SL_DEFAULT_MAX_POLICIES) < 0 ||
	    sl_id_pool_init(&st->identities.pool, SL_DEFAULT_MAX_IDENTITIES) < 0)
		return sl_errf(err, "out of memory");
	sl_id_mark(&st->policies.pool, 0);
	sl_id_mark(&st->identities.pool, 0);
	if (walk_keys(maps->policy_info, sizeof(__u32), adopt_policy, &st->policies, err) < 0 ||
	    walk_keys(maps->identity_info, sizeof(__u32), adopt_identity,
		      &st->identities, err) < 0 ||
	    sl_map_max_entries(maps->workload_info, &st->max_wl, err) < 0 ||
	    sl_wl_load(maps->workload_info, &st->wl, err) < 0 || banks_init(st, err) < 0)
		return -1;
	for (int i = 0; i < SL_BANKED_MAPS; i++) {
		/* The bank not in force is kept as it is, also when an agent
		 * stopped half-way through writing it: the mirror says what
		 * it holds, and the next change is written over it. */
		if (sl_bank_load(&st->banks[i], err) < 0)
			return -1;
		/* With no policy in force the banks are garbage of another run. */
		if (!st->in_force)
			sl_bank_clear(&st->banks[i], -1);
	}
	return 0;
}

void sl_authz_state_free(struct sl_authz_state *st)
{
	ids_free(&st->policies);
	ids_free(&st->identities);
	free(st->policy_id);
	free(st->policy_fresh);
	free(st->identity_id);
	sl_wl_set_free(&st->wl);
	sl_wl_want_free(&st->wl_want);
	for (int i = 0; i < SL_BANKED_MAPS; i++)
		sl_bank_map_free(&st->banks[i]);
	memset(st, 0, sizeof(*st));
}

/* ---- prepare and commit ---- */

static uint32_t map_id(const uint32_t *ids, uint32_t index_plus1)
{
	return index_plus1 ? ids[index_plus1 - 1] : 0;
}

static void to_verdict(const struct sl_authz_state *st, const struct sl_authz_decision *d,
		       struct sl_policy_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->verdict = d->verdict;
	v->shadow = d->shadow;
	v->audit = d->audit;
	v->policy = map_id(st->policy_id, d->policy);
	v->rule = d->rule;
	v->shadow_policy = map_id(st->policy_id, d->shadow_policy);
	v->shadow_rule = d->shadow_rule;
	v->audit_policy = map_id(st->policy_id, d->audit_policy);
	v->audit_rule = d->audit_rule;
}

/* Ids for the prepared state's policies and identities, in memory only:
 * the maps are written after every capacity check passed. */
static int assign_ids(struct sl_authz_state *st, const struct sl_authz *a,
		      struct sl_err *err)
{
	char name[SL_NAMESPACE_LEN + SL_SA_LEN + 2];

	for (size_t i = 0; i < st->policies.n; i++)
		st->policies.v[i].live = false;
	for (size_t i = 0; i < st->identities.n; i++)
		st->identities.v[i].live = false;
	for (size_t i = 0; i < a->n_policies; i++) {
		const struct sl_authz_policy *p = a->policies[i];
		bool fresh;

		snprintf(name, sizeof(name), "%s/%s", p->meta.namespace, p->meta.name);
		st->policy_id[i] = ids_get(&st->policies, name, &fresh);
		if (!st->policy_id[i])
			return sl_errf(err, "more than %u AuthorizationPolicies",
				       SL_DEFAULT_MAX_POLICIES - 1);
		st->policy_fresh[i] = fresh;
	}
	for (size_t i = 0; i < a->n_identities; i++) {
		const struct sl_authz_identity *idn = &a->identities[i];
		bool fresh;

		snprintf(name, sizeof(name), "%s/%s", idn->namespace, idn->service_account);
		st->identity_id[i] = ids_get(&st->identities, name, &fresh);
		if (!st->identity_id[i])
			return sl_errf(err, "more than %u identities",
				       SL_DEFAULT_MAX_IDENTITIES - 1);
	}
	return 0;
}

static int write_info(struct sl_authz_state *st, const struct sl_authz *a,
		      struct sl_err *err)
{
	struct sl_policy_stats zero_stats = { 0 };

	for (size_t i = 0; i < a->n_policies; i++) {
		const struct sl_authz_policy *p = a->policies[i];
		struct sl_policy_info info = { 0 };
		uint32_t id = st->policy_id[i];

		snprintf(info.namespace, sizeof(info.namespace), "%s", p->meta.namespace);
		snprintf(info.name, sizeof(info.name), "%s", p->meta.name);
		info.action = p->action == SL_AUTHZ_DENY ? SL_ACTION_DENY :
			      p->action == SL_AUTHZ_AUDIT ? SL_ACTION_AUDIT : SL_ACTION_ALLOW;
		info.flags = p->dry_run ? SL_POLICY_F_DRY_RUN : 0;
		info.n_rules = (uint32_t)p->n_rules;
		if ((st->policy_fresh[i] &&
		     bpf_map_update_elem(st->maps->policy_stats, &id, &zero_stats, BPF_ANY)) ||
		    bpf_map_update_elem(st->maps->policy_info, &id, &info, BPF_ANY))
			return sl_errf(err, "writing policy %s/%s: %s", p->meta.namespace,
				       p->meta.name, strerror(errno));
	}
	for (size_t i = 0; i < a->n_identities; i++) {
		const struct sl_authz_identity *idn = &a->identities[i];
		struct sl_identity_info info = { 0 };

		snprintf(info.namespace, sizeof(info.namespace), "%s", idn->namespace);
		snprintf(info.service_account, sizeof(info.service_account), "%s",
			 idn->service_account);
		if (bpf_map_update_elem(st->maps->identity_info, &st->identity_id[i], &info,
					BPF_ANY))
			return sl_errf(err, "writing identity %s/%s: %s", idn->namespace,
				       idn->service_account, strerror(errno));
	}
	return 0;
}

struct wl_ctx {
	const struct sl_authz_state *st;
	const struct sl_authz *a;
	const uint32_t *ip;		/* index in a->ips per address */
};

/* Truncates like snprintf("%s"), at a fraction of its cost: this runs
 * once per workload address on every apply. */
static void copy_name(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void fill_workload(const void *arg, size_t i, struct sl_workload_info *info)
{
	const struct wl_ctx *c = arg;
	const struct sl_authz_ip *e = &c->a->ips[c->ip[i]];
	const struct sl_authz_workload *w = &c->a->workloads[e->workload - 1];

	copy_name(info->namespace, sizeof(info->namespace), w->namespace);
	copy_name(info->name, sizeof(info->name), w->name);
	info->kind = w->kind;
	info->identity = map_id(c->st->identity_id, w->identity);
}

/* The names of the prepared state's addresses, and which of them differ
 * from what sluice_workload_info holds. */
static int plan_workloads(struct sl_authz_state *st, const struct sl_authz *a,
			  struct sl_wl_want *want, struct sl_err *err)
{
	struct sl_workload_key *keys = calloc(a->n_ips + 1, sizeof(*keys));
	uint32_t *ip = calloc(a->n_ips + 1, sizeof(*ip));
	struct wl_ctx c = { st, a, ip };
	size_t n = 0;
	int ret;

	if (!keys || !ip)
		abort();
	for (size_t i = 0; i < a->n_ips; i++) {
		if (!a->ips[i].workload)
			continue;
		keys[n].addr = a->ips[i].ip.addr;
		keys[n].family = a->ips[i].ip.family;
		ip[n++] = (uint32_t)i;
	}
	ret = sl_wl_plan(st->max_wl, &st->wl, want, keys, n, fill_workload, &c, err);
	free(keys);
	free(ip);
	return ret;
}

void sl_authz_slice_endpoint_name(struct sl_workload_info *info, const char *namespace,
				  const char *name)
{
	memset(info, 0, sizeof(*info));
	copy_name(info->namespace, sizeof(info->namespace), namespace);
	copy_name(info->name, sizeof(info->name), name);
	info->kind = SL_WORKLOAD_SLICE_ENDPOINT;
}

int sl_authz_set_names(struct sl_authz_state *st, const struct sl_authz_name *names,
		       size_t n, struct sl_err *err)
{
	for (size_t i = 0; i < n; i++) {
		struct sl_workload_info held;

		/* A Pod's, a WorkloadEntry's or a ServiceEntry endpoint's
		 * name outranks any EndpointSlice endpoint's. */
		if (!bpf_map_lookup_elem(st->maps->workload_info, &names[i].key, &held) &&
		    held.kind != SL_WORKLOAD_SLICE_ENDPOINT)
			continue;
		if (sl_wl_set_one(st->maps->workload_info, st->max_wl, &st->wl, &names[i].key,
				  names[i].set ? &names[i].info : NULL, err) < 0)
			return -1;
	}
	return 0;
}

int sl_authz_names_differ(struct sl_authz_state *st, const struct sl_authz *a,
			  size_t *differ, struct sl_err *err)
{
	struct sl_wl_want want = { 0 };

	if (plan_workloads(st, a, &want, err) < 0)
		return -1;
	/* Every name written is the same, and no other is held. */
	*differ = want.n_write + (want.set.n > st->wl.n ? want.set.n - st->wl.n :
				  st->wl.n - want.set.n);
	sl_wl_want_free(&want);
	return 0;
}

/* The content of a bank (bank fields zero) for the compiled state. */
static void build_wants(struct sl_authz_state *st, const struct sl_authz *a,
			struct sl_kv_want *w)
{
	for (size_t i = 0; i < a->n_ips; i++) {
		const struct sl_authz_ip *e = &a->ips[i];
		struct sl_ipcache_key key = { 0 };
		struct sl_ipcache v = { 0 };

		key.prefixlen = SL_IPCACHE_PREFIX_BITS + e->plen;
		key.family = e->ip.family;
		key.addr = e->ip.addr;
		v.src_class = e->src_class;
		v.dst_set = e->dst_set;
		v.identity = e->workload ?
			map_id(st->identity_id, a->workloads[e->workload - 1].identity) : 0;
		sl_kv_want_add(&w[0], &st->banks[0], &key, &v);
	}
	for (size_t i = 0; i < a->n_entries; i++) {
		const struct sl_authz_entry *e = &a->entries[i];
		struct sl_policy_key key = { 0 };
		struct sl_policy_verdict v;

		key.dst_set = e->dst_set;
		key.src_class = e->src_class;
		key.port = e->port;
		to_verdict(st, &e->d, &v);
		sl_kv_want_add(&w[1], &st->banks[1], &key, &v);
	}
	for (size_t s = 1; s < a->n_sets; s++) {
		struct sl_policy_set_key key = { (uint32_t)s, 0 };
		struct sl_policy_verdict v;

		to_verdict(st, &a->sets[s].dflt, &v);
		sl_kv_want_add(&w[2], &st->banks[2], &key, &v);
	}
}

/* Where the compiled state goes (1 + bank, 0: no policy): the bank in
 * force when it holds exactly that already (nothing to write, nothing to
 * switch), else the other one. */
static uint32_t choose_bank(struct sl_authz_state *st, struct sl_kv_want *w,
			    size_t n_policies)
{
	int b = st->in_force ? (int)st->in_force - 1 : -1;
	bool same = b >= 0;

	if (!n_policies)
		return 0;
	for (int i = 0; same && i < SL_BANKED_MAPS; i++)
		same = sl_bank_same(&st->banks[i], &w[i], b);
	if (same)
		return st->in_force;
	return b < 0 ? 1 : (uint32_t)(b ^ 1) + 1;
}

static int check_banks(struct sl_authz_state *st, struct sl_kv_want *w, struct sl_err *err)
{
	int b = (int)st->prepared_state - 1;

	if (!st->prepared_state || st->prepared_state == st->in_force)
		return 0;
	for (int i = 0; i < SL_BANKED_MAPS; i++)
		if (sl_bank_check(&st->banks[i], &w[i], b, err) < 0)
			return -1;
	return 0;
}

static int write_banks(struct sl_authz_state *st, struct sl_kv_want *w, struct sl_err *err)
{
	int b = (int)st->prepared_state - 1;

	if (!st->prepared_state || st->prepared_state == st->in_force)
		return 0;
	for (int i = 0; i < SL_BANKED_MAPS; i++)
		if (sl_bank_write(&st->banks[i], &w[i], b, err) < 0)
			return -1;
		else
			st->bank_changes += st->banks[i].n_changed;
	return 0;
}

/* The values of ids, report and banks the compiled state starts from. */
static void prepare_start(struct sl_authz_state *st, const struct sl_authz *a,
			  struct sl_authz_report *report)
{
	st->prepared = false;
	free(st->policy_id);
	free(st->policy_fresh);
	free(st->identity_id);
	st->policy_id = calloc(a->n_policies + 1, sizeof(*st->policy_id));
	st->policy_fresh = calloc(a->n_policies + 1, sizeof(*st->policy_fresh));
	st->identity_id = calloc(a->n_identities + 1, sizeof(*st->identity_id));
	if (!st->policy_id || !st->policy_fresh || !st->identity_id)
		abort();
	memset(report, 0, sizeof(*report));
	report->policies = a->n_policies;
	report->identities = a->n_identities;
	report->workloads = a->n_workloads;
	report->classes = a->n_classes;
	report->sets = a->n_sets ? a->n_sets - 1 : 0;
	report->entries = a->n_entries;
}

static int prepare(struct sl_authz_state *st, const struct sl_authz *a,
		   struct sl_kv_want *w, struct sl_err *err)
{
	if (assign_ids(st, a, err) < 0 || plan_workloads(st, a, &st->wl_want, err) < 0)
		return -1;
	st->names_written = st->wl_want.n_write;
	if (a->n_policies)
		build_wants(st, a, w);
	st->prepared_state = choose_bank(st, w, a->n_policies);
	if (check_banks(st, w, err) < 0)
		return -1;
	if (write_info(st, a, err) < 0 ||
	    sl_wl_write(st->maps->workload_info, &st->wl, &st->wl_want, err) < 0)
		return -1;
	if (write_banks(st, w, err) < 0) {
		/* Nothing reads the bank not in force: it stays as it is. */
		sl_wl_merge(&st->wl, &st->wl_want);
		return -1;
	}
	st->prepared = true;
	return 0;
}

int sl_authz_prepare(struct sl_authz_state *st, const struct sl_authz *a,
		     struct sl_authz_report *report, struct sl_err *err)
{
	struct sl_kv_want w[SL_BANKED_MAPS] = { 0 };
	int ret;

	prepare_start(st, a, report);
	st->bank_changes = 0;
	ret = prepare(st, a, w, err);
	report->bank_changes = st->bank_changes;
	report->names_written = st->names_written;
	report->unchanged = ret == 0 && a->n_policies && st->prepared_state == st->in_force;
	for (int i = 0; i < SL_BANKED_MAPS; i++)
		sl_kv_want_free(&w[i]);
	return ret;
}

void sl_authz_abort(struct sl_authz_state *st)
{
	/* The new names were written in place: the map holds both. The
	 * prepared bank is not read by anything and stays, mirrored. */
	if (st->prepared)
		sl_wl_merge(&st->wl, &st->wl_want);
	st->prepared = false;
}

static void forget_dead(struct sl_authz_ids *ids, int info_fd)
{
	size_t k = 0;

	for (size_t i = 0; i < ids->n; i++) {
		if (ids->v[i].live) {
			ids->v[k++] = ids->v[i];
			continue;
		}
		bpf_map_delete_elem(info_fd, &ids->v[i].id);
		sl_id_free(&ids->pool, ids->v[i].id);
		free(ids->v[i].name);
	}
	ids->n = k;
}

int sl_authz_commit(struct sl_authz_state *st, struct sl_err *err)
{
	struct sl_settings s;
	__u32 zero = 0;
	int old = st->in_force ? (int)st->in_force - 1 : -1;

	if (!st->prepared)
		return sl_errf(err, "nothing prepared");
	st->prepared = false;
	if (st->prepared_state != st->in_force) {
		if (read_settings(st->maps, &s, err) < 0)
			return -1;
		s.policy = st->prepared_state;
		if (bpf_map_update_elem(st->maps->settings, &zero, &s, BPF_ANY))
			return sl_errf(err, "writing sluice_settings: %s", strerror(errno));
		st->in_force = st->prepared_state;
	}
	/* The bank switched from keeps its entries: the next change is
	 * written over them. Without policies neither bank is needed. */
	for (int i = 0; old >= 0 && !st->in_force && i < SL_BANKED_MAPS; i++)
		sl_bank_clear(&st->banks[i], -1);
	forget_dead(&st->policies, st->maps->policy_info);
	forget_dead(&st->identities, st->maps->identity_info);
	/* Addresses the new state no longer names lose their names too. */
	return sl_wl_prune(st->maps->workload_info, &st->wl, &st->wl_want, err);
}
