// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluicectl: inspect Sluice's state on this node. Reads the pinned maps
 * directly, so it answers while the agent is down.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "table.h"

static const struct ctl_command commands[] = {
	{ "status", "", "is the datapath attached and the configuration applied?",
	  cmd_status, NULL, NULL },
	{ "services", "", "frontends (VIP, port, protocol) and their counters",
	  cmd_services, NULL, NULL },
	{ "endpoints", "[NAMESPACE/NAME]", "endpoints of every service, or of one",
	  cmd_endpoints, NULL, NULL },
	{ "maps", "", "the pinned maps, their capacity and fill level", cmd_maps,
	  NULL, NULL },
	{ "bandwidth", "", "workloads with bandwidth limits and what their policer did",
	  cmd_bandwidth, NULL, NULL },
	{ "identities", "", "workload addresses and identities; which pods are local",
	  cmd_identities, NULL, NULL },
	{ "policies", "", "AuthorizationPolicies and the decisions each made",
	  cmd_policies, NULL, NULL },
	{ "flows", "[--follow] [FILTERS]",
	  "the agent's flow log: connections, refusals, policy decisions", cmd_flows,
	  ctl_flows_opts, ctl_flows_help },
	{ "explain", "--from SRC --to DST:PORT[/PROTO]",
	  "would a connection be allowed, and by which policy rule?", cmd_explain,
	  ctl_explain_opts, ctl_explain_help },
	{ "top", "[--interval SEC] [-n N]", "the busiest services and endpoints, as rates",
	  cmd_top, ctl_top_opts, ctl_top_help },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "Usage: sluicectl [--bpffs DIR] [-o table|json] COMMAND [ARGS]\n\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_command *cmd = &commands[i];

		/* Arguments too long for their column push the summary to
		 * a line of its own. */
		if (strlen(cmd->args) > 17)
			fprintf(out, "  %-10s %s\n  %-10s %-17s %s\n", cmd->name, cmd->args,
				"", "", cmd->summary);
		else
			fprintf(out, "  %-10s %-17s %s\n", cmd->name, cmd->args,
				cmd->summary);
	}
	fprintf(out, "\nOptions (also accepted after the command):\n"
		"  -b, --bpffs DIR      the agent's pin directory (default %s)\n"
		"  -o, --output FORMAT  table (default) or json\n"
		"  -h, --help           help; COMMAND --help for one command\n\n"
		"Exit codes: 0 ok, 1 unhealthy or not found, 2 usage error,\n"
		"3 Sluice state not found or unreadable. explain: 0 when every\n"
		"destination is allowed, 1 when any is denied or refused.\n",
		CTL_DEFAULT_BPFFS);
}

static void command_usage(const struct ctl_command *cmd, FILE *out)
{
	fprintf(out, "Usage: sluicectl [--bpffs DIR] [-o table|json] %s %s\n\n%s\n",
		cmd->name, cmd->args, cmd->summary);
	if (cmd->help)
		fprintf(out, "\n%s", cmd->help);
}

static int parse_output(struct ctl *ctl, const char *v)
{
	if (!strcmp(v, "json"))
		ctl->json = true;
	else if (!strcmp(v, "table"))
		ctl->json = false;
	else {
		fprintf(stderr, "sluicectl: -o: \"%s\" is not table or json\n", v);
		return -1;
	}
	return 0;
}

/* The options every command takes, then the command's own, which getopt
 * reports as CTL_OPT_CMD + their index. */
#define CTL_OPT_CMD 256

static void build_longopts(const struct ctl_command *cmd, struct option *opts)
{
	static const struct option common[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
	};
	size_t n = 0;

	for (; n < sizeof(common) / sizeof(common[0]); n++)
		opts[n] = common[n];
	for (size_t i = 0; cmd && cmd->value_opts && i < CTL_MAX_CMD_OPTS &&
			   cmd->value_opts[i]; i++)
		opts[n++] = (struct option){ cmd->value_opts[i] + (cmd->value_opts[i][0] == '+'),
					     cmd->value_opts[i][0] == '+' ? no_argument :
					     required_argument, NULL, CTL_OPT_CMD + (int)i };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
}

/* A command's one-letter option (top's -n) is a short option too. */
static void short_opts(const struct ctl_command *cmd, char *shorts)
{
	for (size_t i = 0; cmd && cmd->value_opts && i < CTL_MAX_CMD_OPTS &&
			   cmd->value_opts[i]; i++)
		if (strlen(cmd->value_opts[i]) == 1)
			strcat(strcat(shorts, cmd->value_opts[i]), ":");
}

static int short_index(const struct ctl_command *cmd, int c)
{
	for (size_t i = 0; cmd && cmd->value_opts && i < CTL_MAX_CMD_OPTS &&
			   cmd->value_opts[i]; i++)
		if (strlen(cmd->value_opts[i]) == 1 && cmd->value_opts[i][0] == c)
			return CTL_OPT_CMD + (int)i;
	return c;
}

int ctl_parse_common(struct ctl *ctl, const struct ctl_command *cmd, int argc,
		     char **argv)
{
	struct option longopts[3 + CTL_MAX_CMD_OPTS + 1];
	char shorts[8 + 2 * CTL_MAX_CMD_OPTS] = "b:o:h";
	int c;

	build_longopts(cmd, longopts);
	short_opts(cmd, shorts);
	/* A leading '+' would stop at the first positional; commands take
	 * their options anywhere, so permute. */
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
		c = short_index(cmd, c);
		switch (c) {
		case 'b':
			ctl->bpffs = optarg;
			break;
		case 'o':
			if (parse_output(ctl, optarg) < 0)
				return -1;
			break;
		case 'h':
			if (cmd)
				command_usage(cmd, stdout);
			else
				usage(stdout);
			return 1;
		default:
			if (c < CTL_OPT_CMD || c >= CTL_OPT_CMD + CTL_MAX_CMD_OPTS)
				return -1;
			ctl->opt[c - CTL_OPT_CMD] = optarg ? optarg : "";
		}
	}
	return 0;
}

int ctl_open_maps(const struct ctl *ctl, struct sl_maps *maps)
{
	struct sl_err err;

	if (sl_maps_open_pinned(ctl->bpffs, maps, &err) < 0) {
		fprintf(stderr, "sluicectl: %s\n", err.msg);
		return -1;
	}
	return 0;
}

void ctl_print_json(json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}

void ctl_output(json_object *arr, struct table *t)
{
	if (arr) {
		ctl_print_json(arr);
		json_object_put(arr);
	} else {
		table_print(t, stdout);
		table_free(t);
	}
}

void ctl_format_time(uint64_t unix_seconds, char *buf, size_t len)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;

	if (!unix_seconds) {
		snprintf(buf, len, "never");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "bpffs", required_argument, NULL, 'b' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl ctl = { .bpffs = CTL_DEFAULT_BPFFS };
	int c;

	while ((c = getopt_long(argc, argv, "+b:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			ctl.bpffs = optarg;
			break;
		case 'o':
			if (parse_output(&ctl, optarg) < 0)
				return CTL_USAGE;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		const struct ctl_command *cmd = &commands[i];
		int ret;

		if (strcmp(argv[optind], cmd->name))
			continue;
		argc -= optind;
		argv += optind;
		ret = ctl_parse_common(&ctl, cmd, argc, argv);
		if (ret)
			return ret > 0 ? CTL_OK : CTL_USAGE;
		return cmd->run(&ctl, argc - optind, argv + optind);
	}
	fprintf(stderr, "sluicectl: unknown command \"%s\"\n", argv[optind]);
	usage(stderr);
	return CTL_USAGE;
}
