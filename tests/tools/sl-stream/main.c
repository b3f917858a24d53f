// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sl-stream: proves that TCP streams between two processes arrive byte for
 * byte, in order, with FIN and RST where they belong -- whatever the
 * dataplane does underneath (same-node sockmap redirect included).
 *
 *   serve  the server end: every connection's first line picks the case;
 *   run    the client end: C connections of one case, a RESULT line.
 *
 * Only libc (and its threads), so it runs in any pod netns. Exit codes:
 * 0 success, 1 failure (a connection failed, or setup did), 2 bad usage.
 */
#include <stdio.h>
#include <string.h>

#include "common.h"

static const char main_usage[] =
	"usage: sl-stream serve|run [options] ... (--help on each)\n";

int main(int argc, char **argv)
{
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(main_usage, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc < 2)
		usage_exit(main_usage, NULL);
	usage_exit(main_usage, "unknown command '%s'", argv[1]);
}
