// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowlog.h"
#include "http.h"
#include "log.h"
#include "options.h"
#include "sys.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: sluiced --config PATH [options]\n"
		"       sluiced --kubernetes [--kubeconfig FILE] [--node-name NAME] [options]\n"
		"       sluiced --uninstall [--bpffs DIR]\n"
		"\n"
		"Sluice node agent: balances connections to service VIPs inside the\n"
		"kernel for every process in a cgroup subtree.\n"
		"\n"
		"  -c, --config PATH      YAML file or directory of YAML files (watched)\n"
		"  -k, --kubernetes       list and watch the Kubernetes API server instead\n"
		"                         (in-cluster service account, or --kubeconfig)\n"
		"      --kubeconfig FILE  the API server and credentials of FILE's current\n"
		"                         context (implies --kubernetes)\n"
		"      --node-name NAME   this node (default $NODE_NAME): its Node's topology\n"
		"                         labels give the locality, its pods are checked\n"
		"  -b, --bpffs DIR        pin directory (default " DEFAULT_BPFFS ")\n"
		"  -g, --cgroup DIR       cgroup v2 directory whose processes are meshed\n"
		"                         (default: the cgroup v2 root from /proc/mounts)\n"
		"  -l, --log-level LEVEL  error, warn, info (default) or debug\n"
		"      --max-services N   frontends (VIP, port, protocol) (default %u)\n"
		"      --max-backends N   distinct endpoints (default %u)\n"
		"      --max-slots N      selection slots and members (default %u)\n"
		"      --max-revnat N     unconnected UDP (socket, endpoint) pairs kept\n"
		"                         for reverse translation (default %u)\n"
		"      --max-sockets N    sockets in the same-node shortcut (default %u)\n"
		"      --max-workloads N  workload addresses and policy CIDRs (default %u)\n"
		"      --max-verdicts N   compiled AuthorizationPolicy verdicts (default %u)\n"
		"      --max-traffic N    telemetry series: (reporter, client, endpoint,\n"
		"                         service) counted per connection (default %u)\n"
		"      --telemetry on|off count connections for metrics in the kernel\n"
		"                         (default on; off: no TCP metrics, no flow log)\n"
		"      --flow-log on|off  connection events (open, close, connect failed)\n"
		"                         into the flow log (default on)\n"
		"      --flows-socket PATH  serve the flow log to sluicectl flows on this\n"
		"                         unix socket (default " SL_FLOWS_DEFAULT_SOCKET ",\n"
		"                         \"off\": none)\n"
		"      --access-log FILE  append every flow record there as a JSON line\n"
		"                         (reopened on SIGHUP)\n"
		"      --no-redirect      no same-node acceleration: connections between\n"
		"                         local pods go through TCP\n"
		"      --root-namespace NS  AuthorizationPolicies there apply mesh-wide\n"
		"                         (default " SL_DEFAULT_ROOT_NAMESPACE ")\n"
		"      --locality REGION[/ZONE[/SUBZONE]]\n"
		"                         this node's locality, for DestinationRule\n"
		"                         localityLbSetting (default: unknown, no effect)\n"
		"      --metrics-addr HOST:PORT\n"
		"                         serve /metrics, /healthz and /readyz there\n"
		"                         (default " SL_HTTP_DEFAULT_ADDR ", [::1]:PORT for\n"
		"                         IPv6, \"off\": no listener)\n"
		"      --check-delta      after each apply by parts, build the whole model\n"
		"                         and workload names too and log any difference\n"
		"                         (for tests: costs a whole build per change)\n"
		"      --uninstall        detach the programs and remove every pin, then exit\n"
		"  -h, --help             this text\n"
		"\n"
		"SIGTERM/SIGINT stop the agent and leave the datapath running; SIGHUP\n"
		"re-reads the configuration and reopens the access log.\n",
		SL_DEFAULT_MAX_SERVICES, SL_DEFAULT_MAX_BACKENDS, SL_DEFAULT_MAX_SLOTS,
		SL_DEFAULT_MAX_REVNAT, SL_DEFAULT_MAX_SOCKETS, SL_DEFAULT_MAX_IPCACHE / 2,
		SL_DEFAULT_MAX_POLICY / 2, SL_DEFAULT_MAX_TRAFFIC);
}

/* "on" or "off"; *off says which. */
static int parse_switch(const char *opt, const char *v, bool *off)
{
	if (strcmp(v, "on") && strcmp(v, "off")) {
		fprintf(stderr, "sluiced: %s takes on or off, not \"%s\"\n", opt, v);
		return -1;
	}
	*off = !strcmp(v, "off");
	return 0;
}

static int parse_count(const char *opt, const char *v, uint32_t *out)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || *end || v[0] == '\0' || v[0] == '-' || n == 0 || n > (1UL << 26)) {
		fprintf(stderr, "sluiced: %s: \"%s\" is not a count between 1 and %lu\n",
			opt, v, 1UL << 26);
		return -1;
	}
	*out = (uint32_t)n;
	return 0;
}

