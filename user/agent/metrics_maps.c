// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Metrics read straight from the maps: fill levels, policy decisions,
 * same-node acceleration and bandwidth. The agent renders them on its
 * event loop, the only thread that writes the maps it walks here, so no
 * walk races with a deletion of ours; the kernel only changes values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "addr.h"
#include "metrics.h"
#include "sys.h"

/* Counting a hash map walks every key: about 1 us each, 0.1 s for 100,000
 * entries. The maps the kernel fills (LRUs, the sockhash) are counted at
 * most this often; the agent knows its own service tables' sizes. */
#define FILL_TTL_MS 5000

static bool counted(uint32_t type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_SOCKHASH || type == BPF_MAP_TYPE_LPM_TRIE;
}

/* Both banks of a policy map, as mirrored. */
static int64_t bank_entries(const struct sl_bank_map *b)
{
	int64_t n = 0;

	for (int k = 0; k < SL_POLICY_BANKS; k++)
		n += (int64_t)b->have[k].n;
	return n;
}

/* Entries the agent's mirror holds exactly; -1: not one of those. */
static int64_t known_entries(const struct sl_metrics *m, int fd)
{
	const struct sl_state *st = &m->applier->state;
	const struct sl_authz_state *az = &m->applier->authz;

	/* At 100,000 workloads a walk of these took a second of CPU. */
	if (fd == m->maps->workload_info)
		return (int64_t)az->wl.n;
	for (int i = 0; i < SL_BANKED_MAPS; i++)
		if (az->banks[i].fd == fd && fd >= 0)
			return bank_entries(&az->banks[i]);

	if (fd == m->maps->svc)
		return (int64_t)st->n_fe;
	if (fd == m->maps->backend)
		return (int64_t)st->n_be;
	if (fd == m->maps->slot)
		return (int64_t)st->n_slot_entries;
	if (fd == m->maps->member)
		return (int64_t)st->n_member_entries;
	return -1;
}

static void fill_count(struct sl_metrics *m, size_t i, int fd,
		       const struct bpf_map_info *info)
{
	struct sl_map_fill *f = &m->fill[i];
	int64_t now = sl_mono_ms(), known = known_entries(m, fd);

	if (known >= 0) {
		f->entries = (uint32_t)known;
		f->ok = true;
		return;
	}
	if (f->at_ms && now - f->at_ms < FILL_TTL_MS)
		return;
	/* A walk restarts when the kernel evicts the key it stands on. */
	f->ok = sl_map_count(fd, info->key_size, info->max_entries * 2 + 16,
			     &f->entries) == 0;
	if (f->ok && f->entries > info->max_entries)
		f->entries = info->max_entries;
	f->at_ms = now;
}

void sl_metrics_maps(struct sl_metrics *m, struct sl_prom *p)
{
	struct bpf_map_info info[SL_METRICS_MAX_MAPS];
	struct sl_prom l;

	memset(info, 0, sizeof(info));
	sl_prom_init(&l);
	sl_prom_family(p, "sluice_map_capacity", "gauge",
		       "Capacity of each pinned map (max_entries; bytes for the ring buffer).");
	for (size_t i = 0; i < sl_n_map_descs; i++) {
		int fd = *sl_maps_fd(m->maps, &sl_map_descs[i]);
		__u32 len = sizeof(info[i]);

		if (bpf_obj_get_info_by_fd(fd, &info[i], &len) || !info[i].max_entries)
			continue;
		sl_prom_reset(&l);
		sl_prom_label(&l, "map", sl_map_descs[i].name);
		sl_prom_u64(p, "sluice_map_capacity", sl_prom_text(&l), info[i].max_entries);
	}
	sl_prom_family(p, "sluice_map_entries", "gauge",
		       "Entries in each hash map (arrays are always full); maps the kernel "
		       "fills are counted at most every 5 s.");
	for (size_t i = 0; i < sl_n_map_descs; i++) {
		int fd = *sl_maps_fd(m->maps, &sl_map_descs[i]);

		if (!info[i].max_entries || !counted(info[i].type))
			continue;
		fill_count(m, i, fd, &info[i]);
		if (!m->fill[i].ok)
			continue;
		sl_prom_reset(&l);
		sl_prom_label(&l, "map", sl_map_descs[i].name);
		sl_prom_u64(p, "sluice_map_entries", sl_prom_text(&l), m->fill[i].entries);
	}
	if (l.oom)
		p->oom = true;
	sl_prom_free(&l);
}

