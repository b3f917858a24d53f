/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow records: what the agent makes of each event of sluice_events (a
 * connection opened or closed, a connect that failed, a refusal by policy
 * or limit, an ejection), one JSON line each, and the filters its flow
 * log clients ask with. Pure functions: the agent fills in the names from
 * its maps, sluicectl builds requests and reads the lines back.
 *
 * A request is one line: "FLOWS" then any of follow=1, namespace=NS,
 * service=NS/NAME, verdict=V, separated by spaces (Kubernetes names hold
 * no spaces, so nothing needs quoting).
 */
#ifndef SLUICE_FLOWREC_H
#define SLUICE_FLOWREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sluice/abi.h"

enum sl_flow_verdict {
	SL_FLOW_OPEN,		/* allowed: the connection is established */
	SL_FLOW_CLOSED,
	SL_FLOW_DENIED,
	SL_FLOW_DRY_RUN_DENIED,
	SL_FLOW_AUDITED,
	SL_FLOW_RATE_LIMITED,
	SL_FLOW_POOL_FULL,
	SL_FLOW_CONNECT_FAILED,
	SL_FLOW_EJECTED,
	SL_FLOW_N_VERDICTS,
};

#define SL_FLOW_ANY_VERDICT (-1)
#define SL_PRINCIPAL_LEN (SL_NAMESPACE_LEN + SL_SA_LEN + 40)
#define SL_FLOW_REQUEST_LEN 512

struct sl_flow_end {
	struct sl_addr addr;
	uint16_t port;			/* host order, 0: unknown */
	char namespace[SL_NAMESPACE_LEN];	/* of the workload there, "" */
	char name[SL_NAME_LEN];
	char principal[SL_PRINCIPAL_LEN];
};

struct sl_flowrec {
	uint64_t time_ms;		/* unix time */
	uint32_t type;			/* SL_EVENT_* */
	uint8_t reporter;		/* SL_REPORTER_*, 0 for policy events */
	uint8_t at;			/* SL_AT_* */
	uint8_t proto;
	uint8_t family;
	struct sl_flow_end src, dst;
	char svc_namespace[SL_NAMESPACE_LEN];	/* "": no service known */
	char svc_name[SL_NAME_LEN];
	uint32_t policy_id;		/* policy events; 0: no policy decided */
	uint32_t rule;			/* of the policy; EJECT: ejections */
	bool has_policy;
	char policy_namespace[SL_NAMESPACE_LEN];
	char policy_name[SL_NAME_LEN];
	uint64_t sent_bytes;		/* CLOSE, by the reporter */
	uint64_t received_bytes;
	uint32_t duration_ms;
	uint32_t rtt_us;
	bool redirected;
};

/* What a filter looks at, kept beside each line in the agent's ring. */
struct sl_flow_keys {
	int verdict;
	char src_namespace[SL_NAMESPACE_LEN];
	char dst_namespace[SL_NAMESPACE_LEN];
	char svc_namespace[SL_NAMESPACE_LEN];
	char svc_name[SL_NAME_LEN];
};

struct sl_flow_filter {
	bool follow;
	int verdict;			/* SL_FLOW_ANY_VERDICT or one */
	char namespace[SL_NAMESPACE_LEN];	/* "": any */
	char svc_namespace[SL_NAMESPACE_LEN];	/* with svc_name */
	char svc_name[SL_NAME_LEN];	/* "": any */
};

/* SL_EVENT_* -> verdict; -1 for an unknown type. */
int sl_flow_verdict_of(uint32_t type);
const char *sl_flow_verdict_name(int verdict);
/* A verdict name ("allowed" is "open"); -1 when unknown. */
int sl_flow_verdict_parse(const char *name);

void sl_flowrec_keys(const struct sl_flowrec *r, struct sl_flow_keys *k);
/* The record as one JSON object and a newline, malloc'ed; NULL when out of
 * memory. */
char *sl_flowrec_json(const struct sl_flowrec *r, size_t *len);

void sl_flow_filter_init(struct sl_flow_filter *f);
/* "NS/NAME", or "NAME" in namespace default. */
int sl_flow_filter_service(struct sl_flow_filter *f, const char *text, struct sl_err *err);
int sl_flow_filter_parse(struct sl_flow_filter *f, const char *request, struct sl_err *err);
/* The request line (with its newline) that asks for f. */
int sl_flow_filter_format(const struct sl_flow_filter *f, char *buf, size_t len,
			  struct sl_err *err);
bool sl_flow_filter_match(const struct sl_flow_filter *f, const struct sl_flow_keys *k);

#endif
