// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl explain: the authorization verdict for a connection. Names
 * are resolved to the addresses and ports the kernel decides on (for a
 * service, every endpoint it may balance to), then ctl_policy_decide
 * repeats the kernel's lookups on the live maps, so what it says is what
 * the datapath does.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctl.h"
#include "snapshot.h"

#define OPT_FROM 0
#define OPT_TO 1
#define TEXT_LEN 1024

const char *const ctl_explain_opts[] = { "from", "to", NULL };

const char ctl_explain_help[] =
	"SRC is an IP address or a workload NAMESPACE/NAME (NAME alone: namespace\n"
	"default); of a workload with IPv4 and IPv6 addresses, the one of the\n"
	"destination's family is used. DST is an IP address (a workload's or a\n"
	"service VIP), a service NAMESPACE/NAME or a workload NAMESPACE/NAME; an\n"
	"IPv6 address is written [ADDR]:PORT. PORT is the port dialled: for a\n"
	"service, its port, and every endpoint in use is explained with its\n"
	"target port, as the kernel decides after choosing one. PROTO is tcp\n"
	"(default) or udp. The verdict is the one both the client's connect and\n"
	"the server's socket lookup reach.\n\n"
	"Exit codes: 0 every destination allowed, 1 one is denied or refused (or\n"
	"SRC or DST names nothing), 2 usage error, 3 Sluice state not found.\n";

/* One place the connection may end up. */
struct ex_target {
	struct sl_ip dst;
	uint16_t port;			/* host order: the port decided on */
	const struct snap_fe *fe;	/* the service frontend dialled, or NULL */
	bool refused;			/* the frontend has no endpoint in use */
};

struct ex_side {
	struct ctl_peer p;
	bool named;			/* wl holds its sluice_workload_info */
	struct sl_workload_info wl;
};

struct ex_result {
	const struct ex_target *t;
	struct ex_side src, dst;
	struct ctl_decision d;
};

struct explain {
	const char *from, *to;
	struct {			/* --to, parsed */
		char host[SL_NAMESPACE_LEN + SL_NAME_LEN + 8];	/* address or name */
		uint16_t port;
		uint8_t proto;
	} q;
	struct sl_maps maps;
	struct snapshot snap;
	uint32_t state;			/* sl_settings.policy */
	struct ctl_addrs src;
	struct ex_target *targets;
	size_t n_targets, cap_targets;
	struct ex_result *res;
	size_t n_res;
	size_t skipped;			/* targets of a family SRC lacks */
};

/* ---- arguments ---- */

/* DST:PORT[/PROTO]; names hold no ':', so the last one ends DST. */
static int parse_to(const char *text, struct explain *ex)
{
	char buf[sizeof(ex->q.host) + 16], *colon, *proto, *end, *host = buf;
	unsigned long port;
	size_t len;

	if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
		return -1;
	colon = strrchr(buf, ':');
	if (!colon)
		return -1;
	*colon = '\0';
	proto = strchr(colon + 1, '/');
	if (proto)
		*proto++ = '\0';
	if (proto && strcasecmp(proto, "tcp") && strcasecmp(proto, "udp"))
		return -1;
	ex->q.proto = proto && !strcasecmp(proto, "udp") ? SL_PROTO_UDP : SL_PROTO_TCP;
	port = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end || port < 1 || port > 65535)
		return -1;
	ex->q.port = (uint16_t)port;
	len = strlen(host);
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host[len - 1] = '\0';
		host++;
	}
	if (!*host || strlen(host) >= sizeof(ex->q.host))
		return -1;
	memcpy(ex->q.host, host, strlen(host) + 1);
	return 0;
}

static int parse_args(struct ctl *ctl, int argc, struct explain *ex)
{
	ex->from = ctl->opt[OPT_FROM];
	ex->to = ctl->opt[OPT_TO];
	if (argc > 0 || !ex->from || !ex->to || !*ex->from) {
		fprintf(stderr, "sluicectl explain: --from SRC and --to DST:PORT[/PROTO] "
			"expected, nothing else\n");
		return -1;
	}
	if (parse_to(ex->to, ex) < 0) {
		fprintf(stderr, "sluicectl explain: --to \"%s\": DST:PORT[/PROTO] expected, "
			"PORT 1-65535, PROTO tcp or udp\n", ex->to);
		return -1;
	}
	return 0;
}

