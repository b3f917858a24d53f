// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The values an AuthorizationPolicy matches on: Istio's string matches,
 * service accounts, CIDRs and ports, each list appended to as decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int sl_decode_nonempty(struct sl_yctx *ctx, yaml_node_t *node, const char **out)
{
	if (sl_y_str(ctx, node, out) < 0)
		return -1;
	if (!(*out)[0])
		return sl_y_fail(ctx, node, "an empty string is not allowed (\"*\" "
				 "matches any value)");
	return 0;
}

/* Istio's string match: exact, "prefix*", "*suffix" or "*". Istio would
 * take "a*b" literally; that is surely not what was meant. */
static int strlist_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			void *obj)
{
	struct sl_strlist *l = obj;
	const char *v, *star;

	(void)index;
	if (sl_decode_nonempty(ctx, item, &v) < 0)
		return -1;
	star = strchr(v, '*');
	if (star && ((star != v && star[1]) || strchr(star + 1, '*')))
		return sl_y_fail(ctx, item, "\"%s\": '*' may only start or end the "
				 "string (exact, \"prefix*\", \"*suffix\" or \"*\")", v);
	sl_arena_grow(ctx->arena, (void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = v;
	return 0;
}

int sl_decode_strlist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_strlist *l)
{
	return sl_y_seq(ctx, node, strlist_item, l);
}

/* A service account "ns/name" is the principal "<td>/ns/<ns>/sa/<name>"
 * in any trust domain <td>: a suffix match on "/ns/<ns>/sa/<name>". */
static int salist_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
		       void *obj)
{
	struct sl_strlist *l = obj;
	const char *v, *slash;
	size_t len;
	char *p;

	(void)index;
	if (sl_decode_nonempty(ctx, item, &v) < 0)
		return -1;
	slash = strchr(v, '/');
	if (!slash || slash == v || !slash[1] || strchr(slash + 1, '/') || strchr(v, '*'))
		return sl_y_fail(ctx, item, "\"%s\" must be <namespace>/<service account>", v);
	len = strlen(v) + sizeof("*/ns//sa/");
	p = sl_arena_alloc(ctx->arena, len);
	snprintf(p, len, "*/ns/%.*s/sa/%s", (int)(slash - v), v, slash + 1);
	sl_arena_grow(ctx->arena, (void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = p;
	return 0;
}

int sl_decode_salist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_strlist *l)
{
	return sl_y_seq(ctx, node, salist_item, l);
}

static void clear_host_bits(struct sl_ip *ip, unsigned int plen)
{
	uint8_t *b = (uint8_t *)ip->addr.a;
	unsigned int bytes = ip->family == SL_AF_INET ? 4 : 16;

	for (unsigned int i = 0; i < bytes; i++) {
		if (plen >= 8) {
			plen -= 8;
			continue;
		}
		b[i] &= (uint8_t)(0xff00 >> plen);
		plen = 0;
	}
}

/* "10.0.0.0/8", "2001:db8::/32" or a bare address; host bits are
 * cleared, as Istio accepts them. */
static int parse_cidr(struct sl_yctx *ctx, yaml_node_t *node, struct sl_cidr *out)
{
	const char *v = sl_y_scalar(ctx, node);
	unsigned long plen, max;
	char buf[64], *slash;

	if (!v)
		return -1;
	snprintf(buf, sizeof(buf), "%s", v);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (strlen(v) >= sizeof(buf) || sl_ip_parse(buf, &out->ip) < 0)
		return sl_y_fail(ctx, node, "\"%s\" is not an IP address or CIDR", v);
	max = out->ip.family == SL_AF_INET ? 32 : 128;
	plen = max;
	if (slash) {
		size_t digits = strspn(slash + 1, "0123456789");

		plen = digits && digits <= 3 && !slash[1 + digits] ?
		       strtoul(slash + 1, NULL, 10) : max + 1;
		if (plen > max)
			return sl_y_fail(ctx, node, "\"%s\": the prefix length must be "
					 "0-%lu", v, max);
	}
	out->plen = (uint8_t)plen;
	clear_host_bits(&out->ip, out->plen);
	return 0;
}

static int cidrlist_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			 void *obj)
{
	struct sl_cidrlist *l = obj;
	struct sl_cidr c;

	(void)index;
	if (parse_cidr(ctx, item, &c) < 0)
		return -1;
	sl_arena_grow(ctx->arena, (void **)&l->v, &l->cap, l->n + 1, sizeof(c));
	l->v[l->n++] = c;
	return 0;
}

int sl_decode_cidrlist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_cidrlist *l)
{
	return sl_y_seq(ctx, node, cidrlist_item, l);
}

/* Two CIDRs overlap only if one holds the other. */
static bool cidr_holds(const struct sl_cidr *a, const struct sl_cidr *b)
{
	struct sl_ip ip = b->ip;

	if (a->ip.family != b->ip.family || a->plen > b->plen)
		return false;
	clear_host_bits(&ip, a->plen);
	return !sl_ip_cmp(&ip, &a->ip);
}

void sl_cidrlist_intersect(struct sl_arena *arena, struct sl_cidrlist *l,
			   const struct sl_cidrlist *other)
{
	struct sl_cidrlist out = { NULL, 0, 0 };

	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = 0; j < other->n; j++) {
			const struct sl_cidr *a = &l->v[i], *b = &other->v[j];
			const struct sl_cidr *in = cidr_holds(a, b) ? b :
						   cidr_holds(b, a) ? a : NULL;

			if (!in)
				continue;
			sl_arena_grow(arena, (void **)&out.v, &out.cap, out.n + 1,
				      sizeof(*in));
			out.v[out.n++] = *in;
		}
	}
	*l = out;
}

/* Ports are strings in the Istio API ("8080"); a YAML integer is taken
 * too. */
static int portlist_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index,
			 void *obj)
{
	struct sl_portlist *l = obj;
	const char *v = sl_y_scalar(ctx, item);
	unsigned long n = 0;
	size_t digits;

	(void)index;
	if (!v)
		return -1;
	digits = strspn(v, "0123456789");
	if (digits && digits <= 5 && !v[digits])
		n = strtoul(v, NULL, 10);
	if (n < 1 || n > 65535)
		return sl_y_fail(ctx, item, "\"%s\" is not a port number (1-65535)", v);
	sl_arena_grow(ctx->arena, (void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = (uint16_t)n;
	return 0;
}

int sl_decode_portlist(struct sl_yctx *ctx, yaml_node_t *node, struct sl_portlist *l)
{
	return sl_y_seq(ctx, node, portlist_item, l);
}

static int l7_item(struct sl_yctx *ctx, yaml_node_t *item, size_t index, void *obj)
{
	const char *v;

	(void)index;
	(void)obj;
	return sl_decode_nonempty(ctx, item, &v);
}

int sl_check_l7_list(struct sl_yctx *ctx, yaml_node_t *node)
{
	return sl_y_seq(ctx, node, l7_item, NULL);
}
