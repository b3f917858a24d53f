/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluicectl: shared command plumbing. */
#ifndef SLUICECTL_CTL_H
#define SLUICECTL_CTL_H

#include <stdbool.h>
#include <json-c/json.h>

#include "addr.h"
#include "maps.h"

/* Exit codes scripts can rely on. */
#define CTL_OK 0
#define CTL_FAIL 1		/* unhealthy, or nothing matched */
#define CTL_USAGE 2
#define CTL_NO_STATE 3		/* pins missing or unreadable */

#define CTL_DEFAULT_BPFFS "/sys/fs/bpf/sluice"

/* Options of one command alone (explain's --from and --to). */
#define CTL_MAX_CMD_OPTS 5

struct ctl {
	const char *bpffs;
	bool json;
	/* Values of the command's value_opts, in their order; NULL when the
	 * option was not given. */
	const char *opt[CTL_MAX_CMD_OPTS];
};

struct ctl_command {
	const char *name;
	const char *args;	/* for usage lines */
	const char *summary;
	int (*run)(struct ctl *ctl, int argc, char **argv);
	/* Long options of this command, each taking a value; NULL-terminated,
	 * at most CTL_MAX_CMD_OPTS. NULL: none. A name starting with '+'
	 * takes no value (--follow): given, its opt[] is "". */
	const char *const *value_opts;
	const char *help;	/* more text for COMMAND --help, or NULL */
};

/* Parses the options every command accepts (--bpffs, -o, --help) and
 * leaves positional arguments in argv[optind..]. Returns -1 on a usage
 * error, 1 when --help was printed. */
int ctl_parse_common(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		     char **argv);
/* Opens the pinned maps, printing the reason on failure. */
int ctl_open_maps(const struct ctl *ctl, struct sl_maps *maps);
void ctl_print_json(json_object *obj);
struct table;
/* Prints and releases the command's result: the JSON array when -o json
 * built one, the table otherwise. */
void ctl_output(json_object *arr, struct table *t);
void ctl_format_time(uint64_t unix_seconds, char *buf, size_t len);

int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_services(struct ctl *ctl, int argc, char **argv);
int cmd_endpoints(struct ctl *ctl, int argc, char **argv);
int cmd_maps(struct ctl *ctl, int argc, char **argv);
int cmd_identities(struct ctl *ctl, int argc, char **argv);
int cmd_bandwidth(struct ctl *ctl, int argc, char **argv);
int cmd_policies(struct ctl *ctl, int argc, char **argv);
int cmd_explain(struct ctl *ctl, int argc, char **argv);
extern const char *const ctl_explain_opts[];
extern const char ctl_explain_help[];
int cmd_top(struct ctl *ctl, int argc, char **argv);
extern const char *const ctl_top_opts[];
extern const char ctl_top_help[];
int cmd_flows(struct ctl *ctl, int argc, char **argv);
extern const char *const ctl_flows_opts[];
extern const char ctl_flows_help[];

/* ---- identity and authorization, shared by identities, policies and
 * explain (cmd_authz.c) ---- */

/* sl_settings.policy: 0, or 1 + the policy bank in force. */
int ctl_policy_state(const struct sl_maps *m, uint32_t *state);
/* "spiffe://cluster.local/ns/NS/sa/SA"; "-" for identity 0. */
void ctl_principal(const struct sl_maps *m, uint32_t identity, char *buf, size_t len);
const char *ctl_workload_kind(uint32_t kind);
const char *ctl_action_name(uint8_t action);
/* Names of policy id (> 0); false with info zeroed when unknown. */
bool ctl_policy_info(const struct sl_maps *m, uint32_t id, struct sl_policy_info *info);
/* "AuthorizationPolicy NS/NAME (ACTION), rule N"; for id 0, what no
 * policy deciding means given the verdict (SL_VERDICT_*). */
void ctl_policy_text(const struct sl_maps *m, uint32_t id, uint32_t rule, uint8_t verdict,
		     char *buf, size_t len);
/* {"policy_id", "namespace", "name", "action", "dry_run", "rule"} */
json_object *ctl_policy_json(const struct sl_maps *m, uint32_t id, uint32_t rule);
/* The sluice_workload_info entry of an address; false with info zeroed. */
bool ctl_workload_at(const struct sl_maps *m, const struct sl_ip *ip,
		     struct sl_workload_info *info);

struct ctl_addrs {
	struct sl_ip *v;
	size_t n, cap;
};

void ctl_add_addr(struct ctl_addrs *a, const struct sl_ip *ip);
/* Appends the addresses of the workload NAMESPACE/NAME (NAME alone:
 * namespace default) to out. */
int ctl_workload_addrs(const struct sl_maps *m, const char *text, struct ctl_addrs *out);

/* Which lookup of sl_policy_decide (bpf/lib/policy.h) gave the verdict. */
enum ctl_lookup {
	CTL_LOOKUP_OFF,			/* sl_settings.policy 0: none */
	CTL_LOOKUP_NOT_SELECTED,	/* dst not in sluice_ipcache, or set 0 */
	CTL_LOOKUP_PORT,		/* sluice_policy (set, class, port) */
	CTL_LOOKUP_ANY_PORT,		/* sluice_policy (set, class, 0) */
	CTL_LOOKUP_DEFAULT,		/* sluice_policy_set (set) */
	CTL_LOOKUP_NO_DEFAULT,		/* the set has no default: denied */
};

struct ctl_peer {
	struct sl_ip ip;
	bool in_cache;			/* sluice_ipcache holds a prefix of ip */
	struct sl_ipcache cache;
};

struct ctl_decision {
	enum ctl_lookup lookup;
	struct sl_policy_verdict v;	/* from CTL_LOOKUP_PORT on */
	bool allowed;
};

/* sl_policy_decide from userspace: the same lookups, in the same order,
 * on the same maps (port in host order). Fills the peers' cache. */
void ctl_policy_decide(const struct sl_maps *m, uint32_t state, struct ctl_peer *src,
		       struct ctl_peer *dst, uint16_t port, struct ctl_decision *d);

/* ---- services and endpoints (cmd_services.c), shared with explain ---- */
struct snap_fe;
struct snap_member;

/* A member's share of new connections while nothing is ejected. */
double ctl_member_share(const struct snap_fe *fe, const struct snap_member *m);
/* How much longer an ejected endpoint gets no new connection, 0: not. */
int64_t ctl_ejected_for_ms(const struct snap_member *m);
json_object *ctl_member_json(const struct snap_fe *fe, const struct snap_member *m);
json_object *ctl_outlier_json(const struct snap_fe *fe);

/* explain: the balancing and limits of each service of fes (NULLs and
 * repeats skipped) for a client at src's address of its family; printed,
 * or as a JSON array when json (cmd_explain_lb.c). */
json_object *ctl_explain_services(const struct sl_maps *m, const struct snap_fe *const *fes,
				  size_t n, const struct ctl_addrs *src, bool json);

/* realloc, or exit on failure. */
void *ctl_xrealloc(void *p, size_t size);

#endif