/* ---- resolving names ---- */

static int resolve_from(struct explain *ex)
{
	struct sl_ip ip;

	if (!sl_ip_parse(ex->from, &ip)) {
		ctl_add_addr(&ex->src, &ip);
		return 0;
	}
	if (ctl_workload_addrs(&ex->maps, ex->from, &ex->src) < 0)
		return -1;
	if (!ex->src.n)
		fprintf(stderr, "sluicectl explain: --from %s: no workload of that name "
			"in the maps\n", ex->from);
	return ex->src.n ? 0 : -1;
}

static void add_target(struct explain *ex, const struct ex_target *t)
{
	/* Frontends of one service (several VIPs) share their endpoints. */
	for (size_t i = 0; i < ex->n_targets; i++)
		if (!sl_ip_cmp(&ex->targets[i].dst, &t->dst) &&
		    ex->targets[i].port == t->port && ex->targets[i].refused == t->refused)
			return;
	if (ex->n_targets == ex->cap_targets) {
		ex->cap_targets = ex->cap_targets ? ex->cap_targets * 2 : 16;
		ex->targets = ctl_xrealloc(ex->targets,
					   ex->cap_targets * sizeof(*ex->targets));
	}
	ex->targets[ex->n_targets++] = *t;
}

/* The endpoints the frontend can balance to: those holding slots. With
 * none, the kernel refuses the connection before any policy. */
static void add_frontend(struct explain *ex, const struct snap_fe *fe)
{
	struct ex_target t = { .fe = fe };

	if (!fe->svc.n_slots) {
		t.dst = (struct sl_ip){ fe->key.addr, fe->key.family };
		t.port = ntohs(fe->key.port);
		t.refused = true;
		add_target(ex, &t);
		return;
	}
	for (uint32_t i = 0; i < fe->svc.n_members; i++) {
		const struct snap_member *sm = &fe->members[i];

		if (!sm->member.n_slots)
			continue;
		t.dst = (struct sl_ip){ sm->backend.addr, sm->backend.family };
		t.port = ntohs(sm->backend.port);
		add_target(ex, &t);
	}
}

static bool fe_dialled(const struct snap_fe *fe, const struct explain *ex)
{
	return ntohs(fe->key.port) == ex->q.port && fe->key.proto == ex->q.proto;
}

/* An address is a VIP when a frontend (address, port, protocol) exists:
 * then the kernel balances first, else it decides on the address. */
static void resolve_to_addr(struct explain *ex, const struct sl_ip *ip)
{
	for (size_t i = 0; i < ex->snap.n_fe; i++) {
		const struct snap_fe *fe = &ex->snap.fe[i];
		struct sl_ip vip = { fe->key.addr, fe->key.family };

		if (fe_dialled(fe, ex) && !sl_ip_cmp(&vip, ip)) {
			add_frontend(ex, fe);
			return;
		}
	}
	add_target(ex, &(struct ex_target){ .dst = *ip, .port = ex->q.port });
}

/* A name is a service's when it has a frontend on the port dialled,
 * else a workload's. */
static int resolve_to(struct explain *ex)
{
	struct ctl_addrs wl = { 0 };
	bool service = false;
	struct sl_ip ip;

	if (!sl_ip_parse(ex->q.host, &ip)) {
		resolve_to_addr(ex, &ip);
		return 0;
	}
	for (size_t i = 0; i < ex->snap.n_fe; i++) {
		const struct snap_fe *fe = &ex->snap.fe[i];

		if (!snap_fe_matches(fe, ex->q.host))
			continue;
		service = true;
		if (fe_dialled(fe, ex))
			add_frontend(ex, fe);
	}
	if (!ex->n_targets && ctl_workload_addrs(&ex->maps, ex->q.host, &wl) < 0)
		return -1;
	for (size_t i = 0; i < wl.n; i++)
		add_target(ex, &(struct ex_target){ .dst = wl.v[i], .port = ex->q.port });
	free(wl.v);
	if (ex->n_targets)
		return 0;
	if (service)
		fprintf(stderr, "sluicectl explain: service %s has no port %u/%s\n",
			ex->q.host, ex->q.port, sl_proto_name(ex->q.proto));
	else
		fprintf(stderr, "sluicectl explain: --to %s: no service or workload of "
			"that name in the maps\n", ex->q.host);
	return -1;
}

