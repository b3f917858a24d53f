// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluicectl identities / policies, and the helpers explain shares. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "authz.h"
#include "ctl.h"
#include "snapshot.h"
#include "table.h"

/* ---- helpers ---- */

void *ctl_xrealloc(void *p, size_t size)
{
	p = realloc(p, size);
	if (!p) {
		fprintf(stderr, "sluicectl: out of memory\n");
		exit(CTL_FAIL);
	}
	return p;
}

int ctl_policy_state(const struct sl_maps *m, uint32_t *state)
{
	struct sl_settings s;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->settings, &zero, &s)) {
		fprintf(stderr, "sluicectl: reading sluice_settings: %s\n", strerror(errno));
		return -1;
	}
	*state = s.policy;
	return 0;
}

void ctl_principal(const struct sl_maps *m, uint32_t identity, char *buf, size_t len)
{
	struct sl_identity_info info;

	if (!identity) {
		snprintf(buf, len, "-");
		return;
	}
	if (bpf_map_lookup_elem(m->identity_info, &identity, &info)) {
		snprintf(buf, len, "(identity %u: unknown)", identity);
		return;
	}
	info.namespace[sizeof(info.namespace) - 1] = '\0';
	info.service_account[sizeof(info.service_account) - 1] = '\0';
	snprintf(buf, len, "spiffe://%s/ns/%s/sa/%s", SL_TRUST_DOMAIN, info.namespace,
		 info.service_account);
}

const char *ctl_workload_kind(uint32_t kind)
{
	static const char *const names[] = {
		[SL_WORKLOAD_POD] = "pod", [SL_WORKLOAD_ENTRY] = "workload-entry",
		[SL_WORKLOAD_SE_ENDPOINT] = "service-entry-endpoint",
		[SL_WORKLOAD_SLICE_ENDPOINT] = "slice-endpoint",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "?";
}

const char *ctl_action_name(uint8_t action)
{
	static const char *const names[] = {
		[SL_ACTION_ALLOW] = "ALLOW", [SL_ACTION_DENY] = "DENY",
		[SL_ACTION_AUDIT] = "AUDIT",
	};

	return action < sizeof(names) / sizeof(names[0]) ? names[action] : "?";
}

bool ctl_policy_info(const struct sl_maps *m, uint32_t id, struct sl_policy_info *info)
{
	if (!id || bpf_map_lookup_elem(m->policy_info, &id, info)) {
		memset(info, 0, sizeof(*info));
		return false;
	}
	info->namespace[sizeof(info->namespace) - 1] = '\0';
	info->name[sizeof(info->name) - 1] = '\0';
	return true;
}

/* Policy 0 is the decision of no policy: its meaning follows the verdict. */
void ctl_policy_text(const struct sl_maps *m, uint32_t id, uint32_t rule,
		     uint8_t verdict, char *buf, size_t len)
{
	struct sl_policy_info info;

	if (!id)
		snprintf(buf, len, "%s", verdict == SL_VERDICT_DENY ?
			 "no ALLOW policy matched (the destination is selected by ALLOW "
			 "policies)" : "no policy denies and none selects with ALLOW");
	else if (!ctl_policy_info(m, id, &info))
		snprintf(buf, len, "policy id %u (not in sluice_policy_info), rule %u", id,
			 rule);
	else
		snprintf(buf, len, "AuthorizationPolicy %s/%s (%s%s), rule %u", info.namespace,
			 info.name, ctl_action_name(info.action),
			 info.flags & SL_POLICY_F_DRY_RUN ? ", dry-run" : "", rule);
}

json_object *ctl_policy_json(const struct sl_maps *m, uint32_t id, uint32_t rule)
{
	json_object *o = json_object_new_object();
	struct sl_policy_info info;
	bool known = ctl_policy_info(m, id, &info);

	json_object_object_add(o, "policy_id", json_object_new_int64(id));
	json_object_object_add(o, "namespace", known ?
			       json_object_new_string(info.namespace) : NULL);
	json_object_object_add(o, "name", known ? json_object_new_string(info.name) : NULL);
	json_object_object_add(o, "action", known ?
			       json_object_new_string(ctl_action_name(info.action)) : NULL);
	json_object_object_add(o, "dry_run",
			       json_object_new_boolean(info.flags & SL_POLICY_F_DRY_RUN));
	json_object_object_add(o, "rule", json_object_new_int64(rule));
	return o;
}

void ctl_add_addr(struct ctl_addrs *a, const struct sl_ip *ip)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 8;
		a->v = ctl_xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = *ip;
}

