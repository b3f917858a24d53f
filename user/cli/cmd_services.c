// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluicectl services / endpoints. */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>
#include <string.h>

#include "addr.h"
#include "ctl.h"
#include "snapshot.h"
#include "table.h"
#include "sys.h"

static int load(struct ctl *ctl, struct snapshot *snap)
{
	struct sl_maps maps;
	struct sl_err err;
	int ret;

	if (ctl_open_maps(ctl, &maps) < 0)
		return CTL_NO_STATE;
	ret = snapshot_read(&maps, snap, &err);
	sl_maps_close(&maps);
	if (ret < 0) {
		fprintf(stderr, "sluicectl: %s\n", err.msg);
		return CTL_NO_STATE;
	}
	return CTL_OK;
}

static uint32_t usable_members(const struct snap_fe *fe)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < fe->svc.n_members; i++)
		n += fe->members[i].member.n_slots > 0;
	return n;
}

/* Outlier detection of a frontend: its settings and what it refused. */
json_object *ctl_outlier_json(const struct snap_fe *fe)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "consecutive_errors", json_object_new_int64(fe->svc.eject_after));
	json_object_object_add(o, "base_ejection_time_ms", json_object_new_int64(fe->svc.eject_ms));
	json_object_object_add(o, "max_ejection_percent",
			       json_object_new_int(fe->svc.eject_max_pct));
	json_object_object_add(o, "min_health_percent", json_object_new_int(fe->svc.min_health_pct));
	json_object_object_add(o, "ejections_refused",
			       json_object_new_uint64(fe->stats.eject_refused));
	json_object_object_add(o, "panic_connections", json_object_new_uint64(fe->stats.eject_panic));
	return o;
}

static json_object *fe_json(const struct snap_fe *fe)
{
	json_object *o = json_object_new_object();
	char vip[SL_ADDR_STR_LEN];

	sl_ip_format(&fe->key.addr, fe->key.family, vip, sizeof(vip));
	json_object_object_add(o, "namespace", json_object_new_string(fe->info.namespace));
	json_object_object_add(o, "name", json_object_new_string(fe->info.name));
	json_object_object_add(o, "kind", json_object_new_string(snap_kind_name(fe->info.kind)));
	json_object_object_add(o, "vip", json_object_new_string(vip));
	json_object_object_add(o, "port", json_object_new_int(ntohs(fe->key.port)));
	json_object_object_add(o, "port_name", json_object_new_string(fe->info.port_name));
	json_object_object_add(o, "protocol", json_object_new_string(sl_proto_name(fe->key.proto)));
	json_object_object_add(o, "id", json_object_new_int64(fe->svc.id));
	json_object_object_add(o, "revision", json_object_new_int64(fe->svc.rev));
	json_object_object_add(o, "endpoints", json_object_new_int64(fe->svc.n_members));
	json_object_object_add(o, "endpoints_in_use", json_object_new_int64(usable_members(fe)));
	json_object_object_add(o, "slots", json_object_new_int64(fe->svc.n_slots));
	json_object_object_add(o, "locality_priorities",
			       json_object_new_int64(fe->svc.n_tiers > 1 ? fe->svc.n_tiers : 1));
	json_object_object_add(o, "connections", json_object_new_uint64(fe->stats.connects));
	json_object_object_add(o, "datagrams", json_object_new_uint64(fe->stats.datagrams));
	json_object_object_add(o, "refused", json_object_new_uint64(fe->stats.refused));
	json_object_object_add(o, "errors", json_object_new_uint64(fe->stats.errors));
	json_object_object_add(o, "rate_limited", json_object_new_uint64(fe->stats.rate_limited));
	json_object_object_add(o, "pool_full", json_object_new_uint64(fe->stats.pool_full));
	json_object_object_add(o, "idle_closed", json_object_new_uint64(fe->stats.idle_closed));
	json_object_object_add(o, "aged_closed", json_object_new_uint64(fe->stats.aged_closed));
	json_object_object_add(o, "idle_timeout_ms", fe->svc.idle_ms ?
			       json_object_new_int64(fe->svc.idle_ms) : NULL);
	json_object_object_add(o, "max_connection_duration_ms", fe->svc.max_age_ms ?
			       json_object_new_int64(fe->svc.max_age_ms) : NULL);
	json_object_object_add(o, "max_connections", fe->svc.max_conn ?
			       json_object_new_int64(fe->svc.max_conn) : NULL);
	json_object_object_add(o, "connect_timeout_ms", fe->svc.connect_ms ?
			       json_object_new_int64(fe->svc.connect_ms) : NULL);
	json_object_object_add(o, "outlier_detection", fe->svc.eject_after ?
			       ctl_outlier_json(fe) : NULL);
	json_object_object_add(o, "connections_per_second", fe->svc.conn_rate ?
			       json_object_new_int64(fe->svc.conn_rate) : NULL);
	json_object_object_add(o, "burst", fe->svc.conn_rate ?
			       json_object_new_int64(fe->svc.conn_burst) : NULL);
	json_object_object_add(o, "same_node_redirect",
			       json_object_new_boolean(!(fe->svc.flags & SL_SVC_F_NO_REDIRECT)));
	return o;
}