static const struct sl_prom_family policy_families[] = {
	{ "sluice_policy_allowed_total", "counter",
	  "Connections and datagrams the policy allowed (action none: no policy decided)." },
	{ "sluice_policy_denied_total", "counter",
	  "Connections and datagrams the policy denied (action none: ALLOW policies "
	  "selected the workload and none matched)." },
	{ "sluice_policy_dry_run_denied_total", "counter",
	  "Connections and datagrams the dry-run policy would have denied." },
	{ "sluice_policy_audited_total", "counter",
	  "Connections and datagrams the AUDIT policy matched." },
};
#define N_POLICY (sizeof(policy_families) / sizeof(policy_families[0]))

static const char *action_name(uint8_t action)
{
	switch (action) {
	case SL_ACTION_ALLOW:
		return "ALLOW";
	case SL_ACTION_DENY:
		return "DENY";
	case SL_ACTION_AUDIT:
		return "AUDIT";
	default:
		return "unknown";
	}
}

/* Row 0 is id 0, the decisions no policy made; then one per policy. */
static char *policy_row(const struct sl_maps *maps, uint32_t id, uint64_t *v)
{
	struct sl_policy_info info = { 0 };
	struct sl_policy_stats s;
	struct sl_prom l;
	char *text;

	if (bpf_map_lookup_elem(maps->policy_stats, &id, &s) ||
	    (id && bpf_map_lookup_elem(maps->policy_info, &id, &info)))
		return NULL;
	info.namespace[sizeof(info.namespace) - 1] = '\0';
	info.name[sizeof(info.name) - 1] = '\0';
	sl_prom_init(&l);
	sl_prom_label(&l, "policy_namespace", info.namespace);
	sl_prom_label(&l, "policy_name", info.name);
	sl_prom_label(&l, "action", id ? action_name(info.action) : "none");
	text = l.oom ? NULL : strdup(sl_prom_text(&l));
	sl_prom_free(&l);
	v[0] = s.allowed;
	v[1] = s.denied;
	v[2] = s.dry_run_denied;
	v[3] = s.audited;
	return text;
}

void sl_metrics_policies(struct sl_metrics *m, struct sl_prom *p)
{
	const struct sl_authz_ids *ids = &m->applier->authz.policies;
	size_t n = ids->n + 1;
	char **labels = calloc(n, sizeof(*labels));
	uint64_t *vals = calloc(n * N_POLICY, sizeof(*vals));

	if (!labels || !vals) {
		p->oom = true;
	} else {
		for (size_t i = 0; i < n; i++)
			labels[i] = policy_row(m->maps, i ? ids->v[i - 1].id : 0,
					       vals + i * N_POLICY);
		sl_prom_table(p, policy_families, N_POLICY, labels, vals, n);
	}
	for (size_t i = 0; labels && i < n; i++)
		free(labels[i]);
	free(labels);
	free(vals);
}

static const struct {
	const char *name;
	const char *help;
	size_t off;
} redir_counters[] = {
#define R(n, field, help) { "sluice_same_node_" n "_total", help, \
			    offsetof(struct sl_redir_stats, field) }
	R("sockets_joined", joined, "Sockets that joined the same-node shortcut."),
	R("sockets_left", left, "Sockets that left the shortcut for TCP (bulk senders)."),
	R("sockets_closed", closed, "Shortcut sockets closed."),
	R("redirected_messages", redirected_msgs, "Messages moved socket to socket."),
	R("redirected_bytes", redirected_bytes, "Bytes moved socket to socket."),
	R("stack_messages", stack_msgs, "Messages of shortcut sockets sent through TCP."),
	R("stack_bytes", stack_bytes, "Bytes of shortcut sockets sent through TCP."),
	R("not_local", not_local, "Established connections without a local mesh peer."),
	R("splice_seen", splice_seen, "Shortcut sockets whose application called splice(2)."),
	R("splice_stranded", splice_stranded,
	  "Splicing sockets with redirected data unread (lost to the application)."),
	R("short_skipped", short_skipped,
	  "Connections kept off the shortcut as too short to gain."),
#undef R
};