/* The source address of the destination's family: a client pod connects
 * from its address of the family it dials. */
static int pick_source(const struct explain *ex, uint8_t family, struct sl_ip *out)
{
	size_t found = 0;

	for (size_t i = 0; i < ex->src.n; i++) {
		if (ex->src.v[i].family != family)
			continue;
		if (!found)
			*out = ex->src.v[i];
		found++;
	}
	if (found > 1)
		fprintf(stderr, "sluicectl explain: --from %s has %zu IPv%c addresses: "
			"give one of them\n", ex->from, found,
			family == SL_AF_INET ? '4' : '6');
	return found > 1 ? -1 : (int)found;
}

/* ---- deciding ---- */

static int decide_all(struct explain *ex)
{
	ex->res = ctl_xrealloc(NULL, (ex->n_targets + 1) * sizeof(*ex->res));
	for (size_t i = 0; i < ex->n_targets; i++) {
		struct ex_result *r = &ex->res[ex->n_res];
		struct sl_ip src;
		int found = pick_source(ex, ex->targets[i].dst.family, &src);

		if (found < 0)
			return -1;
		ex->skipped += !found;
		if (!found)
			continue;
		memset(r, 0, sizeof(*r));
		r->t = &ex->targets[i];
		r->src.p.ip = src;
		r->dst.p.ip = r->t->dst;
		r->src.named = ctl_workload_at(&ex->maps, &src, &r->src.wl);
		r->dst.named = ctl_workload_at(&ex->maps, &r->t->dst, &r->dst.wl);
		/* A refused connection stays not allowed: d is zero. */
		if (!r->t->refused)
			ctl_policy_decide(&ex->maps, ex->state, &r->src.p, &r->dst.p,
					  r->t->port, &r->d);
		ex->n_res++;
	}
	if (!ex->n_res)
		fprintf(stderr, "sluicectl explain: --from %s has no address of the "
			"destination's family\n", ex->from);
	return ex->n_res ? 0 : -1;
}

/* ---- output ---- */

/* The verdict came from an entry of sluice_policy or sluice_policy_set. */
static bool from_tables(const struct ex_result *r)
{
	return !r->t->refused && r->d.lookup >= CTL_LOOKUP_PORT &&
	       r->d.lookup <= CTL_LOOKUP_DEFAULT;
}

static const char *verdict_name(const struct ex_result *r)
{
	return r->t->refused ? "REFUSED" : r->d.allowed ? "ALLOW" : "DENY";
}

static void reason_text(const struct explain *ex, const struct ex_result *r, char *buf,
			size_t len)
{
	if (r->t->refused)
		snprintf(buf, len, "the service has no endpoint in use: refused before "
			 "any policy");
	else if (r->d.lookup == CTL_LOOKUP_OFF)
		snprintf(buf, len, "no AuthorizationPolicy configured: everything allowed");
	else if (r->d.lookup == CTL_LOOKUP_NOT_SELECTED)
		snprintf(buf, len, "no AuthorizationPolicy selects the destination");
	else if (r->d.lookup == CTL_LOOKUP_NO_DEFAULT)
		snprintf(buf, len, "destination set %u has no default verdict (tables "
			 "inconsistent): denied", r->dst.p.cache.dst_set);
	else
		ctl_policy_text(&ex->maps, r->d.v.policy, r->d.v.rule, r->d.v.verdict, buf, len);
}

static const char *lookup_name(const struct ex_result *r)
{
	static const char *const names[] = {
		[CTL_LOOKUP_OFF] = "off", [CTL_LOOKUP_NOT_SELECTED] = "not_selected",
		[CTL_LOOKUP_PORT] = "exact_port", [CTL_LOOKUP_ANY_PORT] = "any_port",
		[CTL_LOOKUP_DEFAULT] = "set_default",
		[CTL_LOOKUP_NO_DEFAULT] = "set_default_missing",
	};

	return r->t->refused ? "refused" : names[r->d.lookup];
}

