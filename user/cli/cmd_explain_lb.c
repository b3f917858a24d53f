// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl explain, for a service dialled: where the connection may go
 * (the members of the service's current revision with their shares, as
 * `sluicectl endpoints` shows them) and what limits it: the connection
 * rate limit and whether this client is among its sources, maxConnections,
 * outlier ejection of each endpoint, and the bandwidth limits of the
 * client and of the endpoints. All read from the live maps.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>

#include "ctl.h"
#include "snapshot.h"
#include "table.h"

/* The rates of sluice_bw for an address, 0 when it has no entry. */
static void bw_rates(const struct sl_maps *m, const struct sl_ip *ip, uint64_t *egress,
		     uint64_t *ingress)
{
	struct sl_workload_key key = { .addr = ip->addr, .family = ip->family };
	struct sl_bw bw;

	*egress = *ingress = 0;
	if (bpf_map_lookup_elem(m->bw, &key, &bw))
		return;
	*egress = bw.dir[SL_BW_EGRESS].rate;
	*ingress = bw.dir[SL_BW_INGRESS].rate;
}

/* Whether the service's connection rate limit counts this client. */
static bool rate_limits(const struct sl_maps *m, const struct snap_fe *fe,
			const struct sl_ip *src)
{
	struct sl_limit_src_key key = { .svc_id = fe->svc.id };
	__u32 present;

	if (!fe->svc.conn_rate)
		return false;
	if (!(fe->svc.flags & SL_SVC_F_LIMIT_SOURCES))
		return true;
	if (!src)
		return false;
	key.family = src->family;
	key.addr = src->addr;
	return !bpf_map_lookup_elem(m->limit_src, &key, &present);
}

static const char *lb_name(uint32_t flags)
{
	if (flags & SL_SVC_F_LB_HASH)
		return "consistent hash of the source address";
	if (flags & SL_SVC_F_LB_RANDOM)
		return "random";
	if (flags & SL_SVC_F_LB_LEAST)
		return "least request";
	return "round robin";
}

static uint32_t in_use(const struct snap_fe *fe)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < fe->svc.n_members; i++)
		n += fe->members[i].member.n_slots > 0;
	return n;
}

static void fmt_rate(uint64_t v, char *buf, size_t len)
{
	snprintf(buf, len, v ? "%llu B/s" : "none", (unsigned long long)v);
}

static void member_row(struct table *t, const struct sl_maps *m, const struct snap_fe *fe,
		       const struct snap_member *sm)
{
	char ep[SL_ADDR_STR_LEN], weight[16], share[16], state[32], tier[16], active[24];
	char ejected[32], bw[32];
	struct sl_ip ip = { sm->backend.addr, sm->backend.family };
	int64_t ms = ctl_ejected_for_ms(sm);
	uint64_t egress, ingress;
	const char *row[9];

	sl_ip_port_format(&sm->backend.addr, sm->backend.family, sm->backend.port, ep,
			  sizeof(ep));
	snprintf(weight, sizeof(weight), "%u", sm->member.weight);
	snprintf(share, sizeof(share), "%.1f%%", 100.0 * ctl_member_share(fe, sm));
	snap_member_state(sm->member.flags, state, sizeof(state));
	snprintf(tier, sizeof(tier), fe->svc.n_tiers > 1 ? "%u" : "-", sm->member.tier);
	snprintf(active, sizeof(active), "%llu", (unsigned long long)sm->stats.active);
	snprintf(ejected, sizeof(ejected), ms ? "for %lld ms" : "no", (long long)ms);
	bw_rates(m, &ip, &egress, &ingress);
	fmt_rate(ingress, bw, sizeof(bw));
	row[0] = ep;
	row[1] = weight;
	row[2] = share;
	row[3] = state;
	row[4] = sm->info.locality[0] ? sm->info.locality : "-";
	row[5] = tier;
	row[6] = active;
	row[7] = ejected;
	row[8] = bw;
	table_row(t, row);
}

static void print_limits(const struct sl_maps *m, const struct snap_fe *fe,
			 const struct sl_ip *src)
{
	uint64_t egress, ingress;
	char e[32], i[32];

	if (!fe->svc.conn_rate)
		printf("  connection rate:  no limit\n");
	else
		printf("  connection rate:  %u/s, burst %u; %s\n", fe->svc.conn_rate,
		       fe->svc.conn_burst, rate_limits(m, fe, src) ?
		       (fe->svc.flags & SL_SVC_F_LIMIT_SOURCES ? "this client is among its "
			"sources: limited" : "every client: limited") :
		       "this client is not among its sources: not limited");
	printf(fe->svc.max_conn ? "  maxConnections:   %u per endpoint from this node\n" :
	       "  maxConnections:   none\n", fe->svc.max_conn);
	if (fe->svc.eject_after)
		printf("  outlier ejection: after %u consecutive connect failures, for %u ms "
		       "(times the ejections), at most %u%% ejected\n", fe->svc.eject_after,
		       fe->svc.eject_ms, fe->svc.eject_max_pct);
	else
		printf("  outlier ejection: none\n");
	if (!src)
		return;
	bw_rates(m, src, &egress, &ingress);
	fmt_rate(egress, e, sizeof(e));
	fmt_rate(ingress, i, sizeof(i));
	printf("  client bandwidth: egress %s, ingress %s\n", e, i);
}