void sl_metrics_same_node(struct sl_metrics *m, struct sl_prom *p)
{
	struct sl_settings set;
	struct sl_redir_stats s;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(m->maps->settings, &zero, &set) ||
	    bpf_map_lookup_elem(m->maps->redir_stats, &zero, &s))
		return;
	sl_prom_family(p, "sluice_same_node_enabled", "gauge",
		       "1 when same-node acceleration is on (no --no-redirect).");
	sl_prom_u64(p, "sluice_same_node_enabled", NULL, set.redirect != 0);
	for (size_t i = 0; i < sizeof(redir_counters) / sizeof(redir_counters[0]); i++) {
		sl_prom_family(p, redir_counters[i].name, "counter", redir_counters[i].help);
		sl_prom_u64(p, redir_counters[i].name, NULL,
			    *(const uint64_t *)((const char *)&s + redir_counters[i].off));
	}
}

static const struct sl_prom_family bw_families[] = {
	{ "sluice_bandwidth_limit_bytes_per_second", "gauge",
	  "The workload's bandwidth limit this way, 0: none." },
	{ "sluice_bandwidth_passed_bytes_total", "counter",
	  "Bytes let through by the policer and the shortcut." },
	{ "sluice_bandwidth_dropped_bytes_total", "counter",
	  "Bytes of the packets the TC policer dropped over the limit." },
	{ "sluice_bandwidth_dropped_packets_total", "counter",
	  "Packets the TC policer dropped over the limit." },
	{ "sluice_bandwidth_deferred_messages_total", "counter",
	  "Shortcut messages over the limit sent through TCP instead." },
};
#define N_BW (sizeof(bw_families) / sizeof(bw_families[0]))

struct bw_rows {
	char **labels;
	uint64_t *vals;
	size_t n, cap;
};

static char *bw_labels(const struct sl_maps *maps, const struct sl_workload_key *k,
		       const char *direction)
{
	struct sl_workload_info wi = { 0 };
	char addr[SL_ADDR_STR_LEN];
	struct sl_prom l;
	char *text;

	bpf_map_lookup_elem(maps->workload_info, k, &wi);
	wi.namespace[sizeof(wi.namespace) - 1] = '\0';
	wi.name[sizeof(wi.name) - 1] = '\0';
	sl_ip_format(&k->addr, k->family, addr, sizeof(addr));
	sl_prom_init(&l);
	sl_prom_label(&l, "workload_namespace", wi.namespace);
	sl_prom_label(&l, "workload_name", wi.name);
	sl_prom_label(&l, "address", addr);
	sl_prom_label(&l, "direction", direction);
	text = l.oom ? NULL : strdup(sl_prom_text(&l));
	sl_prom_free(&l);
	return text;
}

static int bw_add(struct bw_rows *r, const struct sl_maps *maps,
		  const struct sl_workload_key *k, const struct sl_bw *bw)
{
	static const char *const dirs[2] = { "egress", "ingress" };

	if (r->n + 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		char **labels = realloc(r->labels, cap * sizeof(*labels));
		uint64_t *vals;

		if (!labels)
			return -1;
		r->labels = labels;
		vals = realloc(r->vals, cap * N_BW * sizeof(*vals));
		if (!vals)
			return -1;
		r->vals = vals;
		r->cap = cap;
	}
	for (int d = SL_BW_EGRESS; d <= SL_BW_INGRESS; d++) {
		const struct sl_bw_dir *b = &bw->dir[d];
		uint64_t *v = r->vals + r->n * N_BW;

		r->labels[r->n] = bw_labels(maps, k, dirs[d]);
		if (!r->labels[r->n])
			return -1;
		v[0] = b->rate;
		v[1] = b->passed_bytes;
		v[2] = b->dropped_bytes;
		v[3] = b->dropped_pkts;
		v[4] = b->deferred_msgs;
		r->n++;
	}
	return 0;
}

/* One series per limited workload address and direction: sluice_bw holds
 * only workloads with a limit. */
void sl_metrics_bandwidth(struct sl_metrics *m, struct sl_prom *p)
{
	struct sl_workload_key key, prev;
	struct bw_rows r = { 0 };
	bool first = true;
	struct sl_bw bw;

	while (bpf_map_get_next_key(m->maps->bw, first ? NULL : &prev, &key) == 0) {
		prev = key;
		first = false;
		if (bpf_map_lookup_elem(m->maps->bw, &key, &bw))
			continue;
		if (bw_add(&r, m->maps, &key, &bw) < 0) {
			p->oom = true;
			break;
		}
	}
	sl_prom_table(p, bw_families, N_BW, r.labels, r.vals, r.n);
	for (size_t i = 0; i < r.n; i++)
		free(r.labels[i]);
	free(r.labels);
	free(r.vals);
}
