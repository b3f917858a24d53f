// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Flow records as JSON lines, and the filters of flow log clients. See
 * flowrec.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "addr.h"
#include "flowrec.h"

static const char *const verdict_names[SL_FLOW_N_VERDICTS] = {
	[SL_FLOW_OPEN] = "open",
	[SL_FLOW_CLOSED] = "closed",
	[SL_FLOW_DENIED] = "denied",
	[SL_FLOW_DRY_RUN_DENIED] = "dry-run-denied",
	[SL_FLOW_AUDITED] = "audited",
	[SL_FLOW_RATE_LIMITED] = "rate-limited",
	[SL_FLOW_POOL_FULL] = "pool-full",
	[SL_FLOW_CONNECT_FAILED] = "connect-failed",
	[SL_FLOW_EJECTED] = "ejected",
};

int sl_flow_verdict_of(uint32_t type)
{
	switch (type) {
	case SL_EVENT_DENY: return SL_FLOW_DENIED;
	case SL_EVENT_DRY_RUN_DENY: return SL_FLOW_DRY_RUN_DENIED;
	case SL_EVENT_AUDIT: return SL_FLOW_AUDITED;
	case SL_EVENT_RATE_LIMITED: return SL_FLOW_RATE_LIMITED;
	case SL_EVENT_POOL_FULL: return SL_FLOW_POOL_FULL;
	case SL_EVENT_OPEN: return SL_FLOW_OPEN;
	case SL_EVENT_CLOSE: return SL_FLOW_CLOSED;
	case SL_EVENT_CONNECT_FAILED: return SL_FLOW_CONNECT_FAILED;
	case SL_EVENT_EJECT: return SL_FLOW_EJECTED;
	default: return -1;
	}
}

const char *sl_flow_verdict_name(int verdict)
{
	if (verdict < 0 || verdict >= SL_FLOW_N_VERDICTS)
		return "?";
	return verdict_names[verdict];
}

int sl_flow_verdict_parse(const char *name)
{
	if (!strcmp(name, "allowed"))
		return SL_FLOW_OPEN;
	for (int i = 0; i < SL_FLOW_N_VERDICTS; i++)
		if (!strcmp(name, verdict_names[i]))
			return i;
	return -1;
}

void sl_flowrec_keys(const struct sl_flowrec *r, struct sl_flow_keys *k)
{
	k->verdict = sl_flow_verdict_of(r->type);
	snprintf(k->src_namespace, sizeof(k->src_namespace), "%s", r->src.namespace);
	snprintf(k->dst_namespace, sizeof(k->dst_namespace), "%s", r->dst.namespace);
	snprintf(k->svc_namespace, sizeof(k->svc_namespace), "%s", r->svc_namespace);
	snprintf(k->svc_name, sizeof(k->svc_name), "%s", r->svc_name);
}

/* null rather than "" for what is not known, so a script tells them apart. */
static json_object *str_or_null(const char *s)
{
	return s[0] ? json_object_new_string(s) : NULL;
}

static json_object *end_json(const struct sl_flow_end *e, uint8_t family)
{
	json_object *o = json_object_new_object();
	struct sl_ip ip = { e->addr, family };
	char addr[SL_ADDR_STR_LEN];

	/* Limit refusals are reported before the client's address is looked
	 * up: unknown. */
	sl_ip_format(&e->addr, family, addr, sizeof(addr));
	json_object_object_add(o, "address", sl_ip_is_unspecified(&ip) ? NULL :
			       json_object_new_string(addr));
	json_object_object_add(o, "port", e->port ? json_object_new_int(e->port) : NULL);
	json_object_object_add(o, "namespace", str_or_null(e->namespace));
	json_object_object_add(o, "name", str_or_null(e->name));
	json_object_object_add(o, "principal", str_or_null(e->principal));
	return o;
}

static json_object *time_json(uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	char buf[64], out[80];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, sizeof(out), "%s.%03uZ", buf, (unsigned)(ms % 1000));
	return json_object_new_string(out);
}

static json_object *named_json(const char *ns, const char *name)
{
	json_object *o;

	if (!name[0])
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "namespace", str_or_null(ns));
	json_object_object_add(o, "name", json_object_new_string(name));
	return o;
}

static json_object *policy_json(const struct sl_flowrec *r)
{
	json_object *o;

	if (!r->has_policy)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(r->policy_id));
	json_object_object_add(o, "namespace", str_or_null(r->policy_namespace));
	json_object_object_add(o, "name", str_or_null(r->policy_name));
	json_object_object_add(o, "rule", json_object_new_int64(r->rule));
	return o;
}

static void add_close(json_object *o, const struct sl_flowrec *r)
{
	json_object_object_add(o, "sent_bytes", json_object_new_int64((int64_t)r->sent_bytes));
	json_object_object_add(o, "received_bytes",
			       json_object_new_int64((int64_t)r->received_bytes));
	json_object_object_add(o, "duration_ms", json_object_new_int64(r->duration_ms));
	json_object_object_add(o, "rtt_us", json_object_new_int64(r->rtt_us));
	json_object_object_add(o, "redirected", json_object_new_boolean(r->redirected));
}

static const char *reporter_name(uint8_t reporter)
{
	if (reporter == SL_REPORTER_SOURCE)
		return "source";
	return reporter == SL_REPORTER_DESTINATION ? "destination" : "";
}