struct name_match {
	char namespace[SL_NAMESPACE_LEN];
	const char *name;
	struct ctl_addrs *out;
};

static void match_workload(const void *key, const void *value, void *arg)
{
	const struct sl_workload_key *k = key;
	const struct sl_workload_info *w = value;
	struct name_match *nm = arg;
	struct sl_ip ip = { k->addr, k->family };

	if (!strncmp(w->namespace, nm->namespace, sizeof(w->namespace)) &&
	    !strncmp(w->name, nm->name, sizeof(w->name)))
		ctl_add_addr(nm->out, &ip);
}

int ctl_workload_addrs(const struct sl_maps *m, const char *text, struct ctl_addrs *out)
{
	struct name_match nm = { "default", text, out };
	const char *slash = strchr(text, '/');
	struct sl_err err;

	if (slash) {
		snprintf(nm.namespace, sizeof(nm.namespace), "%.*s", (int)(slash - text), text);
		nm.name = slash + 1;
	}
	if (snap_map_walk(m->workload_info, sizeof(struct sl_workload_key),
			  sizeof(struct sl_workload_info), match_workload, &nm, &err) < 0) {
		fprintf(stderr, "sluicectl: sluice_workload_info: %s\n", err.msg);
		return -1;
	}
	return 0;
}

bool ctl_workload_at(const struct sl_maps *m, const struct sl_ip *ip,
		     struct sl_workload_info *info)
{
	struct sl_workload_key key;

	memset(&key, 0, sizeof(key));
	key.addr = ip->addr;
	key.family = ip->family;
	if (bpf_map_lookup_elem(m->workload_info, &key, info)) {
		memset(info, 0, sizeof(*info));
		return false;
	}
	info->namespace[sizeof(info->namespace) - 1] = '\0';
	info->name[sizeof(info->name) - 1] = '\0';
	return true;
}

/* A full-length key: the trie answers with the longest prefix, as it
 * does for the kernel. */
static void ipcache_find(const struct sl_maps *m, uint32_t bank, struct ctl_peer *p)
{
	struct sl_ipcache_key key;

	memset(&key, 0, sizeof(key));
	key.prefixlen = SL_IPCACHE_PREFIX_BITS + (p->ip.family == SL_AF_INET ? 32 : 128);
	key.bank = (__u8)bank;
	key.family = p->ip.family;
	key.addr = p->ip.addr;
	p->in_cache = !bpf_map_lookup_elem(m->ipcache, &key, &p->cache);
	if (!p->in_cache)
		memset(&p->cache, 0, sizeof(p->cache));
}

/* (set, class, port), then (set, class, any port), then the set's
 * default; a set without its default is denied. */
static enum ctl_lookup lookup_verdict(const struct sl_maps *m, uint32_t bank,
				      const struct ctl_peer *src, const struct ctl_peer *dst,
				      uint16_t port, struct sl_policy_verdict *v)
{
	struct sl_policy_set_key set_key;
	struct sl_policy_key key;

	memset(&key, 0, sizeof(key));
	key.dst_set = dst->cache.dst_set;
	key.src_class = src->in_cache ? src->cache.src_class : 0;
	key.port = port;
	key.bank = (__u8)bank;
	if (!bpf_map_lookup_elem(m->policy, &key, v))
		return port ? CTL_LOOKUP_PORT : CTL_LOOKUP_ANY_PORT;
	key.port = 0;
	if (!bpf_map_lookup_elem(m->policy, &key, v))
		return CTL_LOOKUP_ANY_PORT;
	memset(&set_key, 0, sizeof(set_key));
	set_key.dst_set = key.dst_set;
	set_key.bank = bank;
	if (!bpf_map_lookup_elem(m->policy_set, &set_key, v))
		return CTL_LOOKUP_DEFAULT;
	memset(v, 0, sizeof(*v));
	v->verdict = SL_VERDICT_DENY;
	return CTL_LOOKUP_NO_DEFAULT;
}

