// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluicectl bandwidth: the workloads with bandwidth limits on this node,
 * and what the policer did with their bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "snapshot.h"
#include "table.h"

struct bw_row {
	struct sl_ip ip;
	struct sl_bw bw;
	char workload[SL_NAMESPACE_LEN + SL_NAME_LEN + 2];
};

struct bw_rows {
	struct bw_row *v;
	size_t n, cap;
};

static void collect(const void *key, const void *value, void *arg)
{
	const struct sl_workload_key *k = key;
	struct bw_rows *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 32;
		r->v = ctl_xrealloc(r->v, r->cap * sizeof(*r->v));
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	r->v[r->n].ip = (struct sl_ip){ k->addr, k->family };
	memcpy(&r->v[r->n].bw, value, sizeof(struct sl_bw));
	r->n++;
}

static int cmp_row(const void *a, const void *b)
{
	const struct bw_row *x = a, *y = b;
	int c = strcmp(x->workload, y->workload);

	return c ? c : sl_ip_cmp(&x->ip, &y->ip);
}

static json_object *dir_json(const struct sl_bw_dir *d)
{
	json_object *o;

	if (!d->rate)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "rate_bps", json_object_new_int64((int64_t)d->rate * 8));
	json_object_object_add(o, "burst_bytes", json_object_new_int64((int64_t)d->burst));
	json_object_object_add(o, "passed_bytes", json_object_new_int64((int64_t)d->passed_bytes));
	json_object_object_add(o, "dropped_bytes",
			       json_object_new_int64((int64_t)d->dropped_bytes));
	json_object_object_add(o, "dropped_packets",
			       json_object_new_int64((int64_t)d->dropped_pkts));
	json_object_object_add(o, "deferred_messages",
			       json_object_new_int64((int64_t)d->deferred_msgs));
	return o;
}

static json_object *row_json(const struct bw_row *row)
{
	json_object *o = json_object_new_object();
	char addr[SL_ADDR_STR_LEN];

	sl_ip_format(&row->ip.addr, row->ip.family, addr, sizeof(addr));
	json_object_object_add(o, "workload", row->workload[0] ?
			       json_object_new_string(row->workload) : NULL);
	json_object_object_add(o, "address", json_object_new_string(addr));
	json_object_object_add(o, "egress", dir_json(&row->bw.dir[SL_BW_EGRESS]));
	json_object_object_add(o, "ingress", dir_json(&row->bw.dir[SL_BW_INGRESS]));
	return o;
}

/* "10M" style rates, as the configuration writes them. */
static void format_rate(uint64_t bytes_per_s, char *buf, size_t len)
{
	static const char *const units[] = { "", "k", "M", "G" };
	double v = (double)bytes_per_s * 8;
	int u = 0;

	if (!bytes_per_s) {
		snprintf(buf, len, "-");
		return;
	}
	while (v >= 1000 && u < 3) {
		v /= 1000;
		u++;
	}
	snprintf(buf, len, "%.4g%s", v, units[u]);
}

static void table_add(struct table *t, const struct bw_row *row)
{
	char addr[SL_ADDR_STR_LEN], eg[16], in[16], passed[48], dropped[48], deferred[48];
	const struct sl_bw_dir *e = &row->bw.dir[SL_BW_EGRESS], *i = &row->bw.dir[SL_BW_INGRESS];
	const char *cells[7];

	sl_ip_format(&row->ip.addr, row->ip.family, addr, sizeof(addr));
	format_rate(e->rate, eg, sizeof(eg));
	format_rate(i->rate, in, sizeof(in));
	snprintf(passed, sizeof(passed), "%llu/%llu", (unsigned long long)e->passed_bytes,
		 (unsigned long long)i->passed_bytes);
	snprintf(dropped, sizeof(dropped), "%llu/%llu", (unsigned long long)e->dropped_pkts,
		 (unsigned long long)i->dropped_pkts);
	snprintf(deferred, sizeof(deferred), "%llu/%llu",
		 (unsigned long long)e->deferred_msgs, (unsigned long long)i->deferred_msgs);
	cells[0] = row->workload[0] ? row->workload : "-";
	cells[1] = addr;
	cells[2] = eg;
	cells[3] = in;
	cells[4] = passed;
	cells[5] = dropped;
	cells[6] = deferred;
	table_row(t, cells);
}

int cmd_bandwidth(struct ctl *ctl, int argc, char **argv)
{
	static const char *const header[] = { "WORKLOAD", "ADDRESS", "EGRESS", "INGRESS",
					      "BYTES(E/I)", "DROPPED(E/I)", "DEFERRED(E/I)" };
	json_object *arr = NULL;
	struct bw_rows rows = { 0 };
	struct sl_maps maps;
	struct sl_err err;
	struct table t;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "sluicectl bandwidth: takes no arguments\n");
		return CTL_USAGE;
	}
	if (ctl_open_maps(ctl, &maps) < 0)
		return CTL_NO_STATE;
	if (snap_map_walk(maps.bw, sizeof(struct sl_workload_key), sizeof(struct sl_bw),
			  collect, &rows, &err) < 0) {
		fprintf(stderr, "sluicectl: sluice_bw: %s\n", err.msg);
		sl_maps_close(&maps);
		return CTL_NO_STATE;
	}
	for (size_t i = 0; i < rows.n; i++) {
		struct sl_workload_info info;

		if (ctl_workload_at(&maps, &rows.v[i].ip, &info))
			snprintf(rows.v[i].workload, sizeof(rows.v[i].workload), "%s/%s",
				 info.namespace, info.name);
	}
	if (rows.n)
		qsort(rows.v, rows.n, sizeof(*rows.v), cmp_row);
	if (ctl->json)
		arr = json_object_new_array();
	else
		table_init(&t, 7, header);
	for (size_t i = 0; i < rows.n; i++) {
		if (arr)
			json_object_array_add(arr, row_json(&rows.v[i]));
		else
			table_add(&t, &rows.v[i]);
	}
	ctl_output(arr, &t);
	free(rows.v);
	sl_maps_close(&maps);
	return CTL_OK;
}
