// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* sluicectl status: healthy means every hook attached and the last
 * configuration applied. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>

#include "ctl.h"
#include "accel.h"
#include "links.h"

/* The pid in the status is only a hint: the agent may have been killed
 * without clearing it, and the pid reused. */
static bool agent_alive(uint32_t pid)
{
	char path[64], comm[64] = "";
	FILE *f;

	if (!pid || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	return strncmp(comm, "sluiced", 7) == 0;
}

static const char *result_name(uint32_t result)
{
	switch (result) {
	case SL_RESULT_APPLIED:
		return "applied";
	case SL_RESULT_REJECTED:
		return "rejected";
	default:
		return "none";
	}
}

/* Authorization at a glance; the details are `policies` and `identities`. */
struct policy_view {
	uint32_t state;		/* sl_settings.policy */
	uint32_t policies;
	uint32_t identities;
	uint32_t pods;		/* local pod namespaces learned */
};

struct status_view {
	struct sl_status st;
	struct policy_view pol;
	struct sl_accel_view accel;
	struct sl_link_state links[16];
	size_t n_attached;
	size_t n_expected;
	bool alive;
	bool healthy;
};

static bool link_expected(const struct status_view *v, const struct sl_link_desc *d)
{
	return !d->accel || v->accel.enabled;
}

/* Attached where the agent put it: its cgroup, or its sockhash. */
static bool link_in_place(const struct status_view *v, const struct sl_link_desc *d,
			  const struct sl_link_state *l)
{
	if (!l->attached)
		return false;
	switch (d->kind) {
	case SL_LINK_CGROUP:
		return l->cgroup_id == v->st.cgroup_id;
	case SL_LINK_SOCKMAP:
		return l->map_id == v->accel.sockhash_id;
	case SL_LINK_TRACEPOINT:
	case SL_LINK_RAW_TP:
		return true;
	}
	return false;
}

static void print_accel(const struct sl_accel_view *a)
{
	const struct sl_redir_stats *s = &a->stats;

	if (!a->enabled) {
		printf("same-node:   off (--no-redirect)%s\n",
		       a->members ? "; sockets joined before stay until they close" : "");
		if (!a->members)
			return;
	} else {
		printf("same-node:   on\n");
	}
	printf("             %u sockets in the shortcut now (%u connections)\n",
	       a->members, a->members / 2);
	printf("             %llu bytes in %llu messages took the shortcut, "
	       "%llu bytes in %llu messages went through TCP\n",
	       (unsigned long long)s->redirected_bytes, (unsigned long long)s->redirected_msgs,
	       (unsigned long long)s->stack_bytes, (unsigned long long)s->stack_msgs);
	printf("             sockets joined %llu, left the shortcut %llu, closed %llu; "
	       "connections without a local peer %llu; splicing readers %llu\n",
	       (unsigned long long)s->joined, (unsigned long long)s->left,
	       (unsigned long long)s->closed, (unsigned long long)s->not_local,
	       (unsigned long long)s->splice_seen);
	printf("             connections kept off the shortcut as too short to gain %llu\n",
	       (unsigned long long)s->short_skipped);
	if (s->splice_stranded)
		printf("             WARNING: %llu sockets spliced with redirected data unread; "
		       "opt their services out with sluice.dev/redirect: \"false\"\n",
		       (unsigned long long)s->splice_stranded);
}

static json_object *accel_json(const struct sl_accel_view *a)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "enabled", json_object_new_boolean(a->enabled));
	json_object_object_add(o, "sockets_now", json_object_new_int64(a->members));
	json_object_object_add(o, "connections_now", json_object_new_int64(a->members / 2));
	json_object_object_add(o, "redirected_bytes", json_object_new_uint64(a->stats.redirected_bytes));
	json_object_object_add(o, "redirected_msgs", json_object_new_uint64(a->stats.redirected_msgs));
	json_object_object_add(o, "stack_bytes", json_object_new_uint64(a->stats.stack_bytes));
	json_object_object_add(o, "stack_msgs", json_object_new_uint64(a->stats.stack_msgs));
	json_object_object_add(o, "joined", json_object_new_uint64(a->stats.joined));
	json_object_object_add(o, "left", json_object_new_uint64(a->stats.left));
	json_object_object_add(o, "closed", json_object_new_uint64(a->stats.closed));
	json_object_object_add(o, "not_local", json_object_new_uint64(a->stats.not_local));
	json_object_object_add(o, "splice_seen", json_object_new_uint64(a->stats.splice_seen));
	json_object_object_add(o, "short_skipped",
			       json_object_new_uint64(a->stats.short_skipped));
	json_object_object_add(o, "splice_stranded",
			       json_object_new_uint64(a->stats.splice_stranded));
	return o;
}

