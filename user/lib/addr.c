// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"

static bool is_v4_mapped(const struct in6_addr *a)
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

int sl_ip_parse(const char *text, struct sl_ip *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	memset(ip, 0, sizeof(*ip));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		ip->family = SL_AF_INET;
		ip->addr.a[0] = a4.s_addr;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &a6) == 1) {
		if (is_v4_mapped(&a6)) {
			ip->family = SL_AF_INET;
			memcpy(&ip->addr.a[0], &a6.s6_addr[12], 4);
			return 0;
		}
		ip->family = SL_AF_INET6;
		memcpy(ip->addr.a, a6.s6_addr, 16);
		return 0;
	}
	return -1;
}

void sl_ip_format(const struct sl_addr *addr, uint8_t family, char *buf,
		  size_t len)
{
	if (family == SL_AF_INET) {
		if (!inet_ntop(AF_INET, &addr->a[0], buf, (socklen_t)len))
			snprintf(buf, len, "?");
	} else if (family == SL_AF_INET6) {
		if (!inet_ntop(AF_INET6, addr->a, buf, (socklen_t)len))
			snprintf(buf, len, "?");
	} else {
		snprintf(buf, len, "family-%u", family);
	}
}

void sl_ip_port_format(const struct sl_addr *addr, uint8_t family,
		       uint16_t port_be, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	sl_ip_format(addr, family, ip, sizeof(ip));
	if (family == SL_AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, ntohs(port_be));
	else
		snprintf(buf, len, "%s:%u", ip, ntohs(port_be));
}

int sl_ip_cmp(const struct sl_ip *a, const struct sl_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

bool sl_ip_is_unspecified(const struct sl_ip *ip)
{
	static const struct sl_addr zero;

	return memcmp(&ip->addr, &zero, sizeof(zero)) == 0;
}

const char *sl_proto_name(uint8_t proto)
{
	switch (proto) {
	case SL_PROTO_TCP:
		return "TCP";
	case SL_PROTO_UDP:
		return "UDP";
	default:
		return "?";
	}
}
