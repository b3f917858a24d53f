/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* IP addresses in the ABI's form: 16 bytes, network order, plus family. */
#ifndef SLUICE_ADDR_H
#define SLUICE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sluice/abi.h>

/* Big enough for "[ipv6]:port/proto". */
#define SL_ADDR_STR_LEN 64

struct sl_ip {
	struct sl_addr addr;
	uint8_t family;		/* SL_AF_INET or SL_AF_INET6 */
};

/* Parses an IPv4 or IPv6 literal; a v4-mapped IPv6 literal becomes IPv4.
 * Returns 0 or -1. */
int sl_ip_parse(const char *text, struct sl_ip *ip);
void sl_ip_format(const struct sl_addr *addr, uint8_t family, char *buf,
		  size_t len);
/* "1.2.3.4:80" or "[fd00::1]:80"; port in network order. */
void sl_ip_port_format(const struct sl_addr *addr, uint8_t family,
		       uint16_t port_be, char *buf, size_t len);
int sl_ip_cmp(const struct sl_ip *a, const struct sl_ip *b);
bool sl_ip_is_unspecified(const struct sl_ip *ip);
const char *sl_proto_name(uint8_t proto);

#endif