void ctl_policy_decide(const struct sl_maps *m, uint32_t state, struct ctl_peer *src,
		       struct ctl_peer *dst, uint16_t port, struct ctl_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->allowed = true;
	if (!state) {
		d->lookup = CTL_LOOKUP_OFF;
		return;
	}
	ipcache_find(m, state - 1, dst);
	ipcache_find(m, state - 1, src);
	if (!dst->in_cache || !dst->cache.dst_set) {
		d->lookup = CTL_LOOKUP_NOT_SELECTED;
		return;
	}
	d->lookup = lookup_verdict(m, state - 1, src, dst, port, &d->v);
	d->allowed = d->v.verdict != SL_VERDICT_DENY;
}

static int open_maps(struct ctl *ctl, struct sl_maps *maps, const char *cmd, int argc)
{
	if (argc > 0) {
		fprintf(stderr, "sluicectl %s: takes no arguments\n", cmd);
		return CTL_USAGE;
	}
	return ctl_open_maps(ctl, maps) < 0 ? CTL_NO_STATE : CTL_OK;
}

/* ---- identities ---- */

struct id_row {
	struct sl_ip ip;
	struct sl_workload_info info;
	bool local;
};

struct id_rows {
	struct id_row *v;
	size_t n, cap;
	struct sl_ip *local;	/* sorted addresses of local pods */
	size_t n_local, cap_local;
};

static void add_local(struct id_rows *r, const struct sl_addr *addr, uint8_t family)
{
	if (r->n_local == r->cap_local) {
		r->cap_local = r->cap_local ? r->cap_local * 2 : 64;
		r->local = ctl_xrealloc(r->local, r->cap_local * sizeof(*r->local));
	}
	r->local[r->n_local++] = (struct sl_ip){ *addr, family };
}

static void collect_local(const void *key, const void *value, void *arg)
{
	const struct sl_netns_addr *a = value;

	(void)key;
	if (a->has4)
		add_local(arg, &a->addr4, SL_AF_INET);
	if (a->has6)
		add_local(arg, &a->addr6, SL_AF_INET6);
}

static void collect_workload(const void *key, const void *value, void *arg)
{
	const struct sl_workload_key *k = key;
	struct id_rows *r = arg;
	struct id_row *row;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = ctl_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	row = &r->v[r->n++];
	memset(row, 0, sizeof(*row));
	row->ip = (struct sl_ip){ k->addr, k->family };
	row->info = *(const struct sl_workload_info *)value;
	row->info.namespace[sizeof(row->info.namespace) - 1] = '\0';
	row->info.name[sizeof(row->info.name) - 1] = '\0';
}

static int cmp_ip(const void *a, const void *b)
{
	return sl_ip_cmp(a, b);
}

static int cmp_id_row(const void *a, const void *b)
{
	const struct id_row *x = a, *y = b;
	int c = strcmp(x->info.namespace, y->info.namespace);

	if (c)
		return c;
	c = strcmp(x->info.name, y->info.name);
	return c ? c : sl_ip_cmp(&x->ip, &y->ip);
}

static int read_identities(const struct sl_maps *m, struct id_rows *r)
{
	struct sl_err err;

	memset(r, 0, sizeof(*r));
	if (snap_map_walk(m->netns_addr, sizeof(__u64), sizeof(struct sl_netns_addr),
			  collect_local, r, &err) < 0 ||
	    snap_map_walk(m->workload_info, sizeof(struct sl_workload_key),
			  sizeof(struct sl_workload_info), collect_workload, r, &err) < 0) {
		fprintf(stderr, "sluicectl: reading the identity maps: %s\n", err.msg);
		free(r->v);
		free(r->local);
		return -1;
	}
	if (r->n_local)
		qsort(r->local, r->n_local, sizeof(*r->local), cmp_ip);
	for (size_t i = 0; i < r->n; i++)
		r->v[i].local = r->n_local &&
			bsearch(&r->v[i].ip, r->local, r->n_local, sizeof(*r->local), cmp_ip);
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), cmp_id_row);
	return 0;
}