static void lookup_text(const struct ex_result *r, char *buf, size_t len)
{
	uint32_t set = r->dst.p.cache.dst_set, class = r->src.p.cache.src_class;
	bool exact = r->d.lookup == CTL_LOOKUP_PORT;

	if (r->t->refused || r->d.lookup == CTL_LOOKUP_OFF)
		snprintf(buf, len, "none");
	else if (r->d.lookup == CTL_LOOKUP_NOT_SELECTED)
		snprintf(buf, len, "destination %s sluice_ipcache",
			 r->dst.p.in_cache ? "has set 0 in" : "not in");
	else if (exact || r->d.lookup == CTL_LOOKUP_ANY_PORT)
		snprintf(buf, len, "%s port: sluice_policy (set %u, class %u, port %u)",
			 exact ? "exact" : "any", set, class, exact ? r->t->port : 0);
	else
		snprintf(buf, len, "set default%s: sluice_policy_set (set %u)",
			 r->d.lookup == CTL_LOOKUP_NO_DEFAULT ? " missing" : "", set);
}

/* The identity the kernel saw: the ipcache's, else the workload's. */
static uint32_t side_identity(const struct ex_side *s)
{
	return s->p.in_cache ? s->p.cache.identity : s->named ? s->wl.identity : 0;
}

/* Classes and sets exist only where the kernel looked them up. */
static bool side_looked_up(const struct ex_result *r)
{
	return !r->t->refused && r->d.lookup != CTL_LOOKUP_OFF;
}

static void side_text(const struct explain *ex, const struct ex_result *r,
		      const struct ex_side *s, bool src, char *buf, size_t len)
{
	char addr[SL_ADDR_STR_LEN], who[SL_NAMESPACE_LEN + SL_NAME_LEN + 48];
	char principal[SL_NAMESPACE_LEN + SL_SA_LEN + 64], tail[96] = "";
	uint32_t id = side_identity(s);

	sl_ip_format(&s->p.ip.addr, s->p.ip.family, addr, sizeof(addr));
	if (s->named)
		snprintf(who, sizeof(who), " %s/%s (%s)", s->wl.namespace, s->wl.name,
			 ctl_workload_kind(s->wl.kind));
	else
		snprintf(who, sizeof(who), " (no workload)");
	ctl_principal(&ex->maps, id, principal, sizeof(principal));
	if (side_looked_up(r) && !s->p.in_cache)
		snprintf(tail, sizeof(tail), ", not in sluice_ipcache%s",
			 src ? ": class 0 (unknown peer)" : "");
	else if (side_looked_up(r))
		snprintf(tail, sizeof(tail), ", %s %u", src ? "class" : "set",
			 src ? s->p.cache.src_class : s->p.cache.dst_set);
	if (id)
		snprintf(buf, len, "%s%s, %s (identity %u)%s", addr, who, principal, id, tail);
	else
		snprintf(buf, len, "%s%s, no identity%s", addr, who, tail);
}

static void target_text(const struct ex_result *r, uint8_t proto, char *buf, size_t len)
{
	const struct snap_fe *fe = r->t->fe;
	char ep[SL_ADDR_STR_LEN], vip[SL_ADDR_STR_LEN];

	sl_ip_port_format(&r->t->dst.addr, r->t->dst.family, htons(r->t->port), ep,
			  sizeof(ep));
	if (!fe) {
		snprintf(buf, len, "%s/%s", ep, sl_proto_name(proto));
		return;
	}
	sl_ip_port_format(&fe->key.addr, fe->key.family, fe->key.port, vip, sizeof(vip));
	if (r->t->refused)
		snprintf(buf, len, "%s/%s, service %s/%s", vip, sl_proto_name(proto),
			 fe->info.namespace, fe->info.name);
	else
		snprintf(buf, len, "%s/%s, endpoint of service %s/%s (%s)", ep,
			 sl_proto_name(proto), fe->info.namespace, fe->info.name, vip);
}