/* The status records where the configuration and the cgroup are; a
 * relative path there would mean nothing to the CLI. The configuration may
 * not exist yet (it is watched), its directory must. */
static int absolute_paths(struct options *o)
{
	static char config[PATH_MAX];
	char resolved[PATH_MAX], dir[PATH_MAX];
	struct sl_err err;
	const char *base;

	if (o->uninstall)
		return 0;
	if (!realpath(o->cgroup, resolved)) {
		fprintf(stderr, "sluiced: --cgroup %s: %s\n", o->cgroup, strerror(errno));
		return -1;
	}
	snprintf(o->cgroup, sizeof(o->cgroup), "%s", resolved);
	if (o->kubernetes)
		return 0;
	if (realpath(o->config, config))
		goto done;
	base = strrchr(o->config, '/');
	snprintf(dir, sizeof(dir), "%.*s", base ? (int)(base - o->config) : 1,
		 base ? o->config : ".");
	if (!dir[0])
		snprintf(dir, sizeof(dir), "/");
	if (!realpath(dir, resolved)) {
		fprintf(stderr, "sluiced: --config %s: %s\n", o->config, strerror(errno));
		return -1;
	}
	if (sl_pathf(config, sizeof(config), &err, "%s/%s", strcmp(resolved, "/") ? resolved : "",
		     base ? base + 1 : o->config)) {
		fprintf(stderr, "sluiced: --config: %s\n", err.msg);
		return -1;
	}
done:
	o->config = config;
	return 0;
}

/* Checked here, so a typo is a usage error before anything is loaded;
 * bound only once the datapath is up. */
static int parse_metrics_addr(const char *v, struct options *o)
{
	struct sockaddr_storage ss;
	struct sl_err err;
	socklen_t len;

	if (!strcmp(v, "off")) {
		o->metrics_addr = NULL;
		return 0;
	}
	if (sl_http_parse_addr(v, &ss, &len, &err) < 0) {
		fprintf(stderr, "sluiced: --metrics-addr: %s\n", err.msg);
		return -1;
	}
	o->metrics_addr = v;
	return 0;
}

enum { OPT_MAX_SERVICES = 256, OPT_MAX_BACKENDS, OPT_MAX_SLOTS, OPT_MAX_REVNAT,
       OPT_MAX_SOCKETS, OPT_MAX_WORKLOADS, OPT_MAX_VERDICTS, OPT_NO_REDIRECT,
       OPT_UNINSTALL, OPT_ROOT_NAMESPACE, OPT_LOCALITY, OPT_METRICS_ADDR,
       OPT_MAX_TRAFFIC, OPT_FLOW_LOG, OPT_TELEMETRY, OPT_FLOWS_SOCKET, OPT_ACCESS_LOG,
       OPT_KUBECONFIG, OPT_NODE_NAME, OPT_CHECK_DELTA };