int cmd_services(struct ctl *ctl, int argc, char **argv)
{
	static const char *const header[] = { "NAMESPACE", "NAME", "KIND", "VIP", "PORT",
					      "PROTO", "ENDPOINTS", "CONNECTIONS",
					      "DATAGRAMS", "REFUSED", "LIMIT",
					      "RATE-LIMITED", "MAX-CONN", "POOL-FULL" };
	struct snapshot snap;
	struct table t;
	json_object *arr;
	int ret;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "sluicectl services: takes no arguments\n");
		return CTL_USAGE;
	}
	ret = load(ctl, &snap);
	if (ret)
		return ret;
	if (ctl->json) {
		arr = json_object_new_array();
		for (size_t i = 0; i < snap.n_fe; i++)
			json_object_array_add(arr, fe_json(&snap.fe[i]));
		ctl_print_json(arr);
		json_object_put(arr);
		snapshot_free(&snap);
		return CTL_OK;
	}
	table_init(&t, 14, header);
	for (size_t i = 0; i < snap.n_fe; i++) {
		const struct snap_fe *fe = &snap.fe[i];
		char vip[SL_ADDR_STR_LEN], port[8], eps[32], conns[24], dgrams[24], refused[24];
		char limit[32], limited[24], maxc[16], full[24];
		const char *row[14];

		sl_ip_format(&fe->key.addr, fe->key.family, vip, sizeof(vip));
		snprintf(port, sizeof(port), "%u", ntohs(fe->key.port));
		snprintf(eps, sizeof(eps), "%u/%u", usable_members(fe), fe->svc.n_members);
		snprintf(conns, sizeof(conns), "%llu", (unsigned long long)fe->stats.connects);
		snprintf(dgrams, sizeof(dgrams), "%llu", (unsigned long long)fe->stats.datagrams);
		snprintf(refused, sizeof(refused), "%llu", (unsigned long long)fe->stats.refused);
		row[0] = fe->info.namespace;
		row[1] = fe->info.name;
		row[2] = snap_kind_name(fe->info.kind);
		row[3] = vip;
		row[4] = port;
		row[5] = sl_proto_name(fe->key.proto);
		row[6] = eps;
		row[7] = conns;
		row[8] = dgrams;
		row[9] = refused;
		if (fe->svc.conn_rate)
			snprintf(limit, sizeof(limit), "%u/s burst %u", fe->svc.conn_rate,
				 fe->svc.conn_burst);
		else
			snprintf(limit, sizeof(limit), "-");
		snprintf(limited, sizeof(limited), "%llu",
			 (unsigned long long)fe->stats.rate_limited);
		row[10] = limit;
		row[11] = limited;
		snprintf(maxc, sizeof(maxc), fe->svc.max_conn ? "%u" : "-", fe->svc.max_conn);
		snprintf(full, sizeof(full), "%llu", (unsigned long long)fe->stats.pool_full);
		row[12] = maxc;
		row[13] = full;
		table_row(&t, row);
	}
	table_print(&t, stdout);
	table_free(&t);
	snapshot_free(&snap);
	return CTL_OK;
}

/* How much longer an outlier-ejected endpoint gets no new connection. */
int64_t ctl_ejected_for_ms(const struct snap_member *m)
{
	uint64_t now = (uint64_t)sl_mono_ns();	/* bpf_ktime_get_ns()'s clock */

	return m->stats.ejected_until_ns > now ?
		(int64_t)((m->stats.ejected_until_ns - now) / 1000000) : 0;
}

/* A member's share of new connections while nothing is ejected: its
 * slots among those of the preferred locality priority; the members of
 * the other priorities stand by. */
double ctl_member_share(const struct snap_fe *fe, const struct snap_member *m)
{
	uint32_t n = fe->svc.n_slots;

	if (fe->svc.n_tiers > 1) {
		if (m->member.tier)
			return 0.0;
		n = fe->svc.tier_end[0];
	}
	return n ? (double)m->member.n_slots / n : 0.0;
}

