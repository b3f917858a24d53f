/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sluiced's command line: every option checked here, so a typo is a usage
 * error before anything is loaded.
 */
#ifndef SLUICE_OPTIONS_H
#define SLUICE_OPTIONS_H

#include <stdbool.h>

#include "locality.h"
#include "loader.h"

#define DEFAULT_BPFFS "/sys/fs/bpf/sluice"

struct options {
	const char *config;
	bool kubernetes;		/* the API server, not files */
	bool check_delta;		/* compare applies by parts with whole ones */
	const char *kubeconfig;		/* NULL: in-cluster */
	const char *node_name;		/* NULL: $NODE_NAME, or none */
	const char *bpffs;
	char cgroup[4096];
	struct sl_limits limits;
	bool uninstall;
	bool no_redirect;
	bool no_flows;
	bool no_telemetry;
	const char *root_namespace;
	bool has_locality;
	struct sl_locality locality;	/* the node's, for localityLbSetting */
	const char *metrics_addr;	/* NULL: no HTTP listener */
	const char *flows_socket;	/* NULL: no flow log socket */
	const char *access_log;		/* NULL: none */
};

/* Fills o (zeroed by the caller); -1 after printing why (exit code 2).
 * --help prints the usage and exits. */
int sl_options_parse(int argc, char **argv, struct options *o);

#endif