int sl_options_parse(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "kubernetes", no_argument, NULL, 'k' },
		{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
		{ "node-name", required_argument, NULL, OPT_NODE_NAME },
		{ "bpffs", required_argument, NULL, 'b' },
		{ "cgroup", required_argument, NULL, 'g' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "max-services", required_argument, NULL, OPT_MAX_SERVICES },
		{ "max-backends", required_argument, NULL, OPT_MAX_BACKENDS },
		{ "max-slots", required_argument, NULL, OPT_MAX_SLOTS },
		{ "max-revnat", required_argument, NULL, OPT_MAX_REVNAT },
		{ "max-sockets", required_argument, NULL, OPT_MAX_SOCKETS },
		{ "max-workloads", required_argument, NULL, OPT_MAX_WORKLOADS },
		{ "max-verdicts", required_argument, NULL, OPT_MAX_VERDICTS },
		{ "no-redirect", no_argument, NULL, OPT_NO_REDIRECT },
		{ "max-traffic", required_argument, NULL, OPT_MAX_TRAFFIC },
		{ "flow-log", required_argument, NULL, OPT_FLOW_LOG },
		{ "telemetry", required_argument, NULL, OPT_TELEMETRY },
		{ "flows-socket", required_argument, NULL, OPT_FLOWS_SOCKET },
		{ "access-log", required_argument, NULL, OPT_ACCESS_LOG },
		{ "root-namespace", required_argument, NULL, OPT_ROOT_NAMESPACE },
		{ "locality", required_argument, NULL, OPT_LOCALITY },
		{ "metrics-addr", required_argument, NULL, OPT_METRICS_ADDR },
		{ "uninstall", no_argument, NULL, OPT_UNINSTALL },
		{ "check-delta", no_argument, NULL, OPT_CHECK_DELTA },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *why;
	struct sl_err err;
	int c, level;

	o->bpffs = DEFAULT_BPFFS;
	o->metrics_addr = SL_HTTP_DEFAULT_ADDR;
	o->flows_socket = SL_FLOWS_DEFAULT_SOCKET;
	o->root_namespace = SL_DEFAULT_ROOT_NAMESPACE;
	o->limits = (struct sl_limits){ SL_DEFAULT_MAX_SERVICES, SL_DEFAULT_MAX_BACKENDS,
					SL_DEFAULT_MAX_SLOTS, SL_DEFAULT_MAX_REVNAT,
					SL_DEFAULT_MAX_SOCKETS, SL_DEFAULT_MAX_IPCACHE / 2,
					SL_DEFAULT_MAX_POLICY / 2, SL_DEFAULT_MAX_TRAFFIC };
	while ((c = getopt_long(argc, argv, "c:kb:g:l:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'k':
			o->kubernetes = true;
			break;
		case OPT_KUBECONFIG:
			o->kubernetes = true;
			o->kubeconfig = optarg;
			break;
		case OPT_CHECK_DELTA:
			o->check_delta = true;
			break;
		case OPT_NODE_NAME:
			o->node_name = optarg[0] ? optarg : NULL;
			break;
		case 'b':
			if (!optarg[0]) {
				fprintf(stderr, "sluiced: --bpffs: empty path\n");
				return -1;
			}
			o->bpffs = optarg;
			break;
		case 'g':
			/* An empty value must not silently mean the root. */
			if (!optarg[0]) {
				fprintf(stderr, "sluiced: --cgroup: empty path\n");
				return -1;
			}
			snprintf(o->cgroup, sizeof(o->cgroup), "%s", optarg);
			break;
		case 'l':
			level = sl_log_parse_level(optarg);
			if (level < 0) {
				fprintf(stderr, "sluiced: --log-level: \"%s\" is not one of "
					"error, warn, info, debug\n", optarg);
				return -1;
			}
			sl_log_set_level((enum sl_log_level)level);
			break;
		case OPT_MAX_SERVICES:
			if (parse_count("--max-services", optarg, &o->limits.max_services))
				return -1;
			break;
		case OPT_MAX_BACKENDS:
			if (parse_count("--max-backends", optarg, &o->limits.max_backends))
				return -1;
			break;
		case OPT_MAX_SLOTS:
			if (parse_count("--max-slots", optarg, &o->limits.max_slots))
				return -1;
			break;
		case OPT_MAX_REVNAT:
			if (parse_count("--max-revnat", optarg, &o->limits.max_revnat))
				return -1;
			break;
		case OPT_MAX_SOCKETS:
			if (parse_count("--max-sockets", optarg, &o->limits.max_sockets))
				return -1;
			break;
		case OPT_MAX_WORKLOADS:
			if (parse_count("--max-workloads", optarg, &o->limits.max_workloads))
				return -1;
			break;
		case OPT_MAX_VERDICTS:
			if (parse_count("--max-verdicts", optarg, &o->limits.max_verdicts))
				return -1;
			break;
		case OPT_MAX_TRAFFIC:
			if (parse_count("--max-traffic", optarg, &o->limits.max_traffic))
				return -1;
			break;
		case OPT_FLOW_LOG:
			if (parse_switch("--flow-log", optarg, &o->no_flows))
				return -1;
			break;
		case OPT_TELEMETRY:
			if (parse_switch("--telemetry", optarg, &o->no_telemetry))
				return -1;
			break;
		case OPT_FLOWS_SOCKET:
			o->flows_socket = strcmp(optarg, "off") ? optarg : NULL;
			break;
		case OPT_ACCESS_LOG:
			o->access_log = optarg;
			break;
		case OPT_NO_REDIRECT:
			o->no_redirect = true;
			break;
		case OPT_ROOT_NAMESPACE:
			if (!optarg[0] || strlen(optarg) >= SL_NAMESPACE_LEN) {
				fprintf(stderr, "sluiced: --root-namespace: \"%s\" is not a "
					"namespace name\n", optarg);
				return -1;
			}
			o->root_namespace = optarg;
			break;
		case OPT_LOCALITY:
			/* On Kubernetes this will come from the node's
			 * topology.kubernetes.io/region and zone labels. */
			why = sl_locality_parse(optarg, &o->locality);
			if (why) {
				fprintf(stderr, "sluiced: --locality: \"%s\": %s\n", optarg, why);
				return -1;
			}
			o->has_locality = true;
			break;
		case OPT_METRICS_ADDR:
			if (parse_metrics_addr(optarg, o) < 0)
				return -1;
			break;
		case OPT_UNINSTALL:
			o->uninstall = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sluiced: unexpected argument \"%s\"\n", argv[optind]);
		return -1;
	}
	if (!o->uninstall && !o->config == !o->kubernetes) {
		fprintf(stderr, "sluiced: give either --config or --kubernetes\n");
		usage(stderr);
		return -1;
	}
	if (o->kubernetes && !o->node_name && getenv("NODE_NAME") && getenv("NODE_NAME")[0])
		o->node_name = getenv("NODE_NAME");
	if (!o->uninstall && !o->cgroup[0] &&
	    sl_cgroup2_root(o->cgroup, sizeof(o->cgroup), &err) < 0) {
		fprintf(stderr, "sluiced: %s\n", err.msg);
		return -1;
	}
	return absolute_paths(o);
}