static void read_policy(const struct sl_maps *m, struct policy_view *p)
{
	struct sl_settings set;
	__u32 zero = 0;

	memset(p, 0, sizeof(*p));
	if (!bpf_map_lookup_elem(m->settings, &zero, &set))
		p->state = set.policy;
	sl_map_count(m->policy_info, sizeof(__u32), SL_DEFAULT_MAX_POLICIES * 2, &p->policies);
	sl_map_count(m->identity_info, sizeof(__u32), SL_DEFAULT_MAX_IDENTITIES * 2,
		     &p->identities);
	sl_map_count(m->netns_addr, sizeof(__u64), SL_DEFAULT_MAX_NETNS * 2, &p->pods);
}

static void print_policy(const struct policy_view *p)
{
	if (p->state)
		printf("policy:      in force (bank %u): %u AuthorizationPolicies, %u identities\n",
		       p->state - 1, p->policies, p->identities);
	else
		printf("policy:      no AuthorizationPolicy configured (%u identities)\n",
		       p->identities);
	printf("             %u local pods found (ingress program attached, egress known)\n",
	       p->pods);
}

static json_object *policy_json(const struct policy_view *p)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "in_force", json_object_new_boolean(p->state != 0));
	json_object_object_add(o, "bank", p->state ? json_object_new_int64(p->state - 1) : NULL);
	json_object_object_add(o, "policies", json_object_new_int64(p->policies));
	json_object_object_add(o, "identities", json_object_new_int64(p->identities));
	json_object_object_add(o, "local_pods", json_object_new_int64(p->pods));
	return o;
}

static void print_table(const struct ctl *ctl, const struct status_view *v)
{
	const struct sl_status *st = &v->st;
	char applied[32], attempted[32];

	ctl_format_time(st->applied_at, applied, sizeof(applied));
	ctl_format_time(st->attempted_at, attempted, sizeof(attempted));
	printf("pins:        %s\n", ctl->bpffs);
	if (v->alive)
		printf("agent:       running (pid %u)\n", st->agent_pid);
	else
		printf("agent:       not running (the datapath runs on from the pins)\n");
	printf("datapath:    %zu/%zu hooks attached to %s (cgroup id %llu)\n",
	       v->n_attached, v->n_expected, st->cgroup_path[0] ? st->cgroup_path : "?",
	       (unsigned long long)st->cgroup_id);
	for (size_t i = 0; i < sl_n_link_descs; i++)
		if (link_expected(v, &sl_link_descs[i]) && !v->links[i].attached)
			printf("             %s: %s\n", v->links[i].name,
			       v->links[i].present ? "detached" : "missing");
	print_accel(&v->accel);
	print_policy(&v->pol);
	printf("config:      generation %llu, applied %s, from %s\n",
	       (unsigned long long)st->generation, applied,
	       st->config_path[0] ? st->config_path : "?");
	printf("last try:    %s at %s\n", result_name(st->result), attempted);
	if (st->result == SL_RESULT_REJECTED)
		printf("error:       %s\n", st->error);
	printf("services:    %u frontends, %u backends\n", st->n_services, st->n_backends);
	printf("locality:    %s\n", st->locality[0] ? st->locality :
	       "unknown (sluiced --locality not given: localityLbSetting has no effect)");
	printf("warnings:    %u%s\n", st->n_warnings,
	       st->n_warnings ? " (fields Sluice does not implement; objects refused):" : "");
	for (const char *line = st->warnings; *line;) {
		const char *end = strchr(line, '\n');
		int len = end ? (int)(end - line) : (int)strlen(line);

		printf("             %.*s\n", len, line);
		line += len + (end ? 1 : 0);
	}
	printf("health:      %s\n", v->healthy ? "ok" : "NOT OK");
}

static json_object *warning_list(const char *text)
{
	json_object *arr = json_object_new_array();

	while (*text) {
		const char *end = strchr(text, '\n');
		size_t len = end ? (size_t)(end - text) : strlen(text);

		json_object_array_add(arr, json_object_new_string_len(text, (int)len));
		text += len + (end ? 1 : 0);
	}
	return arr;
}

