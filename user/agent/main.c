// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sluiced: the node agent. Loads the datapath, keeps the maps equal to the
 * configuration, and leaves the datapath running when it stops.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "apply.h"
#include "events.h"
#include "flowlog.h"
#include "http.h"
#include "kube.h"
#include "loader.h"
#include "locality.h"
#include "metrics.h"
#include "netns.h"
#include "log.h"
#include "sys.h"
#include "watch.h"

#define DEFAULT_BPFFS "/sys/fs/bpf/sluice"
/* Quiet time after a file event before the configuration is read: an
 * editor's save or a ConfigMap update is several events in a row. */
#define DEBOUNCE_MS 50
/* While a watch is lost (directory replaced), look again this often. */
#define REARM_MS 1000
/* Pods are looked for this often even without a cgroup event. */
#define NETNS_SCAN_MS 1000
/* The kernel writes events without waking the agent (a wakeup is a
 * self-IPI, microseconds in a VM, per event) until the ring buffer is an
 * eighth full: the agent reads it at least this often. */
#define EVENTS_POLL_MS 100

struct options {
	const char *config;
	bool kubernetes;		/* the API server, not files */
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

struct agent {
	struct sl_applier applier;
	struct sl_watch watch;
	struct sl_kube kube;
	bool kube_on;
	char source[4096];		/* what the configuration comes from */
	int64_t started_ms;		/* when main began (monotonic) */
	struct sl_tc tc;
	struct sl_netns_watch netns;
	struct sl_events events;
	struct sl_flowlog flows;
	struct sl_resetter reset;
	struct sl_metrics metrics;
	struct sl_http http;
	int sfd;
};

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
		"                         labels give the locality, its pods are meshed at once\n"
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
       OPT_KUBECONFIG, OPT_NODE_NAME };

static int parse_options(int argc, char **argv, struct options *o)
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

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns true to keep running. */
static bool handle_signals(struct agent *ag, bool *reload)
{
	struct signalfd_siginfo si;
	bool run = true;

	while (read(ag->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			sl_info("SIGHUP: re-reading the configuration");
			*reload = true;
			sl_flowlog_reopen(&ag->flows);
		} else {
			sl_info("signal %u: stopping; the datapath keeps running", si.ssi_signo);
			run = false;
		}
	}
	return run;
}

static void scan_pods(struct sl_netns_watch *n)
{
	struct sl_err err;

	if (sl_netns_scan(n, &err) < 0)
		sl_error("looking for pods: %s", err.msg);
}

/* The Kubernetes source: moves its transfers on, and applies what
 * changed, at once (the events of one read are one apply), once every
 * resource has been listed. */
static void kube_step(struct agent *ag, const struct pollfd *fds, size_t n, bool *force)
{
	struct sl_kube *k = &ag->kube;
	uint64_t applied;
	bool first;

	sl_kube_run(k, fds, n);
	if (k->scan_pods) {
		k->scan_pods = false;
		scan_pods(&ag->netns);
	}
	if (!sl_kube_synced(k) || (!k->changed && !*force))
		return;
	first = !ag->applier.have_applied;
	if (!ag->applier.locality_fixed)
		sl_applier_set_locality(&ag->applier, k->has_locality ? &k->locality : NULL);
	applied = ag->applier.n_applied;
	ag->applier.changed_at_ns = k->changed_at_ns;
	/* Objects left out last time are tried again: what they conflicted
	 * with, or pointed to, may have changed. */
	sl_kstore_clear_exclusions(&k->store);
	k->changed = false;
	sl_applier_run(&ag->applier, *force || first);
	if (ag->applier.n_applied > applied && ag->applier.last_change_ms >= 0)
		sl_kube_latency(k, ag->applier.last_change_ms / 1e3);
	scan_pods(&ag->netns);	/* bandwidth policers follow at once */
	*force = false;
	if (first && ag->applier.have_applied)
		sl_info("ready %lld ms after start: every resource listed and applied",
			(long long)(now_ms() - ag->started_ms));
}