static void print_result(const struct explain *ex, const struct ex_result *r)
{
	const struct sl_policy_verdict *v = &r->d.v;
	char buf[TEXT_LEN];

	target_text(r, ex->q.proto, buf, sizeof(buf));
	printf("\nto %s\n  verdict:      %s\n", buf, verdict_name(r));
	reason_text(ex, r, buf, sizeof(buf));
	printf("  decided by:   %s\n", buf);
	lookup_text(r, buf, sizeof(buf));
	printf("  lookup:       %s\n", buf);
	if (from_tables(r) && v->shadow != v->verdict) {
		ctl_policy_text(&ex->maps, v->shadow_policy, v->shadow_rule, v->shadow, buf,
			    sizeof(buf));
		printf("  dry-run:      %s by %s (not enforced)\n",
		       v->shadow == SL_VERDICT_DENY ? "DENY" : "ALLOW", buf);
	}
	if (from_tables(r) && v->audit) {
		ctl_policy_text(&ex->maps, v->audit_policy, v->audit_rule, 0, buf, sizeof(buf));
		printf("  audit:        %s\n", buf);
	}
	side_text(ex, r, &r->src, true, buf, sizeof(buf));
	printf("  source:       %s\n", buf);
	side_text(ex, r, &r->dst, false, buf, sizeof(buf));
	printf("  destination:  %s\n", buf);
}

/* What balances and limits each service dialled (cmd_explain_lb.c). */
static json_object *services(const struct explain *ex, bool json)
{
	const struct snap_fe **fes = ctl_xrealloc(NULL, (ex->n_targets + 1) * sizeof(*fes));
	json_object *arr;

	for (size_t i = 0; i < ex->n_targets; i++)
		fes[i] = ex->targets[i].fe;
	arr = ctl_explain_services(&ex->maps, fes, ex->n_targets, &ex->src, json);
	free(fes);
	return arr;
}

static void print_table(const struct explain *ex)
{
	if (ex->state)
		printf("policy enforcement: in force (bank %u)\n", ex->state - 1);
	else
		printf("policy enforcement: off: no AuthorizationPolicy configured: "
		       "everything allowed\n");
	for (size_t i = 0; i < ex->n_res; i++)
		print_result(ex, &ex->res[i]);
	if (ex->skipped)
		printf("\n%zu destinations left out: --from %s has no address of their "
		       "family\n", ex->skipped, ex->from);
	services(ex, false);
}