static void print_service(const struct sl_maps *m, const struct snap_fe *fe,
			  const struct sl_ip *src)
{
	static const char *const header[] = { "ENDPOINT", "WEIGHT", "SHARE", "STATE",
					      "LOCALITY", "PRIORITY", "ACTIVE", "EJECTED",
					      "BANDWIDTH-IN" };
	char vip[SL_ADDR_STR_LEN];
	struct table t;

	sl_ip_port_format(&fe->key.addr, fe->key.family, fe->key.port, vip, sizeof(vip));
	printf("\nservice %s/%s %s/%s: revision %u, %u of %u endpoints in use, %s, "
	       "%u locality priorit%s\n", fe->info.namespace, fe->info.name, vip,
	       sl_proto_name(fe->key.proto), fe->svc.rev, in_use(fe), fe->svc.n_members,
	       lb_name(fe->svc.flags), fe->svc.n_tiers > 1 ? fe->svc.n_tiers : 1,
	       fe->svc.n_tiers > 1 ? "ies" : "y");
	table_init(&t, 9, header);
	for (uint32_t i = 0; i < fe->svc.n_members; i++)
		member_row(&t, m, fe, &fe->members[i]);
	table_print(&t, stdout);
	table_free(&t);
	print_limits(m, fe, src);
}

static json_object *limits_json(const struct sl_maps *m, const struct snap_fe *fe,
				const struct sl_ip *src)
{
	json_object *o = json_object_new_object(), *r = NULL, *bw = NULL;
	uint64_t egress, ingress;

	if (fe->svc.conn_rate) {
		r = json_object_new_object();
		json_object_object_add(r, "connections_per_second",
				       json_object_new_int64(fe->svc.conn_rate));
		json_object_object_add(r, "burst", json_object_new_int64(fe->svc.conn_burst));
		json_object_object_add(r, "sources_only", json_object_new_boolean(
			fe->svc.flags & SL_SVC_F_LIMIT_SOURCES));
		json_object_object_add(r, "applies", json_object_new_boolean(
			rate_limits(m, fe, src)));
	}
	json_object_object_add(o, "rate_limit", r);
	json_object_object_add(o, "max_connections", fe->svc.max_conn ?
			       json_object_new_int64(fe->svc.max_conn) : NULL);
	json_object_object_add(o, "outlier_detection", fe->svc.eject_after ?
			       ctl_outlier_json(fe) : NULL);
	if (src) {
		bw_rates(m, src, &egress, &ingress);
		bw = json_object_new_object();
		json_object_object_add(bw, "egress_bytes_per_second",
				       egress ? json_object_new_uint64(egress) : NULL);
		json_object_object_add(bw, "ingress_bytes_per_second",
				       ingress ? json_object_new_uint64(ingress) : NULL);
	}
	json_object_object_add(o, "source_bandwidth", bw);
	return o;
}

static json_object *service_json(const struct sl_maps *m, const struct snap_fe *fe,
				 const struct sl_ip *src)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	char vip[SL_ADDR_STR_LEN];

	sl_ip_format(&fe->key.addr, fe->key.family, vip, sizeof(vip));
	json_object_object_add(o, "namespace", json_object_new_string(fe->info.namespace));
	json_object_object_add(o, "name", json_object_new_string(fe->info.name));
	json_object_object_add(o, "vip", json_object_new_string(vip));
	json_object_object_add(o, "port", json_object_new_int(ntohs(fe->key.port)));
	json_object_object_add(o, "revision", json_object_new_int64(fe->svc.rev));
	json_object_object_add(o, "load_balancing", json_object_new_string(lb_name(fe->svc.flags)));
	json_object_object_add(o, "locality_priorities",
			       json_object_new_int64(fe->svc.n_tiers > 1 ? fe->svc.n_tiers : 1));
	for (uint32_t i = 0; i < fe->svc.n_members; i++) {
		const struct snap_member *sm = &fe->members[i];
		json_object *mj = ctl_member_json(fe, sm);
		struct sl_ip ip = { sm->backend.addr, sm->backend.family };
		uint64_t egress, ingress;

		bw_rates(m, &ip, &egress, &ingress);
		json_object_object_add(mj, "ingress_bytes_per_second",
				       ingress ? json_object_new_uint64(ingress) : NULL);
		json_object_array_add(arr, mj);
	}
	json_object_object_add(o, "endpoints", arr);
	json_object_object_add(o, "limits", limits_json(m, fe, src));
	return o;
}

json_object *ctl_explain_services(const struct sl_maps *m, const struct snap_fe *const *fes,
				  size_t n, const struct ctl_addrs *src, bool json)
{
	json_object *arr = json ? json_object_new_array() : NULL;

	for (size_t i = 0; i < n; i++) {
		const struct sl_ip *ip = NULL;
		bool seen = !fes[i];

		for (size_t k = 0; k < i && !seen; k++)
			seen = fes[k] == fes[i];
		if (seen)
			continue;
		for (size_t k = 0; k < src->n && !ip; k++)
			if (src->v[k].family == fes[i]->key.family)
				ip = &src->v[k];
		if (arr)
			json_object_array_add(arr, service_json(m, fes[i], ip));
		else
			print_service(m, fes[i], ip);
	}
	return arr;
}