static json_object *record_json(const struct sl_flowrec *r)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "time", time_json(r->time_ms));
	json_object_object_add(o, "verdict", json_object_new_string(
				       sl_flow_verdict_name(sl_flow_verdict_of(r->type))));
	json_object_object_add(o, "reporter", str_or_null(reporter_name(r->reporter)));
	json_object_object_add(o, "at", json_object_new_string(
				       r->at == SL_AT_INGRESS ? "ingress" : "egress"));
	json_object_object_add(o, "protocol", json_object_new_string(sl_proto_name(r->proto)));
	json_object_object_add(o, "source", end_json(&r->src, r->family));
	json_object_object_add(o, "destination", end_json(&r->dst, r->family));
	json_object_object_add(o, "service", named_json(r->svc_namespace, r->svc_name));
	json_object_object_add(o, "policy", policy_json(r));
	if (r->type == SL_EVENT_EJECT)
		json_object_object_add(o, "ejections", json_object_new_int64(r->rule));
	if (r->type == SL_EVENT_CLOSE)
		add_close(o, r);
	return o;
}

char *sl_flowrec_json(const struct sl_flowrec *r, size_t *len)
{
	json_object *o = record_json(r);
	const char *s;
	size_t n;
	char *line;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	n = s ? strlen(s) : 0;
	line = s ? malloc(n + 2) : NULL;
	if (line) {
		memcpy(line, s, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		*len = n + 1;
	}
	json_object_put(o);
	return line;
}

void sl_flow_filter_init(struct sl_flow_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->verdict = SL_FLOW_ANY_VERDICT;
}

int sl_flow_filter_service(struct sl_flow_filter *f, const char *text, struct sl_err *err)
{
	const char *slash = strchr(text, '/');
	const char *name = slash ? slash + 1 : text;
	size_t nslen = slash ? (size_t)(slash - text) : strlen("default");

	if (!name[0] || strchr(name, '/') || (slash && !nslen) ||
	    nslen >= sizeof(f->svc_namespace) || strlen(name) >= sizeof(f->svc_name))
		return sl_errf(err, "service \"%s\" is not NAMESPACE/NAME or NAME", text);
	snprintf(f->svc_namespace, sizeof(f->svc_namespace), "%.*s", (int)nslen,
		 slash ? text : "default");
	snprintf(f->svc_name, sizeof(f->svc_name), "%s", name);
	return 0;
}

static int parse_term(struct sl_flow_filter *f, const char *key, const char *value,
		      struct sl_err *err)
{
	if (!strcmp(key, "follow")) {
		if (strcmp(value, "0") && strcmp(value, "1"))
			return sl_errf(err, "follow=%s: expected 0 or 1", value);
		f->follow = value[0] == '1';
	} else if (!strcmp(key, "namespace")) {
		if (!value[0] || strlen(value) >= sizeof(f->namespace))
			return sl_errf(err, "namespace=%s: not a namespace name", value);
		snprintf(f->namespace, sizeof(f->namespace), "%s", value);
	} else if (!strcmp(key, "service")) {
		return sl_flow_filter_service(f, value, err);
	} else if (!strcmp(key, "verdict")) {
		f->verdict = sl_flow_verdict_parse(value);
		if (f->verdict < 0)
			return sl_errf(err, "verdict=%s: not one of open (allowed), closed, "
				       "denied, dry-run-denied, audited, rate-limited, "
				       "pool-full, connect-failed, ejected", value);
	} else {
		return sl_errf(err, "unknown term \"%s\": expected follow, namespace, "
			       "service or verdict", key);
	}
	return 0;
}

int sl_flow_filter_parse(struct sl_flow_filter *f, const char *request, struct sl_err *err)
{
	char buf[SL_FLOW_REQUEST_LEN], *save = NULL, *tok;

	sl_flow_filter_init(f);
	if (strlen(request) >= sizeof(buf))
		return sl_errf(err, "request longer than %zu bytes", sizeof(buf) - 1);
	snprintf(buf, sizeof(buf), "%s", request);
	buf[strcspn(buf, "\r\n")] = '\0';
	tok = strtok_r(buf, " \t", &save);
	if (!tok || strcmp(tok, "FLOWS"))
		return sl_errf(err, "a request starts with FLOWS");
	while ((tok = strtok_r(NULL, " \t", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq)
			return sl_errf(err, "\"%s\" is not KEY=VALUE", tok);
		*eq = '\0';
		if (parse_term(f, tok, eq + 1, err) < 0)
			return -1;
	}
	return 0;
}

int sl_flow_filter_format(const struct sl_flow_filter *f, char *buf, size_t len,
			  struct sl_err *err)
{
	int n = snprintf(buf, len, "FLOWS follow=%d", f->follow ? 1 : 0);

	if (n >= 0 && (size_t)n < len && f->namespace[0])
		n += snprintf(buf + n, len - (size_t)n, " namespace=%s", f->namespace);
	if (n >= 0 && (size_t)n < len && f->svc_name[0])
		n += snprintf(buf + n, len - (size_t)n, " service=%s/%s", f->svc_namespace,
			      f->svc_name);
	if (n >= 0 && (size_t)n < len && f->verdict != SL_FLOW_ANY_VERDICT)
		n += snprintf(buf + n, len - (size_t)n, " verdict=%s",
			      sl_flow_verdict_name(f->verdict));
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "\n");
	if (n < 0 || (size_t)n >= len)
		return sl_errf(err, "flow request longer than %zu bytes", len - 1);
	return 0;
}

bool sl_flow_filter_match(const struct sl_flow_filter *f, const struct sl_flow_keys *k)
{
	if (f->verdict != SL_FLOW_ANY_VERDICT && f->verdict != k->verdict)
		return false;
	if (f->namespace[0] && strcmp(f->namespace, k->src_namespace) &&
	    strcmp(f->namespace, k->dst_namespace) && strcmp(f->namespace, k->svc_namespace))
		return false;
	if (f->svc_name[0] && (strcmp(f->svc_name, k->svc_name) ||
			       strcmp(f->svc_namespace, k->svc_namespace)))
		return false;
	return true;
}
