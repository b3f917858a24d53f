/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Identity and authorization, compiled: workloads and their identities from
 * the configuration, AuthorizationPolicies evaluated with Istio's order,
 * and the result laid out as the exact-match tables the kernel reads
 * (include/sluice/abi.h: ipcache, policy, policy_set).
 *
 * A source class is everything a policy can tell about a peer: its
 * identity (namespace, service account) or none, and which CIDRs named by
 * any policy contain it. A destination set is the list of policies that
 * select a workload. Verdicts depend on nothing else, so they are computed
 * once per (set, class, port that some policy of the set names) plus one
 * for every other port, and only the ones that differ from the fallback
 * are kept.
 */
#ifndef SLUICE_AUTHZ_H
#define SLUICE_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "err.h"

#define SL_DEFAULT_ROOT_NAMESPACE "istio-system"
#define SL_TRUST_DOMAIN "cluster.local"

/* What a policy can see of a source. */
struct sl_authz_peer {
	const char *namespace;		/* NULL: no identity */
	const char *service_account;
	struct sl_ip ip;		/* family 0: an address in no named CIDR */
	uint8_t plen;			/* ip stands for this whole prefix */
	const char *principal;		/* "cluster.local/ns/NS/sa/SA" if known
					 * (else built from the two above) */
};

/* A rule of the policies being evaluated: index into those policies (not
 * into all) and rule index. */
struct sl_authz_rule_ref {
	uint32_t pol;
	uint32_t rule;
};

/* Policies are referred to by index + 1 into sl_authz.policies (0: none);
 * rules by index + 1. */
struct sl_authz_decision {
	uint8_t verdict;	/* SL_VERDICT_* */
	uint8_t shadow;		/* with dry-run policies enforced */
	bool audit;
	uint32_t policy, rule;
	uint32_t shadow_policy, shadow_rule;
	uint32_t audit_policy, audit_rule;
};

struct sl_authz_identity {
	const char *namespace;
	const char *service_account;
};

struct sl_authz_workload {
	const char *namespace;
	const char *name;
	uint32_t kind;			/* SL_WORKLOAD_* */
	uint32_t identity;		/* index + 1, 0: none */
	const struct sl_label *labels;
	size_t n_labels;
	struct sl_loc loc;
};

/* One ipcache entry: a workload address (/32, /128) or a named CIDR. */
struct sl_authz_ip {
	struct sl_ip ip;
	uint8_t plen;
	uint32_t workload;		/* index + 1, 0: a named CIDR */
	uint32_t src_class;		/* >= 1 */
	uint32_t dst_set;		/* 0: no policy selects it */
};

struct sl_authz_set {
	uint32_t *policies;		/* indexes, sorted */
	size_t n_policies;
	struct sl_authz_decision dflt;
};

struct sl_authz_entry {
	uint32_t dst_set;		/* >= 1 */
	uint32_t src_class;		/* 0: unknown peers */
	uint16_t port;			/* 0: any port not listed */
	struct sl_authz_decision d;
};

struct sl_authz {
	struct sl_arena arena;
	const struct sl_authz_policy **policies;	/* sorted by namespace, name */
	size_t n_policies;
	struct sl_authz_identity *identities;		/* sorted */
	size_t n_identities, cap_identities;
	struct sl_authz_workload *workloads;
	size_t n_workloads, cap_workloads;
	struct sl_authz_ip *ips;			/* sorted by address */
	size_t n_ips, cap_ips;
	struct sl_authz_peer *classes;			/* [0]: unknown peers */
	size_t n_classes, cap_classes;
	struct sl_authz_set *sets;			/* [0]: unused */
	size_t n_sets, cap_sets;
	struct sl_authz_entry *entries;
	size_t n_entries, cap_entries;
};

int sl_authz_build(const struct sl_config *cfg, const char *root_namespace,
		   struct sl_authz *out, struct sl_err *err);
void sl_authz_free(struct sl_authz *a);

/* The last step of sl_authz_build (authz_tables.c): destination sets and
 * the verdict entries, from workloads, classes and policies. */
void sl_authz_compile_tables(struct sl_authz *a, const char *root_namespace);

/* Istio's evaluation of the policies pols[0..n) (indexes into all) for a
 * source and destination port: a matching DENY denies; with no ALLOW
 * policy the traffic is allowed; a matching ALLOW allows; otherwise deny.
 * AUDIT policies only mark. Dry-run policies count for the shadow verdict
 * only. Policy numbers in the result are index + 1 into all. */
void sl_authz_eval(const struct sl_authz_policy *const *all, const uint32_t *pols,
		   size_t n, const struct sl_authz_peer *src, uint16_t port,
		   struct sl_authz_decision *d);
/* The same, when only the listed rules (sorted by pol, rule) can match:
 * the compiler knows the others name identities the source does not have.
 * any_allow[0] / [1]: some ALLOW policy is in force without / with the
 * dry-run ones. */
void sl_authz_eval_rules(const struct sl_authz_policy *const *all, const uint32_t *pols,
			 const bool any_allow[2], const struct sl_authz_rule_ref *rules,
			 size_t n_rules, const struct sl_authz_peer *src, uint16_t port,
			 struct sl_authz_decision *d);
/* Can rule r match only sources whose principal or namespace it names
 * exactly? Then keys[] (up to max) receive "p:PRINCIPAL" / "n:NAMESPACE"
 * strings (arena-allocated) and the count is returned; -1 otherwise. */
int sl_authz_rule_keys(struct sl_arena *arena, const struct sl_authz_rule *r,
		       const char **keys, size_t max);
/* Does the policy select a workload of this namespace with these labels? */
bool sl_authz_selects(const struct sl_authz_policy *p, const char *root_namespace,
		      const char *namespace, const struct sl_label *labels,
		      size_t n_labels);
/* Istio's string match: exact, "abc*", "*abc", "*" (any non-empty). */
bool sl_authz_str_match(const char *pattern, const char *value);
bool sl_authz_cidr_contains(const struct sl_cidr *c, const struct sl_ip *ip,
			    uint8_t plen);

#endif