static int run_loop(struct agent *ag)
{
	int64_t due = -1;	/* when to re-read, or -1 */
	int64_t scan_due = now_ms() + NETNS_SCAN_MS;
	bool force = false;

	for (;;) {
		struct pollfd fds[5 + SL_FLOWS_POLLFDS + SL_KUBE_POLLFDS] = {
			{ ag->sfd, POLLIN, 0 }, { ag->watch.fd, POLLIN, 0 },
			{ ag->netns.inotify_fd, POLLIN, 0 },
			{ sl_events_fd(&ag->events), POLLIN, 0 },
			{ sl_http_fd(&ag->http), POLLIN, 0 } };
		size_t n_flows = sl_flowlog_pollfds(&ag->flows, &fds[5]);
		size_t n_kube = ag->kube_on ? sl_kube_pollfds(&ag->kube, &fds[5 + n_flows]) : 0;
		int64_t next = scan_due;
		int timeout;

		if (due >= 0 && due < next)
			next = due;
		timeout = next > now_ms() ? (int)(next - now_ms()) : 0;
		if (ag->watch.wd < 0 && timeout > REARM_MS)
			timeout = REARM_MS;
		if (timeout > EVENTS_POLL_MS)
			timeout = EVENTS_POLL_MS;
		timeout = sl_http_timeout(&ag->http, timeout);
		if (ag->kube_on)
			timeout = sl_kube_timeout(&ag->kube, timeout);
		if (poll(fds, 5 + n_flows + n_kube, timeout) < 0 && errno != EINTR)
			return -1;
		if ((fds[0].revents & POLLIN) && !handle_signals(ag, &force))
			return 0;
		sl_events_drain(&ag->events);
		sl_flowlog_run(&ag->flows, &fds[5], n_flows);
		/* Also when only a client's timeout is due. */
		sl_http_run(&ag->http);
		if (ag->kube_on)
			kube_step(ag, &fds[5 + n_flows], n_kube, &force);
		if (sl_netns_drain(&ag->netns) || now_ms() >= scan_due) {
			scan_pods(&ag->netns);
			if (ag->kube_on)
				sl_kube_check_pods(&ag->kube, &ag->netns);
			/* Connection timeouts are judged on the same beat. */
			if (sl_reset_needs_sweep(&ag->applier.state))
				sl_reset_sweep(&ag->reset);
			scan_due = now_ms() + NETNS_SCAN_MS;
		}
		if (force && due < 0 && !ag->kube_on)
			due = now_ms();
		if (!ag->kube_on && sl_watch_drain(&ag->watch))
			due = now_ms() + DEBOUNCE_MS;
		if (due >= 0 && now_ms() >= due) {
			sl_applier_run(&ag->applier, force);
			scan_pods(&ag->netns);	/* bandwidth policers follow at once */
			force = false;
			due = -1;
		}
	}
}

static int kube_config(void *arg, struct sl_config *cfg, struct sl_err *err)
{
	struct sl_kube *k = arg;

	if (sl_kstore_config(&k->store, cfg, err) < 0)
		return -1;
	/* The Node's locality changes what is applied, as a file would. */
	if (k->has_locality)
		cfg->digest ^= XXH3_64bits(&k->locality, sizeof(k->locality));
	return 0;
}

static bool kube_exclude(void *arg, const char *error)
{
	return sl_kube_exclude(arg, error);
}

/* started: when main began, to report the time to ready. */
static int start(struct agent *ag, struct sl_loader *loader, const struct options *o,
		 int64_t started, struct sl_err *err)
{
	int64_t t0 = now_ms(), t1;

	ag->started_ms = started;
	if (o->kubernetes)
		snprintf(ag->source, sizeof(ag->source), "kubernetes:%s",
			 o->kubeconfig ? o->kubeconfig : "in-cluster");
	else
		snprintf(ag->source, sizeof(ag->source), "%s", o->config);
	if (sl_applier_init(&ag->applier, &loader->maps, ag->source, o->cgroup,
			    loader->cgroup_id, o->root_namespace,
			    o->has_locality ? &o->locality : NULL, err) < 0)
		return -1;
	if (sl_tc_init(&ag->tc, o->bpffs, sl_loader_prog_fd(loader, "sl_tc_ingress"),
		       sl_loader_prog_fd(loader, "sl_tc_egress"), err) < 0 ||
	    sl_netns_init(&ag->netns, o->bpffs, o->cgroup,
			  sl_loader_prog_fd(loader, "sl_sk_lookup"), &loader->maps, &ag->tc,
			  err) < 0 ||
	    sl_flowlog_init(&ag->flows, &loader->maps, o->flows_socket, o->access_log,
			    err) < 0 ||
	    sl_events_open(&ag->events, &loader->maps, &ag->flows, err) < 0 ||
	    sl_reset_init(&ag->reset, sl_loader_prog(loader, "sl_reset_removed"),
			  &loader->maps, &ag->netns, err) < 0)
		return -1;
	if (o->kubernetes) {
		ag->watch.fd = -1;
		ag->watch.wd = 0;
		if (sl_kube_init(&ag->kube, o->kubeconfig, o->node_name, err) < 0)
			return -1;
		ag->kube_on = true;
		sl_applier_set_source(&ag->applier, kube_config, kube_exclude, &ag->kube);
		ag->applier.locality_fixed = o->has_locality;
	} else if (sl_watch_init(&ag->watch, o->config, err) < 0) {
		return -1;
	}
	ag->applier.resetter = &ag->reset;
	sl_flowlog_publish(&ag->flows, true);
	if (o->flows_socket)
		sl_info("serving the flow log on %s", o->flows_socket);
	scan_pods(&ag->netns);
	t1 = now_ms();
	/* A restart at scale must be quick: say where its time went. */
	sl_info("datapath loaded in %lld ms, pinned state adopted in %lld ms",
		(long long)(t0 - started), (long long)(t1 - t0));
	/* The API's objects are applied once all are listed (kube_step). */
	if (!ag->kube_on) {
		sl_applier_run(&ag->applier, true);
		scan_pods(&ag->netns);	/* the policers of the limits just applied */
		sl_info("ready %lld ms after start (first apply in %lld ms)",
			(long long)(now_ms() - started), (long long)(now_ms() - t1));
	}
	/* Requests waiting since the listener was bound are answered by the
	 * loop, from here on. */
	if (sl_metrics_init(&ag->metrics, &ag->applier, &loader->maps, o->bpffs,
			    loader->cgroup_id, err) < 0)
		return -1;
	ag->metrics.kube = ag->kube_on ? &ag->kube : NULL;
	return 0;
}

