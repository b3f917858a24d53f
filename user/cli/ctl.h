/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* sluicectl: shared command plumbing. */
#ifndef SLUICECTL_CTL_H
#define SLUICECTL_CTL_H

#include <stdbool.h>
#include <json-c/json.h>

#include "maps.h"

/* Exit codes scripts can rely on. */
#define CTL_OK 0
#define CTL_FAIL 1		/* unhealthy, or nothing matched */
#define CTL_USAGE 2
#define CTL_NO_STATE 3		/* pins missing or unreadable */

#define CTL_DEFAULT_BPFFS "/sys/fs/bpf/sluice"

struct ctl {
	const char *bpffs;
	bool json;
};

struct ctl_command {
	const char *name;
	const char *args;	/* for usage lines */
	const char *summary;
	int (*run)(struct ctl *ctl, int argc, char **argv);
};

/* Parses the options every command accepts (--bpffs, -o, --help) and
 * leaves positional arguments in argv[optind..]. Returns -1 on a usage
 * error, 1 when --help was printed. */
int ctl_parse_common(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		     char **argv);
/* Opens the pinned maps, printing the reason on failure. */
int ctl_open_maps(const struct ctl *ctl, struct sl_maps *maps);
void ctl_print_json(json_object *obj);
struct table;
/* Prints and releases the command's result: the JSON array when -o json
 * built one, the table otherwise. */
void ctl_output(json_object *arr, struct table *t);
void ctl_format_time(uint64_t unix_seconds, char *buf, size_t len);

int cmd_status(struct ctl *ctl, int argc, char **argv);
int cmd_services(struct ctl *ctl, int argc, char **argv);
int cmd_endpoints(struct ctl *ctl, int argc, char **argv);
int cmd_maps(struct ctl *ctl, int argc, char **argv);

#endif
