// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-probe: both ends of Sluice's e2e tests and benchmarks.
 *
 *   serve  answers every request line with "NAME LOCAL PEER", so a test can
 *          tell which endpoint got a connection and what addresses it saw;
 *   dial   makes attempts and prints one greppable tally of the outcomes;
 *   crr    connect/request/close rate and latency (the mesh's per-connection
 *          cost: connect hooks, sockops, policy);
 *   rr     request/response latency on one connection (the per-byte cost:
 *          sk_msg redirect versus two TCP stacks).
 *
 * Only libc, so it runs in any pod netns without a build of its own.
 * Exit codes: 0 success, 1 failure (an attempt failed or a setup call
 * did), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

static const char main_usage[] =
	"usage: sl-probe serve|dial|crr|rr [options] ... (--help on each)\n";

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "serve", cmd_serve }, { "dial", cmd_dial },
		{ "crr", cmd_crr }, { "rr", cmd_rr },
	};
	size_t i;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(main_usage, stdout);
		return 0;
	}
	for (i = 0; argc >= 2 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (argc < 2)
		usage_exit(main_usage, NULL);
	usage_exit(main_usage, "unknown command '%s'", argv[1]);
}