json_object *ctl_member_json(const struct snap_fe *fe, const struct snap_member *m)
{
	json_object *o = json_object_new_object();
	char addr[SL_ADDR_STR_LEN], state[32];

	sl_ip_format(&m->backend.addr, m->backend.family, addr, sizeof(addr));
	snap_member_state(m->member.flags, state, sizeof(state));
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "port", json_object_new_int(ntohs(m->backend.port)));
	json_object_object_add(o, "backend_id", json_object_new_int64(m->member.backend_id));
	json_object_object_add(o, "weight", json_object_new_int64(m->member.weight));
	json_object_object_add(o, "slots", json_object_new_int64(m->member.n_slots));
	json_object_object_add(o, "share", json_object_new_double(ctl_member_share(fe, m)));
	json_object_object_add(o, "state", json_object_new_string(state));
	json_object_object_add(o, "in_use", json_object_new_boolean(m->member.n_slots > 0));
	json_object_object_add(o, "locality", json_object_new_string(m->info.locality));
	json_object_object_add(o, "locality_priority", json_object_new_int64(m->member.tier));
	json_object_object_add(o, "selected", json_object_new_uint64(m->stats.selected));
	json_object_object_add(o, "active", json_object_new_uint64(m->stats.active));
	json_object_object_add(o, "consecutive_failures",
			       json_object_new_int64(m->stats.failures));
	json_object_object_add(o, "ejections", json_object_new_int64(m->stats.ejections));
	json_object_object_add(o, "ejected_for_ms", json_object_new_int64(ctl_ejected_for_ms(m)));
	return o;
}

static void member_row(struct table *t, const struct snap_fe *fe,
		       const struct snap_member *m)
{
	char front[SL_ADDR_STR_LEN + 8], ep[SL_ADDR_STR_LEN], weight[16], share[16];
	char state[32], selected[24], tier[16];
	const char *row[10];

	sl_ip_port_format(&fe->key.addr, fe->key.family, fe->key.port, front, sizeof(front));
	snprintf(front + strlen(front), sizeof(front) - strlen(front), "/%s",
		 sl_proto_name(fe->key.proto));
	sl_ip_port_format(&m->backend.addr, m->backend.family, m->backend.port, ep, sizeof(ep));
	snprintf(weight, sizeof(weight), "%u", m->member.weight);
	snprintf(share, sizeof(share), "%.1f%%", 100.0 * ctl_member_share(fe, m));
	/* "-": the service has one priority (no locality failover). */
	snprintf(tier, sizeof(tier), fe->svc.n_tiers > 1 ? "%u" : "-", m->member.tier);
	snap_member_state(m->member.flags, state, sizeof(state));
	snprintf(selected, sizeof(selected), "%llu", (unsigned long long)m->stats.selected);
	row[0] = fe->info.namespace;
	row[1] = fe->info.name;
	row[2] = front;
	row[3] = ep;
	row[4] = weight;
	row[5] = share;
	row[6] = state;
	row[7] = m->info.locality[0] ? m->info.locality : "-";
	row[8] = tier;
	row[9] = selected;
	table_row(t, row);
}

int cmd_endpoints(struct ctl *ctl, int argc, char **argv)
{
	static const char *const header[] = { "NAMESPACE", "NAME", "FRONTEND", "ENDPOINT",
					      "WEIGHT", "SHARE", "STATE", "LOCALITY",
					      "PRIORITY", "SELECTED" };
	const char *filter = argc > 0 ? argv[0] : NULL;
	json_object *arr = NULL;
	struct snapshot snap;
	size_t matched = 0;
	struct table t;
	int ret;

	if (argc > 1) {
		fprintf(stderr, "sluicectl endpoints: at most one NAMESPACE/NAME\n");
		return CTL_USAGE;
	}
	ret = load(ctl, &snap);
	if (ret)
		return ret;
	if (ctl->json)
		arr = json_object_new_array();
	else
		table_init(&t, 10, header);
	for (size_t i = 0; i < snap.n_fe; i++) {
		const struct snap_fe *fe = &snap.fe[i];
		json_object *members = NULL, *o = NULL;

		if (!snap_fe_matches(fe, filter))
			continue;
		matched++;
		if (arr) {
			o = fe_json(fe);
			members = json_object_new_array();
			json_object_object_add(o, "members", members);
			json_object_array_add(arr, o);
		}
		for (uint32_t k = 0; k < fe->svc.n_members; k++) {
			if (arr)
				json_object_array_add(members, ctl_member_json(fe, &fe->members[k]));
			else
				member_row(&t, fe, &fe->members[k]);
		}
	}
	ctl_output(arr, &t);
	snapshot_free(&snap);
	if (filter && !matched) {
		fprintf(stderr, "sluicectl: no service %s in the maps\n", filter);
		return CTL_FAIL;
	}
	return CTL_OK;
}