static json_object *id_json(const struct sl_maps *m, const struct id_row *row)
{
	json_object *o = json_object_new_object();
	char addr[SL_ADDR_STR_LEN], principal[SL_NAMESPACE_LEN + SL_SA_LEN + 64];

	sl_ip_format(&row->ip.addr, row->ip.family, addr, sizeof(addr));
	ctl_principal(m, row->info.identity, principal, sizeof(principal));
	json_object_object_add(o, "namespace", json_object_new_string(row->info.namespace));
	json_object_object_add(o, "name", json_object_new_string(row->info.name));
	json_object_object_add(o, "kind",
			       json_object_new_string(ctl_workload_kind(row->info.kind)));
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "identity", row->info.identity ?
			       json_object_new_string(principal) : NULL);
	json_object_object_add(o, "identity_id", json_object_new_int64(row->info.identity));
	json_object_object_add(o, "local", json_object_new_boolean(row->local));
	return o;
}

static void id_table_row(struct table *t, const struct sl_maps *m, const struct id_row *row)
{
	char addr[SL_ADDR_STR_LEN], principal[SL_NAMESPACE_LEN + SL_SA_LEN + 64], id[16];
	const char *cells[7];

	sl_ip_format(&row->ip.addr, row->ip.family, addr, sizeof(addr));
	ctl_principal(m, row->info.identity, principal, sizeof(principal));
	snprintf(id, sizeof(id), "%u", row->info.identity);
	cells[0] = row->info.namespace;
	cells[1] = row->info.name;
	cells[2] = ctl_workload_kind(row->info.kind);
	cells[3] = addr;
	cells[4] = principal;
	cells[5] = id;
	cells[6] = row->local ? "yes" : "no";
	table_row(t, cells);
}

int cmd_identities(struct ctl *ctl, int argc, char **argv)
{
	static const char *const header[] = { "NAMESPACE", "NAME", "KIND", "ADDRESS",
					      "IDENTITY", "ID", "LOCAL" };
	json_object *arr = NULL;
	struct sl_maps maps;
	struct id_rows rows;
	struct table t;
	int ret = open_maps(ctl, &maps, "identities", argc);

	(void)argv;
	if (ret)
		return ret;
	if (read_identities(&maps, &rows) < 0) {
		sl_maps_close(&maps);
		return CTL_NO_STATE;
	}
	if (ctl->json)
		arr = json_object_new_array();
	else
		table_init(&t, 7, header);
	for (size_t i = 0; i < rows.n; i++) {
		if (arr)
			json_object_array_add(arr, id_json(&maps, &rows.v[i]));
		else
			id_table_row(&t, &maps, &rows.v[i]);
	}
	ctl_output(arr, &t);
	free(rows.v);
	free(rows.local);
	sl_maps_close(&maps);
	return CTL_OK;
}

/* ---- policies ---- */

struct pol_row {
	uint32_t id;		/* 0: decisions no policy made */
	struct sl_policy_info info;
	struct sl_policy_stats stats;
};

struct pol_rows {
	struct pol_row *v;
	size_t n, cap;
};

static void collect_policy(const void *key, const void *value, void *arg)
{
	struct pol_rows *r = arg;
	struct pol_row *row;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = ctl_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	row = &r->v[r->n++];
	memset(row, 0, sizeof(*row));
	row->id = *(const __u32 *)key;
	row->info = *(const struct sl_policy_info *)value;
	row->info.namespace[sizeof(row->info.namespace) - 1] = '\0';
	row->info.name[sizeof(row->info.name) - 1] = '\0';
}

/* Policy 0 (no policy) last: it is the summary of what no policy decided. */
static int cmp_pol_row(const void *a, const void *b)
{
	const struct pol_row *x = a, *y = b;
	int c;

	if (!x->id || !y->id)
		return (x->id == 0) - (y->id == 0);
	c = strcmp(x->info.namespace, y->info.namespace);
	if (c)
		return c;
	c = strcmp(x->info.name, y->info.name);
	return c ? c : (x->id > y->id) - (x->id < y->id);
}

static int read_policies(const struct sl_maps *m, struct pol_rows *r)
{
	struct sl_err err;

	memset(r, 0, sizeof(*r));
	if (snap_map_walk(m->policy_info, sizeof(__u32), sizeof(struct sl_policy_info),
			  collect_policy, r, &err) < 0) {
		fprintf(stderr, "sluicectl: sluice_policy_info: %s\n", err.msg);
		free(r->v);
		return -1;
	}
	collect_policy(&(__u32){ 0 }, &(struct sl_policy_info){ 0 }, r);
	for (size_t i = 0; i < r->n; i++)
		bpf_map_lookup_elem(m->policy_stats, &r->v[i].id, &r->v[i].stats);
	qsort(r->v, r->n, sizeof(*r->v), cmp_pol_row);
	return 0;
}

