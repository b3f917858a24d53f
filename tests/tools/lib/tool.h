/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the test tools (sl-probe, sl-stream) share: how they fail, how they
 * read durations and how they tell time, so that both report alike.
 */
#ifndef SL_TOOL_H
#define SL_TOOL_H

#include <stdbool.h>
#include <stdint.h>

/* Each tool defines it: the prefix of its messages. */
extern const char *const tool_name;

/* Prints "TOOL: message: strerror(errno)" and exits 1. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Prints "TOOL: message" (if fmt) and the usage, exits 2. */
void usage_exit(const char *usage, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
uint64_t now_ns(void);
/* Seconds, fractions allowed, as nanoseconds; bad input is a usage error. */
uint64_t parse_secs(const char *s, bool zero_ok, const char *usage);

#endif /* SL_TOOL_H */