static void jadd(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static json_object *side_json(const struct explain *ex, const struct ex_result *r,
			      const struct ex_side *s, bool src)
{
	json_object *o = json_object_new_object();
	char addr[SL_ADDR_STR_LEN], principal[SL_NAMESPACE_LEN + SL_SA_LEN + 64];
	bool looked = side_looked_up(r);
	uint32_t id = side_identity(s);

	sl_ip_format(&s->p.ip.addr, s->p.ip.family, addr, sizeof(addr));
	ctl_principal(&ex->maps, id, principal, sizeof(principal));
	jadd(o, "address", jstr(addr));
	jadd(o, "namespace", jstr(s->named ? s->wl.namespace : NULL));
	jadd(o, "name", jstr(s->named ? s->wl.name : NULL));
	jadd(o, "kind", jstr(s->named ? ctl_workload_kind(s->wl.kind) : NULL));
	jadd(o, "identity", jstr(id ? principal : NULL));
	jadd(o, "identity_id", json_object_new_int64(id));
	jadd(o, "in_ipcache", looked ? json_object_new_boolean(s->p.in_cache) : NULL);
	jadd(o, src ? "class" : "set", !looked ? NULL : json_object_new_int64(
		     src ? s->p.cache.src_class : s->p.cache.dst_set));
	return o;
}

static json_object *service_json(const struct snap_fe *fe)
{
	json_object *o;
	char vip[SL_ADDR_STR_LEN];

	if (!fe)
		return NULL;
	o = json_object_new_object();
	sl_ip_format(&fe->key.addr, fe->key.family, vip, sizeof(vip));
	jadd(o, "namespace", jstr(fe->info.namespace));
	jadd(o, "name", jstr(fe->info.name));
	jadd(o, "vip", jstr(vip));
	jadd(o, "port", json_object_new_int(ntohs(fe->key.port)));
	return o;
}

static json_object *dry_run_json(const struct explain *ex, const struct ex_result *r)
{
	const struct sl_policy_verdict *v = &r->d.v;
	json_object *o;

	if (!from_tables(r))
		return NULL;
	o = json_object_new_object();
	jadd(o, "verdict", jstr(v->shadow == SL_VERDICT_DENY ? "DENY" : "ALLOW"));
	jadd(o, "differs", json_object_new_boolean(v->shadow != v->verdict));
	jadd(o, "decided_by", ctl_policy_json(&ex->maps, v->shadow_policy, v->shadow_rule));
	return o;
}

static json_object *result_json(const struct explain *ex, const struct ex_result *r)
{
	const struct sl_policy_verdict *v = &r->d.v;
	json_object *o = json_object_new_object();
	char addr[SL_ADDR_STR_LEN], buf[TEXT_LEN];

	sl_ip_format(&r->t->dst.addr, r->t->dst.family, addr, sizeof(addr));
	reason_text(ex, r, buf, sizeof(buf));
	jadd(o, "address", jstr(addr));
	jadd(o, "port", json_object_new_int(r->t->port));
	jadd(o, "service", service_json(r->t->fe));
	jadd(o, "verdict", jstr(verdict_name(r)));
	jadd(o, "allowed", json_object_new_boolean(r->d.allowed));
	jadd(o, "lookup", jstr(lookup_name(r)));
	jadd(o, "decided_by", from_tables(r) ? ctl_policy_json(&ex->maps, v->policy, v->rule) :
	     NULL);
	jadd(o, "reason", jstr(buf));
	jadd(o, "dry_run", dry_run_json(ex, r));
	jadd(o, "audit", from_tables(r) && v->audit ?
	     ctl_policy_json(&ex->maps, v->audit_policy, v->audit_rule) : NULL);
	jadd(o, "source", side_json(ex, r, &r->src, true));
	jadd(o, "destination", side_json(ex, r, &r->dst, false));
	return o;
}

static void print_json(const struct explain *ex, bool allowed)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();

	jadd(o, "from", jstr(ex->from));
	jadd(o, "to", jstr(ex->to));
	jadd(o, "protocol", jstr(sl_proto_name(ex->q.proto)));
	jadd(o, "port", json_object_new_int(ex->q.port));
	jadd(o, "policy_in_force", json_object_new_boolean(ex->state != 0));
	jadd(o, "bank", ex->state ? json_object_new_int64(ex->state - 1) : NULL);
	jadd(o, "allowed", json_object_new_boolean(allowed));
	jadd(o, "skipped", json_object_new_int64((int64_t)ex->skipped));
	for (size_t i = 0; i < ex->n_res; i++)
		json_object_array_add(arr, result_json(ex, &ex->res[i]));
	jadd(o, "destinations", arr);
	jadd(o, "services", services(ex, true));
	ctl_print_json(o);
	json_object_put(o);
}

/* ---- the command ---- */

static int load(struct ctl *ctl, struct explain *ex)
{
	struct sl_err err;

	if (ctl_open_maps(ctl, &ex->maps) < 0)
		return CTL_NO_STATE;
	if (ctl_policy_state(&ex->maps, &ex->state) < 0) {
		sl_maps_close(&ex->maps);
		return CTL_NO_STATE;
	}
	if (snapshot_read(&ex->maps, &ex->snap, &err) < 0) {
		fprintf(stderr, "sluicectl: %s\n", err.msg);
		sl_maps_close(&ex->maps);
		return CTL_NO_STATE;
	}
	return CTL_OK;
}

static void release(struct explain *ex)
{
	free(ex->res);
	free(ex->targets);
	free(ex->src.v);
	snapshot_free(&ex->snap);
	sl_maps_close(&ex->maps);
}

int cmd_explain(struct ctl *ctl, int argc, char **argv)
{
	struct explain ex;
	bool allowed = true;
	int ret;

	(void)argv;
	memset(&ex, 0, sizeof(ex));
	if (parse_args(ctl, argc, &ex) < 0)
		return CTL_USAGE;
	ret = load(ctl, &ex);
	if (ret)
		return ret;
	if (resolve_from(&ex) < 0 || resolve_to(&ex) < 0 || decide_all(&ex) < 0) {
		release(&ex);
		return CTL_FAIL;
	}
	for (size_t i = 0; i < ex.n_res; i++)
		allowed = allowed && ex.res[i].d.allowed;
	if (ctl->json)
		print_json(&ex, allowed);
	else
		print_table(&ex);
	release(&ex);
	return allowed ? CTL_OK : CTL_FAIL;
}