static void print_json(const struct ctl *ctl, const struct status_view *v)
{
	const struct sl_status *st = &v->st;
	json_object *o = json_object_new_object(), *links = json_object_new_array();
	json_object *agent = json_object_new_object(), *cfg = json_object_new_object();
	char applied[32], attempted[32];

	ctl_format_time(st->applied_at, applied, sizeof(applied));
	ctl_format_time(st->attempted_at, attempted, sizeof(attempted));
	json_object_object_add(o, "healthy", json_object_new_boolean(v->healthy));
	json_object_object_add(o, "bpffs", json_object_new_string(ctl->bpffs));
	json_object_object_add(agent, "running", json_object_new_boolean(v->alive));
	json_object_object_add(agent, "pid", json_object_new_int64(v->alive ? st->agent_pid : 0));
	json_object_object_add(o, "agent", agent);
	json_object_object_add(o, "cgroup", json_object_new_string(st->cgroup_path));
	json_object_object_add(o, "cgroup_id", json_object_new_uint64(st->cgroup_id));
	for (size_t i = 0; i < sl_n_link_descs; i++) {
		json_object *l = json_object_new_object();

		json_object_object_add(l, "hook", json_object_new_string(v->links[i].name));
		json_object_object_add(l, "pinned", json_object_new_boolean(v->links[i].present));
		json_object_object_add(l, "attached", json_object_new_boolean(v->links[i].attached));
		json_object_object_add(l, "prog_id", json_object_new_int64(v->links[i].prog_id));
		json_object_array_add(links, l);
	}
	json_object_object_add(o, "hooks", links);
	json_object_object_add(cfg, "generation", json_object_new_uint64(st->generation));
	json_object_object_add(cfg, "path", json_object_new_string(st->config_path));
	json_object_object_add(cfg, "applied_at", json_object_new_string(applied));
	json_object_object_add(cfg, "last_result", json_object_new_string(result_name(st->result)));
	json_object_object_add(cfg, "last_attempt_at", json_object_new_string(attempted));
	json_object_object_add(cfg, "error", st->result == SL_RESULT_REJECTED ?
			       json_object_new_string(st->error) : NULL);
	json_object_object_add(cfg, "warnings", json_object_new_int64(st->n_warnings));
	json_object_object_add(cfg, "warning_messages", warning_list(st->warnings));
	json_object_object_add(o, "config", cfg);
	json_object_object_add(o, "frontends", json_object_new_int64(st->n_services));
	json_object_object_add(o, "backends", json_object_new_int64(st->n_backends));
	json_object_object_add(o, "locality", st->locality[0] ?
			       json_object_new_string(st->locality) : NULL);
	json_object_object_add(o, "same_node", accel_json(&v->accel));
	json_object_object_add(o, "policy", policy_json(&v->pol));
	ctl_print_json(o);
	json_object_put(o);
}

int cmd_status(struct ctl *ctl, int argc, char **argv)
{
	struct status_view v;
	struct sl_maps maps;
	struct sl_err err;

	(void)argv;
	if (argc > 0) {
		fprintf(stderr, "sluicectl status: takes no arguments\n");
		return CTL_USAGE;
	}
	memset(&v, 0, sizeof(v));
	if (ctl_open_maps(ctl, &maps) < 0)
		return CTL_NO_STATE;
	if (sl_status_read(&maps, &v.st, &err) < 0 || sl_accel_read(&maps, &v.accel, &err) < 0) {
		fprintf(stderr, "sluicectl: %s\n", err.msg);
		sl_maps_close(&maps);
		return CTL_NO_STATE;
	}
	read_policy(&maps, &v.pol);
	sl_maps_close(&maps);
	if (sl_n_link_descs > sizeof(v.links) / sizeof(v.links[0]))
		return CTL_FAIL;
	for (size_t i = 0; i < sl_n_link_descs; i++) {
		const struct sl_link_desc *d = &sl_link_descs[i];

		sl_link_inspect(ctl->bpffs, d, &v.links[i]);
		v.links[i].attached = link_in_place(&v, d, &v.links[i]);
		if (!link_expected(&v, d))
			continue;
		v.n_expected++;
		v.n_attached += v.links[i].attached;
	}
	v.alive = agent_alive(v.st.agent_pid);
	v.healthy = v.n_attached == v.n_expected && v.st.result == SL_RESULT_APPLIED;
	if (ctl->json)
		print_json(ctl, &v);
	else
		print_table(ctl, &v);
	return v.healthy ? CTL_OK : CTL_FAIL;
}
