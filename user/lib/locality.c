// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdio.h>
#include <string.h>

#include "locality.h"

/* Copies the part of s up to the next '/' (or all of it when last) into
 * out; returns where the next part starts, or NULL after the last. */
static const char *part(const char *s, bool last, char *out, size_t len)
{
	const char *slash = last ? NULL : strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);

	snprintf(out, len, "%.*s", (int)n, s);
	return slash ? slash + 1 : NULL;
}

void sl_locality_split(const char *s, bool zone_only, struct sl_locality *out)
{
	memset(out, 0, sizeof(*out));
	out->zone_only = zone_only;
	if (!s)
		return;
	if (zone_only) {
		snprintf(out->zone, sizeof(out->zone), "%s", s);
		return;
	}
	s = part(s, false, out->region, sizeof(out->region));
	if (s)
		s = part(s, false, out->zone, sizeof(out->zone));
	if (s)
		part(s, true, out->subzone, sizeof(out->subzone));
}

const char *sl_locality_parse(const char *s, struct sl_locality *out)
{
	size_t parts = 1;

	if (!s[0])
		return "a locality is region[/zone[/subzone]], got an empty string";
	if (strlen(s) >= SL_LOCALITY_LEN)
		return "longer than a locality may be (127 bytes)";
	if (strchr(s, '*'))
		return "a locality names one place: \"*\" belongs in patterns";
	for (const char *c = s; *c; c++)
		if (*c == '/') {
			if (c == s || !c[1] || c[-1] == '/')
				return "a locality's parts may not be empty";
			parts++;
		}
	if (parts > 3)
		return "a locality has at most three parts: region/zone/subzone";
	sl_locality_split(s, false, out);
	return NULL;
}

void sl_locality_resolve(struct sl_locality *l, const struct sl_locality *node)
{
	if (!l->zone_only)
		return;
	memcpy(l->region, node->region, sizeof(l->region));
	l->zone_only = false;
}

const char *sl_locality_check_pattern(const char *p)
{
	const char *star = strchr(p, '*');
	size_t parts = 1;

	if (!p[0])
		return "a locality pattern is region[/zone[/subzone]], got an empty string";
	if (strlen(p) >= SL_LOCALITY_LEN)
		return "longer than a locality may be (127 bytes)";
	for (const char *c = p; *c; c++)
		if (*c == '/') {
			if (c == p || !c[1] || c[-1] == '/')
				return "a locality's parts may not be empty";
			parts++;
		}
	if (parts > 3)
		return "a locality has at most three parts: region/zone/subzone";
	if (star && (star[1] || (star != p && star[-1] != '/')))
		return "\"*\" may only stand alone as the last part (\"region/zone/*\")";
	return NULL;
}

static bool part_matches(const char *rule, const char *have)
{
	return !rule[0] || !strcmp(rule, "*") || !strcmp(rule, have);
}

bool sl_locality_match(const struct sl_locality *l, const char *pattern)
{
	struct sl_locality r;

	sl_locality_split(pattern, false, &r);
	/* A region is always named: "*" or a name. */
	return (!strcmp(r.region, "*") || !strcmp(r.region, l->region)) &&
	       part_matches(r.zone, l->zone) && part_matches(r.subzone, l->subzone);
}

unsigned int sl_locality_priority(const struct sl_locality *node,
				  const struct sl_locality *ep)
{
	if (strcmp(node->region, ep->region))
		return 3;
	if (strcmp(node->zone, ep->zone))
		return 2;
	return strcmp(node->subzone, ep->subzone) ? 1 : 0;
}

void sl_locality_format(const struct sl_locality *l, char *buf, size_t len)
{
	if (l->subzone[0])
		snprintf(buf, len, "%s/%s/%s", l->region, l->zone, l->subzone);
	else if (l->zone[0])
		snprintf(buf, len, "%s/%s", l->region, l->zone);
	else
		snprintf(buf, len, "%s", l->region);
}