static json_object *pol_json(const struct pol_row *row)
{
	json_object *o = json_object_new_object();
	bool real = row->id != 0;

	json_object_object_add(o, "id", json_object_new_int64(row->id));
	json_object_object_add(o, "namespace", real ?
			       json_object_new_string(row->info.namespace) : NULL);
	json_object_object_add(o, "name", json_object_new_string(real ? row->info.name :
								 "(no policy)"));
	json_object_object_add(o, "action", real ?
			       json_object_new_string(ctl_action_name(row->info.action)) : NULL);
	json_object_object_add(o, "dry_run", json_object_new_boolean(
				       row->info.flags & SL_POLICY_F_DRY_RUN));
	json_object_object_add(o, "rules", json_object_new_int64(row->info.n_rules));
	json_object_object_add(o, "allowed", json_object_new_uint64(row->stats.allowed));
	json_object_object_add(o, "denied", json_object_new_uint64(row->stats.denied));
	json_object_object_add(o, "dry_run_denied",
			       json_object_new_uint64(row->stats.dry_run_denied));
	json_object_object_add(o, "audited", json_object_new_uint64(row->stats.audited));
	return o;
}

static void pol_table_row(struct table *t, const struct pol_row *row)
{
	char id[16], rules[16], allowed[24], denied[24], dry[24], audited[24];
	bool real = row->id != 0;
	const char *cells[10];

	snprintf(id, sizeof(id), "%u", row->id);
	snprintf(rules, sizeof(rules), real ? "%u" : "-", row->info.n_rules);
	snprintf(allowed, sizeof(allowed), "%llu", (unsigned long long)row->stats.allowed);
	snprintf(denied, sizeof(denied), "%llu", (unsigned long long)row->stats.denied);
	snprintf(dry, sizeof(dry), "%llu", (unsigned long long)row->stats.dry_run_denied);
	snprintf(audited, sizeof(audited), "%llu", (unsigned long long)row->stats.audited);
	cells[0] = id;
	cells[1] = real ? row->info.namespace : "-";
	cells[2] = real ? row->info.name : "(no policy)";
	cells[3] = real ? ctl_action_name(row->info.action) : "-";
	cells[4] = !real ? "-" : row->info.flags & SL_POLICY_F_DRY_RUN ? "yes" : "no";
	cells[5] = rules;
	cells[6] = allowed;
	cells[7] = denied;
	cells[8] = dry;
	cells[9] = audited;
	table_row(t, cells);
}

static void print_policies(const struct pol_rows *r, uint32_t state)
{
	static const char *const header[] = { "ID", "NAMESPACE", "NAME", "ACTION",
					      "DRY-RUN", "RULES", "ALLOWED", "DENIED",
					      "DRY-RUN-DENIED", "AUDITED" };
	struct table t;

	if (state)
		printf("policy enforcement: in force (bank %u)\n\n", state - 1);
	else
		printf("policy enforcement: off: no AuthorizationPolicy configured\n\n");
	table_init(&t, 10, header);
	for (size_t i = 0; i < r->n; i++)
		pol_table_row(&t, &r->v[i]);
	table_print(&t, stdout);
	table_free(&t);
}

static void print_policies_json(const struct pol_rows *r, uint32_t state)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	json_object_object_add(o, "in_force", json_object_new_boolean(state != 0));
	json_object_object_add(o, "bank", state ? json_object_new_int64(state - 1) : NULL);
	for (size_t i = 0; i < r->n; i++)
		json_object_array_add(arr, pol_json(&r->v[i]));
	json_object_object_add(o, "policies", arr);
	ctl_print_json(o);
	json_object_put(o);
}

int cmd_policies(struct ctl *ctl, int argc, char **argv)
{
	struct sl_maps maps;
	struct pol_rows rows;
	uint32_t state;
	int ret = open_maps(ctl, &maps, "policies", argc);

	(void)argv;
	if (ret)
		return ret;
	if (ctl_policy_state(&maps, &state) < 0 || read_policies(&maps, &rows) < 0) {
		sl_maps_close(&maps);
		return CTL_NO_STATE;
	}
	sl_maps_close(&maps);
	if (ctl->json)
		print_policies_json(&rows, state);
	else
		print_policies(&rows, state);
	free(rows.v);
	return CTL_OK;
}