static void stop(struct agent *ag)
{
	sl_http_stop(&ag->http);
	if (ag->flows.ring)
		sl_flowlog_publish(&ag->flows, false);
	sl_flowlog_free(&ag->flows);
	sl_applier_stop(&ag->applier);
	if (ag->watch.fd > 0)
		sl_watch_close(&ag->watch);
	if (ag->kube_on)
		sl_kube_free(&ag->kube);
	if (ag->events.rb)
		sl_events_close(&ag->events);
	sl_reset_free(&ag->reset);
	sl_netns_free(&ag->netns);
	sl_applier_free(&ag->applier);
}

int main(int argc, char **argv)
{
	struct sl_loader loader;
	struct agent ag;
	struct options o;
	struct sl_err err;
	int64_t started;
	int ret;

	memset(&o, 0, sizeof(o));
	started = now_ms();
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (o.uninstall) {
		if (sl_uninstall(o.bpffs, &err) < 0) {
			sl_error("uninstall: %s", err.msg);
			return 1;
		}
		sl_info("uninstalled: %s removed, programs detached", o.bpffs);
		return 0;
	}
	memset(&ag, 0, sizeof(ag));
	ag.sfd = signal_fd();
	if (ag.sfd < 0) {
		sl_error("signalfd: %s", strerror(errno));
		return 1;
	}
	/* Checked first, like the listener: a kubeconfig that cannot be used
	 * fails the start before the datapath is touched. */
	if (o.kubernetes) {
		struct sl_kubeconfig kc;

		if (sl_kubeconfig_load(o.kubeconfig, NULL, &kc, &err) < 0) {
			sl_error("%s", err.msg);
			return 1;
		}
		sl_kubeconfig_free(&kc);
	}
	/* Bound first: a taken address fails the start before the datapath
	 * is touched. */
	if (o.metrics_addr && sl_http_start(&ag.http, o.metrics_addr, &ag.metrics, &err) < 0) {
		sl_error("%s", err.msg);
		return 1;
	}
	if (sl_loader_start(&loader, o.bpffs, o.cgroup, &o.limits, !o.no_redirect,
			    !o.no_telemetry, !o.no_flows, &err) < 0) {
		sl_error("%s", err.msg);
		sl_http_stop(&ag.http);
		return 1;
	}
	sl_info("datapath attached to %s, pinned under %s; same-node redirect %s", o.cgroup,
		o.bpffs, o.no_redirect ? "off" : "on");
	if (o.metrics_addr)
		sl_info("serving /metrics, /healthz and /readyz on http://%s", o.metrics_addr);
	if (o.has_locality) {
		char loc[SL_LOCALITY_LEN];

		sl_locality_format(&o.locality, loc, sizeof(loc));
		sl_info("node locality %s (DestinationRule localityLbSetting)", loc);
	}
	ret = start(&ag, &loader, &o, started, &err);
	if (ret < 0)
		sl_error("%s", err.msg);
	else
		ret = run_loop(&ag);
	stop(&ag);
	sl_loader_stop(&loader);
	close(ag.sfd);
	return ret < 0 ? 1 : 0;
}
